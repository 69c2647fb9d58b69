"""Stuck work: the failed steps (incidents) of every case, and what an administrator does about them.

An incident opens when a step of a process fails (an operator refused, an expression failed);
the instance waits. Its unit's administrators are told in the same step (`notify_incident`, the
engine's `on_incident` hook). From the incidents page an administrator or designer retries the
step after a fix (optionally with a corrected variable), skips it with a note (its effect was done
by hand), or cancels the instance with a reason (the case is closed as cancelled). Each action is
written in the audit log (who, when, before, after) and in the case's history, in one transaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.errors import ConflictError
from engine.i18n import Named, Text, t
from engine.instances import RESOLUTIONS, FailedStep, InstanceService, incident_reason
from engine.models import Incident, ProcessDefinition, ProcessInstance
from workflows.access import Actor
from workflows.admin.audit import Target, record, register_actions
from workflows.errors import AccessDeniedError, CaseNotFoundError, IntakeError
from workflows.models import AdminUnit, Case, CaseEvent, User
from workflows.notification_service import notification_for
from workflows.units import UnitDirectory

# Who may see and act on incidents.
INCIDENT_ROLES = ("admin", "designer")
PAGE_SIZE = 50
STATES = ("open", "resolved", "all")
MAX_NOTE = 2000
MAX_ID = 2**63 - 1
MAX_VALUE = 2000
# How a corrected value is read from the form.
VALUE_KINDS = ("text", "number", "boolean", "json")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

RESOLUTION_LABELS = {"retried": t("retried"), "skipped": t("skipped"), "cancelled": t("cancelled")}
register_actions({"incident.retry": t("retry a failed step"), "incident.skip": t("skip a failed step"),
                  "incident.cancel": t("cancel a process instance")},
                 {"incident": t("incident")})


@dataclass(frozen=True)
class ShellActor:
    """Whoever runs the `ioc` command on the server: trusted as an administrator (they hold the database)."""

    username: str = "cli"
    user_id: None = None

    def has_role(self, *roles: str) -> bool:
        """Every role: the shell is the last resort of administration."""
        return True


class IncidentNotFoundError(CaseNotFoundError):
    """No incident with that id."""


@dataclass(frozen=True)
class IncidentRow:
    """One incident as the page lists it."""

    id: int
    instance_id: int
    process_key: str
    version: int
    case_code: str | None
    case_title: str | None
    element_id: str | None
    element_name: Named | str  # translate when shown (the drawn name, or its English form)
    reason: Text | str  # translate when shown (a Text), or the account as recorded
    message: str  # the whole account, in English
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    resolved_by: str | None
    note: str | None

    @property
    def is_open(self) -> bool:
        """True until someone retried, skipped or cancelled."""
        return self.resolved_at is None

    @property
    def resolution_label(self) -> Text | str:
        """How it was resolved, in words (translate when shown)."""
        return RESOLUTION_LABELS.get(self.resolution or "", self.resolution or "")


@dataclass(frozen=True)
class IncidentPage:
    """A page of incidents with the counts the filter shows."""

    rows: list[IncidentRow]
    state: str
    page: int
    pages: int
    total: int
    open_count: int


@dataclass(frozen=True)
class IncidentDetail:
    """One incident with the failed step's data, for the actions' forms."""

    row: IncidentRow
    failed: FailedStep | None
    variables: list[str]  # the names in the failed step's data (the corrected variable's choices)


@dataclass(frozen=True)
class Correction:
    """A corrected variable for a retry, as typed in the form (checked by `correction_data`)."""

    variable: str = ""
    value: str = ""
    kind: str = "text"


def correction_data(correction: Correction) -> dict[str, Any]:
    """The data a retry sets from a corrected variable; IntakeError naming the fields to fix."""
    variable, raw, kind = correction.variable.strip(), correction.value, correction.kind
    if not variable and not raw.strip():
        return {}
    errors: dict[str, Text] = {}
    if not _IDENTIFIER.match(variable):
        errors["variable"] = t("a variable name is letters, digits and _ (not starting with a digit), e.g. unit_code")
    if kind not in VALUE_KINDS:
        errors["kind"] = t("choose how the value is read: %(kinds)s", kinds=", ".join(VALUE_KINDS))
    if len(raw) > MAX_VALUE:
        errors["value"] = t("the value is longer than %(max)s characters", max=MAX_VALUE)
    if errors:
        raise IntakeError(errors)
    text = raw.strip()
    try:
        if kind == "number":
            value: Any = int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(text)
        elif kind == "boolean":
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            value = text.lower() == "true"
        elif kind == "json":
            value = json.loads(text)
        else:
            value = raw
    except ValueError:
        want = {"number": t("a number such as 12 or 2.5"), "boolean": t("true or false"),
                "json": t("JSON such as {\"a\": 1} or [1, 2]")}[kind]
        raise IntakeError({"value": t("the value is not %(wanted)s", wanted=want)}) from None
    return {variable: value}


class IncidentService:
    """Lists incidents with their cases, and retries, skips or cancels them (audited, in the case history)."""

    def __init__(self, session: Session, instances: InstanceService, clock: Clock = SYSTEM_CLOCK,
                 after_commit: Callable[[], None] | None = None):
        self.session = session
        self.instances = instances
        self.clock = clock
        self.after_commit = after_commit or (lambda: None)

    # ------------------------------------------------------------------ reading
    def list(self, state: str = "open", page: int = 1) -> IncidentPage:
        """Incidents newest first: the open ones, the resolved ones, or all."""
        state = state if state in STATES else "open"
        where = []
        if state == "open":
            where.append(Incident.resolved_at.is_(None))
        elif state == "resolved":
            where.append(Incident.resolved_at.is_not(None))
        total = self.session.scalar(select(func.count()).select_from(Incident).where(*where)) or 0
        open_count = total if state == "open" else self.open_count()
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, page), pages)
        incidents = self.session.scalars(select(Incident).where(*where)
                                         .order_by(Incident.created_at.desc(), Incident.id.desc())
                                         .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
        return IncidentPage(self._rows(incidents), state, page, pages, total, open_count)

    def open_count(self) -> int:
        """How many incidents wait for someone."""
        return self.session.scalar(select(func.count()).select_from(Incident)
                                   .where(Incident.resolved_at.is_(None))) or 0

    def has_open(self, instance_id: int) -> bool:
        """Whether an instance has an open incident (a retry that failed again opens a new one)."""
        return self.session.scalar(select(func.count()).select_from(Incident).where(
            Incident.instance_id == instance_id, Incident.resolved_at.is_(None))) > 0

    def detail(self, incident_id: int) -> IncidentDetail:
        """One incident, with the failed step's data when it is still open."""
        incident = self._incident(incident_id)
        [row] = self._rows([incident])
        failed = None
        if incident.resolved_at is None and incident.instance.status == "error":
            steps = self.instances.failed_steps(incident.instance_id)
            failed = next((s for s in steps if s.task_id == incident.task_id), steps[0] if steps else None)
        variables = sorted(k for k in (failed.data if failed else {}) if _IDENTIFIER.match(k))
        return IncidentDetail(row, failed, variables)

    # ------------------------------------------------------------------ acting
    def retry(self, incident_id: int, actor: Actor | ShellActor, correction: Correction | None = None, note: str = "",
              data: dict[str, Any] | None = None) -> IncidentRow:
        """Run the failed step again (with a corrected variable, or `data`, if given); a new incident opens if it fails again."""
        bad = [name for name in (data or {}) if not _IDENTIFIER.match(str(name))]
        if bad:
            raise IntakeError({str(bad[0]): t("a variable name is letters, digits and _ (not starting with a digit),"
                                              " e.g. unit_code")})
        data = {**(data or {}), **correction_data(correction or Correction())}
        return self._act(incident_id, actor, "incident.retry", note, data,
                         lambda incident: self.instances.retry(incident.instance_id, data or None,
                                                               actor=actor.username, note=note))

    def skip(self, incident_id: int, actor: Actor | ShellActor, note: str) -> IncidentRow:
        """Mark the failed step done without running it (its effect was done by hand) and go on; a note is required."""
        if not (note or "").strip():
            raise IntakeError({"note": t("say why the step is skipped")})
        return self._act(incident_id, actor, "incident.skip", note, None,
                         lambda incident: self.instances.skip(incident.instance_id, note.strip(), actor=actor.username))

    def cancel(self, incident_id: int, actor: Actor | ShellActor, reason: str) -> IncidentRow:
        """Stop the instance for good; its case is closed as cancelled. A reason is required."""
        if not (reason or "").strip():
            raise IntakeError({"note": t("say why the process is cancelled")})

        def work(incident: Incident) -> None:
            self.instances.cancel(incident.instance_id, reason.strip(), actor=actor.username)
            case = self._case(incident.instance)
            # Only the case's own process closes it: a side process of the case stops alone.
            if case is not None and case.process_instance_id == incident.instance_id:
                now = self.clock.now()
                case.status, case.closed_at, case.close_reason, case.updated_at = "closed", now, "cancelled", now
                self.session.add(CaseEvent(case_id=case.id, at=now, kind="closed", actor=actor.username, public=True,
                                           detail={"reason": "cancelled"}))

        return self._act(incident_id, actor, "incident.cancel", reason, None, work)

    def _act(self, incident_id: int, actor: Actor | ShellActor, action: str, note: str, data: dict[str, Any] | None,
             work: Callable[[Incident], Any]) -> IncidentRow:
        if not actor.has_role(*INCIDENT_ROLES):
            raise AccessDeniedError(t("only administrators and process designers may act on incidents"))
        if len((note or "").strip()) > MAX_NOTE:
            raise IntakeError({"note": t("the note is longer than %(max)s characters", max=MAX_NOTE)})
        incident = self._incident(incident_id)
        if incident.resolved_at is not None:
            raise ConflictError(t("incident %(id)s was already resolved (%(how)s); reload the page",
                                  id=incident_id, how=RESOLUTION_LABELS.get(incident.resolution or "", "—")))
        [before] = self._rows([incident])
        before_status = incident.instance.status
        try:
            work(incident)
            self.session.flush()
            self.session.refresh(incident)
            [after] = self._rows([incident])
            record(self.session, actor, action, Target("incident", incident.id, _label(before)),
                   before=_state(before, before_status),
                   after={**_state(after, incident.instance.status), **({"data": data} if data else {})},
                   note=(note or "").strip(), clock=self.clock)
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        self.after_commit()
        return after

    # ------------------------------------------------------------------ internals
    def _incident(self, incident_id: int) -> Incident:
        # An id past the database's integers is no incident (PostgreSQL would refuse to bind it).
        incident = self.session.get(Incident, incident_id) if 0 < incident_id <= MAX_ID else None
        if incident is None:
            raise IncidentNotFoundError(t("no incident %(id)s; reload the incidents page", id=incident_id))
        return incident

    def _case(self, instance: ProcessInstance) -> Case | None:
        if not instance.business_key:
            return None
        return self.session.scalar(select(Case).where(Case.code == instance.business_key))

    def _rows(self, incidents: list[Incident]) -> list[IncidentRow]:
        if not incidents:
            return []
        instance_ids = {i.instance_id for i in incidents}
        facts = {r.id: r for r in self.session.execute(
            select(ProcessInstance.id, ProcessInstance.process_key, ProcessDefinition.version,
                   ProcessInstance.business_key, ProcessInstance.definition_id)
            .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
            .where(ProcessInstance.id.in_(instance_ids)))}
        codes = {f.business_key for f in facts.values() if f.business_key}
        titles = {code: title for code, title in self.session.execute(
            select(Case.code, Case.title).where(Case.code.in_(codes)))} if codes else {}
        names: dict[int, dict[str, str]] = {}
        rows = []
        for incident in incidents:
            fact = facts[incident.instance_id]
            if fact.definition_id not in names:
                names[fact.definition_id] = self.instances.element_names(
                    self.session.get(ProcessDefinition, fact.definition_id))
            rows.append(IncidentRow(
                id=incident.id, instance_id=incident.instance_id, process_key=fact.process_key, version=fact.version,
                case_code=fact.business_key if fact.business_key in titles else None,
                case_title=titles.get(fact.business_key), element_id=incident.element_id,
                element_name=names[fact.definition_id].get(incident.element_id or "", ""),
                reason=incident_reason(incident), message=incident.message, created_at=incident.created_at,
                resolved_at=incident.resolved_at, resolution=incident.resolution, resolved_by=incident.resolved_by,
                note=incident.note))
        return rows


