"""The trend chart of an indicator as one Vega-Lite specification, for the screen and for paper.

The page hands the spec to vega-embed (SVG renderer, the CSP-safe expression interpreter); the leaders'
PDF (issue 13) turns the very same spec into SVG with vl-convert-python. The data travel inline, so both
draw the same figures. Words come through `translate` in the reader's language; numbers follow the
reader's locale (Vietnamese: decimal comma, dot for thousands).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.i18n import Named, Text, t
from workflows.monitoring.fields import SEVERITIES
from workflows.monitoring.views import Trend

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
RULE_WORDS: dict[str, Text] = {"target": t("off its target"), "pro_rata": t("behind the pro-rata plan"),
                               "falling": t("falling periods in a row"), "range": t("outside its range"),
                               "outlier": t("unusual against its history"), "missing": t("not reported")}
# d3-format locales (Vega-Lite's config.locale): Vietnamese writes 1.234,5.
NUMBER_LOCALES = {"vi": {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["", " ₫"]},
                  "en": {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["", " VND"]}}
COLOURS = {"value": "#1f5f99", "target": "#6b6b6b", "breach": "#b3261e"}


def rule_word(rule: str) -> Text | str:
    """A rule's name in words."""
    return RULE_WORDS.get(rule, rule)


def trend_rows(trend: Trend, translate: Callable[[Any], str] = str, language: str = "vi") -> list[dict[str, Any]]:
    """The chart's data: one row per period (also what the table under the chart and a PDF show)."""
    rows = []
    for point in trend.points:
        rows.append({
            "period": point.period.key,
            "label": translate(point.period.label()),
            "value": point.value,
            "target": point.target,
            "breach": bool(point.breaches),
            "rules": ", ".join(translate(rule_word(rule)) for rule, _ in point.breaches),
            "severity": ", ".join(SEVERITIES[s][1 if language == "en" else 0] if s in SEVERITIES else s
                                  for _, s in point.breaches),
            "cases": ", ".join(point.cases),
        })
    return rows


def trend_spec(trend: Trend, translate: Callable[[Any], str] = str, language: str = "vi",
               width: int | str = "container", height: int = 280) -> dict[str, Any]:
    """A Vega-Lite spec of the indicator's values by period, its target line, the breach points and the
    cases they raised (codes in the tooltips), titled in the reader's language."""
    indicator = trend.indicator
    name = Named(indicator.name, indicator.name_en).in_language(language)
    unit_name = trend.unit.label(language)
    measure = (indicator.measure_unit_en if language == "en" else indicator.measure_unit) or ""
    rows = trend_rows(trend, translate, language)
    decimals = max(0, min(int(indicator.decimals or 0), 6))
    number = f",.{decimals}f"
    words = {key: translate(text) for key, text in {
        "period": t("Reporting period"), "value": t("Value"), "target": t("Target"), "breach": t("Breach"),
        "rules": t("Rules broken"), "severity": t("Severity"), "cases": t("Cases raised")}.items()}
    value_title = f"{words['value']} ({measure})" if measure else words["value"]
    order = [r["label"] for r in rows]
    x = {"field": "label", "type": "ordinal", "sort": order, "title": words["period"],
         "axis": {"labelAngle": -45, "labelOverlap": True}}
    tooltip = [{"field": "label", "type": "nominal", "title": words["period"]},
               {"field": "value", "type": "quantitative", "title": words["value"], "format": number},
               {"field": "target", "type": "quantitative", "title": words["target"], "format": number}]
    breach_tooltip = [*tooltip, {"field": "rules", "type": "nominal", "title": words["rules"]},
                      {"field": "severity", "type": "nominal", "title": words["severity"]},
                      {"field": "cases", "type": "nominal", "title": words["cases"]}]
    layers: list[dict[str, Any]] = [
        {"mark": {"type": "line", "strokeDash": [6, 4], "color": COLOURS["target"], "interpolate": "step-after"},
         "transform": [{"filter": "isValid(datum.target)"}],
         "encoding": {"x": x, "y": {"field": "target", "type": "quantitative"}},
         "name": "target"},
        {"mark": {"type": "line", "color": COLOURS["value"]},
         "transform": [{"filter": "isValid(datum.value)"}],
         "encoding": {"x": x, "y": {"field": "value", "type": "quantitative", "title": value_title,
                                    "axis": {"format": number}}},
         "name": "values"},
        {"mark": {"type": "point", "filled": True, "size": 40, "color": COLOURS["value"], "opacity": 1},
         "transform": [{"filter": "isValid(datum.value)"}],
         "encoding": {"x": x, "y": {"field": "value", "type": "quantitative"}, "tooltip": tooltip},
         "name": "points"},
        {"mark": {"type": "point", "shape": "diamond", "filled": True, "size": 160, "color": COLOURS["breach"]},
         "transform": [{"filter": "datum.breach && isValid(datum.value)"}],
         "encoding": {"x": x, "y": {"field": "value", "type": "quantitative"}, "tooltip": breach_tooltip},
         "name": "breaches"},
        {"mark": {"type": "text", "dy": 18, "align": "right", "fontSize": 11, "fontWeight": "bold",
                  "color": COLOURS["breach"]},
         "transform": [{"filter": "datum.breach && isValid(datum.value) && datum.cases != ''"}],
         "encoding": {"x": x, "y": {"field": "value", "type": "quantitative"}, "text": {"field": "cases"}},
         "name": "case_codes"},
    ]
    return {
        "$schema": SCHEMA,
        "description": translate(t("%(indicator)s in %(unit)s by period, with its target and the breaches found",
                                   indicator=name, unit=unit_name)),
        "title": {"text": name, "subtitle": unit_name, "anchor": "start"},
        "width": width,
        "height": height,
        "autosize": {"type": "fit-x", "contains": "padding"} if width == "container" else {"type": "pad"},
        "data": {"values": rows},
        "layer": layers,
        "config": {"locale": {"number": NUMBER_LOCALES.get(language, NUMBER_LOCALES["vi"])},
                   "font": "Liberation Sans, Arial, sans-serif", "view": {"stroke": None}},
        "usermeta": {"indicator": indicator.code, "unit": trend.unit.code, "language": language,
                     "legend": {"value": words["value"], "target": words["target"], "breach": words["breach"]}},
    }
