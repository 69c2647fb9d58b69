"""A place for an object detector the operator supplies: an ONNX model run by onnxruntime.

No PyPI wheel ships a vehicle detector and nothing may download at run time, so the pipeline's own
detection rests on background models and motion (vision/detectors).  An operator who has a model
(for example one trained on their own cameras) names its file in a camera's settings
(``detector_model``); it is off by default.  onnxruntime is not a dependency: it is imported only
when a model is configured, and its absence is a clear error, never a crash at import.

The model must take one image, ``[1, 3, H, W]`` (NCHW) or ``[1, H, W, 3]`` (NHWC), RGB, float (0..1)
or uint8 (0..255); a dynamic H or W takes ``input_size``.  Its outputs, one of:

- one tensor ``[N, 6]`` or ``[1, N, 6]``: x0, y0, x1, y1, score, class (a model exported with its
  non-maximum suppression inside);
- two or three tensors: boxes ``[N, 4]`` / ``[1, N, 4]`` (x0, y0, x1, y1), scores ``[N]`` / ``[1, N]``,
  and optionally classes ``[N]`` / ``[1, N]`` (found by name — "box", "score", "label"/"class" —
  else taken in that order).

Box coordinates may be normalised (0..1) or in the model's input pixels; they come back
normalised to the frame.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass

import cv2
import numpy

from vision.config import DetectionSettings

DEFAULT_INPUT_SIZE = (320, 320)  # (width, height) for a model whose input size is dynamic


class OnnxDetectorError(Exception):
    """The configured model cannot be used; ``reason`` is a message key for the camera's status."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason  # missing_runtime | unreadable | bad_inputs | bad_outputs


@dataclass(frozen=True)
class Detection:
    """One object the model found: a normalised box (x0, y0, x1, y1), its score and class index."""

    box: tuple[float, float, float, float]
    score: float
    label: int

    @property
    def region(self) -> tuple[tuple[float, float], ...]:
        """The box as a normalised polygon (for ``Incident.region``)."""
        x0, y0, x1, y1 = self.box
        return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def _runtime():
    try:
        return importlib.import_module("onnxruntime")
    except ImportError as error:
        raise OnnxDetectorError(
            "missing_runtime",
            "a detector model is configured but onnxruntime is not installed: install it "
            "(pip install onnxruntime) or clear the camera's detector_model setting",
        ) from error


