"""The leaders' reports' tables: the archive of PDFs, the subscriptions, and one delivery per subscription and slot.

- `report_archive`: every PDF made (on demand or for a subscription), with the parameters that made it, its
  sha256, size and page count, the PDF itself and its headline figures. A row that is done is never made again:
  making the same report again is a new row. While a PDF is being made the row carries its state (queued,
  running, done, failed), its progress and, on failure, the reason as a message (msgid and parameters, shown in
  the reader's language).
- `report_subscription`: a leader's standing order — which report, for which unit, weekly or monthly, at what
  local time (Asia/Ho_Chi_Minh) on which weekday or day of the month, in which language, only when something
  changed or always.
- `report_delivery`: one row per subscription and scheduled moment (`slot`), UNIQUE(subscription_id, slot): a beat
  that runs twice, or restarts, or catches up after being down, finds the row there and adds none. The row is
  claimed by a worker with a lease (`lease_token`, `lease_until`); it keeps the archived PDF (reused on a retry),
  the e-mail's Message-ID, the inbox notification, and the last error.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from engine.db import Base, JSONType, UTCDateTime, utcnow
from engine.models import BigId

ARCHIVE_STATES = ("queued", "running", "done", "failed")
ORIGINS = ("on_demand", "subscription")
FREQUENCIES = ("weekly", "monthly")
# pending: waiting for its turn; sending: claimed by a worker (lease); sent: e-mailed and in the inbox;
# skipped: nothing changed since the last one sent (or a slot too old to catch up); retry: failed, tried again
# at next_attempt_at; failed: given up after the last attempt (the subscriber and the admins were told).
DELIVERY_STATES = ("pending", "sending", "sent", "skipped", "retry", "failed")


class ReportArchive(Base):
    """A PDF report made once, kept with what made it (see the module's docstring)."""

    __tablename__ = "report_archive"
    __table_args__ = (Index("ix_report_archive_type_unit_period", "report_type", "unit_code", "period_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_type: Mapped[str] = mapped_column(String(40))
    unit_code: Mapped[str | None] = mapped_column(String(40))
    period_key: Mapped[str | None] = mapped_column(String(10))
    case_code: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(5), default="vi")
    params: Mapped[dict] = mapped_column(JSONType)  # ReportParams.as_dict(): exactly what made the PDF
    title: Mapped[str] = mapped_column(String(500), default="")
    number: Mapped[str] = mapped_column(String(60), default="")  # "12/BC-IOC", printed under the issuing body
    origin: Mapped[str] = mapped_column(String(12), default="on_demand")  # ORIGINS
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("report_subscription.id", ondelete="SET NULL"),
                                                        index=True)
    requested_by: Mapped[str] = mapped_column(String(120))  # a username (a subscription's: its owner's)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(10), default="queued")  # ARCHIVE_STATES
    percent: Mapped[int] = mapped_column(Integer, default=0)
    step: Mapped[dict | None] = mapped_column(JSONType)  # the stage being done, as a message (engine.i18n.to_json)
    error: Mapped[dict | None] = mapped_column(JSONType)  # why it failed, as a message key and its parameters
    task_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(Integer)
    pages: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[dict | None] = mapped_column(JSONType)  # the headline figures the PDF shows
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))  # loaded only to download or attach


class ReportSubscription(Base):
    """A leader's subscription to a periodic report (see the module's docstring)."""

    __tablename__ = "report_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    report_type: Mapped[str] = mapped_column(String(40))
    unit_code: Mapped[str | None] = mapped_column(String(40))
    frequency: Mapped[str] = mapped_column(String(10))  # FREQUENCIES: weekly covers the last week, monthly the month
    hour: Mapped[int] = mapped_column(Integer, default=7)  # local time, Asia/Ho_Chi_Minh
    minute: Mapped[int] = mapped_column(Integer, default=0)
    weekday: Mapped[int | None] = mapped_column(Integer)  # weekly: 0 = Monday … 6 = Sunday
    day_of_month: Mapped[int | None] = mapped_column(Integer)  # monthly: 1–31 (past a month's end: its last day)
    language: Mapped[str] = mapped_column(String(5), default="vi")
    only_changed: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Slots are counted from here: its creation, or the last change of its schedule or its resumption.
    schedule_from: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user = relationship("User")


class ReportDelivery(Base):
    """One scheduled moment of one subscription, delivered once (see the module's docstring)."""

    __tablename__ = "report_delivery"
    __table_args__ = (UniqueConstraint("subscription_id", "slot", name="uq_report_delivery_subscription_slot"),
                      Index("ix_report_delivery_due", "status", "next_attempt_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("report_subscription.id", ondelete="CASCADE"))
    slot: Mapped[datetime] = mapped_column(UTCDateTime)  # the scheduled moment (UTC)
    period_key: Mapped[str] = mapped_column(String(10))  # the week or month the slot's report covers
    status: Mapped[str] = mapped_column(String(10), default="pending")  # DELIVERY_STATES
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str | None] = mapped_column(String(40))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The moment the last attempt handed the e-mail's final dot to the SMTP server; still set on a row left
    # "sending" by a dead worker, it says that e-mail may have gone (see reports/delivery.py).
    mailing_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    in_doubt_resends: Mapped[int] = mapped_column(Integer, default=0)
    archive_id: Mapped[int | None] = mapped_column(ForeignKey("report_archive.id", ondelete="SET NULL"))
    message_id: Mapped[str | None] = mapped_column(String(200))  # the e-mail's Message-ID
    notification_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("notification.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[dict | None] = mapped_column(JSONType)  # a message key and its parameters
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    subscription = relationship(ReportSubscription)
    archive = relationship(ReportArchive)
