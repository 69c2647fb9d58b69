"""Instance operations around the process: claim, form errors, messages nobody awaits."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.errors import ConflictError, FormError, NotFoundError, TaskNotReadyError
from engine.models import HumanTask, ProcessInstance
from tests.integration.test_field_report import intake, only_task, triage
from tests.working_time import working


def test_claim_is_exclusive_until_the_task_is_done(services, session):
    case = intake(services)
    task = only_task(session, case, "triage")
    assert services.instances.claim(task.id, "dtv1").assignee == "dtv1"
    assert services.instances.claim(task.id, "dtv1").assignee == "dtv1"  # claiming again is harmless
    with pytest.raises(ConflictError, match="held by dtv1"):
        services.instances.claim(task.id, "dtv2")
    session.commit()
    triage(services, session, case)
    with pytest.raises(ConflictError):
        services.instances.claim(task.id, "dtv2")
    session.rollback()
    with pytest.raises(NotFoundError):
        services.instances.claim("no-such-task", "dtv1")


def test_bad_form_data_says_what_to_fix_and_changes_nothing(services, session):
    case = intake(services)
    task = only_task(session, case, "triage")
    version = session.get(ProcessInstance, case.process_instance_id).version
    with pytest.raises(FormError) as err:
        services.cases.complete_task(task.id, {"decision": "maybe", "priority": 3, "colour": "red"}, actor="dtv1")
    assert err.value.fields == {"decision": "must be one of: accept, reject",
                                "priority": "must be one of: low, normal, high",
                                "colour": "this task has no such field"}
    session.expire_all()
    assert session.get(HumanTask, task.id).state == "open"
    assert session.get(ProcessInstance, case.process_instance_id).version == version
    with pytest.raises(FormError) as err:
        services.cases.complete_task(task.id, {}, actor="dtv1")
    assert err.value.fields == {"decision": "required"}


def test_completing_a_task_twice_is_a_conflict(services, session):
    case = intake(services)
    task = only_task(session, case, "triage")
    triage(services, session, case)
    with pytest.raises(TaskNotReadyError, match="already completed"):
        services.cases.complete_task(task.id, {"decision": "accept"}, actor="dtv2")


def test_a_message_nobody_waits_for_is_refused(services, session):
    case = intake(services)  # still at triage: no feedback is awaited yet
    with pytest.raises(ConflictError, match="not waiting for message 'citizen_feedback'"):
        services.cases.citizen_feedback(case.code, satisfied=False)
    assert session.scalar(select(HumanTask.state).where(HumanTask.business_key == case.code)) == "open"


def test_view_shows_tasks_timers_and_messages(services, session, clock):
    case = intake(services)
    triage(services, session, case)
    view = services.instances.view(case.process_instance_id)
    assert (view.process_key, view.version, view.business_key, view.status) == ("field_report", 1, case.code, "running")
    assert [t.element_id for t in view.open_tasks] == ["handle"]
    # The earliest timer is the reminder, 12 working hours before the deadline of 72 working hours.
    assert view.next_timer_at == working(clock.now(), 60)
    assert view.waiting_messages == [] and view.incidents == []
