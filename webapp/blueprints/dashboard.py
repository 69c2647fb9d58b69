"""The operations dashboard: open cases by channel, status and unit, deadlines, new cases, a map."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.routing import BuildError

from webapp.extensions import db
from webapp.i18n import translate
from webapp.runtime import runtime
from webapp.security import actor, require
from workflows.cameras.views import CameraViews
from workflows.case_view import CHANNEL_LABELS, STATUS_LABELS
from workflows.dashboard import MAP_MARKERS, Dashboard, DashboardService

bp = Blueprint("dashboard", __name__)


def _service() -> DashboardService:
    rt = runtime()
    return DashboardService(db.session, rt.clock, rt.timezone)


def _local(moment, fmt: str = "%H:%M %d/%m") -> str:
    return current_app.jinja_env.filters["local"](moment, fmt)


def _case_url(code: str) -> str | None:
    """The case page, once the cases blueprint offers one."""
    try:
        return url_for("cases.case", code=code)
    except BuildError:
        return None


def _data(figures: Dashboard, with_map: bool) -> dict[str, Any]:
    """The figures as the page's script reads them: labels already in the reader's language."""
    english = get_locale().language == "en"
    data: dict[str, Any] = {
        "updated": _local(figures.now, "%H:%M:%S"),
        "totals": {"open": figures.open_total, "overdue": figures.overdue, "due_soon": figures.due_soon,
                   "new_today": figures.new_today},
        "by_channel": [{"key": k, "label": translate(CHANNEL_LABELS.get(k, k)), "count": n}
                       for k, n in figures.by_channel.items()],
        "by_status": [{"key": k, "label": translate(STATUS_LABELS.get(k, k)), "count": n}
                      for k, n in figures.by_status.items()],
        "by_unit": [{"code": u.code, "label": (u.name_en if english and u.name_en else u.name) or _("Not routed yet"),
                     "open": u.open, "overdue": u.overdue} for u in figures.by_unit],
        "latest": [{"code": c.code, "url": _case_url(c.code), "channel": translate(CHANNEL_LABELS.get(c.channel, c.channel)),
                    "category": c.category_en if english and c.category_en else c.category,
                    "place": c.place_en if english and c.place_en else c.place,
                    "status": translate(STATUS_LABELS.get(c.status, c.status)), "status_key": c.status,
                    "received": _local(c.received_at)} for c in figures.latest],
    }
    if with_map:
        points = _service().map_points(actor())
        snapshots = CameraViews(db.session).snapshots(p.code for p in points)  # camera cases: their picture
        data["map"] = {"limit": MAP_MARKERS, "points": [
            {"code": p.code, "lat": p.lat, "lon": p.lon, "url": _case_url(p.code), "overdue": p.overdue,
             "priority": p.priority, "status": translate(STATUS_LABELS.get(p.status, p.status)),
             "category": p.category_en if english and p.category_en else p.category,
             "snapshot": _snapshot_url(p.code, snapshots.get(p.code))} for p in points]}
    return data


def _snapshot_url(code: str, found: tuple[int, bool] | None) -> str | None:
    """The small picture of a camera case's snapshot (the case pages serve it, checking the reader's view)."""
    if found is None:
        return None
    attachment_id, has_thumbnail = found
    return url_for("cases.thumbnail" if has_thumbnail else "cases.attachment", code=code, attachment_id=attachment_id)


@bp.get("/dashboard/")
@require(official=True)
def index():
    """The dashboard page: figures rendered on the server, the map and live refresh by script."""
    figures = _service().figures(actor())
    return render_template("dashboard/index.html", figures=figures, data=_data(figures, with_map=False),
                           tiles=current_app.config.get("MAP_TILES_URL") or "",
                           attribution=current_app.config.get("MAP_ATTRIBUTION") or "")


@bp.get("/dashboard/data.json")
@require(official=True)
def data():
    """The figures and the newest cases as JSON (with the map's markers when ?map=1), for the live refresh."""
    figures = _service().figures(actor())
    response = jsonify(_data(figures, with_map=request.args.get("map") == "1"))
    response.headers["Cache-Control"] = "no-store"  # figures of one user's units, always fresh
    return response
