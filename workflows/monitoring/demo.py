"""The monitoring demo for Đắk Lắk: a catalogue of clearly synthetic indicators (every name ends in "(demo)"),
two years of their values, a few breaches with their cases, a commune that reports late, and a demo alert
source. Deterministic (seeded) and idempotent: `load_monitoring_demo` adds only what is missing.

The numbers are invented, plausible in size and season for a province of about 3 million people after the
2025 merger (coffee harvest from October, dry season from January to April, rainy season from June, Tết in
January or February, the summer beaches of the former Phú Yên); they are not official figures.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, null, select
from sqlalchemy.orm import Session

from workflows.models import AdminUnit
from workflows.monitoring.models import AlertSource, Breach, BreachState, Indicator, Target, Value, ValueChange
from workflows.monitoring.periods import Period

SEED = "ioc-dak-lak-monitoring-demo"
YEARS = 2  # of values, ending at each indicator's newest period due
DEMO_USER = "demo"  # who "reported" the generated history
LATE_UNIT = "X-EA-SUP"  # a remote commune that has not reported the newest period due of its indicators
DEMO_ALERT_SOURCE = "demo-alertmanager"
DEMO_ALERT_TOKEN = "demo-alertmanager-daklak"  # published like Open311's demo api_key: demo data only
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")

# Monthly shape of a year (index 0 = January).
_FLAT = (1.0,) * 12
_DENGUE = (0.5, 0.35, 0.3, 0.3, 0.45, 0.8, 1.3, 1.8, 2.0, 1.7, 1.1, 0.7)  # the rainy season's mosquitoes
_TOURISM = (1.35, 1.25, 1.05, 0.85, 0.95, 1.25, 1.4, 1.3, 0.7, 0.65, 0.75, 1.0)  # Tết, festivals, beaches
_PM25 = (2.2, 2.6, 2.8, 1.8, 0.8, 0.3, 0.2, 0.2, 0.3, 0.5, 0.9, 1.6)  # dry-season burning
_ACCIDENTS = (1.2, 1.25, 1.0, 0.95, 0.95, 0.95, 1.0, 1.0, 0.9, 0.9, 0.95, 1.1)  # Tết travel
# School attendance in points: Tết, the coffee harvest (October to December), summer classes (June, July).
_ATTENDANCE = (-1.0, -1.5, 0.0, 0.0, -0.3, -2.0, -2.5, 0.0, 0.3, -0.8, -1.8, -1.5)
_REVENUE_WEIGHTS = (9.0, 6.0, 8.0, 8.0, 8.0, 8.5, 8.0, 8.0, 8.0, 8.5, 9.0, 11.0)  # budget revenue per month
_TOURISM_REVENUE_WEIGHTS = (11.0, 10.0, 8.5, 6.5, 7.5, 10.0, 11.0, 10.0, 5.5, 5.0, 6.0, 9.0)
_DISBURSEMENT = (3.0, 6.0, 12.0, 17.0, 23.0, 31.0, 38.0, 46.0, 55.0, 65.0, 78.0, 95.0)  # % of the year's plan


@dataclass(frozen=True)
class DemoIndicator:
    """One demo indicator: its catalogue entry, targets and how its values are drawn.

    model: "rate" (a share in %, base ± season points), "count" (base × season), "ytd" (the year's plan ×
    the cumulative monthly weights × the year's performance) or "level" (a figure around its base, GRDP
    growth or a ytd share already in % of plan).
    """

    code: str
    name: str
    name_en: str
    field: str
    measure_unit: str
    measure_unit_en: str
    period: str
    direction: str
    department: str
    levels: tuple[str, ...]
    deadline_days: int
    model: str
    base: float
    target: float  # the plan figure of every period (rate, count, level) or the yearly plan (ytd)
    noise: float  # standard deviation: points (rate, level) or a share of the value (count, ytd)
    season: tuple[float, ...] = _FLAT
    seasonal: bool = False
    spread: float = 0.0  # how far a unit's own level lies from the base (points or share)
    growth: float = 0.0  # per year: the base and the targets grow by this share (count, ytd)
    seasonal_target: bool = False  # the period's plan follows the season (count)
    min_value: float | None = 0.0
    max_value: float | None = None
    decimals: int = 1
    description: str = ""
    # The breaches planted in the newest periods: (unit code or "" for every unit, periods back, how, amount):
    # how "=" sets the value, "×" multiplies the drawn value, "target×" multiplies the period's plan.
    planted: tuple[tuple[str, int, str, float], ...] = ()
    shares: tuple[float, ...] = ()  # ytd: the share in % of the yearly plan due by each month
    plans: tuple[float, ...] = ()  # "level" per month: the period's plan (ytd disbursement)


_NOTE = "Dữ liệu minh họa (demo), không phải số liệu chính thức. "


def _cumulative(weights: tuple[float, ...]) -> tuple[float, ...]:
    total = sum(weights)
    out, running = [], 0.0
    for w in weights:
        running += w
        out.append(round(100 * running / total, 1))
    return tuple(out)


INDICATORS: tuple[DemoIndicator, ...] = (
    DemoIndicator(
        "DEMO-THU-NSNN", "Thu ngân sách nhà nước lũy kế (demo)", "State budget revenue, year to date (demo)",
        "socio_economic", "tỷ đồng", "billion VND", "ytd", "higher", "STC", ("province",), 10, "ytd",
        base=11_000, target=11_000, noise=0.02, growth=0.08, decimals=0, shares=_cumulative(_REVENUE_WEIGHTS),
        description=_NOTE + "Thu ngân sách trên địa bàn, lũy kế từ đầu năm, so với dự toán năm giao.",
        planted=(("DLK", 0, "×", 0.8), ("DLK", 1, "×", 0.86))),
    DemoIndicator(
        "DEMO-GRDP", "Tốc độ tăng trưởng GRDP so với cùng kỳ (demo)", "GRDP growth on the same period (demo)",
        "socio_economic", "%", "%", "quarterly", "higher", "STC", ("province",), 20, "level",
        base=8.9, target=8.0, noise=0.25, min_value=-20.0, max_value=30.0, decimals=2,
        description=_NOTE + "Tăng trưởng tổng sản phẩm trên địa bàn quý so với cùng kỳ năm trước."),
    DemoIndicator(
        "DEMO-HS-DUNG-HAN", "Tỷ lệ hồ sơ thủ tục hành chính giải quyết đúng hạn (demo)",
        "Administrative files settled on time (demo)", "public_services", "%", "%", "monthly", "higher",
        "UBND-DLK", ("commune", "ward"), 5, "rate", base=98.2, target=95.0, noise=0.4, spread=0.5, max_value=100.0,
        description=_NOTE + "Số hồ sơ giải quyết đúng hạn trên tổng số hồ sơ đến hạn trong tháng, theo Cổng dịch vụ "
                            "công của tỉnh.",
        planted=(("P-TAN-LAP", 0, "=", 81.4), ("P-TAN-LAP", 1, "=", 84.2))),
    DemoIndicator(
        "DEMO-DVC-TRUC-TUYEN", "Tỷ lệ hồ sơ nộp trực tuyến toàn trình (demo)",
        "Files submitted fully online (demo)", "public_services", "%", "%", "monthly", "higher", "UBND-DLK",
        ("province",), 5, "rate", base=76.0, target=70.0, noise=1.0, max_value=100.0, growth=6.0,
        description=_NOTE + "Hồ sơ dịch vụ công trực tuyến toàn trình trên tổng số hồ sơ tiếp nhận."),
    DemoIndicator(
        "DEMO-NV-QUA-HAN", "Nhiệm vụ UBND tỉnh giao bị quá hạn (demo)",
        "Tasks from the Provincial People's Committee overdue (demo)", "government", "nhiệm vụ", "tasks",
        "monthly", "lower", "UBND-DLK", ("department",), 5, "count", base=1.2, target=5.0, noise=0.4, spread=0.3,
        decimals=0,
        description=_NOTE + "Số nhiệm vụ UBND tỉnh giao cho sở, ngành đã quá hạn mà chưa hoàn thành, cuối tháng.",
        planted=(("SXD", 0, "=", 9.0),)),
    DemoIndicator(
        "DEMO-GIAI-NGAN", "Tỷ lệ giải ngân vốn đầu tư công lũy kế (demo)",
        "Public investment disbursed, year to date (demo)", "government", "% kế hoạch", "% of plan", "ytd",
        "higher", "STC", ("province",), 10, "level", base=0.0, target=95.0, noise=1.5, max_value=100.0,
        plans=_DISBURSEMENT,
        description=_NOTE + "Vốn đầu tư công đã giải ngân lũy kế từ đầu năm so với kế hoạch vốn năm."),
    DemoIndicator(
        "DEMO-SXH", "Số ca mắc sốt xuất huyết (demo)", "Dengue fever cases (demo)", "health", "ca", "cases",
        "monthly", "lower", "SYT", ("province",), 7, "count", base=310, target=600, noise=0.12, season=_DENGUE,
        seasonal=True, seasonal_target=True, decimals=0,
        description=_NOTE + "Ca mắc sốt xuất huyết ghi nhận trong tháng trên toàn tỉnh (giám sát dịch tễ).",
        planted=(("DLK", 0, "target×", 1.45),)),
    DemoIndicator(
        "DEMO-TIEM-CHUNG", "Tỷ lệ trẻ dưới 1 tuổi được tiêm chủng đầy đủ (demo)",
        "Children under one fully immunised (demo)", "health", "%", "%", "quarterly", "higher", "SYT",
        ("commune", "ward"), 15, "rate", base=98.0, target=95.0, noise=0.4, spread=0.5, max_value=100.0,
        description=_NOTE + "Trẻ dưới 1 tuổi được tiêm đủ các mũi của Chương trình tiêm chủng mở rộng, lũy kế quý.",
        planted=(("X-EA-HLEO", 0, "=", 83.5),)),
    DemoIndicator(
        "DEMO-CHUYEN-CAN", "Tỷ lệ học sinh đi học chuyên cần (demo)", "School attendance (demo)", "education",
        "%", "%", "monthly", "higher", "SGDDT", ("province",), 7, "rate", base=97.2, target=93.0, noise=0.5,
        season=_ATTENDANCE, seasonal=True, max_value=100.0,
        description=_NOTE + "Học sinh phổ thông có mặt trên sĩ số, bình quân tháng (tháng 6, 7: lớp học hè); thấp "
                            "hơn vào Tết và mùa thu hoạch cà phê."),
    DemoIndicator(
        "DEMO-KHACH-DL", "Lượt khách du lịch (demo)", "Tourist arrivals (demo)", "tourism", "nghìn lượt",
        "thousand visits", "monthly", "higher", "SVHTTDL", ("province",), 10, "count", base=520, target=420,
        noise=0.07, season=_TOURISM, seasonal=True, seasonal_target=True, growth=0.09, decimals=1,
        description=_NOTE + "Lượt khách du lịch nội địa và quốc tế phục vụ trong tháng (cơ sở lưu trú, điểm đến)."),
    DemoIndicator(
        "DEMO-DT-DL", "Doanh thu du lịch lũy kế (demo)", "Tourism revenue, year to date (demo)", "tourism",
        "tỷ đồng", "billion VND", "ytd", "higher", "SVHTTDL", ("province",), 10, "ytd", base=9_800, target=9_500,
        noise=0.02, growth=0.1, decimals=0, shares=_cumulative(_TOURISM_REVENUE_WEIGHTS),
        description=_NOTE + "Tổng thu từ khách du lịch lũy kế từ đầu năm so với kế hoạch năm."),
    DemoIndicator(
        "DEMO-PM25", "Số ngày PM2.5 vượt quy chuẩn QCVN 05:2023 (demo)",
        "Days with PM2.5 above the national standard (demo)", "environment", "ngày", "days", "monthly", "lower",
        "SNNMT", ("province",), 5, "count", base=1.5, target=8.0, noise=0.25, season=_PM25, seasonal=True,
        max_value=31.0, decimals=0,
        description=_NOTE + "Số ngày trung bình 24 giờ của bụi PM2.5 vượt 50 µg/m³ tại trạm quan trắc tự động "
                            "Buôn Ma Thuột.",
        planted=(("DLK", 0, "=", 13.0),)),
    DemoIndicator(
        "DEMO-THU-GOM-RAC", "Tỷ lệ chất thải rắn sinh hoạt được thu gom (demo)",
        "Household solid waste collected (demo)", "environment", "%", "%", "quarterly", "higher", "SNNMT",
        ("ward",), 15, "rate", base=97.5, target=95.0, noise=0.4, spread=0.6, max_value=100.0,
        description=_NOTE + "Khối lượng chất thải rắn sinh hoạt được thu gom trên khối lượng phát sinh ước tính."),
    DemoIndicator(
        "DEMO-SU-CO-ATTT", "Số sự cố an toàn thông tin (demo)", "Cyber security incidents (demo)",
        "cyber_security", "sự cố", "incidents", "monthly", "lower", "CA-DLK", ("province",), 5, "count",
        base=2.0, target=6.0, noise=0.35, decimals=0,
        description=_NOTE + "Sự cố tấn công mạng vào hệ thống thông tin của cơ quan nhà nước được ghi nhận và xử lý.",
        planted=(("DLK", 0, "=", 14.0),)),
    DemoIndicator(
        "DEMO-TNGT", "Số vụ tai nạn giao thông (demo)", "Road traffic accidents (demo)", "security_traffic",
        "vụ", "accidents", "monthly", "lower", "CA-DLK", ("province",), 7, "count", base=42, target=65,
        noise=0.12, season=_ACCIDENTS, seasonal=True, seasonal_target=True, growth=-0.05, decimals=0,
        description=_NOTE + "Vụ tai nạn giao thông đường bộ trong tháng trên địa bàn tỉnh."),
    DemoIndicator(
        "DEMO-PAHT-DUNG-HAN", "Tỷ lệ phản ánh hiện trường xử lý đúng hạn (demo)",
        "Field reports resolved on time (demo)", "field_reports", "%", "%", "monthly", "higher", "SXD",
        ("commune", "ward"), 5, "rate", base=95.0, target=90.0, noise=0.8, spread=0.8, max_value=100.0,
        description=_NOTE + "Phản ánh hiện trường của người dân xử lý xong trong thời hạn, trên số phản ánh đến hạn.",
        planted=(("X-KRONG-PAC", 0, "=", 71.0), ("X-KRONG-PAC", 1, "=", 73.5), ("X-KRONG-PAC", 2, "=", 76.0))),
)


# --------------------------------------------------------------------------- drawing the values
@dataclass(frozen=True)
class DemoRow:
    """One generated value: indicator, unit code, period key, value, the day it was reported."""

    indicator: str
    unit: str
    period: str
    value: float
    reported_on: date


def reporting_units(spec: DemoIndicator, units: Iterable[tuple[str, str]]) -> list[str]:
    """The codes of the units (code, kind) that report `spec`: the province itself, or every unit of its levels."""
    if spec.levels == ("province",):
        return [code for code, kind in units if kind == "province"]
    return [code for code, kind in units if kind in spec.levels]


def newest_due(spec: DemoIndicator, today: date) -> Period:
    """The newest period of `spec` whose reporting deadline has passed by `today`."""
    return Period.last_due(spec.period, today, spec.deadline_days)


def periods_of(spec: DemoIndicator, today: date) -> list[Period]:
    """Two years of periods of `spec`, oldest first, ending at the newest period due."""
    last = newest_due(spec, today)
    count = {"monthly": 12, "ytd": 12, "quarterly": 4, "yearly": 1}[spec.period] * YEARS
    return [last.previous(n) for n in range(count - 1, -1, -1)]


def period_target(spec: DemoIndicator, period: Period) -> float:
    """The plan figure of `period` (ytd: the yearly plan; level with plans: that month's plan)."""
    years = period.year - 2025
    if spec.model == "ytd":
        return round(spec.target * (1 + spec.growth) ** years, 0)
    if spec.plans:
        return spec.plans[period.index - 1]
    if spec.model == "rate" and spec.growth:
        return min(100.0, spec.target + spec.growth * years)
    if spec.model == "count":
        season = sum(spec.season[m] for m in _months(period)) / len(_months(period)) if spec.seasonal_target else 1
        return round(spec.target * (1 + spec.growth) ** years * season, spec.decimals)
    return spec.target


def _months(period: Period) -> list[int]:
    """The months (0-11) a period covers (for its season)."""
    if period.kind == "quarterly":
        return [3 * period.index - 3, 3 * period.index - 2, 3 * period.index - 1]
    return [period.index - 1]


def _uniform(key: str) -> float:
    """A number in (0, 1) drawn from `key`: the same key gives the same number whatever else was drawn."""
    digest = hashlib.blake2b(f"{SEED}:{key}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") + 0.5) / 2**64


