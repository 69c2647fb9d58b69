"""Monitoring tables: the indicator catalogue, reported values with their history, the rules' memory per
indicator and unit, the breaches found, alert sources and the alerts they sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, JSONType, UTCDateTime, utcnow
from engine.models import BigId


class Indicator(Base):
    """An indicator of the catalogue (chỉ tiêu): what is measured, how often, by whom, which way is better."""

    __tablename__ = "kpi_indicator"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str] = mapped_column(String(255))
    field: Mapped[str] = mapped_column(String(30), index=True)  # fields.FIELDS
    measure_unit: Mapped[str] = mapped_column(String(40), default="")  # "%", "tỷ đồng", "hồ sơ"
    measure_unit_en: Mapped[str] = mapped_column(String(40), default="")
    period: Mapped[str] = mapped_column(String(12))  # periods.KINDS
    direction: Mapped[str] = mapped_column(String(8), default="higher")  # fields.DIRECTIONS
    department_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id"))  # the responsible department
    levels: Mapped[list] = mapped_column(JSONType, default=list)  # AdminUnit kinds that report it (fields.LEVELS)
    seasonal: Mapped[bool] = mapped_column(Boolean, default=False)  # outliers against the same period of earlier years
    deadline_days: Mapped[int] = mapped_column(Integer, default=10)  # days after the period's end to report it
    min_value: Mapped[float | None] = mapped_column(Float)  # a value outside [min, max] is refused at ingestion
    max_value: Mapped[float | None] = mapped_column(Float)
    decimals: Mapped[int] = mapped_column(Integer, default=2)
    category_code: Mapped[str] = mapped_column(ForeignKey("category.code"))  # the category of its cases
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    department = relationship("AdminUnit", foreign_keys=[department_id])


class Target(Base):
    """A target of an indicator for a year: the yearly plan (period None), or one period's target as a plan
    figure ("plan") or as a share in % of the yearly plan due by that period ("share").
    unit_id None: the target of every reporting unit that has none of its own."""

    __tablename__ = "kpi_target"
    __table_args__ = (UniqueConstraint("indicator_code", "unit_id", "year", "period", name="uq_kpi_target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_code: Mapped[str] = mapped_column(ForeignKey("kpi_indicator.code"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id"))
    year: Mapped[int] = mapped_column(Integer)
    period: Mapped[str | None] = mapped_column(String(12))  # a period key, None for the yearly plan
    kind: Mapped[str] = mapped_column(String(8), default="plan")  # plan | share
    value: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(120), default="")


class Upload(Base):
    """A file (or API call) of values: who sent it, what its rows held, and what the sender chose to keep."""

    __tablename__ = "kpi_upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # csv | xlsx | json
    uploaded_by: Mapped[str] = mapped_column(String(120))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # dry_run (nothing stored yet), kept_good (the good rows stored), refused (nothing stored), stored (no bad row)
    decision: Mapped[str] = mapped_column(String(12), default="dry_run")
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_good: Mapped[int] = mapped_column(Integer, default=0)
    rows_bad: Mapped[int] = mapped_column(Integer, default=0)
    new_values: Mapped[int] = mapped_column(Integer, default=0)
    changed_values: Mapped[int] = mapped_column(Integer, default=0)
    # Every bad row: [{"line", "column", "message": engine.i18n.to_json}], and the good rows of a dry run
    # (indicator, unit, period, value) so that "keep the good rows" stores what was shown, not a re-read.
    report: Mapped[dict] = mapped_column(JSONType, default=dict)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Value(Base):
    """The value an indicator had for a unit and period; re-reporting changes it and adds a ValueChange."""

    __tablename__ = "kpi_value"
    __table_args__ = (UniqueConstraint("indicator_code", "unit_id", "period", name="uq_kpi_value"),
                      Index("ix_kpi_value_unit_period", "unit_id", "period"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    indicator_code: Mapped[str] = mapped_column(ForeignKey("kpi_indicator.code"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"))
    period: Mapped[str] = mapped_column(String(12))
    value: Mapped[float] = mapped_column(Float)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reported_by: Mapped[str] = mapped_column(String(120))
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("kpi_upload.id"))
    source: Mapped[str] = mapped_column(String(10), default="upload")  # upload | api | demo


class ValueChange(Base):
    """One report of a value: who, when, old and new value, from which file (append-only)."""

    __tablename__ = "kpi_value_change"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    value_id: Mapped[int] = mapped_column(BigId, ForeignKey("kpi_value.id"), index=True)
    old_value: Mapped[float | None] = mapped_column(Float)  # None: the first report
    new_value: Mapped[float] = mapped_column(Float)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by: Mapped[str] = mapped_column(String(120))
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("kpi_upload.id"))
    source: Mapped[str] = mapped_column(String(10), default="upload")


class BreachState(Base):
    """The rules' memory for one indicator and unit: how many periods in a row it breached, whether a case is
    open (at most one), the case closed last (a recurrence reopens it with its history)."""

    __tablename__ = "kpi_breach_state"
    __table_args__ = (UniqueConstraint("indicator_code", "unit_id", name="uq_kpi_breach_state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_code: Mapped[str] = mapped_column(ForeignKey("kpi_indicator.code"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="ok")  # ok | pending (breaching, not yet N) | open
    streak: Mapped[int] = mapped_column(Integer, default=0)  # consecutive breaching periods
    last_period: Mapped[str | None] = mapped_column(String(12))  # the newest period evaluated
    last_rule: Mapped[str | None] = mapped_column(String(30))
    last_severity: Mapped[str | None] = mapped_column(String(10))
    case_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("case_record.id"))  # the open case
    last_case_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("case_record.id"))  # the one closed last
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Breach(Base):
    """A rule an indicator's value broke in a period (or a report missing by its deadline), with the evidence
    and the version of the rule table that said so."""

    __tablename__ = "kpi_breach"
    __table_args__ = (UniqueConstraint("indicator_code", "unit_id", "period", "rule", name="uq_kpi_breach"),
                      Index("ix_kpi_breach_indicator_period", "indicator_code", "period"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    indicator_code: Mapped[str] = mapped_column(ForeignKey("kpi_indicator.code"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    period: Mapped[str] = mapped_column(String(12))
    rule: Mapped[str] = mapped_column(String(30))  # target, pro_rata, falling, range, outlier, missing
    severity: Mapped[str] = mapped_column(String(10))
    value: Mapped[float | None] = mapped_column(Float)  # None for a missing report
    expected: Mapped[float | None] = mapped_column(Float)  # the target, bound or centre it was measured against
    evidence: Mapped[dict] = mapped_column(JSONType, default=dict)  # the numbers: deviation, z-score, streak…
    rules_version: Mapped[int | None] = mapped_column(Integer)  # the deployed version of the rule table
    case_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("case_record.id"), index=True)
    found_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertSource(Base):
    """Another system that sends alerts (Alertmanager, sensors…): its token (sha256 only) and where its alerts
    go: a field, the responsible unit and the case category."""

    __tablename__ = "alert_source"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str] = mapped_column(String(255))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    field: Mapped[str] = mapped_column(String(30))
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"))
    category_code: Mapped[str] = mapped_column(ForeignKey("category.code"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    unit = relationship("AdminUnit", foreign_keys=[unit_id])


class AlertReceipt(Base):
    """A webhook call as it arrived, kept before anything else is done with it: nothing absorbed is lost, and
    a Celery task turns the receipts into alerts and cases (processed_at set in the same transaction)."""

    __tablename__ = "alert_receipt"
    __table_args__ = (Index("ix_alert_receipt_pending", "processed_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("alert_source.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    format: Mapped[str] = mapped_column(String(16))  # alertmanager | plain
    payload: Mapped[dict] = mapped_column(JSONType)  # the checked, normalised alerts of the call
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)


class MonitoringAlert(Base):
    """One alert (by its fingerprint) of a source while its case is open; a firing after the case closed
    starts a new row and case, linked to the previous one."""

    __tablename__ = "monitoring_alert"
    __table_args__ = (Index("ix_monitoring_alert_fingerprint", "source_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("alert_source.id"))
    fingerprint: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(10), default="firing")  # firing | resolved
    alertname: Mapped[str] = mapped_column(String(255), default="")
    severity: Mapped[str] = mapped_column(String(20), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    labels: Mapped[dict] = mapped_column(JSONType, default=dict)
    annotations: Mapped[dict] = mapped_column(JSONType, default=dict)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    case_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("case_record.id"), index=True)
    previous_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("monitoring_alert.id"))
    received: Mapped[int] = mapped_column(Integer, default=1)  # notifications received for it (repeats counted)
    first_received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the source said it cleared

    source = relationship("AlertSource")
