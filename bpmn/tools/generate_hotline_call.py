"""Generate bpmn/hotline_call.bpmn: a call to the 1022 hotline, from the operator's intake to the callback.

Drawn with the machinery of generate_field_report.py (the same layout checks, BPMNDI and
spiffworkflow: extensions) and deployed with field_report's decision tables: routing
(field_report_routing.dmn) and deadlines (field_report_sla.dmn) are the same for a call as for a
field report. What differs: the operator classified the call while talking (no triage task), an
information request is answered on the phone and closed at once, and a resolved case is called
back before it is published.

Run:  .venv/bin/python bpmn/tools/generate_hotline_call.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate_field_report as fr  # noqa: E402
from generate_field_report import B, L, R, T, field, flow, node, q, service, straight  # noqa: E402

HOTLINE_CALL = {
    "id": "hotline_call", "name": "Xử lý cuộc gọi tổng đài 1022", "exporter": "generate_hotline_call.py",
    "documentation": "Cuộc gọi đến tổng đài 1022: tổng đài viên tiếp nhận và phân loại ngay khi nghe máy; yêu cầu "
                     "thông tin được trả lời qua điện thoại và đóng ngay; phản ánh được giao đơn vị xử lý (nhắc hạn, "
                     "chuyển cấp khi quá hạn như phản ánh hiện trường), tổng đài viên gọi lại báo kết quả cho người "
                     "dân, rồi kết quả được công khai và người dân có thể đánh giá trên cổng thông tin.",
}

# The callback is due this many working hours after the resolution is recorded: within a working day (a designer
# changes it here or in the modeler: the "hours" parameter of the "Thời hạn gọi lại" service task).
CALLBACK_HOURS = "8"

fr.start_drawing([
    ("lane_operator", "Tổng đài viên", 200),
    ("lane_system", "Hệ thống", 380),
    ("lane_officer", "Cán bộ xử lý", 250),
    ("lane_unit_head", "Thủ trưởng đơn vị", 300),
], pool_right=3500 + fr.REVIEW_SHIFT)

# Row centre lines: the lanes are those of field_report, the operator lane 40 px taller, so every row
# below it is field_report's + 40 (the shared blocks are drawn with dy=40).
DY = 40
Y_OP = 170          # operator lane: tasks
Y_LOOP = 285        # system lane: the reopen loop's path back (above its shapes)
Y_TOP = fr.Y_TOP + DY
Y_MAIN = fr.Y_MAIN + DY
Y_LOW = fr.Y_LOW + DY
Y_OFF = fr.Y_OFF + DY
X_KIND = 300        # column of the call-kind gateway; its "report" flow goes down it
X_MERGE = 390       # column of the loop merge and the assignment merge
SHIFT = fr.REVIEW_SHIFT  # everything after the resolution merge stands right of the review (as in field_report)

CALLBACK_FIELDS = {
    "field.reached": field("choice!:yes,no", "Đã liên lạc được với người dân?", "Reached the citizen?"),
    "field.callback_answer": field("choice!:satisfied,not_resolved,no_answer", "Ý kiến của người dân",
                                   "The citizen's answer"),
    "field.callback_note": field("textarea", "Ghi chú cuộc gọi lại", "Note on the callback"),
}
REROUTE_FIELDS = {
    # Chosen from the live list of units that handle cases, checked again on completion.
    "field.override_unit": field("choice@units!", "Đơn vị xử lý", "Responsible unit"),
    "field.note": field("textarea", "Ghi chú", "Note"),
}

# Operator lane: the call, the answered information request, re-routing, the callback
node("start", "startEvent", "Cuộc gọi đến 1022", "lane_operator", 210, Y_OP)
node("kind_gateway", "exclusiveGateway", "Loại cuộc gọi?", "lane_operator", X_KIND, Y_OP,
     default="flow_kind_report", label="above")
service("close_answered", "Đóng (đã trả lời qua điện thoại)", "lane_operator", 460, Y_OP, "close",
        {"reason": q("answered")})
node("end_answered", "endEvent", "Đã trả lời", "lane_operator", 590, Y_OP)
# A unit returned the case (not its own): the operator names the unit that should handle it.
node("reroute", "userTask", "Chuyển đơn vị xử lý khác", "lane_operator", 1250, Y_OP, props={
    "candidateUnit": "ioc_unit", **REROUTE_FIELDS})
node("callback", "userTask", "Gọi lại cho người dân", "lane_operator", 2410 + SHIFT, Y_OP, props={
    "candidateUnit": "ioc_unit",
    "dueAt": 'callback_deadline["due_at"]',
    **CALLBACK_FIELDS,
}, instructions="Gọi số điện thoại của người phản ánh (trên trang phản ánh), đọc kết quả xử lý và ghi ý kiến của họ; "
                "\"chưa được xử lý\" mở lại phản ánh. — Call the reporter (number on the case page), read them the "
                "resolution and record their answer; \"not resolved\" reopens the case.")
service("record_callback_task", "Ghi nhận kết quả gọi lại", "lane_operator", 2540 + SHIFT, Y_OP, "record_callback",
        {"reached": "reached", "answer": "callback_answer", "note": "callback_note"})
node("callback_gateway", "exclusiveGateway", "Đã xử lý xong?", "lane_operator", 2660 + SHIFT, Y_OP,
     default="flow_callback_done", label="above")

# System lane: assignment (field_report's, 200 px left, 40 px down), after a return or a reopening too
node("loop_merge", "exclusiveGateway", None, "lane_system", X_MERGE, Y_TOP)
fr.assignment_nodes(dx=-200, dy=DY, high_row=Y_LOW)  # the high-priority alert below the main row

# Officer and unit-head lanes: handling, reminder, escalations, return, the head's review: field_report's, 200 px
# left, 40 px down.
fr.handling_nodes(dx=-200, dy=DY)

# System lane: resolution, callback deadline, publication, feedback
node("resolved_merge", "exclusiveGateway", None, "lane_system", fr.X_RESOLVED - 200, Y_MAIN)
# The callback's optional note is reset each round, so that record_callback and reopen always read one.
service("record_resolution_task", "Ghi nhận kết quả", "lane_system", 2260 + SHIFT, Y_MAIN, "record_resolution",
        {"resolution": "resolution"}, postscript='callback_note = ""')
service("callback_deadline_task", "Thời hạn gọi lại", "lane_system", 2410 + SHIFT, Y_MAIN, "deadline",
        {"hours": CALLBACK_HOURS}, result="callback_deadline")
# Publication and the feedback window: field_report's, 150 px right, 40 px down. The case is reopened from the
# callback ("not resolved") or from the citizen's web answer: the comment is the one of whichever said so.
fr.feedback_nodes('callback_note if callback_answer == "not_resolved" else feedback.get("comment", "")',
                  dx=150 + SHIFT, dy=DY)

# ----------------------------------------------------------------------------- flows
straight("flow_start_kind", "start", "kind_gateway")
flow("flow_kind_information", "kind_gateway", "close_answered", [R("kind_gateway"), L("close_answered")],
     name="Hỏi thông tin", cond='call_kind == "information"', label_at=(X_KIND + 30, Y_OP + 8))
straight("flow_answered_end", "close_answered", "end_answered")
flow("flow_kind_report", "kind_gateway", "assign_merge", [B("kind_gateway"), (X_KIND, Y_MAIN), L("assign_merge")],
     name="Phản ánh", label_at=(X_KIND - 62, 300))
flow("flow_loop_assign", "loop_merge", "assign_merge", [B("loop_merge"), T("assign_merge")])
straight("flow_merge_route", "assign_merge", "route")
straight("flow_route_sla", "route", "sla")
straight("flow_sla_assign", "sla", "assign_task")
straight("flow_assign_priority", "assign_task", "priority_gateway")
flow("flow_priority_high", "priority_gateway", "notify_high", [B("priority_gateway"), (930, Y_LOW), L("notify_high")],
     name="Ưu tiên cao", cond='priority == "high"', label_at=(938, 515))
flow("flow_priority_normal", "priority_gateway", "priority_merge", [R("priority_gateway"), L("priority_merge")],
     name="Khác", label_at=(1025, Y_MAIN - 20))
flow("flow_high_merge", "notify_high", "priority_merge", [R("notify_high"), (1150, Y_LOW), B("priority_merge")])
flow("flow_merge_handle", "priority_merge", "handle",
     [R("priority_merge"), (1200, Y_MAIN), (1200, Y_OFF), L("handle")])


def _return_to_operator() -> None:
    # A returned case goes up to the operator, who names the unit; then back to the routing.
    flow("flow_return_reroute", "return_task", "reroute", [T("return_task"), (1430, Y_OP), R("reroute")])
    flow("flow_reroute_loop", "reroute", "loop_merge", [B("reroute"), (1250, Y_TOP), R("loop_merge")])


fr.handling_flows(_return_to_operator, dx=-200, dy=DY)
straight("flow_resolved_record", "resolved_merge", "record_resolution_task")
straight("flow_record_deadline", "record_resolution_task", "callback_deadline_task")
flow("flow_deadline_callback", "callback_deadline_task", "callback", [T("callback_deadline_task"), B("callback")])
straight("flow_callback_record", "callback", "record_callback_task")
straight("flow_record_callback_gateway", "record_callback_task", "callback_gateway")
flow("flow_callback_done", "callback_gateway", "publish_task",
     [B("callback_gateway"), (2660 + SHIFT, Y_MAIN), L("publish_task")], name="Đã xử lý",
     label_at=(2668 + SHIFT, 300))
flow("flow_callback_not_resolved", "callback_gateway", "reopen_task",
     [R("callback_gateway"), (3110 + SHIFT, Y_OP), T("reopen_task")],
     name="Chưa xử lý được", cond='callback_answer == "not_resolved"', label_at=(2700 + SHIFT, Y_OP - 22))


def _reopen_to_routing() -> None:
    flow("flow_reopen_loop", "reopen_task", "loop_merge",
         [L("reopen_task"), (3030 + SHIFT, Y_TOP), (3030 + SHIFT, Y_LOOP), (X_MERGE, Y_LOOP), T("loop_merge")])


fr.feedback_flows(_reopen_to_routing, dx=150 + SHIFT, dy=DY)

if __name__ == "__main__":
    problems = fr.check_layout()
    assert not problems, "layout problems:\n  " + "\n  ".join(problems)
    fr.write(fr.build_bpmn(HOTLINE_CALL), "hotline_call.bpmn")
