"""The task-list benchmark (issue 3): an officer's task list with a million cases and five million tasks.

`build` fills a PostgreSQL database of its own (by default `ioc_bench_tasklist`) with the
schema of the models, the Đắk Lắk reference data, and cases and human tasks generated
inside the server (INSERT … SELECT over generate_series), so a million cases take minutes,
not days. The distribution follows the field-report process: triage at the IOC, handling by
the responsible unit (the routing table's rules), escalation to the unit head and a level
up, reopened rounds; most cases closed or published, the open ones with one open task each,
due around now, some already claimed.

`measure` then times `TaskService.page` — what GET /tasks/ calls — for real accounts, tab by
tab and with filters, and optionally the whole HTTP request through a caller-supplied client
(the web layer builds it: this module knows nothing of Flask).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from engine.clock import FrozenClock
from engine.database import make_engine, make_session_factory
from engine.db import Base
from workflows.access import AccessService
from workflows.demo import DEMO_PASSWORD, demo_data, load_reference_data
from workflows.models import AdminUnit, User, UserRole
from workflows.runtime import make_services
from workflows.task_service import TABS, TaskFilter, TaskService

DEFAULT_DATABASE = "ioc_bench_tasklist"
# Bumped whenever the generated data changes shape, so --reuse rebuilds an older data set.
GENERATOR_VERSION = "4"
# Share of cases per field (weights in percent); the first ones are the everyday urban reports.
CATEGORY_WEIGHTS = {
    "traffic": 16, "urban_order": 12, "sanitation": 12, "street_lighting": 10, "water_drainage": 9,
    "urban_infrastructure": 8, "pollution": 6, "public_security": 7, "trees_parks": 5, "health": 4,
    "education": 3, "public_services": 3, "other": 3, "tourism": 2,
}
# A case's human tasks in order. Most cases go triage → handling; some are returned to the IOC
# once (triage and handling again) and reopened by citizens (handling again); an escalated
# case's handling is taken away by its deadline and goes to the unit head, then a level up,
# round after round.
ELEMENTS = ("triage", "handle", "handle_l1", "handle_l2")
ESCALATED_SHARE = 0.2
# Who works the tasks: a unit's (or the IOC's) officers share them, so the demo account
# (cb.sxd, dtv1, …) is one of this many; the others are made-up names (cb.sxd-7, dtv7).
OFFICERS_PER_UNIT = 20
HEADS_PER_UNIT = 3  # the head and deputies


def element_order(escalated: bool, length: int) -> list[str]:
    """The user tasks of a case with `length` tasks, in the order the process creates them."""
    if not escalated:
        return [("triage", "handle", "triage", "handle")[k] if k < 4 else "handle" for k in range(length)]
    rounds = ("handle", "handle_l1", "handle_l2")
    return [ELEMENTS[k] if k < len(ELEMENTS) else rounds[(k - len(ELEMENTS)) % 3] for k in range(length)]
BIG_TABLES = ("case_record", "process_instance", "human_task")


@dataclass(frozen=True)
class DataSet:
    """What the bench database holds."""

    url: str
    cases: int
    tasks: int
    open_tasks: int
    generated_at: datetime
    seconds: float  # spent building it (0 when reused)
    reused: bool


@dataclass(frozen=True)
class Latency:
    """Timings of one kind of request for one account."""

    who: str
    what: str
    path: str  # the request it stands for, e.g. /tasks/?tab=unit
    rows: int  # tasks in that tab (under that filter)
    service_ms: list[float]
    http_ms: list[float]

    @staticmethod
    def _pct(values: list[float], p: float) -> float:
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    def service(self, p: float) -> float:
        """The p-th percentile of the service call, in ms."""
        return self._pct(self.service_ms, p)

    def http(self, p: float) -> float:
        """The p-th percentile of the whole HTTP request, in ms (nan when not measured)."""
        return self._pct(self.http_ms, p)


# ---------------------------------------------------------------------------------------- building

def database_url(server_url: str, name: str = DEFAULT_DATABASE) -> str:
    """The URL of the bench database `name` on the server of `server_url`."""
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def build(url: str, cases: int, tasks: int, bpmn_dir: Path, reuse: bool = False,
          log: Callable[[str], None] = print) -> DataSet:
    """(Re)create the bench database at `url` with `cases` cases and about `tasks` tasks; or reuse it."""
    name = make_url(url).database or ""
    if not name.startswith("ioc_bench"):
        # The generator drops the database it builds: never anyone else's.
        raise ValueError(f"the bench database's name must start with ioc_bench (got {name!r})")
    if reuse:
        found = _existing(url, cases, tasks)
        if found is not None:
            log(f"reusing {name}: {found.cases} cases, {found.tasks} tasks ({found.open_tasks} open), "
                f"generated {found.generated_at:%Y-%m-%d %H:%M} UTC")
            return found
    started = time.perf_counter()
    admin = make_engine(make_url(url).set(database="postgres").render_as_string(hide_password=False),
                        isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = make_engine(url)
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        _schema_and_reference(engine, bpmn_dir)
        log(f"schema and reference data ready ({time.perf_counter() - started:.0f} s)")
        _generate(engine, cases, tasks, now, log, started)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in BIG_TABLES:
                conn.execute(text(f"VACUUM (ANALYZE) {table}"))  # the visibility map lets counts use the index alone
        log(f"vacuum and analyze done ({time.perf_counter() - started:.0f} s)")
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE bench_tasklist_meta (k text PRIMARY KEY, v text NOT NULL)"))
            for k, v in (("cases", cases), ("tasks", tasks), ("version", GENERATOR_VERSION),
                         ("generated_at", now.isoformat())):
                conn.execute(text("INSERT INTO bench_tasklist_meta VALUES (:k, :v)"), {"k": k, "v": str(v)})
    finally:
        engine.dispose()
    found = _existing(url, cases, tasks)
    assert found is not None
    return DataSet(found.url, found.cases, found.tasks, found.open_tasks, found.generated_at,
                   time.perf_counter() - started, reused=False)


def _existing(url: str, cases: int, tasks: int) -> DataSet | None:
    """The data set at `url` when it was built by this generator version for these sizes."""
    try:
        engine = make_engine(url)
        with engine.connect() as conn:
            meta = {k: v for k, v in conn.execute(text("SELECT k, v FROM bench_tasklist_meta"))}
            if meta.get("version") != GENERATOR_VERSION or meta.get("cases") != str(cases) \
                    or meta.get("tasks") != str(tasks):
                return None
            counts = [conn.scalar(text(f"SELECT count(*) FROM {table}")) for table in ("case_record", "human_task")]
            open_tasks = conn.scalar(text("SELECT count(*) FROM human_task WHERE state = 'open'"))
    except Exception:  # noqa: BLE001 - no such database or table: build it
        return None
    finally:
        engine.dispose()
    if counts[0] != cases:
        return None
    return DataSet(url, counts[0], counts[1], open_tasks, datetime.fromisoformat(meta["generated_at"]), 0.0,
                   reused=True)


def _schema_and_reference(engine: Engine, bpmn_dir: Path) -> None:
    """Tables from the models, the demo's units, accounts and fields, field_report deployed."""
    from workflows.accounts import hash_password

    Base.metadata.create_all(engine)
    with make_session_factory(engine)() as session:
        load_reference_data(session, demo_data(), hash_password(DEMO_PASSWORD))
        services = make_services(session)
        files = {p.name: p.read_text(encoding="utf-8") for p in sorted(bpmn_dir.glob("field_report*"))}
        services.definitions.deploy(files, deployed_by="bench")
        session.commit()
        definition = services.definitions.latest("field_report")
        compiled = services.definitions.compiled(definition)
        templates = []
        for element in ELEMENTS:
            info = compiled.user_tasks[element]
            form = {"fields": [f.as_dict() for f in info.form], "instructions": info.instructions}
            templates.append({"element_id": element, "title": info.title[:255],
                              "role": services.definitions.roles.get(info.lane, info.lane), "form": form,
                              "definition_id": definition.id})
    # The real titles, roles and forms of the process's user tasks, for the generated rows to copy.
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_template (element_id text PRIMARY KEY, title text, role text, "
                          "form jsonb, definition_id int)"))
        for row in templates:
            conn.execute(text("INSERT INTO bench_template VALUES (:element_id, :title, :role, "
                              "CAST(:form AS jsonb), :definition_id)"),
                         {**row, "form": json.dumps(row["form"], ensure_ascii=False)})


