"""Where a camera's frames come from: a stream, its keyframes, or periodic JPEG snapshots.

``open_source(config, clock)`` picks the reader by the camera's read mode and URL:

- "stream": PyAV demuxes and decodes every frame (H.264 cannot skip a P-frame), but only
  the frames due at the analysis rate (by their presentation time) are converted to a BGR
  image; the others are dropped while still in the decoder's pixel format.
- "keyframes": PyAV's decoder skips every non-keyframe (``skip_frame = "NONKEY"``), so
  one picture per group of pictures is decoded; OpenCV cannot do this.
- "snapshot": a JPEG fetched every ``snapshot_interval_s`` from http(s) or read from a
  file, decoded by OpenCV at a reduced scale when it is larger than the analysis needs.

A file (a path or ``file://``) plays at real time like a camera, or as fast as it
decodes (``realtime=False``: evaluation and the benchmark); ``?loop=1`` on a file URL
plays it again from the start when it ends.  Every failure becomes a ``SourceError``
whose ``reason`` is a message key the camera's status shows: unreachable, corrupt,
ended, unsupported, timeout.
"""

from __future__ import annotations

import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta

import cv2
import numpy

from engine.clock import Clock
from vision.config import CameraConfig
from vision.events import Frame

REASONS = ("unreachable", "corrupt", "ended", "unsupported", "timeout")
STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")
OPEN_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 10.0
MAX_PTS_JUMP_S = 10.0  # a larger step of the timestamps between two frames is a discontinuity, not time
MAX_DECODE_ERRORS = 25  # consecutive undecodable packets before a stream counts as corrupt
SNAPSHOT_MAX_WIDTH = 640  # a larger JPEG is decoded at 1/2, 1/4 or 1/8 down to about this width
_FILE_CHECK_S = 1.0  # how often a file camera checks that its file is still there


