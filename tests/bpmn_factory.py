"""Small BPMN documents built in tests (the spiff extensions, no diagram)."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

HEADER = ('<?xml version="1.0" encoding="UTF-8"?>\n'
          '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
          'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
          'id="defs" targetNamespace="http://ioc.test">\n')


def process(pid: str, steps: list[str], lanes: dict[str, list[str]] | None = None) -> str:
    """A process start → steps… → end; `steps` are element XML strings with ids s0, s1, …"""
    ids = ["start", *[f"s{i}" for i in range(len(steps))], "end"]
    body = ['<bpmn:startEvent id="start"/>', *steps, '<bpmn:endEvent id="end"/>']
    pairs = enumerate(zip(ids, ids[1:], strict=False))
    flows = [f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>' for i, (a, b) in pairs]
    lane_xml = ""
    if lanes:
        lane_xml = '<bpmn:laneSet id="lanes">' + "".join(
            f'<bpmn:lane id="lane_{i}" name={quoteattr(name)}>'
            + "".join(f"<bpmn:flowNodeRef>{r}</bpmn:flowNodeRef>" for r in refs)
            + "</bpmn:lane>" for i, (name, refs) in enumerate(lanes.items())) + "</bpmn:laneSet>"
    return (HEADER + f'<bpmn:process id="{pid}" isExecutable="true">{lane_xml}' + "".join(body) + "".join(flows)
            + "</bpmn:process></bpmn:definitions>")


def script(i: int, code: str) -> str:
    """A script task with id s{i}."""
    return f'<bpmn:scriptTask id="s{i}" name="Script {i}"><bpmn:script>{escape(code)}</bpmn:script></bpmn:scriptTask>'


def user(i: int, name: str = "Việc", fields: dict[str, str] | None = None) -> str:
    """A user task with id s{i} and optional form fields."""
    props = "".join(f'<spiffworkflow:property name="field.{k}" value={quoteattr(v)}/>' for k, v in (fields or {}).items())
    ext = ""
    if props:
        ext = f"<bpmn:extensionElements><spiffworkflow:properties>{props}</spiffworkflow:properties></bpmn:extensionElements>"
    return f'<bpmn:userTask id="s{i}" name={quoteattr(name)}>{ext}</bpmn:userTask>'


def service(i: int, operator: str, params: dict[str, str]) -> str:
    """A service task with id s{i} calling `operator` with parameter expressions."""
    ps = "".join(f'<spiffworkflow:parameter id="{k}" type="any" value={quoteattr(v)}/>' for k, v in params.items())
    return (f'<bpmn:serviceTask id="s{i}" name="Service {i}"><bpmn:extensionElements>'
            f'<spiffworkflow:serviceTaskOperator id="{operator}" resultVariable="r{i}">'
            f"<spiffworkflow:parameters>{ps}</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator>"
            "</bpmn:extensionElements></bpmn:serviceTask>")


def timer(i: int, expression: str, kind: str = "timeDuration") -> str:
    """An intermediate timer catch event with id s{i}."""
    return (f'<bpmn:intermediateCatchEvent id="s{i}" name="Chờ"><bpmn:timerEventDefinition id="t{i}">'
            f'<bpmn:{kind}>{escape(expression)}</bpmn:{kind}></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>')


def call(i: int, called: str) -> str:
    """A call activity with id s{i}."""
    return f'<bpmn:callActivity id="s{i}" name="Gọi" calledElement="{called}"/>'


def rule(i: int, decision: str) -> str:
    """A business rule task with id s{i} calling a DMN decision."""
    return (f'<bpmn:businessRuleTask id="s{i}" name="Quyết định"><bpmn:extensionElements>'
            f"<spiffworkflow:calledDecisionId>{decision}</spiffworkflow:calledDecisionId>"
            "</bpmn:extensionElements></bpmn:businessRuleTask>")
