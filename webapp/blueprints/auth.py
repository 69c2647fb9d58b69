"""Signing in and out, and the interface language of each user."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from engine.i18n import text_of
from webapp.extensions import db, limiter
from webapp.i18n import translate
from webapp.runtime import runtime
from webapp.security import SignedInUser, require
from workflows.access import OFFICIAL_ROLES, AccessService, Actor
from workflows.accounts import AccountService
from workflows.admin.users import LANGUAGES, UserAdmin
from workflows.errors import IntakeError, SignInError

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def landing(actor: Actor | None = None) -> str:
    """Where a user lands after signing in: a citizen on their reports, a leader (who works no task) on the
    figures of their place, everyone else on their task list."""
    actor = actor or (current_user.actor if current_user.is_authenticated else None)
    if actor is not None and not actor.is_official:
        return url_for("portal.my_reports")  # a citizen has no task list; their reports are their page
    if actor is not None and actor.roles & OFFICIAL_ROLES == {"leader"}:
        return url_for("leaders.index")
    return url_for("tasklist.index")


def _safe_next(target: str | None, actor: Actor | None = None) -> str:
    """Only paths on this site: an open redirect after sign-in would help phishing."""
    if not target:
        return landing(actor)
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return landing(actor)
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    """The sign-in form; five wrong passwords lock the account for a while."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")))
    error = None
    username = ""
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()[:120]
        try:
            user = AccountService(db.session).authenticate(username, request.form.get("password") or "")
        except SignInError as exc:
            error = translate(text_of(exc))
        else:
            signed = SignedInUser(AccessService(db.session).actor_of(user))
            login_user(signed, remember=bool(request.form.get("remember")))
            wanted = request.form.get("next") or request.args.get("next")
            response = redirect(_safe_next(wanted, signed.actor))
            if user.language:
                response.set_cookie("lang", user.language, max_age=365 * 24 * 3600, samesite="Lax")
            return response
    return render_template("auth/login.html", error=error, username=username,
                           next=request.args.get("next", "")), (401 if error else 200)


@bp.post("/logout")
def logout():
    """Sign out (a POST with the CSRF token, so no other site can sign anyone out)."""
    logout_user()
    flash(_("You have signed out."))
    return redirect(url_for("auth.login"))


@bp.post("/language")
def language():
    """Choose the interface language; remembered for the signed-in user."""
    lang = request.form.get("lang")
    if lang not in ("vi", "en"):
        flash(_("Choose Vietnamese or English."))
        return redirect(_safe_next(request.form.get("next")))
    if current_user.is_authenticated and not current_user.via_token:
        AccountService(db.session).set_language(current_user.actor.user_id, lang)
    response = redirect(_safe_next(request.form.get("next") or request.referrer and urlsplit(request.referrer).path))
    response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax")
    return response


@bp.route("/account/profile", methods=["GET", "POST"])
@require()
def profile():
    """Everyone's own page: change the password (the current one is asked) and the interface language."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        service = AccountService(db.session, runtime().clock)
        try:
            service.change_password(current_user.actor.user_id, request.form.get("current") or "",
                                    request.form.get("new") or "", request.form.get("again") or "")
        except IntakeError as exc:
            errors = {name: translate(message) for name, message in exc.fields.items()}
        except SignInError:
            logout_user()
            return redirect(url_for("auth.login"))
        else:
            # The new password ends every session made with the old one; this one goes on.
            login_user(SignedInUser(AccessService(db.session).actor(current_user.actor.user_id)),
                       remember=bool(request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME",
                                                                                "remember_token"))))
            flash(_("Your password is changed. Use the new one from now on."))
            return redirect(url_for("auth.profile"))
    account = UserAdmin(db.session).user(current_user.actor.user_id)
    return render_template("auth/profile.html", errors=errors, languages=LANGUAGES,
                           roles=sorted(account.roles, key=lambda r: (r.role, r.unit.name))), (400 if errors else 200)
