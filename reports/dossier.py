"""The dossier of one case for official records (first cut: the case's facts)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.i18n import t
from reports.catalog import ReportData, ReportParams, ReportType, register
from reports.i18n import Translate
from workflows.models import Case


def collect(session: Session, params: ReportParams, translate: Translate) -> ReportData:
    """The case's facts."""
    case = session.scalar(select(Case).where(Case.code == params.case))
    assert case is not None
    return ReportData(title=t("Dossier of case %(code)s", code=case.code), subtitle=case.title,
                      summary={"code": case.code, "status": case.status},
                      extra={"case": case, "unit_code": case.responsible_unit.code if case.responsible_unit else None})


register(ReportType(code="dossier", name=t("Case dossier"), needs=("case",), collect=collect,
                    template="dossier.html"))
