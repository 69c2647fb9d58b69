"""The optional operator-supplied detector: tiny ONNX models built here, run by the real onnxruntime."""

from __future__ import annotations

import sys

import numpy
import pytest

from vision.config import DetectionSettings
from vision.onnx_detector import OnnxDetector, OnnxDetectorError, load_detector

onnx = pytest.importorskip("onnx", reason="the onnx package builds the test models: pip install onnx")
pytest.importorskip("onnxruntime", reason="onnxruntime runs them: pip install onnxruntime")
from onnx import TensorProto, helper  # noqa: E402


def _save(tmp_path, graph, name="model.onnx") -> str:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = tmp_path / name
    onnx.save(model, str(path))
    return str(path)


def _rows_model(tmp_path, shape=(1, 3, 32, 32), dtype=TensorProto.FLOAT) -> str:
    """[1, 1, 6]: one box (0.25, 0.5)-(0.75, 1.0), class 2, scored by the image's mean brightness."""
    nodes = [
        helper.make_node("Cast", ["image"], ["pixels"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["pixels"], ["mean"], keepdims=0),
        helper.make_node("Reshape", ["mean", "shape"], ["score"]),
        helper.make_node("Concat", ["box", "score", "label"], ["rows"], axis=2),
    ]
    graph = helper.make_graph(
        nodes,
        "rows",
        [helper.make_tensor_value_info("image", dtype, list(shape))],
        [helper.make_tensor_value_info("rows", TensorProto.FLOAT, [1, 1, 6])],
        initializer=[
            helper.make_tensor("box", TensorProto.FLOAT, [1, 1, 4], [0.25, 0.5, 0.75, 1.0]),
            helper.make_tensor("label", TensorProto.FLOAT, [1, 1, 1], [2.0]),
            helper.make_tensor("shape", TensorProto.INT64, [3], [1, 1, 1]),
        ],
    )
    return _save(tmp_path, graph)


def test_a_model_scores_the_frame_it_is_given_and_boxes_come_back_normalised(tmp_path):
    detector = OnnxDetector(_rows_model(tmp_path), min_score=0.5)
    assert detector.input_size == (32, 32) and detector.layout == "nchw"
    white = numpy.full((360, 640, 3), 255, numpy.uint8)
    (found,) = detector.detect(white)
    assert found.box == (0.25, 0.5, 0.75, 1.0)
    assert found.score == pytest.approx(1.0) and found.label == 2
    assert found.region == ((0.25, 0.5), (0.75, 0.5), (0.75, 1.0), (0.25, 1.0))
    # a dark frame scores its mean brightness (about 0.2): below min_score, nothing is returned
    assert detector.detect(numpy.full((360, 640, 3), 51, numpy.uint8)) == []


def test_a_uint8_nhwc_model_with_a_dynamic_size_gets_raw_pixels_at_the_default_size(tmp_path):
    detector = OnnxDetector(_rows_model(tmp_path, shape=(1, "h", "w", 3), dtype=TensorProto.UINT8), min_score=100)
    assert detector.layout == "nhwc" and detector.input_size == (320, 320) and not detector.input_float
    (found,) = detector.detect(numpy.full((90, 160, 3), 200, numpy.uint8))
    assert found.score == pytest.approx(200.0)  # the model saw 0..255 pixels, not 0..1


def test_boxes_scores_and_classes_apart_in_input_pixels(tmp_path):
    """Three outputs found by name in any order; pixel boxes normalised by the input size; low scores dropped."""
    graph = helper.make_graph(
        [
            helper.make_node("Identity", ["s"], ["scores"]),
            helper.make_node("Identity", ["b"], ["boxes"]),
            helper.make_node("Identity", ["c"], ["classes"]),
        ],
        "split",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 64, 128])],
        [
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 3]),
            helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [1, 3, 4]),
            helper.make_tensor_value_info("classes", TensorProto.INT64, [1, 3]),
        ],
        initializer=[
            helper.make_tensor("s", TensorProto.FLOAT, [1, 3], [0.7, 0.2, 0.9]),
            helper.make_tensor("b", TensorProto.FLOAT, [1, 3, 4], [32, 16, 64, 48, 0, 0, 10, 10, 0, 0, 128, 64]),
            helper.make_tensor("c", TensorProto.INT64, [1, 3], [3, 1, 7]),
        ],
    )
    detector = OnnxDetector(_save(tmp_path, graph), min_score=0.5)
    found = detector.detect(numpy.zeros((360, 640, 3), numpy.uint8))
    assert [(d.box, d.label) for d in found] == [((0.0, 0.0, 1.0, 1.0), 7), ((0.25, 0.25, 0.5, 0.75), 3)]
    assert [round(d.score, 3) for d in found] == [0.9, 0.7]


def test_a_model_whose_input_is_not_an_image_is_refused_with_a_clear_reason(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "flat",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 100])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 100])],
    )
    with pytest.raises(OnnxDetectorError, match=r"input x has shape \[1, 100\]; an image") as caught:
        OnnxDetector(_save(tmp_path, graph))
    assert caught.value.reason == "bad_inputs"


def test_a_model_whose_output_is_not_boxes_is_refused(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["image"], ["y"], keepdims=1)],
        "mean",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 1, 1])],
    )
    with pytest.raises(OnnxDetectorError, match=r"\[N, 6\] rows") as caught:
        OnnxDetector(_save(tmp_path, graph))
    assert caught.value.reason == "bad_outputs"


def test_a_missing_or_broken_model_file_says_so(tmp_path):
    with pytest.raises(OnnxDetectorError, match="no such file") as caught:
        OnnxDetector(str(tmp_path / "absent.onnx"))
    assert caught.value.reason == "unreadable"
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(OnnxDetectorError, match="cannot load it") as caught:
        OnnxDetector(str(junk))
    assert caught.value.reason == "unreadable"


def test_off_by_default_and_a_clear_error_without_onnxruntime(tmp_path, monkeypatch):
    assert load_detector(DetectionSettings()) is None
    path = _rows_model(tmp_path)
    assert isinstance(load_detector(DetectionSettings(detector_model=path)), OnnxDetector)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # what an install without it looks like to import
    with pytest.raises(OnnxDetectorError, match="onnxruntime is not installed") as caught:
        load_detector(DetectionSettings(detector_model=path))
    assert caught.value.reason == "missing_runtime"
