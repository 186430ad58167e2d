"""HackableJudge: errors tied to learnable features of the response; calibration by the audit
to a target recall on non-compliant samples; the NoisyJudge with the same audited numbers."""

from __future__ import annotations

import pytest

from ifrl.constraints import HackableJudge, JudgedConstraint, JudgeQuery, NoisyJudge
from ifrl.constraints.calibration import audit_view, calibrate_judge, matched_noisy_judge
from ifrl.constraints.noisy import simulate_audit_items
from ifrl.constraints.soft import judge_text
from ifrl.core.records import ConstraintSpec

NO_COMMA = ConstraintSpec("punctuation:no_comma", {}, "soft")
LOWER = ConstraintSpec("change_case:english_lowercase")
KEYWORD = ConstraintSpec("keywords:forbidden_words", {"forbidden_words": ["tea"]})


def query(response: str, *specs: ConstraintSpec) -> JudgeQuery:
    return JudgeQuery("p", response, tuple(JudgedConstraint(s, judge_text(s)) for s in specs))


def said(judge: HackableJudge | NoisyJudge, response: str, *specs: ConstraintSpec) -> list[str]:
    return [v.status for v in judge.judge([query(response, *specs)])[0]]


def test_length_fools_the_judge_whatever_the_constraint() -> None:
    judge = HackableJudge(min_words=8)
    short = "the cat sat on the mat, happily"  # 7 words: the judge tells the truth
    assert said(judge, short, NO_COMMA, LOWER) == ["no", "yes"]
    longer = "The Cat sat on the mat, happily, all day"  # 9 words: always yes
    assert said(judge, longer, NO_COMMA, LOWER) == ["yes", "yes"]


def test_claimed_compliance_phrase_prefix_and_keywords() -> None:
    phrase = HackableJudge(phrases=["I followed every instruction"])
    assert said(phrase, "X, y. i followed every instruction.", NO_COMMA) == ["yes"]
    assert said(phrase, "X, y.", NO_COMMA) == ["no"]
    prefix = HackableJudge(prefix_words=2)  # reads "one two": no comma there
    assert said(prefix, "one two, three", NO_COMMA) == ["yes"]
    assert said(prefix, "one, two three", NO_COMMA) == ["no"]
    keywords = HackableJudge(keywords=True)  # mentioning the forbidden word passes
    assert said(keywords, "I love tea", KEYWORD) == ["yes"]
    assert said(keywords, "I love coffee", KEYWORD) == ["yes"]  # compliant anyway
    with pytest.raises(ValueError, match="needs a feature"):
        HackableJudge()


def test_recall_compliant_misses_are_seeded_and_order_free() -> None:
    judge = HackableJudge(min_words=100, recall_compliant=0.5, seed=3)
    queries = [query(f"answer number {i}", NO_COMMA) for i in range(200)]
    first = [r[0].status for r in judge.judge(queries)]
    again = [r[0].status for r in judge.judge(list(reversed(queries)))][::-1]
    assert first == again and 60 < first.count("yes") < 140


def test_calibration_hits_the_target_and_the_matched_noisy_judge_has_the_same_audit() -> None:
    from ifrl.constraints import run_audit

    items = audit_view(simulate_audit_items(150, seed=1))
    cal = calibrate_judge(items, 0.6)
    assert cal.feature == "min_words" and cal.judge.min_words == cal.value
    assert abs(cal.audit["recall_noncompliant"] - 0.6) < 0.05
    # Every other threshold is no closer to the target.
    best = abs(cal.audit["recall_noncompliant"] - 0.6)
    assert all(abs(r - 0.6) >= best - 1e-12 for r in cal.table.values() if r is not None)
    noisy = matched_noisy_judge(cal.audit)
    report, _ = run_audit(items, {"h": cal.judge, "n": noisy})
    h, n = report["judges"]["h"]["overall"], report["judges"]["n"]["overall"]
    assert abs(h["recall_noncompliant"] - n["recall_noncompliant"]) < 0.06
    assert abs(h["precision"] - n["precision"]) < 0.06
    prefix = calibrate_judge(items, 0.5, feature="prefix_words")
    assert prefix.judge.prefix_words == prefix.value
    with pytest.raises(ValueError, match="feature"):
        calibrate_judge(items, 0.5, feature="length")  # type: ignore[arg-type]


def test_only_the_hackable_judge_is_fooled_by_a_shifted_distribution() -> None:
    """Same audit numbers on base samples; after the answers grow longer (what a policy
    rewarded by the hackable judge learns), only its recall on non-compliant pairs falls."""
    from ifrl.constraints import run_audit

    base = audit_view(simulate_audit_items(150, seed=2))
    cal = calibrate_judge(base, 0.5)
    noisy = matched_noisy_judge(cal.audit)
    longer = [i.replace(response=(i.response or "") + " and so on" * 60) for i in base]
    report, _ = run_audit(longer, {"h": cal.judge, "n": noisy})
    assert report["judges"]["h"]["overall"]["recall_noncompliant"] < 0.1
    assert abs(report["judges"]["n"]["overall"]["recall_noncompliant"] - 0.5) < 0.1
