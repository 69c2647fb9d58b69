"""The designer's instance view: any case's diagram with each element completed, active, waiting, failed or
cancelled, the path taken, and the data at each step, read from the stored instance state through the engine.

Designers and administrators only, read only. Administrators read the data as it is; designers read it with
personal details (names, phone numbers, emails, ID numbers) masked, as anything shown beyond the case's
officials is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.errors import NotFoundError
from engine.i18n import Named, Text, t
from engine.instances import InstanceService, incident_reason
from engine.models import Incident, ProcessDefinition, ProcessInstance
from workflows.access import Actor
from workflows.case_diagram import bpmn_file_of, names_in, parse_graph
from workflows.errors import AccessDeniedError, CaseNotFoundError
from workflows.models import Case
from workflows.redaction import redact

# An element's state on the diagram, strongest first: one failed run of a looped element shows it failed.
STATES = ("failed", "active", "waiting", "completed", "cancelled")
_FROM_ENGINE = {"ERROR": "failed", "READY": "active", "STARTED": "active", "WAITING": "waiting",
                "COMPLETED": "completed", "CANCELLED": "cancelled"}
# The case page's words for the same states, and two of its own.
STATE_LABELS = {"failed": t("failed"), "active": t("active (open task)"), "waiting": t("waiting (deadline or message)"),
                "completed": t("done"), "cancelled": t("cancelled")}
STATUS_LABELS = {"running": t("running"), "error": t("stopped by an error"), "completed": t("completed"),
                 "cancelled": t("cancelled")}
DATA_LIMIT = 20_000  # characters of one step's data shown; a page must stay readable


@dataclass(frozen=True)
class StepRun:
    """One run of an element (an element in a loop runs several times): its state and data as JSON text."""

    order: int
    state: str
    data: str


@dataclass(frozen=True)
class ElementView:
    """An element of the diagram as the instance left it."""

    element_id: str
    name: Named | str
    state: str
    runs: tuple[StepRun, ...]
    reason: Text | str | None = None  # why it failed (the open incident)


@dataclass(frozen=True)
class IncidentLine:
    """An open incident of the instance: where and why."""

    element_id: str | None
    element_name: Named | str
    reason: Text | str


@dataclass(frozen=True)
class InstanceDiagram:
    """What the instance view shows."""

    instance_id: int
    process_key: str
    version: int
    status: str
    case_code: str | None
    case_title: str | None
    xml: str
    elements: dict[str, ElementView]
    flows: list[str]
    incidents: list[IncidentLine] = field(default_factory=list)
    masked: bool = False  # personal details in the data were masked for this reader

    def ids_in(self, state: str) -> list[str]:
        """The element ids in `state`."""
        return sorted(e.element_id for e in self.elements.values() if e.state == state)


class InstanceInspector:
    """Finds an instance by case code or id and reads it for the instance view (never changes it)."""

    def __init__(self, session: Session, instances: InstanceService, clock: Clock = SYSTEM_CLOCK):
        self.session = session
        self.instances = instances
        self.clock = clock

    def _instance(self, ref: str) -> tuple[ProcessInstance, Case | None]:
        ref = (ref or "").strip()
        row = None
        if ref.isdigit() and int(ref) < 2**63:
            row = self.session.get(ProcessInstance, int(ref))
        case = self.session.scalar(select(Case).where(Case.code == ref.upper())) if not ref.isdigit() else None
        if case is not None:
            row = (self.session.get(ProcessInstance, case.process_instance_id) if case.process_instance_id else None) \
                or self.session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == case.code)
                                       .order_by(ProcessInstance.id.desc()).limit(1))
        elif row is None and ref:
            row = self.session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == ref)
                                      .order_by(ProcessInstance.id.desc()).limit(1))
        if row is None:
            raise CaseNotFoundError(t("no case or process instance %(ref)s; give a case code such as PA-2026-000123"
                                      " or an instance number", ref=ref))
        if case is None and row.business_key:
            case = self.session.scalar(select(Case).where(Case.code == row.business_key))
        return row, case

    def view(self, actor: Actor, ref: str, lang: str = "vi") -> InstanceDiagram:
        """The instance behind `ref` (a case code or an instance id) on its diagram, for a designer or admin."""
        if actor is None or not actor.inspects_instances:
            raise AccessDeniedError(t("only process designers and administrators open the instance view"))
        row, case = self._instance(ref)
        definition = self.session.get(ProcessDefinition, row.definition_id)
        xml = bpmn_file_of(definition.files or {}, row.process_key)
        if xml is None:
            raise CaseNotFoundError(t("the definition of process %(key)s has no BPMN file", key=row.process_key))
        try:
            steps = self.instances.trace(row.id)
        except NotFoundError as exc:
            raise CaseNotFoundError(*exc.args) from exc
        graph = parse_graph(xml, row.process_key)
        names = self.instances.element_names(definition)
        masked = not actor.is_admin
        people = [case.reporter.name] if masked and case is not None and case.reporter is not None and \
            case.reporter.name else []
        # The open incidents from their table (InstanceService.view would load the workflow a second time).
        incidents = [IncidentLine(i.element_id, names.get(i.element_id or "", ""), incident_reason(i))
                     for i in self.session.scalars(select(Incident).where(Incident.instance_id == row.id,
                                                                          Incident.resolved_at.is_(None))
                                                   .order_by(Incident.id))]
        reasons = {i.element_id: i.reason for i in incidents if i.element_id}
        runs: dict[str, list[StepRun]] = {}
        states: dict[str, str] = {}
        flows: set[str] = set()
        for number, step in enumerate(steps, 1):
            state = _FROM_ENGINE[step.state]
            data = step.data if not masked else _masked(step.data, people)
            runs.setdefault(step.element_id, []).append(StepRun(number, state, _json(data)))
            if step.element_id not in states or STATES.index(state) < STATES.index(states[step.element_id]):
                states[step.element_id] = state
            if state != "cancelled" and step.came_from:
                flows.update(flow for flow, target in graph.outgoing.get(step.came_from, []) if target == step.element_id)
        elements = {element: ElementView(element, names.get(element, ""), states[element], tuple(runs[element]),
                                         reasons.get(element) if states[element] == "failed" else None)
                    for element in states}
        return InstanceDiagram(
            instance_id=row.id, process_key=row.process_key, version=definition.version, status=row.status,
            case_code=case.code if case else row.business_key, case_title=case.title if case else None,
            xml=names_in(xml, lang), elements=elements, flows=sorted(flows),
            incidents=incidents,
            masked=masked)

    def recent(self, limit: int = 20) -> list[tuple[int, str | None, str, str]]:
        """(instance id, case code, process key, status) of the newest instances, failed ones first."""
        rows = self.session.execute(select(ProcessInstance.id, ProcessInstance.business_key,
                                           ProcessInstance.process_key, ProcessInstance.status)
                                    .order_by((ProcessInstance.status == "error").desc(), ProcessInstance.id.desc())
                                    .limit(limit))
        return [tuple(r) for r in rows]


def _masked(value: Any, people: list[str]) -> Any:
    """`value` with personal details masked in every text it holds."""
    if isinstance(value, str):
        return redact(value, people)
    if isinstance(value, dict):
        return {k: _masked(v, people) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_masked(v, people) for v in value]
    return value


def _json(data: dict[str, Any]) -> str:
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=str)
    return text if len(text) <= DATA_LIMIT else text[:DATA_LIMIT] + "\n…"
