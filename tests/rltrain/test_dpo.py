"""DPO/IPO/SimPO trainer: it learns, pairs parse in both formats, bad rows name file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ifrl.core.errors import JSONLError
from ifrl.rltrain.dpo import DPOConfig, DPOTrainer, load_pairs

PAIRS = [
    {"prompt": f"Q{i}: pick a color.", "chosen": " blue blue blue", "rejected": " red, red, red"}
    for i in range(8)
]


@pytest.mark.slow
@pytest.mark.parametrize("loss_type", ["sigmoid", "ipo", "simpo"])
def test_preference_training_raises_margin(
    loss_type: str, tiny_model_dir: Path, tmp_path: Path
) -> None:
    cfg = DPOConfig(
        model=str(tiny_model_dir),
        output_dir=str(tmp_path),
        loss_type=loss_type,
        # IPO stops at a per-token log-ratio gap of 1/(2 beta): a small beta keeps it pushing.
        beta={"sigmoid": 0.5, "ipo": 0.05, "simpo": 2.0}[loss_type],
        learning_rate=5e-4,
        max_steps=8,
        per_device_batch_size=4,
        progress=False,
        save_final_model=False,
        precompute_ref_logps=loss_type == "ipo",
    )
    trainer = DPOTrainer(cfg, train_data=PAIRS)
    before = trainer.margin()
    result = trainer.train()
    after = trainer.margin()
    # Summed log-prob margin (nats) of chosen over rejected grows by at least 2 nats in 8 steps.
    assert after > before + 2.0, (before, after)
    assert result.metrics["step"] == 8
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 8 and "rewards/margin" in json.loads(lines[-1])


def test_load_pairs_accepts_ifrl_and_trl_rows_and_names_bad_lines(tmp_path: Path) -> None:
    good = tmp_path / "pairs.jsonl"
    good.write_text(
        json.dumps({"prompt": "p", "chosen": "a", "rejected": "b", "meta": {"src": "mcts"}})
        + "\n"
        + json.dumps(
            {
                "prompt": [{"role": "user", "content": "hi"}],
                "chosen": [{"role": "assistant", "content": "hello"}],
                "rejected": [{"role": "assistant", "content": "go away"}],
            }
        )
        + "\n"
    )
    rows = load_pairs(good)
    assert rows[0]["chosen"] == "a" and rows[1]["prompt"][0]["role"] == "user"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"})
        + "\n"
        + json.dumps({"prompt": "p", "chosen": "a"})
        + "\n"
    )
    with pytest.raises(JSONLError, match=r"bad.jsonl:2: rejected: missing"):
        load_pairs(bad)


def test_conversational_pairs_tokenise_with_chat_template(tiny_model_dir: Path) -> None:
    from ifrl.rltrain.dpo import tokenize_pair
    from ifrl.rltrain.models import load_tokenizer

    tok = load_tokenizer(str(tiny_model_dir))
    pair = {
        "prompt": [{"role": "user", "content": "hi"}],
        "chosen": [{"role": "assistant", "content": "hello"}],
        "rejected": [{"role": "assistant", "content": "go away"}],
    }
    ex = tokenize_pair(tok, pair)
    assert tok.decode(ex.prompt_ids).endswith("<|im_start|>assistant\n")
    assert tok.decode(ex.chosen_ids).startswith("hello<|im_end|>")
    assert tok.decode(ex.rejected_ids).startswith("go away<|im_end|>")


def test_a_long_prompt_loses_its_start_not_the_completions() -> None:
    from ifrl.rltrain.dpo import PairExample, truncate_pair

    ex = PairExample(tuple(range(100)), (200, 201, 202), (300, 301))
    cut = truncate_pair(ex, 10)
    assert cut.prompt_ids == tuple(range(93, 100))  # the prompt's end, where the answer starts
    assert cut.chosen_ids == (200, 201, 202) and cut.rejected_ids == (300, 301)
    long = PairExample((1, 2, 3, 4), tuple(range(20)), tuple(range(30, 45)))
    both = truncate_pair(long, 10)  # both long: the completions keep half of the budget
    assert both.prompt_ids == (1, 2, 3, 4) and both.chosen_ids == tuple(range(6))
    assert both.rejected_ids == tuple(range(30, 36))
    assert truncate_pair(ex, 1000) is ex


def test_shared_prompt_path_equals_the_concatenated_layout(tiny_model_dir: Path) -> None:
    """pair_logps (each prompt run once) gives completion_logps' sums, lengths and chosen NLL."""
    torch = pytest.importorskip("torch")
    from transformers import AutoModelForCausalLM

    from ifrl.rltrain.dpo import collate_pairs, completion_logps, pair_logps, tokenize_pair
    from ifrl.rltrain.models import load_tokenizer

    tok = load_tokenizer(str(tiny_model_dir))
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    rows = [*PAIRS[:3], {"prompt": "Say:", "chosen": " yes yes", "rejected": " yes no, no"}]
    examples = [tokenize_pair(tok, p) for p in rows]
    assert len({len(e.prompt_ids) for e in examples}) > 1  # left padding is exercised
    with torch.no_grad():
        want = completion_logps(model, collate_pairs(examples, tok.pad_token_id))
        got = pair_logps(model, examples, tok.pad_token_id)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, atol=2e-5, rtol=1e-6)
