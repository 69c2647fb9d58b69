"""A DMN table evaluated outside any process, as the designer's replay does: the process's own answers, in the sandbox."""

from __future__ import annotations

import pytest

from engine.decisions import Decision, decision_ids
from engine.errors import ExpressionError, NotFoundError
from engine.expressions import RestrictedEvaluator
from tests.conftest import BPMN_DIR

FILES = {p.name: p.read_text(encoding="utf-8") for p in BPMN_DIR.glob("field_report*.dmn")}
EVALUATOR = RestrictedEvaluator()


def test_the_routing_and_deadline_tables_answer_as_in_the_process():
    assert {"field_report_routing", "field_report_sla"} <= set(decision_ids(FILES))
    routing = Decision(FILES, "field_report_routing", EVALUATOR)
    data = {"override_unit": "", "admin_unit": "P-TAN-LAP", "admin_unit_kind": "ward"}
    assert routing.outputs == ["responsible_unit"]
    assert routing.evaluate({**data, "category": "health"}) == {"responsible_unit": "SYT"}
    assert routing.evaluate({**data, "category": "traffic"}) == {"responsible_unit": "P-TAN-LAP"}
    assert routing.evaluate({**data, "category": "street_lighting", "admin_unit_kind": "commune"}) == {
        "responsible_unit": "SXD"}
    sla = Decision(FILES, "field_report_sla", EVALUATOR)
    assert sla.evaluate({"priority": "high"})["sla_hours"] == 24
    assert sla.evaluate({"priority": "whatever"})["sla_hours"] == 72  # the last row catches the rest


def test_missing_inputs_and_unknown_decisions_are_told_plainly():
    with pytest.raises(ExpressionError, match="check that they hold every input the table reads") as err:
        Decision(FILES, "field_report_routing", EVALUATOR).evaluate({"category": "traffic"})
    assert "SimpleNamespace" not in str(err.value) and "0x" not in str(err.value)
    with pytest.raises(NotFoundError, match="no decision 'nowhere'"):
        Decision(FILES, "nowhere", EVALUATOR)


def test_a_cell_the_sandbox_refuses_fails_the_evaluation():
    sla = FILES["field_report_sla.dmn"].replace("<text>24</text>", "<text>().__class__</text>", 1)
    with pytest.raises(ExpressionError):
        Decision({"field_report_sla.dmn": sla}, "field_report_sla", EVALUATOR).evaluate({"priority": "high"})
