"""The issue's acceptance on the short synthetic scenarios, through the real CameraPipeline.

Stopped vehicle and congestion: recall ≥ 0.95, precision ≥ 0.9, median delay ≤ 5 s after the
ground-truth moment; camera faults: every one found, no false alarm.  Rendered at 320x180
(the pipeline analyses a smaller grey image anyway) at the cameras' 2 analysed frames per
second; the long scenarios are `ioc vision eval --long` (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import pytest

from vision.evaluate import evaluate, summarise, table


@pytest.fixture(scope="module")
def runs():
    return evaluate(size=(320, 180))


def _summary(runs):
    return {row.detector: row for row in summarise(runs)}


def _where(runs):
    return "\n" + table([row for run in runs for row in run.rows])


@pytest.mark.parametrize("detector", ["stopped_vehicle", "congestion"])
def test_traffic_incidents_are_found_soon_and_seldom_wrong(runs, detector):
    row = _summary(runs)[detector]
    assert row.truths > 0
    assert row.recall >= 0.95, _where(runs)
    assert row.precision is not None and row.precision >= 0.9, _where(runs)
    assert row.median_delay <= 5.0, _where(runs)


def test_every_camera_fault_is_found_and_none_is_invented(runs):
    faults = {name: row for name, row in _summary(runs).items() if name.startswith("camera_fault/")}
    assert {"camera_fault/frozen", "camera_fault/covered", "camera_fault/defocused", "camera_fault/moved"} <= set(faults)
    for row in faults.values():
        assert row.found == row.truths, _where(runs)
        assert row.false_alarms == 0, _where(runs)
