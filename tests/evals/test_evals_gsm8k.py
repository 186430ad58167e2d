"""GSM8K through ifrl.evals, and the shared statistics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evals_helpers import invoke
from ifrl_testdata import shared_data

from ifrl.core.errors import IfrlError
from ifrl.core.stats import bootstrap, majority_vote, proportion, wilson_interval
from ifrl.evals import run
from ifrl.evals.gsm8k import GSM8KBenchmark
from ifrl.evals.results import load_result


def test_gsm8k_majority_vote_and_gold_solutions(tmp_path: Path) -> None:
    data = shared_data("gsm8k", "test.jsonl")
    rows = [json.loads(line) for line in data.read_text().splitlines()][:12]
    responses = tmp_path / "r.jsonl"
    with responses.open("w") as fh:
        for i, row in enumerate(rows):
            wrong = "So the answer is 123456789."
            # Two of three samples right for even problems, one of three for odd ones.
            texts = [row["answer"], wrong, row["answer"] if i % 2 == 0 else wrong]
            fh.write(json.dumps({"id": str(i), "responses": texts}) + "\n")
    invoke(
        ["gsm8k", "--data", str(data), "--responses", str(responses), "--out", str(tmp_path / "o")]
    )
    result = load_result(tmp_path / "o")
    assert result.metrics["maj@3"].value == pytest.approx(0.5)
    assert result.metrics["pass@1"].value == pytest.approx(18 / 36)
    assert result.metrics["pass@3"].value == 1.0
    before = (tmp_path / "o" / "results.json").read_text()
    for bad in ("", json.dumps({"id": "no-such-problem", "responses": ["1"]}) + "\n"):
        (tmp_path / "bad.jsonl").write_text(bad)
        with pytest.raises(IfrlError, match="matches one of the 1319 gsm8k examples"):
            run(GSM8KBenchmark(data), tmp_path / "o", responses=tmp_path / "bad.jsonl")
    assert (tmp_path / "o" / "results.json").read_text() == before  # the earlier run is kept
    bench = GSM8KBenchmark(data, limit=5)
    examples = bench.examples()
    gold = {e.id: [rows[int(e.id)]["answer"]] for e in examples}
    res, samples = bench.score(examples, gold)
    assert res.metrics["maj@1"].value == 1.0 and len(samples) == 5


def test_stats() -> None:
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    m = proportion(7, 10)
    assert m.value == 0.7 and m.ci_low < 0.7 < m.ci_high and m.n == 10
    assert majority_vote(["3", None, "4", "4", "3"]) == "3"  # tie: first seen
    assert majority_vote([None, None]) is None
    a = bootstrap([1, 0, 1, 1], lambda v: sum(v) / len(v), seed=3)
    b = bootstrap([1, 0, 1, 1], lambda v: sum(v) / len(v), seed=3)
    assert a == b and a.ci_low <= 0.75 <= a.ci_high
