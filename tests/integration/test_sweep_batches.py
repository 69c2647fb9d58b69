"""The sweep's fast batch and its careful redo: one broken instance spoils nothing else."""

from __future__ import annotations

from sqlalchemy import select

from engine.models import Incident, ProcessInstance
from tests.bpmn_factory import process, service, timer
from tests.integration.test_field_report import intake, notified, sweep, triage
from tests.working_time import advance_working


def test_a_failing_operator_in_a_batch_is_that_instance_s_incident_only(services, session, session_factory, clock):
    # A process whose timer leads to an operator call that cannot succeed (no case in its data).
    broken = process("broken_timer", [timer(0, '"PT1H"'), service(1, "notify", {
        "role": "'officer'", "unit": "'P-TAN-LAP'", "kind": "'reminder'"})])
    services.definitions.deploy({"broken_timer.bpmn": broken})
    session.commit()
    bad = services.instances.start("broken_timer", {})
    session.commit()
    good = intake(services, unit="P-TAN-LAP")
    triage(services, session, good)

    advance_working(clock, 61)  # the broken timer and the good case's reminder are both due
    sweep(session_factory, clock, session)
    session.expire_all()

    incident = session.scalar(select(Incident).where(Incident.instance_id == bad.id))
    assert incident is not None and incident.element_id == "s1" and "case" in incident.message
    assert session.get(ProcessInstance, bad.id).status == "error"
    assert notified(session, good, "reminder") == ["cb.tanlap"]  # the rest of the batch fired
    # The broken instance is not fired again and again: its timer is done, only the incident remains.
    assert session.get(ProcessInstance, bad.id).next_timer_at is None


def test_the_sweep_ends_at_an_exact_due_time_and_rewrites_nothing(services, session, session_factory, clock):
    # Many cases opened at one moment share one due time; at exactly that time nothing has fired yet.
    cases = [intake(services, unit="P-TAN-LAP", title=f"Đèn hỏng {i}") for i in range(3)]
    for case in cases:
        triage(services, session, case)
    due = session.get(ProcessInstance, cases[0].process_instance_id).next_timer_at
    versions = {c.id: session.get(ProcessInstance, c.process_instance_id).version for c in cases}
    clock.set(due)
    session.rollback()
    from workflows.runtime import make_sweep

    sweeper = make_sweep(session_factory, clock)
    sweeper.batch_size = 2  # a full batch that moves nothing must not be selected again and again
    assert sweeper.run_once() == 0
    session.expire_all()
    assert {c.id: session.get(ProcessInstance, c.process_instance_id).version for c in cases} == versions
    clock.advance(seconds=1)
    session.rollback()  # SQLite: our reads hold the write lock the sweep needs
    assert sweeper.run_once() == 3
