"""CameraPipeline's incident rules with a scripted detector (what it reports when is written in the
test): raised once, cleared once, a cooldown per kind and lane, the confidence threshold, idle ticks;
the shared per-frame work (masks, backgrounds); the config and geometry it rests on."""

from dataclasses import dataclass, field
from datetime import timedelta

import numpy
import pytest

from tests.unit.vision.scenes import START
from vision.config import CameraConfig, DetectionSettings, Lane
from vision.detectors import Observation
from vision.events import Frame
from vision.geometry import lane_views, metric_along, polygon_mask
from vision.pipeline import CameraPipeline


@dataclass
class Scripted:
    """A detector that sees ``kind``/``subtype`` with ``confidence`` during the given spans (seconds)."""

    spans: list
    kind: str = "stopped_vehicle"
    subtype: str | None = "L1"
    confidence: float = 0.9
    idle_spans: list = field(default_factory=list)

    def update(self, frame, ctx):
        return [self._see(frame.at, frame.t) for a, b in self.spans if a <= frame.t < b]

    def idle(self, at, t):
        return [Observation("camera_fault", "no_frames", True, 0.9, at, {"silent_s": 31}) for a, b in
                self.idle_spans if a <= t < b]

    def _see(self, at, t):
        return Observation(self.kind, self.subtype, True, self.confidence, at - timedelta(seconds=5),
                           {"still_seconds": numpy.float32(5.0), "pixels": numpy.int64(12)}, ((0.1, 0.1), (0.2, 0.2),
                                                                                             (0.1, 0.2)))


def frames(until: float, fps: float = 2.0):
    image = numpy.full((36, 64, 3), 90, numpy.uint8)
    for step in range(int(until * fps)):
        t = step / fps
        yield Frame(t=t, at=START + timedelta(seconds=t), image=image)


def play(detector, until=200.0, **settings):
    config = CameraConfig(code="CAM-T", url="file:///dev/null",
                          settings=DetectionSettings(cooldown_s=60.0, clip_after_s=0.0, **settings))
    pipeline = CameraPipeline(config, detectors=[detector])
    return [(frame.t, incident) for frame in frames(until) for incident in pipeline.process(frame)]


def test_raised_once_cleared_once_and_not_again_within_the_cooldown():
    events = play(Scripted(spans=[(10, 30), (35, 50), (120, 130)]))
    states = [(t, i.state) for t, i in events if i.state != "updated"]
    # 35-50 comes 5 s after the clear at 30: within the 60 s cooldown, nothing; 120 is a new episode
    assert states == [(10.0, "raised"), (30.0, "cleared"), (120.0, "raised"), (130.0, "cleared")]
    first, second = events[0][1], [i for t, i in events if t == 120.0][0]
    assert first.key == "CAM-T:stopped_vehicle:L1:20261204T080005Z"  # its start: 5 s before it was seen
    assert second.key != first.key
    assert first.snapshot_jpeg[:2] == b"\xff\xd8" and first.region == ((0.1, 0.1), (0.2, 0.2), (0.1, 0.2))
    assert first.evidence == {"still_seconds": 5.0, "pixels": 12}
    assert type(first.evidence["pixels"]) is int  # plain numbers: the sink stores them as JSON


def test_below_the_minimum_confidence_nothing_is_raised():
    assert play(Scripted(spans=[(10, 30)], confidence=0.4), until=40) == []
    assert [i.state for _, i in play(Scripted(spans=[(10, 30)], confidence=0.4), until=40,
                                     min_confidence=0.3)] == ["raised", "cleared"]


def test_idle_ticks_reach_the_detectors_that_watch_for_silence_only():
    config = CameraConfig(code="CAM-T", url="file:///dev/null", settings=DetectionSettings(clip_after_s=0.0))
    detector = Scripted(spans=[(0, 100)], idle_spans=[(20, 40)])
    pipeline = CameraPipeline(config, detectors=[detector])
    for frame in frames(10):
        pipeline.process(frame)
    raised = pipeline.idle(START + timedelta(seconds=25), 25.0)
    assert [(i.kind, i.subtype, i.state) for i in raised] == [("camera_fault", "no_frames", "raised")]
    assert raised[0].snapshot_jpeg  # the last frame seen
    # another silent tick: the stopped vehicle seen on frames is not cleared by it, nor is anything else
    assert pipeline.idle(START + timedelta(seconds=45), 45.0) == []
    # a frame comes: silence is over (the detector no longer reports it), the vehicle is still seen
    after = pipeline.process(Frame(50.0, START + timedelta(seconds=50), next(frames(1)).image))
    assert [(i.kind, i.state) for i in after] == [("camera_fault", "cleared")]


