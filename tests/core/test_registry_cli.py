"""The registry's suggestions and the ifrl CLI shell."""

from __future__ import annotations

import logging
import os
import warnings

import click
import pytest
from click.testing import CliRunner

from ifrl.core import JSONLError, Registry, UnknownNameError
from ifrl.core.cli import IfrlGroup, quiet_third_party


def test_registry_register_get_and_suggest() -> None:
    reg: Registry[int] = Registry("widget")
    reg.register("alpha")(1)
    reg.add("beta", 2)
    assert reg.get("alpha") == 1 and "beta" in reg and reg.names() == ["alpha", "beta"]
    with pytest.raises(UnknownNameError, match=r"unknown widget 'alpah'; did you mean 'alpha'"):
        reg.get("alpah")
    with pytest.raises(Exception, match="already registered"):
        reg.add("alpha", 3)


def test_backend_registry_suggests() -> None:
    from ifrl.core.generation import make_generator

    with pytest.raises(UnknownNameError, match="did you mean 'vllm'"):
        make_generator("vlm")


def _group_raising(err: BaseException) -> click.Group:
    @click.group(cls=IfrlGroup)
    @click.option("--debug", is_flag=True)
    def group(debug: bool) -> None:
        pass

    @group.command()
    def boom() -> None:
        raise err

    return group


@pytest.mark.parametrize(
    ("err", "line"),
    [
        (JSONLError("f.jsonl", 3, "prompt", "missing"), "Error: f.jsonl:3: prompt: missing"),
        (FileNotFoundError(2, "No such file or directory", "x.yaml"), "Error: x.yaml: No such"),
        (
            UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid byte"),
            "Error: not UTF-8 text: byte 0",
        ),
        (
            RecursionError("maximum recursion depth exceeded"),
            "Error: the input is nested too deeply",
        ),
    ],
)
def test_the_error_boundary_prints_one_line_and_exits_1(err: BaseException, line: str) -> None:
    result = CliRunner().invoke(_group_raising(err), ["boom"])
    assert result.exit_code == 1, result.output
    assert result.output.startswith(line) and result.output.count("\n") == 1, result.output
    assert "Traceback" not in result.output
    debug = CliRunner().invoke(_group_raising(err), ["--debug", "boom"])
    assert debug.exception is err  # --debug lets it through, with its traceback


def test_quiet_mode_hides_third_party_chatter_but_not_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRANSFORMERS_VERBOSITY", raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "0")  # the user's explicit choice wins
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        quiet_third_party()
        for module in ("transformers.modeling_utils", "torch.nn", "ifrl.rltrain.grpo"):
            warnings.warn_explicit("chatter", FutureWarning, "x.py", 1, module=module)
    assert [str(w.message) for w in seen] == ["chatter"]  # only ifrl's own warning is shown
    assert os.environ["TRANSFORMERS_VERBOSITY"] == "error"
    assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "0"
    assert logging.getLogger("bitsandbytes").getEffectiveLevel() == logging.ERROR