def _gauss(key: str, sd: float = 1.0) -> float:
    """A normal draw of standard deviation `sd` from `key` (Box-Muller over two keyed uniforms)."""
    return sd * math.sqrt(-2 * math.log(_uniform(key + ":a"))) * math.cos(2 * math.pi * _uniform(key + ":b"))


def draw_values(spec: DemoIndicator, unit: str, periods: list[Period]) -> list[float]:
    """The values of one unit over `periods`; each is drawn from the indicator, unit and period alone, so a
    period keeps its value whatever day the demo is set up on."""
    own = _gauss(f"{spec.code}:{unit}", spec.spread) if spec.spread else 0.0
    out: list[float] = []
    for period in periods:
        key = f"{spec.code}:{unit}:{period.key}"
        season = sum(spec.season[m] for m in _months(period)) / len(_months(period))
        years = period.year - 2025 + (period.index - 6) / 12 if period.kind != "yearly" else period.year - 2025
        if spec.model == "rate":
            value = spec.base + own + (season if spec.season is not _FLAT else 0.0) + spec.growth * years
            value += _gauss(key, spec.noise)
            if value > 99.5:
                value = 100.0 - 0.8 * _uniform(key + ":top")
        elif spec.model == "count":
            level = (spec.base * (1 + own)) * (1 + spec.growth) ** years * season
            value = max(0.0, level + _gauss(key, level * spec.noise + (0.7 if level < 10 else 0)))
        elif spec.model == "ytd":  # the year's pace (a few % ahead of plan) and a month's wobble that settles
            pace = 1.045 + _gauss(f"{spec.code}:{unit}:{period.year}", 0.012)
            plan = period_target(spec, period)
            share = spec.shares[period.index - 1] / 100
            value = plan * share * (pace + _gauss(key, spec.noise) / math.sqrt(period.index))
        elif spec.plans:  # a share of plan to date: a few % ahead of the month's plan
            plan = spec.plans[period.index - 1]
            value = plan * 1.06 + 0.5 + _gauss(key, plan * spec.noise / 100)
        else:
            value = spec.base + _gauss(key, spec.noise)
        if spec.min_value is not None:
            value = max(spec.min_value, value)
        if spec.max_value is not None:
            value = min(spec.max_value, value)
        out.append(round(value, spec.decimals))
    if spec.plans:  # a cumulative share never falls within a year
        for i in range(1, len(out)):
            if periods[i].year == periods[i - 1].year and out[i] < out[i - 1]:
                out[i] = out[i - 1]
    return out


