"""The benchmark harness behind `ioc bench`: throughput of the service layer on a scratch database.

Measures, through the same services the web app and workers use:
intakes per second (case + process start + triage task, one commit each),
human-task completions per second (triage → DMN routing, SLA, assign → handling task),
timer firings per second (the real sweep, reminders due on every case),
and the time spent inside SpiffWorkflow per step.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from engine.clock import FrozenClock, SystemClock
from engine.database import make_engine, make_session_factory
from engine.db import Base
from engine.models import HumanTask, ProcessInstance
from engine.sweep import TimerSweep
from workflows.case_service import IntakeRequest
from workflows.demo import demo_data, load_reference_data
from workflows.runtime import make_services, prefetch_cases

PLACES = ["P-BUON-MA-THUOT", "P-TAN-LAP", "P-EA-KAO", "P-TUY-HOA", "X-HOA-PHU", "X-EA-KAR"]
CATEGORIES = ["traffic", "street_lighting", "sanitation", "water_drainage", "public_security", "health"]


@dataclass(frozen=True)
class Measure:
    """One line of the benchmark table."""

    backend: str
    what: str
    count: int
    seconds: float
    spiff_ms_per_step: float

    @property
    def rate(self) -> float:
        """Operations per second."""
        return self.count / self.seconds if self.seconds else 0.0


def _measuring_engine(url: str):
    """An engine with the application's options: Flask-SQLAlchemy's engine (the web app, workers and
    sweep) does not ping a pooled connection before each transaction, so neither does a measure."""
    return make_engine(url, pool_pre_ping=False)


def prepare_database(url: str, bpmn_dir: Path) -> None:
    """Drop and recreate every table of the scratch database, then load units and deploy."""
    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with make_session_factory(engine)() as session:
        load_reference_data(session, demo_data())
        services = make_services(session)
        files = {p.name: p.read_text(encoding="utf-8") for p in sorted(bpmn_dir.glob("field_report*"))}
        services.definitions.deploy(files, deployed_by="bench")
        session.commit()
    engine.dispose()


def scratch_postgres(admin_url: str, name: str = "ioc_bench") -> str:
    """(Re)create a scratch database on a PostgreSQL server; its URL."""
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _timed_steps(url: str, at_ts: float, work) -> tuple[int, float, int, float]:
    """Run `work(services)` on a fresh engine with the clock at `at_ts`; (count, seconds, steps, spiff s)."""
    engine = _measuring_engine(url)
    clock = FrozenClock(datetime.fromtimestamp(at_ts, tz=UTC))
    with make_session_factory(engine)() as session:
        services = make_services(session, clock)
        started = time.perf_counter()
        count = work(services)
        elapsed = time.perf_counter() - started
        stats = services.instances.stats
    engine.dispose()
    return count, elapsed, stats.steps, stats.spiff_seconds


def _intake_worker(args: tuple[str, int, int, float]) -> tuple[int, float, int, float]:
    url, first, count, start_ts = args

    def work(services) -> int:
        for i in range(first, first + count):
            services.cases.intake(IntakeRequest(
                channel="field_report", category=CATEGORIES[i % len(CATEGORIES)], admin_unit=PLACES[i % len(PLACES)],
                title=f"Phản ánh thử tải số {i}", description="Benchmark", priority="normal",
                reporter_name="Người thử", reporter_phone="0900000000", idempotency_key=f"bench-{i}"))
        return count

    return _timed_steps(url, start_ts, work)


def _complete_worker(args: tuple[str, list[str], float]) -> tuple[int, float, int, float]:
    url, task_ids, start_ts = args

    def work(services) -> int:
        for task_id in task_ids:
            services.cases.complete_task(task_id, {"decision": "accept"}, actor="bench")
        return len(task_ids)

    return _timed_steps(url, start_ts, work)


def _sweep_worker(args: tuple[str, float]) -> tuple[int, float, int, float]:
    url, at_ts = args
    engine = _measuring_engine(url)
    clock = FrozenClock(datetime.fromtimestamp(at_ts, tz=UTC))
    services_made = []

    def service_factory(session):
        services = make_services(session, clock)
        services_made.append(services)
        return services.instances

    sweep = TimerSweep(make_session_factory(engine), service_factory, clock, name=f"bench-{os.getpid()}",
                       prefetch=prefetch_cases)
    started = time.perf_counter()
    fired = sweep.run_once()
    elapsed = time.perf_counter() - started
    steps = sum(s.instances.stats.steps for s in services_made)
    spiff = sum(s.instances.stats.spiff_seconds for s in services_made)
    engine.dispose()
    return fired, elapsed, steps, spiff


def _run_parallel(func, jobs: list, processes: int) -> tuple[int, float, float]:
    """Run jobs in `processes` processes; (count, wall seconds, spiff ms per step)."""
    started = time.perf_counter()
    if processes == 1:
        results = [func(job) for job in jobs]
    else:
        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            results = pool.map(func, jobs)
    wall = time.perf_counter() - started
    count = sum(r[0] for r in results)
    steps = sum(r[2] for r in results)
    spiff = sum(r[3] for r in results)
    if processes == 1:
        wall = sum(r[1] for r in results)  # no pool start-up to count
    return count, wall, (spiff / steps * 1000) if steps else 0.0


def run(url: str, backend: str, cases: int, processes: int, bpmn_dir: Path) -> list[Measure]:
    """Prepare the scratch database at `url` and measure the three throughputs."""
    prepare_database(url, bpmn_dir)
    start = SystemClock().now().replace(microsecond=0)
    per = max(1, cases // processes)
    jobs = [(url, p * per, per, start.timestamp()) for p in range(processes)]
    count, wall, spiff = _run_parallel(_intake_worker, jobs, processes)
    out = [Measure(backend, "intakes", count, wall, spiff)]

    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        task_ids = list(session.scalars(select(HumanTask.id).where(HumanTask.element_id == "triage",
                                                                   HumanTask.state == "open")))
    engine.dispose()
    chunks = [task_ids[i::processes] for i in range(processes)]
    count, wall, spiff = _run_parallel(_complete_worker, [(url, c, start.timestamp()) for c in chunks], processes)
    out.append(Measure(backend, "completions", count, wall, spiff))

    # Every handling task's reminder (60 working hours after triage, 12 before its deadline) is due just
    # after the last of them: deadlines count working time, so no fixed number of hours reaches them all.
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        last = session.scalar(select(func.max(ProcessInstance.next_timer_at)))
    engine.dispose()
    due = ((last or start) + timedelta(seconds=1)).timestamp()
    count, wall, spiff = _run_parallel(_sweep_worker, [(url, due)] * processes, processes)
    out.append(Measure(backend, "timer firings", count, wall, spiff))
    return out


def machine() -> str:
    """A one-line description of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        if names:
            cpu = names[0]
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def cpu_reference_ms(loops: int = 5_000_000) -> float:
    """Milliseconds for a fixed pure-Python loop (best of three): the speed the machine had just now.

    Shared virtual machines change speed from hour to hour; results are comparable only
    next to this figure.
    """
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(loops):
            total += i * i
        best = min(best, time.perf_counter() - started)
    return best * 1000


def table(measures: list[Measure]) -> str:
    """The results as a Markdown table."""
    lines = ["| backend | measure | count | seconds | per second | SpiffWorkflow ms/step |",
             "|---|---|---:|---:|---:|---:|"]
    for m in measures:
        lines.append(f"| {m.backend} | {m.what} | {m.count} | {m.seconds:.2f} | {m.rate:.0f} | {m.spiff_ms_per_step:.2f} |")
    return "\n".join(lines)
