"""Camera faults: no frames, a frozen image, a covered lens, a defocused lens, a moved camera.

Operators stop trusting a fault alarm that cries wolf, so every fault is a *persisting* condition
judged against the camera's own learned normal, not against one fixed number:

- **no frames**: nothing came for ``no_frames_after_s`` (the pipeline's idle path, ``idle()``).
- **frozen**: the same picture again and again (mean absolute difference from the previous frame
  below 0.05 grey levels and a fifth of the camera's live noise) for ``frozen_after_s``.  A live
  camera, even on an empty road at night or behind a noise filter, is calm but never identical; a
  re-encoded keyframe of a frozen picture is one short blip that does not break the run.
- **covered**: the whole frame dark or uniform — a narrow brightness range and almost no edges,
  far below the camera's learned edge density — for ``covered_after_s``.  Night with headlights
  keeps a wide range (the lights) and edges, so it is not covered.
- **defocused**: edges widened — the mean second derivative over the mean first derivative (light
  and contrast cancel out) below a share of the camera's learned value, for ``defocus_after_s``;
  not judged when the picture shows too little structure to tell.
- **moved**: the slowly averaged edge map of the scenery (outside the ROI, where traffic and jams
  do not change it; passing vehicles blur away) no longer correlates with the reference view (the
  configured reference JPEG, else the view learned in the first seconds and followed slowly while
  it matches), for ``moved_after_s``; the shift is reported when the old view is found in the new.

Each raised fault carries its numbers (``evidence``) and clears once its condition has been absent
for a few seconds.  While a lens is covered, the others are not judged (a covered lens shows neither
sharpness nor view, and a black picture without noise is also the same picture again).  All work
is on the pipeline's 160-pixel-wide grey image (sharpness on its own unblurred one every 2 s, the
view once a second): about 0.3 ms a frame.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

import cv2
import numpy

from vision.config import CameraConfig
from vision.detectors import FrameContext, Observation
from vision.events import Frame
from vision.geometry import polygon_mask

KIND = "camera_fault"

SMALL_WIDTH = 160  # analysis width for frozen, covered and moved
CLEAR_AFTER_S = 4.0  # a raised fault clears after its condition has been absent this long
GRACE_S = 3.0  # a run of a condition survives gaps this short (a keyframe blip, a passing headlight)
MIN_RUN_SHARE = 0.8  # … as long as the condition held on this share of the run's frames
# a frozen picture re-encoded at each keyframe shows one small change per group of pictures (every
# 4th analysed frame at 2 fps with 2 s groups); a live camera is never still on half its frames
FROZEN_RUN_SHARE = 0.6

# frozen: a frame is "still" when its mean absolute difference from the previous one is below
# STILL_SHARE of the camera's live noise and below STILL_MAX grey levels: the same picture again,
# not merely a quiet one (a covered lens, an empty road at night or a camera's noise filter leave
# the picture calm, 0.1-0.2, but never identical; a repeated or re-sent frame differs by 0-0.01)
STILL_SHARE = 0.2
STILL_MAX = 0.05
STILL_FLOOR = 0.02  # exactly repeated frames differ by 0; below this a frame is still whatever the noise

# covered: brightness range (2nd to 98th percentile) and edge density
COVERED_RANGE = 40.0  # grey levels: a lit night scene spans far more (lamps, headlights, markings)
COVERED_EDGES = 0.005  # share of pixels on an edge …
COVERED_EDGE_SHARE = 0.2  # … or below this share of the camera's learned edge density
EDGE_THRESHOLD = 48  # |Sobel x| + |Sobel y| (3x3, 16-bit) above which a pixel is on an edge

# defocused: sharpness below DEFOCUS_SHARE of the learned baseline, judged only with structure
DEFOCUS_SHARE = 0.6
MIN_STRUCTURE = 10.0  # mean |gradient| below which sharpness is not judged (a dark or bare picture)
SHARP_EVERY_S = 2.0  # sharpness wants its own unblurred small grey: a resize of the frame, so not every frame

# moved: edge-map correlation with the reference
MOVED_MATCH = 0.4  # normalised correlation below this …
MOVED_MATCH_SHARE = 0.5  # … or below this share of the camera's usual match
SHIFT_RESPONSE = 0.15  # phase correlation peak above which the shift found is reported
MOVED_EVERY_S = 1.0
MIN_SCENERY = 0.2  # share of the picture outside the ROI needed to compare only the scenery
VIEW_TAU_S = 2.0  # time constant of the averaged view (passing vehicles fade out)
LEARN_AFTER_S = 10.0  # with no configured reference, the view is learned after this many seconds
FOLLOW_EVERY_S = 60.0  # the reference follows a matching view this often (dusk, dawn, seasons)
FOLLOW_RATE = 0.1

BASELINE_SAMPLES = 300  # learned baselines: median of this many samples …
BASELINE_EVERY_S = 2.0  # … taken this often (10 minutes)
WARM_SAMPLES = 15  # samples before a baseline is trusted (30 s)


class _Baseline:
    """The camera's usual value of a measure: the median of recent healthy samples."""

    def __init__(self, seed: float | None = None):
        self.samples: deque[float] = deque(maxlen=BASELINE_SAMPLES)
        self.last_t: float | None = None
        self._median: float | None = None
        if seed is not None:
            self.samples.extend([seed] * WARM_SAMPLES)

    def add(self, t: float, value: float) -> None:
        if self.last_t is not None and t - self.last_t < BASELINE_EVERY_S:
            return
        self.last_t = t
        self.samples.append(value)
        self._median = None

    @property
    def warm(self) -> bool:
        return len(self.samples) >= WARM_SAMPLES

    @property
    def value(self) -> float | None:
        if not self.samples:
            return None
        if self._median is None:
            self._median = float(numpy.median(numpy.fromiter(self.samples, float)))
        return self._median


