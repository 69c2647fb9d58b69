"""Users in the console: list and search, create, edit, disable or enable, reset a password, roles × units."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.i18n import text_of
from webapp.blueprints.admin import admin_required, bp, section
from webapp.extensions import db
from webapp.i18n import translate
from webapp.runtime import runtime
from workflows.admin.audit import AuditLog
from workflows.admin.users import LANGUAGES, NewUser, UserAdmin
from workflows.errors import CaseNotFoundError, IntakeError
from workflows.models import User
from workflows.roles import ROLES

LIST_LIMIT = 200  # accounts on one page; a narrower search finds the rest

section("admin.users", _l("Users"), order=10,
        description=_l("Accounts, their roles in units, passwords; disable who has left."))


def _admin() -> UserAdmin:
    return UserAdmin(db.session, runtime().clock)


def _errors(exc: IntakeError) -> dict[str, str]:
    return {name: translate(message) for name, message in exc.fields.items()}


def _choices() -> dict[str, Any]:
    return {"roles": list(ROLES), "units": _admin().unit_choices(), "languages": LANGUAGES}


def _user_or_404(admin: UserAdmin, user_id: int) -> User:
    try:
        return admin.user(user_id)
    except CaseNotFoundError:
        abort(404)


@bp.get("/users")
@admin_required()
def users():
    """Accounts, searchable by name, role, unit and state."""
    args = request.args
    query = {"q": (args.get("q") or "").strip()[:100], "role": args.get("role") or "", "unit": args.get("unit") or "",
             "status": args.get("status") or ""}
    found = _admin().search(query["q"], query["role"], query["unit"], query["status"], limit=LIST_LIMIT + 1)
    return render_template("admin/users.html", found=found[:LIST_LIMIT], more=len(found) > LIST_LIMIT,
                           limit=LIST_LIMIT, query=query, **_choices())


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required()
def users_new():
    """Create an account: its details, a first role in a unit, a password typed or generated (shown once)."""
    values = {k: (request.form.get(k) or "") for k in ("username", "full_name", "email", "language", "role", "unit")}
    if request.method == "GET":
        return render_template("admin/user_new.html", values=values, errors={}, **_choices())
    admin = _admin()
    try:
        user, generated = admin.create(g.actor, NewUser(password=request.form.get("password") or "", **values))
    except IntakeError as exc:
        return render_template("admin/user_new.html", values=values, errors=_errors(exc), **_choices()), 400
    flash(_("Account %(user)s created.", user=user.username))
    return _user_page(admin, user, generated=generated), 201


@bp.get("/users/<int:user_id>")
@admin_required()
def users_detail(user_id: int):
    """One account: details, roles × units, state, password, and its audit lines."""
    admin = _admin()
    return _user_page(admin, _user_or_404(admin, user_id))


def _user_page(admin: UserAdmin, user: User, errors: dict[str, str] | None = None, values: dict | None = None,
               generated: str | None = None):
    history = AuditLog(db.session, current_app.config["TIMEZONE"]).for_target("user", user.id)
    return render_template("admin/user.html", user=user, errors=errors or {}, values=values or {},
                           generated=generated, history=history, **_choices())


def _act(user_id: int, work, done: str):
    """Run one change on an account; a refusal re-renders its page with the message and what was typed (400)."""
    admin = _admin()
    user = _user_or_404(admin, user_id)
    try:
        result = work(admin, user)
    except IntakeError as exc:
        db.session.rollback()
        return _user_page(admin, admin.user(user_id), _errors(exc), dict(request.form)), 400
    except CaseNotFoundError as exc:
        db.session.rollback()
        flash(translate(text_of(exc)), "error")
        return redirect(url_for("admin.users_detail", user_id=user_id))
    if isinstance(result, str) and result:  # a generated password: shown on this answer only, never stored
        flash(done)
        return _user_page(admin, admin.user(user_id), generated=result)
    flash(done)
    return redirect(url_for("admin.users_detail", user_id=user_id))


def _note() -> str:
    return (request.form.get("note") or "").strip()[:1000]


@bp.post("/users/<int:user_id>/edit")
@admin_required()
def users_edit(user_id: int):
    """Change the name, email and language of an account."""
    form = request.form
    return _act(user_id, lambda admin, user: admin.update(g.actor, user.id, form.get("full_name", ""),
                                                          form.get("email", ""), form.get("language", ""), _note()),
                _("Account saved."))


@bp.post("/users/<int:user_id>/disable")
@admin_required()
def users_disable(user_id: int):
    """Disable an account: no sign-in, and its open sessions and API tokens stop working at once."""
    return _act(user_id, lambda admin, user: admin.set_active(g.actor, user.id, False, _note()),
                _("Account disabled: it can no longer sign in, and its sessions and tokens no longer work."))


@bp.post("/users/<int:user_id>/enable")
@admin_required()
def users_enable(user_id: int):
    """Enable a disabled account again."""
    return _act(user_id, lambda admin, user: admin.set_active(g.actor, user.id, True, _note()),
                _("Account enabled again."))


@bp.post("/users/<int:user_id>/password")
@admin_required()
def users_password(user_id: int):
    """Reset the password: the one typed, or a generated one shown once; a sign-in lock is lifted."""
    password = request.form.get("password") or ""
    return _act(user_id, lambda admin, user: admin.reset_password(g.actor, user.id, password, _note()) or "",
                _("Password reset."))


@bp.post("/users/<int:user_id>/roles")
@admin_required()
def users_grant(user_id: int):
    """Give a role in a unit, both chosen from the live lists (checked again here)."""
    form = request.form
    return _act(user_id, lambda admin, user: admin.grant(g.actor, user.id, form.get("role", ""), form.get("unit", ""),
                                                         _note()),
                _("Role granted."))


@bp.post("/users/<int:user_id>/roles/<int:binding_id>/revoke")
@admin_required()
def users_revoke(user_id: int, binding_id: int):
    """Take a role in a unit away."""
    return _act(user_id, lambda admin, user: admin.revoke(g.actor, user.id, binding_id, _note()), _("Role revoked."))
