"""The 58 IFBench verifiers never raise, in both semantics: any text and any schema-valid kwargs
give a Verdict (kwargs a type rejects beyond its schema raise ``ConstraintSpecError`` naming the
type). The linear-time emulations of the reference's quadratic loops equal those loops, and
megabyte inputs give verdicts."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ifrl.constraints import ConstraintSpecError, build, evaluate, get_type
from ifrl.constraints.base import ERROR_PREFIX, SEMANTICS
from ifrl.constraints.ifbench import IFBENCH_IDS
from ifrl.constraints.ifbench.format import lines_left_by_removal
from ifrl.constraints.params import Param

# Characters the IFBench checks react to, emoji, kana and anything unicode.
MARKUP = st.sampled_from(
    [
        *list("*-#()[]{}\"'“”‘’,.!?:;\t\n "),
        "?!",
        "‽",
        "<i>",
        "</i>",
        "<em>",
        "My Answer:",
        "Question 1:",
        "A)",
        "!?!?",
        "😀",
        "👍🏽",
        "日本語",
        "ひらがな",
        "1,000",
        "3.14",
        "eagle",
        "bald",
        "Emma",
        "    ",
    ]
)
TEXT = st.one_of(
    st.text(),
    st.lists(st.one_of(MARKUP, st.text(max_size=6)), max_size=40).map("".join),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
)


def _value(p: Param) -> st.SearchStrategy[Any]:
    if p.type == "int":
        lo = p.minimum if p.minimum is not None else -(10**6)
        hi = p.maximum if p.maximum is not None else 10**6
        return st.integers(lo, min(hi, lo + 60))
    if p.type == "str":
        if p.choices:
            return st.sampled_from(p.choices)
        return st.one_of(st.text(max_size=30), st.sampled_from(["yes/no", "a or b", "!?!?", " "]))
    lo = p.minimum or 0
    return st.lists(st.text(max_size=10), min_size=lo, max_size=max(lo, 4))


@pytest.mark.parametrize("cid", IFBENCH_IDS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_text_and_schema_valid_kwargs_give_a_verdict(cid: str, data: st.DataObject) -> None:
    kwargs = data.draw(st.fixed_dictionaries({p.name: _value(p) for p in get_type(cid).params}))
    text = data.draw(TEXT)
    for semantics in SEMANTICS:
        try:
            c = build(cid, kwargs, semantics)
        except ConstraintSpecError as err:
            assert err.constraint_id == cid
            continue
        for t in (text, text.upper(), text[::-1]):
            v = c.check(t)
            assert isinstance(v.passed, bool)
            assert not v.reason.startswith(ERROR_PREFIX), v.reason


@given(text=TEXT)
@settings(max_examples=60, deadline=None)
def test_strict_and_loose_scoring_over_many_types_never_raise(text: str) -> None:
    ids = ["format:emoji", "ratio:sentence_type", "words:odd_even_syllables", "format:quotes"]
    for semantics in SEMANTICS:
        ev = evaluate(text, ids, [{}, {}, {}, {}], semantics=semantics)
        assert len(ev.strict) == len(ev.loose) == 4
        assert not any(r.startswith(ERROR_PREFIX) for r in ev.reasons)


def _remove_while_iterating(lines: list[str]) -> list[str]:
    """The reference's loop, quadratic: removing from the list it iterates over."""
    lines = list(lines)
    for line in lines:
        if not line.strip():
            lines.remove(line)
    return lines


@given(st.lists(st.sampled_from(["", " ", "  ", "\t", "a", " b", "  c"]), max_size=14))
@settings(max_examples=400, deadline=None)
def test_line_removal_equals_the_reference_loop(lines: list[str]) -> None:
    assert lines_left_by_removal(lines) == _remove_while_iterating(lines)


QUESTIONS = st.lists(
    st.sampled_from(["\n", "Question ", "1", "2", ".", ")", " ", "x", "Question 3:"]), max_size=16
).map(lambda parts: "Question" + "".join(parts))


@given(QUESTIONS)
@settings(max_examples=400, deadline=None)
def test_question_split_equals_the_reference_pattern(text: str) -> None:
    from ifrl.constraints.ifbench.custom import _REFERENCE_LABEL

    reference = re.compile(r"\n*(?:Question \d+[\.|\):;]?\s*)")
    ours = [q.strip() for q in _REFERENCE_LABEL.split(text) if q.strip()]
    assert ours == [q.strip() for q in reference.split(text) if q.strip()]


ADVERSARIAL = {
    "newlines": "\n" * 300_000,
    "blank lines with spaces": " \n" * 300_000,
    "questions then newlines": "Question 1" + "\n" * 300_000 + "x",
    "brackets": "(" * 300_000,
    "quotes": "\"'" * 150_000,
    "stars": "*" * 300_000,
    "words": "word " * 60_000,
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_long_adversarial_inputs_give_verdicts(name: str) -> None:
    text = ADVERSARIAL[name]
    rng = random.Random(0)
    for cid in IFBENCH_IDS:
        kwargs = get_type(cid).sample_kwargs(rng, prompt="Explain tides to a child.")
        for semantics in SEMANTICS:
            v = build(cid, kwargs, semantics).check(text)
            assert not v.reason.startswith(ERROR_PREFIX), (cid, semantics, v.reason)
