"""Bad input to any ``ifrl`` command ends in one error, never a traceback (issue 22).

Each case runs one ``ifrl`` command in-process (click's runner) on a hostile input — a missing or
empty file, a directory, malformed or truncated JSONL, a JSON value of the wrong kind, input
nested too deeply, bytes that are not UTF-8, a lone surrogate, a field of the wrong type, an
unknown YAML key, an out-of-range option — and asserts:

* a non-zero exit status that came from the error boundary (``SystemExit``: click's usage errors
  exit 2, ``ifrl``'s one-line ``Error: ...`` exits 1), never an escaped exception;
* no ``Traceback`` in the output, and an error paragraph of at most a few lines;
* the message names what the case says it must: the file, the line, the field;
* an earlier output at the command's output path is untouched.

No case loads a model: data must be validated before a model is loaded, and a model path given
here does not exist (so a command that loaded first would fail on the model, not name the data).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from ifrl.core.cli import main

NO_MODEL = "{tmp}/no-such-model"


@dataclass(frozen=True)
class Case:
    """One hostile invocation: ``args`` with ``{tmp}`` for the case's directory, ``files``
    written there first (``str`` as UTF-8, ``bytes`` as is), the fragments the error must
    name, and the output path that must keep an earlier run's content."""

    id: str
    args: tuple[str, ...]
    files: dict[str, str | bytes] = field(default_factory=dict)
    names: tuple[str, ...] = ()
    keep: str | None = None
    code: int | None = None  # 2 for click usage errors, 1 for ifrl errors


def J(*rows: object) -> str:
    """JSONL text of ``rows`` (``str`` rows are written verbatim)."""
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


DEEP = "[" * 200_000 + "]" * 200_000
BINARY = b"\xff\xfe\x00\x81 not utf-8\n"
IFEVAL_ROW = {
    "key": 1,
    "prompt": "Write two words.",
    "instruction_id_list": ["punctuation:no_comma"],
    "kwargs": [{}],
    "response": "hello world",
}

# -- generic file faults, applied to every command that reads a JSONL file ---------------------


def file_faults(
    family: str,
    make: Callable[[str], tuple[str, ...]],
    ok_row: object,
    keep: str | None = None,
    extra: dict[str, str | bytes] | None = None,
) -> list[Case]:
    """Missing, directory, empty, malformed line 2, not an object, truncated, too deep, not
    UTF-8: ``make(path)`` builds the args reading ``path``."""
    good = J(ok_row)
    specs: list[tuple[str, str | bytes | None, tuple[str, ...]]] = [
        ("missing", None, ("in.jsonl",)),
        ("empty", "", ("in.jsonl",)),
        ("bad-json-line-2", good + "{oops\n", ("in.jsonl:2",)),
        ("not-an-object", good + "[1, 2]\n", ("in.jsonl:2",)),
        ("truncated-last-line", good + '{"prompt": "x"', ("in.jsonl:2",)),
        ("nested-too-deep", good + DEEP + "\n", ("in.jsonl",)),
        ("not-utf8", BINARY, ("in.jsonl",)),
    ]
    cases = []
    for name, content, names in specs:
        files: dict[str, str | bytes] = dict(extra or {})
        if content is not None:
            files["in.jsonl"] = content
        cases.append(Case(f"{family}/{name}", make("{tmp}/in.jsonl"), files, names, keep=keep))
    files = {**(extra or {}), "adir/x": ""}
    cases.append(Case(f"{family}/directory", make("{tmp}/adir"), files, ("adir",), keep=keep))
    return cases


# -- the cases ----------------------------------------------------------------------------------

CASES: list[Case] = []

