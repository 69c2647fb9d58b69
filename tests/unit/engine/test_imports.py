"""The to-do list of files from other modelers, and the deploy check's words on them.

Every file of tests/data/imports/ (the BPMN MIWG's test files, Camunda's examples, files saved by
bpmn.io; origins in tests/data/imports/SOURCES.md) opens: the analysis and the deploy check never
crash and every problem is a complete sentence in the product's words with the element it concerns.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine import imports
from engine.definitions import DefinitionService
from engine.errors import Problem
from engine.i18n import Text
from tests.bpmn_factory import process, script, service, user
from tests.conftest import BPMN_DIR
from workflows.roles import lane_roles
from workflows.runtime import EVALUATOR, REGISTRY

IMPORTS = Path(__file__).resolve().parents[2] / "data" / "imports"
FILES = sorted(IMPORTS.rglob("*.bpmn"))
OFFICER = {"officer": ["start", "s0", "s1", "end"]}

# What each file's to-do list must hold: (element id, code). Read off the files by hand.
EXPECTED: dict[str, set[tuple[str | None, str]]] = {
    "miwg/A.1.0.bpmn": {("WFP-6-", "process.not_executable"), ("_ec59e164-68b4-4f94-98de-ffb1c58a84af", "task.untyped")},
    "miwg/A.2.0.bpmn": {("WFP-6-", "process.not_executable"),
                        ("_f1478fb7-98c4-4c01-8c15-68bd04c91535", "condition.missing"),
                        ("_a1570a53-28d2-41b1-a3a2-3e50c00d747e", "condition.missing"),
                        ("_20ebb3c1-5178-4c7c-a91d-23e58f2aa73b", "condition.missing")},
    "miwg/A.1.0-signavio-6.7.5-export.bpmn": {("sid-a3607ae4-4a35-4418-84eb-a9dc835c8de5", "process.not_executable")},
    "miwg/A.2.0-eclipse-bpmn2-modeler-0.2.6-export.bpmn": {("SequenceFlow_4", "condition.missing"),
                                                           ("Task_1", "task.untyped")},
    "camunda/loan-granting.bpmn": {("Task_1lvjtd4", "operator.camunda"), ("Task_0v4gadf", "operator.camunda"),
                                   ("Task_0j0sjlk", "operator.camunda"),
                                   ("SequenceFlow_17zmvol", "condition.juel"), ("SequenceFlow_0vpum3q", "condition.juel"),
                                   ("SubProcess_16kr5xn", "multi_instance.input"), ("StartEvent_1", "timer.cron"),
                                   ("Task_1lvjtd4", "extension.io")},
    "camunda/loan-approval-generated-forms.bpmn": {("UserTask_1", "lane.missing"), ("UserTask_1", "form.camunda"),
                                                   ("StartEvent_1", "form.start")},
    "camunda/synchronous-service-invocation.bpmn": {("waitStateBefore", "lane.missing"),
                                                    ("waitStateAfter", "lane.missing"),
                                                    ("ServiceTask_1", "operator.camunda")},
    "camunda/invoice-approval-camunda-forms.bpmn": {("UserTask_1", "lane.missing"), ("UserTask_1", "form.camunda"),
                                                    ("StartEvent_1", "form.start")},
    "camunda/order-process-zeebe.bpmn": {("Activity_0tw2fu0", "operator.camunda"), ("Activity_1ppsbgi", "operator.camunda"),
                                         ("Activity_08pg6im", "operator.camunda")},
    "bpmn-io/initial.bpmn": {("Process_1", "process.not_executable"), ("StartEvent_1", "flow.start_dead_end")},
    "bpmn-io/conditions.bpmn": {("Process_1", "process.not_executable"), ("Process_1", "process.no_start"),
                                ("SequenceFlow_3", "condition.juel"), ("SequenceFlow_2", "condition.juel")},
    "bpmn-io/collaboration-data-store.bpmn": {("Process_1", "process.not_executable"),
                                              ("DataStoreReference_1by5u7v", "element.data_store"),
                                              ("Event_13f8lfq", "flow.start_dead_end")},
    "bpmn-io/camunda-extension.bpmn": {("send", "extension.io")},
}

LIBRARY_WORDS = re.compile(r"0x[0-9a-f]|<Element|<lxml|\b[A-Za-z]*(?:Error|Exception)\b|Traceback|SpiffWorkflow|"
                           r"ValidationException|\{http", re.I)


def definitions() -> DefinitionService:
    return DefinitionService(None, REGISTRY, lane_roles(), EVALUATOR)  # checking reads no database


def read(path: Path) -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8")}


def assert_plain(problem: Problem) -> None:
    """A problem in the product's own words: translatable, one complete line, no library internals."""
    text = str(problem.message)
    assert isinstance(problem.message, Text), f"not translatable: {problem}"
    assert text and "\n" not in text and "\r" not in text, f"line break: {problem}"
    assert text == text.strip() and not text.endswith((":", ",", ";", "(", "-")), f"cut short: {problem}"
    unquoted = re.sub(r"'[^']*'|\"[^\"]*\"", "", text)
    assert unquoted.count("(") == unquoted.count(")"), f"unbalanced: {problem}"
    assert not LIBRARY_WORDS.search(text), f"library internals: {problem}"
    assert problem.code, f"no kind: {problem}"


