"""What officials see of a case: summary, history, comments, files, deadlines, nearby cases, diagram.

Every method takes the signed-in `Actor` and refuses a case outside its view
(`AccessDeniedError`) or one that does not exist (`CaseNotFoundError`).

Who sees the reporter: the reporter's name, phone and email are shown only to officials
who hold a role in the case's responsible unit (they may need to call the citizen) or in
the operations centre (which took the report and routes it). Leaders, upper levels,
departments watching a place and everyone else see the case without them.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from engine.clock import SYSTEM_CLOCK, Clock
from engine.i18n import Named, Text, t
from engine.models import AuditEvent, HumanTask, Incident, OutboxMessage, ProcessDefinition, ProcessInstance
from workflows.access import Actor
from workflows.case_diagram import DiagramState, Evidence, bpmn_file_of, diagram_state, names_in, parse_graph
from workflows.case_service import IOC_UNIT_CODE, MERGE_ROLES, MERGEABLE_STATUSES
from workflows.errors import AccessDeniedError, CaseNotFoundError, IntakeError
from workflows.models import AdminUnit, Attachment, Case, CaseComment, CaseEvent, Category, User
from workflows.nearby import OPEN_STATUSES, open_cases_near
from workflows.roles import ROLES
from workflows.task_service import TaskFilter, TaskService
from workflows.units import UnitDirectory

COMMENT_MAX = 5000
NEARBY_METRES = 1000
RELATED_MAX = 10
PAGE_SIZE = 50
STEP_WINDOW = timedelta(seconds=1)
# Types a browser may show inside the page; anything else is downloaded (an SVG or HTML
# file could carry script).
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4", "video/webm",
                          "video/ogg", "video/quicktime"})

STATUS_LABELS = {
    "received": t("received"), "in_progress": t("in progress"), "escalated": t("escalated"),
    "returned": t("returned"), "resolved": t("resolved"), "published": t("published"),
    "reopened": t("reopened"), "closed": t("closed"), "rejected": t("rejected"), "merged": t("merged"),
}
CHANNEL_LABELS = {"field_report": t("Field report"), "hotline": t("Hotline 1022"), "kpi": t("Indicator breach"),
                  "camera": t("Camera incident"), "alert": t("Alert from a monitoring system")}
PRIORITY_LABELS = {"low": t("low"), "normal": t("normal"), "high": t("high")}
# Values the shipped processes' forms and operators use; others are shown as they are.
VALUE_LABELS = {
    "accept": t("Accept"), "reject": t("Reject"), "resolved": t("Resolved"),
    "returned": t("Return to the IOC (not ours)"), **PRIORITY_LABELS,
    # hotline_call's callback
    "yes": t("Yes"), "no": t("No"), "satisfied": t("Satisfied"), "not_resolved": t("Not resolved (reopen the case)"),
    "no_answer": t("No answer / did not say"),
    # the unit head's review of a result
    "approve": t("Approve: record and publish the result"), "refuse": t("Refuse: back to the officer with my note"),
    # the operator's verification of a camera incident (bpmn/camera_incident.bpmn)
    "confirmed": t("Confirmed: a real incident"), "false_alarm": t("False alarm"),
    "accident": t("Traffic accident"), "breakdown": t("Broken-down or stopped vehicle"),
    "congestion": t("Traffic congestion"), "obstacle": t("Obstacle or damage on the road"),
    "camera_fault": t("Camera fault"),
}
# The case fields triage may change (the "reclassified" history line).
RECLASSIFIED_FIELDS = {"priority": t("Priority"), "category": t("Category")}
LEADER_REASONS = {"high_priority": t("high priority"), "escalation_1": t("overdue"),
                  "escalation_2": t("overdue, moved to the level above"), "critical_alert": t("critical alert"),
                  "kpi_breach": t("an indicator breaks its rules"), "traffic_accident": t("traffic accident")}
# The English names of workflows.roles.ROLES, as msgids the catalog translates.
ROLE_LABELS = {"citizen": t("Citizen"), "operator": t("Operator"), "officer": t("Handling officer"),
               "unit_head": t("Unit head"), "leader": t("Leader"), "designer": t("Process designer"),
               "admin": t("Administrator")}
# The case events of monitoring alerts (workflows/monitoring/alerts.py).
ALERT_EVENTS = ("alert_resolved", "alert_refired", "alert_recurred")


def _alert_label(kind: str, d: dict) -> Text:
    """The history line of an alert's event: what its source said."""
    source = Named(d["source_name"], d.get("source_name_en") or d["source_name"]) if d.get("source_name") else "—"
    if kind == "alert_resolved":
        return t("%(source)s says the alert is cleared", source=source)
    if kind == "alert_refired":
        return t("%(source)s raised the alert again", source=source)
    return t("The alert came back after case %(previous)s was closed", previous=d.get("previous_case") or "—")


# The case events of camera incidents (workflows/cameras/incidents.py and operators.py).
CAMERA_EVENTS = ("camera_incident_cleared", "camera_incident_repeated", "camera_verified")
CAMERA_KINDS = {"stopped_vehicle": t("stopped vehicle"), "congestion": t("congestion"),
                "camera_fault": t("camera fault")}
