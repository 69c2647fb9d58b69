"""Subscribed reports delivered exactly once, against a real local SMTP server (aiosmtpd).

In this process first (SQLite and PostgreSQL): a slot's report e-mailed with its PDF attached and put in the inbox
once, whatever runs it again; an SMTP server down: retried with backoff, then the subscriber and the admins told,
then tried again by hand; a worker that lost its lease while talking to the server drops the connection before
the final dot, so the server keeps only the other worker's e-mail; "only when something changed".

Then end to end: a real Celery worker with beat (`celery -A webapp.worker worker --beat`) plans the slot, makes
the PDF and is killed (SIGKILL, the whole process group) while it is handing the e-mail to the server; a new
worker with beat (a beat restart) takes the row over once the lease ran out, reuses the archived PDF and sends
it: one e-mail for the slot, no more, no less, and one inbox note. Killed instead after the final dot went and
the server kept the message but before its 250 was read (the window SMTP itself leaves, RFC 1047), the e-mail is
sent again with the same Message-ID and the row counts it: that is the one duplicate that remains possible.
"""

from __future__ import annotations

import asyncio
import email
import hashlib
import os
import signal
import threading
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
from sqlalchemy import func, select

from engine.clock import FrozenClock
from engine.models import OutboxMessage
from reports import delivery, schedules
from reports.delivery import Deliverer
from reports.models import ReportArchive, ReportDelivery
from tests.integration.celery_process import flush_redis, read_log, start_worker, stop_worker, worker_env
from tests.integration.test_celery_worker import free_port, make_app, wait_for
from workflows.mail import SmtpMailer
from workflows.models import Notification, User

SLOT = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # Monday 30 November 2026, 07:00 in Đắk Lắk


class Server:
    """A real SMTP server (aiosmtpd on 127.0.0.1) keeping what it accepts; it can hold a client at RCPT."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[email.message.EmailMessage] = []
        self.hold_next = threading.Event()  # set: the next client waits at RCPT until `release`
        self.holding = threading.Event()
        self.release = threading.Event()
        self.port = free_port()
        self.controller = None

    hold_at = "rcpt"  # or "data": the message's final dot came, the server holds its reply

    async def _hold(self, stage: str) -> None:
        if self.hold_next.is_set() and self.hold_at == stage:
            self.hold_next.clear()
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook
        await self._hold("rcpt")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)
        # Held after keeping it: a server that queued the message and whose 250 the client never read.
        await self._hold("data")
        return "250 Message accepted for delivery"

    def received(self) -> list[email.message.EmailMessage]:
        with self.lock:
            return list(self.messages)

    def start(self) -> Server:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    server = Server().start()
    yield server
    server.release.set()
    server.stop()


def subscribe(session, *, only_changed: bool = False, username: str = "ld.buonmathuot",
              at: datetime = SLOT - timedelta(days=1)) -> int:
    """A weekly subscription (Mondays 07:00) to Buôn Ma Thuột's operations report, made before SLOT."""
    from tests.integration.test_report_schedules import Spec

    user_id = session.scalar(select(User.id).where(User.username == username))
    return schedules.subscribe(session, user_id, Spec(only_changed=only_changed), at).id


def planned(session, now: datetime) -> list[int]:
    return schedules.plan_deliveries(session, now).due


def deliverer(session_factory, port: int, clock, **extra) -> Deliverer:
    mailer = SmtpMailer("127.0.0.1", port, "ioc@daklak.gov.vn", timeout=10)
    return Deliverer(session_factory, mailer, lambda archive_id: f"https://ioc.example/leaders/reports/{archive_id}.pdf",
                     clock, **extra)


def row_of(session_factory, delivery_id: int) -> ReportDelivery:
    with session_factory() as s:
        row = s.get(ReportDelivery, delivery_id)
        s.expunge(row)
        return row


def count(session_factory, query) -> int:
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(query.subquery()))


# --------------------------------------------------------------------------- in this process