# constraints verify / audit / refine / synth
CASES += file_faults(
    "constraints-verify",
    lambda p: ("constraints", "verify", p, "-o", "{tmp}/out.jsonl", "--quiet"),
    IFEVAL_ROW,
    keep="out.jsonl",
)
CASES += [
    Case(
        "constraints-verify/unknown-instruction",
        ("constraints", "verify", "{tmp}/in.jsonl", "-o", "{tmp}/out.jsonl", "--quiet"),
        {"in.jsonl": J(IFEVAL_ROW, {**IFEVAL_ROW, "instruction_id_list": ["no:such"]})},
        ("in.jsonl:2", "no:such"),
        keep="out.jsonl",
    ),
    Case(
        "constraints-verify/kwargs-wrong-type",
        ("constraints", "verify", "{tmp}/in.jsonl", "-o", "{tmp}/out.jsonl", "--quiet"),
        {"in.jsonl": J({**IFEVAL_ROW, "kwargs": "abc"})},
        ("in.jsonl:1", "kwargs"),
        keep="out.jsonl",
    ),
    Case(
        "constraints-verify/response-not-a-string",
        ("constraints", "verify", "{tmp}/in.jsonl", "-o", "{tmp}/out.jsonl", "--quiet"),
        {"in.jsonl": J({**IFEVAL_ROW, "response": 5})},
        ("in.jsonl:1", "response"),
        keep="out.jsonl",
    ),
    Case(
        "constraints-verify/lone-surrogate",
        ("constraints", "verify", "{tmp}/in.jsonl", "-o", "{tmp}/out.jsonl", "--quiet"),
        {
            "in.jsonl": J(
                IFEVAL_ROW,
                '{"prompt": "p", "response": "\\ud800", "instruction_id_list": [], "kwargs": []}',
            )
        },
        ("in.jsonl:2",),
        keep="out.jsonl",
    ),
    Case(
        "constraints-verify/bad-semantics",
        ("constraints", "verify", "{tmp}/in.jsonl", "-o", "{tmp}/out.jsonl", "--semantics", "x"),
        {"in.jsonl": J(IFEVAL_ROW)},
        ("--semantics",),
        code=2,
    ),
]
CASES += file_faults(
    "constraints-audit",
    lambda p: ("constraints", "audit", p, "-o", "{tmp}/audit", "--no-plots"),
    IFEVAL_ROW,
)
CASES += [
    Case(
        "constraints-audit/unknown-config-key",
        ("constraints", "audit", "{tmp}/in.jsonl", "-o", "{tmp}/a", "--config", "{tmp}/c.yaml"),
        {"in.jsonl": J(IFEVAL_ROW), "c.yaml": "recal_compliant: 0.9\n"},
        ("c.yaml", "recal_compliant"),
    ),
    Case(
        "constraints-audit/config-value-wrong-type",
        ("constraints", "audit", "{tmp}/in.jsonl", "-o", "{tmp}/a", "--config", "{tmp}/c.yaml"),
        {"in.jsonl": J(IFEVAL_ROW), "c.yaml": "seed: many\n"},
        ("c.yaml", "seed"),
    ),
    Case(
        "constraints-audit/config-not-a-mapping",
        ("constraints", "audit", "{tmp}/in.jsonl", "-o", "{tmp}/a", "--config", "{tmp}/c.yaml"),
        {"in.jsonl": J(IFEVAL_ROW), "c.yaml": "- a\n- b\n"},
        ("c.yaml",),
    ),
    Case(
        "constraints-audit/config-not-yaml",
        ("constraints", "audit", "{tmp}/in.jsonl", "-o", "{tmp}/a", "--config", "{tmp}/c.yaml"),
        {"in.jsonl": J(IFEVAL_ROW), "c.yaml": "seed: [1, 2\n"},
        ("c.yaml",),
    ),
    Case(
        "constraints-audit/recall-out-of-range",
        (
            "constraints",
            "audit",
            "{tmp}/in.jsonl",
            "-o",
            "{tmp}/a",
            "--recall-compliant",
            "1.5",
            "--no-plots",
        ),
        {"in.jsonl": J(IFEVAL_ROW)},
        ("recall_compliant",),
    ),
    Case(
        "constraints-audit/negative-limit",
        ("constraints", "audit", "{tmp}/in.jsonl", "-o", "{tmp}/a", "--limit", "-3", "--no-plots"),
        {"in.jsonl": J(IFEVAL_ROW)},
        ("limit",),
    ),
    Case(
        "constraints-audit/responses-missing",
        (
            "constraints",
            "audit",
            "{tmp}/in.jsonl",
            "-o",
            "{tmp}/a",
            "--responses",
            "{tmp}/nope.jsonl",
            "--no-plots",
        ),
        {"in.jsonl": J(IFEVAL_ROW)},
        ("nope.jsonl",),
    ),
]
CASES += file_faults(
    "constraints-refine",
    lambda p: ("constraints", "refine", p, "-o", "{tmp}/out.jsonl"),
    IFEVAL_ROW,
    keep="out.jsonl",
)
CASES += [
    Case(
        "constraints-refine/audit-not-json",
        (
            "constraints",
            "refine",
            "{tmp}/in.jsonl",
            "-o",
            "{tmp}/out.jsonl",
            "--audit",
            "{tmp}/audit.json",
        ),
        {"in.jsonl": J(IFEVAL_ROW), "audit.json": "{not json"},
        ("audit.json",),
        keep="out.jsonl",
    ),
    Case(
        "constraints-refine/bad-on-drop",
        (
            "constraints",
            "refine",
            "{tmp}/in.jsonl",
            "-o",
            "{tmp}/out.jsonl",
            "--on-drop",
            "everything",
        ),
        {"in.jsonl": J(IFEVAL_ROW)},
        ("on_drop",),
        keep="out.jsonl",
    ),
    Case(
        "constraints-synth/missing-seeds",
        ("constraints", "synth", "{tmp}/seeds.txt", "-o", "{tmp}/out.jsonl"),
        {},
        ("seeds.txt",),
        code=2,
    ),
    Case(
        "constraints-synth/empty-seeds",
        ("constraints", "synth", "{tmp}/seeds.txt", "-o", "{tmp}/out.jsonl"),
        {"seeds.txt": "\n\n"},
        ("seeds.txt",),
        keep="out.jsonl",
    ),
    Case(
        "constraints-synth/not-utf8",
        ("constraints", "synth", "{tmp}/seeds.txt", "-o", "{tmp}/out.jsonl"),
        {"seeds.txt": BINARY},
        ("UTF-8",),
        keep="out.jsonl",
    ),
    Case(
        "constraints-synth/negative-n",
        ("constraints", "synth", "{tmp}/seeds.txt", "-o", "{tmp}/out.jsonl", "-n", "-4"),
        {"seeds.txt": "Write a poem.\n"},
        ("-n",),
        keep="out.jsonl",
    ),
    Case(
        "constraints-synth/unknown-type",
        ("constraints", "synth", "{tmp}/seeds.txt", "-o", "{tmp}/out.jsonl", "--type", "no:such"),
        {"seeds.txt": "Write a poem.\n"},
        ("no:such",),
        keep="out.jsonl",
    ),
    Case(
        "constraints-synth/min-above-max",
        (
            "constraints",
            "synth",
            "{tmp}/seeds.txt",
            "-o",
            "{tmp}/out.jsonl",
            "--min-constraints",
            "3",
            "--max-constraints",
            "1",
        ),
        {"seeds.txt": "Write a poem.\n"},
        ("constraints",),
        keep="out.jsonl",
    ),
]

