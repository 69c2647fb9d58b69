"""Deploying definitions: refused with the element named and nothing changed; versions kept."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import DeploymentError
from engine.models import ProcessDefinition, ProcessInstance
from tests.bpmn_factory import call, process, rule, script, service, timer, user
from tests.conftest import BPMN_DIR
from tests.integration.test_field_report import intake
from workflows.runtime import make_services

OFFICER = {"officer": ["start", "s0", "s1", "end"]}

REFUSED = [
    pytest.param({"p.bpmn": process("p", [service(0, "send_fax", {"to": "'x'"})])}, "s0", "unknown operator 'send_fax'",
                 id="unknown operator"),
    pytest.param({"p.bpmn": process("p", [service(0, "assign", {"unit": "'X'"})])}, "s0",
                 "needs parameter(s) reminder_hours, sla_hours", id="missing operator parameter"),
    pytest.param({"p.bpmn": process("p", [service(0, "close", {"reason": "'x'", "colour": "'red'"})])}, "s0",
                 "has no parameter(s) colour", id="unknown operator parameter"),
    pytest.param({"p.bpmn": process("p", [timer(0, "PT4H")])}, "s0", 'must be quoted: write "PT4H"',
                 id="unquoted timer"),
    pytest.param({"p.bpmn": process("p", [timer(0, '"4 hours"')])}, "s0", "is not a duration longer than zero",
                 id="bad duration"),
    pytest.param({"p.bpmn": process("p", [timer(0, '"R/P"', "timeCycle")])}, "s0", "is not a cycle with a non-zero period",
                 id="bad cycle"),
    pytest.param({"p.bpmn": process("p", [user(0), user(1)], {"Khách vãng lai": ["start", "s0", "s1", "end"]})}, "s0",
                 "lane 'Khách vãng lai' names no known role", id="lane without a role"),
    pytest.param({"p.bpmn": process("p", [user(0)])}, "s0", "user task is in no lane", id="task in no lane"),
    pytest.param({"p.bpmn": process("p", [call(0, "nowhere")])}, "s0", "calls process 'nowhere'", id="missing called process"),
    pytest.param({"p.bpmn": process("p", [rule(0, "no_decision")])}, "s0", "no_decision", id="missing decision"),
    pytest.param({"p.bpmn": process("p", [user(0, fields={"x": "colour!"}), user(1)], OFFICER)}, "s0",
                 "field 'x'", id="bad form field"),
    pytest.param({"p.bpmn": process("p", [user(0, fields={"x": "textarea!(decision=reject)"}), user(1)], OFFICER)}, "s0",
                 "the form has no field 'decision'", id="required with a field the form lacks"),
    pytest.param({"p.bpmn": "<bpmn:definitions"}, None, "cannot be parsed", id="unparsable file"),
    pytest.param({"p.bpmn": process("p", [user(0)]).replace("<bpmn:startEvent", "<bpmn:startEvnt")}, None,
                 "", id="not valid BPMN"),
    pytest.param({"p.txt": "hello"}, None, "only .bpmn and .dmn files", id="wrong file type"),
    pytest.param({"p.bpmn": process("p", [script(0, "import os")])}, "s0", "import statements are not allowed", id="import"),
    pytest.param({"p.bpmn": process("p", [script(0, "x = ().__class__.__base__")])}, "s0", "starts with \"_\"",
                 id="dunder walk"),
]


@pytest.mark.parametrize("files, element, reason", REFUSED)
def test_a_bad_deployment_is_refused_with_the_element_named_and_changes_nothing(
        services, session, files, element, reason):
    before = session.scalar(select(func.count()).select_from(ProcessDefinition))
    with pytest.raises(DeploymentError) as err:
        services.definitions.deploy(files)
    problems = err.value.problems
    assert problems, "a refusal lists its problems"
    assert any(reason in p.message for p in problems), [str(p) for p in problems]
    if element:
        assert any(p.element_id == element for p in problems), [str(p) for p in problems]
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ProcessDefinition)) == before


def test_every_file_in_bpmn_folder_parses_and_validates(services):
    files = {p.name: p.read_text(encoding="utf-8") for p in BPMN_DIR.iterdir() if p.suffix in (".bpmn", ".dmn")}
    dmn = {n: t for n, t in files.items() if n.endswith(".dmn")}
    for name, text in files.items():
        if name.endswith(".bpmn"):
            compiled, problems = services.definitions.check({name: text, **dmn})
            assert problems == [], [str(p) for p in problems]
            assert compiled.user_tasks, f"{name} has no human task"


def test_new_version_for_new_files_and_running_instances_keep_theirs(services, session):
    v1 = services.definitions.latest("field_report")
    case_files = {p.name: p.read_text(encoding="utf-8") for p in sorted(BPMN_DIR.glob("field_report*"))}
    same = services.definitions.deploy(case_files)
    assert not same.created and same.definition.id == v1.id  # same files: no new version

    # Through intake: the process's first step writes the triage deadline to its case.
    running = intake(services).process_instance
    changed = dict(case_files)
    changed["field_report.bpmn"] = changed["field_report.bpmn"].replace("Phân loại phản ánh", "Phân loại và xác minh")
    v2 = services.definitions.deploy(changed, deployed_by="designer").definition
    session.commit()
    assert (v1.version, v2.version) == (1, 2)
    assert session.get(ProcessInstance, running.id).definition_id == v1.id
    old_task = services.instances.view(running.id).open_tasks[0]
    assert old_task.title == "Phân loại phản ánh"  # the running instance keeps version 1

    new = intake(services, title="Ổ gà khác").process_instance
    session.commit()
    assert new.definition_id == v2.id
    assert services.instances.view(new.id).open_tasks[0].title == "Phân loại và xác minh"


def test_definitions_are_immutable_rows_with_their_sources(services, session):
    row = services.definitions.latest("field_report")
    assert set(row.files) == {"field_report.bpmn", "field_report_routing.dmn", "field_report_sla.dmn",
                              "field_report_review.dmn"}
    assert len(row.sha256) == 64


def test_a_new_session_compiles_the_stored_definition(services, session_factory, clock):
    with session_factory() as other:
        svc = make_services(other, clock)
        row = svc.definitions.latest("field_report")
        assert svc.definitions.compiled(row).process_id == "field_report"