@dataclass
class _Run:
    """One fault's state: a run of its condition, raised after ``after_s``, cleared after CLEAR_AFTER_S."""

    subtype: str
    after_s: float
    share: float = MIN_RUN_SHARE
    onset_t: float | None = None
    onset_at: datetime | None = None
    seen: int = 0
    held: int = 0
    last_true_t: float | None = None
    active: bool = False
    evidence: dict = field(default_factory=dict)
    confidence: float = 0.0
    change: str | None = None  # "raised" / "cleared" on the frame the state flipped
    ended_onset: datetime | None = None  # the onset of the episode that just cleared

    def feed(self, t: float, at: datetime, condition: bool, since: tuple[float, datetime] | None = None) -> str | None:
        """Advance with this frame's verdict; "raised" or "cleared" when the state flips.

        ``since``: when a condition that starts now really began (a frozen picture: the frame before).
        """
        if condition:
            if self.onset_t is None or (self.last_true_t is not None and t - self.last_true_t > GRACE_S):
                if not self.active:
                    self.onset_t, self.onset_at = since or (t, at)
                    self.seen = self.held = 0
            self.last_true_t = t
        if self.onset_t is not None:
            self.seen += 1
            self.held += condition
        if self.active:
            if not condition and self.last_true_t is not None and t - self.last_true_t >= CLEAR_AFTER_S:
                self.active = False
                self._reset()
                return "cleared"
            return None
        if self.onset_t is None:
            return None
        if not condition and t - self.last_true_t > GRACE_S:
            self._reset()
            return None
        if self.seen >= 10 and self.held < 0.5 * self.share * self.seen:
            # a scattering of true verdicts (a still frame now and then on a quiet night) is not a
            # run: let a real fault start its own, instead of paying back this one's false frames
            self._reset()
            return None
        if condition and t - self.onset_t >= self.after_s and self.held >= self.share * self.seen:
            self.active = True
            return "raised"
        return None

    def pending(self) -> bool:
        return self.onset_t is not None and not self.active

    def duration(self, t: float) -> float:
        return 0.0 if self.onset_t is None else max(0.0, t - self.onset_t)

    def _reset(self) -> None:
        self.onset_t = self.onset_at = self.last_true_t = None
        self.seen = self.held = 0