CAMERA_FAULTS = {"no_frames": t("no picture"), "frozen": t("frozen picture"), "covered": t("covered lens"),
                 "defocused": t("blurred picture"), "moved": t("camera turned away")}


def _camera_entry(kind: str, d: dict) -> tuple[Text, list[tuple[Text, str]]]:
    """The history line of a camera incident's event, and its facts."""
    camera = Named(d["camera_name"], d.get("camera_name_en") or d["camera_name"]) if d.get("camera_name") else (
        d.get("camera") or "—")
    what = CAMERA_FAULTS.get(str(d.get("subtype"))) if d.get("kind") == "camera_fault" else None
    what = what or CAMERA_KINDS.get(str(d.get("kind")), str(d.get("kind") or "—"))
    facts: list[tuple[Text, str]] = []
    if kind == "camera_verified":
        if d.get("verdict") == "false_alarm":
            label = t("Judged a false alarm on the snapshot and clip (false alarms of this camera: %(count)s)",
                      count=d.get("false_alarms") if d.get("false_alarms") is not None else "—")
        else:
            label = t("Confirmed on the snapshot and clip: %(situation)s",
                      situation=VALUE_LABELS.get(str(d.get("situation")), str(d.get("situation") or "—")))
        if d.get("note"):
            facts.append((t("Note"), str(d["note"])))
        return label, facts
    if kind == "camera_incident_cleared":
        minutes = max(1, round((d.get("seconds") or 0) / 60))
        label = t("Camera %(camera)s: the %(what)s cleared by itself after about %(minutes)s min", camera=camera,
                  what=what, minutes=minutes)
    else:
        label = t("Camera %(camera)s saw it again: %(what)s", camera=camera, what=what)
    if d.get("confidence") is not None:
        facts.append((t("Confidence"), f"{float(d['confidence']):.0%}"))
    return label, facts


# The case events of indicator breaches (workflows/monitoring/operators.py and evaluation.py).
KPI_EVENTS = ("kpi_breach", "kpi_plan", "kpi_followup", "kpi_followup_waiting")
KPI_VERDICTS = {"recovered": t("back within the rule"), "still_breaching": t("still breaking the rule"),
                "missing": t("not reported")}
KPI_RULES = {"target": t("away from its target"), "pro_rata": t("behind the yearly plan's pro-rata share"),
             "falling": t("worse period after period"), "range": t("outside its range"),
             "outlier": t("unusual against its history"), "missing": t("not reported by the deadline")}


def _kpi_entry(kind: str, d: dict) -> tuple[Text, list[tuple[Text, str]]]:
    """The history line of an indicator breach's event, and its facts."""
    facts: list[tuple[Text, str]] = []
    if kind == "kpi_breach":
        label = t("Indicator %(indicator)s, %(period)s: %(rule)s", indicator=d.get("indicator_name") or
                  d.get("indicator") or "—", period=d.get("period") or "—",
                  rule=KPI_RULES.get(str(d.get("rule")), str(d.get("rule"))))
        for name, key in ((t("Value"), "value"), (t("Expected"), "expected"), (t("Severity"), "severity"),
                          (t("Previous case"), "previous_case")):
            if d.get(key):
                facts.append((name, str(d[key])))
    elif kind == "kpi_plan":
        label = t("Explanation and remedial plan submitted")
        facts += [(t("Explanation"), str(d.get("explanation", ""))), (t("Plan"), str(d.get("plan", ""))),
                  (t("To be completed by"), _day(d.get("plan_due")))]
    else:
        verdict = KPI_VERDICTS.get(str(d.get("verdict")), str(d.get("verdict")))
        label = (t("Next period %(period)s: %(verdict)s", period=d.get("period") or "—", verdict=verdict)
                 if kind == "kpi_followup" else
                 t("Period %(period)s reported before the plan was in: %(verdict)s", period=d.get("period") or "—",
                   verdict=verdict))
        if d.get("value") is not None:
            facts.append((t("Value"), str(d["value"])))
    return label, facts


CLOSE_REASONS = {"rejected": t("not valid"), "satisfied": t("the citizen is satisfied"),
                 "no_feedback": t("no answer from the citizen"), "answered": t("answered on the phone"),
                 "cancelled": t("cancelled by an administrator"), "cleared_at_source": t("cleared at its source"),
                 "resolved": t("handled"), "recovered": t("the indicator is back within its rule"),
                 "false_alarm": t("a false alarm"), "cleared_by_itself": t("the incident cleared by itself")}


@dataclass(frozen=True)
class UnitRef:
    """A unit as shown: code and name in the reader's language."""

    code: str
    name: str


@dataclass(frozen=True)
class CaseRow:
    """One line of the officials' case list."""

    code: str
    title: str
    channel: str
    category: str
    place: str
    status: str
    priority: str
    unit: str | None
    due_at: datetime | None
    created_at: datetime
    overdue: bool


@dataclass(frozen=True)
class CasePage:
    """A page of the case list."""

    rows: list[CaseRow]
    filter: TaskFilter
    page: int
    has_next: bool


