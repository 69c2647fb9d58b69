"""Camera tables: the registry (where a camera is, how it is read, what it watches, its status) and the incidents
the vision service raised on it, each with its case."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, JSONType, UTCDateTime, utcnow
from engine.models import BigId

STATUSES = ("unknown", "online", "offline", "faulty")
VERDICTS = ("confirmed", "false_alarm")
DISMISSED = "dismissed"  # the verdict of an incident whose case never opened and a person set aside (with a note)


class Camera(Base):
    """A camera of the registry: code, names, place and units, the stream and how it is read, the region of
    interest and lanes (normalised polygons), its detection settings, its status as the runner last reported it."""

    __tablename__ = "camera"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(255))  # Vietnamese
    name_en: Mapped[str] = mapped_column(String(255), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(500), default="")
    admin_unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)  # the ward or commune
    maintainer_unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"))  # who repairs it
    stream_url: Mapped[str] = mapped_column(String(2000))
    read_mode: Mapped[str] = mapped_column(String(12), default="stream")  # vision.config.READ_MODES
    analysis_fps: Mapped[float] = mapped_column(Float, default=2.0)
    snapshot_interval_s: Mapped[float] = mapped_column(Float, default=2.0)
    roi: Mapped[list | None] = mapped_column(JSONType)  # [[x, y], ...] in 0..1; None = the whole frame
    lanes: Mapped[list] = mapped_column(JSONType, default=list)  # [{"name", "polygon", "direction"}]
    settings: Mapped[dict] = mapped_column(JSONType, default=dict)  # DetectionSettings.to_dict() overrides
    reference_jpeg: Mapped[bytes | None] = mapped_column(LargeBinary)  # the normal view, for "moved camera"
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(10), default="unknown")  # STATUSES
    status_detail: Mapped[str] = mapped_column(String(40), default="")  # a message key: unreachable, corrupt…
    status_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the runner's last report
    fps: Mapped[float | None] = mapped_column(Float)  # analysed frames per second, last reported
    false_alarms: Mapped[int] = mapped_column(Integer, default=0)  # incidents operators judged false alarms
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(120), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    admin_unit = relationship("AdminUnit", foreign_keys=[admin_unit_id])
    maintainer_unit = relationship("AdminUnit", foreign_keys=[maintainer_unit_id])


class CameraStatusChange(Base):
    """A change of a camera's status (online, offline, faulty) with its detail and moment: the spells between two
    changes are the camera's history (its history page, the hours out of service in the leaders' camera report)."""

    __tablename__ = "camera_status_change"
    __table_args__ = (Index("ix_camera_status_change_camera_at", "camera_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("camera.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10))  # STATUSES
    detail: Mapped[str] = mapped_column(String(40), default="")  # a message key, as Camera.status_detail


class CameraIncident(Base):
    """One episode the vision service raised on a camera (vision.events.Incident, known by its key), with the case
    it opened, the operator's verdict and where its snapshot and clip are among the case's attachments."""

    __tablename__ = "camera_incident"
    __table_args__ = (Index("ix_camera_incident_camera_kind", "camera_id", "kind", "state"),
                      Index("ix_camera_incident_retry_at", "retry_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("camera.id"))
    key: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # vision.events.KINDS
    subtype: Mapped[str | None] = mapped_column(String(40))  # a fault, or the lane of a stopped vehicle
    state: Mapped[str] = mapped_column(String(10), default="raised")  # raised | updated | cleared
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # the newest event of the episode
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updates: Mapped[int] = mapped_column(Integer, default=0)  # "updated" events and repeats folded into it
    evidence: Mapped[dict] = mapped_column(JSONType, default=dict)  # the detector's numbers
    region: Mapped[list | None] = mapped_column(JSONType)  # the normalised polygon marked on the snapshot
    case_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("case_record.id"), index=True)
    snapshot_sha256: Mapped[str | None] = mapped_column(String(64))  # the case's attachment
    clip_sha256: Mapped[str | None] = mapped_column(String(64))
    verdict: Mapped[str | None] = mapped_column(String(12))  # None | VERDICTS | DISMISSED
    verdict_by: Mapped[str | None] = mapped_column(String(120))
    verdict_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verdict_note: Mapped[str] = mapped_column(Text, default="")
    # When its case could not be opened (case_id None): why, as a message key of workflows.cameras.failures and
    # its parameters, how many tries, the last one, and the next automatic one (None: none planned — opened,
    # dismissed, or left to a person after failures.GIVE_UP_AFTER tries).
    failure: Mapped[str | None] = mapped_column(String(40))
    failure_params: Mapped[dict | None] = mapped_column(JSONType)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tried_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    camera = relationship("Camera")
