"""Each signed-in user's notifications: the inbox, marking read, and the unread count in the menu."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.extensions import db
from webapp.i18n import translate
from webapp.params import db_int
from webapp.params import page_number as page_arg
from webapp.realtime import push_unread
from webapp.runtime import runtime
from webapp.security import actor, require
from workflows.errors import IntakeError
from workflows.notification_service import MAX_IDS, NotificationNotFoundError, NotificationService

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

# The kinds the shipped operators write (workflows/operators.py); another kind shows as it is.
KIND_LABELS = {"reminder": _l("Deadline reminder"), "leader_alert": _l("Leader alert"),
               "returned": _l("Returned case"), "task_created": _l("New task"),
               "incident": _l("Process incident")}


def _service() -> NotificationService:
    return NotificationService(db.session, runtime().clock)


@bp.get("/")
@require()
def index():
    """The inbox, newest first; `?unread=1` shows the unread ones only."""
    unread_only = request.args.get("unread") == "1"
    page_number = page_arg(request.args)
    page = _service().inbox(actor().user_id, unread_only=unread_only, page=page_number)
    return render_template("notifications/index.html", page=page, KIND_LABELS=KIND_LABELS)


@bp.get("/count")
@require()
def count():
    """The signed-in user's unread count as JSON (live pages ask after a new notification)."""
    return jsonify(unread=unread_of_current_user())


@bp.post("/read")
@require()
def mark_read():
    """Mark the chosen notifications (`ids`), or all (`all=1`), of the signed-in user read."""
    everything = request.form.get("all") == "1"
    back = redirect(url_for("notifications.index", unread="1" if request.form.get("unread") == "1" else None))
    ids: list[int] = []
    if not everything:
        ids = [number for value in request.form.getlist("ids") if (number := db_int(value)) is not None]
        if len(ids) != len(request.form.getlist("ids")):
            flash(_("A notification number is not valid; reload the page and try again. Nothing was marked."), "error")
            return back, 303
        if len(ids) > MAX_IDS:
            flash(_("Choose at most %(max)s notifications at a time, or mark all as read.", max=MAX_IDS), "error")
            return back, 303
    who = actor()
    service = _service()
    try:
        changed = service.mark_read(who.user_id, ids, everything=everything)
    except NotificationNotFoundError:
        abort(404)
    except IntakeError as exc:
        flash("; ".join(translate(message) for message in exc.fields.values()), "error")
        return back, 303
    push_unread(who.username, service.unread_count(who.user_id))
    flash(_("%(n)s notification(s) marked as read.", n=changed))
    return back, 303


def unread_of_current_user() -> int:
    """The signed-in user's unread count (0 for visitors), counted once per request."""
    if not current_user.is_authenticated:
        return 0
    if "ioc_unread" not in g:
        g.ioc_unread = _service().unread_count(current_user.actor.user_id)
    return g.ioc_unread


def init_app(app: Flask) -> None:
    """Give templates the unread count of the signed-in user."""
    app.jinja_env.globals["nav_unread"] = unread_of_current_user

