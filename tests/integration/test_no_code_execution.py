"""No code runs from data, checkpoints or model output: the source never calls the loaders that
can execute what they read (SECURITY.md).

Every ``.py`` file under ``packages/*/src`` is parsed and its calls checked:

* ``eval``/``exec``/``compile`` (the builtins; ``ast.literal_eval`` and ``model.eval()`` are fine);
* ``pickle``/``dill``/``marshal``/``shelve``/``joblib`` loaders, also when imported by name;
* ``torch.load`` without ``weights_only=True``, and any ``weights_only=False``;
* ``yaml.load``/``unsafe_load``/``full_load`` and the unsafe yaml loaders (``safe_load`` only);
* ``numpy.load(..., allow_pickle=True)``.

An exception must be listed in :data:`ALLOWED` with the reason it is safe; a listed exception
that no longer occurs fails the test too, so the list stays true.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: (path relative to the repository root, what) -> why it is safe. Empty today: nothing in the
#: packages loads code from data. (A checker that must run dataset-provided code belongs in a
#: separate process with no access to the run's files, and gets an entry here saying so.)
ALLOWED: dict[tuple[str, str], str] = {}

_PICKLERS = {"pickle", "cPickle", "_pickle", "dill", "marshal", "shelve", "joblib", "cloudpickle"}
_PICKLE_LOADERS = {"load", "loads", "Unpickler", "open"}
_YAML_UNSAFE = {"load", "unsafe_load", "full_load", "load_all", "unsafe_load_all", "full_load_all"}
_YAML_LOADERS = {"Loader", "UnsafeLoader", "FullLoader"}


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def findings(source: str) -> list[tuple[int, str]]:
    """``(line, what)`` of every call that can execute what it loads."""
    out: list[tuple[int, str]] = []
    imported: dict[str, str] = {}  # local name -> "module.attr" for from-imports
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        if (
            isinstance(node, ast.keyword)
            and node.arg == "weights_only"
            and isinstance(node.value, ast.Constant)
            and node.value.value is False
        ):
            out.append((node.value.lineno, "weights_only=False"))
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        line = node.lineno
        if isinstance(func, ast.Name):
            if func.id in ("eval", "exec", "compile"):
                out.append((line, f"{func.id}()"))
            full = imported.get(func.id, "")
            mod, _, attr = full.rpartition(".")
            if mod.split(".")[0] in _PICKLERS and attr in _PICKLE_LOADERS:
                out.append((line, f"{full}()"))
            if mod == "yaml" and attr in _YAML_UNSAFE:
                out.append((line, f"{full}()"))
            if full == "torch.load" and not _is_true(_kw(node, "weights_only")):
                out.append((line, "torch.load() without weights_only=True"))
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            owner, attr = func.value.id, func.attr
            if owner in _PICKLERS and attr in _PICKLE_LOADERS:
                out.append((line, f"{owner}.{attr}()"))
            elif owner == "torch" and attr == "load":
                if not _is_true(_kw(node, "weights_only")):
                    out.append((line, "torch.load() without weights_only=True"))
            elif owner == "yaml" and attr in _YAML_UNSAFE:
                out.append((line, f"yaml.{attr}()"))
            elif (
                owner in ("np", "numpy") and attr == "load" and _is_true(_kw(node, "allow_pickle"))
            ):
                out.append((line, "numpy.load(allow_pickle=True)"))
        for name in ("Loader",):
            value = _kw(node, name)
            if isinstance(value, ast.Attribute) and value.attr in _YAML_LOADERS:
                out.append((line, f"yaml Loader={value.attr}"))
    return sorted(set(out))


def _sources() -> list[Path]:
    return sorted((ROOT / "packages").glob("*/src/**/*.py"))


def test_the_checker_finds_each_kind_of_unsafe_load() -> None:
    planted = """
import pickle, torch, yaml, numpy as np
from pickle import loads as pl
from torch import load
eval("1")
exec("x = 1")
compile("1", "f", "eval")
pickle.load(open("f", "rb"))
pl(b"")
torch.load("f")
torch.load("f", weights_only=False)
load("f")
yaml.load("a: 1")
yaml.safe_load("a: 1", Loader=yaml.UnsafeLoader)
np.load("f.npy", allow_pickle=True)
"""
    kinds = {what for _, what in findings(planted)}
    assert kinds == {
        "eval()",
        "exec()",
        "compile()",
        "pickle.load()",
        "pickle.loads()",
        "torch.load() without weights_only=True",
        "weights_only=False",
        "yaml.load()",
        "yaml Loader=UnsafeLoader",
        "numpy.load(allow_pickle=True)",
    }
    safe = """
import ast, torch, yaml
model.eval()
ast.literal_eval("1")
torch.load("f", weights_only=True)
yaml.safe_load("a: 1")
re.compile("x")
"""
    assert findings(safe) == []


def test_no_package_loads_code_from_what_it_reads() -> None:
    sources = _sources()
    assert len(sources) > 100  # the glob found the packages
    found: dict[tuple[str, str], list[int]] = {}
    for path in sources:
        rel = str(path.relative_to(ROOT))
        for line, what in findings(path.read_text(encoding="utf-8")):
            found.setdefault((rel, what), []).append(line)
    unexpected = [
        f"{rel}:{lines[0]}: {what}"
        for (rel, what), lines in found.items()
        if (rel, what) not in ALLOWED
    ]
    assert not unexpected, "calls that can run code from what they load:\n" + "\n".join(unexpected)
    unexplained = [key for key, why in ALLOWED.items() if len(why) < 40]
    assert not unexplained, f"ALLOWED entries need a reason: {unexplained}"
    stale = [key for key in ALLOWED if key not in found]
    assert not stale, f"ALLOWED lists exceptions that no longer occur: {stale}"
