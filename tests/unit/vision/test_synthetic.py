"""The synthetic traffic videos: deterministic, with sane truths, and encodable as H.264 MP4."""

from __future__ import annotations

import av
import numpy
import pytest

from vision.config import DetectionSettings
from vision.synthetic import SCENARIOS, scenario, write_mp4


def _frames(sc, fps, count):
    out = []
    for frame in sc.frames(fps):
        out.append(frame)
        if len(out) == count:
            break
    return out


def test_the_same_seed_gives_the_same_video_and_another_seed_another():
    a = _frames(scenario("free_flow", seed=3, size=(320, 180)), 2, 6)
    b = _frames(scenario("free_flow", seed=3, size=(320, 180)), 2, 6)
    c = _frames(scenario("free_flow", seed=4, size=(320, 180)), 2, 6)
    assert all(numpy.array_equal(x.image, y.image) for x, y in zip(a, b, strict=True))
    assert not numpy.array_equal(a[-1].image, c[-1].image)
    assert [f.t for f in a] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    assert a[0].image.shape == (180, 320, 3) and a[0].image.dtype == numpy.uint8
    assert a[0].keyframe and not a[1].keyframe and a[4].keyframe
    assert (a[1].at - a[0].at).total_seconds() == 0.5 and a[0].at.tzinfo is not None


def test_the_traffic_does_not_depend_on_the_frame_rate():
    sc = scenario("free_flow", seed=1, size=(320, 180))
    at_2 = next(f for f in sc.frames(2) if f.t == 3.0).image
    at_10 = next(f for f in sc.frames(10) if abs(f.t - 3.0) < 1e-9).image
    # the noise differs with the frame count; the scene (vehicles) must not
    assert numpy.abs(at_2.astype(int) - at_10.astype(int)).mean() < 4.0


def test_every_scenario_has_a_camera_with_lanes_inside_the_image():
    for name in SCENARIOS:
        config = scenario(name, size=(320, 180)).config
        assert len(config.lanes) == 4 and len(config.roi) >= 3
        for lane in config.lanes:
            assert all(0 <= x <= 1 and 0 <= y <= 1 for x, y in lane.polygon)
            assert abs(numpy.hypot(*lane.direction) - 1) < 1e-3
        towards = [lane for lane in config.lanes if lane.name.startswith("in")]
        assert all(lane.direction[1] > 0.5 for lane in towards)  # coming down the image, towards the camera


def test_truths_follow_the_settings():
    settings = DetectionSettings(stopped_after_s=20.0)
    stopped = scenario("stopped_vehicle", settings=settings).truths
    default = scenario("stopped_vehicle").truths
    assert [t.kind for t in stopped] == ["stopped_vehicle", "stopped_vehicle"]
    assert {t.subtype for t in stopped} == {"out2", "in2"}
    for short, long in zip(stopped, default, strict=True):
        assert long.start_s - short.start_s == pytest.approx(10.0, abs=0.05)
        assert long.end_s > long.start_s
        x0, y0 = long.region[0]
        x1, y1 = long.region[2]
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1


@pytest.mark.parametrize("name", ["free_flow", "slow_dense", "weaving", "rain", "night_headlights", "shake",
                                  "lighting_change"])
def test_negative_scenarios_have_no_truth(name):
    assert scenario(name).truths == []


def test_the_jam_is_one_congestion_that_clears_and_faults_start_after_their_wait():
    (jam,) = scenario("jam_builds_and_clears").truths
    assert jam.kind == "congestion" and 60 < jam.start_s < jam.end_s < 300
    settings = DetectionSettings()
    expected = {"frozen": 30 + settings.frozen_after_s, "covered": 30 + settings.covered_after_s,
                "defocused": 30 + settings.defocus_after_s, "moved": 32 + settings.moved_after_s}
    for fault, start in expected.items():
        (truth,) = scenario(fault).truths
        assert (truth.kind, truth.subtype, truth.start_s, truth.end_s) == ("camera_fault", fault, start, None)


def test_a_frozen_camera_repeats_its_image_and_a_covered_one_goes_dark():
    frozen = [f.image for f in scenario("frozen", size=(320, 180), duration_s=40).frames(2) if f.t >= 31]
    assert all(numpy.array_equal(frozen[0], image) for image in frozen[1:])
    covered = [f.image for f in scenario("covered", size=(320, 180), duration_s=40).frames(2)]
    assert covered[0].mean() > 80 and covered[-1].mean() < 30 and covered[-1][40:].std() < 8


def test_write_mp4_encodes_h264_that_decodes_back(tmp_path):
    sc = scenario("stopped_vehicle", size=(320, 180), duration_s=4)
    path = write_mp4(sc, tmp_path / "cam.mp4", fps=10, gop=20)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        frames = list(container.decode(stream))
    assert len(frames) == 40
    assert (frames[0].width, frames[0].height) == (320, 180) and frames[0].format.name == "yuv420p"
    assert [i for i, f in enumerate(frames) if f.key_frame] == [0, 20]
    original = next(iter(sc.frames(10))).image
    decoded = frames[0].to_ndarray(format="bgr24")
    assert numpy.abs(original.astype(int) - decoded.astype(int)).mean() < 8


def test_other_seeds_move_the_breakdowns_to_an_away_and_a_towards_lane():
    layouts = set()
    for seed in (1, 2, 3):
        truths = scenario("stopped_vehicle", seed=seed).truths
        assert len(truths) == 2
        lanes = {t.subtype for t in truths}
        assert len(lanes & {"in1", "in2"}) == 1 and len(lanes & {"out1", "out2"}) == 1
        layouts.add(tuple(sorted((t.subtype, t.start_s) for t in truths)))
    assert len(layouts) == 3


def test_the_day_has_eight_jams_by_day_dusk_and_night_with_their_demand():
    from vision.synthetic import DAY_JAMS, _day, long_scenario

    recipe = _day()
    assert len(DAY_JAMS) == 8 and len(recipe.blocks) == 16  # each jam blocks both directions
    hours = [start for start, *_ in DAY_JAMS]
    assert any(h < 6 for h in hours) and any(h >= 19 for h in hours)  # before dawn's light and at night
    assert len({minutes for _, minutes, *_ in DAY_JAMS}) >= 4 and len({flow for _, _, flow, *_ in DAY_JAMS}) >= 3
    for start, minutes, flow, _green, _cycle in DAY_JAMS:
        assert recipe.flow((start + minutes / 120) * 3600) == flow
    assert len(recipe.stops) == 10 and recipe.rain == (14 * 3600.0, 15 * 3600.0)
    assert long_scenario("day", duration_s=10).duration_s == 10


def test_a_jam_one_way_is_a_congestion_and_the_jams_of_both_ways_are_one():
    from vision.synthetic import START_AT, Recipe, Scenario, _jam_flow

    def jam(*away):
        recipe = Recipe(flow=_jam_flow(5.0, 185.0, 0.14, 0.55),
                        blocks=tuple((15.0, 200.0, way, 2.0, 14.0) for way in away))
        return Scenario("jam", recipe, seed=0, duration_s=300.0, fps=2, size=(320, 180), start_at=START_AT).truths

    (one_way,) = jam(True)  # only the lanes away from the camera queue; the others flow
    (both,) = jam(True, False)
    assert one_way.kind == both.kind == "congestion"
    assert 60 < both.start_s <= one_way.start_s < one_way.end_s <= 300
