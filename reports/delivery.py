"""Delivering a subscription's report for one slot: the PDF by e-mail and a note in the in-app inbox, exactly once.

`deliver(delivery_id)` is what the Celery task `ioc.deliver_report` runs (acks_late: a worker that dies gives the
task back; and beat's planning run queues again every row whose worker's lease ran out). Each step is guarded by
the row itself, never by the queue:

1. **Claim** — one conditional UPDATE: a row pending, due for a retry, or "sending" with an expired lease becomes
   "sending" with this attempt's `lease_token` and `lease_until`. Whoever's UPDATE changed the row owns it; a
   second task for the same row (beat queued it twice, the broker gave it back) changes nothing and stops.
2. **The PDF** — made once: the archive row is inserted together with `archive_id`, under the lease (the same
   conditional UPDATE), so a retry after a crash reuses the archived PDF, and a worker that lost its lease leaves
   nothing behind. The lease is renewed at each stage of the rendering. With "only when something changed" the
   headline figures are compared first with those of the last slot sent; equal, the slot is skipped.
3. **Sending** — `mailing_at` is committed first (this attempt is about to hand over the e-mail). Then, over one
   SMTP connection, the whole message goes except the final "."; just before it, in one open transaction, the row
   is marked sent (again only if the lease is still this attempt's; otherwise the connection is dropped without
   the dot and the server discards the message) and the inbox notification and its push are inserted; the
   transaction commits as soon as the server's 250 arrives. The e-mail and the inbox note are thus recorded
   together, and only by the attempt that holds the lease: on PostgreSQL the row stays locked from the UPDATE to
   the commit, so no other worker can claim it in between.
4. **Failures** — a refusal, an SMTP server down, a report that cannot be made: the row goes to "retry" after a
   backoff (`BACKOFF`), then after `MAX_ATTEMPTS` to "failed", and the subscriber and the province's
   administrators are told in their inbox and by e-mail. A failed row can be tried again (`retry`).

What remains: between the server taking the final dot (its 250) and our commit — one reply and one commit, a
millisecond on one machine — a worker that dies, or a database that fails the commit, leaves the row "sending"
with `mailing_at` set. The next attempt cannot know whether the server kept the message; it sends it again with
the same Message-ID (`<report-delivery-ID@ioc-case-flow>`, so the receiving side can recognise the copy) and
counts it in `in_doubt_resends`. A lost report is worse than a recognisable duplicate.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from engine.clock import SYSTEM_CLOCK, Clock, using
from engine.i18n import Text, from_json, t, to_json
from engine.models import OutboxMessage
from reports import archive, catalog
from reports.catalog import ReportParams
from reports.i18n import translator
from reports.models import ReportArchive, ReportDelivery, ReportSubscription
from reports.periods import ReportPeriod
from workflows.admin.incidents import incident_admins
from workflows.mail import MailOutcomeUnknown, SmtpMailer
from workflows.models import User
from workflows.notification_service import notification_for

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))
# Figures that always differ from one period to the next: left out when "only when something changed" compares.
NOT_COMPARED = ("period", "as_of", "previous", "year_before")


class LeaseLost(Exception):
    """Another attempt took the row over (this one was too slow): stop without touching it."""


def message_id(delivery_id: int) -> str:
    """The e-mail's Message-ID: the same for every attempt at one delivery."""
    return f"<report-delivery-{delivery_id}@ioc-case-flow>"


