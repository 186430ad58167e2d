"""The ``ifrl`` command line and the one kit every ``ifrl`` command is built with.

Subcommand groups come from the installed ifrl distributions through the ``ifrl.cli`` entry-point
group (``constraints``, ``toolgen``, ``prm``, ``rl``, ``eval``, ``pipeline``, ``demo``), loaded only
when used so ``ifrl --help`` stays fast. Unknown commands suggest the nearest known one.

The kit:

* :func:`generator_options` adds the generation-backend options (``--backend --model
  --base-url --api-key --openai-mode --device``) to a command and hands it one
  :class:`GeneratorOptions`, whose :meth:`~GeneratorOptions.build` makes the generator.
* :func:`config_options` exposes a config dataclass (:mod:`ifrl.core.config`) as a command:
  ``--config FILE.yaml`` plus one ``--field value`` option per field, and hands the command the
  validated config. Bad values are usage errors that name the source and the field.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import logging
import os
import signal
import sys
import threading
import typing
import warnings
from collections.abc import Callable, Sequence
from importlib.metadata import distributions, entry_points
from typing import Any

import click

from ifrl.core.config import (
    ConfigError,
    field_default,
    field_types,
    is_section,
    load_config,
    type_label,
)
from ifrl.core.errors import IfrlError

ENTRY_POINT_GROUP = "ifrl.cli"
MEMBERS = (
    "ifrl-core",
    "ifrl-constraints",
    "ifrl-toolgen",
    "ifrl-edu-prm",
    "ifrl-rltrain",
    "ifrl-evals",
    "ifrl-pipelines",
    "ifrl-prm",
)


def installed_members() -> dict[str, str]:
    """Installed ifrl distributions and their versions, in the canonical member order."""
    found: dict[str, str] = {}
    for dist in distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name in MEMBERS:
            found[name] = dist.version
    return {name: found[name] for name in MEMBERS if name in found}


class IfrlGroup(click.Group):
    """A click group whose extra subcommands are entry points, loaded lazily."""

    #: The entry-point group its extra subcommands come from.
    entry_point_group = ENTRY_POINT_GROUP

    def _plugins(self) -> dict[str, Any]:
        return {ep.name: ep for ep in entry_points(group=self.entry_point_group)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._plugins()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        ep = self._plugins().get(cmd_name)
        if ep is None:
            return None
        loaded = ep.load()
        if not isinstance(loaded, click.Command):
            raise click.ClickException(f"entry point {ep.value!r} is not a click command")
        return loaded

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1, cutoff=0.4)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            ctx.fail(f"No such command {name!r}.{hint}")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        """The one error boundary of every ``ifrl`` command: bad input, unreadable files and
        input nested too deeply end in one line ``Error: <where>: <problem>`` and exit code 1
        (usage errors: 2); ``ifrl --debug ...`` shows the traceback instead."""
        if threading.current_thread() is threading.main_thread():
            # A SIGTERM unwinds like Ctrl-C: open atomic writes remove their temporary files.
            signal.signal(signal.SIGTERM, _terminate)
        try:
            return super().invoke(ctx)
        except (IfrlError, OSError, UnicodeDecodeError, RecursionError) as err:
            if ctx.params.get("debug"):
                raise
            raise click.ClickException(describe_error(err)) from None


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def describe_error(err: BaseException) -> str:
    """One line saying where the problem is and what it is (for the error boundary)."""
    if isinstance(err, UnicodeDecodeError):
        return f"not UTF-8 text: byte {err.start} cannot be decoded ({err.reason})"
    if isinstance(err, RecursionError):
        return "the input is nested too deeply to read"
    if isinstance(err, OSError) and not isinstance(err, IfrlError) and err.strerror:
        where = f"{err.filename}: " if err.filename else ""
        return f"{where}{err.strerror}"
    return str(err) or type(err).__name__


@click.group(cls=IfrlGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show the full traceback when a command fails.")
@click.option(
    "--verbose",
    is_flag=True,
    help="Show third-party libraries' warnings, info messages and progress bars too.",
)
def main(debug: bool, verbose: bool) -> None:
    """ifrl: instruction following and tool use with verifiable rewards."""
    if not verbose:
        quiet_third_party()


#: Libraries whose warnings and chatter concern their own users, not ours (``--verbose`` shows them).
THIRD_PARTY = ("transformers", "torch", "peft", "accelerate", "bitsandbytes", "trl", "datasets")


def quiet_third_party() -> None:
    """Silence third-party warnings, info messages and progress bars (model loading, shard
    writing) that say nothing about the user's run; ifrl's own output and errors stay. An
    environment variable the user set explicitly keeps its value."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    pattern = "|".join(THIRD_PARTY)
    for category in (FutureWarning, DeprecationWarning, UserWarning):
        warnings.filterwarnings("ignore", category=category, module=rf"({pattern})(\.|$)")
    for name in THIRD_PARTY:  # their loggers' warnings (e.g. bitsandbytes' optional CPU kernels)
        logging.getLogger(name).setLevel(logging.ERROR)
    # The variables are read when the libraries are imported; where they already are (a second
    # command in one process, e.g. the tests' runner), switch their progress bars off directly.
    if os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS") == "1":
        hub = sys.modules.get("huggingface_hub.utils")
        if hub is not None:
            hub.disable_progress_bars()
        hf_logging = sys.modules.get("transformers.utils.logging")
        if hf_logging is not None:
            hf_logging.disable_progress_bar()
            if os.environ.get("TRANSFORMERS_VERBOSITY") == "error":
                hf_logging.set_verbosity_error()


