"""What changed between two versions of a bundle: BPMN elements property by property, DMN tables row by row.

Everything here works on the XML texts alone (lxml, elements matched by id), so the designer's compare page,
a test and the command line read the same list. The browser colours the diagrams with bpmn-js-differ; this
module says, per element, which attribute or extension changed, old -> new.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from engine.clock import SYSTEM_CLOCK, Clock
from engine.i18n import Named, Text, t
from engine.models import ProcessDefinition, ProcessInstance
from workflows.designer.drafts import DraftNotFoundError, DraftService

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"

# Elements that get a line of their own (besides every task, event and gateway).
_TRACKED = {"process", "collaboration", "participant", "messageFlow", "lane", "sequenceFlow", "message", "signal",
            "error", "escalation", "textAnnotation", "association", "dataObject", "dataObjectReference",
            "dataStoreReference", "group", "subProcess", "transaction", "adHocSubProcess", "callActivity", "task"}
# Children already said elsewhere: flows say their source and target, lanes their members on each element.
_SKIPPED_CHILDREN = {"incoming", "outgoing", "flowNodeRef", "laneSet", "childLaneSet"}
_TIMER_PARTS = ("timeDate", "timeDuration", "timeCycle")

KINDS = ("added", "removed", "changed", "moved")

TYPE_LABELS = {
    "userTask": t("User task"), "serviceTask": t("Service task"), "scriptTask": t("Script task"),
    "businessRuleTask": t("Business rule task"), "sendTask": t("Send task"), "receiveTask": t("Receive task"),
    "manualTask": t("Manual task"), "task": t("Task"), "callActivity": t("Call activity"),
    "subProcess": t("Subprocess"), "startEvent": t("Start event"), "endEvent": t("End event"),
    "boundaryEvent": t("Boundary event"), "intermediateCatchEvent": t("Intermediate catch event"),
    "intermediateThrowEvent": t("Intermediate throw event"), "exclusiveGateway": t("Exclusive gateway"),
    "parallelGateway": t("Parallel gateway"), "inclusiveGateway": t("Inclusive gateway"),
    "eventBasedGateway": t("Event-based gateway"), "sequenceFlow": t("Sequence flow"), "lane": t("Lane"),
    "process": t("Process"), "participant": t("Pool"), "message": t("Message"), "messageFlow": t("Message flow"),
    "textAnnotation": t("Text annotation"), "association": t("Association"),
}

_LABELS = {
    "name": t("Name"), "condition": t("Condition"), "script": t("Script"), "documentation": t("Documentation"),
    "lane": t("Lane"), "operator": t("Operator"), "timer:timeDate": t("Timer (date)"),
    "timer:timeDuration": t("Timer (duration)"), "timer:timeCycle": t("Timer (cycle)"),
    "property:name_en": t("English name"), "property:instructions_en": t("Instructions in English"),
    "property:candidateUnit": t("Candidate unit"), "property:dueAt": t("Due"),
    "spiff:calledDecisionId": t("Called decision"), "spiff:instructionsForEndUser": t("Instructions"),
    "spiff:preScript": t("Script before"), "spiff:postScript": t("Script after"),
    "spiff:messageVariable": t("Message variable"), "attr:calledElement": t("Called process"),
    "attr:cancelActivity": t("Interrupts the task"), "attr:attachedToRef": t("Attached to"),
    "attr:sourceRef": t("From"), "attr:targetRef": t("To"), "attr:default": t("Default flow"),
    "attr:isExecutable": t("Executable"), "attr:isInterrupting": t("Interrupting"),
    # DMN
    "hitPolicy": t("Hit policy"), "aggregation": t("Aggregation"), "literal": t("Expression"),
    "label": t("Label"), "expression": t("Input expression"), "output_name": t("Output name"),
    "typeRef": t("Type"), "description": t("Annotation"),
}


def label_of(key: str) -> Text:
    """How a person reads a property key ("timer:timeDate", "parameter:role", "property:field.note"…)."""
    if key in _LABELS:
        return _LABELS[key]
    kind, _, name = key.partition(":")
    if kind == "parameter":
        return t("Operator parameter %(name)s", name=name)
    if kind == "property" and name.startswith("field."):
        return t("Form field %(name)s", name=name[len("field."):])
    if kind == "property":
        return t("Property %(name)s", name=name)
    if kind == "event":
        return t("Event definition %(name)s", name=name)
    if kind == "attr":
        return t("Attribute %(name)s", name=name)
    return t("Setting %(name)s", name=name or kind)


@dataclass(frozen=True)
class PropertyChange:
    """One attribute or extension of an element (or column) with its old and new value (None: absent)."""

    key: str
    old: str | None
    new: str | None

    @property
    def label(self) -> Text:
        """The property as a person reads it."""
        return label_of(self.key)


@dataclass(frozen=True)
class ElementChange:
    """One BPMN element that differs: added, removed, changed (properties) or moved (only its layout)."""

    element_id: str
    kind: str
    type: str
    name: Named
    changes: tuple[PropertyChange, ...] = ()
    layout: bool = False  # its shape moved or its path was redrawn

    @property
    def type_label(self) -> Text | str:
        """The element's kind as a person reads it."""
        return TYPE_LABELS.get(self.type, self.type)


