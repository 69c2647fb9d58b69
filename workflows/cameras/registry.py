"""The camera registry: admins create and change cameras (every field checked here, units from the live lists),
the runner reads each enabled camera as a `vision.config.CameraConfig`, and the runner's reports set statuses.

Polygons (the region of interest, each lane's) are lists of [x, y] points normalised to 0..1 of the image, so a
drawing on a snapshot of any size fits the analysed frame; a form may send them as JSON text (the drawing page)
or as lists. Every change is recorded in the audit log and committed with it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.i18n import Text, t
from vision.config import READ_MODES, CameraConfig, DetectionSettings, Lane
from workflows.admin.audit import Acting, Target, record, register_actions
from workflows.cameras.models import Camera, CameraIncident, CameraStatusChange
from workflows.errors import CaseNotFoundError, IntakeError
from workflows.models import AdminUnit
from workflows.reference import Choice, places
from workflows.units import PLACE_KINDS

register_actions({
    "camera.create": t("create camera"),
    "camera.update": t("change camera"),
}, {"camera": t("camera")})

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,39}$")
URL_SCHEMES = ("rtsp", "rtsps", "http", "https", "file")
MAX_POINTS = 64
MAX_LANES = 12
MAX_REFERENCE_BYTES = 2 * 1024 * 1024
RUNNER_STATUSES = ("online", "offline", "faulty")


@dataclass
class CameraForm:
    """What an admin sends for a camera: texts as typed, units as codes chosen from the lists, polygons and
    settings as JSON (text or already read). Numbers may come as texts (an HTML form) or numbers."""

    code: str = ""
    name: str = ""
    name_en: str = ""
    admin_unit: str = ""  # an active place's code (ward, commune…)
    maintainer_unit: str = ""  # an active unit's code: who repairs the camera
    stream_url: str = ""
    read_mode: str = "stream"
    analysis_fps: Any = 2.0
    snapshot_interval_s: Any = 2.0
    lat: Any = None
    lon: Any = None
    address: str = ""
    roi: Any = None  # [[x, y], ...] or its JSON text; None/"" = the whole frame
    lanes: Any = field(default_factory=list)  # [{"name", "polygon", "direction": [dx, dy]}] or its JSON text
    settings: Any = field(default_factory=dict)  # DetectionSettings keys that differ from the defaults, or JSON
    enabled: bool = True
    reference_jpeg: bytes | None = None  # None: keep the stored one (update) / none (create)

    @classmethod
    def of(cls, camera: Camera) -> CameraForm:
        """The form filled with a stored camera (for an edit page)."""
        return cls(code=camera.code, name=camera.name, name_en=camera.name_en,
                   admin_unit=camera.admin_unit.code, maintainer_unit=camera.maintainer_unit.code,
                   stream_url=camera.stream_url, read_mode=camera.read_mode, analysis_fps=camera.analysis_fps,
                   snapshot_interval_s=camera.snapshot_interval_s, lat=camera.lat, lon=camera.lon,
                   address=camera.address, roi=camera.roi, lanes=list(camera.lanes or []),
                   settings=dict(camera.settings or {}), enabled=bool(camera.enabled))


@dataclass(frozen=True)
class CameraLine:
    """A camera as the registry's list shows it."""

    id: int
    code: str
    name: str
    name_en: str
    admin_unit_code: str
    admin_unit_name: str
    admin_unit_name_en: str
    maintainer_code: str
    maintainer_name: str
    maintainer_name_en: str
    read_mode: str
    enabled: bool
    status: str
    status_detail: str
    status_since: datetime | None
    fps: float | None
    lat: float | None
    lon: float | None
    false_alarms: int
    open_incidents: int

    def label(self, language: str) -> str:
        return self.name_en if language == "en" and self.name_en else self.name


def camera_state(camera: Camera) -> dict:
    """What the audit log keeps of a camera (the reference image by its size only)."""
    return {"code": camera.code, "name": camera.name, "name_en": camera.name_en,
            "admin_unit": camera.admin_unit.code if camera.admin_unit is not None else None,
            "maintainer_unit": camera.maintainer_unit.code if camera.maintainer_unit is not None else None,
            "stream_url": camera.stream_url, "read_mode": camera.read_mode, "analysis_fps": camera.analysis_fps,
            "snapshot_interval_s": camera.snapshot_interval_s, "lat": camera.lat, "lon": camera.lon,
            "address": camera.address, "roi": camera.roi, "lanes": camera.lanes, "settings": camera.settings,
            "enabled": bool(camera.enabled),
            "reference_jpeg": len(camera.reference_jpeg) if camera.reference_jpeg else None}


