"""IFEvalG (open-instruct's IFTrain types): registered under open-instruct's ids and kwargs, and
deciding as its checkers do.

``data/ifevalg_reference_verdicts.jsonl`` holds 990 (type, kwargs, response) cases, 15-18
passing and failing per type, each with the verdict open-instruct's own checker
(``open_instruct/IFEvalG/instructions.py``, run with NLTK 3.9.2) gave; cases where the
reference draws a random value (an int kwarg of 0) are left out. The hand-written cases below
pin the documented rules and quirks one by one.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

import pytest

from ifrl.constraints import IFEVAL_IDS, IFEVALG_IDS, REGISTRY, build, synthesize, verify
from ifrl.constraints.ifevalg import rule_sentences

DATA = Path(__file__).parent / "data" / "ifevalg_reference_verdicts.jsonl"


def passes(cid: str, response: str, **kwargs: object) -> bool:
    return build(cid, kwargs).check(response).passed


def test_the_29_ids_are_registered_and_distinct_from_ifeval() -> None:
    assert len(IFEVALG_IDS) == len(set(IFEVALG_IDS)) == 29
    assert not set(IFEVALG_IDS) & set(IFEVAL_IDS)
    assert all(cid in REGISTRY for cid in IFEVALG_IDS)


def test_every_reference_verdict_is_reproduced() -> None:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    outcomes: dict[str, set[bool]] = defaultdict(set)
    wrong = []
    for r in rows:
        got = build(r["id"], r["kwargs"]).check(r["response"]).passed
        outcomes[r["id"]].add(r["reference"])
        if got != r["reference"]:
            wrong.append((r["id"], r["kwargs"], r["response"][:80], r["reference"]))
    assert not wrong, wrong[:5]
    assert set(outcomes) == set(IFEVALG_IDS)
    assert all(o == {True, False} for o in outcomes.values()), outcomes


def test_rule_based_sentences() -> None:
    # Titles, web suffixes, decimals and initials do not end a sentence; ellipses do.
    text = "Mr. Smith went to example.com at 3.5 pm. He left... Then? Yes!"
    assert rule_sentences(text) == (
        "Mr. Smith went to example.com at 3.5 pm.",
        "He left...",
        "Then?",
        "Yes!",
    )
    assert rule_sentences('He said "hi." Then left.') == ('He said "hi".', "Then left.")
    assert rule_sentences("") == ()


def test_copying_types() -> None:
    req = "Write a note about tea."
    assert passes("copy:copy", "  write a NOTE about tea.\n", prompt_to_repeat=req)
    assert not passes("copy:copying_simple", req + " Sure.", prompt_to_repeat=req)
    three = "******".join([req, " " + req.upper() + " ", req])
    assert passes("copy:copying_multiple", three, prompt_to_repeat=req, N=3)
    assert not passes("copy:copying_multiple", three, prompt_to_repeat=req, N=2)
    # A Python slice: n_end excluded.
    assert passes("new:copy_span_idx", "a note", prompt_to_repeat=req, n_start=6, n_end=12)
    assert not passes("new:copy_span_idx", "a note ", prompt_to_repeat=req, n_start=6, n_end=11)


def test_repeat_phrase_needs_one_changed_word_per_copy() -> None:
    phrase = "Time flies when having fun"
    ok = "Time runs when having fun. Time flies when eating fun."
    assert passes("copy:repeat_phrase", ok, phrase=phrase, small_n=2)
    assert not passes("copy:repeat_phrase", ok, phrase=phrase, small_n=3)
    unchanged = "Time flies when having fun. Time runs when having fun."
    assert not passes("copy:repeat_phrase", unchanged, phrase=phrase, small_n=2)


def test_keyword_types() -> None:
    assert passes("keywords:word_once", "One River here.", keyword="river")
    assert not passes("keywords:word_once", "river rivers", keyword="river")  # substrings
    rule = {"keyword": "tea", "frequency": 2, "relation": "at least"}
    assert passes("keywords:word_count_different_numbers", "Tea, then tea.", **rule)
    # Only " keyword " between spaces counts, case-sensitively.
    assert passes("keywords:exclude_word_harder", "tea is hot, tea.", keyword="tea")
    assert not passes("keywords:exclude_word_harder", "hot tea is hot", keyword="tea")
    assert passes("keywords:no_adjacent_consecutive", "dog cat bird")
    assert not passes("keywords:no_adjacent_consecutive", "a Big dog")  # a -> b
    assert passes("keywords:palindrome", "I went home")  # one letter reads the same
    assert not passes("keywords:palindrome", "we went home")
    pos = {"keyword": "tea", "n": 2, "m": 3}
    assert passes("keywords:keyword_specific_position", "Hi. I like tea a lot.", **pos)
    assert not passes("keywords:keyword_specific_position", "Hi. I like Tea.", **pos)
    assert passes(
        "keywords:keyword_specific_position", "Hi. I like tea.", **{**pos, "keyword": ["tea"]}
    )
    assert passes("keywords:start_end", "Go home now go")
    assert not passes("keywords:start_end", "Go home now go.")  # the period is a token


def test_layout_types() -> None:
    assert passes("detectable_format:square_brackets", "[a] [b,]")
    assert not passes("detectable_format:square_brackets", "[a] b")
    assert passes("detectable_format:bigram_wrapping", "<<I am>> <<at home>> alone")
    assert not passes("detectable_format:bigram_wrapping", "<<I am>> at home")
    assert passes("detectable_format:sentence_hyphens", "I sat.-You ran.-We left.")
    assert not passes("detectable_format:sentence_hyphens", "I sat. - You ran.")
    assert passes("paragraphs:paragraphs", "One.\n***\nTwo.")
    assert not passes("paragraphs:paragraphs", "One.\n***\n\n***\nTwo.")  # empty middle
    assert passes("paragraphs:paragraphs2", "One.\n\nTwo.\n\n")
    assert not passes("paragraphs:paragraphs2", "One.\nTwo.")
    assert passes("punctuation:punctuation_dot", "No dots here!")
    assert not passes("punctuation:punctuation_exclamation", "Wow!")


def test_first_and_last_word_types() -> None:
    assert passes("first_word:first_word_sent", "The sea. the sky!", first_word="The")
    assert not passes("first_word:first_word_sent", "The sea. A sky.", first_word="The")
    assert passes("first_word:first_word_sent", "The sea.", first_word=["the", "x"])
    assert passes("first_word:first_word_answer", "Sure, done.", first_word="sure,")
    assert not passes("first_word:first_word_answer", "Sure, done.", first_word="sure")
    assert passes("last_word:last_word_sent", "I like tea. You like TEA!", last_word="tea")
    assert passes("last_word:last_word_answer", 'Drink "tea."', last_word="tea")


def test_counting_types() -> None:
    assert passes("count:lowercase_counting", "Hello World ok", N=1)
    assert not passes("count:lowercase_counting", "one two", N=1)
    assert passes("letters:letter_counting", "abc 123", N=3, relation="at least")
    assert not passes("letters:letter_counting", "abc", N=3, relation="less than")
    kw = {"letter": "a", "let_frequency": 2, "let_relation": "at least"}
    assert passes("letters:letter_counting2", "A banana", **kw)
    assert passes("count:count_unique", "One two, three")
    assert not passes("count:count_unique", "One. Two.")  # the period twice
    inc = {"keyword1": "tea", "keyword2": "cake"}
    assert passes("count:count_increment_word", "Tea and cake, Cake.", **inc)
    assert not passes("count:count_increment_word", "Tea and cake.", **inc)
    comp = {"n_sent": 1, "n_words": 3}
    good = "Cats run.\n***\nDogs sleep.\n***\nBirds sing."
    assert passes("count:counting_composition", good, **comp)
    assert not passes("count:counting_composition", good.replace("***", "* * *"), **comp)
    assert not passes("count:counting_composition", "***\n" + good, **comp)


def test_verify_loose_and_kwargs_errors() -> None:
    # Loose variants apply as for every type: a first line that breaks the rule is dropped.
    [strict], [loose] = (
        verify("Sure!\n[a] [b]", ["detectable_format:square_brackets"], [{}], mode=m)
        for m in ("strict", "loose")
    )
    assert (strict.passed, loose.passed) == (False, True)
    with pytest.raises(ValueError, match=r"copy:copying_multiple\.N"):
        build("copy:copying_multiple", {"prompt_to_repeat": "x", "N": "two"})


def test_synthesis_draws_ifevalg_types_only_when_named() -> None:
    default = synthesize([f"Describe item {i}." for i in range(40)], (1, 3), 0)
    assert not {c.id for p in default for c in p.constraints} & set(IFEVALG_IDS)
    named = synthesize(["Describe tea."] * 60, 1, random.Random(1), types=IFEVALG_IDS)
    drawn = {c.id for p in named for c in p.constraints}
    assert len(drawn) > 20
    for p in named:  # kwargs fit, and a copying type carries the request it copies
        for c in p.constraints:
            build(c.id, c.kwargs)
            if "prompt_to_repeat" in c.kwargs:
                assert c.kwargs["prompt_to_repeat"] == "Describe tea."
