"""A real Celery worker process delivers outbox emails to a real SMTP server.

The test process is the web application (create_app with the real PostgreSQL and
Redis): it opens and triages a high-priority case, whose `notify_leaders` step
writes email outbox rows; the after-commit hook queues `ioc.deliver_outbox` on
Redis, and a separate `celery -A webapp.worker worker` process delivers them to
an aiosmtpd server listening on 127.0.0.1. Then: delivering again sends nothing
more, and with the SMTP server down the worker records the failure, keeps every
message and delivers it once the server is back.
"""

from __future__ import annotations

import email
import socket
import subprocess
import threading
import time
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.clock import SYSTEM_CLOCK, FrozenClock
from engine.models import HumanTask, OutboxMessage
from engine.outbox import OutboxDispatcher
from tests.integration.celery_process import REDIS_TEST_URL, flush_redis, read_log, start_worker, stop_worker, worker_env

ROOT = Path(__file__).resolve().parents[2]
BPMN_DIR = ROOT / "bpmn"

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


# --------------------------------------------------------------------------- a real SMTP server


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def received(self) -> list[tuple[list[str], email.message.EmailMessage]]:
        with self.lock:
            return list(self.messages)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_smtp(inbox: Inbox, port: int):
    from aiosmtpd.controller import Controller

    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


# --------------------------------------------------------------------------- the worker process


def start_smtp_worker(database_url: str, smtp_port: int, log_path: Path):
    """A worker (no beat) with the test's database, Redis and SMTP server."""
    env = worker_env(database_url, IOC_TIMER_SWEEP="off", IOC_SMTP_HOST="127.0.0.1", IOC_SMTP_PORT=str(smtp_port))
    return start_worker([], env, log_path)


