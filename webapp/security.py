"""Sign-in, CSRF, throttling and the role/unit checks every route goes through."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, g, request
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFProtect

from webapp.extensions import db
from workflows.access import AccessService, Actor

login_manager = LoginManager()
csrf = CSRFProtect()


class SignedInUser(UserMixin):
    """The Flask-Login user: an Actor (roles bound to units, units in view)."""

    def __init__(self, actor: Actor, via_token: bool = False):
        self.actor = actor
        self.via_token = via_token

    def get_id(self) -> str:
        """What Flask-Login keeps in the session and the remember-me cookie: the user id and the password's stamp."""
        return f"{self.actor.user_id}.{self.actor.session_stamp}"


def init_security(app: Flask) -> None:
    """Bind Flask-Login, CSRF protection and the limiter to `app`."""
    from webapp.extensions import limiter

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    login_manager.login_message = None  # the login page says why on its own
    csrf.init_app(app)
    limiter.init_app(app)
    policy = content_security_policy(app.config.get("MAP_TILES_URL") or "")

    @app.after_request
    def protective_headers(response):
        # On every answer, pages, JSON and files alike: no inline script runs (a stored title that
        # slipped past escaping stays text), no other site frames a page, no file is sniffed into HTML.
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        return response

    @login_manager.user_loader
    def load_user(user_id: str) -> SignedInUser | None:
        number, _, stamp = user_id.partition(".")
        try:
            actor = AccessService(db.session).actor(int(number))
        except ValueError:
            return None
        # A session made before the password changed (reset by an administrator, or by the user elsewhere) ends.
        if actor is None or stamp != actor.session_stamp:
            return None
        return SignedInUser(actor)

    @app.before_request
    def load_from_token() -> None:
        # Machines send "Authorization: Bearer ioc_…"; browsers use the session cookie. The token
        # decides alone: a cookie the machine's client happens to carry must not override it or,
        # through session protection, make a valid token look signed out.
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or request.endpoint == "monitoring.alert_hook":
            return  # an alert source's token is no account's: the webhook checks it itself (one query fewer)
        from flask_login import AnonymousUserMixin

        from workflows.accounts import AccountService

        user = AccountService(db.session).user_for_token(header[7:].strip())
        g._login_user = (SignedInUser(AccessService(db.session).actor_of(user), via_token=True)
                         if user is not None else AnonymousUserMixin())

    @login_manager.unauthorized_handler
    def unauthorized():
        from flask import jsonify, redirect, url_for

        if request.path.startswith("/api/"):
            return jsonify(error="unauthorized", message=_("Sign in, or send an API token as "
                                                           "'Authorization: Bearer <token>'.")), 401
        return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))


def content_security_policy(tiles_url: str) -> str:
    """The CSP of every answer: scripts, styles and connections from this site only; map tiles from their server."""
    images = ["'self'", "data:", "blob:"]
    tiles = urlsplit(tiles_url.replace("{s}", "a")) if tiles_url else None
    if tiles is not None and tiles.scheme in ("http", "https") and tiles.netloc:
        # Leaflet's {s} picks one of several subdomains (a., b., c.): allow them all.
        host = tiles.netloc.replace("a.", "*.", 1) if "{s}." in tiles_url else tiles.netloc
        images.append(f"{tiles.scheme}://{host}")
    return "; ".join((
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src {' '.join(images)}",
        "media-src 'self' blob:",
        "font-src 'self'",
        # Socket.IO: polling over https and the websocket (ws:/wss: to this host).
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def actor() -> Actor:
    """The signed-in actor (routes behind `require` only)."""
    return current_user.actor


def current_actor() -> Actor | None:
    """The signed-in actor, or None for a visitor."""
    return current_user.actor if current_user.is_authenticated else None


def require(*roles: str, official: bool = False) -> Callable:
    """Let in signed-in users holding one of `roles` (or any official role); others get 403.

    The unit check is the service's: it knows which case or task is asked for.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            who = current_user.actor
            if roles and not who.has_role(*roles):
                abort(403)
            if official and not who.is_official:
                abort(403)
            g.actor = who
            return view(*args, **kwargs)

        return wrapped

    return decorator
