"""Dual-layer verification of dialogs: a rule layer, then a model (judge) layer.

Rule layer — every failure is an :class:`Issue` with a code, grouped in four checks:

* ``api_clarity``: ``api.invalid_schema`` (not a valid JSON Schema function definition),
  ``api.unclear`` (missing/short description, undocumented parameter, bad name),
  ``api.duplicate_name``.
* ``call_executability``: ``call.unknown_function``, ``call.missing_required``,
  ``call.unknown_argument``, ``call.wrong_type``, ``call.integer_as_float`` (``5.0`` for an
  integer: BFCL's checker rejects it), ``call.not_in_enum``, ``call.bad_format``,
  ``call.out_of_range``, ``call.invalid_value``, ``call.pattern_timeout`` (a schema
  ``pattern`` that did not finish matching the value within its time budget:
  :data:`ifrl.toolgen.tool_schema.PATTERN_TIMEOUT_S`), and ``call.ungrounded_value`` (an argument value
  that appears nowhere in the user turns or earlier tool results: a likely hallucination).
* ``dialog_correctness``: ``dialog.malformed``, ``dialog.bad_roles``, ``dialog.missing_result``,
  ``dialog.orphan_result``, ``dialog.result_call_mismatch`` (a result labelled with another
  function than its call), ``dialog.result_not_json``, ``dialog.result_schema`` (a result that
  breaks the API's response schema; error results are exempt), ``dialog.ungrounded_answer`` (an
  answer states a number, id, date or name no tool result or user turn gave),
  ``dialog.clarify_wrong_parameter`` (a clarifying question that does not ask for the missing
  required value), ``dialog.no_final_answer``.
* ``sample_consistency``: ``consistency.type_mismatch`` (the messages do not show what the
  dialog type says), ``consistency.duplicate_call_id``, ``consistency.result_id_mismatch`` (a
  result's id field differs from the id its call passed).

The semantic checks live in :mod:`ifrl.toolgen.semantic`. The model layer (one judge prompt per
check) is :mod:`ifrl.toolgen.judges`; :func:`verify_records` runs it after the rules.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ifrl.core.errors import IfrlError, JSONLError, RecordError
from ifrl.core.jsonl import JSONLWriter, write_text
from ifrl.core.records import Message, ToolCall, ToolSpec
from ifrl.toolgen.apis import api_problems
from ifrl.toolgen.dialog import DIALOG_TYPES, Dialog, error_of
from ifrl.toolgen.semantic import (
    clarify_target,
    context_text,
    float_integers,
    mentioned,
    result_fit,
    ungrounded_facts,
)
from ifrl.toolgen.tool_schema import schema_problems, value_issues

if TYPE_CHECKING:
    from ifrl.toolgen.judges import JudgeVerifier

RULE_CHECKS = ("api_clarity", "call_executability", "dialog_correctness", "sample_consistency")


@dataclass(frozen=True)
class Issue:
    """One verification failure: ``code`` (e.g. ``call.not_in_enum``), its check, where, what."""

    code: str
    check: str
    where: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "check": self.check,
            "where": self.where,
            "message": self.message,
        }


# --------------------------------------------------------------------------------------------
# Rule layer

_RULE_CHECKS = dict(zip(("api", "call", "dialog", "consistency"), RULE_CHECKS))


def _issue(code: str, where: str, message: str) -> Issue:
    """A rule-layer issue; its check follows from the code's prefix (``call.*``...)."""
    return Issue(code, _RULE_CHECKS[code.split(".", 1)[0]], where, message)


@lru_cache(maxsize=16384)
def _api_problems_cached(api_json: str) -> tuple[tuple[str, str], ...]:
    api = ToolSpec.from_dict(json.loads(api_json))
    invalid = set(schema_problems(api.parameters))
    out = []
    for problem in api_problems(api):
        schema_level = problem in invalid or problem.startswith("responses")
        out.append(("api.invalid_schema" if schema_level else "api.unclear", problem))
    return tuple(out)


