"""The ``ifrl toolgen`` commands, offline: apis → dialogs → verify → export, resume and shards."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from ifrl.core.toolcalls import parse_tool_calls
from ifrl.toolgen.cli import cli
from ifrl.toolgen.dialog import DIALOG_TYPES


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_offline_pipeline(tmp_path: Path) -> None:
    apis, dialogs = tmp_path / "apis.jsonl", tmp_path / "dialogs.jsonl"
    kept, rejected, report = (
        tmp_path / "verified.jsonl",
        tmp_path / "rejected.jsonl",
        tmp_path / "report.md",
    )
    out = run("apis", "-n", "80", "-o", str(apis))
    assert "80 APIs in" in out and len(apis.read_text().splitlines()) == 80
    out = run("dialogs", "--apis", str(apis), "-n", "70", "-o", str(dialogs))
    assert "70 dialogs in" in out
    out = run(
        "verify",
        str(dialogs),
        "-o",
        str(kept),
        "--rejected",
        str(rejected),
        "--report",
        str(report),
    )
    assert "kept 70, rejected 0" in out
    lines = [json.loads(x) for x in kept.read_text().splitlines()]
    assert Counter(x["type"] for x in lines) == {k: 10 for k in DIALOG_TYPES}
    for row in lines:
        for m in row["messages"]:
            for c in m.get("tool_calls", []):
                parse_tool_calls(json.dumps(c))
    text = report.read_text()
    for check in ("api_clarity", "call_executability", "dialog_correctness", "sample_consistency"):
        assert f"| {check} | 70 | 0 |" in text
    for fmt in ("toolace", "openai", "sharegpt"):
        target = tmp_path / f"{fmt}.jsonl"
        assert "70 samples" in run("export", str(kept), "--format", fmt, "-o", str(target))
        assert len(target.read_text().splitlines()) == 70
    toolace = tmp_path / "toolace.json"
    toolace.write_text(
        json.dumps([json.loads(x) for x in (tmp_path / "toolace.jsonl").read_text().splitlines()])
    )
    back = tmp_path / "imported.jsonl"
    out = run("import", str(toolace), "-o", str(back))
    assert '"imported": 70' in out and '"type:multi_request": 10' in out
    assert '"type:tool_error": 10' in out
    assert "kept 70" in run(
        "verify",
        str(back),
        "-o",
        str(tmp_path / "v2.jsonl"),
        "--rejected",
        str(tmp_path / "r2.jsonl"),
    )


def test_dialogs_resume_and_shards(tmp_path: Path) -> None:
    apis = tmp_path / "apis.jsonl"
    run("apis", "-n", "40", "-o", str(apis))
    out = tmp_path / "d.jsonl"
    run("dialogs", "--apis", str(apis), "-n", "10", "-o", str(out))
    first = out.read_text().splitlines()
    assert "10 already there" in run("dialogs", "--apis", str(apis), "-n", "15", "-o", str(out))
    lines = out.read_text().splitlines()
    assert lines[:10] == first and len(lines) == 15
    assert [json.loads(x)["meta"]["index"] for x in lines] == list(range(15))
    s0, s1 = tmp_path / "s0.jsonl", tmp_path / "s1.jsonl"
    run("dialogs", "--apis", str(apis), "-n", "15", "-o", str(s0), "--shard", "0/2")
    run("dialogs", "--apis", str(apis), "-n", "15", "-o", str(s1), "--shard", "1/2")
    merged = sorted(
        s0.read_text().splitlines() + s1.read_text().splitlines(),
        key=lambda x: json.loads(x)["meta"]["index"],
    )
    assert merged == lines


def test_type_mix_and_thoughts(tmp_path: Path) -> None:
    apis, out = tmp_path / "apis.jsonl", tmp_path / "d.jsonl"
    run("apis", "-n", "60", "-o", str(apis))
    args = ["dialogs", "--apis", str(apis), "-n", "40", "-o", str(out)]
    run(*args, "--mix", "multi_request=1,tool_error=1", "--thoughts", "1")
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert {r["type"] for r in rows} == {"multi_request", "tool_error"}
    assert all(r["thoughts"] for r in rows)
    openai = tmp_path / "o.jsonl"
    run("export", str(out), "--format", "openai", "--thoughts", "-o", str(openai))
    first = json.loads(openai.read_text().splitlines()[0])
    index = int(next(iter(rows[0]["thoughts"])))
    assert first["messages"][index]["content"].startswith("<think>")
    run("export", str(out), "--format", "openai", "-o", str(openai))
    assert "<think>" not in openai.read_text()
    toolace = tmp_path / "t.jsonl"
    run("export", str(out), "--format", "toolace", "--thoughts", "-o", str(toolace))
    assert "<think>" not in toolace.read_text()
    for bad in ("chitchat=1", "single=-1", "single=0"):
        result = CliRunner().invoke(cli, [*args, "--mix", bad])
        assert result.exit_code == 2 and "--mix" in result.output


def test_bad_options_are_usage_errors(tmp_path: Path) -> None:
    apis = tmp_path / "apis.jsonl"
    run("apis", "-n", "5", "-o", str(apis))
    result = CliRunner().invoke(
        cli,
        [
            "dialogs",
            "--apis",
            str(apis),
            "-n",
            "3",
            "-o",
            str(tmp_path / "d.jsonl"),
            "--shard",
            "3/2",
        ],
    )
    assert result.exit_code == 2 and "0 <= i < n" in result.output
    result = CliRunner().invoke(
        cli, ["apis", "-n", "3", "-o", str(tmp_path / "x.jsonl"), "--backend", "hf"]
    )
    assert result.exit_code == 2 and "needs a model (--model" in result.output


def test_selfevolve_moved_to_the_toolace_dev_recipe(tmp_path: Path) -> None:
    """Self-evolution is the toolace-dev recipe now (its config errors are tested there)."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("queries: q.jsonl\nrounds: 0\n")
    for args in (["selfevolve", "--config", str(cfg)], ["selfevolve"], ["selfevolve", "--help"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2
        assert "moved: run `ifrl pipeline run toolace-dev --config FILE`" in result.output
        assert "rounds, k, temperature" in result.output  # where the old settings went


def test_export_and_import_every_format(tmp_path: Path) -> None:
    apis, dialogs = tmp_path / "apis.jsonl", tmp_path / "dialogs.jsonl"
    run("apis", "-n", "40", "-o", str(apis))
    run("dialogs", "--apis", str(apis), "-n", "14", "-o", str(dialogs))
    for fmt in ("toolace", "openai", "sharegpt", "hermes", "xlam"):
        out_file, back = tmp_path / f"{fmt}.jsonl", tmp_path / f"{fmt}-back.jsonl"
        out = run("export", str(dialogs), "--format", fmt, "-o", str(out_file))
        written = len(out_file.read_text().splitlines())
        assert f"export: {written} samples as {fmt}" in out
        assert written == 14 if fmt != "xlam" else 0 < written < 14  # xlam: calls first only
        run("import", str(out_file), "--format", fmt, "-o", str(back))
        assert len(back.read_text().splitlines()) == written
    row = json.loads((tmp_path / "openai.jsonl").read_text().splitlines()[0])
    calls = [c for m in row["messages"] for c in m.get("tool_calls") or []]
    assert all(isinstance(c["function"]["arguments"], dict) for c in calls)
    run(
        "export",
        str(dialogs),
        "--format",
        "openai",
        "--arguments",
        "string",
        "-o",
        str(tmp_path / "s"),
    )
    result = CliRunner().invoke(
        cli, ["export", str(dialogs), "--format", "hermes", "--arguments", "string", "-o", "x"]
    )
    assert result.exit_code != 0 and "only --format openai" in result.output


def test_nothing_to_write_is_an_error_that_keeps_the_earlier_output(tmp_path: Path) -> None:
    """Issue 22: an export in which every dialog is skipped, and an import of 0 samples, end in
    one error naming the input (exit 1), and the output of an earlier run stays as it was."""
    apis, dialogs = tmp_path / "apis.jsonl", tmp_path / "dialogs.jsonl"
    run("apis", "-n", "20", "-o", str(apis))
    run("dialogs", "--apis", str(apis), "-n", "14", "-o", str(dialogs), "--mix", "non_tool=1")
    assert {json.loads(line)["type"] for line in dialogs.read_text().splitlines()} == {"non_tool"}
    out = tmp_path / "out.jsonl"
    out.write_text("earlier\n")
    # xLAM rows start with a call: a dialog without one is skipped, here every dialog.
    result = CliRunner().invoke(cli, ["export", str(dialogs), "--format", "xlam", "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert f"{dialogs}: nothing to export (all 14 dialogs were skipped)" in result.output
    assert out.read_text() == "earlier\n"
    data = tmp_path / "data.json"
    data.write_text(json.dumps([{"system": 5, "conversations": "x"}, 7]))
    result = CliRunner().invoke(cli, ["import", str(data), "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert f"{data}: 0 samples imported as toolace, 2 skipped (first: 1:" in result.output
    assert out.read_text() == "earlier\n"
