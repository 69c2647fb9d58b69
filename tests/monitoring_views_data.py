"""A small monitoring world for the pages' tests (integration, access matrix, browser): one monthly rate with
a year of values for Buôn Ma Thuột (two breaches, the second with an open case), Tân An reporting late."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.models import AdminUnit, Case
from workflows.monitoring.models import Breach, BreachState, Indicator, Target, Upload, Value, ValueChange

CODE = "DVC-ONLINE"
CASE_CODE = "KPI-2026-000901"


def seed_monitoring(session: Session) -> dict[str, int | str]:
    """Add the indicator, its values, breaches and case (idempotent: a second call returns the same ids)."""
    units = {u.code: u for u in session.scalars(select(AdminUnit).where(AdminUnit.code.in_(
        ["P-BUON-MA-THUOT", "P-TAN-AN", "P-EA-KAO", "STC"])))}
    bmt = units["P-BUON-MA-THUOT"]
    if session.get(Indicator, CODE) is None:
        session.add(Indicator(code=CODE, name="Tỷ lệ hồ sơ trực tuyến toàn trình", name_en="Full online applications",
                              field="public_services", measure_unit="%", measure_unit_en="%", period="monthly",
                              direction="higher", department_id=units["STC"].id, levels=["commune", "ward"],
                              deadline_days=10, min_value=0, max_value=100, decimals=1,
                              category_code="public_services"))
        session.add(Target(indicator_code=CODE, unit_id=None, year=2025, period=None, kind="plan", value=75))
        session.add(Target(indicator_code=CODE, unit_id=None, year=2026, period=None, kind="plan", value=80))
        upload = Upload(filename="bao-cao-dvc.xlsx", sha256="1" * 64, kind="xlsx", uploaded_by="cb.buonmathuot",
                        decision="stored")
        session.add(upload)
        session.flush()
        figures = [78.2, 80.5, 83.0, 81.4, 84.9, 86.0, 85.1, 79.0, 76.4, 82.2, 84.0, 86.5,  # 2025
                   85.2, 81.0, 72.5, 64.0]  # 2026-01 … 2026-04
        case = Case(code=CASE_CODE, channel="kpi", category_code="public_services", title=CODE, description="",
                    status="in_progress", responsible_unit_id=bmt.id, admin_unit_id=bmt.id)
        session.add(case)
        session.flush()
        for n, figure in enumerate(figures):
            year, month = 2025 + n // 12, n % 12 + 1
            period = f"{year}-{month:02d}"
            at = datetime(year + (month == 12), month % 12 + 1, 5, 2, tzinfo=UTC)
            value = Value(indicator_code=CODE, unit_id=bmt.id, period=period, value=figure, reported_at=at,
                          reported_by="cb.buonmathuot", upload_id=upload.id)
            session.add(value)
            session.flush()
            session.add(ValueChange(value_id=value.id, old_value=None, new_value=figure, changed_at=at,
                                    changed_by="cb.buonmathuot", upload_id=upload.id))
            if period in ("2026-03", "2026-04"):
                session.add(Breach(indicator_code=CODE, unit_id=bmt.id, period=period, rule="target",
                                   severity="high", value=figure, expected=80,
                                   case_id=case.id if period == "2026-04" else None))
        session.add(BreachState(indicator_code=CODE, unit_id=bmt.id, status="open", streak=2, last_period="2026-04",
                                last_rule="target", last_severity="high", case_id=case.id))
        for code, figure, day in (("P-TAN-AN", 79.5, 14), ("P-EA-KAO", 91.0, 8)):
            at = datetime(2026, 5, day, 2, tzinfo=UTC)
            value = Value(indicator_code=CODE, unit_id=units[code].id, period="2026-04", value=figure,
                          reported_at=at, reported_by="cb", upload_id=None, source="api")
            session.add(value)
            session.flush()
            session.add(ValueChange(value_id=value.id, old_value=None, new_value=figure, changed_at=at,
                                    changed_by="cb", source="api"))
        session.commit()
    value_id = session.scalar(select(Value.id).where(Value.indicator_code == CODE, Value.unit_id == bmt.id,
                                                     Value.period == "2026-04"))
    target_id = session.scalar(select(Target.id).where(Target.indicator_code == CODE, Target.year == 2025))
    return {"indicator": CODE, "kpi_value": value_id, "kpi_target": target_id, "kpi_case": CASE_CODE}
