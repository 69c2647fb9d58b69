"""The camera part of a case page and of its task pages (templates/cameras/_case_evidence.html): the camera, each
incident's snapshot with its region, its clip, its numbers in words, and, on the case page, the form of the open
verification task (the BPMN's own form, completed through the task list's route)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from webapp.blueprints.cameras.evidence import STATES, VERDICTS, evidence_lines, kind_words
from webapp.extensions import db
from webapp.i18n import reader_language
from workflows.cameras.incidents import SITUATION_OF
from workflows.cameras.views import CameraViews
from workflows.errors import AccessDeniedError, CaseNotFoundError

VERIFY_TASK = "verify"  # the user task of bpmn/camera_incident.bpmn


def camera_context(detail, actor=None, services=None) -> dict[str, Any]:
    """`camera_case` (None for other channels) with each incident's words, `verify_task` (the open
    verification's TaskDetail when the reader may complete it and `services` are given, its situation preselected
    from the incident's kind) and `verify_initial` (that preselection, for the task's own page)."""
    if detail is None or detail.channel != "camera":
        return {"camera_case": None, "verify_task": None, "verify_initial": {}}
    found = CameraViews(db.session).for_case(detail.code)
    if found is None:
        return {"camera_case": None, "verify_task": None, "verify_initial": {}}
    first = found.incidents[0] if found.incidents else None
    situation = SITUATION_OF.get(first.kind) if first is not None else None
    verify_initial = {"situation": situation} if situation else {}
    language = reader_language()
    incidents = [{"row": i, "what": kind_words(i.kind, i.subtype), "lines": evidence_lines(i.evidence),
                  "state": STATES.get(i.state, i.state), "verdict": VERDICTS.get(i.verdict or "", i.verdict),
                  "region_points": _points(i.region)} for i in found.incidents]
    verify = None
    if services is not None and actor is not None:
        task = next((t for t in detail.open_tasks if t.element_id == VERIFY_TASK), None)
        if task is not None:
            try:
                verify = services.tasks.detail(actor, task.id, language)
            except (CaseNotFoundError, AccessDeniedError):
                verify = None
            if verify is not None and not verify.can_complete:
                verify = None
            if verify is not None and verify_initial:
                verify = replace(verify, initial={**verify_initial, **(verify.initial or {})})
    return {"camera_case": {"camera": found, "name": found.label(language), "incidents": incidents},
            "verify_task": verify, "verify_initial": verify_initial}


def _points(region: list | None) -> str:
    """A normalised polygon as an SVG points attribute on a 0..100 box ("" when there is none)."""
    if not region or len(region) < 2:
        return ""
    return " ".join(f"{float(x) * 100:.2f},{float(y) * 100:.2f}" for x, y in region)
