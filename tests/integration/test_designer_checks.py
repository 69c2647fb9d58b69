"""The check API (POST /designer/api/check): every refusal `ioc deploy` gives, on its element, in the reader's
language; the import to-do list of files from other modelers; bad input refused clearly; and a Camunda
example that, once its to-do list is done, deploys and runs to its first user task."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree
from sqlalchemy import select

from engine import imports
from engine.clock import FrozenClock
from engine.models import HumanTask
from tests.conftest import BPMN_DIR
from tests.data.refusals import REFUSALS
from tests.workspace import client_of, csrf_of, make_workspace_app
from webapp.cli import main
from webapp.extensions import db
from workflows.designer.checks import CheckService
from workflows.runtime import EVALUATOR

IMPORTS = Path(__file__).resolve().parents[1] / "data" / "imports"
BPMN, SPIFF = imports.BPMN, imports.SPIFF


@pytest.fixture
def app(db_url):
    app = make_workspace_app(db_url, FrozenClock())
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def designer(app):
    client = client_of(app, "thietke")
    client.token = csrf_of(client.get("/designer/").get_data(as_text=True))
    return client


def check(client, files, lang="en"):
    return client.post(f"/designer/api/check?lang={lang}", json={"files": files}, headers={"X-CSRFToken": client.token})


def test_every_refusal_of_ioc_deploy_is_given_on_its_element_in_the_readers_language(designer):
    wrong = []
    for kind, refusal in REFUSALS.items():
        answer = check(designer, refusal.files)
        body = answer.get_json()
        hits = [p for p in body["problems"] if p["code"] == refusal.code and p["element"] == refusal.element]
        if answer.status_code != 200 or body["ok"] or not hits or not any(refusal.words in p["message"] for p in hits):
            wrong.append((kind, answer.status_code, body))
            continue
        vietnamese = check(designer, refusal.files, "vi").get_json()["problems"]
        same = [p for p in vietnamese if p["code"] == refusal.code and p["element"] == refusal.element]
        if not same or same[0]["message"] == hits[0]["message"]:
            wrong.append((kind, "not translated", same))
    assert wrong == []


def test_a_fine_bundle_is_ok_and_the_demo_process_has_nothing_to_do(designer):
    files = {p.name: p.read_text(encoding="utf-8") for p in BPMN_DIR.glob("field_report*")}
    answer = check(designer, files)
    assert answer.status_code == 200 and answer.get_json() == {"ok": True, "problems": []}


@pytest.mark.parametrize("path", sorted(IMPORTS.rglob("*.bpmn")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_file_from_another_modeler_gets_its_to_do_list(designer, path):
    text = path.read_text(encoding="utf-8")
    for lang in ("en", "vi"):
        answer = check(designer, {path.name: text}, lang)
        assert answer.status_code == 200
        body = answer.get_json()
        for problem in body["problems"]:
            assert set(problem) == {"file", "element", "message", "code", "advice"}
            assert problem["file"] == path.name and problem["code"]
            assert "\n" not in problem["message"] and not re.search(r"0x[0-9a-f]|<Element|Error\b|Exception\b",
                                                                     problem["message"]), problem
            assert problem["advice"] == (problem["code"] in imports.ADVICE)
        assert body["ok"] == (not any(not p["advice"] for p in body["problems"]))


def test_the_to_do_list_comes_even_when_the_file_is_no_deployable_process(designer):
    text = (IMPORTS / "camunda" / "loan-granting.bpmn").read_text(encoding="utf-8")
    body = check(designer, {"loan-granting.bpmn": text}).get_json()
    kinds = {(p["element"], p["code"]) for p in body["problems"]}
    assert {("Task_1lvjtd4", "operator.camunda"), ("SequenceFlow_17zmvol", "condition.juel"),
            ("StartEvent_1", "timer.cron"), ("SubProcess_16kr5xn", "multi_instance.input")} <= kinds
    assert ("Task_1lvjtd4", "extension.io") in kinds and not body["ok"]


@pytest.mark.parametrize(("payload", "words"), [
    ("not json", "send a JSON object"),
    ({"files": {}}, "no file given"),
    ({"files": ["a.bpmn"]}, "send a JSON object"),
    ({"files": {"a.bpmn": 5}}, "send a JSON object"),
    ({"files": {"notes.txt": "hello"}}, "only .bpmn and .dmn files"),
    ({"files": {"../x.bpmn": "<x/>"}}, "this file name cannot be kept"),
    ({"files": {"huge.bpmn": "<x>" + " " * (480 * 1024) + "</x>"}}, "is too large"),
])
def test_bad_input_is_refused_with_a_clear_message(designer, payload, words):
    if isinstance(payload, str):
        answer = designer.post("/designer/api/check?lang=en", data=payload, headers={"X-CSRFToken": designer.token})
    else:
        answer = designer.post("/designer/api/check?lang=en", json=payload, headers={"X-CSRFToken": designer.token})
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["ok"] is False and any(words in p["message"] for p in body["problems"]), body


def test_ioc_deploy_says_the_same_words_and_does_not_send_the_designer_round_in_a_circle(app, db_url, tmp_path):
    path = tmp_path / "A.1.0.bpmn"
    path.write_bytes((IMPORTS / "miwg" / "A.1.0.bpmn").read_bytes())
    env = {"IOC_DATABASE_URL": db_url, "IOC_LANG": "en"}
    result = CliRunner().invoke(main, ["deploy", str(path)], env=env)
    assert result.exit_code == 1, result.output
    assert "A.1.0.bpmn [WFP-6-]: process 'WFP-6-' is marked not executable; mark it executable" in result.output
    assert "--key" not in result.output and "found: none" not in result.output
    again = CliRunner().invoke(main, ["deploy", str(path), "--key", "WFP-6-"], env=env)
    assert "is marked not executable" in again.output and "found: none" not in again.output


def complete_the_to_do_list(text: str) -> str:
    """What a designer does in the modeler to a Camunda example, following its to-do list."""
    root = etree.fromstring(text.encode("utf-8"))
    q = imports.q
    for process in root.iter(q("process")):
        process.set("isExecutable", "true")  # "mark it executable"
        nodes = [n for n in process if imports.local(n) in imports.FLOW_NODES]
        lane_set = etree.Element(q("laneSet"), id="lanes")
        lane = etree.SubElement(lane_set, q("lane"), id="lane_officer", name="Cán bộ xử lý")  # a lane named after a role
        for node in nodes:
            etree.SubElement(lane, q("flowNodeRef")).text = node.get("id")
        process.insert(0, lane_set)
    for flow in root.iter(q("conditionExpression")):  # "write it in Python"
        found = imports.juel_condition("x", "f", flow.text, EVALUATOR)
        if found is not None:
            flow.text = found.message.params["python"]
    for task in root.iter(q("serviceTask")):  # "choose an operator from the registry"
        for attr in list(task.attrib):
            if attr.startswith("{http://camunda.org/schema/1.0/bpmn}"):
                del task.attrib[attr]
        ext = task.find(q("extensionElements")) if task.find(q("extensionElements")) is not None else \
            etree.SubElement(task, q("extensionElements"))
        task.insert(0, ext)
        operator = etree.SubElement(ext, q("serviceTaskOperator", SPIFF), id="deadline", resultVariable="next")
        params = etree.SubElement(operator, q("parameters", SPIFF))
        etree.SubElement(params, q("parameter", SPIFF), id="hours", type="any", value="8")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")


def test_a_camunda_example_once_its_to_do_list_is_done_deploys_and_runs_to_its_first_user_task(services, session):
    name = "synchronous-service-invocation.bpmn"
    original = (IMPORTS / "camunda" / name).read_text(encoding="utf-8")
    checks = CheckService(services.definitions)
    before = checks.check({name: original})
    assert not before.ok and {p.code for p in before.problems} >= {"lane.missing", "operator.camunda"}

    fixed = {name: complete_the_to_do_list(original)}
    after = checks.check(fixed)
    assert after.ok and after.problems == [], [str(p) for p in after.problems]

    deployed = services.definitions.deploy(fixed, deployed_by="test")
    assert deployed.created and deployed.definition.process_key == "synchronousServiceInvocation"
    instance = services.instances.start("synchronousServiceInvocation", {}, actor="test")
    session.commit()
    open_tasks = list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                              HumanTask.state == "open")))
    assert [(t.element_id, t.candidate_role) for t in open_tasks] == [("waitStateBefore", "officer")]
    # And on: the operator chosen for the Camunda service task runs, the second user task opens.
    services.instances.complete_task(open_tasks[0].id, {}, actor="test")
    session.commit()
    open_tasks = list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                              HumanTask.state == "open")))
    assert [t.element_id for t in open_tasks] == ["waitStateAfter"]
