"""The leaders' page: the figures of the PDF reports on screen, the PDFs on demand, the archive, subscriptions.

The figures come from the report types themselves (`reports.catalog`): the page calls a type's `collect` with
the same translator the PDF uses (the compiled catalog, `reports.i18n`), shows its headline figures and tables
with the PDF's number formatting, and hands its Vega-Lite specs (`ReportData.charts`) to vega-embed — the PDF
converts the very same specs to SVG, so the page and the paper cannot disagree.

Who sees what: leaders and administrators; a unit must be in the reader's view (`Actor.scope_codes`: a
ward's leader sees the ward and what is below it, the provincial committee's leaders the whole province). A
unit outside it is refused (403), whatever the address asks for; every list offered (types, units, periods)
is checked again on the server.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from engine.clock import now as clock_now
from engine.clock import using
from engine.i18n import Named
from reports import catalog
from reports.catalog import ReportParamsError, ReportType
from reports.i18n import translator
from reports.periods import LOCAL, PeriodError, ReportPeriod
from reports.render import format_number, format_percent
from webapp.blueprints.leaders_backend import JobView, backend
from webapp.extensions import db
from webapp.i18n import reader_language, translate
from webapp.runtime import runtime
from webapp.security import actor, require
from workflows.access import Actor
from workflows.case_view import CaseViewService
from workflows.errors import AccessDeniedError, CaseNotFoundError
from workflows.models import AdminUnit
from workflows.units import PLACE_KINDS

bp = Blueprint("leaders", __name__, url_prefix="/leaders")

ROLES = ("leader", "admin")
RECENT_WEEKS = 12  # the periods the forms offer: this one and the ones before
RECENT_MONTHS = 13
OVERDUE_ON_PAGE = 50  # the figures page lists the longest late; the overdue page lists them all
OVERDUE_PAGE_SIZE = 100
KIND_LABELS = {"week": _l("Week"), "month": _l("Month")}
KIND_ORDER = {"province": 0, "committee": 1, "centre": 2, "district": 3, "ward": 4, "commune": 4, "special_zone": 4,
              "department": 5, "police": 6}


# ---------------------------------------------------------------------------------------------- what a reader sees
@dataclass(frozen=True)
class UnitChoice:
    """A unit the reader may ask a report about."""

    code: str
    name: str
    kind: str
    place: bool
    parent_code: str | None


def units_in_view(who: Actor) -> list[UnitChoice]:
    """The active units in the reader's view, the places first (province, then wards and communes), by name."""
    language = reader_language()
    rows = db.session.execute(select(AdminUnit.id, AdminUnit.code, AdminUnit.name, AdminUnit.name_en, AdminUnit.kind,
                                     AdminUnit.parent_id, AdminUnit.active)).all()
    codes = {row.id: row.code for row in rows}
    found = [UnitChoice(code=row.code, name=Named(row.name, row.name_en).in_language(language), kind=row.kind,
                        place=row.kind in PLACE_KINDS, parent_code=codes.get(row.parent_id))
             for row in rows if row.id in who.scope_ids and row.active]
    return sorted(found, key=lambda u: (not u.place, KIND_ORDER.get(u.kind, 9), u.name))


def home_unit(units: list[UnitChoice]) -> UnitChoice | None:
    """The unit a reader's page opens on: the top of their view (the province for the province's leaders)."""
    codes = {u.code for u in units}
    tops = [u for u in units if u.parent_code not in codes]
    return tops[0] if tops else (units[0] if units else None)


def checked_unit(who: Actor, code: str | None, units: list[UnitChoice]) -> UnitChoice:
    """The unit `code` names, if the reader may see it: 404 when there is no such unit, 403 when it is not in
    their view (a ward's leader asking for another ward)."""
    if not code:
        unit = home_unit(units)
        if unit is None:
            abort(403)
        return unit
    for unit in units:
        if unit.code == code:
            return unit
    if db.session.scalar(select(AdminUnit.id).where(AdminUnit.code == code)) is None:
        abort(404)
    abort(403)


def page_types() -> list[ReportType]:
    """The report types about a unit and a period (operations, and indicators or cameras once registered)."""
    return [rt for rt in catalog.report_types().values() if "unit" in rt.needs and "period" in rt.needs]


