"""Keys in the console: Open311 clients' api_keys and /api/v1 tokens — create (shown once), list, revoke."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.blueprints.admin import admin_required, bp, section
from webapp.extensions import db
from webapp.i18n import translate
from webapp.runtime import runtime
from workflows.admin.keys import KeyAdmin
from workflows.admin.users import UserAdmin
from workflows.errors import CaseNotFoundError, IntakeError
from workflows.open311_service import Open311Service

section("admin.keys", _l("Open311 keys and API tokens"), order=40,
        description=_l("The keys other applications and machines use; make one, see when each was used, revoke it."))


def _keys() -> KeyAdmin:
    clock = runtime().clock
    open311 = Open311Service(db.session, runtime().services(db.session).cases, clock,
                             current_app.config["OPEN311_JURISDICTION"])
    return KeyAdmin(db.session, open311, clock)


def _page(keys: KeyAdmin, status: int = 200, **extra):
    users = UserAdmin(db.session).search(status="active", limit=10_000)
    context = {"clients": keys.clients(), "tokens": keys.api_tokens(), "users": users, "errors": {}, "values": {},
               "secret": None, **extra}
    return render_template("admin/keys.html", **context), status


def _note() -> str:
    return (request.form.get("note") or "").strip()[:1000]


@bp.get("/keys")
@admin_required()
def keys():
    """Open311 clients and API tokens, newest first, revoked ones included."""
    return _page(_keys())


@bp.post("/keys/open311")
@admin_required()
def keys_open311_create():
    """A new Open311 client; its api_key is shown on this answer only."""
    keys = _keys()
    name = request.form.get("name") or ""
    try:
        info, key = keys.create_client(g.actor, name, _note())
    except IntakeError as exc:
        db.session.rollback()
        return _page(keys, 400, errors={f"open311_{k}": translate(v) for k, v in exc.fields.items()},
                     values={"open311_name": name})
    return _page(keys, 201, secret={"kind": "open311", "label": info.name, "value": key})


@bp.post("/keys/open311/<int:client_id>/revoke")
@admin_required()
def keys_open311_revoke(client_id: int):
    """Revoke an Open311 client's api_key at once."""
    try:
        info = _keys().revoke_client(g.actor, client_id, _note())
    except CaseNotFoundError:
        abort(404)
    flash(_("The Open311 key of %(name)s is revoked.", name=info.name))
    return redirect(url_for("admin.keys"))


@bp.post("/keys/tokens")
@admin_required()
def keys_token_create():
    """A new API token acting as an account chosen from the list; the token is shown on this answer only."""
    keys = _keys()
    username, name = request.form.get("username") or "", request.form.get("name") or ""
    try:
        info, token = keys.create_token(g.actor, username, name, _note())
    except (IntakeError, CaseNotFoundError) as exc:
        db.session.rollback()
        fields = exc.fields if isinstance(exc, IntakeError) else {"username": _("choose an account from the list")}
        return _page(keys, 400, errors={f"token_{k}": translate(v) for k, v in fields.items()},
                     values={"token_username": username, "token_name": name})
    return _page(keys, 201, secret={"kind": "token", "label": f"{info.username}: {info.name}", "value": token})


@bp.post("/keys/tokens/<int:token_id>/revoke")
@admin_required()
def keys_token_revoke(token_id: int):
    """Revoke an API token at once: the next call with it gets 401."""
    try:
        info = _keys().revoke_token(g.actor, token_id, _note())
    except CaseNotFoundError:
        abort(404)
    label = f"{info.username}: {info.name}"
    flash(_("The API token %(name)s is revoked.", name=label))
    return redirect(url_for("admin.keys"))