class SourceError(Exception):
    """A source that cannot give frames; ``reason`` is one of REASONS (a message key)."""

    def __init__(self, reason: str, detail: str = ""):
        if reason not in REASONS:
            raise ValueError(f"source error: reason must be one of {', '.join(REASONS)}, got {reason!r}")
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class FrameSource:
    """Frames of one camera, in order; ``close()`` frees the connection (idempotent, from the reading thread);
    ``interrupt()`` (from any thread) ends a wait between frames so that frames() returns soon."""

    _interrupted: threading.Event

    def frames(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def interrupt(self) -> None:
        self._wake().set()

    def _wake(self) -> threading.Event:
        if not hasattr(self, "_interrupted"):
            self._interrupted = threading.Event()
        return self._interrupted

    def _sleep(self, seconds: float) -> bool:
        """Wait; True when interrupted (the reader should stop)."""
        return self._wake().wait(seconds) if seconds > 0 else self._wake().is_set()

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def _parse(url: str) -> tuple[str, str, dict[str, str]]:
    """(scheme, path-or-url, query options) with "file" for paths and file:// URLs."""
    if not isinstance(url, str) or not url.strip():
        raise SourceError("unsupported", "no URL")
    url = url.strip()
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        return "file", urllib.parse.unquote(parts.path), dict(urllib.parse.parse_qsl(parts.query))
    if scheme in ("", ) or (len(scheme) == 1 and os.name == "nt"):
        return "file", url, {}
    return scheme, url, {}


def is_file_url(url: str) -> bool:
    """True for a path or file:// URL (a test camera), False for a network camera."""
    try:
        return _parse(url)[0] == "file"
    except SourceError:
        return False


def open_source(config: CameraConfig, clock: Clock, *, realtime: bool = True,
                open_timeout_s: float = OPEN_TIMEOUT_S, read_timeout_s: float = READ_TIMEOUT_S,
                decode_threads: int = 1) -> FrameSource:
    """The reader for this camera's read mode and URL; nothing is opened until frames() is iterated.

    ``realtime`` only matters for files: False plays them as fast as they decode. ``decode_threads``
    is FFmpeg's thread count per camera: 1 (the default) when a process runs many cameras, each in
    its own thread, so the cores are shared between cameras rather than between slices of a frame;
    0 lets FFmpeg choose ("AUTO" frame and slice threads) for a single busy camera.
    """
    scheme, target, query = _parse(config.url)
    if scheme != "file" and scheme not in STREAM_SCHEMES:
        raise SourceError("unsupported", f"URL scheme {scheme}")
    if config.read_mode == "snapshot":
        if scheme not in ("file", "http", "https"):
            raise SourceError("unsupported", f"snapshots are fetched over http(s) or read from a file, not {scheme}")
        return SnapshotSource(config, clock, realtime=realtime, timeout_s=read_timeout_s)
    if config.read_mode not in ("stream", "keyframes"):
        raise SourceError("unsupported", f"read mode {config.read_mode}")
    return AVSource(config, clock, realtime=realtime, open_timeout_s=open_timeout_s,
                    read_timeout_s=read_timeout_s, decode_threads=decode_threads,
                    loop=scheme == "file" and query.get("loop") in ("1", "true", "yes"))


def _av_error(exc: BaseException) -> SourceError:
    """An FFmpeg/OS error as a SourceError with the reason a person can act on."""
    import av.error

    text = str(exc)[:300]
    if isinstance(exc, (av.error.TimeoutError, TimeoutError, av.error.ExitError)):
        return SourceError("timeout", text)
    if isinstance(exc, (av.error.DecoderNotFoundError, av.error.DemuxerNotFoundError,
                        av.error.ProtocolNotFoundError, av.error.PatchWelcomeError)):
        return SourceError("unsupported", text)
    if isinstance(exc, (av.error.InvalidDataError, av.error.EOFError)) and not isinstance(exc, OSError):
        return SourceError("corrupt", text)
    if isinstance(exc, av.error.EOFError):
        return SourceError("ended", text)
    if isinstance(exc, (OSError, av.error.HTTPError)):
        return SourceError("unreachable", text)
    return SourceError("corrupt", text)


class AVSource(FrameSource):
    """A video stream or file through PyAV: every frame at the analysis rate, or keyframes only."""

    def __init__(self, config: CameraConfig, clock: Clock, *, realtime: bool, open_timeout_s: float,
                 read_timeout_s: float, decode_threads: int, loop: bool):
        self.config = config
        self.clock = clock
        self.keyframes_only = config.read_mode == "keyframes"
        self.scheme, self.target, _query = _parse(config.url)
        self.is_file = self.scheme == "file"
        self.realtime = realtime
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.decode_threads = decode_threads
        self.loop = loop
        self.period = 1.0 / config.analysis_fps if config.analysis_fps > 0 else 0.0
        self.container = None
        self.decoded = 0  # every frame the decoder gave (the benchmark reads it)

    def _open(self):
        import av

        if self.is_file and not os.path.isfile(self.target):
            raise SourceError("unreachable", f"no such file {self.target}")
        options = {"rtsp_transport": "tcp"} if self.scheme in ("rtsp", "rtsps") else {}
        began = time.monotonic()
        try:
            container = av.open(self.target, options=options, timeout=(self.open_timeout_s, self.read_timeout_s))
        except Exception as exc:  # noqa: BLE001 - every FFmpeg failure gets its reason
            if time.monotonic() - began >= self.open_timeout_s * 0.9:
                raise SourceError("timeout", f"no answer within {self.open_timeout_s:g} s") from exc
            error = _av_error(exc)
            # FFmpeg answers "invalid data" when a network camera can't be reached at all (no route to the host)
            # or answers with something that is no stream: either way no stream is there to be had.
            if error.reason == "corrupt" and not self.is_file:
                raise SourceError("unreachable", error.detail) from exc
            raise error from exc
        if not container.streams.video:
            container.close()
            raise SourceError("unsupported", "no video stream")
        stream = container.streams.video[0]
        context = stream.codec_context
        if self.decode_threads == 1:
            context.thread_count = 1
        else:
            stream.thread_type = "AUTO"
            context.thread_count = self.decode_threads
        if self.keyframes_only:
            context.skip_frame = "NONKEY"
        self.container = container
        return container, stream

    def frames(self) -> Iterator[Frame]:
        container, stream = self._open()
        time_base = float(stream.time_base) if stream.time_base else 1 / 90000
        rate = float(stream.base_rate or stream.guessed_rate or stream.average_rate or 25)
        step = 1.0 / rate  # the latest interval between two frames' timestamps
        start_at = self.clock.now()
        start_mono = time.monotonic()
        first_t: float | None = None
        loop_offset = 0.0
        last_t = 0.0
        next_due = None
        next_check = start_mono + _FILE_CHECK_S
        errors = 0
        try:
            while True:
                packets = container.demux(stream)
                try:
                    for packet in packets:
                        if self.keyframes_only and packet.size and not packet.is_keyframe:
                            continue  # the decoder would discard it anyway (skip_frame): spare the call
                        try:
                            decoded = packet.decode()
                            errors = 0
                        except Exception as exc:  # noqa: BLE001 - a damaged packet; the decoder conceals it
                            errors += 1
                            if errors >= MAX_DECODE_ERRORS:
                                raise _av_error(exc) from exc
                            continue
                        for frame in decoded:
                            self.decoded += 1
                            pts = frame.pts if frame.pts is not None else packet.dts
                            stream_t = (pts * time_base) if pts is not None else self.decoded / rate
                            if first_t is None:
                                first_t = stream_t
                            t = stream_t - first_t + loop_offset
                            if self.decoded > 1:
                                if last_t < t <= last_t + MAX_PTS_JUMP_S:
                                    step = t - last_t
                                elif t != last_t:
                                    # the timestamps jumped (a camera restarted its encoder, a wrap): the clock
                                    # goes on by one frame's step, so the analysis sees no time warp
                                    loop_offset += last_t + step - t
                                    t = last_t + step
                            last_t = t
                            if not self.keyframes_only and self.period:
                                slack = 0.25 / rate  # timestamps are rounded: a frame due at 0.08 may say 0.0799
                                if next_due is not None and t < next_due - slack:
                                    continue
                                late = next_due is None or t - next_due > self.period - slack
                                next_due = t + self.period if late else next_due + self.period
                            image = self._frame(frame, t, start_at, start_mono)
                            if image is None:
                                return  # interrupted while waiting for the frame's time
                            yield image
                            if self.is_file and self.realtime and time.monotonic() >= next_check:
                                next_check = time.monotonic() + _FILE_CHECK_S
                                if not os.path.isfile(self.target):
                                    raise SourceError("unreachable", f"the file {self.target} is gone")
                except SourceError:
                    raise
                except Exception as exc:  # noqa: BLE001
                    raise _av_error(exc) from exc
                if not self.loop:
                    raise SourceError("ended", "end of the stream")
                container.seek(0)
                loop_offset = last_t + 1.0 / rate
                first_t = None
                next_due = None
        finally:
            self.close()

    def _frame(self, frame, t: float, start_at: datetime, start_mono: float) -> Frame | None:
        image = frame.to_ndarray(format="bgr24")
        keyframe = bool(frame.key_frame)
        if self.is_file:
            if self.realtime and self._sleep(start_mono + t - time.monotonic()):
                return None
            return Frame(t=t, at=start_at + timedelta(seconds=t), image=image, keyframe=keyframe)
        return Frame(t=t, at=self.clock.now(), image=image, keyframe=keyframe)

    def close(self) -> None:
        container, self.container = self.container, None
        if container is not None:
            container.close()


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's frame header, without decoding it."""
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    n = len(data)
    while i + 9 < n:
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        length = (data[i + 2] << 8) | data[i + 3]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return (data[i + 7] << 8) | data[i + 8], (data[i + 5] << 8) | data[i + 6]
        i += 2 + length
    return None


def decode_jpeg(data: bytes, max_width: int = SNAPSHOT_MAX_WIDTH) -> numpy.ndarray:
    """A BGR image from JPEG bytes, decoded at 1/2, 1/4 or 1/8 scale when it is much wider than max_width."""
    size = _jpeg_size(data)
    flag = cv2.IMREAD_COLOR
    if size is not None:
        for factor, reduced in ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4),
                                (2, cv2.IMREAD_REDUCED_COLOR_2)):
            if size[0] // factor >= max_width:
                flag = reduced
                break
    image = cv2.imdecode(numpy.frombuffer(data, numpy.uint8), flag)
    if image is None:
        raise SourceError("corrupt", "not a readable JPEG image")
    if image.shape[1] > max_width * 1.5:
        height = round(image.shape[0] * max_width / image.shape[1])
        image = cv2.resize(image, (max_width, height), interpolation=cv2.INTER_AREA)
    return image


