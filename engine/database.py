"""Creating SQLAlchemy engines that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import sessionmaker


def configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, a busy timeout and real transactions for the embedded SQLite file.

    pysqlite's own transaction handling breaks SAVEPOINTs and starts transactions
    late; we turn it off and begin every transaction ourselves with BEGIN
    IMMEDIATE, so two writers queue on the lock instead of failing halfway.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for `url`, configured for our use of it."""
    options = dict(kwargs)
    if url.startswith("postgresql"):
        options.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **options)
    configure_sqlite(engine)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)
