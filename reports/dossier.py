"""The dossier of one case for official records: the case, who did what and when, photos, the resolution, the
citizens' ratings.

The history is the case page's (workflows/case_view.py: the case's own events and its process's audit, each
said in words, with the person's name), oldest first as a record reads. Photos are embedded as the small
JPEG thumbnails the attachment store keeps (data: URIs — the report's fetcher reaches no file of the store);
the caller hands the store over (`render_report(..., files=FileStore(...))`); without one, the photos are
listed by name. The reporter's personal details stay out of the dossier (they are kept in the system, shown
only to the responsible unit and the operations centre).
"""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK
from engine.i18n import Named, t
from reports.catalog import ReportData, ReportParams, ReportType, register
from reports.i18n import Translate, language_of
from reports.periods import LOCAL
from reports.render import FILES_KEY
from workflows.access import Actor
from workflows.attachments import FileStore
from workflows.case_view import CHANNEL_LABELS, CLOSE_REASONS, PRIORITY_LABELS, CaseViewService
from workflows.models import Attachment, Case, CaseRating

PHOTO_LIMIT = 12
THUMB_MAX_BYTES = 400_000


def records_actor(case: Case) -> Actor:
    """Who reads the case for the record: an official whose view is the case's place and unit (never
    the reporter's personal details, which only the responsible unit and the IOC see)."""
    ids = frozenset(i for i in (case.admin_unit_id, case.responsible_unit_id) if i is not None)
    return Actor(user_id=0, username="reports", full_name="", unit_id=None, language=None,
                 bindings=frozenset({("leader", "")}), scope_ids=ids)


def _local(moment: Any) -> str:
    return moment.astimezone(LOCAL).strftime("%H:%M %d/%m/%Y") if moment is not None else "–"


def _photos(session: Session, case: Case, attachments: list[Any], translate: Translate) -> list[dict[str, Any]]:
    store: FileStore | None = session.info.get(FILES_KEY)
    digests = {row.id: row.thumb_sha256 for row in session.scalars(
        select(Attachment).where(Attachment.case_id == case.id))}
    photos = []
    for item in attachments:
        if item.media not in ("image", "video"):
            continue
        uri = None
        digest = digests.get(item.id)
        if store is not None and digest:
            try:
                data = store.read(digest)
            except (OSError, ValueError):
                data = b""
            if data and len(data) <= THUMB_MAX_BYTES and data[:3] == b"\xff\xd8\xff":  # a JPEG, as media.py makes
                uri = "data:image/jpeg;base64," + base64.b64encode(data).decode()
        stage = translate(t("Sent with the case") if item.stage == "report" else t("Taken at the resolution"))
        photos.append({"name": item.filename, "uri": uri, "stage": stage, "at": _local(item.created_at),
                       "video": item.media == "video"})
    return photos[:PHOTO_LIMIT]


def collect(session: Session, params: ReportParams, translate: Translate) -> ReportData:
    """The case's facts, history, photos, resolution and ratings."""
    language = language_of(translate)
    case = session.scalar(select(Case).where(Case.code == params.case))
    if case is None:
        raise ValueError("the dossier needs an existing case (validate_params checks it)")
    view = CaseViewService(session, SYSTEM_CLOCK)
    detail = view.get(records_actor(case), case.code, language)
    history = []
    for entry in reversed(detail.timeline):  # oldest first, as a record reads
        who = translate(t("Citizen")) if entry.actor == "citizen" else (entry.actor or "")
        history.append({"at": _local(entry.at), "what": translate(entry.label), "who": who,
                        "facts": [(translate(label), translate(value)) for label, value in entry.facts]})
    ratings = [{"at": _local(r.created_at), "satisfied": r.satisfied, "comment": r.comment,
                "answer": translate(t("Satisfied") if r.satisfied else t("Not satisfied"))}
               for r in session.scalars(select(CaseRating).where(CaseRating.case_id == case.id)
                                        .order_by(CaseRating.created_at, CaseRating.id))]
    unit = case.responsible_unit
    facts = [
        (t("Case code"), case.code),
        (t("Received at"), _local(case.created_at)),
        (t("Channel"), translate(CHANNEL_LABELS.get(case.channel, case.channel))),
        (t("Category"), detail.category),
        (t("Place"), detail.place.name),
        (t("Address"), case.address or "–"),
        (t("Priority"), translate(PRIORITY_LABELS.get(case.priority, case.priority))),
        (t("Status"), translate(detail.status_label)),
        (t("Responsible unit"), detail.responsible_unit.name if detail.responsible_unit else
         translate(t("Not assigned yet"))),
        (t("Deadline"), _local(case.due_at)),
    ]
    if case.escalation_level:
        facts.append((t("Escalation level"), str(case.escalation_level)))
    if case.reopen_count:
        facts.append((t("Reopened"), str(case.reopen_count)))
    if case.closed_at is not None:
        reason = CLOSE_REASONS.get(case.close_reason or "", case.close_reason or "")
        facts.append((t("Closed"), f"{_local(case.closed_at)} ({translate(reason)})"))
    if detail.merged_into:
        facts.append((t("Merged into"), detail.merged_into))
    resolution = {"text": case.resolution or "", "at": _local(case.resolved_at) if case.resolved_at else "",
                  "published": _local(case.published_at) if case.published_at else "",
                  "note": case.close_note or ""}
    photos = _photos(session, case, detail.attachments, translate)
    summary = {"case": case.code, "status": case.status, "unit": unit.code if unit else None,
               "events": len(history), "photos": len(photos), "ratings": len(ratings),
               "resolved_at": case.resolved_at.isoformat() if case.resolved_at else None}
    return ReportData(
        title=t("Dossier of case %(code)s", code=case.code), subtitle=case.title, summary=summary,
        tables={"history": history, "ratings": ratings},
        extra={"case": case, "facts": [(translate(label), value) for label, value in facts],
               "description": case.description, "resolution": resolution, "photos": photos,
               "files": [a.filename for a in detail.attachments if a.media not in ("image", "video")],
               "unit_code": unit.code if unit else case.admin_unit.code,
               "unit_name": translate(Named(unit.name, unit.name_en)) if unit else "",
               "reporter_kept": case.reporter is not None,
               "recipients": [translate(t("The responsible unit (to follow up)"))]})


register(ReportType(code="dossier", name=t("Case dossier"), needs=("case",), collect=collect,
                    template="dossier.html"))