def fetch_bytes(url: str, timeout_s: float) -> bytes:
    """The body at an http(s) URL or the content of a file, as a SourceError when it cannot be had."""
    scheme, target, _query = _parse(url)
    if scheme == "file":
        try:
            with open(target, "rb") as handle:
                return handle.read()
        except FileNotFoundError as exc:
            raise SourceError("unreachable", f"no such file {target}") from exc
        except OSError as exc:
            raise SourceError("unreachable", str(exc)[:300]) from exc
    if scheme not in ("http", "https"):
        raise SourceError("unsupported", f"URL scheme {scheme}")
    try:
        with urllib.request.urlopen(target, timeout=timeout_s) as response:  # noqa: S310 - scheme checked
            return response.read()
    except TimeoutError as exc:
        raise SourceError("timeout", str(exc)[:300]) from exc
    except urllib.error.URLError as exc:
        if isinstance(getattr(exc, "reason", None), TimeoutError):
            raise SourceError("timeout", str(exc)[:300]) from exc
        raise SourceError("unreachable", str(exc)[:300]) from exc
    except OSError as exc:
        raise SourceError("unreachable", str(exc)[:300]) from exc


class SnapshotSource(FrameSource):
    """A JPEG every snapshot_interval_s, fetched over http(s) or read from a file."""

    def __init__(self, config: CameraConfig, clock: Clock, *, realtime: bool, timeout_s: float):
        self.config = config
        self.clock = clock
        self.realtime = realtime
        self.timeout_s = timeout_s
        self.interval = max(config.snapshot_interval_s, 0.05)

    def frames(self) -> Iterator[Frame]:
        start_at = self.clock.now()
        start_mono = time.monotonic()
        n = 0
        while True:
            t = n * self.interval
            if self._sleep(start_mono + t - time.monotonic() if self.realtime else 0):
                return
            data = fetch_bytes(self.config.url, self.timeout_s)
            image = decode_jpeg(data)
            at = self.clock.now() if self.realtime else start_at + timedelta(seconds=t)
            yield Frame(t=t, at=at, image=image, keyframe=True)
            n += 1


