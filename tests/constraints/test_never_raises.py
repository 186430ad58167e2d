"""Verifiers never raise, in both semantics: any text and any schema-valid kwargs give a Verdict.

Kwargs are generated from each type's schema; those a type rejects beyond the schema (a
``letter`` of two characters, ``nth_paragraph > num_paragraphs``) must raise
``ConstraintSpecError``, and nothing else may escape. The linear-time scans must equal the
IFEval regexes they replace.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ifrl.constraints import IFEVAL_IDS, ConstraintSpecError, build, evaluate, get_type
from ifrl.constraints.base import ERROR_PREFIX, SEMANTICS
from ifrl.constraints.nlp.treebank import _split_final_period
from ifrl.constraints.params import Param
from ifrl.constraints.scan import count_bullets, count_placeholders, titles

# Text with the characters the verifiers care about, plus anything unicode.
MARKUP = st.sampled_from(
    [*list("*-#[]<>{}\"',.!?:;\n\t "), "***", "******", "<<", ">>", "```json", "P.S.", "P.P.S"]
)
TEXT = st.one_of(
    st.text(),
    st.lists(st.one_of(MARKUP, st.text(max_size=5)), max_size=40).map("".join),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
)


def _value(p: Param) -> st.SearchStrategy[Any]:
    if p.type == "int":
        lo = p.minimum if p.minimum is not None else -(10**6)
        hi = p.maximum if p.maximum is not None else 10**6
        return st.integers(lo, hi)
    if p.type == "str":
        return st.sampled_from(p.choices) if p.choices else st.text(max_size=20)
    lo = p.minimum or 0
    return st.lists(st.text(max_size=10), min_size=lo, max_size=max(lo, 4))


def _kwargs(cid: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({p.name: _value(p) for p in get_type(cid).params})


def _check_never_raises(cid: str, kwargs: dict[str, Any], text: str) -> None:
    for semantics in SEMANTICS:
        try:
            c = build(cid, kwargs, semantics)
        except ConstraintSpecError as err:
            assert err.constraint_id == cid
            return
        for t in (text, text.upper(), text.lower()):
            v = c.check(t)
            assert isinstance(v.passed, bool)
            assert not v.reason.startswith(ERROR_PREFIX), v.reason


@pytest.mark.parametrize("cid", IFEVAL_IDS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_text_and_schema_valid_kwargs_give_a_verdict(cid: str, data: st.DataObject) -> None:
    kwargs = data.draw(_kwargs(cid))
    text = data.draw(TEXT)
    _check_never_raises(cid, kwargs, text)


@given(text=TEXT)
@settings(max_examples=150, deadline=None)
def test_strict_and_loose_scoring_never_raise(text: str) -> None:
    ids = ["startend:quotation", "detectable_format:title", "change_case:capital_word_frequency"]
    kwargs: list[dict[str, Any]] = [
        {},
        {},
        {"capital_frequency": 1, "capital_relation": "at least"},
    ]
    ev = evaluate(text, ids, kwargs)
    assert all(lo or not s for s, lo in zip(ev.strict, ev.loose))  # strict pass implies loose pass


ADVERSARIAL = {
    "newlines": "\n" * 1_000_000,
    "spaces then x": " " * 1_000_000 + "x",
    "brackets": "[" * 1_000_000,
    "angles": "<<" * 500_000,
    "stars": "*" * 1_000_000,
    "nested json": "[" * 100_000 + "]" * 100_000,
    "period then spaces": "a." + " " * 1_000_000 + "x",
    "words": "word " * 200_000,
    "binary": bytes(range(256)).decode("latin-1") * 4000,
    "unbalanced markdown": '```json\n{"a": [1, 2' + " *bold **x" * 50_000,
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_megabyte_inputs_give_verdicts_in_reasonable_time(name: str) -> None:
    text = ADVERSARIAL[name]
    rng_kwargs = {
        cid: get_type(cid).sample_kwargs(__import__("random").Random(0), prompt="Say hi.")
        for cid in IFEVAL_IDS
    }
    start = time.perf_counter()
    for cid in IFEVAL_IDS:
        v = build(cid, rng_kwargs[cid]).check(text)
        assert not v.reason.startswith(ERROR_PREFIX), (cid, v.reason)
    # generous bound: catches quadratic behaviour (minutes), not normal speed (seconds)
    assert time.perf_counter() - start < 120


_STAR = re.compile(r"^\s*\*[^\*].*$", re.MULTILINE)
_DASH = re.compile(r"^\s*-.*$", re.MULTILINE)
LINES = st.lists(
    st.sampled_from(["*", "-", " ", "\n", "\t", "a", "**", "\u2028", "x*"]), max_size=30
).map("".join)


@given(text=st.one_of(LINES, st.text(max_size=30)))
@settings(max_examples=400)
def test_bullet_scan_equals_ifeval_regexes(text: str) -> None:
    assert count_bullets(text, "*") == len(_STAR.findall(text))
    assert count_bullets(text, "-") == len(_DASH.findall(text))


@given(text=st.lists(st.sampled_from(["[", "]", "\n", "a", "[]"]), max_size=30).map("".join))
@settings(max_examples=300)
def test_placeholder_scan_equals_regex(text: str) -> None:
    assert count_placeholders(text) == len(re.findall(r"\[.*?\]", text))


@given(
    text=st.lists(st.sampled_from(["<", ">", "<<", ">>", "\n", "a", " "]), max_size=30).map("".join)
)
@settings(max_examples=300)
def test_title_scan_equals_regex(text: str) -> None:
    assert titles(text) == re.findall(r"<<[^\n]+>>", text)


_FINAL = re.compile("([^.])(\\.)([\\])}>\"'»”’ ]*)\\s*$")


@given(
    text=st.lists(
        st.sampled_from([".", " ", "\n", ")", "'", "”", "a", "..", "\t", "x."]), max_size=20
    ).map("".join)
)
@settings(max_examples=400)
def test_final_period_split_equals_the_treebank_rule(text: str) -> None:
    assert _split_final_period(text) == _FINAL.sub(r"\1 \2 \3 ", text)
