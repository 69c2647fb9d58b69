"""Generate bpmn/field_report.bpmn, field_report_routing.dmn and field_report_sla.dmn.

The process ("Xử lý phản ánh hiện trường") is described below as plain Python data:
nodes with their lane and centre point, sequence flows with their waypoints. This
script writes the BPMN XML (with spiffworkflow: extensions) and a complete BPMNDI
(pool, lanes, every shape, every edge, labels) so bpmn-js draws it tidily, plus the
two DMN decision tables with DMNDI.

Run:  .venv/bin/python bpmn/tools/generate_field_report.py
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from english_names import add_english
from lxml import etree

OUT_DIR = Path(__file__).resolve().parent.parent

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI, "spiffworkflow": SPIFF, "xsi": XSI}

DMN = "https://www.omg.org/spec/DMN/20191111/MODEL/"
DMNDI = "https://www.omg.org/spec/DMN/20191111/DMNDI/"
DMN_DC = "http://www.omg.org/spec/DMN/20180521/DC/"


def b(tag: str) -> str:
    return f"{{{BPMN}}}{tag}"


def s(tag: str) -> str:
    return f"{{{SPIFF}}}{tag}"


# --------------------------------------------------------------------------- layout

SIZES = {"task": (100, 80), "gateway": (50, 50), "event": (36, 36)}
KIND = {
    "startEvent": "event", "endEvent": "event", "intermediateCatchEvent": "event",
    "boundaryEvent": "event", "exclusiveGateway": "gateway", "eventBasedGateway": "gateway",
    "userTask": "task", "serviceTask": "task", "businessRuleTask": "task",
}

POOL_X, POOL_Y = 120, 60
LANE_X = POOL_X + 30
# Lanes top to bottom: (id, name (= role read by the engine), height)
LANES = [
    ("lane_operator", "Tổng đài viên", 160),
    ("lane_system", "Hệ thống", 380),
    ("lane_officer", "Cán bộ xử lý", 250),
    ("lane_unit_head", "Thủ trưởng đơn vị", 300),
]
POOL_W = 3770 - POOL_X
LANE_Y = {}
_y = POOL_Y
for _lid, _name, _h in LANES:
    LANE_Y[_lid] = (_y, _h)
    _y += _h
POOL_H = _y - POOL_Y


def start_drawing(lanes: list[tuple[str, str, int]], pool_right: int) -> None:
    """Start another process's drawing on a blank pool with these lanes (top to bottom).

    The machinery below (node, service, flow, check_layout, build_bpmn) draws one process at a
    time from NODES and FLOWS; generate_hotline_call.py clears them with this and draws its own.
    """
    global LANES, POOL_W, POOL_H
    NODES.clear()
    FLOWS.clear()
    LANE_Y.clear()
    LANES = list(lanes)
    POOL_W = pool_right - POOL_X
    top = POOL_Y
    for lid, _name, height in LANES:
        LANE_Y[lid] = (top, height)
        top += height
    POOL_H = top - POOL_Y

# Row centre lines
Y_RETURN = 80       # return loop back path (top of the operator lane, above its shapes)
Y_OP = 140          # operator lane
Y_LOOP = 240        # reopen loop back path (top of the system lane)
Y_TOP = 310         # system lane, upper row
Y_MAIN = 420        # system lane, main row
Y_LOW = 530         # system lane, lower row
Y_HANDLE_OUT = 360  # path from `handle` to the resolution merge
Y_OFF = 680         # officer lane, task row
Y_OFF2 = 790        # officer lane, reminder row
Y_HEAD1 = 930       # unit-head lane, first escalation row
Y_HEAD2 = 1070      # unit-head lane, second escalation row
X_ACCEPT = 520      # column of the triage gateway; its "accept" flow goes down it
X_ASSIGN_MERGE = 590
X_REVIEW_OUT = 1990  # column of the path from `review_gateway` (no review) up to the review merge
X_REVIEWED = 2440     # column of the review's outcome and of the review merge above it
X_REFUSED = 2500      # column of the path a refused result takes back up to `handle`
Y_REFUSED = 620       # row of that path (top of the officer lane, above its shapes)
X_RESOLVED = 2780     # column of the resolution merge (where handle, handle_l1 and handle_l2 meet)


# --------------------------------------------------------------------------- model

def field(kind: str, vi: str, en: str) -> str:
    return f"{kind} | {vi} | {en}"


RESOLUTION_FIELDS = {
    "field.resolution": field("textarea!", "Kết quả xử lý", "Resolution"),
    "field.resolution_note": field("textarea", "Ghi chú nội bộ", "Internal note"),
}
# The officer (only at the first level) may also return a case that is not the unit's to the IOC.
# `outcome` is required and has no default: the officer chooses each time (the start data holds "", and every
# way back to `handle` resets it to ""), and `handle_outcome` takes no flow for any other value (an incident).
HANDLE_FIELDS = {
    "field.outcome": field("choice!:resolved,returned", "Kết quả (đã xử lý hay trả lại)", "Outcome (resolved or returned)"),
    "field.resolution": field("textarea!", "Kết quả xử lý / lý do trả lại", "Resolution / reason for returning"),
    "field.resolution_note": RESOLUTION_FIELDS["field.resolution_note"],
}
# The unit head's review of the officer's result before it is published (publication_review.dmn decides when).
REVIEW_FIELDS = {
    "field.review_decision": field("choice!:approve,refuse", "Ý kiến của thủ trưởng", "The head's decision"),
    "field.review_note": field("textarea!(review_decision=refuse)", "Nhận xét cho cán bộ (bắt buộc khi không duyệt)",
                               "Note to the officer (required when refusing)"),
}

# The triage deadline in working hours by the citizen's priority (a designer changes it in the "Thời hạn phân
# loại" service task), and the reminder to the IOC's operators this many working hours before it.
TRIAGE_HOURS = '{"high": 2, "normal": 4, "low": 8}.get(priority, 4)'
TRIAGE_REMINDER_HOURS = "1"

# id: (type, name, lane, cx, cy, extra)
NODES: dict[str, dict] = {}


def node(id_, type_, name, lane, cx, cy, **extra):
    NODES[id_] = dict(id=id_, type=type_, name=name, lane=lane, cx=cx, cy=cy, **extra)


def service(id_, name, lane, cx, cy, operator, params, result=None, postscript=None):
    # SpiffWorkflow 3.2.0 indexes every element with an `id` attribute of the process,
    # extension elements included, and the last one wins: a <spiffworkflow:serviceTaskOperator
    # id="assign"> inside <bpmn:serviceTask id="assign"> hides the task ("There is no support
    # implemented for this task type"). So a service task id must differ from its operator name
    # (and from every parameter name): hence assign_task, publish_task, reopen_task, ...
    assert id_ != operator and id_ not in params, f"service task id {id_!r} clashes with its operator/params"
    node(id_, "serviceTask", name, lane, cx, cy, operator=operator, params=params, result=result,
         postscript=postscript)


def q(text: str) -> str:
    """A Python string literal for a parameter value."""
    return f'"{text}"'


# Operator lane
node("start", "startEvent", "Tiếp nhận phản ánh", "lane_operator", 210, Y_OP)
# Triage again after a unit returns the case (return_task).
node("triage_merge", "exclusiveGateway", None, "lane_operator", 290, Y_OP)
# The deadline of the triage (working hours, shorter for high priority), on the case until routing sets the
# unit's; computed again for each round, after a return too.
service("triage_deadline_task", "Thời hạn phân loại", "lane_system", 250, Y_TOP, "case_deadline",
        {"hours": TRIAGE_HOURS, "reminder_hours": TRIAGE_REMINDER_HOURS}, result="triage_deadline")
# Category and unit are chosen from the live lists (choice@categories, choice@units), checked again on completion.
node("triage", "userTask", "Phân loại phản ánh", "lane_operator", 400, Y_OP, props={
    "candidateUnit": "ioc_unit",
    "dueAt": 'triage_deadline["due_at"]',
    "field.decision": field("choice!:accept,reject", "Quyết định", "Decision"),
    "field.priority": field("choice:low,normal,high", "Mức độ ưu tiên", "Priority"),
    "field.category": field("choice@categories", "Lĩnh vực", "Category"),
    "field.override_unit": field("choice@units", "Đơn vị xử lý (khi chỉ định, thay bảng định tuyến)",
                                 "Responsible unit (when named, instead of the routing table)"),
    "field.reject_reason": field("textarea!(decision=reject)", "Lý do từ chối (người dân sẽ đọc)",
                                 "Reason for rejecting (the citizen reads it)"),
    "field.note": field("textarea", "Ghi chú nội bộ", "Internal note"),
})
# Before the triage deadline its operators are reminded; after it the IOC's head is told (the task stays open).
node("triage_overdue_timer", "boundaryEvent", "Quá hạn", "lane_operator", 405, Y_OP + 40,
     attached="triage", cancel=False, timer='triage_deadline["due_at"]', label="left")
node("triage_remind_timer", "boundaryEvent", "Nhắc hạn", "lane_operator", 445, Y_OP + 40,
     attached="triage", cancel=False, timer='triage_deadline["remind_at"]', label="right")
service("triage_escalate", "Báo thủ trưởng IOC (quá hạn)", "lane_system", 290, Y_MAIN, "notify",
        {"role": q("unit_head"), "unit": "ioc_unit", "kind": q("overdue")})
node("end_triage_escalated", "endEvent", "Đã báo", "lane_system", 200, Y_MAIN)
service("triage_remind", "Nhắc phân loại", "lane_system", 290, Y_LOW, "notify",
        {"role": q("operator"), "unit": "ioc_unit", "kind": q("reminder")})
node("end_triage_reminded", "endEvent", "Đã nhắc", "lane_system", 200, Y_LOW)
node("triage_decision", "exclusiveGateway", "Hợp lệ?", "lane_operator", X_ACCEPT, Y_OP,
     default="flow_triage_accept", label="above")
service("close_rejected", "Đóng (không hợp lệ)", "lane_operator", 700, Y_OP, "close",
        {"reason": q("rejected"), "note": "reject_reason"})
# An accepted case takes the category and priority triage chose (lists, dashboard, figures read the case).
service("classify_task", "Ghi phân loại", "lane_system", X_ACCEPT, Y_TOP, "classify",
        {"priority": "priority", "category": "category"})
node("end_rejected", "endEvent", "Đã từ chối", "lane_operator", 830, Y_OP)

# System lane: assignment
def assignment_nodes(dx: int = 0, dy: int = 0, high_row: int = Y_TOP) -> None:
    """Routing (field_report_routing.dmn), deadlines (field_report_sla.dmn), assignment and the high-priority
    alert (drawn on `high_row`): shared like handling_nodes."""
    node("assign_merge", "exclusiveGateway", None, "lane_system", X_ASSIGN_MERGE + dx, Y_MAIN + dy)
    node("route", "businessRuleTask", "Xác định đơn vị xử lý", "lane_system", 700 + dx, Y_MAIN + dy,
         decision="field_report_routing")
    node("sla", "businessRuleTask", "Xác định thời hạn", "lane_system", 850 + dx, Y_MAIN + dy,
         decision="field_report_sla")
    service("assign_task", "Giao xử lý", "lane_system", 1000 + dx, Y_MAIN + dy, "assign",
            {"unit": "responsible_unit", "sla_hours": "sla_hours", "reminder_hours": "reminder_hours"},
            result="assignment")
    node("priority_gateway", "exclusiveGateway", "Ưu tiên cao?", "lane_system", 1130 + dx, Y_MAIN + dy,
         default="flow_priority_normal")
    service("notify_high", "Báo cáo lãnh đạo (ưu tiên cao)", "lane_system", 1240 + dx, high_row, "notify_leaders",
            {"reason": q("high_priority"), "up_levels": "1"})
    node("priority_merge", "exclusiveGateway", None, "lane_system", 1350 + dx, Y_MAIN + dy)


assignment_nodes()


def handling_nodes(dx: int = 0, dy: int = 0) -> None:
    """The unit's handling, its reminder and two escalations, and the return to the IOC: the part every
    process that hands a case to a unit shares (dx, dy move the block; generate_hotline_call.py uses it)."""
    # Officer lane: handling, reminder
    node("handle", "userTask", "Xử lý phản ánh", "lane_officer", 1480 + dx, Y_OFF + dy, props={
        "candidateUnit": "responsible_unit",
        "dueAt": 'assignment["due_at"]',
        **HANDLE_FIELDS,
    })
    node("handle_outcome", "exclusiveGateway", "Trả lại?", "lane_officer", 1630 + dx, Y_OFF + dy)
    # The case goes back to the IOC's triage; the loop's choices are reset so that the next round starts
    # afresh: the officer chooses the outcome again, a triage without a unit routes by the table.
    service("return_task", "Trả lại IOC", "lane_system", 1630 + dx, Y_TOP + dy, "return_case",
            {"reason": "resolution"}, result="return_info", postscript='outcome = ""\noverride_unit = ""')
    node("overdue_timer", "boundaryEvent", "Quá hạn", "lane_officer", 1455 + dx, Y_OFF + 40 + dy,
         attached="handle", cancel=True, timer='assignment["due_at"]', label="left")
    node("remind_timer", "boundaryEvent", "Nhắc hạn", "lane_officer", 1505 + dx, Y_OFF + 40 + dy,
         attached="handle", cancel=False, timer='assignment["remind_at"]', label="right")
    service("remind", "Nhắc việc", "lane_officer", 1630 + dx, Y_OFF2 + dy, "notify",
            {"role": q("officer"), "unit": "responsible_unit", "kind": q("reminder")})
    node("end_reminded", "endEvent", "Đã nhắc việc", "lane_officer", 1760 + dx, Y_OFF2 + dy)

    # Unit-head lane: escalations
    service("escalate_1", "Chuyển lãnh đạo đơn vị", "lane_unit_head", 1600 + dx, Y_HEAD1 + dy, "escalate",
            {"level": "1", "hours": "escalation_hours"}, result="escalation_1")
    service("notify_escalation_1", "Báo cáo lãnh đạo (quá hạn)", "lane_unit_head", 1750 + dx, Y_HEAD1 + dy,
            "notify_leaders", {"reason": q("escalation_1"), "up_levels": "0"})
    node("handle_l1", "userTask", "Chỉ đạo xử lý (quá hạn)", "lane_unit_head", 1900 + dx, Y_HEAD1 + dy, props={
        "candidateUnit": 'escalation_1["unit"]',
        "dueAt": 'escalation_1["due_at"]',
        **RESOLUTION_FIELDS,
    })
    node("overdue_l1_timer", "boundaryEvent", "Quá hạn lần 2", "lane_unit_head", 1875 + dx, Y_HEAD1 + 40 + dy,
         attached="handle_l1", cancel=True, timer='escalation_1["due_at"]', label="left")
    service("escalate_2", "Chuyển cấp trên", "lane_unit_head", 2030 + dx, Y_HEAD2 + dy, "escalate",
            {"level": "2", "hours": "escalation_hours"}, result="escalation_2")
    service("notify_escalation_2", "Báo cáo lãnh đạo cấp trên", "lane_unit_head", 2180 + dx, Y_HEAD2 + dy,
            "notify_leaders", {"reason": q("escalation_2"), "up_levels": "1"})
    node("handle_l2", "userTask", "Xử lý theo chỉ đạo cấp trên", "lane_unit_head", 2330 + dx, Y_HEAD2 + dy, props={
        "candidateUnit": 'escalation_2["unit"]',
        "dueAt": 'escalation_2["due_at"]',
        **RESOLUTION_FIELDS,
    })

    # The officer's result, before it is recorded and published: reviewed by the unit's head when
    # publication_review.dmn says so (by category, unit and priority). A refused result goes back to `handle`
    # with the head's note; the escalated tasks' results (the head's own, or the level above's) are not reviewed.
    node("review_rule", "businessRuleTask", "Xác định cần duyệt", "lane_officer", 1790 + dx, Y_OFF + dy,
         decision="publication_review")
    node("review_gateway", "exclusiveGateway", "Cần duyệt?", "lane_officer", X_REVIEW_OUT + dx, Y_OFF + dy,
         default="flow_review_not_needed", label="above")
    # The head's note is optional when approving: set here, so record_review always reads one.
    service("request_review_task", "Gửi thủ trưởng duyệt", "lane_officer", 2140 + dx, Y_OFF + dy, "request_review",
            {"resolution": "resolution", "hours": "review_hours"}, result="review_request",
            postscript='review_note = ""')
    node("review", "userTask", "Duyệt kết quả xử lý", "lane_unit_head", 2140 + dx, Y_HEAD1 + dy, props={
        "candidateUnit": 'assignment["unit"]',
        "dueAt": 'review_request["due_at"]',
        **REVIEW_FIELDS,
    }, instructions="Đọc kết quả xử lý và ảnh sau khi xử lý của cán bộ (ở trên). Duyệt thì kết quả được ghi nhận và "
                    "công khai; không duyệt thì phản ánh trở lại cán bộ xử lý cùng nhận xét của bạn. — Read the "
                    "officer's result and after photos (above). Approve to record and publish it; refuse to send it "
                    "back to the officer with your note.")
    # The choices are reset for the next round (the gateway reads the recorded decision): the officer chooses the
    # outcome again, the head decides again.
    service("record_review_task", "Ghi nhận ý kiến duyệt", "lane_unit_head", 2290 + dx, Y_HEAD1 + dy, "record_review",
            {"decision": "review_decision", "note": "review_note"}, result="review_result",
            postscript='outcome = ""\nreview_decision = ""')
    node("review_outcome", "exclusiveGateway", "Duyệt?", "lane_unit_head", X_REVIEWED + dx, Y_HEAD1 + dy)
    node("review_merge", "exclusiveGateway", None, "lane_system", X_REVIEWED + dx, Y_HANDLE_OUT + dy)


handling_nodes()

# System lane: resolution, publication, feedback
node("resolved_merge", "exclusiveGateway", None, "lane_system", X_RESOLVED, Y_MAIN)
service("record_resolution_task", "Ghi nhận kết quả", "lane_system", X_RESOLVED + 130, Y_MAIN, "record_resolution",
        {"resolution": "resolution"})
# The publication and feedback block stands right of the review (REVIEW_SHIFT px further than before it).
REVIEW_SHIFT = 450


def feedback_nodes(reopen_comment: str = 'feedback.get("comment", "")', dx: int = 0, dy: int = 0) -> None:
    """Publication and the citizens' feedback window: "not resolved" reopens, "satisfied" or silence closes
    (`reopen_comment`: the expression the reopening records)."""
    service("publish_task", "Công khai kết quả", "lane_system", 2610 + dx, Y_MAIN + dy, "publish",
            {"feedback_days": "7"}, result="publication")
    node("await_feedback", "eventBasedGateway", "Chờ phản hồi của người dân", "lane_system", 2740 + dx, Y_MAIN + dy,
         label="above")
    node("citizen_feedback", "intermediateCatchEvent", "Người dân phản hồi", "lane_system", 2840 + dx, Y_MAIN + dy,
         message="citizen_feedback_message", variable="feedback")
    node("feedback_gateway", "exclusiveGateway", "Hài lòng?", "lane_system", 2960 + dx, Y_MAIN + dy,
         default="flow_feedback_unsatisfied")
    service("close_satisfied", "Đóng phản ánh", "lane_system", 3110 + dx, Y_MAIN + dy, "close",
            {"reason": q("satisfied")})
    node("end_closed", "endEvent", "Đã đóng", "lane_system", 3240 + dx, Y_MAIN + dy)
    # A reopened case comes back to `handle`, where the officer chooses the outcome again.
    service("reopen_task", "Mở lại phản ánh", "lane_system", 2960 + dx, Y_TOP + dy, "reopen",
            {"comment": reopen_comment}, postscript='outcome = ""')
    node("feedback_timeout", "intermediateCatchEvent", "Hết thời gian phản hồi", "lane_system", 2840 + dx,
         Y_LOW + dy, timer='publication["feedback_until"]')
    service("close_silence", "Đóng (không phản hồi)", "lane_system", 2960 + dx, Y_LOW + dy, "close",
            {"reason": q("no_feedback")})
    node("end_closed_silence", "endEvent", "Đã đóng", "lane_system", 3090 + dx, Y_LOW + dy)


feedback_nodes(dx=REVIEW_SHIFT)


def box(nid):
    n = NODES[nid]
    w, h = SIZES[KIND[n["type"]]]
    return n["cx"] - w / 2, n["cy"] - h / 2, w, h


def L(nid):
    x, y, w, h = box(nid)
    return (x, y + h / 2)


def R(nid):
    x, y, w, h = box(nid)
    return (x + w, y + h / 2)


def T(nid):
    x, y, w, h = box(nid)
    return (x + w / 2, y)


def B(nid):
    x, y, w, h = box(nid)
    return (x + w / 2, y + h)


FLOWS: list[dict] = []


def flow(id_, src, tgt, points, name=None, cond=None, label_at=None):
    FLOWS.append(dict(id=id_, src=src, tgt=tgt, points=points, name=name, cond=cond, label_at=label_at))


def straight(id_, src, tgt, **kw):
    flow(id_, src, tgt, [R(src), L(tgt)], **kw)


straight("flow_start_triage_merge", "start", "triage_merge")
# Down from the merge into the deadline, and up again into the triage's left side (clear of its timers' labels).
flow("flow_merge_deadline", "triage_merge", "triage_deadline_task",
     [B("triage_merge"), (290, 230), (250, 230), T("triage_deadline_task")])
flow("flow_deadline_triage", "triage_deadline_task", "triage",
     [R("triage_deadline_task"), (325, Y_TOP), (325, Y_OP), L("triage")])
flow("flow_triage_overdue", "triage_overdue_timer", "triage_escalate",
     [B("triage_overdue_timer"), (405, Y_MAIN), R("triage_escalate")])
flow("flow_triage_escalated_end", "triage_escalate", "end_triage_escalated",
     [L("triage_escalate"), R("end_triage_escalated")])
flow("flow_triage_remind", "triage_remind_timer", "triage_remind",
     [B("triage_remind_timer"), (445, Y_LOW), R("triage_remind")])
flow("flow_triage_reminded_end", "triage_remind", "end_triage_reminded", [L("triage_remind"), R("end_triage_reminded")])
straight("flow_triage_decision", "triage", "triage_decision")
flow("flow_triage_reject", "triage_decision", "close_rejected", [R("triage_decision"), L("close_rejected")],
     name="Không hợp lệ", cond='decision == "reject"', label_at=(X_ACCEPT + 33, Y_OP - 22))
flow("flow_triage_accept", "triage_decision", "classify_task", [B("triage_decision"), T("classify_task")],
     name="Hợp lệ", label_at=(X_ACCEPT + 8, 232))
flow("flow_classify_assign", "classify_task", "assign_merge",
     [B("classify_task"), (X_ACCEPT, Y_MAIN), L("assign_merge")])
straight("flow_rejected_end", "close_rejected", "end_rejected")
straight("flow_merge_route", "assign_merge", "route")
straight("flow_route_sla", "route", "sla")
straight("flow_sla_assign", "sla", "assign_task")
straight("flow_assign_priority", "assign_task", "priority_gateway")
flow("flow_priority_high", "priority_gateway", "notify_high",
     [T("priority_gateway"), (1130, Y_TOP), L("notify_high")],
     name="Ưu tiên cao", cond='priority == "high"', label_at=(1080, Y_TOP - 26))
flow("flow_priority_normal", "priority_gateway", "priority_merge", [R("priority_gateway"), L("priority_merge")],
     name="Khác", label_at=(1225, Y_MAIN - 20))
flow("flow_high_merge", "notify_high", "priority_merge", [R("notify_high"), (1350, Y_TOP), T("priority_merge")])
flow("flow_merge_handle", "priority_merge", "handle", [B("priority_merge"), (1350, Y_OFF), L("handle")])
def handling_flows(return_flow: Callable[[], None], dx: int = 0, dy: int = 0) -> None:
    """The flows of handling_nodes (and on to `resolved_merge`); `return_flow()` draws where a returned case goes."""
    straight("flow_handle_outcome", "handle", "handle_outcome")
    straight("flow_outcome_resolved", "handle_outcome", "review_rule", name="Đã xử lý", cond='outcome == "resolved"',
             label_at=(1662 + dx, Y_OFF - 18 + dy))
    review_flows(dx, dy)
    flow("flow_outcome_returned", "handle_outcome", "return_task", [T("handle_outcome"), B("return_task")],
         name="Trả lại", cond='outcome == "returned"', label_at=(1638 + dx, 540 + dy))
    return_flow()
    flow("flow_remind", "remind_timer", "remind", [B("remind_timer"), (1505 + dx, Y_OFF2 + dy), L("remind")])
    straight("flow_remind_end", "remind", "end_reminded")
    flow("flow_overdue", "overdue_timer", "escalate_1", [B("overdue_timer"), (1455 + dx, Y_HEAD1 + dy), L("escalate_1")])
    straight("flow_escalate_1_notify", "escalate_1", "notify_escalation_1")
    straight("flow_notify_1_handle_l1", "notify_escalation_1", "handle_l1")
    flow("flow_handle_l1_resolved", "handle_l1", "resolved_merge",
         [T("handle_l1"), (1900 + dx, Y_MAIN + dy), L("resolved_merge")])
    flow("flow_overdue_l1", "overdue_l1_timer", "escalate_2",
         [B("overdue_l1_timer"), (1875 + dx, Y_HEAD2 + dy), L("escalate_2")])
    straight("flow_escalate_2_notify", "escalate_2", "notify_escalation_2")
    straight("flow_notify_2_handle_l2", "notify_escalation_2", "handle_l2")
    flow("flow_handle_l2_resolved", "handle_l2", "resolved_merge",
         [R("handle_l2"), (X_RESOLVED + dx, Y_HEAD2 + dy), B("resolved_merge")])


def review_flows(dx: int = 0, dy: int = 0) -> None:
    """The flows of the review (handling_nodes): needed or not, approved on to `resolved_merge`, refused back to
    `handle` along the top of the officer lane."""
    straight("flow_review_rule_gateway", "review_rule", "review_gateway")
    flow("flow_review_not_needed", "review_gateway", "review_merge",
         [T("review_gateway"), (X_REVIEW_OUT + dx, Y_HANDLE_OUT + dy), L("review_merge")],
         name="Không cần duyệt", label_at=(X_REVIEW_OUT + 8 + dx, Y_HANDLE_OUT + 6 + dy))
    straight("flow_review_needed", "review_gateway", "request_review_task", name="Cần duyệt", cond="review is True",
             label_at=(X_REVIEW_OUT + 30 + dx, Y_OFF + 4 + dy))
    flow("flow_request_review", "request_review_task", "review", [B("request_review_task"), T("review")])
    straight("flow_review_record", "review", "record_review_task")
    straight("flow_record_review_outcome", "record_review_task", "review_outcome")
    flow("flow_review_approved", "review_outcome", "review_merge", [T("review_outcome"), B("review_merge")],
         name="Duyệt", cond='review_result["decision"] == "approve"', label_at=(X_REVIEWED + 8 + dx, 860 + dy))
    flow("flow_review_refused", "review_outcome", "handle",
         [R("review_outcome"), (X_REFUSED + dx, Y_HEAD1 + dy), (X_REFUSED + dx, Y_REFUSED + dy),
          (1480 + dx, Y_REFUSED + dy), T("handle")],
         name="Không duyệt", cond='review_result["decision"] == "refuse"', label_at=(X_REFUSED + 8 + dx, 880 + dy))
    flow("flow_review_merge_resolved", "review_merge", "resolved_merge",
         [R("review_merge"), (X_RESOLVED + dx, Y_HANDLE_OUT + dy), T("resolved_merge")])


def _return_to_triage() -> None:
    # Around everything: up the return task's column, along the top of the operator lane, down into the merge.
    flow("flow_return_loop", "return_task", "triage_merge",
         [T("return_task"), (1630, Y_RETURN), (290, Y_RETURN), T("triage_merge")])


handling_flows(_return_to_triage)
straight("flow_resolved_record", "resolved_merge", "record_resolution_task")
straight("flow_record_publish", "record_resolution_task", "publish_task")
def feedback_flows(reopen_loop: Callable[[], None], dx: int = 0, dy: int = 0) -> None:
    """The flows of feedback_nodes; `reopen_loop()` draws where a reopened case goes."""
    straight("flow_publish_await", "publish_task", "await_feedback")
    straight("flow_await_feedback", "await_feedback", "citizen_feedback")
    flow("flow_await_timeout", "await_feedback", "feedback_timeout",
         [B("await_feedback"), (2740 + dx, Y_LOW + dy), L("feedback_timeout")])
    straight("flow_feedback_gateway", "citizen_feedback", "feedback_gateway")
    flow("flow_feedback_satisfied", "feedback_gateway", "close_satisfied",
         [R("feedback_gateway"), L("close_satisfied")],
         name="Hài lòng", cond='feedback.get("satisfied") is True', label_at=(2990 + dx, Y_MAIN - 22 + dy))
    flow("flow_feedback_unsatisfied", "feedback_gateway", "reopen_task", [T("feedback_gateway"), B("reopen_task")],
         name="Không hài lòng", label_at=(2968 + dx, 362 + dy))
    straight("flow_satisfied_end", "close_satisfied", "end_closed")
    reopen_loop()
    straight("flow_timeout_close", "feedback_timeout", "close_silence")
    straight("flow_silence_end", "close_silence", "end_closed_silence")


def _reopen_to_assignment() -> None:
    flow("flow_reopen_loop", "reopen_task", "assign_merge",
         [T("reopen_task"), (2960 + REVIEW_SHIFT, Y_LOOP), (X_ASSIGN_MERGE, Y_LOOP), T("assign_merge")])


feedback_flows(_reopen_to_assignment, dx=REVIEW_SHIFT)

# --------------------------------------------------------------------------- layout checks

def _overlap(a, b, margin=0.0):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw + margin and bx < ax + aw + margin and ay < by + bh + margin and by < ay + ah + margin


def _on_border(point, rect):
    (px, py), (x, y, w, h) = point, rect
    inside_x, inside_y = x <= px <= x + w, y <= py <= y + h
    return (inside_x and py in (y, y + h)) or (inside_y and px in (x, x + w))


def _segment_enters(p1, p2, rect):
    """Does the axis-parallel segment p1-p2 pass through the inside of rect (its border excluded)?"""
    x, y, w, h = rect
    (x1, y1), (x2, y2) = p1, p2
    lo_x, hi_x, lo_y, hi_y = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
    return lo_x < x + w and hi_x > x and lo_y < y + h and hi_y > y


def node_label_box(n):
    """The label box of an event or gateway, as build_di writes it (None for tasks and unnamed nodes)."""
    if KIND[n["type"]] == "task" or not n["name"]:
        return None
    x, y, w, h = box(n["id"])
    pos = n.get("label", "below")
    lx, ly, lw, lh = label_box(n["name"], n["cx"], y + h + 5)
    if pos == "above":
        ly = y - 5 - lh
    elif pos == "left":
        lx, ly = x - 5 - text_width(n["name"]), y + h + 2
    elif pos == "right":
        lx, ly = x + w + 5, y + h + 2
    return lx, ly, lw, lh


def check_layout() -> list[str]:
    """Problems with the layout: shapes outside their lane or overlapping, edges that are not
    orthogonal, do not start/end on their shapes' borders or cut through another shape, labels on shapes."""
    problems = []
    shapes = {nid: box(nid) for nid in NODES}
    for nid, n in NODES.items():
        x, y, w, h = shapes[nid]
        ly, lh = LANE_Y[n["lane"]]
        if not (LANE_X + 30 <= x and x + w <= POOL_X + POOL_W and ly <= y and y + h <= ly + lh):
            problems.append(f"{nid} is not inside its lane {n['lane']}")
        if n["type"] == "boundaryEvent":
            host = shapes[n["attached"]]
            if not _on_border((n["cx"], n["cy"]), host):
                problems.append(f"{nid} is not on the border of {n['attached']}")
    solid = [nid for nid, n in NODES.items() if n["type"] != "boundaryEvent"]
    for i, a in enumerate(solid):
        for b_ in solid[i + 1:]:
            if _overlap(shapes[a], shapes[b_], margin=10):
                problems.append(f"{a} and {b_} overlap (or are closer than 10 px)")
    labels = {nid: lb for nid, n in NODES.items() if (lb := node_label_box(n))}
    labels.update({f["id"]: (*f["label_at"], text_width(f["name"]), 14) for f in FLOWS if f["name"]})
    for lid, lb in labels.items():
        for nid in solid:
            if lid != nid and _overlap(lb, shapes[nid]):
                problems.append(f"the label of {lid} lies on {nid}")
    for f in FLOWS:
        pts = f["points"]
        if not _on_border(pts[0], shapes[f["src"]]) or not _on_border(pts[-1], shapes[f["tgt"]]):
            problems.append(f"{f['id']} does not start on {f['src']} and end on {f['tgt']}")
        for p1, p2 in zip(pts, pts[1:], strict=False):
            if p1[0] != p2[0] and p1[1] != p2[1]:
                problems.append(f"{f['id']} has a diagonal segment {p1} → {p2}")
            for nid in solid:
                if _segment_enters(p1, p2, shapes[nid]):
                    problems.append(f"{f['id']} cuts through {nid}")
    return problems


