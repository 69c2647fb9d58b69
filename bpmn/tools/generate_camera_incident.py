"""Generate bpmn/camera_incident.bpmn and camera_incident_routing.dmn: an incident a camera saw, from the vision
service's report to close.

Drawn with the machinery of generate_field_report.py (the same layout checks, BPMNDI and spiffworkflow:
extensions). The case is opened by workflows/cameras/incidents.py with the camera's code, the incident's kind and
the camera's maintainer unit in its start data. The IOC's operator verifies it on the snapshot and clip shown on
the case page: a false alarm is counted against the camera and closes the case; a confirmed incident is routed by
camera_incident_routing.dmn (a designer changes who handles what, and the deadlines, without code: traffic police
for accidents, breakdowns and congestion, the Department of Construction for an obstacle on the road, the camera's
maintainer for a camera fault), the leaders of the place are told of an accident, the unit resolves it and the
case closes. When the vision service says the incident cleared by itself (message `camera_incident_cleared`)
before anyone verified it, the case closes on its own; after the verification the clearing is only recorded in
the case's history (workflows/cameras/incidents.py writes it).

Run:  .venv/bin/python bpmn/tools/generate_camera_incident.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import english_names  # noqa: E402
import generate_field_report as fr  # noqa: E402
from generate_field_report import B, L, R, T, field, flow, node, q, service, straight  # noqa: E402

CAMERA_INCIDENT = {
    "id": "camera_incident", "name": "Xử lý sự cố phát hiện qua camera", "exporter": "generate_camera_incident.py",
    "documentation": "Sự cố do camera giám sát phát hiện (xe dừng bất thường, ùn tắc giao thông, camera hỏng): "
                     "điều hành viên IOC xác minh trên ảnh và đoạn video; báo sai thì đóng và tính cho camera; "
                     "xác nhận thì giao đơn vị theo bảng định tuyến (cảnh sát giao thông, Sở Xây dựng, đơn vị bảo "
                     "trì camera), báo lãnh đạo khi có tai nạn; đơn vị xử lý xong thì đóng. Sự cố tự hết trước khi "
                     "xác minh thì tự đóng.",
}

# Working hours to verify an incident on the snapshot and clip, by the case's priority (traffic: high).
VERIFY_HOURS = '{"high": 0.5, "normal": 2, "low": 4}.get(priority, 2)'
VERIFY_REMINDER_HOURS = "0.25"
SITUATIONS = "accident,breakdown,congestion,obstacle,camera_fault"

NAMES_EN = {
    "Xử lý sự cố phát hiện qua camera": "Handle an incident seen by a camera",
    "Tổng đài viên": "Operator",
    "Nhận sự cố từ camera": "Incident from a camera",
    "Thời hạn xác minh": "Verification deadline",
    "Xác minh sự cố trên ảnh và video": "Verify the incident on the snapshot and clip",
    "Quá hạn xác minh": "Verification overdue",
    "Báo thủ trưởng IOC (quá hạn xác minh)": "Alert the IOC's head (verification overdue)",
    "Sự cố đã tự hết": "Cleared by itself",
    "Đóng (sự cố đã tự hết)": "Close (cleared by itself)",
    "Ghi nhận kết quả xác minh": "Record the verification",
    "Báo sai?": "False alarm?",
    "Báo sai": "False alarm",
    "Xác nhận": "Confirmed",
    "Đóng (báo sai)": "Close (false alarm)",
    "Xác định đơn vị xử lý và thời hạn": "Choose the unit and deadline",
    "Giao đơn vị xử lý": "Assign to the unit",
    "Tai nạn?": "Accident?",
    "Tai nạn": "Accident",
    "Báo cáo lãnh đạo (tai nạn giao thông)": "Alert the leaders (traffic accident)",
    "Xử lý sự cố": "Handle the incident",
    "Đóng sự cố": "Close the incident",
}
english_names.NAME_EN.update(NAMES_EN)

fr.start_drawing([
    ("lane_operator", "Tổng đài viên", 200),
    ("lane_system", "Hệ thống", 380),
    ("lane_officer", "Cán bộ xử lý", 260),
], pool_right=1900)

Y_OP = 160                               # operator lane
Y_TOP, Y_MAIN, Y_LOW = 330, 450, 560     # system lane rows
Y_OFF, Y_OFF2 = 720, 830                 # officer lane rows
X_VERIFY, X_VERDICT, X_ACCIDENT, X_MERGE, X_HANDLE = 480, 760, 1170, 1380, 1500

# Operator lane: the verification and its outcome
node("start", "startEvent", "Nhận sự cố từ camera", "lane_operator", 210, Y_OP)
service("verify_deadline_task", "Thời hạn xác minh", "lane_operator", 330, Y_OP, "case_deadline",
        {"hours": VERIFY_HOURS, "reminder_hours": VERIFY_REMINDER_HOURS}, result="verify_deadline")
node("verify", "userTask", "Xác minh sự cố trên ảnh và video", "lane_operator", X_VERIFY, Y_OP, props={
    "candidateUnit": "ioc_unit",
    "dueAt": 'verify_deadline["due_at"]',
    "field.verdict": field("choice!:confirmed,false_alarm", "Kết luận", "Verdict"),
    "field.situation": field(f"choice:{SITUATIONS}", "Tình huống (khi xác nhận)", "Situation (when confirmed)"),
    "field.override_unit": field("choice@units", "Đơn vị xử lý (khi chỉ định, thay bảng định tuyến)",
                                 "Responsible unit (when named, instead of the routing table)"),
    "field.verify_note": field("textarea!(verdict=false_alarm)", "Ghi chú (bắt buộc khi báo sai)",
                               "Note (required for a false alarm)"),
}, instructions="Xem ảnh và đoạn video của camera ở trang hồ sơ: xác nhận sự cố (chọn tình huống: tai nạn, xe hỏng, "
                "ùn tắc, vật cản trên đường, camera hỏng) hoặc kết luận báo sai và ghi lý do. — Look at the camera's "
                "snapshot and clip on the case page: confirm the incident (choose the situation: accident, "
                "breakdown, congestion, an obstacle on the road, a camera fault) or judge it a false alarm and say "
                "why.")
node("verify_overdue_timer", "boundaryEvent", "Quá hạn xác minh", "lane_operator", X_VERIFY - 25, Y_OP + 40,
     attached="verify", cancel=False, timer='verify_deadline["due_at"]', label="left")
service("verify_overdue", "Báo thủ trưởng IOC (quá hạn xác minh)", "lane_system", 330, Y_TOP, "notify",
        {"role": q("unit_head"), "unit": "ioc_unit", "kind": q("overdue")})
node("end_verify_overdue", "endEvent", "Đã báo", "lane_system", 210, Y_TOP)
node("cleared", "boundaryEvent", "Sự cố đã tự hết", "lane_operator", X_VERIFY + 25, Y_OP + 40,
     attached="verify", cancel=True, message="camera_incident_cleared_message", variable="cleared", label="right")
service("close_cleared", "Đóng (sự cố đã tự hết)", "lane_system", 620, Y_LOW, "close",
        {"reason": q("cleared_by_itself")})
node("end_cleared", "endEvent", "Đã đóng", "lane_system", 740, Y_LOW)
service("verdict_task", "Ghi nhận kết quả xác minh", "lane_operator", 620, Y_OP, "camera_verdict",
        {"verdict": "verdict", "situation": "situation", "note": "verify_note"})
node("verdict_gateway", "exclusiveGateway", "Báo sai?", "lane_operator", X_VERDICT, Y_OP,
     default="flow_verdict_confirmed", label="above")
service("close_false_alarm", "Đóng (báo sai)", "lane_operator", 900, Y_OP, "close", {"reason": q("false_alarm")})
node("end_false_alarm", "endEvent", "Đã đóng", "lane_operator", 1020, Y_OP)

# System lane: routing, assignment, the leaders of an accident
node("route", "businessRuleTask", "Xác định đơn vị xử lý và thời hạn", "lane_system", X_VERDICT, Y_MAIN,
     decision="camera_incident_routing")
service("assign_task", "Giao đơn vị xử lý", "lane_system", 900, Y_MAIN, "assign",
        {"unit": "responsible_unit", "sla_hours": "sla_hours", "reminder_hours": "reminder_hours"},
        result="assignment")
node("accident_gateway", "exclusiveGateway", "Tai nạn?", "lane_system", X_ACCIDENT, Y_MAIN,
     default="flow_accident_other")
service("notify_accident", "Báo cáo lãnh đạo (tai nạn giao thông)", "lane_system", 1275, Y_TOP, "notify_leaders",
        {"reason": q("traffic_accident"), "up_levels": "0"})
node("accident_merge", "exclusiveGateway", None, "lane_system", X_MERGE, Y_MAIN)

# Officer lane: the unit's handling and its reminder; then the result recorded and the case closed
node("handle", "userTask", "Xử lý sự cố", "lane_officer", X_HANDLE, Y_OFF, props={
    "candidateUnit": 'assignment["unit"]',
    "dueAt": 'assignment["due_at"]',
    "field.resolution": field("textarea!", "Đã làm gì để xử lý sự cố", "What was done about the incident"),
    "field.resolution_note": field("textarea", "Ghi chú nội bộ", "Internal note"),
}, instructions="Xem ảnh, đoạn video và vị trí camera ở trang hồ sơ, xử lý tại hiện trường và ghi lại đã làm gì. — "
                "Look at the snapshot, the clip and the camera's place on the case page, deal with it on the spot "
                "and record what was done.")
node("remind_timer", "boundaryEvent", "Nhắc hạn", "lane_officer", X_HANDLE - 25, Y_OFF + 40,
     attached="handle", cancel=False, timer='assignment["remind_at"]', label="left")
service("remind", "Nhắc việc", "lane_officer", 1340, Y_OFF2, "notify",
        {"role": q("officer"), "unit": 'assignment["unit"]', "kind": q("reminder")})
node("end_reminded", "endEvent", "Đã nhắc việc", "lane_officer", 1210, Y_OFF2)
service("record_resolution_task", "Ghi nhận kết quả", "lane_officer", 1640, Y_OFF, "record_resolution",
        {"resolution": "resolution"})
service("close_resolved", "Đóng sự cố", "lane_officer", 1640, Y_OFF2, "close", {"reason": q("resolved")})
node("end_closed", "endEvent", "Đã đóng", "lane_officer", 1780, Y_OFF2)

# ----------------------------------------------------------------------------- flows
straight("flow_start_deadline", "start", "verify_deadline_task")
straight("flow_deadline_verify", "verify_deadline_task", "verify")
flow("flow_verify_overdue", "verify_overdue_timer", "verify_overdue",
     [B("verify_overdue_timer"), (X_VERIFY - 25, Y_TOP), R("verify_overdue")])
flow("flow_overdue_end", "verify_overdue", "end_verify_overdue", [L("verify_overdue"), R("end_verify_overdue")])
flow("flow_cleared_close", "cleared", "close_cleared", [B("cleared"), (X_VERIFY + 25, Y_LOW), L("close_cleared")])
straight("flow_cleared_end", "close_cleared", "end_cleared")
straight("flow_verify_verdict", "verify", "verdict_task")
straight("flow_verdict_gateway", "verdict_task", "verdict_gateway")
flow("flow_verdict_false", "verdict_gateway", "close_false_alarm", [R("verdict_gateway"), L("close_false_alarm")],
     name="Báo sai", cond='verdict == "false_alarm"', label_at=(792, Y_OP - 22))
straight("flow_false_end", "close_false_alarm", "end_false_alarm")
flow("flow_verdict_confirmed", "verdict_gateway", "route", [B("verdict_gateway"), T("route")],
     name="Xác nhận", label_at=(X_VERDICT + 8, 272))
straight("flow_route_assign", "route", "assign_task")
straight("flow_assign_accident", "assign_task", "accident_gateway")
flow("flow_accident_yes", "accident_gateway", "notify_accident",
     [T("accident_gateway"), (X_ACCIDENT, Y_TOP), L("notify_accident")],
     name="Tai nạn", cond='situation == "accident"', label_at=(X_ACCIDENT - 60, Y_TOP - 26))
flow("flow_accident_other", "accident_gateway", "accident_merge", [R("accident_gateway"), L("accident_merge")],
     name="Khác", label_at=(1260, Y_MAIN - 20))
flow("flow_accident_merge", "notify_accident", "accident_merge",
     [R("notify_accident"), (X_MERGE, Y_TOP), T("accident_merge")])
flow("flow_merge_handle", "accident_merge", "handle", [B("accident_merge"), (X_MERGE, Y_OFF), L("handle")])
flow("flow_remind", "remind_timer", "remind", [B("remind_timer"), (X_HANDLE - 25, Y_OFF2), R("remind")])
flow("flow_remind_end", "remind", "end_reminded", [L("remind"), R("end_reminded")])
straight("flow_handle_record", "handle", "record_resolution_task")
flow("flow_record_close", "record_resolution_task", "close_resolved",
     [B("record_resolution_task"), T("close_resolved")])
straight("flow_close_end", "close_resolved", "end_closed")


def routing_dmn():
    """Who handles a confirmed incident, its deadline and reminder (working hours), by kind and situation."""
    police, roads = '"CSGT-DLK"', '"SXD"'

    def rule(desc, kind, situation, unit, sla, remind):
        # The operator may name the unit in the verification form; the table's unit otherwise.
        return (desc, [kind, situation], [f"override_unit or {unit}", sla, remind])

    rules = [
        rule("Camera hỏng (mất hình, đóng băng, bị che, mờ, lệch hướng): đơn vị bảo trì camera sửa trong 8 giờ làm "
             "việc", '"camera_fault"', "-", "camera_maintainer", "8", "2"),
        rule("Tai nạn giao thông: Phòng Cảnh sát giao thông xử lý trong 1 giờ", "-", '"accident"', police, "1",
             "0.5"),
        rule("Vật cản, hư hỏng mặt đường: Sở Xây dựng xử lý trong 4 giờ", "-", '"obstacle"', roads, "4", "1"),
        rule("Xe hỏng, dừng đỗ bất thường: Phòng Cảnh sát giao thông xử lý trong 2 giờ", "-", '"breakdown"', police,
             "2", "0.5"),
        rule("Ùn tắc giao thông: Phòng Cảnh sát giao thông phân luồng trong 2 giờ", "-", '"congestion"', police, "2",
             "0.5"),
        rule("Tình huống khác: Phòng Cảnh sát giao thông xử lý trong 4 giờ", "-", "-", police, "4", "1"),
    ]
    tree = fr.build_dmn(
        "camera_incident_routing", "Đơn vị xử lý sự cố camera và thời hạn",
        [("input_camera_kind", "Loại sự cố camera phát hiện", "camera_kind"),
         ("input_situation", "Tình huống điều hành viên xác nhận", "situation")],
        [("output_responsible_unit", "Đơn vị xử lý", "responsible_unit", "string"),
         ("output_sla_hours", "Thời hạn xử lý (giờ làm việc)", "sla_hours", "number"),
         ("output_reminder_hours", "Nhắc trước hạn (giờ)", "reminder_hours", "number")],
        rules,
        "Chọn đơn vị xử lý sự cố camera đã xác nhận và thời hạn, theo loại sự cố (stopped_vehicle, congestion, "
        "camera_fault) và tình huống điều hành viên chọn khi xác minh; đơn vị điều hành viên chỉ định (nếu có) "
        "được dùng thay. Các ô là biểu thức Python; quy tắc đầu tiên khớp được dùng, nên quy tắc cụ thể đứng "
        "trước và quy tắc cuối cùng bắt mọi trường hợp.",
    )
    tree.getroot().set("exporter", "IOC Case Flow generate_camera_incident.py")
    return tree


def _message(tree) -> None:
    """The process waits for the message camera_incident_cleared (build_bpmn declares field_report's message)."""
    message = tree.getroot().find(f"{{{fr.BPMN}}}message")
    message.set("id", "camera_incident_cleared_message")
    message.set("name", "camera_incident_cleared")


if __name__ == "__main__":
    problems = fr.check_layout()
    assert not problems, "layout problems:\n  " + "\n  ".join(problems)
    document = fr.build_bpmn(CAMERA_INCIDENT)
    _message(document)
    fr.write(document, "camera_incident.bpmn")
    fr.write(routing_dmn(), "camera_incident_routing.dmn")
