"""The audit log page: every administrator's action, filtered, with its before and after side by side."""

from __future__ import annotations

from datetime import date

from flask import current_app, render_template, request

from webapp.blueprints.admin import admin_required, bp
from webapp.extensions import db
from workflows.admin.audit import AuditLog, AuditQuery

PAGE = 50


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.get("/audit")
@admin_required()
def audit():
    """The audit log, newest first: filter by actor, action, target and dates."""
    args = request.args
    query = AuditQuery(actor=(args.get("actor") or "").strip(), action=(args.get("action") or "").strip(),
                       target_type=(args.get("target_type") or "").strip(),
                       target=(args.get("target") or "").strip()[:100],
                       since=_day(args.get("since")), until=_day(args.get("until")))
    page = args.get("page", 1, type=int) or 1
    page = min(max(page, 1), 10_000)
    log = AuditLog(db.session, current_app.config["TIMEZONE"])
    lines, total = log.search(query, limit=PAGE, offset=(page - 1) * PAGE)
    return render_template("admin/audit.html", lines=lines, total=total, query=query, page=page,
                           pages=max(1, -(-total // PAGE)), actors=log.actors(), actions=log.actions(),
                           target_types=log.target_types(),
                           pager_args={k: v for k, v in args.items() if k != "page"},
                           bad_dates=bool((args.get("since") and not query.since) or (args.get("until") and not query.until)))