@main.command()
def version() -> None:
    """List each installed ifrl member and its version."""
    members = installed_members()
    width = max((len(n) for n in members), default=0)
    for name, ver in members.items():
        click.echo(f"{name.ljust(width)}  {ver}")
    click.echo(f"{'python'.ljust(width)}  {sys.version.split()[0]}")


#: The entry-point group of ``ifrl tiny`` subcommands (``ifrl tiny build`` in ifrl-pipelines).
TINY_ENTRY_POINT_GROUP = "ifrl.tiny"


class TinyGroup(IfrlGroup):
    """``ifrl tiny``: its subcommands are ``ifrl.tiny`` entry points; errors reach ``main``'s
    boundary unchanged."""

    entry_point_group = TINY_ENTRY_POINT_GROUP

    def invoke(self, ctx: click.Context) -> Any:
        return click.Group.invoke(self, ctx)


@main.group(cls=TinyGroup, invoke_without_command=True)
@click.option("--arch", type=click.Choice(["qwen2", "llama"]), default="qwen2", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Directory to write to (default: the cache).",
)
@click.pass_context
def tiny(ctx: click.Context, arch: str, seed: int, out: str | None) -> None:
    """Build (or reuse from the cache) the seeded tiny model and print its directory.

    Subcommands from other ifrl packages: "ifrl tiny build NAME" builds a trained micro
    policy (ifrl-pipelines)."""
    if ctx.invoked_subcommand is not None:
        return
    from ifrl.core.tiny import build_tiny_model

    path = build_tiny_model(arch=arch, seed=seed, out_dir=out)
    click.echo(str(path))


# --------------------------------------------------------------------------------------------
# Generator options


@dataclasses.dataclass(frozen=True)
class GeneratorOptions:
    """The generation options a command was given; :meth:`build` makes the generator."""

    backend: str
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    openai_mode: str = "chat"
    device: str | None = None

    def build(self, **kwargs: Any) -> Any:
        """The :class:`~ifrl.core.generation.Generator` these options name (``kwargs`` go to
        the backend); a missing model or server URL is a usage error naming the option."""
        from ifrl.core.generation import BackendOptionsError, generator_for

        try:
            return generator_for(
                self.backend,
                self.model,
                base_url=self.base_url,
                api_key=self.api_key,
                openai_mode=self.openai_mode,
                device=self.device,
                **kwargs,
            )
        except BackendOptionsError as err:
            raise click.UsageError(str(err)) from None


MODEL_BACKENDS = ("hf", "vllm", "openai")