def test_the_import_files_are_there_several_per_tool():
    tools = {path.parent.name for path in FILES}
    assert tools == {"miwg", "camunda", "bpmn-io"}
    assert all(sum(p.parent.name == tool for p in FILES) >= 4 for tool in tools)
    sources = (IMPORTS / "SOURCES.md").read_text(encoding="utf-8")
    assert all(path.name in sources for path in FILES), "each file's origin is recorded"


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_file_opens_and_every_problem_is_in_the_products_words(path):
    files = read(path)
    todo = imports.analyse(files, lane_roles(), EVALUATOR)
    _compiled, refused = definitions().check(files)
    for problem in todo + refused:
        assert_plain(problem)
        assert problem.element_id is None or f'id="{problem.element_id}"' in files[path.name], problem
    found = {(p.element_id, p.code) for p in todo}
    expected = EXPECTED[f"{path.parent.name}/{path.name}"]
    assert expected <= found, sorted(expected - found)
    # What the deploy refuses is on the to-do list in the same words.
    refused_words = {(p.element_id, str(p.message)) for p in refused}
    for problem in imports.blocking(todo):
        assert (problem.element_id, str(problem.message)) in refused_words, problem


def test_a_file_whose_only_process_is_not_executable_is_told_how_to_mark_it_not_to_use_key():
    files = read(IMPORTS / "miwg" / "A.1.0.bpmn")
    _compiled, problems = definitions().check(files)
    messages = [str(p.message) for p in problems]
    assert any("is marked not executable; mark it executable" in m and 'isExecutable="true"' in m for m in messages)
    assert not any("--key" in m or "found: none" in m for m in messages), messages
    # Naming it with --key does not go round either: it says the same.
    _compiled, problems = definitions().check(files, "WFP-6-")
    assert [p.code for p in problems] == ["process.not_executable"], problems
    _compiled, problems = definitions().check(files, "nothing")
    assert any("WFP-6-" in str(p.message) for p in problems), problems


def test_the_products_own_processes_have_nothing_to_do():
    files = {p.name: p.read_text(encoding="utf-8") for p in BPMN_DIR.iterdir() if p.suffix in (".bpmn", ".dmn")}
    assert imports.blocking(imports.analyse(files, lane_roles(), EVALUATOR)) == []


def test_a_juel_condition_gets_its_python_when_it_is_plain():
    found = imports.juel_condition("p.bpmn", "f", "${amount >= 5 && !approved}", EVALUATOR)
    assert found is not None and "amount >= 5 and not approved" in found.message
    found = imports.juel_condition("p.bpmn", "f", "#{execution.getVariable('x') == 1}", EVALUATOR)
    assert found is not None and "e.g." not in found.message and "write it in Python" in found.message
    assert imports.juel_condition("p.bpmn", "f", "= priority = \"high\"", EVALUATOR).message.endswith(
        'priority == "high"')
    assert imports.juel_condition("p.bpmn", "f", "amount > 5", EVALUATOR) is None


def test_scripts_with_camunda_idioms_or_builtins_the_sandbox_lacks_are_named():
    problems = imports.script_problems("p.bpmn", "s0", 'x = execution.getVariable("x")\ntype(x)')
    assert {p.code for p in problems} == {"script.java", "script.refused"}
    assert any("execution" in p.message for p in problems) and any("type" in p.message for p in problems)
    # A variable of the same name is the designer's own: no false alarm.
    assert imports.script_problems("p.bpmn", "s0", "type = 'a'\nlabel = type.upper()") == []
    assert imports.script_problems("p.bpmn", "s0", "total = amount * 2 if approved else 0") == []


def test_names_given_by_start_data_and_forms_are_not_taken_for_mistakes():
    files = {"p.bpmn": process("p", [user(0, fields={"approved": "bool!"}), script(1, "y = approved and amount > 3")],
                               OFFICER)}
    assert imports.analyse(files, lane_roles(), EVALUATOR) == []
    _compiled, problems = definitions().check(files)
    assert problems == []


