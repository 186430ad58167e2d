"""The judge audit: metrics on known counts, recovery of NoisyJudge's rates, written files."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import pytest
from judge_fakes import perceive

from ifrl.constraints.audit import (
    AuditPair,
    Confusion,
    calibration,
    render_markdown,
    run_audit,
    write_audit,
)
from ifrl.constraints.judge import LLMJudge
from ifrl.constraints.noisy import NoisyJudge, simulate_audit_items
from ifrl.core.generation import Prompt
from ifrl.core.records import (
    Completion,
    ConstrainedPrompt,
    ConstraintSpec,
    Conversation,
    SamplingParams,
)
from ifrl.core.stats import wilson_interval


def pairs(tp: int, fp: int, fn: int, tn: int, bad: int = 0) -> list[AuditPair]:
    out = [AuditPair("i", "t", True, True)] * tp + [AuditPair("i", "t", False, True)] * fp
    out += [AuditPair("i", "t", True, False)] * fn + [AuditPair("i", "t", False, False)] * tn
    return out + [AuditPair("i", "t", False, None)] * bad


def test_confusion_metrics_on_known_counts() -> None:
    c = Confusion.of(pairs(tp=40, fp=20, fn=10, tn=30, bad=5))
    assert (c.tp, c.fp, c.fn, c.tn, c.unparseable, c.n) == (40, 20, 10, 30, 5, 100)
    assert c.precision == pytest.approx(40 / 60)
    assert c.recall_compliant == pytest.approx(40 / 50)
    assert c.recall_noncompliant == pytest.approx(30 / 50)
    assert c.false_pass_rate == pytest.approx(20 / 50)
    assert c.f1 == pytest.approx(2 * (2 / 3) * 0.8 / (2 / 3 + 0.8))
    assert c.accuracy == pytest.approx(0.7)
    # kappa by hand: po = 0.7, pe = 0.6*0.5 + 0.4*0.5 = 0.5
    assert c.kappa == pytest.approx(0.4)
    d = c.to_dict()
    assert d["base_rate"] == 0.5 and d["unparseable"] == 5
    lo, hi = d["ci95"]["recall_noncompliant"]
    assert lo < 0.6 < hi


def test_undefined_rates_are_none() -> None:
    c = Confusion.of(pairs(tp=5, fp=0, fn=0, tn=0))
    assert c.recall_noncompliant is None and c.false_pass_rate is None and c.kappa is None
    assert Confusion().precision is None and Confusion().to_dict()["ci95"]["precision"] is None


def test_wilson_interval() -> None:
    lo, hi = wilson_interval(30, 100)
    assert lo == pytest.approx(0.2189, abs=1e-3) and hi == pytest.approx(0.3958, abs=1e-3)
    assert wilson_interval(0, 10)[0] == 0.0
    # the audit reports no interval for a rate without pairs
    assert (
        Confusion.of(pairs(tp=3, fp=0, fn=0, tn=0)).to_dict()["ci95"]["recall_noncompliant"] is None
    )
    assert Confusion.of(pairs(tp=30, fp=70, fn=0, tn=0)).to_dict()["ci95"]["precision"] == [lo, hi]


def test_calibration_table() -> None:
    ps = [AuditPair("i", "t", True, True, 0.95)] * 9 + [AuditPair("i", "t", False, True, 0.95)]
    ps += [AuditPair("i", "t", False, False, 0.05)] * 10
    cal = calibration(ps)
    assert cal is not None and cal["n"] == 20
    assert [(b["count"], b["frac_compliant"]) for b in cal["bins"]] == [(10, 0.0), (10, 0.9)]
    assert cal["ece"] == pytest.approx(0.5 * 0.05 + 0.5 * 0.05)
    assert cal["brier"] == pytest.approx((9 * 0.05**2 + 0.95**2 + 10 * 0.05**2) / 20)
    assert calibration(pairs(1, 1, 1, 1)) is None


def test_noisy_judge_recall_on_noncompliant_is_recovered() -> None:
    """Acceptance: NoisyJudge(recall_noncompliant=0.3) audits to 0.3 ± 0.05."""
    items = simulate_audit_items(2000, seed=11)
    judges = {
        "noisy": NoisyJudge(recall_noncompliant=0.3, seed=5),
        "good": NoisyJudge(recall_compliant=0.95, recall_noncompliant=0.9, seed=6),
    }
    report, all_pairs = run_audit(items, judges)
    assert report["pairs"] >= 3000
    noisy = report["judges"]["noisy"]["overall"]
    assert noisy["n"] == report["pairs"] and noisy["tn"] + noisy["fp"] > 1000
    assert noisy["recall_noncompliant"] == pytest.approx(0.3, abs=0.05)
    assert noisy["recall_compliant"] == 1.0
    good = report["judges"]["good"]["overall"]
    assert good["recall_noncompliant"] == pytest.approx(0.9, abs=0.05)
    assert good["precision"] > noisy["precision"]
    # per-type breakdown covers every hard type seen and sums to the total
    per_type = report["judges"]["noisy"]["per_type"]
    assert sum(row["n"] for row in per_type.values()) == noisy["n"]
    assert len(all_pairs["noisy"]) == report["pairs"]


class CommaJudgeModel:
    """A fake model judging every constraint by one rule: pass iff the response has no comma.
    It reads the response where the judge prompt's fence puts it (``judge_fakes.perceive``)."""

    def __init__(self) -> None:
        self.calls = 0

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        out = []
        for p in prompts:
            assert isinstance(p, Conversation) and p.messages[0].role == "system"
            self.calls += 1
            seen = perceive(p)
            word = "no" if "," in seen.data["response"] else "yes"
            listed = [line for line in seen.instructions if line[:1].isdigit()]
            if listed:
                answer = "\n".join(f"{i + 1}: {word}" for i in range(len(listed)))
                out.append([Completion(answer)])
            else:
                out.append([Completion(word, token_ids=(1,), logprobs=(math.log(0.8),))])
        return out


