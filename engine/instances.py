"""Process instances: start, complete a human task, deliver a message, fire timers.

Every step runs the workflow in memory and then writes, in the caller's
transaction, the serialized state together with the human-task index, the next
timer due time, the audit events, the incidents and the outbox rows. On
PostgreSQL a step locks its instance row, so a second writer waits and then
finds the task gone; the row's version number guards every path besides, so two
writers of one instance never both win: the second gets a ConflictError and
nothing of its step is kept.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, contains_eager
from sqlalchemy.orm.exc import StaleDataError

from engine import clock as engine_clock
from engine import spiff
from engine.definitions import DefinitionService
from engine.errors import (
    ConflictError,
    EngineError,
    ExpressionError,
    NotFoundError,
    OperatorError,
    TaskNotReadyError,
)
from engine.expressions import RestrictedEnvironment, RestrictedEvaluator
from engine.forms import BoundSources, clean_form_data
from engine.i18n import Named, Text, t
from engine.models import AuditEvent, HumanTask, Incident, OutboxMessage, ProcessDefinition, ProcessInstance
from engine.registry import OperatorContext, OperatorRegistry


@dataclass(frozen=True)
class TaskView:
    """An open human task, as the rest of the application sees it."""

    id: str
    element_id: str
    title: str
    candidate_role: str | None
    candidate_unit: str | None
    assignee: str | None
    due_at: datetime | None
    form: dict[str, Any]


@dataclass(frozen=True)
class IncidentView:
    """A failed step as people read it: where (element id and name), why, when."""

    id: int
    element_id: str | None
    element_name: Named | str  # Named: the drawn name with its English form (translate when shown)
    reason: Text | str  # the project's own reason (translatable) or the account as recorded
    created_at: datetime


@dataclass(frozen=True)
class FailedStep:
    """A task in ERROR: its element and the data it failed with (for a retry with corrected data)."""

    task_id: str
    element_id: str
    element_name: str
    data: dict[str, Any]


@dataclass(frozen=True)
class InstanceView:
    """Where an instance stands: what `ioc instance` prints and the web shows."""

    id: int
    process_key: str
    version: int
    business_key: str | None
    status: str
    open_tasks: list[TaskView]
    next_timer_at: datetime | None
    waiting_messages: list[str]
    incidents: list[str]
    data: dict[str, Any] = field(default_factory=dict)
    incident_steps: list[IncidentView] = field(default_factory=list)  # the same incidents, with their element


@dataclass
class _StepLog:
    """What one step produced besides the workflow state."""

    audits: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    completing: tuple[str, str | None] | None = None  # (task id, actor) of a completion
    spiff_seconds: float = 0.0  # time inside SpiffWorkflow (load, run, dump), operators excluded
    operator_seconds: float = 0.0
    new_instance: bool = False  # a started instance has no task rows to compare with
    open_rows: list[HumanTask] | None = None  # the instance's open task rows, when already loaded


@dataclass
class StepStats:
    """How many steps an InstanceService ran and the time SpiffWorkflow took in them."""

    steps: int = 0
    spiff_seconds: float = 0.0


# How an incident was resolved.
RESOLUTIONS = ("retried", "skipped", "cancelled")

# A human task's state as a person reads it (the stored values are English keys).
TASK_STATES = {"open": t("open"), "completed": t("completed"), "cancelled": t("cancelled")}


def _conflict_on_stale(method: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a lost optimistic-version race into a ConflictError, wherever the flush happened.

    SQLAlchemy may flush the versioned instance row early (autoflush before a query),
    so the race can surface anywhere inside a step, not only in the final flush.
    """

    @functools.wraps(method)
    def wrapper(self: InstanceService, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except StaleDataError:
            raise ConflictError(
                t("the process instance was changed by someone else at the same time; reload and try again")
            ) from None

    return wrapper


# Built once (a statement is immutable; building it cost more than running its cached compilation).
_OPEN_TASKS_OF_TASKS_INSTANCE = (
    select(HumanTask).join(HumanTask.instance).options(contains_eager(HumanTask.instance))
    .where(HumanTask.instance_id == select(HumanTask.instance_id).where(HumanTask.id == bindparam("task_id"))
           .scalar_subquery(), HumanTask.state == "open"))


class BatchAbort(Exception):
    """An operator failed during a batch without savepoints: redo the batch carefully."""


class InstanceService:
    """Runs process instances on a SQLAlchemy session; the caller commits."""

    def __init__(self, session: Session, definitions: DefinitionService, registry: OperatorRegistry,
                 clock: engine_clock.Clock = engine_clock.SYSTEM_CLOCK,
                 evaluator: RestrictedEvaluator | None = None,
                 on_task_created: Callable[[HumanTask, Callable[..., None]], None] | None = None,
                 on_incident: Callable[[Incident, Callable[..., None]], None] | None = None):
        self.session = session
        self.definitions = definitions
        # Called inside the step for every new human task, with an `emit(topic, payload, dedupe)`
        # into the step's outbox: what it writes commits (or not) with the task itself.
        self.on_task_created = on_task_created
        # Called inside the step for every new incident, with the same `emit` (its people told in its transaction).
        self.on_incident = on_incident
        self.registry = registry
        self.clock = clock
        self.evaluator = evaluator or definitions.evaluator
        self.environment = RestrictedEnvironment(self.evaluator)
        self.stats = StepStats()
        # Batch mode (the timer sweep's fast path): operators run without savepoints and the
        # open-task rows come from `open_tasks_by_instance`, loaded for the whole batch at once.
        self.batch_mode = False
        self.open_tasks_by_instance: dict[int, list[HumanTask]] | None = None

    def prefetch_open_tasks(self, instance_ids: list[int]) -> None:
        """Load the open task rows of many instances in one query (for a batch of steps)."""
        grouped: dict[int, list[HumanTask]] = {i: [] for i in instance_ids}
        if instance_ids:
            for task in self.session.scalars(select(HumanTask).where(HumanTask.instance_id.in_(instance_ids),
                                                                     HumanTask.state == "open")):
                grouped[task.instance_id].append(task)
        self.open_tasks_by_instance = grouped

    # ------------------------------------------------------------------ public steps
    def start(self, process_key: str, data: dict[str, Any], business_key: str | None = None,
              actor: str | None = None) -> ProcessInstance:
        """Start the newest version of `process_key` with `data` on its start event."""
        definition = self.definitions.latest(process_key)
        compiled = self.definitions.compiled(definition)
        row = ProcessInstance(definition=definition, definition_id=definition.id, process_key=process_key,
                              business_key=business_key, status="running", state="",
                              state_format=spiff.STATE_FORMAT, created_at=self.clock.now())
        # Not flushed yet: the row is inserted once, with its state, when the step is saved
        # (or earlier, if an operator of the first step needs its id).
        self.session.add(row)
        log = _StepLog(new_instance=True)
        log.audits.append({"kind": "started", "actor": actor,
                           "detail": {"version": definition.version}})
        script_engine = spiff.make_script_engine(self.environment, self._service_handler(row, log))
        started = time.perf_counter()
        runner = spiff.Runner.start(compiled, script_engine, data)
        log.spiff_seconds += time.perf_counter() - started
        self._advance(row, runner, log, lambda r: None)
        return row

    @_conflict_on_stale
    def complete_task(self, task_id: str, data: dict[str, Any], actor: str | None = None) -> ProcessInstance:
        """Complete an open human task with form data checked against its declared form."""
        # One query: every open task of the task's instance, with the instance itself.
        open_rows = list(self.session.scalars(self._locking(_OPEN_TASKS_OF_TASKS_INSTANCE),
                                              {"task_id": task_id}).unique())
        task_row = next((t for t in open_rows if t.id == task_id), None)
        if task_row is None:
            existing = self.session.get(HumanTask, task_id)
            if existing is None:
                raise NotFoundError(t("no task %(task)s; check the task id", task=task_id))
            raise TaskNotReadyError(t("task %(task)s is already %(state)s; reload the task list",
                                      task=task_id, state=TASK_STATES.get(existing.state, existing.state)))
        clean = clean_form_data(task_row.form.get("fields", []), data, BoundSources(self.registry.lists, self.session))
        row = task_row.instance
        if row.status == "completed":
            raise ConflictError(t("instance %(instance)s has completed", instance=row.id))
        log = _StepLog(open_rows=open_rows)
        runner = self._load_runner(row, log)
        if runner.task_state(task_id) != "READY":
            raise TaskNotReadyError(t("task %(task)s is no longer open; reload the task list", task=task_id))
        log.audits.append({"kind": "task_completed", "element_id": task_row.element_id, "actor": actor,
                           "detail": {"task_id": task_id, "data": clean}})
        log.completing = (task_id, actor)
        self._advance(row, runner, log, lambda r: r.complete(task_id, clean))
        return row

    @_conflict_on_stale
    def send_message(self, instance_id: int, name: str, payload: dict[str, Any],
                     actor: str | None = None) -> ProcessInstance:
        """Deliver BPMN message `name` with `payload` to an instance that waits for it."""
        row = self._load_row(instance_id)
        log = _StepLog()
        runner = self._load_runner(row, log)
        if name not in runner.waiting_messages():
            raise ConflictError(t("instance %(instance)s is not waiting for message %(message)s now",
                                  instance=instance_id, message=repr(name)))
        log.audits.append({"kind": "message", "element_id": name, "actor": actor, "detail": {"payload": payload}})
        self._advance(row, runner, log, lambda r: r.send_message(name, payload))
        return row

    @_conflict_on_stale
    def fire_due_timers(self, row: ProcessInstance) -> bool:
        """Fire the due timers of a locked, loaded instance row; True if anything moved."""
        prefetched = self.open_tasks_by_instance.get(row.id) if self.open_tasks_by_instance is not None else None
        log = _StepLog(open_rows=prefetched)
        runner = self._load_runner(row, log)
        due = runner.next_timer_at()
        if due is None or due >= self.clock.now():
            # Nothing is due by the state itself: mend the index column, write nothing else.
            if row.next_timer_at != due:
                row.next_timer_at = due
            return False
        self._advance(row, runner, log, lambda r: r.workflow.refresh_timers())
        return True

    @_conflict_on_stale
    def retry(self, instance_id: int, data: dict[str, Any] | None = None,
              actor: str | None = None, note: str | None = None) -> ProcessInstance:
        """Run the failed steps of an instance again, optionally with corrected data.

        The open incidents are resolved as "retried"; if the step fails again, a new one opens.
        """
        row = self._load_row(instance_id)
        log = _StepLog()
        runner = self._load_runner(row, log)
        if not runner.retry_errors(data):
            raise ConflictError(t("instance %(instance)s has no failed step to retry", instance=instance_id))
        self._resolve_incidents(row, "retried", actor, note)
        log.audits.append({"kind": "retried", "actor": actor, "detail": {"data": data or {}, "note": note or ""}})
        self._advance(row, runner, log, lambda r: None)
        return row

    @_conflict_on_stale
    def skip(self, instance_id: int, note: str, actor: str | None = None) -> ProcessInstance:
        """Mark the failed steps of an instance done without running them, and run on from there.

        For a step whose effect was done by hand (or is not needed): its script or operator is
        not run again, its successor runs as after a success. A gateway (or any element with
        several ways out) cannot be skipped: ConflictError, nothing changes.
        """
        if not (note or "").strip():
            raise ConflictError(t("say why the step is skipped"))
        row = self._load_row(instance_id)
        log = _StepLog()
        runner = self._load_runner(row, log)
        failed = runner.failed_tasks()
        if not failed:
            raise ConflictError(t("instance %(instance)s has no failed step to skip", instance=instance_id))
        try:
            skipped = runner.skip_errors()
        except ValueError as exc:
            raise ConflictError(t("step %(element)s chooses between several paths and cannot be skipped; retry it"
                                  " with corrected data or cancel the instance", element=str(exc))) from None
        self._resolve_incidents(row, "skipped", actor, note)
        for element_id in skipped:
            log.audits.append({"kind": "skipped", "element_id": element_id, "actor": actor,
                               "detail": {"note": note.strip()[:2000]}})
        self._advance(row, runner, log, lambda r: None)
        return row

    def failed_steps(self, instance_id: int) -> list[FailedStep]:
        """The tasks of an instance in ERROR, with the data they failed with (read only)."""
        row = self.session.get(ProcessInstance, instance_id)
        if row is None:
            raise NotFoundError(t("no process instance %(instance)s; check the instance id", instance=instance_id))
        runner = self._load_runner(row, _StepLog())
        return [FailedStep(f.id, f.element_id, f.element_name, f.data) for f in runner.failed_tasks()]

    def trace(self, instance_id: int) -> list[spiff.StepTrace]:
        """Every task of an instance that ran, runs, waits, failed or was cancelled, with its data (read only)."""
        row = self.session.get(ProcessInstance, instance_id)
        if row is None:
            raise NotFoundError(t("no process instance %(instance)s; check the instance id", instance=instance_id))
        return self._load_runner(row, _StepLog()).trace()

    def element_names(self, definition: ProcessDefinition) -> dict[str, Named]:
        """{element id: name, in Vietnamese and English} of a deployed definition (from its cached spec)."""
        return spiff.element_names(self.definitions.compiled(definition))

    def _resolve_incidents(self, row: ProcessInstance, resolution: str, actor: str | None, note: str | None) -> None:
        now = self.clock.now()
        for incident in self.session.scalars(select(Incident).where(Incident.instance_id == row.id,
                                                                    Incident.resolved_at.is_(None))):
            incident.resolved_at, incident.resolution, incident.resolved_by = now, resolution, actor
            incident.note = (note or "").strip()[:2000] or None

    @_conflict_on_stale
    def cancel(self, instance_id: int, reason: str, actor: str | None = None) -> ProcessInstance:
        """Stop an instance for good: its open tasks are cancelled and no timer or message moves it again."""
        row = self._load_row(instance_id)
        log = _StepLog()
        runner = self._load_runner(row, log)
        started = time.perf_counter()
        runner.cancel()
        now = self.clock.now()
        row.state = runner.dump()
        log.spiff_seconds += time.perf_counter() - started
        row.state_format = spiff.STATE_FORMAT
        row.status, row.updated_at, row.completed_at, row.next_timer_at = "cancelled", now, now, None
        self._resolve_incidents(row, "cancelled", actor, reason)
        log.audits.append({"kind": "cancelled", "actor": actor, "detail": {"reason": str(reason)[:500]}})
        # No task is ready any more: every open row becomes "cancelled" with its task.closed message.
        self._sync_tasks(row, runner, log, now)
        self._write_log(row, log, now)
        self.stats.steps += 1
        return row

    def claim(self, task_id: str, user: str) -> HumanTask:
        """Take an open task for oneself; ConflictError if someone else holds it (again: no change)."""
        held = self.session.get(HumanTask, task_id)
        if held is not None and held.state == "open" and held.assignee == user:
            return held
        return self._set_assignee(task_id, user, actor=user, kind="task_claimed", allowed=HumanTask.assignee.is_(None))

    def release(self, task_id: str, actor: str) -> HumanTask:
        """Put a held task back in its unit's queue (by its holder, or whoever the caller allows)."""
        return self._set_assignee(task_id, None, actor=actor, kind="task_released", allowed=None)

    def reassign(self, task_id: str, user: str, actor: str) -> HumanTask:
        """Give an open task to `user`, whoever holds it now (the caller checks who may)."""
        return self._set_assignee(task_id, user, actor=actor, kind="task_reassigned", allowed=None)

    def _set_assignee(self, task_id: str, user: str | None, actor: str, kind: str, allowed) -> HumanTask:
        """One UPDATE guarded by state (and `allowed`), then an audit row and a task.assigned message.

        The caller commits; a task closed in between gives ConflictError and changes nothing.
        """
        query = update(HumanTask).where(HumanTask.id == task_id, HumanTask.state == "open")
        if allowed is not None:
            query = query.where(allowed)
        done = self.session.execute(query.values(assignee=user).execution_options(synchronize_session=False)).rowcount
        task = self.session.get(HumanTask, task_id, populate_existing=True)
        if task is None:
            raise NotFoundError(t("no task %(task)s; check the task id", task=task_id))
        if not done:
            if task.state != "open":
                raise TaskNotReadyError(t("task %(task)s is already %(state)s; reload the task list",
                                          task=task_id, state=TASK_STATES.get(task.state, task.state)))
            raise ConflictError(t("task %(task)s is held by %(assignee)s or closed", task=task_id, assignee=task.assignee))
        now = self.clock.now()
        self.session.add(AuditEvent(instance_id=task.instance_id, business_key=task.business_key, at=now, kind=kind,
                                    element_id=task.element_id, actor=actor,
                                    detail={"task_id": task_id, "assignee": user}))
        self.session.add(OutboxMessage(topic="task.assigned", payload=_task_payload(task), created_at=now))
        self.session.flush()
        return task

    # ------------------------------------------------------------------ reading
    def view(self, instance_id: int) -> InstanceView:
        """The state of an instance with its open tasks, next timer and open incidents."""
        row = self.session.get(ProcessInstance, instance_id)
        if row is None:
            raise NotFoundError(t("no process instance %(instance)s; check the instance id", instance=instance_id))
        tasks = self.session.scalars(select(HumanTask).where(HumanTask.instance_id == row.id,
                                                             HumanTask.state == "open")
                                     .order_by(HumanTask.created_at)).all()
        open_incidents = self.session.scalars(select(Incident).where(Incident.instance_id == row.id,
                                                                     Incident.resolved_at.is_(None))
                                              .order_by(Incident.id)).all()
        incidents = [incident_reason(i) for i in open_incidents]
        names = self.element_names(row.definition) if open_incidents else {}
        steps = [IncidentView(i.id, i.element_id, names.get(i.element_id or "", ""), incident_reason(i), i.created_at)
                 for i in open_incidents]
        runner = self._load_runner(row, _StepLog())
        return InstanceView(
            id=row.id, process_key=row.process_key, version=row.definition.version,
            business_key=row.business_key, status=row.status,
            open_tasks=[_task_view(t) for t in tasks], next_timer_at=row.next_timer_at,
            waiting_messages=runner.waiting_messages(), incidents=list(incidents),
            data=runner.data if runner.completed else runner.last_data(), incident_steps=steps,
        )


    # ------------------------------------------------------------------ internals
    def _locking(self, query):
        """On PostgreSQL, lock the instance row for the step: one writer per instance at a time.

        A second writer waits, then reads the first one's result (the task is gone) and gets
        a clear conflict. The version column stays as the guard for every other path (and
        SQLite's BEGIN IMMEDIATE already allows one writer only).
        """
        if self.session.get_bind().dialect.name == "postgresql":
            return query.with_for_update(of=ProcessInstance).execution_options(populate_existing=True)
        return query

    def _load_row(self, instance_id: int) -> ProcessInstance:
        row = self.session.scalar(self._locking(select(ProcessInstance).where(ProcessInstance.id == instance_id)))
        if row is None:
            raise NotFoundError(t("no process instance %(instance)s; check the instance id", instance=instance_id))
        if row.status == "completed":
            raise ConflictError(t("instance %(instance)s has completed", instance=instance_id))
        if row.status == "cancelled":
            raise ConflictError(t("instance %(instance)s was cancelled", instance=instance_id))
        return row

    def _load_runner(self, row: ProcessInstance, log: _StepLog) -> spiff.Runner:
        compiled = self.definitions.compiled(row.definition)
        script_engine = spiff.make_script_engine(self.environment, self._service_handler(row, log))
        started = time.perf_counter()
        runner = spiff.Runner.load(compiled, script_engine, row.state)
        log.spiff_seconds += time.perf_counter() - started
        return runner

    def _service_handler(self, row: ProcessInstance, log: _StepLog) -> Callable[..., Any]:
        def handle(task, operation_name: str, params: dict[str, Any]) -> Any:
            # A new instance is not flushed before its first operator: it is written once, with its state, when
            # the step is saved (intake runs the triage deadline's operator). Until then ctx.instance_id is None.
            task_id, element_id = spiff.task_ids(task)
            ctx = OperatorContext(
                session=self.session, instance_id=row.id, business_key=row.business_key,
                element_id=element_id, task_id=task_id, data=dict(task.data), now=self.clock.now(),
                actor=log.completing[1] if log.completing else None,
                emit=lambda topic, payload, dedupe=None: log.outbox.append(
                    {"topic": topic, "payload": payload, "dedupe_key": dedupe}),
                audit=lambda kind, detail=None: log.audits.append(
                    {"kind": kind, "element_id": element_id, "detail": detail or {}}),
            )
            started = time.perf_counter()
            try:
                if self.batch_mode:
                    try:
                        result = self.registry.call(operation_name, ctx, params)
                    except (EngineError, ValueError, TypeError, KeyError, LookupError) as exc:
                        # Without a savepoint its half-writes cannot be undone: the caller
                        # rolls the batch back and redoes it one instance at a time.
                        raise BatchAbort(f"{operation_name} failed in a batch") from exc
                else:
                    # A savepoint per operator: a failing operator leaves none of its half-writes.
                    with self.session.begin_nested():
                        result = self.registry.call(operation_name, ctx, params)
            except (SQLAlchemyError, EngineError, BatchAbort):
                raise
            except (ValueError, TypeError, KeyError, LookupError) as exc:
                raise OperatorError(f"{operation_name}: {type(exc).__name__}: {exc}") from exc
            finally:
                log.operator_seconds += time.perf_counter() - started
            log.audits.append({"kind": "service", "element_id": element_id,
                               "detail": {"operator": operation_name}})
            return result

        return handle

    def _advance(self, row: ProcessInstance, runner: spiff.Runner, log: _StepLog,
                 action: Callable[[spiff.Runner], None]) -> None:
        """Apply `action`, run the engine, then write state, tasks, audit and outbox."""
        started = time.perf_counter()
        with engine_clock.using(self.clock):
            try:
                action(runner)
                runner.run_engine()
            except (spiff.SpiffWorkflowException, ExpressionError, OperatorError) as exc:
                self._record_incident(row, runner, log, exc)
        log.spiff_seconds += time.perf_counter() - started - log.operator_seconds
        self._save(row, runner, log)
        self.stats.steps += 1
        self.stats.spiff_seconds += log.spiff_seconds

    def _record_incident(self, row: ProcessInstance, runner: spiff.Runner, log: _StepLog,
                         exc: BaseException, element_id: str | None = None) -> None:
        message = spiff.describe_failure(exc)
        reason = _translatable_reason(exc)
        failed = runner.error_tasks()
        task_id, element_id = failed[0] if failed else (None, element_id)
        incident = Incident(instance=row, task_id=task_id, element_id=element_id, message=message,
                            reason={"msgid": reason.msgid, "params": _jsonable(reason.params)} if reason else None,
                            created_at=self.clock.now())
        self.session.add(incident)
        log.audits.append({"kind": "incident", "element_id": element_id, "detail": {"message": message}})
        log.outbox.append({"topic": "instance.incident", "payload": {
            "business_key": row.business_key, "element_id": element_id,
            "message": message}, "dedupe_key": None})
        if self.on_incident is not None:
            self.on_incident(incident, lambda topic, payload, dedupe=None: log.outbox.append(
                {"topic": topic, "payload": payload, "dedupe_key": dedupe}))

    def _save(self, row: ProcessInstance, runner: spiff.Runner, log: _StepLog) -> None:
        now = self.clock.now()
        started = time.perf_counter()
        try:
            row.state = runner.dump()
        except (TypeError, ValueError):
            # A value JSON cannot hold reached task data (the sandbox refuses them in scripts and
            # decisions; a caller's start data may still bring one): every later save would raise.
            # Take it out, keep the instance saveable and say where it was, as an incident.
            dropped = runner.drop_unstorable()
            if not dropped:
                raise
            element_id, reason = dropped[0]
            self._record_incident(row, runner, log, ExpressionError(reason), element_id or None)
            row.state = runner.dump()
        log.spiff_seconds += time.perf_counter() - started
        row.state_format = spiff.STATE_FORMAT
        row.updated_at = now
        if runner.completed:
            row.status, row.completed_at, row.next_timer_at = "completed", now, None
            log.audits.append({"kind": "completed", "detail": {}})
        else:
            row.status = "error" if runner.error_tasks() else "running"
            row.next_timer_at = runner.next_timer_at()
        self._sync_tasks(row, runner, log, now)
        self._write_log(row, log, now)

    def _write_log(self, row: ProcessInstance, log: _StepLog, now: datetime) -> None:
        """Write the step's audit rows and outbox messages (or add them to the session)."""
        if row.id is not None and self.open_tasks_by_instance is None:
            # An instance already stored, outside the sweep's batches: one multi-row INSERT per table
            # now, in the step's transaction, without ORM objects (nobody reads their ids back).
            if log.audits:
                self.session.execute(insert(AuditEvent.__table__), [
                    {"instance_id": row.id, "business_key": row.business_key, "at": now, "kind": audit["kind"],
                     "element_id": audit.get("element_id"), "actor": audit.get("actor"),
                     "detail": audit.get("detail") or {}} for audit in log.audits])
            if log.outbox:
                self.session.execute(insert(OutboxMessage.__table__), [
                    {"topic": msg["topic"], "payload": msg["payload"], "dedupe_key": msg.get("dedupe_key"),
                     "created_at": now} for msg in log.outbox])
        else:
            # A new instance has no id before the flush; the sweep writes its whole batch in bulk at commit.
            for audit in log.audits:
                self.session.add(AuditEvent(instance=row, business_key=row.business_key, at=now,
                                            kind=audit["kind"], element_id=audit.get("element_id"),
                                            actor=audit.get("actor"), detail=audit.get("detail") or {}))
            for msg in log.outbox:
                self.session.add(OutboxMessage(topic=msg["topic"], payload=msg["payload"],
                                               dedupe_key=msg.get("dedupe_key"), created_at=now))
        if not self.batch_mode:  # a batch writes everything in bulk at its commit
            self.session.flush()

    def _sync_tasks(self, row: ProcessInstance, runner: spiff.Runner, log: _StepLog, now: datetime) -> None:
        """Make the human-task index match the workflow's READY user tasks."""
        ready = {t.id: t for t in runner.ready_human_tasks()}
        if log.new_instance:
            open_rows = {}
        elif log.open_rows is not None:
            open_rows = {t.id: t for t in log.open_rows if t.state == "open"}
        else:
            open_rows = {t.id: t for t in self.session.scalars(
                select(HumanTask).where(HumanTask.instance_id == row.id, HumanTask.state == "open"))}
        completing = log.completing
        for task_id, task_row in open_rows.items():
            if task_id in ready:
                continue
            if completing and completing[0] == task_id:
                task_row.state, task_row.completed_by = "completed", completing[1]
            else:
                task_row.state = "cancelled"  # an interrupting timer or message took it away
            task_row.completed_at = now
            log.outbox.append({"topic": "task.closed", "payload": _task_payload(task_row), "dedupe_key": None})
        compiled = runner.compiled
        for task_id, ready_task in ready.items():
            if task_id in open_rows:
                continue
            info = compiled.user_tasks[ready_task.element_id]
            unit = self._evaluate_property(info.candidate_unit, ready_task.data)
            due = self._evaluate_property(info.due_at, ready_task.data)
            task_row = HumanTask(
                id=task_id, instance=row, business_key=row.business_key,
                element_id=info.element_id, title=info.title[:255], title_en=info.title_en[:255] or None,
                candidate_role=self.definitions.roles.get(info.lane, info.lane) if info.lane else None,
                candidate_unit=str(unit) if unit is not None else None,
                due_at=_parse_moment(due), state="open", created_at=now,
                form={"fields": [f.as_dict() for f in info.form], "instructions": info.instructions,
                      "instructions_en": info.instructions_en},
            )
            self.session.add(task_row)
            if log.open_rows is not None:
                log.open_rows.append(task_row)  # the same list as the batch's prefetched rows
            log.audits.append({"kind": "task_created", "element_id": info.element_id,
                               "detail": {"task_id": task_id, "role": task_row.candidate_role,
                                          "unit": task_row.candidate_unit}})
            log.outbox.append({"topic": "task.created", "payload": _task_payload(task_row), "dedupe_key": None})
            if self.on_task_created is not None:
                self.on_task_created(task_row, lambda topic, payload, dedupe=None: log.outbox.append(
                    {"topic": topic, "payload": payload, "dedupe_key": dedupe}))

    def _evaluate_property(self, expression: str | None, data: dict[str, Any]) -> Any:
        if not expression:
            return None
        try:
            return self.evaluator.evaluate(expression, dict(data))
        except ExpressionError:
            return None  # an unset variable leaves the task unbound, not the step failed


def incident_reason(incident: Incident) -> Text | str:
    """Why an incident happened: the project's own reason (translatable) or the account as recorded."""
    if incident.reason:
        return Text(incident.reason["msgid"], incident.reason["params"])
    return incident.message


def _translatable_reason(exc: BaseException) -> Text | None:
    """The project's own message behind a failure (SpiffWorkflow wraps it), if there is one."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if current.args and isinstance(current.args[0], Text):
            return current.args[0]
        current = current.__cause__ or getattr(current, "exception", None) or current.__context__
    return None


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, (int, float, bool)) or v is None else str(v) for k, v in params.items()}


def _parse_moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return spiff.TimeDateEventDefinition.get_datetime(value)
        except ValueError:
            return None
    return None


def _task_view(t: HumanTask) -> TaskView:
    return TaskView(t.id, t.element_id, t.title, t.candidate_role, t.candidate_unit, t.assignee, t.due_at, t.form)


def _task_payload(t: HumanTask) -> dict[str, Any]:
    return {"task_id": t.id, "business_key": t.business_key,
            "element_id": t.element_id, "title": t.title, "role": t.candidate_role,
            "unit": t.candidate_unit, "assignee": t.assignee, "state": t.state}