@dataclass(frozen=True)
class Cell:
    """One cell of a decision rule: its column's label and its text."""

    column: str
    value: str | None


@dataclass(frozen=True)
class CellChange:
    """A cell (or the rule's annotation) whose text changed."""

    column: str
    side: str  # input, output or description
    old: str | None
    new: str | None


@dataclass(frozen=True)
class RuleChange:
    """A row of a decision table: added, removed or changed (cell by cell)."""

    kind: str
    rule_id: str
    position_a: int | None  # 1-based row number in the old table
    position_b: int | None
    cells: tuple[CellChange, ...] = ()
    row: tuple[Cell, ...] = ()  # an added or removed row as it reads


@dataclass(frozen=True)
class ColumnChange:
    """An input or output column added, removed or changed (label, expression, name, type)."""

    kind: str
    side: str  # input or output
    column_id: str
    label: str
    changes: tuple[PropertyChange, ...] = ()


@dataclass(frozen=True)
class DecisionDiff:
    """What changed in one decision of a DMN file."""

    decision_id: str
    name: str
    kind: str  # added, removed, changed
    properties: tuple[PropertyChange, ...] = ()
    columns: tuple[ColumnChange, ...] = ()
    rules: tuple[RuleChange, ...] = ()


@dataclass(frozen=True)
class FileDiff:
    """One file of the bundle: added, removed, changed or unchanged, with its BPMN or DMN differences."""

    name: str
    status: str  # added, removed, changed, unchanged
    elements: tuple[ElementChange, ...] = ()
    decisions: tuple[DecisionDiff, ...] = ()
    error: Text | None = None  # a side that cannot be read as XML

    @property
    def kind(self) -> str:
        """bpmn, dmn or other, by the file's name."""
        lower = self.name.lower()
        return "bpmn" if lower.endswith(".bpmn") else "dmn" if lower.endswith(".dmn") else "other"

    def counts(self) -> dict[str, int]:
        """How many elements were added, removed, changed, moved."""
        return {kind: sum(1 for e in self.elements if e.kind == kind) for kind in KINDS}


@dataclass(frozen=True)
class BundleDiff:
    """Every file of two bundles compared by name."""

    files: tuple[FileDiff, ...]

    @property
    def changed(self) -> bool:
        """True when any file differs."""
        return any(f.status != "unchanged" for f in self.files)

    def file(self, name: str) -> FileDiff | None:
        """The comparison of one file, by name."""
        return next((f for f in self.files if f.name == name), None)


# --------------------------------------------------------------------------- reading XML

def _parse(text: str) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)
    return etree.fromstring(text.encode("utf-8") if isinstance(text, str) else text, parser)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _ns(tag: object) -> str:
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""


def _text(node: etree._Element) -> str:
    return (node.text or "").strip()


# Attributes at their BPMN 2.0 schema default mean the same written or not; modelers differ in writing them.
_DEFAULTS = {"cancelActivity": "true", "isInterrupting": "true", "isForCompensation": "false", "startQuantity": "1",
             "completionQuantity": "1", "parallelMultiple": "false", "instantiate": "false", "isClosed": "false",
             "gatewayDirection": "Unspecified", "processType": "None", "triggeredByEvent": "false",
             "isImmediate": "true", "implementation": "##unspecified"}