@dataclass
class Deliverer:
    """Delivers report_delivery rows (see the module's docstring).

    `mailer` sends (workflows.mail.SmtpMailer); `link_for(archive_id)` is the PDF's address on the site;
    `after_commit()` queues the outbox (the inbox pushes and the failure e-mails); `files` is the attachment store
    a case dossier reads photos from.
    """

    session_factory: sessionmaker
    mailer: SmtpMailer
    link_for: Callable[[int], str]
    clock: Clock = SYSTEM_CLOCK
    after_commit: Callable[[], None] = lambda: None
    files: Any = None
    lease: timedelta = LEASE
    max_attempts: int = MAX_ATTEMPTS

    # ------------------------------------------------------------------ the lease
    def _claim(self, delivery_id: int, token: str) -> bool:
        now = self.clock.now()
        with self.session_factory() as session:
            taken = session.execute(
                update(ReportDelivery)
                .where(ReportDelivery.id == delivery_id, or_(
                    ReportDelivery.status == "pending",
                    (ReportDelivery.status == "retry") & (ReportDelivery.next_attempt_at <= now),
                    (ReportDelivery.status == "sending") & (ReportDelivery.lease_until < now)))
                .values(status="sending", lease_token=token, lease_until=now + self.lease,
                        attempts=ReportDelivery.attempts + 1, updated_at=now)
                .execution_options(synchronize_session=False)).rowcount
            session.commit()
        return bool(taken)

    def _guarded(self, session: Session, delivery_id: int, token: str, **values: Any) -> None:
        """Update the row only while this attempt holds it (LeaseLost otherwise); the caller commits."""
        changed = session.execute(update(ReportDelivery)
                                  .where(ReportDelivery.id == delivery_id, ReportDelivery.lease_token == token,
                                         ReportDelivery.status == "sending")
                                  .values(updated_at=self.clock.now(), **values)
                                  .execution_options(synchronize_session=False)).rowcount
        if not changed:
            raise LeaseLost(delivery_id)

    def _renew(self, delivery_id: int, token: str, session: Session) -> None:
        """Renew the lease, committed by `session` (the rendering's own: on SQLite a second session would wait for
        its write lock)."""
        self._guarded(session, delivery_id, token, lease_until=self.clock.now() + self.lease)
        session.commit()

    # ------------------------------------------------------------------ one delivery
    def deliver(self, delivery_id: int) -> str:
        """Deliver one row; what happened: sent, skipped, retry, failed, or busy (not this attempt's to do)."""
        token = uuid.uuid4().hex
        if not self._claim(delivery_id, token):
            return "busy"
        try:
            return self._deliver(delivery_id, token)
        except LeaseLost:
            log.warning("report delivery %s: taken over by another attempt; this one stops", delivery_id)
            return "busy"
        except MailOutcomeUnknown as exc:
            return self._failed(delivery_id, token, t("the mail server did not answer (%(error)s)", error=str(exc)),
                                in_doubt=True)
        except smtplib.SMTPException as exc:
            return self._failed(delivery_id, token, t("the mail server refused the e-mail (%(error)s)",
                                                      error=_described(exc)))
        except OSError as exc:
            return self._failed(delivery_id, token, t("the mail server could not be reached (%(error)s)",
                                                      error=_described(exc)))
        except Exception as exc:  # noqa: BLE001 - any failure is retried, then told, never lost
            log.exception("report delivery %s failed", delivery_id)
            return self._failed(delivery_id, token, t("the report could not be made (%(error)s)",
                                                      error=type(exc).__name__))

    def _deliver(self, delivery_id: int, token: str) -> str:
        with self.session_factory() as session:
            row = session.get(ReportDelivery, delivery_id)
            sub = row.subscription
            user = session.get(User, sub.user_id)
            if not sub.active or user is None or not user.active:
                self._guarded(session, delivery_id, token, status="skipped", lease_token=None, lease_until=None,
                              last_error=to_json(t("the subscription is paused or its owner cannot sign in")))
                session.commit()
                return "skipped"
            params = ReportParams(type=sub.report_type, unit=sub.unit_code, period=row.period_key,
                                  language=sub.language)
            archive_id, in_doubt = row.archive_id, row.mailing_at is not None
            slot, only_changed, subscription_id = row.slot, sub.only_changed, sub.id
        if archive_id is None:
            if only_changed and self._unchanged(delivery_id, token, params, subscription_id, slot):
                return "skipped"
            archive_id = self._prepare(delivery_id, token, params, subscription_id)
        self._render(delivery_id, token, archive_id, params)
        return self._send(delivery_id, token, archive_id, in_doubt)

    def _unchanged(self, delivery_id: int, token: str, params: ReportParams, subscription_id: int,
                   slot: datetime) -> bool:
        """With "only when something changed": skip the slot when its figures equal the last slot sent."""
        with self.session_factory() as session:
            last = session.execute(
                select(ReportArchive.summary, ReportDelivery.period_key).join(
                    ReportArchive, ReportArchive.id == ReportDelivery.archive_id)
                .where(ReportDelivery.subscription_id == subscription_id, ReportDelivery.status == "sent",
                       ReportDelivery.slot < slot)
                .order_by(ReportDelivery.slot.desc()).limit(1)).first()
            if last is None:
                return False
            with using(self.clock):
                data = catalog.get(params.type).collect(session, params, translator(params.language))
            session.rollback()
            if comparable(data.summary) != comparable(last.summary or {}):
                return False
            self._guarded(session, delivery_id, token, status="skipped", lease_token=None, lease_until=None,
                          last_error=to_json(t("nothing changed since %(period)s",
                                               period=ReportPeriod.parse(last.period_key).label())))
            session.commit()
            return True

    def _prepare(self, delivery_id: int, token: str, params: ReportParams, subscription_id: int) -> int:
        """The slot's archive row (its number taken), linked to the delivery under the lease; its id."""
        with self.session_factory() as session:
            owner = session.scalar(select(User.username).join(ReportSubscription, ReportSubscription.user_id == User.id)
                                   .where(ReportSubscription.id == subscription_id))
            now = self.clock.now()
            entry = archive.request_report(session, params, owner or "", now=now, origin="subscription",
                                           subscription_id=subscription_id, commit=False)
            entry.state, entry.started_at = "running", now
            self._guarded(session, delivery_id, token, archive_id=entry.id)
            session.commit()
            return entry.id

    def _render(self, delivery_id: int, token: str, archive_id: int, params: ReportParams) -> None:
        """Make the slot's PDF unless its archive row is done already (a retry reuses it); the lease renewed at
        each stage; the PDF stored only while this attempt holds the lease."""
        from reports.render import render_report

        with self.session_factory() as session:
            entry = session.get(ReportArchive, archive_id)
            if entry.state == "done":
                return
            number, issued_at = entry.number, self.clock.now()
            with using(self.clock):
                report = render_report(session, params, translator(params.language), number=number,
                                       issued_at=issued_at, files=self.files,
                                       progress=lambda percent, step: self._renew(delivery_id, token, session))
            session.rollback()  # the rendering only read
            archive.store_rendered(session, session.get(ReportArchive, archive_id), report, self.clock.now())
            self._guarded(session, delivery_id, token, lease_until=self.clock.now() + self.lease)
            session.commit()

    def _send(self, delivery_id: int, token: str, archive_id: int, in_doubt: bool) -> str:
        """E-mail the PDF and put the note in the inbox, recorded in one commit right after the server's 250."""
        now = self.clock.now()
        with self.session_factory() as session:
            self._guarded(session, delivery_id, token, lease_until=now + self.lease)
            session.commit()
            row = session.get(ReportDelivery, delivery_id)
            sub = row.subscription
            user = session.get(User, sub.user_id)
            entry = session.get(ReportArchive, archive_id)
            translate = translator(sub.language)
            period = ReportPeriod.parse(row.period_key)
            link = self.link_for(archive_id)
            title = t("Report: %(title)s", title=entry.title)
            body = t("%(title)s — %(period)s. The PDF is attached; it is also in the archive: %(link)s",
                     title=entry.title, period=period.label(), link=link)
            mid = message_id(delivery_id)
            msg = (self.mailer.message(
                to=user.email, subject=translate(title), message_id=mid,
                body=translate(t("Dear %(name)s,", name=user.full_name)) + "\n\n" + translate(body) + "\n\n"
                + translate(t("This report was sent because of your subscription; change it on the leaders' page.")),
                attachments=[(archive.file_name(entry), "application/pdf", entry.pdf)])
                if user.email and self.mailer.host else None)  # no address, or no mail server: the inbox only
            session.commit()  # nothing is held while the server is talked to (on SQLite: its write lock)

            def record() -> None:
                """Just before the final dot: "this attempt hands the e-mail over" committed, then everything
                that says "delivered" written in the transaction committed right after the server's 250."""
                if in_doubt:
                    log.warning("report delivery %s: an earlier attempt died after handing over the e-mail;"
                                " sending it again with the same Message-ID", delivery_id)
                self._guarded(session, delivery_id, token, mailing_at=self.clock.now(),
                              **({"in_doubt_resends": ReportDelivery.in_doubt_resends + 1} if in_doubt else {}))
                session.commit()
                dedupe = f"report-delivery:{delivery_id}"
                note, push, _email = notification_for(user, None, "report", title, body, now, dedupe)
                session.add(note)
                session.flush()
                session.add(OutboxMessage(topic="notification.created", payload=push, dedupe_key=f"push:{dedupe}",
                                          created_at=now))
                self._guarded(session, delivery_id, token, status="sent", sent_at=now,
                              message_id=mid if msg is not None else None, notification_id=note.id,
                              lease_token=None, lease_until=None, last_error=None)
                session.flush()

            if msg is None:
                record()
            else:
                self.mailer.send_once(msg, before_final_dot=record)
            session.commit()
        self.after_commit()
        return "sent"

    # ------------------------------------------------------------------ failures
    def _failed(self, delivery_id: int, token: str, reason: Text, in_doubt: bool = False) -> str:
        """Retry later, or give up after the last attempt and tell the subscriber and the admins."""
        now = self.clock.now()
        with self.session_factory() as session:
            row = session.get(ReportDelivery, delivery_id)
            if row is None or row.lease_token != token:
                return "busy"
            final = row.attempts >= self.max_attempts
            values: dict[str, Any] = {"lease_token": None, "lease_until": None, "last_error": to_json(reason)}
            if not in_doubt:
                values["mailing_at"] = None  # the server refused, or was never reached: nothing is in doubt
            if final:
                values.update(status="failed", next_attempt_at=None)
            else:
                values.update(status="retry", next_attempt_at=now + BACKOFF[min(row.attempts, len(BACKOFF)) - 1])
            self._guarded(session, delivery_id, token, **values)
            if final:
                entry = session.get(ReportArchive, row.archive_id) if row.archive_id else None
                if entry is not None and entry.state != "done":
                    entry.state, entry.error, entry.finished_at = "failed", to_json(reason), now
                self._tell_failure(session, row, reason, now)
            session.commit()
        log.warning("report delivery %s: %s (%s)", delivery_id, "given up" if final else "will retry", reason)
        if final:
            self.after_commit()
        return "failed" if final else "retry"

    def _tell_failure(self, session: Session, row: ReportDelivery, reason: Text, now: datetime) -> None:
        sub = row.subscription
        owner = session.get(User, sub.user_id)
        period = ReportPeriod.parse(row.period_key)
        type_name = catalog.report_types()[sub.report_type].name if sub.report_type in catalog.report_types() else \
            sub.report_type
        title = t("A subscribed report could not be delivered: %(report)s", report=type_name)
        for user in [owner, *[a for a in incident_admins(session, None) if owner is None or a.id != owner.id]]:
            if user is None:
                continue
            body = t("%(report)s, %(unit)s, %(period)s, for %(owner)s: %(reason)s. It was tried %(attempts)s times;"
                     " try it again on the leaders' page (/leaders/subscriptions).", report=type_name,
                     unit=sub.unit_code or "", period=period.label(), owner=owner.full_name if owner else "",
                     reason=reason, attempts=row.attempts)
            dedupe = f"report-delivery-failed:{row.id}:{row.attempts}:{user.id}"
            note, push, email = notification_for(user, None, "report_failed", title, body, now, dedupe)
            session.add(note)
            session.add(OutboxMessage(topic="notification.created", payload=push, dedupe_key=f"push:{dedupe}",
                                      created_at=now))
            if email:
                session.add(OutboxMessage(topic="email", payload=email, dedupe_key=f"email:{dedupe}", created_at=now))


