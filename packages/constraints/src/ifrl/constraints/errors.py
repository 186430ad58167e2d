"""Errors of ifrl.constraints."""

from __future__ import annotations

from ifrl.core.errors import IfrlError


class ConstraintSpecError(IfrlError, ValueError):
    """Kwargs that do not fit a constraint type's schema; names the constraint id and field."""

    def __init__(self, constraint_id: str, field: str, problem: str) -> None:
        self.constraint_id = constraint_id
        self.field = field
        self.problem = problem
        where = f"{constraint_id}.{field}" if field else constraint_id
        super().__init__(f"{where}: {problem}")
