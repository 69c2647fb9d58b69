"""The registry's list and a camera's form: administrators add and change cameras (every field checked again on
the server, a refused form comes back with what was typed and a message under each wrong field); operators read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from vision.config import DetectionSettings
from webapp.blueprints.cameras import EDITORS, READ_MODES, STATUSES, VIEWERS, bp, detail_words, registry
from webapp.extensions import db
from webapp.i18n import reader_language, translate
from webapp.runtime import runtime
from webapp.security import require
from workflows.cameras.failures import waiting_count
from workflows.cameras.registry import CameraForm
from workflows.errors import CaseNotFoundError, IntakeError

TEXT_FIELDS = ("code", "name", "name_en", "admin_unit", "maintainer_unit", "stream_url", "read_mode",
               "analysis_fps", "snapshot_interval_s", "lat", "lon", "address")
DEFAULTS = DetectionSettings()


@dataclass(frozen=True)
class Setting:
    """One detection setting on the form: its key in DetectionSettings, label, unit, and how it is typed
    ("bool", "seconds", "share" typed in per cent, "number", "path")."""

    key: str
    label: Any
    kind: str
    hint: Any = ""

    def default_text(self) -> str:
        """The default as the form shows it."""
        return _typed(self, getattr(DEFAULTS, self.key))


SETTING_GROUPS: list[tuple[Any, list[Setting]]] = [
    (_l("Stopped vehicle"), [
        Setting("stopped_enabled", _l("Detect stopped vehicles"), "bool"),
        Setting("stopped_after_s", _l("Still for at least"), "seconds",
                _l("a vehicle standing in a lane this long is reported")),
    ]),
    (_l("Congestion"), [
        Setting("congestion_enabled", _l("Detect congestion"), "bool"),
        Setting("congestion_window_s", _l("Observed over"), "seconds", _l("the window occupancy and speed are averaged over")),
        Setting("congestion_occupancy_on", _l("Raised above occupancy"), "share", _l("share of the lane covered by vehicles")),
        Setting("congestion_occupancy_off", _l("Cleared below occupancy"), "share",
                _l("lower than the level that raises it, so one jam is one incident")),
        Setting("congestion_speed_on", _l("Raised below speed"), "number",
                _l("lane lengths per second along the road: 0.03 is about 2 m/s on a 70 m lane")),
    ]),
    (_l("Camera faults"), [
        Setting("faults_enabled", _l("Detect camera faults"), "bool"),
        Setting("no_frames_after_s", _l("No picture for"), "seconds"),
        Setting("frozen_after_s", _l("Frozen picture for"), "seconds"),
        Setting("covered_after_s", _l("Covered lens for"), "seconds"),
        Setting("defocus_after_s", _l("Out of focus for"), "seconds"),
        Setting("moved_after_s", _l("Turned away for"), "seconds", _l("compared with the reference view")),
    ]),
    (_l("Incidents and evidence"), [
        Setting("cooldown_s", _l("Quiet time after an incident cleared"), "seconds",
                _l("the same kind is not raised again sooner")),
        Setting("clip_before_s", _l("Clip: seconds before"), "seconds"),
        Setting("clip_after_s", _l("Clip: seconds after"), "seconds"),
        Setting("min_confidence", _l("Lowest confidence reported"), "share"),
        Setting("detector_model", _l("Detector model (ONNX file on the vision server)"), "path",
                _l("empty: off (the built-in detectors only)")),
    ]),
]
SETTINGS = {s.key: s for _, group in SETTING_GROUPS for s in group}
assert set(SETTINGS) == {f.name for f in fields(DetectionSettings)}, "every detection setting has its field"


def _typed(setting: Setting, value: Any) -> str:
    """A setting's value as typed in the form (shares in per cent)."""
    if setting.kind == "bool":
        return "1" if value else ""
    if value is None:
        return ""
    if setting.kind == "share":
        value = value * 100
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _can_edit() -> bool:
    return g.actor.has_role(*EDITORS)


# ---------------------------------------------------------------------- the form as typed
def _values_of(form: CameraForm) -> dict[str, str]:
    """What the form's inputs show for a stored camera (or a new one)."""
    values = {k: "" if getattr(form, k) is None else str(getattr(form, k)) for k in TEXT_FIELDS}
    for key in ("analysis_fps", "snapshot_interval_s"):
        number = getattr(form, key)
        values[key] = f"{float(number):g}" if isinstance(number, (int, float)) else values[key]
    values["enabled"] = "1" if form.enabled else ""
    stored = DetectionSettings.from_dict(form.settings or {})
    for key, setting in SETTINGS.items():
        values[f"s_{key}"] = _typed(setting, getattr(stored, key))
    return values