def grab_snapshot(url: str, timeout_s: float = 5.0) -> bytes:
    """One JPEG of what the camera sees now, whatever its kind of URL (for drawing regions on it)."""
    scheme, _target, _query = _parse(url)
    if scheme in ("http", "https", "file") and _looks_like_jpeg_url(url):
        data = fetch_bytes(url, timeout_s)
        if data[:2] == b"\xff\xd8":
            return data
        raise SourceError("corrupt", "the snapshot URL did not give a JPEG image")
    config = CameraConfig(code="snapshot", url=url, read_mode="keyframes")
    from engine.clock import SYSTEM_CLOCK

    source = open_source(config, SYSTEM_CLOCK, realtime=False, open_timeout_s=timeout_s, read_timeout_s=timeout_s)
    try:
        frame = next(iter(source.frames()))
    except StopIteration as exc:
        raise SourceError("ended", "no picture in the stream") from exc
    finally:
        source.close()
    ok, encoded = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise SourceError("corrupt", "the picture could not be encoded")
    return encoded.tobytes()


def _looks_like_jpeg_url(url: str) -> bool:
    path = urllib.parse.urlsplit(url).path.lower()
    return path.endswith((".jpg", ".jpeg")) or "snapshot" in path or "jpg" in urllib.parse.urlsplit(url).query.lower()
