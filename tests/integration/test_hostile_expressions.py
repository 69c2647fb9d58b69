"""Hostile expressions in a deployed BPMN fail their own task as an incident; the server is untouched."""

from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.errors import DeploymentError
from engine.models import AuditEvent, HumanTask, Incident, ProcessInstance
from tests.bpmn_factory import process, rule, script, service, user

TARGET = Path("/tmp/ioc-hostile-test-file")

HOSTILE = [
    # Called by name, open() and type() are refused at deploy (below); through another name only the sandbox sees them.
    pytest.param(f"f = open\nf({str(TARGET)!r}, 'w').write('owned')", "open() is not allowed", id="file access"),
    pytest.param("x = getattr((), '__class__')", "__class__", id="dunder through getattr"),
    pytest.param("while True:\n    pass", "", id="endless loop"),
    pytest.param("x = 9 ** 9 ** 9", "", id="power bomb"),
    pytest.param("x = 'a' * 10 ** 10", "", id="memory bomb"),
    pytest.param("f = lambda f: f(f)\nf(f)", "RecursionError", id="recursion"),
    pytest.param("t = type\nx = t(1)", "type() is not allowed", id="type introspection"),
]


def _deploy_and_start(services, session, steps, lanes):
    services.definitions.deploy({"hostile.bpmn": process("hostile", steps, lanes)})
    session.commit()
    started = time.monotonic()
    row = services.instances.start("hostile", {"x": 1})
    session.commit()
    return row, time.monotonic() - started


@pytest.mark.parametrize("code, reason", HOSTILE)
def test_a_hostile_script_becomes_an_incident(services, session, code, reason):
    TARGET.unlink(missing_ok=True)
    row, elapsed = _deploy_and_start(services, session, [script(0, code), user(1)], {"officer": ["s1"]})
    assert row.status == "error"
    incident = session.scalar(select(Incident).where(Incident.instance_id == row.id))
    assert incident is not None and incident.element_id == "s0"
    assert reason in incident.message, incident.message
    assert not TARGET.exists(), "the script reached the file system"
    assert elapsed < 5, f"a hostile script held the step for {elapsed:.1f}s"
    # Nothing after the failed task ran, and the failure is in the audit trail.
    assert session.scalar(select(HumanTask).where(HumanTask.instance_id == row.id)) is None
    kinds = session.scalars(select(AuditEvent.kind).where(AuditEvent.instance_id == row.id)).all()
    assert "incident" in kinds
    # The server goes on: an ordinary process still runs.
    services.definitions.deploy({"benign.bpmn": process("benign", [script(0, "y = x + 1"), user(1)],
                                                        {"officer": ["s1"]})})
    other = services.instances.start("benign", {"x": 1})
    session.commit()
    assert other.status == "running"


@pytest.mark.parametrize("code, name", [(f"open({str(TARGET)!r}, 'w').write('owned')", "open"), ("x = type(1)", "type")])
def test_a_script_calling_a_builtin_the_sandbox_lacks_is_refused_at_deploy(services, session, code, name):
    with pytest.raises(DeploymentError) as refused:
        services.definitions.deploy({"hostile.bpmn": process("hostile", [script(0, code), user(1)], {"officer": ["s1"]})})
    problem = refused.value.problems[0]
    assert problem.element_id == "s0" and f"script calls {name}, which the sandbox does not provide" in str(problem.message)
    assert not TARGET.exists()


def test_a_hostile_service_parameter_becomes_an_incident(services, session):
    steps = [service(0, "close", {"reason": "open('/etc/passwd').read()"}), user(1)]
    row, _ = _deploy_and_start(services, session, steps, {"officer": ["s1"]})
    incident = session.scalar(select(Incident).where(Incident.instance_id == row.id))
    assert row.status == "error" and "open() is not allowed" in incident.message


def test_a_failed_step_can_be_retried_after_its_cause_is_fixed(services, session):
    # The script reads a variable that the start data lacks: an incident, not a crash.
    services.definitions.deploy({"needs.bpmn": process("needs", [script(0, "y = missing + 1"), user(1)],
                                                       {"officer": ["s1"]})})
    session.commit()
    row = services.instances.start("needs", {})
    session.commit()
    assert row.status == "error"
    view = services.instances.view(row.id)
    assert any("missing" in m for m in view.incidents)
    # An administrator supplies the missing value and retries: the incident closes, the process goes on.
    services.instances.retry(row.id, {"missing": 41}, actor="admin")
    session.commit()
    view = services.instances.view(row.id)
    assert (view.status, view.incidents) == ("running", [])
    assert [t.element_id for t in view.open_tasks] == ["s1"]
    assert view.data["y"] == 42


