"""A worker killed (SIGKILL) in the middle of a step loses no case and duplicates no task: a test does it many times.

A real worker process (tests/integration/crash_worker.py) does every kind of step on the
real PostgreSQL server — intake with idempotency keys, triage, handling, citizen feedback,
timer sweeps, outbox delivery — and is killed at a random moment, again and again, then
allowed one clean run. The database must then be consistent: one instance per case, the
task index equal to the saved workflow states, no duplicated notification, outbox row,
task or audit record, and every instance's status and next timer equal to what its state says.
"""

from __future__ import annotations

import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from engine import spiff
from engine.database import make_engine, make_session_factory
from engine.db import Base
from engine.expressions import RestrictedEnvironment
from engine.models import AuditEvent, HumanTask, Incident, OutboxMessage, ProcessInstance
from workflows.models import Case, CaseEvent, Notification
from workflows.runtime import EVALUATOR, make_services

ROOT = Path(__file__).resolve().parents[2]
KILLS = 40
TIME_BUDGET = 70.0  # seconds for the kill loop: on a slow machine it stops early (and needs 25 kills)
CLEAN_LOOPS = 6
WORKER_APP = "ioc_crash_worker"


def _prepare(url: str) -> None:
    """Empty tables, the demo reference data and field_report deployed (what the `services` fixture does)."""
    from workflows.demo import demo_data, load_reference_data

    engine = make_engine(url)
    try:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        with make_session_factory(engine)() as session:
            load_reference_data(session, demo_data())
            files = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "bpmn").glob("field_report*"))}
            make_services(session).definitions.deploy(files, deployed_by="test")
            session.commit()
    finally:
        engine.dispose()


class WorkerRun:
    """One crash_worker process, its stdout read line by line on a thread, its stderr in a file."""

    def __init__(self, url: str, seed: int, stderr_path: Path, loops: int = 0):
        self.stderr_path = stderr_path
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.steps: list[str] = []
        self._stderr = stderr_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.crash_worker", url, "--seed", str(seed), "--loops", str(loops)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=self._stderr, text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        with self.proc.stdout:
            for line in self.proc.stdout:
                self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next_step(self, timeout: float) -> str | None:
        """The next committed-step line (None at the end of output)."""
        line = self.lines.get(timeout=timeout)
        if line is not None:
            self.steps.append(line)
        return line

    def drain(self) -> None:
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                return
            if line is not None:
                self.steps.append(line)

    def stderr(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text()[-4000:]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._reader.join(timeout=10)
        self.drain()
        self._stderr.close()

    def wait(self, timeout: float) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        self.drain()
        self._stderr.close()
        return code


def _wait_for_backends_to_go(watcher, timeout: float = 15.0) -> None:
    """Wait until PostgreSQL has ended the backends of the killed worker (and so rolled back its transaction).

    A restarted worker racing the rollback (or the commit) of its killed predecessor would see a
    genuine concurrent writer; the test wants one writer at a time, so that any conflict is a finding.
    """
    deadline = time.monotonic() + timeout
    while True:
        with watcher.connect() as conn:
            alive = conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                                {"name": WORKER_APP})
        if not alive:
            return
        assert time.monotonic() < deadline, f"{alive} backends of a killed worker are still there after {timeout}s"
        time.sleep(0.01)


