"""The shape of the monitoring demo's data (workflows/monitoring/demo.py), without a database."""

from __future__ import annotations

from collections import Counter
from datetime import date

from workflows.demo import demo_data
from workflows.monitoring import demo
from workflows.monitoring.fields import DIRECTIONS, FIELDS, LEVELS, PERIOD_KINDS

UNITS = [(u["code"], u["kind"]) for u in demo_data()["units"]]
TODAY = date(2026, 12, 4)


def test_a_dozen_and_more_indicators_across_the_ten_fields_from_the_demo_units():
    codes = {u["code"] for u in demo_data()["units"]}
    assert len(demo.INDICATORS) >= 12 and len({i.code for i in demo.INDICATORS}) == len(demo.INDICATORS)
    assert {i.field for i in demo.INDICATORS} == set(FIELDS)
    for i in demo.INDICATORS:
        assert i.period in PERIOD_KINDS and i.direction in DIRECTIONS and set(i.levels) <= set(LEVELS)
        assert i.department in codes and "(demo)" in i.name and "(demo)" in i.name_en
        assert all(unit in codes for unit, *_ in i.planted if unit)


def test_two_years_per_unit_deterministic_and_the_late_unit_missing_its_newest_period():
    rows = demo.generate(TODAY, UNITS)
    assert rows == demo.generate(TODAY, UNITS)
    assert len({(r.indicator, r.unit, r.period) for r in rows}) == len(rows)
    per_series = Counter((r.indicator, r.unit) for r in rows)
    for spec in demo.INDICATORS:
        periods = demo.periods_of(spec, TODAY)
        assert len(periods) == {"quarterly": 8}.get(spec.period, 24)
        for unit in demo.reporting_units(spec, UNITS):
            expected = len(periods) - (unit == demo.LATE_UNIT)
            assert per_series[(spec.code, unit)] == expected, (spec.code, unit)
    for row in rows:  # reported after the period's end, before today
        assert row.reported_on < TODAY
    # A period keeps its value whatever day the demo is set up on.
    later = {(r.indicator, r.unit, r.period): r.value for r in demo.generate(date(2027, 1, 20), UNITS)}
    assert later[("DEMO-KHACH-DL", "DLK", "2026-05")] == next(
        r.value for r in rows if (r.indicator, r.unit, r.period) == ("DEMO-KHACH-DL", "DLK", "2026-05"))


def test_the_planted_breaches_are_the_only_values_past_their_targets():
    specs = {s.code: s for s in demo.INDICATORS}
    past = set()
    for row in demo.generate(TODAY, UNITS):
        spec = specs[row.indicator]
        period = next(p for p in demo.periods_of(spec, TODAY) if p.key == row.period)
        target = demo.period_target(spec, period)
        if spec.model == "ytd":
            target *= spec.shares[period.index - 1] / 100
        if (row.value < target) if spec.direction == "higher" else (row.value > target):
            past.add((row.indicator, row.unit))
    planted = {(s.code, unit) for s in demo.INDICATORS for unit, *_ in s.planted}
    assert past == planted


def test_the_csv_file_is_written_the_vietnamese_way():
    rows = demo.newest_rows(demo.generate(TODAY, UNITS), TODAY)
    text = demo.csv_file(rows[:3]).decode()
    header, first, *_ = text.splitlines()
    assert header == "Mã chỉ tiêu;Mã đơn vị;Kỳ;Giá trị;Ghi chú"
    assert first.split(";")[2].startswith(("T", "Quý")) and "demo" in first
    assert demo.typo_of(98.4) == 89.4
