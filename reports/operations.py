"""The weekly or monthly operations report of a unit and everything below it (first cut: the case count)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.i18n import Named, t
from reports.catalog import ReportData, ReportParams, ReportType, register
from reports.i18n import Translate
from workflows.models import Case
from workflows.units import UnitDirectory


def collect(session: Session, params: ReportParams, translate: Translate) -> ReportData:
    """The figures of the report."""
    unit = UnitDirectory(session).by_code(params.unit or "")
    assert unit is not None
    period = params.report_period()
    assert period is not None
    start, end = period.utc_range()
    ids = UnitDirectory(session).descendant_ids(unit)
    received = session.scalar(select(func.count(Case.id)).where(
        Case.admin_unit_id.in_(ids), Case.created_at >= start, Case.created_at < end)) or 0
    summary: dict[str, Any] = {"received": received}
    return ReportData(title=t("Operations report of %(unit)s", unit=Named(unit.name, unit.name_en)),
                      subtitle=period.label(), summary=summary, extra={"unit_code": unit.code})


register(ReportType(code="operations", name=t("Operations report"), needs=("unit", "period"), collect=collect,
                    template="operations.html"))