def _api_issues(tools: Sequence[ToolSpec]) -> list[Issue]:
    issues: list[Issue] = []
    seen: set[str] = set()
    for i, api in enumerate(tools):
        if api.name in seen:
            issues.append(
                _issue("api.duplicate_name", f"tools[{i}]", f"tool {api.name!r} offered twice")
            )
        seen.add(api.name)
        key = json.dumps(api.definition(with_responses=True), sort_keys=True)
        for code, problem in _api_problems_cached(key):
            issues.append(_issue(code, f"tools[{i}]", f"{api.name}: {problem}"))
    return issues


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, Mapping):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def reuses_result(results: Any, arguments: Any) -> bool:
    """Whether some argument value repeats a string or number of the earlier tool results (what
    makes a call dependent)."""
    earlier = {json.dumps(v) for v in _leaves(results) if _scalar(v)}
    return any(json.dumps(v) in earlier for v in _leaves(arguments) if _scalar(v))


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _grounding_issues(call: ToolCall, api: ToolSpec, context: str, where: str) -> list[Issue]:
    issues = []
    props = api.properties
    for name, value in call.arguments.items():
        schema = props.get(name) or {}
        if "default" in schema and schema["default"] == value:
            continue
        for leaf in _leaves(value):
            if not mentioned(leaf, context):
                issues.append(
                    _issue(
                        "call.ungrounded_value",
                        f"{where}.{name}",
                        f"{call.name}: value {leaf!r} of {name!r} appears nowhere in the user "
                        "turns or earlier tool results",
                    )
                )
                break
    return issues


def call_issues(call: ToolCall, api: ToolSpec | None, where: str) -> list[Issue]:
    """Executability of one call against its API (function, arguments, types, enums, ranges)."""
    if api is None:
        return [_issue("call.unknown_function", where, f"no tool named {call.name!r} is offered")]
    issues = []
    props = api.properties
    for name in call.arguments:
        if name not in props:
            issues.append(
                _issue(
                    "call.unknown_argument",
                    f"{where}.{name}",
                    f"{call.name} has no parameter {name!r}",
                )
            )
    for code, path, message in value_issues(api.parameters, call.arguments):
        if code == "unknown_argument":
            continue  # reported above with the argument's name
        field_path = f"{where}.{path}" if path else where
        issues.append(_issue(f"call.{code}", field_path, f"{call.name}: {message}"))
    for path, message in float_integers(api.parameters, call.arguments):
        issues.append(_issue("call.integer_as_float", f"{where}.{path}", f"{call.name}: {message}"))
    return issues


def _tool_payload(message: Message) -> Any:
    return json.loads(message.content or "")