def test_a_slot_is_emailed_with_its_pdf_and_put_in_the_inbox_once(session_factory, session, reference_data, smtp):
    sub = subscribe(session)
    [delivery_id] = planned(session, SLOT + timedelta(minutes=1))
    session.rollback()
    clock = FrozenClock(SLOT + timedelta(minutes=1))
    worker = deliverer(session_factory, smtp.port, clock)
    assert worker.deliver(delivery_id) == "sent"

    [message] = smtp.received()
    assert str(message["Message-ID"]) == f"<report-delivery-{delivery_id}@ioc-case-flow>"
    assert str(message["To"]) == "ld.buonmathuot@demo.ioc-daklak.vn" and "Báo cáo" in str(message["Subject"])
    [attachment] = list(message.iter_attachments())
    pdf = attachment.get_content()
    row = row_of(session_factory, delivery_id)
    with session_factory() as s:
        stored = s.get(ReportArchive, row.archive_id)
        assert (stored.origin, stored.subscription_id, stored.period_key) == ("subscription", sub, "2026-W48")
        assert hashlib.sha256(pdf).hexdigest() == stored.sha256 and pdf == stored.pdf
        assert attachment.get_filename() == f"bao-cao-operations-P-BUON-MA-THUOT-2026-W48-{stored.id}.pdf"
        body = message.get_body(("plain",)).get_content()
        assert f"https://ioc.example/leaders/reports/{stored.id}.pdf" in body
    assert (row.status, row.attempts, row.message_id, row.in_doubt_resends) == (
        "sent", 1, f"<report-delivery-{delivery_id}@ioc-case-flow>", 0)
    note_query = select(Notification).where(Notification.dedupe_key == f"report-delivery:{delivery_id}")
    assert count(session_factory, note_query) == 1
    with session_factory() as s:
        note = s.scalar(note_query)
        assert note.id == row.notification_id and note.kind == "report"
        assert s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.dedupe_key == f"push:report-delivery:{delivery_id}")) == 1

    # Run again — beat queued it twice, the broker gave the task back, a planner after a restart — nothing more.
    assert worker.deliver(delivery_id) == "busy"
    assert planned(session, SLOT + timedelta(hours=1)) == []
    session.rollback()
    assert len(smtp.received()) == 1 and count(session_factory, note_query) == 1


def test_a_server_down_is_retried_with_backoff_then_told_then_retried_by_hand(session_factory, session,
                                                                               reference_data, smtp):
    subscribe(session)
    [delivery_id] = planned(session, SLOT)
    session.rollback()
    clock = FrozenClock(SLOT)
    smtp.stop()  # nobody listens on the port
    worker = deliverer(session_factory, smtp.port, clock, max_attempts=3)
    assert worker.deliver(delivery_id) == "retry"
    first = row_of(session_factory, delivery_id)
    assert (first.status, first.attempts, first.next_attempt_at) == ("retry", 1, SLOT + timedelta(minutes=1))
    assert first.last_error["msgid"] == "the mail server could not be reached (%(error)s)"
    assert first.archive_id is not None and first.mailing_at is None  # refused before anything was handed over
    assert worker.deliver(delivery_id) == "busy"  # not before its time
    clock.advance(minutes=1)
    assert worker.deliver(delivery_id) == "retry"
    assert row_of(session_factory, delivery_id).next_attempt_at == clock.now() + timedelta(minutes=5)
    clock.advance(minutes=5)
    assert planned(session, clock.now()) == [delivery_id]
    session.rollback()
    assert worker.deliver(delivery_id) == "failed"
    failed = row_of(session_factory, delivery_id)
    assert (failed.status, failed.attempts, failed.next_attempt_at) == ("failed", 3, None)
    # One PDF made for the three attempts.
    assert count(session_factory, select(ReportArchive.id)) == 1

    # The subscriber and the province's admins are told, in the inbox and by e-mail.
    with session_factory() as s:
        told = s.execute(select(User.username, Notification.kind).join(User, User.id == Notification.user_id)
                         .where(Notification.kind == "report_failed")).all()
        assert {name for name, _ in told} >= {"ld.buonmathuot", "admin"}
        emails = s.scalars(select(OutboxMessage.payload).where(OutboxMessage.topic == "email")).all()
        assert {p["to"] for p in emails} >= {"ld.buonmathuot@demo.ioc-daklak.vn", "admin@demo.ioc-daklak.vn"}
    failures = delivery.list_deliveries(session, statuses=("failed",))
    assert [(d.id, d.can_retry) for d in failures] == [(delivery_id, True)]
    assert delivery.list_deliveries(session, user_id=-1) == []

    # Tried again by hand, with the server back: sent once, the archived PDF reused.
    smtp.start()
    someone_else = session.scalar(select(User.id).where(User.username == "ld.tanlap"))
    assert not delivery.retry(session, delivery_id, clock.now(), user_id=someone_else)
    owner = session.scalar(select(User.id).where(User.username == "ld.buonmathuot"))
    assert delivery.retry(session, delivery_id, clock.now(), user_id=owner)
    assert worker.deliver(delivery_id) == "sent"
    assert len(smtp.received()) == 1 and row_of(session_factory, delivery_id).archive_id == failed.archive_id
    assert count(session_factory, select(ReportArchive.id)) == 1


