"""Setting up a database for the demo: schema, demo data, processes, sample cases."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade

from engine.clock import FrozenClock
from engine.i18n import t
from webapp.extensions import db
from webapp.runtime import runtime


def deploy_directory(directory: str | Path) -> list[str]:
    """Deploy every process of a folder of .bpmn/.dmn files (unchanged ones keep their version)."""
    from webapp.cli import deploy_files

    paths = sorted(str(p) for p in Path(directory).iterdir() if p.suffix in (".bpmn", ".dmn"))
    return deploy_files(paths, deployed_by="setup") if paths else []


def setup_demo(app: Flask) -> list[str]:
    """Bring the schema up to date, then add what the demo needs that is missing; lines said (translatable)."""
    from argon2 import PasswordHasher

    from workflows.demo import DEMO_PASSWORD, demo_data, load_reference_data
    from workflows.sample_cases import create_sample_cases

    lines = []
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        lines.append(t("database: %(url)s (schema up to date)", url=db.engine.url.render_as_string(hide_password=True)))
        # One hash for every demo account: the demo shares one published password anyway.
        added = load_reference_data(db.session, demo_data(), PasswordHasher().hash(DEMO_PASSWORD))
        db.session.commit()
        lines.append(t("demo data: +%(units)s units, +%(users)s accounts, +%(categories)s categories", **added))
        lines.extend(t("process %(line)s", line=line) for line in deploy_directory(app.config["BPMN_DIR"]))
        # The demo's history is played on a clock that stops a few minutes before now (workflows/sample_cases.py).
        # The server's sweep then fires, by the real clock, whatever falls due after that.
        now = runtime().clock.now()
        played = replace(runtime(), clock=FrozenClock(now))
        made = create_sample_cases(played.services(db.session), played.sweep().run_once,
                                   until=now - timedelta(minutes=5))
        if made:
            lines.append(t("sample cases: %(count)s created", count=made))
        from workflows.open311_service import Open311Service

        services = runtime().services(db.session)
        if Open311Service(db.session, services.cases, runtime().clock).seed_demo_client():
            lines.append(t("Open311: demo api_key added"))
        lines.extend(_monitoring_demo(now))
        lines.extend(_camera_demo(app, now))
    return lines


def _camera_demo(app: Flask, now) -> list:
    """The cameras of Buôn Ma Thuột (workflows/cameras/demo.py) with their synthetic videos under instance/cameras,
    and the case of a stopped vehicle the pipeline raised, played like the monitoring demo six minutes ago."""
    from workflows.cameras.demo import load_camera_demo

    played = replace(runtime(), clock=FrozenClock(now - timedelta(minutes=6)))
    added = load_camera_demo(played.services(db.session), played.clock, Path(app.instance_path) / "cameras")
    if not added.cameras:
        return []
    return [t("cameras: +%(cameras)s demo cameras, %(videos)s synthetic videos written, %(cases)s cases opened "
              "(watch them with: ioc vision)", cameras=added.cameras, videos=added.videos, cases=added.cases)]


def _monitoring_demo(now) -> list:
    """The monitoring demo (workflows/monitoring/demo.py), after the processes it opens cases in are deployed.
    Played, like the sample cases' history, on a clock stopped a few minutes before `now`: the newest reports
    came in and were evaluated, and the alerts arrived, just before the server started."""
    from webapp.alert_jobs import alert_processor
    from workflows.monitoring.demo import load_monitoring_demo

    played = replace(runtime(), clock=FrozenClock(now - timedelta(minutes=6)))
    added = load_monitoring_demo(played.services(db.session), played.clock, lambda: alert_processor(played).run())
    lines = []
    if added.indicators or added.values:
        lines.append(t("monitoring: +%(indicators)s indicators, +%(values)s values (%(uploads)s files), "
                       "%(evaluated)s evaluated, %(cases)s cases open, %(missing)s reports missing",
                       indicators=added.indicators, values=added.values, uploads=added.uploads,
                       evaluated=added.evaluated, cases=added.cases, missing=added.missing))
    if added.sources:
        lines.append(t("monitoring: demo alert source added"))
    if added.alerts:
        lines.append(t("monitoring: %(count)s demo alerts sent to the webhook", count=added.alerts))
    return lines
