"""Camera incidents whose case could not be opened: why, in words a person reads, and when to try again.

When `CameraIncidents` cannot open the case of a raised incident (the case category or the place switched off, the
process not deployed, the database refusing the row…), the incident is not lost in the runner's memory: its
camera_incident row is written without a case, with the failure as a message key and its parameters, the number
of tries, the last one and the next automatic one. Tries follow a doubling back-off (RETRY_BASE_S up to
RETRY_MAX_S); after GIVE_UP_AFTER tries none is planned and the row waits for a person, who retries it now or
dismisses it with a note on the cameras' page "Incidents without a case" (both audited).

`describe(exc)` turns an exception into (key, params); `reason(row)` gives the Text the page translates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from engine.i18n import Text, from_json, t, to_json
from workflows.admin.audit import register_actions
from workflows.cameras.models import DISMISSED, Camera, CameraIncident
from workflows.errors import IntakeError

RETRY_BASE_S = 30.0
RETRY_MAX_S = 3600.0
GIVE_UP_AFTER = 12  # tries (about 6 h with the back-off above); then a person decides

REASONS: dict[str, Text] = {
    "category_missing": t("the case category %(category)s does not exist or is switched off: restore it in the "
                          "administration console (categories), then retry"),
    "place_missing": t("the camera's place %(place)s does not exist or is switched off: restore it in the "
                       "administration console (units) or correct the camera, then retry"),
    "case_refused": t("the case was refused: %(problems)s"),
    "process_failed": t("the camera incident process could not start (%(error)s): deploy bpmn/camera_incident.bpmn, "
                        "then retry"),
    "database": t("the database refused the case (%(error)s)"),
    "camera_missing": t("the camera %(camera)s is no longer in the registry"),
    "unexpected": t("an unexpected error: %(error)s"),
}

register_actions({"camera_incident.retry": t("retry a camera incident"),
                  "camera_incident.dismiss": t("dismiss a camera incident")},
                 {"camera_incident": t("camera incident")})


def retry_delay(attempts: int) -> timedelta:
    """The wait after the attempts-th failed try: 30 s, 1 min, 2 min… up to an hour."""
    return timedelta(seconds=min(RETRY_MAX_S, RETRY_BASE_S * 2 ** max(attempts - 1, 0)))


def next_try(attempts: int, now: datetime) -> datetime | None:
    """When to try again after `attempts` failed tries (None once GIVE_UP_AFTER is reached)."""
    return None if attempts >= GIVE_UP_AFTER else now + retry_delay(attempts)


def _short(exc: BaseException, limit: int = 300) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return (f"{type(exc).__name__}: {text[0] if text else ''}")[:limit]


def describe(exc: BaseException, category: str = "", place: str = "") -> tuple[str, dict[str, Any]]:
    """The failure key of an exception raised while opening a camera case, with its parameters (JSON)."""
    cause = exc.__cause__ if isinstance(exc, CaseOpenError) else exc
    if isinstance(cause, IntakeError):
        if "category" in cause.fields:
            return "category_missing", {"category": category}
        if "admin_unit" in cause.fields:
            return "place_missing", {"place": place}
        return "case_refused", {"problems": "; ".join(f"{k}: {v}" for k, v in cause.fields.items())[:500]}
    if isinstance(cause, DBAPIError):
        return "database", {"error": _short(cause)}
    module = type(cause).__module__ or ""
    if module.startswith("engine") or "process" in type(cause).__name__.lower():
        return "process_failed", {"error": _short(cause)}
    return "unexpected", {"error": _short(cause)}


def reason(key: str | None, params: dict | None) -> Text | str:
    """The failure in words (a Text to translate; an unknown key as stored)."""
    if not key:
        return ""
    template = REASONS.get(key)
    if template is None:
        return key
    values = {k: from_json(v) for k, v in (params or {}).items()}
    for name in ("category", "place", "problems", "error", "camera"):
        values.setdefault(name, "")
    return Text(template.msgid, values)


class CaseOpenError(RuntimeError):
    """A camera incident's case could not be opened; the original error is its __cause__."""


@dataclass(frozen=True)
class Waiting:
    """One incident without a case, as the page lists it."""

    row: CameraIncident
    camera: Camera

    @property
    def reason(self) -> Text | str:
        return reason(self.row.failure, self.row.failure_params)

    @property
    def stopped(self) -> bool:
        """No automatic try planned: a person decides."""
        return self.row.retry_at is None


def waiting_filter():
    """Rows whose case is still to be opened (not dismissed)."""
    return (CameraIncident.case_id.is_(None), CameraIncident.failure.is_not(None),
            func.coalesce(CameraIncident.verdict, "") != DISMISSED)


def waiting(session: Session, limit: int = 200) -> list[Waiting]:
    """The incidents waiting for their case, newest first."""
    rows = session.execute(select(CameraIncident, Camera).join(Camera, Camera.id == CameraIncident.camera_id)
                           .where(*waiting_filter())
                           .order_by(CameraIncident.raised_at.desc(), CameraIncident.id.desc()).limit(limit)).all()
    return [Waiting(row, camera) for row, camera in rows]


def waiting_count(session: Session) -> int:
    """How many incidents wait for their case."""
    return session.scalar(select(func.count()).select_from(CameraIncident).where(*waiting_filter())) or 0


def dismissed(session: Session, limit: int = 20) -> list[Waiting]:
    """The latest incidents set aside without a case, with who did it and the note."""
    rows = session.execute(select(CameraIncident, Camera).join(Camera, Camera.id == CameraIncident.camera_id)
                           .where(CameraIncident.case_id.is_(None), CameraIncident.verdict == DISMISSED)
                           .order_by(CameraIncident.verdict_at.desc(), CameraIncident.id.desc()).limit(limit)).all()
    return [Waiting(row, camera) for row, camera in rows]


def params_json(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as the JSON column keeps them (Text and Named kept translatable)."""
    return {k: to_json(v) for k, v in params.items()}