def test_advice_does_not_stop_a_deploy_but_is_on_the_list():
    body = process("p", [user(0), user(1)], OFFICER).replace(
        '<bpmn:userTask id="s0" name="Việc">',
        '<bpmn:userTask id="s0" name="Việc" camunda:formKey="embedded:app:forms/x.html">').replace(
        "<bpmn:definitions ", '<bpmn:definitions xmlns:camunda="http://camunda.org/schema/1.0/bpmn" ', 1)
    todo = imports.analyse({"p.bpmn": body}, lane_roles(), EVALUATOR)
    assert [(p.element_id, p.code) for p in todo] == [("s0", "form.camunda")]
    assert imports.blocking(todo) == []
    assert definitions().check({"p.bpmn": body})[1] == []


def test_an_element_no_start_event_reaches_is_named_and_boundary_events_of_reached_tasks_are_not():
    body = process("p", [user(0), user(1)], OFFICER).replace(
        '<bpmn:endEvent id="end"/>', '<bpmn:endEvent id="end"/><bpmn:boundaryEvent id="b" attachedToRef="s0">'
        '<bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>'
        '</bpmn:boundaryEvent><bpmn:endEvent id="late"/><bpmn:sequenceFlow id="fb" sourceRef="b" targetRef="late"/>'
        '<bpmn:manualTask id="orphan"/>')
    todo = imports.analyse({"p.bpmn": body}, lane_roles(), EVALUATOR)
    assert [(p.element_id, p.code) for p in todo] == [("orphan", "flow.unreachable")]


def test_a_service_task_with_an_operator_keeps_no_camunda_item():
    body = process("p", [service(0, "close", {"reason": "'done'"})]).replace(
        '<bpmn:serviceTask id="s0"', '<bpmn:serviceTask id="s0" camunda:class="org.example.Close"').replace(
        "<bpmn:definitions ", '<bpmn:definitions xmlns:camunda="http://camunda.org/schema/1.0/bpmn" ', 1)
    assert imports.analyse({"p.bpmn": body}, lane_roles(), EVALUATOR) == []


@pytest.mark.parametrize(("text", "code", "words"), [
    ("this is not XML", "file.not_xml", "not well-formed XML at line 1"),
    ('<?xml version="1.0"?><svg/>', "file.not_bpmn", "is not a BPMN 2.0 file"),
    ('<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>', "process.none", "holds no process"),
])
def test_a_file_that_is_not_a_process_says_what_it_is(text, code, words):
    problems = imports.analyse({"x.bpmn": text})
    assert [p.code for p in problems] == [code] and words in problems[0].message
    _compiled, refused = definitions().check({"x.bpmn": text})
    for problem in refused:
        assert_plain(problem)


def test_spiffworkflows_refusals_are_translated_into_plain_words():
    from engine.spiff import plain_words

    for error in ["KeyError('Task_9')", "<Element {http://www.omg.org/spec/BPMN/20100524/MODEL}task at 0x7f00> is bad",
                  "ValueError: invalid literal for int() with base 10: 'x'\nTraceback …",
                  "Element '{http://www.omg.org/spec/BPMN/20100524/MODEL}startEvnt': This element is not expected. "
                  "Expected is one of ( {http://www.omg.org/spec/BPMN/20100524/MODEL}documentation ).",
                  "A Service Task must have an operator. ", "Process Process_1 is not executable.",
                  'No DMN Diagram available with id "d", Available DMN ids are: ']:
        message, code = plain_words(error, "bpmn:task", 12)
        assert_plain(Problem("p.bpmn", None, message, code))


BROKEN = {
    "an id used twice": (process("p", [script(0, "x = 1"), script(1, "y = 2")]).replace('id="s1"', 'id="s0"'),
                         ("s0", "file.schema"), "is used twice"),
    "a call activity calling nothing": (process("p", ['<bpmn:callActivity id="s0"/>']), ("s0", "call.missing"),
                                        "names no process to call"),
    "a message that does not exist": (
        process("p", ['<bpmn:intermediateCatchEvent id="s0"><bpmn:messageEventDefinition messageRef="nope"/>'
                      "</bpmn:intermediateCatchEvent>"]), ("s0", "message.missing"), "a message that does not exist"),
    "an attribute the schema does not know": (
        process("p", [script(0, "x = 1")]).replace('<bpmn:startEvent id="start"/>', '<bpmn:startEvent id="start" colour="red"/>'),
        ("start", "file.schema"), "attribute colour is not allowed on element bpmn:startEvent"),
    "a script that is not Python": (process("p", [script(0, "x = (1")]), ("s0", "script.refused"),
                                    "script is refused: '(' was never closed"),
    "a loop without a maximum": (process("p", ['<bpmn:task id="s0"><bpmn:standardLoopCharacteristics/></bpmn:task>']),
                                 ("s0", "loop.invalid"), "neither a maximum nor a condition"),
    "a sub-process without a start": (process("p", ['<bpmn:subProcess id="s0"><bpmn:task id="in"/></bpmn:subProcess>']),
                                      ("s0", "process.no_start"), "sub-process has no start event"),
}