class FaultDetector:
    """Watches one camera's frames for the five faults (see the module's docstring)."""

    kind = KIND

    def __init__(self, config: CameraConfig):
        s = config.settings
        self.config = config
        self.enabled = s.faults_enabled
        self.no_frames_after_s = s.no_frames_after_s
        # no frames: kept across a reset (silence is about the source, not the picture)
        self._no_frames_active = False
        self._last_frame_at: datetime | None = None
        self._last_frame_t: float | None = None
        self._idle_since: datetime | None = None
        self.reset()

    def reset(self) -> None:
        """Forget the picture (the pipeline calls this when the stream's size changes): learn afresh."""
        s = self.config.settings
        self.frozen = _Run("frozen", s.frozen_after_s, share=FROZEN_RUN_SHARE)
        self.covered = _Run("covered", s.covered_after_s)
        self.defocused = _Run("defocused", s.defocus_after_s)
        self.moved = _Run("moved", s.moved_after_s)
        self._runs = (self.frozen, self.covered, self.defocused, self.moved)
        self._prev: numpy.ndarray | None = None
        self._prev_t = 0.0
        self._still_now = False
        self._prev_at: datetime | None = None
        self._noise = _Baseline()
        self._edges = _Baseline()
        self._sharpness = _Baseline()
        self._match = _Baseline()
        self._sharp_t: float | None = None
        self._moved_t: float | None = None
        self._view: numpy.ndarray | None = None  # averaged grey view, float32
        self._view_t: float | None = None
        self._view_since: float | None = None
        self._reference: numpy.ndarray | None = None  # edge map of the reference view
        self._reference_source = "learned"
        self._reference_jpeg = self.config.reference
        self._followed_t: float | None = None
        self._scenery: tuple | None = None

    # -- the pipeline's two entry points --------------------------------------------------------

    def idle(self, at: datetime, t: float | None = None) -> list[Observation]:
        """No frame came: "no_frames" once nothing has come for ``no_frames_after_s``."""
        if not self.enabled:
            return []
        since = self._last_frame_at or self._idle_since
        if since is None:
            self._idle_since = since = at
        if t is not None and self._last_frame_t is not None:
            # on the stream's clock (the runner passes the last frame's t + the time gone since): a file
            # played faster than real time has frame times ahead of the wall clock
            silent = t - self._last_frame_t
        else:
            silent = (at - since).total_seconds()
        if silent < self.no_frames_after_s:
            return []
        self._no_frames_active = True
        evidence = {"seconds_without_frames": round(silent, 1)}
        if self._last_frame_at is not None:
            evidence["last_frame_at"] = self._last_frame_at.isoformat()
        return [Observation(KIND, "no_frames", True, 1.0, since, evidence)]

    @property
    def still_for_s(self) -> float:
        """How long the picture has been the same picture (a frozen run, raised or not yet), else 0.

        Traffic detectors should not judge a picture that does not change: a car in a frozen
        picture stands still for as long as the picture does (the pipeline skips them past a few
        seconds of this)."""
        run = self.frozen
        if not self._still_now or run.onset_t is None or run.held < run.share * run.seen:
            return 0.0
        return run.last_true_t - run.onset_t

    def update(self, frame: Frame, ctx: FrameContext | None = None) -> list[Observation]:
        """Judge this frame; one observation per fault that is raised, still on, or just cleared."""
        if not self.enabled:
            return []
        out: list[Observation] = []
        if self._no_frames_active:
            self._no_frames_active = False
            since = self._last_frame_at or self._idle_since or frame.at
            silent = (frame.at - since).total_seconds()
            out.append(Observation(KIND, "no_frames", False, 1.0, since, {"seconds_without_frames": round(silent, 1)}))
        self._last_frame_at, self._last_frame_t, self._idle_since = frame.at, frame.t, None

        # the pipeline's small grey (area-averaged, lightly blurred, aligned when the camera shakes),
        # else the same made here; every threshold below is relative or holds for both
        grey = ctx.grey if ctx is not None else self._small_grey(frame.image)
        t, at = frame.t, frame.at
        if self._prev is not None and (self._prev.shape != grey.shape or t < self._prev_t):
            self.reset()  # the stream changed size (views not comparable) or its clock restarted
        self._check_covered(t, at, grey)
        if not (self.covered.active or self.covered.pending()):
            self._check_frozen(t, at, grey)
            self._check_defocused(t, at, frame.image)
            self._check_moved(t, at, grey)
        else:
            self._view_t = t  # the averaged view keeps its pre-cover state
            self._still_now = False
        self._prev, self._prev_t, self._prev_at = grey, t, at

        for run in self._runs:
            if run.active:
                evidence = dict(run.evidence, seconds=round(run.duration(t), 1))
                out.append(Observation(KIND, run.subtype, True, run.confidence, run.onset_at, evidence))
            elif run.change == "cleared":
                out.append(Observation(KIND, run.subtype, False, run.confidence, run.ended_onset, dict(run.evidence)))
            run.change = None
        return out

    # -- the checks -----------------------------------------------------------------------------

    @staticmethod
    def _feed(run: _Run, t: float, at: datetime, condition: bool, evidence: dict, confidence: float,
              since: tuple[float, datetime] | None = None) -> None:
        """One verdict for one fault: its numbers are kept while the condition holds, and on clearing."""
        onset = run.onset_at
        run.change = run.feed(t, at, condition, since)
        if condition or run.change == "cleared":
            run.evidence = evidence
        if condition:
            run.confidence = confidence
        if run.change == "cleared":
            run.ended_onset = onset

    def _check_frozen(self, t: float, at: datetime, grey: numpy.ndarray) -> None:
        if self._prev is None:
            return
        diff = float(cv2.absdiff(grey, self._prev).mean())
        noise = self._noise.value
        limit = STILL_MAX if noise is None else min(STILL_MAX, STILL_SHARE * noise)
        still = self._still_now = diff <= max(STILL_FLOOR, limit)
        if not still:
            self._noise.add(t, diff)
        evidence = {
            "frame_difference": round(diff, 3),
            "live_noise": round(noise, 3) if noise is not None else -1.0,
            "still_limit": round(max(STILL_FLOOR, limit), 3),
        }
        confidence = 0.95 if diff <= STILL_FLOOR else 0.8
        # the picture froze with the previous frame (the first one repeated)
        self._feed(self.frozen, t, at, still, evidence, confidence, since=(self._prev_t, self._prev_at))

    def _check_covered(self, t: float, at: datetime, grey: numpy.ndarray) -> None:
        mean, std = (float(v[0][0]) for v in cv2.meanStdDev(grey))
        low, high = _percentiles(grey, 0.02, 0.98)
        edges = _edge_density(grey)
        usual = self._edges.value if self._edges.warm else None
        uniform = (high - low) < COVERED_RANGE
        # no edges at all, or almost none of the usual ones (a camera's clock overlay keeps a few)
        bare = edges < COVERED_EDGES or (usual is not None and edges < COVERED_EDGE_SHARE * usual)
        covered = uniform and bare
        if not covered and not self.covered.active:
            self._edges.add(t, edges)
        evidence = {
            "mean_brightness": round(mean, 1),
            "contrast": round(std, 2),
            "brightness_range": round(high - low, 1),
            "edge_density": round(edges, 4),
            "usual_edge_density": round(usual, 4) if usual is not None else -1.0,
        }
        confidence = 0.9 if edges < COVERED_EDGES or (usual and edges < COVERED_EDGE_SHARE * usual / 2) else 0.75
        self._feed(self.covered, t, at, covered, evidence, confidence)

    def _check_defocused(self, t: float, at: datetime, image: numpy.ndarray) -> None:
        if self._sharp_t is not None and 0 <= t - self._sharp_t < SHARP_EVERY_S:
            return
        self._sharp_t = t
        # its own small grey, not blurred (the pipeline's is, which halves the contrast between
        # sharp and defocused): every 2 s, so the resize costs little
        grey = _grey(image, SMALL_WIDTH)
        if self._sharpness.value is None and self._reference_jpeg is not None:
            seed = _reference_grey(self._reference_jpeg, grey.shape[1], grey.shape[0])
            if seed is not None:
                value, structure = sharpness(seed)
                if structure >= MIN_STRUCTURE:
                    self._sharpness = _Baseline(seed=value)
        value, structure = sharpness(grey)
        if structure < MIN_STRUCTURE:
            return  # too dark or bare to judge: the run neither grows nor breaks
        usual = self._sharpness.value if self._sharpness.warm else None
        blurred = usual is not None and value < DEFOCUS_SHARE * usual
        if not blurred and not self.defocused.active:
            self._sharpness.add(t, value)
        evidence = {
            "sharpness": round(value, 3),
            "usual_sharpness": round(usual, 3) if usual is not None else -1.0,
            "sharpness_ratio": round(value / usual, 3) if usual else -1.0,
            "structure": round(structure, 1),
        }
        confidence = 0.9 if usual and value < 0.4 * usual else 0.7
        self._feed(self.defocused, t, at, blurred, evidence, confidence)

    def _check_moved(self, t: float, at: datetime, grey: numpy.ndarray) -> None:
        # the averaged view, every frame
        if self._view is None:
            self._view = grey.astype(numpy.float32)
            self._view_since = t
        else:
            dt = max(0.0, t - (self._view_t if self._view_t is not None else t))
            alpha = 1.0 - math.exp(-dt / VIEW_TAU_S) if dt > 0 else 0.2
            cv2.accumulateWeighted(grey, self._view, alpha)
        self._view_t = t
        if self._moved_t is not None and 0 <= t - self._moved_t < MOVED_EVERY_S:
            return
        self._moved_t = t
        if self._reference is None:
            if self._reference_jpeg is not None:
                ref = _reference_grey(self._reference_jpeg, grey.shape[1], grey.shape[0])
                self._reference_jpeg = None
                if ref is not None:
                    self._reference = edge_map(ref.astype(numpy.float32))
                    self._reference_source = "configured"
            elif t - self._view_since >= LEARN_AFTER_S and not self.frozen.active:
                self._reference = edge_map(self._view)
                self._followed_t = t
            if self._reference is None:
                return
        current = edge_map(self._view)
        match = _zncc(self._reference, current, self._scenery_mask(grey.shape))
        usual = self._match.value if self._match.warm else None
        moved = match < MOVED_MATCH or (usual is not None and match < MOVED_MATCH_SHARE * usual)
        if not moved and not self.moved.active:
            self._match.add(t, match)
            if self._followed_t is None or t - self._followed_t >= FOLLOW_EVERY_S:
                # the reference follows slow change (dusk, dawn, a parked truck) while the view matches
                cv2.accumulateWeighted(current, self._reference, FOLLOW_RATE)
                self._followed_t = t
        evidence = {
            "match": round(match, 3),
            "usual_match": round(usual, 3) if usual is not None else -1.0,
            "match_ratio": round(match / usual, 3) if usual else -1.0,
            "reference": self._reference_source,
        }
        if moved:  # how far the view went, when the old view is still found in it (a pan, a tilt)
            (dx, dy), response = cv2.phaseCorrelate(self._reference, current)
            if response >= SHIFT_RESPONSE:
                width = grey.shape[1]
                evidence.update(shift_x=round(dx / width, 3), shift_y=round(dy / width, 3))
        confidence = 0.9 if match < MOVED_MATCH / 2 else 0.7
        self._feed(self.moved, t, at, moved, evidence, confidence)

    # -- helpers --------------------------------------------------------------------------------

    def _scenery_mask(self, shape: tuple[int, ...]) -> numpy.ndarray | None:
        """Where the view is compared: outside the ROI (the road's traffic and jams change it), if
        that leaves enough of the picture; else everywhere."""
        if self._scenery is None or self._scenery[0] != shape:
            mask = None
            if self.config.roi is not None:
                outside = cv2.bitwise_not(polygon_mask(self.config.roi, (shape[1], shape[0])))
                if cv2.countNonZero(outside) >= MIN_SCENERY * outside.size:
                    mask = outside
            self._scenery = (shape, mask)
        return self._scenery[1]

    @staticmethod
    def _small_grey(image: numpy.ndarray) -> numpy.ndarray:
        return cv2.GaussianBlur(_grey(image, SMALL_WIDTH), (3, 3), 0)


