"""Charts as Vega-Lite specifications, for the screen and for paper.

The leaders' page hands a spec to vega-embed; the PDF turns the very same spec into SVG with vl-convert-python
(`svg`). The data travel inline in the spec, so the page and the paper draw the same figures. Numbers follow
the reader's locale (Vietnamese: decimal comma, dot for thousands), as the monitoring charts do.
"""

from __future__ import annotations

import copy
from typing import Any

import vl_convert

from workflows.monitoring.charts import NUMBER_LOCALES, SCHEMA

FONT = "Liberation Serif"
COLOURS = {"main": "#1f5f99", "previous": "#9bb7d4", "year_before": "#c9c9c9", "late": "#b3261e",
           "on_time": "#2e7d32"}
VL_VERSION = "6.4"


def base(language: str, title: str, width: int | str = "container", height: int = 220) -> dict[str, Any]:
    """The frame every report chart shares: schema, title, size, the report's serif face, the reader's numbers."""
    return {"$schema": SCHEMA, "title": {"text": title, "anchor": "start", "fontSize": 13},
            "width": width, "height": height,
            "config": {"font": FONT, "locale": {"number": NUMBER_LOCALES.get(language, NUMBER_LOCALES["vi"])},
                       "view": {"stroke": None}, "axis": {"labelFontSize": 11, "titleFontSize": 11},
                       "legend": {"labelFontSize": 11, "titleFontSize": 11, "orient": "bottom"}}}


def bar_chart(rows: list[dict[str, Any]], *, category: str, value: str, language: str, title: str,
              category_title: str, value_title: str, colour: str = COLOURS["main"], horizontal: bool = True,
              height: int | None = None) -> dict[str, Any]:
    """Bars of `value` by `category` (horizontal by default, so long Vietnamese names stay readable)."""
    spec = base(language, title, width=460 if horizontal else "container",
                height=height or max(60, 20 * len(rows) + 10))
    cat = {"field": category, "type": "nominal", "sort": None, "title": category_title,
           "axis": {"labelLimit": 240}}
    val = {"field": value, "type": "quantitative", "title": value_title, "axis": _count_axis(rows, value)}
    spec.update({"data": {"values": rows}, "mark": {"type": "bar", "color": colour},
                 "encoding": {"y" if horizontal else "x": cat, "x" if horizontal else "y": val,
                              "tooltip": [{"field": category, "type": "nominal", "title": category_title},
                                          {"field": value, "type": "quantitative", "title": value_title,
                                           "format": ",d"}]}})
    if horizontal:
        spec["layer"] = [{"mark": {"type": "bar", "color": colour}},
                         {"mark": {"type": "text", "align": "left", "dx": 3, "fontSize": 10},
                          "encoding": {"text": {"field": value, "type": "quantitative", "format": ",d"}}}]
        del spec["mark"]
    return spec


def _count_axis(rows: list[dict[str, Any]], value: str) -> dict[str, Any]:
    """An axis of whole numbers: no tick between two integers when the counts are small."""
    top = max((r.get(value) or 0 for r in rows), default=0)
    return {"format": ",d", "tickMinStep": 1, "tickCount": int(min(max(top, 1), 8))}


def grouped_bars(rows: list[dict[str, Any]], *, group: str, series: str, value: str, language: str, title: str,
                 group_title: str, series_title: str, value_title: str, series_order: list[str],
                 colours: list[str], value_format: str = ",d", height: int = 150) -> dict[str, Any]:
    """Bars in groups, one bar per `series` (this period, the previous one, a year before) for each `group`
    (horizontal, so long Vietnamese names stay readable)."""
    spec = base(language, title, width=460, height=height)
    spec.update({"data": {"values": rows}, "mark": {"type": "bar"},
                 "encoding": {
                     "y": {"field": group, "type": "nominal", "sort": None, "title": group_title,
                           "axis": {"labelLimit": 240}},
                     "yOffset": {"field": series, "type": "nominal", "sort": series_order},
                     "x": {"field": value, "type": "quantitative", "title": value_title,
                           "axis": _count_axis(rows, value) if value_format == ",d" else {"format": value_format}},
                     "color": {"field": series, "type": "nominal", "sort": series_order, "title": series_title,
                               "scale": {"domain": series_order, "range": colours}},
                     "tooltip": [{"field": group, "type": "nominal", "title": group_title},
                                 {"field": series, "type": "nominal", "title": series_title},
                                 {"field": value, "type": "quantitative", "title": value_title,
                                  "format": value_format}]}})
    return spec


def svg(spec: dict[str, Any], width: int = 560) -> str:
    """The spec drawn as SVG by vl-convert (a "container" width, which only a page has, becomes `width` px)."""
    spec = copy.deepcopy(spec)
    if spec.get("width") == "container":
        spec["width"] = width
    language = "en" if spec.get("config", {}).get("locale", {}).get("number") == NUMBER_LOCALES["en"] else "vi"
    return vl_convert.vegalite_to_svg(spec, vl_version=VL_VERSION, format_locale=NUMBER_LOCALES[language],
                                      allowed_base_urls=[])
