"""Errors raised by the BPMN engine; each one says what to fix."""

from __future__ import annotations

from dataclasses import dataclass


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One reason a deployment was refused, tied to the element that causes it."""

    file: str
    element_id: str | None
    message: str
    # A stable key of the kind of problem ("lane.missing", "operator.unknown"…) so a page can group
    # them; None for kinds without one.
    code: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}"
        if self.element_id:
            where += f" [{self.element_id}]"
        return f"{where}: {self.message}"


class DeploymentError(EngineError):
    """A set of BPMN/DMN files was refused; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


class NotFoundError(EngineError):
    """A definition, instance or task does not exist."""


class ConflictError(EngineError):
    """Someone else changed the instance first (or the task is no longer open)."""


class TaskNotReadyError(ConflictError):
    """The task is not open for completion any more (done, cancelled or escalated)."""


class ExpressionError(EngineError):
    """An expression or script in a BPMN/DMN was refused or failed."""


class UnsafeExpressionError(ExpressionError):
    """An expression tried something the sandbox forbids (imports, dunders, files...)."""


class ExpressionTimeoutError(ExpressionError):
    """An expression or script ran longer than its time bound."""


class OperatorError(EngineError):
    """A service-task operator is unknown, got bad parameters, or failed."""


class FormError(EngineError):
    """Completion data does not fit the task's form; `fields` maps field → what to fix."""

    def __init__(self, fields: dict[str, str]):
        self.fields = fields
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
