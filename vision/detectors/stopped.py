"""Stopped vehicle: something came into a lane and has stood still there too long.

Per pixel the detector keeps how long it has been *static*: different from the
long-term background (something is there that the road does not have) but the same as
the short-term one (it has not changed for a few seconds).  A pixel back to the road
forgets quickly; a pixel passed over by moving traffic keeps its time and loses it
slowly, so a car driving past in front of a stopped one does not reset it.

Static pixels are grouped into blobs, and a blob is a stopped vehicle only when it
looks like one: vehicle-sized and compact, with edges of its own that the road has not
(a lighting change or a "ghost" of a car that left has none), in a lane that is not
itself full (a car standing in a jam is the jam: see congestion).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import cv2
import numpy

from vision.config import CameraConfig
from vision.detectors import FrameContext, Observation
from vision.events import Frame
from vision.geometry import along

STATIC_MIN_S = 3.0  # pixels static this long form blobs (below: passing traffic)
FORGET_RATE = 1.5  # seconds of static time lost per second of being passed over
ROAD_FORGET_RATE = 4.0  # ...and per second of showing the road (or something of the road's shade passing)
MIN_AREA = 0.0012  # a vehicle covers at least this share of the analysed image (a far car: 5x4 pixels)...
MIN_SIDE_PX = 3  # ...and is at least this many analysis pixels across
MIN_AREA_LANE = 0.25  # in a lane with a direction: at least this many lane widths squared (a car: 0.3-1.1)
MAX_AREA = 0.12  # ...and at most this share (more is the view changing, not a vehicle)
MIN_FILL = 0.35  # blob pixels / bounding box: a vehicle is compact, noise and shake edges are not
MIN_EDGE_GAIN = 1.05  # edges in the blob's box: current / background; a real object brings its own
GHOST_EDGE_GAIN = 0.8  # fewer edges than the background has (a smooth bus has that too: see the outline)
GHOST_CONTOUR_GAIN = 0.8  # the blob's outline is the model's, not the image's: the model remembers something gone
KEEP_EDGE_GAIN = 1.1  # a vehicle already seen stopped is kept with fewer edges (light changes over it)
QUEUE_CAP_S = 5.0  # static time kept in a lane standing full
QUEUE_OTHERS = 0.05  # ...with still things other than the candidate over this share of the lane
QUEUE_AHEAD_LANES = 1.5  # something still this close ahead (in lane widths, along its way): it waits behind it
QUEUE_AHEAD_MIN = 0.05  # ...at least this many lane widths squared of it (a far car: a few pixels)
SPECK_STALE_S = 60.0  # static this long and too small for a vehicle: the model is out of date (_renew_specks)
GONE_AFTER_S = 5.0  # a stopped vehicle not seen this long has left
RAISED_GONE_AFTER_S = 15.0  # ...once raised, while traffic moves over its place (it may be behind)


@dataclass
class _Stop:
    since_t: float  # stream time the vehicle stopped (estimated)
    last_seen_t: float
    observation: Observation
    raised_region: tuple | None = None


class StoppedVehicleDetector:
    kind = "stopped_vehicle"

    def __init__(self, config: CameraConfig):
        self.settings = config.settings
        self.reset()

    def reset(self) -> None:
        self.static: numpy.ndarray | None = None  # float32 seconds per pixel
        self.lane_width: numpy.ndarray | None = None  # float32: the lane's width in pixels where it is
        self.ways: dict[str, tuple[numpy.ndarray, numpy.ndarray]] | None = None  # per lane: (position along its
        #   way per pixel, the mask of the lanes going its way)
        self.lanes_mask: numpy.ndarray | None = None  # bool: in some lane
        self.stops: dict[str, _Stop] = {}

    def update(self, frame: Frame, ctx: FrameContext) -> list[Observation]:
        if self.static is None or self.static.shape != ctx.grey.shape:
            self.static = numpy.zeros(ctx.grey.shape, numpy.float32)
        if not ctx.warm or ctx.fg_long is None:
            return []
        if not ctx.unstable:  # a lighting jump or a shake says nothing about what stands still
            self._accumulate(ctx)
        seen = self._candidates(ctx, frame)
        out = []
        after = self.settings.stopped_after_s
        for name, (still_s, observation) in seen.items():
            stop = self.stops.get(name)
            if stop is None:
                stop = self.stops[name] = _Stop(since_t=frame.t - still_s, last_seen_t=frame.t, observation=observation)
            stop.last_seen_t = frame.t
            stop.observation = observation
            observation.started_at = frame.at - timedelta(seconds=frame.t - stop.since_t)
            observation.evidence["still_seconds"] = round(frame.t - stop.since_t, 1)
            observation.active = frame.t - stop.since_t >= after
            if observation.active and stop.raised_region is None:
                stop.raised_region = observation.region  # where it stood when it became a stopped vehicle
            if observation.active:
                out.append(observation)
        for name, stop in list(self.stops.items()):
            if name in seen:
                continue
            gone_after = GONE_AFTER_S
            if stop.raised_region is not None:
                place = _place(ctx, stop.raised_region)
                if place == "there":
                    # raised, and its place still differs from the road and stands: traffic squeezing past it
                    # or queueing behind it changes the blob, not the fact
                    stop.last_seen_t = frame.t
                elif place == "busy":
                    gone_after = RAISED_GONE_AFTER_S  # traffic over its place hides whether it is still there
            if frame.t - stop.last_seen_t > gone_after or frame.t < stop.last_seen_t:
                del self.stops[name]
            elif frame.t - stop.since_t >= after:
                out.append(stop.observation)  # briefly hidden (a bus passing in front): still there
        return out

    def _renew_specks(self, ctx: FrameContext, blobs: numpy.ndarray) -> None:
        """Specks, one-pixel lines and blobs too small for a vehicle where they are, static for SPECK_STALE_S
        (``blobs``: what may be a vehicle), are where the long-term model is out of date (the edges of a queue
        that stood through a change of light): learn the view there, where nothing passes now and no stopped
        vehicle is followed, before they join something passing into a vehicle-sized blob."""
        stale = (self.static >= SPECK_STALE_S) & ~blobs.astype(bool) & ~ctx.fg_short
        if not stale.any():
            return
        width, height = ctx.size
        for stop in self.stops.values():  # a vehicle followed, partly hidden, is not a speck
            for region in (stop.observation.region, stop.raised_region):
                if region is not None:
                    xs, ys = [p[0] * width for p in region], [p[1] * height for p in region]
                    stale[max(0, int(min(ys)) - 2):int(numpy.ceil(max(ys))) + 2,
                          max(0, int(min(xs)) - 2):int(numpy.ceil(max(xs))) + 2] = False
        if stale.any():
            ctx.heal(stale.astype(numpy.uint8))
            self.static[stale] = 0.0

    def _accumulate(self, ctx: FrameContext) -> None:
        static = self.static
        still = ctx.fg_long & ~ctx.fg_short
        passed = ctx.fg_long & ctx.fg_short
        static[still] += ctx.dt
        static[passed] -= FORGET_RATE * ctx.dt
        static[~ctx.fg_long] -= ROAD_FORGET_RATE * ctx.dt
        numpy.maximum(static, 0.0, out=static)

    def _candidates(self, ctx: FrameContext, frame: Frame) -> dict[str, tuple[float, Observation]]:
        """Per lane, the vehicle-like static blob that has stood longest: (still seconds, observation)."""
        mask = (self.static >= STATIC_MIN_S).astype(numpy.uint8)
        if not mask.any():
            return {}
        # an opening by a 2x2 square (OpenCV's even kernels shift unless erosion and dilation anchor opposite):
        # single pixels and one-pixel lines (noise, shake edges) go, a far car of 3x2 pixels stays
        square = numpy.ones((2, 2), numpy.uint8)
        mask = cv2.dilate(cv2.erode(mask, square, anchor=(0, 0)), square, anchor=(1, 1))
        count, labels, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
        width, height = ctx.size
        image_area = width * height
        if self.lane_width is None or self.lane_width.shape != ctx.grey.shape:
            self.lane_width = _lane_widths(ctx)
            self.ways = _ways(ctx)
            self.lanes_mask = numpy.zeros(ctx.grey.shape, bool)
            for view in ctx.lanes:
                self.lanes_mask |= view.mask > 0
        best: dict[str, tuple[float, Observation]] = {}
        specks = numpy.zeros(mask.shape, bool)  # blobs too small for a vehicle where they are
        for index in range(1, count):
            x, y, w, h, area = (int(v) for v in stats[index])
            # how big a vehicle is there: the lane's width where the blob is (far is small)
            across = float(self.lane_width[min(height - 1, int(centroids[index][1])),
                                           min(width - 1, int(centroids[index][0]))])
            if across > 0:
                too_small = area < max(4.0, MIN_AREA_LANE * across * across) or max(w, h) < max(2.0, 0.3 * across)
            else:  # no lane with a direction here: the picture's share
                too_small = area < MIN_AREA * image_area or min(w, h) < MIN_SIDE_PX
            if too_small:
                specks[y:y + h, x:x + w] |= labels[y:y + h, x:x + w] == index
                continue
            if area > MAX_AREA * image_area:
                continue
            if area / (w * h) < MIN_FILL or not 0.2 <= w / h <= 5.0:
                continue
            blob = labels[y:y + h, x:x + w] == index
            if int(numpy.count_nonzero(self.lanes_mask[y:y + h, x:x + w][blob])) < 0.5 * area:
                continue  # mostly outside every lane: the roadside
            # its lane is where it stands on the road: the bottom of the blob (a tall bus's roof reaches into the
            # lane beyond it in the picture)
            foot = blob.copy()
            foot[:h - max(1, h // 3)] = False
            lane = max(ctx.lanes, key=lambda view: (int(numpy.count_nonzero(view.mask[y:y + h, x:x + w][foot])),
                                                    int(numpy.count_nonzero(view.mask[y:y + h, x:x + w][blob]))))
            inside = int(numpy.count_nonzero(lane.mask[y:y + h, x:x + w][blob]))
            # a lane standing full with other still things than this one is a queue: nobody in it is "the"
            # stopped vehicle, and their time counts only after it (a car alone with its lights on at night
            # fills its lane with light, but stands alone)
            others_still = int(numpy.count_nonzero(mask[lane.mask > 0])) - inside
            queued = lane.lane.name in ctx.queued_lanes and (ctx.jam or others_still >= QUEUE_OTHERS * lane.area)
            if queued:
                numpy.minimum(self.static, QUEUE_CAP_S, out=self.static, where=lane.mask > 0)
                continue
            if across > 0 and self._waits_behind(lane.lane.name, mask, labels == index, across):
                # something stands just ahead of it on its way (a broken-down car, the tail of a queue): it
                # waits, and its own time counts only once nothing stands ahead
                window = self.static[y:y + h, x:x + w]
                numpy.minimum(window, QUEUE_CAP_S, out=window, where=blob)
                continue
            if numpy.count_nonzero(ctx.fg_short[y:y + h, x:x + w][blob]) > 0.3 * area:
                continue  # something passes in front of it now: judge it when it shows again
            if numpy.count_nonzero(ctx.fg_long[y:y + h, x:x + w][blob]) < 0.5 * area:
                continue  # the road shows again: it has left (its static time is still fading)
            still_s = float(numpy.median(self.static[y:y + h, x:x + w][blob]))
            if name_still(best, lane.lane.name) >= still_s:
                continue
            edge_gain = _edge_gain(ctx, x, y, w, h)
            contour = _contour_gain(ctx, blob, x, y, w, h)
            if (edge_gain < GHOST_EDGE_GAIN and contour < GHOST_CONTOUR_GAIN
                    and still_s >= self.settings.stopped_after_s / 2):
                # fewer edges than the model has, and the blob's outline is an outline in the model, not in the
                # image: a ghost of something that left (or was there when the model started): learn the road
                region = numpy.zeros(ctx.grey.shape, numpy.uint8)
                region[y:y + h, x:x + w][blob] = 1
                if ctx.heal is not None:
                    ctx.heal(region)
                self.static[region > 0] = 0.0
                continue
            if edge_gain < (KEEP_EDGE_GAIN if lane.lane.name in self.stops else MIN_EDGE_GAIN):
                continue  # no edges of its own: a change of light, a shadow
            others = int(numpy.count_nonzero(ctx.fg_long[lane.mask > 0])) - inside
            density = max(0, others) / lane.area
            if density >= self.settings.congestion_occupancy_off:
                continue  # the lane is full and standing: a jam (or a queue), not one vehicle
            fill = area / (w * h)
            confidence = 0.55 + 0.25 * min(1.0, (edge_gain - MIN_EDGE_GAIN) / 1.5) + 0.2 * min(1.0, fill / 0.8)
            observation = Observation(
                kind=self.kind, subtype=lane.lane.name or None, active=False, confidence=min(1.0, confidence),
                started_at=frame.at, region=ctx.normalise_box(x, y, w, h),
                evidence={
                    "still_seconds": round(still_s, 1), "area_share": round(area / lane.area, 3),
                    "size_in_lane": round(area / across / across, 2) if across > 0 else -1,
                    "edge_gain": round(edge_gain, 2), "contour_gain": round(contour, 2),
                    "lane_density": round(density, 3),
                    "lane": lane.lane.name or "-",
                },
            )
            best[lane.lane.name] = (still_s, observation)
        if not ctx.unstable and ctx.heal is not None:
            self._renew_specks(ctx, (mask > 0) & ~specks)
        return best

    def _waits_behind(self, name: str, still: numpy.ndarray, blob: numpy.ndarray, across: float) -> bool:
        """Whether still things other than the blob stand within QUEUE_AHEAD_LANES lane widths ahead of its
        front, in the lanes going its way."""
        if not self.ways or name not in self.ways:
            return False
        position, way = self.ways[name]
        front = float(position[blob].max())
        ahead = (still > 0) & way & ~blob & (position > front) & (position <= front + QUEUE_AHEAD_LANES * across)
        return int(numpy.count_nonzero(ahead)) >= max(4.0, QUEUE_AHEAD_MIN * across * across)


def _ways(ctx: FrameContext) -> dict[str, tuple[numpy.ndarray, numpy.ndarray]]:
    """Per lane with a direction: each pixel's position along that direction, and the lanes going the same way."""
    height, width = ctx.grey.shape
    ys, xs = numpy.mgrid[0:height, 0:width].astype(numpy.float32)
    directed = []
    for view in ctx.lanes:
        dx, dy = view.lane.direction
        norm = float(numpy.hypot(dx, dy))
        if norm > 1e-6:
            directed.append((view, dx / norm, dy / norm))
    ways = {}
    for view, dx, dy in directed:
        way = numpy.zeros((height, width), bool)
        for other, ox, oy in directed:
            if dx * ox + dy * oy > 0.9:
                way |= other.mask > 0
        ways[view.lane.name] = (xs * dx + ys * dy, way)
    return ways


