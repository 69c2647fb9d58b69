"""The registry of service-task operators that BPMN service tasks may call.

A designer composes behaviour from this palette: each operator declares its
parameters, so a deployment can be checked before it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.errors import OperatorError
from engine.forms import ChoiceSource
from engine.i18n import t

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Param:
    """A declared parameter of an operator."""

    name: str
    required: bool = True
    description: str = ""


@dataclass
class OperatorContext:
    """What an operator may use: the session of the step, the instance and a way out.

    Everything an operator writes goes into `session` and commits (or not) with the
    step that called it.
    """

    session: Session
    instance_id: int | None  # None in the first step of a new instance (written when the step is saved)
    business_key: str | None
    element_id: str
    task_id: str
    data: dict[str, Any]
    now: datetime
    emit: Callable[..., None]
    audit: Callable[..., None]
    # Who completed the human task whose step this is (None for timers, messages, intake).
    actor: str | None = None


@dataclass(frozen=True)
class Operator:
    """A named callable with its declared parameters."""

    name: str
    func: Callable[..., Any]
    params: tuple[Param, ...] = ()
    description: str = ""

    @property
    def required(self) -> set[str]:
        """Names of the parameters the BPMN must give."""
        return {p.name for p in self.params if p.required}

    @property
    def accepted(self) -> set[str]:
        """Names of every declared parameter."""
        return {p.name for p in self.params}


@dataclass
class OperatorRegistry:
    """Name → operator; the engine looks operators up here when a service task runs."""

    operators: dict[str, Operator] = field(default_factory=dict)
    # The live lists `choice@NAME` form fields offer (units, categories…): the application's, like operators.
    lists: dict[str, ChoiceSource] = field(default_factory=dict)

    def register_list(self, name: str, source: ChoiceSource) -> None:
        """Offer `source` to forms as `choice@name`."""
        if name in self.lists:
            raise ValueError(f"list {name!r} is registered twice")
        self.lists[name] = source

    def register(self, name: str, *params: Param, description: str = "") -> Callable:
        """Decorator: register `func(ctx, **params)` as operator `name`."""

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            if name in self.operators:
                raise ValueError(f"operator {name!r} is registered twice")
            self.operators[name] = Operator(name, func, tuple(params), description)
            return func

        return decorate

    def get(self, name: str) -> Operator:
        """The operator called `name`, or OperatorError naming the known ones."""
        try:
            return self.operators[name]
        except KeyError:
            known = ", ".join(sorted(self.operators)) or t("none")
            raise OperatorError(t("unknown operator %(name)s (known: %(known)s); use one of these",
                                  name=repr(name), known=known)) from None

    def check_params(self, name: str, given: set[str]) -> list[str]:
        """Problems with the parameter names a service task gives to operator `name`."""
        op = self.get(name)
        problems = []
        missing = op.required - given
        if missing:
            problems.append(t("operator %(name)s needs parameter(s) %(missing)s; add them to the service task",
                              name=repr(name), missing=", ".join(sorted(missing))))
        unknown = given - op.accepted
        if unknown:
            problems.append(t("operator %(name)s has no parameter(s) %(unknown)s (it takes: %(accepted)s); remove them",
                              name=repr(name), unknown=", ".join(sorted(unknown)),
                              accepted=", ".join(sorted(op.accepted)) or t("none")))
        return problems

    def call(self, name: str, ctx: OperatorContext, params: dict[str, Any]) -> Any:
        """Run operator `name` with evaluated parameters; its result goes to task data."""
        op = self.get(name)
        missing = op.required - set(params)
        if missing:
            raise OperatorError(t("operator %(name)s called without %(missing)s; give them in the service task",
                                  name=repr(name), missing=", ".join(sorted(missing))))
        return op.func(ctx, **params)
