"""The designer workspace: comparing two versions (or a draft and a version): the coloured diagrams and the list of changes."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_babel import lazy_gettext as _l

from engine.i18n import text_of
from webapp.blueprints.designer import bp, designer_required, section
from webapp.extensions import db
from webapp.i18n import reader_language, translate
from webapp.runtime import runtime
from workflows.case_diagram import names_in
from workflows.designer.compare import CompareError, CompareService, Comparison

section("designer.compare", _l("Compare"), order=40,
        description=_l("Two versions of a process side by side: what was added, removed, changed or moved, "
                       "element by element and row by row in the decision tables."))


def _int_arg(name: str) -> int | None:
    """A positive whole number from the query string, or None (anything else is ignored, not an error page)."""
    value = request.args.get(name, "").strip()
    return int(value) if value.isdigit() and 0 < int(value) < 2**31 else None


def _diagrams(comparison: Comparison, lang: str) -> list[dict[str, Any]]:
    """The BPMN files that differ, both sides' XML (names in the reader's language) and the server's list of
    changed element ids, for the coloured viewers."""
    out = []
    for number, item in enumerate(comparison.diff.files):
        if item.kind != "bpmn" or item.status == "unchanged" or item.error:
            continue
        old, new = comparison.old.files.get(item.name), comparison.new.files.get(item.name)
        out.append({"file": item.name, "anchor": f"file-{number}",
                    "old": names_in(old, lang) if old else None, "new": names_in(new, lang) if new else None,
                    "changes": [{"id": e.element_id, "kind": e.kind} for e in item.elements]})
    return out


@bp.get("/compare")
@designer_required()
def compare():
    """Pick a process and two versions (or open a draft against a version); see what changed between them."""
    service = CompareService(db.session, runtime().clock)
    processes = service.processes()
    draft_id = _int_arg("draft")
    asked = request.args.get("key", "").strip() or None
    key = asked or (processes[0].key if processes and draft_id is None else None)
    comparison, error, status = None, None, 200
    try:
        if draft_id is not None:
            comparison = service.draft(draft_id, _int_arg("b"), asked)
        elif key is not None:
            comparison = service.versions(key, _int_arg("a"), _int_arg("b"))
    except CompareError as exc:
        error, status = translate(text_of(exc)), 404
    if comparison is not None:
        key = comparison.old.key
    chosen = next((p for p in processes if p.key == key), None)
    data = {"diagrams": _diagrams(comparison, reader_language()) if comparison else []}
    return render_template("designer/compare.html", processes=processes, chosen=chosen, comparison=comparison,
                           draft_id=draft_id, error=error, data=data,
                           running=service.running_counts(chosen.key) if chosen else {}), status
