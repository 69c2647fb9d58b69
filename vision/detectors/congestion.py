"""Congestion: lanes full of vehicles that hardly move, for a whole window.

Per lane and frame two numbers:

* **occupancy** — the share of the lane that differs from the long-term background
  (vehicles, moving or not);
* **speed** — how far the lane's content moved along the lane's direction since the
  previous frame, in lane lengths (on the road, corrected for perspective) per second:
  the lane is cut into bins along its direction, each bin's mean difference from the
  background makes a profile, and the shift that best matches the previous profile is
  the motion (a cheap 1-D optical flow that follows the traffic, not the pixels' noise).

A third number guards the speed: the share of the vehicles' pixels that changed within the
last seconds (dense traffic that flows changes nearly everywhere; a jam stands).

All are smoothed and combined per carriageway (the lanes going the same way, weighted by
their area); a carriageway is jammed when occupancy ≥ ``congestion_occupancy_on`` and
speed < ``congestion_speed_on`` (and few pixels changing) have held for ``congestion_window_s``.  It clears when
occupancy falls below ``congestion_occupancy_off`` or the traffic moves at 1.5 times the
"on" speed, for about ``CLEAR_HOLD_S`` — hysteresis, so that one jam is one incident.  Dense
traffic that still moves (above the speed) is not a jam.
"""

from __future__ import annotations

import functools
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta

import cv2
import numpy

from vision.config import CameraConfig
from vision.detectors import FrameContext, LaneView, Observation
from vision.events import Frame
from vision.geometry import metric_along

