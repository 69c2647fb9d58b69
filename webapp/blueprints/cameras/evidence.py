"""A camera incident in words: its kind, and the detectors' numbers (vision/detectors: the `evidence` dict stored
with the incident) as sentences in the reader's language, shares in per cent, seconds as durations.

A number the detector did not know (stored as -1) is left out; a key this page does not know yet is shown as it
was stored, so nothing the detector said is hidden.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import format_decimal, format_percent
from flask_babel import lazy_gettext as _l

KINDS = {"stopped_vehicle": _l("Stopped vehicle"), "congestion": _l("Congestion"), "camera_fault": _l("Camera fault")}
FAULTS = {"no_frames": _l("no picture"), "frozen": _l("frozen picture"), "covered": _l("covered lens"),
          "defocused": _l("out of focus"), "moved": _l("turned away from its view")}
STATES = {"raised": _l("going on"), "updated": _l("going on"), "cleared": _l("cleared by itself")}
VERDICTS = {"confirmed": _l("confirmed"), "false_alarm": _l("false alarm")}

# key: (sentence with {v}, how the value is written)
WORDS: dict[str, tuple[Any, str]] = {
    "occupancy": (_l("Vehicles cover %(v)s of the lane", v="{v}"), "share"),
    "speed": (_l("Traffic moves %(v)s lane lengths per second", v="{v}"), "number"),
    "lanes": (_l("Jammed lanes: %(v)s", v="{v}"), "text"),
    "lanes_jammed": (_l("Number of jammed lanes: %(v)s", v="{v}"), "integer"),
    "window_s": (_l("Measured over %(v)s", v="{v}"), "seconds"),
    "still_seconds": (_l("Standing still for %(v)s", v="{v}"), "seconds"),
    "area_share": (_l("It covers %(v)s of the lane", v="{v}"), "share"),
    "edge_gain": (_l("Its outline stands out %(v)s times against the empty road", v="{v}"), "number"),
    "contour_gain": (_l("Along its edge the picture is %(v)s times as sharp as the empty road", v="{v}"), "number"),
    "lane_density": (_l("The rest of the lane is %(v)s full", v="{v}"), "share"),
    "lane": (_l("Lane: %(v)s", v="{v}"), "text"),
    "seconds_without_frames": (_l("No picture for %(v)s", v="{v}"), "seconds"),
    "last_frame_at": (_l("Last picture at %(v)s", v="{v}"), "time"),
    "seconds": (_l("Lasting %(v)s", v="{v}"), "seconds"),
    "frame_difference": (_l("Change between pictures: %(v)s (still below %(limit)s)", v="{v}", limit="{still_limit}"),
                         "number"),
    "live_noise": (_l("Usual change of a live picture: %(v)s", v="{v}"), "number"),
    "mean_brightness": (_l("Mean brightness %(v)s of 255", v="{v}"), "number"),
    "contrast": (_l("Contrast %(v)s", v="{v}"), "number"),
    "brightness_range": (_l("Brightness spread %(v)s of 255", v="{v}"), "number"),
    "edge_density": (_l("Edges in the picture: %(v)s", v="{v}"), "share"),
    "usual_edge_density": (_l("Usually: %(v)s", v="{v}"), "share"),
    "sharpness": (_l("Sharpness %(v)s", v="{v}"), "number"),
    "usual_sharpness": (_l("Usual sharpness %(v)s", v="{v}"), "number"),
    "sharpness_ratio": (_l("Sharpness is %(v)s of the usual", v="{v}"), "share"),
    "match": (_l("Match with the reference view: %(v)s", v="{v}"), "share"),
    "usual_match": (_l("Usual match: %(v)s", v="{v}"), "share"),
    "match_ratio": (_l("Match is %(v)s of the usual", v="{v}"), "share"),
    "shift_x": (_l("Picture shifted %(v)s of its width sideways", v="{v}"), "share"),
    "shift_y": (_l("Picture shifted %(v)s of its width up or down", v="{v}"), "share"),
    "reference": (_l("Compared with: %(v)s", v="{v}"), "reference"),
    "changing": (_l("Share of the vehicles' pixels still changing: %(v)s", v="{v}"), "share"),
    "size_in_lane": (_l("Its area: %(v)s times a square as wide as the lane", v="{v}"), "number"),
    "structure": (_l("Detail in the picture: %(v)s", v="{v}"), "number"),
    "model_score": (_l("The detector model's score in the region: %(v)s", v="{v}"), "share"),
    "model_objects": (_l("Objects the detector model found in the region: %(v)s", v="{v}"), "integer"),
    "model": (_l("The detector model could not be used: %(v)s", v="{v}"), "model"),
}
HIDDEN = {"still_limit"}  # said inside another sentence
MODEL_PROBLEMS = {"missing_runtime": _l("onnxruntime is not installed on the vision worker"),
                  "unreadable": _l("the model file cannot be read"),
                  "bad_inputs": _l("the model does not take one picture as its input"),
                  "bad_outputs": _l("the model's outputs are not boxes with scores")}
REFERENCES = {"configured": _l("the reference view stored by an administrator"),
              "learned": _l("the view learned when the camera started")}


def _seconds(value: float) -> str:
    value = float(value)
    if value >= 120:
        minutes, seconds = divmod(round(value), 60)
        return f"{minutes} min {seconds:02d} s" if seconds else f"{minutes} min"
    return f"{format_decimal(round(value, 1))} s"


def _written(value: Any, how: str) -> str | None:
    if how == "text":
        return str(value)
    if how == "reference":
        return str(REFERENCES.get(str(value), value))
    if how == "model":
        return str(MODEL_PROBLEMS.get(str(value), value))
    if how == "time":
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return current_app.jinja_env.filters["local"](moment, "%H:%M:%S %d/%m/%Y")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if value < 0 and how != "share":  # the detector did not know it
        return None
    if how == "share":
        if value < 0 and value == -1:
            return None
        return format_percent(value, format="#,##0.#%")
    if how == "seconds":
        return _seconds(value)
    if how == "integer":
        return format_decimal(int(value))
    return format_decimal(value, format="#,##0.###")


def evidence_lines(evidence: dict) -> list[str]:
    """The detector's numbers as sentences, in the order the page reads best (the known ones first)."""
    lines: list[str] = []
    known = [k for k in WORDS if k in evidence] + sorted(k for k in evidence if k not in WORDS and k not in HIDDEN)
    for key in known:
        value = evidence[key]
        if key not in WORDS:
            lines.append(f"{key}: {value}")
            continue
        sentence, how = WORDS[key]
        written = _written(value, how)
        if written is None:
            continue
        text = str(sentence).replace("{v}", written)
        if "{still_limit}" in text:
            limit = _written(evidence.get("still_limit", ""), "number") or "—"
            text = text.replace("{still_limit}", limit)
        lines.append(text)
    return lines


def kind_words(kind: str, subtype: str | None) -> str:
    """"Camera fault: covered lens", "Stopped vehicle (lane Hướng Hà Nội)", "Congestion"."""
    words = str(KINDS.get(kind, kind))
    if kind == "camera_fault" and subtype:
        return f"{words}: {FAULTS.get(subtype, subtype)}"
    if subtype:
        return f"{words} ({subtype})"
    return words