def _generate(engine: Engine, cases: int, tasks: int, now: datetime, log: Callable[[str], None],
              started: float) -> None:
    """Generate the cases, instances and tasks inside the server, then rebuild the indexes."""
    per_case = max(1.0, tasks / cases)
    longest = max(1, round(2 * per_case) - 1)  # tasks per case are spread evenly over 1…longest
    tables = [Base.metadata.tables[name] for name in BIG_TABLES]
    indexes = [ix for table in tables for ix in table.indexes]
    uniques = [c for table in tables for c in table.constraints
               if c.__class__.__name__ == "UniqueConstraint"]
    task_pk = Base.metadata.tables["human_task"].primary_key

    def step(what: str) -> None:
        log(f"{what} ({time.perf_counter() - started:.0f} s)")

    with engine.begin() as conn:
        # Loading into bare tables and building each index once is many times faster than
        # maintaining eight indexes row by row; foreign keys are not checked row by row either
        # (the generator keeps them consistent by construction).
        for ix in indexes:
            conn.execute(DropIndex(ix))
        for uq in uniques:
            conn.execute(DropConstraint(uq))
        conn.execute(DropConstraint(task_pk))
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        conn.execute(text("SET LOCAL work_mem = '256MB'"))
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        conn.execute(text("SELECT setseed(0.3)"))
        _helper_tables(conn, longest)
        conn.execute(text(_GEN_SQL), {"cases": cases, "now": now, "longest": longest,
                                      "escalated": ESCALATED_SHARE})
        step(f"{cases} case outlines drawn")
        conn.execute(text(_CASES_SQL), {"now": now})
        step("case_record filled")
        conn.execute(text(_INSTANCES_SQL), {"now": now})
        step("process_instance filled")
        conn.execute(text(_TASKS_SQL), {"now": now, "officers": OFFICERS_PER_UNIT, "heads": HEADS_PER_UNIT})
        step("human_task filled")
        conn.execute(text("DROP TABLE bench_gen"))
        # isolate_from_table=False: the shared metadata must keep creating these with its tables.
        conn.execute(AddConstraint(task_pk, isolate_from_table=False))
        for uq in uniques:
            conn.execute(AddConstraint(uq, isolate_from_table=False))
        for ix in indexes:
            conn.execute(CreateIndex(ix))
        for table in ("case_record", "process_instance"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT max(id) FROM {table}))"))
        step("keys and indexes rebuilt")


