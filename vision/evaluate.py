"""How well the detectors do on the synthetic scenarios: precision, recall and detection delay.

Each scenario's frames go through a ``CameraPipeline`` at the camera's analysis rate; the
incidents it publishes are grouped into episodes (one per key: raised, any updates,
cleared) and matched to the scenario's truths.  An episode matches a truth when it is of
the same kind and subtype, was raised no earlier than ``tolerance_s`` before the truth's
start and before the truth ended; the earliest such episode is the detection and its
delay is raised time − truth start.  Every other episode is a false alarm (a second
episode for a truth already found counts too: the operator gets a second case).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from vision.events import Incident
from vision.synthetic import LONG_SCENARIOS, SCENARIOS, Scenario, Truth, scenario

DAY_S = 86400.0
SHORT = tuple(SCENARIOS)


@dataclass
class Episode:
    """One incident from raise to clear, in seconds since the scenario began."""

    key: str
    kind: str
    subtype: str | None
    raised_s: float
    cleared_s: float | None
    confidence: float


@dataclass
class Row:
    """One detector on one scenario (or on all of them: scenario "all")."""

    scenario: str
    detector: str
    truths: int = 0
    found: int = 0
    false_alarms: int = 0
    duplicates: int = 0  # of the false alarms: a second episode for a truth already found
    delays: list[float] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def precision(self) -> float | None:
        raised = self.found + self.false_alarms
        return self.found / raised if raised else None

    @property
    def recall(self) -> float | None:
        return self.found / self.truths if self.truths else None

    @property
    def median_delay(self) -> float | None:
        return statistics.median(self.delays) if self.delays else None

    @property
    def worst_delay(self) -> float | None:
        return max(self.delays) if self.delays else None

    @property
    def false_alarms_per_day(self) -> float | None:
        return self.false_alarms / (self.duration_s / DAY_S) if self.duration_s else None

    def to_dict(self) -> dict:
        data = asdict(self)
        for name in ("precision", "recall", "median_delay", "worst_delay", "false_alarms_per_day"):
            value = getattr(self, name)
            data[name] = None if value is None else round(value, 4)
        return data


@dataclass
class ScenarioRun:
    """What one scenario gave: its truths, the episodes, and what it cost."""

    name: str
    seed: int
    duration_s: float
    frames: int
    wall_s: float
    truths: list[Truth]
    episodes: list[Episode]
    rows: list[Row]
    cpu_s: float = 0.0  # this process's CPU time (the host is shared: wall time says less)


def detector_of(kind: str, subtype: str | None) -> str:
    """The detector a truth or an incident belongs to: camera faults by fault, traffic by kind."""
    return f"camera_fault/{subtype}" if kind == "camera_fault" else kind


def episodes_of(incidents: Iterable[Incident], scenario: Scenario) -> list[Episode]:
    """Group a pipeline's incidents into episodes, timed from the scenario's start."""
    by_key: dict[str, Episode] = {}
    for incident in incidents:
        at = (incident.at - scenario.start_at).total_seconds()
        episode = by_key.get(incident.key)
        if episode is None:
            episode = by_key[incident.key] = Episode(incident.key, incident.kind, incident.subtype, at, None,
                                                     incident.confidence)
        if incident.state == "cleared":
            episode.cleared_s = at
    return sorted(by_key.values(), key=lambda e: e.raised_s)


def match(truths: list[Truth], episodes: list[Episode], duration_s: float, scenario_name: str,
          tolerance_s: float = 10.0) -> list[Row]:
    """Rows per detector for one scenario: truths found (with delays) and false alarms."""
    rows: dict[str, Row] = {}

    def row(kind, subtype) -> Row:
        name = detector_of(kind, subtype)
        if name not in rows:
            rows[name] = Row(scenario_name, name, duration_s=duration_s)
        return rows[name]

    used: set[str] = set()
    found: list[tuple[Truth, Episode]] = []
    for truth in sorted(truths, key=lambda t: t.start_s):
        r = row(truth.kind, truth.subtype)
        r.truths += 1
        end = truth.end_s if truth.end_s is not None else duration_s
        for episode in episodes:
            if (episode.key not in used and episode.kind == truth.kind and episode.subtype == truth.subtype
                    and truth.start_s - tolerance_s <= episode.raised_s <= end):
                used.add(episode.key)
                r.found += 1
                r.delays.append(round(episode.raised_s - truth.start_s, 2))
                found.append((truth, episode))
                break
    for episode in episodes:
        if episode.key in used:
            continue
        r = row(episode.kind, episode.subtype)
        r.false_alarms += 1
        for truth, _ in found:
            end = truth.end_s if truth.end_s is not None else duration_s
            if truth.kind == episode.kind and truth.subtype == episode.subtype and episode.raised_s <= end and (
                    episode.cleared_s is None or episode.cleared_s >= truth.start_s - tolerance_s):
                r.duplicates += 1
                break
    return sorted(rows.values(), key=lambda r: r.detector)


def run_scenario(sc: Scenario, *, pipeline_factory: Callable | None = None, fps: float | None = None,
                 tolerance_s: float = 10.0, heartbeat: Callable[[float, int], None] | None = None) -> ScenarioRun:
    """Play one scenario through a pipeline at the camera's analysis rate and score it.

    ``heartbeat(simulated seconds, incidents so far)`` is called every simulated hour (long scenarios)."""
    if pipeline_factory is None:
        from vision.pipeline import CameraPipeline

        pipeline_factory = CameraPipeline
    pipeline = pipeline_factory(sc.config)
    incidents: list[Incident] = []
    frames = 0
    started, cpu = time.perf_counter(), time.process_time()
    next_beat = 3600.0
    for frame in sc.frames(fps or sc.config.analysis_fps):
        incidents.extend(pipeline.process(frame))
        frames += 1
        if heartbeat and frame.t >= next_beat:
            heartbeat(frame.t, len({i.key for i in incidents}))
            next_beat += 3600.0
    incidents.extend(pipeline.close())
    episodes = episodes_of(incidents, sc)
    truths = sc.truths
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    rows = match(truths, episodes, sc.duration_s, sc.name if sc.seed == 0 else f"{sc.name}/{sc.seed}", tolerance_s)
    return ScenarioRun(sc.name, sc.seed, sc.duration_s, frames, round(wall, 2), truths, episodes, rows,
                       round(cpu, 2))


def summarise(runs: list[ScenarioRun]) -> list[Row]:
    """Rows per detector over all the runs (false alarms per day over their whole simulated time)."""
    total = sum(run.duration_s for run in runs)
    rows: dict[str, Row] = {}
    for run in runs:
        for r in run.rows:
            acc = rows.setdefault(r.detector, Row("all", r.detector, duration_s=total))
            acc.truths += r.truths
            acc.found += r.found
            acc.false_alarms += r.false_alarms
            acc.duplicates += r.duplicates
            acc.delays.extend(r.delays)
    for name in ("stopped_vehicle", "congestion"):
        rows.setdefault(name, Row("all", name, duration_s=total))
    return sorted(rows.values(), key=lambda r: r.detector)


def evaluate(names: Iterable[str] | None = None, *, seed: int = 0, long: bool = False,
             size: tuple[int, int] | None = None, pipeline_factory: Callable | None = None,
             tolerance_s: float = 10.0, progress: Callable[[ScenarioRun], None] | None = None,
             heartbeat: Callable[[str, float, int], None] | None = None) -> list[ScenarioRun]:
    """Run the named scenarios (default: all the short ones, or the long ones with ``long``)."""
    names = list(names or (LONG_SCENARIOS if long else SHORT))
    runs = []
    for name in names:
        if name in LONG_SCENARIOS:
            sc = LONG_SCENARIOS[name](seed=seed, size=size or (320, 180))
        else:
            sc = scenario(name, seed=seed, size=size or (640, 360))
        if name == "moved":
            sc = sc.with_reference()
        beat = (lambda t, n, name=name: heartbeat(name, t, n)) if heartbeat else None
        run = run_scenario(sc, pipeline_factory=pipeline_factory, tolerance_s=tolerance_s, heartbeat=beat)
        runs.append(run)
        if progress:
            progress(run)
    return runs


def _figure(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def table(rows: list[Row]) -> str:
    """A plain-text table of rows."""
    head = ("scenario", "detector", "truths", "found", "false", "precision", "recall", "median s", "worst s", "FA/day")
    lines = [head]
    for r in rows:
        lines.append((r.scenario, r.detector, str(r.truths), str(r.found), str(r.false_alarms), _figure(r.precision),
                      _figure(r.recall), _figure(r.median_delay, 1), _figure(r.worst_delay, 1),
                      _figure(r.false_alarms_per_day, 1)))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join("  ".join(cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i]) for i, cell in enumerate(line))
                     for line in lines)


def report(runs: list[ScenarioRun]) -> dict:
    """Everything as JSON-ready data (``ioc vision eval --json``)."""
    return {
        "scenarios": [{"name": run.name, "seed": run.seed, "duration_s": run.duration_s, "frames": run.frames,
                       "wall_s": run.wall_s, "cpu_s": run.cpu_s, "truths": [asdict(t) for t in run.truths],
                       "episodes": [asdict(e) for e in run.episodes], "rows": [r.to_dict() for r in run.rows]}
                      for run in runs],
        "summary": [r.to_dict() for r in summarise(runs)],
    }
