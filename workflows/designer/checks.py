"""What the designer's files need before they deploy: the deploy check and the import to-do list together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from engine import imports
from engine.definitions import DefinitionService
from engine.errors import Problem


@dataclass(frozen=True)
class CheckOutcome:
    """Every problem of a set of files (refusals first, then advice) and whether it would deploy."""

    problems: list[Problem]

    @property
    def ok(self) -> bool:
        """True when nothing stops a deploy (advice may remain)."""
        return not imports.blocking(self.problems)

    def is_advice(self, problem: Problem) -> bool:
        """Whether `problem` is a left-over the engine ignores rather than a refusal."""
        return problem.code in imports.ADVICE


class CheckService:
    """Checks files as `ioc deploy` would, bundle by bundle, and adds the import to-do list."""

    def __init__(self, definitions: DefinitionService):
        self.definitions = definitions

    def check(self, files: Mapping[str, str]) -> CheckOutcome:
        """The problems of `files`: every bundle's deploy check, then the to-do items they do not already say.

        A file that does not even parse as a deployable process (not executable, a Camunda service
        task…) still gets its whole to-do list: the list is read from the XML alone.
        """
        plan = self.definitions.plan(files)
        found: list[Problem] = list(plan.problems)
        for bundle in plan.bundles:
            _compiled, problems = self.definitions.check(bundle.files, bundle.root)
            found.extend(p for p in problems if p not in found)  # a shared file's problem once
        todo = imports.analyse(files, self.definitions.roles, self.definitions.evaluator)
        merged = imports.merge(imports.blocking(todo), found)
        merged = imports.merge(merged, [p for p in todo if p.code in imports.ADVICE])
        return CheckOutcome(merged)
