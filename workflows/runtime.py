"""Wiring: the operator registry and the services for one session."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.definitions import DefinitionService
from engine.expressions import RestrictedEvaluator
from engine.instances import InstanceService
from engine.registry import OperatorRegistry
from engine.sweep import TimerSweep
from workflows.admin.incidents import IncidentService, notify_incident
from workflows.admin.units import UnitAdmin
from workflows.attachments import FileStore
from workflows.cameras.operators import register_camera_operators
from workflows.case_service import MAX_ATTACHMENT_BYTES, CaseService
from workflows.media import MediaLimits
from workflows.models import Case
from workflows.monitoring.operators import register_kpi_operators
from workflows.operators import register_operators, task_created
from workflows.roles import lane_roles
from workflows.task_service import TaskService

log = logging.getLogger(__name__)
REGISTRY = register_operators(OperatorRegistry())
register_kpi_operators(REGISTRY)  # the monitoring operators (kpi_breach.bpmn)
register_camera_operators(REGISTRY)  # the camera operators (camera_incident.bpmn)
# One evaluator per process: it caches compiled expressions.
EVALUATOR = RestrictedEvaluator()


@dataclass
class Services:
    """The services of one unit of work, sharing its session and clock."""

    session: Session
    definitions: DefinitionService
    instances: InstanceService
    cases: CaseService
    tasks: TaskService
    incidents: IncidentService


def prefetch_cases(session: Session, rows: list) -> list[Case]:
    """Load the cases of a batch of instances in one query (the operators read them)."""
    return list(session.scalars(select(Case).where(Case.process_instance_id.in_([r.id for r in rows]))))


class CaseSweep(TimerSweep):
    """The timer sweep, which also applies the unit changes (mergers, renames…) whose day has come."""

    def __init__(self, *args, timezone: str = "Asia/Ho_Chi_Minh", **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone = timezone

    def run_once(self) -> int:
        """Fire due timers, then apply due unit changes (one indexed look-up when none is due)."""
        fired = super().run_once()
        try:
            with self.session_factory() as session:
                applied = UnitAdmin(session, self.clock, self.timezone).apply_due()
            if applied and self.after_fired is not None:
                self.after_fired()  # the moved tasks' pushes
        except Exception:  # noqa: BLE001 - a failed change is tried again on the next run; timers go on
            log.exception("applying due unit changes failed; trying again on the next sweep")
        self._monitoring()
        self._alerts()
        return fired

    def _alerts(self) -> None:
        """Alert receipts left over (a processing run that failed, a task the broker lost) taken again every
        ALERT_RETRY_EVERY, failed ones included: beat does it in production, this does it in the embedded demo."""
        from workflows.monitoring.alerts import AlertProcessor

        now = self.clock.now()
        last = _ALERTS_LAST_RETRY.get(self.session_factory)
        if last is not None and now - last < ALERT_RETRY_EVERY:
            return
        _ALERTS_LAST_RETRY[self.session_factory] = now
        try:
            AlertProcessor(self.session_factory, lambda session: make_services(session, self.clock), self.clock,
                           after_commit=self.after_fired).run(retry_failed=True)
        except Exception:  # noqa: BLE001 - tried again on the next run; timers go on
            log.exception("processing left-over alert receipts failed; trying again later")

    def _monitoring(self) -> None:
        """The monitoring's periodic work, in the sweep so that the embedded demo runs it too: values left
        unevaluated (a failed or lost evaluation task) every KPI_RETRY_EVERY, the missing-report rule once per
        local day (both idempotent: several processes may do it)."""
        from workflows.monitoring.evaluation import Evaluator, pending_value_ids

        now = self.clock.now()
        key = self.session_factory
        today = now.astimezone(ZoneInfo(self.timezone)).date()
        retry_due = _KPI_LAST_RETRY.get(key) is None or now - _KPI_LAST_RETRY[key] >= KPI_RETRY_EVERY
        if not retry_due and _KPI_LAST_MISSING.get(key) == today:
            return
        try:
            with self.session_factory() as session:
                evaluator = Evaluator(make_services(session, self.clock, after_commit=self.after_fired), self.clock)
                if retry_due:
                    _KPI_LAST_RETRY[key] = now
                    pending = pending_value_ids(session, now - KPI_RETRY_WINDOW)
                    if pending:
                        log.warning("monitoring: %s values were not evaluated; evaluating them now", len(pending))
                        evaluator.evaluate(pending)
                if _KPI_LAST_MISSING.get(key) != today:
                    _KPI_LAST_MISSING[key] = today
                    evaluator.check_missing(today)
        except Exception:  # noqa: BLE001 - tried again on the next run; timers go on
            log.exception("monitoring's periodic evaluation failed; trying again later")


# The monitoring's periodic work in the sweep (per process and database): when it last ran.
KPI_RETRY_EVERY = timedelta(minutes=10)
KPI_RETRY_WINDOW = timedelta(days=7)
_KPI_LAST_RETRY: weakref.WeakKeyDictionary[Any, datetime] = weakref.WeakKeyDictionary()
_KPI_LAST_MISSING: weakref.WeakKeyDictionary[Any, date] = weakref.WeakKeyDictionary()
ALERT_RETRY_EVERY = timedelta(minutes=1)
_ALERTS_LAST_RETRY: weakref.WeakKeyDictionary[Any, datetime] = weakref.WeakKeyDictionary()


def make_sweep(session_factory: Callable[[], Session], clock: Clock = SYSTEM_CLOCK,
               after_fired: Callable[[], None] | None = None, timezone: str = "Asia/Ho_Chi_Minh") -> TimerSweep:
    """The timer sweep over the case services (`after_fired`: hand the outbox to delivery)."""
    return CaseSweep(session_factory, lambda s: make_services(s, clock).instances, clock, prefetch=prefetch_cases,
                     after_fired=after_fired, timezone=timezone)


def make_services(session: Session, clock: Clock = SYSTEM_CLOCK,
                  after_commit: Callable[[], None] | None = None, files: FileStore | None = None,
                  timezone: str = "Asia/Ho_Chi_Minh", max_attachment_bytes: int = MAX_ATTACHMENT_BYTES,
                  media_limits: MediaLimits | None = None) -> Services:
    """Build the engine and case services over `session` (and the attachments' file store)."""
    definitions = DefinitionService(session, REGISTRY, lane_roles(), EVALUATOR)
    instances = InstanceService(session, definitions, REGISTRY, clock, EVALUATOR,
                                on_task_created=lambda task, emit: task_created(session, task, emit),
                                on_incident=lambda incident, emit: notify_incident(session, incident, emit))
    cases = CaseService(session, instances, clock, after_commit, files=files, max_attachment_bytes=max_attachment_bytes,
                        media_limits=media_limits)
    tasks = TaskService(session, clock, cases=cases, instances=instances, timezone=timezone)
    incidents = IncidentService(session, instances, clock, after_commit)
    return Services(session, definitions, instances, cases, tasks, incidents)
