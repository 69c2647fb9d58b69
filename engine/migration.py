"""Moving running instances to another version of their process.

A dry run (`InstanceMigrator.plan`) says, per instance, whether it can move and why not, in plain
words, and what would change for it. The move (`InstanceMigrator.migrate`) is one step of the
instance: its row is locked like any step, the state is carried over to the new spec with
SpiffWorkflow's own diff (`SpiffWorkflow.bpmn.util.diff`), and the state, the definition id, the
next timer, the human-task index, the audit row and the outbox are written in the caller's
transaction. The dry run does the same work in memory, so its verdict is the migration's.

What stops a move: the instance is finished, cancelled or in error; it runs another process; the
element where it stands (an open task, an event it waits for) was removed or changed type; a timer
or message event it waits on changed its definition; an open task's form, role or candidate unit
changed; the events attached to an open task changed; an element it already passed was removed
(its history could not be kept); its saved state would not load on the new version.

An open task keeps its id (its row in the task list stays), and a timer it already waits on keeps
its due time (SpiffWorkflow's migration restarts waiting events; their moment is put back).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import spiff
from engine.errors import ConflictError, NotFoundError
from engine.i18n import Named, Text, t
from engine.instances import InstanceService, _conflict_on_stale, _StepLog
from engine.models import HumanTask, ProcessDefinition, ProcessInstance

# The registry SpiffWorkflow's diff compares task specs with (their serialized form).
_REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
_LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
_FINISHED = TaskState.COMPLETED | TaskState.CANCELLED
# Properties of a user task read when its task row is made: changing them under an open task would not reach it.
_TASK_PROPERTIES = ("candidateUnit", "dueAt")


@dataclass(frozen=True)
class MigrationPlan:
    """Whether one instance can move to a target version, why not, and what would change for it."""

    instance_id: int
    business_key: str | None
    process_key: str
    from_version: int
    to_version: int
    status: str
    current: list[Named] = field(default_factory=list)  # where it stands: open tasks, events it waits for
    reasons: list[Text] = field(default_factory=list)  # why it cannot move (none: it can)
    changes: list[Text] = field(default_factory=list)  # what moving would change for it

    @property
    def can_move(self) -> bool:
        """True when nothing stops the move."""
        return not self.reasons


def _name(spec: Any) -> Named:
    props = (getattr(spec, "extensions", None) or {}).get("properties", {}) or {}
    vi = getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None) or spec.name
    return Named(vi, props.get("name_en") or None)


def _props(spec: Any) -> dict[str, str]:
    return dict((getattr(spec, "extensions", None) or {}).get("properties", {}) or {})


def _event_changed(old: Any, new: Any) -> bool:
    """Whether what an event waits for changed (its definition carries the element's name too: a rename is no change)."""
    definitions = []
    for spec in (old, new):
        converted = _REGISTRY.convert(getattr(spec, "event_definition", None))
        if isinstance(converted, dict):
            converted = {k: v for k, v in converted.items() if k not in ("name", "description")}
        definitions.append(converted)
    return definitions[0] != definitions[1]


def _timer_text(spec: Any) -> str:
    event = getattr(spec, "event_definition", None)
    return str(getattr(event, "expression", "") or "")


class _Carry:
    """One instance's workflow carried over to a target spec, in memory, with what was found on the way."""

    def __init__(self, runner: spiff.Runner, target: spiff.CompiledDefinition, version: int,
                 diffs: dict[tuple[int, int], SpecDiff]):
        self.runner = runner
        self.target = target
        self.version = version
        self.diffs = diffs
        self.reasons: list[Text] = []
        self.changes: list[Text] = []
        self.current: list[Named] = []

    def spec_diff(self, old: Any, new: Any) -> SpecDiff:
        key = (id(old), id(new))  # specs come from the spec cache: one diff per pair of versions
        if key not in self.diffs:
            self.diffs[key] = SpecDiff(_REGISTRY, old, new)
        return self.diffs[key]

    def examine(self) -> list[tuple[Any, WorkflowDiff, Any]]:
        """Check every task of the workflow and its subprocesses; the (workflow, diff, new spec) to migrate."""
        wf = self.runner.workflow
        work = []
        top = self.spec_diff(wf.spec, self.target.spec)
        self._check_tasks(wf, top)
        self._describe(wf, top)
        work.append((wf, WorkflowDiff(wf, top), self.target.spec))
        for sub in wf.subprocesses.values():
            new = self.target.subprocess_specs.get(sub.spec.name)
            if new is None:
                self.reasons.append(t("the process it calls, %(process)s, is not part of version %(version)s",
                                      process=sub.spec.name, version=self.version))
                continue
            diff = self.spec_diff(sub.spec, new)
            self._check_tasks(sub, diff)
            work.append((sub, WorkflowDiff(sub, diff), new))
        return work

    def _check_tasks(self, wf: Any, diff: SpecDiff) -> None:
        checked_splits: set[str] = set()
        for task in wf.get_tasks(skip_subprocesses=True):
            spec = task.task_spec
            new = diff.alignment.get(spec)
            changed = diff.comparisons.get(spec) or []
            if task.state & _FINISHED:
                if new is None and getattr(spec, "bpmn_id", None):
                    self.reasons.append(t("it has passed through %(element)s, which version %(version)s no longer"
                                          " has: its history could not be kept", element=_name(spec),
                                          version=self.version))
                continue
            if not task.state & _LIVE:
                continue  # predicted tasks are predicted again from the new spec
            if getattr(spec, "bpmn_id", None) and (spec.manual or task.state == TaskState.WAITING):
                self.current.append(_name(spec))
            if new is None or new.name != spec.name:
                self.reasons.append(t("its current element %(element)s is not in version %(version)s",
                                      element=_name(spec), version=self.version))
                continue
            if "typename" in changed:
                self.reasons.append(t("its current element %(element)s changed type in version %(version)s",
                                      element=_name(spec), version=self.version))
                continue
            if "event_definition" in changed and _event_changed(spec, new):
                if _timer_text(spec) or _timer_text(new):
                    self.reasons.append(t("the timer %(element)s it waits on changed (%(old)s, now %(new)s)",
                                          element=_name(spec), old=_timer_text(spec), new=_timer_text(new)))
                else:
                    self.reasons.append(t("the event %(element)s it waits for changed in version %(version)s",
                                          element=_name(spec), version=self.version))
            if spec.manual:
                self._check_open_task(spec, new, changed)
            parent = task.parent.task_spec if task.parent is not None else None
            if parent is not None and parent.name.endswith(".BoundaryEventSplit") and parent.name not in checked_splits:
                checked_splits.add(parent.name)
                if "outputs" in (diff.comparisons.get(parent) or []):
                    self.reasons.append(t("the events attached to %(element)s changed in version %(version)s",
                                          element=_name(wf.spec.task_specs.get(parent.name[:-len(".BoundaryEventSplit")],
                                                                               parent)),
                                          version=self.version))

    def _check_open_task(self, spec: Any, new: Any, changed: list[str]) -> None:
        old_props, new_props = _props(spec), _props(new)
        if {k: v for k, v in old_props.items() if k.startswith("field.")} != \
                {k: v for k, v in new_props.items() if k.startswith("field.")}:
            self.reasons.append(t("the form of the open task %(element)s changed", element=_name(spec)))
        if "lane" in changed:
            self.reasons.append(t("the role (lane) of the open task %(element)s changed", element=_name(spec)))
        if any(old_props.get(k) != new_props.get(k) for k in _TASK_PROPERTIES):
            self.reasons.append(t("the candidate unit or due time of the open task %(element)s changed",
                                  element=_name(spec)))
        if _name(spec) != _name(new) or _name(spec).en != _name(new).en:
            self.changes.append(t("the open task %(element)s will be named %(name)s", element=_name(spec),
                                  name=_name(new)))

    def _describe(self, wf: Any, diff: SpecDiff) -> None:
        """What changed in the process, told against where this instance is."""
        passed = {task.task_spec.name for task in wf.get_tasks(skip_subprocesses=True) if task.state & _FINISHED}
        live = {task.task_spec.name for task in wf.get_tasks(skip_subprocesses=True) if task.state & _LIVE}
        for spec, keys in diff.changed.items():
            if not getattr(spec, "bpmn_id", None) or spec.name in live:
                continue
            keys = [k for k in keys if k not in ("inputs", "outputs")]
            if not keys:
                continue
            if spec.name in passed:
                self.changes.append(t("%(element)s changed, but this instance is already past it (it would take the"
                                      " new one only if it came back to it)", element=_name(spec)))
            elif "decision_table" in keys:
                self.changes.append(t("%(element)s will use the new decision table", element=_name(spec)))
            elif "event_definition" in keys:
                self.changes.append(t("%(element)s will use the new timer (%(timer)s)", element=_name(spec),
                                      timer=_timer_text(diff.alignment[spec])))
            else:
                self.changes.append(t("%(element)s will run as version %(version)s has it", element=_name(spec),
                                      version=self.version))
        for spec in diff.added:
            if getattr(spec, "bpmn_id", None):
                self.changes.append(t("%(element)s is new in version %(version)s", element=_name(spec),
                                      version=self.version))
        for spec in diff.removed:
            if getattr(spec, "bpmn_id", None) and spec.name not in passed | live:
                self.changes.append(t("%(element)s is no longer in version %(version)s", element=_name(spec),
                                      version=self.version))

    def carry(self, work: list[tuple[Any, WorkflowDiff, Any]], script_engine: Any) -> spiff.Runner | None:
        """Migrate in memory; the runner on the new spec, or None (with the reason) if its state would not load."""
        wf = self.runner.workflow
        before = {task.id for task in self.runner.ready_human_tasks()}
        # SpiffWorkflow resets waiting events, so a timer would start again from now: keep the moment it had.
        waiting = {task.id: copy.deepcopy(task.internal_data)
                   for task in wf.get_tasks() if task.state == TaskState.WAITING}
        for workflow, diff, new_spec in work:
            migrate_workflow(diff, workflow, new_spec)
        wf.subprocess_specs = self.target.subprocess_specs
        for task in wf.get_tasks():
            if task.id in waiting and task.state == TaskState.WAITING:
                task.internal_data = waiting[task.id]
        moved = spiff.Runner(self.target, wf)
        try:
            reloaded = spiff.Runner.load(self.target, script_engine, moved.dump())
        except Exception:  # noqa: BLE001 - whatever the library raises, the answer is "it cannot move"
            self.reasons.append(t("its saved state would not load on version %(version)s", version=self.version))
            return None
        if {task.id for task in reloaded.ready_human_tasks()} != before:
            self.reasons.append(t("its open tasks would not stay the same on version %(version)s",
                                  version=self.version))
            return None
        return reloaded


class InstanceMigrator:
    """Dry runs and migrations of instances to another version, on the instance service's session."""

    def __init__(self, instances: InstanceService):
        self.instances = instances
        self.session = instances.session
        self.definitions = instances.definitions
        self._diffs: dict[tuple[int, int], SpecDiff] = {}

    def plan(self, instance_id: int, target: ProcessDefinition) -> MigrationPlan:
        """Whether the instance can move to `target`, why not, and what would change (nothing is written)."""
        row = self._row(instance_id, lock=False)
        plan, _runner = self._prepare(row, target)
        return plan

    @_conflict_on_stale
    def migrate(self, instance_id: int, target: ProcessDefinition, actor: str | None = None) -> MigrationPlan:
        """Move the instance to `target` in the caller's transaction (locked like a step); ConflictError if it cannot."""
        row = self._row(instance_id, lock=True)
        from_version, from_definition = row.definition.version, row.definition_id
        plan, runner = self._prepare(row, target)
        if runner is None:
            raise ConflictError(t("instance %(instance)s cannot move to version %(version)s: %(reasons)s",
                                  instance=instance_id, version=target.version,
                                  reasons="; ".join(plan.reasons)))
        row.definition = target
        row.definition_id = target.id
        log = _StepLog(audits=[{"kind": "migrated", "actor": actor, "detail": {
            "from_version": from_version, "to_version": target.version,
            "from_definition": from_definition, "to_definition": target.id}}])
        self.instances._save(row, runner, log)
        self._rename_open_tasks(row, runner.compiled)
        return plan

    # -- internals
    def _row(self, instance_id: int, lock: bool) -> ProcessInstance:
        query = select(ProcessInstance).where(ProcessInstance.id == instance_id)
        row = self.session.scalar(self.instances._locking(query) if lock else query)
        if row is None:
            raise NotFoundError(t("no process instance %(instance)s; check the instance id", instance=instance_id))
        return row

    def _prepare(self, row: ProcessInstance, target: ProcessDefinition) -> tuple[MigrationPlan, spiff.Runner | None]:
        plan = MigrationPlan(row.id, row.business_key, row.process_key, row.definition.version, target.version,
                             row.status)
        reasons = plan.reasons
        if row.status == "completed":
            reasons.append(t("it has finished"))
        elif row.status == "cancelled":
            reasons.append(t("it was cancelled"))
        elif row.status == "error":
            reasons.append(t("it is in error: resolve its incident first (retry, skip or cancel it)"))
        if target.process_key != row.process_key:
            reasons.append(t("it runs process %(process)s, not %(target)s", process=row.process_key,
                             target=target.process_key))
        elif target.id == row.definition_id:
            reasons.append(t("it already runs version %(version)s", version=target.version))
        if reasons:
            return plan, None
        log = _StepLog()
        runner = self.instances._load_runner(row, log)
        carry = _Carry(runner, self.definitions.compiled(target), target.version, self._diffs)
        work = carry.examine()
        plan.current.extend(_unique(carry.current))
        plan.changes.extend(carry.changes)
        if carry.reasons:
            plan.reasons.extend(_unique(carry.reasons))
            return plan, None
        moved = carry.carry(work, runner.workflow.script_engine)
        plan.reasons.extend(carry.reasons)
        return plan, moved

    def _rename_open_tasks(self, row: ProcessInstance, compiled: spiff.CompiledDefinition) -> None:
        """Open tasks that stayed keep their row; their title follows the new version's name."""
        for task in self.session.scalars(select(HumanTask).where(HumanTask.instance_id == row.id,
                                                                 HumanTask.state == "open")):
            info = compiled.user_tasks.get(task.element_id)
            if info is not None:
                task.title, task.title_en = info.title[:255], info.title_en[:255] or None


def _unique(items: list[Text]) -> list[Text]:
    seen: set[str] = set()
    out = []
    for item in items:
        if str(item) not in seen:
            seen.add(str(item))
            out.append(item)
    return out
