"""Comparing two versions: BPMN elements property by property, DMN tables row by row, bundles file by file."""

from __future__ import annotations

from tests.compare_samples import changed_field_report, field_report_files
from workflows.designer.compare import compare_bpmn, compare_dmn, compare_files, label_of

BPMN = field_report_files()["field_report.bpmn"]
DMN = field_report_files()["field_report_sla.dmn"]


def _one(changes, element_id):
    found = [c for c in changes if c.element_id == element_id]
    assert len(found) == 1, [(c.element_id, c.kind) for c in changes]
    return found[0]


def _props(change):
    return {p.key: (p.old, p.new) for p in change.changes}


def test_the_same_text_has_no_changes():
    assert compare_bpmn(BPMN, BPMN) == []
    assert compare_dmn(DMN, DMN) == []


def test_an_attribute_at_its_schema_default_left_out_is_no_change():
    # bpmn-js leaves out cancelActivity="true" when it saves: a file opened and saved unchanged differs in nothing.
    saved = BPMN.replace(' cancelActivity="true"', "")
    assert saved != BPMN
    assert compare_bpmn(BPMN, saved) == []
    # An interrupting timer made non-interrupting is a change.
    changed = BPMN.replace('id="overdue_timer" name="Quá hạn" attachedToRef="handle" cancelActivity="true"',
                           'id="overdue_timer" name="Quá hạn" attachedToRef="handle" cancelActivity="false"')
    assert _props(_one(compare_bpmn(BPMN, changed), "overdue_timer")) == {"attr:cancelActivity": ("true", "false")}


def test_an_added_element_is_listed_with_its_properties():
    new = BPMN.replace('<bpmn:serviceTask id="remind" ',
                       '<bpmn:scriptTask id="extra_step" name="Bước mới"><bpmn:script>x = 1</bpmn:script>'
                       '</bpmn:scriptTask>\n    <bpmn:serviceTask id="remind" ')
    change = _one(compare_bpmn(BPMN, new), "extra_step")
    assert change.kind == "added" and change.type == "scriptTask" and str(change.name) == "Bước mới"
    assert _props(change)["script"] == (None, "x = 1")


def test_a_removed_element_is_listed():
    start = BPMN.index('<bpmn:serviceTask id="remind" ')
    end = BPMN.index("</bpmn:serviceTask>", start) + len("</bpmn:serviceTask>")
    change = _one(compare_bpmn(BPMN, BPMN[:start] + BPMN[end:]), "remind")
    assert change.kind == "removed" and change.type == "serviceTask"
    assert _props(change)["operator"] == ("notify", None)


def test_a_changed_name_and_english_name():
    new = BPMN.replace('id="remind" name="Nhắc việc"', 'id="remind" name="Nhắc cán bộ"')
    change = _one(compare_bpmn(BPMN, new), "remind")
    assert change.kind == "changed" and not change.layout
    assert _props(change) == {"name": ("Nhắc việc", "Nhắc cán bộ")}
    assert change.name.in_language("vi") == "Nhắc cán bộ"


def test_an_element_moved_on_the_diagram_only():
    new = BPMN.replace('<bpmndi:BPMNShape id="triage_remind_di" bpmnElement="triage_remind">\n'
                       '        <dc:Bounds x="240" y="490"',
                       '<bpmndi:BPMNShape id="triage_remind_di" bpmnElement="triage_remind">\n'
                       '        <dc:Bounds x="260" y="500"')
    assert new != BPMN
    change = _one(compare_bpmn(BPMN, new), "triage_remind")
    assert change.kind == "moved" and change.layout and change.changes == ()


def test_a_changed_condition():
    new = BPMN.replace('decision == "reject"</bpmn:conditionExpression>',
                       'decision in ("reject", "spam")</bpmn:conditionExpression>')
    change = _one(compare_bpmn(BPMN, new), "flow_triage_reject")
    assert change.type == "sequenceFlow"
    assert _props(change) == {"condition": ('decision == "reject"', 'decision in ("reject", "spam")')}
    assert str(label_of("condition")) == "Condition"


def test_a_changed_timer():
    old, new = changed_field_report()["field_report.bpmn"], BPMN
    change = _one(compare_bpmn(new, old), "remind_timer")
    assert _props(change) == {"timer:timeDate": ('assignment["remind_at"]', 'assignment["due_at"]')}
    assert str(label_of("timer:timeDate")) == "Timer (date)"


def test_a_changed_operator_parameter_and_operator():
    new = BPMN.replace('<spiffworkflow:parameter id="kind" type="any" value="&quot;reminder&quot;"/>',
                       '<spiffworkflow:parameter id="kind" type="any" value="&quot;overdue&quot;"/>', 1)
    change = [c for c in compare_bpmn(BPMN, new)][0]
    assert _props(change) == {"parameter:kind": ('"reminder"', '"overdue"')}
    assert label_of("parameter:kind").params == {"name": "kind"}
    renamed = BPMN.replace('<bpmn:serviceTask id="remind" name="Nhắc việc">\n      <bpmn:extensionElements>\n'
                           '        <spiffworkflow:serviceTaskOperator id="notify">',
                           '<bpmn:serviceTask id="remind" name="Nhắc việc">\n      <bpmn:extensionElements>\n'
                           '        <spiffworkflow:serviceTaskOperator id="escalate">')
    assert _props(_one(compare_bpmn(BPMN, renamed), "remind"))["operator"] == ("notify", "escalate")


