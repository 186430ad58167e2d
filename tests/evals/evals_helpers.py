"""Helpers shared by the evals tests."""

from __future__ import annotations

from click.testing import CliRunner

from ifrl.evals.cli import cli


def invoke(args: list[str]) -> str:
    """Run ``ifrl eval ARGS`` in-process; fail the test unless it exits 0; return its output."""
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output
