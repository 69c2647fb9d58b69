"""A worker that does real case work in a loop, to be killed (SIGKILL) at random by test_crash_recovery.

Run from the project root:  python -m tests.integration.crash_worker DB_URL [--seed N] [--loops N]

Each loop moves a FrozenClock forward and then, in a shuffled order, does every kind of
step through the service layer, one transaction each, on a fresh session each (as a web
request or a Celery task would):

- intake of a new case with idempotency key `crash-<n>`, n = the number of `crash-*` cases
  already stored, so a worker restarted after dying in an intake retries the same key;
- completion of open `triage` tasks (accept with a priority, sometimes reject);
- completion of some open `handle`/`handle_l1`/`handle_l2` tasks (→ record_resolution, publish);
- citizen feedback to some published cases (satisfied → close, not satisfied → reopen);
- the timer sweep (reminders, escalations, feedback windows), at the clock's time;
- delivery of pending outbox rows (no handlers: they are just marked delivered).

It prints one line per committed step (flushed), `STEP <kind> <detail>`, so the test knows
it is mid-work. Any exception ends it with a traceback and exit status 1: with a single
worker at a time no step may conflict, so any error is a finding.

The clock starts at the latest moment the database has seen (instance updates, sweep
heartbeats), so a restarted worker never goes back in time.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.clock import FrozenClock
from engine.database import make_engine, make_session_factory
from engine.models import HumanTask, ProcessInstance, SweepHeartbeat
from engine.outbox import OutboxDispatcher
from engine.sweep import TimerSweep
from workflows.case_service import IntakeRequest
from workflows.models import Case
from workflows.runtime import Services, make_services

KEY_PREFIX = "crash-"
HOURS_PER_LOOP = 12
PLACES = [("traffic", "P-BUON-MA-THUOT"), ("public_security", "P-TUY-HOA"), ("health", "X-HOA-PHU"),
          ("street_lighting", "P-TAN-LAP"), ("sanitation", "P-EA-KAO"), ("water_drainage", "X-EA-DRONG")]
HANDLING = ("handle", "handle_l1", "handle_l2", "review")


def step(kind: str, detail: object = "") -> None:
    """Tell the test that a step committed."""
    print(f"STEP {kind} {detail}".rstrip(), flush=True)


class Worker:
    def __init__(self, db_url: str, seed: int):
        self.engine = make_engine(db_url)
        self.factory = make_session_factory(self.engine)
        self.rng = random.Random(seed)
        with self.factory() as session:
            seen = [session.scalar(select(func.max(ProcessInstance.updated_at))),
                    session.scalar(select(func.max(SweepHeartbeat.at)))]
        self.clock = FrozenClock()
        latest = max((m for m in seen if m is not None), default=None)
        if latest is not None and latest > self.clock.now():
            self.clock.set(latest)
        self.sweeper = TimerSweep(self.factory, lambda s: make_services(s, self.clock).instances, self.clock)
        self.outbox = OutboxDispatcher(self.factory, {}, self.clock)

    def _in_session(self, work: Callable[[Services], object]) -> object:
        with self.factory() as session:
            return work(make_services(session, self.clock))

    def _open_tasks(self, session: Session, elements: tuple[str, ...], limit: int) -> list[tuple[str, str]]:
        rows = session.execute(select(HumanTask.id, HumanTask.element_id)
                               .where(HumanTask.state == "open", HumanTask.element_id.in_(elements))
                               .order_by(HumanTask.created_at, HumanTask.id).limit(limit)).all()
        return [(r.id, r.element_id) for r in rows]

    # ------------------------------------------------------------------ the kinds of step
    def intake(self) -> None:
        for _ in range(self.rng.choice((1, 1, 2))):
            def open_case(svc: Services) -> str:
                n = svc.session.scalar(select(func.count()).select_from(Case)
                                       .where(Case.idempotency_key.like(f"{KEY_PREFIX}%")))
                category, unit = self.rng.choice(PLACES)
                case, _created = svc.cases.intake(IntakeRequest(
                    channel="field_report", category=category, admin_unit=unit, title=f"Phản ánh thử số {n}",
                    description="Báo cáo của người dân (thử nghiệm khởi động lại).", reporter_name="Trần Thị Bình",
                    reporter_phone="0905123456", reporter_email="binh@example.vn",
                    idempotency_key=f"{KEY_PREFIX}{n}"))
                return f"{case.idempotency_key} {case.code}"
            step("intake", self._in_session(open_case))

    def triage(self) -> None:
        with self.factory() as session:
            tasks = self._open_tasks(session, ("triage",), 4)
        for task_id, _element in tasks:
            if self.rng.random() < 0.3:
                continue
            if self.rng.random() < 0.1:
                data = {"decision": "reject", "reject_reason": "Trùng lặp"}
            else:
                data = {"decision": "accept", "priority": self.rng.choice(("low", "normal", "normal", "high"))}
            self._in_session(lambda svc, t=task_id, d=data: svc.cases.complete_task(t, d, actor="dtv1"))
            step("triage", f"{task_id} {data['decision']}")

    def handle(self) -> None:
        with self.factory() as session:
            tasks = self._open_tasks(session, HANDLING, 30)
        done = 0
        for task_id, element in tasks:
            if done >= 3 or self.rng.random() > 0.2:
                continue
            data = {"resolution": f"Đã xử lý ({element}).", "resolution_note": "khởi động lại"}
            if element == "handle":
                data["outcome"] = "resolved"
            elif element == "review":  # a high-priority result goes to the unit head first
                data = {"review_decision": "approve"}
            self._in_session(lambda svc, t=task_id, d=data: svc.cases.complete_task(t, d, actor="cb.buonmathuot"))
            step("handle", f"{task_id} {element}")
            done += 1

    def feedback(self) -> None:
        with self.factory() as session:
            codes = session.scalars(select(Case.code).where(Case.status == "published")
                                    .order_by(Case.id).limit(20)).all()
        done = 0
        for code in codes:
            if done >= 2 or self.rng.random() > 0.15:
                continue
            satisfied = self.rng.random() < 0.6
            self._in_session(lambda svc, c=code, s=satisfied: svc.cases.citizen_feedback(c, s, "Ý kiến thử nghiệm"))
            step("feedback", f"{code} satisfied={satisfied}")
            done += 1

    def sweep(self) -> None:
        step("sweep", f"fired={self.sweeper.run_once()} at={self.clock.now().isoformat()}")

    def deliver(self) -> None:
        step("outbox", f"delivered={self.outbox.deliver_pending(limit=25)}")

    # ------------------------------------------------------------------ the loop
    def run(self, loops: int) -> None:
        phases = [self.intake, self.triage, self.handle, self.feedback, self.sweep, self.deliver]
        done = 0
        while loops <= 0 or done < loops:
            self.clock.advance(hours=HOURS_PER_LOOP)
            self.rng.shuffle(phases)
            for phase in phases:
                phase()
            done += 1
            step("loop", done)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db_url")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--loops", type=int, default=0, help="stop after this many loops (0: never)")
    args = parser.parse_args(argv)
    worker = Worker(args.db_url, args.seed)
    try:
        worker.run(args.loops)
    finally:
        worker.engine.dispose()
    step("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