def test_a_worker_that_lost_its_lease_drops_the_connection_before_the_final_dot(session_factory, session,
                                                                                reference_data, smtp):
    subscribe(session)
    [delivery_id] = planned(session, SLOT)
    session.rollback()
    slow_clock, fast_clock = FrozenClock(SLOT), FrozenClock(SLOT + timedelta(minutes=6))
    slow = deliverer(session_factory, smtp.port, slow_clock)
    fast = deliverer(session_factory, smtp.port, fast_clock)
    smtp.hold_next.set()
    outcome: list[str] = []
    first = threading.Thread(target=lambda: outcome.append(slow.deliver(delivery_id)))
    first.start()
    assert smtp.holding.wait(timeout=60), "the first worker never reached the server"
    # The first worker stalls at RCPT past its lease; a second one takes the row over and delivers it.
    assert fast.deliver(delivery_id) == "sent"
    smtp.release.set()
    first.join(timeout=30)
    assert outcome == ["busy"]
    assert len(smtp.received()) == 1  # the stalled worker's message never got its final dot
    row = row_of(session_factory, delivery_id)
    assert (row.status, row.attempts) == ("sent", 2)
    assert count(session_factory, select(Notification.id).where(Notification.kind == "report")) == 1


def test_only_when_something_changed_skips_a_slot_whose_figures_did_not_change(session_factory, session,
                                                                               reference_data, smtp):
    sub = subscribe(session, only_changed=True)
    first, = planned(session, SLOT)
    session.rollback()
    worker = deliverer(session_factory, smtp.port, FrozenClock(SLOT))
    assert worker.deliver(first) == "sent"
    # A week later nothing happened in either week (no cases at all): the second slot is skipped, said why.
    later = SLOT + timedelta(days=7)
    second, = planned(session, later)
    session.rollback()
    assert deliverer(session_factory, smtp.port, FrozenClock(later)).deliver(second) == "skipped"
    skipped = row_of(session_factory, second)
    assert skipped.last_error["msgid"] == "nothing changed since %(period)s" and skipped.archive_id is None
    assert len(smtp.received()) == 1
    assert [d.status for d in delivery.list_deliveries(session, user_id=None)] == ["skipped", "sent"]
    assert sub


# --------------------------------------------------------------------------- a real worker, killed mid-delivery


@pytest.fixture
def worker_app(db_url, smtp):
    """The web application on the test's PostgreSQL, Redis and SMTP server (its connections closed afterwards)."""
    from webapp.extensions import db

    flush_redis()
    app = make_app(db_url, smtp.port)
    yield app
    app.extensions["celery"].close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    flush_redis()


