"""Small synthetic road scenes for the detectors' unit tests (seconds, not minutes).

One straight road across the image with two lanes going right; vehicles are
coloured boxes.  Each knob makes one of the hard cases: a vehicle that stops, a jam,
dense slow traffic, a lighting jump, camera shake, rain noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import cv2
import numpy

from vision.config import CameraConfig, DetectionSettings, Lane
from vision.events import Frame
from vision.pipeline import CameraPipeline

WIDTH, HEIGHT = 320, 180
LANES = (
    Lane(name="L1", polygon=((0.0, 0.40), (1.0, 0.40), (1.0, 0.58), (0.0, 0.58)), direction=(1.0, 0.0)),
    Lane(name="L2", polygon=((0.0, 0.60), (1.0, 0.60), (1.0, 0.78), (0.0, 0.78)), direction=(1.0, 0.0)),
)
START = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


def run(scene: Scene) -> list:
    """The scene through a CameraPipeline: (seconds since the scene began, incident) for every incident."""
    pipeline = CameraPipeline(scene.config())
    events = []
    for frame in scene.frames():
        events.extend((frame.t - 1000.0, incident) for incident in pipeline.process(frame))
    return events


@dataclass
class Scene:
    duration_s: float = 90.0
    fps: float = 2.0
    speed: float = 0.5  # lane lengths per second
    headway_s: float = 3.0  # seconds between vehicles in a lane
    jam: tuple[float, float] | None = None  # (from, to): traffic stands (dense) in between
    stop: tuple[float, float, float] | None = None  # (at, until, x): one vehicle stops in L1 at x (0..1)
    queue_behind: int = 0  # vehicles that come up behind the stopped one, stand there, and go after it leaves
    lighting: tuple[float, float] | None = None  # (at, gain): the whole view's brightness changes
    shake_px: float = 0.0
    rain: float = 0.0  # share of pixels hit by streaks each frame
    vehicle_px: tuple[int, int] = (34, 24)
    seed: int = 0
    settings: dict = field(default_factory=dict)

    def config(self) -> CameraConfig:
        base = {"stopped_after_s": 15.0, "congestion_window_s": 20.0, "cooldown_s": 60.0, "clip_after_s": 0.0}
        base.update(self.settings)
        return CameraConfig(code="TEST-1", url="file:///dev/null", lanes=LANES,
                            settings=DetectionSettings.from_dict(base))

    def frames(self):
        rng = numpy.random.default_rng(self.seed)
        road = numpy.full((HEIGHT, WIDTH, 3), (70, 75, 80), numpy.uint8)
        road[: int(0.38 * HEIGHT)] = (60, 110, 70)
        road[int(0.80 * HEIGHT):] = (60, 110, 70)
        road = cv2.add(road, rng.integers(0, 12, road.shape, dtype=numpy.uint8))
        for x in range(0, WIDTH, 40):
            cv2.line(road, (x, int(0.59 * HEIGHT)), (x + 18, int(0.59 * HEIGHT)), (220, 220, 220), 2)
        colours = rng.integers(20, 240, (500, 3))
        vw, vh = self.vehicle_px
        steps = int(self.duration_s * self.fps)
        for step in range(steps):
            t = step / self.fps
            image = road.copy()
            for lane_index, lane in enumerate(LANES):
                y = int((lane.polygon[0][1] + 0.09) * HEIGHT) - vh // 2
                for n, x in self._positions(t, lane_index):
                    if n < 0:  # the stopped vehicle (red), and those queueing behind it
                        colour = (40, 40 + 60 * (-1 - n), 200)
                    else:
                        colour = tuple(int(c) for c in colours[(n * 7 + lane_index * 131) % 500])
                    left = int(x * WIDTH) - vw // 2
                    cv2.rectangle(image, (left, y), (left + vw, y + vh), colour, -1)
                    cv2.rectangle(image, (left + 6, y + 3), (left + vw - 8, y + vh - 3),
                                  tuple(max(0, c - 50) for c in colour), -1)
            if self.lighting and t >= self.lighting[0]:
                image = cv2.convertScaleAbs(image, alpha=self.lighting[1])
            if self.rain:
                hit = rng.random((HEIGHT, WIDTH)) < self.rain
                hit = cv2.dilate(hit.astype(numpy.uint8), numpy.ones((5, 1), numpy.uint8)) > 0
                image[hit] = numpy.minimum(255, image[hit].astype(numpy.int16) + 60).astype(numpy.uint8)
            if self.shake_px:
                dx, dy = rng.uniform(-self.shake_px, self.shake_px, 2)
                image = cv2.warpAffine(image, numpy.float32([[1, 0, dx], [0, 1, dy]]), (WIDTH, HEIGHT),
                                       borderMode=cv2.BORDER_REPLICATE)
            image = cv2.add(image, rng.integers(0, 4, image.shape, dtype=numpy.uint8))
            yield Frame(t=1000.0 + t, at=START + timedelta(seconds=t), image=image)

    def _positions(self, t: float, lane_index: int) -> list[tuple[int, float]]:
        """(vehicle number, position 0..1 of the width) of the vehicles in a lane at time t: a column moving together."""
        spacing = self.headway_s * self.speed
        shift = self._travelled(t) + lane_index * spacing / 2
        first = -0.1 + (shift % spacing) - spacing
        base = int(shift // spacing)
        positions = [(base - k, first + k * spacing) for k in range(int(1.3 / spacing) + 3)]
        positions = [(n, x) for n, x in positions if -0.1 <= x <= 1.1]
        if self.stop and lane_index == 0:
            at, until, stop_x = self.stop
            enter = at - (stop_x + 0.1) / self.speed
            if t >= enter:
                x = min(stop_x, -0.1 + (t - enter) * self.speed)
                if t >= until:
                    x = stop_x + (t - until) * self.speed
                positions.append((-1, x))  # drawn last: in front of the lane's traffic
            gap = (self.vehicle_px[0] + 6) / WIDTH
            for k in range(1, self.queue_behind + 1):  # each arrives 5 s after the one ahead and stops behind it
                place, arrive = stop_x - k * gap, at + 5.0 * k
                enter = arrive - (place + 0.1) / self.speed
                if t >= enter:
                    x = min(place, -0.1 + (t - enter) * self.speed)
                    go = until + 1.0 * k  # moves off a second after the one ahead
                    if t >= go:
                        x = place + (t - go) * self.speed
                    positions.append((-1 - k, x))
        return positions

    def _travelled(self, t: float) -> float:
        """How far (lane lengths) the traffic has moved by ``t``: it stands during the jam."""
        if not self.jam:
            return t * self.speed
        start, end = self.jam
        return (min(t, start) + max(0.0, t - end)) * self.speed
