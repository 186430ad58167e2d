"""LLMJudge and the audit command against a real OpenAI-compatible server (vLLM, tiny model).

The tiny model is untrained, so its answers are mostly not yes/no: these tests check what must
hold whatever it says (every pair gets a verdict or is reported unparseable, probabilities lie
in [0, 1], the cache answers repeats, both modes are audited side by side), not accuracy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ifrl.constraints.codec import write_prompts
from ifrl.constraints.judge import JudgeCache, JudgedConstraint, JudgeQuery, LLMJudge
from ifrl.core.records import ConstrainedPrompt, ConstraintSpec, SamplingParams

pytestmark = pytest.mark.vllm

NO_COMMA = ConstraintSpec("punctuation:no_comma")
LOWER = ConstraintSpec("change_case:english_lowercase")


def items() -> list[ConstrainedPrompt]:
    responses = ["all lower no commas", "Mixed, Case", "hello there", "A, b, c", "ok", "Fine text"]
    return [
        ConstrainedPrompt(str(i), "Say something short.", (NO_COMMA, LOWER), r)
        for i, r in enumerate(responses)
    ]


@pytest.fixture(scope="module")
def generator(vllm_server: str) -> Any:
    from ifrl.core.backends.openai import OpenAIGenerator

    return OpenAIGenerator(
        vllm_server,
        "tiny",
        mode="chat",
        timeout=60.0,
        concurrency=2,
        extra_body={"return_tokens_as_token_ids": True},
    )


def test_llm_judge_over_openai_server_parses_caches_and_scores(
    generator: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    queries = [
        JudgeQuery(
            i.text,
            i.response or "",
            tuple(
                JudgedConstraint(c, t) for c, t in zip(i.constraints, ("No commas.", "Lowercase."))
            ),
        )
        for i in items()
    ]
    cache = JudgeCache(tmp_path / "cache.jsonl")
    params = SamplingParams(temperature=0.0, max_new_tokens=8)
    judge = LLMJudge(
        generator,
        name="tiny",
        params=params,
        max_retries=0,
        cache=cache,
        decode=lambda t: str(tokenizer.decode([t])),
        fence_seed=0,  # the same fence codes on the rerun below: the same prompts
    )
    first = judge.judge(queries)
    assert [len(row) for row in first] == [2] * len(queries)
    flat = [v for row in first for v in row]
    assert judge.stats.calls == len(flat)  # pointwise: one call per constraint, no retries
    for v in flat:
        assert v.status in ("yes", "no", "unparseable") and v.raw is not None
        assert v.p_yes is None or 0.0 <= v.p_yes <= 1.0
        if v.status == "unparseable":
            assert v.p_yes is None
    parsed = sum(v.status != "unparseable" for v in flat)
    # greedy decoding is deterministic: a second judge asks again only what was unparseable
    again = LLMJudge(
        generator,
        name="tiny",
        params=params,
        max_retries=0,
        cache=JudgeCache(cache.path),
        fence_seed=0,
    )
    second = again.judge(queries)
    assert again.stats.cache_hits == parsed
    assert again.stats.calls == len(flat) - parsed
    assert [[v.status for v in row] for row in second] == [[v.status for v in row] for row in first]


def test_audit_command_with_openai_judge_both_modes(vllm_server: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ifrl.constraints.cli import audit

    data = tmp_path / "input.jsonl"
    write_prompts(data, items(), "ifeval")
    out = tmp_path / "audit"
    res = CliRunner().invoke(
        audit,
        [
            str(data),
            "--judge",
            "openai",
            "--base-url",
            vllm_server,
            "--model",
            "tiny",
            "--mode",
            "both",
            "--max-new-tokens",
            "12",
            "--no-plots",
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    report = json.loads((out / "audit.json").read_text())
    assert sorted(report["judges"]) == ["joint", "pointwise"]
    for entry in report["judges"].values():
        overall = entry["overall"]
        assert overall["n"] + overall["unparseable"] == report["pairs"] == 12
        assert entry["stats"]["calls"] >= (12 if entry is report["judges"]["pointwise"] else 6)
    assert "| metric | pointwise | joint |" in (out / "audit.md").read_text()
