"""The engine's ways out of a failed step: retry, skip (with a note), cancel; each resolution is kept."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.errors import ConflictError
from engine.models import AuditEvent, Incident
from tests.bpmn_factory import HEADER, process, script, user


def _start(services, session, key, steps, data=None):
    services.definitions.deploy({f"{key}.bpmn": process(key, steps, {"officer": [f"s{len(steps) - 1}"]})})
    session.commit()
    row = services.instances.start(key, data or {})
    session.commit()
    return row


def test_skipping_a_failed_step_runs_on_from_its_successor_and_keeps_the_note(services, session):
    row = _start(services, session, "skippy", [script(0, "y = missing + 1"), script(1, "z = 2"), user(2)])
    assert row.status == "error"
    [step] = services.instances.failed_steps(row.id)
    assert (step.element_id, step.element_name) == ("s0", "Script 0")
    with pytest.raises(ConflictError):
        services.instances.skip(row.id, "   ", actor="admin")  # a skip without a reason is refused
    services.instances.skip(row.id, "y was set by hand", actor="admin")
    session.commit()
    view = services.instances.view(row.id)
    # The skipped script did not run (no y), the next one did, and the user task is open.
    assert (view.status, view.incidents, [t.element_id for t in view.open_tasks]) == ("running", [], ["s2"])
    assert "y" not in view.data and view.data["z"] == 2
    incident = session.scalar(select(Incident).where(Incident.instance_id == row.id))
    assert (incident.resolution, incident.resolved_by, incident.note) == ("skipped", "admin", "y was set by hand")
    skipped = session.scalar(select(AuditEvent).where(AuditEvent.instance_id == row.id, AuditEvent.kind == "skipped"))
    assert skipped.element_id == "s0" and skipped.actor == "admin"
    assert services.instances.failed_steps(row.id) == []
    # The engine stays consistent: the instance completes normally afterwards.
    services.instances.complete_task(view.open_tasks[0].id, {}, actor="officer")
    session.commit()
    assert services.instances.view(row.id).status == "completed"


def test_a_failed_gateway_cannot_be_skipped(services, session):
    xml = (HEADER + '<bpmn:process id="gw" isExecutable="true">'
           '<bpmn:laneSet id="ls"><bpmn:lane id="l1" name="officer"><bpmn:flowNodeRef>a</bpmn:flowNodeRef>'
           '<bpmn:flowNodeRef>b</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>'
           '<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="g" name="Chọn" default="fb"/>'
           '<bpmn:userTask id="a" name="A"/><bpmn:userTask id="b" name="B"/>'
           '<bpmn:endEvent id="ea"/><bpmn:endEvent id="eb"/>'
           '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="g"/>'
           '<bpmn:sequenceFlow id="fa" sourceRef="g" targetRef="a">'
           '<bpmn:conditionExpression>missing &gt; 1</bpmn:conditionExpression></bpmn:sequenceFlow>'
           '<bpmn:sequenceFlow id="fb" sourceRef="g" targetRef="b"/>'
           '<bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="ea"/>'
           '<bpmn:sequenceFlow id="f2" sourceRef="b" targetRef="eb"/>'
           '</bpmn:process></bpmn:definitions>')
    services.definitions.deploy({"gw.bpmn": xml})
    session.commit()
    row = services.instances.start("gw", {})
    session.commit()
    assert row.status == "error"
    with pytest.raises(ConflictError, match="several paths"):
        services.instances.skip(row.id, "try", actor="admin")
    session.rollback()
    # Retrying with the missing value takes exactly one path.
    services.instances.retry(row.id, {"missing": 5}, actor="admin", note="value supplied")
    session.commit()
    view = services.instances.view(row.id)
    assert [t.element_id for t in view.open_tasks] == ["a"]
    incident = session.scalar(select(Incident).where(Incident.instance_id == row.id))
    assert (incident.resolution, incident.resolved_by, incident.note) == ("retried", "admin", "value supplied")


def test_cancelling_resolves_the_open_incident_with_the_reason(services, session):
    row = _start(services, session, "doomed", [script(0, "y = missing + 1"), user(1)])
    view = services.instances.view(row.id)
    [step] = view.incident_steps
    assert (step.element_id, step.element_name) == ("s0", "Script 0") and "missing" in str(step.reason)
    services.instances.cancel(row.id, "reported twice", actor="admin")
    session.commit()
    incident = session.scalar(select(Incident).where(Incident.instance_id == row.id))
    assert (incident.resolution, incident.note) == ("cancelled", "reported twice")
    assert services.instances.view(row.id).status == "cancelled"
