"""Shared fixtures: databases (SQLite file and the real PostgreSQL), a controlled clock, services."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from engine.clock import FrozenClock
from engine.database import make_engine, make_session_factory
from engine.db import Base

ROOT = Path(__file__).resolve().parents[1]
BPMN_DIR = ROOT / "bpmn"
DATA_DIR = Path(__file__).parent / "data"
# The real PostgreSQL server of the machine; tests create and drop their own database on it.
POSTGRES_ADMIN_URL = os.environ.get("IOC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# Under pytest-xdist each worker takes its own pair of Redis databases (15/14, 13/12, …): tests that flush
# the broker's database or read the vision leases never see another worker's keys.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
WORKER_INDEX = int(_WORKER[2:]) if _WORKER[2:].isdigit() else 0
REDIS_URL = os.environ.get("IOC_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{15 - 2 * WORKER_INDEX}")


def _all_models():
    import engine.models  # noqa: F401
    import reports.models  # noqa: F401
    import workflows.models  # noqa: F401


@pytest.fixture(scope="session")
def postgres_database():
    """A fresh database on the real PostgreSQL server for this test run (dropped afterwards)."""
    admin = make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"ioc_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    _all_models()
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_postgres(engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    """A database URL with an empty schema: a SQLite file, then the real PostgreSQL."""
    _all_models()
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ioc.sqlite3'}"
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        engine.dispose()
        return url
    url = request.getfixturevalue("postgres_database")
    engine = make_engine(url)
    _truncate_postgres(engine)
    engine.dispose()
    return url


@pytest.fixture
def db_engine(db_url):
    """An engine on the test database."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(db_engine):
    """Sessions on the test database."""
    return make_session_factory(db_engine)


@pytest.fixture
def session(session_factory):
    """One session, closed after the test."""
    with session_factory() as s:
        yield s


@pytest.fixture
def clock():
    """A clock the test moves by hand (no sleeps)."""
    return FrozenClock()


@pytest.fixture
def reference_data(session):
    """The Đắk Lắk demo units, accounts and categories."""
    from workflows.demo import demo_data, load_reference_data

    load_reference_data(session, demo_data())
    session.commit()


@pytest.fixture
def services(session, clock, reference_data):
    """Engine and case services on the test database, with field_report deployed."""
    from workflows.runtime import make_services

    svc = make_services(session, clock)
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(BPMN_DIR.glob("field_report*"))}
    svc.definitions.deploy(files, deployed_by="test")
    session.commit()
    return svc
