"""Helpers for tests of the officials' workspace: an app with the demo, signing in, cases at a stage."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from engine.models import HumanTask
from tests.conftest import BPMN_DIR
from webapp import create_app
from webapp.extensions import db
from workflows.case_service import IntakeRequest
from workflows.demo import DEMO_PASSWORD, demo_data, load_reference_data

_HASH: str | None = None


def demo_hash() -> str:
    """One argon2 hash of the demo password for the whole run (hashing is slow on purpose)."""
    global _HASH
    if _HASH is None:
        from workflows.accounts import hash_password

        _HASH = hash_password(DEMO_PASSWORD)
    return _HASH


def make_workspace_app(db_url: str, clock, **overrides: Any):
    """The app on `db_url` with the Đắk Lắk demo accounts (password demo1022) and field_report deployed."""
    config = {"DATABASE_URL": db_url, "TESTING": True, "TIMER_SWEEP": "off", "RATELIMIT_ENABLED": False}
    config.update(overrides)
    app = create_app(config, clock=clock)
    with app.app_context():
        db.create_all()  # the db_url fixture made the schema already; a bare URL gets one here
        load_reference_data(db.session, demo_data(), demo_hash())
        db.session.commit()
        services = app.extensions["ioc"].services(db.session)
        files = {p.name: p.read_text(encoding="utf-8") for p in sorted(BPMN_DIR.glob("field_report*"))}
        services.definitions.deploy(files, deployed_by="test")
        db.session.commit()
    return app


def csrf_of(page: str) -> str:
    """The CSRF token a rendered page carries."""
    match = re.search(r'name="csrf-token" content="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the page carries no CSRF token"
    return match.group(1)


def sign_in(client, username: str, password: str = DEMO_PASSWORD):
    """Sign `client` in through the real form (CSRF included); returns the response."""
    token = csrf_of(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def client_of(app, username: str):
    """A test client signed in as `username`."""
    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    return client


def new_case(app, unit: str = "P-BUON-MA-THUOT", category: str = "street_lighting", title: str = "Đèn đường hỏng",
             key: str | None = None, triage: str | None = "accept", **extra: Any) -> str:
    """Open a field report through intake (and accept it at triage); returns its code."""
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        case, _ = services.cases.intake(IntakeRequest(
            channel="field_report", category=category, admin_unit=unit, title=title,
            description=extra.pop("description", "Mô tả của người dân"), lat=extra.pop("lat", 12.68),
            lon=extra.pop("lon", 108.04), reporter_name="Nguyễn Văn A", reporter_phone="0912345678",
            idempotency_key=key, **extra))
        code = case.code
        if triage:
            task = db.session.scalar(select(HumanTask).where(HumanTask.business_key == code, HumanTask.state == "open"))
            reason = {"reject_reason": "Không thuộc phạm vi tiếp nhận."} if triage == "reject" else {}
            services.cases.complete_task(task.id, {"decision": triage, **reason}, actor="dtv1")
        return code


def open_task(app, code: str) -> HumanTask:
    """The open task of a case (detached copy of its fields)."""
    with app.app_context():
        task = db.session.scalar(select(HumanTask).where(HumanTask.business_key == code, HumanTask.state == "open"))
        db.session.expunge(task)
        return task
