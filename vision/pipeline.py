"""One camera's analysis: frames in, incidents out.

Per analysed frame the pipeline does the shared work once (``FrameContext``): a small
grey image, aligned to the long-term background when the camera shakes, corrected for
a change of lighting, and compared with two background models —

* the **long-term** model learns slowly and only where the road is seen (selective
  update), so anything that came into the scene, moving or not, differs from it;
* the **short-term** model follows the image within a few seconds, so only what moved
  lately differs from it.

What differs from the long-term model but not from the short-term one has stopped.
Detectors read these masks and report ``Observation``s; the pipeline alone turns them
into incidents: raised once, updated (the clip), cleared once, with a confidence
threshold, a cooldown per kind and lane, and the evidence (snapshot, clip) from
vision/evidence.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import cv2
import numpy

from vision.config import CameraConfig, DetectionSettings
from vision.detectors import Detector, FrameContext, Observation
from vision.events import Frame, Incident, incident_key
from vision.geometry import analysis_size, lane_views

TAU_SHORT_S = 2.0  # the short-term model follows the image within a few seconds
TAU_LONG_S = 40.0  # the long-term model follows slow lighting drift where the road is seen
WARMUP_S = 20.0  # the long-term model starts as the median of the first seconds (no ghosts of passing cars)
WARMUP_SAMPLES = 11
ABSORB_S = 3600.0  # the long-term model learns even what stands, at this pace (an hour: not a jam's vehicles)
MAX_SHIFT_PX = 6.0  # shake up to this many analysis pixels is compensated; more is a moved camera
RELIGHT_GAIN = 0.06  # a lighting change this large (gain, or offset in grey levels) is applied to the model
RELIGHT_OFFSET = 6.0
THRESHOLD_FLOOR = 10.0  # grey levels: a pixel differs from a model by more than this (or 4 noise sigmas)


@dataclass
class _Episode:
    key: str
    kind: str
    subtype: str | None
    started_at: datetime
    raised_t: float
    confidence: float
    evidence: dict
    region: tuple | None
    clip_sent: bool = False
    clearing_at: datetime | None = None  # gone: the "cleared" event waits for the clip's post-roll


class _Evidence:
    """The seam to vision/evidence.py (EvidenceRecorder): the snapshot and clip of an incident.

    Without that module a plain JPEG of the frame stands in for the snapshot and no clip
    is made, so detection never depends on it.
    """

    def __init__(self, settings: DetectionSettings):
        try:
            from vision.evidence import EvidenceRecorder
        except ImportError:
            EvidenceRecorder = None
        self.recorder = EvidenceRecorder(settings) if EvidenceRecorder else None

    def push(self, frame: Frame) -> None:
        if self.recorder is not None:
            self.recorder.push(frame)

    def snapshot(self, frame: Frame, region, label: str | None) -> bytes:
        if self.recorder is not None:
            return self.recorder.snapshot(frame, region, label)
        ok, jpeg = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, 80])
        return jpeg.tobytes() if ok else b""

    def clip_ready(self, started: datetime) -> bool:
        """Whether the clip around ``started`` can be cut now (always, when no clip will ever come)."""
        return self.recorder is None or self.recorder.clip_ready(started)

    def clip_for(self, started: datetime, region, label: str | None, *, partial: bool = False) -> bytes | None:
        if self.recorder is None:
            return None
        return self.recorder.clip_for(started, region=region, label=label, partial=partial)


class _ModelCheck:
    """The operator's optional ONNX detector (vision/onnx_detector.py), asked once before a traffic incident
    is raised: does it see an object where the background models do? Off unless ``detector_model`` is set.

    Its answer goes into the evidence (``model_score``, ``model_objects``) and into the confidence: nothing
    seen there lowers it by a third, so that below ``min_confidence`` the incident waits (the model is
    asked again at most every ``RECHECK_S``). A model that cannot be used is said in the evidence
    (``model`` = its reason) and the detectors go on without it.
    """

    RECHECK_S = 10.0
    KINDS = ("stopped_vehicle", "congestion")

    def __init__(self, settings: DetectionSettings):
        self.detector = None
        self.problem: str | None = None
        self.asked: dict[tuple[str, str | None], tuple[float, float, dict]] = {}
        if settings.detector_model:
            from vision.onnx_detector import OnnxDetectorError, load_detector

            try:
                self.detector = load_detector(settings)
            except OnnxDetectorError as error:
                self.problem = error.reason

    def check(self, observation: Observation, frame: Frame | None, t: float) -> None:
        """Adjust the observation (confidence, evidence) by what the model sees in its region."""
        if observation.kind not in self.KINDS or frame is None:
            return
        if self.problem:
            observation.evidence["model"] = self.problem
            return
        if self.detector is None:
            return
        slot = (observation.kind, observation.subtype)
        asked = self.asked.get(slot)
        if asked is None or t - asked[0] >= self.RECHECK_S or t < asked[0]:
            found = [d for d in self.detector.detect(frame.image) if _overlaps(d.box, observation.region)]
            factor = 1.0 if found else 2.0 / 3.0
            evidence = {"model_score": max((d.score for d in found), default=0.0), "model_objects": len(found)}
            asked = self.asked[slot] = (t, factor, evidence)
        observation.confidence *= asked[1]
        observation.evidence.update(asked[2])


def _overlaps(box, region) -> bool:
    if region is None:
        return True
    xs, ys = [p[0] for p in region], [p[1] for p in region]
    x0, y0, x1, y1 = box
    return x0 < max(xs) and min(xs) < x1 and y0 < max(ys) and min(ys) < y1


def default_detectors(config: CameraConfig) -> list[Detector]:
    """The detectors a camera's settings switch on; each takes the CameraConfig."""
    from vision.detectors.congestion import CongestionDetector
    from vision.detectors.stopped import StoppedVehicleDetector

    settings = config.settings
    detectors: list[Detector] = []
    if settings.congestion_enabled:
        detectors.append(CongestionDetector(config))
    if settings.stopped_enabled:
        detectors.append(StoppedVehicleDetector(config))
    if settings.faults_enabled:
        try:
            from vision.detectors.faults import FaultDetector
        except ImportError:
            pass  # camera faults come with vision/detectors/faults.py
        else:
            detectors.append(FaultDetector(config))
    return detectors


