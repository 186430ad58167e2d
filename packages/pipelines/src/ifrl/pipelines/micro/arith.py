"""The step-by-step arithmetic domain: :func:`ifrl.prm.synthetic.train_policy`, wrapped.

The policy is the seeded ``ifrl.core.tiny`` model warmed up on gold solutions of an
:class:`~ifrl.prm.synthetic.ArithmeticTask` with ``holdout`` set, so a hashed share of the
distinct questions is never trained on; the card's metrics are on those reserved questions:
final-answer accuracy and whole-solution accuracy (every line equals the gold line).
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ifrl.core.stats import proportion
from ifrl.pipelines.micro.spec import MicroSpec

_ANSWER = re.compile(r"####\s*(-?\d+)")


def _task_and_config(spec: MicroSpec) -> tuple[Any, Any]:
    from ifrl.prm.synthetic import ArithmeticTask, PolicyConfig

    task = ArithmeticTask(
        min_ops=int(spec.extra["min_ops"]),
        max_ops=int(spec.extra["max_ops"]),
        max_value=int(spec.extra["max_value"]),
        max_operand=int(spec.extra["max_operand"]),
        holdout=spec.holdout_share,
    )
    config = PolicyConfig(
        problems=spec.train_examples,
        epochs=1.0,
        batch_size=spec.batch_size,
        lr=spec.learning_rate,
        seed=spec.seed,
        task=task,
    )
    return task, config


def arith_data(spec: MicroSpec) -> dict[str, list[dict[str, Any]]]:
    """The gold solutions the warm-up trains on (as ``train_policy`` draws them) and the
    reserved evaluation questions."""
    task, config = _task_and_config(spec)
    stream = task.stream(seed=config.seed + 1000, prefix="train")
    gold = itertools.islice(
        (p for p in stream if not task.reserved(p.question)), spec.train_examples
    )
    train = [{"id": p.id, "question": p.question, "solution": p.solution} for p in gold]
    held = task.held_out(spec.eval_examples, seed=spec.seed + 7, part="eval")
    evals = [{"id": p.id, "question": p.question, "solution": p.solution} for p in held]
    overlap = {r["question"] for r in train} & {r["question"] for r in evals}
    assert not overlap, f"held-out questions in training: {sorted(overlap)[:3]}"
    return {"train": train, "eval_heldout": evals}


def build_arith(
    spec: MicroSpec, data: dict[str, list[dict[str, Any]]], out: Path, say: Callable[[str], None]
) -> dict[str, Any]:
    """Warm up the tiny model into ``out`` and evaluate it on the reserved questions."""
    import shutil
    import tempfile

    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ifrl.core.tiny import build_tiny_model
    from ifrl.pipelines.micro.build import greedy
    from ifrl.prm.synthetic import PROMPT_TEMPLATE, line_truth, train_policy

    _, config = _task_and_config(spec)
    base = build_tiny_model("qwen2", seed=spec.seed)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="warmup.", dir=out) as tmp:
        policy = train_policy(base, Path(tmp) / "policy", config, progress=False)
        train_seconds = time.perf_counter() - t0
        for file in sorted(policy.iterdir()):
            if file.is_file() and file.name != "ifrl_policy.json":
                shutil.copyfile(file, out / file.name)
    model = AutoModelForCausalLM.from_pretrained(str(out))
    tokenizer = AutoTokenizer.from_pretrained(str(out))
    model.eval()
    say(f"warmed up on {spec.train_examples} solutions in {train_seconds:.0f} s; evaluating")
    t1 = time.perf_counter()
    rows = data["eval_heldout"]
    prompts = [PROMPT_TEMPLATE.format(question=r["question"]) for r in rows]
    texts = greedy(model, tokenizer, prompts, spec.max_new_tokens)
    answers = [_ANSWER.search(t) for t in texts]
    right = sum(
        m is not None and m[1] == r["solution"].rsplit("#### ", 1)[1] for m, r in zip(answers, rows)
    )
    whole = 0
    for t, r in zip(texts, rows):
        lines = [line for line in t.strip().splitlines() if line.strip()]
        gold_n = len(r["solution"].splitlines())
        whole += len(lines) >= gold_n and all(line_truth(r["question"], lines[:gold_n]))
    n = len(rows)
    n_params = sum(p.numel() for p in model.parameters())
    return {
        "model": {
            "architecture": f"qwen2 (ifrl.core.tiny, seed {spec.seed})",
            "parameters": n_params,
            "hidden_size": model.config.hidden_size,
            "layers": model.config.num_hidden_layers,
            "vocab_size": len(tokenizer),
        },
        "training": {
            "trainer": "ifrl.prm.synthetic.train_policy (gold solutions, one epoch)",
            "examples": spec.train_examples,
            "batch_size": spec.batch_size,
            "learning_rate": spec.learning_rate,
            "steps": -(-spec.train_examples // spec.batch_size),
        },
        "metrics": {
            "answer_heldout": {
                **proportion(right, n).to_dict(),
                "successes": right,
                "example": texts[0] if texts else "",
            },
            "solution_heldout": {**proportion(whole, n).to_dict(), "successes": whole},
        },
        "held_out": (
            f"questions reserved by a hash of their text ({spec.holdout_share:.0%} of distinct "
            "questions; ArithmeticTask.holdout): the warm-up never trains on them"
        ),
        "train_seconds": train_seconds,
        "eval_seconds": time.perf_counter() - t1,
    }
