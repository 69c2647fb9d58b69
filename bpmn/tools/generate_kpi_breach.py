"""Generate bpmn/kpi_breach.bpmn and bpmn/kpi_rules.dmn: an indicator that breaks its rules, and the rule table.

The process (a case opened by the monitoring evaluation, channel "kpi"): the rule table in force is read
into the case, the breach recorded, the responsible unit assigned with a deadline that shortens with the
severity, the leaders told (more levels up for high and critical), and the unit's officer explains and
submits a remedial plan. Then the case waits for the next period: the evaluation sends message
`kpi_next_period` with its verdict (recovered | still_breaching | missing). Recovered closes the case;
still breaching escalates it (level 1, then 2) and asks for a new plan; missing, or no next period by
`kpi_wait_until`, extends the wait and tells the unit's head.

The rule table (decision `kpi_rules`, hit policy COLLECT) is evaluated once per indicator by
workflows/monitoring/rules.py: every matching row is a rule with its threshold and severity; several rows of
one rule with growing thresholds give growing severities (the most severe that breaches wins).

Drawn with the machinery of generate_field_report.py (layout checks, BPMNDI, spiffworkflow: extensions).

Run:  .venv/bin/python bpmn/tools/generate_kpi_breach.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import english_names  # noqa: E402
import generate_field_report as fr  # noqa: E402
from generate_field_report import B, L, R, T, field, flow, node, q, service, straight  # noqa: E402

KPI_BREACH = {
    "id": "kpi_breach", "name": "Xử lý chỉ tiêu vi phạm quy tắc giám sát", "exporter": "generate_kpi_breach.py",
    "documentation": "Một chỉ tiêu của đơn vị vi phạm quy tắc giám sát (bảng kpi_rules.dmn): đơn vị chịu trách "
                     "nhiệm giải trình và gửi kế hoạch khắc phục trong thời hạn, lãnh đạo được báo theo mức độ; "
                     "hồ sơ chờ số liệu kỳ sau: đạt lại thì đóng, vẫn vi phạm thì chuyển cấp và lập kế hoạch mới, "
                     "không có số liệu thì gia hạn chờ và báo thủ trưởng đơn vị.",
}

# English names of this process's elements (english_names.py holds the other processes').
english_names.NAME_EN.update({
    "Xử lý chỉ tiêu vi phạm quy tắc giám sát": "Handle an indicator that breaks its monitoring rules",
    "Chỉ tiêu vi phạm quy tắc": "Indicator breaks a rule",
    "Đọc bảng quy tắc chỉ tiêu": "Read the indicator's rule table",
    "Ghi nhận vi phạm": "Record the breach",
    "Giao đơn vị giải trình": "Assign the unit to explain",
    "Báo cáo lãnh đạo theo mức độ": "Alert the leaders by severity",
    "Giải trình và kế hoạch khắc phục": "Explain and submit a remedial plan",
    "Ghi nhận kế hoạch khắc phục": "Record the remedial plan",
    "Chờ số liệu kỳ sau": "Wait for the next period",
    "Số liệu kỳ sau": "Next period's value",
    "Quá thời gian chờ": "Waited too long",
    "Ghi nhận kết quả kỳ sau": "Record the next period's verdict",
    "Kết quả kỳ sau?": "Next period's verdict?",
    "Đã đạt lại": "Recovered",
    "Vẫn vi phạm": "Still breaching",
    "Chưa có số liệu": "No value yet",
    "Đóng (đã đạt lại)": "Close (recovered)",
    "Chuyển cấp (vẫn vi phạm)": "Escalate (still breaching)",
    "Báo cáo lãnh đạo (chuyển cấp)": "Alert the leaders (escalated)",
    "Gia hạn chờ số liệu": "Extend the wait",
    "Báo thủ trưởng (chưa có số liệu)": "Alert the head (no value yet)",
    "Nhắc gửi kế hoạch": "Plan reminder",
    "Báo thủ trưởng (quá hạn kế hoạch)": "Alert the head (plan overdue)",
    "Đã báo thủ trưởng": "Head alerted",
})

# The plan is due this many working hours after the assignment, by severity (a designer changes it here or in the
# modeler: the "sla_hours" parameter of "Giao đơn vị giải trình"); escalation gives the same time for a new plan.
PLAN_HOURS = '{"critical": 24, "high": 40, "medium": 80}.get(kpi_severity, 120)'
# The leaders of the place are told; high and critical severities tell one and two levels above as well.
UP_LEVELS = '{"critical": 2, "high": 1}.get(kpi_severity, 0)'
# Extra wait (working hours, about a working month) when the next period's value does not come.
WAIT_EXTENSION_HOURS = "160"

PLAN_FIELDS = {
    "field.explanation": field("textarea!", "Giải trình nguyên nhân", "Explanation of the cause"),
    "field.plan": field("textarea!", "Kế hoạch khắc phục", "Remedial plan"),
    "field.plan_due": field("date!", "Thời hạn hoàn thành kế hoạch", "Plan to be completed by"),
}

fr.start_drawing([
    ("lane_system", "Hệ thống", 520),
    ("lane_officer", "Cán bộ xử lý", 250),
], pool_right=2250)

Y_LOOP = 90     # the escalation's way back to a new plan (top of the system lane)
Y_S1 = 150      # system lane rows
Y_S2 = 260
Y_BACK = 315    # the way back to the wait (between the rows)
Y_S3 = 380
Y_S4 = 490
Y_O = 690       # officer lane: the plan
Y_O2 = 790      # officer lane: its reminder

# System lane: reading the rules, the breach, the assignment, the leaders
node("start", "startEvent", "Chỉ tiêu vi phạm quy tắc", "lane_system", 210, Y_S2)
node("read_rules", "businessRuleTask", "Đọc bảng quy tắc chỉ tiêu", "lane_system", 330, Y_S2, decision="kpi_rules")
service("record_breach_task", "Ghi nhận vi phạm", "lane_system", 480, Y_S2, "kpi_record_breach",
        {"previous_case": "kpi_previous_case"}, result="breach_record", postscript="kpi_round = 1")
service("assign_task", "Giao đơn vị giải trình", "lane_system", 630, Y_S2, "assign",
        {"unit": "kpi_responsible_unit", "sla_hours": PLAN_HOURS, "reminder_hours": "8"},
        result="assignment", postscript='plan_due_at = assignment["due_at"]\nplan_remind_at = assignment["remind_at"]')
service("notify_task", "Báo cáo lãnh đạo theo mức độ", "lane_system", 780, Y_S2, "notify_leaders",
        {"reason": q("kpi_breach"), "up_levels": UP_LEVELS})
node("plan_merge", "exclusiveGateway", None, "lane_system", 900, Y_S2)

# Officer lane: the explanation and plan, its reminder and overdue alert (the task stays open)
node("remedial_plan", "userTask", "Giải trình và kế hoạch khắc phục", "lane_officer", 1000, Y_O, props={
    "candidateUnit": 'assignment["unit"]',
    "dueAt": "plan_due_at",
    **PLAN_FIELDS,
}, instructions="Đọc số liệu, mức vi phạm và quy tắc (ở trên), giải trình nguyên nhân và gửi kế hoạch khắc phục với "
                "thời hạn hoàn thành. Hồ sơ sẽ đóng khi số liệu kỳ sau đạt lại; nếu vẫn vi phạm, hồ sơ được chuyển "
                "cấp và cần kế hoạch mới. — Read the value, how far it breaks the rule and the rule (above), explain "
                "the cause and submit a remedial plan with its completion date. The case closes when the next "
                "period's value is back within the rule; if it still breaks it, the case is escalated and a new "
                "plan is asked for.")
node("plan_remind_timer", "boundaryEvent", "Nhắc hạn", "lane_officer", 975, Y_O + 40,
     attached="remedial_plan", cancel=False, timer="plan_remind_at", label="left")
node("plan_overdue_timer", "boundaryEvent", "Quá hạn", "lane_officer", 1025, Y_O + 40,
     attached="remedial_plan", cancel=False, timer="plan_due_at", label="right")
service("plan_remind", "Nhắc gửi kế hoạch", "lane_officer", 1160, Y_O2, "notify",
        {"role": q("officer"), "unit": 'assignment["unit"]', "kind": q("reminder")})
service("plan_overdue", "Báo thủ trưởng (quá hạn kế hoạch)", "lane_officer", 1290, Y_O2, "notify",
        {"role": q("unit_head"), "unit": 'assignment["unit"]', "kind": q("overdue")})
node("end_plan_overdue", "endEvent", "Đã báo thủ trưởng", "lane_officer", 1420, Y_O2)
service("record_plan_task", "Ghi nhận kế hoạch khắc phục", "lane_officer", 1160, Y_O, "kpi_record_plan",
        {"explanation": "explanation", "plan": "plan", "plan_due": "plan_due"}, result="plan_record")

# System lane: the wait for the next period
node("wait_merge", "exclusiveGateway", None, "lane_system", 1300, Y_S2)
node("await_next", "eventBasedGateway", "Chờ số liệu kỳ sau", "lane_system", 1400, Y_S2, label="above")
node("next_period", "intermediateCatchEvent", "Số liệu kỳ sau", "lane_system", 1510, Y_S2,
     message="kpi_next_period_message", variable="kpi_next")
node("wait_timeout", "intermediateCatchEvent", "Quá thời gian chờ", "lane_system", 1400, Y_S3,
     timer="kpi_wait_until", label="left")
service("record_followup_task", "Ghi nhận kết quả kỳ sau", "lane_system", 1640, Y_S2, "kpi_record_followup",
        {"verdict": 'kpi_next.get("verdict", "")', "period": 'kpi_next.get("period", "")',
         "severity": 'kpi_next.get("severity", "")'},
        result="followup", postscript='kpi_wait_until = kpi_next.get("wait_until") or kpi_wait_until')
node("verdict_gateway", "exclusiveGateway", "Kết quả kỳ sau?", "lane_system", 1790, Y_S2, label="above")
service("close_task", "Đóng (đã đạt lại)", "lane_system", 1930, Y_S1, "close", {"reason": q("recovered")})
node("end_recovered", "endEvent", "Đã đạt lại", "lane_system", 2040, Y_S1)
service("escalate_task", "Chuyển cấp (vẫn vi phạm)", "lane_system", 1960, Y_S2, "escalate",
        {"level": "1 if kpi_round <= 1 else 2", "hours": PLAN_HOURS}, result="escalation",
        postscript='plan_due_at = escalation["due_at"]\nplan_remind_at = escalation["due_at"]\nkpi_round = kpi_round + 1')
service("notify_escalation", "Báo cáo lãnh đạo (chuyển cấp)", "lane_system", 2110, Y_S2, "notify_leaders",
        {"reason": '"escalation_1" if escalation["level"] == 1 else "escalation_2"', "up_levels": "1"})
node("late_merge", "exclusiveGateway", None, "lane_system", 1530, Y_S4)
service("wait_deadline_task", "Gia hạn chờ số liệu", "lane_system", 1530, Y_S3, "deadline",
        {"hours": WAIT_EXTENSION_HOURS}, result="wait_extension", postscript='kpi_wait_until = wait_extension["due_at"]')
service("wait_notify", "Báo thủ trưởng (chưa có số liệu)", "lane_system", 1660, Y_S3, "notify",
        {"role": q("unit_head"), "unit": 'assignment["unit"]', "kind": q("overdue")})

# ----------------------------------------------------------------------------- flows
straight("flow_start_rules", "start", "read_rules")
straight("flow_rules_record", "read_rules", "record_breach_task")
straight("flow_record_assign", "record_breach_task", "assign_task")
straight("flow_assign_notify", "assign_task", "notify_task")
straight("flow_notify_merge", "notify_task", "plan_merge")
flow("flow_merge_plan", "plan_merge", "remedial_plan", [B("plan_merge"), (900, Y_O), L("remedial_plan")])
straight("flow_plan_record", "remedial_plan", "record_plan_task")
flow("flow_plan_wait", "record_plan_task", "wait_merge", [R("record_plan_task"), (1300, Y_O), B("wait_merge")])
flow("flow_plan_remind", "plan_remind_timer", "plan_remind", [B("plan_remind_timer"), (975, Y_O2), L("plan_remind")])
flow("flow_plan_remind_end", "plan_remind", "plan_overdue", [R("plan_remind"), L("plan_overdue")])
straight("flow_plan_overdue_end", "plan_overdue", "end_plan_overdue")
straight("flow_wait_await", "wait_merge", "await_next")
straight("flow_await_message", "await_next", "next_period")
flow("flow_await_timeout", "await_next", "wait_timeout", [B("await_next"), T("wait_timeout")])
straight("flow_message_record", "next_period", "record_followup_task")
straight("flow_record_verdict", "record_followup_task", "verdict_gateway")
flow("flow_verdict_recovered", "verdict_gateway", "close_task", [T("verdict_gateway"), (1790, Y_S1), L("close_task")],
     name="Đã đạt lại", cond='followup["verdict"] == "recovered"', label_at=(1812, Y_S1 - 22))
straight("flow_close_end", "close_task", "end_recovered")
straight("flow_verdict_breaching", "verdict_gateway", "escalate_task", name="Vẫn vi phạm",
         cond='followup["verdict"] == "still_breaching"', label_at=(1818, Y_S2 + 8))
straight("flow_escalate_notify", "escalate_task", "notify_escalation")
flow("flow_escalation_plan", "notify_escalation", "plan_merge",
     [T("notify_escalation"), (2110, Y_LOOP), (900, Y_LOOP), T("plan_merge")])
flow("flow_verdict_missing", "verdict_gateway", "late_merge", [B("verdict_gateway"), (1790, Y_S4), R("late_merge")],
     name="Chưa có số liệu", cond='followup["verdict"] == "missing"', label_at=(1798, Y_S4 - 40))
flow("flow_timeout_late", "wait_timeout", "late_merge", [B("wait_timeout"), (1400, Y_S4), L("late_merge")])
straight_up = flow  # the extension is drawn above the merge
straight_up("flow_late_extend", "late_merge", "wait_deadline_task", [T("late_merge"), B("wait_deadline_task")])
straight("flow_extend_notify", "wait_deadline_task", "wait_notify")
flow("flow_notify_wait", "wait_notify", "wait_merge",
     [T("wait_notify"), (1660, Y_BACK), (1300, Y_BACK), B("wait_merge")])

# ----------------------------------------------------------------------------- the rule table

RULE_INPUTS = [
    ("input_indicator", "Mã chỉ tiêu", "kpi_indicator"),
    ("input_field", "Lĩnh vực giám sát", "kpi_field"),
    ("input_period_kind", "Kỳ báo cáo", "kpi_period_kind"),
    ("input_direction", "Chiều tốt", "kpi_direction"),
]
RULE_OUTPUTS = [
    ("output_rule", "Quy tắc", "rule", "string"),
    ("output_threshold", "Ngưỡng", "threshold", "number"),
    ("output_threshold_unit", "Đơn vị ngưỡng (percent | points)", "threshold_unit", "string"),
    ("output_lower", "Cận dưới", "lower", "number"),
    ("output_upper", "Cận trên", "upper", "number"),
    ("output_periods", "Số kỳ", "periods", "number"),
    ("output_z_limit", "Giới hạn z", "z_limit", "number"),
    ("output_method", "Phương pháp (z | modified_z)", "method", "string"),
    ("output_open_after", "Mở hồ sơ sau số kỳ vi phạm liên tiếp", "open_after", "number"),
    ("output_recovery", "Ngưỡng phục hồi (đóng hồ sơ)", "recovery", "number"),
    ("output_severity", "Mức độ", "severity", "string"),
]
ANY = ["-", "-", "-", "-"]


def _row(desc, rule, threshold="None", unit='"percent"', lower="None", upper="None", periods="None",
         z_limit="None", method="None", open_after="1", recovery="None", severity='"medium"', inputs=ANY):
    return (desc, list(inputs), [q(rule), threshold, unit, lower, upper, periods, z_limit, method, open_after,
                                 recovery, severity])


def rules_dmn():
    rows = [
        _row("Thấp hơn chỉ tiêu kế hoạch của kỳ quá 5% (theo chiều tốt của chỉ tiêu): mức thấp; chỉ mở hồ sơ sau 2 "
             "kỳ liên tiếp; đóng khi còn cách chỉ tiêu không quá 2%", "target", threshold="5", open_after="2",
             recovery="2", severity='"low"'),
        _row("Cách chỉ tiêu kế hoạch quá 15%: mức trung bình", "target", threshold="15", recovery="2",
             severity='"medium"'),
        _row("Cách chỉ tiêu kế hoạch quá 30%: mức cao", "target", threshold="30", recovery="2", severity='"high"'),
        _row("Cách chỉ tiêu kế hoạch quá 50%: nghiêm trọng", "target", threshold="50", recovery="2",
             severity='"critical"'),
        _row("Chậm so với tiến độ (phần của kế hoạch năm phải đạt đến kỳ này, chỉ tiêu lũy kế hoặc chỉ tiêu giao "
             "theo tỷ lệ) quá 10%: mức trung bình; đóng khi chậm không quá 5%", "pro_rata", threshold="10",
             recovery="5", severity='"medium"'),
        _row("Chậm so với tiến độ kế hoạch năm quá 25%: mức cao", "pro_rata", threshold="25", recovery="5",
             severity='"high"'),
        _row("Xấu đi 3 kỳ liên tiếp: mức thấp; chỉ mở hồ sơ khi kỳ sau vẫn xấu đi", "falling", periods="3",
             open_after="2", severity='"low"'),
        _row("Xấu đi 5 kỳ liên tiếp: mức trung bình", "falling", periods="5", severity='"medium"'),
        _row("Môi trường (chỉ số càng thấp càng tốt, ví dụ AQI): vượt 150 là mức cao; đóng khi xuống dưới 140",
             "range", unit='"points"', lower="None", upper="150", recovery="10", severity='"high"',
             inputs=["-", '"environment"', "-", '"lower"']),
        _row("Môi trường: vượt 200 là nghiêm trọng", "range", unit='"points"', lower="None", upper="200",
             recovery="10", severity='"critical"', inputs=["-", '"environment"', "-", '"lower"']),
        _row("Bất thường so với lịch sử của chính đơn vị (12 kỳ gần nhất; chỉ tiêu theo mùa: cùng kỳ các năm "
             "trước), z cải tiến theo trung vị và MAD vượt 5: mức trung bình", "outlier", periods="12",
             z_limit="5", method='"modified_z"', severity='"medium"'),
        _row("Bất thường, z cải tiến vượt 8: mức cao", "outlier", periods="12", z_limit="8", method='"modified_z"',
             severity='"high"'),
        _row("Chưa báo cáo khi đã quá hạn (số ngày báo cáo của chỉ tiêu): mức trung bình", "missing",
             threshold="0", unit='"days"', severity='"medium"'),
        _row("Quá hạn báo cáo hơn 30 ngày: mức cao", "missing", threshold="30", unit='"days"', severity='"high"'),
    ]
    tree = fr.build_dmn(
        "kpi_rules", "Quy tắc giám sát chỉ tiêu", RULE_INPUTS, RULE_OUTPUTS, rows,
        "Các quy tắc giám sát chỉ tiêu: mỗi dòng khớp với chỉ tiêu (theo mã, lĩnh vực, kỳ báo cáo, chiều tốt; "
        "\"-\" là mọi giá trị) là một quy tắc với ngưỡng và mức độ. Bảng được đánh giá một lần cho mỗi chỉ tiêu "
        "(COLLECT: mọi dòng khớp đều áp dụng); nhiều dòng của cùng một quy tắc với ngưỡng tăng dần cho mức độ tăng "
        "dần, mức cao nhất bị vi phạm được dùng. Quy tắc: target (cách chỉ tiêu kế hoạch của kỳ), pro_rata (chậm "
        "so với phần kế hoạch năm đến kỳ này), falling (xấu đi N kỳ liên tiếp), range (ngoài khoảng cận dưới – cận "
        "trên), outlier (bất thường so với lịch sử của đơn vị: z hoặc modified_z), missing (chưa báo cáo khi quá "
        "hạn, ngưỡng là số ngày trễ). Ngưỡng tính theo % (percent) hoặc theo đơn vị đo (points). open_after: số kỳ "
        "vi phạm liên tiếp trước khi mở hồ sơ; recovery: hồ sơ chỉ đóng khi số liệu trở lại trong ngưỡng này (độ "
        "trễ, để một chỉ tiêu sát ngưỡng không mở rồi đóng hồ sơ mỗi tháng). Các ô là biểu thức Python.",
    )
    root = tree.getroot()
    root.set("exporter", "IOC Case Flow generate_kpi_breach.py")
    for table in root.iter(f"{{{fr.DMN}}}decisionTable"):
        table.set("hitPolicy", "COLLECT")
    return tree


def _add_message(tree) -> None:
    """The process's message (build_bpmn declares field_report's citizen_feedback; this one waits for another)."""
    defs = tree.getroot()
    for message in defs.findall(fr.b("message")):
        if message.get("id") == "citizen_feedback_message":
            message.set("id", "kpi_next_period_message")
            message.set("name", "kpi_next_period")


if __name__ == "__main__":
    problems = fr.check_layout()
    assert not problems, "layout problems:\n  " + "\n  ".join(problems)
    bpmn = fr.build_bpmn(KPI_BREACH)
    _add_message(bpmn)
    fr.write(bpmn, "kpi_breach.bpmn")
    fr.write(rules_dmn(), "kpi_rules.dmn")
