"""Scoring detections against the synthetic truths: matching, delays, false alarms, duplicates."""

from __future__ import annotations

from datetime import timedelta

import pytest

from vision.evaluate import Episode, Row, episodes_of, match, summarise, table
from vision.events import Incident, incident_key
from vision.synthetic import Truth, scenario


def _episode(key, kind, subtype, raised, cleared=None):
    return Episode(key, kind, subtype, raised, cleared, 0.9)


def test_a_detection_after_the_truth_counts_with_its_delay_and_the_rest_are_false_alarms():
    truths = [Truth("stopped_vehicle", "out2", 80.0, 110.0), Truth("stopped_vehicle", "in2", 100.0, 130.0)]
    episodes = [
        _episode("a", "stopped_vehicle", "out2", 83.0, 108.0),
        _episode("b", "stopped_vehicle", "out2", 95.0, 109.0),  # the same vehicle again: a duplicate
        _episode("c", "stopped_vehicle", "in1", 101.0),  # the wrong lane: a false alarm, and in2 is missed
        _episode("d", "congestion", None, 20.0, 40.0),
    ]
    rows = {r.detector: r for r in match(truths, episodes, 150.0, "s")}
    stopped = rows["stopped_vehicle"]
    assert (stopped.truths, stopped.found, stopped.false_alarms, stopped.duplicates) == (2, 1, 2, 1)
    assert stopped.delays == [3.0] and stopped.recall == 0.5 and stopped.precision == pytest.approx(1 / 3)
    assert rows["congestion"].precision == 0.0 and rows["congestion"].recall is None
    assert rows["congestion"].false_alarms_per_day == pytest.approx(86400 / 150)


def test_too_early_or_after_the_end_is_not_a_detection_and_the_tolerance_is_kept():
    truth = Truth("camera_fault", "frozen", 90.0, 140.0)
    early = match([truth], [_episode("e", "camera_fault", "frozen", 79.0)], 150.0, "s")[0]
    assert (early.found, early.false_alarms) == (0, 1)
    late = match([truth], [_episode("l", "camera_fault", "frozen", 141.0)], 150.0, "s")[0]
    assert (late.found, late.false_alarms) == (0, 1)
    within = match([truth], [_episode("w", "camera_fault", "frozen", 81.0)], 150.0, "s", tolerance_s=10.0)[0]
    assert (within.found, within.delays) == (1, [-9.0])
    other = match([truth], [_episode("o", "camera_fault", "covered", 95.0)], 150.0, "s")
    assert {r.detector: (r.truths, r.found, r.false_alarms) for r in other} == {
        "camera_fault/frozen": (1, 0, 0), "camera_fault/covered": (0, 0, 1)}


def test_incidents_become_episodes_timed_from_the_scenario_start():
    sc = scenario("covered", size=(160, 90))
    started = sc.start_at + timedelta(seconds=30)
    key = incident_key(sc.config.code, "camera_fault", "covered", started)

    def event(state, seconds):
        return Incident(camera=sc.config.code, key=key, kind="camera_fault", subtype="covered", state=state,
                        confidence=0.8, started_at=started, at=sc.start_at + timedelta(seconds=seconds), evidence={})

    (episode,) = episodes_of([event("raised", 61.0), event("updated", 66.0), event("cleared", 90.0)], sc)
    assert (episode.raised_s, episode.cleared_s, episode.subtype) == (61.0, 90.0, "covered")


def test_the_summary_adds_up_scenarios_and_the_table_prints_every_detector():
    rows = [Row("a", "congestion", 1, 1, 0, 0, [4.0], 300.0), Row("b", "congestion", 1, 0, 1, 0, [], 100.0)]

    class Run:
        def __init__(self, rows, duration):
            self.rows, self.duration_s = rows, duration

    (congestion, stopped) = summarise([Run(rows[:1], 300.0), Run(rows[1:], 100.0)])
    assert (congestion.truths, congestion.found, congestion.false_alarms) == (2, 1, 1)
    assert congestion.false_alarms_per_day == pytest.approx(86400 / 400)
    assert stopped.detector == "stopped_vehicle" and stopped.truths == 0
    text = table([congestion, stopped])
    assert "congestion" in text and "stopped_vehicle" in text and "0.50" in text


def test_ioc_vision_eval_prints_the_table_or_json_and_refuses_an_unknown_scenario():
    import json

    from click.testing import CliRunner

    from webapp.cli import main

    runner = CliRunner()
    result = runner.invoke(main, ["vision", "eval", "--scenario", "covered", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (run,) = data["scenarios"]
    assert run["name"] == "covered" and run["frames"] == 200 and run["truths"][0]["subtype"] == "covered"
    assert {row["detector"] for row in data["summary"]} >= {"stopped_vehicle", "congestion", "camera_fault/covered"}
    result = runner.invoke(main, ["vision", "eval", "--scenario", "covered"])
    assert result.exit_code == 0 and "camera_fault/covered" in result.stdout and "precision" in result.stdout
    result = runner.invoke(main, ["vision", "eval", "--scenario", "nowhere"])
    assert result.exit_code == 2 and "unknown nowhere" in result.output