def recent_periods(kinds: tuple[str, ...] = ("week", "month"), now: datetime | None = None) -> list[ReportPeriod]:
    """The periods the forms offer, newest first: the current week and the weeks before, the months likewise."""
    now = now or clock_now()
    found: list[ReportPeriod] = []
    if "week" in kinds:
        period = ReportPeriod.containing("week", now)
        for _i in range(RECENT_WEEKS):
            found.append(period)
            period = period.previous()
    if "month" in kinds:
        period = ReportPeriod.containing("month", now)
        for _i in range(RECENT_MONTHS):
            found.append(period)
            period = period.previous()
    return found


def following(period: ReportPeriod) -> ReportPeriod:
    """The period just after `period`."""
    return ReportPeriod.containing(period.kind, period.end)


def switched(period: ReportPeriod, kind: str, now: datetime) -> ReportPeriod:
    """The `kind` period that holds the last day of `period` already begun (week to month and back)."""
    last_day = min(period.end - timedelta(days=1), now.astimezone(LOCAL).date())
    return ReportPeriod.containing(kind, last_day)


def read_period(raw: str | None, kind: str | None, report_type: ReportType, now: datetime) -> tuple[ReportPeriod, str | None]:
    """The period the address asks for (or the current month), and what was wrong with it, in words."""
    kinds = report_type.period_kinds
    default_kind = kind if kind in kinds else ("month" if "month" in kinds else kinds[0])
    fallback = ReportPeriod.containing(default_kind, now)
    if not raw:
        return fallback, None
    try:
        period = ReportPeriod.parse(raw)
    except PeriodError as exc:
        return fallback, translate(exc.message)
    if period.kind not in kinds:
        return fallback, _("This report covers a month, not a week.")
    if period.is_future(now):
        return fallback, _("%(period)s has not begun yet.", period=translate(period.label()))
    return period, None


def numbers(language: str) -> dict[str, Any]:
    """num() and pct(): the PDF's own formatting of numbers and shares, in the reader's language."""
    return {"num": lambda value, decimals=0: format_number(value, decimals, language),
            "pct": lambda value, decimals=1: format_percent(value, decimals, language)}


# ---------------------------------------------------------------------------------------------- the figures
@bp.get("/")
@require(*ROLES)
def index():
    """A report's figures for a unit and a period, drilled down by unit (each row links here) and period."""
    who = actor()
    now = clock_now()
    units = units_in_view(who)
    unit = checked_unit(who, request.args.get("unit"), units)
    types = page_types()
    by_code = {rt.code: rt for rt in types}
    code = request.args.get("type") or "operations"
    if code not in by_code:
        abort(404)
    report_type = by_code[code]
    period, period_error = read_period(request.args.get("period"), request.args.get("kind"), report_type, now)
    language = reader_language()
    params = catalog.ReportParams(type=code, unit=unit.code, period=period.key, language=language)
    data = report_type.collect(db.session, params, translator(language))
    codes = {u.code for u in units}
    after = following(period)
    context = {
        "types": types, "report_type": report_type, "unit": unit, "units": units, "period": period,
        "period_label": translate(period.label()), "period_error": period_error, "data": data,
        "title": translate(data.title), "subtitle": translate(data.subtitle),
        "previous": period.previous(), "next": None if after.is_future(now) else after,
        "kinds": [(k, KIND_LABELS[k], switched(period, k, now)) for k in report_type.period_kinds],
        "parent": next((u for u in units if u.code == unit.parent_code), None) if unit.parent_code in codes else None,
        "link": lambda target: url_for("leaders.index", type=code, unit=unit.code, period=target.key),
        "translate": translate, "in_view": codes, "overdue_on_page": OVERDUE_ON_PAGE, "language": language, **numbers(language),
    }
    template = f"leaders/{code}.html"
    try:
        current_app.jinja_env.get_template(template)
    except Exception:  # a type with no page of its own: its headline figures and charts
        template = "leaders/generic.html"
    return render_template(template, **context), (400 if period_error else 200)