def _label(row: IncidentRow) -> str:
    return f"{row.case_code or row.process_key} · {row.element_id or '—'}"


def _state(row: IncidentRow, instance_status: str) -> dict[str, Any]:
    return {"state": "open" if row.is_open else "resolved", "resolution": row.resolution,
            "resolved_by": row.resolved_by, "element": row.element_id, "instance_status": instance_status}


# --------------------------------------------------------------------------- telling the admins


def incident_admins(session: Session, case: Case | None) -> list[User]:
    """Who hears of an incident: admins bound to the case's unit or a unit above it, else the province's."""
    directory = UnitDirectory(session)
    unit = (case.responsible_unit or case.admin_unit) if case is not None else None
    chain = [unit, *directory.ancestors(unit)] if unit is not None else []
    admins = directory.holders("admin", chain)
    if admins:
        return admins
    # The province's administrators: bound to the province itself or to its operations centre.
    provinces = [u for u in chain if u.parent_id is None] or list(
        session.scalars(select(AdminUnit).where(AdminUnit.parent_id.is_(None), AdminUnit.kind == "province")))
    centres = list(session.scalars(select(AdminUnit).where(AdminUnit.parent_id.in_([p.id for p in provinces]),
                                                           AdminUnit.kind == "centre"))) if provinces else []
    return directory.holders("admin", provinces + centres)


