"""Generate bpmn/monitoring_alert.bpmn: an alert from another system (Alertmanager, sensors), from reception to close.

Drawn with the machinery of generate_field_report.py (the same layout checks, BPMNDI and spiffworkflow:
extensions). The case is opened by workflows/monitoring/alerts.py with the alert's severity and the source's
unit in its start data; the process assigns it to that unit with a deadline by severity (a designer changes
the hours in the "Giao đơn vị xử lý" service task), tells the leaders of a critical one, and waits for the
unit's officer. When the source says the alert is cleared ("resolved"), the message `alert_resolved` reaches
the officer's task: if nobody has taken the task yet the case closes as cleared at source, otherwise the
officer sees it and finishes the work they started.

Run:  .venv/bin/python bpmn/tools/generate_monitoring_alert.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import english_names  # noqa: E402
import generate_field_report as fr  # noqa: E402
from generate_field_report import B, L, R, T, field, flow, node, q, service, straight  # noqa: E402

MONITORING_ALERT = {
    "id": "monitoring_alert", "name": "Xử lý cảnh báo từ hệ thống giám sát", "exporter": "generate_monitoring_alert.py",
    "documentation": "Cảnh báo từ một hệ thống giám sát khác (an toàn thông tin, cảm biến môi trường…): hệ thống giao "
                     "đơn vị phụ trách nguồn cảnh báo với thời hạn theo mức độ nghiêm trọng, báo lãnh đạo khi nghiêm "
                     "trọng; cán bộ của đơn vị xử lý. Khi nguồn báo đã hết cảnh báo: nếu chưa ai nhận việc thì đóng, "
                     "nếu cán bộ đã bắt đầu thì cán bộ hoàn tất và ghi kết quả.",
}

# Working hours to handle an alert, and how long before the deadline to remind, by severity (SEVERITIES).
SLA_HOURS = '{"critical": 4, "high": 8, "medium": 24, "low": 72}.get(severity, 24)'
REMINDER_HOURS = '{"critical": 1, "high": 2, "medium": 4, "low": 8}.get(severity, 4)'

NAMES_EN = {
    "Xử lý cảnh báo từ hệ thống giám sát": "Handle an alert from a monitoring system",
    "Nhận cảnh báo": "Alert received",
    "Giao đơn vị xử lý": "Assign to the source's unit",
    "Nghiêm trọng?": "Critical?",
    "Nghiêm trọng": "Critical",
    "Báo cáo lãnh đạo (cảnh báo nghiêm trọng)": "Alert the leaders (critical alert)",
    "Xử lý cảnh báo": "Handle the alert",
    "Nguồn báo đã hết cảnh báo": "Cleared at source",
    "Đã bắt đầu xử lý?": "Work started?",
    "Đã bắt đầu": "Started",
    "Chưa ai nhận việc": "Not taken yet",
    "Đóng (nguồn đã hết cảnh báo)": "Close (cleared at source)",
    "Hoàn tất xử lý (nguồn đã hết cảnh báo)": "Finish the work (cleared at source)",
    "Đóng cảnh báo": "Close the alert",
}
english_names.NAME_EN.update(NAMES_EN)

HANDLE_FIELDS = {
    "field.resolution": field("textarea!", "Đã làm gì để xử lý cảnh báo", "What was done about the alert"),
    "field.resolution_note": field("textarea", "Ghi chú nội bộ", "Internal note"),
}

fr.start_drawing([
    ("lane_system", "Hệ thống", 380),
    ("lane_officer", "Cán bộ xử lý", 320),
], pool_right=1700)

Y_TOP, Y_MAIN, Y_LOW = 150, 260, 370   # system lane rows
Y_OFF, Y_OFF2 = 560, 690                # officer lane rows
X_SEVERITY, X_MERGE, X_HANDLE, X_CLEARED, X_RESOLVED = 460, 700, 820, 960, 1250

# System lane: reception, assignment, the leaders of a critical alert
node("start", "startEvent", "Nhận cảnh báo", "lane_system", 210, Y_MAIN)
service("assign_task", "Giao đơn vị xử lý", "lane_system", 330, Y_MAIN, "assign",
        {"unit": "responsible_unit", "sla_hours": SLA_HOURS, "reminder_hours": REMINDER_HOURS}, result="assignment")
node("severity_gateway", "exclusiveGateway", "Nghiêm trọng?", "lane_system", X_SEVERITY, Y_MAIN,
     default="flow_severity_other")
service("notify_critical", "Báo cáo lãnh đạo (cảnh báo nghiêm trọng)", "lane_system", 580, Y_TOP, "notify_leaders",
        {"reason": q("critical_alert"), "up_levels": "0"})
node("severity_merge", "exclusiveGateway", None, "lane_system", X_MERGE, Y_MAIN)

# Officer lane: the unit's handling, its reminder, and the source clearing the alert meanwhile
node("handle", "userTask", "Xử lý cảnh báo", "lane_officer", X_HANDLE, Y_OFF, props={
    "candidateUnit": 'assignment["unit"]',
    "dueAt": 'assignment["due_at"]',
    **HANDLE_FIELDS,
}, instructions="Đọc cảnh báo (nhãn, mô tả, liên kết của nguồn ở trang hồ sơ), xử lý tại chỗ và ghi lại đã làm gì. "
                "Nếu nguồn báo đã hết cảnh báo khi bạn đã nhận việc, bạn sẽ hoàn tất ở bước sau. — Read the alert "
                "(labels, description, the source's link on the case page), deal with it and record what was done. "
                "If the source clears it after you took the task, you finish it in the next step.")
node("remind_timer", "boundaryEvent", "Nhắc hạn", "lane_officer", X_HANDLE - 25, Y_OFF + 40,
     attached="handle", cancel=False, timer='assignment["remind_at"]', label="left")
service("remind", "Nhắc việc", "lane_officer", 660, Y_OFF2, "notify",
        {"role": q("officer"), "unit": 'assignment["unit"]', "kind": q("reminder")})
node("end_reminded", "endEvent", "Đã nhắc việc", "lane_officer", 530, Y_OFF2)
node("cleared", "boundaryEvent", "Nguồn báo đã hết cảnh báo", "lane_officer", X_HANDLE + 25, Y_OFF - 40,
     attached="handle", cancel=True, message="alert_resolved_message", variable="cleared", label="above")
node("cleared_gateway", "exclusiveGateway", "Đã bắt đầu xử lý?", "lane_system", X_CLEARED, Y_LOW,
     default="flow_cleared_not_started", label="above")
service("close_cleared", "Đóng (nguồn đã hết cảnh báo)", "lane_system", 1130, Y_LOW, "close",
        {"reason": q("cleared_at_source")})
node("end_cleared", "endEvent", "Đã đóng", "lane_system", 1210, Y_LOW)
node("finish", "userTask", "Hoàn tất xử lý (nguồn đã hết cảnh báo)", "lane_officer", 1090, Y_OFF2, props={
    "candidateUnit": 'assignment["unit"]',
    "dueAt": 'assignment["due_at"]',
    **HANDLE_FIELDS,
}, instructions="Nguồn cảnh báo đã báo hết cảnh báo trong khi bạn đang xử lý: ghi lại đã làm gì và kết luận. — The "
                "source cleared the alert while you were working on it: record what was done and your conclusion.")
node("resolved_merge", "exclusiveGateway", None, "lane_officer", X_RESOLVED, Y_OFF)

# System lane: the result recorded, the case closed
service("record_resolution_task", "Ghi nhận kết quả", "lane_system", 1370, Y_MAIN, "record_resolution",
        {"resolution": "resolution"})
service("close_resolved", "Đóng cảnh báo", "lane_system", 1500, Y_MAIN, "close", {"reason": q("resolved")})
node("end_closed", "endEvent", "Đã đóng", "lane_system", 1620, Y_MAIN)

# ----------------------------------------------------------------------------- flows
straight("flow_start_assign", "start", "assign_task")
straight("flow_assign_severity", "assign_task", "severity_gateway")
flow("flow_severity_critical", "severity_gateway", "notify_critical",
     [T("severity_gateway"), (X_SEVERITY, Y_TOP), L("notify_critical")],
     name="Nghiêm trọng", cond='severity == "critical"', label_at=(X_SEVERITY + 8, 190))
flow("flow_severity_other", "severity_gateway", "severity_merge", [R("severity_gateway"), L("severity_merge")],
     name="Khác", label_at=(560, Y_MAIN - 20))
flow("flow_critical_merge", "notify_critical", "severity_merge",
     [R("notify_critical"), (X_MERGE, Y_TOP), T("severity_merge")])
flow("flow_merge_handle", "severity_merge", "handle", [B("severity_merge"), (X_MERGE, Y_OFF), L("handle")])
flow("flow_remind", "remind_timer", "remind", [B("remind_timer"), (X_HANDLE - 25, Y_OFF2), R("remind")])
flow("flow_remind_end", "remind", "end_reminded", [L("remind"), R("end_reminded")])
flow("flow_cleared_gateway", "cleared", "cleared_gateway",
     [T("cleared"), (X_HANDLE + 25, Y_LOW), L("cleared_gateway")])
flow("flow_cleared_not_started", "cleared_gateway", "close_cleared", [R("cleared_gateway"), L("close_cleared")],
     name="Chưa ai nhận việc", label_at=(988, Y_LOW - 20))
straight("flow_close_cleared_end", "close_cleared", "end_cleared")
flow("flow_cleared_started", "cleared_gateway", "finish", [B("cleared_gateway"), (X_CLEARED, Y_OFF2), L("finish")],
     name="Đã bắt đầu", cond='cleared.get("work_started") is True', label_at=(X_CLEARED + 8, 600))
flow("flow_handle_resolved", "handle", "resolved_merge", [R("handle"), L("resolved_merge")])
flow("flow_finish_resolved", "finish", "resolved_merge", [R("finish"), (X_RESOLVED, Y_OFF2), B("resolved_merge")])
flow("flow_resolved_record", "resolved_merge", "record_resolution_task",
     [T("resolved_merge"), (X_RESOLVED, Y_MAIN), L("record_resolution_task")])
straight("flow_record_close", "record_resolution_task", "close_resolved")
straight("flow_close_end", "close_resolved", "end_closed")


def _message(tree) -> None:
    """The process waits for the message alert_resolved (build_bpmn declares field_report's message)."""
    message = tree.getroot().find(f"{{{fr.BPMN}}}message")
    message.set("id", "alert_resolved_message")
    message.set("name", "alert_resolved")


if __name__ == "__main__":
    problems = fr.check_layout()
    assert not problems, "layout problems:\n  " + "\n  ".join(problems)
    document = fr.build_bpmn(MONITORING_ALERT)
    _message(document)
    fr.write(document, "monitoring_alert.bpmn")
