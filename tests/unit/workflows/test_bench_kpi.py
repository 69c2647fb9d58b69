"""The shape of `ioc bench kpi`'s data (workflows/bench_kpi.py), not its timing."""

from __future__ import annotations

import json
from datetime import date

from workflows import bench_kpi
from workflows.monitoring.ingest import read_number, read_table
from workflows.monitoring.periods import Period

UNITS = [f"X-{i:03d}" for i in range(102)]


def test_the_values_cover_each_unit_series_whole_and_stop_at_the_limit():
    periods = bench_kpi.months_before(date(2026, 12, 4))
    assert len(periods) == 24 and periods[-1].key == "2026-10" and periods[0].key == "2024-11"
    rows = bench_kpi.value_rows(bench_kpi.indicator_codes(), UNITS, periods, limit=100_000)
    assert len(rows) == 100_000 and len({r[:3] for r in rows}) == 100_000
    assert len(bench_kpi.indicator_codes()) * len(UNITS) * len(periods) >= 100_000
    assert rows[:24] == [r for r in rows if r[:2] == ("BENCH-001", "X-000")]  # a unit's series is whole
    assert all(0 <= r[3] <= 100 for r in rows)
    below = sum(r[3] < bench_kpi.TARGET for r in rows)
    assert 0 < below < 0.01 * len(rows)  # a few far below the target, not a flood
    assert rows == bench_kpi.value_rows(bench_kpi.indicator_codes(), UNITS, periods, limit=100_000)  # seeded


def test_the_file_is_read_as_a_department_writes_it_with_its_bad_rows():
    periods = bench_kpi.months_before(date(2026, 12, 4), 3)
    rows = bench_kpi.value_rows(bench_kpi.indicator_codes(), UNITS, periods, limit=10_000)
    kind, table = read_table(bench_kpi.csv_bytes(rows, bad_share=bench_kpi.BAD_SHARE))
    assert kind == "csv" and len(table) == 10_001
    assert table[0][1] == ["Mã chỉ tiêu", "Mã đơn vị", "Kỳ", "Giá trị"]
    code, unit, period, number = table[1][1]
    assert (code, unit) == rows[0][:2] and Period.parse("monthly", period).key == rows[0][2]
    assert read_number(number) == rows[0][3] and "," in number
    bad = [cells for (_line, cells), row in zip(table[1:], rows, strict=True)
           if cells[1] != row[1] or "x" in cells[3] or cells[2].startswith("T13/")]
    assert 50 <= len(bad) <= 200


def test_the_alert_burst_repeats_a_few_alerts_in_alertmanagers_format():
    calls = bench_kpi.alert_payloads(1000, 50)
    assert len(calls) == 1000
    documents = [json.loads(c) for c in calls]
    assert {d["version"] for d in documents} == {"4"} and all(len(d["alerts"]) == 1 for d in documents)
    assert len({d["alerts"][0]["fingerprint"] for d in documents}) == 50