def _plain(evidence: dict) -> dict:
    """Evidence with plain Python numbers (numpy scalars are not JSON)."""
    plain = {}
    for name, value in evidence.items():
        if isinstance(value, (bool, numpy.bool_)):
            value = int(value)
        elif isinstance(value, numpy.integer):
            value = int(value)
        elif isinstance(value, (float, numpy.floating)):
            value = round(float(value), 4) if math.isfinite(value) else str(value)
        elif not isinstance(value, (int, str)):
            value = str(value)
        plain[str(name)] = value
    return plain


@dataclass
class _Models:
    """The per-size state of the shared work: masks, the two backgrounds, the previous frame."""

    size: tuple[int, int]
    source_shape: tuple[int, ...]
    roi_mask: numpy.ndarray
    lanes: list
    samples: numpy.ndarray  # flat indices of a sparse grid, outside the ROI when it leaves room (lighting fit)
    roi_samples: numpy.ndarray  # flat indices of a sparse grid inside the ROI (brightness)
    align_window: numpy.ndarray  # float32 weights of the shake estimate: the view outside the lanes
    long: numpy.ndarray | None = None  # float32 HxWx3
    short: numpy.ndarray | None = None  # float32 HxWx3
    previous: numpy.ndarray | None = None  # float32, the previous analysed grey
    colour: numpy.ndarray | None = None  # float32, the previous analysed colour image
    first_t: float | None = None
    last_t: float | None = None
    warmup: list = field(default_factory=list)
    warm: bool = False
    fg_long: numpy.ndarray | None = None
    gain: float = 1.0
    offset: float = 0.0


