"""The stopped-vehicle detector on small synthetic roads (tests/unit/vision/scenes.py): a vehicle that
stops is raised once, about when it has stood ``stopped_after_s``, and cleared when it leaves; moving
traffic, a lighting jump, camera shake and rain raise nothing."""

import cv2
import numpy
import pytest

from tests.unit.vision.scenes import START, Scene, run
from vision.config import CameraConfig, Lane
from vision.detectors import FrameContext
from vision.detectors import stopped as stopped_vehicle
from vision.events import Frame
from vision.geometry import lane_views
from vision.pipeline import CameraPipeline, default_detectors


@pytest.mark.parametrize("weather", [{}, {"rain": 0.01}, {"lighting": (40.0, 1.4)}], ids=["clear", "rain", "light"])
def test_a_vehicle_that_stops_is_raised_once_then_cleared_when_it_leaves(weather):
    # stops at x=0.5 of lane L1 at t=20 s, leaves at t=70 s; stopped_after_s is 15 s
    events = run(Scene(stop=(20.0, 70.0, 0.5), **weather))
    stopped = [(t, i) for t, i in events if i.kind == "stopped_vehicle"]
    assert [i.state for _, i in stopped] == ["raised", "cleared"], stopped
    (raised_t, raised), (cleared_t, cleared) = stopped
    assert raised.subtype == "L1" and cleared.key == raised.key
    assert 35.0 - 2 <= raised_t <= 35.0 + 5, raised_t  # the truth: stood 15 s at t=35
    assert 19.0 <= (raised.started_at - START).total_seconds() <= 25.0  # when it stopped, not when seen
    assert 70.0 <= cleared_t <= 70.0 + 10
    assert raised.snapshot_jpeg[:2] == b"\xff\xd8"
    x0, y0 = raised.region[0]
    x1, y1 = raised.region[2]
    assert x0 < 0.5 < x1 and y0 < 0.49 < y1  # the box is around the vehicle
    assert raised.evidence["still_seconds"] >= 14 and raised.evidence["lane"] == "L1"


@pytest.mark.parametrize("scene", [
    Scene(duration_s=60.0),
    Scene(duration_s=60.0, headway_s=0.8, speed=0.1),  # dense and slow, but moving
    Scene(duration_s=60.0, lighting=(30.0, 0.6)),
    Scene(duration_s=60.0, shake_px=4.0),
    Scene(duration_s=60.0, rain=0.01),
], ids=["free_flow", "slow_dense", "lighting", "shake", "rain"])
def test_moving_traffic_and_a_changing_view_raise_nothing(scene):
    assert run(scene) == []


def test_vehicles_standing_in_a_jam_are_the_jam_not_stopped_vehicles():
    events = run(Scene(headway_s=0.25, jam=(25.0, 65.0)))
    assert {i.kind for _, i in events} == {"congestion"}


def test_while_a_jam_is_raised_the_stopped_vehicle_detector_stands_aside_in_every_lane():
    seen = []

    class Probe:  # after the detectors: what the congestion detector told the stopped-vehicle detector
        kind = "probe"

        def update(self, frame, ctx):
            seen.append((frame.t - 1000.0, ctx.jam, set(ctx.queued_lanes)))
            return []

    scene = Scene(headway_s=0.25, jam=(25.0, 65.0))
    pipeline = CameraPipeline(scene.config(), detectors=[*default_detectors(scene.config()), Probe()])
    events = [(frame.t - 1000.0, i) for frame in scene.frames() for i in pipeline.process(frame)]
    raised = next(t for t, i in events if i.kind == "congestion" and i.state == "raised")
    cleared = next(t for t, i in events if i.kind == "congestion" and i.state == "cleared")
    during = [(jam, lanes) for t, jam, lanes in seen if raised <= t < cleared]
    assert during and all(jam and lanes == {"L1", "L2"} for jam, lanes in during)
    assert not any(jam for t, jam, _ in seen if t < 20.0)  # free flow before the jam


def test_vehicles_waiting_behind_a_stopped_one_are_its_queue_not_more_stopped_vehicles():
    # the stopped vehicle stands 20-80 s; two more stop behind it at 25 and 30 s and stand 50 s (stopped_after_s
    # is 15 s), then go after it: one incident, for the first, cleared when it has left
    events = run(Scene(duration_s=110.0, stop=(20.0, 80.0, 0.6), queue_behind=2))
    stopped = [(t, i) for t, i in events if i.kind == "stopped_vehicle"]
    assert [i.state for _, i in stopped] == ["raised", "cleared"], stopped
    (raised_t, raised), _ = stopped
    assert 35.0 - 2 <= raised_t <= 35.0 + 5, raised_t
    x0, _ = raised.region[0]
    x1, _ = raised.region[2]
    assert x0 < 0.6 < x1, raised.region  # the one at the head of the queue