def _reported_on(spec: DemoIndicator, unit: str, period: Period, late: bool) -> date:
    """The day a value was reported: in the last days before its deadline, or days after it (the late unit)."""
    draw = _uniform(f"reported:{spec.code}:{unit}:{period.key}")
    if late:
        return period.deadline(spec.deadline_days) + timedelta(days=2 + int(draw * 8))
    first = max(1, spec.deadline_days - 6)
    return period.last_day + timedelta(days=first + int(draw * (spec.deadline_days - first + 1)))


def generate(today: date, units: Iterable[tuple[str, str]]) -> list[DemoRow]:
    """Every value of the demo up to `today`: two years per indicator and reporting unit, the planted breaches
    in the newest periods, and nothing from LATE_UNIT for its newest period due (it reported late before)."""
    units = list(units)
    rows: list[DemoRow] = []
    for spec in INDICATORS:
        periods = periods_of(spec, today)
        for unit in reporting_units(spec, units):
            values = draw_values(spec, unit, periods)
            for code, back, how, amount in spec.planted:
                if code in ("", unit) and back < len(values):
                    i = len(values) - 1 - back
                    planted = {"×": values[i] * amount, "target×": period_target(spec, periods[i]) * amount}
                    values[i] = round(planted.get(how, amount), spec.decimals)
            late = unit == LATE_UNIT
            for i, (period, value) in enumerate(zip(periods, values, strict=True)):
                if late and i == len(periods) - 1:
                    continue
                rows.append(DemoRow(spec.code, unit, period.key, value, _reported_on(spec, unit, period, late)))
    return rows


