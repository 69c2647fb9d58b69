"""Report data in bulk, and the reports' benchmark behind `ioc bench reports`.

`make_cases` writes cases (with their escalation and reopening events and the citizens' ratings) straight into
the tables with set-based inserts, fast enough for 100,000 cases on SQLite or PostgreSQL, and hands back the
rows it wrote, so a test can compute every figure of a report independently from them. The bench
(`run`) fills a scratch database with a province month of 100,000 cases (and the months a report compares
it with), then times the operations report's data queries, its rendering, and a 20-page report.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from engine.clock import FrozenClock, using
from engine.database import make_engine, make_session_factory
from engine.db import Base
from reports import catalog, operations
from reports.i18n import translator
from reports.periods import ReportPeriod
from reports.render import html_to_pdf, render_html, render_report

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


# --------------------------------------------------------------------------------------------- the bench
MONTH = "2026-11"
ISSUED = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
TARGETS = {"queries": 1.0, "render": 3.0, "twenty_pages": 10.0}
LONG_LIST = 420  # overdue cases listed in the long report: 20 pages or more


@dataclass(frozen=True)
class Figure:
    """One line of the results: what, seconds by the wall clock, CPU seconds of this process, the target."""

    what: str
    seconds: float
    cpu: float
    target: float | None = None
    note: str = ""

    @property
    def met(self) -> str:
        """Whether the target was met (by the wall clock)."""
        if self.target is None:
            return ""
        return "yes" if self.seconds <= self.target else "NO"


def fill(session: Session, cases: int, log: Callable[[str], None] = print) -> int:
    """Reference data and a province month of `cases` cases in November 2026, with a third as many in October
    and in November 2025 (the periods the report compares with); the number of cases written."""
    from workflows.demo import demo_data, load_reference_data
    from workflows.models import AdminUnit, Category

    load_reference_data(session, demo_data())
    session.commit()
    places = list(session.scalars(select(AdminUnit.id).where(AdminUnit.kind.in_(("commune", "ward")))))
    bodies = list(session.scalars(select(AdminUnit.id).where(AdminUnit.kind.in_(("department", "police")))))
    categories = list(session.scalars(select(Category.code).where(Category.internal.is_(False))))
    end = ReportPeriod.parse(MONTH).utc_range()[1]
    written = 0
    for seed, key, count in ((1, MONTH, cases), (2, "2026-10", cases // 3), (3, "2025-11", cases // 3)):
        start, stop = ReportPeriod.parse(key).utc_range()
        started = time.perf_counter()
        make_cases(session, count, start, stop, places, bodies, categories, seed=seed, now=min(stop, end))
        written += count
        log(f"  {count:,} cases of {key} written in {time.perf_counter() - started:.1f} s")
    # A database in service has its planner statistics; a bulk load has none until analysed.
    session.execute(text("ANALYZE"))
    session.commit()
    return written


@contextmanager
def overdue_rows(rows: int) -> Iterator[None]:
    """Let the operations report list `rows` overdue cases (its table then runs over more pages)."""
    saved = operations.OVERDUE_ROWS
    operations.OVERDUE_ROWS = rows
    try:
        yield
    finally:
        operations.OVERDUE_ROWS = saved


def _timed(work: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def run(url: str, label: str, cases: int = 100_000, log: Callable[[str], None] = print) -> list[Figure]:
    """Fill the scratch database at `url` and time the operations report of the province for November 2026:
    the data queries (collect, cold then warm), the rendering (charts, layout, PDF), the whole report, and a
    report of 20 pages or more (its overdue list made longer) — all in this one process, on one core."""
    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    sessions = make_session_factory(engine)
    figures: list[Figure] = []
    log(f"{label}: filling")
    with sessions() as session:
        fill(session, cases, log)
    params = catalog.ReportParams(type="operations", unit="DLK", period=MONTH, language="vi")
    translate = translator("vi")
    report_type = catalog.get("operations")
    with using(FrozenClock(ISSUED)), sessions() as session:
        data, wall, cpu = _timed(lambda: report_type.collect(session, params, translate))
        figures.append(Figure(f"{label}: data queries, first run ({data.summary['received']:,} cases in the "
                              "month)", wall, cpu, TARGETS["queries"]))
        _, wall, cpu = _timed(lambda: report_type.collect(session, params, translate))
        figures.append(Figure(f"{label}: data queries, again", wall, cpu, TARGETS["queries"]))
        for when in ("first in this process: vl-convert starts its engine", "again"):
            (html, _data), html_wall, html_cpu = _timed(lambda: render_html(
                session, params, translate, number="15/BC-IOC", issued_at=ISSUED))
            pdf, pdf_wall, pdf_cpu = _timed(functools.partial(html_to_pdf, html))
            # render_html collects the data again: the queries' time (the run just before) is taken off.
            figures.append(Figure(f"{label}: rendering, {when} (charts, layout, PDF)",
                                  max(0.0, html_wall - wall) + pdf_wall, max(0.0, html_cpu - cpu) + pdf_cpu,
                                  TARGETS["render"]))
        report, wall, cpu = _timed(lambda: render_report(session, params, translate, number="15/BC-IOC",
                                                         issued_at=ISSUED))
        figures.append(Figure(f"{label}: the whole report ({report.pages} pages, {len(report.pdf) // 1024} KiB)",
                              wall, cpu, TARGETS["queries"] + TARGETS["render"]))
        with overdue_rows(LONG_LIST):
            long_report, wall, cpu = _timed(lambda: render_report(session, params, translate, number="15/BC-IOC",
                                                                  issued_at=ISSUED))
        figures.append(Figure(f"{label}: a {long_report.pages}-page report ({LONG_LIST} overdue cases listed)",
                              wall, cpu, TARGETS["twenty_pages"]))
        del pdf
    engine.dispose()
    return figures


def table(figures: list[Figure]) -> str:
    """The results as a Markdown table."""
    lines = ["| measure | seconds | CPU s (this process) | target s | met |", "|---|---:|---:|---:|---|"]
    for f in figures:
        target = f"{f.target:.0f}" if f.target is not None else ""
        lines.append(f"| {f.what} | {f.seconds:.2f} | {f.cpu:.2f} | {target} | {f.met} |")
    return "\n".join(lines)


