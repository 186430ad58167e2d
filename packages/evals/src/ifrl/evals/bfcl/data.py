"""BFCL v4 data: find it, load a category's entries and their possible answers.

The data ships inside the PyPI package ``bfcl-eval`` (``bfcl_eval/data/BFCL_v4_<category>.json``
and ``bfcl_eval/data/possible_answer/``, one JSON object per line; the multi-turn categories'
functions are documented per back-end class in ``multi_turn_func_doc/``). We locate it from the
installed distribution's file list (or the package's import spec) **without importing any of
bfcl-eval's modules**, or read it from a directory the user names (also through the
``IFRL_BFCL_DATA`` environment variable).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ifrl.core.errors import IfrlError, RecordError
from ifrl.core.jsonl import read_jsonl
from ifrl.core.records import ToolCall
from ifrl.core.registry import UnknownNameError

__all__ = [
    "AST_CATEGORIES",
    "MULTI_TURN_CATEGORIES",
    "RELEVANCE_CATEGORIES",
    "SINGLE_TURN_CATEGORIES",
    "BFCLDataError",
    "BFCLEntry",
    "find_data_dir",
    "load_category",
]

AST_CATEGORIES = (
    "simple_python",
    "multiple",
    "parallel",
    "parallel_multiple",
    "live_simple",
    "live_multiple",
    "live_parallel",
    "live_parallel_multiple",
)
RELEVANCE_CATEGORIES = ("irrelevance", "live_irrelevance", "live_relevance")
MULTI_TURN_CATEGORIES = (
    "multi_turn_base",
    "multi_turn_miss_func",
    "multi_turn_miss_param",
    "multi_turn_long_context",
)
SINGLE_TURN_CATEGORIES = AST_CATEGORIES + RELEVANCE_CATEGORIES
CATEGORIES = SINGLE_TURN_CATEGORIES + MULTI_TURN_CATEGORIES
# The function documentation of each multi-turn back-end class (multi_turn_func_doc/).
FUNC_DOCS = {
    "GorillaFileSystem": "gorilla_file_system.json",
    "MathAPI": "math_api.json",
    "MessageAPI": "message_api.json",
    "TwitterAPI": "posting_api.json",
    "TicketAPI": "ticket_api.json",
    "TradingBot": "trading_bot.json",
    "TravelAPI": "travel_booking.json",
    "VehicleControlAPI": "vehicle_control.json",
}
ENV_VAR = "IFRL_BFCL_DATA"
_PROBE = "BFCL_v4_simple_python.json"


class BFCLDataError(IfrlError, FileNotFoundError):
    """BFCL data cannot be found or does not have the expected layout."""


@dataclass(frozen=True, slots=True)
class BFCLEntry:
    """One test entry: its id, chat turns (a list of message lists), functions, ground truth
    (AST categories: possible answers; multi-turn categories: ``turns``, the calls each user
    turn needs, possibly none)."""

    id: str
    question: list[list[dict[str, Any]]]
    functions: list[dict[str, Any]]
    ground_truth: list[dict[str, dict[str, list[Any]]]] | None = None
    turns: tuple[tuple[ToolCall, ...], ...] | None = None

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The messages of all turns, flattened (AST categories are single-turn)."""
        return [m for turn in self.question for m in turn]


def find_data_dir(directory: str | os.PathLike[str] | None = None) -> Path:
    """The BFCL data directory: ``directory``, else ``$IFRL_BFCL_DATA``, else installed bfcl-eval.

    Raises :class:`BFCLDataError` saying how to get the data when none is found.
    """
    given = directory if directory is not None else os.environ.get(ENV_VAR)
    if given:
        path = Path(given)
        for candidate in (path, path / "data", path / "bfcl_eval" / "data"):
            if (candidate / _PROBE).is_file():
                return candidate
        raise BFCLDataError(f"{path}: no {_PROBE} here (expected BFCL v4 data files)")
    found = _installed_data_dir()
    if found is None:
        raise BFCLDataError(
            "BFCL data not found: install it with `pip install --no-deps bfcl-eval` "
            f"(the data ships in that package), or pass a directory (or set ${ENV_VAR})"
        )
    return found


def _installed_data_dir() -> Path | None:
    """The data directory of an installed bfcl-eval, found without importing it."""
    try:
        dist = importlib.metadata.distribution("bfcl-eval")
    except importlib.metadata.PackageNotFoundError:
        dist = None
    if dist is not None:
        for file in dist.files or ():
            if file.name == _PROBE and file.parent.name == "data":
                path = Path(str(dist.locate_file(file))).parent
                if (path / _PROBE).is_file():
                    return path
    try:
        spec = importlib.util.find_spec("bfcl_eval")  # finds, never executes, the package
    except (ImportError, ValueError):
        spec = None
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = Path(location) / "data"
        if (path / _PROBE).is_file():
            return path
    return None