def prepare(app) -> None:
    from webapp.extensions import db
    from workflows.demo import demo_data, load_reference_data

    with app.app_context():
        load_reference_data(db.session, demo_data())
        db.session.commit()


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(240)
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("kill_at", ["rcpt", "data"])
def test_a_worker_killed_while_sending_leaves_one_email_per_slot(db_url, session_factory, tmp_path, smtp, kill_at,
                                                                worker_app):
    """Killed mid-conversation ("rcpt"): exactly one e-mail. Killed after the final dot went, before the server's
    reply ("data"; the server keeps the message): the one window that remains — the e-mail is sent again with the
    same Message-ID and the row counts it (in_doubt_resends)."""
    prepare(worker_app)
    # A weekly subscription whose slot was a minute ago (real time: the worker's clock is the system's).
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    slot = now - timedelta(minutes=1)
    local = slot.astimezone(schedules.LOCAL)
    with session_factory() as s:
        user_id = s.scalar(select(User.id).where(User.username == "ld.buonmathuot"))
        from tests.integration.test_report_schedules import Spec

        sub = schedules.subscribe(s, user_id, Spec(weekday=local.weekday(), hour=local.hour, minute=local.minute),
                                  slot - timedelta(days=6)).id

    env = worker_env(db_url, IOC_TIMER_SWEEP="off", IOC_SMTP_HOST="127.0.0.1", IOC_SMTP_PORT=str(smtp.port),
                     IOC_REPORT_LEASE_SECONDS="3", IOC_REPORT_SCHEDULE_INTERVAL="1",
                     IOC_PUBLIC_URL="https://ioc.example")
    smtp.hold_at = kill_at
    smtp.hold_next.set()  # the first worker is held by the server: mid-delivery, the PDF made and archived
    first_log = tmp_path / "worker-1.log"
    first = start_worker(["--beat", "-s", str(tmp_path / "beat-1")], env, first_log)
    try:
        assert smtp.holding.wait(timeout=120), read_log(first_log)[-3000:]
        os.killpg(first.pid, signal.SIGKILL)  # the worker, its pool child and its beat, at once
        first.wait(timeout=10)
    finally:
        stop_worker(first)
    delivery_query = select(ReportDelivery).where(ReportDelivery.subscription_id == sub)
    with session_factory() as s:
        [left] = s.scalars(delivery_query).all()
        assert (left.status, left.attempts) == ("sending", 1)
        assert (left.mailing_at is not None) == (kill_at == "data")  # "handed over" was committed before the dot
        assert left.archive_id is not None
        archived = s.get(ReportArchive, left.archive_id)
        assert archived.state == "done"
        archived_sha = archived.sha256
    smtp.release.set()
    second_log = tmp_path / "worker-2.log"
    second = start_worker(["--beat", "-s", str(tmp_path / "beat-2")], env, second_log)
    try:
        def sent():
            with session_factory() as s:
                row = s.scalars(delivery_query).one()
                return row if row.status == "sent" else None

        row = wait_for("the slot to be delivered by the second worker", sent, second, timeout=120)
        # Let the restarted beat plan a few more times: nothing more is sent.
        runs = read_log(second_log).count("Task ioc.plan_report_deliveries[")
        wait_for("three more planning runs", lambda: read_log(second_log).count(
            "Task ioc.plan_report_deliveries[") >= runs + 6, second, timeout=60)
    finally:
        stop_worker(second)

    received = smtp.received()
    expected_id = f"<report-delivery-{row.id}@ioc-case-flow>"
    assert [str(m["Message-ID"]) for m in received] == [expected_id] * (1 if kill_at == "rcpt" else 2)
    for message in received:
        [attachment] = list(message.iter_attachments())
        assert hashlib.sha256(attachment.get_content()).hexdigest() == archived_sha  # the archived PDF, reused
    assert (row.attempts, row.archive_id, row.in_doubt_resends) == (2, left.archive_id, int(kill_at == "data"))
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(ReportDelivery).where(
            ReportDelivery.subscription_id == sub)) == 1
        assert s.scalar(select(func.count()).select_from(ReportArchive).where(
            ReportArchive.subscription_id == sub)) == 1
        assert s.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == user_id, Notification.kind == "report")) == 1


# --------------------------------------------------------------------------- the embedded mode


@pytest.mark.timeout(120)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_in_the_embedded_mode_a_thread_plans_and_delivers_the_slots(db_url, tmp_path, smtp):
    import time

    from tests.workspace import make_workspace_app
    from webapp.extensions import db
    from webapp.report_jobs import start_schedule_thread

    app = make_workspace_app(db_url, FrozenClock(SLOT + timedelta(minutes=5)), TIMER_SWEEP="thread",
                             SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port, REPORT_SCHEDULE_INTERVAL=0.2,
                             FILES_DIR=str(tmp_path / "files"))
    assert app.config["CELERY_EAGER"] is True
    with app.app_context():
        sub = subscribe(db.session)
    thread = start_schedule_thread(app)
    try:
        deadline = time.monotonic() + 90
        while not smtp.received():
            assert thread.is_alive() and time.monotonic() < deadline, "the embedded planner delivered nothing"
            time.sleep(0.1)
        with app.app_context():
            runs = 0
            while runs < 5:  # a few more planning runs: nothing more is sent
                time.sleep(0.2)
                runs += 1
            rows = db.session.scalars(select(ReportDelivery).where(ReportDelivery.subscription_id == sub)).all()
            assert [(r.status, r.period_key) for r in rows] == [("sent", "2026-W48")]
            assert db.session.scalar(select(func.count()).select_from(Notification).where(
                Notification.kind == "report")) == 1
    finally:
        thread.stop()
        thread.join(timeout=30)
    assert len(smtp.received()) == 1


def test_without_an_address_or_a_mail_server_the_slot_goes_to_the_inbox_only(session_factory, session,
                                                                            reference_data, smtp):
    user = session.scalar(select(User).where(User.username == "ld.tanlap"))
    user.email = None
    session.commit()
    subscribe(session, username="ld.tanlap")
    subscribe(session)
    first, second = planned(session, SLOT)
    session.rollback()
    assert deliverer(session_factory, smtp.port, FrozenClock(SLOT)).deliver(first) == "sent"
    no_server = Deliverer(session_factory, SmtpMailer(None), lambda archive_id: "/x.pdf", FrozenClock(SLOT))
    assert no_server.deliver(second) == "sent"
    assert smtp.received() == []
    for delivery_id in (first, second):
        row = row_of(session_factory, delivery_id)
        assert (row.status, row.message_id, row.notification_id is not None) == ("sent", None, True)
