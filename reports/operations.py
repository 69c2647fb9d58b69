"""The weekly or monthly operations report of a unit and everything below it.

Which cases: those whose place or responsible unit is the unit or one below it (as the dashboard scopes an
official's view); merged duplicates are left out (the case they were merged into counts). The figures are
taken at the end of the period, or now if it has not ended (`as_of`), so a report on a past period says the
same thing whenever it is made again (the archive compares `summary`):

- received: cases received in the period, by channel, category and responsible unit;
- on-time share (as the public performance page counts it): of the cases received in the period, those
  resolved on time (by their deadline, never escalated) over those resolved plus those still open past their
  deadline at `as_of` — open cases not yet due are left out, they can still go either way;
- median resolution time: from reception to the recorded resolution, over the cases resolved in the period;
- overdue: every case open at `as_of` past its deadline (or escalated), whenever it came in, with the days
  late (since its deadline, or since its first escalation, which happened at the deadline) and the unit
  responsible for it; the list shows the latest `OVERDUE_ROWS`, the count covers them all;
- escalations and reopenings: those that happened in the period (case history);
- satisfaction: the ratings citizens gave in the period, and the share of "satisfied";
- trends: the same headline figures for the period before and for the same period a year earlier.

Every figure comes from grouped, set-based SQL (a few queries per period, whatever the number of cases) that
runs on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select, true
from sqlalchemy.orm import Session

from engine.clock import now as clock_now
from engine.i18n import Named, Text, t
from reports import charts
from reports.catalog import ReportData, ReportParams, ReportType, register
from reports.i18n import Translate, language_of
from reports.periods import LOCAL, ReportPeriod
from workflows.case_view import CHANNEL_LABELS
from workflows.models import AdminUnit, Case, CaseEvent, CaseRating, Category
from workflows.units import PLACE_KINDS, UnitDirectory

OVERDUE_ROWS = 100  # the longest late; the leaders' page lists them all
TOP_CATEGORIES = 12
TOP_UNITS_CHART = 15
HEADLINES = ("received", "resolved", "on_time_share", "median_hours", "overdue", "escalations", "reopenings",
             "ratings", "satisfaction")
HEADLINE_LABELS: dict[str, Text] = {
    "received": t("Cases received"), "resolved": t("Cases resolved"), "on_time_share": t("Resolved on time"),
    "median_hours": t("Median time to resolve (hours)"), "overdue": t("Open cases past their deadline"),
    "escalations": t("Escalations"), "reopenings": t("Reopenings"), "ratings": t("Ratings from citizens"),
    "satisfaction": t("Satisfied citizens")}
SHARES = {"on_time_share", "satisfaction"}


@dataclass
class Headline:
    """A period's headline figures."""

    received: int = 0
    resolved: int = 0
    resolved_on_time: int = 0
    open_overdue_received: int = 0
    median_hours: float | None = None
    overdue: int = 0
    escalations: int = 0
    escalated_cases: int = 0
    reopenings: int = 0
    reopened_cases: int = 0
    ratings: int = 0
    satisfied: int = 0
    resolved_in_period: int = 0

    @property
    def on_time_share(self) -> float | None:
        """Resolved on time over resolved plus open past the deadline (None when nothing can be judged)."""
        judged = self.resolved + self.open_overdue_received
        return self.resolved_on_time / judged if judged else None

    @property
    def satisfaction(self) -> float | None:
        """Share of satisfied ratings (None without ratings)."""
        return self.satisfied / self.ratings if self.ratings else None

    def as_dict(self) -> dict[str, Any]:
        """JSON: the counts and the two shares (rounded to 4 places, so a summary compares stably)."""
        out = asdict(self)
        out["on_time_share"] = None if self.on_time_share is None else round(self.on_time_share, 4)
        out["satisfaction"] = None if self.satisfaction is None else round(self.satisfaction, 4)
        return out


