"""Tables of the BPMN runtime: definitions, instances, the human-task index,
audit events, incidents and the transactional outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, JSONType, UTCDateTime, utcnow

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class ProcessDefinition(Base):
    """One deployed, immutable version of a process key with all its BPMN/DMN files."""

    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("process_key", "version", name="uq_process_definition_key_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(120), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255), default="")
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # {file name: source text}; the sources are the definition, the spec is derived.
    # Deferred: tens of kilobytes that only a spec-cache miss needs.
    files: Mapped[dict] = mapped_column(JSONType, deferred=True)
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deployed_by: Mapped[str | None] = mapped_column(String(120))
    # Why, from where and from which draft a version was deployed (the library shows them).
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(16))  # cli, browser, setup, test...
    draft_id: Mapped[int | None] = mapped_column(Integer)  # the designer's draft it came from (no key: drafts may go)


class ProcessInstance(Base):
    """A running (or finished) process; its whole state is the serialized workflow."""

    __tablename__ = "process_instance"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(120))
    business_key: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="running", index=True)
    state: Mapped[str] = mapped_column(Text)
    state_format: Mapped[str] = mapped_column(String(16))
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Optimistic concurrency: every UPDATE checks and bumps it (see __mapper_args__).
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    definition: Mapped[ProcessDefinition] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # The sweep's query: due timers of live instances, earliest first.
        Index("ix_process_instance_due", "next_timer_at", postgresql_where="next_timer_at IS NOT NULL"),
    )


# The case fields copied onto a task that its list filters on (besides its title).
_CASE_FACETS = ("case_channel", "case_category", "case_priority_rank", "case_place_id", "case_received_at")


class HumanTask(Base):
    """The index of human tasks, so that a task list is one query, never a deserialisation."""

    __tablename__ = "human_task"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task id
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    business_key: Mapped[str | None] = mapped_column(String(64))
    element_id: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(255))
    title_en: Mapped[str | None] = mapped_column(String(255))  # the element's English name, when the BPMN gives one
    candidate_role: Mapped[str | None] = mapped_column(String(40))
    candidate_unit: Mapped[str | None] = mapped_column(String(64))
    assignee: Mapped[str | None] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(16), default="open")  # open, completed, cancelled
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    form: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(120))
    # What the task is about, copied from the business object when the task is created (the
    # application fills them through InstanceService.on_task_created; the engine never reads them):
    # task lists filter and sort on the task row itself, not through one join per queued task.
    case_channel: Mapped[str | None] = mapped_column(String(20))
    case_category: Mapped[str | None] = mapped_column(String(40))
    case_priority_rank: Mapped[int | None] = mapped_column(SmallInteger)  # 0 first (high), 2 low
    case_place_id: Mapped[int | None] = mapped_column(Integer)
    case_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The title in lower case: "words of a title" is then a LIKE, many times cheaper than ILIKE.
    case_title_lower: Mapped[str | None] = mapped_column(String(255))

    instance: Mapped[ProcessInstance] = relationship()

    __table_args__ = (
        Index("ix_human_task_queue", "state", "candidate_unit", "candidate_role", "due_at"),
        Index("ix_human_task_assignee", "assignee", "state", "due_at"),
        # "Recently done by me" and a case's history of completions.
        Index("ix_human_task_done", "completed_by", "completed_at"),
        Index("ix_human_task_business_key", "business_key"),
        # Open tasks in deadline order: a tab's first page without sorting the whole queue. The case
        # fields the filters test are keys too, so a filtered page reads the index in order and
        # fetches only matching rows, and a filtered count reads the index alone (the title is
        # carried for the words of a title). Deadline first: tabs over many units (a province).
        Index("ix_human_task_open_due", "due_at", "candidate_unit", *_CASE_FACETS, postgresql_include=["case_title_lower"],
              postgresql_where=text("state = 'open'"), sqlite_where=text("state = 'open'")),
        # The same for one unit's queue: its tasks are a few percent of the open ones.
        Index("ix_human_task_open_unit", "candidate_unit", "due_at", *_CASE_FACETS, postgresql_include=["case_title_lower"],
              postgresql_where=text("state = 'open'"), sqlite_where=text("state = 'open'")),
        # "Priority first": a unit's open tasks by priority, then deadline.
        Index("ix_human_task_open_unit_priority", "candidate_unit", "case_priority_rank", "due_at",
              postgresql_where=text("state = 'open'"), sqlite_where=text("state = 'open'")),
    )


class AuditEvent(Base):
    """Append-only record of what happened to an instance and who did it."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    business_key: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    element_id: Mapped[str | None] = mapped_column(String(120))
    actor: Mapped[str | None] = mapped_column(String(120))
    detail: Mapped[dict] = mapped_column(JSONType, default=dict)

    instance: Mapped[ProcessInstance] = relationship()


class Incident(Base):
    """A step that failed (an expression refused, an operator error); the instance waits."""

    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(120))
    message: Mapped[str] = mapped_column(Text)  # the whole account, in English, as it happened
    # The project's own reason, when there is one ({msgid, params}): shown in the reader's language.
    reason: Mapped[dict | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How it was resolved (retried, skipped, cancelled), by whom and why: kept, so resolved incidents stay readable.
    resolution: Mapped[str | None] = mapped_column(String(16))
    resolved_by: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)

    instance: Mapped[ProcessInstance] = relationship()

    __table_args__ = (Index("ix_incident_open", "resolved_at", "created_at"),)


class OutboxMessage(Base):
    """A side effect to deliver after the step that caused it commits (at least once)."""

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    topic: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict] = mapped_column(JSONType)
    # Same key → same message: a step redone after a crash does not send twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Given up by an administrator (who, why): never delivered, kept for the record.
    dropped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dropped_by: Mapped[str | None] = mapped_column(String(80))
    drop_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_outbox_pending", "delivered_at", "next_attempt_at"),
    )


class SweepHeartbeat(Base):
    """When each timer sweep last ran, so /healthz can tell whether timers fire."""

    __tablename__ = "sweep_heartbeat"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired: Mapped[int] = mapped_column(Integer, default=0)


__all__ = [
    "AuditEvent",
    "HumanTask",
    "Incident",
    "OutboxMessage",
    "ProcessDefinition",
    "ProcessInstance",
    "SweepHeartbeat",
]
