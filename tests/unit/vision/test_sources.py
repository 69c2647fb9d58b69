"""Frame sources: each read mode on a small H.264 file made here, and the failures a camera meets."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import av
import cv2
import numpy
import pytest

from engine.clock import FrozenClock
from vision.config import CameraConfig
from vision.sources import SourceError, decode_jpeg, grab_snapshot, open_source

FPS = 25
GOP = 25
SECONDS = 4
SIZE = (160, 96)


def _write_h264(path: Path, seconds: int = SECONDS) -> Path:
    """A moving square on grey, H.264 yuv420p, a keyframe every GOP frames."""
    container = av.open(str(path), "w")
    stream = container.add_stream("libx264", rate=FPS)
    stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
    stream.options = {"g": str(GOP), "keyint_min": str(GOP), "sc_threshold": "0", "preset": "ultrafast"}
    for i in range(seconds * FPS):
        image = numpy.full((SIZE[1], SIZE[0], 3), 90, numpy.uint8)
        x = (i * 3) % (SIZE[0] - 20)
        image[30:50, x:x + 20] = (40, 200, 240)
        for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return path


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return _write_h264(tmp_path_factory.mktemp("video") / "road.mp4")


CLOCK = FrozenClock(datetime(2026, 12, 4, 1, 0, tzinfo=UTC))


def _read(config: CameraConfig, *, realtime: bool = False, limit: int | None = None, **options):
    """(frames, the SourceError that ended them or None)."""
    frames = []
    source = open_source(config, CLOCK, realtime=realtime, **options)
    try:
        for frame in source.frames():
            frames.append(frame)
            if limit and len(frames) >= limit:
                return frames, None
    except SourceError as exc:
        return frames, exc
    finally:
        source.close()
    return frames, None


def test_stream_mode_keeps_frames_at_the_analysis_rate_by_their_time(video):
    frames, error = _read(CameraConfig(code="CAM-1", url=str(video), analysis_fps=2.0))
    assert error is not None and error.reason == "ended"
    assert len(frames) == SECONDS * 2
    times = [f.t for f in frames]
    assert times[0] == 0.0
    assert all(0.48 <= b - a <= 0.56 for a, b in zip(times, times[1:], strict=False))
    assert frames[0].image.shape == (SIZE[1], SIZE[0], 3) and frames[0].image.dtype == numpy.uint8
    # BGR order: the square is drawn (40, 200, 240) in BGR
    b, g, r = frames[0].image[40, 10].tolist()
    assert r > g > b
    # a file's wall time follows its own clock from the moment it was opened
    assert frames[0].at == CLOCK.now()
    assert (frames[2].at - frames[0].at).total_seconds() == pytest.approx(frames[2].t, abs=1e-6)


def test_keyframes_mode_decodes_only_keyframes(video):
    frames, error = _read(CameraConfig(code="CAM-1", url=f"file://{video}", read_mode="keyframes"))
    assert error.reason == "ended"
    assert [round(f.t, 2) for f in frames] == [float(i) for i in range(SECONDS)]
    assert all(f.keyframe for f in frames)


def test_a_file_plays_at_real_time_and_loops_when_asked(video):
    began = time.monotonic()
    frames, error = _read(CameraConfig(code="CAM-1", url=f"file://{video}?loop=1", analysis_fps=4.0),
                          realtime=True, limit=4)
    elapsed = time.monotonic() - began
    assert error is None and 0.7 <= elapsed < 3.0  # four frames at 4 fps: t = 0, .25, .5, .75
    looped, error = _read(CameraConfig(code="CAM-1", url=f"file://{video}?loop=1", read_mode="keyframes"),
                          limit=SECONDS * 2 + 1)
    assert error is None and len(looped) == SECONDS * 2 + 1
    assert all(b.t > a.t for a, b in zip(looped, looped[1:], strict=False))  # the clock goes on across the loop


def test_snapshot_mode_decodes_a_jpeg_every_interval_and_scales_large_ones(tmp_path):
    image = numpy.zeros((1440, 2560, 3), numpy.uint8)
    image[:, :1280] = (0, 0, 255)
    path = tmp_path / "snap.jpg"
    path.write_bytes(cv2.imencode(".jpg", image)[1].tobytes())
    frames, error = _read(CameraConfig(code="CAM-2", url=str(path), read_mode="snapshot", snapshot_interval_s=2.0),
                          limit=3)
    assert error is None
    assert [f.t for f in frames] == [0.0, 2.0, 4.0]
    assert frames[0].image.shape == (360, 640, 3)  # decoded at 1/4 scale, not 2560 wide
    assert frames[0].image[100, 100].tolist()[2] > 200 and frames[0].image[100, 500].tolist()[2] < 50
    assert decode_jpeg(path.read_bytes(), max_width=1280).shape == (720, 1280, 3)


def test_a_missing_file_is_unreachable_and_a_corrupt_one_corrupt(tmp_path, video):
    frames, error = _read(CameraConfig(code="CAM-3", url=str(tmp_path / "gone.mp4")))
    assert frames == [] and error.reason == "unreachable"
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64)
    frames, error = _read(CameraConfig(code="CAM-3", url=str(bad)))
    assert frames == [] and error.reason == "corrupt"
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    frames, error = _read(CameraConfig(code="CAM-3", url=str(cut)))
    assert error.reason == "corrupt"
    snapshot = tmp_path / "not.jpg"
    snapshot.write_bytes(b"<html>login</html>")
    frames, error = _read(CameraConfig(code="CAM-3", url=str(snapshot), read_mode="snapshot"))
    assert frames == [] and error.reason == "corrupt"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("mode, url", [("stream", "rtsp://127.0.0.1:{port}/live"),
                                       ("stream", "http://127.0.0.1:{port}/live.ts"),
                                       ("snapshot", "http://127.0.0.1:{port}/snapshot.jpg")])
def test_a_url_that_refuses_is_unreachable(mode, url):
    frames, error = _read(CameraConfig(code="CAM-4", url=url.format(port=_closed_port()), read_mode=mode))
    assert frames == [] and error.reason == "unreachable"


def test_a_server_that_accepts_but_never_answers_times_out():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    try:
        began = time.monotonic()
        frames, error = _read(CameraConfig(code="CAM-5", url=f"http://127.0.0.1:{server.getsockname()[1]}/live.ts"),
                              open_timeout_s=0.5, read_timeout_s=0.5)
        assert frames == [] and error.reason == "timeout"
        assert time.monotonic() - began < 3
    finally:
        for connection, _address in accepted:
            connection.close()
        server.close()


def test_an_unknown_scheme_or_mode_is_unsupported():
    with pytest.raises(SourceError) as caught:
        open_source(CameraConfig(code="CAM-6", url="gopher://x/y"), CLOCK)
    assert caught.value.reason == "unsupported"
    with pytest.raises(SourceError) as caught:
        open_source(CameraConfig(code="CAM-6", url="rtsp://x/y", read_mode="snapshot"), CLOCK)
    assert caught.value.reason == "unsupported"


def test_grab_snapshot_gives_one_jpeg_from_a_video_or_a_snapshot_url(video, tmp_path):
    jpeg = grab_snapshot(str(video))
    assert jpeg[:2] == b"\xff\xd8"
    assert cv2.imdecode(numpy.frombuffer(jpeg, numpy.uint8), cv2.IMREAD_COLOR).shape == (SIZE[1], SIZE[0], 3)
    path = tmp_path / "cam.jpg"
    path.write_bytes(jpeg)
    assert grab_snapshot(str(path)) == jpeg
    with pytest.raises(SourceError) as caught:
        grab_snapshot(str(tmp_path / "none.mp4"))
    assert caught.value.reason == "unreachable"


def test_a_jump_of_the_stream_timestamps_does_not_warp_the_analysis_clock(tmp_path):
    """An encoder restarted on the camera: its timestamps leap a minute ahead; the frames stay 1/25 s apart."""
    path = tmp_path / "jump.mp4"
    container = av.open(str(path), "w")
    stream = container.add_stream("libx264", rate=FPS)
    stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
    stream.options = {"g": str(GOP), "preset": "ultrafast", "bf": "0"}
    for i in range(2 * FPS):
        frame = av.VideoFrame.from_ndarray(numpy.full((SIZE[1], SIZE[0], 3), 3 * i, numpy.uint8), format="bgr24")
        frame.pts = i if i < FPS else i + 60 * FPS
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    frames, error = _read(CameraConfig(code="CAM-7", url=str(path), analysis_fps=25.0))
    assert error.reason == "ended" and len(frames) == 2 * FPS
    steps = [b.t - a.t for a, b in zip(frames, frames[1:], strict=False)]
    assert max(steps) == pytest.approx(1 / FPS, abs=1e-3) and min(steps) > 0


def test_a_web_server_that_gives_a_page_instead_of_a_stream_is_unreachable():
    """A camera address that answers with anything but video (a router's login page) has no stream to read."""
    import http.server

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's hook name
            body = b"<html><body>Router login</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/live.ts"
        frames, error = _read(CameraConfig(code="CAM-9", url=url, read_mode="stream"))
        assert frames == [] and error.reason == "unreachable"
    finally:
        server.shutdown()
        server.server_close()