def rule_issues(dialog: Dialog, *, grounding: bool = True) -> list[Issue]:
    """All rule-layer issues of a dialog (empty when it passes)."""
    issues = _api_issues(dialog.tools)
    tools = {t.name: t for t in dialog.tools}
    msgs = dialog.messages
    context_parts: list[str] = []
    pending: dict[str, ToolCall] = {}
    call_ids: set[str] = set()
    prev: str | None = None
    call_turns: list[list[ToolCall]] = []
    results: list[Any] = []
    first_assistant_text: bool | None = None
    user_after_first_assistant = False
    answered_since_user = False
    requests: list[list[list[dict[str, Any]]]] = []  # per user turn: the call turns after it
    results_before: list[int] = []  # per user turn: how many results came before it
    errors: list[int] = []  # positions (in results) of error results

    if not msgs:
        return [*issues, _issue("dialog.bad_roles", "messages", "no messages")]
    for i, m in enumerate(msgs):
        where = f"messages[{i}]"
        if m.role == "system":
            if i != 0:
                issues.append(_issue("dialog.bad_roles", where, "a system message after the start"))
        elif m.role == "user":
            if prev not in (None, "system", "assistant") or pending:
                issues.append(
                    _issue("dialog.bad_roles", where, f"a user turn after {prev or 'nothing'}")
                )
            if first_assistant_text is not None:
                user_after_first_assistant = True
            answered_since_user = False
            requests.append([])
            results_before.append(len(results))
            context_parts.append(m.content or "")
        elif m.role == "assistant":
            if prev not in ("user", "tool") or pending:
                what = "unanswered tool calls" if pending else (prev or "nothing")
                issues.append(_issue("dialog.bad_roles", where, f"an assistant turn after {what}"))
            for call_id, call in pending.items():
                issues.append(
                    _issue(
                        "dialog.missing_result",
                        where,
                        f"call {call.name!r} ({call_id}) has no result",
                    )
                )
            pending = {}
            if first_assistant_text is None:
                first_assistant_text = not m.tool_calls
            if m.tool_calls:
                call_turns.append(list(m.tool_calls))
                if requests:
                    requests[-1].append([c.arguments for c in m.tool_calls])
                context = " ".join(" ".join(context_parts).lower().split())
                for j, call in enumerate(m.tool_calls):
                    cw = f"{where}.tool_calls[{j}]"
                    api = tools.get(call.name)
                    issues.extend(call_issues(call, api, f"{cw}.arguments" if api else cw))
                    if grounding and api is not None:
                        issues.extend(_grounding_issues(call, api, context, f"{cw}.arguments"))
                    cid = call.id or f"#{i}.{j}"
                    if cid in call_ids or cid in pending:
                        issues.append(
                            _issue(
                                "consistency.duplicate_call_id", cw, f"call id {cid!r} used twice"
                            )
                        )
                    call_ids.add(cid)
                    pending[cid] = call
            elif not (m.content or "").strip():
                issues.append(_issue("dialog.no_final_answer", where, "an empty assistant turn"))
            elif grounding and answered_since_user:
                facts = ungrounded_facts(m.content or "", context_text(msgs[:i]))
                if facts:
                    shown = ", ".join(f"{kind} {fact!r}" for kind, fact in facts[:4])
                    issues.append(
                        _issue(
                            "dialog.ungrounded_answer",
                            where,
                            f"the answer states {shown}, found in no tool result or user turn",
                        )
                    )
        else:  # tool
            key = m.tool_call_id
            if key is None and len(pending) >= 1:
                key = next(iter(pending))
            answered: ToolCall | None = pending.pop(key, None) if key is not None else None
            if answered is None:
                issues.append(
                    _issue(
                        "dialog.orphan_result",
                        where,
                        f"a tool result for no pending call ({m.tool_call_id!r})",
                    )
                )
            else:
                answered_since_user = True
                try:
                    payload = _tool_payload(m)
                except ValueError:
                    issues.append(
                        _issue(
                            "dialog.result_not_json",
                            where,
                            f"result of {answered.name!r} is not JSON",
                        )
                    )
                    payload = None
                else:
                    issues.extend(_issue(*f) for f in result_fit(answered, m, payload, where))
                    api = tools.get(answered.name)
                    if error_of(payload) is not None:
                        errors.append(len(results))
                    elif api is not None and api.responses:
                        for _code, path, message in value_issues(api.responses, payload):
                            issues.append(
                                _issue(
                                    "dialog.result_schema",
                                    f"{where}.content" + (f".{path}" if path else ""),
                                    f"result of {answered.name!r} breaks its response schema: {message}",
                                )
                            )
                            break
                    results.append(payload)
            context_parts.append(m.content or "")
        prev = m.role
    for call_id, call in pending.items():
        issues.append(
            _issue(
                "dialog.missing_result", "messages", f"call {call.name!r} ({call_id}) has no result"
            )
        )
    last = msgs[-1]
    if last.role != "assistant" or last.tool_calls or not (last.content or "").strip():
        issues.append(
            _issue(
                "dialog.no_final_answer",
                f"messages[{len(msgs) - 1}]",
                "the dialog does not end with an assistant answer",
            )
        )
    issues.extend(_issue(*f) for f in clarify_target(msgs, tools))
    shape = _Shape(call_turns, results, errors, requests, results_before)
    issues.extend(_consistency(dialog, shape, first_assistant_text, user_after_first_assistant))
    return issues


