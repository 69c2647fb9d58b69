"""The home page (what runs) and /healthz (database, queue, timer sweep)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template

from webapp.extensions import db
from webapp.health import health
from webapp.runtime import runtime
from workflows.status import recent_cases, system_overview

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    """Say what runs: deployed processes, cases, open tasks, the timer sweep."""
    overview = system_overview(db.session, runtime().clock)
    cases = recent_cases(db.session, runtime().clock)
    return render_template("home.html", overview=overview, cases=cases, config=current_app.config)


@bp.get("/healthz")
def healthz():
    """The state of the database, the queue and the timer sweep, as JSON (503 when one is down)."""
    report = health(db.session, runtime().clock, current_app.config,
                    current_app.extensions["celery"])
    return jsonify(report), (200 if report["status"] == "ok" else 503)
