"""What the web pages show of camera cases: a case's incidents with their evidence (the numbers, the region, the
snapshot and clip as the case's attachments), and the snapshot of each camera case for the dashboard's map.

Read only. The callers have already checked that the reader may see the case (the case page, the dashboard's
scope); the attachments are served by the case pages, which check again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cameras.models import Camera, CameraIncident
from workflows.models import Attachment, Case


@dataclass(frozen=True)
class IncidentEvidence:
    """One incident of a camera case, as the verifying operator reads it."""

    key: str
    kind: str  # vision.events.KINDS
    subtype: str | None  # a fault, or the lane of a stopped vehicle
    state: str  # raised | updated | cleared
    confidence: float
    started_at: datetime
    raised_at: datetime
    cleared_at: datetime | None
    evidence: dict
    region: list | None  # normalised polygon
    verdict: str | None
    verdict_by: str | None
    verdict_at: datetime | None
    verdict_note: str
    snapshot_id: int | None  # the case's attachment ids
    snapshot_thumbnail: bool
    clip_id: int | None


@dataclass(frozen=True)
class CameraCase:
    """The camera a case came from and its incidents (newest first)."""

    code: str
    name: str
    name_en: str
    false_alarms: int
    roi: list | None
    incidents: list[IncidentEvidence]

    def label(self, language: str) -> str:
        return self.name_en if language == "en" and self.name_en else self.name


class CameraViews:
    """Reads for the case page and the dashboard."""

    def __init__(self, session: Session):
        self.session = session

    def for_case(self, case_code: str) -> CameraCase | None:
        """The camera and incidents of a case (None for a case no camera opened)."""
        case_id = self.session.scalar(select(Case.id).where(Case.code == case_code))
        if case_id is None:
            return None
        rows = self.session.scalars(select(CameraIncident).where(CameraIncident.case_id == case_id)
                                    .order_by(CameraIncident.raised_at.desc(), CameraIncident.id.desc())).all()
        if not rows:
            return None
        files = {sha: (attachment_id, thumb is not None) for attachment_id, sha, thumb in self.session.execute(
            select(Attachment.id, Attachment.sha256, Attachment.thumb_sha256).where(Attachment.case_id == case_id))}
        camera: Camera = rows[0].camera
        incidents = []
        for row in rows:
            snapshot = files.get(row.snapshot_sha256 or "")
            clip = files.get(row.clip_sha256 or "")
            incidents.append(IncidentEvidence(
                key=row.key, kind=row.kind, subtype=row.subtype, state=row.state, confidence=row.confidence,
                started_at=row.started_at, raised_at=row.raised_at, cleared_at=row.cleared_at,
                evidence=dict(row.evidence or {}), region=row.region, verdict=row.verdict, verdict_by=row.verdict_by,
                verdict_at=row.verdict_at, verdict_note=row.verdict_note or "",
                snapshot_id=snapshot[0] if snapshot else None, snapshot_thumbnail=bool(snapshot and snapshot[1]),
                clip_id=clip[0] if clip else None))
        return CameraCase(code=camera.code, name=camera.name, name_en=camera.name_en,
                          false_alarms=camera.false_alarms or 0, roi=camera.roi, incidents=incidents)

    def snapshots(self, case_codes: Iterable[str]) -> dict[str, tuple[int, bool]]:
        """For each of these cases a camera opened: its newest snapshot's attachment id and whether it has a
        thumbnail (cases without one are left out)."""
        codes = sorted(set(case_codes))
        if not codes:
            return {}
        rows = self.session.execute(
            select(Case.code, Attachment.id, Attachment.thumb_sha256)
            .join(CameraIncident, CameraIncident.case_id == Case.id)
            .join(Attachment, (Attachment.case_id == Case.id) & (Attachment.sha256 == CameraIncident.snapshot_sha256))
            .where(Case.code.in_(codes))
            .order_by(CameraIncident.raised_at, CameraIncident.id)).all()
        return {code: (attachment_id, thumb is not None) for code, attachment_id, thumb in rows}  # newest last wins