def mixed_items() -> list[ConstrainedPrompt]:
    no_comma = ConstraintSpec("punctuation:no_comma")
    lower = ConstraintSpec("change_case:english_lowercase")
    soft = ConstraintSpec("soft:tone", {"tone": "formal"}, "soft")
    return [
        ConstrainedPrompt("a", "p", (no_comma, lower), "all lower, with a comma"),
        ConstrainedPrompt("b", "p", (no_comma, lower, soft), "Upper Case without commas"),
        ConstrainedPrompt("c", "p", (no_comma,), "fine text"),
        ConstrainedPrompt("d", "p", (soft,), "only soft"),
    ]


def test_pointwise_and_joint_side_by_side_written_with_plots(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    model = CommaJudgeModel()
    judges = {
        "pointwise": LLMJudge(model, name="comma", mode="pointwise"),
        "joint": LLMJudge(model, name="comma", mode="joint", joint_template=_JOINT),
    }
    report, all_pairs = run_audit(mixed_items(), judges)
    assert report["responses"] == 3 and report["pairs"] == 5
    assert report["skipped_soft_constraints"] == 2
    pw = report["judges"]["pointwise"]
    # truth: a: (F, T)  b: (T, F)  c: (T,) ; judge: a: no,no  b: yes,yes  c: yes
    assert (pw["overall"]["tp"], pw["overall"]["fp"], pw["overall"]["fn"], pw["overall"]["tn"]) == (
        2,
        1,
        1,
        1,
    )
    assert pw["per_type"]["change_case:english_lowercase"]["false_pass_rate"] == 1.0
    assert pw["per_type"]["punctuation:no_comma"]["false_pass_rate"] == 0.0
    assert pw["calibration"] is not None and report["judges"]["joint"]["calibration"] is None
    assert report["judges"]["joint"]["overall"]["tp"] == 2
    assert pw["stats"]["calls"] == 5 and report["judges"]["joint"]["stats"]["calls"] == 3

    written = write_audit(report, tmp_path / "out", all_pairs)
    names = sorted(p.name for p in written)
    assert names == [
        "audit.json",
        "audit.md",
        "calibration.png",
        "confusion.png",
        "false_pass_by_type.png",
        "pairs.jsonl",
    ]
    assert json.loads((tmp_path / "out" / "audit.json").read_text()) == report
    md = (tmp_path / "out" / "audit.md").read_text()
    assert "| metric | pointwise | joint |" in md and "`change_case:english_lowercase`" in md
    for png in ("confusion.png", "false_pass_by_type.png", "calibration.png"):
        data = (tmp_path / "out" / png).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000
    rows = (tmp_path / "out" / "pairs.jsonl").read_text().splitlines()
    assert len(rows) == 10 and json.loads(rows[0])["judge"] == "pointwise"


_JOINT = """### Prompt
{prompt}

### Response
{response}

### Constraints
{constraints}
"""


def test_markdown_without_probabilities_or_stats() -> None:
    report, _ = run_audit(mixed_items(), {"noisy": NoisyJudge()})
    md = render_markdown(report)
    assert "Calibration" not in md and "Judge calls" not in md
    assert "| **recall, non-compliant** | 1.000 |" in md


def test_items_without_response_are_rejected() -> None:
    with pytest.raises(ValueError, match="no response"):
        run_audit(
            [ConstrainedPrompt("x", "p", (ConstraintSpec("punctuation:no_comma"),))],
            {"n": NoisyJudge()},
        )


# ------------------------------------------------------------------------------------------
# The command line


def test_audit_command_with_noisy_judge_on_synthetic_pairs(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from click.testing import CliRunner

    from ifrl.constraints.cli import audit

    out = tmp_path / "audit"
    res = CliRunner().invoke(
        audit,
        [
            "--synthetic",
            "1500",
            "--recall-noncompliant",
            "0.3",
            "--scores",
            "--seed",
            "2",
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    report = json.loads((out / "audit.json").read_text())
    (entry,) = report["judges"].values()
    assert report["pairs"] > 2500
    assert entry["overall"]["recall_noncompliant"] == pytest.approx(0.3, abs=0.05)
    shown = float(res.output.split("recall non-compliant ")[1].split(",")[0])
    assert shown == pytest.approx(entry["overall"]["recall_noncompliant"], abs=5e-4)
    for name in ("audit.md", "confusion.png", "false_pass_by_type.png", "calibration.png"):
        assert (out / name).stat().st_size > 500


def test_audit_command_pairs_responses_with_ifeval_input(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ifrl.constraints.cli import audit

    prompts = tmp_path / "input.jsonl"
    responses = tmp_path / "responses.jsonl"
    rows = [
        {"key": 1, "prompt": "p1", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]},
        {"key": 2, "prompt": "p2", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]},
    ]
    prompts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    responses.write_text(
        json.dumps({"prompt": "p2", "response": "a, b"})
        + "\n"
        + json.dumps({"prompt": "p1", "response": "a b"})
        + "\n"
    )
    runner = CliRunner()
    args = [str(prompts), "--responses", str(responses), "--no-plots", "-o", str(tmp_path / "o")]
    res = runner.invoke(audit, [*args, "--recall-noncompliant", "1.0"])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "o" / "audit.json").read_text())
    (entry,) = report["judges"].values()
    assert (entry["overall"]["tp"], entry["overall"]["tn"]) == (1, 1)
    # line-by-line pairing swaps the responses: truth flips, so does the perfect judge
    res = runner.invoke(audit, [*args, "--by-line"])
    assert res.exit_code == 0, res.output
    # errors
    res = runner.invoke(audit, ["-o", str(tmp_path / "o")])
    assert res.exit_code == 2 and "INPUT.jsonl or --synthetic" in res.output
    res = runner.invoke(audit, [str(prompts), "-o", str(tmp_path / "o")])
    assert res.exit_code == 1 and "have no response" in res.output
    res = runner.invoke(audit, [str(prompts), "--judge", "openai", "--model", "m", "-o", "x"])
    assert res.exit_code != 0


def test_audit_of_real_ifeval_responses_matches_the_reference_accuracy(tmp_path: Path) -> None:
    """The ground truth of the audit is the verifiers: on GPT-4's IFEval responses the share of
    compliant pairs is lm-eval's instruction-level strict accuracy (83.69%)."""
    from click.testing import CliRunner
    from ifrl_testdata import shared_data

    from ifrl.constraints.cli import audit

    inputs = shared_data("ifeval", "input_data.jsonl")
    responses = shared_data("ifeval", "responses_gpt4.jsonl")
    out = tmp_path / "real"
    res = CliRunner().invoke(
        audit,
        [
            str(inputs),
            "--responses",
            str(responses),
            "--by-line",
            "--recall-noncompliant",
            "0.3",
            "--no-plots",
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    report = json.loads((out / "audit.json").read_text())
    (entry,) = report["judges"].values()
    overall = entry["overall"]
    assert report["responses"] == 541 and overall["n"] == 834
    assert overall["base_rate"] == pytest.approx(0.8369, abs=5e-4)
    assert overall["recall_noncompliant"] == pytest.approx(0.3, abs=0.1)  # only 136 violations


def test_audit_config_builds_the_judges_and_rejects_bad_rates(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ifrl.constraints.audit import AuditConfig, audit_judges
    from ifrl.constraints.cli import audit

    (noisy,) = audit_judges(AuditConfig(recall_noncompliant=0.5)).values()
    assert isinstance(noisy, NoisyJudge) and noisy.recall_noncompliant == 0.5
    llm = audit_judges(AuditConfig(mode="joint", max_new_tokens=9), CommaJudgeModel(), name="j")
    assert list(llm) == ["joint"] and llm["joint"].params.max_new_tokens == 9  # type: ignore[attr-defined]
    assert list(audit_judges(AuditConfig(), CommaJudgeModel())) == ["pointwise", "joint"]
    res = CliRunner().invoke(audit, ["--synthetic", "5", "--recall-compliant", "1.5", "-o", "x"])
    assert res.exit_code == 2 and "recall_compliant: must lie in [0, 1]" in res.output