def _tracked(node: etree._Element) -> bool:
    if _ns(node.tag) != BPMN_NS or not node.get("id"):
        return False
    tag = _local(node.tag)
    return tag in _TRACKED or tag.endswith(("Task", "Event", "Gateway"))


@dataclass
class _BpmnModel:
    """The elements of one BPMN document flattened to {key: value}, their layout and names."""

    types: dict[str, str] = field(default_factory=dict)
    props: dict[str, dict[str, str]] = field(default_factory=dict)
    layout: dict[str, str] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)


def _bpmn_model(text: str) -> _BpmnModel:
    root = _parse(text)
    model = _BpmnModel()
    names = {node.get("id"): node.get("name") or node.get("id")
             for node in root.iter(f"{{{BPMN_NS}}}message", f"{{{BPMN_NS}}}signal", f"{{{BPMN_NS}}}error",
                                   f"{{{BPMN_NS}}}escalation")}
    lanes: dict[str, str] = {}
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef"):
            lanes[_text(ref)] = lane.get("name") or lane.get("id")
    for node in root.iter():
        if not _tracked(node):
            continue
        element_id = node.get("id")
        props: dict[str, str] = {}
        for attr, value in node.attrib.items():
            if attr == "id" or attr == XSI_TYPE:
                continue
            local = _local(attr)
            if _DEFAULTS.get(local) == value.strip():
                continue  # written or left out alike (bpmn-js leaves out cancelActivity="true"): no change
            props["name" if local == "name" else f"attr:{local}"] = value
        _flatten(node, props, names, "")
        if element_id in lanes:
            props["lane"] = lanes[element_id]
        model.types[element_id] = _local(node.tag)
        model.props[element_id] = props
        model.order.append(element_id)
    for shape in root.iter(f"{{{DI_NS}}}BPMNShape"):
        bounds = next((c for c in shape if _local(c.tag) == "Bounds"), None)
        if bounds is not None and shape.get("bpmnElement"):
            model.layout[shape.get("bpmnElement")] = ",".join(
                _number(bounds.get(k)) for k in ("x", "y", "width", "height"))
    for edge in root.iter(f"{{{DI_NS}}}BPMNEdge"):
        points = [f"{_number(p.get('x'))},{_number(p.get('y'))}" for p in edge if _local(p.tag) == "waypoint"]
        if edge.get("bpmnElement"):
            model.layout[edge.get("bpmnElement")] = " ".join(points)
    return model


def _number(value: str | None) -> str:
    try:
        return str(round(float(value or 0)))
    except ValueError:
        return value or ""


def _flatten(node: etree._Element, props: dict[str, str], names: dict[str, str], path: str) -> None:
    """Put the element's children (not those with a line of their own) into `props` as readable keys."""
    seen: dict[str, int] = {}
    for child in node:
        tag = _local(child.tag)
        if not tag or _tracked(child) or tag in _SKIPPED_CHILDREN:
            continue
        if _ns(child.tag) == BPMN_NS and not path:
            if tag.endswith("EventDefinition"):
                kind = tag[: -len("EventDefinition")]
                ref = next((child.get(a) for a in ("messageRef", "signalRef", "errorRef", "escalationRef")
                            if child.get(a)), None)
                props[f"event:{kind}"] = names.get(ref, ref) if ref else ""
                for part in child:
                    if _local(part.tag) in _TIMER_PARTS:
                        props[f"timer:{_local(part.tag)}"] = _text(part)
                continue
            if tag == "conditionExpression":
                props["condition"] = _text(child)
                continue
            if tag in ("script", "documentation"):
                props[tag] = _text(child)
                continue
            if tag == "extensionElements":
                _extensions(child, props)
                continue
        # Anything else (loops, data associations, another tool's extensions): by its path.
        seen[tag] = seen.get(tag, 0) + 1
        key = f"{path}{tag}" + (f"[{child.get('id') or child.get('name')}]" if child.get("id") or child.get("name")
                                else f"[{seen[tag]}]" if seen[tag] > 1 else "")
        if _text(child):
            props[f"setting:{key}"] = _text(child)
        for attr, value in child.attrib.items():
            if _local(attr) != "id":
                props[f"setting:{key}@{_local(attr)}"] = value
        _flatten(child, props, names, f"{key}/")


