"""Synthetic traffic videos with ground truth, for evaluating the detectors (``ioc vision eval``).

A scene is a street seen from a CCTV pole beside the road: four lanes (two towards the
camera on the left, two away from it on the right, as traffic drives on the right in
Vietnam), lane markings, pavements, rows of shophouses and trees, an OSD clock.  Traffic
is simulated in metres and seconds (car-following with the intelligent driver model, lane
changes around an obstacle, motorbikes weaving, pedestrians), then projected through a
pinhole camera and painted as shaded boxes, far to near.

Everything is deterministic from the seed: the traffic has its own random stream stepped
at a fixed 10 Hz, independent of the frame rate asked for, so the same scenario gives the
same traffic (and the same truths) at 2 fps as at 25 fps.  Frames are rendered one at a
time; a day of video is never held in memory.

Ground truth (``Truth``) marks the moment a detector is expected to be sure:
- stopped vehicle: the moment the vehicle stopped + ``settings.stopped_after_s``; it ends
  when the vehicle moves off;
- congestion: the first moment the lanes of one carriageway (the two going the same way,
  as the detector judges them) have had an occupancy (share of their pixels covered by
  vehicles, 5 s mean) at or above ``congestion_occupancy_on`` with a median speed of their
  vehicles at or below ``JAM_SPEED_MS`` (most of them crawl: a queue whose tail still
  arrives is a queue) for a whole ``congestion_window_s``; it ends when their occupancy
  falls below ``congestion_occupancy_off``; the two carriageways' jams that overlap are one;
- camera faults: the fault's onset + its ``*_after_s``; it ends when the fault ends.
Dense traffic that still flows (``slow_dense``, 15-25 km/h) is neither congestion nor a
stopped vehicle: congestion here means lanes full and crawling.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path

import cv2
import numpy

from vision.config import CameraConfig, DetectionSettings, Lane, Point
from vision.events import Frame

JAM_SPEED_MS = 2.5  # m/s (9 km/h): a median speed at or below this, with the lanes full, is a jam
SIM_DT = 0.1  # s: the traffic simulation's fixed step
ROAD_LENGTH = 260.0  # m of road simulated (the camera sees from ~12 m to the horizon)
ROI_FAR = 80.0  # m: the far end of the region of interest and the lanes
LANE_WIDTH = 3.5
WARM_UP_S = 90.0  # the road is filled by simulating this long before t = 0
LOCAL = timedelta(hours=7)  # Indochina time, for the OSD clock and the time of day


@dataclass(frozen=True)
class Truth:
    """One ground-truth condition: detection delay is measured from ``start_s``."""

    kind: str
    subtype: str | None
    start_s: float
    end_s: float | None
    region: tuple[Point, ...] | None = None


# ---------------------------------------------------------------------------------------------
# The camera


@dataclass(frozen=True)
class Pose:
    """A pinhole camera above the road: x = lateral metres, z = metres along the road, y = height."""

    cam_u: float = 6.0  # lateral position (the road's centre line is 0, away lanes positive)
    height: float = 8.0
    horizon: float = 0.12  # image row of the horizon, share of the height
    focal: float = 1.3  # focal length, share of the image height
    shift: float = 0.1  # horizontal shift of the vanishing point, share of the width (yaw)
    roll: float = 0.0  # degrees

    def blend(self, other: Pose, k: float) -> Pose:
        """The pose k of the way from this one to ``other`` (a pan in progress)."""
        return Pose(*(a + (b - a) * k for a, b in zip(_pose_values(self), _pose_values(other), strict=True)))


def _pose_values(pose: Pose) -> tuple[float, ...]:
    return (pose.cam_u, pose.height, pose.horizon, pose.focal, pose.shift, pose.roll)


MOVED_POSE = Pose(cam_u=7.0, height=9.5, horizon=0.47, focal=1.1, shift=-0.42, roll=7.0)


class Projector:
    """World (u, z, y) to image pixels for one pose and image size."""

    def __init__(self, pose: Pose, size: tuple[int, int]):
        self.pose = pose
        self.width, self.height = size
        self.f = pose.focal * self.height
        self.cx = self.width * (0.5 + pose.shift)
        self.cy = self.height * pose.horizon
        self.cos = math.cos(math.radians(pose.roll))
        self.sin = math.sin(math.radians(pose.roll))

    def point(self, u: float, z: float, y: float) -> tuple[float, float]:
        """One world point in pixels (z must be positive)."""
        x = self.cx + self.f * (u - self.pose.cam_u) / z
        row = self.cy + self.f * (self.pose.height - y) / z
        if self.pose.roll:
            dx, dy = x - self.width / 2, row - self.height / 2
            x = self.width / 2 + dx * self.cos - dy * self.sin
            row = self.height / 2 + dx * self.sin + dy * self.cos
        return x, row

    def z_at_bottom(self) -> float:
        """Distance of the road seen at the image's bottom row."""
        return self.f * self.pose.height / max(1.0, self.height - self.cy)


def _fill(img: numpy.ndarray, points, colour) -> None:
    """A convex polygon with anti-aliased, sub-pixel edges."""
    cv2.fillConvexPoly(img, numpy.array([(int(x * 16 + 0.5), int(y * 16 + 0.5)) for x, y in points], numpy.int32),
                       colour, cv2.LINE_AA, 4)


def _shade(colour, k: float) -> tuple[int, int, int]:
    b, g, r = colour
    return min(255, int(b * k)), min(255, int(g * k)), min(255, int(r * k))


def _mix(colour, other, k: float) -> tuple[int, int, int]:
    return tuple(int(a + (b - a) * k) for a, b in zip(colour, other, strict=True))


def _box(img, proj: Projector, u0, u1, z0, z1, y0, y1, colour, haze=None, light: float = 1.0, near_colour=None):
    """A shaded box: the visible side, the near face and the top; returns the near face's corners."""
    if z0 < 1.0:
        return None
    if haze is not None:
        colour = _mix(colour, haze, 1.0 - math.exp(-z0 / 260.0))
    p = proj.point
    cam = proj.pose.cam_u
    if cam < u0:
        _fill(img, [p(u0, z0, y0), p(u0, z1, y0), p(u0, z1, y1), p(u0, z0, y1)], _shade(colour, 0.62 * light))
    elif cam > u1:
        _fill(img, [p(u1, z0, y0), p(u1, z1, y0), p(u1, z1, y1), p(u1, z0, y1)], _shade(colour, 0.62 * light))
    near = [p(u0, z0, y0), p(u1, z0, y0), p(u1, z0, y1), p(u0, z0, y1)]
    _fill(img, near, _shade(near_colour or colour, 0.8 * light))
    if proj.pose.height > y1:
        _fill(img, [p(u0, z0, y1), p(u1, z0, y1), p(u1, z1, y1), p(u0, z1, y1)], _shade(colour, 1.05 * light))
    return near


# ---------------------------------------------------------------------------------------------
# The street (rendered once per pose and lighting)

SKY_TOP, SKY_LOW = (214, 192, 170), (232, 228, 222)
HAZE = (205, 200, 196)
ASPHALT = (88, 90, 92)
PAVEMENT = (150, 156, 160)
HOUSE_COLOURS = [(170, 205, 232), (120, 190, 225), (200, 200, 200), (150, 170, 210), (180, 220, 200),
                 (215, 215, 230), (110, 150, 200), (190, 180, 160), (140, 200, 240), (225, 225, 225)]
SIGN_COLOURS = [(40, 40, 200), (30, 180, 230), (160, 90, 30), (40, 140, 40), (200, 200, 200)]


