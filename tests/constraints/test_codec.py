"""The codec: IFEval/IFBench, VerIF and native rows read, written and round-tripped; TRL batch
columns; training and verdict rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ifrl_testdata import shared_data

from ifrl.constraints import ConstraintSpecError, evaluate, strict_fraction
from ifrl.constraints.codec import (
    JudgedRuleWarning,
    batch_specs,
    checker_text,
    detect_format,
    evaluation_row,
    from_row,
    read_prompts,
    row_key,
    to_row,
    training_row,
    write_prompts,
)
from ifrl.constraints.soft import describe_hard
from ifrl.core.errors import JSONLError, RecordError
from ifrl.core.records import ConstrainedPrompt, ConstraintSpec, Conversation, Message, ToolSpec

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


RULE = "def check_following(instruction, response):\n    return len(response.split()) <= 3\n"


def test_a_verif_rule_is_judged_loudly_and_its_code_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    planted = f"open({str(marker)!r}, 'w').write('x')\n" + RULE
    row = {
        "id": "v2",
        "prompt": "p",
        "checkers": ["[llm] Polite.", "[rule] At most 3 words."],
        "functions": [None, planted],
    }
    with pytest.warns(JudgedRuleWarning, match="never run"):
        item = from_row(row)
    assert [(c.id, c.kind) for c in item.constraints] == [
        ("soft:rubric", "soft"),
        ("soft:rubric", "soft"),
    ]
    assert item.constraints[1].kwargs == {"rubric": "At most 3 words."}
    assert item.meta["judged_rules"] == [1]
    assert item.meta["functions"] == [None, planted]  # kept as data, written back as data
    # Scoring, judging-free rewards and evaluation never execute the code.
    cols = {"constraints": [[c.to_dict() for c in item.constraints]]}
    assert strict_fraction(["p"], ["one two"], **cols) == [None]
    assert not marker.exists()
    out = to_row(item, "verif")
    assert out["functions"] == [None, planted] and out["judged_rules"] == [1]
    with pytest.raises(RecordError, match=r"checkers\[1\]: a \[rule\] checker: its code is"):
        from_row(row, rules="error")
    with pytest.raises(RecordError, match=r"checkers\[0\]"):
        from_row({"prompt": "p", "checkers": ["no tag"]})
    with pytest.raises(ValueError, match="rules must be one of"):
        from_row(row, rules="run")  # type: ignore[arg-type]


def test_open_instruct_ground_truth_rows_and_columns() -> None:
    truth = [
        {
            "instruction_id": ["keywords:word_once", "punctuation:no_comma"],
            "kwargs": [{"keyword": "tea", "frequency": None}, None],
        }
    ]
    row = {
        "messages": [{"role": "user", "content": "Tea?"}],
        "ground_truth": str(truth),
        "dataset": "ifeval",
    }
    item = from_row(row)
    assert item.text == "Tea?" and item.meta == {"dataset": "ifeval"}
    assert item.constraints == (
        ConstraintSpec("keywords:word_once", {"keyword": "tea"}),
        ConstraintSpec("punctuation:no_comma"),
    )
    assert to_row(item, "ifeval")["instruction_id_list"] == [c.id for c in item.constraints]
    # A JSON string inside the list (open-instruct's verifier accepts it) and a TRL column.
    cols = {"ground_truth": [json.dumps([json.dumps(truth[0])])]}
    assert batch_specs(cols, 0) == list(item.constraints)
    with pytest.raises(RecordError, match=r"ground_truth: expected"):
        from_row({"prompt": "p", "ground_truth": "[{'id': 1}]"})


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


def test_conversation_prompts_round_trip_with_their_tools(tmp_path: Path) -> None:
    conv = Conversation(
        (Message("system", "Be brief."), Message("user", "Weather in Oslo?")),
        (ToolSpec("weather", "Current weather."),),
    )
    item = ConstrainedPrompt("c1", conv, (ConstraintSpec("punctuation:no_comma"),))
    for fmt in ("ifeval", "verif", "native"):
        row = to_row(item, fmt)  # type: ignore[arg-type]
        assert row["prompt"][0] == {"role": "system", "content": "Be brief."}
        assert row["tools"][0]["function"]["name"] == "weather"
        assert from_row(json.loads(json.dumps(row))) == item
    assert item.text == "Weather in Oslo?"
    # a string prompt keeps an unrelated "tools" field in meta
    plain = from_row({"prompt": "p", "constraints": [], "tools": "a note"})
    assert plain.meta == {"tools": "a note"}
    with pytest.raises(RecordError, match=r"prompt\[0\]\.role"):
        from_row({"prompt": [{"role": "robot"}], "constraints": []})


def test_check_names_the_field_of_each_format() -> None:
    bad_kwargs = {
        "prompt": "p",
        "instruction_id_list": ["punctuation:no_comma", "length_constraints:number_words"],
        "kwargs": [{}, {"relation": "at least", "num_words": "many"}],
    }
    from_row(bad_kwargs)  # reading alone does not build the constraints
    with pytest.raises(RecordError) as err:
        from_row(bad_kwargs, check=True)
    assert err.value.field == "kwargs[1].num_words"
    assert "length_constraints:number_words: expected an integer" in str(err.value)
    typo = {"prompt": "p", "constraints": [{"id": "punctuation:no_coma"}]}
    with pytest.raises(RecordError) as err:
        from_row(typo, check=True)
    assert err.value.field == "constraints[0].id" and "did you mean" in str(err.value)
    soft = {"prompt": "p", "constraints": [{"id": "soft:tone", "kwargs": {}, "kind": "soft"}]}
    assert from_row(soft, check=True).soft  # judged constraints are not built


def test_row_keys_and_verdict_rows() -> None:
    assert row_key(from_row({"key": 12, "prompt": "p", "instruction_id_list": []})) == 12
    assert row_key(from_row({"id": "a-1", "prompt": "p", "constraints": []})) == "a-1"
    keyless = from_row({"prompt": "p", "instruction_id_list": []})
    assert row_key(keyless) is None and "key" not in to_row(keyless, "ifeval")
    assert from_row(to_row(keyless, "ifeval")) == keyless
    ev = evaluate("a, b", ["punctuation:no_comma"], [{}], key=3)
    assert (
        evaluation_row(ev)
        == ev.to_dict()
        == {
            "key": 3,
            "instruction_id_list": ["punctuation:no_comma"],
            "strict": [False],
            "loose": [False],
            "follow_all_strict": False,
            "follow_all_loose": False,
        }
    )


def test_batch_columns_are_read_in_every_form() -> None:
    native = {"constraints": [[NO_COMMA_ROW, {**TONE_ROW, "kwargs": json.dumps(None)}]]}
    with pytest.raises(ConstraintSpecError, match=r"constraints\[1\]\.kwargs"):
        batch_specs(native, 0)
    arrow = {  # Arrow fills the fields a row lacks with nulls
        "constraints": [[{"id": "punctuation:no_comma", "kwargs": {"tone": None}, "kind": None}]]
    }
    assert batch_specs(arrow, 0) == [ConstraintSpec("punctuation:no_comma")]
    as_json = {"constraints": [json.dumps([NO_COMMA_ROW, TONE_ROW])]}
    assert [s.kind for s in batch_specs(as_json, 0)] == ["hard", "soft"]
    ifeval = {
        "instruction_id_list": [json.dumps(["punctuation:no_comma", "soft:tone"])],
        "kwargs": [[None, {"tone": "formal", "style": None}]],
    }
    assert batch_specs(ifeval, 0) == [
        ConstraintSpec("punctuation:no_comma"),
        ConstraintSpec("soft:tone", {"tone": "formal"}, "soft"),
    ]
    assert batch_specs({"instruction_id_list": [None]}, 0) == []
    with pytest.raises(ConstraintSpecError, match="not valid JSON"):
        batch_specs({"constraints": ["[{"]}, 0)


def test_training_rows_feed_the_rewards() -> None:
    from ifrl.constraints import strict_fraction

    row = training_row(MIXED)
    # A string prompt becomes one user message: GRPO renders it with the chat template, as the
    # evaluation does (ConstrainedPrompt.conversation), not as raw text.
    assert row == {
        "prompt": [{"role": "user", "content": "Write a poem."}],
        "constraints": [c.to_dict() for c in MIXED.constraints],
    }
    columns = {k: [v] for k, v in row.items() if k != "prompt"}
    assert batch_specs(columns, 0) == list(MIXED.constraints)
    assert strict_fraction([row["prompt"]], ["no commas here"], **columns) == [0.5]
    chat = training_row(MIXED.replace(prompt=Conversation((Message("user", "Hi"),))))
    assert chat["prompt"] == [{"role": "user", "content": "Hi"}]


NO_COMMA_ROW = {"id": "punctuation:no_comma", "kwargs": {}}
TONE_ROW = {"id": "soft:tone", "kwargs": {"tone": "formal"}, "kind": "soft"}
