"""IFBench ``custom:*``: responses written to pass and to fail each fixed task."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from ifrl.constraints import build, evaluate, get_type
from ifrl.constraints.ifbench._facts import (
    AFRICAN_COUNTRIES,
    EUROPEAN_CAPITALS_NORTH_OF_45,
    norm_name,
)

CAPITALS = [names[0] for names, _ in EUROPEAN_CAPITALS_NORTH_OF_45]
AFRICA_DESC = sorted(AFRICAN_COUNTRIES, reverse=True)


def _csv(header: str, rows: int, row: str) -> str:
    return "\n".join([header] + [row.format(i=i) for i in range(1, rows + 1)])


def _mcq(stems: list[str], options: int = 5) -> str:
    blocks = []
    for i, stem in enumerate(stems, 1):
        opts = [f"{'ABCDE'[k]}) Option {k}" for k in range(options)]
        blocks.append("\n".join([f"Question {i}: {stem}", *opts]))
    return "\n\n".join(blocks)


STEMS = [
    "Who painted Guernica?",
    "Which movement did Dalí join?",
    "Which artist is known for drip painting in the 1940s?",
    "Which 1917 work by Marcel Duchamp challenged the definition of art itself?",
]
STORY = " ".join(
    f"{w} went on."
    for w in [
        "Anna",
        "Bob",
        "Cats",
        "Dogs",
        "Eels",
        "Fish",
        "Geese",
        "Hens",
        "Ian",
        "Jo",
        "Kim",
        "Lou",
        "Max",
        "Ned",
        "Oz",
        "Pat",
        "Quinn",
        "Ray",
        "Sam",
        "Tom",
        "Uma",
        "Val",
        "Wes",
        "Xan",
        "Yul",
        "Zed",
    ]
)

CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("custom:character_reverse", {}, ".elgae dlab ehT", "The bald eagle."),
    ("custom:word_reverse", {}, "eagle bald the is symbol national The.", "The bald eagle."),
    (
        "custom:csv_city",
        {},
        _csv("ID,Country,City,Year,Count", 7, "{i},France,Paris,2020,{i}00"),
        _csv("ID,Country,City,Year,Count", 6, "{i},France,Paris,2020,{i}00"),
    ),
    (
        "custom:csv_quotes",
        {},
        _csv(
            '"StudentID"\t"Subject"\t"Grade"\t"Semester"\t"Score"',
            3,
            '"{i}"\t"Math"\t"A"\t"Fall"\t"9{i}"',
        ),
        _csv(
            '"StudentID"\t"Subject"\t"Grade"\t"Semester"\t"Score"',
            3,
            '"{i}"\t"Math"\tA\t"Fall"\t"9{i}"',
        ),
    ),
    (
        "custom:csv_special_character",
        {},
        _csv("ProductID,Category,Brand,Price,Stock", 13, "{i},Tools,Acme,9.99,{i}")
        + '\n14,"Tools & More",Acme,9.99,3',
        _csv("ProductID,Category,Brand,Price,Stock", 14, "{i},Tools,Acme,9.99,{i}"),
    ),
    (
        "custom:date_format_list",
        {},
        "1793-09-18, 1796-04-12, 1796-05-10, 1796-11-15, 1797-01-14, 1798-07-21, "
        "1800-06-14, 1805-12-02, 1806-10-14, 1807-02-07, 1809-07-05, 1815-06-18",
        "1793-09-18, 1796-04-12, 1796-05-10, 1796-11-15, 1797-01-14, 1798-07-21, "
        "1800-06-14, 1805-12-02, 1806-10-14, 1807-02-07, 1809-07-05, 1815-06-18 (Waterloo)",
    ),
    (
        "custom:european_capitals_sort",
        {},
        ", ".join(CAPITALS),
        ", ".join(CAPITALS[:5] + CAPITALS[6:]),  # Riga left out
    ),
    ("custom:mcq_count_length", {}, _mcq(STEMS), _mcq(STEMS[::-1])),
    ("custom:multiples", {}, "14, 21, 28, 35, 42, 49", "14, 21, 28, 35, 42, 49, 56"),
    ("custom:reverse_newline", {}, "\n".join(AFRICA_DESC), "\n".join(sorted(AFRICAN_COUNTRIES))),
    ("custom:sentence_alphabet", {}, STORY, STORY.replace("Quinn", "Kim")),
]


@pytest.mark.parametrize(("cid", "kwargs", "good", "bad"), CASES, ids=[c[0] for c in CASES])
def test_pass_and_fail(cid: str, kwargs: dict[str, Any], good: str, bad: str) -> None:
    c = build(cid, kwargs, "fixed")
    assert c.check(good).passed, c.check(good).reason
    assert not c.check(bad).passed, c.check(bad).reason


def test_capitals_order_and_extras() -> None:
    c = build("custom:european_capitals_sort", {}, "fixed")
    swapped = CAPITALS[:]
    swapped[3], swapped[4] = swapped[4], swapped[3]
    assert not c.check(", ".join(swapped)).passed
    with_astana = [*CAPITALS[:15], "Astana", *CAPITALS[15:]]
    assert c.check(", ".join(with_astana)).passed
    assert not c.check(", ".join([*CAPITALS, "Rome"])).passed
    assert c.check(
        ", ".join(CAPITALS).replace("Kyiv", "Kiev").replace("Chisinau", "Chișinău")
    ).passed


def test_africa_names_and_loose_intro() -> None:
    c = build("custom:reverse_newline", {}, "fixed")
    names = ["Côte d’Ivoire" if n == "Ivory Coast" else n for n in AFRICAN_COUNTRIES]
    listing = "\n".join(f"- {n}" for n in sorted(names, key=norm_name, reverse=True))
    assert c.check(listing).passed
    assert not c.check("\n".join(AFRICA_DESC[:-1])).passed  # Algeria missing
    ev = evaluate(
        "Here they are:\n" + "\n".join(AFRICA_DESC),
        ["custom:reverse_newline"],
        [{}],
        semantics="fixed",
    )
    assert ev.strict == (False,) and ev.loose == (True,)


def test_mcq_rejects_explanations_and_wrong_option_counts() -> None:
    c = build("custom:mcq_count_length", {}, "fixed")
    assert not c.check(_mcq(STEMS, options=4)).passed
    assert not c.check(_mcq(STEMS) + "\nExplanation: Picasso painted it.").passed
    assert c.check(_mcq(STEMS) + "\nAnswer: B").passed
    assert not c.check("Here are your questions.\n" + _mcq(STEMS)).passed


def test_dates_must_be_real_and_in_career() -> None:
    c = build("custom:date_format_list", {}, "fixed")
    ok = "1796-04-12, 1796-05-10, 1796-11-15, 1797-01-14, 1798-07-21, 1800-06-14, "
    ok += "1805-12-02, 1806-10-14, 1807-02-07, 1809-07-05"
    assert c.check(ok).passed
    assert not c.check(ok + ", 1805-02-30").passed
    assert not c.check(ok + ", 1830-01-01").passed
    assert not c.check("1805-12-02").passed  # one battle is not all of them


@pytest.mark.parametrize("cid", [c[0] for c in CASES])
def test_sample_and_describe(cid: str) -> None:
    rng = random.Random(0)
    ctype = get_type(cid)
    text = ctype.describe(ctype.sample_kwargs(rng), rng)
    assert text and not re.search(r"\{\w+\}", text)


def test_csv_accepts_windows_line_endings_and_rejects_broken_csv() -> None:
    c = build("custom:csv_city", {}, "fixed")
    table = _csv("ID,Country,City,Year,Count", 7, "{i},France,Paris,2020,{i}00")
    assert c.check(table.replace("\n", "\r\n")).passed
    assert not c.check('ID,Country,City,Year,Count\n1,"France,Paris,2020,1').passed
