"""English names of the generated processes' elements, written into the BPMN beside the Vietnamese ones.

Every name a designer gives has a Vietnamese and an English form: the BPMN `name` is Vietnamese, and an element's
English name is its `spiffworkflow:property name="name_en"`. A user task's instructions are Vietnamese in
`spiffworkflow:instructionsForEndUser` and English in the property `instructions_en`; the generators write them as
one text "Vietnamese — English", split here. The engine and the pages show the reader's language.
"""

from __future__ import annotations

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"

NAME_EN = {
    "Báo cáo lãnh đạo (quá hạn)": "Alert the leaders (overdue)",
    "Báo cáo lãnh đạo (ưu tiên cao)": "Alert the leaders (high priority)",
    "Báo cáo lãnh đạo cấp trên": "Alert the leaders above",
    "Báo thủ trưởng IOC (quá hạn)": "Alert the IOC's head (overdue)",
    "Chuyển cấp trên": "Move up a level",
    "Chuyển lãnh đạo đơn vị": "Move to the unit's head",
    "Chuyển đơn vị xử lý khác": "Route to another unit",
    "Chưa xử lý được": "Not resolved yet",
    "Chỉ đạo xử lý (quá hạn)": "Direct the handling (overdue)",
    "Chờ phản hồi của người dân": "Wait for the citizen's feedback",
    "Cuộc gọi đến 1022": "Call to 1022",
    "Cán bộ xử lý": "Officer",
    "Công khai kết quả": "Publish the resolution",
    "Cần duyệt": "Review needed",
    "Cần duyệt?": "Review needed?",
    "Duyệt": "Approved",
    "Duyệt kết quả xử lý": "Review the result",
    "Duyệt?": "Approved?",
    "Ghi nhận kết quả": "Record the resolution",
    "Ghi nhận kết quả gọi lại": "Record the callback",
    "Ghi nhận ý kiến duyệt": "Record the review",
    "Ghi phân loại": "Record the triage",
    "Giao xử lý": "Assign",
    "Gọi lại cho người dân": "Call the citizen back",
    "Gửi thủ trưởng duyệt": "Send to the head for review",
    "Hài lòng": "Satisfied",
    "Hài lòng?": "Satisfied?",
    "Hết thời gian phản hồi": "Feedback time over",
    "Hệ thống": "System",
    "Hỏi thông tin": "Information request",
    "Hợp lệ": "Valid",
    "Hợp lệ?": "Valid?",
    "Khác": "Other",
    "Không cần duyệt": "No review needed",
    "Không duyệt": "Refused",
    "Không hài lòng": "Not satisfied",
    "Không hợp lệ": "Not valid",
    "Loại cuộc gọi?": "Kind of call?",
    "Mở lại phản ánh": "Reopen the case",
    "Người dân phản hồi": "Citizen's feedback",
    "Nhắc hạn": "Deadline reminder",
    "Nhắc phân loại": "Triage reminder",
    "Nhắc việc": "Reminder",
    "Phân loại phản ánh": "Triage the report",
    "Phản ánh": "Report",
    "Quá hạn": "Overdue",
    "Quá hạn lần 2": "Overdue again",
    "Quá hạn phân loại": "Triage overdue",
    "Thời hạn gọi lại": "Callback deadline",
    "Thời hạn phân loại": "Triage deadline",
    "Thủ trưởng đơn vị": "Head of unit",
    "Tiếp nhận phản ánh": "Report received",
    "Trung tâm IOC tỉnh Đắk Lắk": "Đắk Lắk operations centre",
    "Trả lại": "Returned",
    "Trả lại IOC": "Return to the IOC",
    "Trả lại?": "Returned?",
    "Tổng đài viên": "Operator",
    "Xác định cần duyệt": "Decide whether to review",
    "Xác định thời hạn": "Set the deadline",
    "Xác định đơn vị xử lý": "Find the responsible unit",
    "Xử lý cuộc gọi tổng đài 1022": "Handle a 1022 hotline call",
    "Xử lý phản ánh": "Handle the report",
    "Xử lý phản ánh hiện trường": "Handle a field report",
    "Xử lý theo chỉ đạo cấp trên": "Handle as directed from above",
    "Đã báo": "Alerted",
    "Đã nhắc": "Reminded",
    "Đã nhắc việc": "Reminded",
    "Đã trả lời": "Answered",
    "Đã từ chối": "Rejected",
    "Đã xử lý": "Resolved",
    "Đã xử lý xong?": "Resolved?",
    "Đã đóng": "Closed",
    "Đóng (không hợp lệ)": "Close (not valid)",
    "Đóng (không phản hồi)": "Close (no feedback)",
    "Đóng (đã trả lời qua điện thoại)": "Close (answered on the phone)",
    "Đóng phản ánh": "Close the case",
    "Ưu tiên cao": "High priority",
    "Ưu tiên cao?": "High priority?",
}
SKIP = {"message", "definitions"}


def _properties(element: etree._Element) -> etree._Element:
    """The element's spiffworkflow:properties, made (with extensionElements, after any documentation) if missing."""
    ext = element.find(f"{{{BPMN}}}extensionElements")
    if ext is None:
        ext = etree.Element(f"{{{BPMN}}}extensionElements")
        docs = element.findall(f"{{{BPMN}}}documentation")
        element.insert(element.index(docs[-1]) + 1 if docs else 0, ext)
    props = ext.find(f"{{{SPIFF}}}properties")
    if props is None:
        props = etree.SubElement(ext, f"{{{SPIFF}}}properties")
    return props


def add_english(tree: etree._ElementTree) -> list[str]:
    """Write each named element's English name (and a task's English instructions); the names with none."""
    missing = []
    for element in tree.getroot().iter(f"{{{BPMN}}}*"):
        name = element.get("name")
        if not name or etree.QName(element).localname in SKIP:
            continue
        english = NAME_EN.get(name)
        if english is None:
            missing.append(name)
            continue
        etree.SubElement(_properties(element), f"{{{SPIFF}}}property", {"name": "name_en", "value": english})
        ext = element.find(f"{{{BPMN}}}extensionElements")
        instructions = ext.find(f"{{{SPIFF}}}instructionsForEndUser") if ext is not None else None
        if instructions is not None and " — " in (instructions.text or ""):
            vietnamese, english_text = instructions.text.split(" — ", 1)
            instructions.text = vietnamese.strip()
            etree.SubElement(_properties(element), f"{{{SPIFF}}}property",
                             {"name": "instructions_en", "value": english_text.strip()})
    return missing