def test_a_task_moved_to_another_lane():
    lane_start = BPMN.index('<bpmn:flowNodeRef>triage_remind</bpmn:flowNodeRef>')
    without = BPMN[:lane_start] + BPMN[lane_start + len('<bpmn:flowNodeRef>triage_remind</bpmn:flowNodeRef>'):]
    last_lane_end = without.rindex("</bpmn:lane>")
    moved = without[:last_lane_end] + "<bpmn:flowNodeRef>triage_remind</bpmn:flowNodeRef>" + without[last_lane_end:]
    old_lane, new_lane = _props(_one(compare_bpmn(BPMN, moved), "triage_remind"))["lane"]
    assert old_lane and new_lane and old_lane != new_lane


def test_a_changed_english_name_property():
    new = BPMN.replace('<spiffworkflow:property name="name_en" value="Triage the report"/>',
                       '<spiffworkflow:property name="name_en" value="Check the report"/>')
    change = _one(compare_bpmn(BPMN, new), "triage")
    assert _props(change) == {"property:name_en": ("Triage the report", "Check the report")}
    assert change.name.in_language("en") == "Check the report"


def test_a_changed_dmn_cell_is_shown_old_to_new_in_its_row():
    decision, = compare_dmn(DMN, changed_field_report()["field_report_sla.dmn"])
    assert decision.decision_id == "field_report_sla" and decision.kind == "changed"
    rule, = decision.rules
    assert (rule.kind, rule.rule_id, rule.position_a, rule.position_b) == ("changed", "field_report_sla_rule_2", 2, 2)
    cell, = rule.cells
    assert (cell.column, cell.side, cell.old, cell.new) == ("Thời hạn xử lý (giờ)", "output", "72", "48")


def test_an_added_and_a_removed_rule():
    start = DMN.index('<rule id="field_report_sla_rule_3">')
    end = DMN.index("</rule>", start) + len("</rule>")
    added_rule = DMN[start:end].replace("field_report_sla_rule_3", "urgent_rule").replace('"low"', '"urgent"')
    new = DMN[:start] + added_rule + DMN[end:]
    rules = {r.rule_id: r for r in compare_dmn(DMN, new)[0].rules}
    assert rules["field_report_sla_rule_3"].kind == "removed" and rules["field_report_sla_rule_3"].position_a == 3
    assert rules["urgent_rule"].kind == "added" and rules["urgent_rule"].position_b == 3
    assert [(c.column, c.value) for c in rules["urgent_rule"].row][:2] == [("Mức độ ưu tiên", '"urgent"'),
                                                                         ("Thời hạn xử lý (giờ)", "120")]


def test_rules_without_ids_are_matched_by_position():
    strip = DMN.replace('<rule id="field_report_sla_rule_1">', "<rule>").replace(
        '<rule id="field_report_sla_rule_2">', "<rule>")
    new = strip.replace("<text>24</text>", "<text>20</text>", 1)
    rule, = compare_dmn(strip, new)[0].rules
    assert rule.kind == "changed" and rule.position_a == rule.position_b == 1
    assert [(c.old, c.new) for c in rule.cells] == [("24", "20")]


def test_a_changed_column_and_hit_policy():
    new = DMN.replace('label="Nhắc trước hạn (giờ)"', 'label="Nhắc trước (giờ)"').replace(
        'hitPolicy="UNIQUE"', 'hitPolicy="FIRST"')
    decision, = compare_dmn(DMN, new)
    assert {p.key: (p.old, p.new) for p in decision.properties} == {"hitPolicy": ("UNIQUE", "FIRST")}
    column, = decision.columns
    assert (column.kind, column.side, column.column_id) == ("changed", "output", "output_reminder_hours")
    assert [(p.key, p.old, p.new) for p in column.changes] == [("label", "Nhắc trước hạn (giờ)", "Nhắc trước (giờ)")]


def test_bundles_are_compared_file_by_file():
    old = field_report_files()
    new = changed_field_report()
    del new["field_report_review.dmn"]
    new["extra.dmn"] = old["field_report_sla.dmn"]
    diff = compare_files(old, new)
    status = {f.name: f.status for f in diff.files}
    assert status == {"extra.dmn": "added", "field_report.bpmn": "changed", "field_report_review.dmn": "removed",
                      "field_report_routing.dmn": "unchanged", "field_report_sla.dmn": "changed"}
    assert diff.file("field_report.bpmn").counts()["changed"] == 1
    assert diff.changed


def test_a_file_that_is_not_xml_is_said_so_not_raised():
    diff = compare_files({"a.bpmn": BPMN}, {"a.bpmn": "<bpmn:definitions"})
    assert diff.files[0].error is not None and "modeler" in diff.files[0].error
