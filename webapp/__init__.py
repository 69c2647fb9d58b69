"""The Flask application factory of IOC Case Flow."""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from engine.clock import SYSTEM_CLOCK, Clock
from webapp import config as config_module
from webapp.extensions import babel, db, migrate

MIGRATIONS_DIR = str(config_module.PROJECT_ROOT / "webapp" / "migrations")


def create_app(overrides: dict[str, Any] | None = None, clock: Clock = SYSTEM_CLOCK) -> Flask:
    """Build the application: defaults, then IOC_* environment variables, then `overrides`."""
    app = Flask(__name__, instance_relative_config=True)
    from webapp.params import BoundedIntConverter

    app.url_map.converters["int"] = BoundedIntConverter  # before any route: an id past 2³¹ is a 404, not a 500
    configure(app, overrides)
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Behind a balancer every request comes from its address: rate limits per address and the
        # site's own links need the client's address and scheme from X-Forwarded-* instead.
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    configure_extensions(app, clock)
    configure_blueprints(app)
    return app


def configure(app: Flask, overrides: dict[str, Any] | None) -> None:
    """Load and check the configuration."""
    app.config.from_mapping(config_module.defaults(app.instance_path))
    app.config.from_prefixed_env("IOC")
    if overrides:
        app.config.from_mapping(overrides)
    config_module.finish(app.config)
    if app.config["DATABASE_URL"].startswith("sqlite:///"):
        import os

        os.makedirs(os.path.dirname(app.config["DATABASE_URL"][len("sqlite:///"):]) or ".", exist_ok=True)


def _select_locale() -> str:
    """?lang=…, then the signed-in user's choice, then the lang cookie, then Vietnamese."""
    from flask_login import current_user

    wanted = request.args.get("lang")
    if wanted not in ("vi", "en") and current_user and current_user.is_authenticated:
        wanted = current_user.actor.language
    if wanted not in ("vi", "en"):
        wanted = request.cookies.get("lang")
    return wanted if wanted in ("vi", "en") else "vi"


def configure_extensions(app: Flask, clock: Clock) -> None:
    """Bind the database, migrations, translations, Celery and the runtime."""
    import engine.models  # noqa: F401 - the tables must be known to migrations
    import reports.models  # noqa: F401 - the leaders' reports' archive, subscriptions and deliveries
    import workflows.models  # noqa: F401
    from webapp.celery_app import celery_init_app
    from webapp.runtime import init_runtime

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True)
    babel.init_app(app, locale_selector=_select_locale)
    from flask_babel import get_locale

    from webapp.i18n import translate

    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.filters["tr"] = translate  # {{ message|tr }}: a workflows/engine Text in the reader's language
    celery_init_app(app)
    init_runtime(app, db, clock)
    from webapp.realtime import init_realtime
    from webapp.security import init_security

    init_security(app)
    init_realtime(app)


def configure_blueprints(app: Flask) -> None:
    """Register the blueprints."""
    from webapp.blueprints import (
        admin,
        api,
        auth,
        cameras,
        cases,
        dashboard,
        designer,
        home,
        hotline,
        leaders,
        monitoring,
        notifications,
        open311,
        portal,
        public,
        tasklist,
    )

    for module in (home, auth, tasklist, cases, notifications, dashboard, api, portal, public, hotline, open311, admin, designer,
                   monitoring, cameras, leaders):
        app.register_blueprint(module.bp)
    notifications.init_app(app)

    from zoneinfo import ZoneInfo

    zone = ZoneInfo(app.config["TIMEZONE"])

    @app.template_filter("local")
    def local_time(moment, fmt: str = "%H:%M %d/%m/%Y") -> str:
        """A UTC moment as local time (Asia/Ho_Chi_Minh by default), or — when there is none."""
        return moment.astimezone(zone).strftime(fmt) if moment else "—"

    from flask import render_template
    from flask_babel import gettext as _

    @app.errorhandler(404)
    def not_found(_error):
        return _answer(404, _("Page not found"), _("This address does not exist. Check it, or start from the home page."))

    from flask import jsonify
    from flask_wtf.csrf import CSRFError

    def _answer(code: int, title: str, message: str):
        if request.path.startswith("/open311/"):  # Open311 clients read the spec's error list
            from webapp.blueprints.open311 import app_refusal

            return app_refusal(code, message)
        if request.path.startswith("/api/"):
            codes = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                     413: "too_large", 429: "too_many_requests", 500: "server_error"}
            return jsonify(error=codes.get(code, str(code)), message=message, fields={}), code
        return render_template("error.html", code=code, title=title, message=message), code

    @app.errorhandler(CSRFError)
    def csrf_refused(_error):
        return _answer(400, _("The form has expired"),
                       _("For your safety the form could not be accepted (its security token is missing or old). "
                         "Go back, reload the page and send it again; nothing was changed."))

    @app.errorhandler(403)
    def forbidden(_error):
        return _answer(403, _("Not allowed"),
                       _("Your account's roles or units do not cover this page or action. "
                         "If you need it, ask your unit head or the IOC's administrator."))

    @app.errorhandler(405)
    def wrong_method(_error):
        return _answer(405, _("Not allowed here"),
                       _("This address does not take a %(method)s request; see the API document at /api/v1/openapi.json.",
                         method=request.method))

    @app.errorhandler(413)
    def too_large(_error):
        return _answer(413, _("The file is too large"),
                       _("The upload is larger than this server accepts (%(mb)s MB); send a smaller file.",
                         mb=app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)))

    @app.errorhandler(429)
    def too_many(_error):
        return _answer(429, _("Too many attempts"),
                       _("Too many requests from your address in a short time; wait a minute and try again."))

    @app.errorhandler(500)
    def server_error(_error):
        # A failed statement leaves PostgreSQL's transaction aborted: every later query of this request
        # (the menu's unread count, the signed-in user) would fail too, and the error page with them.
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - a database that is gone: the page is still worth trying
            app.logger.warning("rollback before the error page failed", exc_info=True)
        return _answer(500, _("Something went wrong"),
                       _("The error has been logged and nothing you sent was lost. "
                         "Try again in a moment; if it happens again, tell the IOC's administrator."))

    @app.after_request
    def remember_language(response):
        lang = request.args.get("lang")
        if lang in ("vi", "en"):
            response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax")
        return response