# toolgen
API = {
    "name": "get_weather",
    "description": "Get the weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
    },
}
DIALOG = {
    "type": "non_tool",
    "tools": [],
    "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello."}],
}
API2 = {**API, "name": "get_time", "description": "Get the local time in a city."}
CASES += file_faults(
    "toolgen-dialogs",
    lambda p: ("toolgen", "dialogs", "--apis", p, "-o", "{tmp}/out.jsonl", "-n", "2"),
    API,
    keep="out.jsonl",
)
CASES += [
    Case(
        "toolgen-dialogs/api-parameters-wrong-type",
        ("toolgen", "dialogs", "--apis", "{tmp}/apis.jsonl", "-o", "{tmp}/out.jsonl", "-n", "2"),
        {"apis.jsonl": J(API, {**API, "name": "b", "parameters": "abc"})},
        ("apis.jsonl:2", "parameters"),
        keep="out.jsonl",
    ),
    Case(
        "toolgen-dialogs/api-without-name",
        ("toolgen", "dialogs", "--apis", "{tmp}/apis.jsonl", "-o", "{tmp}/out.jsonl", "-n", "2"),
        {"apis.jsonl": J({k: v for k, v in API.items() if k != "name"})},
        ("apis.jsonl:1", "name"),
        keep="out.jsonl",
    ),
    Case(
        "toolgen-dialogs/bad-shard",
        (
            "toolgen",
            "dialogs",
            "--apis",
            "{tmp}/apis.jsonl",
            "-o",
            "{tmp}/out.jsonl",
            "-n",
            "2",
            "--shard",
            "3/2",
        ),
        {"apis.jsonl": J(API, API2)},
        ("shard",),
        keep="out.jsonl",
    ),
    Case(
        "toolgen-dialogs/bad-mix",
        (
            "toolgen",
            "dialogs",
            "--apis",
            "{tmp}/apis.jsonl",
            "-o",
            "{tmp}/out.jsonl",
            "-n",
            "2",
            "--mix",
            "single=abc",
        ),
        {"apis.jsonl": J(API, API2)},
        ("mix",),
        keep="out.jsonl",
    ),
    Case(
        "toolgen-dialogs/unknown-type-in-mix",
        (
            "toolgen",
            "dialogs",
            "--apis",
            "{tmp}/apis.jsonl",
            "-o",
            "{tmp}/out.jsonl",
            "-n",
            "2",
            "--mix",
            "nonsense=1",
        ),
        {"apis.jsonl": J(API, API2)},
        ("nonsense",),
        keep="out.jsonl",
    ),
    Case(
        "toolgen-dialogs/negative-n",
        ("toolgen", "dialogs", "--apis", "{tmp}/apis.jsonl", "-o", "{tmp}/out.jsonl", "-n", "-2"),
        {"apis.jsonl": J(API, API2)},
        ("-n",),
        keep="out.jsonl",
    ),
    Case(
        "toolgen-dialogs/thoughts-out-of-range",
        (
            "toolgen",
            "dialogs",
            "--apis",
            "{tmp}/apis.jsonl",
            "-o",
            "{tmp}/out.jsonl",
            "-n",
            "2",
            "--thoughts",
            "1.5",
        ),
        {"apis.jsonl": J(API, API2)},
        ("--thoughts",),
        code=2,
    ),
    Case(
        "toolgen-dialogs/one-api",
        ("toolgen", "dialogs", "--apis", "{tmp}/apis.jsonl", "-o", "{tmp}/out.jsonl", "-n", "2"),
        {"apis.jsonl": J(API)},
        ("apis.jsonl", "two APIs"),
        keep="out.jsonl",
    ),
    Case(
        "toolgen-verify/earlier-output-not-jsonl",
        (
            "toolgen",
            "verify",
            "{tmp}/d.jsonl",
            "-o",
            "{tmp}/out.jsonl",
            "--rejected",
            "{tmp}/r.jsonl",
        ),
        {"d.jsonl": J(DIALOG), "r.jsonl": "not json\n"},
        ("out.jsonl:1", "cannot resume", "--no-resume"),
        keep="out.jsonl",
    ),
    Case(
        "toolgen-apis/negative-n",
        ("toolgen", "apis", "-o", "{tmp}/out.jsonl", "-n", "-1"),
        {},
        ("-n",),
        keep="out.jsonl",
    ),
    Case(
        "toolgen-apis/resume-from-a-corrupt-pool",
        ("toolgen", "apis", "-o", "{tmp}/out.jsonl", "-n", "3"),
        {"out.jsonl": J(API, "{oops")},
        ("out.jsonl:2",),
    ),
    Case(
        "toolgen-apis/bad-backend",
        ("toolgen", "apis", "-o", "{tmp}/out.jsonl", "-n", "3", "--backend", "magic"),
        {},
        ("--backend",),
        code=2,
    ),
]
CASES += file_faults(
    "toolgen-stats",
    lambda p: ("toolgen", "stats", p, "-o", "{tmp}/stats.md"),
    DIALOG,
    keep="stats.md",
)
CASES += [
    c
    for c in file_faults(
        "toolgen-verify",
        lambda p: ("toolgen", "verify", p, "-o", "{tmp}/out.jsonl", "--rejected", "{tmp}/r.jsonl"),
        DIALOG,
        keep="out.jsonl",
    )
    # A malformed line is a rejected row with its reason (dialog.malformed), not an error.
    if not c.id.endswith(
        ("bad-json-line-2", "not-an-object", "truncated-last-line", "nested-too-deep")
    )
]
CASES += [
    Case(
        "toolgen-verify/bad-shard",
        ("toolgen", "verify", "{tmp}/d.jsonl", "-o", "{tmp}/out.jsonl", "--shard", "x/y"),
        {"d.jsonl": J(DIALOG)},
        ("shard",),
        keep="out.jsonl",
    ),
    Case(
        "toolgen-verify/unknown-judge-check",
        (
            "toolgen",
            "verify",
            "{tmp}/d.jsonl",
            "-o",
            "{tmp}/out.jsonl",
            "--judge-backend",
            "hf",
            "--model",
            NO_MODEL,
            "--judge-checks",
            "vibes",
        ),
        {"d.jsonl": J(DIALOG)},
        ("vibes",),
        keep="out.jsonl",
    ),
]
CASES += file_faults(
    "toolgen-export",
    lambda p: ("toolgen", "export", p, "--format", "openai", "-o", "{tmp}/out.jsonl"),
    DIALOG,
    keep="out.jsonl",
)
CASES += [
    Case(
        "toolgen-export/messages-wrong-type",
        ("toolgen", "export", "{tmp}/d.jsonl", "--format", "openai", "-o", "{tmp}/out.jsonl"),
        {"d.jsonl": J(DIALOG, {**DIALOG, "messages": "hi"})},
        ("d.jsonl:2", "messages"),
        keep="out.jsonl",
    ),
    Case(
        "toolgen-export/unknown-role",
        ("toolgen", "export", "{tmp}/d.jsonl", "--format", "sharegpt", "-o", "{tmp}/out.jsonl"),
        {"d.jsonl": J({**DIALOG, "messages": [{"role": "wizard", "content": "x"}]})},
        ("d.jsonl:1", "role"),
        keep="out.jsonl",
    ),
    Case(
        "toolgen-export/bad-format",
        ("toolgen", "export", "{tmp}/d.jsonl", "--format", "yaml", "-o", "{tmp}/out.jsonl"),
        {"d.jsonl": J(DIALOG)},
        ("--format",),
        code=2,
    ),
    Case(
        "toolgen-import/missing",
        ("toolgen", "import", "{tmp}/data.json", "-o", "{tmp}/out.jsonl"),
        {},
        ("data.json",),
        code=2,
    ),
    Case(
        "toolgen-import/not-json",
        ("toolgen", "import", "{tmp}/data.json", "-o", "{tmp}/out.jsonl"),
        {"data.json": "[{oops"},
        ("data.json",),
        keep="out.jsonl",
    ),
    Case(
        "toolgen-import/not-a-list",
        ("toolgen", "import", "{tmp}/data.json", "-o", "{tmp}/out.jsonl"),
        {"data.json": '{"a": 1}'},
        ("data.json",),
        keep="out.jsonl",
    ),
    Case(
        "toolgen-import/entry-wrong-type",
        ("toolgen", "import", "{tmp}/data.json", "-o", "{tmp}/out.jsonl"),
        {"data.json": '[{"system": 5, "conversations": "x"}]'},
        ("data.json",),
        keep="out.jsonl",
    ),
    Case(
        "toolgen-audit/dialogs-not-json",
        (
            "toolgen",
            "audit",
            "{tmp}/d.jsonl",
            "-o",
            "{tmp}/audit",
            "--judge-backend",
            "hf",
            "--model",
            NO_MODEL,
        ),
        {"d.jsonl": J(DIALOG, "{oops")},
        ("d.jsonl:2",),
    ),
    Case(
        "toolgen-audit/unknown-config-key",
        (
            "toolgen",
            "audit",
            "{tmp}/d.jsonl",
            "-o",
            "{tmp}/audit",
            "--config",
            "{tmp}/c.yaml",
            "--judge-backend",
            "hf",
            "--model",
            NO_MODEL,
        ),
        {"d.jsonl": J(DIALOG), "c.yaml": "per_clas: 3\n"},
        ("c.yaml", "per_clas"),
    ),
]