def _entry(data: dict[str, Any]) -> BFCLEntry:
    for field, kind in (("id", str), ("question", list), ("function", list)):
        if not isinstance(data.get(field), kind):
            raise RecordError(field, f"missing or not a {kind.__name__}")
    for i, func in enumerate(data["function"]):
        if not isinstance(func, Mapping) or not isinstance(func.get("name"), str):
            raise RecordError(f"function[{i}]", "expected an object with a 'name'")
        params = func.get("parameters")
        if not isinstance(params, Mapping) or not isinstance(params.get("properties", {}), Mapping):
            raise RecordError(f"function[{i}].parameters", "expected an object schema")
    question = data["question"]
    if question and isinstance(question[0], dict):  # a single turn given flat
        question = [question]
    return BFCLEntry(id=data["id"], question=question, functions=data["function"])


def _answer(data: dict[str, Any]) -> tuple[str, list[dict[str, dict[str, list[Any]]]]]:
    if not isinstance(data.get("id"), str):
        raise RecordError("id", "missing or not a string")
    truth = data.get("ground_truth")
    if not isinstance(truth, list):
        raise RecordError("ground_truth", "missing or not a list")
    for i, item in enumerate(truth):
        if not isinstance(item, Mapping) or len(item) != 1:
            raise RecordError(f"ground_truth[{i}]", "expected {function_name: {param: options}}")
        params = next(iter(item.values()))
        if not isinstance(params, Mapping):
            raise RecordError(f"ground_truth[{i}]", "parameters must be an object")
        for name, options in params.items():
            if not isinstance(options, list):
                raise RecordError(f"ground_truth[{i}].{name}", "options must be a list")
    return data["id"], truth


def _func_docs(root: Path) -> dict[str, list[dict[str, Any]]]:
    """Each multi-turn back-end class's function documentation."""
    out = {}
    for cls, name in FUNC_DOCS.items():
        path = root / "multi_turn_func_doc" / name
        if not path.is_file():
            raise BFCLDataError(f"{path}: missing function documentation of {cls}")
        out[cls] = list(read_jsonl(path))
    return out


def _multi_turn(root: Path, path: Path, answer_path: Path) -> list[BFCLEntry]:
    # imported here: the call parser belongs to the multi-turn scorer
    from ifrl.evals.bfcl.multi_turn import parse_ground_truth

    docs = _func_docs(root)
    answers = dict(read_jsonl(answer_path, _turn_answer))
    out = []
    for lineno, data in enumerate(read_jsonl(path), start=1):
        where = f"{path}:{lineno}"
        classes = data.get("involved_classes")
        if not isinstance(data.get("id"), str) or not isinstance(classes, list):
            raise BFCLDataError(f"{where}: id or involved_classes missing")
        unknown = [c for c in classes if c not in docs]
        if unknown:
            raise BFCLDataError(f"{where}: involved_classes: unknown class {unknown[0]!r}")
        excluded = set(data.get("excluded_function") or ())
        functions = [f for c in classes for f in docs[c] if f["name"] not in excluded]
        truth = answers.get(data["id"])
        if truth is None:
            raise BFCLDataError(f"{answer_path}: no possible answer for {data['id']!r}")
        try:
            turns = parse_ground_truth(truth, functions)
        except ValueError as err:
            raise BFCLDataError(f"{answer_path}: {data['id']}: {err}") from None
        question = data.get("question")
        if not isinstance(question, list) or len(question) != len(turns):
            raise BFCLDataError(f"{where}: question must have one entry per ground-truth turn")
        out.append(BFCLEntry(data["id"], question, functions, turns=turns))
    return out


def _turn_answer(data: dict[str, Any]) -> tuple[str, list[list[str]]]:
    truth = data.get("ground_truth")
    if not isinstance(data.get("id"), str):
        raise RecordError("id", "missing or not a string")
    if not isinstance(truth, list) or not all(
        isinstance(t, list) and all(isinstance(c, str) for c in t) for t in truth
    ):
        raise RecordError("ground_truth", "expected a list of turns, each a list of call strings")
    return data["id"], truth


def load_category(
    category: str, directory: str | os.PathLike[str] | None = None
) -> list[BFCLEntry]:
    """The entries of one category, with ground truth attached (AST: possible answers;
    multi-turn: the calls of each turn, the functions of the involved back-end classes)."""
    if category not in CATEGORIES:
        raise UnknownNameError("BFCL category", category, list(CATEGORIES))
    root = find_data_dir(directory)
    path = root / f"BFCL_v4_{category}.json"
    if not path.is_file():
        raise BFCLDataError(f"{path}: missing (the BFCL data has no category {category!r})")
    if category in MULTI_TURN_CATEGORIES:
        return _multi_turn(root, path, root / "possible_answer" / path.name)
    entries = list(read_jsonl(path, _entry))
    if category in RELEVANCE_CATEGORIES:
        return entries
    answer_path = root / "possible_answer" / path.name
    if not answer_path.is_file():
        raise BFCLDataError(f"{answer_path}: missing possible answers for {category!r}")
    answers = dict(read_jsonl(answer_path, _answer))
    out = []
    for entry in entries:
        truth = answers.get(entry.id)
        if truth is None:
            raise BFCLDataError(f"{answer_path}: no possible answer for {entry.id!r}")
        out.append(BFCLEntry(entry.id, entry.question, entry.functions, ground_truth=truth))
    return out
