"""Report data in bulk, and the reports' benchmark behind `ioc bench reports`.

`make_cases` writes cases (with their escalation and reopening events and the citizens' ratings) straight into
the tables with set-based inserts, fast enough for 100,000 cases on SQLite or PostgreSQL, and hands back the
rows it wrote, so a test can compute every figure of a report independently from them. The bench
(`run`) fills a scratch database with a province month of 100,000 cases (and the months a report compares
it with), then times the operations report's data queries, its rendering, and a 20-page report.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from reports.periods import ReportPeriod

CHANNELS = (("field_report", "PA", 0.55), ("hotline", "HL", 0.3), ("camera", "CAM", 0.1), ("kpi", "KPI", 0.05))
SEED = 20261204
TITLE_WORDS = ("Ổ gà sâu", "Đèn đường không sáng", "Rác thải tồn đọng", "Cống thoát nước bị tắc", "Cây xanh gãy đổ",
               "Lấn chiếm vỉa hè", "Tiếng ồn kéo dài ban đêm", "Nước sinh hoạt bị đục")


@dataclass
class Generated:
    """What `make_cases` wrote: the case rows (dicts, as inserted), the events and the ratings."""

    cases: list[dict[str, Any]]
    events: list[dict[str, Any]]
    ratings: list[dict[str, Any]]


def _channel(rng: random.Random) -> tuple[str, str]:
    draw, total = rng.random(), 0.0
    for channel, prefix, share in CHANNELS:
        total += share
        if draw < total:
            return channel, prefix
    return CHANNELS[0][0], CHANNELS[0][1]


def make_cases(session: Session, count: int, start: datetime, end: datetime, places: Sequence[int],
               bodies: Sequence[int], categories: Sequence[str], *, seed: int = SEED, overdue_share: float = 0.25,
               now: datetime | None = None, title: Callable[[int, random.Random], str] | None = None,
               batch: int = 5000) -> Generated:
    """Write `count` cases received between `start` and `end` (uniformly), placed in `places`, handled by their
    place or one of `bodies` (a tenth not routed yet). About 60 % are resolved (some late), 5 % rejected, 2 %
    merged duplicates; of the open ones `overdue_share` is past its deadline by `now` and a third of those were
    escalated at their deadline (an `escalated` event, a new deadline a day later). A twentieth of the resolved
    cases were reopened once (a `reopened` event a day after); 40 % of the resolved were rated (75 % satisfied)."""
    rng = random.Random(seed)
    now = now or end
    first_id = (session.scalar(select(func.max(_case_table().c.id))) or 0) + 1
    cases: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    ratings: list[dict[str, Any]] = []
    span = (end - start).total_seconds()
    for n in range(count):
        case_id = first_id + n
        created = start + timedelta(seconds=span * (n + rng.random()) / count)
        channel, prefix = _channel(rng)
        place = places[rng.randrange(len(places))]
        draw = rng.random()
        unit = None if draw < 0.1 else (place if draw < 0.6 or not bodies else bodies[rng.randrange(len(bodies))])
        due = created + timedelta(hours=72) if unit is not None else None
        row: dict[str, Any] = {
            "id": case_id, "code": f"{prefix}-{created.year}-{case_id:06d}", "channel": channel,
            "category_code": categories[rng.randrange(len(categories))],
            "title": title(case_id, rng) if title else f"{TITLE_WORDS[case_id % len(TITLE_WORDS)]} — số {case_id}",
            "description": "", "address": "", "admin_unit_id": place, "priority": "normal", "status": "in_progress",
            "responsible_unit_id": unit, "escalation_level": 0, "due_at": due, "resolution": None,
            "resolved_at": None, "closed_at": None, "close_reason": None, "close_note": "", "reopen_count": 0,
            "answers": {}, "source": "demo", "merged_into_id": None, "created_at": created, "updated_at": created}
        outcome = rng.random()
        if n and outcome < 0.02:
            row.update(status="merged", merged_into_id=first_id + rng.randrange(n), due_at=None)
        elif outcome < 0.07 or unit is None:
            if outcome < 0.07:
                row.update(status="rejected", closed_at=created + timedelta(hours=4), close_reason="rejected",
                           due_at=None, responsible_unit_id=None)
            else:
                row.update(status="received")
        elif outcome < 0.67:
            late = rng.random() < 0.2
            took = timedelta(hours=rng.uniform(74, 200) if late else rng.uniform(1, 71))
            row.update(status="resolved", resolution="Đã xử lý xong.", resolved_at=created + took)
            if rng.random() < 0.05:
                row["reopen_count"] = 1
                events.append({"case_id": case_id, "at": created + took / 2, "kind": "reopened", "public": True,
                               "detail": {}})
            if rng.random() < 0.4:
                ratings.append({"case_id": case_id, "unit_id": unit, "satisfied": rng.random() < 0.75,
                                "comment": "", "source": "portal",
                                "created_at": row["resolved_at"] + timedelta(hours=6)})
        else:
            overdue = rng.random() < overdue_share
            row["due_at"] = (now - timedelta(hours=rng.uniform(1, 400))) if overdue else \
                (max(now, created) + timedelta(hours=rng.uniform(1, 72)))
            if row["due_at"] < created:
                row["due_at"] = created + timedelta(hours=1)
            if overdue and rng.random() < 0.33:
                events.append({"case_id": case_id, "at": row["due_at"], "kind": "escalated", "public": True,
                               "detail": {"level": 1}})
                row.update(status="escalated", escalation_level=1, due_at=row["due_at"] + timedelta(hours=24))
        cases.append(row)
    _insert(session, "case_record", cases, batch)
    _insert(session, "case_event", events, batch)
    _insert(session, "case_rating", ratings, batch)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT setval(pg_get_serial_sequence('case_record', 'id'), "
                             "(SELECT max(id) FROM case_record))"))
    session.commit()
    return Generated(cases, events, ratings)


def _case_table() -> Any:
    from workflows.models import Case

    return Case.__table__


def _insert(session: Session, table_name: str, rows: list[dict[str, Any]], batch: int) -> None:
    from engine.db import Base

    table = Base.metadata.tables[table_name]
    for index in range(0, len(rows), batch):
        chunk = rows[index:index + batch]
        if chunk:
            session.execute(insert(table), chunk)


def month_range(key: str) -> tuple[datetime, datetime]:
    """The UTC bounds of a period key (2026-11)."""
    return ReportPeriod.parse(key).utc_range()