# eval: rescoring response files
CASES += file_faults(
    "eval-ifeval",
    lambda p: ("eval", "ifeval", "--responses", p, "--data", "{tmp}/data.jsonl", "-o", "{tmp}/ev"),
    {"prompt": "Write two words.", "response": "hello world"},
    extra={"data.jsonl": J({k: v for k, v in IFEVAL_ROW.items() if k != "response"})},
)
CASES += file_faults(
    "eval-gsm8k",
    lambda p: ("eval", "gsm8k", "--responses", p, "--data", "{tmp}/gsm.jsonl", "-o", "{tmp}/ev"),
    {"question": "1+1?", "response": "2"},
    extra={"gsm.jsonl": J({"question": "1+1?", "answer": "#### 2"})},
)
CASES += [
    Case(
        "eval-gsm8k/unmatched-responses",
        (
            "eval",
            "gsm8k",
            "--responses",
            "{tmp}/r.jsonl",
            "--data",
            "{tmp}/gsm.jsonl",
            "-o",
            "{tmp}/ev",
        ),
        {
            "r.jsonl": J({"question": "unknown?", "response": "3"}),
            "gsm.jsonl": J({"question": "1+1?", "answer": "#### 2"}),
        },
        ("r.jsonl",),
    ),
    Case(
        "eval-ifeval/response-wrong-type",
        ("eval", "ifeval", "--responses", "{tmp}/r.jsonl", "-o", "{tmp}/ev"),
        {"r.jsonl": J({"prompt": "Write two words.", "response": ["a", "b"]})},
        ("r.jsonl:1", "response"),
    ),
]
CASES += file_faults(
    "eval-bfcl",
    lambda p: ("eval", "bfcl", "--responses", p, "-o", "{tmp}/ev"),
    {"id": "simple_0", "result": "[f(a=1)]"},
)
CASES += file_faults(
    "eval-prm",
    lambda p: ("eval", "prm", "--responses", p, "-o", "{tmp}/ev"),
    {"label": -1, "step_scores": [0.9, 0.8]},
)
CASES += [
    Case(
        "eval-prm/threshold-not-a-number",
        ("eval", "prm", "--responses", "{tmp}/r.jsonl", "-o", "{tmp}/ev", "--threshold", "high"),
        {"r.jsonl": J({"label": -1, "step_scores": [0.9]})},
        ("--threshold",),
        code=2,
    ),
    Case(
        "eval-compare/missing-run",
        ("eval", "compare", "{tmp}/run-a", "{tmp}/run-b"),
        {"run-a/x": ""},
        ("run-b",),
    ),
    Case(
        "eval-compare/run-without-results",
        ("eval", "compare", "{tmp}/run-a"),
        {"run-a/x": ""},
        ("run-a",),
    ),
    Case(
        "eval-compare/results-not-json",
        ("eval", "compare", "{tmp}/run-a"),
        {"run-a/metrics.json": "{oops"},
        ("run-a",),
    ),
]

