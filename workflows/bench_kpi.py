"""The monitoring benchmark behind `ioc bench kpi` (issue 11), on a scratch database, through the services the
web app and workers use:

(a) a 10,000-row CSV file (with some bad rows) gets its per-row report: `IngestService.dry_run`;
(b) 100,000 values are validated and stored by the JSON API's service (`IngestService.submit_json`) and
    evaluated (`Evaluator.evaluate` on the ids its `after_commit`
    gets, as the Celery task does; it opens the cases);
(c) a flood of 1,000 notifications repeating 50 alerts is absorbed by the webhook's service
    (`AlertReceiver.receive`, one call each, one receipt committed each) and then processed
    (`AlertProcessor.run`): 50 cases, the repeats counted, none lost. `ioc bench kpi` also sends 1,000 distinct
    alerts through the real webhook with the test client (webapp/alert_bench.py, the alerts' own bench).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import func, select

from engine.clock import FrozenClock
from engine.database import make_engine, make_session_factory
from engine.db import Base
from workflows.demo import demo_data, load_reference_data
from workflows.models import AdminUnit, Case, User
from workflows.monitoring.models import AlertSource, Indicator, MonitoringAlert, Target
from workflows.monitoring.periods import Period
from workflows.runtime import make_services

INDICATORS = 41  # × 102 communes and wards × 24 months = 100,368 values: (b) takes the first 100,000
# (a)'s file: the three months after them, 12,546 rows: it takes the first 10,000
MONTHS = 24
LEVELS = ("commune", "ward")
TARGET = 90.0  # every bench indicator's yearly plan, in %: the period's target of a rate
BREACH_SHARE = 0.002  # values drawn far below the target
BAD_SHARE = 0.01  # rows of the 10,000-row file with a mistake
BENCH_TOKEN = "bench-alerts-token"
SEED = 20261204


@dataclass(frozen=True)
class Figure:
    """One line of the results: what, how many, seconds, the target it is held to."""

    what: str
    count: int
    seconds: float
    target: str = ""
    note: str = ""

    @property
    def rate(self) -> float:
        """Items per second."""
        return self.count / self.seconds if self.seconds else 0.0


# --------------------------------------------------------------------------- the data
def indicator_codes(count: int = INDICATORS) -> list[str]:
    """The bench indicators' codes."""
    return [f"BENCH-{i:03d}" for i in range(1, count + 1)]


def months_before(today: date, count: int = MONTHS) -> list[Period]:
    """`count` months ending at the newest month due by `today` (deadline 10 days), oldest first."""
    last = Period.last_due("monthly", today, 10)
    return [last.previous(n) for n in range(count - 1, -1, -1)]


def value_rows(codes: list[str], units: list[str], periods: list[Period], limit: int | None = None,
               seed: int = SEED) -> list[tuple[str, str, str, float]]:
    """(indicator, unit, period key, value) for every indicator, unit and period (periods innermost, so a
    unit's series is whole), at most `limit`: around 96 % with a few values far below the 90 % target."""
    rng = random.Random(seed)
    out: list[tuple[str, str, str, float]] = []
    for code in codes:
        for unit in units:
            level = rng.uniform(94.0, 98.0)
            for period in periods:
                value = 70.0 + rng.uniform(0, 8) if rng.random() < BREACH_SHARE else level + rng.gauss(0, 0.8)
                out.append((code, unit, period.key, round(min(value, 100.0), 1)))
                if limit is not None and len(out) >= limit:
                    return out
    return out


