"""The evidence of an incident: a bounded ring of recent frames, a snapshot with the region marked, and a
browser-playable MP4 clip around the moment (decoded back here and compared with what was recorded)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import av
import cv2
import numpy
import pytest

from vision.config import DetectionSettings
from vision.events import Frame
from vision.evidence import EvidenceRecorder

START = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)
REGION = ((0.25, 0.25), (0.75, 0.25), (0.75, 0.75), (0.25, 0.75))


def picture(t: float, width: int = 640, height: int = 360) -> numpy.ndarray:
    """A grey street with a blue box whose x position tells the time (4 px a second at 320 wide)."""
    img = numpy.full((height, width, 3), 110, numpy.uint8)
    x = int((8 * t) % (width - 40))
    cv2.rectangle(img, (x, height // 2), (x + 40, height // 2 + 24), (200, 60, 20), -1)
    return img


def box_x(image: numpy.ndarray) -> float:
    """Where the blue box is in a (decoded) frame, in that frame's pixels."""
    blue = (image[:, :, 0] > 150) & (image[:, :, 2] < 80)
    return float(numpy.nonzero(blue)[1].min())


def frame(t: float, **kwargs) -> Frame:
    return Frame(t=t, at=START + timedelta(seconds=t), image=picture(t, **kwargs))


def recorder(**settings) -> EvidenceRecorder:
    return EvidenceRecorder(DetectionSettings(**settings))


def decode(clip: bytes) -> tuple[av.video.stream.VideoStream, list[tuple[float, numpy.ndarray]]]:
    container = av.open(io.BytesIO(clip))
    stream = container.streams.video[0]
    frames = [(float(f.time), f.to_ndarray(format="bgr24")) for f in container.decode(stream)]
    return stream, frames


def test_the_ring_keeps_the_last_seconds_within_its_byte_budget():
    ring = recorder()  # defaults: the longest wait (60 s) + 5 s before + 5 s after + 5 s margin
    assert ring.keep_s == 75.0
    for i in range(400):
        ring.push(frame(i / 2))
    assert ring.span_s == pytest.approx(75.0)
    assert 0 < ring.memory_bytes <= 1_500_000
    small = EvidenceRecorder(DetectionSettings(), max_bytes=50_000)
    for i in range(400):
        small.push(frame(i / 2))
    assert small.memory_bytes <= 50_000 and len(small) < len(ring)
    # frames closer than 1/max_fps are not kept: a 25 fps stream costs what 4 fps does
    busy = EvidenceRecorder(DetectionSettings(), max_fps=4)
    for i in range(250):
        busy.push(frame(i / 25))
    assert len(busy) == 40


def test_a_snapshot_marks_the_region_and_never_draws_on_the_frame():
    original = frame(10.0, width=1280, height=720)
    kept = original.image.copy()
    jpeg = recorder().snapshot(original, REGION, "stopped_vehicle")
    image = cv2.imdecode(numpy.frombuffer(jpeg, numpy.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (540, 960, 3)  # scaled to snapshot_width
    assert numpy.array_equal(original.image, kept)
    red = (image[:, :, 2] > 180) & (image[:, :, 1] < 80) & (image[:, :, 0] < 80)
    # the outline runs along the region's edges (0.25..0.75 of each side) …
    assert red[270, 236:244].any() and red[270, 716:724].any() and red[131:139, 480].any()
    # … the inside is untouched, and the label sits above the region's corner
    assert not red[200:340, 300:660].any()
    assert red[100:134, 240:400].sum() > 200
    plain = cv2.imdecode(numpy.frombuffer(recorder().snapshot(original), numpy.uint8), cv2.IMREAD_COLOR)
    assert not ((plain[:, :, 2] > 180) & (plain[:, :, 1] < 80)).any()
    # a fault of the whole picture: no outline, the label at the bottom left, clear of a camera's clock at the top
    whole = cv2.imdecode(numpy.frombuffer(recorder().snapshot(original, None, "camera_fault frozen"), numpy.uint8),
                         cv2.IMREAD_COLOR)
    red = (whole[:, :, 2] > 180) & (whole[:, :, 1] < 80) & (whole[:, :, 0] < 80)
    assert red[500:, :300].sum() > 2000 and not red[:480].any() and not red[:, 480:].any()


def test_the_clip_spans_before_and_after_the_moment_and_plays_in_browsers():
    ring = recorder(clip_before_s=5, clip_after_s=5)
    for i in range(60):  # 30 s at 2 fps
        ring.push(frame(i / 2))
    assert ring.clip_for(26.0) is None and not ring.clip_ready(26.0)  # the post-roll is not recorded yet
    above = ((0.1, 0.05), (0.9, 0.05), (0.9, 0.4), (0.1, 0.4))  # a region clear of the box that tells the time
    clip = ring.clip_for(15.0, region=above, label="congestion")
    assert clip[4:8] == b"ftyp" and clip.index(b"moov") < clip.index(b"mdat")  # +faststart: index first
    stream, frames = decode(clip)
    assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
    assert stream.codec_context.profile == "Main"
    assert (stream.codec_context.width, stream.codec_context.height) == (320, 180)
    assert len(frames) == 21  # 10 s + 1 at 2 fps
    times = [t for t, _ in frames]
    assert times[0] == pytest.approx(0.0) and times[-1] == pytest.approx(10.0)
    # each decoded frame shows what was recorded at its time: from 10 s to 20 s of the stream
    for t, image in frames[::5]:
        assert box_x(image) == pytest.approx(4 * (10.0 + t), abs=2.0)
    # and the region is outlined on it
    red = (frames[0][1][:, :, 2] > 170) & (frames[0][1][:, :, 1] < 90)
    assert red[70:73, 100:220].any() and not red[80:180].any()


def test_a_clip_by_wall_time_and_a_partial_one_when_the_camera_stops():
    ring = recorder(clip_before_s=2, clip_after_s=4)
    for i in range(20):
        ring.push(frame(i / 2))
    moment = START + timedelta(seconds=8)
    assert ring.clip_for(moment) is None  # 8 + 4 s not yet recorded (the ring ends at 9.5 s)
    _, frames = decode(ring.clip_for(moment, partial=True))
    assert len(frames) == 8 and box_x(frames[0][1]) == pytest.approx(4 * 6.0, abs=2.0)
    assert EvidenceRecorder(DetectionSettings()).clip_for(3.0, partial=True) is None  # nothing held