# prm: data checked before the PRM or the policy is loaded
CASES += file_faults(
    "prm-bon",
    lambda p: ("prm", "bon", "--prm", "{tmp}/prm", "--data", p, "--out", "{tmp}/out.jsonl"),
    {"prompt": "1+1?", "candidates": ["2"]},
    keep="out.jsonl",
    extra={"prm/prm_config.json": "{}"},
)
CASES += [
    Case(
        "prm-bon/candidates-a-string",
        ("prm", "bon", "--prm", "{tmp}/prm", "--data", "{tmp}/d.jsonl", "--out", "{tmp}/o.jsonl"),
        {"d.jsonl": J({"prompt": "1+1?", "candidates": "abc"}), "prm/prm_config.json": "{}"},
        ("d.jsonl:1", "candidates"),
        keep="o.jsonl",
    ),
    Case(
        "prm-bon/no-candidates",
        ("prm", "bon", "--prm", "{tmp}/prm", "--data", "{tmp}/d.jsonl", "--out", "{tmp}/o.jsonl"),
        {"d.jsonl": J({"prompt": "1+1?", "candidates": []}), "prm/prm_config.json": "{}"},
        ("d.jsonl:1", "candidates"),
        keep="o.jsonl",
    ),
    Case(
        "prm-bon/unknown-checker",
        (
            "prm",
            "bon",
            "--prm",
            "{tmp}/prm",
            "--data",
            "{tmp}/d.jsonl",
            "--out",
            "{tmp}/o.jsonl",
            "--checker",
            "astrology",
        ),
        {"d.jsonl": J({"prompt": "1+1?", "candidates": ["2"]}), "prm/prm_config.json": "{}"},
        ("astrology",),
        keep="o.jsonl",
    ),
]
CASES += file_faults(
    "prm-score",
    lambda p: ("prm", "score", "--prm", "{tmp}/prm", "--data", p, "--out", "{tmp}/out.jsonl"),
    {"prompt": "1+1?", "steps": ["1+1=2", "The answer is 2"]},
    keep="out.jsonl",
    extra={"prm/prm_config.json": "{}"},
)
CASES += [
    Case(
        "prm-score/steps-wrong-type",
        ("prm", "score", "--prm", "{tmp}/prm", "--data", "{tmp}/d.jsonl", "--out", "{tmp}/o.jsonl"),
        {"d.jsonl": J({"prompt": "1+1?", "steps": 5}), "prm/prm_config.json": "{}"},
        ("d.jsonl:1", "steps"),
        keep="o.jsonl",
    ),
]
CASES += file_faults(
    "prm-train",
    lambda p: ("prm", "train", "--model", NO_MODEL, "--data", p, "--out", "{tmp}/prm"),
    {"prompt": "1+1?", "steps": ["2"], "labels": [1.0]},
)
CASES += [
    Case(
        "prm-train/labels-wrong-length",
        ("prm", "train", "--model", NO_MODEL, "--data", "{tmp}/d.jsonl", "--out", "{tmp}/prm"),
        {"d.jsonl": J({"prompt": "1+1?", "steps": ["a", "b"], "labels": [1.0]})},
        ("d.jsonl:1", "labels"),
    ),
    Case(
        "prm-train/negative-epochs",
        (
            "prm",
            "train",
            "--model",
            NO_MODEL,
            "--data",
            "{tmp}/d.jsonl",
            "--out",
            "{tmp}/prm",
            "--epochs",
            "-1",
        ),
        {"d.jsonl": J({"prompt": "1+1?", "steps": ["2"], "labels": [1.0]})},
        ("epochs",),
    ),
    Case(
        "prm-train/unknown-config-key",
        (
            "prm",
            "train",
            "--model",
            NO_MODEL,
            "--data",
            "{tmp}/d.jsonl",
            "--out",
            "{tmp}/prm",
            "--config",
            "{tmp}/c.yaml",
        ),
        {
            "d.jsonl": J({"prompt": "1+1?", "steps": ["2"], "labels": [1.0]}),
            "c.yaml": "learning_rte: 0.1\n",
        },
        ("c.yaml", "learning_rte"),
    ),
]
CASES += file_faults(
    "prm-planted",
    lambda p: ("prm", "planted", "--data", p, "--out", "{tmp}/out.jsonl"),
    {"question": "1+1?", "answer": "1+1=<<1+1=2>>2\n#### 2"},
    keep="out.jsonl",
)
CASES += file_faults(
    "prm-label",
    lambda p: ("prm", "label", "--trees", p, "--model", NO_MODEL, "--out", "{tmp}/out.jsonl"),
    {
        "question_id": "q1",
        "prompt": "1+1?",
        "reference": "2",
        "prompt_ids": [1],
        "nodes": [{"id": 0, "parent": None, "depth": 0, "rank": 0, "start": 0}],
    },
    keep="out.jsonl",
)
CASES += file_faults(
    "prm-branch",
    lambda p: ("prm", "branch", "--model", NO_MODEL, "--data", p, "--out", "{tmp}/out.jsonl"),
    {"question": "1+1?", "answer": "#### 2"},
)

