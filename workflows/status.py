"""An overview of what the system holds, for the home page and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from engine.clock import Clock
from engine.i18n import Named
from engine.models import HumanTask, Incident, ProcessDefinition, ProcessInstance, SweepHeartbeat
from workflows.admin.deliveries import undelivered_count
from workflows.case_diagram import process_name_en
from workflows.models import AdminUnit, Case, Category, User


@dataclass(frozen=True)
class DefinitionLine:
    """One deployed process: its newest version and how many instances run on any version."""

    key: str
    name: Named | str  # shown with |tr: the process's name in the reader's language
    version: int
    running: int


@dataclass(frozen=True)
class Overview:
    """Counts shown on the home page."""

    definitions: list[DefinitionLine]
    cases: int
    open_cases: int
    open_tasks: int
    overdue_tasks: int
    open_incidents: int
    units: int
    users: int
    next_timer_at: datetime | None
    sweep_at: datetime | None
    undelivered: int = 0  # outbox messages that failed and wait (workflows/admin/deliveries.py)


@dataclass(frozen=True)
class CaseLine:
    """One case in the overview: no title, no reporter — only what is safe on an open page."""

    code: str
    category: str
    category_en: str
    place: str
    status: str
    unit: str | None
    due_at: datetime | None
    overdue: bool
    place_en: str = ""  # the English names, shown to English readers
    unit_en: str | None = None


def recent_cases(session: Session, clock: Clock, limit: int = 10) -> list[CaseLine]:
    """The newest cases with their status, responsible unit and deadline (one query)."""
    place, unit = aliased(AdminUnit), aliased(AdminUnit)
    rows = session.execute(
        select(Case.code, Category.name, Category.name_en, place.name, Case.status, unit.name, Case.due_at,
               place.name_en, unit.name_en)
        .join(Category, Category.code == Case.category_code)
        .join(place, place.id == Case.admin_unit_id)
        .outerjoin(unit, unit.id == Case.responsible_unit_id)
        .order_by(Case.id.desc()).limit(limit)).all()
    now = clock.now()
    return [CaseLine(code, cat, cat_en, where, status, who, due,
                     bool(due and due < now and status not in ("closed", "rejected", "published", "merged")),
                     where_en or "", who_en)
            for code, cat, cat_en, where, status, who, due, where_en, who_en in rows]


def system_overview(session: Session, clock: Clock) -> Overview:
    """Counts of definitions, cases, tasks, incidents, and the timer sweep's last run."""
    now = clock.now()
    latest = (select(ProcessDefinition.process_key, func.max(ProcessDefinition.version).label("v"))
              .group_by(ProcessDefinition.process_key).subquery())
    rows = session.execute(
        select(ProcessDefinition).join(latest, (ProcessDefinition.process_key == latest.c.process_key)
                                       & (ProcessDefinition.version == latest.c.v))
        .order_by(ProcessDefinition.process_key)).scalars().all()
    running = dict(session.execute(select(ProcessInstance.process_key, func.count())
                                   .where(ProcessInstance.status.notin_(("completed", "cancelled")))
                                   .group_by(ProcessInstance.process_key)).all())
    beat = session.get(SweepHeartbeat, "timers")
    return Overview(
        definitions=[DefinitionLine(r.process_key, Named(r.name, process_name_en(r.files or {}, r.process_key)),
                                    r.version, running.get(r.process_key, 0)) for r in rows],
        cases=session.scalar(select(func.count()).select_from(Case)) or 0,
        open_cases=session.scalar(select(func.count()).select_from(Case)
                                  .where(Case.status.notin_(("closed", "rejected", "merged")))) or 0,
        open_tasks=session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.state == "open")) or 0,
        overdue_tasks=session.scalar(select(func.count()).select_from(HumanTask)
                                     .where(HumanTask.state == "open", HumanTask.due_at < now)) or 0,
        open_incidents=session.scalar(select(func.count()).select_from(Incident)
                                      .where(Incident.resolved_at.is_(None))) or 0,
        units=session.scalar(select(func.count()).select_from(AdminUnit)) or 0,
        users=session.scalar(select(func.count()).select_from(User)) or 0,
        next_timer_at=session.scalar(select(func.min(ProcessInstance.next_timer_at))),
        sweep_at=beat.at if beat else None,
        undelivered=undelivered_count(session),
    )
