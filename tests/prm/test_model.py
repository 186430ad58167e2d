"""The PRM: separator encoding and loss masks, training, save/load, scoring and Best-of-N."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from ifrl.core.records import StepSample  # noqa: E402
from ifrl.prm.model import (  # noqa: E402
    ProcessRewardModel,
    add_fresh_layers,
    encode_steps,
    separator_id,
)
from ifrl.prm.score import (  # noqa: E402
    aggregate,
    best_of_n,
    policy_confidence,
    score_candidates,
    score_steps,
    split_solution,
)
from ifrl.prm.train import PRMTrainConfig, encode_samples, train_prm  # noqa: E402


@pytest.fixture(scope="module")
def prm(tiny_model_dir: Path) -> ProcessRewardModel:
    return ProcessRewardModel.from_base(tiny_model_dir)


def test_separator_is_added_as_one_token_and_never_merges(prm: ProcessRewardModel) -> None:
    tok = prm.tokenizer
    assert separator_id(tok, "<extra_0>") == prm.sep_id
    assert prm.backbone.get_input_embeddings().weight.shape[0] == len(tok)
    steps = ["Step 1: 3 + 4 = 7\n", "Step 2:<extra_0> 7 - 2 = 5", "\n\n"]
    e = encode_steps(tok, "Question: q\n", steps, prm.sep_id, [1.0, 0.0, 0.5])
    # One label per step, each at a separator, even when a step contains the separator text.
    assert len(e.positions) == 3 and all(e.input_ids[p] == prm.sep_id for p in e.positions)
    assert e.labels == [1.0, 0.0, 0.5] and e.dropped == 0
    cut = encode_steps(tok, "Question: q\n", steps, prm.sep_id, [1.0, 0.0, 0.5], max_length=12)
    assert len(cut.input_ids) == 12 and cut.dropped == 3 - len(cut.positions)
    with pytest.raises(ValueError, match="single token"):
        separator_id(tok, "Step separator")
    with pytest.raises(ValueError, match="labels for"):
        encode_steps(tok, "q", ["a"], prm.sep_id, [1.0, 0.0])


def test_no_sample_trains_on_zero_labels(prm: ProcessRewardModel) -> None:
    long_prompt = "word " * 40
    samples = [
        StepSample("Q: 1\n", ("a\n", "b\n"), (1.0, 0.0)),
        StepSample(long_prompt, ("a\n",), (1.0,)),  # its only separator is truncated away
        StepSample("Q: 2\n", ("c\n",), (0.0,)),
    ]
    encoded, stats = encode_samples(prm, samples, max_length=20)
    assert (stats.samples, stats.skipped, stats.labels, stats.dropped_labels) == (2, 1, 3, 1)
    batch = prm.batch(encoded)
    assert batch["rows"].tolist() == [0, 0, 1]
    assert (batch["input_ids"][batch["rows"], batch["cols"]] == prm.sep_id).all()
    assert batch["labels"].tolist() == [1.0, 0.0, 0.0]
    loss = prm.loss(batch)
    assert math.isclose(float(loss.detach()), math.log(2), rel_tol=1e-5)  # zero-initialised head
    empty = prm.batch([encode_steps(prm.tokenizer, "q", [], prm.sep_id)])
    with pytest.raises(ValueError, match="no step labels"):
        prm.loss(empty)
    with pytest.raises(ValueError, match="none of the 1 samples"):
        encode_samples(prm, samples[1:2], max_length=20)


def _toy_samples() -> list[StepSample]:
    """Steps saying "right" are good (1), steps saying "wrong" are bad (0)."""
    out = []
    for i in range(12):
        a, b = i % 7 + 1, i % 5 + 2
        out.append(
            StepSample(
                f"Question: {a} + {b}?\n",
                (f"{a} + {b} is right\n", f"then {b} is wrong\n", f"so {a} is right\n"),
                (1.0, 0.0, 1.0),
            )
        )
    return out


def test_training_learns_step_labels_and_round_trips(tiny_model_dir: Path, tmp_path: Path) -> None:
    config = PRMTrainConfig(epochs=6, batch_size=4, lr=3e-3, seed=0)
    trained, stats = train_prm(
        _toy_samples(), tiny_model_dir, config, out_dir=tmp_path / "prm", progress=False
    )
    assert stats.samples == 12 and stats.labels == 36 and stats.skipped == 0
    assert stats.losses[-1] < 0.5 * stats.losses[0]
    scores = score_steps(trained, "Question: 9 + 9?\n", ["9 + 9 is right\n", "then 2 is wrong\n"])
    assert scores[0] > 0.7 and scores[1] < 0.3
    loaded = ProcessRewardModel.load(tmp_path / "prm")
    again = score_steps(loaded, "Question: 9 + 9?\n", ["9 + 9 is right\n", "then 2 is wrong\n"])
    assert again == pytest.approx(scores, abs=1e-5)
    best, totals = best_of_n(
        loaded, "Question: 1 + 1?\n", [["1 is wrong\n"], ["1 + 1 is right\n"], ["2 is wrong\n"]]
    )
    assert best == 1 and len(totals) == 3
    batched = score_candidates(
        loaded, "Question: 9 + 9?\n", [["9 + 9 is right\n"]] * 3, batch_size=2
    )
    assert batched == [pytest.approx(scores[:1], abs=1e-5)] * 3


def test_training_is_reproducible_whatever_the_global_seed(tiny_model_dir: Path) -> None:
    """The separator added to the vocabulary gets a seeded embedding: same settings, same PRM."""
    config = PRMTrainConfig(epochs=1, batch_size=4, lr=1e-3)
    runs = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        _, stats = train_prm(_toy_samples()[:8], tiny_model_dir, config, progress=False)
        runs.append(stats.losses)
    assert runs[0] == runs[1] and len(runs[0]) == 2


def test_lora_trains_adapters_and_head_only(tiny_model_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("peft")
    prm = ProcessRewardModel.from_base(tiny_model_dir, lora={"r": 4, "alpha": 8})
    trainable = [n for n, p in prm.backbone.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    config = PRMTrainConfig(epochs=1, batch_size=4, lr=1e-3)
    trained, stats = train_prm(
        _toy_samples()[:4], prm, config, out_dir=tmp_path / "p", progress=False
    )
    assert len(stats.losses) == 1
    loaded = ProcessRewardModel.load(tmp_path / "p")
    assert not any("lora_" in n for n, _ in loaded.backbone.named_parameters())
    probe = ("Q\n", ["a\n", "b\n"])
    assert loaded.score_batch([probe])[0] == pytest.approx(
        trained.score_batch([probe])[0], abs=1e-5
    )


def test_fresh_layers_start_as_the_identity_and_round_trip(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from transformers import AutoModel

    base = AutoModel.from_pretrained(str(tiny_model_dir)).eval()
    depth = base.config.num_hidden_layers
    ids = torch.tensor([[5, 9, 17, 33, 2]])
    with torch.no_grad():
        before = base(input_ids=ids).last_hidden_state
    added = add_fresh_layers(base, 2, seed=0)
    assert len(added) == 2 and len(base.layers) == depth + 2
    assert base.config.num_hidden_layers == depth + 2
    assert len(base.config.layer_types) == depth + 2
    with torch.no_grad():
        after = base(input_ids=ids).last_hidden_state
    assert torch.allclose(before, after)  # zeroed output projections: the identity
    assert added[0].self_attn.q_proj.weight.abs().sum() > 0  # but fresh, non-zero weights

    prm = ProcessRewardModel.from_base(tiny_model_dir, extra_layers=2, freeze=True)
    config = PRMTrainConfig(epochs=1, batch_size=4, lr=1e-3)
    trained, _ = train_prm(_toy_samples()[:8], prm, config, out_dir=tmp_path / "p", progress=False)
    loaded = ProcessRewardModel.load(tmp_path / "p")
    assert len(loaded.backbone.layers) == depth + 2
    probe = ("Q\n", ["a\n", "b\n"])
    assert loaded.score_batch([probe])[0] == pytest.approx(
        trained.score_batch([probe])[0], abs=1e-5
    )


def test_freeze_trains_fresh_layers_norm_and_head_only(tiny_model_dir: Path) -> None:
    prm = ProcessRewardModel.from_base(tiny_model_dir, extra_layers=1, freeze=True)
    depth = len(prm.backbone.layers) - 1
    trainable = {n for n, p in prm.backbone.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith((f"layers.{depth}.", "norm.")) for n in trainable)
    assert any(n.startswith(f"layers.{depth}.") for n in trainable)
    frozen = {
        n: p.detach().clone() for n, p in prm.backbone.named_parameters() if n not in trainable
    }
    config = PRMTrainConfig(epochs=1, batch_size=4, lr=1e-2)
    train_prm(_toy_samples()[:8], prm, config, progress=False)
    after = dict(prm.backbone.named_parameters())
    assert all(torch.equal(after[n], v) for n, v in frozen.items())
    assert float(prm.head.weight.detach().abs().sum()) > 0
    # Without freeze every parameter trains, fresh layers included.
    full = ProcessRewardModel.from_base(tiny_model_dir, extra_layers=1)
    assert all(p.requires_grad for p in full.backbone.parameters())


def test_fresh_layers_refuse_what_they_cannot_handle(tiny_model_dir: Path) -> None:
    with pytest.raises(ValueError, match="no `layers` list"):
        add_fresh_layers(torch.nn.Linear(2, 2), 1)
    with pytest.raises(ValueError, match="lora cannot be combined"):
        ProcessRewardModel.from_base(tiny_model_dir, lora={"r": 2}, extra_layers=1)


def test_train_config_errors_name_the_field() -> None:
    from ifrl.core.config import ConfigError

    with pytest.raises(ConfigError, match="epochs: must be > 0, got 0"):
        PRMTrainConfig(epochs=0)
    with pytest.raises(ConfigError, match="max_length: must be at least 1"):
        PRMTrainConfig(max_length=0)
    with pytest.raises(ConfigError, match="lora_r: LoRA cannot be combined"):
        PRMTrainConfig(lora_r=4, freeze_base=True)
    assert (PRMTrainConfig().epochs, PRMTrainConfig().lr, PRMTrainConfig().batch_size) == (
        5.0,
        1e-4,
        8,
    )


def test_aggregations_split_and_policy_confidence() -> None:
    s = [0.9, 0.2, 0.6]
    assert aggregate(s, "min") == 0.2 and aggregate(s, "last") == 0.6
    assert aggregate(s, "product") == pytest.approx(0.108)
    assert aggregate(s, "mean") == pytest.approx(0.5666666)
    assert aggregate([], "min") == 0.0
    assert split_solution("a\n\nb\nc") == ["a\n\n", "b\n", "c"]
    assert policy_confidence([-0.1, -2.5, -0.3]) == -2.5
    assert policy_confidence([]) == float("-inf")  # unknown logprobs rank last