@dataclass(frozen=True)
class StatusSpell:
    """A while a camera kept one status: from `start` to `end` (None: it still has it)."""

    status: str
    detail: str
    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class StatusHistory:
    """A camera's spells since a moment, newest first, and the share of the known time it was online."""

    spells: list[StatusSpell]
    availability: float | None
    since: datetime


class CameraRegistry:
    """The cameras' administration and the runner's view of them; knows nothing of HTTP."""

    def __init__(self, session: Session, clock: Clock = SYSTEM_CLOCK):
        self.session = session
        self.clock = clock

    # ------------------------------------------------------------------ reading
    def list(self, enabled_only: bool = False) -> list[CameraLine]:
        """Every camera by code, with its units, status, false alarms and open incidents (still seen, case open)."""
        from workflows.models import Case  # the case table: an open incident is not cleared and its case not closed

        open_counts = dict(self.session.execute(
            select(CameraIncident.camera_id, func.count()).join(Case, Case.id == CameraIncident.case_id)
            .where(Case.status.not_in(("closed", "rejected", "merged")), CameraIncident.state != "cleared")
            .group_by(CameraIncident.camera_id)).all())
        query = select(Camera).order_by(Camera.code)
        if enabled_only:
            query = query.where(Camera.enabled.is_(True))
        out = []
        for c in self.session.scalars(query):
            out.append(CameraLine(
                c.id, c.code, c.name, c.name_en, c.admin_unit.code, c.admin_unit.name,
                c.admin_unit.name_en or c.admin_unit.name, c.maintainer_unit.code, c.maintainer_unit.name,
                c.maintainer_unit.name_en or c.maintainer_unit.name, c.read_mode, bool(c.enabled), c.status,
                c.status_detail, c.status_since, c.fps, c.lat, c.lon, c.false_alarms or 0, open_counts.get(c.id, 0)))
        return out

    def get(self, code: str) -> Camera:
        """One camera by its code, or CaseNotFoundError."""
        camera = self.session.scalar(select(Camera).where(Camera.code == (code or "")))
        if camera is None:
            raise CaseNotFoundError(t("no camera %(code)s", code=code))
        return camera

    def places(self) -> list[Choice]:
        """The places a camera may stand in (active wards, communes, the province)."""
        return places(self.session)

    def maintainers(self) -> list[Choice]:
        """The units that may maintain a camera (every active unit that is a body, not a place), by name."""
        rows = self.session.execute(select(AdminUnit.code, AdminUnit.name, AdminUnit.name_en)
                                    .where(AdminUnit.active.is_(True), AdminUnit.kind.not_in(sorted(PLACE_KINDS)))
                                    .order_by(AdminUnit.name)).all()
        return [Choice(*row) for row in rows]

    @staticmethod
    def read_modes() -> tuple[str, ...]:
        return READ_MODES

    def config(self, camera: Camera) -> CameraConfig:
        """The camera as the vision pipeline reads it."""
        return CameraConfig(
            code=camera.code, url=camera.stream_url, read_mode=camera.read_mode,
            analysis_fps=float(camera.analysis_fps), snapshot_interval_s=float(camera.snapshot_interval_s),
            roi=tuple((float(x), float(y)) for x, y in camera.roi) if camera.roi else None,
            lanes=tuple(Lane.from_dict(lane) for lane in camera.lanes or []),
            settings=DetectionSettings.from_dict(camera.settings or {}), reference=camera.reference_jpeg)

    def configs(self) -> list[CameraConfig]:
        """Every enabled camera's configuration, by code (what the runner watches)."""
        return [self.config(c) for c in self.session.scalars(
            select(Camera).where(Camera.enabled.is_(True)).order_by(Camera.code))]

    def false_alarms(self) -> dict[str, int]:
        """Per camera code, the cases operators judged false alarms (counted from the incidents' verdicts: the
        incidents that joined one case count once, as Camera.false_alarms does)."""
        rows = self.session.execute(select(Camera.code, func.count(CameraIncident.case_id.distinct()))
                                    .join(CameraIncident, CameraIncident.camera_id == Camera.id)
                                    .where(CameraIncident.verdict == "false_alarm").group_by(Camera.code)).all()
        return dict(rows)

    # ------------------------------------------------------------------ changing
    def create(self, actor: Acting, form: CameraForm, note: str = "") -> Camera:
        """A new camera, every field checked (IntakeError naming each wrong field; nothing stored then)."""
        values = self._check(form, existing=None)
        now = self.clock.now()
        camera = Camera(**values, status="unknown", status_detail="", false_alarms=0,
                        created_by=actor.username[:120], created_at=now, updated_by=actor.username[:120],
                        updated_at=now)
        self.session.add(camera)
        self.session.flush()
        record(self.session, actor, "camera.create", Target("camera", camera.id, camera.code), None,
               camera_state(camera), note, self.clock)
        self.session.commit()
        return camera

    def update(self, actor: Acting, code: str, form: CameraForm, note: str = "") -> Camera:
        """Change a camera (its code included, when free); IntakeError naming each wrong field."""
        camera = self.get(code)
        before = camera_state(camera)
        values = self._check(form, existing=camera)
        if values.get("reference_jpeg") is None:
            values.pop("reference_jpeg", None)  # not sent: the stored view stays
        for key, value in values.items():
            setattr(camera, key, value)
        camera.updated_by, camera.updated_at = actor.username[:120], self.clock.now()
        self.session.flush()
        self.session.expire(camera, ["admin_unit", "maintainer_unit"])
        record(self.session, actor, "camera.update", Target("camera", camera.id, camera.code), before,
               camera_state(camera), note, self.clock)
        self.session.commit()
        return camera

    def set_status(self, code: str, status: str, detail: str, at: datetime, fps: float | None = None) -> Camera:
        """The runner's report of a camera: status and detail (a message key), since when, frames per second.
        The caller commits (the sink does)."""
        if status not in RUNNER_STATUSES:
            raise ValueError(f"camera status must be one of {', '.join(RUNNER_STATUSES)}, got {status!r}")
        camera = self.get(code)
        if camera.status != status or camera.status_since is None:
            camera.status_since = at
            self.session.add(CameraStatusChange(camera_id=camera.id, at=at, status=status, detail=(detail or "")[:40]))
        camera.status, camera.status_detail = status, (detail or "")[:40]
        camera.status_at = at
        if fps is not None and math.isfinite(fps):
            camera.fps = round(float(fps), 2)
        elif status == "offline":
            camera.fps = 0.0
        return camera

    def history(self, camera: Camera, since: datetime, limit: int = 200) -> StatusHistory:
        """The camera's status spells from `since` to now, newest first (at most `limit`), and the share of that
        time it was online (None when nothing was recorded in it)."""
        now = self.clock.now()
        changes = self.session.scalars(select(CameraStatusChange).where(
            CameraStatusChange.camera_id == camera.id, CameraStatusChange.at >= since)
            .order_by(CameraStatusChange.at.desc(), CameraStatusChange.id.desc()).limit(limit)).all()
        before = self.session.scalar(select(CameraStatusChange).where(
            CameraStatusChange.camera_id == camera.id, CameraStatusChange.at < since)
            .order_by(CameraStatusChange.at.desc(), CameraStatusChange.id.desc()).limit(1))
        spells: list[StatusSpell] = []
        end: datetime | None = None  # the newest spell goes on
        for change in changes:
            spells.append(StatusSpell(change.status, change.detail, change.at, end))
            end = change.at
        if before is not None:
            spells.append(StatusSpell(before.status, before.detail, before.at, end))
        counted = [(max(s.start, since), s.end or now, s.status) for s in spells]
        known = sum((b - a).total_seconds() for a, b, status in counted if status != "unknown")
        online = sum((b - a).total_seconds() for a, b, status in counted if status == "online")
        return StatusHistory(spells, round(online / known, 4) if known > 0 else None, since)

    # ------------------------------------------------------------------ the checks
    def _check(self, form: CameraForm, existing: Camera | None) -> dict:
        errors: dict[str, Text] = {}
        out: dict[str, Any] = {}
        code = (form.code or "").strip()
        if not _CODE.match(code):
            errors["code"] = t("2 to 40 letters, digits, '.', '_' or '-', e.g. BMT-LD-01")
        else:
            other = self.session.scalar(select(Camera.id).where(func.lower(Camera.code) == code.lower()))
            if other is not None and (existing is None or other != existing.id):
                errors["code"] = t("a camera with this code exists; choose another")
        out["code"] = code
        for key in ("name", "name_en"):
            value = (getattr(form, key) or "").strip()
            if not value:
                errors[key] = t("required")
            elif len(value) > 255:
                errors[key] = t("at most 255 characters; shorten it")
            out[key] = value
        address = (form.address or "").strip()
        if len(address) > 500:
            errors["address"] = t("at most %(n)s characters; shorten it", n=500)
        out["address"] = address
        for key, column, code, is_place, message in (
                ("admin_unit", "admin_unit_id", form.admin_unit, True, t("choose a place from the list")),
                ("maintainer_unit", "maintainer_unit_id", form.maintainer_unit, False, t("choose a unit from the list"))):
            kinds = AdminUnit.kind.in_(sorted(PLACE_KINDS)) if is_place else AdminUnit.kind.not_in(sorted(PLACE_KINDS))
            unit_id = self.session.scalar(select(AdminUnit.id).where(AdminUnit.code == (code or ""),
                                                                     AdminUnit.active.is_(True), kinds))
            if unit_id is None:
                errors[key] = message
            else:
                out[column] = unit_id
        url = (form.stream_url or "").strip()
        problem = _url_problem(url)
        if problem is not None:
            errors["stream_url"] = problem
        out["stream_url"] = url
        if form.read_mode not in READ_MODES:
            errors["read_mode"] = t("choose one of the listed read modes")
        out["read_mode"] = form.read_mode
        fps = _number(form.analysis_fps, errors, "analysis_fps", 0.1, 25, t("frames per second"))
        interval = _number(form.snapshot_interval_s, errors, "snapshot_interval_s", 0.5, 3600, t("seconds"))
        out["analysis_fps"], out["snapshot_interval_s"] = fps, interval
        lat = _number(form.lat, errors, "lat", -90, 90, t("degrees"), required=False)
        lon = _number(form.lon, errors, "lon", -180, 180, t("degrees"), required=False)
        if (lat is None) != (lon is None) and "lat" not in errors and "lon" not in errors:
            errors["lat" if lat is None else "lon"] = t("give both the latitude and the longitude, or neither")
        out["lat"], out["lon"] = lat, lon
        out["roi"] = _roi(form.roi, errors)
        out["lanes"] = _lanes(form.lanes, errors)
        out["settings"] = _settings(form.settings, errors)
        out["enabled"] = bool(form.enabled)
        reference = form.reference_jpeg
        if reference is not None:
            if not reference.startswith(b"\xff\xd8") or len(reference) > MAX_REFERENCE_BYTES:
                errors["reference_jpeg"] = t("the reference view must be a JPEG of at most 2 MB")
        out["reference_jpeg"] = reference
        if errors:
            raise IntakeError(errors)
        return out