@bp.get("/overdue")
@require(*ROLES)
def overdue():
    """Every case of a unit open past its deadline at the end of a period, longest late first, page by page
    (the PDF lists the first few hundred and sends the reader here for the rest)."""
    from reports.operations import OperationsQueries, Window, as_of_for
    from workflows.units import UnitDirectory

    who = actor()
    now = clock_now()
    units = units_in_view(who)
    unit = checked_unit(who, request.args.get("unit"), units)
    report_type = catalog.get("operations")
    period, period_error = read_period(request.args.get("period"), None, report_type, now)
    try:
        page = max(1, int(request.args.get("page") or 1))
    except ValueError:
        page = 1
    record = UnitDirectory(db.session).by_code(unit.code)
    queries = OperationsQueries(db.session, record)
    as_of = as_of_for(period, now)
    total = sum(queries.overdue_counts([Window.of(period, as_of)])[0].values())
    pages = max(1, -(-total // OVERDUE_PAGE_SIZE))
    page = min(page, pages)  # past the end: the last page
    rows = queries.overdue_list(as_of, page * OVERDUE_PAGE_SIZE)[(page - 1) * OVERDUE_PAGE_SIZE:]
    ids = {r[2] for r in rows if r[2] is not None}
    names = {i: Named(n, e).in_language(reader_language()) for i, n, e in db.session.execute(
        select(AdminUnit.id, AdminUnit.name, AdminUnit.name_en).where(AdminUnit.id.in_(ids)))} if ids else {}
    items = [{"n": (page - 1) * OVERDUE_PAGE_SIZE + i, "code": code, "title": title,
              "unit": names.get(unit_id) or _("Not assigned yet"),
              "late_since": late_since, "days_late": max(0, (as_of - late_since).days) if late_since else None,
              "level": level}
             for i, (code, title, unit_id, _place, late_since, level, _status) in enumerate(rows, start=1)]
    language = reader_language()
    return render_template("leaders/overdue.html", unit=unit, period=period, period_label=translate(period.label()),
                           period_error=period_error, items=items, total=total, page=page, pages=pages, as_of=as_of,
                           **numbers(language)), (400 if period_error else 200)


def report_url(unit: str, period: ReportPeriod | str, type_code: str = "operations") -> str:
    """The figures page of a unit and a period."""
    return url_for("leaders.index", type=type_code, unit=unit, period=str(period))


def params_errors(exc: ReportParamsError) -> dict[str, str]:
    """A ReportParamsError's field errors in the reader's language."""
    return {name: translate(text) for name, text in exc.errors.items()}


def has_endpoint(endpoint: str) -> bool:
    """Whether a page is there (the menu shows only what is)."""
    return endpoint in current_app.view_functions


@bp.before_request
def _before() -> None:
    """The report types read the time from engine.clock: the application's clock for the whole request."""
    g.leaders_clock = using(runtime().clock)
    g.leaders_clock.__enter__()


@bp.teardown_request
def _after(_error: BaseException | None) -> None:
    held = g.pop("leaders_clock", None)
    if held is not None:
        held.__exit__(None, None, None)


@bp.context_processor
def _leaders_globals() -> dict[str, Any]:
    """What every leaders' template may ask: whether a page exists (the menu shows only what is there)."""
    return {"has_endpoint": has_endpoint}


# ---------------------------------------------------------------------------------------------- the forms' lists
LANGUAGE_OPTIONS = (("vi", "Tiếng Việt"), ("en", "English"))
FREQUENCIES = {"weekly": (_l("Weekly"), "week"), "monthly": (_l("Monthly"), "month")}


def unit_options(units: list[UnitChoice]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The units in view for a select: places, then the bodies (departments, police, committees)."""
    places = [(u.code, u.name) for u in units if u.place]
    bodies = [(u.code, u.name) for u in units if not u.place]
    return [(str(_("Places")) if bodies else "", places)] + ([(str(_("Bodies")), bodies)] if bodies else [])


def type_options() -> list[tuple[str, list[tuple[str, str]]]]:
    """The report types about a unit and a period, by name."""
    return [("", [(rt.code, translate(rt.name)) for rt in page_types()])]


def period_options() -> list[tuple[str, list[tuple[str, str]]]]:
    """This week and the weeks before, this month and the months before."""
    periods = recent_periods()
    return [(str(_("Weeks")), [(p.key, translate(p.label())) for p in periods if p.kind == "week"]),
            (str(_("Months")), [(p.key, translate(p.label())) for p in periods if p.kind == "month"])]


def check_report_form(raw: dict[str, str], units: list[UnitChoice]) -> tuple[catalog.ReportParams | None, dict[str, str]]:
    """The parameters of a report a leader asks for, checked against the live lists and the leader's view."""
    errors: dict[str, str] = {}
    params = None
    try:
        params = catalog.validate_params(db.session, {**raw, "case": None})
    except ReportParamsError as exc:
        errors = params_errors(exc)
        if "type" in errors:  # no type: still say what is wrong with the unit and the period, all at once
            try:
                catalog.validate_params(db.session, {**raw, "type": "operations", "case": None})
            except ReportParamsError as more:
                errors = {**params_errors(more), **errors}
    code = raw.get("type") or ""
    if "type" not in errors and code not in {rt.code for rt in page_types()}:
        errors["type"] = _("This report is not made from this page.")
    if "unit" not in errors and raw.get("unit") and raw.get("unit") not in {u.code for u in units}:
        errors["unit"] = _("This unit is not in your view.")
    return (None if errors else params), errors


# ---------------------------------------------------------------------------------------------- PDF reports
def _raw_form(names: tuple[str, ...]) -> dict[str, str]:
    return {name: (request.values.get(name) or "").strip()[:40] for name in names}


def _archive_page(form: dict[str, str], errors: dict[str, str], status: int = 200):
    who = actor()
    units = units_in_view(who)
    archived = backend().archived(db.session, who, {u.code for u in units}, translate)
    return render_template("leaders/archive.html", form=form, errors=errors, archived=archived,
                           event=backend().PROGRESS_EVENT,
                           type_options=type_options(), unit_options=unit_options(units),
                           period_options=period_options(), language_options=[("", list(LANGUAGE_OPTIONS))]), status


@bp.get("/reports")
@require(*ROLES)
def archive():
    """Generate a PDF (the form, filled from the figures page's unit and period) and the archive of PDFs made."""
    units = units_in_view(actor())
    home = home_unit(units)
    form = _raw_form(("type", "unit", "period", "language"))
    form["type"] = form["type"] or "operations"
    form["unit"] = form["unit"] or (home.code if home else "")
    form["period"] = form["period"] or ReportPeriod.containing("month", clock_now()).previous().key
    form["language"] = form["language"] or reader_language()
    return _archive_page(form, {})


@bp.post("/reports")
@require(*ROLES)
def generate():
    """Start making a PDF (checked again here: type, unit in view, period begun, language); the job's page
    follows its progress. A refused form comes back with what was chosen and each problem in words."""
    who = actor()
    form = _raw_form(("type", "unit", "period", "language"))
    params, errors = check_report_form(form, units_in_view(who))
    if params is None:
        return _archive_page(form, errors, 400)
    job_id, existing = backend().start(db.session, who, params)
    if request.accept_mimetypes.best == "application/json":  # the reports page's script stays and follows it
        status = _job_or_404(job_id)
        return jsonify({"job": job_id, "existing": existing, "title": status.title,
                        "status_url": url_for("leaders.job_status", job_id=job_id),
                        "job_url": url_for("leaders.job", job_id=job_id)})
    return redirect(url_for("leaders.job", job_id=job_id, existing=1 if existing else None), code=303)


@bp.get("/reports/jobs/<int:job_id>")
@require(*ROLES)
def job(job_id: int):
    """A PDF being made: its progress (pushed by the worker over Socket.IO), then the download link."""
    status = _job_or_404(job_id)
    return render_template("leaders/job.html", job=status, event=backend().PROGRESS_EVENT,
                           existing=request.args.get("existing") == "1")


@bp.get("/reports/jobs/<int:job_id>.json")
@require(official=True)
def job_status(job_id: int):
    """The job's state as JSON (what the page missed while it was not listening): the reader's own jobs (an
    official's are the dossiers of cases, asked for on the case page), or anyone's for an administrator."""
    status = _job_or_404(job_id)
    response = jsonify({"job": status.id, "state": status.state, "state_label": status.state_label,
                        "percent": status.percent, "step": status.step, "error": status.error,
                        "download_url": status.download_url, "sha256": status.sha256, "pages": status.pages})
    response.headers["Cache-Control"] = "no-store"
    return response


def _job_or_404(job_id: int) -> JobView:
    """A job the reader started (or, for an administrator, anyone's); 404 otherwise."""
    found = backend().job(db.session, actor(), job_id, translate)
    if found is None:
        abort(404)
    return found


@bp.get("/reports/<int:report_id>.pdf")
@require(official=True)
def download(report_id: int):
    """An archived PDF exactly as it was issued: a unit's report for leaders who have the unit in their view, a
    case's dossier for whoever may open the case's page."""
    who = actor()
    found = backend().pdf(db.session, who, report_id)
    if found is None:
        abort(404)
    unit_code, case_code, filename, content = found
    if case_code:
        try:
            CaseViewService(db.session, runtime().clock).case(who, case_code)
        except (AccessDeniedError, CaseNotFoundError):
            abort(403)
    elif not who.has_role(*ROLES) or (unit_code and unit_code not in who.scope_codes):
        abort(403)
    response = send_file(io.BytesIO(content), mimetype="application/pdf", as_attachment=True, download_name=filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# ---------------------------------------------------------------------------------------------- subscriptions
SUBSCRIPTION_FIELDS = ("type", "unit", "frequency", "weekday", "day_of_month", "time", "language", "only_changed")
WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"), _l("Sunday"))
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class SubscriptionForm:
    """A subscription as the leader asked for it, checked: the report, its unit, how often and when (local)."""

    type: str
    unit: str
    frequency: str
    hour: int
    minute: int
    language: str
    only_changed: bool
    weekday: int | None = None  # weekly: 0 = Monday
    day_of_month: int | None = None  # monthly: 1–31 (past a month's end, its last day)


def check_subscription_form(raw: dict[str, str], units: list[UnitChoice]) -> tuple[SubscriptionForm | None, dict[str, str]]:
    """Every problem of a subscription form at once, in words."""
    errors: dict[str, str] = {}
    types = {rt.code: rt for rt in page_types()}
    if not raw.get("type"):
        errors["type"] = _("Choose a report type.")
    elif raw["type"] not in types:
        errors["type"] = _("There is no report type %(code)s.", code=raw["type"])
    if not raw.get("unit"):
        errors["unit"] = _("Choose a unit.")
    elif raw["unit"] not in {u.code for u in units}:
        errors["unit"] = _("This unit is not in your view.")
    frequency = raw.get("frequency") or ""
    if frequency not in FREQUENCIES:
        errors["frequency"] = _("Choose weekly or monthly.")
    elif raw.get("type") in types and FREQUENCIES[frequency][1] not in types[raw["type"]].period_kinds:
        errors["frequency"] = _("This report covers a month, not a week.")
    weekday = day_of_month = None
    if frequency == "weekly":
        weekday = _int_in(raw.get("weekday"), 0, 6)
        if weekday is None:
            errors["weekday"] = _("Choose the day of the week.")
    elif frequency == "monthly":
        day_of_month = _int_in(raw.get("day_of_month"), 1, 31)
        if day_of_month is None:
            errors["day_of_month"] = _("Give a day of the month from 1 to 31.")
    match = _TIME.match(raw.get("time") or "")
    if not match:
        errors["time"] = _("Give a time of day such as 07:30.")
    if (raw.get("language") or "") not in dict(LANGUAGE_OPTIONS):
        errors["language"] = _("Choose Vietnamese or English.")
    if errors:
        return None, errors
    assert match is not None
    return SubscriptionForm(type=raw["type"], unit=raw["unit"], frequency=frequency, hour=int(match.group(1)),
                            minute=int(match.group(2)), language=raw["language"],
                            only_changed=raw.get("only_changed") in ("1", "on", "true"), weekday=weekday,
                            day_of_month=day_of_month), {}


def _int_in(text: str | None, low: int, high: int) -> int | None:
    """`text` as a whole number from `low` to `high`, or None."""
    try:
        value = int(text or "")
    except ValueError:
        return None
    return value if low <= value <= high else None


def _subscription_options(units: list[UnitChoice]) -> dict[str, Any]:
    return {"types": type_options(), "units": unit_options(units),
            "frequencies": [("", [(key, str(label)) for key, (label, _kind) in FREQUENCIES.items()])],
            "weekdays": [("", [(str(n), str(name)) for n, name in enumerate(WEEKDAYS)])],
            "languages": [("", list(LANGUAGE_OPTIONS))]}


def _subscription_raw() -> dict[str, str]:
    raw = {name: (request.form.get(name) or "").strip()[:40] for name in SUBSCRIPTION_FIELDS}
    raw["only_changed"] = "1" if request.form.get("only_changed") else ""
    return raw


def _subscriptions_page(form: dict[str, Any], errors: dict[str, str], status: int = 200):
    who = actor()
    units = units_in_view(who)
    store = backend().store
    labels = {"weekdays": WEEKDAYS, "frequencies": {key: label for key, (label, _kind) in FREQUENCIES.items()}}
    return render_template("leaders/subscriptions.html", form=form, errors=errors,
                           options=_subscription_options(units),
                           subscriptions=store.subscriptions(db.session, who, translate, labels),
                           deliveries=store.deliveries(db.session, who, translate)), status


@bp.get("/subscriptions")
@require(*ROLES)
def subscriptions():
    """The leader's subscriptions, the form to add one, and the deliveries (a failed one with its reason)."""
    home = home_unit(units_in_view(actor()))
    form = {"type": "operations", "unit": home.code if home else "", "frequency": "weekly", "weekday": "0",
            "day_of_month": "1", "time": "07:00",
            "language": reader_language(), "only_changed": False}
    return _subscriptions_page(form, {})


@bp.post("/subscriptions")
@require(*ROLES)
def subscription_create():
    """Subscribe to a report; a refused form comes back as typed, with each problem under its field."""
    who = actor()
    raw = _subscription_raw()
    checked, errors = check_subscription_form(raw, units_in_view(who))
    if checked is None:
        return _subscriptions_page({**raw, "only_changed": bool(raw["only_changed"])}, errors, 400)
    try:
        backend().store.subscribe(db.session, who, checked, runtime().clock.now())
    except ValueError as exc:  # the schedule service's own checks (SubscriptionError): said under the fields
        db.session.rollback()
        return _subscriptions_page({**raw, "only_changed": bool(raw["only_changed"])}, _service_errors(exc), 400)
    db.session.commit()
    flash(_("Subscribed: the report will come by e-mail and to your inbox."))
    return redirect(url_for("leaders.subscriptions"), code=303)


def _service_errors(exc: ValueError) -> dict[str, str]:
    """A service's refusal as field errors in the reader's language (a plain refusal: the whole form's)."""
    found = getattr(exc, "errors", None)
    if isinstance(found, dict):
        return {name: translate(text) for name, text in found.items()}
    return {"form": translate(getattr(exc, "message", str(exc)))}


def _own_subscription(subscription_id: int) -> dict[str, Any]:
    found = backend().store.subscription(db.session, actor(), subscription_id)
    if found is None:
        abort(404)
    return found


@bp.route("/subscriptions/<int:subscription_id>", methods=["GET", "POST"])
@require(*ROLES)
def subscription_edit(subscription_id: int):
    """Change a subscription of one's own (the same checks as a new one)."""
    who = actor()
    current = _own_subscription(subscription_id)
    units = units_in_view(who)
    errors: dict[str, str] = {}
    form: dict[str, Any] = current
    if request.method == "POST":
        raw = _subscription_raw()
        checked, errors = check_subscription_form(raw, units)
        if checked is not None:
            try:
                backend().store.update(db.session, who, subscription_id, checked, runtime().clock.now())
            except ValueError as exc:
                db.session.rollback()
                errors = _service_errors(exc)
            else:
                db.session.commit()
                flash(_("Subscription saved."))
                return redirect(url_for("leaders.subscriptions"), code=303)
        form = {**raw, "only_changed": bool(raw["only_changed"])}
    return render_template("leaders/subscription_edit.html", form=form, errors=errors,
                           options=_subscription_options(units), subscription_id=subscription_id), (
        400 if errors else 200)


@bp.post("/subscriptions/<int:subscription_id>/pause")
@require(*ROLES)
def subscription_pause(subscription_id: int):
    """Pause a subscription (paused=1) or resume it (paused=0)."""
    _own_subscription(subscription_id)
    paused = request.form.get("paused") == "1"
    backend().store.pause(db.session, actor(), subscription_id, paused, runtime().clock.now())
    db.session.commit()
    flash(_("Subscription paused.") if paused else _("Subscription resumed."))
    return redirect(url_for("leaders.subscriptions"), code=303)


@bp.post("/subscriptions/<int:subscription_id>/delete")
@require(*ROLES)
def subscription_delete(subscription_id: int):
    """Delete a subscription (the reports already delivered stay in the archive)."""
    _own_subscription(subscription_id)
    backend().store.delete(db.session, actor(), subscription_id)
    db.session.commit()
    flash(_("Subscription deleted."))
    return redirect(url_for("leaders.subscriptions"), code=303)


@bp.post("/deliveries/<int:delivery_id>/retry")
@require(*ROLES)
def delivery_retry(delivery_id: int):
    """Try a failed delivery of one's own again."""
    if not backend().store.retry(db.session, actor(), delivery_id, runtime().clock.now()):
        abort(404)
    db.session.commit()
    flash(_("The delivery will be tried again."))
    return redirect(url_for("leaders.subscriptions", _anchor="deliveries"), code=303)