def _extensions(node: etree._Element, props: dict[str, str]) -> None:
    """spiffworkflow's properties, operator and its parameters, scripts; other tools' extensions by path."""
    for child in node:
        tag = _local(child.tag)
        if _ns(child.tag) != SPIFF_NS:
            holder = etree.Element("holder")
            holder.append(_copy(child))
            _flatten(holder, props, {}, "ext:")
            continue
        if tag == "properties":
            for prop in child:
                if _local(prop.tag) == "property" and prop.get("name"):
                    props[f"property:{prop.get('name')}"] = prop.get("value") or _text(prop)
        elif tag == "serviceTaskOperator":
            props["operator"] = child.get("id") or ""
            for param in child.iter(f"{{{SPIFF_NS}}}parameter"):
                if param.get("id"):
                    props[f"parameter:{param.get('id')}"] = param.get("value") or ""
        else:
            props[f"spiff:{tag}"] = _text(child) or " ".join(f"{_local(k)}={v}" for k, v in child.attrib.items())


def _copy(node: etree._Element) -> etree._Element:
    from copy import deepcopy

    return deepcopy(node)


# --------------------------------------------------------------------------- BPMN

def compare_bpmn(old: str, new: str) -> list[ElementChange]:
    """The elements of two BPMN texts that differ, matched by id: added, removed, changed, moved."""
    a, b = _bpmn_model(old), _bpmn_model(new)
    out: list[ElementChange] = []
    for element_id in [*b.order, *(i for i in a.order if i not in b.props)]:
        pa, pb = a.props.get(element_id), b.props.get(element_id)
        kind_source = pb if pb is not None else pa
        element_type = (b.types if pb is not None else a.types)[element_id]
        name = Named(kind_source.get("name") or "", kind_source.get("property:name_en") or None)
        if pa is None:
            out.append(ElementChange(element_id, "added", element_type, name, _property_changes({}, pb)))
        elif pb is None:
            out.append(ElementChange(element_id, "removed", element_type, name, _property_changes(pa, {})))
        else:
            changes = _property_changes(pa, pb, both=True)
            if a.types[element_id] != element_type:
                changes = (PropertyChange("type", a.types[element_id], element_type), *changes)
            moved = a.layout.get(element_id) != b.layout.get(element_id)
            if changes:
                out.append(ElementChange(element_id, "changed", element_type, name, changes, layout=moved))
            elif moved:
                out.append(ElementChange(element_id, "moved", element_type, name, (), layout=True))
    return sorted(out, key=lambda e: KINDS.index(e.kind))


def _property_changes(a: dict[str, str], b: dict[str, str], both: bool = False) -> tuple[PropertyChange, ...]:
    """What differs; for an element on both sides, an attribute left at its default reads as that default."""
    keys = list(dict.fromkeys([*a, *b]))

    def value(side: dict[str, str], key: str) -> str | None:
        if key in side or not both or not key.startswith("attr:"):
            return side.get(key)
        return _DEFAULTS.get(key[len("attr:"):])

    return tuple(PropertyChange(k, value(a, k), value(b, k)) for k in keys if a.get(k) != b.get(k))


# --------------------------------------------------------------------------- DMN

@dataclass
class _Column:
    id: str
    label: str
    props: dict[str, str]


@dataclass
class _Rule:
    id: str
    description: str
    inputs: list[str]
    outputs: list[str]


@dataclass
class _Decision:
    id: str
    name: str
    props: dict[str, str]
    inputs: list[_Column]
    outputs: list[_Column]
    rules: list[_Rule]


def _children(node: etree._Element, tag: str) -> list[etree._Element]:
    return [c for c in node if _local(c.tag) == tag]


def _child_text(node: etree._Element, tag: str) -> str:
    found = _children(node, tag)
    return _text(found[0]) if found else ""


