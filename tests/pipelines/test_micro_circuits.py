"""The hand-written induction circuit (ifrl.pipelines.micro.circuits): before any training it
finds the cue's earlier occurrence and copies what followed, on the induction probe's drill
(bench/micro_induction_probe.py), where the same model with seeded random weights cannot."""

from __future__ import annotations

import importlib.util
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from ifrl.pipelines.micro.build import domain_tokenizer, new_model  # noqa: E402
from ifrl.pipelines.micro.circuits import InductionCircuit, write_induction_circuit  # noqa: E402
from ifrl.pipelines.micro.spec import get_spec  # noqa: E402
from ifrl.pipelines.micro.tools import COMPACT_TEMPLATE  # noqa: E402

PROBE = Path(__file__).resolve().parents[2] / "bench" / "micro_induction_probe.py"


def _drill_rows() -> Any:
    spec = importlib.util.spec_from_file_location("micro_induction_probe", PROBE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.drill_rows


def _drill_accuracy(circuit: InductionCircuit | None, top: int = 1) -> float:
    """Share of the drill's targets among the model's ``top`` predictions."""
    tokenizer = domain_tokenizer([], 0, COMPACT_TEMPLATE)
    separator = tokenizer.convert_tokens_to_ids("<|im_end|>")
    model = new_model(replace(get_spec("tool"), init="random"), tokenizer)
    if circuit is not None:
        write_induction_circuit(model, circuit)
    rows, labels = _drill_rows()(
        random.Random(7919), 64, range(10, len(tokenizer) - 10), 16, 48, 4, separator
    )
    with torch.no_grad():
        logits = model(input_ids=torch.tensor(rows)).logits[:, :-1]
    wanted = torch.tensor(labels)[:, 1:]
    hit = (logits.topk(top, dim=-1).indices == wanted.unsqueeze(-1)).any(-1)
    return float(hit[wanted != -100].float().mean())


def test_bench_circuit_copies_what_followed_the_cue_before_training() -> None:
    # the bench's settings (embeddings as seeded, copy gain 3): the docstring quotes 0.976
    assert _drill_accuracy(InductionCircuit(embedding_scale=1.0, copy_gain=3.0)) > 0.9


def test_micro_circuit_ranks_the_copy_among_its_first_predictions() -> None:
    # the builds' circuit copies softly (gain 1), so at first the current token's own logit
    # (tied embeddings) can still beat the copy; training sorts that out
    assert _drill_accuracy(InductionCircuit(), top=5) > 0.9


def test_random_weights_cannot_do_the_drill() -> None:
    assert _drill_accuracy(None, top=5) < 0.05


def test_induction_init_spec_writes_the_circuit() -> None:
    tokenizer = domain_tokenizer([], 0, COMPACT_TEMPLATE)
    spec = replace(get_spec("tool"), init="induction")
    model = new_model(spec, tokenizer)
    assert float(model.model.embed_tokens.weight[:, -InductionCircuit().reserve :].abs().sum()) == 0
    assert float(model.model.layers[3].mlp.down_proj.weight.abs().sum()) == 0
    again = new_model(spec, tokenizer)  # seeded: the same weights every time
    for (name, a), b in zip(model.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), name


def test_circuit_refuses_a_one_layer_model() -> None:
    model = new_model(
        replace(get_spec("tool"), num_layers=1, init="random"), domain_tokenizer([], 0)
    )
    with pytest.raises(ValueError, match="2 layers"):
        write_induction_circuit(model)