def generator_options(
    *,
    backends: Sequence[str] = MODEL_BACKENDS,
    default: str | None = None,
    dest: str = "generator",
    backend_flag: str = "--backend",
    backend_help: str = "Generation backend.",
    model_help: str = "Model path or hub id (hf, vllm) or the served model name (openai).",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: the generation-backend options, collected into one :class:`GeneratorOptions`.

    ``backends`` lists the choices of ``backend_flag`` (names that are not model backends, such
    as a rule-based ``programmatic`` writer, may be among them); ``--base-url``, ``--api-key``
    and ``--openai-mode`` are added when ``openai`` is a choice, ``--device`` when ``hf`` is.
    The command receives the options as the keyword argument ``dest``.
    """
    choices = list(backends)
    chosen = default if default is not None else choices[0]
    opts: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
        click.option(
            backend_flag,
            "_gen_backend",
            type=click.Choice(choices),
            default=chosen,
            show_default=True,
            help=backend_help,
        ),
        click.option("--model", "_gen_model", default=None, help=model_help),
    ]
    if "openai" in choices:
        opts += [
            click.option(
                "--base-url",
                "_gen_base_url",
                default=None,
                help="OpenAI-compatible server URL, e.g. http://localhost:8000/v1 (openai).",
            ),
            click.option(
                "--api-key",
                "_gen_api_key",
                envvar="OPENAI_API_KEY",
                default=None,
                help="Bearer token for the server (default: $OPENAI_API_KEY) (openai).",
            ),
            click.option(
                "--openai-mode",
                "_gen_openai_mode",
                type=click.Choice(["chat", "completions"]),
                default="chat",
                show_default=True,
                help="Endpoint of the server (openai).",
            ),
        ]
    if "hf" in choices:
        opts.append(
            click.option(
                "--device",
                "_gen_device",
                default=None,
                help="torch device (hf; default: cuda when available, else cpu).",
            )
        )

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            kwargs[dest] = GeneratorOptions(
                backend=kwargs.pop("_gen_backend"),
                model=kwargs.pop("_gen_model") or None,
                base_url=kwargs.pop("_gen_base_url", None) or None,
                api_key=kwargs.pop("_gen_api_key", None) or None,
                openai_mode=kwargs.pop("_gen_openai_mode", "chat"),
                device=kwargs.pop("_gen_device", None) or None,
            )
            return fn(*args, **kwargs)

        for option in reversed(opts):
            wrapper = option(wrapper)
        return wrapper

    return decorator


# --------------------------------------------------------------------------------------------
# Config options


def _flag_names(name: str) -> list[str]:
    dashed = "--" + name.replace("_", "-")
    under = "--" + name
    return [dashed] if dashed == under else [dashed, under]


def parse_settings(items: Sequence[str], option: str = "--set") -> dict[str, str]:
    """``KEY=VALUE`` command-line settings as a mapping (a malformed one is a usage error)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=option)
        out[key.strip()] = value
    return out


def config_options(
    cls: type,
    *,
    dest: str = "config",
    exclude: Sequence[str] = (),
    fixed: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: the config dataclass ``cls`` as command-line options.

    Adds ``--config FILE.yaml`` and, for every plain field not in ``exclude``, ``--field-name
    VALUE`` (``--field_name`` too; a bare boolean flag means true; lists are comma-separated;
    mappings are ``k=v,k=v`` or ``{k: v}``); section fields are set in the file or with ``--set
    section.key=VALUE``. The command receives the config validated by
    :func:`ifrl.core.config.load_config` (the file first, then what was given on the command
    line) as the keyword argument ``dest``. ``fixed`` may add values the command sets itself
    from the given options. Errors are usage errors: ``c.yaml: max_steps: expected int, got
    'x'``.
    """
    hints = field_types(cls)
    plain = [
        f
        for f in dataclasses.fields(cls)
        if f.name not in exclude and not is_section(hints[f.name])
    ]
    has_sections = any(is_section(hints[f.name]) for f in dataclasses.fields(cls))
    opts: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
        click.option(
            "--config",
            "_cfg_path",
            type=click.Path(exists=True, dir_okay=False),
            default=None,
            help="YAML config file (options given here override it).",
        )
    ]
    if has_sections:
        opts.append(
            click.option(
                "--set",
                "_cfg_set",
                multiple=True,
                metavar="KEY=VALUE",
                help="Override one setting, dotted for sections (sft.max_steps=5); repeatable.",
            )
        )
    for f in plain:
        tp = hints[f.name]
        default = field_default(f)
        shown = "required" if default is dataclasses.MISSING else f"default: {default!r}"
        text = f"{f.metadata.get('help', '')} [{type_label(tp)}; {shown}]"
        extra: dict[str, Any] = {}
        if tp is bool:
            extra = {"is_flag": False, "flag_value": "true"}
        literal = typing.get_origin(tp) is typing.Literal
        opts.append(
            click.option(
                *_flag_names(f.name),
                f"_cfg_{f.name}",
                default=None,
                metavar="[BOOL]"
                if tp is bool
                else type_label(tp)
                if literal
                else type_label(tp).upper(),
                help=text,
                **extra,
            )
        )

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            path = kwargs.pop("_cfg_path", None)
            given: dict[str, Any] = {}
            for f in plain:
                value = kwargs.pop(f"_cfg_{f.name}", None)
                if value is not None:
                    given[f.name] = value
            given.update(parse_settings(kwargs.pop("_cfg_set", ())))
            if fixed is not None:
                given.update(fixed(given))
            try:
                kwargs[dest] = load_config(cls, path, given)
            except ConfigError as err:
                raise click.UsageError(str(err)) from None
            return fn(*args, **kwargs)

        for option in reversed(opts):
            wrapper = option(wrapper)
        return wrapper

    return decorator


if __name__ == "__main__":  # pragma: no cover
    main()