def _helper_tables(conn, longest: int) -> None:
    """Small lookup tables the generating statements join: places, fields, people, task order."""
    conn.execute(text(
        "CREATE TEMP TABLE g_place ON COMMIT DROP AS "
        "SELECT (row_number() OVER (ORDER BY id)) - 1 AS n, id, code, name, kind, lat, lon "
        "FROM admin_unit WHERE kind IN ('ward', 'commune')"))
    total = sum(CATEGORY_WEIGHTS.values())
    low = 0.0
    rows = []
    for code, weight in CATEGORY_WEIGHTS.items():
        rows.append({"code": code, "lo": low / total, "hi": (low + weight) / total})
        low += weight
    rows[-1]["hi"] = 1.0000001
    conn.execute(text("CREATE TEMP TABLE g_cat (code text, lo float8, hi float8) ON COMMIT DROP"))
    conn.execute(text("INSERT INTO g_cat VALUES (:code, :lo, :hi)"), rows)
    conn.execute(text(
        "CREATE TEMP TABLE g_cat_full ON COMMIT DROP AS "
        "SELECT g.code, g.lo, g.hi, c.name, c.default_priority, coalesce(d.code, 'UBND-DLK') AS department "
        "FROM g_cat g JOIN category c ON c.code = g.code LEFT JOIN admin_unit d ON d.id = c.department_id"))
    # One officer and one head per unit where the demo has them; made-up names elsewhere.
    conn.execute(text(
        "CREATE TEMP TABLE g_people ON COMMIT DROP AS "
        "SELECT u.code, "
        "  coalesce(min(a.username) FILTER (WHERE r.role = 'officer'), 'cb.' || lower(u.code)) AS officer, "
        "  coalesce(min(a.username) FILTER (WHERE r.role = 'unit_head'), 'tp.' || lower(u.code)) AS head "
        "FROM admin_unit u LEFT JOIN user_role r ON r.unit_id = u.id LEFT JOIN user_account a ON a.id = r.user_id "
        "GROUP BY u.code"))
    conn.execute(text("CREATE TEMP TABLE g_seq (esc boolean, k int, element_id text, next_id text, "
                      "PRIMARY KEY (esc, k)) ON COMMIT DROP"))
    for escalated in (False, True):
        order = element_order(escalated, longest + 2)  # one more: a case moved past triage
        conn.execute(text("INSERT INTO g_seq VALUES (:esc, :k, :e, :n)"),
                     [{"esc": escalated, "k": k, "e": order[k], "n": order[k + 1]} for k in range(longest + 1)])


