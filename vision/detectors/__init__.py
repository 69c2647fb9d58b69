"""The interface every detector follows, and the per-frame work they share.

The pipeline (vision/pipeline.py) computes a ``FrameContext`` once per analysed frame
(the grey downscaled image, the ROI and lane masks, the two background models'
foregrounds, the frame-to-frame motion) and hands it to every detector; a detector
returns ``Observation``s — what it sees now — and the pipeline alone turns them into
raised/updated/cleared incidents with cooldown and evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy

from vision.config import CameraConfig, Lane, Point
from vision.events import Frame


@dataclass
class Observation:
    """One condition as a detector sees it on this frame.

    ``active`` False means the condition (kind, subtype) has ended; a detector may
    also simply stop reporting it, which the pipeline reads the same way.
    ``started_at`` is when the condition began (e.g. when the vehicle stopped),
    not when the detector became sure of it.
    """

    kind: str
    subtype: str | None
    active: bool
    confidence: float
    started_at: datetime
    evidence: dict
    region: tuple[Point, ...] | None = None


@dataclass
class LaneView:
    """A lane at the analysis size: its config, its mask (uint8 0/255) and its pixel count."""

    lane: Lane
    mask: numpy.ndarray = field(repr=False)
    area: int
    length_px: float  # the lane's extent along its direction, in analysis pixels


@dataclass
class FrameContext:
    """The shared per-frame work. Arrays are at the analysis size (``size`` = width, height)."""

    frame: Frame
    config: CameraConfig
    size: tuple[int, int]
    grey: numpy.ndarray = field(repr=False)  # uint8 HxW, downscaled and lightly blurred
    roi_mask: numpy.ndarray = field(repr=False)  # uint8 0/255
    lanes: list[LaneView] = field(default_factory=list)  # at least one: the ROI when none is drawn
    fg_long: numpy.ndarray | None = field(default=None, repr=False)  # bool: differs from the long-term background
    fg_short: numpy.ndarray | None = field(default=None, repr=False)  # bool: differs from the short-term background
    motion: numpy.ndarray | None = field(default=None, repr=False)  # bool: changed since the previous analysed frame
    dt: float = 0.0  # seconds since the previous analysed frame (0 on the first)
    brightness: float = 0.0  # mean grey level in the ROI
    brightness_jump: float = 0.0  # change of the mean grey level since the previous frame
    unstable: bool = False  # the view as a whole changed (lighting jump, shake): background verdicts unreliable
    warm: bool = False  # the background models have seen enough frames to be trusted
    background: numpy.ndarray | None = field(default=None, repr=False)  # float32: the long-term model
    shift: float = 0.0  # the camera's shake compensated on this frame, analysis pixels
    gain: float = 1.0  # the lighting change compensated (current / long-term model)
    noise: float = 0.0  # the image noise (grey levels, robust sigma)
    heal: Callable[[numpy.ndarray], None] | None = field(default=None, repr=False)  # learn a region (a ghost) now
    queued_lanes: set[str] = field(default_factory=set)  # lanes standing full now (congestion fills it, first)
    jam: bool = False  # a jam is raised on this camera now: whatever stands in queued_lanes is the jam's

    def normalise_box(self, x: int, y: int, w: int, h: int) -> tuple[Point, ...]:
        """An analysis-pixel box as a normalised polygon (for Incident.region)."""
        width, height = self.size
        x0, y0 = max(0.0, x / width), max(0.0, y / height)
        x1, y1 = min(1.0, (x + w) / width), min(1.0, (y + h) / height)
        return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


class Detector(Protocol):
    kind: str

    def update(self, frame: Frame, ctx: FrameContext) -> list[Observation]: ...