def _dmn_model(text: str) -> dict[str, _Decision]:
    root = _parse(text)
    decisions: dict[str, _Decision] = {}
    for node in root.iter():
        if _local(node.tag) != "decision":
            continue
        props = {"name": node.get("name") or ""}
        inputs: list[_Column] = []
        outputs: list[_Column] = []
        rules: list[_Rule] = []
        for table in _children(node, "decisionTable"):
            props["hitPolicy"] = table.get("hitPolicy") or "UNIQUE"
            if table.get("aggregation"):
                props["aggregation"] = table.get("aggregation")
            for i, col in enumerate(_children(table, "input"), 1):
                expression = next(iter(_children(col, "inputExpression")), None)
                expr_text = _child_text(expression, "text") if expression is not None else ""
                inputs.append(_Column(col.get("id") or f"input{i}", col.get("label") or expr_text or f"#{i}", {
                    "label": col.get("label") or "", "expression": expr_text,
                    "typeRef": expression.get("typeRef") or "" if expression is not None else ""}))
            for i, col in enumerate(_children(table, "output"), 1):
                outputs.append(_Column(col.get("id") or f"output{i}", col.get("label") or col.get("name") or f"#{i}", {
                    "label": col.get("label") or "", "output_name": col.get("name") or "",
                    "typeRef": col.get("typeRef") or ""}))
            for rule in _children(table, "rule"):
                rules.append(_Rule(rule.get("id") or "", _child_text(rule, "description"),
                                   [_child_text(c, "text") for c in _children(rule, "inputEntry")],
                                   [_child_text(c, "text") for c in _children(rule, "outputEntry")]))
        for literal in _children(node, "literalExpression"):
            props["literal"] = _child_text(literal, "text")
        decisions[node.get("id") or props["name"]] = _Decision(node.get("id") or "", props["name"], props,
                                                              inputs, outputs, rules)
    return decisions


def _pair(a: list, b: list, key) -> list[tuple[int | None, int | None]]:
    """Match items by id; those left without a match (or without an id) by position among the left-overs."""
    ids_a = {key(x): i for i, x in enumerate(a) if key(x)}
    ids_b = {key(x): i for i, x in enumerate(b) if key(x)}
    pairs: list[tuple[int | None, int | None]] = [(ids_a[k], ids_b[k]) for k in ids_b if k in ids_a]
    shared = bool(pairs)
    left_a = [i for i, x in enumerate(a) if not (key(x) in ids_b and key(x))]
    left_b = [i for i, x in enumerate(b) if not (key(x) in ids_a and key(x))]
    # By position: items that carry no id, or every item when the two sides share no id at all
    # (a file written again by a tool that renumbers everything).
    loose_a = [i for i in left_a if not key(a[i]) or not shared]
    loose_b = [i for i in left_b if not key(b[i]) or not shared]
    for ia, ib in zip(loose_a, loose_b, strict=False):
        pairs.append((ia, ib))
    paired_a = {p[0] for p in pairs}
    paired_b = {p[1] for p in pairs}
    pairs += [(i, None) for i in range(len(a)) if i not in paired_a]
    pairs += [(None, i) for i in range(len(b)) if i not in paired_b]
    return pairs