# Case outlines: place (busier wards first in the demo's order, so the first ones get more cases),
# field, channel, age (ids grow with time over three years), open or not, number of tasks.
_GEN_SQL = """
CREATE UNLOGGED TABLE bench_gen AS
WITH s AS (
  SELECT i AS id, random() AS r_place, random() AS r_cat, random() AS r_chan, random() AS r_open, random() AS r_n,
         random() AS r_pri, random() AS r_due, random() AS r_assign, random() AS r_geo, random() AS r_geo2,
         random() < :escalated AS escalated
  FROM generate_series(1, :cases) AS i
), b AS (
  SELECT s.*, p.id AS place_id, p.code AS place_code, p.name AS place_name, p.kind AS place_kind,
         p.lat AS place_lat, p.lon AS place_lon, c.code AS category, c.name AS category_name,
         c.default_priority, c.department,
         CAST(:now AS timestamptz) - make_interval(secs => 1095 * 86400.0 * (:cases - s.id + 1) / :cases)
           AS created_at,
         CASE WHEN s.id > 0.9 * :cases THEN s.r_open < 0.9 ELSE s.r_open < 0.12 END AS is_open
  FROM s
  JOIN g_place p ON p.n = least((SELECT max(n) FROM g_place), floor((SELECT count(*) FROM g_place)
                                                                     * power(s.r_place, 1.6)))
  JOIN g_cat_full c ON s.r_cat >= c.lo AND s.r_cat < c.hi
), r AS (
  SELECT b.*,
         CASE WHEN b.category IN ('public_security', 'health', 'education', 'tourism', 'pollution') THEN b.department
              WHEN b.category = 'street_lighting' AND b.place_kind = 'commune' THEN 'SXD'
              ELSE b.place_code END AS resp_code,
         1 + floor(b.r_n * :longest)::int AS n_tasks
  FROM b
), n AS (
  -- The IOC triages within hours: only the newest cases still wait for it; an older open
  -- case whose draw ended at triage is one step further, in handling.
  SELECT r.*, r.n_tasks + CASE WHEN r.is_open AND r.id <= 0.995 * :cases
                                    AND (SELECT element_id FROM g_seq WHERE esc = r.escalated AND k = r.n_tasks - 1)
                                        = 'triage' THEN 1 ELSE 0 END AS n
  FROM r
)
SELECT n.id, n.r_place, n.r_cat, n.r_chan, n.r_open, n.r_pri, n.r_due, n.r_assign, n.r_geo, n.r_geo2, n.escalated,
       n.place_id, n.place_code, n.place_name, n.place_kind, n.place_lat, n.place_lon, n.category, n.category_name,
       n.default_priority, n.department, n.created_at, n.is_open, n.resp_code, n.n AS n_tasks,
       CASE WHEN n.resp_code = n.place_code THEN n.department ELSE 'UBND-DLK' END AS upper_code,
       (SELECT element_id FROM g_seq WHERE esc = n.escalated AND k = n.n - 1) AS last_element
FROM n
"""

