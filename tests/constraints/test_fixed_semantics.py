"""The fixed semantics: for every type with a fix, a response on which the reference checker is
wrong and the fixed one right; the plumbing of ``semantics`` through the API.

The reference verdicts of these responses were checked against the reference implementations
themselves (allenai/IFBench at db69a6f for ``count:*`` ... ``words:*``, lm-eval 0.4.13 for the
IFEval types); ``words:start_verb``'s reference is NLTK's tagger, which tags ``*`` as no verb.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ifrl.constraints import (
    REGISTRY,
    AuditConfig,
    JudgedReward,
    NoisyJudge,
    RefineConfig,
    audit_judges,
    build,
    constraint_reward,
    evaluate,
    refine,
    run_audit,
    verify,
)
from ifrl.constraints.base import ERROR_PREFIX
from ifrl.constraints.cli import cli
from ifrl.constraints.ifbench._facts import AFRICAN_COUNTRIES
from ifrl.constraints.refine import JudgePrecision
from ifrl.core.records import ConstrainedPrompt, ConstraintSpec

REQUEST = "Write a python program to implement a simple JPEG compression algorithm."
AFRICA = "\n".join(sorted(set(AFRICAN_COUNTRIES) - {"Algeria"}, reverse=True))
CAPITALS = (
    "Reykjavik, Helsinki, Oslo, Tallinn, Stockholm, Riga, Moscow, Copenhagen, Vilnius, Minsk, "
    "Dublin, Berlin, Amsterdam, Warsaw, London, Brussels, Kyiv, Prague, Luxembourg, Paris, "
    "Vienna, Bratislava, Budapest, Vaduz, Chisinau, Bern, Ljubljana, Zagreb"
)


def _mcq(explained: bool) -> str:
    stems = ["Who painted it?", "Which movement came first?", "Which artist led Cubism in 1907?"]
    stems.append("Which artist challenged the very definition of art with a urinal in 1917?")
    blocks = []
    for i, stem in enumerate(stems, 1):
        options = "\n".join(f"{c}) Option {c}" for c in "ABCDE")
        blocks.append(f"Question {i}: {stem}\n{options}")
    return "\n\n".join(blocks) + ("\nExplanation: Picasso painted it." if explained else "")


def _story(first: str) -> str:
    words = "Bees Cats Dogs Eels Foxes Goats Hens Ibis Jays Kites Lions Mice Newts Owls Pigs"
    words += " Quails Rats Seals Toads Urchins Voles Wasps Xeruses Yaks Zebras"
    return " ".join([first] + [f"{w} ran." for w in words.split()])


def _csv(rows: list[str]) -> str:
    return "\n".join(rows)


_CITY = ["ID, Country, City, Year, Count"] + [
    f"{i}, France, Paris, 20{i:02d}, {i}" for i in range(7)
]
_SPECIAL = ["ProductID,Category,Brand,Price,Stock", '1,Food,"Bread & Co",2,5']
_SPECIAL += [f"{i},Food,Acme,2,5" for i in range(2, 15)]
_SPECIAL[8] = "8,Food,Acme"  # a row of 3 fields after the special one
_QUOTES = ['"StudentID"\t"Subject"\t"Grade"\t"Semester"\t"Score"', ""]
_QUOTES += [f'"{i}"\t"Math"\t"A"\t"Fall"\t"9{i}"' for i in range(3)]

# (id, kwargs, response, what the instruction asks: passed or not)
FIXES: list[tuple[str, dict[str, Any], str, bool]] = [
    ("count:conjunctions", {"small_n": 2}, "Tea and cake. And jam.", False),
    (
        "count:keywords_multiple",
        {"keyword1": "door", "keyword2": "bread", "keyword3": "blue", "keyword4": "lamp"}
        | {"keyword5": "river"},
        "A door. Bread, bread. Blue blue BLUE. Lamp lamp lamp lamp lamp. "
        "River river river river river river rivers.",
        False,
    ),
    ("count:numbers", {"N": 2}, "Read pages 12-15 tonight.", True),
    ("count:pronouns", {"N": 2}, "This plan covers all costs and some fees for each team.", False),
    ("count:punctuation", {}, "Wait?! Really: yes; it was loud, well. Why? Wow!", False),
    ("count:unique_word_count", {"N": 4}, "Red - green - blue", False),
    (
        "count:word_count_range",
        {"min_words": 4, "max_words": 6},
        "Don't panic, it's well-known.",
        True,
    ),
    ("count:words_japanese", {"N": 5}, "Too short here", False),
    ("custom:character_reverse", {}, "The symbol is the bald eagle (elgae dlab).", False),
    ("custom:csv_city", {}, _csv(_CITY), True),
    ("custom:csv_quotes", {}, _csv(_QUOTES), True),
    ("custom:csv_special_character", {}, _csv(_SPECIAL), False),
    ("custom:date_format_list", {}, "1805-12-02", False),
    ("custom:european_capitals_sort", {}, CAPITALS, True),
    ("custom:mcq_count_length", {}, _mcq(explained=True), False),
    ("custom:multiples", {}, "Here: 14, 21, 28, 35, 42, 49", False),
    ("custom:reverse_newline", {}, AFRICA, False),
    ("custom:sentence_alphabet", {}, _story('"Ants swarm," said Ann.'), True),
    ("custom:word_reverse", {}, "The bald eagle: eagle bald the is symbol national The.", False),
    ("format:emoji", {}, "We won 🇫🇷. Great day 🇫🇷.", True),
    ("format:line_indent", {}, "a\n\n\n\n b\n\n\n\n  c", True),
    ("format:list", {"sep": "-"}, "Use -. An over-dramatic, well-known style.", False),
    ("format:newline", {}, "Hello\n \nworld", True),
    ("format:no_bullets_bullets", {}, "Hello there\nGood day\n* a\n* b", False),
    ("format:no_whitespace", {}, "Sets,classes:no.\n", True),
    ("format:options", {"options": "Correct, Incorrect, Unsure"}, "Correct", True),
    (
        "format:output_template",
        {},
        "My Answer: [answer] My Conclusion: [conclusion] Future Outlook: [outlook]",
        False,
    ),
    ("format:parentheses", {}, "((((( x )", False),
    ("format:quote_unquote", {}, '"Carpe diem", "memento mori" are Latin.', False),
    ("format:quotes", {}, '"I don\'t know "why" the students\' books are gone," he said.', False),
    ("format:sub-bullets", {}, "Just a sentence.", False),
    (
        "format:thesis",
        {},
        "## Intro\nNo thesis here.\n\n## Body\n<i>Rain feeds rivers.</i> It falls.",
        False,
    ),
    ("format:title_case", {}, "The Lord of the Rings", True),
    (
        "ratio:overlap",
        {"reference_text": "the quick brown fox jumps over the lazy dog", "percentage": 60},
        "The quick brown fox jumps high now.",
        True,
    ),
    ("ratio:sentence_balance", {}, "Hello there", False),
    ("ratio:sentence_type", {}, "## Notes", False),
    ("ratio:sentence_words", {}, "Cat. Cat. Cat.", False),
    ("repeat:repeat_change", {"prompt_to_repeat": REQUEST}, REQUEST + " ", False),
    (
        "repeat:repeat_simple",
        {},
        "Only output this sentence here,  ignore all other requests.",
        True,
    ),
    (
        "repeat:repeat_span",
        {"prompt_to_repeat": REQUEST, "n_start": 3, "n_end": 6},
        "program to implement a",
        True,
    ),
    ("sentence:alliteration_increment", {}, "Big bears. Cats can, dogs dig.", False),
    ("sentence:increment", {"small_n": 1}, "**Plan**\nTwo words.\nNow three words.", True),
    ("words:alphabet", {}, "Échelles fondent gracieusement.", True),
    ("words:consonants", {}, "Try my gym.", False),
    (
        "words:keywords_specific_position",
        {"keyword": "like", "n": 1, "m": 3},
        "I don't like rain.",
        True,
    ),
    ("words:last_first", {}, "The end is near, friend. Friend, listen.", True),
    ("words:no_consecutive", {}, "Apples, “bananas” bounce", False),
    ("words:odd_even_syllables", {}, "added cat", True),
    ("words:palindrome", {}, " ".join(["level"] * 10), False),
    ("words:paragraph_last_first", {}, "Hello, my friend, hello.", True),
    ("words:prime_lengths", {}, "We see — the sky.", True),
    ("words:repeats", {"small_n": 1}, "My “dog” likes the dog park", False),
    ("words:start_verb", {}, "**Run** fast.", True),
    ("words:vowel", {}, "Café au lait", False),
    (
        "words:words_position",
        {"keyword": "despite"},
        "Art, despite everything, grew; despite all.",
        True,
    ),
    (
        "change_case:english_capital",
        {},
        "THIS CAN HELP ALLEVIATE BACK PAIN AND PROMOTE BETTER POSTURE.",
        True,
    ),
    ("change_case:english_lowercase", {}, "he felt free, like a bird soaring in the sky.", True),
    (
        "language:response_language",
        {"language": "en"},
        "He felt free, like a bird soaring in the sky.",
        True,
    ),
    (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 2, "nth_paragraph": 1, "first_word": "rain"},
        "\n\nRain falls.\n\nSun shines.",
        True,
    ),
]


@pytest.mark.parametrize(("cid", "kwargs", "response", "right"), FIXES, ids=[f[0] for f in FIXES])
def test_the_reference_is_wrong_and_the_fix_right(
    cid: str, kwargs: dict[str, Any], response: str, right: bool
) -> None:
    reference = build(cid, kwargs).check(response)
    fixed = build(cid, kwargs, "fixed").check(response)
    assert not reference.reason.startswith(ERROR_PREFIX), reference.reason
    assert reference.passed is not right, reference.reason
    assert fixed.passed is right, fixed.reason


def test_every_fix_has_a_case_and_a_readme_row() -> None:
    fixed = {cid for cid, ctype in REGISTRY.items() if ctype.has_fix()}
    assert fixed == {f[0] for f in FIXES}
    readme = (Path(__file__).parents[2] / "packages/constraints/README.md").read_text()
    table = re.search(r"<!-- fixed-table -->(.*?)<!-- /fixed-table -->", readme, re.S)
    assert table is not None
    rows = set(re.findall(r"^\| `([^`]+)` \|", table.group(1), re.M))
    assert rows == fixed


def test_types_without_a_fix_decide_the_same_in_both() -> None:
    for cid in (
        "count:person_names",
        "ratio:stop_words",
        "sentence:keyword",
        "punctuation:no_comma",
    ):
        assert not REGISTRY.get(cid).has_fix()
    kw = {"word": "eat", "N": 2}
    for text in ("# Food\nWe cook. We eat.", "We eat. Yes.", "a\n- eat"):
        assert build("sentence:keyword", kw).check(text) == build(
            "sentence:keyword", kw, "fixed"
        ).check(text)


def test_semantics_reach_every_entry_point() -> None:
    ids, kwargs = ["ratio:sentence_type"], [dict[str, Any]()]
    assert evaluate("## Notes", ids, kwargs).strict == (True,)
    assert evaluate("## Notes", ids, kwargs, semantics="fixed").strict == (False,)
    assert verify("## Notes", ids, kwargs, "loose")[0].passed
    assert not verify("## Notes", ids, kwargs, "loose", semantics="fixed")[0].passed
    assert build("ratio:sentence_type", {}, "fixed") is build("ratio:sentence_type", {}, "fixed")
    assert build("ratio:sentence_type", {}) is not build("ratio:sentence_type", {}, "fixed")
    with pytest.raises(ValueError, match="semantics"):
        build("ratio:sentence_type", {}, "lenient")  # type: ignore[arg-type]


def test_reference_tokens_are_punctuation_as_the_reference_sees_it() -> None:
    # the reference strips string.punctuation only: typographic quotes stay part of a word
    assert "“" not in string.punctuation
    assert build("words:repeats", {"small_n": 1}).check("“dog” dog").passed


NOTES = {"constraints": [[{"id": "ratio:sentence_type", "kwargs": {}}]]}


def test_rewards_take_the_semantics() -> None:
    assert constraint_reward()(["p"], ["## Notes"], **NOTES) == [1.0]
    fixed = constraint_reward(semantics="fixed")
    assert fixed(["p"], ["## Notes"], **NOTES) == [0.0]
    assert fixed.__name__ == "constraints_strict_all_fixed"
    judge = NoisyJudge()
    assert JudgedReward(judge)(["p"], ["## Notes"], **NOTES) == [1.0]
    assert JudgedReward(judge, semantics="fixed")(["p"], ["## Notes"], **NOTES) == [0.0]
    with pytest.raises(ValueError, match="semantics"):
        constraint_reward(semantics="strict")  # type: ignore[arg-type]


def test_audit_uses_and_reports_its_semantics() -> None:
    items = [ConstrainedPrompt("a", "p", (ConstraintSpec("ratio:sentence_type"),), "## Notes")]
    for semantics, truth in (("reference", True), ("fixed", False)):
        config = AuditConfig(recall_noncompliant=1.0, semantics=semantics)  # type: ignore[arg-type]
        report, pairs = run_audit(items, audit_judges(config), semantics=config.semantics)
        assert report["semantics"] == semantics
        assert [p.truth for ps in pairs.values() for p in ps] == [truth]
        assert [p.said for ps in pairs.values() for p in ps] == [truth]  # the judge's truth too


def test_refinement_reports_its_semantics_and_matches_the_audit() -> None:
    items = [ConstrainedPrompt("a", "p", (ConstraintSpec("punctuation:no_comma"),))]
    audit = {"semantics": "fixed", "judges": {"j": {"overall": {"precision": 1.0}, "per_type": {}}}}
    _, report = refine(items, RefineConfig(semantics="fixed"), precision=JudgePrecision(audit))
    assert report.to_dict()["semantics"] == "fixed"
    assert "(fixed checkers)" in report.to_markdown()
    with pytest.raises(ValueError, match="fixed checkers"):
        refine(items, RefineConfig(), precision=JudgePrecision(audit))
    del audit["semantics"]  # an audit from before semantics existed: the reference checkers
    _, report = refine(items, RefineConfig(), precision=JudgePrecision(audit))
    assert report.to_dict()["semantics"] == "reference"


def test_verify_command_takes_the_semantics(tmp_path: Path) -> None:
    src = tmp_path / "rows.jsonl"
    row = {"key": 1, "prompt": "p", "response": "## Notes"}
    src.write_text(
        json.dumps(row | {"instruction_id_list": ["ratio:sentence_type"], "kwargs": [{}]})
    )
    for semantics, passed in (("reference", True), ("fixed", False)):
        out = tmp_path / f"{semantics}.jsonl"
        args = ["verify", str(src), "-o", str(out), "--quiet", "--semantics", semantics]
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 0, res.output
        assert f"({semantics} semantics)" in res.output
        assert json.loads(out.read_text())["strict"] == [passed]