def _grey(image: numpy.ndarray, width: int, height: int | None = None) -> numpy.ndarray:
    """``image`` (BGR or grey) as grey, area-averaged down to ``width`` (aspect kept unless ``height``)."""
    h, w = image.shape[:2]
    if height is None:
        width = min(width, w)
        height = max(8, round(h * width / w))
    if (w, h) != (width, height):
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def _reference_grey(jpeg: bytes, width: int, height: int | None = None) -> numpy.ndarray | None:
    image = cv2.imdecode(numpy.frombuffer(jpeg, numpy.uint8), cv2.IMREAD_GRAYSCALE)
    return None if image is None else _grey(image, width, height)


def _percentiles(grey: numpy.ndarray, low: float, high: float) -> tuple[float, float]:
    hist = cv2.calcHist([grey], [0], None, [256], [0, 256]).ravel().cumsum()
    total = hist[-1]
    return float(numpy.searchsorted(hist, low * total)), float(numpy.searchsorted(hist, high * total))


def _edge_density(grey: numpy.ndarray) -> float:
    gx = cv2.convertScaleAbs(cv2.Sobel(grey, cv2.CV_16S, 1, 0))
    gy = cv2.convertScaleAbs(cv2.Sobel(grey, cv2.CV_16S, 0, 1))
    magnitude = cv2.add(gx, gy)
    return cv2.countNonZero(cv2.threshold(magnitude, EDGE_THRESHOLD, 255, cv2.THRESH_BINARY)[1]) / grey.size