_CASES_SQL = """
INSERT INTO case_record (id, code, channel, category_code, title, description, lat, lon, address, admin_unit_id,
                         priority, status, responsible_unit_id, escalation_level, due_at, resolution, resolved_at,
                         published_at, closed_at, close_reason, reopen_count, idempotency_key, process_instance_id,
                         created_at, updated_at)
SELECT g.id,
       ch.prefix || '-' || extract(year FROM g.created_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::int || '-'
         || lpad(g.id::text, 6, '0'),
       ch.channel, g.category,
       g.category_name || ' tại ' || g.place_name || ' — phản ánh số ' || g.id,
       'Người dân phản ánh về ' || lower(g.category_name) || ' tại ' || g.place_name
         || ', đề nghị cơ quan chức năng kiểm tra, xử lý sớm.',
       g.place_lat + (g.r_geo - 0.5) * 0.04, g.place_lon + (g.r_geo2 - 0.5) * 0.04,
       'Số ' || (g.id % 300 + 1) || ', ' || g.place_name,
       g.place_id,
       CASE WHEN g.r_pri < 0.1 THEN 'low' WHEN g.r_pri < 0.2 THEN 'high' ELSE g.default_priority END,
       CASE WHEN g.is_open THEN
              CASE g.last_element WHEN 'triage' THEN CASE WHEN g.n_tasks = 1 THEN 'received' ELSE 'returned' END
                   WHEN 'handle' THEN CASE WHEN g.n_tasks = 2 THEN 'in_progress' ELSE 'reopened' END
                   ELSE 'escalated' END
            WHEN g.n_tasks = 1 THEN 'rejected'
            WHEN g.created_at > CAST(:now AS timestamptz) - interval '20 days' THEN 'published'
            ELSE 'closed' END,
       CASE WHEN g.is_open AND g.last_element = 'triage' THEN NULL
            WHEN g.n_tasks = 1 THEN NULL ELSE unit.id END,
       CASE g.last_element WHEN 'handle_l1' THEN 1 WHEN 'handle_l2' THEN 2 ELSE 0 END,
       CASE WHEN g.is_open THEN CAST(:now AS timestamptz) + make_interval(hours => (-48 + g.r_due * 168)::int)
            ELSE g.created_at + interval '72 hours' END,
       CASE WHEN g.is_open OR g.n_tasks = 1 THEN NULL ELSE 'Đã xử lý xong, đã thông báo cho người dân.' END,
       CASE WHEN g.is_open OR g.n_tasks = 1 THEN NULL ELSE g.created_at + interval '3 days' END,
       CASE WHEN g.is_open OR g.n_tasks = 1 THEN NULL ELSE g.created_at + interval '3 days' END,
       CASE WHEN g.is_open THEN NULL WHEN g.n_tasks = 1 THEN g.created_at + interval '4 hours'
            WHEN g.created_at > CAST(:now AS timestamptz) - interval '20 days' THEN NULL
            ELSE g.created_at + interval '10 days' END,
       CASE WHEN g.is_open THEN NULL WHEN g.n_tasks = 1 THEN 'rejected'
            WHEN g.created_at > CAST(:now AS timestamptz) - interval '20 days' THEN NULL ELSE 'satisfied' END,
       greatest(0, (g.n_tasks - 2) / 3),
       NULL, g.id, g.created_at, least(CAST(:now AS timestamptz), g.created_at + interval '3 days')
FROM bench_gen g
JOIN (VALUES ('field_report', 'PA', 0.0, 0.55), ('hotline', 'HL', 0.55, 0.85), ('camera', 'CAM', 0.85, 0.93),
             ('kpi', 'KPI', 0.93, 1.01)) AS ch(channel, prefix, lo, hi) ON g.r_chan >= ch.lo AND g.r_chan < ch.hi
LEFT JOIN admin_unit unit ON unit.code = g.resp_code
"""

_INSTANCES_SQL = """
INSERT INTO process_instance (id, definition_id, process_key, business_key, status, state, state_format,
                              next_timer_at, created_at, updated_at, completed_at, version)
SELECT c.id, (SELECT definition_id FROM bench_template LIMIT 1), 'field_report', c.code,
       CASE WHEN c.status IN ('closed', 'rejected') THEN 'completed' ELSE 'running' END,
       '{}', 'spiff3-nospec',
       CASE WHEN c.status IN ('closed', 'rejected') THEN NULL ELSE c.due_at END,
       c.created_at, c.updated_at, c.closed_at, 1
FROM case_record c
"""