def _place(ctx: FrameContext, region) -> str:
    """What a normalised box shows now: "there" (differs from the road, standing), "busy" (traffic moving
    over it) or "road"."""
    width, height = ctx.size
    xs, ys = [p[0] * width for p in region], [p[1] * height for p in region]
    window = (slice(max(0, int(min(ys))), int(numpy.ceil(max(ys)))), slice(max(0, int(min(xs))), int(numpy.ceil(max(xs)))))
    present, moving = ctx.fg_long[window], ctx.fg_short[window]
    if present.size == 0 or float(present.mean()) < 0.5:
        return "road"
    return "busy" if float(moving.mean()) >= 0.5 else "there"


def _lane_widths(ctx: FrameContext) -> numpy.ndarray:
    """Per pixel, the width (analysis pixels) of its lane at that point across the traffic's direction (0: none)."""
    widths = numpy.zeros(ctx.grey.shape, numpy.float32)
    for view in ctx.lanes:
        dx, dy = view.lane.direction
        if dx == 0 and dy == 0:
            continue  # a lane without a direction has no "across"
        position = along(view.mask, view.lane.direction)
        band = numpy.floor(position - position.min()).astype(numpy.int64)
        across = numpy.bincount(band).astype(numpy.float32)  # pixels per 1-pixel band along the lane
        ys, xs = numpy.nonzero(view.mask)
        widths[ys, xs] = numpy.maximum(widths[ys, xs], across[band])
    return widths


