"""Evaluating one DMN decision table on given inputs, outside any process: nothing is run or written.

The designer's replay (workflows/designer/replay.py) asks what a routing or deadline table would have
decided for past cases. Cells are evaluated as in a running process: Python in the sandbox, by the
same script engine (engine.spiff), so the answer is the one a business rule task would give.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from engine import spiff
from engine.errors import DeploymentError, ExpressionError, NotFoundError, OperatorError
from engine.expressions import RestrictedEnvironment, RestrictedEvaluator
from engine.i18n import t


def _no_service(*_args: Any) -> Any:
    raise OperatorError(t("a decision table calls no operator"))


class Decision:
    """A decision of a set of DMN files, parsed once and evaluated on many inputs."""

    def __init__(self, files: Mapping[str, str], decision_id: str, evaluator: RestrictedEvaluator):
        dmn = {name: text for name, text in files.items() if name.lower().endswith(".dmn")}
        parser, problems = spiff.parse_files(dmn)
        if problems:
            raise DeploymentError(problems)
        if decision_id not in parser.dmn_parsers:
            raise NotFoundError(t("no decision %(decision)s in the files", decision=repr(decision_id)))
        self.decision_id = decision_id
        self._engine = parser.get_engine(decision_id, None)
        self._script_engine = spiff.make_script_engine(RestrictedEnvironment(evaluator), _no_service)

    @property
    def outputs(self) -> list[str]:
        """The names of the table's outputs."""
        return [o.name or o.label for o in self._engine.decision_table.outputs]

    def evaluate(self, data: dict[str, Any]) -> dict[str, Any]:
        """The outputs of the first matching rule for `data` ({} when no rule matches)."""
        task = SimpleNamespace(data=dict(data), workflow=SimpleNamespace(script_engine=self._script_engine),
                               task_spec=SimpleNamespace(name=self.decision_id, bpmn_id=self.decision_id,
                                                         bpmn_name=self.decision_id, description=""),
                               id=None)
        try:
            return dict(self._engine.result(task))
        except Exception as exc:  # noqa: BLE001 - the library wraps every cell's failure in its own exceptions
            raise ExpressionError(t("decision %(decision)s cannot be evaluated on these data; check that they hold"
                                    " every input the table reads", decision=self.decision_id)) from exc


def decision_ids(files: Mapping[str, str]) -> list[str]:
    """The ids of the decisions the DMN files declare."""
    dmn = {name: text for name, text in files.items() if name.lower().endswith(".dmn")}
    parser, problems = spiff.parse_files(dmn)
    return [] if problems else sorted(parser.dmn_parsers)