# --------------------------------------------------------------------------- BPMN XML

def sub(parent, tag, attrib=None, text=None):
    el = etree.SubElement(parent, tag, {k: str(v) for k, v in (attrib or {}).items()})
    if text is not None:
        el.text = text
    return el


def formal(parent, tag, text):
    return sub(parent, b(tag), {f"{{{XSI}}}type": "bpmn:tFormalExpression"}, text)


FIELD_REPORT = {
    "id": "field_report", "name": "Xử lý phản ánh hiện trường", "exporter": "generate_field_report.py",
    "documentation": "Phản ánh hiện trường: tổng đài viên phân loại, hệ thống xác định đơn vị và thời hạn, "
                     "cán bộ xử lý, nhắc hạn và chuyển cấp khi quá hạn, công khai kết quả và lấy ý kiến người dân.",
}


def build_bpmn(process: dict[str, str] = FIELD_REPORT) -> etree._ElementTree:
    """The BPMN document of the process drawn in NODES and FLOWS (`process`: id, name, documentation)."""
    pid = process["id"]
    defs = etree.Element(b("definitions"), nsmap=NSMAP, attrib={
        "id": f"{pid}_definitions",
        "targetNamespace": f"http://ioc.daklak.gov.vn/bpmn/{pid}",
        "exporter": f"IOC Case Flow {process['exporter']}",
        "exporterVersion": "1.0",
    })
    collab = sub(defs, b("collaboration"), {"id": f"{pid}_collaboration"})
    sub(collab, b("participant"), {"id": "ioc_participant", "name": "Trung tâm IOC tỉnh Đắk Lắk",
                                   "processRef": pid})
    sub(defs, b("message"), {"id": "citizen_feedback_message", "name": "citizen_feedback"})

    proc = sub(defs, b("process"), {"id": pid, "name": process["name"], "isExecutable": "true"})
    doc = sub(proc, b("documentation"))
    doc.text = process["documentation"]
    lane_set = sub(proc, b("laneSet"), {"id": f"{pid}_lanes"})
    for lid, lname, _h in LANES:
        lane = sub(lane_set, b("lane"), {"id": lid, "name": lname})
        for n in NODES.values():
            if n["lane"] == lid:
                sub(lane, b("flowNodeRef"), text=n["id"])

    incoming = {nid: [] for nid in NODES}
    outgoing = {nid: [] for nid in NODES}
    for f in FLOWS:
        outgoing[f["src"]].append(f["id"])
        incoming[f["tgt"]].append(f["id"])

    for n in NODES.values():
        attrs = {"id": n["id"]}
        if n["name"]:
            attrs["name"] = n["name"]
        if n.get("default"):
            attrs["default"] = n["default"]
        if n["type"] == "boundaryEvent":
            attrs["attachedToRef"] = n["attached"]
            attrs["cancelActivity"] = "true" if n["cancel"] else "false"
        el = sub(proc, b(n["type"]), attrs)
        ext = None
        if n.get("props"):
            ext = sub(el, b("extensionElements"))
            props = sub(ext, s("properties"))
            for k, v in n["props"].items():
                sub(props, s("property"), {"name": k, "value": v})
        if n.get("instructions"):  # shown above the task's form
            ext = ext if ext is not None else sub(el, b("extensionElements"))
            sub(ext, s("instructionsForEndUser"), text=n["instructions"])
        if n["type"] == "serviceTask":
            ext = sub(el, b("extensionElements"))
            op_attrs = {"id": n["operator"]}
            if n.get("result"):
                op_attrs["resultVariable"] = n["result"]
            op = sub(ext, s("serviceTaskOperator"), op_attrs)
            params = sub(op, s("parameters"))
            for k, v in n["params"].items():
                sub(params, s("parameter"), {"id": k, "type": "any", "value": v})
            if n.get("postscript"):
                sub(ext, s("postScript"), text=n["postscript"])
        if n.get("decision"):
            ext = sub(el, b("extensionElements"))
            sub(ext, s("calledDecisionId"), text=n["decision"])
        for fid in incoming[n["id"]]:
            sub(el, b("incoming"), text=fid)
        for fid in outgoing[n["id"]]:
            sub(el, b("outgoing"), text=fid)
        if n.get("timer"):
            td = sub(el, b("timerEventDefinition"), {"id": f"{n['id']}_definition"})
            formal(td, "timeDate", n["timer"])
        if n.get("message"):
            md = sub(el, b("messageEventDefinition"), {"id": f"{n['id']}_definition",
                                                       "messageRef": n["message"]})
            mext = sub(md, b("extensionElements"))
            sub(mext, s("messageVariable"), text=n["variable"])

    for f in FLOWS:
        attrs = {"id": f["id"], "sourceRef": f["src"], "targetRef": f["tgt"]}
        if f["name"]:
            attrs["name"] = f["name"]
        el = sub(proc, b("sequenceFlow"), attrs)
        if f["cond"]:
            formal(el, "conditionExpression", f["cond"])

    build_di(defs, pid)
    ids = [el.get("id") for el in defs.iter() if el.get("id") is not None and not el.tag.startswith(f"{{{SPIFF}}}")]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, f"ids used twice: {dupes}"
    spiff_ids = {el.get("id") for el in defs.iter(f"{{{SPIFF}}}*") if el.get("id") is not None}
    assert not spiff_ids & set(ids), f"spiffworkflow ids that hide BPMN elements: {sorted(spiff_ids & set(ids))}"
    return etree.ElementTree(defs)


