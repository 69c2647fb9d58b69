"""The case model: administrative units, people, categories, cases and what hangs off them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, JSONType, UTCDateTime, utcnow
from engine.models import BigId, ProcessInstance

CHANNEL_PREFIX = {"field_report": "PA", "hotline": "HL", "kpi": "KPI", "alert": "CB", "camera": "CAM"}
# The channels citizens use; the others (indicator breaches, alerts, cameras) are raised by systems.
CITIZEN_CHANNELS = ("field_report", "hotline")
PRIORITIES = ("low", "normal", "high")
# "Priority first" order (tasks carry the rank: engine HumanTask.case_priority_rank).
PRIORITY_RANK = {"high": 0, "normal": 1, "low": 2}


class AdminUnit(Base):
    """A place or a body: province, (old) district, commune/ward, department, committee, centre.

    Units form a tree of any depth, so older data with districts and today's
    province → commune structure live side by side.
    """

    __tablename__ = "admin_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str] = mapped_column(String(255), default="")
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    # Valid now: lists, filters and routing offer only active units. The effective-dated changes of
    # workflows/admin/units.py keep it true from valid_from (a local day in Vietnam) until valid_to.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    valid_from: Mapped[date | None] = mapped_column(Date)  # None: since before the system knew it
    valid_to: Mapped[date | None] = mapped_column(Date)  # the first day it no longer exists
    # The unit that took over a merged or dissolved one (its open cases and tasks moved there).
    successor_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id"))

    parent: Mapped[AdminUnit | None] = relationship(remote_side=[id], foreign_keys=[parent_id])
    successor: Mapped[AdminUnit | None] = relationship(remote_side=[id], foreign_keys=[successor_id])


class User(Base):
    """A person who signs in; their roles are bound to units (see UserRole)."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    full_name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(5))  # vi or en; None = the centre's default
    # Sign-in throttling per account (the per-address limit is Flask-Limiter's).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[AdminUnit | None] = relationship()
    roles: Mapped[list[UserRole]] = relationship(back_populates="user", cascade="all, delete-orphan")


class UserRole(Base):
    """A role held by a user in a unit (a user may be officer in one unit, leader in another)."""

    __tablename__ = "user_role"
    __table_args__ = (UniqueConstraint("user_id", "role", "unit_id", name="uq_user_role_user_role_unit"),
                      Index("ix_user_role_lookup", "role", "unit_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    role: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"))

    user: Mapped[User] = relationship(back_populates="roles")
    unit: Mapped[AdminUnit] = relationship()


class Category(Base):
    """A field (lĩnh vực) of reports, with the department that answers for it at province level."""

    __tablename__ = "category"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str] = mapped_column(String(255))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id"))
    default_priority: Mapped[str] = mapped_column(String(10), default="normal")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Extra questions the portal, the hotline and Open311 ask for this field (workflows/questions.py):
    # [{"name", "label", "label_en", "type": text|number|choice|yesno, "required", "choices": [...]}]
    questions: Mapped[list] = mapped_column(JSONType, default=list, server_default="[]")
    # Only for cases systems raise (indicator breaches, alerts): never offered to citizens or the hotline.
    internal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Case(Base):
    """A case from any channel; its process drives the status."""

    __tablename__ = "case_record"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str | None] = mapped_column(String(32), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    category_code: Mapped[str] = mapped_column(ForeignKey("category.code"))
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(500), default="")
    admin_unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"))
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    status: Mapped[str] = mapped_column(String(20), default="received")
    responsible_unit_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id"))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str | None] = mapped_column(String(40))
    # What the citizen reads about the close (a rejection's reason), personal data removed.
    close_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    # Answers to the category's extra questions ({name: value}).
    answers: Mapped[dict] = mapped_column(JSONType, default=dict, server_default="{}")
    # Where the case came in: portal, open311, hotline, api, demo (the channel says what kind of event).
    source: Mapped[str] = mapped_column(String(20), default="", server_default="")
    # A duplicate merged by officials points at the case that goes on.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("case_record.id"), index=True)
    # The token an intake channel hands back with the request (Open311 GET tokens/{token}).
    request_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    process_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    merged_into: Mapped[Case | None] = relationship(remote_side=[id], foreign_keys=[merged_into_id])
    admin_unit: Mapped[AdminUnit] = relationship(foreign_keys=[admin_unit_id])
    responsible_unit: Mapped[AdminUnit | None] = relationship(foreign_keys=[responsible_unit_id])
    category: Mapped[Category] = relationship()
    process_instance: Mapped[ProcessInstance | None] = relationship()
    reporter: Mapped[Reporter | None] = relationship(back_populates="case", uselist=False,
                                                     cascade="all, delete-orphan")

    __table_args__ = (
        Index("ix_case_record_unit_status", "responsible_unit_id", "status"),
        Index("ix_case_record_place_status", "admin_unit_id", "status"),
        Index("ix_case_record_created", "created_at"),
        Index("ix_case_record_instance", "process_instance_id"),
    )


