"""The working-time calendar in the console: the year's public holidays, days off, make-up days, office hours."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.blueprints.admin import admin_required, bp, section
from webapp.extensions import db
from webapp.i18n import translate
from webapp.runtime import runtime
from workflows.calendar.service import CalendarService
from workflows.errors import CaseNotFoundError, IntakeError

section("admin.calendar", _l("Working calendar"), order=60,
        description=_l("Public holidays, days off and make-up working days, and the office hours that deadlines "
                       "count."))

WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"),
            _l("Sunday"))


def _service() -> CalendarService:
    return CalendarService(db.session, runtime().clock)


def _year() -> int:
    try:
        return int(request.values.get("year") or runtime().clock.now().year)
    except ValueError:
        return runtime().clock.now().year


def _page(year: int, status: int = 200, errors: dict | None = None, values: dict | None = None):
    try:
        calendar = _service().year(year)
    except IntakeError:
        abort(404)
    return render_template("admin/calendar.html", calendar=calendar, weekdays=WEEKDAYS, errors=errors or {},
                           values=values or {}), status


def _errors(exc: IntakeError) -> dict[str, str]:
    return {k: translate(v) for k, v in exc.fields.items()}


@bp.get("/calendar")
@admin_required()
def calendar():
    """A year's public holidays (Vietnamese and English), the administrator's exceptions and the office hours."""
    return _page(_year())


@bp.post("/calendar/exceptions")
@admin_required()
def calendar_add():
    """Make a date a day off or a make-up working day; deadlines computed from now on count it."""
    form = request.form
    try:
        day = date.fromisoformat(form.get("day") or "")
    except ValueError:
        day = None
    year = day.year if day else _year()
    try:
        _service().add_exception(g.actor, day, form.get("kind") == "working", form.get("note") or "")
    except IntakeError as exc:
        db.session.rollback()
        return _page(year, 400, _errors(exc), dict(form))
    db.session.commit()
    flash(_("%(day)s is now a working day.", day=day.strftime("%d/%m/%Y")) if form.get("kind") == "working"
          else _("%(day)s is now a day off.", day=day.strftime("%d/%m/%Y")))
    return redirect(url_for("admin.calendar", year=year)), 303


@bp.post("/calendar/exceptions/<int:exception_id>/delete")
@admin_required()
def calendar_remove(exception_id: int):
    """Remove an exception: the date follows the public calendar again."""
    try:
        day = _service().remove_exception(g.actor, exception_id)
    except CaseNotFoundError:
        abort(404)
    db.session.commit()
    flash(_("%(day)s follows the public calendar again.", day=day.strftime("%d/%m/%Y")))
    return redirect(url_for("admin.calendar", year=day.year)), 303


@bp.post("/calendar/hours")
@admin_required()
def calendar_hours():
    """Change the office hours deadlines count (deadlines already set keep their moment)."""
    weekdays = [int(d) for d in request.form.getlist("weekdays") if d.isdigit()]
    try:
        _service().set_hours(g.actor, request.form.get("periods") or "", weekdays)
    except IntakeError as exc:
        db.session.rollback()
        return _page(_year(), 400, _errors(exc), {"periods": request.form.get("periods") or "",
                                                  "weekdays": weekdays})
    db.session.commit()
    flash(_("Office hours saved; deadlines set from now on count them."))
    return redirect(url_for("admin.calendar", year=_year())), 303
