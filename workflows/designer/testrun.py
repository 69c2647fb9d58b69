"""Test runs: a draft (or a deployed version) run in a sandbox on sample or copied case data, step by step,
with a simulated clock; a run kept as a test case is re-run before each deploy.

A run is its start data plus a list of steps (a task completed with its data, the clock moved to a
moment), replayed from the beginning on every request in a fresh sandbox (workflows/designer/sandbox.py).
Why replay rather than keep a sandbox database per run: the engine is deterministic under a FrozenClock,
so the same steps give the same state; nothing has to be stored, cleaned up or locked between requests
(two tabs, two workers, a restart lose nothing); and a kept test case is exactly such a list, so
"re-run before deploy" is the same code as the page. Steps name tasks by their BPMN element (task ids are
random per run) and clock moves by the moment they reached, so a changed timer shows in a re-run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.errors import DeploymentError, EngineError, FormError
from engine.forms import BoundSources
from engine.i18n import Named, Text, from_json, t, text_of, to_json
from engine.instances import incident_reason
from engine.models import AuditEvent, HumanTask, Incident, OutboxMessage, ProcessDefinition, ProcessInstance
from workflows.access import Actor
from workflows.case_diagram import DiagramState, bpmn_file_of, names_in
from workflows.case_service import PROCESS_FOR_CHANNEL, IntakeRequest
from workflows.case_view import CaseViewService, TimelineEntry
from workflows.designer.instances import InstanceInspector
from workflows.designer.sandbox import Sandbox, copy_reference_rows
from workflows.errors import CaseNotFoundError, IntakeError
from workflows.models import PRIORITIES, AdminUnit, Case, DesignerTestCase, Notification, Publication, User
from workflows.roles import ROLES
from workflows.units import UnitDirectory

# Clock moves the page offers: key -> what it reads.
MOVES = {"hour": t("+1 hour"), "working_day": t("+1 working day"), "days3": t("+3 days"),
         "next_timer": t("to the next timer")}
START_FIELDS = ("channel", "category", "place", "title", "description", "priority", "address", "lat", "lon", "answers")
MAX_STEPS = 200
MAX_SPAN = timedelta(days=400)  # how far a run's clock may go from its start


class TestRunError(Exception):
    """A run cannot go on: the files, the start data or a step is wrong (`fields`: per field, when a form)."""

    __test__ = False  # not a pytest class

    def __init__(self, message: Text | str, fields: Mapping[str, Any] | None = None, problems: list | None = None):
        self.message, self.fields, self.problems = message, dict(fields or {}), list(problems or [])
        super().__init__(message)


@dataclass(frozen=True)
class TaskInfo:
    """An open task of the run: what the page shows and its form."""

    element_id: str
    name: Named | str
    role: Named | str
    unit: Named | str
    due_at: datetime | None
    performer: str | None  # who would do it (the first holder of the role in the unit), None when nobody could
    fields: list[dict[str, Any]]
    options: dict[str, list[tuple[str, str]]]
    instructions: str = ""
    instructions_en: str = ""


@dataclass(frozen=True)
class EventLine:
    """One line of what happened in the sandbox (history, or what would have been sent or published)."""

    at: datetime
    kind: str  # history, notification, email, publication, incident
    text: Text | str
    detail: Text | str = ""


@dataclass(frozen=True)
class Outcome:
    """Where a run ended: the elements the engine recorded, in order, the open tasks and the statuses."""

    reached: list[str]
    open_tasks: list[str]
    status: str
    case_status: str
    unit: str = ""  # the responsible unit's code at the end (the routing table's answer)

    def as_dict(self) -> dict[str, Any]:
        """As kept with a test case."""
        return {"reached": self.reached, "open_tasks": self.open_tasks, "status": self.status,
                "case_status": self.case_status, "unit": self.unit}


@dataclass
class RunView:
    """A replayed run as the page shows it."""

    start: dict[str, Any]
    steps: list[dict[str, Any]]
    process_key: str
    now: datetime
    case_code: str
    case_status: str
    responsible_unit: Named | str
    case_due_at: datetime | None
    status: str
    tasks: list[TaskInfo]
    next_timer_at: datetime | None
    xml: str
    state: DiagramState
    events: list[EventLine]
    outcome: Outcome
    names: dict[str, Named] = field(default_factory=dict)
    cancelled: list[str] = field(default_factory=list)  # tasks an interrupting timer or message took away


@dataclass(frozen=True)
class Result:
    """A kept test case re-run: passed or not, and why in plain words."""

    name: Named | str
    passed: bool
    message: Text | str = ""
    case_id: int | None = None


def joined_names(names: Mapping[str, Named], elements: list[str]) -> Named | Text:
    """Elements' names joined with commas, in both languages (or "none")."""
    if not elements:
        return t("none")
    named = [names.get(e) or Named(e) for e in elements]
    return Named(", ".join(named), ", ".join(n.en for n in named))