def _posted() -> dict[str, str]:
    """The inputs as typed (bounded), nothing dropped: a refused form shows them again."""
    values = {k: (request.form.get(k) or "").strip()[:2000] for k in TEXT_FIELDS}
    values["enabled"] = "1" if request.form.get("enabled") else ""
    for key, setting in SETTINGS.items():
        name = f"s_{key}"
        values[name] = ("1" if request.form.get(name) else "") if setting.kind == "bool" else \
            (request.form.get(name) or "").strip()[:500]
    return values


def _settings_of(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The detection settings typed in the form, and a message per setting that cannot be one: each value alone
    (so the message sits under its field), then together through DetectionSettings' own rules."""
    settings: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, setting in SETTINGS.items():
        text = values.get(f"s_{key}", "")
        if setting.kind == "bool":
            settings[key] = bool(text)
            continue
        if setting.kind == "path":
            settings[key] = text or None
            continue
        if not text:  # left empty: the default (the form says which)
            settings[key] = getattr(DEFAULTS, key)
            continue
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            errors[key] = _("a number, such as %(value)s", value=setting.default_text())
            continue
        if not math.isfinite(number):
            errors[key] = _("a number, such as %(value)s", value=setting.default_text())
            continue
        number = number / 100 if setting.kind == "share" else number
        if setting.kind == "share" and not 0 <= number <= 1:
            errors[key] = _("between 0 and 100 %")
        elif setting.kind == "number" and number < 0:
            errors[key] = _("0 or more")
        elif setting.kind == "seconds" and key in _MAY_BE_ZERO and number < 0:
            errors[key] = _("0 seconds or more")
        elif setting.kind == "seconds" and key not in _MAY_BE_ZERO and number <= 0:
            errors[key] = _("more than 0 seconds")
        else:
            settings[key] = number
    if not errors:
        try:
            DetectionSettings(**settings)
        except ValueError as exc:
            if "occupancy_off" in str(exc):
                errors["congestion_occupancy_off"] = _("must not be above the occupancy that raises congestion")
            elif "clip" in str(exc):
                errors["clip_after_s"] = _("a clip lasts at most 60 seconds (before + after)")
            else:  # a rule added to vision.config after this page: its own words
                errors["congestion_enabled"] = str(exc)
    return settings, errors


_MAY_BE_ZERO = ("cooldown_s", "clip_before_s", "clip_after_s")


def _camera_form(values: dict[str, str], settings: Any, roi: Any = None, lanes: Any = None) -> CameraForm:
    return CameraForm(**{k: values[k] for k in TEXT_FIELDS}, enabled=bool(values["enabled"]), settings=settings,
                      roi=roi, lanes=lanes if lanes is not None else [])


def _form_page(template: str, values: dict[str, str], errors: dict[str, str] | None = None, status: int = 200,
               **extra: Any):
    service = registry()
    language = reader_language()
    config = current_app.config
    camera = extra.get("camera")
    if camera is not None:
        extra.update(status_words=STATUSES.get(camera.status, camera.status), detail=detail_words(camera.status_detail),
                     fps=_fps(camera.fps))
    return render_template(
        template, values=values, errors=errors or {}, language=language, can_edit=_can_edit(),
        places=[(c.code, c.label(language)) for c in service.places()],
        maintainers=[(c.code, c.label(language)) for c in service.maintainers()],
        read_modes=READ_MODES, setting_groups=SETTING_GROUPS, map_tiles=config.get("MAP_TILES_URL") or "",
        map_attribution=config.get("MAP_ATTRIBUTION") or "", **extra), status


def _save(code: str | None):
    """Create (code None) or update a camera from the posted form; the form again with every problem."""
    values = _posted()
    settings, setting_errors = _settings_of(values)
    service = registry()
    camera = None
    if code is not None:
        camera = _camera(code)
        # The drawing page owns the region and lanes: the form keeps what is stored.
        roi, lanes = camera.roi, list(camera.lanes or [])
    else:
        roi, lanes = None, []
    # With a setting refused here, the registry still checks every other field (so all problems show at
    # once), and it cannot store: its settings field is given something it refuses ("!" is no JSON).
    form = _camera_form(values, "!" if setting_errors else settings, roi, lanes)
    try:
        saved = service.update(g.actor, camera.code, form) if camera is not None else service.create(g.actor, form)
    except IntakeError as exc:
        db.session.rollback()
        errors = {k: translate(v) for k, v in exc.fields.items()}
        if setting_errors:
            errors.pop("settings", None)
        errors.update({f"s_{k}": v for k, v in setting_errors.items()})
        template = "cameras/edit.html" if camera is not None else "cameras/new.html"
        return _form_page(template, values, errors, 400, camera=camera)
    flash(_("Camera %(code)s saved.", code=saved.code) if camera is not None
          else _("Camera %(code)s added; now draw what it watches.", code=saved.code))
    if camera is None:
        return redirect(url_for("cameras.regions", code=saved.code), 303)
    return redirect(url_for("cameras.edit", code=saved.code), 303)


def _camera(code: str):
    try:
        return registry().get(code[:40])
    except CaseNotFoundError:
        abort(404)


def _fps(value: float | None) -> str | None:
    """Frames per second as the reader writes numbers (1,9 in Vietnamese), or None when unknown."""
    return None if value is None else format_decimal(round(float(value), 1), format="#,##0.0")


def _health() -> dict[str, dict]:
    """What the vision workers last said of each camera (Redis, through vision.runner, or the server's own vision
    thread: webapp/vision_thread.py), by code; empty when there is neither or Redis does not answer: the
    registry's own figures stand then."""
    from webapp.vision_thread import vision_report

    try:
        report = vision_report(current_app._get_current_object())
    except Exception:  # noqa: BLE001 - the list shows without the live figures, and says so
        current_app.logger.warning("camera health could not be read from Redis", exc_info=True)
        return {"_unavailable": {}}
    if report is None:
        return {}
    return {code: info for code, info in (report.get("cameras") or {}).items() if isinstance(info, dict)}


# ---------------------------------------------------------------------- pages
@bp.get("/")
@require(*VIEWERS)
def index():
    """Every camera: code, name, place, read mode, status since when and why, frames analysed per second, false
    alarms, open incidents."""
    health = _health()
    language = reader_language()
    rows = []
    for line in registry().list():
        live = health.get(line.code) or {}
        fps = live.get("fps", line.fps)
        try:
            fps = float(fps) if fps is not None else None
        except (TypeError, ValueError):
            fps = None
        rows.append({"line": line, "name": line.label(language),
                     "place": line.admin_unit_name_en if language == "en" else line.admin_unit_name,
                     "status": STATUSES.get(line.status, line.status), "detail": detail_words(line.status_detail),
                     "fps": _fps(fps), "worker": live.get("worker")})
    return render_template("cameras/index.html", rows=rows, can_edit=_can_edit(), read_modes=READ_MODES,
                           health_unavailable="_unavailable" in health, waiting_count=waiting_count(db.session))


@bp.route("/new", methods=["GET", "POST"])
@require(*EDITORS)
def new():
    """Add a camera; a refused form comes back with every problem and what was typed."""
    if request.method == "POST":
        return _save(None)
    return _form_page("cameras/new.html", _values_of(CameraForm()), camera=None)


@bp.route("/<code>", methods=["GET", "POST"])
@require(*VIEWERS)
def edit(code: str):
    """A camera's form (read only for operators) with its status."""
    if request.method == "POST":
        if not _can_edit():
            abort(403)
        return _save(code)
    camera = _camera(code)
    return _form_page("cameras/edit.html", _values_of(CameraForm.of(camera)), camera=camera)


HISTORY_DAYS = 7


@bp.get("/<code>/history")
@require(*VIEWERS)
def history(code: str):
    """The camera's status over the last days: each spell online, offline or faulty with why and how long, and
    the share of the time it was online (for its maintainers: a camera that drops out often)."""
    camera = _camera(code)
    now = runtime().clock.now()
    found = registry().history(camera, now - timedelta(days=HISTORY_DAYS))
    availability = (format_percent(found.availability, "#,##0.0%") if found.availability is not None else None)
    return render_template("cameras/history.html", camera=camera, history=found, days=HISTORY_DAYS, now=now,
                           availability=availability, statuses=STATUSES, words=detail_words,
                           status_words=STATUSES.get(camera.status, camera.status),
                           detail=detail_words(camera.status_detail))