# Tasks k = 0 … n-1 of each case, in the process's order; all done but the open case's last.
# A task followed by an escalation was taken away by the deadline timer (cancelled). Each task
# carries its case's fields as workflows.operators.copy_case_fields copies them.
_TASKS_SQL = """
INSERT INTO human_task (id, instance_id, business_key, element_id, title, candidate_role, candidate_unit, assignee,
                        state, due_at, form, created_at, completed_at, completed_by, case_channel, case_category,
                        case_priority_rank, case_place_id, case_received_at, case_title_lower)
SELECT md5(x.id::text || ':' || x.k)::uuid::text, x.id, x.code, x.element_id, x.title, x.role, x.unit,
       CASE WHEN x.state = 'open' THEN CASE WHEN x.r_assign < 0.4 THEN x.person END ELSE x.person END,
       x.state,
       CASE WHEN x.state = 'open' THEN x.case_due ELSE x.t_created + x.allowed END,
       x.form, x.t_created,
       CASE WHEN x.state = 'open' THEN NULL ELSE x.t_created + x.step END,
       CASE WHEN x.state = 'completed' THEN x.person END,
       x.channel, x.category_code, CASE x.priority WHEN 'high' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END,
       x.admin_unit_id, x.case_created, lower(x.case_title)
FROM (
  SELECT g.id, c.code, q.k, t.element_id, t.title, t.role, g.r_assign, c.due_at AS case_due,
         c.channel, c.category_code, c.priority, c.admin_unit_id, c.created_at AS case_created, c.title AS case_title,
         u.unit,
         CASE WHEN t.role = 'operator' THEN 'dtv' || (g.id % :officers + 1)
              WHEN t.role = 'unit_head' THEN CASE WHEN g.id % :heads = 0 THEN pp.head
                                                  ELSE pp.head || '-' || g.id % :heads END
              WHEN g.id % :officers = 0 THEN pp.officer ELSE pp.officer || '-' || g.id % :officers
         END AS person,
         CASE WHEN g.is_open AND q.k = g.n_tasks - 1 THEN 'open'
              WHEN q.k < g.n_tasks - 1 AND q.next_id IN ('handle_l1', 'handle_l2') THEN 'cancelled'
              ELSE 'completed' END AS state,
         CASE t.element_id WHEN 'triage' THEN interval '4 hours' WHEN 'handle' THEN interval '72 hours'
                           ELSE interval '24 hours' END AS allowed,
         g.created_at + s.step * q.k AS t_created, s.step, t.form
  FROM bench_gen g
  JOIN case_record c ON c.id = g.id
  JOIN g_seq q ON q.esc = g.escalated AND q.k < g.n_tasks
  JOIN bench_template t ON t.element_id = q.element_id
  CROSS JOIN LATERAL (SELECT least(interval '30 hours', (CAST(:now AS timestamptz) - g.created_at)
                                                     / (g.n_tasks + 1)) AS step) s
  CROSS JOIN LATERAL (SELECT CASE t.element_id WHEN 'triage' THEN 'IOC-DLK' WHEN 'handle_l2' THEN g.upper_code
                                               ELSE g.resp_code END AS unit) u
  LEFT JOIN g_people pp ON pp.code = u.unit
) x
"""


# ---------------------------------------------------------------------------------------- measuring

@dataclass(frozen=True)
class Probe:
    """One kind of request: a tab, maybe narrowed by a filter."""

    what: str
    tab: str
    args: dict[str, str]

    @property
    def path(self) -> str:
        """The task-list address this probe stands for."""
        query = "&".join(f"{k}={v}" for k, v in {"tab": self.tab, **self.args}.items())
        return f"/tasks/?{query}"


PROBES = [Probe(tab, tab, {}) for tab in TABS] + [
    Probe("unit, channel=hotline", "unit", {"channel": "hotline"}),
    Probe("unit, category=traffic, priority=high", "unit", {"category": "traffic", "priority": "high"}),
    Probe("unit, sort=priority", "unit", {"sort": "priority"}),
    Probe("overdue, q=words of a title", "overdue", {"q": "Giao thông"}),
    Probe("unit, page 3", "unit", {"page": "3"}),
]