def _check_invariants(url: str) -> dict[str, int]:
    """Assert the database is consistent after the crashes; some counts for the report."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return _invariants(session)
    finally:
        engine.dispose()


def _invariants(session) -> dict[str, int]:
    services = make_services(session)
    cases = session.scalars(select(Case).order_by(Case.id)).all()
    instances = {row.id: row for row in session.scalars(select(ProcessInstance))}

    # -- cases and instances: one each way, nothing lost, nothing doubled
    assert cases, "the workers opened no case"
    assert all(c.code for c in cases), "a case without a code"
    keys = Counter(c.idempotency_key for c in cases)
    assert all(n == 1 for n in keys.values()), f"idempotency key used twice: {[k for k, n in keys.items() if n > 1]}"
    expected_keys = {f"crash-{n}" for n in range(len(cases))}
    assert set(keys) == expected_keys, f"crash keys are not crash-0..crash-{len(cases) - 1}: {sorted(set(keys) ^ expected_keys)}"
    per_code = Counter(row.business_key for row in instances.values())
    for case in cases:
        assert per_code[case.code] == 1, f"{case.code} has {per_code[case.code]} process instances"
        assert case.process_instance_id in instances, f"{case.code} points to no instance"
        assert instances[case.process_instance_id].business_key == case.code
    orphans = set(per_code) - {c.code for c in cases}
    assert not orphans, f"instances without a case: {sorted(orphans, key=str)}"
    resolved = Counter(session.scalars(select(CaseEvent.case_id).where(CaseEvent.kind == "resolved")))
    published = Counter(session.scalars(select(CaseEvent.case_id).where(CaseEvent.kind == "published")))
    assert resolved == published, "a resolution recorded without its publication (or the other way round)"

    # -- each instance: task index == READY user tasks of the saved state; status and timer agree
    environment = RestrictedEnvironment(EVALUATOR)
    tasks_by_instance: dict[int, list[HumanTask]] = {}
    for task in session.scalars(select(HumanTask)):
        tasks_by_instance.setdefault(task.instance_id, []).append(task)
    open_tasks = 0
    for row in instances.values():
        runner = spiff.Runner.load(services.definitions.compiled(row.definition),
                                   spiff.make_script_engine(environment, lambda *a: None), row.state)
        rows = tasks_by_instance.get(row.id, [])
        open_rows = [t for t in rows if t.state == "open"]
        ready = {t.id: t.element_id for t in runner.ready_human_tasks()}
        assert {t.id: t.element_id for t in open_rows} == ready, (
            f"instance {row.id} ({row.business_key}): open task rows "
            f"{sorted((t.element_id, t.id) for t in open_rows)} != READY user tasks {sorted(ready.items())}")
        elements = Counter(t.element_id for t in open_rows)
        assert all(n == 1 for n in elements.values()), f"instance {row.id}: two open tasks for one element {elements}"
        assert all(t.state in ("open", "completed", "cancelled") for t in rows)
        if runner.completed:
            assert (row.status, row.next_timer_at) == ("completed", None), f"instance {row.id} finished but {row.status}"
            assert not open_rows, f"completed instance {row.id} has open tasks"
        else:
            expected = "error" if runner.error_tasks() else "running"
            assert row.status == expected, f"instance {row.id}: status {row.status}, state says {expected}"
            assert row.next_timer_at == runner.next_timer_at(), (
                f"instance {row.id}: next_timer_at {row.next_timer_at} != state's {runner.next_timer_at()}")
        view = services.instances.view(row.id)
        assert {t.id for t in view.open_tasks} == set(ready)
        open_tasks += len(open_rows)

    # -- no duplicated side effect of a step
    dedupes = Counter(session.scalars(select(Notification.dedupe_key)))
    assert None not in dedupes, "a notification without a dedupe key"
    assert all(n == 1 for n in dedupes.values()), "two notifications with one dedupe key"
    per_task_user = Counter((key.rsplit(":", 1)[0], note_user) for key, note_user in session.execute(
        select(Notification.dedupe_key, Notification.user_id)))
    assert all(n == 1 for n in per_task_user.values()), "a person notified twice for one step"
    outbox_keys = Counter(k for k in session.scalars(select(OutboxMessage.dedupe_key)) if k is not None)
    assert all(n == 1 for n in outbox_keys.values()), "two outbox rows with one dedupe key"
    notes = session.scalar(select(func.count()).select_from(Notification))
    assert sum(1 for k in outbox_keys if k.startswith("push:")) == notes, "a notification without its push (or twice)"

    task_ids = {t.id for rows in tasks_by_instance.values() for t in rows}
    closed_ids = {t.id for rows in tasks_by_instance.values() for t in rows if t.state != "open"}
    created_msgs = Counter(m.payload["task_id"] for m in session.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == "task.created")))
    closed_msgs = Counter(m.payload["task_id"] for m in session.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == "task.closed")))
    assert created_msgs == Counter(task_ids), "task.created messages do not match the task rows one to one"
    assert closed_msgs == Counter(closed_ids), "task.closed messages do not match the closed task rows one to one"
    created_audits = Counter(a.detail["task_id"] for a in session.scalars(
        select(AuditEvent).where(AuditEvent.kind == "task_created")))
    assert created_audits == Counter(task_ids), "task_created audits do not match the task rows one to one"
    completed_audits = Counter(a.detail["task_id"] for a in session.scalars(
        select(AuditEvent).where(AuditEvent.kind == "task_completed")))
    completed_ids = {t.id for rows in tasks_by_instance.values() for t in rows if t.state == "completed"}
    assert completed_audits == Counter(completed_ids), "task_completed audits do not match the completed tasks"
    started = Counter(session.scalars(select(AuditEvent.instance_id).where(AuditEvent.kind == "started")))
    assert started == Counter(list(instances)), "an instance started twice (or never)"
    incidents = session.scalars(select(Incident.message)).all()
    assert not incidents, f"steps failed: {incidents[:5]}"

    return {"cases": len(cases), "instances": len(instances), "tasks": len(task_ids), "open_tasks": open_tasks,
            "completed_instances": sum(1 for r in instances.values() if r.status == "completed"),
            "notifications": notes, "outbox": sum(outbox_keys.values()),
            # Sequences are not transactional: a hole in the ids is a transaction that flushed and never
            # committed, i.e. a kill that landed in the middle of a step (a lower bound).
            "case_id_holes": _holes(session, "case_record"), "audit_id_holes": _holes(session, "audit_event")}


def _holes(session, table: str) -> int:
    return session.scalar(text(
        f"SELECT count(*) FROM (SELECT id - lag(id, 1, 0::bigint) OVER (ORDER BY id) AS step FROM {table}) s"
        " WHERE step > 1"))


@pytest.mark.slow
@pytest.mark.postgres
def test_killed_workers_lose_no_case_and_duplicate_no_task(postgres_database, tmp_path):
    _prepare(postgres_database)
    # The workers' connections carry a name, so the test can wait for a killed worker's backend to end.
    url = make_url(postgres_database).update_query_dict({"application_name": WORKER_APP}).render_as_string(
        hide_password=False)
    watcher = make_engine(postgres_database, poolclass=NullPool)
    rng = random.Random(20260105)
    kills = 0
    steps: Counter[str] = Counter()
    last_before_kill: Counter[str] = Counter()
    started = time.monotonic()
    run: WorkerRun | None = None
    try:
        while kills < KILLS and time.monotonic() - started < TIME_BUDGET:
            run = WorkerRun(url, seed=rng.randrange(1 << 30), stderr_path=tmp_path / f"worker-{kills}.err")
            first = run.next_step(timeout=60)
            assert first is not None, f"the worker ended before its first step:\n{run.stderr()}"
            time.sleep(rng.uniform(0.05, 0.6))
            assert run.proc.poll() is None, f"the worker died by itself (exit {run.proc.returncode}):\n{run.stderr()}"
            run.kill()
            kills += 1
            _wait_for_backends_to_go(watcher)
            steps.update(line.split()[1] for line in run.steps)
            last_before_kill[run.steps[-1].split()[1]] += 1
            run = None

        # One clean run after all the crashes: it must cope with whatever they left and finish.
        run = WorkerRun(url, seed=rng.randrange(1 << 30), stderr_path=tmp_path / "worker-final.err", loops=CLEAN_LOOPS)
        code = run.wait(timeout=120)
        assert code == 0, f"the clean worker run failed (exit {code}):\n{run.stderr()}"
        assert run.steps and run.steps[-1] == "STEP done"
        steps.update(line.split()[1] for line in run.steps)
        run = None
    finally:
        if run is not None:
            run.kill()
        watcher.dispose()
    elapsed = time.monotonic() - started

    counts = _check_invariants(url)
    print(f"\ncrash recovery: {kills} kills in {elapsed:.1f}s; committed steps {dict(steps)}; "
          f"last step seen before a kill {dict(last_before_kill)}; database {counts}")
    assert kills >= 25
    assert counts["cases"] >= 30, counts
    assert steps["triage"] and steps["handle"] and steps["feedback"] and steps["sweep"], steps
