"""Deliveries: outbox messages (emails, live updates) that failed; retry after a fix, or give up with a note."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from engine.errors import ConflictError
from engine.models import OutboxMessage
from engine.outbox import MAX_ATTEMPTS
from webapp.blueprints.admin import admin_required, bp, section
from webapp.extensions import db
from webapp.i18n import translate
from webapp.runtime import runtime
from webapp.security import actor
from workflows.admin.deliveries import DELIVERY_ROLES, STATES, DeliveryNotFoundError, DeliveryService
from workflows.errors import IntakeError

section("admin.deliveries", _l("Undelivered messages"), roles=DELIVERY_ROLES, order=55,
        description=_l("Emails and live updates that could not be delivered: retry after a fix, or give up with a note."))


def _service() -> DeliveryService:
    rt = runtime()
    return DeliveryService(db.session, rt.clock, rt.enqueue_outbox)


def _number(value: str | None) -> int:
    raw = (value or "1").strip()
    return max(1, min(int(raw), 100_000)) if raw.isascii() and raw.isdigit() and len(raw) < 7 else 1


def _state() -> str:
    state = request.values.get("state", "undelivered")
    return state if state in STATES else "undelivered"


@bp.get("/deliveries")
@admin_required(*DELIVERY_ROLES)
def deliveries():
    """Undelivered messages, longest waiting first (`?state=dropped`: the ones given up)."""
    return _page()


def _page(errors: dict[int, str] | None = None, notes: dict[int, str] | None = None, status: int = 200):
    page = _service().list(_state(), _number(request.values.get("page")))
    return render_template("admin/deliveries.html", page=page, errors=errors or {}, notes=notes or {},
                           max_attempts=MAX_ATTEMPTS), status


def _back():
    return redirect(url_for("admin.deliveries", state=_state(), page=_number(request.values.get("page")))), 303


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
