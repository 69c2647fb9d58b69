"""What one camera is and how it is watched: the frozen settings the pipeline reads.

Coordinates are normalised (x and y in 0..1 of the image), so a region drawn on a
snapshot of any size fits the analysed frame of any size.  Every ``from_dict``
checks its input and refuses bad values with a ``ValueError`` naming the field, so
the registry (workflows/cameras) can show the message next to the field.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

Point = tuple[float, float]  # normalised image coordinates, x and y in 0..1
READ_MODES = ("stream", "keyframes", "snapshot")


def _points(value, what: str, minimum: int = 3) -> tuple[Point, ...]:
    """A polygon from a list of [x, y] pairs: at least ``minimum`` points inside 0..1."""
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{what}: expected a list of [x, y] points, got {type(value).__name__}")
    if len(value) < minimum:
        raise ValueError(f"{what}: needs at least {minimum} points, got {len(value)}")
    points = []
    for index, point in enumerate(value):
        if not isinstance(point, (list, tuple)) or len(point) != 2:
            raise ValueError(f"{what}: point {index + 1} is not an [x, y] pair")
        x, y = (_number(c, f"{what}: point {index + 1}") for c in point)
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise ValueError(f"{what}: point {index + 1} ({x}, {y}) is outside 0..1")
        points.append((x, y))
    return tuple(points)


def points_to_list(points: tuple[Point, ...] | None) -> list[list[float]] | None:
    """A polygon as JSON-ready lists (None stays None)."""
    return None if points is None else [list(p) for p in points]


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{what}: expected a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{what}: expected a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Lane:
    name: str
    polygon: tuple[Point, ...]  # at least 3 points
    direction: tuple[float, float]  # unit vector of the traffic's direction (x right, y down)

    @classmethod
    def from_dict(cls, data: dict) -> Lane:
        if not isinstance(data, dict):
            raise ValueError(f"lane: expected an object, got {type(data).__name__}")
        unknown = sorted(set(data) - {"name", "polygon", "direction"})
        if unknown:
            raise ValueError(f"lane: unknown keys {', '.join(unknown)}")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ValueError("lane: a name is required")
        name = name.strip()
        polygon = _points(data.get("polygon"), f"lane {name}: polygon")
        direction = data.get("direction")
        if not isinstance(direction, (list, tuple)) or len(direction) != 2:
            raise ValueError(f"lane {name}: direction must be an [x, y] vector")
        dx, dy = (_number(c, f"lane {name}: direction") for c in direction)
        length = math.hypot(dx, dy)
        if length < 1e-6:
            raise ValueError(f"lane {name}: direction must not be zero")
        return cls(name=name, polygon=polygon, direction=(dx / length, dy / length))

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "polygon": points_to_list(self.polygon),
            "direction": list(self.direction),
        }


@dataclass(frozen=True)
class DetectionSettings:
    stopped_enabled: bool = True
    stopped_after_s: float = 30.0  # a vehicle still in a lane longer than this is "stopped"
    congestion_enabled: bool = True
    congestion_window_s: float = 60.0
    congestion_occupancy_on: float = 0.55  # lane occupancy share to raise (with slow motion)
    congestion_occupancy_off: float = 0.35  # hysteresis: clears below this
    # mean speed along the lanes, in lane lengths per second measured on the road (perspective
    # corrected): 0.03 is 2.1 m/s (7.6 km/h) on a lane seen over 70 m; below this, with the
    # occupancy above, traffic is jammed; dense traffic at 15 km/h and more is not
    congestion_speed_on: float = 0.03
    faults_enabled: bool = True
    no_frames_after_s: float = 30.0
    frozen_after_s: float = 60.0
    covered_after_s: float = 30.0
    defocus_after_s: float = 60.0
    moved_after_s: float = 30.0
    cooldown_s: float = 300.0  # the same kind is not raised again this soon after it cleared
    clip_before_s: float = 5.0
    clip_after_s: float = 5.0
    min_confidence: float = 0.5
    detector_model: str | None = None  # path of an operator-supplied ONNX model; None = off

    def __post_init__(self):
        _check_settings(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> DetectionSettings:
        """Settings from stored JSON; missing keys take their defaults, unknown keys are refused."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise ValueError(f"settings: expected an object, got {type(data).__name__}")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"settings: unknown keys {', '.join(unknown)}")
        values = {}
        for name, value in data.items():
            default = known[name].default
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"settings: {name} must be true or false, got {value!r}")
            elif name == "detector_model":
                if value is not None and (not isinstance(value, str) or not value.strip()):
                    raise ValueError(f"settings: {name} must be a file path or empty")
                value = value.strip() if value else None
            else:
                value = _number(value, f"settings: {name}")
            values[name] = value
        return cls(**values)

    def to_dict(self) -> dict:
        return asdict(self)