def targets(today: date) -> list[tuple[str, int, str | None, str, float]]:
    """The targets of every demo indicator for the years of its values: (indicator, year, period key or None,
    kind, value): the yearly plan, then each period's plan (or its share of the yearly plan, ytd)."""
    out = []
    for spec in INDICATORS:
        periods = periods_of(spec, today)
        years = sorted({p.year for p in periods} | {today.year})
        for year in years:
            kinds = {"monthly": 12, "ytd": 12, "quarterly": 4}[spec.period]
            year_periods = [Period(year, i, spec.period) for i in range(1, kinds + 1)]
            if spec.model == "ytd":
                out.append((spec.code, year, None, "plan", period_target(spec, year_periods[0])))
                out.extend((spec.code, year, p.key, "share", spec.shares[p.index - 1]) for p in year_periods)
                continue
            if not spec.plans:  # a share of plan to date has its month's plans only: no pro-rata of a year
                out.append((spec.code, year, None, "plan", period_target(spec, year_periods[0])))
            out.extend((spec.code, year, p.key, "plan", period_target(spec, p)) for p in year_periods)
    return out


# --------------------------------------------------------------------------- loading
def _at(day: date, key: str) -> datetime:
    """A moment of office hours on `day` (local time), drawn from `key`."""
    minutes = int(_uniform(key) * 9 * 60)
    return datetime.combine(day, time(7 + minutes // 60, minutes % 60), tzinfo=LOCAL).astimezone(UTC)


def load_catalogue(session: Session, today: date, added: DemoResult) -> None:
    """Add the demo indicators, their targets and the demo alert source that are missing (no commit)."""
    units = {code: uid for code, uid in session.execute(select(AdminUnit.code, AdminUnit.id))}
    existing = set(session.scalars(select(Indicator.code)))
    for spec in INDICATORS:
        if spec.code in existing:
            continue
        session.add(Indicator(
            code=spec.code, name=spec.name, name_en=spec.name_en, field=spec.field, measure_unit=spec.measure_unit,
            measure_unit_en=spec.measure_unit_en, period=spec.period, direction=spec.direction,
            department_id=units[spec.department], levels=list(spec.levels), seasonal=spec.seasonal,
            deadline_days=spec.deadline_days, min_value=spec.min_value, max_value=spec.max_value,
            decimals=spec.decimals, category_code=_category(spec.field), description=spec.description))
        added.indicators += 1
    session.flush()
    have = {(c, y, p) for c, y, p in session.execute(
        select(Target.indicator_code, Target.year, Target.period).where(Target.unit_id.is_(None)))}
    for code, year, period, kind, value in targets(today):
        if (code, year, period) not in have:
            session.add(Target(indicator_code=code, unit_id=None, year=year, period=period, kind=kind, value=value,
                               updated_by=DEMO_USER))
            added.targets += 1
    session.flush()


def load_alert_source(session: Session, clock, added: DemoResult) -> AlertSource:
    """The demo alert source with its published token (added when missing; commits)."""
    from workflows.monitoring.sources import AlertSourceAdmin

    if session.scalar(select(AlertSource.id).where(AlertSource.code == DEMO_ALERT_SOURCE)) is None:
        added.sources += 1
    return AlertSourceAdmin(session, clock).create_demo(
        DEMO_ALERT_SOURCE, "Giám sát an toàn thông tin — Alertmanager (demo)",
        "Security monitoring — Alertmanager (demo)", "cyber_security", "CA-DLK", DEMO_ALERT_TOKEN)


def demo_alert_calls(now: datetime) -> list[bytes]:
    """Two webhook calls as Alertmanager sends them (demo data): a group of two firing alerts, then the
    certificate alert resolved at the source."""
    began = (now - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ended = (now - timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    brute = {"labels": {"alertname": "SSHBruteForce", "severity": "critical", "instance": "dichvucong.daklak.demo:22",
                        "job": "wazuh"},
             "annotations": {"summary": "Dò mật khẩu SSH liên tục vào máy chủ Cổng dịch vụ công (demo)",
                             "description": "Hơn 2.000 lần đăng nhập sai trong 10 phút từ 3 địa chỉ IP nước ngoài "
                                            "(dữ liệu minh họa)."},
             "startsAt": began, "fingerprint": "demo0ssh0brute01"}
    tls = {"labels": {"alertname": "TLSCertificateExpiring", "severity": "warning",
                      "instance": "https://egov.daklak.demo", "job": "blackbox"},
           "annotations": {"summary": "Chứng chỉ TLS của cổng thông tin điện tử sắp hết hạn (demo)",
                           "description": "Chứng chỉ còn 6 ngày (dữ liệu minh họa)."},
           "startsAt": began, "fingerprint": "demo0tls0expiry1"}

    def call(status: str, alerts: list[dict]) -> bytes:
        return json.dumps({"version": "4", "groupKey": '{}:{job=~"wazuh|blackbox"}', "status": status,
                           "receiver": "ioc-daklak", "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
                           "externalURL": "http://alertmanager.daklak.demo:9093", "truncatedAlerts": 0,
                           "alerts": [{"status": status, "endsAt": "0001-01-01T00:00:00Z",
                                       "generatorURL": "http://prometheus.daklak.demo:9090/graph", **a}
                                      for a in alerts]}, ensure_ascii=False).encode("utf-8")

    return [call("firing", [brute, tls]), call("resolved", [{**tls, "endsAt": ended}])]


def send_demo_alerts(session: Session, clock, process) -> int:
    """Send the demo alerts through the webhook's service once (none yet from the source), then `process()` the
    receipts as the worker does; how many alerts were sent."""
    from workflows.monitoring.alerts import AlertReceiver
    from workflows.monitoring.models import AlertReceipt

    source = session.scalar(select(AlertSource).where(AlertSource.code == DEMO_ALERT_SOURCE))
    if source is None or session.scalar(select(AlertReceipt.id).where(AlertReceipt.source_id == source.id)):
        return 0
    receiver = AlertReceiver(session, clock)
    sent = sum(receiver.receive(DEMO_ALERT_TOKEN, body).alerts for body in demo_alert_calls(clock.now()))
    if process is not None:
        process()
    return sent


def _category(field_key: str) -> str:
    from workflows.monitoring.fields import FIELDS

    return FIELDS[field_key][2]


def load_history(session: Session, rows: list[DemoRow], now: datetime, leave: set[tuple[str, str]]) -> int:
    """Add the generated values that are missing, but for the (indicator, period) pairs of `leave`, with their
    first-report history, in two statements (no commit); how many were added."""
    units = dict(session.execute(select(AdminUnit.code, AdminUnit.id)).all())
    have = {(c, u, p) for c, u, p in session.execute(select(Value.indicator_code, Value.unit_id, Value.period))}
    latest = now - timedelta(hours=1)
    new = [{"indicator_code": row.indicator, "unit_id": units[row.unit], "period": row.period, "value": row.value,
            "reported_at": min(_at(row.reported_on, f"at:{row.indicator}:{row.unit}:{row.period}"), latest),
            "reported_by": DEMO_USER, "source": "demo"}
           for row in rows if (row.indicator, row.period) not in leave
           and (row.indicator, units[row.unit], row.period) not in have]
    if not new:
        return 0
    session.execute(insert(Value), new)
    recorded = select(ValueChange.value_id).where(ValueChange.value_id == Value.id).exists()
    session.execute(insert(ValueChange).from_select(
        ["value_id", "old_value", "new_value", "changed_at", "changed_by", "source"],
        select(Value.id, null(), Value.value, Value.reported_at, Value.reported_by, Value.source)
        .where(Value.source == "demo", ~recorded)))
    return len(new)


def values_loaded(session: Session) -> int:
    """How many demo values the database holds."""
    return session.scalar(select(func.count()).select_from(Value).where(Value.indicator_code.like("DEMO-%"))) or 0


# --------------------------------------------------------------------------- the demo's set-up
UPLOADER = "tp.ioc"  # the centre's head sends the newest periods' file (the centre sees every unit)
TYPO = ("DEMO-HS-DUNG-HAN", "P-BUON-MA-THUOT")  # sent with two digits swapped, corrected by a second file


def newest_rows(rows: list[DemoRow], today: date, back: int = 0) -> list[DemoRow]:
    """The rows of each indicator's period `back` periods before its newest period due."""
    keys = {spec.code: periods_of(spec, today)[-1 - back].key for spec in INDICATORS}
    return [row for row in rows if row.period == keys[row.indicator]]


def typo_of(value: float) -> float:
    """The value as typed with its first two digits swapped (98,4 → 89,4)."""
    text = f"{value:.1f}"
    return float(text[1] + text[0] + text[2:]) if len(text) > 3 and text[1] != "." else value + 10


def csv_file(rows: list[DemoRow], fix: dict[tuple[str, str], float] | None = None) -> bytes:
    """A CSV file of `rows` as a department would write it: Vietnamese headers, periods and decimal commas."""
    specs = {spec.code: spec for spec in INDICATORS}
    lines = ["Mã chỉ tiêu;Mã đơn vị;Kỳ;Giá trị;Ghi chú"]
    for row in rows:
        spec = specs[row.indicator]
        period = Period.from_key(spec.period, row.period)
        shown = {"quarterly": f"Quý {period.index}/{period.year}", "yearly": f"{period.year}"}.get(
            spec.period, f"T{period.index}/{period.year}")
        value = (fix or {}).get((row.indicator, row.unit), row.value)
        number = f"{value:,.{spec.decimals}f}".replace(",", " ").replace(".", ",")
        lines.append(f"{row.indicator};{row.unit};{shown};{number};dữ liệu minh họa (demo)")
    return ("\n".join(lines) + "\n").encode("utf-8")


@dataclass
class DemoResult:
    """What `load_monitoring_demo` added: catalogue, values, uploads, evaluated values, cases, alerts."""

    indicators: int = 0
    targets: int = 0
    values: int = 0
    uploads: int = 0
    evaluated: int = 0
    cases: int = 0
    missing: int = 0
    sources: int = 0
    alerts: int = 0


def local_today(clock) -> date:
    """The clock's day in Đắk Lắk."""
    return clock.now().astimezone(LOCAL).date()


def load_monitoring_demo(services, clock, process_alerts=None) -> DemoResult:
    """Add the monitoring demo where it is missing, through the services people use: the catalogue and the
    alert source; two years of values (the older ones in bulk, the newest period of each indicator as a file
    sent through ingestion and corrected by a second file, so the history shows both); then the evaluation of
    the two newest periods (the breaches and their cases, a handful) and the missing-report check (the late
    commune); and a couple of alerts from the demo alert source, then `process_alerts()` (the worker's run).
    Commits; a second call adds nothing."""
    session: Session = services.session
    today, now = local_today(clock), clock.now()
    result = DemoResult()
    load_catalogue(session, today, result)
    session.commit()
    load_alert_source(session, clock, result)
    if values_loaded(session) == 0:
        rows = generate(today, session.execute(select(AdminUnit.code, AdminUnit.kind)).all())
        ingest = _ingest_service(session, clock)
        newest = newest_rows(rows, today)
        leave = {(r.indicator, r.period) for r in newest} if ingest is not None else set()
        result.values = load_history(session, rows, now, leave)
        session.commit()
        unit_ids = dict(session.execute(select(AdminUnit.code, AdminUnit.id)).all())
        if ingest is not None:
            result.values += _send_newest(session, ingest, newest, today)
            result.uploads = 2
        batches = [_value_ids(session, newest_rows(rows, today, back=1), unit_ids), _value_ids(session, newest, unit_ids)]
        result.evaluated, result.cases, result.missing = _evaluate(services, clock, today, batches)
    result.alerts = send_demo_alerts(session, clock, process_alerts)
    return result


def _ingest_service(session: Session, clock):
    try:
        from workflows.monitoring.ingest import IngestService
    except ImportError:  # the ingestion service is not installed: every value goes in bulk
        return None
    return IngestService(session, clock)


def _value_ids(session: Session, rows: list[DemoRow], unit_ids: dict[str, int]) -> list[int]:
    keys = {(r.indicator, unit_ids[r.unit], r.period) for r in rows}
    periods = sorted({r.period for r in rows})
    found = session.execute(select(Value.id, Value.indicator_code, Value.unit_id, Value.period)
                            .where(Value.period.in_(periods), Value.indicator_code.like("DEMO-%")))
    return sorted(vid for vid, code, uid, period in found if (code, uid, period) in keys)


def _send_newest(session: Session, ingest, rows: list[DemoRow], today: date) -> int:
    """Send the newest periods as the centre would: one file (with a typo), then its correction; values stored."""
    from workflows.access import AccessService
    from workflows.models import User

    user = session.scalar(select(User).where(User.username == UPLOADER))
    actor = AccessService(session).actor_of(user)
    right = next(r.value for r in rows if (r.indicator, r.unit) == TYPO)
    stamp = f"{today:%Y-%m}"
    stored = 0
    for name, data in ((f"bao-cao-chi-tieu-{stamp}-demo.csv", csv_file(rows, {TYPO: typo_of(right)})),
                       (f"bao-cao-chi-tieu-{stamp}-demo-sua-loi.csv",
                        csv_file([r for r in rows if (r.indicator, r.unit) == TYPO]))):
        upload = ingest.dry_run(name, data, actor)
        stored += ingest.decide(upload.id, "keep_good", actor).new_values
    return stored


def _evaluate(services, clock, today: date, batches: list[list[int]]) -> tuple[int, int, int]:
    """Evaluate the batches of value ids in order, then the missing reports; (values evaluated, cases, missing)."""
    try:
        from workflows.monitoring.evaluation import Evaluator
    except ImportError:  # the evaluation is not installed: values without their breaches
        return 0, 0, 0
    evaluator = Evaluator(services, clock)
    evaluated = 0
    for ids in batches:
        if ids:
            evaluator.evaluate(ids)
            evaluated += len(ids)
    evaluator.check_missing(today)
    session = services.session
    cases = session.scalar(select(func.count()).select_from(BreachState).where(BreachState.case_id.is_not(None)))
    missing = session.scalar(select(func.count()).select_from(Breach).where(Breach.rule == "missing"))
    return evaluated, cases or 0, missing or 0
