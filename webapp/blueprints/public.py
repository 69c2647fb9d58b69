"""Published resolutions (list, map, before/after photos), ratings, and units performance: no personal data."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from webapp.extensions import db, limiter
from webapp.i18n import reader_language, translate
from webapp.params import page_number as page_arg
from webapp.runtime import runtime
from webapp.security import current_actor
from workflows.errors import CaseNotFoundError
from workflows.performance import PERIODS, PerformanceService
from workflows.publication_service import COMMENT_MAX, PublicationService, PublicFilter, RatingError

bp = Blueprint("public", __name__, url_prefix="/resolutions")
# Photos change only when a publication is withdrawn: browsers and proxies may keep them a while.
MEDIA_MAX_AGE = 600
_CODE = re.compile(r"[A-Z]{2,3}-\d{4}-\d{6}")


def _service() -> PublicationService:
    rt = runtime()
    return PublicationService(db.session, rt.clock, cases=rt.services(db.session).cases)



def _rating_limit() -> str:
    return current_app.config["RATING_RATE_LIMIT"]


def _page_number() -> int:
    return page_arg(request.args, maximum=10_000)


@bp.app_template_filter("span")
def span(value: timedelta | None) -> str:
    """A duration as people say it: 2 d 3 h, 5 h 10 min, 12 min."""
    if value is None:
        return "—"
    minutes = max(0, int(value.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)s d %(hours)s h", days=days, hours=hours)
    if hours:
        return _("%(hours)s h %(minutes)s min", hours=hours, minutes=minutes)
    return _("%(minutes)s min", minutes=minutes)


@bp.get("/")
def index():
    """Published resolutions with filters (category, place, unit), pages and a map."""
    flt = PublicFilter.parse(request.args)
    page = _service().page(flt, _page_number(), reader_language())
    return render_template("public/index.html", page=page, query=flt.as_args(),
                           map_tiles=current_app.config.get("MAP_TILES_URL") or "",
                           map_attribution=current_app.config.get("MAP_ATTRIBUTION") or "")


@bp.get("/map.json")
def map_data():
    """The map's points: code, redacted title, category, unit, rounded position, closed or not."""
    points = _service().points(PublicFilter.parse(request.args), reader_language())
    for point in points:
        point["url"] = url_for("public.detail", code=point["code"])
    return jsonify(points=points)


@bp.get("/performance")
def performance():
    """Per responsible unit over 30, 90 or 365 days: on-time share, median time to resolve, satisfaction."""
    try:
        days = int(request.args.get("days", 90))
    except ValueError:
        days = 90
    if days not in PERIODS:
        days = 90
    rows = PerformanceService(db.session, runtime().clock).units(days, reader_language())
    return render_template("public/performance.html", rows=rows, days=days, periods=PERIODS)


def _detail_page(code: str, status: int = 200, **form_state: Any):
    service = _service()
    try:
        detail = service.detail(code, reader_language())
    except CaseNotFoundError:
        into = service.merged_into(code)
        if into:  # a duplicate: its story goes on in the case it was merged into
            return redirect(url_for("public.detail", code=into, merged=code.upper()[:32])), 302
        return _not_published(code)
    key = (form_state.get("key") or request.args.get("key") or "")[:200]
    who = current_actor()
    may_rate = detail.feedback_open and service.may_rate(code, key, who.user_id if who else None)
    response = make_response(render_template("public/detail.html", detail=detail, item=detail.item, key=key,
                                             may_rate=may_rate, merged=request.args.get("merged", "")[:32],
                                             comment_max=COMMENT_MAX, form_state=form_state), status)
    if key:
        # The follow key is a secret: no caching, and never sent on to another site.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _not_published(code: str):
    """404 that says what to do: a case not (or no longer) published is followed on its tracking page."""
    code = code.strip().upper()[:32]
    views = current_app.view_functions
    track = url_for("portal.track", code=code) if "portal.track" in views and _CODE.fullmatch(code) else None
    return render_template("public/not_published.html", code=code, track_url=track), 404


@bp.get("/<code>")
def detail(code: str):
    """A published resolution: what was done, by whom, how fast, before/after photos, timeline, ratings."""
    return _detail_page(code)


@bp.get("/<code>/media/<int:attachment_id>")
def media(code: str, attachment_id: int):
    """A published photo's public copy (no EXIF) or its thumbnail (?size=thumb); never the original."""
    cases = runtime().services(db.session).cases
    try:
        data, content_type, filename = cases.public_file(code, attachment_id, request.args.get("size") == "thumb")
    except CaseNotFoundError:
        abort(404)
    response = make_response(data)
    response.headers["Content-Type"] = content_type
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = f"public, max-age={MEDIA_MAX_AGE}"
    return response


@bp.post("/<code>/rate")
@limiter.limit(_rating_limit)
def rate(code: str):
    """A follower rates the resolution (satisfied or not, with a comment); "not resolved" reopens the case."""
    key = (request.form.get("key") or "")[:200]
    choice = request.form.get("satisfied", "")
    comment = request.form.get("comment", "")
    if choice not in ("1", "0"):
        return _detail_page(code, 400, key=key, comment=comment,
                            rate_error=_("Choose whether the problem was resolved."))
    who = current_actor()
    try:
        _service().rate(code, choice == "1", comment, key=key, user_id=who.user_id if who else None)
    except CaseNotFoundError:
        return _not_published(code)
    except RatingError as exc:
        status = 403 if exc.reason == "key" else (400 if exc.reason == "comment" else 409)
        return _detail_page(code, status, key=key, comment=comment, rate_error=translate(exc.message))
    runtime().enqueue_outbox()
    code = code.strip().upper()[:32]
    if choice == "1":
        flash(_("Thank you: your rating was recorded."))
        return redirect(url_for("public.detail", code=code, key=key or None)), 303
    # Reopened: the publication is withdrawn, so the case's own tracking page tells what comes next.
    flash(_("Thank you: the case is reopened and goes back to the responsible unit."))
    if "portal.track" in current_app.view_functions:
        return redirect(url_for("portal.track", code=code, key=key or None)), 303
    return redirect(url_for("public.index")), 303