def _compare_decision(a: _Decision | None, b: _Decision | None) -> DecisionDiff | None:
    if a is None or b is None:
        only = a or b
        kind = "added" if a is None else "removed"
        rules = tuple(RuleChange(kind, r.id, None if a is None else i, i if a is None else None,
                                 row=_row(only, r)) for i, r in enumerate(only.rules, 1))
        return DecisionDiff(only.id, only.name, kind, rules=rules)
    properties = _property_changes(a.props, b.props)
    columns: list[ColumnChange] = []
    column_pairs: dict[str, list[tuple[int | None, int | None]]] = {}
    for side, ca, cb in (("input", a.inputs, b.inputs), ("output", a.outputs, b.outputs)):
        pairs = _pair(ca, cb, lambda c: c.id)
        column_pairs[side] = pairs
        for ia, ib in pairs:
            if ia is None:
                columns.append(ColumnChange("added", side, cb[ib].id, cb[ib].label, _property_changes({}, cb[ib].props)))
            elif ib is None:
                columns.append(ColumnChange("removed", side, ca[ia].id, ca[ia].label,
                                            _property_changes(ca[ia].props, {})))
            elif ca[ia].props != cb[ib].props:
                columns.append(ColumnChange("changed", side, cb[ib].id, cb[ib].label,
                                            _property_changes(ca[ia].props, cb[ib].props)))
    rules: list[RuleChange] = []
    for ia, ib in sorted(_pair(a.rules, b.rules, lambda r: r.id),
                         key=lambda p: (p[1] if p[1] is not None else p[0] + 0.5)):
        if ia is None:
            rules.append(RuleChange("added", b.rules[ib].id, None, ib + 1, row=_row(b, b.rules[ib])))
        elif ib is None:
            rules.append(RuleChange("removed", a.rules[ia].id, ia + 1, None, row=_row(a, a.rules[ia])))
        else:
            cells = _cell_changes(a, b, a.rules[ia], b.rules[ib], column_pairs)
            if cells:
                rules.append(RuleChange("changed", b.rules[ib].id, ia + 1, ib + 1, cells=cells))
    if not (properties or columns or rules):
        return None
    return DecisionDiff(b.id, b.name, "changed", properties, tuple(columns), tuple(rules))


def _cell(values: list[str], index: int | None) -> str | None:
    return values[index] if index is not None and index < len(values) else None


def _cell_changes(a: _Decision, b: _Decision, ra: _Rule, rb: _Rule,
                  column_pairs: dict[str, list[tuple[int | None, int | None]]]) -> tuple[CellChange, ...]:
    cells: list[CellChange] = []
    for side, cols_a, cols_b, va, vb in (("input", a.inputs, b.inputs, ra.inputs, rb.inputs),
                                         ("output", a.outputs, b.outputs, ra.outputs, rb.outputs)):
        for ia, ib in column_pairs[side]:
            old, new = _cell(va, ia), _cell(vb, ib)
            if old != new:
                label = cols_b[ib].label if ib is not None else cols_a[ia].label
                cells.append(CellChange(label, side, old, new))
    if ra.description != rb.description:
        cells.append(CellChange("", "description", ra.description or None, rb.description or None))
    return tuple(cells)


def _row(decision: _Decision, rule: _Rule) -> tuple[Cell, ...]:
    return (*(Cell(c.label, _cell(rule.inputs, i)) for i, c in enumerate(decision.inputs)),
            *(Cell(c.label, _cell(rule.outputs, i)) for i, c in enumerate(decision.outputs)))


def compare_dmn(old: str, new: str) -> list[DecisionDiff]:
    """The decisions of two DMN texts that differ: properties, columns, and rules row by row."""
    a, b = _dmn_model(old), _dmn_model(new)
    out = []
    for decision_id in [*b, *(k for k in a if k not in b)]:
        diff = _compare_decision(a.get(decision_id), b.get(decision_id))
        if diff is not None:
            out.append(diff)
    return out


# --------------------------------------------------------------------------- bundles

def compare_files(old: dict[str, str], new: dict[str, str]) -> BundleDiff:
    """Two bundles compared file by file (by name): a file added or removed is said so."""
    files: list[FileDiff] = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if a is None or b is None:
            files.append(FileDiff(name, "added" if a is None else "removed"))
            continue
        if a == b:
            files.append(FileDiff(name, "unchanged"))
            continue
        try:
            if name.lower().endswith(".bpmn"):
                elements = tuple(compare_bpmn(a, b))
                files.append(FileDiff(name, "changed" if elements else "unchanged", elements=elements))
            elif name.lower().endswith(".dmn"):
                decisions = tuple(compare_dmn(a, b))
                files.append(FileDiff(name, "changed" if decisions else "unchanged", decisions=decisions))
            else:
                files.append(FileDiff(name, "changed"))
        except etree.XMLSyntaxError as exc:
            files.append(FileDiff(name, "changed", error=t(
                "one side cannot be read as XML (%(error)s); open it in the modeler to repair it",
                error=str(exc).splitlines()[0] if str(exc) else "XMLSyntaxError")))
    return BundleDiff(tuple(files))


# --------------------------------------------------------------------------- the page's service