def accounts(url: str) -> list[tuple[str, str]]:
    """(label, username) of the accounts measured: a busy unit's officer and head, an IOC operator."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            # The unit with the most open tasks among those whose officer is a demo account.
            busiest = session.execute(text(
                "SELECT a.username, u.code FROM human_task t JOIN admin_unit u ON u.code = t.candidate_unit "
                "JOIN user_role r ON r.unit_id = u.id AND r.role = 'officer' "
                "JOIN user_account a ON a.id = r.user_id "
                "WHERE t.state = 'open' GROUP BY a.username, u.code ORDER BY count(*) DESC LIMIT 1")).first()
            if busiest is None:
                raise ValueError("the bench database has no open task for any officer; build it first")
            head = session.scalar(select(User.username).join(UserRole, UserRole.user_id == User.id)
                                  .join(AdminUnit, AdminUnit.id == UserRole.unit_id)
                                  .where(UserRole.role == "unit_head", AdminUnit.code == busiest.code).limit(1))
    finally:
        engine.dispose()
    out = [(f"officer {busiest.code}", busiest.username)]
    if head:
        out.append((f"unit head {busiest.code}", head))
    out.append(("IOC operator", "dtv1"))
    return out


def measure(url: str, requests: int = 200, at: datetime | None = None,
            http_client: Callable[[str], Callable[[str], Any]] | None = None,
            log: Callable[[str], None] = print, budget_s: float = 20.0) -> list[Latency]:
    """Time `requests` calls of every probe for every account; also over HTTP when a client maker is given.

    `http_client(username)` returns a function that GETs a path as that signed-in user
    and returns the response (its status is checked). A probe slower than `budget_s`
    seconds in all stops early (after at least 20 calls), so a slow query does not hold
    the run for hours; the table says how many calls each figure rests on.
    """
    engine = make_engine(url, pool_size=2)
    factory = make_session_factory(engine)
    clock = FrozenClock(at) if at else None
    warm = max(3, requests // 20)
    out: list[Latency] = []
    try:
        for label, username in accounts(url):
            with factory() as session:
                user_id = session.scalar(select(User.id).where(User.username == username))
                actor = AccessService(session).actor(user_id)
            get = http_client(username) if http_client else None
            for probe in PROBES:
                args = dict(probe.args)
                sort = args.pop("sort", "due")
                page = int(args.pop("page", "1"))
                flt = TaskFilter.parse(args)
                counts: dict[str, int] = {}
                call_service = partial(_page, factory, clock, actor, probe.tab, flt, sort, page, counts)
                call_http = partial(_get, get, probe.path, username)
                service_ms = _timed(call_service, requests, warm, budget_s)
                http_ms = _timed(call_http, requests, warm, budget_s) if get is not None else []
                line = Latency(label, probe.what, probe.path, counts[probe.tab], service_ms, http_ms)
                out.append(line)
                log(f"  {label:<28} {probe.what:<40} {line.rows:>7} tasks  service p95 {line.service(95):6.1f} ms"
                    + (f"  http p95 {line.http(95):6.1f} ms" if http_ms else ""))
    finally:
        engine.dispose()
    return out


def _page(factory, clock, actor, tab: str, flt: TaskFilter, sort: str, page: int, counts: dict[str, int]) -> None:
    """One task-list page through the service, in a new session as the web app has per request."""
    with factory() as session:
        service = TaskService(session, clock) if clock else TaskService(session)
        counts.update(service.page(actor, tab, flt, sort=sort, page=page).counts)


def _get(get: Callable[[str], Any], path: str, username: str) -> None:
    """One GET of the task list as a signed-in user; anything but 200 stops the run."""
    response = get(path)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} as {username} answered {response.status_code}")


def _timed(call: Callable[[], None], requests: int, warm: int, budget_s: float) -> list[float]:
    """Milliseconds of up to `requests` calls after `warm` untimed ones (fewer past `budget_s` seconds)."""
    for _ in range(warm):
        call()
    out: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(out) < requests and (len(out) < min(requests, 20) or time.perf_counter() < deadline):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return out


def table(lines: list[Latency]) -> str:
    """The results as a Markdown table (milliseconds)."""
    with_http = any(line.http_ms for line in lines)
    head = "| account | request | tasks in tab | calls | service p50 | p95 | p99 |"
    rule = "|---|---|---:|---:|---:|---:|---:|"
    if with_http:
        head += " HTTP p50 | p95 | p99 |"
        rule += "---:|---:|---:|"
    out = [head, rule]
    for line in lines:
        calls = f"{len(line.service_ms)}" + (f" / {len(line.http_ms)}" if with_http else "")
        row = (f"| {line.who} | {line.what} | {line.rows} | {calls} | {line.service(50):.1f} | {line.service(95):.1f} "
               f"| {line.service(99):.1f} |")
        if with_http:
            row += f" {line.http(50):.1f} | {line.http(95):.1f} | {line.http(99):.1f} |"
        out.append(row)
    return "\n".join(out)


def summary(lines: list[Latency]) -> str:
    """One line: the worst p95 of the service and of HTTP over every probe."""
    worst = max(lines, key=lambda line: line.service(95))
    text_ = f"worst service p95: {worst.service(95):.1f} ms ({worst.who}, {worst.what})"
    with_http = [line for line in lines if line.http_ms]
    if with_http:
        slow = max(with_http, key=lambda line: line.http(95))
        text_ += f"; worst HTTP p95: {slow.http(95):.1f} ms ({slow.who}, {slow.what})"
    median = statistics.median(v for line in lines for v in line.service_ms)
    return text_ + f"; median of all service calls {median:.1f} ms"