_POSITIVE = (
    "stopped_after_s", "congestion_window_s", "no_frames_after_s", "frozen_after_s",
    "covered_after_s", "defocus_after_s", "moved_after_s",
)
_SHARES = ("congestion_occupancy_on", "congestion_occupancy_off", "min_confidence")
_NON_NEGATIVE = ("congestion_speed_on", "cooldown_s", "clip_before_s", "clip_after_s")


def _check_settings(s: DetectionSettings) -> None:
    for name in _POSITIVE:
        if not getattr(s, name) > 0:
            raise ValueError(f"settings: {name} must be more than 0 seconds, got {getattr(s, name)}")
    for name in _SHARES:
        if not 0.0 <= getattr(s, name) <= 1.0:
            raise ValueError(f"settings: {name} must be between 0 and 1, got {getattr(s, name)}")
    for name in _NON_NEGATIVE:
        if not getattr(s, name) >= 0:
            raise ValueError(f"settings: {name} must not be negative, got {getattr(s, name)}")
    if s.congestion_occupancy_off > s.congestion_occupancy_on:
        raise ValueError(
            "settings: congestion_occupancy_off must not be above congestion_occupancy_on "
            f"({s.congestion_occupancy_off} > {s.congestion_occupancy_on})"
        )
    if s.clip_before_s + s.clip_after_s > 60:
        raise ValueError("settings: a clip is at most 60 seconds (clip_before_s + clip_after_s)")


@dataclass(frozen=True)
class CameraConfig:
    code: str
    url: str  # rtsp://, http(s)://… (stream or .jpg snapshot), file path / file://
    read_mode: str = "stream"  # one of READ_MODES
    analysis_fps: float = 2.0  # stream mode: frames analysed per second
    snapshot_interval_s: float = 2.0  # snapshot mode
    roi: tuple[Point, ...] | None = None  # None = whole frame
    lanes: tuple[Lane, ...] = ()  # none = the ROI is one lane with no direction
    settings: DetectionSettings = field(default_factory=DetectionSettings)
    reference: bytes | None = None  # JPEG of the camera's normal view, for "moved camera"

    def __post_init__(self):
        if not isinstance(self.code, str) or not self.code.strip():
            raise ValueError("camera: a code is required")
        if not isinstance(self.url, str) or not self.url.strip():
            raise ValueError(f"camera {self.code}: a stream URL is required")
        if self.read_mode not in READ_MODES:
            raise ValueError(
                f"camera {self.code}: read_mode must be one of {', '.join(READ_MODES)}, got {self.read_mode!r}"
            )
        if not 0 < self.analysis_fps <= 25:
            raise ValueError(f"camera {self.code}: analysis_fps must be in (0, 25], got {self.analysis_fps}")
        if not 0 < self.snapshot_interval_s <= 3600:
            raise ValueError(
                f"camera {self.code}: snapshot_interval_s must be in (0, 3600], got {self.snapshot_interval_s}"
            )
        names = [lane.name for lane in self.lanes]
        if len(set(names)) != len(names):
            raise ValueError(f"camera {self.code}: lane names must differ")

    @classmethod
    def from_dict(cls, data: dict) -> CameraConfig:
        if not isinstance(data, dict):
            raise ValueError(f"camera: expected an object, got {type(data).__name__}")
        allowed = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"camera: unknown keys {', '.join(unknown)}")
        values = dict(data)
        for name in ("analysis_fps", "snapshot_interval_s"):
            if name in values:
                values[name] = _number(values[name], f"camera: {name}")
        roi = values.get("roi")
        values["roi"] = None if roi is None else _points(roi, "camera: roi")
        lanes = values.get("lanes") or ()
        if not isinstance(lanes, (list, tuple)):
            raise ValueError("camera: lanes must be a list")
        values["lanes"] = tuple(lane if isinstance(lane, Lane) else Lane.from_dict(lane) for lane in lanes)
        settings = values.get("settings")
        if not isinstance(settings, DetectionSettings):
            values["settings"] = DetectionSettings.from_dict(settings)
        reference = values.get("reference")
        if reference is not None and not isinstance(reference, (bytes, bytearray)):
            raise ValueError("camera: reference must be JPEG bytes")
        return cls(**values)

    def to_dict(self) -> dict:
        """JSON-ready (the reference image is left out: it is bytes, stored apart)."""
        return {
            "code": self.code,
            "url": self.url,
            "read_mode": self.read_mode,
            "analysis_fps": self.analysis_fps,
            "snapshot_interval_s": self.snapshot_interval_s,
            "roi": points_to_list(self.roi),
            "lanes": [lane.to_dict() for lane in self.lanes],
            "settings": self.settings.to_dict(),
        }
