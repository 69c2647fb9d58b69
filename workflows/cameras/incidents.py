"""The vision service's sink (vision.events.IncidentSink): incidents open, update and clear camera cases, and the
runner's reports set the cameras' statuses. Also the runner's list of cameras (CameraLister).

One transaction per call. An incident is known by its key (vision.events.incident_key):
- "raised" opens one case (channel "camera", bpmn/camera_incident.bpmn) with the snapshot JPEG and, when it came,
  the clip MP4 as the case's attachments (stored once by their sha256, never public). A repeat of the same key
  opens nothing. A raise on a camera whose case of the same kind is still open (the same jam raised again after
  its cool-down, a second stopped vehicle) joins that case: its evidence is added and its history says so.
- "updated" adds the clip (and a better snapshot) and refreshes the numbers.
- "cleared" records the clearing in the case's history and, when every incident of the case has cleared, sends
  the message `camera_incident_cleared`: before the verification the process closes the case on its own; after
  it, the process no longer waits for it and the history line is all (the unit finishes its work).

A raise whose case cannot be opened (workflows/cameras/failures.py) is written all the same, without a case, with
its failure, its tries and its next try; its snapshot and clip wait in the file store. Its later events update the
row. `retry_due()` (the runner's main loop and the Celery beat task `ioc.retry_camera_incidents`) opens the due
ones with back-off, so nothing is lost when the runner dies; a person retries or dismisses them on the cameras'
page. Only when even that row cannot be written (the database away) is the event kept in this process's memory
and tried again before the next event.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.errors import ConflictError
from engine.i18n import Named
from vision.config import CameraConfig
from vision.events import Incident
from workflows.admin.audit import Target, record
from workflows.attachments import FileStore
from workflows.cameras import failures
from workflows.cameras.failures import CaseOpenError
from workflows.cameras.models import DISMISSED, Camera, CameraIncident
from workflows.cameras.registry import CameraRegistry
from workflows.case_service import IntakeRequest
from workflows.errors import CaseNotFoundError, IntakeError
from workflows.media import MediaLimits, Upload, inspect
from workflows.models import Attachment, Case, CaseEvent, Category

log = logging.getLogger(__name__)

CLOSED_STATUSES = ("closed", "rejected", "merged")
# The case category and priority of each kind (internal categories: never offered to citizens).
CATEGORY_OF = {"stopped_vehicle": "traffic_incident", "congestion": "traffic_incident", "camera_fault": "camera_fault"}
PRIORITY_OF = {"stopped_vehicle": "high", "congestion": "high", "camera_fault": "normal"}
# The situation the operator is offered first when verifying (the routing table reads it).
SITUATION_OF = {"stopped_vehicle": "breakdown", "congestion": "congestion", "camera_fault": "camera_fault"}
# The case's title is the camera's name after these words (Vietnamese, as case titles are written).
TITLE_OF = {"stopped_vehicle": "Xe dừng bất thường", "congestion": "Ùn tắc giao thông", "camera_fault": "Camera gặp sự cố"}
FAULT_WORDS = {"no_frames": "mất tín hiệu", "frozen": "hình đứng yên", "covered": "bị che", "defocused": "mờ",
               "moved": "lệch hướng"}
EVIDENCE_LIMITS = MediaLimits(max_images=1, max_videos=1, max_image_bytes=5 * 1024 * 1024,
                              max_video_bytes=30 * 1024 * 1024)
UPLOADER = "camera"
MAX_ATTEMPTS = 20  # in-memory tries of an event that could not even be kept (one per later event or status report)
MAX_PENDING = 1000  # events kept waiting in memory at most (the oldest dropped, logged)
RETRY_BATCH = 50  # waiting incidents tried per retry_due() call


class CameraIncidents:
    """The sink the vision runner publishes to; `services_factory(session)` builds the case services (with the
    attachments' file store), as workflows.runtime.make_services does."""

    def __init__(self, session: Session, clock: Clock = SYSTEM_CLOCK,
                 services_factory: Callable[[Session], Any] | None = None, files: FileStore | None = None,
                 after_commit: Callable[[], None] | None = None):
        self.session = session
        self.clock = clock
        self.after_commit = after_commit or (lambda: None)
        if services_factory is None:
            if files is None:
                raise ValueError("CameraIncidents keeps snapshots and clips as attachments: give it files= (the "
                                 "attachments' FileStore) or services_factory= (webapp.runtime's services)")
            from workflows.runtime import make_services

            def services_factory(s: Session) -> Any:
                return make_services(s, clock, after_commit=after_commit, files=files)
        self.services = services_factory(session)
        self.pending: list[tuple[Incident, int]] = []  # events that failed, tried again before the next one
        self.files = self.services.cases.files

    # ------------------------------------------------------------------ IncidentSink
    def publish(self, incident: Incident) -> Case | None:
        """Apply one event of an incident in one transaction; the case it concerns (None for an unknown camera, or
        for a raise whose case could not be opened: the row keeps it, failures.py). An event that cannot even be
        kept so (the database away) stays in memory and is tried again, in order, before the next event or status
        (MAX_ATTEMPTS times); its error is raised for the runner to log."""
        self._retry()
        try:
            return self._publish(incident)
        except CaseOpenError as exc:
            if self._keep_waiting(incident, exc):
                return None
            self._keep(incident, 1)
            raise
        except Exception:
            self._keep(incident, 1)
            raise

    def _keep(self, incident: Incident, attempts: int) -> None:
        if attempts > MAX_ATTEMPTS:
            log.error("incident %s (%s) dropped after %s attempts", incident.key, incident.state, MAX_ATTEMPTS)
            return
        if len(self.pending) >= MAX_PENDING:
            dropped, _ = self.pending.pop(0)
            log.error("incident %s (%s) dropped: %s events wait already", dropped.key, dropped.state, MAX_PENDING)
        self.pending.append((incident, attempts))

    def _retry(self) -> None:
        waiting, self.pending = self.pending, []
        for incident, attempts in waiting:
            try:
                self._publish(incident)
            except CaseOpenError as exc:  # the database is back but the case still cannot open: kept on its row
                if not self._keep_waiting(incident, exc):
                    self._keep(incident, attempts + 1)
            except Exception:  # noqa: BLE001 - kept for the next try, logged
                log.exception("incident %s (%s) failed again (attempt %s)", incident.key, incident.state,
                              attempts + 1)
                self._keep(incident, attempts + 1)

    def _publish(self, incident: Incident) -> Case | None:
        # CaseService caches categories in the session (a missing one as None): read them afresh after a mend.
        self.session.info.pop("ioc_category", None)
        for attempt in (1, 2):
            try:
                case = self._apply(incident)
                self.session.commit()
            except IntegrityError:
                # Another worker wrote the same incident (or its case) meanwhile: once more, it is found now.
                self.session.rollback()
                if attempt == 2:
                    raise
                continue
            except BaseException:
                self.session.rollback()
                raise
            self.after_commit()
            return case
        return None

    # ------------------------------------------------------------------ incidents without a case
    def _keep_waiting(self, incident: Incident, exc: CaseOpenError) -> bool:
        """Write the incident whose case could not be opened, without a case, with its failure and next try (its
        evidence in the file store); False when that cannot be written either (the event stays in memory)."""
        try:
            camera = self._camera(incident.camera)
            if camera is None:
                return False
            row = self.session.scalar(select(CameraIncident).where(CameraIncident.key == incident.key))
            if row is not None and row.case_id is not None:
                self.session.rollback()
                return False  # a case exists (another worker's): the in-memory retry finds it
            if row is None:
                row = self._new_row(camera, incident)
                self.session.add(row)
            else:
                self._refresh(row, incident)
            self._store_files(row, incident)
            self._failed(row, camera, exc, self.clock.now())
            self._fault_status(camera, row, incident.at)
            self.session.commit()
        except Exception:  # noqa: BLE001 - the database away: the caller keeps the event in memory
            self.session.rollback()
            log.exception("incident %s (%s) could not be kept without its case", incident.key, incident.state)
            return False
        log.warning("incident %s of camera %s kept without a case (%s), next try %s", incident.key, incident.camera,
                    row.failure, row.retry_at)
        return True

    def _failed(self, row: CameraIncident, camera: Camera, exc: BaseException, now: datetime) -> None:
        unit = camera.admin_unit
        place = Named(f"“{unit.name}” ({unit.code})", f"“{unit.name_en or unit.name}” ({unit.code})") if unit else ""
        code = CATEGORY_OF.get(row.kind, row.kind)
        found = self.session.get(Category, code)  # switched off, or gone: then its code alone
        category = Named(f"“{found.name}” ({code})", f"“{found.name_en or found.name}” ({code})") if found else code
        key, params = failures.describe(exc, category=category, place=place)
        row.failure, row.failure_params = key, failures.params_json(params)
        row.attempts = (row.attempts or 0) + 1
        row.tried_at = now
        row.retry_at = failures.next_try(row.attempts, now)

    def retry_due(self, limit: int = RETRY_BATCH) -> tuple[int, int]:
        """Try to open the cases of the waiting incidents whose next try has come (oldest first), one transaction
        each; (opened, failed again). Called by the runner's main loop and the beat task."""
        now = self.clock.now()
        ids = list(self.session.scalars(
            select(CameraIncident.id).where(CameraIncident.case_id.is_(None), CameraIncident.retry_at <= now,
                                            func.coalesce(CameraIncident.verdict, "") != DISMISSED)
            .order_by(CameraIncident.retry_at, CameraIncident.id).limit(limit)))
        self.session.rollback()  # nothing held while each is tried
        opened = failed = 0
        for row_id in ids:
            try:
                case = self.retry(row_id)
            except Exception:  # noqa: BLE001 - recorded on its row (or the database away): the others go on
                log.exception("camera incident %s: its case could not be opened again", row_id)
                failed += 1
                continue
            opened += case is not None
        return opened, failed

    def retry(self, row_id: int, actor: Any = None) -> Case | None:
        """Open the case of one waiting incident now (by a person when `actor` is given: audited); the case, None
        when there was nothing to do (opened meanwhile, dismissed). A failure is recorded on the row (its next try
        after the back-off) and raised as CaseOpenError."""
        self.session.info.pop("ioc_category", None)
        first = self.session.get(CameraIncident, row_id)
        if first is None or first.case_id is not None or first.verdict == DISMISSED:
            self.session.rollback()
            return None
        code = first.camera.code
        camera = self._camera(code)  # the camera's lock first, as publish takes it: one case per episode
        row = self._locked(row_id) if camera is not None else None
        if row is None or row.case_id is not None or row.verdict == DISMISSED:
            self.session.rollback()
            return None
        before = failures.params_json({"failure": row.failure, "attempts": row.attempts})
        try:
            case = self._open_waiting(camera, row)
            if actor is not None:
                record(self.session, actor, "camera_incident.retry", Target("camera_incident", row.id, row.key[:255]),
                       before, {"case": case.code}, clock=self.clock)
            self.session.commit()
        except Exception as exc:
            self.session.rollback()
            self._record_failure(row_id, exc, actor, before)
            if isinstance(exc, CaseOpenError):
                raise
            raise CaseOpenError(str(exc)) from exc
        self.after_commit()
        log.info("camera incident %s: case %s opened after %s tries", row_id, case.code, row.attempts)
        return case

    def _locked(self, row_id: int) -> CameraIncident | None:
        query = select(CameraIncident).where(CameraIncident.id == row_id).execution_options(populate_existing=True)
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return self.session.scalar(query)

    def _record_failure(self, row_id: int, exc: BaseException, actor: Any, before: Any) -> None:
        try:
            row = self._locked(row_id)
            if row is None:
                return
            self._failed(row, row.camera, exc, self.clock.now())
            if actor is not None:
                record(self.session, actor, "camera_incident.retry", Target("camera_incident", row.id, row.key[:255]),
                       before, {"failure": row.failure, "attempts": row.attempts}, clock=self.clock)
            self.session.commit()
        except Exception:  # noqa: BLE001 - the database away: the row keeps its old due time, tried again later
            self.session.rollback()
            log.exception("camera incident %s: its failure could not be recorded", row_id)

    def _open_waiting(self, camera: Camera, row: CameraIncident) -> Case:
        """The case of a row kept without one: opened (or the camera's open case of that kind joined), with the
        evidence from the file store and, when the incident has cleared meanwhile, its clearing."""
        incident = Incident(camera=camera.code, key=row.key, kind=row.kind, subtype=row.subtype,
                            state="cleared" if row.cleared_at is not None else "raised",
                            confidence=float(row.confidence or 0), started_at=row.started_at, at=row.raised_at,
                            evidence=dict(row.evidence or {}), region=None)
        case = self._case_for(camera, row, incident)
        row.case_id = case.id
        row.failure, row.failure_params, row.retry_at = None, None, None
        row.attempts = (row.attempts or 0) + 1
        row.tried_at = self.clock.now()
        stamp = f"{row.started_at:%Y%m%dT%H%M%SZ}"
        for sha, name, content_type in ((row.snapshot_sha256, "snapshot.jpg", "image/jpeg"),
                                        (row.clip_sha256, "clip.mp4", "video/mp4")):
            if sha:
                try:
                    data = self.files.read(sha)
                except OSError:
                    log.warning("camera incident %s: its stored %s is missing", row.key, name)
                    continue
                self._attach(case, f"{camera.code}-{stamp}-{name}", content_type, data)
        if row.cleared_at is not None:
            self._cleared(camera, case, row)
        return case

    def dismiss(self, row_id: int, actor: Any, note: str) -> CameraIncident | None:
        """Set aside a waiting incident with a note (audited): no case is opened for it. None when it had one."""
        row = self._locked(row_id)
        if row is None or row.case_id is not None or row.verdict == DISMISSED:
            self.session.rollback()
            return None
        before = {"failure": row.failure, "attempts": row.attempts}
        now = self.clock.now()
        row.verdict, row.verdict_by, row.verdict_at = DISMISSED, actor.username[:120], now
        row.verdict_note, row.retry_at = note, None
        record(self.session, actor, "camera_incident.dismiss", Target("camera_incident", row.id, row.key[:255]),
               before, {"verdict": DISMISSED}, note=note, clock=self.clock)
        self.session.commit()
        return row

    def camera_status(self, camera: str, status: str, detail: str, at: datetime, fps: float | None = None) -> None:
        """The runner's report of a camera's status (online, offline, faulty), its detail key and frame rate. A
        camera that sends frames while a fault of it is still going on (covered, frozen…) stays "faulty"."""
        self._retry()
        try:
            if status == "online":
                fault = self._open_fault(camera)
                if fault is not None:
                    status, detail = "faulty", fault
            CameraRegistry(self.session, self.clock).set_status(camera, status, detail, at, fps)
            self.session.commit()
        except CaseNotFoundError:
            self.session.rollback()
            log.warning("status of unknown camera %s ignored", camera)
        except Exception:
            self.session.rollback()
            raise

    def _open_fault(self, code: str) -> str | None:
        """The subtype of the camera's newest camera fault not cleared yet, if any."""
        return self.session.scalar(
            select(CameraIncident.subtype).join(Camera, Camera.id == CameraIncident.camera_id)
            .where(Camera.code == code, CameraIncident.kind == "camera_fault", CameraIncident.cleared_at.is_(None))
            .order_by(CameraIncident.id.desc()).limit(1))

    def _fault_status(self, camera: Camera, row: CameraIncident, at: datetime) -> None:
        """A camera fault makes the camera "faulty" (its detail the fault) until it clears, unless the runner
        says it is offline; when the last one clears it is online again."""
        if row.kind != "camera_fault" or camera.status == "offline":
            return
        registry = CameraRegistry(self.session, self.clock)
        if row.cleared_at is None:
            registry.set_status(camera.code, "faulty", row.subtype or "", at)
            return
        self.session.flush()
        other = self._open_fault(camera.code)
        if other is not None:
            registry.set_status(camera.code, "faulty", other, at)
        elif camera.status == "faulty":
            registry.set_status(camera.code, "online", "", at)

    # ------------------------------------------------------------------ one event
    def _apply(self, incident: Incident) -> Case | None:
        camera = self._camera(incident.camera)
        if camera is None:
            log.warning("incident %s of unknown camera %s ignored", incident.key, incident.camera)
            return None
        row = self.session.scalar(select(CameraIncident).where(CameraIncident.key == incident.key))
        if row is None:
            # "raised", or a later event whose raise was lost: the episode starts here all the same.
            return self._raise(camera, incident)
        case = self.session.get(Case, row.case_id) if row.case_id else None
        self._refresh(row, incident)
        if case is not None:
            self._evidence(case, row, incident)
        else:  # its case is still to be opened (retry_due) or it was dismissed: the evidence waits in the store
            self._store_files(row, incident)
        if incident.state == "cleared" and row.cleared_at is None:
            row.state, row.cleared_at = "cleared", incident.at
            if case is not None:
                self._cleared(camera, case, row)
            self._fault_status(camera, row, incident.at)
        return case

    def _camera(self, code: str) -> Camera | None:
        query = select(Camera).where(Camera.code == code)
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()  # one worker at a time per camera: no two cases for one episode
        return self.session.scalar(query)

    @staticmethod
    def _new_row(camera: Camera, incident: Incident) -> CameraIncident:
        return CameraIncident(camera_id=camera.id, key=incident.key, kind=incident.kind, subtype=incident.subtype,
                              state="cleared" if incident.state == "cleared" else "raised",
                              confidence=float(incident.confidence), started_at=incident.started_at,
                              raised_at=incident.at, last_at=incident.at, updates=0,
                              evidence=dict(incident.evidence), region=_region(incident.region),
                              cleared_at=incident.at if incident.state == "cleared" else None, attempts=0)

    def _case_for(self, camera: Camera, row: CameraIncident, incident: Incident) -> Case:
        """The camera's open case of this kind, told that the incident came again; else a new case."""
        case = self._open_case_of(camera, incident.kind)
        if case is None:
            case = self._open(camera, incident)
        else:
            self._event(case, "camera_incident_repeated", camera, row, at=incident.at)
        self.session.flush()
        return case

    def _raise(self, camera: Camera, incident: Incident) -> Case:
        row = self._new_row(camera, incident)
        case = self._case_for(camera, row, incident)
        row.case_id = case.id
        self.session.add(row)
        self._evidence(case, row, incident)
        if row.cleared_at is not None:
            self._cleared(camera, case, row)
        self._fault_status(camera, row, incident.at)
        return case

    def _open_case_of(self, camera: Camera, kind: str) -> Case | None:
        """The open case of this camera and kind, if any (the newest)."""
        return self.session.scalar(
            select(Case).join(CameraIncident, CameraIncident.case_id == Case.id)
            .where(CameraIncident.camera_id == camera.id, CameraIncident.kind == kind,
                   Case.status.not_in(CLOSED_STATUSES)).order_by(Case.id.desc()).limit(1))

    def _open(self, camera: Camera, incident: Incident) -> Case:
        title = f"{TITLE_OF[incident.kind]}: {camera.name}"
        if incident.kind == "camera_fault" and incident.subtype in FAULT_WORDS:
            title = f"{TITLE_OF[incident.kind]} ({FAULT_WORDS[incident.subtype]}): {camera.name}"
        request = IntakeRequest(
            channel="camera", category=CATEGORY_OF[incident.kind], title=title[:255],
            admin_unit=camera.admin_unit.code, description=_description(camera), lat=camera.lat,
            lon=camera.lon, address=camera.address, priority=PRIORITY_OF[incident.kind], source="camera",
            idempotency_key=f"camera:{incident.key}"[:120],
            process_data={"camera_kind": incident.kind, "situation": SITUATION_OF[incident.kind],
                          "camera": camera.code, "camera_name": camera.name,
                          "camera_maintainer": camera.maintainer_unit.code, "camera_subtype": incident.subtype or "",
                          "incident_key": incident.key, "verify_note": ""})
        try:
            return self.services.cases.open_case(request)
        except IntegrityError:
            raise  # another worker opened it meanwhile: _publish tries once more and finds it
        except Exception as exc:
            # Reference data missing (the camera's units were checked when it was saved), the process, the database.
            raise CaseOpenError(f"camera {camera.code}: no case can be opened for its {incident.kind} ({exc}); the "
                                f"internal category {request.category!r} and the place {request.admin_unit!r} must "
                                "exist and be active (administration console)") from exc

    @staticmethod
    def _refresh(row: CameraIncident, incident: Incident) -> None:
        row.last_at = max(row.last_at, incident.at) if row.last_at else incident.at
        row.updates = (row.updates or 0) + 1
        row.confidence = max(float(row.confidence or 0), float(incident.confidence))
        if incident.evidence:
            row.evidence = {**(row.evidence or {}), **incident.evidence}
        if incident.region:
            row.region = _region(incident.region)
        if incident.state == "updated" and row.state == "raised":
            row.state = "updated"

    def _evidence(self, case: Case, row: CameraIncident, incident: Incident) -> None:
        """The snapshot and the clip as the case's attachments (each once; a better snapshot is added too)."""
        stamp = f"{row.started_at:%Y%m%dT%H%M%SZ}"
        camera_code = incident.camera
        if incident.snapshot_jpeg:
            digest = self._attach(case, f"{camera_code}-{stamp}-snapshot.jpg", "image/jpeg", incident.snapshot_jpeg)
            if digest is not None and row.snapshot_sha256 is None:
                row.snapshot_sha256 = digest
        if incident.clip_mp4 and row.clip_sha256 is None:
            row.clip_sha256 = self._attach(case, f"{camera_code}-{stamp}-clip.mp4", "video/mp4", incident.clip_mp4)

    def _store_files(self, row: CameraIncident, incident: Incident) -> None:
        """The snapshot and clip of an incident without a case, kept in the file store by their sha256."""
        if self.files is None:
            raise RuntimeError("CameraIncidents needs the attachments' file store (files=...)")
        if incident.snapshot_jpeg and row.snapshot_sha256 is None:
            row.snapshot_sha256 = self.files.put(incident.snapshot_jpeg)
        if incident.clip_mp4 and row.clip_sha256 is None:
            row.clip_sha256 = self.files.put(incident.clip_mp4)

    def _attach(self, case: Case, filename: str, content_type: str, data: bytes) -> str | None:
        """One checked file (a corrupt one is logged and left out: the case goes on without it); its sha256."""
        if self.files is None:
            raise RuntimeError("CameraIncidents needs the attachments' file store (files=...)")
        try:
            media = inspect(Upload(filename, content_type, data), EVIDENCE_LIMITS)
        except IntakeError as exc:
            log.warning("camera evidence %s of case %s refused: %s", filename, case.code, exc)
            return None
        digest = hashlib.sha256(media.original).hexdigest()
        if self.session.scalar(select(Attachment.id).where(Attachment.case_id == case.id,
                                                           Attachment.sha256 == digest)) is not None:
            return digest
        now = self.clock.now()
        self.services.cases._store_media(case, [media], stage="report", uploaded_by=UPLOADER, now=now, public=False)
        self.session.add(CaseEvent(case_id=case.id, at=now, kind="attachment_added", actor=UPLOADER, public=False,
                                   detail={"filename": filename, "sha256": digest, "stage": "report"}))
        return digest

    def _cleared(self, camera: Camera, case: Case, row: CameraIncident) -> None:
        self._event(case, "camera_incident_cleared", camera, row, at=row.cleared_at)
        if case.status in CLOSED_STATUSES or case.process_instance_id is None:
            return
        self.session.flush()
        waiting = self.session.scalar(select(CameraIncident.id).where(CameraIncident.case_id == case.id,
                                                                      CameraIncident.cleared_at.is_(None)).limit(1))
        if waiting is not None:
            return  # another incident of the case is still going on
        try:
            self.services.instances.send_message(case.process_instance_id, "camera_incident_cleared",
                                                 {"cleared_at": row.cleared_at.isoformat(), "key": row.key},
                                                 actor=f"camera:{camera.code}"[:120])
        except ConflictError:
            pass  # verified already: the process no longer waits for it, the history line says it

    def _event(self, case: Case, kind: str, camera: Camera, row: CameraIncident, at: datetime) -> None:
        detail = {"camera": camera.code, "camera_name": camera.name, "camera_name_en": camera.name_en,
                  "kind": row.kind, "subtype": row.subtype or "", "started_at": row.started_at.isoformat(),
                  "confidence": round(float(row.confidence or 0), 3)}
        if row.cleared_at is not None:
            detail["cleared_at"] = row.cleared_at.isoformat()
            detail["seconds"] = round((row.cleared_at - row.started_at).total_seconds())
        self.session.add(CaseEvent(case_id=case.id, at=at, kind=kind, actor=f"camera:{camera.code}"[:120],
                                   public=False, detail=detail))
        case.updated_at = max(case.updated_at, at) if case.updated_at else at


class CameraLister:
    """The runner's list of cameras (vision.runner's CameraLister): every enabled camera's CameraConfig, read
    afresh on each call from a new session."""

    def __init__(self, session_factory: Callable[[], Session]):
        self.session_factory = session_factory

    def cameras(self) -> list[CameraConfig]:
        with self.session_factory() as session:
            configs = []
            registry = CameraRegistry(session)
            for camera in session.scalars(select(Camera).where(Camera.enabled.is_(True)).order_by(Camera.code)):
                try:
                    configs.append(registry.config(camera))
                except ValueError:  # a row changed behind the registry's back: that camera waits, the others run
                    log.exception("camera %s has a configuration the pipeline refuses; not watched", camera.code)
            return configs


def _region(region: Any) -> list | None:
    return [[float(x), float(y)] for x, y in region] if region else None


def _description(camera: Camera) -> str:
    """The case's description: the camera and where it stands (the detector's numbers, snapshot and clip are shown
    beside it from the incidents, in the reader's language)."""
    lines = [f"Camera {camera.code} — {camera.name}"]
    if camera.address:
        lines.append(camera.address)
    return "\n".join(lines)[:10_000]