@dataclass(frozen=True)
class _Shape:
    """What the rule walk saw: call turns, results (in order; ``errors`` index the error
    ones), per user turn its call turns (argument dicts) and the results before it."""

    call_turns: list[list[ToolCall]]
    results: list[Any]
    errors: list[int]
    requests: list[list[list[dict[str, Any]]]]
    results_before: list[int]


def _consistency(
    dialog: Dialog, shape: _Shape, first_text: bool | None, user_after: bool
) -> list[Issue]:
    call_turns, results = shape.call_turns, shape.results
    total = sum(len(t) for t in call_turns)
    kind = dialog.type
    problem = None
    if kind == "single" and (total != 1):
        problem = f"a single-call dialog has {total} calls"
    elif kind == "parallel" and not any(len(t) >= 2 for t in call_turns):
        problem = "a parallel dialog has no turn with two or more calls"
    elif kind == "non_tool" and total:
        problem = f"a non-tool dialog has {total} calls"
    elif kind == "clarify" and not (first_text and user_after and total >= 1):
        problem = "a clarify dialog must ask first (no call), get a user answer, then call"
    elif kind == "dependent":
        if len(call_turns) < 2:
            problem = "a dependent dialog needs calls in at least two turns"
        else:
            later = [c.arguments for t in call_turns[1:] for c in t]
            if not reuses_result(results[: len(call_turns[0])], later):
                problem = "no later call uses a value returned by an earlier call"
    elif kind == "multi_request":
        served = [i for i, turns in enumerate(shape.requests) if turns]
        linked = any(
            reuses_result(
                results[: shape.results_before[i]], [a for t in shape.requests[i] for a in t]
            )
            for i in served[1:]
        )
        if len(served) < 2:
            problem = "a multi-request session needs calls after at least two user requests"
        elif not linked:
            problem = "no later request acts on a value an earlier result returned"
    elif kind == "tool_error" and not shape.errors:
        problem = "a tool-error dialog has no error result"
    if problem is None:
        return []
    return [_issue("consistency.type_mismatch", "type", problem)]


# --------------------------------------------------------------------------------------------
# Reports and files


@dataclass
class VerifyReport:
    """Counts: samples kept/rejected, per check (checked, failed), per code, per dialog type."""

    total: int = 0
    kept: int = 0
    checks: dict[str, list[int]] = field(default_factory=dict)
    codes: Counter[str] = field(default_factory=Counter)
    types: dict[str, list[int]] = field(default_factory=dict)

    def add(self, kind: str, issues: Sequence[Issue], checks: Sequence[str]) -> None:
        self.total += 1
        failed = {i.check for i in issues}
        for check in checks:
            row = self.checks.setdefault(check, [0, 0])
            row[0] += 1
            row[1] += check in failed
        self.codes.update(i.code for i in issues)
        row = self.types.setdefault(kind, [0, 0])
        if issues:
            row[1] += 1
        else:
            row[0] += 1
            self.kept += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "kept": self.kept,
            "rejected": self.total - self.kept,
            "checks": {k: {"checked": v[0], "failed": v[1]} for k, v in self.checks.items()},
            "codes": dict(self.codes.most_common()),
            "types": {k: {"kept": v[0], "rejected": v[1]} for k, v in sorted(self.types.items())},
        }

    def to_markdown(self) -> str:
        lines = [
            "# Verification report",
            "",
            f"- samples: {self.total}",
            f"- kept: {self.kept}",
            f"- rejected: {self.total - self.kept}",
            "",
            "## Checks",
            "",
            "| check | checked | failed |",
            "|---|---:|---:|",
        ]
        lines += [f"| {k} | {v[0]} | {v[1]} |" for k, v in self.checks.items()]
        lines += ["", "## Error codes", "", "| code | count |", "|---|---:|"]
        lines += [f"| {k} | {v} |" for k, v in self.codes.most_common()]
        lines += ["", "## Dialog types", "", "| type | kept | rejected |", "|---|---:|---:|"]
        lines += [f"| {k} | {v[0]} | {v[1]} |" for k, v in sorted(self.types.items())]
        return "\n".join(lines) + "\n"