def notify_incident(session: Session, incident: Incident, emit: Callable[..., None]) -> int:
    """Inbox rows, pushes and emails for the admins of an incident's case (inside the failing step)."""
    instance = incident.instance
    case = None
    if instance.business_key:
        case = next((c for c in session.new if isinstance(c, Case) and c.code == instance.business_key), None)
        if case is None:
            with session.no_autoflush:
                case = session.scalar(select(Case).where(Case.code == instance.business_key))
    if incident.id is None:
        session.flush()  # its id keys the notices: a retry that fails again at the same moment is a new incident
    where = incident.element_id or "—"
    subject = case.code if case else instance.process_key
    title = t("Process incident in %(subject)s: step %(element)s failed", subject=subject, element=where)
    reason = incident_reason(incident)
    if case is not None:
        body = t("%(title)s. Error: %(reason)s. Handle it on the Incidents page (/admin/incidents).",
                 title=case.title, reason=reason)
    else:
        body = t("Error: %(reason)s. Handle it on the Incidents page (/admin/incidents).", reason=reason)
    sent = 0
    for user in incident_admins(session, case):
        dedupe = f"incident:{incident.id}:{user.id}"
        note, push, email = notification_for(user, case, "incident", title, body, incident.created_at, dedupe)
        session.add(note)
        emit("notification.created", push, f"push:{dedupe}")
        if email:
            emit("email", email, f"email:{dedupe}")
        sent += 1
    return sent


__all__ = ["RESOLUTIONS", "Correction", "ShellActor", "IncidentDetail", "IncidentPage", "IncidentRow", "IncidentService",
           "correction_data", "incident_admins", "notify_incident"]