def test_the_context_masks_and_backgrounds():
    lane = Lane(name="A", polygon=((0.0, 0.5), (1.0, 0.5), (1.0, 1.0), (0.0, 1.0)), direction=(1.0, 0.0))
    config = CameraConfig(code="CAM-T", url="file:///dev/null", roi=((0.0, 0.25), (1.0, 0.25), (1.0, 1.0), (0.0, 1.0)),
                          lanes=(lane,))
    pipeline = CameraPipeline(config, detectors=[])
    image = numpy.full((360, 640, 3), 80, numpy.uint8)
    for frame in frames(25):
        ctx = pipeline.context(Frame(frame.t, frame.at, image))
    assert ctx.size == (160, 90) and ctx.grey.shape == (90, 160) and ctx.warm
    assert abs(numpy.count_nonzero(ctx.roi_mask) / ctx.roi_mask.size - 0.75) < 0.02
    assert [view.lane.name for view in ctx.lanes] == ["A"] and abs(ctx.lanes[0].area / (160 * 45) - 1) < 0.03
    assert not ctx.fg_long.any() and not ctx.fg_short.any()
    box = image.copy()
    box[250:300, 300:380] = 220  # something bright in the lane
    ctx = pipeline.context(Frame(25.0, START + timedelta(seconds=25), box))
    assert ctx.fg_long[65:73, 77:93].all() and ctx.fg_short[65:73, 77:93].all() and ctx.motion[65:73, 77:93].all()
    assert not ctx.fg_long[:20].any()  # outside the ROI nothing is foreground
    darker = (image * 0.6).astype(numpy.uint8)  # the light changes: the view as a whole, no object
    ctx = pipeline.context(Frame(25.5, START + timedelta(seconds=25.5), darker))
    assert ctx.unstable and numpy.count_nonzero(ctx.fg_long) < 0.01 * ctx.fg_long.size


def test_geometry_masks_and_the_perspective_corrected_position():
    mask = polygon_mask(((0.25, 0.0), (0.75, 0.0), (0.75, 1.0), (0.25, 1.0)), (100, 50))
    assert mask.shape == (50, 100) and abs(numpy.count_nonzero(mask) - 50 * 50) <= 100
    roi, views = lane_views(CameraConfig(code="C", url="u"), (100, 50))
    assert roi.all() and [v.lane.name for v in views] == [""]  # no lanes: the ROI is one lane
    # a lane narrowing towards the top like a road in perspective: the far (top) half of the road
    # is few pixels, so most pixels are near (position < 0.5 along a lane going up)
    road = polygon_mask(((0.45, 0.0), (0.55, 0.0), (1.0, 1.0), (0.0, 1.0)), (100, 50))
    position = metric_along(road, (0.0, -1.0))
    assert position.min() >= 0 and position.max() <= 1
    assert numpy.mean(position < 0.5) > 0.6


@pytest.mark.parametrize("data, message", [
    ({"colour": 1}, "unknown keys colour"),
    ({"stopped_after_s": 0}, "stopped_after_s must be more than 0"),
    ({"congestion_occupancy_on": 1.5}, "between 0 and 1"),
    ({"congestion_occupancy_off": 0.8}, "must not be above"),
    ({"stopped_enabled": "yes"}, "true or false"),
])
def test_settings_refuse_bad_values_with_the_field_named(data, message):
    with pytest.raises(ValueError, match=message):
        DetectionSettings.from_dict(data)


def test_a_camera_config_round_trips_and_refuses_bad_regions():
    data = {"code": "C1", "url": "rtsp://cam/1", "roi": [[0, 0], [1, 0], [1, 1]],
            "lanes": [{"name": "in", "polygon": [[0, 0], [1, 0], [1, 1]], "direction": [0, 3]}],
            "settings": {"stopped_after_s": 20}}
    config = CameraConfig.from_dict(data)
    assert config.lanes[0].direction == (0.0, 1.0) and config.settings.stopped_after_s == 20
    assert CameraConfig.from_dict(config.to_dict()) == config
    for bad, message in (({"roi": [[0, 0], [1, 0]]}, "at least 3 points"), ({"roi": [[0, 0], [1.2, 0], [1, 1]]},
                         "outside 0..1"), ({"read_mode": "x"}, "read_mode"),
                         ({"lanes": [{"name": "a", "polygon": [[0, 0], [1, 0], [1, 1]], "direction": [0, 0]}]},
                          "direction must not be zero")):
        with pytest.raises(ValueError, match=message):
            CameraConfig.from_dict({**data, **bad})


