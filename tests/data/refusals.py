"""Every kind of refusal `ioc deploy` gives, each as a small bundle that triggers it and the element it must name.

`REFUSALS[kind]` is a `Refusal`: the files (name -> text), the id of the element the problem must be
marked on (None: the file as a whole), the problem's `code` and a few words of its English message.
The check API's test (tests/integration/test_designer_checks.py) checks each; the browser test of
the canvas shows each on its element.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from tests.bpmn_factory import HEADER, call, process, rule, script, service, timer, user

OFFICER = {"officer": ["start", "s0", "s1", "end"]}
CAMUNDA_NS = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '


@dataclass(frozen=True)
class Refusal:
    """A bundle `ioc deploy` refuses, the element the refusal names and its kind."""

    files: dict[str, str]
    element: str | None
    code: str
    words: str  # part of the English message


def gateway(conditions: list[str | None], default: int | None = None) -> str:
    """start → gateway g → one task per condition (flows f_0, f_1, …; None: no condition) → end."""
    branches, flows = [], ['<bpmn:sequenceFlow id="f_in" sourceRef="start" targetRef="g"/>']
    for i, condition in enumerate(conditions):
        branches.append(f'<bpmn:scriptTask id="t{i}"><bpmn:script>x = {i}</bpmn:script></bpmn:scriptTask>')
        body = (f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{escape(condition)}'
                "</bpmn:conditionExpression>") if condition is not None else ""
        flows.append(f'<bpmn:sequenceFlow id="f_{i}" sourceRef="g" targetRef="t{i}">{body}</bpmn:sequenceFlow>')
        flows.append(f'<bpmn:sequenceFlow id="f_out{i}" sourceRef="t{i}" targetRef="end"/>')
    header = HEADER.replace("<bpmn:definitions ", '<bpmn:definitions xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ')
    default_attr = f' default="f_{default}"' if default is not None else ""
    return (header + '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="start"/>'
            f'<bpmn:exclusiveGateway id="g"{default_attr}/>' + "".join(branches) + '<bpmn:endEvent id="end"/>' + "".join(flows)
            + "</bpmn:process></bpmn:definitions>")


def _bpmn(body: str) -> dict[str, str]:
    return {"p.bpmn": body}


def _camunda(xml: str) -> str:
    return xml.replace("<bpmn:definitions ", "<bpmn:definitions " + CAMUNDA_NS, 1)


_UNREACHABLE = process("p", [script(0, "x = 1")]).replace(
    '<bpmn:endEvent id="end"/>', '<bpmn:endEvent id="end"/><bpmn:scriptTask id="lost"><bpmn:script>y = 2</bpmn:script>'
    "</bpmn:scriptTask>")
_SECOND_START = process("p", [script(0, "x = 1")]).replace(
    '<bpmn:endEvent id="end"/>', '<bpmn:endEvent id="end"/><bpmn:startEvent id="start2"/>')
_NO_START = process("p", [script(0, "x = 1")]).replace('<bpmn:startEvent id="start"/>', "").replace(
    '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="s0"/>', "")

REFUSALS: dict[str, Refusal] = {
    "unknown operator": Refusal(_bpmn(process("p", [service(0, "send_fax", {"to": "'x'"})])), "s0",
                                "operator.unknown", "unknown operator 'send_fax'"),
    "missing operator parameter": Refusal(_bpmn(process("p", [service(0, "assign", {"unit": "'X'"})])), "s0",
                                          "operator.params", "needs parameter(s)"),
    "unknown operator parameter": Refusal(
        _bpmn(process("p", [service(0, "close", {"reason": "'x'", "colour": "'red'"})])), "s0", "operator.params",
        "has no parameter(s) colour"),
    "service task without operator": Refusal(
        _bpmn(process("p", ['<bpmn:serviceTask id="s0" name="Gửi"/>'])), "s0", "operator.missing", "has no operator"),
    "Camunda implementation": Refusal(
        _bpmn(_camunda(process("p", ['<bpmn:serviceTask id="s0" camunda:class="org.example.Send"/>']))), "s0",
        "operator.camunda", "uses a Camunda implementation"),
    "user task in no lane": Refusal(_bpmn(process("p", [user(0)])), "s0", "lane.missing", "user task is in no lane"),
    "lane names no role": Refusal(
        _bpmn(process("p", [user(0), user(1)], {"Khách vãng lai": ["start", "s0", "s1", "end"]})), "s0", "lane.role",
        "names no known role"),
    "unknown choice list": Refusal(
        _bpmn(process("p", [user(0, fields={"x": "choice@planets"}), user(1)], OFFICER)), "s0", "list.unknown",
        "list 'planets', which does not exist"),
    "bad form field": Refusal(_bpmn(process("p", [user(0, fields={"x": "colour!"}), user(1)], OFFICER)), "s0",
                              "form.field", "field 'x'"),
    "unquoted timer": Refusal(_bpmn(process("p", [timer(0, "PT4H")])), "s0", "timer.invalid", "must be quoted"),
    "zero or bad duration": Refusal(_bpmn(process("p", [timer(0, '"4 hours"')])), "s0", "timer.invalid",
                                    "is not a duration longer than zero"),
    "bad cycle": Refusal(_bpmn(process("p", [timer(0, '"R/P"', "timeCycle")])), "s0", "timer.invalid",
                         "is not a cycle with a non-zero period"),
    "timer without definition": Refusal(
        _bpmn(process("p", ['<bpmn:intermediateCatchEvent id="s0"><bpmn:timerEventDefinition id="t0"/>'
                            "</bpmn:intermediateCatchEvent>"])), "s0", "timer.missing", "timer has no definition"),
    "missing called process": Refusal(_bpmn(process("p", [call(0, "nowhere")])), "s0", "call.missing",
                                      "calls process 'nowhere'"),
    "missing decision": Refusal(_bpmn(process("p", [rule(0, "no_decision")])), "s0", "decision.missing",
                                "calls decision 'no_decision'"),
    "condition refused": Refusal(_bpmn(gateway(["().__class__", None], default=1)), "f_0", "condition.refused",
                                 "condition is refused"),
    "JUEL condition": Refusal(_bpmn(gateway(["${amount > 5}", "amount <= 5"])), "f_0", "condition.juel",
                              "write it in Python, e.g. amount > 5"),
    "flow without condition": Refusal(_bpmn(gateway(["amount > 5", None, None])), "f_1", "condition.missing",
                                      "without a condition"),
    "script refused": Refusal(_bpmn(process("p", [script(0, "import os")])), "s0", "script.refused",
                              "import statements are not allowed"),
    "Camunda script API": Refusal(_bpmn(process("p", [script(0, 'amount = execution.getVariable("amount")')])), "s0",
                                  "script.java", "Camunda's Java/JavaScript API"),
    "script in another language": Refusal(
        _bpmn(process("p", ['<bpmn:scriptTask id="s0" scriptFormat="groovy"><bpmn:script>println "hi"</bpmn:script>'
                            "</bpmn:scriptTask>"])), "s0", "script.language", "is written in groovy"),
    "not executable": Refusal(_bpmn(process("p", [script(0, "x = 1")]).replace('isExecutable="true"',
                                                                                'isExecutable="false"')),
                              "p", "process.not_executable", "is marked not executable; mark it executable"),
    "no start event": Refusal(_bpmn(_NO_START), "p", "process.no_start", "has no start event"),
    "start event leads nowhere": Refusal(_bpmn(_SECOND_START), "start2", "flow.start_dead_end", "leads nowhere"),
    "unreachable element": Refusal(_bpmn(_UNREACHABLE), "lost", "flow.unreachable",
                                   "cannot be reached from any start event"),
    "unsupported element": Refusal(
        _bpmn(process("p", ['<bpmn:complexGateway id="s0"/>'])), "s0", "element.unsupported", "complex gateway"),
    "multi-instance without input": Refusal(
        _bpmn(process("p", ['<bpmn:userTask id="s0"><bpmn:multiInstanceLoopCharacteristics/></bpmn:userTask>'],
                      OFFICER)), "s0", "multi_instance.input", "neither how many times nor over which list"),
    "message event without message": Refusal(
        _bpmn(process("p", ['<bpmn:intermediateCatchEvent id="s0"><bpmn:messageEventDefinition id="m0"/>'
                            "</bpmn:intermediateCatchEvent>"])), "s0", "message.missing", "names no message"),
    "not well-formed XML": Refusal(_bpmn("<bpmn:definitions"), None, "file.not_xml", "cannot be parsed"),
    "not valid BPMN": Refusal(_bpmn(process("p", [script(0, "x = 1")]).replace("<bpmn:startEvent", "<bpmn:startEvnt")),
                              "start", "file.schema", "element bpmn:startEvnt is not allowed here"),
    "not BPMN at all": Refusal(_bpmn('<?xml version="1.0"?><html><body/></html>'), None, "file.not_bpmn",
                               "is not a BPMN 2.0 file"),
}