def _parse_at(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise TestRunError(t("the run's moment %(value)s is not a date and time; start the run again",
                             value=repr(str(value)[:40]))) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _sandbox_actor(session: Session) -> Actor:
    """Someone who sees every case of the sandbox (its history and diagram are read through the case view)."""
    ids = frozenset(session.scalars(select(AdminUnit.id)))
    return Actor(user_id=0, username="test-run", full_name="test-run", unit_id=None, language=None,
                 bindings=frozenset({("admin", "-")}), scope_ids=ids)  # an administrator: the step data unmasked


class TestRunService:
    """Test runs of BPMN/DMN files in sandboxes, over the live reference data (read only) of `session`."""

    __test__ = False

    def __init__(self, session: Session, clock: Clock = SYSTEM_CLOCK):
        self.session = session
        self.clock = clock
        self._reference: dict[str, list[dict]] | None = None

    # ------------------------------------------------------------------ what to run
    def files_of_version(self, key: str, version: int | None = None) -> tuple[dict[str, str], ProcessDefinition]:
        """The files of a deployed version (the newest when `version` is None)."""
        query = select(ProcessDefinition).where(ProcessDefinition.process_key == key)
        query = query.where(ProcessDefinition.version == version) if version else \
            query.order_by(ProcessDefinition.version.desc()).limit(1)
        row = self.session.scalar(query)
        if row is None:
            raise TestRunError(t("no deployed process %(key)s version %(version)s; choose one from the library",
                                 key=repr(key), version=version or "-"))
        return dict(row.files), row

    def processes(self) -> list[tuple[str, int, str]]:
        """(key, newest version, name) of every deployed process, by key."""
        newest = (select(ProcessDefinition.process_key, func.max(ProcessDefinition.version).label("version"))
                  .group_by(ProcessDefinition.process_key).subquery())
        rows = self.session.execute(select(ProcessDefinition.process_key, ProcessDefinition.version,
                                           ProcessDefinition.name)
                                    .join(newest, (newest.c.process_key == ProcessDefinition.process_key)
                                          & (newest.c.version == ProcessDefinition.version))
                                    .order_by(ProcessDefinition.process_key))
        return [(key, version, name or key) for key, version, name in rows]

    def sample_start(self, form: Mapping[str, Any]) -> dict[str, Any]:
        """Start data from the sample form (checked when the run starts, against the live lists)."""
        start = {name: form.get(name) for name in START_FIELDS if form.get(name) not in (None, "")}
        start.setdefault("channel", "field_report")
        start.setdefault("description", "")
        start["at"] = form.get("at") or self.clock.now().replace(second=0, microsecond=0).isoformat()
        return start

    def copy_of_case(self, actor: Actor, code: str) -> dict[str, Any]:
        """Start data copied from a real case (no reporter: the sandbox gets the case, not the person)."""
        if not actor.has_role("designer", "admin"):
            raise CaseNotFoundError(t("no case %(code)s; check the tracking code", code=code))
        case = self.session.scalar(select(Case).where(Case.code == (code or "").strip().upper()))
        if case is None:
            raise TestRunError(t("no case %(code)s; check the tracking code", code=(code or "").strip() or "—"),
                               fields={"case": t("no such case; check the tracking code")})
        start = {"channel": case.channel, "category": case.category_code, "place": case.admin_unit.code,
                 "title": case.title, "description": case.description, "priority": case.priority,
                 "address": case.address, "lat": case.lat, "lon": case.lon, "answers": dict(case.answers or {}),
                 "copied_from": case.code}
        start["at"] = self.clock.now().replace(second=0, microsecond=0).isoformat()
        return {k: v for k, v in start.items() if v not in (None, "")}

    # ------------------------------------------------------------------ running
    def reference(self) -> dict[str, list[dict]]:
        """The live reference rows, read once per service."""
        if self._reference is None:
            self._reference = copy_reference_rows(self.session)
        return self._reference

    def run(self, files: Mapping[str, str], start: Mapping[str, Any], steps: list[dict[str, Any]],
            action: Mapping[str, Any] | None = None, lang: str = "vi") -> RunView:
        """Replay `steps` from `start` on `files` in a fresh sandbox, then do `action` (a new step) if given.

        TestRunError says what is wrong: the files' problems, the start data's fields, a step that no longer
        applies, or the new step's form fields. Nothing outside the sandbox is written.
        """
        if len(steps) >= MAX_STEPS:
            raise TestRunError(t("a test run holds at most %(n)s steps; keep this one and start another", n=MAX_STEPS))
        with Sandbox(self.reference(), _parse_at(start.get("at"))) as sandbox:
            case = self._begin(sandbox, files, start)
            done: list[dict[str, Any]] = []
            for number, step in enumerate(steps, 1):
                try:
                    done.append(self._step(sandbox, case, step))
                except TestRunError as exc:
                    raise TestRunError(t("step %(n)s can no longer be replayed: %(reason)s", n=number,
                                         reason=exc.message), exc.fields) from None
            if action:
                done.append(self._step(sandbox, case, dict(action)))
            return self._view(sandbox, case, dict(start), done, lang)

    def _begin(self, sandbox: Sandbox, files: Mapping[str, str], start: Mapping[str, Any]) -> Case:
        try:
            sandbox.deploy(files)
        except DeploymentError as exc:
            raise TestRunError(t("the files do not pass the checks; fix the problems listed, then run again"),
                               problems=exc.problems) from None
        channel = str(start.get("channel") or "field_report")
        if channel not in PROCESS_FOR_CHANNEL:
            raise TestRunError(t("check the start data"), fields={
                "channel": t("must be one of %(choices)s", choices=", ".join(PROCESS_FOR_CHANNEL))})
        sandbox.start_as(PROCESS_FOR_CHANNEL[channel])
        try:
            lat = float(start["lat"]) if start.get("lat") not in (None, "") else None
            lon = float(start["lon"]) if start.get("lon") not in (None, "") else None
        except (TypeError, ValueError):
            raise TestRunError(t("check the start data"), fields={"location": t("must be a number")}) from None
        if not isinstance(start.get("answers") or {}, dict):
            raise TestRunError(t("check the start data"), fields={"answers": t("the answers must be the category's"
                                                                                " questions with their values")})
        request = IntakeRequest(
            channel=channel, category=str(start.get("category") or ""), title=str(start.get("title") or ""),
            admin_unit=str(start.get("place") or ""), description=str(start.get("description") or ""),
            priority=str(start["priority"]) if start.get("priority") else None, address=str(start.get("address") or ""),
            lat=lat, lon=lon, answers=dict(start.get("answers") or {}), source="test-run")
        if request.priority is not None and request.priority not in PRIORITIES:
            raise TestRunError(t("check the start data"), fields={
                "priority": t("must be one of %(choices)s", choices=", ".join(PRIORITIES))})
        try:
            case, _created = sandbox.services.cases.intake(request)
        except IntakeError as exc:
            fields = {("place" if k == "admin_unit" else k): v for k, v in exc.fields.items()}
            raise TestRunError(t("check the start data"), fields=fields) from None
        except EngineError as exc:
            raise TestRunError(t("the process could not start: %(reason)s", reason=text_of(exc))) from None
        return case

    def _step(self, sandbox: Sandbox, case: Case, step: Any) -> dict[str, Any]:
        if not isinstance(step, dict):
            raise TestRunError(t("unknown step %(kind)s; a step completes a task or moves the clock",
                                 kind=repr(str(step)[:40])))
        kind = step.get("kind")
        if kind == "complete":
            return self._complete(sandbox, case, step)
        if kind == "clock":
            return self._move(sandbox, step)
        raise TestRunError(t("unknown step %(kind)s; a step completes a task or moves the clock",
                             kind=repr(str(kind)[:40])))

    def _complete(self, sandbox: Sandbox, case: Case, step: dict[str, Any]) -> dict[str, Any]:
        element = str(step.get("element") or "")
        session = sandbox.session
        task = session.scalar(select(HumanTask).where(HumanTask.business_key == case.code, HumanTask.state == "open",
                                                      HumanTask.element_id == element)
                              .order_by(HumanTask.created_at, HumanTask.id).limit(1))
        if task is None:
            names = self._names(sandbox)
            raise TestRunError(t("task %(task)s is not open (open: %(open)s)", task=names.get(element, element),
                                 open=joined_names(names, self._open_elements(session, case))))
        data = step.get("data") or {}
        if not isinstance(data, dict):
            raise TestRunError(t("the task's data must be its form's fields"))
        performer = self._performer(session, task)
        try:
            sandbox.services.cases.complete_task(task.id, data, performer.username if performer else "test-run")
        except FormError as exc:
            raise TestRunError(t("check the fields marked; the task was not completed"), fields=exc.fields) from None
        except EngineError as exc:
            raise TestRunError(text_of(exc)) from None
        session.expire_all()
        return {"kind": "complete", "element": element, "data": data}

    def _move(self, sandbox: Sandbox, step: dict[str, Any]) -> dict[str, Any]:
        move = str(step.get("move") or "")
        now = sandbox.clock.now()
        if step.get("to"):
            target = _parse_at(step["to"])  # a replayed move goes to the moment it reached, whatever the timers now
        elif move == "hour":
            target = now + timedelta(hours=1)
        elif move == "working_day":
            target = sandbox.working_day_after(now)
        elif move == "days3":
            target = now + timedelta(days=3)
        elif move == "next_timer":
            due = sandbox.next_timer_at()
            if due is None:
                raise TestRunError(t("no timer is waiting; complete a task or move the clock by a fixed time"))
            target = max(now, due + timedelta(seconds=1))
        else:
            raise TestRunError(t("unknown clock move %(move)s; choose one of the buttons", move=repr(move[:40])))
        if target < now:
            raise TestRunError(t("the clock only moves forward"))
        if target - sandbox.started_at > MAX_SPAN:
            raise TestRunError(t("a test run covers at most %(days)s days; keep this run and start another",
                                 days=MAX_SPAN.days))
        sandbox.move_clock(target)
        return {"kind": "clock", "move": move if move in MOVES else "to", "to": target.isoformat()}

    # ------------------------------------------------------------------ reading the sandbox
    def _names(self, sandbox: Sandbox) -> dict[str, Named]:
        definition = sandbox.services.definitions.latest(sandbox.process_key)
        return sandbox.services.instances.element_names(definition)

    @staticmethod
    def _open_elements(session: Session, case: Case) -> list[str]:
        return list(session.scalars(select(HumanTask.element_id).where(
            HumanTask.business_key == case.code, HumanTask.state == "open").order_by(HumanTask.created_at)))

    @staticmethod
    def _performer(session: Session, task: HumanTask) -> User | None:
        directory = UnitDirectory(session)
        unit = directory.by_code(task.candidate_unit) if task.candidate_unit else None
        if unit is None or not task.candidate_role:
            return None
        holders = directory.holders(task.candidate_role, [unit])
        return holders[0] if holders else None

    def outcome(self, sandbox: Sandbox, case: Case) -> Outcome:
        """Where the run stands: recorded elements in order, open tasks, statuses."""
        session = sandbox.session
        session.refresh(case)
        instance = session.get(ProcessInstance, case.process_instance_id) if case.process_instance_id else None
        reached: list[str] = []
        if instance is not None:
            for element in session.scalars(select(AuditEvent.element_id).where(
                    AuditEvent.instance_id == instance.id, AuditEvent.element_id.is_not(None),
                    AuditEvent.kind.in_(("task_created", "task_completed", "service", "message")))
                    .order_by(AuditEvent.id)):
                if element not in reached:
                    reached.append(element)
        return Outcome(reached=reached, open_tasks=sorted(self._open_elements(session, case)),
                       status=instance.status if instance else "none", case_status=case.status,
                       unit=case.responsible_unit.code if case.responsible_unit else "")

    def _view(self, sandbox: Sandbox, case: Case, start: dict[str, Any], steps: list[dict[str, Any]],
              lang: str) -> RunView:
        session = sandbox.session
        outcome = self.outcome(sandbox, case)
        names = self._names(sandbox)
        viewer = CaseViewService(session, sandbox.clock)
        actor = _sandbox_actor(session)
        # The instance view's reading of the stored state (helper D's InstanceInspector over engine trace()):
        # exact per element, where the case page's diagram infers the path from the audit.
        traced = InstanceInspector(session, sandbox.services.instances, sandbox.clock).view(actor, case.code, lang)
        state = DiagramState(done=traced.ids_in("completed"), active=traced.ids_in("active"),
                             waiting=traced.ids_in("waiting"), failed=traced.ids_in("failed"), flows=traced.flows)
        definition = sandbox.services.definitions.latest(sandbox.process_key)
        xml = bpmn_file_of(definition.files, definition.process_key) or ""
        lists = BoundSources(sandbox.services.instances.registry.lists, session)
        tasks = []
        for task in session.scalars(select(HumanTask).where(HumanTask.business_key == case.code,
                                                            HumanTask.state == "open").order_by(HumanTask.created_at)):
            performer = self._performer(session, task)
            unit = UnitDirectory(session).by_code(task.candidate_unit) if task.candidate_unit else None
            fields = list(task.form.get("fields", []))
            tasks.append(TaskInfo(
                element_id=task.element_id, name=Named(task.title, task.title_en),
                role=Named(*ROLES[task.candidate_role]) if task.candidate_role in ROLES else (task.candidate_role or "—"),
                unit=Named(unit.name, unit.name_en) if unit else (task.candidate_unit or "—"), due_at=task.due_at,
                performer=performer.full_name if performer else None, fields=fields,
                options={f["name"]: lists.options(f["source"], lang) for f in fields if f.get("source")},
                instructions=task.form.get("instructions") or "", instructions_en=task.form.get("instructions_en") or ""))
        responsible = case.responsible_unit
        return RunView(
            start=start, steps=steps, process_key=sandbox.process_key or "", now=sandbox.clock.now(),
            case_code=case.code, case_status=case.status,
            responsible_unit=Named(responsible.name, responsible.name_en) if responsible else "—",
            case_due_at=case.due_at, status=outcome.status, tasks=tasks, next_timer_at=sandbox.next_timer_at(),
            xml=names_in(xml, lang), state=state, events=self._events(sandbox, viewer, actor, case, lang),
            outcome=outcome, names=names, cancelled=traced.ids_in("cancelled"))

    def _events(self, sandbox: Sandbox, viewer: CaseViewService, actor: Actor, case: Case,
                lang: str) -> list[EventLine]:
        session = sandbox.session
        lines: list[EventLine] = []
        entry: TimelineEntry
        for entry in viewer.timeline(actor, case.code, lang):
            lines.append(EventLine(entry.at, "history", entry.label, entry.actor or ""))
        people = {u.id: u for u in session.scalars(select(User))}
        for note in session.scalars(select(Notification).order_by(Notification.id)):
            user = people.get(note.user_id)
            title = from_json(note.message["title"]) if note.message else note.title
            lines.append(EventLine(note.created_at, "notification", title,
                                   t("to %(person)s", person=user.full_name if user else "?")))
        for message in session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "email")
                                       .order_by(OutboxMessage.id)):
            payload = message.payload or {}
            subject = (from_json(payload["message"]["title"]) if isinstance(payload.get("message"), dict)
                       else payload.get("subject") or "")
            lines.append(EventLine(message.created_at, "email", subject,
                                   t("to %(address)s", address=payload.get("to") or "?")))
        for publication in session.scalars(select(Publication)):
            lines.append(EventLine(publication.published_at, "publication",
                                   t("Would have published: %(title)s", title=publication.title), publication.resolution))
        for incident in session.scalars(select(Incident)):
            lines.append(EventLine(incident.created_at, "incident", t("The step failed: %(reason)s",
                                                                      reason=incident_reason(incident)),
                                   incident.element_id or ""))
        order = {"history": 0, "notification": 1, "email": 2, "publication": 3, "incident": 4}
        lines.sort(key=lambda line: (line.at, order.get(line.kind, 9)), reverse=True)
        return lines