def _context(grey, background):
    config = CameraConfig(code="TEST-1", url="file:///dev/null")
    frame = Frame(t=0.0, at=START, image=cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))
    return FrameContext(frame=frame, config=config, size=(grey.shape[1], grey.shape[0]), grey=grey,
                        roi_mask=numpy.full(grey.shape, 255, numpy.uint8), background=background.astype(numpy.float32))


def test_a_smooth_bus_standing_is_not_taken_for_a_ghost_and_the_ghost_it_leaves_is():
    # a road with lane markings (edges) and a bus of one colour over them: fewer edges inside its box than the
    # road has, but its outline is in the image; once it has gone, the outline is in the model only
    road = numpy.full((60, 80), 90, numpy.uint8)
    for y in range(4, 60, 8):
        road[y:y + 2, :] = 200
    bus = road.copy()
    bus[20:40, 25:55] = 40
    box = (25, 20, 30, 20)
    blob = numpy.ones((20, 30), bool)
    standing = _context(bus, road)
    assert stopped_vehicle._edge_gain(standing, *box) < stopped_vehicle.GHOST_EDGE_GAIN  # alone, it fooled the test
    assert stopped_vehicle._contour_gain(standing, blob, *box) > 1.2
    ghost = _context(road, bus)
    assert stopped_vehicle._contour_gain(ghost, blob, *box) < stopped_vehicle.GHOST_CONTOUR_GAIN


def test_what_stands_just_ahead_on_its_way_makes_a_vehicle_wait_and_only_that():
    # two lanes going right (L1, L2) and one going left (L3), 100x60 analysis pixels, 12 pixels wide
    lanes = (Lane("L1", ((0, 0.2), (1, 0.2), (1, 0.4), (0, 0.4)), (1.0, 0.0)),
             Lane("L2", ((0, 0.4), (1, 0.4), (1, 0.6), (0, 0.6)), (1.0, 0.0)),
             Lane("L3", ((0, 0.6), (1, 0.6), (1, 0.8), (0, 0.8)), (-1.0, 0.0)))
    grey = numpy.full((60, 100), 90, numpy.uint8)
    ctx = _context(grey, grey)
    ctx.config = CameraConfig(code="TEST-1", url="file:///dev/null", lanes=lanes)
    ctx.roi_mask, ctx.lanes = lane_views(ctx.config, (100, 60))
    detector = stopped_vehicle.StoppedVehicleDetector(ctx.config)
    detector.ways = stopped_vehicle._ways(ctx)
    blob = numpy.zeros((60, 100), bool)
    blob[14:22, 40:50] = True  # a car in L1, its front at x = 49

    def waits(*boxes):
        still = numpy.zeros((60, 100), numpy.uint8)
        still[blob] = 1
        for y0, y1, x0, x1 in boxes:
            still[y0:y1, x0:x1] = 1
        return detector._waits_behind("L1", still, blob, across=12.0)

    assert not waits()
    assert waits((14, 22, 52, 60))  # a car standing 3 pixels ahead in its lane
    assert waits((26, 34, 55, 63))  # ...or in the next lane its way (a broken-down car it cannot pass)
    assert not waits((14, 22, 75, 85))  # 26 pixels ahead: more than 1.5 lane widths, it could drive on
    assert not waits((14, 22, 25, 38))  # behind it: that one waits, not this one
    assert not waits((38, 46, 52, 60))  # ahead, but on the other carriageway


def test_specks_and_lines_static_for_a_minute_are_learnt_as_road_and_a_vehicle_is_not():
    grey = numpy.full((60, 100), 90, numpy.uint8)
    ctx = _context(grey, grey)
    ctx.fg_short = numpy.zeros((60, 100), bool)
    healed = []
    ctx.heal = lambda region: healed.append(region.astype(bool))
    detector = stopped_vehicle.StoppedVehicleDetector(ctx.config)
    detector.static = numpy.zeros((60, 100), numpy.float32)
    detector.static[10, 5:40] = 300.0  # a one-pixel line left by a queue's edge, static for 5 minutes
    detector.static[30:38, 50:62] = 300.0  # a car standing as long
    detector.static[50, 80] = 30.0  # a speck static for half a minute only
    blobs = numpy.zeros((60, 100), numpy.uint8)
    blobs[30:38, 50:62] = 1  # what the opening kept: the car
    detector._renew_specks(ctx, blobs)
    assert len(healed) == 1 and healed[0][10, 5:40].all() and healed[0].sum() == 35
    assert detector.static[10].max() == 0.0 and detector.static[30:38, 50:62].min() == 300.0
    assert detector.static[50, 80] == 30.0
