"""Uploading indicator values: choose a CSV or XLSX file, read its dry run (every bad row with its line, column
and reason; what would change; which rules would breach), then keep the good rows or refuse the whole file.

The service is workflows/monitoring/ingest.py; stored values go to evaluation after the commit
(webapp.monitoring_jobs.enqueue_evaluation)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from engine.errors import ConflictError, NotFoundError
from engine.i18n import from_json
from webapp.blueprints.monitoring import REPORTERS, _l, bp, monitoring_required, section
from webapp.extensions import db
from webapp.i18n import reader_language, translate
from webapp.monitoring_jobs import enqueue_evaluation
from webapp.runtime import runtime
from webapp.security import actor
from workflows.errors import AccessDeniedError
from workflows.monitoring.charts import rule_word
from workflows.monitoring.fields import SEVERITIES
from workflows.monitoring.ingest import MAX_BYTES, MAX_ROWS, IngestService
from workflows.monitoring.models import Indicator, Upload
from workflows.monitoring.periods import Period, PeriodError

section("monitoring.upload", _l("Upload values"), roles=REPORTERS, order=30)

SHOWN = 500  # rows of each table on the page (the counts are complete)
DECISION_WORDS = {
    "dry_run": _l("Checked, waiting for your choice"),
    "kept_good": _l("Good rows stored, bad rows left out"),
    "stored": _l("Stored"),
    "refused": _l("Refused: nothing stored"),
}


def _service() -> IngestService:
    return IngestService(db.session, runtime().clock, after_commit=enqueue_evaluation)


@bp.get("/upload")
@monitoring_required(*REPORTERS)
def upload():
    """The form to choose a file, what the file must hold, and the user's recent uploads."""
    return render_template("monitoring/upload.html", recent=_service().recent(actor()),
                           decision_words=DECISION_WORDS, max_mb=MAX_BYTES // (1024 * 1024), max_rows=MAX_ROWS)


@bp.get("/upload/template.csv")
@monitoring_required(*REPORTERS)
def upload_template():
    """A CSV to fill in: the indicators and units the user reports, for the period just ended, values empty."""
    data = _service().template(actor(), current_app.config["TIMEZONE"])
    stamp = runtime().clock.now().strftime("%Y%m%d")
    return Response(data, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="bao-cao-chi-tieu-{stamp}.csv"',
                             "Cache-Control": "no-store"})


@bp.post("/upload")
@monitoring_required(*REPORTERS)
def upload_check():
    """Check a chosen file (the dry run: nothing stored) and show its report."""
    chosen = request.files.get("file")
    if chosen is None or not chosen.filename:
        flash(_("Choose a CSV or XLSX file first."), "error")
        return render_template("monitoring/upload.html", recent=_service().recent(actor()),
                               decision_words=DECISION_WORDS, max_mb=MAX_BYTES // (1024 * 1024),
                               max_rows=MAX_ROWS), 400
    data = chosen.read(MAX_BYTES + 1)
    chosen.close()
    checked = _service().dry_run(chosen.filename, data, actor())
    return redirect(url_for("monitoring.upload_result", upload_id=checked.id), code=303)


@bp.get("/uploads/<int:upload_id>")
@monitoring_required(*REPORTERS)
def upload_result(upload_id: int):
    """An upload's report: bad rows, what would change (or changed), which rules would breach, the choice."""
    try:
        found = _service().get(upload_id, actor())
    except NotFoundError:
        abort(404)
    return render_template("monitoring/upload_result.html", upload=found, report=_report(found),
                           decision_words=DECISION_WORDS, shown=SHOWN)


@bp.post("/uploads/<int:upload_id>/decide")
@monitoring_required(*REPORTERS)
def upload_decide(upload_id: int):
    """Keep the good rows (choice=keep_good) or refuse the whole file (choice=refuse)."""
    choice = request.form.get("choice", "")
    service = _service()
    try:
        service.get(upload_id, actor())
        decided = service.decide(upload_id, choice, actor())
    except NotFoundError:
        abort(404)
    except AccessDeniedError:
        abort(403)
    except ConflictError as exc:
        flash(translate(exc.args[0]) if exc.args else str(exc), "error")
        return redirect(url_for("monitoring.upload_result", upload_id=upload_id), code=303)
    if decided.decision == "refused":
        flash(_("The file was refused; nothing was stored."))
    else:
        flash(_("%(new)s new and %(changed)s changed values stored; they are being checked against the rules.",
                new=decided.new_values, changed=decided.changed_values))
    return redirect(url_for("monitoring.upload_result", upload_id=upload_id), code=303)


def _report(found: Upload) -> dict[str, Any]:
    """The stored report made readable: messages in the reader's language, units and indicators by name."""
    report = found.report or {}
    language = reader_language()
    units = {int(uid): from_json(name) for uid, name in (report.get("units") or {}).items()}
    changes = report.get("changes") or {}
    findings = report.get("findings") or []
    codes = {row[1] for row in changes.get("new_rows", [])[:SHOWN]} | {
        row[1] for row in changes.get("changed_rows", [])[:SHOWN]} | {f["indicator"] for f in findings[:SHOWN]}
    indicators = {i.code: i for i in db.session.scalars(select(Indicator).where(Indicator.code.in_(codes)))} \
        if codes else {}

    def unit_name(uid: int) -> str:
        name = units.get(int(uid))
        return translate(name) if name is not None else str(uid)

    def indicator(code: str) -> dict[str, Any]:
        found_ = indicators.get(code)
        name = (found_.name_en if language == "en" and found_.name_en else found_.name) if found_ else code
        return {"code": code, "name": name, "decimals": found_.decimals if found_ else 2,
                "period": found_.period if found_ else None}

    def period(info: dict[str, Any], key: str) -> str:
        """A period key as the page says it (tháng 03/2026, quý 1/2026)."""
        try:
            return translate(Period.from_key(info["period"], key).label()) if info["period"] else key
        except PeriodError:
            return key

    file_error = report.get("file_error")
    return {
        "file_error": translate(from_json(file_error)) if file_error else None,
        "errors": [{"line": e["line"], "column": e["column"], "message": translate(from_json(e["message"]))}
                   for e in (report.get("errors") or [])[:SHOWN]],
        "errors_total": len(report.get("errors") or []),
        "new": changes.get("new", 0), "changed": changes.get("changed", 0), "unchanged": changes.get("unchanged", 0),
        "new_rows": [{"line": r[0], "indicator": indicator(r[1]), "unit": unit_name(r[2]),
                      "period": period(indicator(r[1]), r[3]), "value": r[4]}
                     for r in changes.get("new_rows", [])[:SHOWN]],
        "changed_rows": [{"line": r[0], "indicator": indicator(r[1]), "unit": unit_name(r[2]),
                          "period": period(indicator(r[1]), r[3]), "old": r[4], "new": r[5]}
                         for r in changes.get("changed_rows", [])[:SHOWN]],
        "findings": [{"indicator": indicator(f["indicator"]), "unit": unit_name(f["unit_id"]),
                      "period": period(indicator(f["indicator"]), f["period"]),
                      "rule": translate(rule_word(f["rule"])),
                      "severity": SEVERITIES.get(f["severity"], (f["severity"],) * 2)[1 if language == "en" else 0],
                      "message": translate(from_json(f["message"]))} for f in findings[:SHOWN]],
        "findings_total": report.get("findings_total") or 0,
    }