# rl: configs and data checked before the model loads


def _rl_args(algo: str, data: str) -> tuple[str, ...]:
    return ("rl", algo, "--model", NO_MODEL, "--data", data, "--output_dir", "{tmp}/run",
            "--max_steps", "1")  # fmt: skip


SFT_ROW = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
for algo, row in (
    ("sft", SFT_ROW),
    ("grpo", {"prompt": "Say hi."}),
    ("dpo", {"prompt": "Q", "chosen": " yes", "rejected": " no"}),
):
    CASES += file_faults(
        f"rl-{algo}",
        functools.partial(_rl_args, algo),
        row,
    )
    CASES += [
        Case(
            f"rl-{algo}/unknown-config-key",
            ("rl", algo, "--config", "{tmp}/c.yaml"),
            {"c.yaml": "model: no-such-model\nlearning_rat: 0.1\n"},
            ("c.yaml", "learning_rat"),
        ),
        Case(
            f"rl-{algo}/config-value-wrong-type",
            ("rl", algo, "--config", "{tmp}/c.yaml"),
            {"c.yaml": "max_steps: many\n"},
            ("c.yaml", "max_steps"),
        ),
        Case(
            f"rl-{algo}/negative-max-steps",
            ("rl", algo, "--model", NO_MODEL, "--data", "{tmp}/d.jsonl", "--max_steps", "-2"),
            {"d.jsonl": J(row)},
            ("max_steps",),
        ),
        Case(
            f"rl-{algo}/unknown-option",
            ("rl", algo, "--model", NO_MODEL, "--lerning_rate", "0.1"),
            {},
            ("lerning_rate",),
            code=2,
        ),
    ]
