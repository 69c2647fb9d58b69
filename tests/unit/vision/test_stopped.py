"""The stopped-vehicle detector on small synthetic roads (tests/unit/vision/scenes.py): a vehicle that
stops is raised once, about when it has stood ``stopped_after_s``, and cleared when it leaves; moving
traffic, a lighting jump, camera shake and rain raise nothing."""

import pytest

from tests.unit.vision.scenes import START, Scene, run


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