BINS = 32
MAX_SHIFT = 12  # bins per frame
RECENT_S = 5.0  # occupancy, speed and change are taken over the last seconds (speed: their median)
CHANGING_MAX = 0.75  # a jam stands: fewer of its vehicles' pixels change within seconds than in dense flow
GAP_S = 6.0  # the jam's condition may lapse this long (stop-and-go) without restarting its window
CLEAR_HOLD_S = 10.0
MIN_PROFILE_STD = 2.0  # grey levels: a flatter profile has nothing to follow
HALVES = ((0, BINS // 2), (BINS // 2, BINS))  # equal lengths of road: about as many vehicles in each


@dataclass
class _Lane:
    view: LaneView
    index: numpy.ndarray  # flat indices of the lane's pixels
    bins: numpy.ndarray
    counts: numpy.ndarray
    profile: numpy.ndarray | None = None
    occupancy: float | None = None  # smoothed
    speed: float | None = None  # smoothed, lane lengths per second
    changing: float | None = None  # smoothed: share of the vehicles' pixels that changed within seconds
    recent: deque = field(default_factory=deque)  # (t, occupancy, speed or None, changing) of the last seconds


@dataclass
class _Carriageway:
    """Lanes going the same way: a jam is judged on them together (one lane of a road is not a jam)."""

    lanes: list[_Lane]
    region: tuple
    occupancy: float = 0.0
    speed: float | None = None
    changing: float = 0.0
    held_since: float | None = None  # the jam's condition holding since (stream time)
    lapsed_at: float | None = None
    active: bool = False
    flowing_s: float = 0.0  # while active: seconds of free traffic, less half the seconds of jam since

    def measure(self) -> None:
        area = sum(lane.view.area for lane in self.lanes)
        self.occupancy = sum((lane.occupancy or 0.0) * lane.view.area for lane in self.lanes) / max(1, area)
        weighted = [((lane.occupancy or 0.0) * lane.view.area + 1.0, lane.speed)
                    for lane in self.lanes if lane.speed is not None]
        total = sum(weight for weight, _ in weighted)
        self.speed = sum(weight * speed for weight, speed in weighted) / total if weighted else None
        self.changing = sum((lane.changing or 0.0) * lane.view.area for lane in self.lanes) / max(1, area)

    @property
    def name(self) -> str:
        return ",".join(lane.view.lane.name or "-" for lane in self.lanes)


class CongestionDetector:
    kind = "congestion"

    def __init__(self, config: CameraConfig):
        self.settings = config.settings
        self.reset()

    def reset(self) -> None:
        self.lanes: list[_Lane] | None = None
        self.ways: list[_Carriageway] = []
        self.started_t: float | None = None

    def update(self, frame: Frame, ctx: FrameContext) -> list[Observation]:
        if self.lanes is None:
            self.lanes = [self._prepare(view) for view in ctx.lanes]
            self.ways = _carriageways(self.lanes)
        if not ctx.warm or ctx.background is None:
            return []
        if not ctx.unstable:
            for lane in self.lanes:
                self._measure(lane, ctx)
            for way in self.ways:
                way.measure()
                self._decide(way, frame.t, ctx.dt)
        # in a jam (either way: the camera's jam is one incident), or full and standing now: the stopped-vehicle
        # detector stands aside for what stands in a line
        jam = ctx.jam = any(way.active for way in self.ways)
        for way in self.ways:
            if jam or (way.speed is not None and way.occupancy >= self.settings.congestion_occupancy_off
                       and way.speed < 2 * self.settings.congestion_speed_on):
                ctx.queued_lanes.update(lane.view.lane.name for lane in way.lanes)
        active = [way for way in self.ways if way.active]
        if not active:
            self.started_t = None
            return []
        if self.started_t is None:
            self.started_t = min(way.held_since for way in active)
        worst = max(active, key=lambda way: way.occupancy)
        s = self.settings
        confidence = 0.6 + 0.2 * min(1.0, (worst.occupancy - s.congestion_occupancy_on)
                                     / max(0.05, 1.0 - s.congestion_occupancy_on))
        confidence += 0.2 * max(0.0, 1.0 - (worst.speed or 0.0) / max(1e-3, s.congestion_speed_on))
        return [Observation(
            kind=self.kind, subtype=None, active=True, confidence=min(1.0, max(0.0, confidence)),
            started_at=frame.at - timedelta(seconds=frame.t - self.started_t),
            region=worst.region,
            evidence={
                "occupancy": round(worst.occupancy, 3), "speed": round(worst.speed or 0.0, 4),
                "changing": round(worst.changing, 3),
                "lanes": ";".join(way.name for way in active), "window_s": s.congestion_window_s,
            },
        )]

    @staticmethod
    def _prepare(view: LaneView) -> _Lane:
        index = numpy.flatnonzero(view.mask)
        position = metric_along(view.mask, view.lane.direction)  # 0..1 of the lane's length on the road
        bins = numpy.minimum((position * BINS).astype(numpy.int64), BINS - 1)
        counts = numpy.bincount(bins, minlength=BINS).astype(numpy.float32)
        return _Lane(view=view, index=index, bins=bins, counts=numpy.maximum(counts, 1.0))

    def _measure(self, lane: _Lane, ctx: FrameContext) -> None:
        occupancy = float(numpy.count_nonzero(ctx.fg_long.ravel()[lane.index])) / max(1, lane.index.size)
        difference = ctx.grey.ravel()[lane.index].astype(numpy.float32) - ctx.background.ravel()[lane.index]
        profile = numpy.bincount(lane.bins, weights=difference, minlength=BINS) / lane.counts
        speed = None
        if lane.profile is not None and ctx.dt > 0:
            # each half of the road by itself, then their mean: the near half's big vehicles would
            # otherwise outweigh the far half's small ones (a queue standing near, traffic coming far)
            shifts = [shift for half in HALVES if (shift := _best_shift(lane.profile, profile, half)) is not None]
            if not shifts:
                shifts = [shift] if (shift := _best_shift(lane.profile, profile)) is not None else []
            if shifts:
                speed = sum(abs(shift) for shift in shifts) / len(shifts) / BINS / ctx.dt
        present = ctx.fg_long.ravel()[lane.index]
        changing = float(numpy.count_nonzero(present & ctx.fg_short.ravel()[lane.index])) / max(1, int(present.sum()))
        t = ctx.frame.t
        lane.recent.append((t, occupancy, speed, changing))
        while lane.recent and (lane.recent[0][0] < t - RECENT_S or lane.recent[0][0] > t):
            lane.recent.popleft()  # too old (or from before the stream's clock went back)
        moving = float(numpy.count_nonzero(ctx.motion.ravel()[lane.index])) / max(1, lane.index.size)
        if occupancy > 0.2 and moving < 0.01:
            speed = 0.0  # nothing changed at all in a full lane: it stands
        lane.profile = profile
        lane.occupancy = sum(item[1] for item in lane.recent) / len(lane.recent)
        lane.changing = sum(item[3] for item in lane.recent) / len(lane.recent)
        speeds = [item[2] for item in lane.recent if item[2] is not None]
        lane.speed = float(numpy.median(speeds)) if speeds else lane.speed

    def _decide(self, way: _Carriageway, t: float, dt: float) -> None:
        s = self.settings
        if way.speed is None:
            return
        jammed = (way.occupancy >= s.congestion_occupancy_on and way.speed < s.congestion_speed_on
                  and way.changing < CHANGING_MAX)
        if jammed:
            if way.held_since is None:
                way.held_since = t
            way.lapsed_at = None
        elif way.held_since is not None and not way.active:
            if way.lapsed_at is None:
                way.lapsed_at = t
            if t - way.lapsed_at > GAP_S:
                way.held_since = way.lapsed_at = None
        if not way.active:
            if way.held_since is not None and way.lapsed_at is None and t - way.held_since >= s.congestion_window_s:
                way.active = True
                way.flowing_s = 0.0
            return
        flowing = way.occupancy < s.congestion_occupancy_off or way.speed >= 1.5 * s.congestion_speed_on
        way.flowing_s = way.flowing_s + dt if flowing else max(0.0, way.flowing_s - dt / 2)
        if way.flowing_s >= CLEAR_HOLD_S:
            way.active = False
            way.held_since = way.lapsed_at = None


def _carriageways(lanes: list[_Lane]) -> list[_Carriageway]:
    """Lanes grouped by direction (within 60°); lanes without a direction make one group."""
    groups: list[list[_Lane]] = []
    for lane in lanes:
        dx, dy = lane.view.lane.direction
        for group in groups:
            gx, gy = group[0].view.lane.direction
            if (dx * gx + dy * gy) > 0.5 or (dx, dy) == (gx, gy):
                group.append(lane)
                break
        else:
            groups.append([lane])
    ways = []
    for group in groups:
        points = numpy.float32([p for lane in group for p in lane.view.lane.polygon])
        hull = cv2.convexHull(points).reshape(-1, 2)
        ways.append(_Carriageway(lanes=group, region=tuple((float(x), float(y)) for x, y in hull)))
    return ways


def _best_shift(before: numpy.ndarray, after: numpy.ndarray, segment: tuple[int, int] = (0, BINS)) -> float | None:
    """The shift (bins, + along the lane) that best maps ``before[segment]`` into ``after``, or None if unclear.

    Normalised correlation of the segment with ``after`` at every shift up to MAX_SHIFT (the part of
    ``after`` beyond the lane counts as empty), the peak refined to a fraction of a bin.
    """
    lo, hi = segment
    part = before[lo:hi]
    if part.std() < MIN_PROFILE_STD or after.std() < MIN_PROFILE_STD:
        return None
    padded = numpy.zeros(BINS + 2 * MAX_SHIFT)
    padded[MAX_SHIFT:MAX_SHIFT + BINS] = after
    windows, overlap, count = _windows(lo, hi)
    windows_after = padded[windows]  # [k][i] = after[lo + i + k - MAX_SHIFT]: the score of shift k - MAX_SHIFT
    sum_a = overlap @ part
    sum_b = windows_after.sum(axis=1)
    sum_ab = windows_after @ part
    sum_aa = overlap @ (part * part)
    sum_bb = (windows_after * windows_after).sum(axis=1)
    covariance = sum_ab - sum_a * sum_b / count
    variance = (sum_aa - sum_a * sum_a / count) * (sum_bb - sum_b * sum_b / count)
    scores = numpy.where(variance > 1e-9, covariance / numpy.sqrt(numpy.maximum(variance, 1e-18)), -1.0)
    peak = int(numpy.argmax(scores))
    if scores[peak] < 0.5:
        return None
    shift = float(peak - MAX_SHIFT)
    if 0 < peak < scores.size - 1:  # sub-bin: the parabola through the peak and its neighbours
        left, centre, right = scores[peak - 1], scores[peak], scores[peak + 1]
        curve = left - 2 * centre + right
        if curve < 0:
            shift += 0.5 * (left - right) / curve
    return shift


@functools.cache
def _windows(lo: int, hi: int) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """Indices into the padded profile for every shift of bins lo..hi, where they overlap the lane, and how many."""
    windows = numpy.arange(lo, hi)[None, :] + numpy.arange(2 * MAX_SHIFT + 1)[:, None]
    overlap = ((windows >= MAX_SHIFT) & (windows < MAX_SHIFT + BINS)).astype(numpy.float64)
    return windows, overlap, numpy.maximum(overlap.sum(axis=1), 1.0)