CASES += [
    Case(
        "rl-sft/no-assistant-turn",
        ("rl", "sft", "--model", NO_MODEL, "--data", "{tmp}/d.jsonl", "--output_dir", "{tmp}/run"),
        {"d.jsonl": J({"messages": [{"role": "user", "content": "hi"}]})},
        ("d.jsonl", "assistant"),
    ),
    Case(
        "rl-sft/messages-wrong-type",
        ("rl", "sft", "--model", NO_MODEL, "--data", "{tmp}/d.jsonl", "--output_dir", "{tmp}/run"),
        {"d.jsonl": J(SFT_ROW, {"messages": "hi"})},
        ("d.jsonl:2", "messages"),
    ),
    Case(
        "rl-dpo/chosen-missing",
        ("rl", "dpo", "--model", NO_MODEL, "--data", "{tmp}/d.jsonl", "--output_dir", "{tmp}/run"),
        {"d.jsonl": J({"prompt": "Q", "rejected": " no"})},
        ("d.jsonl:1", "chosen"),
    ),
    Case(
        "rl-grpo/unknown-reward",
        (
            "rl",
            "grpo",
            "--model",
            NO_MODEL,
            "--data",
            "{tmp}/d.jsonl",
            "--output_dir",
            "{tmp}/run",
            "--reward_funcs",
            "no_such_module:f",
        ),
        {"d.jsonl": J({"prompt": "Say hi."})},
        ("no_such_module",),
    ),
    Case(
        "rl-grpo/bad-loss-type",
        ("rl", "grpo", "--model", NO_MODEL, "--data", "{tmp}/d.jsonl", "--loss_type", "ppo"),
        {"d.jsonl": J({"prompt": "Say hi."})},
        ("loss_type",),
    ),
    Case(
        "rl-merge/missing-adapter",
        ("rl", "merge", "{tmp}/adapter", "{tmp}/merged"),
        {},
        ("adapter",),
    ),
]

