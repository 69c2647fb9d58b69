"""A second version of field_report for comparisons: the normal priority's SLA row and the reminder timer changed."""

from __future__ import annotations

from tests.conftest import BPMN_DIR

OLD_SLA = ('<outputEntry id="field_report_sla_rule_2_out_1">\n          <text>72</text>')
NEW_SLA = ('<outputEntry id="field_report_sla_rule_2_out_1">\n          <text>48</text>')
OLD_TIMER = '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">assignment["remind_at"]</bpmn:timeDate>'
NEW_TIMER = '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">assignment["due_at"]</bpmn:timeDate>'


def field_report_files() -> dict[str, str]:
    """The shipped field_report bundle: {file name: text}."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(BPMN_DIR.glob("field_report*"))}


def changed_field_report() -> dict[str, str]:
    """field_report with normal reports due in 48 hours (was 72) and the reminder timer at the deadline."""
    files = field_report_files()
    assert OLD_SLA in files["field_report_sla.dmn"] and OLD_TIMER in files["field_report.bpmn"]
    files["field_report_sla.dmn"] = files["field_report_sla.dmn"].replace(OLD_SLA, NEW_SLA)
    files["field_report.bpmn"] = files["field_report.bpmn"].replace(OLD_TIMER, NEW_TIMER)
    return files
