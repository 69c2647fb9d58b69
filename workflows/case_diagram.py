"""Where a case stands on its BPMN diagram: elements done, active, waiting or failed.

Worked out from the engine's audit trail and human-task index (what was done, and when)
and the BPMN graph, never by loading the workflow: a case page must not pay for a
deserialisation. The audit records user and service tasks, messages and the start; the
elements in between (gateways, decision tables, end events, timers) are filled in along the
sequence flows that join two recorded steps.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# Elements the audit records when they run.
WORK = {"userTask", "serviceTask", "sendTask", "manualTask"}
# Elements where a token may wait for a timer or a message.
WAITS = {"intermediateCatchEvent", "receiveTask"}
NODES = WORK | WAITS | {
    "startEvent", "endEvent", "intermediateThrowEvent", "boundaryEvent", "businessRuleTask", "scriptTask", "task",
    "callActivity", "subProcess", "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
    "complexGateway",
}


@dataclass
class ProcessGraph:
    """The flow elements of one BPMN process and the sequence flows between them."""

    kinds: dict[str, str] = field(default_factory=dict)  # element id → BPMN tag
    outgoing: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # id → [(flow id, target id)]
    boundaries: dict[str, list[str]] = field(default_factory=dict)  # task id → its boundary events
    catch_messages: dict[str, list[str]] = field(default_factory=dict)  # message name → catch event ids
    starts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Evidence:
    """What the audit and the task index say about one instance."""

    started_at: datetime | None
    running: bool
    done: dict[str, datetime]  # element id → latest moment it completed (tasks, services, messages)
    opened: dict[str, datetime]  # user task element id → latest moment a task of it was created
    active: dict[str, datetime]  # element ids of open human tasks → created
    failed: frozenset[str] = frozenset()  # elements with an unresolved incident


@dataclass(frozen=True)
class DiagramState:
    """Element and flow ids to mark on the diagram."""

    done: list[str]
    active: list[str]
    waiting: list[str]
    failed: list[str]
    flows: list[str]  # sequence flows taken


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def bpmn_file_of(files: dict[str, str], process_key: str) -> str | None:
    """The source of the .bpmn file that defines `process_key` (a definition may hold several files)."""
    for name, source in sorted(files.items()):
        if name.endswith(".bpmn") and (f'id="{process_key}"' in source or f"id='{process_key}'" in source):
            return source
    return None


def parse_graph(xml: str, process_key: str) -> ProcessGraph:
    """The graph of process `process_key` in a BPMN document (ValueError if it is not there)."""
    root = ET.fromstring(xml.encode("utf-8"))  # noqa: S314 - deployed definitions, checked at deployment
    messages = {m.get("id"): m.get("name") or m.get("id") for m in root.iter(f"{{{BPMN_NS}}}message")}
    process = next((p for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("id") == process_key), None)
    if process is None:
        raise ValueError(f"no process {process_key!r} in the BPMN document")
    graph = ProcessGraph()
    for element in process.iter():
        kind, element_id = _local(element.tag), element.get("id")
        if not element_id:
            continue
        if kind in NODES:
            graph.kinds[element_id] = kind
            graph.outgoing.setdefault(element_id, [])
            if kind == "startEvent" and element in list(process):
                graph.starts.append(element_id)
            if kind == "boundaryEvent" and element.get("attachedToRef"):
                graph.boundaries.setdefault(element.get("attachedToRef"), []).append(element_id)
            for definition in element.iter(f"{{{BPMN_NS}}}messageEventDefinition"):
                name = messages.get(definition.get("messageRef"), definition.get("messageRef"))
                if name:
                    graph.catch_messages.setdefault(name, []).append(element_id)
        elif kind == "sequenceFlow":
            graph.outgoing.setdefault(element.get("sourceRef"), []).append((element_id, element.get("targetRef")))
    return graph


class _Walk:
    """Follows sequence flows from recorded steps, marking what lies on the paths that were taken."""

    def __init__(self, graph: ProcessGraph, evidence: Evidence):
        self.graph, self.ev = graph, evidence
        self.done: set[str] = set(evidence.done) | {e for e in evidence.opened if e not in evidence.active}
        self.flows: set[str] = set()
        self.waiting: set[str] = set()
        # Paths stop at recorded steps, so walks are short; the budget guards a diagram made of
        # nothing but gateways from taking exponential time.
        self.budget = 20_000
        self.latest = max([*evidence.done.values(), *evidence.active.values(),
                           *([evidence.started_at] if evidence.started_at else [])], default=None)

    def touched(self, element: str, since: datetime) -> bool:
        """True if `element` was recorded (done, opened, active, failed) at or after `since`."""
        ev = self.ev
        return (element in ev.failed or any(element in table and table[element] >= since
                                            for table in (ev.done, ev.opened, ev.active)))

    def run(self) -> None:
        """Walk from every recorded step, then settle the boundary events of the tasks."""
        sources: dict[str, datetime] = dict(self.ev.done)
        if self.ev.started_at is not None:
            for start in self.graph.starts:
                sources[start] = self.ev.started_at
                self.done.add(start)
        for element, since in sources.items():
            if element in self.graph.kinds:
                self._onward(element, since, [], [], {element}, frontier=since == self.latest, certain=True)
        for task, boundaries in self.graph.boundaries.items():
            since = self.ev.active.get(task) or self.ev.opened.get(task)
            if since is None:
                continue
            for boundary in boundaries:
                # A timer that fired shows in what followed it; one that has not still waits on an open task.
                if self._onward(boundary, since, [boundary], [], {boundary}, frontier=False, certain=False):
                    self.done.add(boundary)
                elif task in self.ev.active and self.ev.running:
                    self.waiting.add(boundary)

    def _onward(self, node: str, since: datetime, path: list[str], flows: list[str], seen: set[str],
                frontier: bool, certain: bool) -> bool:
        """Walk on from `node`; mark every path that reaches a step recorded since `since`. True if one did."""
        reached = False
        branches = self.graph.outgoing.get(node, [])
        gateway = self.graph.kinds.get(node) == "eventBasedGateway"
        for flow, target in branches:
            if target not in seen and self._reach(target, since, path, [*flows, flow], seen, frontier and not gateway,
                                                  certain and not gateway):
                reached = True
        if gateway and not reached and frontier and self.ev.running:
            # Nothing after the gateway happened yet: it waits for whichever event comes first.
            self._mark(path[:-1], flows)
            self.waiting.update([node, *(target for _flow, target in branches)])
        return reached

    def _reach(self, target: str, since: datetime, path: list[str], flows: list[str], seen: set[str],
               frontier: bool, certain: bool) -> bool:
        kind = self.graph.kinds.get(target)
        self.budget -= 1
        if kind is None or self.budget < 0:
            return False
        if kind in WORK or kind == "callActivity":
            if self.touched(target, since):
                self._mark(path, flows)
                return True
            return False
        if kind == "endEvent":
            # Reached for certain only along a way with no untouched timer or message on it.
            if certain:
                self._mark([*path, target], flows)
            return certain
        onward = [*path, target]
        if kind in WAITS and not self.touched(target, since):
            if self._onward(target, since, onward, flows, seen | {target}, frontier=False, certain=False):
                return True  # a timer that fired: what follows it was recorded
            if frontier and self.ev.running:
                self._mark(path, flows)
                self.waiting.add(target)
            return False
        return self._onward(target, since, onward, flows, seen | {target}, frontier, certain)

    def _mark(self, path: list[str], flows: list[str]) -> None:
        self.done.update(path)
        self.flows.update(flows)


def diagram_state(graph: ProcessGraph, evidence: Evidence) -> DiagramState:
    """Which elements of `graph` are done, active, waiting or failed according to `evidence`."""
    walk = _Walk(graph, evidence)
    walk.run()
    active = set(evidence.active) & set(graph.kinds)
    failed = set(evidence.failed) & set(graph.kinds)
    waiting = walk.waiting - active - failed
    done = (walk.done & set(graph.kinds)) - active - waiting - failed
    return DiagramState(done=sorted(done), active=sorted(active), waiting=sorted(waiting), failed=sorted(failed),
                        flows=sorted(walk.flows))


SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def process_name_en(files: dict[str, str], process_key: str) -> str | None:
    """The English name (property name_en) a definition's BPMN gives its process `process_key`, if any."""
    xml = bpmn_file_of(files, process_key)
    if xml is None or "name_en" not in xml:
        return None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    root = etree.fromstring(xml.encode("utf-8"), parser)
    for process in root.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}process"):
        if process.get("id") == process_key:
            values = process.xpath("./*[local-name()='extensionElements']/*[local-name()='properties']"
                                   "/*[local-name()='property'][@name='name_en']/@value")
            return values[0] if values else None
    return None


def names_in(xml: str, lang: str) -> str:
    """The BPMN with its elements named in `lang`: in English, each element that has a `name_en` property shows it
    (the BPMN's own names are Vietnamese); anything else is returned as it is."""
    if lang != "en" or "name_en" not in xml:
        return xml
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    root = etree.fromstring(xml.encode("utf-8"), parser)
    for prop in root.iter(f"{{{SPIFF_NS}}}property"):
        if prop.get("name") != "name_en" or not prop.get("value"):
            continue
        owner = prop.getparent().getparent().getparent()  # property < properties < extensionElements < element
        if owner is not None and owner.get("name") is not None:
            owner.set("name", prop.get("value"))
    return etree.tostring(root, encoding="unicode")
