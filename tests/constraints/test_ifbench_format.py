"""IFBench ``format:*`` in fixed semantics: responses written to pass and to fail each type
(the reference semantics are tested against allenai/IFBench's verdicts in
``test_ifbench_conformance.py``)."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from ifrl.constraints import build, evaluate, get_type
from ifrl.constraints.params import ConstraintSpecError

CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "format:emoji",
        {},
        "The sun rose early. 🌅 Birds sang loudly 🐦. Was it spring? 🌸",
        "The sun rose early. 🌅 Birds sang loudly. Was it spring? 🌸",
    ),
    (
        "format:line_indent",
        {},
        "First step\n  second step\n\n    third step\n\t      fourth",
        "First step\n  second step\n  third step",
    ),
    (
        "format:list",
        {"sep": "!?!?"},
        "Key points:\n!?!? KRAS G12C is common.\n!?!? Sotorasib targets it.",
        "Key points:\n* KRAS G12C is common.\n* Sotorasib targets it.",
    ),
    (
        "format:newline",
        {},
        "Alpha\nand\nOmega,\nrevisited.",
        "Alpha\nand Omega\nrevisited.",
    ),
    (
        "format:no_bullets_bullets",
        {},
        "Springs oscillate. Damping slows them.\n\n* Undamped: x'' + w^2 x = 0\n* Damped: x'' + 2bx' + w^2 x = 0",
        "Springs oscillate.\n\n* Undamped: x'' + w^2 x = 0\n* Damped: x'' + 2bx' + w^2 x = 0",
    ),
    ("format:no_whitespace", {}, "Sets,classes:no.\n", "Sets are not classes."),
    ("format:options", {"options": "yes/no/maybe"}, "Maybe.", "Maybe, it depends on the game."),
    (
        "format:output_template",
        {},
        "My Answer: Suffering at scale. My Conclusion: It matters. Future Outlook: Research grows.",
        "My Answer: Suffering at scale. My Conclusion: [conclusion] Future Outlook: Research grows.",
    ),
    (
        "format:parentheses",
        {},
        "The lines (which meet {at [a point (given {by p = 1})]}) intersect.",
        "The lines (which meet {at [a point (given by p = 1)]}) intersect.",
    ),
    (
        "format:quote_unquote",
        {},
        'He said "carpe diem", which means seize the day, and "veni", meaning I came.',
        'He said "carpe diem", which means seize the day, and then "veni vidi vici"',
    ),
    (
        "format:quotes",
        {},
        'She wrote: "He told me, \'They shouted "run" at dawn\' and left." It\'s true.',
        "She wrote: \"He told me, 'run' and left.\" It's true.",
    ),
    (
        "format:sub-bullets",
        {},
        "* Light\n  - Less photosynthesis\n* Heat\n  - Cooler leaves\n  - Slower growth",
        "* Light\n  - Less photosynthesis\n* Heat\n* Water",
    ),
    (
        "format:thesis",
        {},
        "## Encryption\n<i>Video stays encrypted until it reaches the screen.</i> Keys live in "
        "hardware.\n\n## Memory\n<em>Decrypted frames never reach normal memory.</em> They stay "
        "in protected buffers.",
        "## Encryption\n<i>Video stays encrypted until it reaches the screen.</i> Keys live in "
        "hardware.\n\n## Memory\n*Decrypted frames never reach normal memory.*",
    ),
    (
        "format:title_case",
        {},
        "The Factions of Ohio After the War\nThe Rust Guard Holds the River and the Mills.",
        "The Factions of Ohio after the war",
    ),
]


@pytest.mark.parametrize(("cid", "kwargs", "good", "bad"), CASES, ids=[c[0] for c in CASES])
def test_pass_and_fail(cid: str, kwargs: dict[str, Any], good: str, bad: str) -> None:
    c = build(cid, kwargs, "fixed")
    assert c.check(good).passed, c.check(good).reason
    assert not c.check(bad).passed, c.check(bad).reason


def test_line_indent_needs_two_lines_and_skips_blank_lines_without_mutation() -> None:
    c = build("format:line_indent", {}, "fixed")
    assert not c.check("only one line").passed
    # several consecutive blank lines (the list-mutation bug skips every second one)
    assert c.check("a\n\n\n\n b\n\n\n\n  c").passed
    assert not c.check("a\n\n\n\n b\n\n\n\n c").passed


def test_options_variants() -> None:
    c = build("format:options", {"options": "a), b), c), d)"}, "fixed")
    assert c.check("b)").passed
    assert c.check("**(c)**").passed
    assert not c.check("e)").passed
    assert not c.check("b) Inadmissible because of the rules.").passed
    know = build("format:options", {"options": "I know or I don't know"}, "fixed")
    assert know.check("I don't know.").passed
    assert not know.check("I think I know.").passed
    with pytest.raises(ConstraintSpecError):
        build("format:options", {"options": "only"}, "fixed")


def test_list_markers_stand_alone() -> None:
    dash = build("format:list", {"sep": "-"}, "fixed")
    assert not dash.check("Use -. An over-dramatic, well-known style.").passed
    assert dash.check("- First item\n- Second item").passed
    inline = build("format:list", {"sep": "SEPARATOR"}, "fixed")
    assert inline.check("SEPARATOR apples SEPARATOR pears").passed
    assert not inline.check("SEPARATOR apples only").passed


def test_thesis_sections_by_headings_or_paragraphs() -> None:
    c = build("format:thesis", {}, "fixed")
    bold = "**Cause**\n<em>Hux acts alone.</em> He plots.\n\n**Effect**\n<i>Ren fall.</i> End."
    assert c.check(bold).passed
    assert not c.check(bold.replace("<i>Ren fall.</i>", "Ren fall.")).passed
    paras = "<i>Encryption holds.</i> Keys stay in hardware.\n\nFrames stay protected."
    assert not c.check(paras).passed
    assert c.check(paras.replace("Frames", "<i>Frames stay safe.</i> Frames")).passed


def test_quotes_tell_apostrophes_and_possessives_from_quotes() -> None:
    c = build("format:quotes", {}, "fixed")
    assert c.check("The students' notes: \"x 'y \"z\" y' x\" and that's it.").passed
    assert c.check("“A ‘B “C” B’ A”").passed
    assert not c.check("\"a 'b' a\" isn't deep").passed


def test_emoji_skips_headings() -> None:
    c = build("format:emoji", {}, "fixed")
    assert c.check("# Title\nHi 😀. Bye 🎉").passed
    assert not c.check("# Only a heading").passed


def test_emoji_at_start_of_next_sentence_closes_previous() -> None:
    c = build("format:emoji", {}, "fixed")
    assert c.check("Done. 🎉 Next one 🚀").passed
    assert not c.check("Done. 🎉 Next one").passed


def test_quote_unquote_needs_a_quote() -> None:
    assert not build("format:quote_unquote", {}, "fixed").check("No quotes at all here.").passed


def test_output_template_loose_accepts_bold_labels() -> None:
    text = "**My Answer:** A. **My Conclusion:** B. **Future Outlook:** C."
    ev = evaluate(text, ["format:output_template"], [{}], semantics="fixed")
    assert ev.strict == (False,) and ev.loose == (True,)


def test_sub_bullets_reject_orphan_dash_items() -> None:
    c = build("format:sub-bullets", {}, "fixed")
    assert not c.check("- orphan\n* Bullet\n  - sub").passed


@pytest.mark.parametrize("cid", [c[0] for c in CASES])
def test_sample_and_describe(cid: str) -> None:
    rng = random.Random(0)
    ctype = get_type(cid)
    for _ in range(5):
        kwargs = ctype.sample_kwargs(rng)
        text = ctype.describe(kwargs, rng)
        assert text and not re.search(r"\{\w+\}", text.replace("{and braces}", ""))
        build(cid, kwargs, "fixed")