@dataclass
class Verified:
    """The verdict on one input line: the dialog (if it parsed), its issues, its raw data."""

    line: int
    data: Any
    dialog: Dialog | None
    issues: list[Issue]

    @property
    def kept(self) -> bool:
        return not self.issues


def verify_records(
    records: Sequence[tuple[int, Any]],
    *,
    judge: JudgeVerifier | None = None,
    grounding: bool = True,
) -> list[Verified]:
    """Verify ``(line, json_data)`` pairs: parse, rule layer, then (if given) the model layer."""
    out: list[Verified] = []
    for line, data in records:
        try:
            dialog = Dialog.from_json(data)
        except RecordError as err:
            out.append(
                Verified(
                    line,
                    data,
                    None,
                    [_issue("dialog.malformed", err.field or "<line>", str(err))],
                )
            )
            continue
        out.append(Verified(line, data, dialog, rule_issues(dialog, grounding=grounding)))
    if judge is not None:
        passing = [v for v in out if v.kept and v.dialog is not None]
        for v, issues in zip(
            passing, judge.issues([v.dialog for v in passing if v.dialog is not None])
        ):
            v.issues.extend(issues)
    return out


def _shard_ok(index: int, shard: tuple[int, int] | None) -> bool:
    return shard is None or index % shard[1] == shard[0]