@pytest.mark.parametrize("kind", BROKEN)
def test_broken_files_are_refused_in_plain_words_on_their_element(kind):
    text, (element, code), words = BROKEN[kind]
    _compiled, problems = definitions().check({"p.bpmn": text})
    for problem in problems:
        assert_plain(problem)
    assert any(p.element_id == element and p.code == code and words in p.message for p in problems), \
        [str(p) for p in problems]


def test_a_dmn_file_the_schema_refuses_is_named_a_dmn_file():
    dmn = ('<?xml version="1.0"?><definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d">'
           '<decision id="x"><decisionTable id="t"><output id="o" name="r"/></decisionTable></decision></definitions>')
    _compiled, problems = definitions().check({"p.bpmn": process("p", [script(0, "x = 1")]), "d.dmn": dmn})
    assert [(p.file, p.element_id, p.code) for p in problems] == [("d.dmn", "x", "file.schema")]
    assert "does not follow the DMN schema" in problems[0].message and "dmn:decision" in problems[0].message


def test_elements_the_engine_would_run_wrongly_are_refused_link_compensation_complex():
    """SpiffWorkflow 3.2 parses link and compensation events as plain events (checked by running it): a link's
    catching side never runs, an undo never happens, so the to-do list refuses them; a complex gateway does not
    parse at all."""
    from engine import spiff

    link = process("p", ['<bpmn:intermediateThrowEvent id="s0"><bpmn:linkEventDefinition name="L"/>'
                         "</bpmn:intermediateThrowEvent>"])
    compensation = process("p", [script(0, "x = 1")]).replace(
        '<bpmn:endEvent id="end"/>', '<bpmn:endEvent id="end"><bpmn:compensateEventDefinition/></bpmn:endEvent>')
    for text, element, code in [(link, "s0", "element.link"), (compensation, "end", "element.compensation")]:
        parser, problems = spiff.parse_files({"p.bpmn": text})
        compiled, problems = spiff.compile_process(parser, "p", lambda _: "p.bpmn")
        assert problems == [] and compiled is not None  # the library takes it without a word
        _compiled, refused = definitions().check({"p.bpmn": text})
        assert [(p.element_id, p.code) for p in refused] == [(element, code)]
    _compiled, refused = definitions().check({"p.bpmn": process("p", ['<bpmn:complexGateway id="s0"/>'])})
    assert [(p.element_id, p.code) for p in refused] == [("s0", "element.unsupported")]


def test_a_partners_pool_marked_not_executable_beside_one_that_runs_is_advice():
    runs = process("p", [script(0, "x = 1")])
    partner = ('<bpmn:process id="partner" name="Citizen" isExecutable="false"><bpmn:task id="fill"/></bpmn:process>'
               "</bpmn:definitions>")
    files = {"p.bpmn": runs.replace("</bpmn:definitions>", partner)}
    todo = imports.analyse(files, lane_roles(), EVALUATOR)
    assert [(p.element_id, p.code) for p in todo] == [("partner", "process.not_run")]
    assert "mark it executable if it should run" in todo[0].message
    assert definitions().check(files)[1] == []
    # Called by the process that runs, it must run too.
    called = files["p.bpmn"].replace('<bpmn:scriptTask id="s0" name="Script 0"><bpmn:script>x = 1</bpmn:script>'
                                     "</bpmn:scriptTask>", '<bpmn:callActivity id="s0" calledElement="partner"/>')
    assert ("partner", "process.not_executable") in {(p.element_id, p.code) for p in
                                                     imports.analyse({"p.bpmn": called}, lane_roles(), EVALUATOR)}


def test_an_event_sub_process_is_reached_by_its_event_and_its_start_must_lead_somewhere():
    sub = ('<bpmn:subProcess id="esp" triggeredByEvent="true"><bpmn:startEvent id="esp_start">'
           '<bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>'
           '</bpmn:startEvent>%s<bpmn:endEvent id="esp_end"/>%s</bpmn:subProcess>')
    connected = sub % ("", '<bpmn:sequenceFlow id="esp_f" sourceRef="esp_start" targetRef="esp_end"/>')
    body = process("p", [script(0, "x = 1")]).replace('<bpmn:endEvent id="end"/>', '<bpmn:endEvent id="end"/>' + connected)
    assert imports.analyse({"p.bpmn": body}, lane_roles(), EVALUATOR) == []
    loose = process("p", [script(0, "x = 1")]).replace('<bpmn:endEvent id="end"/>', '<bpmn:endEvent id="end"/>'
                                                       + sub % ("", ""))
    found = {(p.element_id, p.code) for p in imports.analyse({"p.bpmn": loose}, lane_roles(), EVALUATOR)}
    assert found == {("esp_start", "flow.start_dead_end"), ("esp_end", "flow.unreachable")}