def wait_for(what: str, check, proc: subprocess.Popen, timeout: float = 20.0):
    """Poll `check()` until it returns something truthy; fail if the worker dies or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert proc.poll() is None, f"the worker exited with {proc.returncode} while waiting for {what}"
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.1)


def deliveries(log_path: Path) -> tuple[int, int]:
    """(received, finished) ioc.deliver_outbox runs of the worker, by its log."""
    lines = [line for line in read_log(log_path).splitlines() if "Task ioc.deliver_outbox[" in line]
    return sum(1 for line in lines if line.endswith("received")), sum(1 for line in lines if " succeeded in " in line)


def idle_deliveries(log_path: Path) -> int | None:
    """The number of finished delivery runs when none is queued or running, else None."""
    received, finished = deliveries(log_path)
    return finished if received == finished else None


# --------------------------------------------------------------------------- the application side


def make_app(database_url: str, smtp_port: int):
    from webapp import create_app

    app = create_app({"DATABASE_URL": database_url, "REDIS_URL": REDIS_TEST_URL, "TESTING": True,
                      "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_port})
    assert app.config["CELERY_EAGER"] is False, "with REDIS_URL set, tasks must go to the broker"
    return app


def prepare(app) -> None:
    """Reference data and the field_report process, as an administrator would set them up."""
    from webapp.extensions import db
    from workflows.demo import demo_data, load_reference_data

    with app.app_context():
        load_reference_data(db.session, demo_data())
        services = app.extensions["ioc"].services(db.session)
        files = {p.name: p.read_text(encoding="utf-8") for p in sorted(BPMN_DIR.glob("field_report*"))}
        services.definitions.deploy(files, deployed_by="test")
        db.session.commit()


def open_case(app, title: str) -> str:
    """Intake of a public-security report in P-TUY-HOA; its case code."""
    from webapp.extensions import db
    from workflows.case_service import IntakeRequest

    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        case, created = services.cases.intake(IntakeRequest(
            channel="field_report", category="public_security", admin_unit="P-TUY-HOA", title=title,
            description="Tụ tập gây rối trật tự công cộng ban đêm.", reporter_name="Trần Thị Bình",
            reporter_phone="0987654321"))
        assert created
        return case.code


def triage_high(app, code: str) -> None:
    """The operator accepts the case with priority high: notify_leaders writes the emails."""
    from webapp.extensions import db

    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        task = db.session.scalar(select(HumanTask).where(HumanTask.business_key == code, HumanTask.state == "open",
                                                         HumanTask.element_id == "triage"))
        assert task is not None, f"{code} has no open triage task"
        services.cases.complete_task(task.id, {"decision": "accept", "priority": "high"}, actor="dtv1")


def outbox_rows(app, topic: str | None = None, after_id: int = 0) -> list[OutboxMessage]:
    from webapp.extensions import db

    with app.app_context():
        query = select(OutboxMessage).where(OutboxMessage.id > after_id).order_by(OutboxMessage.id)
        if topic:
            query = query.where(OutboxMessage.topic == topic)
        rows = db.session.scalars(query).all()
        db.session.expunge_all()
        db.session.remove()
        return list(rows)


def pending(app) -> list[OutboxMessage]:
    return [r for r in outbox_rows(app) if r.delivered_at is None]


def message_ids(received) -> list[str]:
    return [str(message["Message-ID"]) for _rcpt, message in received]


# --------------------------------------------------------------------------- the test


@pytest.mark.timeout(60)
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_real_worker_delivers_outbox_emails_over_smtp_once_and_after_an_outage(db_url, tmp_path):
    from webapp.extensions import db
    from webapp.tasks import deliver_outbox

    port = free_port()
    inbox = Inbox()
    log_path = tmp_path / "worker.log"
    flush_redis()
    smtp = start_smtp(inbox, port)
    app = make_app(db_url, port)
    proc = start_smtp_worker(db_url, port, log_path)
    try:
        wait_for("the worker to be ready", lambda: " ready." in read_log(log_path), proc)
        prepare(app)

        # -- 1. a high-priority case: the worker sends one email per leader, exactly once
        code = open_case(app, "Gây rối trật tự tại phường Tuy Hòa")
        wait_for("the intake's outbox rows to be delivered", lambda: not pending(app), proc)
        assert inbox.received() == [], "intake alone sends no email"
        triage_high(app, code)
        emails = outbox_rows(app, "email")
        assert len(emails) >= 2, "the ward's leader and the provincial committee's leaders get an email"
        wait_for("every email outbox row delivered",
                 lambda: len(inbox.received()) >= len(emails) and not pending(app), proc)
        time.sleep(0.5)  # a duplicate, if any, would arrive now
        received = inbox.received()
        assert sorted(rcpt[0] for rcpt, _ in received) == sorted(row.payload["to"] for row in emails)
        assert all(len(rcpt) == 1 for rcpt, _ in received)
        assert sorted(message_ids(received)) == sorted(f"<outbox-{row.id}@ioc-case-flow>" for row in emails)
        by_id = {str(m["Message-ID"]): m for _, m in received}
        for row in emails:
            message = by_id[f"<outbox-{row.id}@ioc-case-flow>"]
            # The subject is rendered in the leader's language from the message kept in the payload (the
            # payload's own subject is the English fallback).
            wanted = "High-priority case: " if row.payload["lang"] == "en" else "Phản ánh ưu tiên cao: "
            assert message["To"] == row.payload["to"] and message["Subject"].startswith(wanted)
            assert row.payload["subject"].startswith("High-priority case: ")
            assert code in message["Subject"]
        for row in outbox_rows(app, "email"):
            assert row.delivered_at is not None and row.attempts == 1 and row.last_error is None, (
                row.id, row.delivered_at, row.attempts, row.last_error)

        # -- 2. delivering again (in this process, and through the worker) sends nothing more
        with app.app_context():
            assert app.extensions["ioc"].outbox().deliver_pending() == 0
        runs = wait_for("the worker to be idle", lambda: idle_deliveries(log_path), proc)
        with app.app_context():
            deliver_outbox.delay()
        wait_for("the worker's extra delivery run", lambda: (idle_deliveries(log_path) or 0) > runs, proc)
        assert len(inbox.received()) == len(emails), "a delivered message must never be sent again"
        assert all(r.attempts == 1 for r in outbox_rows(app, "email"))

        # -- 3. SMTP down: the worker records the failure and keeps the messages
        smtp.stop()
        smtp = None
        last_id = max(r.id for r in outbox_rows(app))
        code2 = open_case(app, "Đánh nhau trước cổng chợ Tuy Hòa")
        wait_for("the second intake's outbox rows to be delivered", lambda: not pending(app), proc)
        triage_high(app, code2)
        failing = outbox_rows(app, "email", after_id=last_id)
        assert len(failing) == len(emails)

        def all_failed_once():
            rows = outbox_rows(app, "email", after_id=last_id)
            return all(r.attempts == 1 and r.last_error for r in rows) and rows

        def others_delivered():
            # Rows are taken in id order: the live updates written after the emails go once those failed.
            rows = [r for r in outbox_rows(app, after_id=last_id) if r.topic != "email"]
            return all(r.delivered_at is not None for r in rows) and rows

        failed = wait_for("the worker to record the SMTP failures", all_failed_once, proc)
        wait_for("the other topics' delivery, not held up by the failing emails", others_delivered, proc)
        for row in failed:
            assert row.delivered_at is None
            assert "refused" in row.last_error.lower() or "connect" in row.last_error.lower(), row.last_error
            assert row.next_attempt_at is not None and row.next_attempt_at > row.created_at
        others = [r for r in outbox_rows(app, after_id=last_id) if r.topic != "email"]
        assert others and all(r.delivered_at is not None for r in others), "other topics are not held up"
        assert len(inbox.received()) == len(emails)

        # Backoff: a delivery run just before next_attempt_at leaves them alone.
        runtime = app.extensions["ioc"]
        just_before = FrozenClock(min(r.next_attempt_at for r in failed) - timedelta(milliseconds=1))
        assert OutboxDispatcher(runtime.session_factory, runtime.handlers, just_before).deliver_pending() == 0
        assert all(r.attempts == 1 and r.delivered_at is None for r in outbox_rows(app, "email", after_id=last_id))

        # -- 4. SMTP back: once next_attempt_at passed, the worker's next run delivers each exactly once
        smtp = start_smtp(inbox, port)
        retry_at = max(r.next_attempt_at for r in failed)
        wait_for("the retry time", lambda: SYSTEM_CLOCK.now() > retry_at, proc, timeout=10)
        with app.app_context():
            deliver_outbox.delay()
        wait_for("the retried emails", lambda: len(inbox.received()) >= 2 * len(emails) and not pending(app), proc)
        time.sleep(0.5)
        received = inbox.received()
        assert len(received) == 2 * len(emails)
        ids = message_ids(received)
        assert len(set(ids)) == len(ids), "no message was sent twice"
        assert sorted(ids[len(emails):]) == sorted(f"<outbox-{r.id}@ioc-case-flow>" for r in failing)
        assert sorted(rcpt[0] for rcpt, _ in received[len(emails):]) == sorted(r.payload["to"] for r in failing)
        for row in outbox_rows(app, "email", after_id=last_id):
            assert row.delivered_at is not None and row.delivered_at >= retry_at and row.attempts == 2, (
                row.id, row.delivered_at, row.attempts)
        with app.app_context():
            assert app.extensions["ioc"].outbox().deliver_pending() == 0
        assert len(inbox.received()) == 2 * len(emails)
        assert "Traceback" not in read_log(log_path)
    except BaseException:
        print(read_log(log_path))
        raise
    finally:
        stop_worker(proc)
        if smtp is not None:
            smtp.stop()
        app.extensions["celery"].close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        flush_redis()