UNSAVEABLE = [
    pytest.param("x = {1, 2}", "x", "set", id="set"),
    pytest.param("z = 1j", "z", "complex", id="complex"),
    pytest.param("b = 'á'.encode()", "b", "bytes", id="bytes"),
    pytest.param("n = float('nan')", "n", "nan", id="nan"),
    pytest.param("d = {(1, 2): 'pair'}", "d", "tuple", id="tuple key"),
    pytest.param("lst = [1]\nlst.append({'k': {2}})", "lst", "set", id="nested set"),
]


@pytest.mark.parametrize(("code", "variable", "kind"), UNSAVEABLE)
def test_a_value_json_cannot_hold_fails_its_own_task(services, session, code, variable, kind):
    """The script's task becomes an incident naming the variable and its type (translatable); the
    instance stays saveable: before, every later save of the instance raised and nothing said why."""
    row, _ = _deploy_and_start(services, session, [script(0, code), user(1)], {"officer": ["s1"]})
    assert row.status == "error"
    incident = session.scalar(select(Incident).where(Incident.instance_id == row.id))
    assert incident.element_id == "s0"
    assert incident.reason["msgid"].startswith("variable %(name)s holds"), incident.reason
    assert incident.reason["params"]["name"] == variable and kind in incident.reason["params"]["what"]
    # Still saveable: it can be cancelled (a save) and read back.
    services.instances.cancel(row.id, "test", actor="admin")
    session.commit()
    assert services.instances.view(row.id).status == "cancelled"


def test_unsaveable_start_data_becomes_an_incident_not_a_failed_save(services, session):
    """Whatever brings a value JSON cannot hold (here a caller's start data), the step saves
    without it and an incident names it, where the save itself used to raise."""
    services.definitions.deploy({"plain.bpmn": process("plain", [user(0)], {"officer": ["s0"]})})
    session.commit()
    row = services.instances.start("plain", {"ok": 1, "tags": {"a", "b"}})
    session.commit()
    incident = session.scalar(select(Incident).where(Incident.instance_id == row.id))
    assert incident is not None and incident.reason["params"]["name"] == "tags"
    assert incident.element_id
    view = services.instances.view(row.id)
    assert view.data.get("ok") == 1 and "tags" not in view.data
    assert [t.element_id for t in view.open_tasks] == ["s0"]


DECISION = """<?xml version='1.0' encoding='UTF-8'?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="bad_defs" name="Bad" namespace="http://ioc.test">
  <decision id="bad_decision" name="Bad">
    <decisionTable id="bad_table" hitPolicy="UNIQUE">
      <input id="in_x" label="x"><inputExpression id="in_x_e" typeRef="number"><text>x</text></inputExpression></input>
      <output id="out_tags" label="tags" name="tags" typeRef="string"/>
      <rule id="r1">
        <inputEntry id="r1_in"><text>-</text></inputEntry>
        <outputEntry id="r1_out"><text>{"a", "b"}</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""


def test_a_decision_output_json_cannot_hold_fails_its_task(services, session):
    """A decision table's output goes into task data too: a set fails the business rule task there."""
    services.definitions.deploy({"decides.bpmn": process("decides", [rule(0, "bad_decision"), user(1)],
                                                         {"officer": ["s1"]}),
                                 "bad.dmn": DECISION})
    session.commit()
    row = services.instances.start("decides", {"x": 1})
    session.commit()
    incident = session.scalar(select(Incident).where(Incident.instance_id == row.id))
    assert row.status == "error" and incident.element_id == "s0"
    assert incident.reason["params"] == {"name": "tags", "what": "set"}


# --------------------------------------------------------------------------- side by side

SIDE_BY_SIDE_HOSTILE = [
    "while True:\n    pass",
    "a = []\nb = []\nfor i in range(27):\n    a = [a, a]\n    b = [b, b]\nx = a == b",
    "a = ()\nfor i in range(27):\n    a = (a, a)\nx = hash(a)",
    "s = 'ệ' * 1_000_000\nx = [" + ", ".join(["*s"] * 20) + "]",
    "m = 2**61 - 1\nx = len(set([k * m for k in range(30_000)]))",
    "x = {1, 2}",
]