@dataclass(frozen=True)
class ReporterInfo:
    """Who reported the case (only for the responsible unit and the IOC)."""

    name: str
    phone: str
    email: str


@dataclass(frozen=True)
class AttachmentInfo:
    """A file of the case."""

    id: int
    filename: str
    content_type: str
    size: int
    media: str  # image, video or file
    public: bool
    uploaded_by: str | None
    created_at: datetime
    stage: str = "report"  # report (before) or resolution (the unit's "after" photo)
    has_thumbnail: bool = False


@dataclass(frozen=True)
class TaskLine:
    """An open task of the case."""

    id: str
    title: Named | str  # shown with |tr
    element_id: str
    role: Text | None
    unit: str | None  # the unit's name
    assignee: str | None  # the holder's name
    due_at: datetime | None
    created_at: datetime
    overdue: bool


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the history: from the case's own events or from the process engine's audit."""

    at: datetime
    source: str  # case or process
    kind: str
    label: Text
    actor: str | None  # the person's name (username when unknown)
    public: bool = False
    facts: list[tuple[Text | str, Text | str]] = field(default_factory=list)


@dataclass(frozen=True)
class CommentInfo:
    """A comment between officials."""

    id: int
    author: str
    username: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class EscalationStep:
    """A level of the escalation chain: who has the case, until when."""

    level: int
    label: Text
    unit: str
    state: str  # done, current or next
    since: datetime | None
    due_at: datetime | None


@dataclass(frozen=True)
class RelatedCase:
    """An open case of the same category nearby."""

    code: str
    title: str
    status: str
    lat: float
    lon: float
    metres: int


@dataclass(frozen=True)
class CaseDetail:
    """Everything the case page shows."""

    code: str
    title: str
    description: str
    channel: str
    category: str
    place: UnitRef
    address: str
    lat: float | None
    lon: float | None
    priority: str
    status: str
    status_label: Text
    responsible_unit: UnitRef | None
    escalation_level: int
    due_at: datetime | None
    overdue: bool
    created_at: datetime
    resolution: str | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reporter: ReporterInfo | None
    reporter_hidden: bool  # there is a reporter, but not for this reader
    attachments: list[AttachmentInfo]
    open_tasks: list[TaskLine]
    timeline: list[TimelineEntry]
    comments: list[CommentInfo]
    escalation: list[EscalationStep]
    related: list[RelatedCase]
    has_process: bool
    incident: bool
    merged_into: str | None = None  # the code of the case this duplicate was merged into
    may_merge: bool = False  # the reader may merge this case into another (CaseService.merge checks again)


@dataclass(frozen=True)
class DiagramView:
    """The BPMN of the case's process and where the case stands on it."""

    process_key: str
    version: int
    xml: str
    state: DiagramState


