"""Formats: IFEval/IFBench, VerIF checkers and native rows, read, written and round-tripped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ifrl_testdata import shared_data

from ifrl.constraints.formats import (
    ConstrainedPrompt,
    checker_text,
    detect_format,
    from_row,
    read_prompts,
    to_row,
    write_prompts,
)
from ifrl.constraints.soft import describe_hard
from ifrl.core.errors import JSONLError, RecordError
from ifrl.core.records import ConstraintSpec

MIXED = ConstrainedPrompt(
    "7",
    "Write a poem.",
    (
        ConstraintSpec("punctuation:no_comma"),
        ConstraintSpec(
            "length_constraints:number_words", {"relation": "at least", "num_words": 50}
        ),
        ConstraintSpec("soft:tone", {"tone": "formal"}, "soft"),
    ),
    response="A poem",
    meta={"source": "test"},
)


@pytest.mark.parametrize("fmt", ["ifeval", "verif", "native"])
def test_round_trip_every_format(fmt: str, tmp_path: Path) -> None:
    path = tmp_path / f"{fmt}.jsonl"
    assert write_prompts(path, [MIXED], fmt) == 1  # type: ignore[arg-type]
    (back,) = read_prompts(path)
    assert back == MIXED
    (again,) = read_prompts(path, fmt)  # type: ignore[arg-type]
    assert again == MIXED


def test_ifeval_rows_drop_none_kwargs_and_infer_kinds() -> None:
    row = {
        "key": 1000,
        "prompt": "p",
        "instruction_id_list": ["keywords:existence", "soft:style"],
        "kwargs": [{"keywords": ["a"], "num_words": None}, {"style": "a news report"}],
    }
    item = from_row(row)
    assert item.id == "1000"
    assert item.constraints == (
        ConstraintSpec("keywords:existence", {"keywords": ["a"]}),
        ConstraintSpec("soft:style", {"style": "a news report"}, "soft"),
    )
    out = to_row(item, "ifeval")
    assert out["key"] == 1000 and "kinds" not in out  # kinds follow the ids: not written
    # an explicit kinds list overrides the id convention and is written back
    row["kinds"] = ["soft", "soft"]
    judged = from_row(row)
    assert [c.kind for c in judged.constraints] == ["soft", "soft"]
    assert to_row(judged, "ifeval")["kinds"] == ["soft", "soft"]


def test_verif_rows_have_rule_and_llm_checkers() -> None:
    row = to_row(MIXED, "verif")
    assert row["checkers"][0] == "[rule] " + describe_hard(MIXED.constraints[0])
    assert row["checkers"][2] == "[llm] The response is written in a formal tone throughout."
    assert checker_text(MIXED.constraints[0], lambda s: "no commas") == "[rule] no commas"
    assert row["source"] == "test" and row["response"] == "A poem"


def test_foreign_verif_rows_are_judged_as_rubrics() -> None:
    row = {
        "id": "v1",
        "prompt": "p",
        "checkers": ["[llm] The tone is polite.", "[rule] At most 50 words."],
        "functions": ["def check(r): ..."],
    }
    item = from_row(row)
    assert [c.id for c in item.constraints] == ["soft:rubric", "soft:rubric"]
    assert item.constraints[1].kwargs == {"rubric": "At most 50 words."}
    assert item.meta == {"judged_rules": [1]}
    with pytest.raises(RecordError, match=r"checkers\[1\]"):
        from_row(row, rules="error")
    with pytest.raises(RecordError, match=r"checkers\[0\]"):
        from_row({"prompt": "p", "checkers": ["no tag"]})


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"prompt": "p"}, ""),
        ({"prompt": 3, "instruction_id_list": []}, "prompt"),
        ({"prompt": "p", "instruction_id_list": ["a"], "kwargs": []}, "kwargs"),
        ({"prompt": "p", "instruction_id_list": ["a"], "kwargs": [3]}, "kwargs[0]"),
        ({"prompt": "p", "instruction_id_list": ["a"], "kinds": ["judged"]}, "kinds"),
        ({"prompt": "p", "constraints": [{"id": "a", "kind": "x"}]}, "constraints[0].kind"),
        ({"key": True, "prompt": "p", "constraints": []}, "key"),
        ({"prompt": "p", "constraints": [], "response": 1}, "response"),
    ],
)
def test_bad_rows_name_the_field(row: dict[str, object], field: str) -> None:
    with pytest.raises(RecordError) as err:
        from_row(row)
    assert err.value.field == field


def test_file_errors_name_path_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        json.dumps({"prompt": "p", "constraints": []})
        + "\n"
        + json.dumps({"prompt": "p", "constraints": [{"kwargs": {}}]})
        + "\n"
    )
    with pytest.raises(JSONLError, match=r"bad\.jsonl:2: constraints\[0\]\.id: missing"):
        list(read_prompts(path))


def test_missing_id_gets_a_stable_hash() -> None:
    a = from_row({"prompt": "same", "constraints": []})
    b = from_row({"prompt": "same", "constraints": []})
    assert a.id == b.id and a.id.startswith("p-")
    assert detect_format({"constraints": []}) == "native"


def test_real_ifeval_and_ifbench_files_load() -> None:
    ifeval = list(read_prompts(shared_data("ifeval", "input_data.jsonl")))
    assert len(ifeval) == 541 and all(c.kind == "hard" for i in ifeval for c in i.constraints)
    ifbench = list(read_prompts(shared_data("ifbench", "IFBench_test.jsonl")))
    assert len(ifbench) == 300
    assert all(v is not None for i in ifbench for c in i.constraints for v in c.kwargs.values())
    assert to_row(ifeval[0], "ifeval")["instruction_id_list"] == [
        c.id for c in ifeval[0].constraints
    ]
