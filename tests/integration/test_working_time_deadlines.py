"""Deadlines in working time, through the real intake: Open311, triage, the task list, the case page, the timer.

A test SLA table gives normal priority 16 working hours (reminder 4 before, 8 per escalation). A case
received at 16:30 on Wednesday 3 February 2027, the last working day before Tết (Thursday 4 to Wednesday
10 February off), is due on Friday 12 February at 16:30: half an hour on the 3rd, 8 on the 11th, 7.5 on
the 12th. Every place that shows or acts on the deadline shows that moment.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.clock import FrozenClock
from engine.models import HumanTask, ProcessInstance
from tests.conftest import BPMN_DIR
from tests.working_time import local
from tests.workspace import client_of, make_workspace_app
from webapp.extensions import db
from workflows.calendar.models import CalendarException
from workflows.models import Case
from workflows.open311_service import DEMO_API_KEY, Open311Service


def _sixteen_hour_sla() -> str:
    """field_report_sla.dmn with normal priority at 16 working hours, reminded 4 before, 8 per escalation."""
    dmn = (BPMN_DIR / "field_report_sla.dmn").read_text(encoding="utf-8")
    for output, value in ((1, 16), (2, 4), (3, 8)):
        dmn, count = re.subn(rf'(<outputEntry id="field_report_sla_rule_2_out_{output}">\s*<text>)\d+(</text>)',
                             rf"\g<1>{value}\g<2>", dmn)
        assert count == 1
    return dmn


@pytest.fixture
def centre(db_url, tmp_path):
    """The app with the demo people, the demo Open311 key and the 16-hour SLA table deployed; its clock."""
    clock = FrozenClock()
    app = make_workspace_app(db_url, clock, FILES_DIR=str(tmp_path / "files"))
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        files = {p.name: p.read_text(encoding="utf-8") for p in sorted(BPMN_DIR.glob("field_report*"))}
        services.definitions.deploy({**files, "field_report_sla.dmn": _sixteen_hour_sla()}, deployed_by="test")
        db.session.commit()
        assert Open311Service(db.session, services.cases, clock).seed_demo_client()
    yield app, clock
    with app.app_context():
        db.engine.dispose()


def _receive_and_triage(app, clock, received):
    """A street-lighting report through Open311 at `received`, accepted at triage the same minute: its code."""
    clock.set(received)
    client = app.test_client()
    response = client.post("/open311/v2/requests.json", data={
        "api_key": DEMO_API_KEY, "service_code": "street_lighting", "lat": "12.668", "long": "108.041",
        "description": "Ba cột đèn trước số 12 Lê Duẩn không sáng", "attribute[lights_out]": "3",
        "attribute[extent]": "several"})
    assert response.status_code == 200, response.get_data(as_text=True)
    code = response.get_json()[0]["service_request_id"]
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        task = db.session.scalar(select(HumanTask).where(HumanTask.business_key == code, HumanTask.state == "open"))
        services.cases.complete_task(task.id, {"decision": "accept"}, actor="dtv1")
    return code


def _sweep(app) -> None:
    with app.app_context():
        app.extensions["ioc"].sweep().run_once()


def _open_tasks(app, code) -> dict[str, HumanTask]:
    with app.app_context():
        rows = db.session.scalars(select(HumanTask).where(HumanTask.business_key == code, HumanTask.state == "open"))
        return {t.element_id: t for t in rows}


@pytest.mark.parametrize(("received", "due", "remind", "countdown"), [
    # Tết 2027: the last working day before it, 16:30 → the second working day after it, 16:30.
    (local(2027, 2, 3, 16, 30), local(2027, 2, 12, 16, 30), local(2027, 2, 12, 10, 30), "9 ngày 0 giờ"),
    # A weekend: Friday 16:00 → 1 h on Friday, 8 on Monday, 7 on Tuesday.
    (local(2026, 12, 4, 16), local(2026, 12, 8, 16), local(2026, 12, 8, 10), "4 ngày 0 giờ"),
], ids=["tet-2027", "weekend"])
def test_a_deadline_in_working_hours_shows_the_same_everywhere_and_fires_then(centre, received, due, remind,
                                                                                countdown):
    app, clock = centre
    code = _receive_and_triage(app, clock, received)
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.code == code))
        assert case.due_at == due
        instance = db.session.get(ProcessInstance, case.process_instance_id)
        assert instance.next_timer_at == remind  # 4 working hours before the deadline
    handle = _open_tasks(app, code)["handle"]
    assert handle.due_at == due

    # Open311 tells the citizen's app the same moment.
    posted = app.test_client().get(f"/open311/v2/requests/{code}.json").get_json()[0]
    assert posted["expected_datetime"] == due.isoformat(timespec="seconds")

    # The officer's task list: the countdown to that moment, the moment itself on hover.
    officer = client_of(app, "cb.buonmathuot")
    page = html.unescape(officer.get("/tasks/?tab=unit").get_data(as_text=True))
    row = re.search(rf'<tr[^>]*>(?:(?!</tr>).)*{code}(?:(?!</tr>).)*</tr>', page, re.S).group(0)
    assert f'title="Hạn xử lý: {due:%H:%M %d/%m/%Y}">{countdown}<' in row
    # The case page.
    case_page = officer.get(f"/cases/{code}").get_data(as_text=True)
    assert f"{due:%H:%M %d/%m/%Y}" in case_page

    # The timer: the reminder at its moment, no escalation a second before the deadline, the escalation after it.
    clock.set(due - timedelta(seconds=1))
    _sweep(app)
    assert set(_open_tasks(app, code)) == {"handle"}
    clock.set(due + timedelta(seconds=1))
    _sweep(app)
    assert set(_open_tasks(app, code)) == {"handle_l1"}
    with app.app_context():
        assert db.session.scalar(select(Case.escalation_level).where(Case.code == code)) == 1


def test_a_day_off_the_administrator_adds_moves_the_next_deadline(centre):
    app, clock = centre
    with app.app_context():  # the province gives Thursday 3 December 2026 off
        db.session.add(CalendarException(day=local(2026, 12, 3).date(), working=False, note="Nghỉ bù"))
        db.session.commit()
    code = _receive_and_triage(app, clock, local(2026, 12, 2, 16))
    with app.app_context():
        # 1 h on Wednesday, Thursday off, 8 on Friday, 7 on Monday
        assert db.session.scalar(select(Case.due_at).where(Case.code == code)) == local(2026, 12, 7, 16)


def test_on_friday_afternoon_a_task_due_on_monday_morning_is_due_soon(centre):
    app, clock = centre
    # Thursday 3 December 2026, 10:00 + 16 working hours: Monday 7 December, 10:00.
    code = _receive_and_triage(app, clock, local(2026, 12, 3, 10))
    assert _open_tasks(app, code)["handle"].due_at == local(2026, 12, 7, 10)
    clock.set(local(2026, 12, 4, 15))  # Friday 15:00: 67 hours away, 5 working hours
    officer = client_of(app, "cb.buonmathuot")
    soon = html.unescape(officer.get("/tasks/?tab=due_soon").get_data(as_text=True))
    assert code in soon and 'class="sla warn"' in soon
    assert officer.get("/dashboard/data.json").get_json()["totals"]["due_soon"] == 1
    clock.set(local(2026, 12, 3, 11))  # Thursday 11:00: 19 working hours away, not yet
    assert code not in officer.get("/tasks/?tab=due_soon").get_data(as_text=True)
    assert officer.get("/dashboard/data.json").get_json()["totals"]["due_soon"] == 0
