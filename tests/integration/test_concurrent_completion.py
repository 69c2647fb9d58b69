"""Concurrent completion of one task: exactly one wins.

Several people (threads, each with its own session and services) complete the same
open `handle` task at the same moment. On SQLite the writers queue on the database
lock (BEGIN IMMEDIATE), so the losers find the task closed (TaskNotReadyError); on
PostgreSQL they run truly in parallel and the optimistic version column of the
instance row must stop all but one (StaleDataError → ConflictError). Either way
exactly one completion and one resolution are kept, and every loser gets a
ConflictError — never another exception, never a second success.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from engine.errors import ConflictError, TaskNotReadyError
from engine.instances import InstanceService
from engine.models import AuditEvent, HumanTask, OutboxMessage, ProcessInstance
from workflows.case_service import IntakeRequest
from workflows.models import Case, CaseEvent, Publication
from workflows.runtime import make_services

THREADS = 8
ROUNDS = 5

# A loser of the race on PostgreSQL gets a raw database error instead of ConflictError. CaseService
# now runs each step first in InstanceService "batch mode", where _save does not flush and everything
# is written by the commit's flush; SQLAlchemy's unit of work orders the INSERT of the step's outbox
# rows before the version-checked UPDATE of process_instance (nothing relates the two mappers), so the
# loser's `published:<publish task id>` outbox row (the same spiff task id in every racer, since they
# all loaded one state) hits uq_outbox_message_dedupe_key once the winner commits, and that
# IntegrityError escapes CaseService._transaction (it only maps StaleDataError). (Before the batch
# mode, the loser got a raw StaleDataError from the autoflush of the instance row by the human_task
# SELECT in _sync_tasks, outside the try/except around the final flush.)
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
                svc.cases.complete_task(task_id, {"resolution": f"Đã vá ổ gà (tổ {i})."}, actor=actor)
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


def test_concurrent_completion_of_one_task_exactly_one_wins(services, session, session_factory, clock, request):
    """THREADS people press "done" on one task at once, ROUNDS times (a new case each round)."""
    for round_no in range(ROUNDS):
        case, task_id = _open_case_at_handle(services, session, round_no)
        outcomes = _race(session_factory, clock, task_id)
        _check_one_winner(services, session, case, task_id, outcomes)
        if session.get_bind().dialect.name == "sqlite":
            # Writers queue on the lock: every loser finds the task already closed.
            assert all(isinstance(r, TaskNotReadyError) for r in outcomes.values() if r is not None)


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_losers_that_read_the_open_task_are_stopped_by_the_version_column(services, session, session_factory, clock,
                                                                         request, monkeypatch):
    """The worst interleaving, forced: every racer has loaded the instance (task READY) before anyone writes.

    Only the optimistic version column can then tell them apart; each loser must get a plain
    ConflictError ("changed by someone else"), not a TaskNotReadyError and not a database error.
    (Should the engine come to lock the instance row when it loads it, the racers cannot all load
    before one writes; the barrier then breaks and the test checks the ordinary outcome.)
    """
    loaded = threading.Barrier(THREADS)
    original = InstanceService._load_runner

    def load_then_wait(self, row, log):
        runner = original(self, row, log)
        if threading.current_thread().name.startswith("racer-"):
            try:
                loaded.wait(timeout=3)
            except threading.BrokenBarrierError:
                pass  # the engine serialises the loads (a row lock): no racer can act on a stale state
        return runner

    for round_no in range(2):
        case, task_id = _open_case_at_handle(services, session, round_no)
        loaded.reset()
        with monkeypatch.context() as patch:
            patch.setattr(InstanceService, "_load_runner", load_then_wait)
            outcomes = _race(session_factory, clock, task_id)
        _check_one_winner(services, session, case, task_id, outcomes)
        if not loaded.broken:  # every racer held the READY task: only the version column could stop them
            losers = [r for r in outcomes.values() if r is not None]
            assert all(type(r) is ConflictError for r in losers), [type(r).__name__ for r in losers]
