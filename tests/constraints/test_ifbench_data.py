"""Every record of IFBench's test set builds, verifies through the Python API and through
``ifrl constraints verify``, and responses written to its instructions pass."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from ifrl_testdata import shared_data

from ifrl.constraints import build, evaluate
from ifrl.constraints.base import ERROR_PREFIX, SEMANTICS
from ifrl.constraints.cli import cli
from ifrl.constraints.ifbench import IFBENCH_IDS
from ifrl.constraints.ifbench.count import PERSON_NAMES
from ifrl.constraints.ifbench.format import parse_options
from ifrl.constraints.ifbench.repeat import SIMPLE_SENTENCE


def _records() -> list[dict[str, Any]]:
    path = shared_data("ifbench", "IFBench_test.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _sentences_with(word: str, n: int, m: int = 2) -> str:
    out = []
    for i in range(1, n + 1):
        ws = [f"filler{k}" for k in range(1, max(m, 2) + 2)]
        if i == n:
            ws[m - 1] = word
        out.append(" ".join(ws).capitalize() + ".")
    return " ".join(out)


# Responses that follow one instruction, written from its kwargs.
WRITERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "count:conjunctions": lambda k: "Tea and cake, but not jam, or honey; nor bread, yet soup.",
    "count:keywords_multiple": lambda k: " ".join(
        " ".join([k[f"keyword{i}"]] * n) + "." for i, n in zip(range(1, 6), (1, 2, 3, 5, 7))
    ),
    "count:numbers": lambda k: " ".join(str(10 * i) for i in range(1, int(k["N"]) + 1)),
    "count:person_names": lambda k: ", ".join(PERSON_NAMES[: int(k["N"])]) + ".",
    "count:pronouns": lambda k: " ".join(["She saw them."] * int(k["N"])),
    "count:unique_word_count": lambda k: " ".join(f"w{i}" for i in range(int(k["N"]))),
    "count:word_count_range": lambda k: " ".join(["word"] * int(k["min_words"])),
    "format:options": lambda k: parse_options(k["options"])[0],
    "format:no_whitespace": lambda k: "Yes,allsetsareclasses.",
    "format:output_template": lambda k: "My Answer: A. My Conclusion: B. Future Outlook: C.",
    "repeat:repeat_simple": lambda k: SIMPLE_SENTENCE,
    "repeat:repeat_span": lambda k: " ".join(
        k["prompt_to_repeat"].split()[int(k["n_start"]) : int(k["n_end"]) + 1]
    ),
    "repeat:repeat_change": lambda k: " ".join(["Xylo", *k["prompt_to_repeat"].split()[1:]]),
    "words:words_position": lambda k: f"The {k['keyword']} is here, truly {k['keyword']} indeed.",
    "sentence:keyword": lambda k: _sentences_with(k["word"], int(k["N"])),
    "words:keywords_specific_position": lambda k: _sentences_with(
        k["keyword"], int(k["n"]), int(k["m"])
    ),
    "custom:multiples": lambda k: "14, 21, 28, 35, 42, 49",
    "custom:character_reverse": lambda k: ".elgae dlab ehT",
    "custom:word_reverse": lambda k: "eagle bald The",
}


def _clean(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {a: b for a, b in kwargs.items() if b is not None}


def _written(rec: dict[str, Any]) -> str | None:
    ids = rec["instruction_id_list"]
    if len(ids) != 1 or ids[0] not in WRITERS:
        return None
    return WRITERS[ids[0]](_clean(rec["kwargs"][0]))


def test_every_record_builds_and_covers_all_58_ids() -> None:
    recs = _records()
    assert len(recs) == 300
    seen = {cid for r in recs for cid in r["instruction_id_list"]}
    assert seen == set(IFBENCH_IDS)
    for r in recs:
        for cid, kw in zip(r["instruction_id_list"], r["kwargs"]):
            build(cid, kw)


def test_python_api_gives_verdicts_without_verifier_errors() -> None:
    written = 0
    for r in _records():
        for response in (r["prompt"], "A short reply.", _written(r)):
            if response is None:
                continue
            for semantics in SEMANTICS:
                ids, kwargs = r["instruction_id_list"], r["kwargs"]
                ev = evaluate(response, ids, kwargs, key=r["key"], semantics=semantics)
                assert len(ev.strict) == len(r["instruction_id_list"])
                assert not any(x.startswith(ERROR_PREFIX) for x in ev.reasons), ev.reasons
        if _written(r) is not None:
            written += 1
            ev = evaluate(
                _written(r) or "", r["instruction_id_list"], r["kwargs"], semantics="fixed"
            )
            assert ev.follow_all_strict, (r["key"], r["instruction_id_list"], ev.reasons)
    assert written >= 40


def test_cli_verify_matches_python_api(tmp_path: Path) -> None:
    src = shared_data("ifbench", "IFBench_test.jsonl")
    recs = _records()
    responses = tmp_path / "responses.jsonl"
    chosen = [_written(r) or r["prompt"] for r in recs]
    responses.write_text(
        "".join(
            json.dumps({"prompt": r["prompt"], "response": c}) + "\n" for r, c in zip(recs, chosen)
        ),
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(
        cli,
        ["verify", str(src), "--responses", str(responses), "--by-line", "-o", str(out), "--quiet"],
    )
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 300
    assert "prompt-level strict accuracy" in res.output
    for row, rec, response in zip(rows, recs, chosen):
        ev = evaluate(response, rec["instruction_id_list"], rec["kwargs"])
        assert row["instruction_id_list"] == rec["instruction_id_list"]
        assert row["strict"] == list(ev.strict) and row["loose"] == list(ev.loose)
    assert sum(r["follow_all_strict"] for r in rows) >= 40


@pytest.mark.parametrize("cid", sorted(set(IFBENCH_IDS)))
def test_each_id_with_its_data_kwargs_fails_a_blank_answer(cid: str) -> None:
    recs = [r for r in _records() if cid in r["instruction_id_list"]]
    assert recs, cid
    rec = recs[0]
    kw = rec["kwargs"][rec["instruction_id_list"].index(cid)]
    assert not build(cid, kw).check("   ").passed
