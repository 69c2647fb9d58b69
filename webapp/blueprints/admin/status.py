"""The system's state for administrators: what runs, the latest cases, processes, the timer sweep."""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import lazy_gettext as _l

from webapp.blueprints.admin import admin_required, bp, section
from webapp.extensions import db
from webapp.runtime import runtime
from workflows.status import recent_cases, system_overview

section("admin.status", _l("System status"), order=1,
        description=_l("Open tasks, incidents, accounts, deployed processes and the timer sweep."))


@bp.get("/status")
@admin_required()
def status():
    """Counts of cases, tasks, incidents, units and accounts; deployed processes; the timer sweep's last run."""
    overview = system_overview(db.session, runtime().clock)
    cases = recent_cases(db.session, runtime().clock)
    return render_template("admin/status.html", overview=overview, cases=cases, config=current_app.config)
