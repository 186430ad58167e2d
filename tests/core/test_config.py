"""The one config kit (ifrl.core.config) and the CLI kit built on it (ifrl.core.cli)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import click
import pytest
from click.testing import CliRunner

from ifrl.core.cli import GeneratorOptions, config_options, generator_options
from ifrl.core.config import (
    ConfigError,
    check_fields,
    describe,
    from_mapping,
    load_config,
    opt,
    to_dict,
)


@dataclass
class Inner:
    """A section."""

    n: int = opt("How many.", 1, minimum=1)
    names: tuple[str, ...] = opt("Names.", ())

    def validate(self) -> None:
        if self.n > 9 and not self.names:
            raise ConfigError("", "names", "give names for more than 9")


@dataclass
class Outer:
    """A config with a section and plain fields of every supported type."""

    name: str = opt("The name.")
    rate: float = opt("A rate.", 0.5)
    flag: bool = opt("A switch.", False)
    limit: int | None = opt("An optional limit.", None)
    engine: dict[str, Any] = opt("Engine options.", factory=dict)
    inner: Inner = opt("The section.", factory=Inner)


def test_from_mapping_builds_sections_and_checks_types() -> None:
    cfg = from_mapping(Outer, {"name": "m", "inner": {"n": 3, "names": ["a", "b"]}}, "c.yaml")
    assert cfg.inner == Inner(3, ("a", "b")) and cfg.rate == 0.5 and cfg.limit is None
    with pytest.raises(ConfigError, match=r"^c\.yaml: inner\.n: expected int, got 'x'$"):
        from_mapping(Outer, {"name": "m", "inner": {"n": "x"}}, "c.yaml")
    with pytest.raises(ConfigError, match=r"c\.yaml: inner: unknown key 'nn'.*did you mean 'n'"):
        from_mapping(Outer, {"name": "m", "inner": {"nn": 2}}, "c.yaml")
    with pytest.raises(ConfigError, match=r"^c\.yaml: inner\.n: must be at least 1, got -4$"):
        from_mapping(Outer, {"name": "m", "inner": {"n": -4}}, "c.yaml")
    with pytest.raises(ConfigError, match=r"^c\.yaml: inner\.names: give names for more than 9$"):
        from_mapping(Outer, {"name": "m", "inner": {"n": 12}}, "c.yaml")
    with pytest.raises(ConfigError, match=r"^c\.yaml: name: required$"):
        from_mapping(Outer, {}, "c.yaml")
    with pytest.raises(ConfigError, match=r"c\.yaml: flag: expected true or false, got 'yes'"):
        from_mapping(Outer, {"name": "m", "flag": "yes"}, "c.yaml")


@dataclass(frozen=True)
class Checked:
    """Bounds and choices declared on the fields, checked on construction."""

    steps: int = opt("Steps.", 1, minimum=1)
    mode: Literal["fast", "exact"] = opt("How.", "fast")
    trackers: tuple[str, ...] = opt("Trackers.", (), choices=("wandb", "tensorboard"))

    def __post_init__(self) -> None:
        check_fields(self)


def test_check_fields_enforces_minimum_choices_and_literal_values() -> None:
    assert Checked(2, "exact", ("wandb",)) == from_mapping(
        Checked, {"steps": 2, "mode": "exact", "trackers": ["wandb"]}
    )
    with pytest.raises(ConfigError, match=r"^steps: must be at least 1, got 0$"):
        Checked(steps=0)
    with pytest.raises(ConfigError, match=r"^mode: expected fast or exact, got 'slow'$"):
        Checked(mode="slow")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^trackers: expected wandb or tensorboard, got 'x'$"):
        Checked(trackers=("wandb", "x"))
    with pytest.raises(ConfigError, match=r"^c\.yaml: trackers: expected wandb or tensorboard"):
        from_mapping(Checked, {"trackers": "wandb,x"}, "c.yaml", strings=True)


def test_strings_from_a_command_line_are_converted() -> None:
    cfg = from_mapping(
        Outer,
        {"name": "m", "rate": "1e-3", "flag": "true", "limit": "none", "engine": "a=1,b=x"},
        "command line",
        strings=True,
    )
    assert (cfg.rate, cfg.flag, cfg.limit, cfg.engine) == (1e-3, True, None, {"a": 1, "b": "x"})


def test_load_config_applies_dotted_overrides_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("name: m\ninner:\n  n: 2\n  names: [a]\n", encoding="utf-8")
    cfg = load_config(Outer, path, {"inner.n": "5", "rate": "0.25"})
    assert cfg.inner == Inner(5, ("a",)) and cfg.rate == 0.25 and cfg.name == "m"
    with pytest.raises(ConfigError, match=r"^command line: inner\.n: expected int"):
        load_config(Outer, path, {"inner.n": "five"})
    path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"c\.yaml: invalid YAML"):
        load_config(Outer, path)
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read"):
        load_config(Outer, tmp_path / "missing.yaml")


def test_to_dict_and_describe() -> None:
    cfg = from_mapping(Outer, {"name": "m"})
    assert to_dict(cfg)["inner"] == {"n": 1, "names": []}
    lines = describe(Outer)
    assert "name (str, required): The name." in lines
    assert "inner.n (int, default 1): How many." in lines


@click.command()
@config_options(Outer)
@generator_options(backends=("programmatic", "hf", "openai"))
def _show(config: Outer, generator: GeneratorOptions) -> None:
    click.echo(f"{config.name} {config.rate} {config.flag} {config.inner.n} {generator.backend}")


def test_config_options_make_one_option_per_field_and_report_bad_values(tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(_show, ["--name", "m", "--flag", "--set", "inner.n=4"])
    assert out.exit_code == 0, out.output
    assert out.output.strip() == "m 0.5 True 4 programmatic"
    path = tmp_path / "c.yaml"
    path.write_text("name: file\nrate: 0.1\n", encoding="utf-8")
    out = runner.invoke(_show, ["--config", str(path), "--rate", "0.2", "--backend", "hf"])
    assert out.output.strip() == "file 0.2 False 1 hf"
    out = runner.invoke(_show, ["--name", "m", "--rate", "fast"])
    assert out.exit_code == 2 and "command line: rate: expected float, got 'fast'" in out.output
    out = runner.invoke(_show, ["--help"])
    assert "--base-url" in out.output and "--device" in out.output and "A rate." in out.output


def test_generator_options_build_names_the_missing_option() -> None:
    with pytest.raises(click.UsageError, match="--base-url"):
        GeneratorOptions("openai", "served-name").build()
    with pytest.raises(click.UsageError, match="--model"):
        GeneratorOptions("hf", None).build()
