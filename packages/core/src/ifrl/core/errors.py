"""Exceptions shared by every ifrl package.

Every error raised for bad input names *where* the problem is: the field (a dotted path such as
``messages[2].role``) and, at file boundaries, the path and the 1-based line number.
"""

from __future__ import annotations


def field_path(where: str, name: str) -> str:
    """The dotted path of field ``name`` inside ``where`` (``name`` alone at the top)."""
    return f"{where}.{name}" if where else name


class IfrlError(Exception):
    """Base class of all ifrl errors."""


class RecordError(IfrlError, ValueError):
    """A value does not fit a record's schema.

    ``field`` is a dotted path into the value (``""`` for the value as a whole) and ``problem``
    a short sentence saying what is wrong.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field or '<record>'}: {problem}")

    def nested(self, prefix: str) -> RecordError:
        """The same error with ``prefix`` put in front of its field path."""
        if not self.field:
            return RecordError(prefix, self.problem)
        sep = "" if self.field.startswith("[") else "."
        return RecordError(f"{prefix}{sep}{self.field}", self.problem)


class JSONLError(IfrlError, ValueError):
    """A line of a JSONL file is not valid JSON or does not fit the expected record.

    ``str(err)`` reads ``path:line: field: problem``.
    """

    def __init__(self, path: str, line: int, field: str, problem: str) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.problem = problem
        super().__init__(f"{path}:{line}: {field or '<line>'}: {problem}")


class MissingExtraError(IfrlError, ImportError):
    """An optional dependency is missing; the message names the extra that installs it."""

    def __init__(self, module: str, distribution: str, extra: str) -> None:
        self.module = module
        self.distribution = distribution
        self.extra = extra
        super().__init__(
            f"{module!r} is not installed; install it with: pip install '{distribution}[{extra}]'"
        )


def require(module: str, distribution: str, extra: str) -> None:
    """Raise :class:`MissingExtraError` unless ``module`` can be imported."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingExtraError(module, distribution, extra)
