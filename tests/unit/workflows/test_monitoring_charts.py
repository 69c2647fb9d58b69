"""The trend chart's Vega-Lite spec (workflows/monitoring/charts.py): the figures inline, words in the reader's
language, and the same spec turned into SVG by vl-convert-python, as the leaders' PDF will (issue 13)."""

from __future__ import annotations

import re

import pytest

from workflows.monitoring.charts import trend_rows, trend_spec
from workflows.monitoring.models import Indicator
from workflows.monitoring.periods import Period
from workflows.monitoring.views import CaseLink, Trend, TrendPoint, UnitRow

VIETNAMESE = {"Reporting period": "Kỳ báo cáo", "Value": "Giá trị", "Target": "Kế hoạch", "off its target": "lệch kế hoạch",
              "%(month)s/%(year)s": "%(month)s/%(year)s"}


def _vi(text) -> str:
    """A stand-in for the web's translate: the Vietnamese of the few msgids the chart uses, English otherwise."""
    msgid = getattr(text, "msgid", str(text))
    params = getattr(text, "params", {})
    return VIETNAMESE.get(msgid, msgid) % params if params else VIETNAMESE.get(msgid, msgid)


def _trend() -> Trend:
    indicator = Indicator(code="DVC-ONLINE", name="Tỷ lệ hồ sơ trực tuyến toàn trình", name_en="Full online applications",
                          field="public_services", measure_unit="%", measure_unit_en="%", period="monthly",
                          direction="higher", levels=["ward"], decimals=1)
    unit = UnitRow(1, "P-BUON-MA-THUOT", "Phường Buôn Ma Thuột", "Buon Ma Thuot Ward", "ward", None)
    figures = [82.0, 80.5, 1234.5, 72.5, 64.0, None]
    points = []
    for n, figure in enumerate(figures):
        period = Period(2026, n + 1, "monthly")
        breach = n in (3, 4)
        points.append(TrendPoint(period, figure, 100 + n if figure is not None else None, 80.0,
                                 (("target", "high"),) if breach else (),
                                 ("KPI-2026-000001",) if n == 4 else ()))
    return Trend(indicator, unit, points, [CaseLink(9, "KPI-2026-000001", "in_progress", True)], None, [unit])


def test_the_spec_carries_the_figures_the_breaches_the_cases_and_the_readers_words():
    spec = trend_spec(_trend(), _vi, "vi")
    rows = spec["data"]["values"]
    assert [r["period"] for r in rows] == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    assert [r["value"] for r in rows] == [82.0, 80.5, 1234.5, 72.5, 64.0, None]
    assert [r["breach"] for r in rows] == [False, False, False, True, True, False]
    assert rows[4]["cases"] == "KPI-2026-000001" and rows[3]["rules"] == "lệch kế hoạch"
    assert rows[3]["severity"] == "Cao"
    assert spec["title"] == {"text": "Tỷ lệ hồ sơ trực tuyến toàn trình", "subtitle": "Phường Buôn Ma Thuột",
                             "anchor": "start"}
    assert spec["config"]["locale"]["number"]["decimal"] == ","
    values = next(layer for layer in spec["layer"] if layer["name"] == "values")
    assert values["encoding"]["y"]["title"] == "Giá trị (%)" and values["encoding"]["x"]["title"] == "Kỳ báo cáo"
    english = trend_spec(_trend(), str, "en")
    assert english["title"]["text"] == "Full online applications" and english["config"]["locale"]["number"]["decimal"] == "."
    assert trend_rows(_trend(), _vi, "vi") == rows  # the table under the chart shows the same rows


def test_vl_convert_turns_the_same_spec_into_svg_with_every_point_and_vietnamese_numbers():
    vl_convert = pytest.importorskip("vl_convert")
    spec = trend_spec(_trend(), _vi, "vi", width=640)
    svg = vl_convert.vegalite_to_svg(spec)
    assert svg.startswith("<svg")
    assert "Tỷ lệ hồ sơ trực tuyến toàn trình" in svg and "Giá trị (%)" in svg
    assert "KPI-2026-000001" in svg  # the case over its breach point
    symbols = re.findall(r'<g class="mark-symbol role-mark (\w+)_marks"[^>]*>(.*?)</g>', svg, re.S)
    counts = {name: body.count("<path") for name, body in symbols}
    assert counts == {"points": 5, "breaches": 2}  # five values (one month missing), two breaches
    assert "1.200,0" in svg  # the axis reads Vietnamese numbers: dot for thousands, decimal comma
