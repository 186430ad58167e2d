"""The toolace recipe's verification-value arms: ``dialogs.defect_share`` plants rule-detectable
faults, ``verify.train_on`` picks the verified or the rejected dialogs for SFT and
``verify.limit`` caps the rows. Only the data stages (apis, dialogs, verify) run: seconds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ifrl.core.config import ConfigError, load_config
from ifrl.core.jsonl import read_jsonl
from ifrl.pipelines.recipe import Recipe, get_recipe, run_recipe
from ifrl.pipelines.recipes.toolace import (
    RULE_DEFECTS,
    NoTrainingRowsError,
    first_turn,
    write_dialogs,
)
from ifrl.toolgen import Dialog
from ifrl.toolgen.defects import DEFECTS

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "toolace-tiny.yaml"


def _data_recipe() -> Recipe:
    full = get_recipe("toolace")
    names = [s.name for s in full.stages[:3]]
    assert names == ["apis", "dialogs", "verify"]
    return Recipe(full.name, full.description, full.config_cls, full.stages[:3])


def _config(**overrides: Any) -> Any:
    given = {k.replace("__", "."): str(v).lower() for k, v in overrides.items()}
    return load_config(get_recipe("toolace").config_cls, EXAMPLE, given)


def _run(run_dir: Path, **overrides: Any) -> dict[str, Any]:
    states = run_recipe(_data_recipe(), _config(**overrides), run_dir, echo=lambda _: None)
    return {k: v["result"] for k, v in states.items()}


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _row(dialog: Dialog, first_only: bool = False) -> dict[str, Any]:
    row = dialog.conversation().to_openai(arguments_as="object")
    return first_turn(row) if first_only else row


def _planted(path: Path) -> list[Dialog]:
    return [d for d in read_jsonl(path, Dialog.from_json) if "planted" in d.meta]


def test_only_rule_detectable_defects_are_planted() -> None:
    assert RULE_DEFECTS and all(DEFECTS[n].rule_code for n in RULE_DEFECTS)
    assert set(RULE_DEFECTS) == {n for n, d in DEFECTS.items() if d.rule_code is not None}
    assert "swapped_arguments" not in RULE_DEFECTS  # a judge-only fault


def test_half_the_dialogs_get_a_fault_and_the_rule_layer_rejects_every_one(
    tmp_path: Path,
) -> None:
    res = _run(tmp_path / "a", dialogs__n=60, dialogs__defect_share=0.5)
    run = tmp_path / "a"
    dialogs, verify = res["dialogs"], res["verify"]
    assert dialogs["dialogs"] == 60 and dialogs["defective"] == 30
    assert sum(dialogs["defects"].values()) == 30 and set(dialogs["defects"]) <= set(RULE_DEFECTS)
    assert 0 < dialogs["defective_in_first_turn"] <= 30
    planted = _planted(run / "dialogs.jsonl")
    assert len(planted) == 30
    # Every planted dialog is rejected, with its fault's rule code among the issues; none is
    # kept. (Clean dialogs may fail too: rejected >= defective is all that is guaranteed.)
    rejected = {
        json.dumps(_row(Dialog.from_json(r))): r for r in read_jsonl(run / "rejected.jsonl")
    }
    for d in planted:
        row = rejected.get(json.dumps(_row(d)))
        assert row is not None, d.meta
        codes = {issue["code"] for issue in row["rejected"]}
        assert DEFECTS[d.meta["planted"]].rule_code in codes, (d.meta, codes)
    assert not _planted(run / "verified.jsonl")
    assert verify["rejected"] >= dialogs["defective"]
    assert verify["kept"] + verify["rejected"] == 60
    assert verify["sft_rows"] == verify["kept"]

    # Planting touches exactly the planted lines: the others are the clean run's, byte for byte.
    _run(tmp_path / "clean", dialogs__n=60)
    clean, dirty = _lines(tmp_path / "clean/dialogs.jsonl"), _lines(run / "dialogs.jsonl")
    assert len(clean) == len(dirty) == 60
    assert sum(a != b for a, b in zip(clean, dirty)) == 30

    # Seeded: the same config plants the same faults; another dialog seed other ones.
    _run(tmp_path / "again", dialogs__n=60, dialogs__defect_share=0.5)
    assert _lines(tmp_path / "again/dialogs.jsonl") == dirty


def test_train_on_rejected_writes_only_the_failed_dialogs(tmp_path: Path) -> None:
    for first_only in (False, True):
        run = tmp_path / f"first_{first_only}"
        res = _run(
            run,
            dialogs__defect_share=0.5,
            verify__train_on="rejected",
            verify__first_turn_only=first_only,
        )
        rows = list(read_jsonl(run / "sft_train.jsonl"))
        failed = [Dialog.from_json(r) for r in read_jsonl(run / "rejected.jsonl")]
        assert res["verify"]["sft_rows"] == len(rows) == len(failed) == res["verify"]["rejected"]
        assert rows == [_row(d, first_only) for d in failed]
        # Only failed dialogs: no row is one of a kept dialog.
        kept = {
            json.dumps(_row(Dialog.from_json(r), first_only))
            for r in read_jsonl(run / "verified.jsonl")
        }
        if not first_only:
            assert not kept & {json.dumps(r) for r in rows}
        assert len(rows) >= res["dialogs"]["defective"] > 0


def test_limit_keeps_the_first_rows_of_either_arm(tmp_path: Path) -> None:
    full = _run(tmp_path / "full", dialogs__defect_share=0.5)
    all_rows = _lines(tmp_path / "full/sft_train.jsonl")
    assert len(all_rows) == full["verify"]["sft_rows"] > 7
    for arm in ("verified", "rejected"):
        res = _run(tmp_path / arm, dialogs__defect_share=0.5, verify__train_on=arm, verify__limit=7)
        rows = _lines(tmp_path / arm / "sft_train.jsonl")
        assert res["verify"]["sft_rows"] == len(rows) == 7
        if arm == "verified":
            assert rows == all_rows[:7]
    # A limit above the rows there are keeps them all.
    res = _run(tmp_path / "big", dialogs__defect_share=0.5, verify__limit=10_000)
    assert _lines(tmp_path / "big/sft_train.jsonl") == all_rows


def test_the_default_config_trains_on_every_verified_dialog_as_before(tmp_path: Path) -> None:
    """defect_share 0 (the default) leaves dialogs.jsonl as the planner writes it, and
    sft_train.jsonl holds the verified dialogs' rows in order (what the recipe wrote before
    these options)."""
    res = _run(tmp_path / "run")
    assert res["dialogs"] == {"dialogs": 40, "failed": 0}
    assert set(res["verify"]) == {"kept", "rejected", "sft_rows"}
    write_dialogs(tmp_path / "run/apis.jsonl", 40, 0, 2, tmp_path / "direct.jsonl")
    assert _lines(tmp_path / "run/dialogs.jsonl") == _lines(tmp_path / "direct.jsonl")
    verified = [Dialog.from_json(r) for r in read_jsonl(tmp_path / "run/verified.jsonl")]
    assert list(read_jsonl(tmp_path / "run/sft_train.jsonl")) == [_row(d) for d in verified]
    assert res["verify"]["sft_rows"] == res["verify"]["kept"] == len(verified) > 0
    _run(tmp_path / "zero", dialogs__defect_share=0.0)
    assert _lines(tmp_path / "zero/sft_train.jsonl") == _lines(tmp_path / "run/sft_train.jsonl")


def test_no_rows_to_train_on_is_an_error_naming_the_fields(tmp_path: Path) -> None:
    with pytest.raises(NoTrainingRowsError) as err:
        _run(tmp_path / "run", verify__train_on="rejected")
    assert "dialogs.defect_share" in str(err.value) and "verify.train_on" in str(err.value)
    assert not (tmp_path / "run/sft_train.jsonl").exists()
    state = json.loads((tmp_path / "run/state.json").read_text())
    assert state["stages"]["verify"]["status"] == "failed"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"dialogs__defect_share": 1.5}, "dialogs.defect_share"),
        ({"dialogs__defect_share": -0.1}, "dialogs.defect_share"),
        ({"dialogs__defect_share": 0.3, "verify__grounding": False}, "dialogs.defect_share"),
        ({"verify__train_on": "failed"}, "verify.train_on"),
        ({"verify__limit": -1}, "verify.limit"),
    ],
)
def test_bad_values_are_config_errors(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        _config(**overrides)
    assert field in str(err.value)
