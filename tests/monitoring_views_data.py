"""A small monitoring world for the pages' tests (integration, access matrix, browser): one monthly rate with
a year of values for Buôn Ma Thuột (two breaches, the second with an open case), Tân An reporting late."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.models import AdminUnit, Case
from workflows.monitoring.models import Breach, BreachState, Indicator, Target, Upload, Value, ValueChange
from workflows.monitoring.periods import Period

CODE = "DVC-ONLINE"
CASE_CODE = "KPI-2026-000901"


def _at(day, hours: int = 2) -> datetime:
    return datetime.combine(day, time(hours), tzinfo=UTC)


def seed_monitoring(session: Session, code: str = CODE, case_code: str = CASE_CODE,
                    last: str = "2026-04") -> dict[str, int | str]:
    """Add the indicator, its values up to the month `last`, breaches and case (idempotent: a second call
    returns the same ids)."""
    units = {u.code: u for u in session.scalars(select(AdminUnit).where(AdminUnit.code.in_(
        ["P-BUON-MA-THUOT", "P-TAN-AN", "P-EA-KAO", "STC"])))}
    bmt = units["P-BUON-MA-THUOT"]
    newest = Period.parse("monthly", last)
    months = [newest.previous(n) for n in range(15, -1, -1)]
    if session.get(Indicator, code) is None:
        session.add(Indicator(code=code, name="Tỷ lệ hồ sơ trực tuyến toàn trình", name_en="Full online applications",
                              field="public_services", measure_unit="%", measure_unit_en="%", period="monthly",
                              direction="higher", department_id=units["STC"].id, levels=["commune", "ward"],
                              deadline_days=10, min_value=0, max_value=100, decimals=1,
                              category_code="public_services"))
        for year in sorted({m.year for m in months}):
            session.add(Target(indicator_code=code, unit_id=None, year=year, period=None, kind="plan",
                               value=80 if year == newest.year else 75))
        upload = Upload(filename="bao-cao-dvc.xlsx", sha256="1" * 64, kind="xlsx", uploaded_by="cb.buonmathuot",
                        decision="stored")
        session.add(upload)
        session.flush()
        figures = [78.2, 80.5, 83.0, 81.4, 84.9, 86.0, 85.1, 79.0, 76.4, 82.2, 84.0, 86.5, 85.2, 81.0, 72.5, 64.0]
        case = Case(code=case_code, channel="kpi", category_code="public_services", title=code, description="",
                    status="in_progress", responsible_unit_id=bmt.id, admin_unit_id=bmt.id)
        session.add(case)
        session.flush()
        for month, figure in zip(months, figures, strict=True):
            period = month.key
            at = _at(month.last_day + timedelta(days=5))
            value = Value(indicator_code=code, unit_id=bmt.id, period=period, value=figure, reported_at=at,
                          reported_by="cb.buonmathuot", upload_id=upload.id)
            session.add(value)
            session.flush()
            session.add(ValueChange(value_id=value.id, old_value=None, new_value=figure, changed_at=at,
                                    changed_by="cb.buonmathuot", upload_id=upload.id))
            if month >= newest.previous():
                session.add(Breach(indicator_code=code, unit_id=bmt.id, period=period, rule="target",
                                   severity="high", value=figure, expected=80,
                                   case_id=case.id if month == newest else None))
        session.add(BreachState(indicator_code=code, unit_id=bmt.id, status="open", streak=2, last_period=newest.key,
                                last_rule="target", last_severity="high", case_id=case.id))
        for unit_code, figure, days in (("P-TAN-AN", 79.5, 14), ("P-EA-KAO", 91.0, 8)):  # Tân An after the deadline
            at = _at(newest.last_day + timedelta(days=days))
            value = Value(indicator_code=code, unit_id=units[unit_code].id, period=newest.key, value=figure,
                          reported_at=at, reported_by="cb", upload_id=None, source="api")
            session.add(value)
            session.flush()
            session.add(ValueChange(value_id=value.id, old_value=None, new_value=figure, changed_at=at,
                                    changed_by="cb", source="api"))
        session.commit()
    value_id = session.scalar(select(Value.id).where(Value.indicator_code == code, Value.unit_id == bmt.id,
                                                     Value.period == newest.key))
    target_id = session.scalar(select(Target.id).where(Target.indicator_code == code, Target.year == months[0].year))
    return {"indicator": code, "kpi_value": value_id, "kpi_target": target_id, "kpi_case": case_code}