class CaseViewService:
    """Reads a case for officials, and adds their comments; every method checks the actor's view."""

    def __init__(self, session: Session, clock: Clock = SYSTEM_CLOCK, timezone: str = "Asia/Ho_Chi_Minh",
                 ioc_unit: str = IOC_UNIT_CODE):
        self.session = session
        self.clock = clock
        self.zone = ZoneInfo(timezone)
        self.ioc_unit = ioc_unit

    # ------------------------------------------------------------------ access
    def case(self, actor: Actor, code: str) -> Case:
        """The case with this code if the actor may see it."""
        case = self.session.scalar(select(Case).where(Case.code == (code or "").strip().upper())) if code else None
        if case is None:
            raise CaseNotFoundError(t("no case %(code)s; check the tracking code", code=code))
        if not actor.is_official or not actor.sees_case(case):
            raise AccessDeniedError(t("case %(code)s belongs to a unit outside your view", code=case.code))
        return case

    def may_see_reporter(self, actor: Actor, case: Case) -> bool:
        """True for officials of the responsible unit and of the operations centre (see the module's note)."""
        units = {self.ioc_unit}
        if case.responsible_unit is not None:
            units.add(case.responsible_unit.code)
        return bool(actor.own_unit_codes & units)

    # ------------------------------------------------------------------ the page
    def get(self, actor: Actor, code: str, lang: str = "vi") -> CaseDetail:
        """Everything the case page shows, for the actor and in language `lang` (vi or en)."""
        case = self.case(actor, code)
        now = self.clock.now()
        reporter = None
        if case.reporter is not None and self.may_see_reporter(actor, case):
            reporter = ReporterInfo(case.reporter.name, case.reporter.phone, case.reporter.email)
        tasks = self._tasks(case)
        units = self._units({task.candidate_unit for task in tasks if task.state == "open"}, lang)
        holders = self._names({task.assignee for task in tasks if task.state == "open"})
        open_tasks = [TaskLine(id=task.id, title=Named(task.title, task.title_en), element_id=task.element_id,
                               role=_role(task.candidate_role),
                               unit=units.get(task.candidate_unit or "", task.candidate_unit),
                               assignee=holders.get(task.assignee or "", task.assignee),
                               due_at=task.due_at, created_at=task.created_at,
                               overdue=bool(task.due_at and task.due_at < now))
                      for task in tasks if task.state == "open"]
        incident = case.process_instance_id is not None and bool(self.session.scalar(
            select(func.count()).select_from(Incident).where(Incident.instance_id == case.process_instance_id,
                                                             Incident.resolved_at.is_(None))))
        return CaseDetail(
            code=case.code, title=case.title, description=case.description, channel=case.channel,
            category=_name(case.category, lang), place=UnitRef(case.admin_unit.code, _name(case.admin_unit, lang)),
            address=case.address, lat=case.lat, lon=case.lon, priority=case.priority, status=case.status,
            status_label=STATUS_LABELS.get(case.status, t(case.status)),
            responsible_unit=(UnitRef(case.responsible_unit.code, _name(case.responsible_unit, lang))
                              if case.responsible_unit else None),
            escalation_level=case.escalation_level, due_at=case.due_at,
            overdue=bool(case.due_at and case.due_at < now and case.status in OPEN_STATUSES),
            created_at=case.created_at, resolution=case.resolution, resolved_at=case.resolved_at,
            closed_at=case.closed_at, reporter=reporter,
            reporter_hidden=case.reporter is not None and reporter is None,
            attachments=self._attachments(case), open_tasks=open_tasks,
            timeline=self._timeline(case, tasks, lang), comments=self._comments(case),
            escalation=self._escalation(case, lang), related=self._related(actor, case),
            has_process=case.process_instance_id is not None, incident=incident,
            merged_into=case.merged_into.code if case.merged_into_id is not None else None,
            may_merge=actor.has_role(*MERGE_ROLES) and case.status in MERGEABLE_STATUSES)

    def timeline(self, actor: Actor, code: str, lang: str = "vi") -> list[TimelineEntry]:
        """The case's history, newest first: its own events and its process's audit."""
        case = self.case(actor, code)
        return self._timeline(case, self._tasks(case), lang)

    def comments(self, actor: Actor, code: str) -> list[CommentInfo]:
        """Comments between officials, oldest first."""
        return self._comments(self.case(actor, code))

    def escalation(self, actor: Actor, code: str, lang: str = "vi") -> list[EscalationStep]:
        """The escalation chain: levels, units and deadlines, done, current and next."""
        return self._escalation(self.case(actor, code), lang)

    def related(self, actor: Actor, code: str) -> list[RelatedCase]:
        """Open cases of the same category within about 1 km that the actor may see, nearest first."""
        return self._related(actor, self.case(actor, code))

    # ------------------------------------------------------------------ actions
    def add_comment(self, actor: Actor, code: str, body: str) -> CaseComment:
        """Add a comment between officials (1 to 5000 characters), with a line in the history."""
        case = self.case(actor, code)
        text = (body or "").strip()
        if not text:
            raise IntakeError({"body": t("write a comment before sending it")})
        if len(text) > COMMENT_MAX:
            raise IntakeError({"body": t("a comment is at most %(max)s characters; shorten it", max=COMMENT_MAX)})
        now = self.clock.now()
        try:
            comment = CaseComment(case_id=case.id, author_id=actor.user_id, body=text, created_at=now)
            self.session.add(comment)
            self.session.flush()
            self.session.add(CaseEvent(case_id=case.id, at=now, kind="comment_added", actor=actor.username,
                                       public=False, detail={"comment_id": comment.id}))
            # Open pages of the case hear of it (pushed after commit, like every other change).
            units = [code for code in (case.responsible_unit.code if case.responsible_unit else None,
                                       case.admin_unit.code) if code]
            self.session.add(OutboxMessage(topic="case.comment", created_at=now, payload={
                "case_code": case.code, "units": units, "author": actor.username}))
            case.updated_at = now
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return comment

    def attachment(self, actor: Actor, code: str, attachment_id: int) -> tuple[AttachmentInfo, str]:
        """A file of a case the actor may see, and its sha256 (where the file store keeps it)."""
        case = self.case(actor, code)
        row = self.session.scalar(select(Attachment).where(Attachment.id == attachment_id,
                                                           Attachment.case_id == case.id))
        if row is None:
            raise CaseNotFoundError(t("case %(code)s has no file %(id)s", code=case.code, id=attachment_id))
        return _attachment_info(row), row.sha256

    def thumbnail(self, actor: Actor, code: str, attachment_id: int) -> str:
        """The sha256 of the small JPEG of a photo or video of a case the actor may see."""
        case = self.case(actor, code)
        digest = self.session.scalar(select(Attachment.thumb_sha256).where(Attachment.id == attachment_id,
                                                                           Attachment.case_id == case.id))
        if digest is None:
            raise CaseNotFoundError(t("case %(code)s has no file %(id)s", code=case.code, id=attachment_id))
        return digest

    # ------------------------------------------------------------------ list
    def list_cases(self, actor: Actor, flt: TaskFilter | None = None, page: int = 1, lang: str = "vi") -> CasePage:
        """Cases in the actor's view, newest first, narrowed by `flt` (IntakeError for an unknown place)."""
        flt = flt or TaskFilter()
        page = max(1, page)
        place, unit = aliased(AdminUnit), aliased(AdminUnit)
        query = (select(Case.code, Case.title, Case.channel, Category.name, Category.name_en, place.name,
                        place.name_en, Case.status, Case.priority, unit.name, unit.name_en, Case.due_at,
                        Case.created_at)
                 .join(Category, Category.code == Case.category_code)
                 .join(place, place.id == Case.admin_unit_id)
                 .outerjoin(unit, unit.id == Case.responsible_unit_id))
        # The same filter vocabulary as the task list, so a filter means the same on both pages.
        conditions = TaskService(self.session, self.clock, timezone=str(self.zone)).case_conditions(flt)
        if not actor.is_admin:
            scope = sorted(actor.scope_ids)
            conditions.append(or_(Case.responsible_unit_id.in_(scope), Case.admin_unit_id.in_(scope)))
        rows = self.session.execute(query.where(*conditions).order_by(Case.id.desc())
                                    .limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
        now = self.clock.now()
        en = lang == "en"
        lines = [CaseRow(code=r[0], title=r[1], channel=r[2], category=(r[4] if en and r[4] else r[3]),
                         place=(r[6] if en and r[6] else r[5]), status=r[7], priority=r[8],
                         unit=(r[10] if en and r[10] else r[9]), due_at=r[11], created_at=r[12],
                         overdue=bool(r[11] and r[11] < now and r[7] in OPEN_STATUSES))
                 for r in rows[:PAGE_SIZE]]
        return CasePage(rows=lines, filter=flt, page=page, has_next=len(rows) > PAGE_SIZE)

    # ------------------------------------------------------------------ diagram
    def diagram(self, actor: Actor, code: str, lang: str = "vi") -> DiagramView:
        """The BPMN of the case's process with its elements done, active (open tasks) and waiting; the elements
        named in `lang` (English names where the BPMN gives them)."""
        case = self.case(actor, code)
        instance = self.session.get(ProcessInstance, case.process_instance_id) if case.process_instance_id else None
        if instance is None:
            raise CaseNotFoundError(t("case %(code)s has no process", code=case.code))
        definition = self.session.get(ProcessDefinition, instance.definition_id)
        xml = bpmn_file_of(definition.files or {}, instance.process_key)
        if xml is None:
            raise CaseNotFoundError(t("the definition of process %(key)s has no BPMN file", key=instance.process_key))
        graph = parse_graph(xml, instance.process_key)
        done: dict[str, datetime] = {}
        opened: dict[str, datetime] = {}
        started_at = None
        for kind, element, at in self.session.execute(
                select(AuditEvent.kind, AuditEvent.element_id, AuditEvent.at)
                .where(AuditEvent.instance_id == instance.id).order_by(AuditEvent.id)):
            if kind == "started":
                started_at = at
            elif kind in ("task_completed", "service") and element:
                done[element] = at
            elif kind == "task_created" and element:
                opened[element] = at
            elif kind == "message" and element:
                for catch in graph.catch_messages.get(element, []):
                    done[catch] = at
        active = {element: created for element, created in self.session.execute(
            select(HumanTask.element_id, HumanTask.created_at)
            .where(HumanTask.instance_id == instance.id, HumanTask.state == "open"))}
        failed = frozenset(e for e in self.session.scalars(
            select(Incident.element_id).where(Incident.instance_id == instance.id, Incident.resolved_at.is_(None)))
            if e)
        evidence = Evidence(started_at=started_at, running=instance.status in ("running", "error"), done=done,
                            opened=opened, active=active, failed=failed)
        return DiagramView(process_key=instance.process_key, version=definition.version,
                           xml=names_in(xml, lang), state=diagram_state(graph, evidence))

    # ------------------------------------------------------------------ internals
    def _tasks(self, case: Case) -> list[HumanTask]:
        return list(self.session.scalars(select(HumanTask).where(HumanTask.business_key == case.code)
                                         .order_by(HumanTask.created_at)))

    def _attachments(self, case: Case) -> list[AttachmentInfo]:
        rows = self.session.scalars(select(Attachment).where(Attachment.case_id == case.id)
                                    .order_by(Attachment.created_at, Attachment.id))
        return [_attachment_info(row) for row in rows]

    def _comments(self, case: Case) -> list[CommentInfo]:
        rows = self.session.execute(
            select(CaseComment, User.full_name, User.username).join(User, User.id == CaseComment.author_id)
            .where(CaseComment.case_id == case.id).order_by(CaseComment.created_at, CaseComment.id))
        return [CommentInfo(c.id, name, username, c.body, c.created_at) for c, name, username in rows]

    def _instance_ids(self, case: Case) -> list[int]:
        ids = set(self.session.scalars(select(ProcessInstance.id).where(ProcessInstance.business_key == case.code)))
        if case.process_instance_id is not None:
            ids.add(case.process_instance_id)
        return sorted(ids)

    def _timeline(self, case: Case, tasks: list[HumanTask], lang: str) -> list[TimelineEntry]:
        events = list(self.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)))
        instance_ids = self._instance_ids(case)
        audits = list(self.session.scalars(select(AuditEvent).where(AuditEvent.instance_id.in_(instance_ids)))
                      ) if instance_ids else []
        people = self._names({e.actor for e in events} | {a.actor for a in audits}
                             | {a.detail.get("assignee") for a in audits if a.detail})
        units = self._units({str(e.detail.get("unit")) for e in events if e.detail and e.detail.get("unit")}
                            | {str(a.detail.get("unit")) for a in audits if a.detail and a.detail.get("unit")}, lang)
        by_task = {task.id: task for task in tasks}
        categories = self._category_names(lang)
        entries: list[tuple[tuple, TimelineEntry]] = []
        step_times = sorted({audit.at for audit in audits})
        for event in events:
            entry = self._case_entry(event, people, units, categories)
            # Within one step: the completion first, then what the operators did, then the new tasks.
            entries.append(((_step_of(event, step_times), 1, event.id), entry))
        for audit in audits:
            entry = self._audit_entry(audit, people, units, by_task, categories, lang)
            if entry is not None:
                rank = 2 if audit.kind in ("task_created", "completed") else 0
                entries.append(((audit.at, rank, audit.id), entry))
        for task in tasks:
            if task.state == "cancelled" and task.completed_at is not None:
                # An interrupting timer (the deadline) or message took the task away: the audit has no line for it.
                entries.append(((task.completed_at, 0, 0), TimelineEntry(
                    at=task.completed_at, source="process", kind="task_cancelled",
                    label=t("Task closed without completion (deadline passed or case moved on): %(task)s",
                            task=task.title), actor=None)))
        entries.sort(key=lambda pair: pair[0], reverse=True)
        return [entry for _key, entry in entries]

    def _case_entry(self, event: CaseEvent, people: dict[str, str], units: dict[str, str],
                    categories: dict[str, str] | None = None) -> TimelineEntry:
        d = event.detail or {}
        unit = units.get(str(d.get("unit")), d.get("unit_name") or d.get("unit") or "—")
        facts: list[tuple[Text | str, Text | str]] = []
        kind = event.kind
        if kind == "assigned":
            label = t("Assigned to %(unit)s", unit=unit)
            facts.append((t("Deadline"), self._when(d.get("due_at"))))
        elif kind == "escalated":
            label = t("Escalated to level %(level)s: %(unit)s", level=d.get("level", "?"), unit=unit)
            facts.append((t("New deadline"), self._when(d.get("due_at"))))
        elif kind == "leaders_notified":
            label = t("Leaders informed (%(reason)s): %(count)s people",
                      reason=LEADER_REASONS.get(str(d.get("reason")), str(d.get("reason"))), count=d.get("notified", 0))
        elif kind == "reminder":
            label = t("Reminder sent to %(count)s officials of %(unit)s", count=d.get("notified", 0), unit=unit)
        elif kind == "resolved":
            label = t("Resolution recorded")
        elif kind == "returned":
            label = t("Returned to the IOC by %(unit)s", unit=unit)
            if d.get("reason"):
                facts.append((t("Reason"), str(d["reason"])))
        elif kind == "published":
            label = t("Resolution published on the citizens' portal")
            facts.append((t("Citizens may answer until"), self._when(d.get("feedback_until"))))
        elif kind == "reopened":
            label = t("Reopened: the citizen says it is not resolved")
            if d.get("comment"):
                facts.append((t("Citizen's comment"), str(d["comment"])))
        elif kind == "closed":
            label = t("Closed (%(reason)s)", reason=CLOSE_REASONS.get(str(d.get("reason")), str(d.get("reason"))))
            if d.get("note"):
                facts.append((t("Reason given to the citizen"), str(d["note"])))
        elif kind == "reclassified":
            label = t("Classification changed at triage")
            names = {"priority": PRIORITY_LABELS, "category": categories or {}}
            for name, (before, after) in sorted(d.items()):
                named = names.get(name, {})
                facts.append((RECLASSIFIED_FIELDS.get(name, name), t("%(before)s → %(after)s",
                                                                     before=named.get(before, before),
                                                                     after=named.get(after, after))))
        elif kind == "feedback":
            label = t("The citizen answered: satisfied") if d.get("satisfied") else t(
                "The citizen answered: not resolved")
        elif kind == "attachment_added":
            label = t("File attached: %(name)s", name=d.get("filename", "—"))
        elif kind == "comment_added":
            label = t("Comment added")
        elif kind == "hotline_call":
            label = t("Another call to the 1022 hotline about this case")
            if d.get("note"):
                facts.append((t("The caller said"), str(d["note"])))
        elif kind == "callback":
            label = t("The citizen was called back: %(answer)s",
                      answer=VALUE_LABELS.get(str(d.get("answer")), str(d.get("answer"))))
            if d.get("note"):
                facts.append((t("Note"), str(d["note"])))
        elif kind == "review_requested":
            label = t("Result sent to the unit head for review")
            facts.append((t("Result"), str(d.get("resolution", ""))))
            facts.append((t("Deadline"), self._when(d.get("due_at"))))
        elif kind in ("review_approved", "review_refused"):
            label = t("The unit head approved the result") if kind == "review_approved" else t(
                "The unit head refused the result: back to the officer")
            if d.get("note"):
                facts.append((t("Note"), str(d["note"])))
        elif kind == "merged":
            label = t("Merged into %(code)s (a duplicate)", code=d.get("into", "—"))
        elif kind == "merged_from":
            label = t("Duplicate %(code)s merged into this case", code=d.get("from", "—"))
        elif kind == "unit_succeeded":  # workflows/admin/units.py: the unit ended and its open work moved on
            names = {"old": d.get("from_name") or d.get("from") or "—", "new": d.get("to_name") or d.get("to") or "—",
                     "day": _day(d.get("on"))}
            label = (t("%(old)s merged into %(new)s from %(day)s: the case moves with it", **names)
                     if d.get("change") == "merge" else
                     t("%(old)s dissolved from %(day)s: the case goes to %(new)s", **names))
        elif kind in ALERT_EVENTS:  # workflows/monitoring/alerts.py: what the alert's source said
            label = _alert_label(kind, d)
            if d.get("alertname"):
                facts.append((t("Alert"), str(d["alertname"])))
            if d.get("ends_at"):
                facts.append((t("Ended at the source"), self._when(d.get("ends_at"))))
        elif kind in KPI_EVENTS:
            label, more = _kpi_entry(kind, d)
            facts.extend(more)
        elif kind in CAMERA_EVENTS:
            label, more = _camera_entry(kind, d)
            facts.extend(more)
        else:
            label = t("Event: %(kind)s", kind=kind)
            if d.get("unit"):
                facts.append((t("Unit"), unit))
        actor = people.get(event.actor, event.actor) if event.actor else None
        return TimelineEntry(at=event.at, source="case", kind=kind, label=label, actor=actor, public=event.public,
                             facts=facts)

    def _audit_entry(self, audit: AuditEvent, people: dict[str, str], units: dict[str, str],
                     by_task: dict[str, HumanTask], categories: dict[str, str], lang: str) -> TimelineEntry | None:
        d = audit.detail or {}
        task = by_task.get(str(d.get("task_id"))) if d.get("task_id") else None
        title = Named(task.title, task.title_en) if task else (audit.element_id or "—")
        facts: list[tuple[Text | str, Text | str]] = []
        kind = audit.kind
        if kind == "started":
            label = t("Process started (version %(version)s)", version=d.get("version", "?"))
        elif kind == "task_created":
            label = t("New task: %(task)s", task=title)
            role = _role(d.get("role"))
            if role is not None:
                facts.append((t("For"), t("%(role)s of %(unit)s", role=role,
                                              unit=units.get(str(d.get("unit")), d.get("unit") or "—"))))
            if task is not None and task.due_at is not None:
                facts.append((t("Deadline"), self._local(task.due_at)))
        elif kind == "task_completed":
            label = t("Task completed: %(task)s", task=title)
            fields = {f["name"]: f for f in (task.form or {}).get("fields", [])} if task else {}
            for name, value in (d.get("data") or {}).items():
                spec = fields.get(name, {})
                facts.append((_field_label(spec, name, lang), _value(value, spec, categories)))
        elif kind == "task_claimed":
            label = t("Took the task: %(task)s", task=title)
        elif kind == "task_released":
            label = t("Gave the task back to the unit: %(task)s", task=title)
        elif kind == "task_reassigned":
            assignee = d.get("assignee")
            label = t("Gave the task %(task)s to %(user)s", task=title, user=people.get(assignee, assignee or "—"))
        elif kind == "message":
            label = t("The process received the message %(message)s", message=audit.element_id or "—")
        elif kind == "incident":
            label = t("The process stopped with an error at %(element)s; an administrator must retry it",
                      element=audit.element_id or "—")
        elif kind == "retried":
            label = t("The process was retried")
            if d.get("note"):
                facts.append((t("Note"), str(d["note"])))
        elif kind == "skipped":
            label = t("The failed step %(element)s was skipped", element=audit.element_id or "—")
            facts.append((t("Note"), str(d.get("note") or "—")))
        elif kind == "cancelled":
            label = t("The process was cancelled")
            facts.append((t("Reason"), str(d.get("reason") or "—")))
        elif kind == "completed":
            label = t("Process finished")
        else:
            return None  # service calls: the operators write their own, clearer lines
        actor = people.get(audit.actor, audit.actor) if audit.actor else None
        return TimelineEntry(at=audit.at, source="process", kind=kind, label=label, actor=actor, facts=facts)

    def _escalation(self, case: Case, lang: str) -> list[EscalationStep]:
        rows = list(self.session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id,
                                    CaseEvent.kind.in_(("assigned", "escalated", "returned")))
            .order_by(CaseEvent.at, CaseEvent.id)))
        last_assigned = max((i for i, e in enumerate(rows) if e.kind == "assigned"), default=None)
        if last_assigned is None:
            return []
        units = self._units({str(e.detail.get("unit")) for e in rows if e.detail and e.detail.get("unit")}, lang)
        steps: list[EscalationStep] = []
        returned = False
        for event in rows[last_assigned:]:
            d = event.detail or {}
            unit = units.get(str(d.get("unit")), d.get("unit_name") or "—")
            if event.kind == "assigned":
                steps.append(EscalationStep(0, t("Handling officers"), unit, "done", event.at, _parse(d.get("due_at"))))
            elif event.kind == "escalated":
                level = int(d.get("level") or 0)
                label = t("Unit head") if level == 1 else t("Level above")
                steps.append(EscalationStep(level, label, unit, "done", event.at, _parse(d.get("due_at"))))
            else:
                returned = True
                steps.append(EscalationStep(-1, t("Returned to the IOC"), units.get(self.ioc_unit, self.ioc_unit),
                                            "done", event.at, None))
        live = case.status in OPEN_STATUSES and not returned
        if steps and (live or returned):
            last = steps[-1]
            steps[-1] = EscalationStep(last.level, last.label, last.unit, "current", last.since, last.due_at)
        if live and steps and 0 <= steps[-1].level < 2:
            # What comes if nobody acts: the unit head at the deadline, then the level above.
            current = steps[-1]
            base = case.responsible_unit or case.admin_unit
            if current.level == 0:
                steps.append(EscalationStep(1, t("Unit head"), current.unit, "next", current.due_at, None))
            upper = UnitDirectory(self.session).upper_unit(base, case.category)
            steps.append(EscalationStep(2, t("Level above"), _name(upper, lang), "next",
                                        current.due_at if current.level == 1 else None, None))
        return steps

    def _related(self, actor: Actor, case: Case) -> list[RelatedCase]:
        if case.lat is None or case.lon is None:
            return []
        near = open_cases_near(self.session, case.category_code, case.lat, case.lon, NEARBY_METRES, exclude_id=case.id,
                               scope_ids=None if actor.is_admin else actor.scope_ids, limit=RELATED_MAX)
        return [RelatedCase(r.code, r.title, r.status, r.lat, r.lon, r.metres) for r in near]

    def _names(self, usernames: set[str | None]) -> dict[str, str]:
        wanted = sorted(u for u in usernames if u)
        if not wanted:
            return {}
        return dict(self.session.execute(select(User.username, User.full_name).where(User.username.in_(wanted))).all())

    def _units(self, codes: set[str | None], lang: str) -> dict[str, str]:
        codes = {c for c in codes if c and c != "None"} | {self.ioc_unit}
        rows = self.session.execute(select(AdminUnit.code, AdminUnit.name, AdminUnit.name_en)
                                    .where(AdminUnit.code.in_(sorted(codes))))
        return {code: (name_en if lang == "en" and name_en else name) for code, name, name_en in rows}

    def _category_names(self, lang: str) -> dict[str, str]:
        rows = self.session.execute(select(Category.code, Category.name, Category.name_en))
        return {code: (name_en if lang == "en" and name_en else name) for code, name, name_en in rows}

    def _local(self, moment: datetime | None) -> str:
        return moment.astimezone(self.zone).strftime("%H:%M %d/%m/%Y") if moment else "—"

    def _when(self, iso: Any) -> str:
        return self._local(_parse(iso))