def _check_source(src: str | Path) -> None:
    """Raise :class:`JSONLError` unless ``src`` is UTF-8 text with at least one non-blank line
    (checked before any output is touched)."""
    lines = 0
    with open(src, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise JSONLError(
                    str(src), lineno, "", f"not UTF-8 text: byte {err.start} ({err.reason})"
                ) from None
            lines += bool(raw.strip())
    if not lines:
        raise IfrlError(f"{src}: no dialogs to verify (the file is empty)")


def partial_path(path: str | Path) -> Path:
    """Where :func:`verify_file` appends an output while it runs (``<path>.partial``)."""
    return Path(f"{path}.partial")


def _recount(
    files: Sequence[tuple[Path, str, bool]], rep: VerifyReport, checks: Sequence[str]
) -> int:
    """Add the rows an earlier run wrote to ``rep``; return how many input lines they cover.

    ``files`` holds (path, name to report it by, whether it holds kept rows)."""
    done = 0
    for path, name, was_kept in files:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for lineno, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue
                done += 1
                try:
                    row = json.loads(raw)
                    issues: list[Issue] = []
                    if not was_kept:
                        issues = [
                            Issue(i["code"], i["check"], i["where"], i["message"])
                            for i in row.get("rejected", [])
                        ]
                except (ValueError, RecursionError, TypeError, KeyError, AttributeError) as err:
                    raise JSONLError(
                        name,
                        lineno,
                        "rejected" if not was_kept else "",
                        f"not a row of an earlier verify run ({err}); cannot resume from it: "
                        "remove it or pass --no-resume",
                    ) from None
                data = row
                if not was_kept:
                    data = {k: v for k, v in row.items() if k not in ("rejected", "line")}
                    data = data["raw"] if set(data) == {"raw"} else data
                kind: str
                try:
                    kind = Dialog.from_json(data).type
                except (RecordError, ValueError, TypeError, KeyError):
                    kind = "malformed"
                rep.add(kind, issues, checks)
    return done


def verify_file(
    src: str | Path,
    out: str | Path,
    rejected: str | Path | None = None,
    *,
    report: str | Path | None = None,
    judge: JudgeVerifier | None = None,
    grounding: bool = True,
    shard: tuple[int, int] | None = None,
    batch_size: int = 64,
    resume: bool = True,
    progress: bool = False,
) -> VerifyReport:
    """Verify a dialogs JSONL file: kept lines to ``out``, rejected ones (with ``rejected``
    reasons) to ``rejected``, counts to ``report`` (Markdown, plus a ``.json`` twin).

    With a ``rejected`` file, every input line of the shard produces exactly one output line,
    appended and flushed as it is verified to ``out.partial`` and ``rejected.partial`` (see
    :func:`partial_path`); both are renamed into place when the run ends. A run that is killed
    leaves the partial files, and a rerun with ``resume`` continues after the lines they hold
    (or after those of finished outputs); its report counts the earlier rows too, so it equals
    an uninterrupted run's. Without ``resume`` the run starts over. Without a ``rejected`` file
    ``out`` is written atomically and every run starts over. Earlier outputs are replaced only
    when a run ends.
    """
    checks = list(RULE_CHECKS) + (list(judge.report_checks) if judge is not None else [])
    _check_source(src)
    rep = VerifyReport()
    bar = None
    finals = (Path(out), Path(rejected)) if rejected is not None else None
    parts = (partial_path(out), partial_path(rejected)) if rejected is not None else None
    with contextlib.ExitStack() as stack:
        if finals is None or parts is None:
            kept_w = stack.enter_context(JSONLWriter(out))
            rej_w = None
            done = 0
        else:
            names = [str(part) for part in parts]
            for i, (part, final) in enumerate(zip(parts, finals)):
                if not resume:
                    part.unlink(missing_ok=True)
                if not part.exists():
                    # Killed between the two renames, or resuming a finished run: continue
                    # from the final file (left untouched until this run ends).
                    if resume and final.exists():
                        shutil.copyfile(final, part)
                        names[i] = str(final)
                    else:
                        part.parent.mkdir(parents=True, exist_ok=True)
                        part.touch()
            # Append mode cuts a partial last line left by a crash before the rows are counted.
            kept_w = stack.enter_context(JSONLWriter(parts[0], append=True))
            rej_w = stack.enter_context(JSONLWriter(parts[1], append=True))
            if resume:
                try:
                    done = _recount(
                        [(parts[0], names[0], True), (parts[1], names[1], False)], rep, checks
                    )
                except JSONLError:
                    for part, name in zip(parts, names):
                        if name != str(part):  # a copy of a final file: nothing to keep
                            part.unlink(missing_ok=True)
                    raise
            else:
                done = 0
        if progress:
            from tqdm import tqdm

            bar = tqdm(desc="verify", unit="dialog", initial=done)
        batch: list[tuple[int, Any]] = []
        seen = 0

        def flush() -> None:
            for v in verify_records(batch, judge=judge, grounding=grounding):
                kind = v.dialog.type if v.dialog else "malformed"
                rep.add(kind, v.issues, checks)
                if v.kept:
                    kept_w.write(v.data)
                elif rej_w is not None:
                    row = dict(v.data) if isinstance(v.data, Mapping) else {"raw": v.data}
                    row["rejected"] = [i.to_dict() for i in v.issues]
                    row["line"] = v.line
                    rej_w.write(row)
            if bar is not None:
                bar.update(len(batch))
            batch.clear()

        with open(src, encoding="utf-8") as fh:
            index = -1
            for lineno, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue
                index += 1
                if not _shard_ok(index, shard):
                    continue
                seen += 1
                if seen <= done:
                    continue
                try:
                    data: Any = json.loads(raw)
                except (ValueError, RecursionError) as err:
                    data = {"raw": raw.rstrip("\n")[:2000], "error": str(err)}
                batch.append((lineno, data))
                if len(batch) >= batch_size:
                    flush()
            if batch:
                flush()
    if finals is not None and parts is not None:
        # The rejected file first: a run killed between the renames resumes from the final
        # rejected file and the partial kept one.
        os.replace(parts[1], finals[1])
        os.replace(parts[0], finals[0])
    if bar is not None:
        bar.close()
    if report is not None:
        write_text(report, rep.to_markdown())
        write_text(Path(report).with_suffix(".json"), json.dumps(rep.to_dict(), indent=2) + "\n")
    return rep


__all__ = [
    "DIALOG_TYPES",
    "RULE_CHECKS",
    "Issue",
    "Verified",
    "VerifyReport",
    "call_issues",
    "partial_path",
    "reuses_result",
    "rule_issues",
    "verify_file",
    "verify_records",
]