@dataclass
class UnitRow:
    """One responsible unit's figures in the period."""

    unit_id: int | None
    received: int = 0
    resolved: int = 0
    resolved_on_time: int = 0
    open_overdue_received: int = 0
    overdue: int = 0
    escalations: int = 0
    reopenings: int = 0
    ratings: int = 0
    satisfied: int = 0
    median_hours: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Window:
    """A period's UTC bounds and the moment its figures are taken."""

    start: datetime
    end: datetime
    as_of: datetime

    @classmethod
    def of(cls, period: ReportPeriod, as_of: datetime) -> Window:
        """The window of `period`, taken at `as_of`."""
        start, end = period.utc_range()
        return cls(start, end, as_of)


def _count_if(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _seconds(session: Session, later: Any, earlier: Any) -> Any:
    """SQL: seconds from `earlier` to `later` (PostgreSQL's epoch, SQLite's Julian days)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


class OperationsQueries:
    """The report's set-based queries for the cases of one unit's subtree."""

    def __init__(self, session: Session, unit: AdminUnit):
        self.session = session
        self.unit = unit
        self.unit_ids = UnitDirectory(session).descendant_ids(unit)
        # The root of the tree sees every case: no IN list to test (the planner then uses the date indexes).
        self.scope = true() if unit.parent_id is None else or_(Case.responsible_unit_id.in_(self.unit_ids),
                                                                Case.admin_unit_id.in_(self.unit_ids))
        self.counted = and_(self.scope, Case.merged_into_id.is_(None))

    # ------------------------------------------------------------------ conditions at a moment
    @staticmethod
    def resolved_by(as_of: datetime) -> Any:
        """SQL: resolved before `as_of` (a reopened case lost its resolution)."""
        return and_(Case.resolved_at.is_not(None), Case.resolved_at < as_of)

    @staticmethod
    def open_overdue_at(as_of: datetime) -> Any:
        """SQL: received, not resolved and not closed by `as_of`, and past its deadline or escalated then."""
        return and_(Case.created_at < as_of, or_(Case.resolved_at.is_(None), Case.resolved_at >= as_of),
                    or_(Case.closed_at.is_(None), Case.closed_at >= as_of),
                    or_(Case.due_at < as_of, Case.escalation_level > 0))

    def on_time(self, as_of: datetime) -> Any:
        """SQL: resolved before `as_of`, by its deadline, never escalated."""
        return and_(self.resolved_by(as_of), Case.due_at.is_not(None), Case.resolved_at <= Case.due_at,
                    Case.escalation_level == 0)

    # ------------------------------------------------------------------ queries
    # Each query covers every window (a period and the moment its figures are taken) in one pass over its table:
    # the report's period, the one before and the same one a year earlier. A row belongs to one window at most
    # (the periods do not overlap); `_window` says which, and the results come back per window.
    @staticmethod
    def _window(column: Any, windows: Sequence[Window]) -> tuple[Any, Any]:
        """SQL: which window `column` falls in (0, 1, …), and the condition that it falls in one."""
        ranges = [and_(column >= w.start, column < w.end) for w in windows]
        return case(*[(r, i) for i, r in enumerate(ranges)], else_=-1), or_(*ranges)

    def received(self, windows: Sequence[Window]) -> list[list[tuple]]:
        """Per window: (channel, category, responsible unit id, received, resolved, on time, open overdue) of
        the cases received in its period, one row per channel × category × unit for the first window (the
        report's period, whose tables need them) and one row of totals for the others (grouping costs SQLite
        twice the time). A query per window: each reads its period through the index on the reception time and
        tests its own moment."""
        out = []
        for i, w in enumerate(windows):
            keys = [Case.channel, Case.category_code, Case.responsible_unit_id] if i == 0 else []
            query = (select(*keys, func.count(), _count_if(self.resolved_by(w.as_of)), _count_if(self.on_time(w.as_of)),
                            _count_if(self.open_overdue_at(w.as_of)))
                     .where(self.counted, Case.created_at >= w.start, Case.created_at < w.end))
            if keys:
                out.append([tuple(row) for row in self.session.execute(query.group_by(*keys))])
            else:
                out.append([(None, None, None, *row) for row in self.session.execute(query)])
        return out

    def resolutions(self, windows: Sequence[Window]) -> list[tuple[int, float | None, dict[int | None, float]]]:
        """Per window, of the cases resolved in its period: how many, the median hours from reception to
        resolution, and each responsible unit's median. One query reads the durations of every window; the
        medians are taken from them here (SQLite has no percentile function, and sorting them in window
        functions cost SQLite ten times as much)."""
        index, within = self._window(Case.resolved_at, windows)
        seconds = _seconds(self.session, Case.resolved_at, Case.created_at)
        overall: list[list[float]] = [[] for _ in windows]
        units: list[dict[int | None, list[float]]] = [{} for _ in windows]
        for i, unit_id, value in self.session.execute(
                select(index, Case.responsible_unit_id, seconds).where(self.counted, within)):
            value = float(value)
            overall[i].append(value)
            units[i].setdefault(unit_id, []).append(value)

        def hours(values: list[float]) -> float | None:
            return round(statistics.median(values) / 3600, 1) if values else None

        return [(len(overall[i]), hours(overall[i]), {u: hours(v) for u, v in units[i].items()})
                for i in range(len(windows))]

    def events(self, windows: Sequence[Window]) -> list[list[tuple]]:
        """Per window: (kind, responsible unit id, events, distinct cases) of the escalations and reopenings
        in its period."""
        index, within = self._window(CaseEvent.at, windows)
        out: list[list[tuple]] = [[] for _ in windows]
        for i, *row in self.session.execute(
                select(index, CaseEvent.kind, Case.responsible_unit_id, func.count(),
                       func.count(func.distinct(Case.id)))
                .join(Case, Case.id == CaseEvent.case_id)
                .where(CaseEvent.kind.in_(("escalated", "reopened")), within, self.counted)
                .group_by(index, CaseEvent.kind, Case.responsible_unit_id)):
            out[i].append(tuple(row))
        return out

    def ratings(self, windows: Sequence[Window]) -> list[list[tuple]]:
        """Per window: (rated unit id, ratings, satisfied) of the ratings given in its period on the unit's
        cases."""
        index, within = self._window(CaseRating.created_at, windows)
        out: list[list[tuple]] = [[] for _ in windows]
        for i, *row in self.session.execute(
                select(index, CaseRating.unit_id, func.count(), _count_if(CaseRating.satisfied.is_(True)))
                .join(Case, Case.id == CaseRating.case_id)
                .where(within, self.counted)
                .group_by(index, CaseRating.unit_id)):
            out[i].append(tuple(row))
        return out

    def overdue_counts(self, windows: Sequence[Window]) -> list[dict[int | None, int]]:
        """Per window: the cases open past their deadline at its moment, per responsible unit."""
        conditions = [self.open_overdue_at(w.as_of) for w in windows]
        out: list[dict[int | None, int]] = [{} for _ in windows]
        for unit_id, *counts in self.session.execute(
                select(Case.responsible_unit_id, *[_count_if(c) for c in conditions])
                .where(self.counted, or_(*conditions)).group_by(Case.responsible_unit_id)):
            for i, count in enumerate(counts):
                if count:
                    out[i][unit_id] = int(count)
        return out

    def overdue_list(self, as_of: datetime, limit: int) -> list[tuple]:
        """The open overdue cases, longest late first: (code, title, unit id, place id, late since, escalation
        level, status)."""
        # An escalated case became late at its first escalation (which came at its deadline, and gave it a new
        # one): looked up by the case's index for the escalated ones only.
        first_escalation = (select(func.min(CaseEvent.at))
                            .where(CaseEvent.case_id == Case.id, CaseEvent.kind == "escalated", CaseEvent.at < as_of)
                            .correlate(Case).scalar_subquery())
        late_since = case((Case.escalation_level > 0, func.coalesce(first_escalation, Case.due_at)),
                          else_=Case.due_at)
        return list(self.session.execute(
            select(Case.code, Case.title, Case.responsible_unit_id, Case.admin_unit_id, late_since,
                   Case.escalation_level, Case.status)
            .where(self.counted, self.open_overdue_at(as_of))
            .order_by(late_since.asc(), Case.id.asc()).limit(limit)))

    def parts(self, windows: Sequence[Window]) -> list[dict[str, Any]]:
        """Every grouped query, once for all the windows: per window, what its headline and the per-unit
        table are built from."""
        received, resolutions = self.received(windows), self.resolutions(windows)
        overdue, events, ratings = self.overdue_counts(windows), self.events(windows), self.ratings(windows)
        return [{"received": received[i], "resolved_in": resolutions[i][0], "median": resolutions[i][1],
                 "unit_medians": resolutions[i][2], "overdue": overdue[i], "events": events[i],
                 "ratings": ratings[i]} for i in range(len(windows))]

    def headline(self, period: ReportPeriod, as_of: datetime) -> Headline:
        """The headline figures of a period."""
        return headline_of(self.parts([Window.of(period, as_of)])[0])


def headline_of(parts: dict[str, Any]) -> Headline:
    """The headline figures from a period's query results (`OperationsQueries.parts`)."""
    head = Headline(median_hours=parts["median"], resolved_in_period=parts["resolved_in"],
                    overdue=sum(parts["overdue"].values()))
    for _channel, _category, _unit, count, done, good, late in parts["received"]:
        head.received += count
        head.resolved += int(done or 0)
        head.resolved_on_time += int(good or 0)
        head.open_overdue_received += int(late or 0)
    for kind, _unit, count, cases in parts["events"]:
        if kind == "escalated":
            head.escalations += count
            head.escalated_cases += cases
        else:
            head.reopenings += count
            head.reopened_cases += cases
    for _unit, count, pleased in parts["ratings"]:
        head.ratings += count
        head.satisfied += int(pleased or 0)
    return head


def as_of_for(period: ReportPeriod, now: datetime) -> datetime:
    """The moment the figures are taken: the end of the period, or now if it has not ended."""
    return min(now, period.utc_range()[1])


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _change(now_value: float | None, then: float | None, is_share: bool) -> float | None:
    if now_value is None or then is None:
        return None
    if is_share:
        return round(now_value - then, 4)  # points of percentage
    return round((now_value - then) / then, 4) if then else None


def collect(session: Session, params: ReportParams, translate: Translate) -> ReportData:
    """Every figure of the operations report, its tables and its charts."""
    language = language_of(translate)
    directory = UnitDirectory(session)
    unit = directory.by_code(params.unit or "")
    period = params.report_period()
    if unit is None or period is None:
        raise ValueError("the operations report needs a unit and a period (validate_params checks them)")
    now = clock_now()
    queries = OperationsQueries(session, unit)
    as_of = as_of_for(period, now)
    before, year_before = period.previous(), period.year_before()
    all_parts = queries.parts([Window.of(p, as_of_for(p, now)) for p in (period, before, year_before)])
    parts = all_parts[0]
    rows = parts["received"]
    current, previous, last_year = (headline_of(p) for p in all_parts)
    overdue_list = queries.overdue_list(as_of, OVERDUE_ROWS)

    names = _unit_names(session, rows, parts["overdue"], overdue_list)
    categories = {code: Named(name, name_en) for code, name, name_en in
                  session.execute(select(Category.code, Category.name, Category.name_en))}

    def unit_name(unit_id: int | None) -> str:
        return translate(names[unit_id]) if unit_id in names else translate(t("Not assigned yet"))

    by_channel: dict[str, int] = {}
    by_category: dict[str, int] = {}
    units: dict[int | None, UnitRow] = {}
    for channel, category, unit_id, count, done, good, late in rows:
        by_channel[channel] = by_channel.get(channel, 0) + count
        by_category[category] = by_category.get(category, 0) + count
        row = units.setdefault(unit_id, UnitRow(unit_id))
        row.received += count
        row.resolved += int(done or 0)
        row.resolved_on_time += int(good or 0)
        row.open_overdue_received += int(late or 0)
    for unit_id, count in parts["overdue"].items():
        units.setdefault(unit_id, UnitRow(unit_id)).overdue = count
    for kind, unit_id, count, _cases in parts["events"]:
        row = units.setdefault(unit_id, UnitRow(unit_id))
        if kind == "escalated":
            row.escalations += count
        else:
            row.reopenings += count
    for unit_id, count, pleased in parts["ratings"]:
        row = units.setdefault(unit_id, UnitRow(unit_id))
        row.ratings += count
        row.satisfied += int(pleased or 0)
    for unit_id, hours in parts["unit_medians"].items():
        units.setdefault(unit_id, UnitRow(unit_id)).median_hours = hours

    channel_rows = [{"key": key, "label": translate(CHANNEL_LABELS.get(key, key)), "count": count,
                     "share": _share(count, current.received)}
                    for key, count in sorted(by_channel.items(), key=lambda kv: (-kv[1], kv[0]))]
    category_rows = [{"key": key, "label": translate(categories.get(key, key)), "count": count,
                      "share": _share(count, current.received)}
                     for key, count in sorted(by_category.items(), key=lambda kv: (-kv[1], kv[0]))]
    unit_rows = []
    for row in sorted(units.values(), key=lambda r: (-r.received, -r.overdue, unit_name(r.unit_id))):
        judged = row.resolved + row.open_overdue_received
        unit_rows.append({
            "code": names[row.unit_id].code if row.unit_id in names else None, "label": unit_name(row.unit_id),
            "received": row.received, "resolved": row.resolved, "on_time_share": _share(row.resolved_on_time, judged),
            "overdue": row.overdue, "median_hours": row.median_hours, "escalations": row.escalations,
            "reopenings": row.reopenings, "ratings": row.ratings, "satisfaction": _share(row.satisfied, row.ratings)})

    overdue_rows = []
    for index, (code, title, unit_id, place_id, late_since, level, status) in enumerate(overdue_list, start=1):
        days = max(0, (as_of - late_since).days) if late_since is not None else None
        overdue_rows.append({"n": index, "code": code, "title": title, "unit": unit_name(unit_id),
                             "place": unit_name(place_id), "deadline": late_since.isoformat() if late_since else None,
                             "deadline_local": late_since.astimezone(LOCAL).strftime("%d/%m/%Y") if late_since else "",
                             "days_late": days, "escalation_level": level, "status": status})

    heads = {"current": current.as_dict(), "previous": previous.as_dict(), "year_before": last_year.as_dict()}
    trend_rows = []
    for key in HEADLINES:
        is_share = key in SHARES
        values = {name: heads[name][key] for name in heads}
        trend_rows.append({"key": key, "label": translate(HEADLINE_LABELS[key]), "share": is_share, **values,
                           "vs_previous": _change(values["current"], values["previous"], is_share),
                           "vs_year_before": _change(values["current"], values["year_before"], is_share)})

    summary: dict[str, Any] = {
        "unit": unit.code, "period": period.key, "as_of": as_of.isoformat(),
        **{key: heads["current"][key] for key in (*HEADLINES, "resolved_on_time", "open_overdue_received",
                                                     "escalated_cases", "reopened_cases", "satisfied",
                                                     "resolved_in_period")},
        "previous": {key: heads["previous"][key] for key in HEADLINES},
        "year_before": {key: heads["year_before"][key] for key in HEADLINES},
        "by_channel": {r["key"]: r["count"] for r in channel_rows},
        "by_category": {r["key"]: r["count"] for r in category_rows},
        "by_unit": {(r["code"] or ""): r["received"] for r in unit_rows if r["received"]},
    }
    words = {key: translate(text) for key, text in {
        "this": t("This period"), "previous": t("Previous period"), "year_before": t("Same period last year"),
        "channel": t("Channel"), "category": t("Category"), "unit": t("Responsible unit"), "cases": t("Cases"),
        "figure": t("Figure"), "period": t("Period")}.items()}
    trend_chart_rows = []
    for key in ("received", "resolved", "overdue"):
        for name, series in (("current", words["this"]), ("previous", words["previous"]),
                             ("year_before", words["year_before"])):
            trend_chart_rows.append({"figure": translate(HEADLINE_LABELS[key]), "series": series,
                                     "value": heads[name][key]})
    top_units = [r for r in unit_rows if r["received"]][:TOP_UNITS_CHART]
    chart_specs = {
        "trend": charts.grouped_bars(
            trend_chart_rows, group="figure", series="series", value="value", language=language,
            title=translate(t("Against the previous period and the same period last year")),
            group_title=words["figure"], series_title=words["period"], value_title=words["cases"],
            series_order=[words["this"], words["previous"], words["year_before"]],
            colours=[charts.COLOURS["main"], charts.COLOURS["previous"], charts.COLOURS["year_before"]]),
        "by_channel": charts.bar_chart(
            [{"label": r["label"], "count": r["count"]} for r in channel_rows], category="label", value="count",
            language=language, title=translate(t("Cases received by channel")), category_title=words["channel"],
            value_title=words["cases"]),
        "by_category": charts.bar_chart(
            [{"label": r["label"], "count": r["count"]} for r in category_rows[:TOP_CATEGORIES]], category="label",
            value="count", language=language, title=translate(t("Cases received by category")),
            category_title=words["category"], value_title=words["cases"]),
        "by_unit": charts.bar_chart(
            [{"label": r["label"], "count": r["received"]} for r in top_units], category="label", value="count",
            language=language, title=translate(t("Cases received by responsible unit")),
            category_title=words["unit"], value_title=words["cases"]),
    }
    if not current.received:
        # Nothing to draw by channel, category or unit; the trend only when an earlier period had cases.
        chart_specs = {"trend": chart_specs["trend"]} if previous.received or last_year.received else {}
    unit_label = Named(in_sentence(unit.name), unit.name_en)
    return ReportData(
        title=t("Receiving and handling of citizens' reports: %(unit)s", unit=unit_label),
        subtitle=period.label(), summary=summary,
        tables={"trend": trend_rows, "by_channel": channel_rows, "by_category": category_rows, "by_unit": unit_rows,
                "overdue": overdue_rows},
        charts=chart_specs,
        extra={"unit_code": unit.code, "unit_name": translate(unit_label), "period_label": translate(period.label()),
               "previous_label": translate(before.label()), "year_before_label": translate(year_before.label()),
               "as_of": as_of, "overdue_rows_limit": OVERDUE_ROWS,
               "overdue_more": max(0, current.overdue - len(overdue_rows)),
               "demo": _is_demo(session),
               "recipients": [translate(t("People's Committee of %(unit)s (to report)", unit=unit_label)
                                        if unit.kind in PLACE_KINDS else
                                        t("Leaders of %(unit)s (to report)", unit=unit_label))]})


def in_sentence(name: str) -> str:
    """A place's name inside a Vietnamese sentence: "Tỉnh Đắk Lắk" → "tỉnh Đắk Lắk" (the kind in lower case)."""
    for prefix in ("Tỉnh ", "Thành phố ", "Phường ", "Xã ", "Đặc khu "):
        if name.startswith(prefix):
            return prefix.lower() + name[len(prefix):]
    return name


def _unit_names(session: Session, rows: list[tuple], overdue: dict[int | None, int],
                overdue_list: list[tuple]) -> dict[int | None, Any]:
    """Names of every unit the report mentions (responsible units, places of overdue cases)."""
    ids = {unit_id for _c, _k, unit_id, *_ in rows if unit_id is not None}
    ids |= {u for u in overdue if u is not None}
    ids |= {row[2] for row in overdue_list if row[2] is not None} | {row[3] for row in overdue_list}
    found = session.execute(select(AdminUnit.id, AdminUnit.code, AdminUnit.name, AdminUnit.name_en)
                            .where(AdminUnit.id.in_(ids))) if ids else []
    return {unit_id: _NamedUnit(name, name_en, code) for unit_id, code, name, name_en in found}


class _NamedUnit(Named):
    """A unit's name that remembers its code."""

    __slots__ = ("code",)
    code: str

    def __new__(cls, vi: str, en: str | None, code: str) -> _NamedUnit:
        self = super().__new__(cls, vi, en)
        self.code = code
        return self


def _is_demo(session: Session) -> bool:
    from workflows.models import User

    return bool(session.scalar(select(User.id).where(User.is_demo.is_(True)).limit(1)))


register(ReportType(code="operations", name=t("Operations report"), needs=("unit", "period"), collect=collect,
                    template="operations.html"))
