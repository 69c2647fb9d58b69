"""The task-list benchmark harness at a tiny size on the real PostgreSQL: it builds, reuses, measures, prints.

Not a timed test: it checks that the harness works and says what it measured, not how fast.
"""

from __future__ import annotations

import os
import re

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import make_url

from engine.database import make_engine
from tests.conftest import BPMN_DIR, POSTGRES_ADMIN_URL
from webapp.cli import main
from workflows import bench_tasklist


@pytest.fixture
def bench_url():
    """The URL of a bench database of this test run, dropped afterwards."""
    url = bench_tasklist.database_url(POSTGRES_ADMIN_URL, f"ioc_bench_tasklist_test_{os.getpid()}")
    yield url
    admin = make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def test_the_data_set_follows_the_field_report_process(bench_url):
    data = bench_tasklist.build(bench_url, 2000, 10000, BPMN_DIR, log=lambda _line: None)
    assert data.cases == 2000 and 8000 < data.tasks < 12000 and not data.reused
    engine = make_engine(bench_url)
    with engine.connect() as conn:
        statuses = dict(conn.execute(text("SELECT status, count(*) FROM case_record GROUP BY status")).all())
        closed = sum(statuses.get(s, 0) for s in ("closed", "published", "rejected"))
        assert 0.7 < closed / 2000 < 0.9  # about four in five are finished
        # Every open case has exactly one open task; every task belongs to a case and its instance.
        assert conn.scalar(text(
            "SELECT count(*) FROM case_record c WHERE c.status NOT IN ('closed', 'published', 'rejected') AND "
            "(SELECT count(*) FROM human_task t WHERE t.business_key = c.code AND t.state = 'open') <> 1")) == 0
        assert conn.scalar(text(
            "SELECT count(*) FROM human_task t LEFT JOIN case_record c ON c.code = t.business_key "
            "LEFT JOIN process_instance i ON i.id = t.instance_id WHERE c.id IS NULL OR i.id IS NULL")) == 0
        # Done tasks say who completed them; open ones are spread over units, some claimed, some overdue.
        assert conn.scalar(text("SELECT count(*) FROM human_task WHERE state = 'completed' "
                                "AND (completed_by IS NULL OR completed_at IS NULL)")) == 0
        assert conn.scalar(text("SELECT count(DISTINCT candidate_unit) FROM human_task WHERE state = 'open'")) > 20
        assert conn.scalar(text("SELECT count(*) FROM human_task WHERE state = 'open' AND assignee IS NOT NULL")) > 0
        assert conn.scalar(text("SELECT count(*) FROM human_task WHERE state = 'open' AND due_at < "
                                "(SELECT v::timestamptz FROM bench_tasklist_meta WHERE k = 'generated_at')")) > 0
        # Every task carries its case's fields, as the case layer copies them onto a new task.
        assert conn.scalar(text(
            "SELECT count(*) FROM human_task t JOIN case_record c ON c.code = t.business_key WHERE "
            "(t.case_channel, t.case_category, t.case_place_id, t.case_received_at, t.case_title_lower) IS "
            "DISTINCT FROM (c.channel, c.category_code, c.admin_unit_id, c.created_at, lower(c.title)) "
            "OR t.case_priority_rank IS DISTINCT FROM CASE c.priority WHEN 'high' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END"
        )) == 0
        # The places are the province's communes and wards, all of them.
        assert conn.scalar(text("SELECT count(DISTINCT admin_unit_id) FROM case_record")) == 102
    engine.dispose()
    again = bench_tasklist.build(bench_url, 2000, 10000, BPMN_DIR, reuse=True, log=lambda _line: None)
    assert again.reused and again.tasks == data.tasks


def test_the_command_builds_and_prints_the_table(bench_url):
    runner = CliRunner()
    result = runner.invoke(main, ["bench", "tasklist", "--cases", "2000", "--tasks", "10000", "--database", bench_url,
                                  "--requests", "3"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "data set: 2000 cases" in out
    assert "| account | request | tasks in tab | calls | service p50 | p95 | p99 | HTTP p50 | p95 | p99 |" in out
    rows = [line for line in out.splitlines() if re.match(r"\| (officer|unit head|IOC operator)", line)]
    assert len(rows) == 3 * len(bench_tasklist.PROBES)
    assert all(re.search(r"\| \d+\.\d \| \d+\.\d \| \d+\.\d \|$", row) for row in rows)  # HTTP measured too
    assert "worst service p95" in out
    # A second run reuses the data set.
    again = runner.invoke(main, ["bench", "tasklist", "--cases", "2000", "--tasks", "10000", "--database", bench_url,
                                 "--requests", "2", "--reuse", "--no-http"])
    assert again.exit_code == 0, again.output
    assert "reusing" in again.output and "HTTP p50" not in again.output


def test_it_drops_only_bench_databases():
    with pytest.raises(ValueError, match="ioc_bench"):
        bench_tasklist.build(bench_tasklist.database_url(POSTGRES_ADMIN_URL, "ioc_production"), 10, 50, BPMN_DIR)
