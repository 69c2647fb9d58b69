"""The report charts: one Vega-Lite spec, drawn to SVG for the PDF with every bar, the reader's numbers and the
report's serif face."""

from __future__ import annotations

import re

from reports import charts

ROWS = [{"label": "Phường Buôn Ma Thuột", "count": 1234}, {"label": "Sở Nông nghiệp và Môi trường", "count": 7}]


def test_a_bar_chart_draws_every_bar_with_vietnamese_numbers_in_the_report_face():
    spec = charts.bar_chart(ROWS, category="label", value="count", language="vi", title="Phản ánh theo đơn vị",
                            category_title="Đơn vị", value_title="Phản ánh")
    assert spec["data"]["values"] == ROWS  # the data travel inline: the page draws the same figures
    svg = charts.svg(spec)
    texts = re.findall(r">([^<>]+)</text>", svg)
    assert "Phường Buôn Ma Thuột" in texts and "Sở Nông nghiệp và Môi trường" in texts
    assert "1.234" in texts and "Phản ánh theo đơn vị" in texts  # a dot for thousands
    assert 'font-family="Liberation Serif"' in svg
    assert len(re.findall(r'role-mark[^"]*marktype-rect|class="mark-rect', svg)) >= 1


def test_english_numbers_and_whole_ticks_for_small_counts():
    spec = charts.bar_chart([{"label": "A", "count": 2}], category="label", value="count", language="en",
                            title="T", category_title="C", value_title="V")
    assert spec["config"]["locale"]["number"]["thousands"] == ","
    numbers = re.findall(r">(\d+(?:[.,]\d+)?)</text>", charts.svg(spec))
    # Ticks 0, 1, 2 and the bar's own label 2: no tick between two whole numbers (0.5 would be written "1").
    assert sorted(numbers) == ["0", "1", "2", "2"]


def test_grouped_bars_keep_the_series_order_and_colours():
    rows = [{"figure": "Tiếp nhận", "series": s, "value": v} for s, v in (("Kỳ này", 10), ("Kỳ trước", 8))]
    spec = charts.grouped_bars(rows, group="figure", series="series", value="value", language="vi", title="T",
                               group_title="G", series_title="S", value_title="V",
                               series_order=["Kỳ này", "Kỳ trước"], colours=["#111111", "#222222"])
    assert spec["encoding"]["color"]["scale"] == {"domain": ["Kỳ này", "Kỳ trước"], "range": ["#111111", "#222222"]}
    svg = charts.svg(spec)
    assert "#111111" in svg and "#222222" in svg and "Kỳ trước" in svg