@dataclass(frozen=True)
class VersionInfo:
    """A deployed version as the pickers list it."""

    version: int
    deployed_at: datetime | None
    deployed_by: str | None


@dataclass(frozen=True)
class ProcessVersions:
    """A process key with its name and deployed versions, newest first."""

    key: str
    name: str
    versions: tuple[VersionInfo, ...]


@dataclass(frozen=True)
class Side:
    """One side of a comparison: what it is (a version or a draft) and its files."""

    label: Text
    files: dict[str, str]
    key: str
    version: int | None = None
    draft_id: int | None = None


@dataclass(frozen=True)
class Comparison:
    """Two sides and what changed between them."""

    old: Side
    new: Side
    diff: BundleDiff


class CompareError(LookupError):
    """A version or draft to compare that does not exist (the message says what to choose instead)."""


class CompareService:
    """Finds the versions (or the draft) to compare and compares them."""

    def __init__(self, session: Session, clock: Clock = SYSTEM_CLOCK):
        self.session = session
        self.clock = clock

    def processes(self) -> list[ProcessVersions]:
        """Every deployed process key with its versions, for the pickers."""
        rows = self.session.execute(select(ProcessDefinition.process_key, ProcessDefinition.version,
                                           ProcessDefinition.name, ProcessDefinition.deployed_at,
                                           ProcessDefinition.deployed_by)
                                    .order_by(ProcessDefinition.process_key, ProcessDefinition.version.desc())).all()
        out: dict[str, ProcessVersions] = {}
        for key, version, name, at, by in rows:
            entry = out.setdefault(key, ProcessVersions(key, name or key, ()))
            out[key] = ProcessVersions(key, entry.name, (*entry.versions, VersionInfo(version, at, by)))
        return list(out.values())

    def running_counts(self, key: str) -> dict[int, int]:
        """{version: running instances} of a process (what a change would leave on the old version)."""
        from sqlalchemy import func

        rows = self.session.execute(
            select(ProcessDefinition.version, func.count(ProcessInstance.id))
            .join(ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)
            .where(ProcessDefinition.process_key == key, ProcessInstance.status.in_(("running", "error")))
            .group_by(ProcessDefinition.version))
        return dict(rows.all())

    def _version(self, key: str, version: int) -> Side:
        row = self.session.scalar(select(ProcessDefinition).options(undefer(ProcessDefinition.files))
                                  .where(ProcessDefinition.process_key == key, ProcessDefinition.version == version))
        if row is None:
            raise CompareError(t("process %(key)s has no version %(version)s; choose one from the list",
                                key=key, version=version))
        return Side(t("version %(version)s", version=version), dict(row.files or {}), key, version=version)

    def versions(self, key: str, old: int | None = None, new: int | None = None) -> Comparison:
        """Version `old` of `key` against version `new` (by default the newest against the one before it)."""
        numbers = list(self.session.scalars(select(ProcessDefinition.version)
                                            .where(ProcessDefinition.process_key == key)
                                            .order_by(ProcessDefinition.version.desc())))
        if not numbers:
            raise CompareError(t("there is no deployed process %(key)s; choose one from the list", key=key))
        new = new or numbers[0]
        old = old or next((n for n in numbers if n < new), new)
        a, b = self._version(key, old), self._version(key, new)
        return Comparison(a, b, compare_files(a.files, b.files))

    def draft(self, draft_id: int, version: int | None = None, key: str | None = None) -> Comparison:
        """A saved draft against a deployed version: of the draft's base process unless `key` names another,
        the base's version unless `version` names another (the newest when the draft has no base version)."""
        try:
            found = DraftService(self.session, self.clock).get(draft_id)
        except DraftNotFoundError as exc:
            raise CompareError(*exc.args) from None
        key = key or found.base_key
        if not key:
            raise CompareError(t("draft %(draft)s has no deployed process to compare with; choose a process",
                                 draft=draft_id))
        old = self.versions(key, None, version or found.base_version).new
        new = Side(t("draft %(draft)s %(title)s", draft=draft_id, title=found.title), dict(found.files), key,
                   draft_id=draft_id)
        return Comparison(old, new, compare_files(old.files, new.files))