def name_still(best: dict, name: str) -> float:
    return best[name][0] if name in best else -1.0


def _edge_gain(ctx: FrameContext, x: int, y: int, w: int, h: int) -> float:
    """Edge energy of the blob's box (with a margin) now, over the same in the long-term background.

    The current image's edges are divided by the lighting gain, so a brighter view has no more edges.
    """
    height, width = ctx.grey.shape
    x0, y0, x1, y1 = max(0, x - 2), max(0, y - 2), min(width, x + w + 2), min(height, y + h + 2)
    current = ctx.grey[y0:y1, x0:x1].astype(numpy.float32)
    background = ctx.background[y0:y1, x0:x1]
    return (_edges(current) / max(ctx.gain, 0.2) + 1.0) / (_edges(background) + 1.0)


def _contour_gain(ctx: FrameContext, blob: numpy.ndarray, x: int, y: int, w: int, h: int) -> float:
    """Edge strength along the blob's outline now, over the same in the long-term background.

    Something standing there has its outline in the image (a bus on the road: above 1 even when the bus is
    smooth inside); a ghost has its outline in the model and none in the image (below 1).
    """
    height, width = ctx.grey.shape
    x0, y0, x1, y1 = max(0, x - 2), max(0, y - 2), min(width, x + w + 2), min(height, y + h + 2)
    inside = numpy.zeros((y1 - y0, x1 - x0), numpy.uint8)
    inside[y - y0:y - y0 + h, x - x0:x - x0 + w][blob] = 1
    square = numpy.ones((3, 3), numpy.uint8)
    ring = (cv2.dilate(inside, square) > 0) & (cv2.erode(inside, square) == 0)
    if not ring.any():
        return 1.0
    current = _gradient(ctx.grey[y0:y1, x0:x1].astype(numpy.float32)) / max(ctx.gain, 0.2)
    background = _gradient(ctx.background[y0:y1, x0:x1])
    return (float(current[ring].mean()) + 1.0) / (float(background[ring].mean()) + 1.0)


def _gradient(patch: numpy.ndarray) -> numpy.ndarray:
    return (numpy.abs(cv2.Sobel(patch, cv2.CV_32F, 1, 0, ksize=3))
            + numpy.abs(cv2.Sobel(patch, cv2.CV_32F, 0, 1, ksize=3)))


def _edges(patch: numpy.ndarray) -> float:
    return float(numpy.mean(_gradient(patch)))
