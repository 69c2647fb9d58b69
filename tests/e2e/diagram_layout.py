"""A diagram for BPMN files that have none (tests/bpmn_factory.py's), so that bpmn-js can draw them.

Flow nodes are laid out left to right in the order the sequence flows reach them (what no flow reaches
goes last), each pool's process in a band of its own; sequence flows become straight edges. Enough for
a test to find an element on the canvas, not a layout for people.
"""

from __future__ import annotations

from collections import deque

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
NOT_NODES = {"sequenceFlow", "laneSet", "lane", "extensionElements", "documentation", "dataObject", "textAnnotation",
             "association", "ioSpecification", "property", "messageFlow"}
SMALL = {"startEvent": 36, "endEvent": 36, "intermediateCatchEvent": 36, "intermediateThrowEvent": 36,
         "boundaryEvent": 36, "exclusiveGateway": 50, "parallelGateway": 50, "inclusiveGateway": 50,
         "eventBasedGateway": 50, "complexGateway": 50}


def _local(node) -> str:
    return etree.QName(node).localname


def with_diagram(xml: str) -> str:
    """`xml` with a BPMN diagram added when it has none (unchanged otherwise, or when it is no BPMN)."""
    try:
        root = etree.fromstring(xml.encode("utf-8"))
    except etree.XMLSyntaxError:
        return xml
    if etree.QName(root).namespace != BPMN or root.find(f"{{{BPMNDI}}}BPMNDiagram") is not None:
        return xml
    processes = root.findall(f"{{{BPMN}}}process")
    collaboration = root.find(f"{{{BPMN}}}collaboration")
    diagram = etree.SubElement(root, f"{{{BPMNDI}}}BPMNDiagram", id="generated_diagram")
    plane_of = collaboration if collaboration is not None else (processes[0] if processes else None)
    if plane_of is None:
        root.remove(diagram)
        return xml
    plane = etree.SubElement(diagram, f"{{{BPMNDI}}}BPMNPlane", id="generated_plane", bpmnElement=plane_of.get("id"))
    pools = {} if collaboration is None else {
        p.get("processRef"): p for p in collaboration.findall(f"{{{BPMN}}}participant") if p.get("processRef")}
    top = 40
    for process in processes:
        nodes = [n for n in process if isinstance(n.tag, str) and _local(n) not in NOT_NODES and n.get("id")]
        flows = [f for f in process if isinstance(f.tag, str) and _local(f) == "sequenceFlow"]
        order = _reach_order(nodes, flows)
        at = {}
        for i, node in enumerate(order):
            size = SMALL.get(_local(node))
            w, h = (size, size) if size else (100, 80)
            x, y = 200 + i * 160, top + 100 - h // 2
            at[node.get("id")] = (x, y, w, h)
            shape = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNShape", id=f"{node.get('id')}_di",
                                     bpmnElement=node.get("id"))
            etree.SubElement(shape, f"{{{DC}}}Bounds", x=str(x), y=str(y), width=str(w), height=str(h))
        for flow in flows:
            a, b = at.get(flow.get("sourceRef")), at.get(flow.get("targetRef"))
            if not a or not b:
                continue
            edge = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNEdge", id=f"{flow.get('id')}_di", bpmnElement=flow.get("id"))
            etree.SubElement(edge, f"{{{DI}}}waypoint", x=str(a[0] + a[2]), y=str(a[1] + a[3] // 2))
            etree.SubElement(edge, f"{{{DI}}}waypoint", x=str(b[0]), y=str(b[1] + b[3] // 2))
        pool = pools.get(process.get("id"))
        if pool is not None:
            shape = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNShape", id=f"{pool.get('id')}_di",
                                     bpmnElement=pool.get("id"), isHorizontal="true")
            etree.SubElement(shape, f"{{{DC}}}Bounds", x="120", y=str(top), width=str(200 + 160 * len(order)),
                             height="200")
            plane.insert(0, shape)  # pools first: bpmn-js draws the children into them
        top += 240
    text = etree.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text


def _reach_order(nodes, flows):
    """Nodes in the order a walk along the sequence flows from the start events meets them."""
    by_id = {n.get("id"): n for n in nodes}
    after: dict[str, list[str]] = {}
    for flow in flows:
        after.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
    starts = [n.get("id") for n in nodes if _local(n) == "startEvent"] or [n.get("id") for n in nodes[:1]]
    seen: list[str] = []
    queue = deque(starts)
    while queue:
        node_id = queue.popleft()
        if node_id in seen or node_id not in by_id:
            continue
        seen.append(node_id)
        queue.extend(after.get(node_id, []))
    seen += [n.get("id") for n in nodes if n.get("id") not in seen]
    return [by_id[i] for i in seen]
