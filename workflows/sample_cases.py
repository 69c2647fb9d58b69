"""A handful of demo cases at different stages, so a new demo is not empty."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.models import HumanTask
from workflows.case_service import IntakeRequest
from workflows.models import Case
from workflows.runtime import Services

SAMPLES = [
    # (category, unit, title, description, lat, lon, triage decision or None)
    ("street_lighting", "P-BUON-MA-THUOT", "Đèn đường hỏng trên đường Lê Duẩn",
     "Ba cột đèn liên tiếp không sáng từ tối qua, đoạn gần ngã tư Lê Duẩn – Y Jút.", 12.6797, 108.0442, "accept"),
    ("sanitation", "P-TAN-LAP", "Rác thải tồn đọng tại chợ Tân Lập",
     "Rác không được thu gom 3 ngày, bốc mùi.", 12.6928, 108.0531, "accept"),
    ("traffic", "P-TUY-HOA", "Ổ gà lớn trên đường Trần Hưng Đạo",
     "Ổ gà sâu khoảng 20 cm giữa làn xe máy, đã có người ngã.", 13.0955, 109.3209, "accept"),
    ("water_drainage", "P-EA-KAO", "Cống thoát nước bị tắc gây ngập",
     "Mưa lớn là nước tràn vào nhà dân hai bên đường.", 12.6390, 108.0780, None),
    ("public_security", "X-HOA-PHU", "Tụ tập gây mất trật tự ban đêm",
     "Nhóm thanh niên tụ tập đua xe sau 23 giờ.", 12.6133, 107.9936, None),
]
# Two calls to the 1022 hotline from one number, so that typing 0905 123 456 on the console shows a history:
# (call kind, category, unit, what the caller said)
HOTLINE_SAMPLES = [
    ("information", "public_services", "P-TAN-AN", "Hỏi giờ làm việc của bộ phận một cửa phường Tân An."),
    ("report", "street_lighting", "P-TAN-AN", "Cả tuyến đường Hùng Vương đoạn qua phường Tân An mất đèn từ tối qua."),
]
HOTLINE_CALLER = ("Lê Văn Hùng (demo)", "0905 123 456")


def create_sample_cases(services: Services) -> int:
    """Create the samples when the database has no case yet; how many were made."""
    session = services.session
    if session.scalar(select(func.count()).select_from(Case)):
        return 0
    made = 0
    for category, unit, title, description, lat, lon, decision in SAMPLES:
        case, created = services.cases.intake(IntakeRequest(
            channel="field_report", category=category, admin_unit=unit, title=title, description=description,
            lat=lat, lon=lon, reporter_name="Người dân (demo)", reporter_phone="0900000000",
            idempotency_key=f"demo-sample-{made}"))
        made += int(created)
        if decision:
            task = session.scalar(select(HumanTask).where(HumanTask.business_key == case.code,
                                                          HumanTask.state == "open"))
            if task is not None:
                services.cases.complete_task(task.id, {"decision": decision}, actor="dtv1")
    if services.definitions.latest("hotline_call", missing_ok=True) is None:
        return made  # only field_report deployed (ioc demo deploys the whole bpmn folder first)
    for index, (kind, category, unit, said) in enumerate(HOTLINE_SAMPLES):
        _case, created = services.cases.intake(IntakeRequest(
            channel="hotline", source="hotline", category=category, admin_unit=unit, title=said.rstrip("."),
            description=said, reporter_name=HOTLINE_CALLER[0], reporter_phone=HOTLINE_CALLER[1],
            idempotency_key=f"demo-hotline-{index}", process_data={"call_kind": kind}))
        made += int(created)
    return made
