"""The congestion detector on small synthetic roads: a jam (lanes full and standing) is raised once
after the window and cleared when the traffic moves again; dense traffic that moves is no jam."""

import numpy

from tests.unit.vision.scenes import START, Scene, run
from vision.detectors.congestion import BINS, _best_shift


def test_a_jam_is_one_incident_raised_after_the_window_and_cleared_when_traffic_moves():
    # both lanes full (a vehicle every 40 px) stand from 25 s to 65 s; congestion_window_s is 20 s
    events = run(Scene(duration_s=85.0, headway_s=0.25, jam=(25.0, 65.0)))
    assert [(i.kind, i.state) for _, i in events] == [("congestion", "raised"), ("congestion", "cleared")]
    (raised_t, raised), (cleared_t, cleared) = events
    assert 45.0 - 2 <= raised_t <= 45.0 + 5, raised_t
    assert 23.0 <= (raised.started_at - START).total_seconds() <= 30.0
    assert 65.0 < cleared_t <= 65.0 + 15, cleared_t
    assert raised.subtype is None and cleared.key == raised.key
    assert raised.evidence["occupancy"] >= 0.55 and raised.evidence["speed"] < 0.03
    assert raised.evidence["changing"] < 0.2  # nothing moves in it
    assert raised.evidence["lanes"] == "L1,L2"  # one carriageway: both lanes go right


def test_dense_traffic_that_moves_is_not_a_jam():
    # as dense as the jam, moving at 0.1 lane lengths per second
    assert run(Scene(duration_s=70.0, headway_s=0.3, speed=0.1)) == []


def test_the_profile_shift_follows_the_traffic_along_the_lane():
    rng = numpy.random.default_rng(3)
    road = rng.normal(0.0, 10.0, 80)
    before = road[20:20 + BINS]
    for shift in (0.0, 2.5, -4.0, 9.0):
        after = numpy.interp(numpy.arange(BINS) - shift + 20, numpy.arange(80), road)
        assert abs(_best_shift(before, after) - shift) < 0.3
    assert _best_shift(numpy.zeros(BINS), before) is None  # an empty lane has nothing to follow
    far = numpy.interp(numpy.arange(BINS) - 3.0 + 20, numpy.arange(80), road)
    assert abs(_best_shift(before, far, (BINS // 2, BINS)) - 3.0) < 0.3  # one half of the lane by itself