class OnnxDetector:
    """An ONNX object detector on CPU, one thread (a process runs many cameras)."""

    def __init__(self, path: str, *, min_score: float = 0.5, input_size: tuple[int, int] = DEFAULT_INPUT_SIZE,
                 threads: int = 1):
        ort = _runtime()
        if not os.path.isfile(path):
            raise OnnxDetectorError("unreadable", f"detector model {path}: no such file")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: a model's harmless warnings would flood the log
        try:
            self.session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types, not importable without it
            raise OnnxDetectorError("unreadable", f"detector model {path}: onnxruntime cannot load it ({error})") from error
        self.path = path
        self.min_score = min_score
        self._read_input(input_size)
        self._read_outputs()

    # -- the model's shape --------------------------------------------------------------------

    def _read_input(self, input_size: tuple[int, int]) -> None:
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise OnnxDetectorError(
                "bad_inputs", f"detector model {self.path}: takes {len(inputs)} inputs; one image input is needed"
            )
        spec = inputs[0]
        shape = list(spec.shape)
        if len(shape) != 4:
            raise OnnxDetectorError(
                "bad_inputs",
                f"detector model {self.path}: its input {spec.name} has shape {shape}; "
                "an image [1, 3, H, W] or [1, H, W, 3] is needed",
            )
        if shape[1] == 3:
            self.layout, height, width = "nchw", shape[2], shape[3]
        elif shape[3] == 3:
            self.layout, height, width = "nhwc", shape[1], shape[2]
        else:
            raise OnnxDetectorError(
                "bad_inputs",
                f"detector model {self.path}: its input {spec.name} {shape} has no axis of 3 colour channels",
            )
        if shape[0] not in (1, None) and not isinstance(shape[0], str):
            raise OnnxDetectorError("bad_inputs", f"detector model {self.path}: its batch size is {shape[0]}, not 1")
        if spec.type not in ("tensor(float)", "tensor(uint8)"):
            raise OnnxDetectorError(
                "bad_inputs", f"detector model {self.path}: its input is {spec.type}; float32 or uint8 is needed"
            )
        self.input_name = spec.name
        self.input_float = spec.type == "tensor(float)"
        self.input_size = (
            width if isinstance(width, int) and width > 0 else input_size[0],
            height if isinstance(height, int) and height > 0 else input_size[1],
        )

    def _read_outputs(self) -> None:
        outputs = self.session.get_outputs()
        self.output_names = [o.name for o in outputs]
        if len(outputs) == 1:
            self.output_layout = "rows"
            shape = outputs[0].shape
            if len(shape) not in (2, 3) or (isinstance(shape[-1], int) and shape[-1] != 6):
                raise OnnxDetectorError(
                    "bad_outputs",
                    f"detector model {self.path}: its output {outputs[0].name} has shape {shape}; "
                    "[N, 6] rows of x0, y0, x1, y1, score, class are needed (or boxes and scores apart)",
                )
            return
        if len(outputs) not in (2, 3):
            raise OnnxDetectorError(
                "bad_outputs",
                f"detector model {self.path}: has {len(outputs)} outputs; one [N, 6] or boxes, scores "
                "(and classes) are needed",
            )
        self.output_layout = "split"
        names = [n.lower() for n in self.output_names]

        def find(*words: str, default: int) -> int:
            for index, name in enumerate(names):
                if any(word in name for word in words):
                    return index
            return default

        self._boxes_at = find("box", default=0)
        self._scores_at = find("score", "conf", default=1)
        self._labels_at = find("label", "class", default=2) if len(outputs) == 3 else None

    # -- running ------------------------------------------------------------------------------

    def detect(self, image: numpy.ndarray) -> list[Detection]:
        """The objects in a BGR frame scoring at least ``min_score``, best first."""
        width, height = self.input_size
        rgb = cv2.cvtColor(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
        tensor = rgb.astype(numpy.float32) / 255.0 if self.input_float else rgb
        tensor = tensor.transpose(2, 0, 1)[None] if self.layout == "nchw" else tensor[None]
        try:
            results = self.session.run(None, {self.input_name: numpy.ascontiguousarray(tensor)})
        except Exception as error:
            raise OnnxDetectorError("bad_inputs", f"detector model {self.path}: the run failed ({error})") from error
        boxes, scores, labels = self._split(results)
        if boxes.size and float(numpy.nanmax(boxes)) > 1.5:  # input pixels, not normalised
            boxes = boxes / numpy.array([width, height, width, height], numpy.float32)
        found = []
        for box, score, label in zip(boxes, scores, labels, strict=True):
            if not numpy.isfinite(score) or score < self.min_score or not numpy.all(numpy.isfinite(box)):
                continue
            x0, y0, x1, y1 = (float(min(1.0, max(0.0, v))) for v in box)
            if x1 <= x0 or y1 <= y0:
                continue
            found.append(Detection((x0, y0, x1, y1), float(score), int(label)))
        found.sort(key=lambda d: d.score, reverse=True)
        return found

    def _split(self, results: list) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
        if self.output_layout == "rows":
            rows = numpy.asarray(results[0], numpy.float32)
            rows = rows[0] if rows.ndim == 3 else rows
            if rows.ndim != 2 or rows.shape[1] != 6:
                raise OnnxDetectorError(
                    "bad_outputs", f"detector model {self.path}: returned shape {list(rows.shape)}; [N, 6] is needed"
                )
            return rows[:, :4], rows[:, 4], rows[:, 5]
        boxes = numpy.asarray(results[self._boxes_at], numpy.float32)
        scores = numpy.asarray(results[self._scores_at], numpy.float32)
        boxes = boxes[0] if boxes.ndim == 3 else boxes
        scores = scores[0] if scores.ndim == 2 else scores
        if self._labels_at is None:
            labels = numpy.zeros(len(scores), numpy.float32)
        else:
            labels = numpy.asarray(results[self._labels_at])
            labels = labels[0] if labels.ndim == 2 else labels
        if boxes.ndim != 2 or boxes.shape[1] != 4 or scores.ndim != 1 or len({len(boxes), len(scores), len(labels)}) != 1:
            raise OnnxDetectorError(
                "bad_outputs",
                f"detector model {self.path}: returned boxes {list(boxes.shape)} and scores {list(scores.shape)}; "
                "[N, 4] and [N] are needed",
            )
        return boxes, scores, labels


def load_detector(settings: DetectionSettings) -> OnnxDetector | None:
    """The camera's configured model, or None when ``detector_model`` is not set (the default)."""
    if not settings.detector_model:
        return None
    return OnnxDetector(settings.detector_model, min_score=settings.min_confidence)