class CameraPipeline:
    """The state and analysis of one camera. Not thread-safe: one caller per camera."""

    def __init__(self, config: CameraConfig, *, detectors: list[Detector] | None = None, width: int = 160):
        self.config = config
        self.settings = config.settings
        self.width = width
        self.detectors = default_detectors(config) if detectors is None else detectors
        self.evidence = _Evidence(self.settings)
        self.model = _ModelCheck(self.settings)
        self._models: _Models | None = None
        self._episodes: dict[tuple[str, str | None], _Episode] = {}
        self._cleared_t: dict[tuple[str, str | None], float] = {}
        self._last_frame: Frame | None = None

    # -- the contract ------------------------------------------------------------------

    def process(self, frame: Frame) -> list[Incident]:
        """Analyse one frame: every enabled detector, then raise/update/clear with evidence."""
        self.evidence.push(frame)
        ctx = self.context(frame)
        observations: list[Observation] = []
        for detector in self.detectors:
            observations.extend(detector.update(frame, ctx))
        self._last_frame = frame
        return self._reconcile(observations, frame.at, frame.t, frame, idle=False)

    def idle(self, at: datetime, t: float) -> list[Incident]:
        """No frame came: detectors that watch for silence (no_frames) may report."""
        observations: list[Observation] = []
        for detector in self.detectors:
            idle = getattr(detector, "idle", None)
            if idle is not None:
                observations.extend(idle(at, t))
        return self._reconcile(observations, at, t, self._last_frame, idle=True)

    def close(self) -> list[Incident]:
        """Stopping: a clip not yet sent goes out with what the ring holds; no "cleared" is invented."""
        out = []
        at = self._last_frame.at if self._last_frame else None
        for episode in self._episodes.values():
            if episode.clip_sent:
                continue
            clip = self._clip(episode, partial=True)
            if episode.clearing_at is not None:
                out.append(self._incident(episode, "cleared", episode.clearing_at, clip=clip))
            elif clip is not None:
                out.append(self._incident(episode, "updated", at or episode.started_at, clip=clip))
        self._episodes.clear()
        return out

    # -- shared per-frame work ---------------------------------------------------------

    def context(self, frame: Frame) -> FrameContext:
        """The shared per-frame work; also updates the background models."""
        image = frame.image if frame.image.ndim == 3 else cv2.cvtColor(frame.image, cv2.COLOR_GRAY2BGR)
        models = self._models
        if models is None or models.source_shape != image.shape:
            models = self._models = self._new_models(image)
        small = cv2.GaussianBlur(cv2.resize(image, models.size, interpolation=cv2.INTER_AREA), (3, 3), 0)
        colour = small.astype(numpy.float32)  # the backgrounds are in colour: a green car on a grey road
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        current = grey.astype(numpy.float32)
        dt = 0.0 if models.last_t is None else max(0.0, frame.t - models.last_t)
        models.last_t = frame.t  # a clock going back (a source restarted) counts as no time passing
        ctx = FrameContext(frame=frame, config=self.config, size=models.size, grey=grey,
                           roi_mask=models.roi_mask, lanes=models.lanes, dt=dt, heal=self.heal)
        if models.long is None:
            models.long, models.short = colour.copy(), colour.copy()
            models.previous, models.colour = current, colour
            models.first_t = frame.t
            models.warmup.append(colour)
            ctx.fg_long = ctx.fg_short = ctx.motion = numpy.zeros(grey.shape, bool)
            ctx.brightness = float(current.ravel()[models.roi_samples].mean())
            ctx.background = current
            return ctx

        long_grey = cv2.cvtColor(models.long, cv2.COLOR_BGR2GRAY)
        shift = self._align(long_grey, current, models.align_window)
        if shift is not None:
            dx, dy = shift
            move = numpy.float32([[1, 0, -dx], [0, 1, -dy]])
            current = cv2.warpAffine(current, move, models.size, borderMode=cv2.BORDER_REPLICATE)
            colour = cv2.warpAffine(colour, move, models.size, borderMode=cv2.BORDER_REPLICATE)
            ctx.grey = current.astype(numpy.uint8)
            ctx.shift = math.hypot(dx, dy)
        ctx.brightness = float(current.ravel()[models.roi_samples].mean())
        ctx.brightness_jump = ctx.brightness - float(models.previous.ravel()[models.roi_samples].mean())

        flat = current.ravel()[models.samples]
        keep = ~models.fg_long.ravel()[models.samples] if models.fg_long is not None else None
        gain, offset, noise = self._photometric(long_grey, flat, keep, models.samples)
        # the view changed as a whole since the previous frame: what differs says nothing of objects
        # (measured where the lighting is fitted: a bus coming near changes the ROI's brightness, not the light)
        light_jump = abs(gain - models.gain) > 0.08 or abs(offset - models.offset) > 10.0
        ctx.unstable = light_jump or (shift is not None and math.hypot(*shift) > 1.0)
        if light_jump:
            models.short[:] = colour  # a lighting jump: the short-term model starts from the new light
        models.gain, models.offset = gain, offset
        threshold = max(THRESHOLD_FLOOR, 4.0 * noise)
        if abs(gain - 1.0) > RELIGHT_GAIN or abs(offset) > RELIGHT_OFFSET:
            # the light changed for good: re-light the whole long-term model, also where something stands
            # and the model is not updated (else the road it hides turns into a "ghost" when it leaves)
            cv2.addWeighted(models.long, gain, models.long, 0.0, offset, dst=models.long)
            long_ref = models.long
        else:  # small differences are compared through the fit (re-lighting on each would random-walk)
            long_ref = models.long if gain == 1.0 and offset == 0.0 else cv2.addWeighted(
                models.long, gain, models.long, 0.0, offset)
        ctx.fg_long = _differs(colour, long_ref, threshold) & (models.roi_mask > 0)
        ctx.fg_short = _differs(colour, models.short, threshold)
        ctx.motion = cv2.absdiff(current, models.previous) > threshold
        ctx.noise = noise
        ctx.gain = gain

        # the short-term model follows everything; the long-term one only the road it sees
        alpha_short = 1.0 - math.exp(-dt / TAU_SHORT_S) if dt else 0.0
        cv2.accumulateWeighted(colour, models.short, alpha_short)
        alpha_long = 1.0 - math.exp(-dt / TAU_LONG_S) if dt else 0.0
        seen = ~ctx.fg_long.ravel()[models.samples]
        flat_long = models.long.reshape(-1, 3)
        lit_before = float(flat_long[models.samples[seen]].mean()) if seen.any() else 0.0
        cv2.accumulateWeighted(colour, models.long, alpha_long, mask=(~ctx.fg_long).astype(numpy.uint8))
        if lit_before > 1.0 and not light_jump:
            # the light drifts (dawn, dusk, clouds) too slowly for a re-light, and the model follows it only where
            # it sees the road: carry the same drift to where something covers the road (a queue standing for
            # minutes at dawn would otherwise leave a model of the night behind it, seen as things that stand)
            drift = float(flat_long[models.samples[seen]].mean()) / lit_before
            if abs(drift - 1.0) > 1e-4:
                covered = ctx.fg_long
                models.long[covered] *= drift
        # and everything, very slowly, so that a lasting change of the view is learnt in the end
        cv2.accumulateWeighted(colour, models.long, 1.0 - math.exp(-dt / ABSORB_S) if dt else 0.0)
        if not models.warm:
            self._warm_up(models, colour, frame.t)
        ctx.warm = models.warm
        ctx.background = long_grey
        models.previous, models.colour = current, colour
        models.fg_long = ctx.fg_long
        return ctx

    def heal(self, region_mask: numpy.ndarray) -> None:
        """Learn the current view into the long-term model where ``region_mask`` is set (a ghost)."""
        models = self._models
        if models is not None and models.long is not None:
            numpy.copyto(models.long, models.colour, where=region_mask.astype(bool)[:, :, None])

    def _new_models(self, image: numpy.ndarray) -> _Models:
        height, width = image.shape[:2]
        size = analysis_size(width, height, self.width)
        roi, lanes = lane_views(self.config, size)
        step = 4
        grid = numpy.zeros(roi.shape, bool)
        grid[1::step, 1::step] = True
        roi_samples = numpy.flatnonzero(grid & (roi > 0))
        if roi_samples.size < 16:
            roi_samples = numpy.flatnonzero(grid)
        # the lighting is measured where vehicles seldom are: outside the ROI if it leaves enough of the view
        samples = numpy.flatnonzero(grid & (roi == 0))
        if samples.size < 0.15 * numpy.count_nonzero(grid):
            samples = numpy.flatnonzero(grid)
        for detector in self.detectors:  # detectors keep state per size; a new size starts them afresh
            reset = getattr(detector, "reset", None)
            if reset is not None:
                reset()
        # the shake is measured on what does not move: outside the lanes if it leaves enough of the view (a
        # lane full of vehicles in a row would otherwise pull the estimate)
        outside = numpy.ones(roi.shape, numpy.float32)
        for view in lanes:
            outside[view.mask > 0] = 0.0
        if outside.mean() < 0.15:
            outside[:] = 1.0
        window = cv2.createHanningWindow(size, cv2.CV_32F) * cv2.GaussianBlur(outside, (5, 5), 0)
        return _Models(size=size, source_shape=image.shape, roi_mask=roi, lanes=lanes, samples=samples,
                       roi_samples=roi_samples, align_window=window)

    def _warm_up(self, models: _Models, current: numpy.ndarray, t: float) -> None:
        step = WARMUP_S / (WARMUP_SAMPLES - 1)
        if t - models.first_t >= step * len(models.warmup):
            models.warmup.append(current)
        if t - models.first_t >= WARMUP_S or len(models.warmup) >= WARMUP_SAMPLES:
            models.long = numpy.median(numpy.stack(models.warmup), axis=0).astype(numpy.float32)
            models.warmup = []
            models.warm = True

    @staticmethod
    def _align(background: numpy.ndarray, current: numpy.ndarray, window) -> tuple[float, float] | None:
        """The camera's shake: the shift of this frame against the long-term background, if small."""
        (dx, dy), response = cv2.phaseCorrelate(background, current, window)
        distance = math.hypot(dx, dy)
        if distance < 0.5 or distance > MAX_SHIFT_PX or response < 0.05:
            return None
        return dx, dy

    @staticmethod
    def _photometric(model, flat, keep, samples):
        """Gain and offset that light the model like the current frame (fitted where nothing moved), and the noise."""
        reference = model.ravel()[samples]
        if keep is not None and keep.sum() > 32:
            reference, flat = reference[keep], flat[keep]
        residual = flat - reference
        offset = float(numpy.median(residual))
        noise = max(1.0, 1.4826 * float(numpy.median(numpy.abs(residual - offset))))
        inliers = numpy.abs(residual - offset) <= 3.0 * noise + 4.0  # without whatever moved there
        gain = 1.0
        if inliers.sum() >= 16:
            ref_in, flat_in = reference[inliers], flat[inliers]
            ref_mean, flat_mean = float(ref_in.mean()), float(flat_in.mean())
            spread = float(numpy.dot(ref_in - ref_mean, ref_in - ref_mean)) / ref_in.size
            if spread > 36.0:
                covariance = float(numpy.dot(ref_in - ref_mean, flat_in - flat_mean)) / ref_in.size
                gain = min(3.0, max(0.3, covariance / spread))
            offset = flat_mean - gain * ref_mean
            noise = max(1.0, 1.4826 * float(numpy.median(numpy.abs(flat_in - gain * ref_in - offset))))
        if abs(gain - 1.0) < 0.02 and abs(offset) < 2.0:
            return 1.0, 0.0, noise
        return gain, offset, noise

    # -- incidents ---------------------------------------------------------------------

    def _reconcile(self, observations, at: datetime, t: float, frame: Frame | None, *, idle: bool) -> list[Incident]:
        settings = self.settings
        seen: dict[tuple[str, str | None], Observation] = {}
        reported: set[tuple[str, str | None]] = set()
        for observation in observations:
            slot = (observation.kind, observation.subtype)
            reported.add(slot)
            if observation.active and slot not in self._episodes:
                self.model.check(observation, frame, t)  # only before raising: the model is slow
            if not observation.active or observation.confidence < settings.min_confidence:
                continue
            if slot not in seen or observation.confidence > seen[slot].confidence:
                seen[slot] = observation
        out: list[Incident] = []
        for slot, observation in seen.items():
            episode = self._episodes.get(slot)
            if episode is not None and episode.clearing_at is None:
                episode.confidence = float(observation.confidence)
                episode.evidence = _plain(observation.evidence)
                episode.region = observation.region or episode.region
                continue
            if episode is not None:  # came back while its "cleared" waited for the clip: one episode
                episode.clearing_at = None
                continue
            cleared_t = self._cleared_t.get(slot)
            if cleared_t is not None and 0 <= t - cleared_t < settings.cooldown_s:
                continue
            episode = _Episode(
                key=incident_key(self.config.code, observation.kind, observation.subtype, observation.started_at),
                kind=observation.kind, subtype=observation.subtype, started_at=observation.started_at,
                raised_t=t, confidence=float(observation.confidence), evidence=_plain(observation.evidence),
                region=observation.region,
            )
            self._episodes[slot] = episode
            snapshot = self.evidence.snapshot(frame, episode.region, None) if frame is not None else None
            clip = self._clip(episode) if self.evidence.clip_ready(episode.started_at) else None
            out.append(self._incident(episode, "raised", at, snapshot=snapshot, clip=clip))

        for slot, episode in list(self._episodes.items()):
            if slot not in seen and episode.clearing_at is None and (not idle or slot in reported):
                # gone; an idle tick only speaks for the detectors that watch for silence
                episode.clearing_at = at
                self._cleared_t[slot] = t
            ready = episode.clip_sent or self.evidence.clip_ready(episode.started_at)
            if episode.clearing_at is not None and ready:
                # "cleared" waits for the clip's post-roll, so that the clip is never lost
                clip = None if episode.clip_sent else self._clip(episode)
                out.append(self._incident(episode, "cleared", episode.clearing_at, clip=clip))
                del self._episodes[slot]
            elif not episode.clip_sent and ready:
                clip = self._clip(episode)
                if clip is not None:
                    out.append(self._incident(episode, "updated", at, clip=clip))
        return out

    def _clip(self, episode: _Episode, *, partial: bool = False) -> bytes | None:
        episode.clip_sent = True  # asked once: frames missing now will not come later
        # No words burned into the picture: a person reads them and they could not be translated; the outline marks
        # the region and the page names the incident in the reader's language.
        return self.evidence.clip_for(episode.started_at, episode.region, None, partial=partial)

    def _incident(self, episode: _Episode, state: str, at: datetime, *, snapshot=None, clip=None) -> Incident:
        return Incident(
            camera=self.config.code, key=episode.key, kind=episode.kind, subtype=episode.subtype, state=state,
            confidence=round(min(1.0, max(0.0, episode.confidence)), 3), started_at=episode.started_at, at=at,
            evidence=dict(episode.evidence), region=episode.region, snapshot_jpeg=snapshot, clip_mp4=clip,
        )


def _differs(colour: numpy.ndarray, model: numpy.ndarray, threshold: float) -> numpy.ndarray:
    """Where any colour channel differs from the model by more than ``threshold``."""
    difference = cv2.absdiff(colour, model)
    # numpy's max over a 3-wide last axis is 25x slower than two element-wise maxima
    return numpy.maximum(numpy.maximum(difference[..., 0], difference[..., 1]), difference[..., 2]) > threshold

