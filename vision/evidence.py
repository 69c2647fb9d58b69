"""What an incident shows an operator: a snapshot with the region marked and a short clip around it.

``EvidenceRecorder`` keeps the last seconds of one camera as small JPEGs in a ring buffer (bounded
in time *and* bytes, so one process can hold hundreds of cameras), marks a region on a snapshot,
and cuts an MP4 from ``clip_before_s`` before to ``clip_after_s`` after a moment.  The clip is
H.264, yuv420p, with the index (``moov``) first (``+faststart``): what every browser's <video> plays
while it downloads.  FFmpeg's faststart pass re-reads its output by file name, hence a temporary file.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from fractions import Fraction

import av
import cv2
import numpy

from vision.config import DetectionSettings, Point
from vision.events import Frame

_CLIP_TIME_BASE = Fraction(1, 1000)  # clip timestamps in milliseconds: frames keep their real spacing
_OUTLINE = (0, 0, 255)  # BGR red: the marked region
_SHADOW = (0, 0, 0)


class EvidenceRecorder:
    """One camera's recent frames and the snapshot and clip cut from them.

    ``keep_s`` defaults to the longest wait of a detector before it raises plus both rolls: an
    incident's clip is taken around when its condition *began* (a vehicle stopped 30 s before it
    is raised), so that moment must still be in the buffer when the pipeline asks.
    """

    def __init__(
        self,
        settings: DetectionSettings,
        *,
        keep_s: float | None = None,
        width: int = 320,
        quality: int = 70,
        max_fps: float = 4.0,
        max_bytes: int = 1_500_000,
        snapshot_width: int = 960,
    ):
        self.settings = settings
        if keep_s is None:
            waits = (settings.stopped_after_s, settings.covered_after_s, settings.moved_after_s,
                     settings.frozen_after_s, settings.defocus_after_s)
            keep_s = min(max(waits), 120.0) + settings.clip_before_s + settings.clip_after_s + 5.0
        self.keep_s = keep_s
        self.width = width
        self.quality = quality
        self.max_fps = max_fps
        self._slot = -math.inf
        self.max_bytes = max_bytes
        self.snapshot_width = snapshot_width
        self._ring: deque[tuple[float, datetime, bytes]] = deque()
        self._bytes = 0

    # -- the ring -------------------------------------------------------------------------------

    def push(self, frame: Frame) -> None:
        """Keep this frame (down-scaled, as a JPEG) unless the last one kept is too recent."""
        if self._ring and frame.t < self._ring[-1][0]:
            self._ring.clear()  # the stream's clock went back (its source restarted): a new recording
            self._bytes, self._slot = 0, -math.inf
        if self._ring and self.max_fps > 0 and math.floor(frame.t * self.max_fps) <= self._slot:
            return  # one frame per 1/max_fps slot: a 25 fps stream costs what max_fps does
        small = _resize_to_width(frame.image, self.width)
        ok, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:  # pragma: no cover - OpenCV encodes any uint8 BGR image
            return
        data = jpeg.tobytes()
        if self.max_fps > 0:
            self._slot = math.floor(frame.t * self.max_fps)
        self._ring.append((frame.t, frame.at, data))
        self._bytes += len(data)
        while self._ring and (frame.t - self._ring[0][0] > self.keep_s or self._bytes > self.max_bytes):
            self._bytes -= len(self._ring.popleft()[2])

    @property
    def memory_bytes(self) -> int:
        """Bytes of JPEG held in the ring (what one camera costs in memory, give or take)."""
        return self._bytes

    @property
    def span_s(self) -> float:
        """Seconds between the oldest and newest frame held."""
        return self._ring[-1][0] - self._ring[0][0] if self._ring else 0.0

    def __len__(self) -> int:
        return len(self._ring)

    # -- snapshot -------------------------------------------------------------------------------

    def snapshot(self, frame: Frame, region: Sequence[Point] | None = None, label: str | None = None) -> bytes:
        """This frame as a JPEG (at most ``snapshot_width`` wide) with the region outlined and labelled."""
        image = _resize_to_width(frame.image, self.snapshot_width)
        if image is frame.image:
            image = image.copy()  # never draw on the caller's frame
        mark(image, region, label)
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
        if not ok:  # pragma: no cover
            raise ValueError("snapshot: the frame could not be encoded as JPEG")
        return jpeg.tobytes()

    # -- clip -----------------------------------------------------------------------------------

    def clip_ready(self, started: float | datetime) -> bool:
        """Whether the post-roll after ``started`` has been recorded."""
        if not self._ring:
            return False
        return self._ring[-1][0] >= self._to_t(started) + self.settings.clip_after_s

    def clip_for(
        self,
        started: float | datetime,
        *,
        region: Sequence[Point] | None = None,
        label: str | None = None,
        partial: bool = False,
    ) -> bytes | None:
        """The MP4 from ``clip_before_s`` before ``started`` to ``clip_after_s`` after it.

        ``started`` is a stream time (``Frame.t``) or a wall time (``Frame.at``).  None while the
        post-roll is not yet recorded, unless ``partial`` (the camera is stopping: take what there
        is); None too when no frame of the window is held.
        """
        if not self._ring:
            return None
        t0 = self._to_t(started)
        if not partial and not self.clip_ready(t0):
            return None
        start, end = t0 - self.settings.clip_before_s, t0 + self.settings.clip_after_s
        chosen = [(t, data) for t, _at, data in self._ring if start <= t <= end]
        if not chosen:
            return None
        return encode_mp4(chosen, region=region, label=label)

    def _to_t(self, started: float | datetime) -> float:
        """A wall time as the stream time of the held frame nearest to it (clocks run together)."""
        if not isinstance(started, datetime):
            return float(started)
        t, at, _ = min(self._ring, key=lambda item: abs((item[1] - started).total_seconds()))
        return t + (started - at).total_seconds()


def encode_mp4(frames: Sequence[tuple[float, bytes]], *, region=None, label=None, crf: int = 28) -> bytes:
    """H.264 yuv420p MP4 (+faststart) of (stream time, JPEG) pairs, keeping their spacing."""
    first = cv2.imdecode(numpy.frombuffer(frames[0][1], numpy.uint8), cv2.IMREAD_COLOR)
    height, width = first.shape[:2]
    width, height = width - width % 2, height - height % 2  # yuv420p needs even sides
    handle, path = tempfile.mkstemp(prefix="ioc-clip-", suffix=".mp4")
    os.close(handle)
    try:
        container = av.open(path, mode="w", format="mp4", options={"movflags": "+faststart"})
        try:
            stream = container.add_stream("libx264", rate=_rate(frames))
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.time_base = _CLIP_TIME_BASE
            stream.codec_context.time_base = _CLIP_TIME_BASE
            # main profile: every browser and phone decodes it; an I-frame each second for seeking
            stream.options = {"preset": "veryfast", "crf": str(crf), "profile": "main", "g": "8"}
            origin, last_pts = frames[0][0], -1
            for index, (t, data) in enumerate(frames):
                image = first if index == 0 else cv2.imdecode(numpy.frombuffer(data, numpy.uint8), cv2.IMREAD_COLOR)
                if image is None:
                    continue  # a damaged JPEG in the ring: the clip goes on without it
                pts = round((t - origin) * 1000)
                if pts <= last_pts:
                    continue
                last_pts = pts
                image = image[:height, :width]
                if region or label:
                    image = image.copy() if image is first else image
                    mark(image, region, label)
                video_frame = av.VideoFrame.from_ndarray(image, format="bgr24")
                video_frame.pts, video_frame.time_base = pts, _CLIP_TIME_BASE
                for packet in stream.encode(video_frame):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
        finally:
            container.close()
        with open(path, "rb") as handle_:
            return handle_.read()
    finally:
        os.unlink(path)


def _rate(frames: Sequence[tuple[float, bytes]]) -> Fraction:
    """The nominal frame rate (the muxer wants one; timestamps carry the real spacing)."""
    if len(frames) < 2:
        return Fraction(1)
    span = frames[-1][0] - frames[0][0]
    rate = (len(frames) - 1) / span if span > 0 else 1.0
    return Fraction(max(1, min(60, round(rate))))


def _resize_to_width(image: numpy.ndarray, width: int) -> numpy.ndarray:
    """The image scaled down to ``width`` (aspect kept, even sides); the same array if narrower."""
    h, w = image.shape[:2]
    if w <= width:
        return image
    height = max(2, round(h * width / w))
    return cv2.resize(image, (width, height - height % 2), interpolation=cv2.INTER_AREA)


def mark(image: numpy.ndarray, region: Sequence[Point] | None, label: str | None) -> None:
    """Outline a normalised polygon on ``image`` (in place) and write ``label`` next to it.

    The label is a kind code (``stopped_vehicle``, ``camera_fault: frozen``): OpenCV draws ASCII
    only, and the page that shows the snapshot says it in the reader's language.
    """
    h, w = image.shape[:2]
    thickness = max(2, round(w / 320))  # 2 px at least: a 1 px red line fades in yuv420p
    anchor = (4, 0)
    if region:
        points = numpy.array([[round(x * (w - 1)), round(y * (h - 1))] for x, y in region], numpy.int32)
        cv2.polylines(image, [points], True, _SHADOW, thickness + 2, cv2.LINE_AA)
        cv2.polylines(image, [points], True, _OUTLINE, thickness, cv2.LINE_AA)
        anchor = (int(points[:, 0].min()), int(points[:, 1].min()))
    if not label:
        return
    scale = 0.4 * w / 320
    stroke = max(1, round(w / 640))
    (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, stroke)
    x = min(max(0, anchor[0]), max(0, w - tw - 4))
    if not region:  # the whole picture: bottom left, clear of the clock cameras print at the top
        anchor = (x, h)
    y = anchor[1] - th - base - 4 if anchor[1] - th - base - 4 >= 0 else anchor[1] + 2
    y = min(max(0, y), max(0, h - th - base - 4))
    cv2.rectangle(image, (x, y), (x + tw + 4, y + th + base + 4), _OUTLINE, -1)
    cv2.putText(image, label, (x + 2, y + th + 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), stroke,
                cv2.LINE_AA)