@pytest.mark.postgres
@pytest.mark.timeout(300)
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_hostile_steps_run_beside_healthz_a_completion_and_the_sweep(db_url, clock):
    """A real server (werkzeug in a thread) with the sweep thread running: while one thread completes
    tasks whose scripts are hostile, another gets /healthz, completes an ordinary task and runs a sweep,
    each within 2 s; every hostile step ends as an incident on its own instance. Before, one comparison
    of a shared structure held the GIL (and so every thread, the sweep included) for as long as it ran.

    PostgreSQL only: SQLite takes its one write lock for every transaction (BEGIN IMMEDIATE), so there
    any step's transaction makes /healthz wait for it, hostile or not."""
    from werkzeug.serving import make_server

    from engine.sweep import SweepThread
    from tests.workspace import make_workspace_app
    from webapp.extensions import db

    app = make_workspace_app(db_url, clock)
    ioc = app.extensions["ioc"]
    with app.app_context():
        services = ioc.services(db.session)
        services.definitions.deploy({"benign.bpmn": process("benign", [user(0), script(1, "y = x + 1"), user(2)],
                                                            {"officer": ["s0", "s2"]})})
        db.session.commit()
        hostile = []
        for code in SIDE_BY_SIDE_HOSTILE * 2:  # one definition version per hostile script
            services.definitions.deploy({"hostile.bpmn": process("hostile", [user(0), script(1, code), user(2)],
                                                                 {"officer": ["s0", "s2"]})})
            db.session.commit()
            hostile.append(services.instances.start("hostile", {"x": 1}).id)
        benign = [services.instances.start("benign", {"x": i}).id for i in range(40)]
        db.session.commit()
        first_task = {row.instance_id: row.id for row in db.session.scalars(select(HumanTask))}
        db.session.remove()

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sweeper = SweepThread(ioc.sweep(), interval=0.2)
    sweeper.start()
    failures: list[BaseException] = []

    def complete_hostile() -> None:
        try:
            with app.app_context():
                for instance_id in hostile:
                    ioc.services(db.session).instances.complete_task(first_task[instance_id], {}, actor="designer")
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    def probe(instance_id: int, slowest: dict[str, float]) -> None:
        started = time.monotonic()
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/healthz", timeout=60) as answer:
            assert answer.status == 200
        slowest["healthz"] = max(slowest.get("healthz", 0.0), time.monotonic() - started)
        with app.app_context():
            started = time.monotonic()
            ioc.services(db.session).instances.complete_task(first_task[instance_id], {}, actor="officer")
            db.session.commit()
            slowest["completion"] = max(slowest.get("completion", 0.0), time.monotonic() - started)
            db.session.remove()
        started = time.monotonic()
        ioc.sweep().run_once()
        slowest["sweep"] = max(slowest.get("sweep", 0.0), time.monotonic() - started)

    slowest = {"healthz": 0.0, "completion": 0.0, "sweep": 0.0}
    probes = 0
    worker = threading.Thread(target=complete_hostile)
    try:
        for _ in range(2):  # the first of each kind warms up (templates, compiled expressions, pools)
            probe(benign[probes], {})
            probes += 1
        worker.start()
        while worker.is_alive() and probes < len(benign):
            probe(benign[probes], slowest)
            probes += 1
        worker.join(timeout=120)
    finally:
        sweeper.stop()
        server.shutdown()
    assert all(seconds < 2 for seconds in slowest.values()), slowest
    assert not failures, failures
    assert not worker.is_alive()
    assert probes >= 4, f"the probes did not run beside the hostile steps ({probes}, {slowest})"
    with app.app_context():
        incidents = {i.instance_id: i.element_id for i in db.session.scalars(select(Incident))}
        assert {i: incidents.get(i) for i in hostile} == {i: "s1" for i in hostile}
        states = {r.id: r.status for r in db.session.scalars(select(ProcessInstance))}
        assert all(states[i] == "error" for i in hostile)
        assert all(states[i] == "running" for i in benign)
        db.session.remove()
        db.engine.dispose()