def _step_of(event: CaseEvent, step_times: list[datetime]) -> datetime:
    """When the step that wrote an operator's event was saved (its audit rows' time), else the event's own time.

    A step stamps its audit rows when it is saved, a moment after its operators wrote their
    events (which name no person); sorting by that time keeps a step's lines together.
    """
    if event.actor is not None:
        return event.at  # a person's own action (a file, a comment), not part of a step
    i = bisect_left(step_times, event.at)
    if i < len(step_times) and step_times[i] - event.at <= STEP_WINDOW:
        return step_times[i]
    return event.at


def _parse(iso: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(iso)) if iso else None
    except ValueError:
        return None


def _name(row: Any, lang: str) -> str:
    return row.name_en if lang == "en" and getattr(row, "name_en", "") else row.name


def _role(role: str | None) -> Text | None:
    """A role's name in the reader's language."""
    if not role:
        return None
    return ROLE_LABELS.get(role) or Text(ROLES.get(role, (role, role))[1])


def _field_label(spec: dict[str, Any], name: str, lang: str) -> str:
    """A form field's label as the BPMN declares it, in the reader's language."""
    return (spec.get("label_en") if lang == "en" else None) or spec.get("label") or name


def _value(value: Any, spec: dict[str, Any], categories: dict[str, str]) -> Text | str:
    if isinstance(value, bool):
        return t("yes") if value else t("no")
    if isinstance(value, str) and value in VALUE_LABELS:
        return VALUE_LABELS[value]
    if spec.get("name") == "category" and value in categories:
        return categories[value]
    return "" if value is None else str(value)


def _attachment_info(row: Attachment) -> AttachmentInfo:
    # A photo or video checked by its content (workflows/media.py) is shown whatever its type;
    # older rows are judged by their type.
    kind = row.kind if row.kind in ("image", "video") else (
        row.content_type.split("/", 1)[0] if row.content_type in INLINE_TYPES else "file")
    return AttachmentInfo(id=row.id, filename=row.filename, content_type=row.content_type, size=row.size,
                          media=kind, public=row.public, uploaded_by=row.uploaded_by, created_at=row.created_at,
                          stage=row.stage or "report", has_thumbnail=row.thumb_sha256 is not None)


def _day(iso: Any) -> str:
    """A day stored as ISO text (2026-07-01), as people here write it (01/07/2026)."""
    try:
        return date.fromisoformat(str(iso)).strftime("%d/%m/%Y")
    except ValueError:
        return str(iso or "—")
