"""Concurrent completion of one task: exactly one wins.

Several people (threads, each with its own session and services) complete the same
open `handle` task at the same moment, on SQLite and on the real PostgreSQL. SQLite
queues the writers on its lock (BEGIN IMMEDIATE), so the losers find the task closed
(TaskNotReadyError); on PostgreSQL the racers run truly in parallel and the engine must
stop all but one — by locking the instance row for the step, with the optimistic version
column of the instance row as the last guard (StaleDataError → ConflictError). Either way
exactly one completion and one resolution are kept, and every loser gets a ConflictError:
never another exception, never a second success. A last test shows the version column on
its own: a writer that holds a stale instance row gets a ConflictError and writes nothing.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from engine.errors import ConflictError, TaskNotReadyError
from engine.models import AuditEvent, HumanTask, OutboxMessage, ProcessInstance
from tests.working_time import advance_working
from workflows.case_service import IntakeRequest
from workflows.models import Case, CaseEvent, Notification, Publication
from workflows.runtime import make_services

THREADS = 8
ROUNDS = 5


def _open_case_at_handle(services, session, n: int) -> tuple[Case, str]:
    """A new case, triaged, whose only open task is `handle`; (case, handle task id)."""
    case, created = services.cases.intake(IntakeRequest(
        channel="field_report", category="traffic", admin_unit="P-BUON-MA-THUOT",
        title=f"Ổ gà số {n} trên đường Lê Duẩn", reporter_name="Nguyễn Văn An", reporter_phone="0912345678"))
    assert created
    triage = session.scalars(select(HumanTask).where(HumanTask.business_key == case.code,
                                                     HumanTask.state == "open")).one()
    assert triage.element_id == "triage"
    services.cases.complete_task(triage.id, {"decision": "accept", "priority": "normal"}, actor="dtv1")
    handle = session.scalars(select(HumanTask).where(HumanTask.business_key == case.code,
                                                     HumanTask.state == "open")).one()
    assert handle.element_id == "handle"
    task_id = handle.id  # read before the rollback expires it
    session.rollback()  # SQLite: our read transaction would hold the write lock the racers need
    return case, task_id


def _race(session_factory, clock, task_id: str) -> dict[str, BaseException | None]:
    """THREADS threads complete `task_id` at once; actor → None (won) or the exception raised."""
    barrier = threading.Barrier(THREADS)
    outcomes: dict[str, BaseException | None] = {}
    lock = threading.Lock()

    def attempt(i: int) -> None:
        actor = f"user{i}"
        result: BaseException | None = None
        try:
            with session_factory() as session:
                svc = make_services(session, clock)
                barrier.wait(timeout=30)
                svc.cases.complete_task(task_id, {"outcome": "resolved", "resolution": f"Đã vá ổ gà (tổ {i})."}, actor=actor)
        except Exception as exc:  # noqa: BLE001 - the test classifies every outcome
            result = exc
        with lock:
            outcomes[actor] = result

    threads = [threading.Thread(target=attempt, args=(i,), name=f"racer-{i}") for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a racer hung (a lock was never released?)"
    assert len(outcomes) == THREADS
    return outcomes


def _check_one_winner(services, session, case: Case, task_id: str,
                      outcomes: dict[str, BaseException | None]) -> str:
    """Exactly one success, ConflictErrors for the rest, and one resolution in the database; the winner."""
    unexpected = {actor: f"{type(r).__module__}.{type(r).__name__}: {r}" for actor, r in outcomes.items()
                  if r is not None and not isinstance(r, ConflictError)}
    assert not unexpected, f"losers must get a ConflictError, got: {unexpected}"
    winners = [actor for actor, result in outcomes.items() if result is None]
    assert len(winners) == 1, f"exactly one completion must win, winners: {winners}"
    winner = winners[0]

    session.expire_all()
    task = session.get(HumanTask, task_id)
    assert (task.state, task.completed_by) == ("completed", winner)

    case = session.get(Case, case.id)
    assert case.status == "published"
    assert case.resolution == f"Đã vá ổ gà (tổ {winner.removeprefix('user')}).", "the winner's resolution is kept"

    def case_events(kind: str) -> int:
        return session.scalar(select(func.count()).select_from(CaseEvent)
                              .where(CaseEvent.case_id == case.id, CaseEvent.kind == kind))

    assert case_events("resolved") == 1  # record_resolution ran once
    assert case_events("published") == 1
    assert session.scalar(select(func.count()).select_from(Publication).where(Publication.case_id == case.id)) == 1
    published = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "case.published")).all()
    assert [m.payload["case_id"] for m in published].count(case.id) == 1

    instance = session.get(ProcessInstance, case.process_instance_id)
    completions = session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance.id,
                                                           AuditEvent.kind == "task_completed",
                                                           AuditEvent.element_id == "handle")).all()
    assert [a.actor for a in completions] == [winner]
    # The winner's step is the instance's state: no open task, waiting for the citizen's answer.
    view = services.instances.view(instance.id)
    assert view.open_tasks == [] and view.waiting_messages == ["citizen_feedback"]
    assert view.data.get("resolution") == case.resolution
    session.rollback()
    return winner


def test_concurrent_completion_of_one_task_exactly_one_wins(services, session, session_factory, clock):
    """THREADS people press "done" on one task at once, ROUNDS times (a new case each round)."""
    for round_no in range(ROUNDS):
        case, task_id = _open_case_at_handle(services, session, round_no)
        outcomes = _race(session_factory, clock, task_id)
        _check_one_winner(services, session, case, task_id, outcomes)
        if session.get_bind().dialect.name == "sqlite":
            # Writers queue on the lock: every loser finds the task already closed.
            assert all(isinstance(r, TaskNotReadyError) for r in outcomes.values() if r is not None)


def test_a_writer_holding_a_stale_instance_gets_a_conflict_and_writes_nothing(services, session, session_factory,
                                                                            clock):
    """The version column alone: a step run on an instance row loaded before someone else's step commits.

    (The timer sweep hands `fire_due_timers` the rows it loaded; should one be stale, its step must
    be refused as a whole: no reminder, no audit, the other step's result intact.)
    """
    case, task_id = _open_case_at_handle(services, session, 0)
    case_id, instance_id = case.id, case.process_instance_id
    session.rollback()  # SQLite: reading those began a transaction, which holds the write lock
    with session_factory() as stale_session:
        stale = make_services(stale_session, clock)
        row = stale_session.get(ProcessInstance, instance_id)
        assert row.next_timer_at is not None
        stale_session.commit()  # keeps the loaded row (expire_on_commit=False) and frees SQLite's write lock

        services.cases.complete_task(task_id, {"outcome": "resolved", "resolution": "Đã vá ổ gà."}, actor="user0")
        session.rollback()
        advance_working(clock, 61)  # the stale state's reminder timer is due now: the stale step has work to do

        with pytest.raises(ConflictError) as err:
            stale.instances.fire_due_timers(row)
        assert not isinstance(err.value, TaskNotReadyError)
        stale_session.rollback()

    session.expire_all()
    assert session.get(HumanTask, task_id).state == "completed"
    assert session.get(Case, case_id).status == "published"
    # No reminder from the stale step (the new-task notices of the real steps are there).
    assert session.scalar(select(func.count()).select_from(Notification).where(
        Notification.case_id == case_id, Notification.kind != "task_created")) == 0
    kinds = session.scalars(select(AuditEvent.kind).where(AuditEvent.instance_id == instance_id)
                            .order_by(AuditEvent.id)).all()
    assert kinds.count("task_completed") == 2  # triage and handle; nothing of the refused step
    assert services.instances.view(instance_id).waiting_messages == ["citizen_feedback"]
    session.rollback()