class Reporter(Base):
    """Who reported a case: kept apart from the case so nothing public ever joins it by accident."""

    __tablename__ = "case_reporter"

    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    email: Mapped[str] = mapped_column(String(255), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    # The phone number reduced to its digits in the national form (0912345678), for a caller's history.
    phone_key: Mapped[str] = mapped_column(String(20), default="", server_default="", index=True)

    case: Mapped[Case] = relationship(back_populates="reporter")


class CaseFollower(Base):
    """Someone who follows a case's public updates: the reporter, or a citizen who followed a duplicate.

    The secret of their tracking link (only its sha256 is kept) lets them rate the resolution;
    updates go by email when they gave an address.
    """

    __tablename__ = "case_follower"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), index=True)
    email: Mapped[str] = mapped_column(String(255), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    is_reporter: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship()


class CaseRating(Base):
    """A citizen's rating of a published resolution (satisfied or not), with a redacted comment."""

    __tablename__ = "case_rating"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), index=True)
    follower_id: Mapped[int | None] = mapped_column(ForeignKey("case_follower.id"))
    # The unit whose resolution was rated (the responsible unit at that moment), for performance figures.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    satisfied: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(20), default="portal")  # portal, hotline, open311
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Open311Client(Base):
    """A third-party Open311 application allowed to post requests; only its api_key's sha256 is kept."""

    __tablename__ = "open311_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Attachment(Base):
    """A file of a case, stored once by the sha256 of its content."""

    __tablename__ = "attachment"
    __table_args__ = (UniqueConstraint("case_id", "sha256", name="uq_attachment_case_sha"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(10), default="file", server_default="file")  # image, video, file
    # report: sent with the case ("before"); resolution: taken by the unit when it was resolved ("after").
    stage: Mapped[str] = mapped_column(String(12), default="report", server_default="report")
    # The copy shown to the public: images re-encoded without EXIF (GPS included); None = never public.
    public_sha256: Mapped[str | None] = mapped_column(String(64))
    thumb_sha256: Mapped[str | None] = mapped_column(String(64))  # a small JPEG (video frame, image preview)
    uploaded_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseEvent(Base):
    """One line of a case's history; rows are only ever added."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str | None] = mapped_column(String(120))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[dict] = mapped_column(JSONType, default=dict)

    case: Mapped[Case] = relationship()


class Notification(Base):
    """A message to one person (task reminder, escalation, leader alert); read or not."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_inbox", "user_id", "read_at"),
                      UniqueConstraint("dedupe_key", name="uq_notification_dedupe_key"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_record.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    # The English text (logs, old clients); people read `message`, rendered in their language when shown.
    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text, default="")
    # {"title": ..., "body": ...} as engine.i18n.to_json stores a message: msgid, parameters, names in both languages.
    message: Mapped[dict | None] = mapped_column(JSONType)
    # The task a "new task" notification announces: once the task is closed it no longer counts as unread.
    task_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # One notification per (step, person): a step redone after a crash adds no second one.
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    # Set for a case not written yet (intake): the unit of work then inserts the case first.
    case: Mapped[Case | None] = relationship()