def text_width(text: str) -> int:
    return min(90, max(30, int(len(text) * 6.2)))


def label_box(text: str, cx: float, top: float) -> tuple[float, float, float, float]:
    w = text_width(text)
    lines = max(1, -(-int(len(text) * 6.2) // 90))
    return cx - w / 2, top, w, 14 * lines


def bounds(parent, x, y, w, h, ns=DC):
    sub(parent, f"{{{ns}}}Bounds", {"x": fmt(x), "y": fmt(y), "width": fmt(w), "height": fmt(h)})


def fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def build_di(defs, pid: str = "field_report"):
    diagram = sub(defs, f"{{{BPMNDI}}}BPMNDiagram", {"id": f"{pid}_diagram"})
    plane = sub(diagram, f"{{{BPMNDI}}}BPMNPlane", {"id": f"{pid}_plane", "bpmnElement": f"{pid}_collaboration"})
    shape = sub(plane, f"{{{BPMNDI}}}BPMNShape", {"id": "ioc_participant_di", "bpmnElement": "ioc_participant",
                                                  "isHorizontal": "true"})
    bounds(shape, POOL_X, POOL_Y, POOL_W, POOL_H)
    for lid, _name, _h in LANES:
        y, h = LANE_Y[lid]
        shape = sub(plane, f"{{{BPMNDI}}}BPMNShape", {"id": f"{lid}_di", "bpmnElement": lid,
                                                      "isHorizontal": "true"})
        bounds(shape, LANE_X, y, POOL_W - 30, h)
    # Tasks and gateways first, boundary events after their task so they draw on top.
    ordered = [n for n in NODES.values() if n["type"] != "boundaryEvent"] + \
              [n for n in NODES.values() if n["type"] == "boundaryEvent"]
    for n in ordered:
        attrs = {"id": f"{n['id']}_di", "bpmnElement": n["id"]}
        if n["type"] == "exclusiveGateway":
            attrs["isMarkerVisible"] = "true"
        shape = sub(plane, f"{{{BPMNDI}}}BPMNShape", attrs)
        x, y, w, h = box(n["id"])
        bounds(shape, x, y, w, h)
        kind = KIND[n["type"]]
        if kind != "task" and n["name"]:
            pos = n.get("label", "below")
            tw = text_width(n["name"])
            lx, ly, lw, lh = label_box(n["name"], n["cx"], y + h + 5)
            if pos == "above":
                ly = y - 5 - lh
            elif pos == "left":
                lx, ly = x - 5 - tw, y + h + 2
            elif pos == "right":
                lx, ly = x + w + 5, y + h + 2
            label = sub(shape, f"{{{BPMNDI}}}BPMNLabel")
            bounds(label, lx, ly, lw, lh)
    for f in FLOWS:
        edge = sub(plane, f"{{{BPMNDI}}}BPMNEdge", {"id": f"{f['id']}_di", "bpmnElement": f["id"]})
        for px, py in f["points"]:
            sub(edge, f"{{{DI}}}waypoint", {"x": fmt(px), "y": fmt(py)})
        if f["name"]:
            lx, ly = f["label_at"]
            label = sub(edge, f"{{{BPMNDI}}}BPMNLabel")
            bounds(label, lx, ly, text_width(f["name"]), 14)


# --------------------------------------------------------------------------- DMN

def build_dmn(decision_id, name, inputs, outputs, rules, description):
    """inputs: [(id, label, expression)], outputs: [(id, label, name, typeRef)],
    rules: [(description, [input cells], [output cells])]."""
    defs = etree.Element(f"{{{DMN}}}definitions", nsmap={None: DMN, "dmndi": DMNDI, "dc": DMN_DC}, attrib={
        "id": f"{decision_id}_definitions",
        "name": name,
        "namespace": "http://ioc.daklak.gov.vn/dmn",
        "exporter": "IOC Case Flow generate_field_report.py",
        "exporterVersion": "1.0",
    })
    d = lambda tag: f"{{{DMN}}}{tag}"  # noqa: E731
    decision = sub(defs, d("decision"), {"id": decision_id, "name": name})
    sub(decision, d("description"), text=description)
    table = sub(decision, d("decisionTable"), {"id": f"{decision_id}_table", "hitPolicy": "UNIQUE"})
    for iid, label, expr in inputs:
        inp = sub(table, d("input"), {"id": iid, "label": label})
        ie = sub(inp, d("inputExpression"), {"id": f"{iid}_expression", "typeRef": "string"})
        sub(ie, d("text"), text=expr)
    for oid, label, oname, type_ref in outputs:
        sub(table, d("output"), {"id": oid, "label": label, "name": oname, "typeRef": type_ref})
    for i, (desc, in_cells, out_cells) in enumerate(rules, 1):
        rule = sub(table, d("rule"), {"id": f"{decision_id}_rule_{i}"})
        sub(rule, d("description"), text=desc)
        for j, cell in enumerate(in_cells, 1):
            entry = sub(rule, d("inputEntry"), {"id": f"{decision_id}_rule_{i}_in_{j}"})
            sub(entry, d("text"), text=cell)
        for j, cell in enumerate(out_cells, 1):
            entry = sub(rule, d("outputEntry"), {"id": f"{decision_id}_rule_{i}_out_{j}"})
            sub(entry, d("text"), text=cell)
    dmndi = sub(defs, f"{{{DMNDI}}}DMNDI")
    diagram = sub(dmndi, f"{{{DMNDI}}}DMNDiagram", {"id": f"{decision_id}_diagram"})
    shape = sub(diagram, f"{{{DMNDI}}}DMNShape", {"id": f"{decision_id}_di", "dmnElementRef": decision_id})
    bounds(shape, 160, 100, 180, 80, ns=DMN_DC)
    return etree.ElementTree(defs)


def routing_dmn():
    def rule(desc, category, kind, unit, override="-"):
        return (desc, [override, category, kind], [unit])

    rules = [
        rule("Tổng đài viên chỉ định đơn vị khi phân loại (ví dụ sau khi một đơn vị trả lại): đơn vị đó xử lý",
             "-", "-", "override_unit", override='!= ""'),
        rule("An ninh trật tự: Công an tỉnh xử lý", '"public_security"', "-", '"CA-DLK"'),
        rule("Y tế: Sở Y tế xử lý", '"health"', "-", '"SYT"'),
        rule("Giáo dục: Sở Giáo dục và Đào tạo xử lý", '"education"', "-", '"SGDDT"'),
        rule("Du lịch: Sở Văn hóa, Thể thao và Du lịch xử lý", '"tourism"', "-", '"SVHTTDL"'),
        rule("Ô nhiễm môi trường: Sở Nông nghiệp và Môi trường xử lý", '"pollution"', "-", '"SNNMT"'),
        rule("Điện chiếu sáng ở xã: xã không có đội chiếu sáng, Sở Xây dựng xử lý",
             '"street_lighting"', '"commune"', '"SXD"'),
        rule("Các lĩnh vực còn lại (hạ tầng đô thị, giao thông, điện chiếu sáng ở phường, cấp thoát nước, "
             "cây xanh, vệ sinh môi trường, trật tự đô thị, dịch vụ công, khác): UBND xã/phường nơi xảy ra xử lý",
             "-", "-", "admin_unit"),
    ]
    return build_dmn(
        "field_report_routing", "Đơn vị xử lý theo lĩnh vực và địa bàn",
        [("input_override_unit", "Đơn vị chỉ định", "override_unit"), ("input_category", "Lĩnh vực", "category"),
         ("input_admin_unit_kind", "Loại địa bàn", "admin_unit_kind")],
        [("output_responsible_unit", "Đơn vị xử lý", "responsible_unit", "string")],
        rules,
        "Chọn đơn vị xử lý phản ánh: đơn vị tổng đài viên chỉ định khi phân loại, nếu có; nếu không, theo lĩnh vực "
        "và loại địa bàn (xã/phường). Các ô là biểu thức Python; "
        "quy tắc đầu tiên khớp được dùng, nên quy tắc cụ thể đứng trước và quy tắc cuối cùng bắt mọi trường hợp.",
    )


def sla_dmn():
    rules = [
        ("Ưu tiên cao: xử lý trong 24 giờ, nhắc trước 4 giờ, mỗi cấp chuyển lên có 12 giờ",
         ['"high"'], ["24", "4", "12"]),
        ("Ưu tiên bình thường: xử lý trong 72 giờ, nhắc trước 12 giờ, mỗi cấp chuyển lên có 24 giờ",
         ['"normal"'], ["72", "12", "24"]),
        ("Ưu tiên thấp: xử lý trong 120 giờ, nhắc trước 24 giờ, mỗi cấp chuyển lên có 48 giờ",
         ['"low"'], ["120", "24", "48"]),
        ("Mức ưu tiên khác hoặc chưa đặt: như mức bình thường", ["-"], ["72", "12", "24"]),
    ]
    return build_dmn(
        "field_report_sla", "Thời hạn xử lý theo mức độ ưu tiên",
        [("input_priority", "Mức độ ưu tiên", "priority")],
        [("output_sla_hours", "Thời hạn xử lý (giờ)", "sla_hours", "number"),
         ("output_reminder_hours", "Nhắc trước hạn (giờ)", "reminder_hours", "number"),
         ("output_escalation_hours", "Thời hạn sau mỗi lần chuyển cấp (giờ)", "escalation_hours", "number")],
        rules,
        "Thời hạn xử lý, thời điểm nhắc việc (số giờ trước hạn) và thời hạn cho thủ trưởng đơn vị / cấp trên "
        "sau mỗi lần chuyển cấp, theo mức độ ưu tiên của phản ánh.",
    )


def publication_review_dmn():
    """Whether the unit head reviews the officer's result before it is published, and the review's deadline."""
    rules = [
        ("Ưu tiên cao: thủ trưởng đơn vị duyệt kết quả trước khi công khai, trong 8 giờ làm việc",
         ["-", "-", '"high"'], ["True", "8"]),
        ("Các trường hợp khác: công khai ngay, không cần duyệt (thêm dòng phía trên để bật duyệt cho một lĩnh "
         "vực và đơn vị, ví dụ \"traffic\" và \"P-BUON-MA-THUOT\")", ["-", "-", "-"], ["False", "8"]),
    ]
    return build_dmn(
        "publication_review", "Duyệt kết quả trước khi công khai",
        [("input_category", "Lĩnh vực", "category"), ("input_unit", "Đơn vị xử lý", 'assignment["unit"]'),
         ("input_priority", "Mức độ ưu tiên", "priority")],
        [("output_review", "Thủ trưởng duyệt trước khi công khai", "review", "boolean"),
         ("output_review_hours", "Thời hạn duyệt (giờ làm việc)", "review_hours", "number")],
        rules,
        "Kết quả xử lý của cán bộ có cần thủ trưởng đơn vị duyệt trước khi công khai không, theo lĩnh vực, đơn vị "
        "xử lý và mức độ ưu tiên; và thời hạn duyệt. Các ô là biểu thức Python; quy tắc đầu tiên khớp được dùng, "
        "nên dòng cho một lĩnh vực và đơn vị cụ thể đứng trước và dòng cuối cùng bắt mọi trường hợp.",
    )


def write(tree, name):
    if name.endswith(".bpmn"):
        missing = add_english(tree)
        assert not missing, f"give these names an English form in bpmn/tools/english_names.py: {missing}"
    path = OUT_DIR / name
    tree.write(str(path), xml_declaration=True, encoding="UTF-8", pretty_print=True)
    print("wrote", path)


if __name__ == "__main__":
    layout_problems = check_layout()
    assert not layout_problems, "layout problems:\n  " + "\n  ".join(layout_problems)
    write(build_bpmn(), "field_report.bpmn")
    write(routing_dmn(), "field_report_routing.dmn")
    write(sla_dmn(), "field_report_sla.dmn")
    write(publication_review_dmn(), "field_report_review.dmn")