def sharpness(grey: numpy.ndarray) -> tuple[float, float]:
    """(sharpness, structure): mean |Laplacian| over mean |gradient|, and the mean |gradient|.

    A defocused lens widens every edge: the second derivative falls faster than the first, so
    the ratio drops (measured: 0.31 in daylight, 0.28-0.37 at night with headlights, 0.12 out of
    focus).  Both means scale alike with light and contrast, which cancel; on the area-averaged
    small image sensor noise adds little to either.
    """
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    gradient = float(cv2.mean(cv2.magnitude(gx, gy))[0])
    if gradient <= 0:
        return 0.0, 0.0
    laplacian = float(cv2.mean(numpy.abs(cv2.Laplacian(grey, cv2.CV_32F)))[0])
    return laplacian / gradient, gradient


def edge_map(view: numpy.ndarray) -> numpy.ndarray:
    """Gradient magnitude of a float32 grey view, slightly blurred (a shaking camera still matches)."""
    gx = cv2.Sobel(view, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(view, cv2.CV_32F, 0, 1)
    return cv2.GaussianBlur(cv2.magnitude(gx, gy), (0, 0), 1.5)


def _zncc(a: numpy.ndarray, b: numpy.ndarray, mask: numpy.ndarray | None = None) -> float:
    """Zero-normalised cross-correlation of two same-size float32 maps where ``mask`` is set (1 = alike)."""
    a_mean, a_std = cv2.meanStdDev(a, mask=mask)
    b_mean, b_std = cv2.meanStdDev(b, mask=mask)
    if a_std[0][0] < 1e-6 or b_std[0][0] < 1e-6:
        return 0.0
    product = float(cv2.mean(cv2.multiply(a - a_mean[0][0], b - b_mean[0][0]), mask=mask)[0])
    return product / (a_std[0][0] * b_std[0][0])