# ---------------------------------------------------------------------- kept test cases
@dataclass(frozen=True)
class KeptCase:
    """A kept test case as its list shows it."""

    id: int
    process_key: str
    name: Named
    steps: int
    created_by: str
    created_at: datetime
    last_run_at: datetime | None
    last_passed: bool | None
    last_message: Text | str


def compare(expected: Mapping[str, Any], found: Outcome, names: Mapping[str, Named]) -> Text | None:
    """What differs between a kept outcome and a re-run's, in plain words (None when they agree)."""
    def name(element: str) -> Named | str:
        return names.get(element, element)

    stopped = joined_names(names, found.open_tasks or found.reached[-1:])
    wanted = list(expected.get("reached", []))
    for element in wanted:
        if element not in found.reached:
            if wanted[-1] in found.reached:  # it got as far, by another way
                return t("no longer passes through %(expected)s; it went another way and waits at %(stopped)s",
                         expected=name(element), stopped=stopped)
            return t("expected to reach %(expected)s but stopped at %(stopped)s", expected=name(element),
                     stopped=stopped)
    extra = [e for e in found.reached if e not in expected.get("reached", [])]
    if extra:
        return t("now also reaches %(element)s, which the kept run did not", element=name(extra[0]))
    if sorted(expected.get("open_tasks", [])) != sorted(found.open_tasks):
        return t("expected to wait at %(expected)s but waits at %(found)s",
                 expected=joined_names(names, sorted(expected.get("open_tasks", []))),
                 found=joined_names(names, found.open_tasks))
    if expected.get("status") != found.status:
        return t("expected the process to be %(expected)s but it is %(found)s", expected=expected.get("status"),
                 found=found.status)
    if expected.get("unit", found.unit) != found.unit:
        return t("expected the case to go to unit %(expected)s but it went to %(found)s",
                 expected=expected.get("unit") or t("none"), found=found.unit or t("none"))
    if expected.get("case_status") != found.case_status:
        return t("expected the case to be %(expected)s but it is %(found)s", expected=expected.get("case_status"),
                 found=found.case_status)
    return None