def _url_problem(url: str) -> Text | None:
    if not url:
        return t("required")
    if len(url) > 2000:
        return t("at most %(n)s characters; shorten it", n=2000)
    if url.startswith("/"):
        return None  # a file on the vision server (for testing)
    parts = urlsplit(url)
    if parts.scheme.lower() not in URL_SCHEMES:
        return t("a stream URL starts with rtsp://, rtsps://, http://, https:// or file://, e.g. "
                 "rtsp://10.0.0.5:554/stream1")
    if parts.scheme.lower() != "file" and not parts.hostname:
        return t("the URL names no host, e.g. rtsp://10.0.0.5:554/stream1")
    if parts.scheme.lower() == "file" and not parts.path:
        return t("a file URL names a file, e.g. file:///srv/videos/camera1.mp4")
    return None


def _number(value: Any, errors: dict, key: str, low: float, high: float, unit: Text,
            required: bool = True) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[key] = t("required")
        return None
    try:
        number = float(str(value).strip().replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        errors[key] = t("a number, e.g. %(example)s", example=low if low > 0 else high / 2)
        return None
    if isinstance(value, bool) or not math.isfinite(number) or not low <= number <= high:
        errors[key] = t("between %(low)s and %(high)s %(unit)s", low=low, high=high, unit=unit)
        return None
    return number


def _json(value: Any, errors: dict, key: str) -> tuple[bool, Any]:
    if isinstance(value, str):
        if not value.strip():
            return True, None
        try:
            return True, json.loads(value)
        except json.JSONDecodeError as exc:
            errors[key] = t("not JSON: %(reason)s at column %(column)s", reason=exc.msg, column=exc.colno)
            return False, None
    return True, value


def _polygon(value: Any, what: Text | str) -> tuple[list[list[float]] | None, Text | None]:
    if not isinstance(value, (list, tuple)):
        return None, t("%(what)s: a list of [x, y] points", what=what)
    if not 3 <= len(value) <= MAX_POINTS:
        return None, t("%(what)s: between 3 and %(max)s points, got %(count)s", what=what, max=MAX_POINTS,
                       count=len(value))
    points = []
    for i, point in enumerate(value, 1):
        if (not isinstance(point, (list, tuple)) or len(point) != 2
                or any(isinstance(c, bool) or not isinstance(c, (int, float)) or not math.isfinite(c) for c in point)):
            return None, t("%(what)s: point %(n)s is not a pair of numbers [x, y]", what=what, n=i)
        x, y = float(point[0]), float(point[1])
        if not (0 <= x <= 1 and 0 <= y <= 1):
            return None, t("%(what)s: point %(n)s lies outside the image (x and y go from 0 to 1)", what=what, n=i)
        points.append([round(x, 5), round(y, 5)])
    if _area(points) < 1e-4:
        return None, t("%(what)s: the points enclose no area", what=what)
    return points, None


def _area(points: list[list[float]]) -> float:
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True))) / 2