def test_an_operators_model_is_asked_before_a_traffic_incident_is_raised(tmp_path):
    # the test model (vision/onnx_detector.py's tests) finds one box (0.25, 0.5)-(0.75, 1.0) scored by brightness
    pytest.importorskip("onnxruntime")
    rows_model = pytest.importorskip("tests.unit.vision.test_onnx_detector")._rows_model
    path = rows_model(tmp_path)

    def raised(brightness, region, confidence=0.9, model=path):
        detector = Scripted(spans=[(0, 100)], confidence=confidence)
        detector._see = lambda at, t: Observation("stopped_vehicle", "L1", True, detector.confidence, at, {}, region)
        config = CameraConfig(code="CAM-T", url="file:///dev/null",
                              settings=DetectionSettings(detector_model=model, clip_after_s=0.0))
        pipeline = CameraPipeline(config, detectors=[detector])
        image = numpy.full((36, 64, 3), brightness, numpy.uint8)
        return [i for frame in frames(5) for i in pipeline.process(Frame(frame.t, frame.at, image))]

    inside = ((0.4, 0.6), (0.6, 0.6), (0.6, 0.9), (0.4, 0.9))
    (seen,) = raised(255, inside)
    assert seen.evidence["model_objects"] == 1 and seen.evidence["model_score"] == pytest.approx(1.0)
    assert seen.confidence == pytest.approx(0.9)
    # the model sees nothing there: a third less sure, and below min_confidence (0.5) it waits
    (unseen,) = raised(255, ((0.0, 0.0), (0.2, 0.0), (0.2, 0.2)))
    assert unseen.evidence["model_objects"] == 0 and unseen.confidence == pytest.approx(0.6)
    assert raised(30, inside, confidence=0.7) == []
    # a model that cannot be used: said in the evidence, the detectors go on
    (anyway,) = raised(255, inside, model=str(tmp_path / "absent.onnx"))
    assert anyway.evidence["model"] == "unreadable" and anyway.confidence == pytest.approx(0.9)


def test_the_clip_comes_once_its_post_roll_is_recorded_and_is_never_lost():
    # vision/evidence.py's recorder: the clip spans clip_before_s before to clip_after_s after the start
    config = CameraConfig(code="CAM-T", url="file:///dev/null",
                          settings=DetectionSettings(clip_before_s=2.0, clip_after_s=3.0, cooldown_s=0.0))

    def play(spans, started_before_s):
        detector = Scripted(spans=spans)
        detector._see = lambda at, t: Observation("congestion", None, True, 0.9,
                                                  at - timedelta(seconds=started_before_s), {}, None)
        pipeline = CameraPipeline(config, detectors=[detector])
        return [(frame.t, i) for frame in frames(30) for i in pipeline.process(frame)]

    # began 5 s before it is raised: the post-roll is there already, the clip comes with "raised"
    events = play([(10, 20)], started_before_s=5.0)
    assert [(t, i.state, i.clip_mp4 is not None) for t, i in events] == [(10.0, "raised", True), (20.0, "cleared", False)]
    assert events[0][1].clip_mp4[4:8] == b"ftyp" and events[0][1].snapshot_jpeg[:2] == b"\xff\xd8"
    # began when raised: the clip comes with the first "updated" 3 s later
    events = play([(10, 20)], started_before_s=0.0)
    assert [(t, i.state, i.clip_mp4 is not None) for t, i in events] == [
        (10.0, "raised", False), (13.0, "updated", True), (20.0, "cleared", False)]
    # gone before its post-roll: "cleared" waits for it and brings the clip
    events = play([(10, 11)], started_before_s=0.0)
    assert [(t, i.state, i.clip_mp4 is not None) for t, i in events] == [(10.0, "raised", False), (13.0, "cleared", True)]
    assert events[1][1].at == START + timedelta(seconds=11)  # cleared as of when it ended


def test_the_road_under_something_standing_follows_a_slow_change_of_light():
    # dawn: the light rises 40 % over 400 s, too slowly for a re-light of the model (the road seen follows it);
    # a truck stands on part of the road from 30 to 380 s: once it has gone, the road it covered is road again
    config = CameraConfig(code="CAM-T", url="file:///dev/null")
    pipeline = CameraPipeline(config, detectors=[])
    rng = numpy.random.default_rng(1)
    texture = rng.integers(0, 8, (90, 160, 3)).astype(numpy.float32)
    truck = (slice(30, 60), slice(60, 110))
    for step in range(int(400 * 2)):
        t = step / 2.0
        light = 1.0 + 0.4 * t / 400.0
        image = numpy.clip((80.0 + texture) * light + rng.normal(0, 1.5, texture.shape), 0, 255).astype(numpy.uint8)
        if 30.0 <= t < 380.0:
            image[truck] = (30, 40, 160)
        ctx = pipeline.context(Frame(t=t, at=START + timedelta(seconds=t), image=image))
        assert not ctx.unstable or t < 25.0, t  # never a lighting jump: the drift is slow
    assert ctx.fg_long[truck].mean() < 0.05  # 20 s after the truck left, at 1.4 times the light it came in