class KeptCaseService(TestRunService):
    """Test runs kept as test cases: keep, list, forget, and re-run them on given files."""

    __test__ = False

    def keep(self, files: Mapping[str, str], start: Mapping[str, Any], steps: list[dict[str, Any]],
             name: str, name_en: str, actor: str) -> DesignerTestCase:
        """Replay the run and keep it with the outcome it reaches now (the caller commits)."""
        name, name_en = (name or "").strip(), (name_en or "").strip()
        if not name:
            raise TestRunError(t("name the test case"), fields={"name": t("required")})
        if len(name) > 200 or len(name_en) > 200:
            raise TestRunError(t("name the test case"), fields={"name": t("at most %(n)s characters; shorten it", n=200)})
        view = self.run(files, start, steps)
        process_key = view.process_key
        row = DesignerTestCase(process_key=process_key, name=name, name_en=name_en, start=dict(start),
                               steps=list(view.steps), expected=view.outcome.as_dict(), created_by=actor,
                               created_at=self.clock.now(), last_run_at=self.clock.now(), last_passed=True)
        self.session.add(row)
        self.session.flush()
        return row

    def kept(self, process_key: str | None = None) -> list[KeptCase]:
        """The kept test cases (of one process), by process and name."""
        query = select(DesignerTestCase).order_by(DesignerTestCase.process_key, DesignerTestCase.name)
        if process_key:
            query = query.where(DesignerTestCase.process_key == process_key)
        return [KeptCase(r.id, r.process_key, Named(r.name, r.name_en or None), len(r.steps or []), r.created_by,
                         r.created_at, r.last_run_at, r.last_passed, from_json(r.last_message) if r.last_message else "")
                for r in self.session.scalars(query)]

    def kept_case(self, case_id: int) -> DesignerTestCase:
        """One kept test case (to open its run again)."""
        row = self.session.get(DesignerTestCase, case_id)
        if row is None:
            raise TestRunError(t("no kept test case %(id)s; reload the list", id=case_id))
        return row

    def forget(self, case_id: int) -> None:
        """Delete a kept test case (the caller commits)."""
        self.session.delete(self.kept_case(case_id))

    def rerun(self, process_key: str, files: Mapping[str, str], record: bool = False) -> list[Result]:
        """Re-run every kept test case of `process_key` on `files`; with `record`, keep each result on its row."""
        results = []
        for row in self.session.scalars(select(DesignerTestCase).where(DesignerTestCase.process_key == process_key)
                                        .order_by(DesignerTestCase.name)):
            label = Named(row.name, row.name_en or None)
            try:
                view = self.run(files, row.start, list(row.steps or []))
                message = compare(row.expected or {}, view.outcome, view.names)
            except TestRunError as exc:
                message = exc.message
            results.append(Result(label, message is None, message or "", row.id))
            if record:
                row.last_run_at, row.last_passed = self.clock.now(), message is None
                row.last_message = to_json(message) if message is not None else None
        return results


def rerun_kept_cases(session: Session, process_key: str, files: Mapping[str, str],
                     clock: Clock = SYSTEM_CLOCK) -> list[Result]:
    """Re-run every kept test case of `process_key` on `files` in sandboxes: which pass, which fail and why.

    Called before a deploy; writes nothing (the live session is only read).
    """
    return KeptCaseService(session, clock).rerun(process_key, files)
