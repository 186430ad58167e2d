"""``ifrl constraints list | verify | synth``."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from ifrl_testdata import shared_data

from ifrl.constraints import IFEVAL_IDS, IFEVALG_IDS
from ifrl.constraints.cli import cli


def _rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]


def test_list_shows_every_type_with_its_schema() -> None:
    out = CliRunner().invoke(cli, ["list"])
    assert out.exit_code == 0, out.output
    for cid in IFEVAL_IDS:
        assert cid in out.output
    assert "num_words: int >= 0" in out.output
    js = CliRunner().invoke(cli, ["list", "--json", "--family", "keywords"])
    ids = [json.loads(line)["id"] for line in js.output.splitlines()]
    # IFEval's keyword types and the IFEvalG (IFTrain) ones open-instruct adds
    wanted = {i for i in (*IFEVAL_IDS, *IFEVALG_IDS) if i.startswith("keywords:")}
    assert sorted(ids) == sorted(wanted)
    assert "keywords:word_once" in ids


def test_verify_rows_with_responses(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    rows = [
        {
            "key": 1,
            "prompt": "p",
            "response": "no commas here",
            "instruction_id_list": ["punctuation:no_comma"],
            "kwargs": [{}],
        },
        {
            "prompt": "q",
            "response": 'intro\n"quoted"',
            "instruction_id_list": ["startend:quotation", "punctuation:no_comma"],
            "kwargs": [{}, {"unused": None}],
        },
    ]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(cli, ["verify", str(src), "-o", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert _rows(out) == [
        {
            "key": 1,
            "instruction_id_list": ["punctuation:no_comma"],
            "strict": [True],
            "loose": [True],
            "follow_all_strict": True,
            "follow_all_loose": True,
        },
        {
            "key": None,
            "instruction_id_list": ["startend:quotation", "punctuation:no_comma"],
            "strict": [False, True],
            "loose": [True, True],
            "follow_all_strict": False,
            "follow_all_loose": True,
        },
    ]
    assert "prompt-level strict accuracy:      50.00%" in res.output
    assert "instruction-level loose accuracy:  100.00%" in res.output


def test_verify_names_file_line_and_field_of_bad_input(tmp_path: Path) -> None:
    src = tmp_path / "bad.jsonl"
    good = {"prompt": "p", "response": "r", "instruction_id_list": ["punctuation:no_comma"]}
    bad = {
        **good,
        "instruction_id_list": ["length_constraints:number_words"],
        "kwargs": [{"num_words": "many", "relation": "at least"}],
    }
    src.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["verify", str(src), "-o", str(tmp_path / "o.jsonl")])
    assert res.exit_code != 0
    assert (
        f"{src}:2: kwargs[0].num_words: length_constraints:number_words: expected an integer"
        in str(res.exception)
    )
    assert not (tmp_path / "o.jsonl").exists()
    typo = {**good, "instruction_id_list": ["punctuation:no_coma"]}
    src.write_text(json.dumps(typo) + "\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["verify", str(src), "-o", str(tmp_path / "o.jsonl")])
    assert "instruction_id_list[0]" in str(res.exception)
    assert "did you mean 'punctuation:no_comma'" in str(res.exception)


def test_verify_ifeval_files_prints_the_reference_accuracies(tmp_path: Path) -> None:
    folder = shared_data("ifeval")
    out = tmp_path / "verdicts.jsonl"
    args = [
        "verify",
        str(folder / "input_data.jsonl"),
        "--responses",
        str(folder / "responses_gpt4.jsonl"),
        "--by-line",
        "-o",
        str(out),
        "--quiet",
    ]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    # lm-eval 0.4.13's accuracies on these responses (../shared/data/README.md)
    for line in (
        "prompt-level strict accuracy:      77.08%",
        "prompt-level loose accuracy:       79.67%",
        "instruction-level strict accuracy: 83.69%",
        "instruction-level loose accuracy:  85.61%",
    ):
        assert line in res.output
    assert len(_rows(out)) == 541
    # pairing by prompt text leaves out key 2785, whose response was made for another prompt
    res = CliRunner().invoke(cli, [*args[:4], "-o", str(out), "--quiet"])
    assert res.exit_code == 0
    assert "1 input prompts have no response with the same prompt (keys 2785)" in res.output
    assert len(_rows(out)) == 540


def test_synth_writes_ifeval_records_that_verify(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("Describe a river.\nWrite a note to a friend.\n\n", encoding="utf-8")
    out = tmp_path / "synth.jsonl"
    args = ["synth", str(seeds), "-n", "5", "-o", str(out), "--max-constraints", "3", "--seed", "4"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    rows = _rows(out)
    assert [r["key"] for r in rows] == [0, 1, 2, 3, 4]
    assert [r["seed_prompt"] for r in rows] == [
        "Describe a river.",
        "Write a note to a friend.",
    ] * 2 + ["Describe a river."]
    for r in rows:
        assert 1 <= len(r["instruction_id_list"]) <= 3
        assert len(r["kwargs"]) == len(r["checkers"]) == len(r["instruction_id_list"])
        assert all(c.startswith("[rule] ") and c[7:] in r["prompt"] for c in r["checkers"])
    # same seed, same file
    again = tmp_path / "again.jsonl"
    CliRunner().invoke(cli, [*args[:5], str(again), *args[6:]])
    assert again.read_text() == out.read_text()
    # the records feed straight back into verify
    resp = tmp_path / "resp.jsonl"
    resp.write_text(
        "".join(json.dumps({"prompt": r["prompt"], "response": "ok"}) + "\n" for r in rows)
    )
    res = CliRunner().invoke(
        cli,
        ["verify", str(out), "--responses", str(resp), "-o", str(tmp_path / "v.jsonl"), "--quiet"],
    )
    assert res.exit_code == 0, res.output