class Publication(Base):
    """The public record of a resolved case, with personal data removed."""

    __tablename__ = "publication"

    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    summary: Mapped[str] = mapped_column(Text)
    resolution: Mapped[str] = mapped_column(Text)
    unit_name: Mapped[str] = mapped_column(String(255))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    feedback_until: Mapped[datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A machine's bearer token for /api/v1, acting as one user; only its sha256 is kept."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class SavedFilter(Base):
    """A task-list filter saved by an official and shared with everyone of their unit."""

    __tablename__ = "saved_filter"
    __table_args__ = (UniqueConstraint("unit_id", "name", name="uq_saved_filter_unit_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    name: Mapped[str] = mapped_column(String(80))
    query: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User] = relationship()


class CaseComment(Base):
    """A comment between officials on a case; never public."""

    __tablename__ = "case_comment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship()


from workflows.admin.models import AdminAuditEntry  # noqa: E402,F401 - the admin console's tables (create_all, Alembic)
from workflows.admin.unit_models import AdminUnitChange, AdminUnitPeriod  # noqa: E402,F401 - units over time
from workflows.calendar.models import CalendarException, WorkingHoursSetting  # noqa: E402,F401 - working-time calendar
from workflows.cameras import models as _camera_models  # noqa: E402,F401 - cameras and their incidents
from workflows.monitoring import models as _monitoring_models  # noqa: E402,F401 - indicators, values, alerts


class DesignerTestCase(Base):
    """A test run kept by a process designer: its start data, its steps and where it ended, re-run before each
    deploy of its process (workflows/designer/testrun.py)."""

    __tablename__ = "designer_test_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(120), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="", server_default="")
    start: Mapped[dict] = mapped_column(JSONType, default=dict)  # the sample or copied case data, with the moment
    steps: Mapped[list] = mapped_column(JSONType, default=list)  # completions with their data, clock moves
    expected: Mapped[dict] = mapped_column(JSONType, default=dict)  # reached elements, open tasks, statuses
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_passed: Mapped[bool | None] = mapped_column(Boolean)
    last_message: Mapped[dict | None] = mapped_column(JSONType)  # why it failed, as engine.i18n.to_json keeps a message


class DesignerDraft(Base):
    """A bundle of BPMN and DMN files a process designer is editing, saved from the modeler (not deployed).

    `version` guards against two tabs overwriting each other: a save names the version it started from and
    is refused when the row has moved on since (workflows/designer/drafts.py).
    """

    __tablename__ = "designer_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    files: Mapped[dict] = mapped_column(JSONType, default=dict)  # {file name: XML text}
    base_key: Mapped[str | None] = mapped_column(String(120))  # the deployed process it started from, if any
    base_version: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(120))
    updated_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class MigrationJob(Base):
    """A designer's move of running instances to another version of their process, run as one background job
    (workflows/designer/migration.py): who started it, when it ran, how many moved."""

    __tablename__ = "designer_migration_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(120), index=True)
    target_definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    target_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued, running, done
    total: Mapped[int] = mapped_column(Integer, default=0)
    moved: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)  # the dry run said no when the job came to it
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MigrationJobItem(Base):
    """One instance of a migration job and what became of it; written with the instance's own move (or refusal)."""

    __tablename__ = "designer_migration_item"
    __table_args__ = (UniqueConstraint("job_id", "instance_id", name="uq_designer_migration_item_job_instance"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("designer_migration_job.id"), index=True)
    instance_id: Mapped[int] = mapped_column(BigId, ForeignKey("process_instance.id"))
    business_key: Mapped[str | None] = mapped_column(String(64))
    from_version: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16), default="pending")  # pending, moved, refused, skipped
    reasons: Mapped[list] = mapped_column(JSONType, default=list)  # why not, as engine.i18n.to_json keeps messages
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