def _roi(value: Any, errors: dict) -> list | None:
    ok, value = _json(value, errors, "roi")
    if not ok or value is None or value == []:
        return None
    points, problem = _polygon(value, t("region of interest"))
    if problem is not None:
        errors["roi"] = problem
    return points


def _lanes(value: Any, errors: dict) -> list:
    ok, value = _json(value, errors, "lanes")
    if not ok or value is None:
        return []
    if not isinstance(value, list):
        errors["lanes"] = t("a list of lanes")
        return []
    if len(value) > MAX_LANES:
        errors["lanes"] = t("at most %(max)s lanes", max=MAX_LANES)
        return []
    lanes, names = [], set()
    for i, lane in enumerate(value, 1):
        if not isinstance(lane, dict) or set(lane) - {"name", "polygon", "direction"}:
            errors["lanes"] = t("lane %(n)s: an object with a name, a polygon and a direction", n=i)
            return []
        name = lane.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 40:
            errors["lanes"] = t("lane %(n)s: a name of 1 to 40 characters", n=i)
            return []
        name = name.strip()
        if name in names:
            errors["lanes"] = t("lane %(n)s: another lane is named %(name)s", n=i, name=name)
            return []
        names.add(name)
        polygon, problem = _polygon(lane.get("polygon"), t("lane %(name)s", name=name))
        if problem is not None:
            errors["lanes"] = problem
            return []
        direction = lane.get("direction")
        if (not isinstance(direction, (list, tuple)) or len(direction) != 2
                or any(isinstance(c, bool) or not isinstance(c, (int, float)) or not math.isfinite(c)
                       for c in direction)):
            errors["lanes"] = t("lane %(name)s: the direction is a pair of numbers [dx, dy]", name=name)
            return []
        length = math.hypot(*direction)
        if length < 1e-6:
            errors["lanes"] = t("lane %(name)s: draw the direction of the traffic (it is zero)", name=name)
            return []
        lanes.append({"name": name, "polygon": polygon,
                      "direction": [round(direction[0] / length, 5), round(direction[1] / length, 5)]})
    return lanes


def _settings(value: Any, errors: dict) -> dict:
    ok, value = _json(value, errors, "settings")
    if not ok or value is None:
        return {}
    try:
        settings = DetectionSettings.from_dict(value)
    except (ValueError, TypeError) as exc:
        errors["settings"] = t("detection settings: %(reason)s", reason=str(exc))
        return {}
    defaults = DetectionSettings().to_dict()
    return {k: v for k, v in settings.to_dict().items() if v != defaults[k]}  # only what differs is kept
