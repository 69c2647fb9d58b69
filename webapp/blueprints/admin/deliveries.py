"""Deliveries: outbox messages (emails, live updates) that failed; retry after a fix, or give up with a note."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from engine.errors import ConflictError
from engine.i18n import t
from engine.models import OutboxMessage
from engine.outbox import MAX_ATTEMPTS
from reports.models import ReportDelivery
from webapp import report_jobs
from webapp.blueprints.admin import admin_required, bp, section
from webapp.blueprints.leaders_backend import backend
from webapp.extensions import db
from webapp.i18n import translate
from webapp.params import page_number
from webapp.runtime import runtime
from webapp.security import actor
from workflows.admin.audit import Target, record, register_actions
from workflows.admin.deliveries import DELIVERY_ROLES, STATES, DeliveryNotFoundError, DeliveryService
from workflows.errors import IntakeError

REPORTS_SHOWN = 200
register_actions({"delivery.report_retry": t("retry a leader's report delivery")},
                 {"report_delivery": t("report delivery")})

section("admin.deliveries", _l("Undelivered messages"), roles=DELIVERY_ROLES, order=55,
        description=_l("Emails and live updates that could not be delivered: retry after a fix, or give up with a note."))


def _service() -> DeliveryService:
    rt = runtime()
    return DeliveryService(db.session, rt.clock, rt.enqueue_outbox)


def _state() -> str:
    state = request.values.get("state", "undelivered")
    return state if state in (*STATES, "reports") else "undelivered"


@bp.get("/deliveries")
@admin_required(*DELIVERY_ROLES)
def deliveries():
    """Undelivered messages, longest waiting first (`?state=dropped`: the ones given up)."""
    return _page()


def _page(errors: dict[int, str] | None = None, notes: dict[int, str] | None = None, status: int = 200):
    state = _state()
    page = _service().list(state if state in STATES else "undelivered", page_number(request.values))
    # The leaders' scheduled reports go by their own deliveries (reports/delivery.py): the failed ones, and
    # those waiting for another try, of every subscriber.
    reports = backend().store.deliveries(db.session, None, translate, limit=REPORTS_SHOWN)
    return render_template("admin/deliveries.html", page=page, state=state, reports=reports,
                           reports_shown=REPORTS_SHOWN, errors=errors or {}, notes=notes or {},
                           max_attempts=MAX_ATTEMPTS), status


def _back():
    return redirect(url_for("admin.deliveries", state=_state(), page=page_number(request.values))), 303


@bp.post("/deliveries/<int:message_id>/<any(retry, drop):action>")
@admin_required(*DELIVERY_ROLES)
def delivery_act(message_id: int, action: str):
    """Retry one message now, or give it up with a note."""
    service = _service()
    note = request.form.get("note") or ""
    try:
        if action == "retry":
            service.retry(message_id, actor())
        else:
            service.drop(message_id, actor(), note)
    except DeliveryNotFoundError:
        abort(404)
    except IntakeError as exc:
        db.session.rollback()
        return _page({message_id: "; ".join(translate(v) for v in exc.fields.values())}, {message_id: note}, 400)
    except ConflictError as exc:
        db.session.rollback()
        flash(translate(exc.args[0]) if exc.args else str(exc), "error")
        return _back()
    if action == "drop":
        flash(_("Message %(id)s was given up; it stays listed under “Given up”.", id=message_id))
        return _back()
    db.session.remove()  # read what the delivery made of it (it may have run in this request)
    msg = db.session.get(OutboxMessage, message_id)
    if msg is not None and msg.delivered_at is not None:
        flash(_("Message %(id)s was delivered.", id=message_id))
    elif msg is not None and msg.attempts:
        flash(_("Message %(id)s failed again; the reason is in its line.", id=message_id), "error")
    else:
        flash(_("Message %(id)s will be sent in a moment.", id=message_id))
    return _back()


@bp.post("/deliveries/reports/<int:delivery_id>/retry")
@admin_required(*DELIVERY_ROLES)
def report_delivery_retry(delivery_id: int):
    """Try a leader's failed report delivery again now (after the address or the mail server was mended)."""
    row = db.session.get(ReportDelivery, delivery_id) if 0 < delivery_id < 2**63 else None
    if row is None:
        abort(404)
    before = {"status": row.status, "attempts": row.attempts, "last_error": row.last_error}
    sub = row.subscription
    label = f"{sub.report_type} {sub.unit_code or ''} {row.period_key} → {sub.user.username if sub.user else sub.user_id}"
    record(db.session, actor(), "delivery.report_retry", Target("report_delivery", row.id, label), before=before,
           after={"status": "pending", "attempts": 0}, clock=runtime().clock)
    if not report_jobs.retry_delivery(db.session, delivery_id, None):  # commits the audit line with the retry
        db.session.rollback()
        flash(_("This delivery is no longer waiting for a retry; reload the page."), "error")
    else:
        flash(_("The delivery will be tried again."))
    return redirect(url_for("admin.deliveries", state="reports")), 303


@bp.post("/deliveries/retry-all")
@admin_required(*DELIVERY_ROLES)
def deliveries_retry_all():
    """Retry every undelivered message now (after the mail server was mended)."""
    count = _service().retry_all(actor())
    db.session.remove()
    left = _service().list("undelivered").undelivered
    if not count:
        flash(_("No message waits."))
    elif left:
        flash(ngettext("%(num)d message sent again; %(left)s failed again (the reasons are in their lines).",
                       "%(num)d messages sent again; %(left)s failed again (the reasons are in their lines).",
                       count, left=left), "error")
    else:
        flash(ngettext("%(num)d message sent again.", "%(num)d messages sent again.", count))
    return _back()
