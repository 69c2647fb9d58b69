"""Camera faults: each raised after its wait with its numbers, cleared when it ends, and no false alarm
on a live camera through lighting jumps, dusk, night with headlights, an empty road at night and shake.

The street is drawn here (320x180, a few milliseconds a frame) so that every fault starts at a known
second; the synthetic scenarios of vision/synthetic.py run through the evaluator (test_eval_short.py).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import av
import cv2
import numpy
import pytest

from vision.config import CameraConfig, DetectionSettings
from vision.detectors.faults import FaultDetector
from vision.events import Frame
from vision.pipeline import CameraPipeline

START = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)
FPS = 2.0
W, H = 320, 180
ROI = ((0.0, 0.5), (1.0, 0.5), (1.0, 1.0), (0.0, 1.0))


class Street:
    """Buildings above a road with cars; light, night, blur, a pan and shake as knobs; sensor noise."""

    def __init__(self, seed: int = 0):
        rng = numpy.random.default_rng(seed)
        world = numpy.full((H + 120, W + 240, 3), 70, numpy.float32)
        for _ in range(45):
            x, y = int(rng.integers(0, W + 200)), int(rng.integers(0, (H + 120) // 2))
            w, h = int(rng.integers(8, 50)), int(rng.integers(15, 70))
            cv2.rectangle(world, (x, y), (x + w, y + h), [float(c) for c in rng.integers(40, 230, 3)], -1)
            for wy in range(y + 4, y + h - 4, 9):  # windows: fine detail, as a real facade has
                cv2.line(world, (x + 2, wy), (x + w - 2, wy), (30, 30, 30), 1)
        road_y = (H + 120) // 2 + 20
        cv2.rectangle(world, (0, road_y), (W + 240, H + 120), (85, 85, 90), -1)
        for x in range(0, W + 240, 36):
            cv2.line(world, (x, road_y + 45), (x + 18, road_y + 45), (235, 235, 235), 2)
        self.world = world
        # night: a fifth of the light, pools of light under the street lamps, lit windows here and there
        glow = numpy.zeros_like(world)
        for x in range(30, W + 240, 110):
            cv2.circle(glow, (x, road_y - 40), 3, (255, 255, 230), -1)
            cv2.ellipse(glow, (x + 10, road_y + 40), (45, 18), 0, 0, 360, (120, 110, 80), -1)
        glow = cv2.GaussianBlur(glow, (0, 0), 6) + cv2.GaussianBlur(glow, (0, 0), 1)
        self.night_world = world * 0.2 + glow
        self.road_y = road_y
        self.noise = [rng.normal(0, 3.0, (H, W, 1)).astype(numpy.float32) for _ in range(8)]
        self.rng = rng

    def image(self, t: float, *, gain: float = 1.0, night: float = 0.0, blur: float = 0.0, pan: int = 0,
              shake: int = 0, cars: bool = True) -> numpy.ndarray:
        dx = pan + (int(self.rng.integers(-shake, shake + 1)) if shake else 0)
        dy = int(self.rng.integers(-shake, shake + 1)) if shake else 0
        window = numpy.s_[60 + dy:60 + dy + H, 120 + dx:120 + dx + W]
        img = self.world[window] * (1.0 - night) + self.night_world[window] * night
        img *= gain
        if cars:
            for k in range(3):
                x = int((t * 45 + k * 120) % (W + 80)) - 40
                y = self.road_y - 60 + 10 + 22 * k
                if night > 0.5:  # only the headlights show
                    for hx in (x + 4, x + 26):
                        cv2.circle(img, (hx, y + 8), 4, (255, 255, 240), -1)
                else:
                    cv2.rectangle(img, (x, y), (x + 32, y + 16), (30, 60, 190), -1)
        if blur:
            img = cv2.GaussianBlur(img, (0, 0), blur)
        img += self.noise[int(self.rng.integers(len(self.noise)))] * (1.0 + night)  # the gain is up at night
        return numpy.clip(img, 0, 255).astype(numpy.uint8)


def covered_image(rng) -> numpy.ndarray:
    """A hand over the lens: dark, a little light leaking at the top, the camera's clock overlay, and
    faint noise (the camera's noise filter calms a dark picture: it is quiet, yet not the same picture)."""
    img = numpy.full((H, W, 3), 14, numpy.float32)
    img[: H // 2] = 22
    img += rng.normal(0, 0.3, (H, W, 1))
    img = numpy.clip(img, 0, 255).astype(numpy.uint8)
    cv2.putText(img, "04-12-2026 08:00:00", (6, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def frame(t: float, image: numpy.ndarray) -> Frame:
    return Frame(t=t, at=START + timedelta(seconds=t), image=image)


def config(**settings) -> CameraConfig:
    return CameraConfig(code="CAM-1", url="file:///cam.mp4", roi=ROI, settings=DetectionSettings(**settings))


def play(detector: FaultDetector, pictures, t0: float = 0.0) -> list[tuple[float, object]]:
    """Feed (t, image) pairs; every observation with the time it came."""
    seen = []
    for t, image in pictures:
        for observation in detector.update(frame(t0 + t, image)):
            seen.append((t0 + t, observation))
    return seen


def episodes(seen) -> dict[str, dict]:
    """Per fault: when raised and cleared, when it began, the numbers at the raise."""
    out: dict[str, dict] = {}
    for t, o in seen:
        entry = out.get(o.subtype)
        if o.active and (entry is None or entry.get("cleared") is not None):
            out[o.subtype] = {"raised": t, "began": (o.started_at - START).total_seconds(), "evidence": o.evidence,
                              "confidence": o.confidence, "cleared": None}
        elif not o.active and entry is not None and entry["cleared"] is None:
            entry["cleared"] = t
    return out


def seconds(duration: float, picture, start: float = 0.0, fps: float = FPS):
    """(t, image) at ``fps`` for ``duration`` seconds from ``start``; ``picture`` is called with t."""
    return [(start + i / fps, picture(start + i / fps)) for i in range(int(duration * fps))]


def only_fault(street: Street, picture, *, on: float, off: float, end: float, **settings) -> dict:
    """The one episode of a live street showing ``picture`` from ``on`` to ``off`` seconds."""
    seen = play(FaultDetector(config(**settings)), seconds(on, street.image) + seconds(off - on, picture, on)
                + seconds(end - off, street.image, off))
    (fault,) = episodes(seen).values()
    return fault


@pytest.fixture(scope="module")
def street():
    return Street()


def test_a_live_camera_raises_nothing_through_light_jumps_dusk_night_and_shake(street):
    detector = FaultDetector(config())
    plan = [
        (90, FPS, lambda t: street.image(t)),
        (40, FPS, lambda t: street.image(t, gain=0.5)),  # a cloud, then sun: sudden exposure jumps
        (40, FPS, lambda t: street.image(t, gain=1.3)),
        # dusk: 20 minutes, as the tropics' is (looked at every 4 s, to keep the test short)
        (1200, 0.25, lambda t: street.image(t, night=min(1.0, (t - 170) / 1100))),
        (120, FPS, lambda t: street.image(t, night=1.0)),  # night: lamps and headlights
        (120, FPS, lambda t: street.image(t, night=1.0, cars=False)),  # an empty road at night: still, with noise
        (60, FPS, lambda t: street.image(t, night=1.0, shake=2)),
        (60, FPS, lambda t: street.image(t, shake=3)),  # daylight again, the pole swaying in the wind
    ]
    seen, start = [], 0.0
    for duration, fps, picture in plan:
        seen += play(detector, seconds(duration, picture, start, fps))
        start += duration
    assert seen == []


def test_a_frozen_picture_is_raised_after_frozen_after_s_and_clears_when_it_moves_again(street):
    detector = FaultDetector(config(frozen_after_s=60))
    still = street.image(40.0)
    seen = play(detector, seconds(40, street.image) + seconds(80, lambda t: still, 40)
                + seconds(20, street.image, 120))
    (fault,) = episodes(seen).values()
    assert fault["began"] == 40.0
    assert 100.0 <= fault["raised"] <= 101.0
    assert fault["evidence"]["frame_difference"] == 0.0 and fault["evidence"]["live_noise"] > 0.3
    assert fault["evidence"]["seconds"] >= 60 and fault["confidence"] >= 0.9
    assert 120.0 < fault["cleared"] <= 125.0
    assert [o.subtype for _, o in seen] == ["frozen"] * len(seen)
    # how long the picture has been the same, for the pipeline to hold the traffic detectors
    detector = FaultDetector(config())
    play(detector, seconds(20, street.image))
    assert detector.still_for_s == 0.0
    play(detector, seconds(10, lambda t: still, 20))
    assert detector.still_for_s == pytest.approx(10.0, abs=0.6)
    play(detector, seconds(3, street.image, 30))
    assert detector.still_for_s == 0.0


def test_a_calm_picture_is_not_a_frozen_one(street):
    """A camera's noise filter on an empty scene: frames differ by a fifth of the usual noise, yet they differ."""
    rng = numpy.random.default_rng(2)
    empty = street.image(0.0, cars=False).astype(numpy.float32)

    def calm(t):
        return numpy.clip(empty + rng.normal(0, 0.3, (H, W, 1)), 0, 255).astype(numpy.uint8)

    assert play(FaultDetector(config()), seconds(30, street.image) + seconds(90, calm, 30)) == []


def test_an_encoder_repeating_frames_is_not_frozen_and_a_later_freeze_is_found_on_time(street):
    """A camera that repeats a frame now and then (its encoder short of time): no alarm, and when the
    picture really freezes, the wait counts from then, not from the first repeated frame."""
    pictures, last = [], None
    for i in range(int(300 * FPS)):
        t = i / FPS
        last = last if (i % 5 == 0 and last is not None) or t >= 240 else street.image(t)
        pictures.append((t, last))
    fault = episodes(play(FaultDetector(config()), pictures))["frozen"]
    # (a repeat up to GRACE_S before the freeze joins its run: the wait may start that much earlier)
    assert 236.5 <= fault["began"] <= 239.5 and 296.5 <= fault["raised"] <= 300.0


def h264(pictures) -> list[tuple[float, numpy.ndarray]]:
    """The pictures through a real H.264 encoder and decoder (a keyframe every 2 s, as cameras send)."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=int(FPS))
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.codec_context.options = {"preset": "veryfast", "crf": "26", "x264-params": "keyint=4:min-keyint=4"}
        for _t, image in pictures:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        container.mux(stream.encode(None))
    buffer.seek(0)
    with av.open(buffer) as container:
        decoded = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    return [(t, image) for (t, _), image in zip(pictures, decoded, strict=True)]


def test_a_frozen_picture_through_an_h264_encoder_is_still_frozen(street):
    """The encoder re-encodes the frozen picture at each keyframe: a small change every 2 s."""
    still = street.image(30.0)
    detector = FaultDetector(config())
    seen = play(detector, h264(seconds(30, street.image) + seconds(80, lambda t: still, 30)))
    fault = episodes(seen)["frozen"]
    assert fault["began"] <= 31.0 and fault["raised"] <= 92.0


def test_an_empty_road_at_night_through_an_h264_encoder_is_not_frozen(street):
    """Night, nothing passing, the encoder smoothing the noise away: still, but alive."""
    detector = FaultDetector(config())
    assert play(detector, h264(seconds(100, lambda t: street.image(t, night=1.0, cars=False)))) == []


def test_a_covered_lens_is_raised_with_its_numbers_and_nothing_else_is(street):
    rng = numpy.random.default_rng(5)
    detector = FaultDetector(config(covered_after_s=30))
    seen = play(detector, seconds(60, street.image) + seconds(75, lambda t: covered_image(rng), 60)
                + seconds(20, street.image, 135))
    found = episodes(seen)
    assert set(found) == {"covered"}  # a covered lens is neither frozen (past frozen_after_s), defocused nor moved
    fault = found["covered"]
    assert fault["began"] == 60.0 and 90.0 <= fault["raised"] <= 91.0
    evidence = fault["evidence"]
    assert evidence["mean_brightness"] < 30 and evidence["brightness_range"] < 40
    assert evidence["edge_density"] < 0.2 * evidence["usual_edge_density"]
    assert 135.0 < fault["cleared"] <= 140.0


def test_a_defocused_lens_is_judged_against_the_cameras_own_sharpness(street):
    fault = only_fault(street, lambda t: street.image(t, blur=2.0), on=60, off=135, end=150, defocus_after_s=60)
    assert fault["began"] <= 61.0 and 120.0 <= fault["raised"] <= 122.0
    evidence = fault["evidence"]
    assert evidence["sharpness_ratio"] < 0.6 and evidence["usual_sharpness"] > evidence["sharpness"]
    assert 135.0 < fault["cleared"] <= 141.0


def test_a_camera_turned_away_is_moved_and_back_in_place_clears(street):
    fault = only_fault(street, lambda t: street.image(t, pan=70), on=40, off=85, end=105, moved_after_s=30)
    assert 40.0 <= fault["began"] <= 43.0 and fault["raised"] - fault["began"] == pytest.approx(30.0, abs=1.5)
    evidence = fault["evidence"]
    assert evidence["match"] < 0.45 and evidence["reference"] == "learned"
    assert 85.0 < fault["cleared"] <= 92.0


def test_the_configured_reference_tells_a_camera_that_was_already_turned_when_watching_began(street):
    reference = cv2.imencode(".jpg", street.image(0.0), [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()
    turned = CameraConfig(code="CAM-1", url="file:///cam.mp4", roi=ROI, reference=reference)
    seen = play(FaultDetector(turned), seconds(45, lambda t: street.image(t, pan=-90)))
    fault = episodes(seen)["moved"]
    assert fault["began"] <= 1.0 and fault["raised"] <= 32.0
    assert fault["evidence"]["reference"] == "configured"
    # the same view as the reference: nothing
    assert play(FaultDetector(turned), seconds(45, street.image)) == []


def test_no_frames_comes_from_the_idle_ticks_and_clears_with_the_next_frame(street):
    detector = FaultDetector(config(no_frames_after_s=30))
    play(detector, seconds(10, street.image))
    last = START + timedelta(seconds=9.5)
    assert detector.idle(last + timedelta(seconds=29), 38.5) == []
    (silent,) = detector.idle(last + timedelta(seconds=31), 40.5)
    assert silent.subtype == "no_frames" and silent.active and silent.started_at == last
    assert silent.evidence["seconds_without_frames"] == 31.0
    back = detector.update(frame(60.0, street.image(60.0)))
    assert [(o.subtype, o.active) for o in back] == [("no_frames", False)]
    assert detector.update(frame(60.5, street.image(60.5))) == []
    # a file played faster than real time: its frames' times run ahead of the wall clock; silence is
    # counted on the stream's clock the runner passes (the last frame's t + the time gone since)
    fast = FaultDetector(config(no_frames_after_s=30))
    play(fast, seconds(10, street.image))
    (silent,) = fast.idle(START - timedelta(minutes=5), 9.5 + 30)
    assert silent.started_at == last and silent.evidence["seconds_without_frames"] == 30.0
    # a camera that never sent a frame: silent from the first tick
    never = FaultDetector(config(no_frames_after_s=30))
    assert never.idle(START, 0.0) == []
    (silent,) = never.idle(START + timedelta(seconds=30), 30.0)
    assert silent.started_at == START


def test_faults_switched_off_raise_nothing(street):
    detector = FaultDetector(config(faults_enabled=False))
    still = street.image(0.0)
    assert play(detector, seconds(100, lambda t: still)) == []
    assert detector.idle(START + timedelta(hours=1), 3600.0) == []


def test_through_the_pipeline_a_fault_is_one_incident_with_snapshot_and_clip(street):
    """The real CameraPipeline turns the observations into raised, updated and cleared incidents."""
    cam = config(frozen_after_s=30, clip_before_s=2, clip_after_s=2)
    pipeline = CameraPipeline(cam, detectors=[FaultDetector(cam)])
    still = street.image(20.0)
    incidents = []
    for t, image in seconds(20, street.image) + seconds(40, lambda t: still, 20) + seconds(10, street.image, 60):
        incidents += pipeline.process(frame(t, image))
    incidents += pipeline.close()
    assert [(i.kind, i.subtype, i.state) for i in incidents if i.state != "updated"] == [
        ("camera_fault", "frozen", "raised"), ("camera_fault", "frozen", "cleared")]
    raised = incidents[0]
    assert raised.started_at == START + timedelta(seconds=20) and raised.evidence["frame_difference"] == 0.0
    assert raised.snapshot_jpeg[:2] == b"\xff\xd8"
    assert any(i.clip_mp4 for i in incidents)  # with the raise: the post-roll was long recorded
    assert len({i.key for i in incidents}) == 1