def _described(exc: BaseException) -> str:
    """An exception's class and message, for an error shown to people (cut short)."""
    return f"{type(exc).__name__}: {exc}"[:300]


def comparable(summary: dict[str, Any]) -> dict[str, Any]:
    """A summary without the figures that always change from one period to the next."""
    return {k: v for k, v in summary.items() if k not in NOT_COMPARED}


# ---------------------------------------------------------------------------------------------- for the pages
@dataclass(frozen=True)
class DeliveryEntry:
    """A delivery as the leaders' page lists it (`error` is a message: shown in the reader's language)."""

    id: int
    subscription_id: int
    user_id: int
    report_type: str
    unit_code: str | None
    period_key: str
    slot: datetime
    status: str
    attempts: int
    sent_at: datetime | None
    next_attempt_at: datetime | None
    error: Text | str | None
    archive_id: int | None
    message_id: str | None

    @property
    def can_retry(self) -> bool:
        """A failed delivery, or one waiting for its next attempt, can be tried again now."""
        return self.status in ("failed", "retry")


def list_deliveries(session: Session, *, user_id: int | None = None, statuses: tuple[str, ...] | None = None,
                    limit: int = 50) -> list[DeliveryEntry]:
    """Deliveries, newest slot first: of one user's subscriptions, or everyone's (an admin's page)."""
    query = (select(ReportDelivery, ReportSubscription).join(ReportSubscription,
                                                             ReportSubscription.id == ReportDelivery.subscription_id)
             .order_by(ReportDelivery.slot.desc(), ReportDelivery.id.desc()).limit(limit))
    if user_id is not None:
        query = query.where(ReportSubscription.user_id == user_id)
    if statuses:
        query = query.where(ReportDelivery.status.in_(statuses))
    return [DeliveryEntry(d.id, s.id, s.user_id, s.report_type, s.unit_code, d.period_key, d.slot, d.status,
                          d.attempts, d.sent_at, d.next_attempt_at, from_json(d.last_error) if d.last_error else None,
                          d.archive_id, d.message_id)
            for d, s in session.execute(query)]


def retry(session: Session, delivery_id: int, now: datetime, user_id: int | None = None) -> bool:
    """Try a failed delivery (or one waiting for its next attempt) again now; `user_id`: only that user's own.
    True when it was put back to be delivered (the caller queues `ioc.deliver_report`); committed."""
    row = session.get(ReportDelivery, delivery_id)
    if row is None or row.status not in ("failed", "retry"):
        return False
    if user_id is not None and row.subscription.user_id != user_id:
        return False
    row.status, row.attempts, row.next_attempt_at, row.updated_at = "pending", 0, now, now
    session.commit()
    return True
