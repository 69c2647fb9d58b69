"""The `ioc` command as an operator uses it: db upgrade, deploy, start, instance, complete."""

from __future__ import annotations

import json
import re

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import text

from engine.database import make_engine
from engine.db import Base
from tests.bpmn_factory import process, service
from tests.conftest import BPMN_DIR
from webapp.cli import main

FIELD_REPORT = [str(p) for p in sorted(BPMN_DIR.glob("field_report*"))]


@pytest.fixture
def fresh_url(request, tmp_path):
    """An empty database (no tables): a SQLite file or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cli.sqlite3'}"
        return
    url = request.getfixturevalue("postgres_database")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    yield url
    engine = make_engine(url)  # leave the shared test database with its tables again
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    Base.metadata.create_all(engine)
    engine.dispose()


def ioc(url, *args, lang="en"):
    """Run `ioc` on a database; in English unless `lang` says otherwise (the default language is vi)."""
    env = {"IOC_DATABASE_URL": url, "IOC_LANG": lang} if lang else {"IOC_DATABASE_URL": url}
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result


@pytest.mark.parametrize("fresh_url", ["sqlite", "postgres"], indirect=True)
def test_migrations_build_the_schema_the_models_describe(fresh_url):
    result = ioc(fresh_url, "db", "upgrade")
    assert result.exit_code == 0, result.output
    engine = make_engine(fresh_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


@pytest.mark.parametrize("fresh_url", ["sqlite"], indirect=True)
def test_deploy_start_instance_complete(fresh_url, tmp_path):
    assert ioc(fresh_url, "db", "upgrade").exit_code == 0
    first = ioc(fresh_url, "deploy", *FIELD_REPORT)
    assert first.exit_code == 0 and "field_report v1 deployed" in first.output
    again = ioc(fresh_url, "deploy", *FIELD_REPORT)
    assert "field_report v1 unchanged" in again.output

    started = ioc(fresh_url, "start", "field_report", "--data", json.dumps({"case_id": 0, "ioc_unit": "IOC-DLK",
                                                                            "priority": "normal"}))
    assert started.exit_code == 0, started.output
    instance_id = re.search(r"instance (\d+): field_report v1  status=running", started.output).group(1)
    assert "triage «Phân loại phản ánh»  role=operator unit=IOC-DLK" in started.output

    shown = ioc(fresh_url, "instance", instance_id)
    task_id = re.search(r"^\s+(\S+)\s+triage", shown.output, re.M).group(1)

    refused = CliRunner().invoke(main, ["complete", task_id, "--data", '{"decision": "maybe"}'],
                                 env={"IOC_DATABASE_URL": fresh_url, "IOC_LANG": "en"})
    assert refused.exit_code == 1 and "decision: must be one of: accept, reject" in refused.output

    missing = ioc(fresh_url, "instance", "999")
    assert missing.exit_code == 1 and "no process instance 999" in missing.output
    bad_json = ioc(fresh_url, "start", "field_report", "--data", "{oops")
    assert bad_json.exit_code == 2 and "--data is not a JSON object" in bad_json.output


@pytest.mark.parametrize("fresh_url", ["sqlite"], indirect=True)
def test_a_refused_deployment_prints_each_problem_and_deploys_nothing(fresh_url, tmp_path):
    assert ioc(fresh_url, "db", "upgrade").exit_code == 0
    bad = tmp_path / "bad.bpmn"
    bad.write_text(process("bad", [service(0, "send_fax", {"to": "'x'"}), service(1, "assign", {"unit": "'X'"})]),
                   encoding="utf-8")
    result = CliRunner().invoke(main, ["deploy", str(bad)], env={"IOC_DATABASE_URL": fresh_url, "IOC_LANG": "en"})
    assert result.exit_code == 1
    assert "Refused: 2 problem(s); nothing was deployed." in result.output
    assert "bad.bpmn [s0]: unknown operator 'send_fax'" in result.output
    assert "bad.bpmn [s1]: operator 'assign' needs parameter(s) reminder_hours, sla_hours" in result.output
    engine = make_engine(fresh_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM process_definition")).scalar() == 0
    engine.dispose()


@pytest.mark.parametrize("fresh_url", ["sqlite"], indirect=True)
def test_the_cli_speaks_vietnamese_unless_told_otherwise(fresh_url, tmp_path):
    assert ioc(fresh_url, "db", "upgrade", lang=None).exit_code == 0
    bad = tmp_path / "bad.bpmn"
    bad.write_text(process("bad", [service(0, "send_fax", {"to": "'x'"}), service(1, "assign", {"unit": "'X'"})]),
                   encoding="utf-8")
    result = CliRunner().invoke(main, ["deploy", str(bad)], env={"IOC_DATABASE_URL": fresh_url})
    assert result.exit_code == 1
    assert "Từ chối triển khai: có 2 lỗi; chưa triển khai gì." in result.output
    assert "bad.bpmn [s0]: không có toán tử 'send_fax'" in result.output
    assert "bad.bpmn [s1]: toán tử 'assign' cần tham số reminder_hours, sla_hours" in result.output
    assert "Refused" not in result.output

    deployed = ioc(fresh_url, "deploy", *FIELD_REPORT, lang=None)
    assert "field_report v1 đã triển khai" in deployed.output
    started = ioc(fresh_url, "start", "field_report", "--data", json.dumps({"case_id": 0, "ioc_unit": "IOC-DLK",
                                                                            "priority": "normal"}), lang=None)
    assert re.search(r"hồ sơ quy trình \d+: field_report v1  trạng thái: đang chạy", started.output), started.output
    assert "nhiệm vụ đang mở:" in started.output
    missing = ioc(fresh_url, "instance", "999", lang=None)
    assert missing.exit_code == 1 and "Lỗi: không có hồ sơ quy trình 999" in missing.output


def test_an_unknown_cli_language_is_refused_saying_what_to_set(tmp_path):
    result = CliRunner().invoke(main, ["instance", "1"], env={"IOC_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
                                                            "IOC_LANG": "fr"})
    assert result.exit_code != 0
    assert "IOC_LANG='fr'" in str(result.exception) and "vi or en" in str(result.exception)