def csv_bytes(rows: list[tuple[str, str, str, float]], bad_share: float = 0.0, seed: int = SEED) -> bytes:
    """The rows as a department writes them (Vietnamese headers, T3/2026, decimal commas); `bad_share` of them
    with one mistake each: an unknown unit, a number that is not one, a month that does not exist."""
    rng = random.Random(seed + 1)
    lines = ["Mã chỉ tiêu;Mã đơn vị;Kỳ;Giá trị"]
    for i, (code, unit, key, value) in enumerate(rows):
        year, month = key.split("-")
        period, number = f"T{int(month)}/{year}", f"{value:.1f}".replace(".", ",")
        if rng.random() < bad_share:
            kind = i % 3
            unit = "X-KHONG-CO" if kind == 0 else unit
            number = number.replace(",", "x") if kind == 1 else number
            period = f"T13/{year}" if kind == 2 else period
        lines.append(f"{code};{unit};{period};{number}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def alert_payloads(count: int = 1000, distinct: int = 50) -> list[bytes]:
    """`count` Alertmanager webhook calls of one firing alert each, `distinct` different alerts repeated (a
    flood of repeats as a real outage sends)."""
    calls = []
    for i in range(count):
        n = i % distinct
        alert = {"status": "firing", "labels": {"alertname": "HostDown", "instance": f"may-chu-{n:03d}.dlk",
                                                "severity": "critical" if n % 10 == 0 else "warning"},
                 "annotations": {"summary": f"Máy chủ {n:03d} không phản hồi (bench)"},
                 "startsAt": "2026-12-04T01:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                 "generatorURL": "http://prometheus.bench/graph", "fingerprint": f"bench{n:011d}"}
        calls.append(json.dumps({"version": "4", "groupKey": f'{{}}:{{alertname="HostDown",n="{n}"}}',
                                 "status": "firing", "receiver": "ioc", "groupLabels": {"alertname": "HostDown"},
                                 "commonLabels": {"alertname": "HostDown"}, "commonAnnotations": {},
                                 "externalURL": "http://alertmanager.bench", "truncatedAlerts": 0,
                                 "alerts": [alert]}).encode())
    return calls


# --------------------------------------------------------------------------- the scratch database
def prepare_database(url: str, bpmn_dir: Path) -> None:
    """Drop and recreate every table, load the units and accounts, deploy the monitoring processes and rules,
    add the bench indicators and an alert source."""
    from workflows.monitoring.alerts import token_digest

    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with make_session_factory(engine)() as session:
        load_reference_data(session, demo_data())
        services = make_services(session)
        for pattern in ("kpi_*", "monitoring_alert*"):
            files = {p.name: p.read_text(encoding="utf-8") for p in sorted(bpmn_dir.glob(pattern))}
            services.definitions.deploy(files, deployed_by="bench")
        sxd = session.scalar(select(AdminUnit.id).where(AdminUnit.code == "SXD"))
        ca = session.scalar(select(AdminUnit.id).where(AdminUnit.code == "CA-DLK"))
        for i, code in enumerate(indicator_codes(), start=1):
            session.add(Indicator(code=code, name=f"Chỉ tiêu đo tải {i} (bench)", name_en=f"Bench indicator {i}",
                                  field="public_services", measure_unit="%", measure_unit_en="%", period="monthly",
                                  direction="higher", department_id=sxd, levels=list(LEVELS), deadline_days=10,
                                  min_value=0.0, max_value=100.0, decimals=1, category_code="public_services"))
        session.flush()
        for code in indicator_codes():
            for year in range(2020, 2031):
                session.add(Target(indicator_code=code, unit_id=None, year=year, period=None, kind="plan",
                                   value=TARGET, updated_by="bench"))
        session.add(AlertSource(code="bench-alertmanager", name="Đo tải (bench)", name_en="Bench",
                                token_sha256=token_digest(BENCH_TOKEN), field="cyber_security", unit_id=ca,
                                category_code="cyber_security", created_by="bench"))
        session.commit()
    engine.dispose()


def _places(session) -> list[str]:
    return list(session.scalars(select(AdminUnit.code).where(AdminUnit.kind.in_(LEVELS)).order_by(AdminUnit.code)))


def _admin(session):
    from workflows.access import AccessService

    return AccessService(session).actor_of(session.scalar(select(User).where(User.username == "admin")))


# --------------------------------------------------------------------------- the measures
def run(url: str, backend: str, bpmn_dir: Path, now: datetime | None = None, values: int = 100_000,
        file_rows: int = 10_000, alerts: int = 1000, log=print) -> list[Figure]:
    """Prepare the scratch database at `url` and measure (b), then (a) on the month after, then (c)."""
    from workflows.monitoring.evaluation import Evaluator
    from workflows.monitoring.ingest import IngestService

    prepare_database(url, bpmn_dir)
    now = now or datetime.now(UTC).replace(microsecond=0)
    clock = FrozenClock(now)
    engine = make_engine(url, pool_pre_ping=False)
    factory = make_session_factory(engine)
    out: list[Figure] = []
    with factory() as session:
        places, admin = _places(session), _admin(session)
        periods = months_before(now.date(), MONTHS + 3)
        history, newer = periods[:MONTHS], periods[MONTHS:]
        payload = {"mode": "all_or_nothing", "values": [
            {"indicator": code, "unit": unit, "period": key, "value": value}
            for code, unit, key, value in value_rows(indicator_codes(), places, history, limit=values)]}
        stored_ids: list[int] = []
        ingest = IngestService(session, clock, after_commit=stored_ids.extend)
        started = time.perf_counter()
        outcome = ingest.submit_json(payload, admin)
        stored = time.perf_counter()
        if not outcome.stored:
            raise RuntimeError(f"the bench values were refused: {outcome.errors[:3]}")
        services = make_services(session, clock)
        result = Evaluator(services, clock).evaluate(stored_ids)
        done = time.perf_counter()
        cases = session.scalar(select(func.count()).select_from(Case).where(Case.channel == "kpi"))
        log(f"{backend}: {len(payload['values'])} values validated and stored (JSON API) "
            f"in {stored - started:.2f} s, evaluated in {done - stored:.2f} s ({result.breaches} breaches, "
            f"{len(result.opened)} cases opened, {result.pending} pending)")
        out += [Figure(f"{backend}: (b) values validated and stored (JSON API)", len(stored_ids), stored - started),
                Figure(f"{backend}: (b) values evaluated ({result.breaches} breaches, {cases} cases)",
                       result.values, done - stored),
                Figure(f"{backend}: (b) validated, stored and evaluated", len(stored_ids), done - started,
                       "≤ 10 s")]

        file = csv_bytes(value_rows(indicator_codes(), places, newer, limit=file_rows, seed=SEED + 7),
                         bad_share=BAD_SHARE)
        started = time.perf_counter()
        report = ingest.dry_run("bench-10k.csv", file, admin)
        elapsed = time.perf_counter() - started
        findings = (report.report or {}).get("findings_total")
        log(f"{backend}: a {report.rows_total}-row file: {report.rows_bad} bad rows, {report.rows_good} good, "
            f"{findings} would breach; its report in {elapsed:.2f} s")
        out.append(Figure(f"{backend}: (a) {report.rows_total:,}-row file's per-row report ({report.rows_bad} bad rows)",
                          report.rows_total, elapsed, "≤ 2 s"))
    out += measure_alerts(factory, clock, alerts, backend, log)
    engine.dispose()
    return out


def measure_alerts(factory, clock, count: int, backend: str, log=print) -> list[Figure]:
    """(c): `count` webhook calls absorbed one by one, then processed; none lost."""
    from workflows.monitoring.alerts import AlertProcessor, AlertReceiver

    calls = alert_payloads(count)
    with factory() as session:
        receiver = AlertReceiver(session, clock)
        started = time.perf_counter()
        for body in calls:
            receiver.receive(BENCH_TOKEN, body)
        absorbed = time.perf_counter() - started
    processor = AlertProcessor(factory, lambda s: make_services(s, clock), clock)
    started = time.perf_counter()
    done = processor.run()
    processed = time.perf_counter() - started
    with factory() as session:
        notifications = session.scalar(select(func.sum(MonitoringAlert.received))) or 0
        cases = session.scalar(select(func.count()).select_from(Case).where(Case.channel == "alert"))
    lost = count - notifications
    log(f"{backend}: {count} alerts absorbed in {absorbed:.2f} s; processed in {processed:.2f} s: "
        f"{done.receipts} receipts, {done.opened} cases opened, {done.repeats} repeats, {done.failed} failed, "
        f"{lost} lost")
    return [Figure(f"{backend}: (c) flood of repeats absorbed (AlertReceiver, one call each)", count, absorbed),
            Figure(f"{backend}: (c) … then processed ({cases} cases, {done.repeats} repeats, {lost} lost)",
                   done.alerts, processed)]


def table(figures: list[Figure]) -> str:
    """The results as a Markdown table."""
    lines = ["| measure | count | seconds | per second | target |", "|---|---:|---:|---:|---|"]
    for f in figures:
        lines.append(f"| {f.what} | {f.count:,} | {f.seconds:.2f} | {f.rate:,.0f} | {f.target} |")
    return "\n".join(lines)
