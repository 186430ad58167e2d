"""The ``ifrl`` command line with every member installed: its groups, versions and suggestions."""

from __future__ import annotations

from click.testing import CliRunner

from ifrl.core.cli import installed_members, main


def test_cli_lists_groups_and_versions() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    for group in ("constraints", "toolgen", "prm", "rl", "eval", "pipeline", "demo", "version"):
        assert group in result.output
    result = runner.invoke(main, ["version"])
    assert result.exit_code == 0
    for member in installed_members():
        assert member in result.output
    assert "ifrl-core" in result.output


def test_cli_suggests_nearest_command() -> None:
    result = CliRunner().invoke(main, ["contraints"])
    assert result.exit_code == 2
    assert "Did you mean 'constraints'?" in result.output
