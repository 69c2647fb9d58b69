"""The citizens' home page (what the centre does, how to report, the latest resolutions, the province's figures)
and /healthz (database, queue, timer sweep). What runs inside is the administrators' /admin/status."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template

from webapp.extensions import db
from webapp.health import health
from webapp.i18n import reader_language
from webapp.runtime import runtime
from workflows.models import User
from workflows.performance import PerformanceService
from workflows.publication_service import PublicationService

LATEST_RESOLUTIONS = 6
FIGURES_DAYS = 90

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    """For citizens: what the centre does, how to report, the latest published resolutions, the figures."""
    clock = runtime().clock
    latest = PublicationService(db.session, clock).page(lang=reader_language()).items[:LATEST_RESOLUTIONS]
    figures = PerformanceService(db.session, clock).province(FIGURES_DAYS)
    demo = not current_app.config.get("PRODUCTION") and db.session.query(User.id).limit(1).scalar() is not None
    return render_template("home.html", latest=latest, figures=figures, days=FIGURES_DAYS, demo=demo)


@bp.get("/healthz")
def healthz():
    """The state of the database, the queue and the timer sweep, as JSON (503 when one is down)."""
    report = health(db.session, runtime().clock, current_app.config,
                    current_app.extensions["celery"])
    return jsonify(report), (200 if report["status"] == "ok" else 503)
