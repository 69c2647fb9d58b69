"""Regions at the analysis size: the ROI and lane masks drawn as normalised polygons.

A polygon drawn on a snapshot of any size is stored normalised (0..1); here it becomes
a uint8 mask (0/255) at the small size the pipeline analyses, plus, for a lane, the
position of each of its pixels along the traffic's direction (for speed).
"""

from __future__ import annotations

import math

import cv2
import numpy

from vision.config import CameraConfig, Lane, Point
from vision.detectors import LaneView

WHOLE = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))


def analysis_size(width: int, height: int, target_width: int = 160) -> tuple[int, int]:
    """The small size (width, height) to analyse a frame at, keeping its aspect ratio."""
    if width <= 0 or height <= 0:
        raise ValueError(f"frame size must be positive, got {width}x{height}")
    w = min(target_width, width)
    h = max(8, round(height * w / width))
    return w, h


def polygon_mask(polygon: tuple[Point, ...] | None, size: tuple[int, int]) -> numpy.ndarray:
    """A uint8 mask (255 inside) of a normalised polygon at ``size`` = (width, height)."""
    width, height = size
    mask = numpy.zeros((height, width), numpy.uint8)
    points = numpy.array([(x * width, y * height) for x, y in (polygon or WHOLE)], numpy.float32)
    # fillPoly takes fixed-point integers: 4 fractional bits keep a thin lane's edges where drawn
    cv2.fillPoly(mask, [numpy.round(points * 16).astype(numpy.int32)], 255, lineType=cv2.LINE_8, shift=4)
    return mask


def lane_views(config: CameraConfig, size: tuple[int, int]) -> tuple[numpy.ndarray, list[LaneView]]:
    """The ROI mask and each lane's view (lane ∩ ROI). With no lane drawn the ROI is one lane named ""."""
    roi = polygon_mask(config.roi, size)
    lanes = config.lanes or (Lane(name="", polygon=config.roi or WHOLE, direction=(0.0, 0.0)),)
    views = []
    for lane in lanes:
        mask = cv2.bitwise_and(polygon_mask(lane.polygon, size), roi)
        area = int(cv2.countNonZero(mask))
        if area == 0:
            continue  # a lane drawn outside the ROI (or too thin to cover a pixel) sees nothing
        views.append(LaneView(lane=lane, mask=mask, area=area, length_px=lane_length(mask, lane.direction)))
    return roi, views


def along(mask: numpy.ndarray, direction: tuple[float, float]) -> numpy.ndarray:
    """Each mask pixel's position along ``direction`` (analysis pixels), in mask.nonzero() order."""
    ys, xs = numpy.nonzero(mask)
    dx, dy = direction
    if math.hypot(dx, dy) < 1e-6:  # no direction: along the lane's longer side
        wide = xs.size == 0 or numpy.ptp(xs) >= numpy.ptp(ys)
        dx, dy = (1.0, 0.0) if wide else (0.0, 1.0)
    return xs * dx + ys * dy


def lane_length(mask: numpy.ndarray, direction: tuple[float, float]) -> float:
    """The lane's extent along its direction, in analysis pixels (at least 1)."""
    position = along(mask, direction)
    return max(1.0, float(numpy.ptp(position))) if position.size else 1.0


def metric_along(mask: numpy.ndarray, direction: tuple[float, float], min_width_px: float = 3.0) -> numpy.ndarray:
    """Each mask pixel's distance along the lane as a share of the lane's length on the road (0..1).

    A camera sees a lane in perspective: its far end is narrow and a metre there spans few
    pixels.  For a flat road and a lane of constant width, one metre along the lane spans
    pixels in proportion to the lane's image width squared, so the road distance is the sum of
    1 / width² along the lane.  Widths below ``min_width_px`` are taken as that (the far tail
    is too small to measure anything in).
    """
    position = along(mask, direction)
    if position.size == 0:
        return position.astype(numpy.float32)
    low = float(position.min())
    band = numpy.floor(position - low).astype(numpy.int64)
    widths = numpy.maximum(numpy.bincount(band).astype(numpy.float64), min_width_px)
    step = 1.0 / (widths * widths)
    cumulative = numpy.concatenate(([0.0], numpy.cumsum(step)))
    fraction = position - low - band
    metric = cumulative[band] + fraction * step[band]
    return (metric / max(cumulative[-1], 1e-12)).astype(numpy.float32)