# pipelines
CASES += [
    Case(
        "pipeline/unknown-recipe",
        ("pipeline", "run", "no-such-recipe", "--config", "{tmp}/c.yaml"),
        {"c.yaml": "model: {path: tiny}\n"},
        ("no-such-recipe",),
    ),
    Case(
        "pipeline/missing-config",
        ("pipeline", "run", "toolace", "--config", "{tmp}/c.yaml"),
        {},
        ("c.yaml",),
    ),
    Case(
        "pipeline/unknown-section-key",
        ("pipeline", "run", "toolace", "--config", "{tmp}/c.yaml", "--run-dir", "{tmp}/run"),
        {"c.yaml": "model: {path: tiny}\napis: {nn: 3}\n"},
        ("c.yaml", "apis", "'nn'"),
    ),
    Case(
        "pipeline/unknown-top-key",
        ("pipeline", "run", "toolace", "--config", "{tmp}/c.yaml", "--run-dir", "{tmp}/run"),
        {"c.yaml": "model: {path: tiny}\ndialgs: {n: 3}\n"},
        ("c.yaml", "dialgs"),
    ),
    Case(
        "pipeline/value-wrong-type",
        ("pipeline", "run", "toolace", "--config", "{tmp}/c.yaml", "--run-dir", "{tmp}/run"),
        {"c.yaml": "model: {path: tiny}\napis: {n: many}\n"},
        ("c.yaml", "apis.n"),
    ),
    Case(
        "pipeline/negative-count",
        ("pipeline", "run", "if-rlvr", "--config", "{tmp}/c.yaml", "--run-dir", "{tmp}/run"),
        {"c.yaml": "model: {path: tiny}\nseeds: {n: -4}\n"},
        ("c.yaml", "seeds.n"),
    ),
    Case(
        "pipeline/config-not-a-mapping",
        ("pipeline", "run", "toolace", "--config", "{tmp}/c.yaml", "--run-dir", "{tmp}/run"),
        {"c.yaml": "just a string\n"},
        ("c.yaml",),
    ),
    Case(
        "pipeline/config-not-yaml",
        ("pipeline", "run", "toolace", "--config", "{tmp}/c.yaml", "--run-dir", "{tmp}/run"),
        {"c.yaml": "apis: {n: [1, 2\n"},
        ("c.yaml",),
    ),
    Case(
        "pipeline/config-not-utf8",
        ("pipeline", "run", "toolace", "--config", "{tmp}/c.yaml", "--run-dir", "{tmp}/run"),
        {"c.yaml": BINARY},
        ("UTF-8",),
    ),
    Case(
        "pipeline/bad-set",
        (
            "pipeline",
            "run",
            "toolace",
            "--config",
            "{tmp}/c.yaml",
            "--run-dir",
            "{tmp}/run",
            "--set",
            "apis.n",
        ),
        {"c.yaml": "model: {path: tiny}\n"},
        ("--set",),
    ),
    Case(
        "pipeline/set-unknown-key",
        (
            "pipeline",
            "run",
            "toolace",
            "--config",
            "{tmp}/c.yaml",
            "--run-dir",
            "{tmp}/run",
            "--set",
            "apis.zz=3",
        ),
        {"c.yaml": "model: {path: tiny}\n"},
        ("apis", "'zz'"),
    ),
    Case(
        "pipeline/unknown-from-stage",
        (
            "pipeline",
            "run",
            "toolace",
            "--config",
            "{tmp}/c.yaml",
            "--run-dir",
            "{tmp}/run",
            "--from",
            "nowhere",
        ),
        {"c.yaml": "model: {path: tiny}\n"},
        ("nowhere",),
    ),
    Case(
        "pipeline/show-config-unknown-recipe",
        ("pipeline", "show-config", "no-such-recipe"),
        {},
        ("no-such-recipe",),
    ),
    Case("top/unknown-command", ("tolgen", "verify"), {}, ("tolgen",), code=2),
    Case("top/unknown-subcommand", ("toolgen", "verfy"), {}, ("verfy",), code=2),
]

# -- known gaps -----------------------------------------------------------------------------------

#: Cases known to fail, each with the reason, run as strict xfails (fixing one makes its case
#: pass, and its entry must then be removed here). None is left: every case passes.
KNOWN_GAPS: dict[str, str] = {}


# -- the test -----------------------------------------------------------------------------------

EARLIER = "an earlier run's output\n"


def _materialise(case: Case, tmp: Path) -> list[str]:
    for name, content in case.files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    if case.keep is not None and case.keep not in case.files:
        (tmp / case.keep).write_text(EARLIER, encoding="utf-8")
    return [a.replace("{tmp}", str(tmp)) for a in case.args]


def test_the_suite_is_large_and_covers_every_command_family() -> None:
    assert len(CASES) >= 150
    assert len({c.id for c in CASES}) == len(CASES)
    assert set(KNOWN_GAPS) <= {c.id for c in CASES}
    families = {c.args[0] for c in CASES}
    assert {"constraints", "toolgen", "eval", "prm", "rl", "pipeline"} <= families


def _param(case: Case) -> object:
    gap = KNOWN_GAPS.get(case.id)
    marks = [pytest.mark.xfail(reason=gap, strict=True)] if gap else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_input_ends_in_one_error_without_a_traceback(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    args = _materialise(case, tmp_path)
    before = (tmp_path / case.keep).read_bytes() if case.keep else None
    result = CliRunner().invoke(main, args)
    out = result.output
    assert result.exit_code != 0, f"exit 0 on bad input:\n{out}"
    assert isinstance(result.exception, SystemExit), (
        f"escaped the error boundary: {result.exception!r}\n{out}"
    )
    if case.code is not None:
        assert result.exit_code == case.code, out
    assert "Traceback" not in out, out
    error = out[out.index("Error") :] if "Error" in out else ""
    assert error, f"no error message:\n{out}"
    assert error.count("\n") <= 4 and "\n\n" not in error.strip(), f"not one paragraph:\n{out}"
    tmp = str(tmp_path)
    for fragment in case.names:
        assert fragment in error.replace(tmp + "/", ""), f"{fragment!r} not named:\n{out}"
    if case.keep is not None:
        assert (tmp_path / case.keep).read_bytes() == before, "an earlier output changed"
