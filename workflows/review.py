"""What a task page shows of the unit head's review of an officer's result (field_report, hotline_call).

The operators `request_review` and `record_review` write the review into the case's history
(`review_requested` with the result, `review_refused` / `review_approved` with the head's note; none is
public). A task reads it back from there: the head's review task shows the result and the "after" photos,
and the officer's handling task shows the notes of the results refused since the case was assigned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.models import Attachment, Case, CaseEvent, User

# The history of one round of handling starts at the case's newest assignment (a reopening assigns again).
_ROUND_START = "assigned"


@dataclass(frozen=True)
class ReviewNote:
    """A refused result: when, by whom (full name or user name), and the head's note."""

    at: datetime
    by: str | None
    note: str


@dataclass(frozen=True)
class ReviewContext:
    """The review as a task shows it: the result under review (review task only) and the refusals of this round."""

    resolution: str = ""
    photos: list[int] = field(default_factory=list)  # attachment ids of the "after" photos
    refusals: list[ReviewNote] = field(default_factory=list)


def review_context(session: Session, case_code: str, form: dict[str, Any]) -> ReviewContext | None:
    """The review facts for a task of case `case_code` with this form, or None when there is nothing to show.

    A task whose form decides a review (`review_decision`) shows the result and photos under review; a task
    whose form takes a `resolution` (the officer's handling) shows the head's notes on refused results.
    """
    names = {f.get("name") for f in form.get("fields", [])}
    reviewing, handling = "review_decision" in names, "resolution" in names
    if not (reviewing or handling):
        return None
    case_id = session.scalar(select(Case.id).where(Case.code == case_code))
    if case_id is None:
        return None
    events = list(session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case_id,
                                CaseEvent.kind.in_((_ROUND_START, "review_requested", "review_refused")))
        .order_by(CaseEvent.at, CaseEvent.id)))
    starts = [i for i, e in enumerate(events) if e.kind == _ROUND_START]
    this_round = events[starts[-1] + 1:] if starts else events
    refused = [e for e in this_round if e.kind == "review_refused"]
    people = dict(session.execute(select(User.username, User.full_name)
                                  .where(User.username.in_({e.actor for e in refused if e.actor}))).all())
    refusals = [ReviewNote(e.at, people.get(e.actor) or e.actor, str((e.detail or {}).get("note", "")))
                for e in reversed(refused)]
    if not reviewing:
        return ReviewContext(refusals=refusals) if refusals else None
    requested = [e for e in this_round if e.kind == "review_requested"]
    resolution = str((requested[-1].detail or {}).get("resolution", "")) if requested else ""
    photos = list(session.scalars(select(Attachment.id).where(
        Attachment.case_id == case_id, Attachment.stage == "resolution", Attachment.kind == "image")
        .order_by(Attachment.id)))
    return ReviewContext(resolution=resolution, photos=photos, refusals=refusals)
