"""Where a case stands on field_report.bpmn, worked out from audit-like evidence alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import BPMN_DIR
from workflows.case_diagram import Evidence, bpmn_file_of, diagram_state, parse_graph

T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.fixture(scope="module")
def graph():
    files = {p.name: p.read_text(encoding="utf-8") for p in BPMN_DIR.glob("field_report*")}
    return parse_graph(bpmn_file_of(files, "field_report"), "field_report")


ACCEPTED = {"triage_deadline_task": T0, "triage": at(1), "classify_task": at(1), "assign_task": at(1)}


def state(graph, done, active=None, opened=None, running=True, failed=()):
    return diagram_state(graph, Evidence(started_at=T0, running=running, done=done, opened=opened or {},
                                         active=active or {}, failed=frozenset(failed)))


def test_a_new_case_waits_at_triage(graph):
    s = state(graph, {"triage_deadline_task": T0}, active={"triage": T0}, opened={"triage": T0})
    assert s.active == ["triage"] and set(s.waiting) == {"triage_remind_timer", "triage_overdue_timer"}
    assert {"start", "triage_deadline_task"} <= set(s.done) and "triage" not in s.done


def test_after_triage_handle_is_active_and_its_timers_wait(graph):
    s = state(graph, ACCEPTED, active={"handle": at(1)}, opened={"triage": T0, "handle": at(1)})
    assert s.active == ["handle"]
    assert set(s.waiting) == {"overdue_timer", "remind_timer"}
    assert {"triage_decision", "route", "sla", "priority_gateway"} <= set(s.done)
    assert "close_rejected" not in s.done and "flow_triage_reject" not in s.flows
    assert "notify_high" not in s.done and "flow_priority_normal" in s.flows


def test_a_fired_reminder_is_done_while_the_deadline_still_waits(graph):
    s = state(graph, {**ACCEPTED, "remind": at(50)}, active={"handle": at(1)}, opened={"handle": at(1)})
    assert {"remind_timer", "remind", "end_reminded"} <= set(s.done)
    assert s.waiting == ["overdue_timer"]


def test_an_escalated_case_shows_the_path_through_the_timer(graph):
    done = {**ACCEPTED, "escalate_1": at(73), "notify_escalation_1": at(73)}
    s = state(graph, done, active={"handle_l1": at(73)}, opened={"handle": at(1), "handle_l1": at(73)})
    assert s.active == ["handle_l1"] and s.waiting == ["overdue_l1_timer"]
    assert {"handle", "overdue_timer", "escalate_1"} <= set(s.done)
    assert "remind_timer" not in s.done  # the reminder never fired: nothing after it was recorded


def test_a_published_case_waits_for_the_citizen_or_the_feedback_timer(graph):
    done = {**ACCEPTED, "handle": at(5), "record_resolution_task": at(5), "publish_task": at(5)}
    s = state(graph, done, opened={"handle": at(1)})
    assert s.active == []
    assert set(s.waiting) == {"await_feedback", "citizen_feedback", "feedback_timeout"}
    assert {"handle_outcome", "publish_task"} <= set(s.done)
    assert "return_task" not in s.done


def test_a_closed_case_has_nothing_waiting_and_its_end_is_done(graph):
    done = {**ACCEPTED, "handle": at(5), "record_resolution_task": at(5), "publish_task": at(5),
            "close_silence": at(200)}
    s = state(graph, done, opened={"handle": at(1)}, running=False)
    assert s.waiting == [] and s.active == []
    assert {"await_feedback", "feedback_timeout", "close_silence", "end_closed_silence"} <= set(s.done)
    assert "citizen_feedback" not in s.done and "end_closed" not in s.done


def test_a_reopened_case_is_back_at_handle_and_the_old_wait_is_done(graph):
    done = {**ACCEPTED, "handle": at(5), "record_resolution_task": at(5), "publish_task": at(5),
            "citizen_feedback": at(30), "reopen_task": at(30), "assign_task": at(30)}
    s = state(graph, done, active={"handle": at(30)}, opened={"handle": at(30)})
    assert s.active == ["handle"]
    assert set(s.waiting) == {"overdue_timer", "remind_timer"}
    assert {"await_feedback", "citizen_feedback", "feedback_gateway", "reopen_task"} <= set(s.done)


def test_an_incident_marks_its_element_failed(graph):
    s = state(graph, {"triage": at(1)}, opened={"triage": T0}, failed={"assign_task"})
    assert s.failed == ["assign_task"] and "assign_task" not in s.done


def test_an_unknown_process_is_refused(graph):
    files = {p.name: p.read_text(encoding="utf-8") for p in BPMN_DIR.glob("field_report*")}
    assert bpmn_file_of(files, "nope") is None
    with pytest.raises(ValueError, match="no process"):
        parse_graph(bpmn_file_of(files, "field_report"), "nope")