def _street_plan(seed: int) -> dict:
    """Where the houses, trees and lamps stand (world metres), fixed by the seed."""
    rng = numpy.random.default_rng(seed + 7919)
    houses = []
    for side in (-1, 1):
        z = 2.0
        while z < 420:
            width = float(rng.uniform(3.8, 6.0))
            houses.append((side, z, z + width, float(rng.uniform(6.5, 17.0)), int(rng.integers(len(HOUSE_COLOURS))),
                           int(rng.integers(len(SIGN_COLOURS)))))
            z += width
    trees = [(side, float(z + rng.uniform(-3, 3)), float(rng.uniform(1.5, 2.4)))
             for side in (-1, 1) for z in numpy.arange(16.0, 300.0, 13.0)]
    lamps = [(side, float(z)) for side in (-1, 1) for z in numpy.arange(15.0 + 10 * (side > 0), 400.0, 32.0)]
    return {"houses": houses, "trees": trees, "lamps": lamps}


def render_street(pose: Pose, size: tuple[int, int], seed: int, night: bool = False) -> numpy.ndarray:
    """The empty street for one pose: sky, houses, pavements, road and markings (BGR uint8)."""
    width, height = size
    proj = Projector(pose, size)
    img = numpy.zeros((height, width, 3), numpy.uint8)
    rows = numpy.linspace(0, 1, height)[:, None]
    sky = numpy.asarray(SKY_TOP)[None, :] * (1 - rows) + numpy.asarray(SKY_LOW)[None, :] * rows
    img[:] = sky[:, None, :].astype(numpy.uint8)
    p = proj.point
    far = 900.0
    near = 1.5
    # ground, pavements and road
    _fill(img, [p(-60, near, 0), p(60, near, 0), p(60, far, 0), p(-60, far, 0)], (120, 135, 140))
    for side in (-1, 1):
        _fill(img, [p(side * 7.0, near, 0), p(side * 11.0, near, 0), p(side * 11.0, far, 0), p(side * 7.0, far, 0)],
              PAVEMENT)
        _fill(img, [p(side * 7.0, near, 0), p(side * 7.25, near, 0), p(side * 7.25, far, 0), p(side * 7.0, far, 0)],
              (185, 190, 195))
    _fill(img, [p(-7.0, near, 0), p(7.0, near, 0), p(7.0, far, 0), p(-7.0, far, 0)], ASPHALT)
    # markings: edge lines, the double yellow centre line, dashed lines between lanes
    for u in (-6.7, 6.7):
        _fill(img, [p(u - 0.08, near, 0), p(u + 0.08, near, 0), p(u + 0.08, far, 0), p(u - 0.08, far, 0)],
              (215, 218, 220))
    for u in (-0.12, 0.12):
        _fill(img, [p(u - 0.06, near, 0), p(u + 0.06, near, 0), p(u + 0.06, far, 0), p(u - 0.06, far, 0)],
              (40, 180, 215))
    for u in (-LANE_WIDTH, LANE_WIDTH):
        for z in numpy.arange(2.0, 320.0, 9.0):
            _fill(img, [p(u - 0.08, z, 0), p(u + 0.08, z, 0), p(u + 0.08, z + 3, 0), p(u - 0.08, z + 3, 0)],
                  (210, 212, 214))
    plan = _street_plan(seed)
    rng = numpy.random.default_rng(seed + 104729)
    stains = [(float(rng.uniform(-6, 6)), float(rng.uniform(5, 200)), float(rng.uniform(0.4, 1.2)))
              for _ in range(40)]
    for u, z, r in stains:
        _fill(img, [p(u - r, z, 0), p(u + r, z, 0), p(u + r, z + 2 * r, 0), p(u - r, z + 2 * r, 0)], (81, 83, 85))
    # houses, trees and lamps, far to near
    things = []
    for side, z0, z1, tall, colour, sign in plan["houses"]:
        things.append((z0, "house", (side, z0, z1, tall, colour, sign)))
    for side, z, r in plan["trees"]:
        things.append((z, "tree", (side, z, r)))
    for side, z in plan["lamps"]:
        things.append((z, "lamp", (side, z)))
    things.sort(key=lambda thing: -thing[0])
    for z, what, data in things:
        if z < 1.2:
            continue
        if what == "house":
            _house(img, proj, *data)
        elif what == "tree":
            side, z, r = data
            u = side * 9.3
            _box(img, proj, u - 0.15, u + 0.15, z, z + 0.3, 0, 3.2, (50, 70, 90), HAZE)
            cx, cy = p(u, z, 4.6)
            radius = proj.f * r / z
            green = _mix((50, 110, 60), HAZE, 1 - math.exp(-z / 260))
            cv2.circle(img, (int(cx * 16), int(cy * 16)), int(radius * 16), _shade(green, 0.8), -1, cv2.LINE_AA, 4)
            cv2.circle(img, (int((cx - radius * 0.3) * 16), int((cy - radius * 0.35) * 16)), int(radius * 0.7 * 16),
                       green, -1, cv2.LINE_AA, 4)
        else:
            side, z = data
            u = side * 7.6
            _box(img, proj, u - 0.1, u + 0.1, z, z + 0.2, 0, 8.5, (120, 120, 125), HAZE)
            arm = u - side * 1.8
            _fill(img, [p(u, z, 8.4), p(arm, z, 8.4), p(arm, z, 8.6), p(u, z, 8.6)], (120, 120, 125))
    # texture: paint is never flat
    noise = rng.normal(0, 1, (height // 4 + 1, width // 4 + 1)).astype(numpy.float32)
    noise = cv2.resize(cv2.GaussianBlur(noise, (0, 0), 1.0), (width, height), interpolation=cv2.INTER_CUBIC)
    fine = rng.normal(0, 1, (height, width)).astype(numpy.float32)
    texture = 1.0 + 0.05 * noise + 0.03 * fine
    img = numpy.clip(img.astype(numpy.float32) * texture[:, :, None], 0, 255).astype(numpy.uint8)
    if night:
        img = _night(img, proj, plan)
    return img


def _house(img, proj: Projector, side, z0, z1, tall, colour_index, sign_index) -> None:
    """A shophouse: its front on the pavement's edge, an open shop, a sign, windows per floor."""
    u_front = side * 11.0
    u_back = side * 24.0
    u0, u1 = (u_back, u_front) if side < 0 else (u_front, u_back)
    colour = HOUSE_COLOURS[colour_index]
    _box(img, proj, u0, u1, z0, z1, 0, tall, colour, HAZE)
    if z0 < 2.0:
        return
    p = proj.point
    fog = 1.0 - math.exp(-z0 / 260.0)
    uf = u_front
    shop = _mix((45, 50, 55), HAZE, fog)
    _fill(img, [p(uf, z0 + 0.4, 0), p(uf, z1 - 0.4, 0), p(uf, z1 - 0.4, 2.6), p(uf, z0 + 0.4, 2.6)], shop)
    sign = _mix(SIGN_COLOURS[sign_index], HAZE, fog)
    _fill(img, [p(uf, z0 + 0.2, 2.8), p(uf, z1 - 0.2, 2.8), p(uf, z1 - 0.2, 3.7), p(uf, z0 + 0.2, 3.7)], sign)
    glass = _mix((95, 80, 70), HAZE, fog)
    floor = 4.4
    while floor + 2.0 < tall:
        _fill(img, [p(uf, z0 + 0.9, floor), p(uf, z1 - 0.9, floor), p(uf, z1 - 0.9, floor + 1.6),
                    p(uf, z0 + 0.9, floor + 1.6)], glass)
        floor += 3.4


def _night(day: numpy.ndarray, proj: Projector, plan: dict) -> numpy.ndarray:
    """The street at night: dark, with pools of light under the lamps and lit shop fronts."""
    light = numpy.zeros(day.shape[:2], numpy.float32)
    p = proj.point
    for side, z in plan["lamps"]:
        if z < 4:
            continue
        u = side * 5.8
        pts = [p(u - 4.5, z - 5, 0), p(u + 4.5, z - 5, 0), p(u + 4.5, z + 5, 0), p(u - 4.5, z + 5, 0)]
        cv2.fillConvexPoly(light, numpy.int32(numpy.round(pts)), 0.35, cv2.LINE_AA)
        cx, cy = p(u, z, 8.4)
        cv2.circle(light, (int(cx), int(cy)), max(1, int(proj.f * 0.25 / z)), 3.0, -1, cv2.LINE_AA)
    for side, z0, z1, _tall, _c, _s in plan["houses"]:
        if z0 < 3 or z0 > 200:
            continue
        uf = side * 11.0
        pts = [p(uf, z0 + 0.4, 0), p(uf, z1 - 0.4, 0), p(uf, z1 - 0.4, 2.6), p(uf, z0 + 0.4, 2.6)]
        cv2.fillConvexPoly(light, numpy.int32(numpy.round(pts)), 0.5, cv2.LINE_AA)
    light = cv2.GaussianBlur(light, (0, 0), max(1.0, day.shape[0] / 30))
    warm = numpy.asarray((0.55, 0.8, 1.0), numpy.float32)  # sodium lamps are orange
    out = day.astype(numpy.float32) * (0.07 + light[:, :, None] * warm[None, None, :])
    return numpy.clip(out, 0, 255).astype(numpy.uint8)


# ---------------------------------------------------------------------------------------------
# Traffic


@dataclass(frozen=True)
class LaneSpec:
    """A lane of the simulated road: its centre and which way it flows."""

    name: str
    u: float
    away: bool  # True: away from the camera (z grows); False: towards it

    def z(self, s: float) -> float:
        """Distance from the camera of a point ``s`` metres along this lane's travel."""
        return s if self.away else ROAD_LENGTH - s


LANES = (LaneSpec("in2", -5.25, False), LaneSpec("in1", -1.75, False),
         LaneSpec("out1", 1.75, True), LaneSpec("out2", 5.25, True))
SAME_WAY = {0: 1, 1: 0, 2: 3, 3: 2}

# kind: length, width, height, share of traffic (Vietnam: mostly motorbikes), desired speed m/s
KINDS = {
    "motorbike": (1.9, 0.7, 1.6, 0.55, (8.0, 12.0)),
    "car": (4.5, 1.8, 1.5, 0.30, (10.0, 14.0)),
    "van": (5.0, 1.9, 2.0, 0.06, (9.0, 13.0)),
    "truck": (8.0, 2.4, 3.3, 0.05, (8.0, 11.0)),
    "bus": (11.0, 2.5, 3.2, 0.04, (8.0, 11.0)),
}
CAR_COLOURS = [(235, 235, 235), (190, 190, 195), (40, 40, 45), (40, 40, 170), (140, 80, 30), (110, 110, 115),
               (230, 230, 225), (60, 130, 60), (20, 20, 20)]
SHIRTS = [(200, 200, 200), (40, 40, 160), (160, 100, 40), (40, 40, 40), (60, 160, 200), (120, 60, 120)]


class Vehicle:
    """A road user in the simulation: position ``s`` is its front, metres along its lane's travel."""

    __slots__ = ("id", "kind", "length", "width", "tall", "lane", "u", "s", "v", "v0", "colour", "extra",
                 "weave", "phase", "stop_at", "stop_for", "stopped_at", "left_at", "broken")

    def __init__(self, ident, kind, lane, s, v, v0, colour, extra, weave, phase):
        self.id = ident
        self.kind = kind
        self.length, self.width, self.tall = KINDS[kind][:3]
        self.lane = lane
        self.u = LANES[lane].u
        self.s, self.v, self.v0 = s, v, v0
        self.colour, self.extra = colour, extra
        self.weave, self.phase = weave, phase
        self.stop_at = None  # s where it will break down
        self.stop_for = 0.0
        self.stopped_at = None  # time it came to rest there
        self.left_at = None
        self.broken = False


class Pedestrian:
    """Someone walking along a pavement, or crossing the road at ``z``."""

    __slots__ = ("u", "z", "du", "dz", "shirt", "crossing")

    def __init__(self, u, z, du, dz, shirt, crossing):
        self.u, self.z, self.du, self.dz, self.shirt, self.crossing = u, z, du, dz, shirt, crossing


@dataclass(frozen=True)
class Recipe:
    """What happens in a scenario: traffic demand, obstacles, weather, camera faults (times in seconds)."""

    flow: Callable[[float], float] | float = 0.12  # arrivals per second per lane
    mix: dict | None = None  # kind -> share, overriding KINDS' shares
    speed_scale: float = 1.0  # desired speeds ×
    weave: float = 0.25  # motorbikes' lateral sway, m
    walkers: float = 0.05  # pedestrians per second appearing on the pavements
    crossers: float = 0.0  # pedestrians per second crossing the road
    blocks: tuple = ()  # (t_on, t_off, away: bool, green_s, cycle_s): a bottleneck past the view
    stops: tuple = ()  # (t, lane index, z of the stop, seconds stopped): a vehicle breaks down
    night: bool = False
    exposure: tuple = ()  # (t, gain): from t on the image is multiplied by gain
    rain: bool | tuple = False  # True, or (t_on, t_off)
    shake_px: float = 0.0
    freeze: tuple | None = None  # (t_on, t_off or None)
    cover: tuple | None = None
    blur: tuple | None = None
    move: tuple | None = None  # (t_on, None): the camera turns to MOVED_POSE over 2 s
    day_cycle: bool = False  # light follows the clock (long scenarios)


class Traffic:
    """The simulation: lanes of vehicles following each other, pedestrians, obstacles."""

    def __init__(self, recipe: Recipe, seed: int, t0: float = -WARM_UP_S):
        self.recipe = recipe
        self.rng = numpy.random.default_rng(seed)
        self.t = t0
        self.vehicles: list[Vehicle] = []
        self.walkers: list[Pedestrian] = []
        self.next_id = 0
        self.next_arrival = [t0 + float(self.rng.exponential(3.0)) for _ in LANES]
        self.stops = sorted(recipe.stops)
        self.pending_stops: list[tuple] = []
        mix = recipe.mix or {k: v[3] for k, v in KINDS.items()}
        self.kinds = list(mix)
        total = sum(mix.values())
        self.shares = [mix[k] / total for k in self.kinds]

    def flow(self, t: float) -> float:
        f = self.recipe.flow
        return f(t) if callable(f) else f

    def advance(self, until: float) -> None:
        """Step the simulation to ``until`` (fixed steps of SIM_DT)."""
        while self.t + SIM_DT <= until + 1e-9:
            self._step()

    def _spawn(self, lane: int) -> Vehicle | None:
        rng = self.rng
        kind = self.kinds[int(rng.choice(len(self.kinds), p=self.shares))]
        lo, hi = KINDS[kind][4]
        v0 = float(rng.uniform(lo, hi)) * self.recipe.speed_scale
        colour = CAR_COLOURS[int(rng.integers(len(CAR_COLOURS)))]
        extra = SHIRTS[int(rng.integers(len(SHIRTS)))]
        if kind == "bus":
            colour = [(60, 150, 40), (40, 200, 230), (230, 230, 230)][int(rng.integers(3))]
        elif kind == "truck":
            colour = [(150, 90, 30), (40, 40, 170), (200, 200, 200)][int(rng.integers(3))]
            extra = [(200, 200, 200), (60, 110, 60), (170, 170, 170)][int(rng.integers(3))]
        weave = self.recipe.weave * float(rng.uniform(0.3, 1.0)) if kind == "motorbike" else 0.0
        last = min((v for v in self.vehicles if v.lane == lane), key=lambda v: v.s, default=None)
        s = -15.0
        v = v0
        if last is not None:
            gap = last.s - last.length - s
            if gap < 6.0:
                return None
            v = min(v0, max(0.0, last.v + (gap - 6.0) / 3.0))
        vehicle = Vehicle(self.next_id, kind, lane, s, v, v0, colour, extra, weave, float(rng.uniform(0, 6.28)))
        if kind == "motorbike":
            vehicle.u += float(rng.uniform(-0.9, 0.9))
        self.next_id += 1
        self.vehicles.append(vehicle)
        return vehicle

    def _step(self) -> None:
        t = self.t + SIM_DT
        rng = self.rng
        recipe = self.recipe
        # arrivals (and the breakdowns, which pick the next car to come)
        while self.stops and self.stops[0][0] <= t:
            self.pending_stops.append(self.stops.pop(0))
        for lane in range(len(LANES)):
            if self.next_arrival[lane] <= t:
                vehicle = self._spawn(lane)
                if vehicle is None:
                    self.next_arrival[lane] = t + 0.5
                    continue
                for stop in list(self.pending_stops):
                    if stop[1] == lane and vehicle.kind in ("car", "van"):
                        spec = LANES[lane]
                        vehicle.stop_at = stop[2] + vehicle.length if spec.away else ROAD_LENGTH - stop[2]
                        vehicle.stop_for = stop[3]
                        self.pending_stops.remove(stop)
                        break
                rate = max(1e-4, self.flow(t))
                self.next_arrival[lane] = t + float(rng.exponential(1.0 / rate))
        # obstacles: bottlenecks past the view, pedestrians on the road
        obstacles: dict[int, list[float]] = {i: [] for i in range(len(LANES))}
        for t_on, t_off, away, green, cycle in recipe.blocks:
            if t_on <= t < t_off and (t - t_on) % cycle >= green:
                for i, spec in enumerate(LANES):
                    if spec.away == away:
                        obstacles[i].append(95.0 if away else ROAD_LENGTH - 4.0)
        for person in self.walkers:
            if person.crossing:
                for i, spec in enumerate(LANES):
                    if abs(person.u - spec.u) < LANE_WIDTH / 2 + 1.2:
                        obstacles[i].append(person.z - 1.0 if spec.away else ROAD_LENGTH - person.z - 1.0)
        # car following (intelligent driver model), lane by lane
        by_lane: dict[int, list[Vehicle]] = {i: [] for i in range(len(LANES))}
        for vehicle in self.vehicles:
            by_lane[vehicle.lane].append(vehicle)
        for lane, queue in by_lane.items():
            queue.sort(key=lambda v: -v.s)
            for index, vehicle in enumerate(queue):
                gap, lead_v = 1e9, vehicle.v0
                if index > 0:
                    leader = queue[index - 1]
                    gap, lead_v = leader.s - leader.length - vehicle.s, leader.v
                for point in obstacles[lane]:
                    if vehicle.s < point + 0.5 and point - vehicle.s < gap:
                        gap, lead_v = point - vehicle.s, 0.0
                if vehicle.stop_at is not None and not vehicle.broken and vehicle.left_at is None:
                    if vehicle.stop_at - vehicle.s < gap:
                        gap, lead_v = max(0.05, vehicle.stop_at - vehicle.s + 1.9), 0.0
                self._drive(vehicle, gap, lead_v, t)
                if vehicle.stop_at is None and ((index > 0 and queue[index - 1].broken and gap < 40.0) or (
                        gap < 25.0 and lead_v < 0.3 and vehicle.v < 0.2)):
                    self._change_lane(vehicle, by_lane)
        for vehicle in self.vehicles:
            target = LANES[vehicle.lane].u
            if vehicle.weave:
                target += vehicle.weave * math.sin(vehicle.phase + t * 0.45)
            step = 1.2 * SIM_DT
            vehicle.u += max(-step, min(step, target - vehicle.u))
            self._breakdown(vehicle, t)
        self.vehicles = [v for v in self.vehicles if v.s - v.length < ROAD_LENGTH + 20]
        self._pedestrians(t)
        self.t = t

    def _drive(self, vehicle: Vehicle, gap: float, lead_v: float, t: float) -> None:
        if vehicle.broken:
            vehicle.v = 0.0
            return
        a_max, b, s0, headway = (2.5, 3.0, 1.0, 0.8) if vehicle.kind == "motorbike" else (1.5, 2.5, 2.0, 1.2)
        if vehicle.kind in ("truck", "bus"):
            a_max = 0.9
        v = vehicle.v
        gap = max(gap, 0.1)
        desired = s0 + v * headway + v * (v - lead_v) / (2 * math.sqrt(a_max * b))
        acc = a_max * (1 - (v / max(vehicle.v0, 0.1)) ** 4 - (max(desired, 0.0) / gap) ** 2)
        acc = max(acc, -9.0)
        vehicle.v = max(0.0, v + acc * SIM_DT)
        vehicle.s += vehicle.v * SIM_DT

    def _breakdown(self, vehicle: Vehicle, t: float) -> None:
        if vehicle.stop_at is None or vehicle.left_at is not None:
            return
        if not vehicle.broken and vehicle.s >= vehicle.stop_at - 2.5 and vehicle.v < 0.05:
            vehicle.broken = True
            vehicle.v = 0.0
            vehicle.stopped_at = t
        elif vehicle.broken and t >= vehicle.stopped_at + vehicle.stop_for:
            vehicle.broken = False
            vehicle.left_at = t
            vehicle.stop_at = None

    def _change_lane(self, vehicle: Vehicle, by_lane) -> None:
        target = SAME_WAY[vehicle.lane]
        ahead = min((v.s - v.length - vehicle.s for v in by_lane[target] if v.s >= vehicle.s), default=1e9)
        behind = min((vehicle.s - vehicle.length - v.s for v in by_lane[target] if v.s < vehicle.s), default=1e9)
        if ahead > 4.0 + vehicle.v * 0.6 and behind > 4.0:
            vehicle.lane = target

    def _pedestrians(self, t: float) -> None:
        rng = self.rng
        recipe = self.recipe
        if recipe.walkers and rng.random() < recipe.walkers * SIM_DT:
            side = -1 if rng.random() < 0.5 else 1
            z = float(rng.uniform(10, 90))
            self.walkers.append(Pedestrian(side * float(rng.uniform(8.0, 10.3)), z, 0.0,
                                           float(rng.choice([-1, 1]) * rng.uniform(1.0, 1.5)),
                                           SHIRTS[int(rng.integers(len(SHIRTS)))], False))
        if recipe.crossers and rng.random() < recipe.crossers * SIM_DT:
            side = -1 if rng.random() < 0.5 else 1
            self.walkers.append(Pedestrian(side * 8.0, float(rng.uniform(20, 60)), -side * float(rng.uniform(1.1, 1.5)),
                                           0.0, SHIRTS[int(rng.integers(len(SHIRTS)))], True))
        for person in self.walkers:
            person.u += person.du * SIM_DT
            person.z += person.dz * SIM_DT
            if person.crossing and abs(person.u) > 8.0:
                person.crossing = False
                person.du = 0.0
                person.dz = float(rng.choice([-1, 1]) * rng.uniform(1.0, 1.5))
        self.walkers = [p for p in self.walkers if 3.0 < p.z < 120.0]

    def z_range(self, vehicle: Vehicle, t: float) -> tuple[float, float]:
        """Near and far distance of a vehicle's body at time ``t`` (moved on from the last step)."""
        s = vehicle.s + vehicle.v * max(0.0, t - self.t)
        spec = LANES[vehicle.lane]
        if spec.away:
            return s - vehicle.length, s
        return ROAD_LENGTH - s, ROAD_LENGTH - s + vehicle.length


# ---------------------------------------------------------------------------------------------
# Painting road users


def _draw_vehicle(img, proj: Projector, traffic: Traffic, vehicle: Vehicle, t: float, light: float,
                  lights: numpy.ndarray | None) -> None:
    z0, z1 = traffic.z_range(vehicle, t)
    if z0 < 2.0 or z0 > 300:
        return
    u, w, tall = vehicle.u, vehicle.width, vehicle.tall
    u0, u1 = u - w / 2, u + w / 2
    away = LANES[vehicle.lane].away
    p = proj.point
    if z0 > 110:  # a few pixels: one box, no detail
        _box(img, proj, u0, u1, z0, z1, 0.2, tall, vehicle.colour, light=light)
        if lights is not None:
            _lamps(lights, proj, vehicle, z0, away, not away)
        return
    if light > 0.5:  # shadow on the road (the sun is high and a little to the left)
        _fill(img, [p(u0 + 0.25, z0 - 0.15, 0), p(u1 + 0.35, z0 - 0.15, 0), p(u1 + 0.35, z1, 0), p(u0 + 0.25, z1, 0)],
              (52, 53, 55))
    colour = vehicle.colour
    kind = vehicle.kind
    if kind == "motorbike":
        _box(img, proj, u - 0.17, u + 0.17, z0, z1, 0.25, 0.95, (35, 35, 40), light=light)
        mid = (z0 + z1) / 2
        _box(img, proj, u - 0.24, u + 0.24, mid - 0.25, mid + 0.2, 0.8, 1.5, vehicle.extra, light=light)
        hx, hy = p(u, mid, 1.62)
        cv2.circle(img, (int(hx * 16), int(hy * 16)), max(16, int(proj.f * 0.16 / mid * 16)),
                   _shade(colour, light), -1, cv2.LINE_AA, 4)
        front = z0 if not away else None
    elif kind in ("car", "van"):
        body = 0.85 if kind == "car" else 1.2
        near = _box(img, proj, u0, u1, z0, z1, 0.15, body, colour, light=light)
        c0 = z0 + (z1 - z0) * (0.28 if kind == "car" else 0.12)
        c1 = z1 - (z1 - z0) * (0.2 if kind == "car" else 0.05)
        _box(img, proj, u0 + 0.1, u1 - 0.1, c0, c1, body, tall, colour, light=light, near_colour=(60, 55, 50))
        front = z0 if not away else None
        if near is not None and light > 0.5:
            lamp = (60, 60, 200) if away else (210, 230, 235)
            for a, b in ((u0 + 0.1, u0 + 0.45), (u1 - 0.45, u1 - 0.1)):
                _fill(img, [p(a, z0, body - 0.25), p(b, z0, body - 0.25), p(b, z0, body - 0.05), p(a, z0, body - 0.05)],
                      lamp)
    elif kind == "truck":
        if away:
            _box(img, proj, u0, u1, z1 - 2.0, z1, 0.3, 2.9, colour, light=light)
            _box(img, proj, u0, u1, z0, z1 - 2.2, 0.4, tall, vehicle.extra, light=light)
        else:
            _box(img, proj, u0, u1, z0 + 2.2, z1, 0.4, tall, vehicle.extra, light=light)
            _box(img, proj, u0, u1, z0, z0 + 2.0, 0.3, 2.9, colour, light=light, near_colour=(70, 60, 55))
        front = z0 if not away else None
    else:  # bus
        _box(img, proj, u0, u1, z0, z1, 0.3, tall, colour, light=light)
        side_u = u0 if proj.pose.cam_u < u0 else u1
        band = [p(side_u, z0 + 0.6, 1.5), p(side_u, z1 - 0.6, 1.5), p(side_u, z1 - 0.6, 2.5), p(side_u, z0 + 0.6, 2.5)]
        if proj.pose.cam_u < u0 or proj.pose.cam_u > u1:
            _fill(img, band, _shade((70, 60, 50), light))
        _fill(img, [p(u0 + 0.15, z0, 1.4), p(u1 - 0.15, z0, 1.4), p(u1 - 0.15, z0, 2.7), p(u0 + 0.15, z0, 2.7)],
              _shade((70, 60, 50), light))
        front = z0 if not away else None
    if lights is not None:
        _lamps(lights, proj, vehicle, z0, away, front is not None)


def _lamps(lights: numpy.ndarray, proj: Projector, vehicle: Vehicle, z0: float, away: bool, facing: bool) -> None:
    """Headlights (and their beam on the road) or tail lights, into the additive light layer."""
    scale = lights.shape[0] / proj.height
    p = proj.point
    u, w = vehicle.u, vehicle.width
    spots = [u] if vehicle.kind == "motorbike" else [u - w / 2 + 0.3, u + w / 2 - 0.3]
    if facing:
        for x in spots:
            cx, cy = p(x, z0, 0.7)
            r = max(1.0, proj.f * 0.5 / z0 * scale)
            cv2.circle(lights, (int(cx * scale), int(cy * scale)), int(r), (255, 255, 255), -1, cv2.LINE_AA)
        near = max(2.5, z0 - 22.0)
        beam = [p(u - w / 2 - 0.4, z0, 0), p(u + w / 2 + 0.4, z0, 0), p(u + w / 2 + 1.8, near, 0),
                p(u - w / 2 - 1.8, near, 0)]
        cv2.fillConvexPoly(lights, numpy.int32(numpy.round(numpy.asarray(beam) * scale)), (32, 38, 40), cv2.LINE_AA)
    elif away:
        for x in spots:
            cx, cy = p(x, z0, 0.8)
            r = max(1.0, proj.f * 0.18 / z0 * scale)
            cv2.circle(lights, (int(cx * scale), int(cy * scale)), int(r), (40, 40, 230), -1, cv2.LINE_AA)


def _draw_pedestrian(img, proj: Projector, person: Pedestrian, light: float) -> None:
    z = person.z
    if z < 2.0:
        return
    u = person.u
    _box(img, proj, u - 0.2, u + 0.2, z, z + 0.3, 0, 0.9, (50, 45, 40), light=light)
    _box(img, proj, u - 0.23, u + 0.23, z, z + 0.3, 0.85, 1.45, person.shirt, light=light)
    hx, hy = proj.point(u, z + 0.15, 1.58)
    cv2.circle(img, (int(hx * 16), int(hy * 16)), max(16, int(proj.f * 0.12 / z * 16)), _shade((70, 100, 140), light),
               -1, cv2.LINE_AA, 4)


# ---------------------------------------------------------------------------------------------
# Scenarios


class Scenario:
    """A camera, what it sees for ``duration_s`` and the ground truth of what happens."""

    def __init__(self, name: str, recipe: Recipe, *, seed: int, duration_s: float, fps: float,
                 size: tuple[int, int], start_at: datetime, settings: DetectionSettings | None = None):
        self.name = name
        self.recipe = recipe
        self.seed = seed
        self.duration_s = float(duration_s)
        self.fps = fps
        self.size = (int(size[0]), int(size[1]))
        self.start_at = start_at
        settings = settings or DetectionSettings()
        proj = Projector(Pose(), self.size)
        roi, lanes = _regions(proj)
        self.config = CameraConfig(code=f"SYN-{name.upper().replace('_', '-')}", url=f"synthetic://{name}?seed={seed}",
                                   roi=roi, lanes=lanes, settings=settings)
        self._streets: dict = {}

    @cached_property
    def truths(self) -> list[Truth]:
        """The ground truth, from a run of the simulation without rendering (computed once)."""
        return _truths(self)

    def frames(self, fps: float | None = None, start_s: float = 0.0) -> Iterator[Frame]:
        """The video, one frame at a time (BGR uint8 at ``size``), keyframes every 2 s; from ``start_s`` on
        (the traffic before it is simulated, not drawn)."""
        fps = fps or self.fps
        renderer = _Renderer(self)
        count = int(math.floor(self.duration_s * fps + 1e-9))
        gop = max(1, round(2 * fps))
        for index in range(int(math.ceil(start_s * fps - 1e-9)), count):
            t = index / fps
            yield Frame(t=t, at=self.start_at + timedelta(seconds=t), image=renderer.render(t), keyframe=index % gop == 0)

    def reference_jpeg(self) -> bytes:
        """A JPEG of the camera's normal view (what an administrator stores for "moved camera")."""
        image = _Renderer(self).render(0.0)
        return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()

    def with_reference(self) -> Scenario:
        """This scenario with ``config.reference`` set to its normal view."""
        self.config = replace(self.config, reference=self.reference_jpeg())
        return self


def _regions(proj: Projector) -> tuple[tuple[Point, ...], tuple[Lane, ...]]:
    """The ROI (the road from the image's bottom to ROI_FAR) and the four lanes, normalised and clipped."""
    near = proj.z_at_bottom() + 0.5
    frame = numpy.float32([[0, 0], [proj.width, 0], [proj.width, proj.height], [0, proj.height]])

    def polygon(ua, ub):
        pts = numpy.float32([proj.point(ua, near, 0), proj.point(ub, near, 0), proj.point(ub, ROI_FAR, 0),
                             proj.point(ua, ROI_FAR, 0)])
        _area, clipped = cv2.intersectConvexConvex(pts, frame)
        clipped = clipped.reshape(-1, 2)
        return tuple((round(min(1.0, max(0.0, float(x) / proj.width)), 4),
                      round(min(1.0, max(0.0, float(y) / proj.height)), 4)) for x, y in clipped)

    lanes = []
    for spec in LANES:
        a = numpy.float32(proj.point(spec.u, near, 0))
        b = numpy.float32(proj.point(spec.u, ROI_FAR, 0))
        d = (b - a) if spec.away else (a - b)
        d = d / float(numpy.hypot(*d))
        lanes.append(Lane(name=spec.name, polygon=polygon(spec.u - LANE_WIDTH / 2, spec.u + LANE_WIDTH / 2),
                          direction=(round(float(d[0]), 4), round(float(d[1]), 4))))
    return polygon(-2 * LANE_WIDTH, 2 * LANE_WIDTH), tuple(lanes)


class _Renderer:
    """Turns the simulation into frames, with the scenario's light, weather and faults."""

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.recipe = scenario.recipe
        self.size = scenario.size
        self.traffic = Traffic(scenario.recipe, scenario.seed)
        self.rng = numpy.random.default_rng(scenario.seed + 31337)
        width, height = self.size
        noise_rng = numpy.random.default_rng(scenario.seed + 271828)
        sigma = 6.0 if scenario.recipe.night else 3.0
        self.noise = []
        for _ in range(6):
            n = noise_rng.normal(0, sigma, (height, width, 1)).astype(numpy.float32)
            n = numpy.repeat(n, 3, axis=2) + noise_rng.normal(0, sigma * 0.3, (height, width, 3)).astype(numpy.float32)
            self.noise.append((numpy.clip(n, 0, 255).astype(numpy.uint8), numpy.clip(-n, 0, 255).astype(numpy.uint8)))
        self.rain = []
        if scenario.recipe.rain:
            for _ in range(5):
                layer = numpy.zeros((height, width), numpy.uint8)
                for _ in range(int(width * height / 700)):
                    x, y = int(noise_rng.integers(width)), int(noise_rng.integers(height))
                    length = float(noise_rng.uniform(0.03, 0.07)) * height
                    cv2.line(layer, (x, y), (int(x + length * 0.25), int(y + length)),
                             int(noise_rng.integers(25, 70)), 1, cv2.LINE_AA)
                layer = cv2.GaussianBlur(layer, (3, 3), 0)
                self.rain.append(cv2.cvtColor(layer, cv2.COLOR_GRAY2BGR))
        self.last: numpy.ndarray | None = None

    def _street(self, pose: Pose, light: float) -> numpy.ndarray:
        cache = self.scenario._streets
        key = (_pose_values(pose), round(light, 2))
        if key not in cache:
            if light >= 1.0 or light <= 0.0:
                cache[key] = render_street(pose, self.size, self.scenario.seed, night=light <= 0.0)
            else:
                day = self._street(pose, 1.0)
                night = self._street(pose, 0.0)
                cache[key] = cv2.addWeighted(day, light, night, 1 - light, 0)
            if len(cache) > 64:
                cache.pop(next(iter(cache)))
        return cache[key]

    def light(self, t: float) -> float:
        """1 in daylight, 0 at night."""
        recipe = self.recipe
        if recipe.day_cycle:
            local = self.scenario.start_at + LOCAL + timedelta(seconds=t)
            hour = local.hour + local.minute / 60 + local.second / 3600
            dawn = min(1.0, max(0.0, (hour - 5.3) / 0.8))
            dusk = min(1.0, max(0.0, (18.3 - hour) / 0.8))
            return round(min(dawn, dusk), 2)
        return 0.0 if recipe.night else 1.0

    def pose(self, t: float) -> Pose:
        move = self.recipe.move
        if move and t >= move[0]:
            return Pose().blend(MOVED_POSE, min(1.0, (t - move[0]) / 2.0))
        return Pose()

    def render(self, t: float) -> numpy.ndarray:
        recipe = self.recipe
        self.traffic.advance(t)
        if recipe.freeze and _within(recipe.freeze, t) and self.last is not None:
            return self.last.copy()
        pose = self.pose(t)
        proj = Projector(pose, self.size)
        light = self.light(t)
        img = self._street(pose, light).copy()
        night = light < 0.6
        lights = numpy.zeros((self.size[1] // 2, self.size[0] // 2, 3), numpy.uint8) if night else None
        shade = 0.12 + 0.88 * light
        items = [(self.traffic.z_range(v, t)[0], 0, v) for v in self.traffic.vehicles]
        items += [(p.z, 1, p) for p in self.traffic.walkers]
        items.sort(key=lambda item: -item[0])
        for _z, what, thing in items:
            if what == 0:
                _draw_vehicle(img, proj, self.traffic, thing, t, shade, lights)
            else:
                _draw_pedestrian(img, proj, thing, shade)
        if lights is not None:
            # the lamps' cores, then their glare (a wide halo that the lens spreads round each light)
            glare = cv2.GaussianBlur(lights, (0, 0), max(1.0, self.size[1] / 50))
            glow = cv2.addWeighted(lights, 1.0 - light, glare, 1.6 * (1.0 - light), 0)
            img = cv2.add(img, cv2.resize(glow, self.size, interpolation=cv2.INTER_LINEAR))
        if recipe.rain is True or (recipe.rain and _within(recipe.rain, t)):
            img = cv2.convertScaleAbs(img, alpha=0.82, beta=22)
            img = cv2.add(img, self.rain[int(self.rng.integers(len(self.rain)))])
        gain = 1.0
        for t_on, value in recipe.exposure:
            if t >= t_on:
                gain = value
        if gain != 1.0:
            img = cv2.convertScaleAbs(img, alpha=gain)
        if recipe.blur and _within(recipe.blur, t):
            sigma = min(1.0, (t - recipe.blur[0]) / 3.0) * self.size[1] / 60
            if sigma > 0.3:
                img = cv2.GaussianBlur(img, (0, 0), sigma)
        if recipe.cover and _within(recipe.cover, t):
            k = min(1.0, (t - recipe.cover[0]) / 1.0)
            dark = numpy.full_like(img, 14)
            dark[: self.size[1] // 2] = 22  # a hand or a bag: a little light leaks round the top
            img = cv2.addWeighted(img, 1 - k, dark, k, 0)
        positive, negative = self.noise[int(self.rng.integers(len(self.noise)))]
        img = cv2.subtract(cv2.add(img, positive), negative)
        if recipe.shake_px:
            dx, dy = (float(v) for v in numpy.clip(self.rng.normal(0, recipe.shake_px / 2, 2), -recipe.shake_px,
                                                    recipe.shake_px))
            img = cv2.warpAffine(img, numpy.float32([[1, 0, dx], [0, 1, dy]]), self.size,
                                 borderMode=cv2.BORDER_REPLICATE)
        _osd(img, self.scenario.start_at + timedelta(seconds=t), self.scenario.config.code)
        self.last = img
        return img


def _within(span: tuple, t: float) -> bool:
    return t >= span[0] and (span[1] is None or t < span[1])


def _osd(img: numpy.ndarray, at: datetime, code: str) -> None:
    """The camera's on-screen clock and name (a digital overlay: it stays sharp under blur and cover)."""
    height = img.shape[0]
    scale = height / 720
    local = at + LOCAL
    width = img.shape[1]
    for text, origin in ((local.strftime("%d-%m-%Y %H:%M:%S"), (int(24 * scale), int(44 * scale))),
                         (code, (int(width - (len(code) * 19 + 24) * scale), int(height - 24 * scale)))):
        for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            cv2.putText(img, text, (origin[0] + dx, origin[1] + dy), cv2.FONT_HERSHEY_SIMPLEX, 0.8 * scale,
                        (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(img, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.8 * scale, (245, 245, 245), 1, cv2.LINE_AA)


# ---------------------------------------------------------------------------------------------
# Ground truth


def _silhouette(mask, proj: Projector, traffic: Traffic, vehicle: Vehicle, t: float) -> None:
    z0, z1 = traffic.z_range(vehicle, t)
    if z0 < 2.0:
        return
    u0, u1 = vehicle.u - vehicle.width / 2, vehicle.u + vehicle.width / 2
    pts = [proj.point(u, z, y) for u in (u0, u1) for z in (z0, z1) for y in (0.0, vehicle.tall)]
    hull = cv2.convexHull(numpy.int32(numpy.round(pts)))
    cv2.fillConvexPoly(mask, hull, 1)


def _vehicle_box(proj: Projector, traffic: Traffic, vehicle: Vehicle, t: float) -> tuple[Point, ...]:
    z0, z1 = traffic.z_range(vehicle, t)
    u0, u1 = vehicle.u - vehicle.width / 2, vehicle.u + vehicle.width / 2
    pts = numpy.float32([proj.point(u, z, y) for u in (u0, u1) for z in (z0, z1) for y in (0.0, vehicle.tall)])
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    nx0, nx1 = max(0.0, x0 / proj.width), min(1.0, x1 / proj.width)
    ny0, ny1 = max(0.0, y0 / proj.height), min(1.0, y1 / proj.height)
    return tuple((round(float(x), 4), round(float(y), 4)) for x, y in ((nx0, ny0), (nx1, ny0), (nx1, ny1), (nx0, ny1)))


WAYS = (False, True)  # the carriageways, by LaneSpec.away: towards the camera (in2, in1), away from it (out1, out2)


def _survey(scenario: Scenario, step_s: float) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray, dict]:
    """One run of the simulation without rendering: times, lane occupancy per carriageway (share of its lanes'
    pixels covered by vehicles; columns in WAYS' order), the median speed of the vehicles in its lanes (m/s, 99
    when none), and the breakdowns (vehicle id -> (vehicle, stopped at, box, lane))."""
    small = (max(80, scenario.size[0] // 4), max(45, scenario.size[1] // 4))
    proj = Projector(Pose(), small)
    way_masks = []
    for away in WAYS:
        way_mask = numpy.zeros((small[1], small[0]), numpy.uint8)
        for spec, lane in zip(LANES, scenario.config.lanes, strict=True):
            if spec.away == away:
                cv2.fillPoly(way_mask, [numpy.int32(numpy.round(numpy.float32(lane.polygon) * small))], 1)
        way_masks.append((way_mask, max(1, int(way_mask.sum()))))
    traffic = Traffic(scenario.recipe, scenario.seed)
    near = proj.z_at_bottom()
    times, occ, speed = [], [], []
    breakdowns: dict[int, tuple] = {}
    mask = numpy.zeros_like(way_masks[0][0])
    for t in numpy.arange(0.0, scenario.duration_s, step_s):
        t = float(t)
        traffic.advance(t)
        mask[:] = 0
        speeds: dict[bool, list[float]] = {away: [] for away in WAYS}
        for vehicle in traffic.vehicles:
            z0, _z1 = traffic.z_range(vehicle, t)
            if z0 < ROI_FAR + 30:
                _silhouette(mask, proj, traffic, vehicle, t)
            if near < z0 < ROI_FAR:
                speeds[LANES[vehicle.lane].away].append(vehicle.v)
            if vehicle.broken and vehicle.id not in breakdowns:
                breakdowns[vehicle.id] = (vehicle, vehicle.stopped_at, _vehicle_box(proj, traffic, vehicle, t),
                                          LANES[vehicle.lane].name)
        times.append(t)
        occ.append([float((mask & way_mask).sum()) / area for way_mask, area in way_masks])
        speed.append([float(numpy.median(speeds[away])) if speeds[away] else 99.0 for away in WAYS])
    shape = (-1, len(WAYS))
    return numpy.asarray(times), numpy.asarray(occ).reshape(shape), numpy.asarray(speed).reshape(shape), breakdowns


def occupancy_series(scenario: Scenario, step_s: float = 0.5) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """Times, then lane occupancy and median speed in the lanes (m/s) per carriageway (columns in WAYS' order),
    as the truth sees them."""
    return _survey(scenario, step_s)[:3]


def _jam_spans(times: numpy.ndarray, occ: numpy.ndarray, speed: numpy.ndarray, settings: DetectionSettings,
               step: float) -> list[tuple[float, float | None]]:
    """One carriageway's jams: (the moment its lanes have been full and crawling for a whole window, the moment
    they are no longer full), on 5 s means."""
    k = max(1, int(round(5.0 / step)))
    occ_s = numpy.convolve(occ, numpy.ones(k) / k, mode="full")[: len(occ)]
    speed_s = numpy.convolve(speed, numpy.ones(k) / k, mode="full")[: len(speed)]
    jammed = (occ_s >= settings.congestion_occupancy_on) & (speed_s <= JAM_SPEED_MS)
    need = int(round(settings.congestion_window_s / step))
    spans: list[tuple[float, float | None]] = []
    run, start = 0, None
    for i, flag in enumerate(jammed):
        run = run + 1 if flag else 0
        if start is None and run >= need:
            start = float(times[i])
        elif start is not None and occ_s[i] < settings.congestion_occupancy_off:
            spans.append((start, float(times[i])))
            start, run = None, 0
    if start is not None:
        spans.append((start, None))
    return spans


def _truths(scenario: Scenario) -> list[Truth]:
    recipe = scenario.recipe
    settings = scenario.config.settings
    truths: list[Truth] = []
    step = 0.5 if scenario.duration_s <= 3600 else 1.0
    times, occ, speed, breakdowns = _survey(scenario, step)
    # stopped vehicles: the breakdowns
    for vehicle, stopped_at, region, lane in breakdowns.values():
        start = stopped_at + settings.stopped_after_s
        end = vehicle.left_at
        if start < scenario.duration_s and (end is None or end > start):
            truths.append(Truth("stopped_vehicle", lane, round(start, 1), None if end is None else round(end, 1),
                                region))
    # congestion: a carriageway full and crawling for a whole window (a jam one way is a jam, as the detector
    # judges it); jams of the two carriageways that overlap in time are one, as the camera raises one incident
    spans = sorted(span for column in range(len(WAYS))
                   for span in _jam_spans(times, occ[:, column], speed[:, column], settings, step))
    merged: list[list] = []
    for start, end in spans:
        if merged and (merged[-1][1] is None or start <= merged[-1][1]):
            merged[-1][1] = None if merged[-1][1] is None or end is None else max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in merged:
        truths.append(Truth("congestion", None, round(start, 1), None if end is None else round(end, 1), None))
    # camera faults: onset + the setting's wait
    for span, fault, after in ((recipe.freeze, "frozen", settings.frozen_after_s),
                               (recipe.cover, "covered", settings.covered_after_s),
                               (recipe.blur, "defocused", settings.defocus_after_s),
                               (recipe.move, "moved", settings.moved_after_s)):
        if span is None:
            continue
        onset = span[0] + (2.0 if fault == "moved" else 0.0)
        start = onset + after
        end = span[1]
        if start < scenario.duration_s and (end is None or end > start):
            truths.append(Truth("camera_fault", fault, round(start, 1), end, None))
    return sorted(truths, key=lambda truth: truth.start_s)


# ---------------------------------------------------------------------------------------------
# The scenarios


def _jam_flow(t_up: float, t_down: float, base: float, peak: float) -> Callable[[float], float]:
    def flow(t: float) -> float:
        return peak if t_up <= t < t_down else base
    return flow


def _breakdowns(seed: int) -> tuple:
    """Seed 0: the reference layout (a car in out2 at 34 m, then one in in2 at 28 m); other seeds draw an away and
    a towards lane, the distances (22-50 m), which comes first and how long each stays."""
    if seed == 0:
        return (8.0, 3, 34.0, 55.0), (40.0, 0, 28.0, 60.0)
    rng = numpy.random.default_rng(seed + 4242)
    away, towards = int(rng.integers(2, 4)), int(rng.integers(0, 2))
    first, second = (away, towards) if rng.random() < 0.5 else (towards, away)
    return ((8.0, first, float(rng.uniform(22, 50)), float(rng.uniform(45, 60))),
            (40.0, second, float(rng.uniform(22, 50)), float(rng.uniform(50, 65))))


RECIPES: dict[str, tuple[float, Callable[[int], Recipe]]] = {
    "free_flow": (120.0, lambda seed: Recipe(flow=0.22)),
    "stopped_vehicle": (150.0, lambda seed: Recipe(flow=0.11, stops=_breakdowns(seed))),
    "jam_builds_and_clears": (300.0, lambda seed: Recipe(
        flow=_jam_flow(5.0, 185.0, 0.14, 0.55),
        blocks=((15.0, 200.0, True, 2.0, 14.0), (15.0, 200.0, False, 2.0, 14.0)))),
    "slow_dense": (150.0, lambda seed: Recipe(flow=0.6, speed_scale=0.5)),
    "weaving": (120.0, lambda seed: Recipe(flow=0.35, mix={"motorbike": 0.85, "car": 0.12, "bus": 0.03}, weave=1.3,
                                      walkers=0.15, crossers=0.04)),
    "lighting_change": (120.0, lambda seed: Recipe(flow=0.14, exposure=((40.0, 0.5), (80.0, 1.35)))),
    "night_headlights": (120.0, lambda seed: Recipe(flow=0.14, night=True)),
    "rain": (120.0, lambda seed: Recipe(flow=0.12, rain=True)),
    "shake": (120.0, lambda seed: Recipe(flow=0.14, shake_px=3.0)),
    "frozen": (150.0, lambda seed: Recipe(flow=0.14, freeze=(30.0, None))),
    "covered": (100.0, lambda seed: Recipe(flow=0.14, cover=(30.0, None))),
    "defocused": (130.0, lambda seed: Recipe(flow=0.14, blur=(30.0, None))),
    "moved": (100.0, lambda seed: Recipe(flow=0.14, move=(30.0, None))),
}
START_AT = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 08:00 in Đắk Lắk
NIGHT_START_AT = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)  # 20:00


def scenario(name: str, *, seed: int = 0, duration_s: float | None = None, fps: float = 25,
             size: tuple[int, int] = (640, 360), settings: DetectionSettings | None = None) -> Scenario:
    """A named scenario (see SCENARIOS) with its camera, truths and frames."""
    if name not in RECIPES:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(RECIPES)}")
    default_duration, make = RECIPES[name]
    recipe = make(seed)
    start_at = NIGHT_START_AT if recipe.night else START_AT
    return Scenario(name, recipe, seed=seed, duration_s=duration_s or default_duration, fps=fps, size=size,
                    start_at=start_at, settings=settings)


def _hour(t: float) -> float:
    return (t / 3600.0) % 24.0


# The day's jams: (hour it starts, minutes the bottleneck past the view holds, arrivals per lane per second while
# it holds, green seconds per cycle, cycle seconds), in both directions.  Two at the rush hours, the others at
# dawn (headlights still on), mid-morning, noon, late afternoon and at night: shorter or longer, denser or lighter.
DAY_JAMS = (
    (5.75, 10, 0.35, 2.0, 14.0),  # 05:45, dawn
    (7.4, 15, 0.4, 2.0, 14.0),  # 07:24, morning rush hour
    (9.75, 6, 0.35, 3.0, 12.0),  # 09:45, short
    (12.6, 12, 0.45, 2.0, 16.0),  # 12:36, dense
    (16.1, 8, 0.3, 3.0, 14.0),  # 16:06, lighter
    (17.5, 15, 0.4, 2.0, 14.0),  # 17:30, evening rush hour into dusk
    (19.0, 10, 0.4, 2.0, 14.0),  # 19:00, night
    (22.3, 7, 0.35, 2.0, 14.0),  # 22:18, late night, short
)


def _day_flow(t: float) -> float:
    """Arrivals per lane per second over a day (t = 0 at midnight): quiet nights, two rush hours, and the
    demand of each jam of DAY_JAMS while its bottleneck holds (from a minute before)."""
    hour = _hour(t)
    for start, minutes, flow, _green, _cycle in DAY_JAMS:
        if start - 1 / 60 <= hour < start + minutes / 60:
            return flow
    if hour < 5 or hour >= 23:
        return 0.03
    if 6.5 <= hour < 8.5 or 16.5 <= hour < 18.5:
        return 0.4
    if hour < 6.5 or hour >= 21:
        return 0.1
    return 0.2


def _day() -> Recipe:
    """A whole day: light from the clock, eight jams (DAY_JAMS), breakdowns by day and night, a rainy hour,
    clouds passing (exposure steps), and no camera fault (the faults' false alarms per day)."""
    h = 3600.0
    stops = tuple((hour * h, lane, z, 240.0) for hour, lane, z in (
        (1.5, 3, 30.0), (4.2, 0, 25.0), (9.3, 2, 40.0), (10.7, 1, 30.0), (13.2, 3, 45.0), (15.4, 0, 35.0),
        (19.6, 2, 30.0), (21.8, 1, 25.0), (23.1, 3, 35.0), (12.1, 0, 45.0)))
    blocks = tuple((start * h, start * h + minutes * 60.0, away, green, cycle)
                   for start, minutes, _flow, green, cycle in DAY_JAMS for away in (True, False))
    exposure = tuple((t * h, gain) for t, gain in ((10.0, 0.7), (10.05, 1.0), (11.5, 1.3), (11.52, 1.0),
                                                   (14.9, 0.65), (15.0, 1.0)))
    return Recipe(flow=_day_flow, stops=stops, blocks=blocks, exposure=exposure, rain=(14.0 * h, 15.0 * h),
                  walkers=0.03, day_cycle=True)


DAY_START_AT = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # midnight in Đắk Lắk


def long_scenario(name: str, *, seed: int = 0, duration_s: float | None = None, fps: float = 2,
                  size: tuple[int, int] = (320, 180), settings: DetectionSettings | None = None) -> Scenario:
    """A long scenario for ``ioc vision eval --long`` (rendered small: the analysis size)."""
    if name != "day":
        raise ValueError(f"unknown long scenario {name!r}; known: day")
    return Scenario(name, _day(), seed=seed, duration_s=duration_s or 86400.0, fps=fps, size=size,
                    start_at=DAY_START_AT, settings=settings)


LONG_SCENARIOS: dict[str, Callable[..., Scenario]] = {"day": lambda **kwargs: long_scenario("day", **kwargs)}


def _named(name: str) -> Callable[..., Scenario]:
    def make(**kwargs) -> Scenario:
        return scenario(name, **kwargs)
    return make


SCENARIOS: dict[str, Callable[..., Scenario]] = {name: _named(name) for name in RECIPES}


def write_mp4(scenario: Scenario, path: str | Path, fps: float = 25, gop: int = 50) -> Path:
    """Encode the scenario as an H.264 (yuv420p) MP4 with a keyframe every ``gop`` frames."""
    from fractions import Fraction

    import av

    path = Path(path)
    width, height = scenario.size
    with av.open(str(path), mode="w", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.gop_size = gop
        stream.codec_context.options = {"preset": "veryfast", "crf": "23", "bf": "0",
                                        "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0"}
        for frame in scenario.frames(fps):
            video = av.VideoFrame.from_ndarray(frame.image, format="bgr24")
            for packet in stream.encode(video):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
