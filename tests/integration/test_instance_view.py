"""The designer's instance view: a case's diagram with element states, the path taken and the data per step."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from engine.clock import FrozenClock
from engine.models import HumanTask
from tests.bpmn_factory import process, script, user
from tests.workspace import client_of, make_workspace_app
from webapp.extensions import db


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("instances")
    app = make_workspace_app(f"sqlite:///{folder / 'instances.sqlite3'}", FrozenClock())
    with app.app_context():
        from workflows.case_service import IntakeRequest

        services = app.extensions["ioc"].services(db.session)
        case, _ = services.cases.intake(IntakeRequest(
            channel="field_report", category="street_lighting", admin_unit="P-BUON-MA-THUOT", title="Đèn đường hỏng",
            description="Mô tả", lat=12.68, lon=108.04, reporter_name="Nguyễn Văn A", reporter_phone="0912345678"))
        code = case.code
        task = db.session.scalar(select(HumanTask).where(HumanTask.business_key == code, HumanTask.state == "open"))
        services.cases.complete_task(task.id, {"decision": "accept", "note": "Đã gọi ông Nguyễn Văn A số 0912345678"},
                                     actor="dtv1")
        # A failed step: a script reading a variable the process never had.
        services.definitions.deploy({"needs.bpmn": process("needs", [script(0, "y = missing + 1"), user(1)],
                                                           {"officer": ["s1"]})})
        stuck = services.instances.start("needs", {"x": 1})
        db.session.commit()
        stuck_id = stuck.id
        assert stuck.status == "error"
    return app, code, stuck_id


def _data(page):
    return json.loads(re.search(r'<script type="application/json" id="instance-data">(.*?)</script>', page, re.S)[1])


def test_a_case_shows_done_active_and_waiting_elements_and_the_path_taken(world):
    app, code, _ = world
    response = client_of(app, "thietke").get(f"/designer/instances/{code}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    data = _data(page)
    states = data["states"]
    assert {"start", "triage_deadline_task", "triage", "triage_decision"} <= set(states["completed"])
    assert "handle" in states["active"]
    assert {"remind_timer", "overdue_timer"} <= set(states["waiting"])
    assert states["failed"] == []
    # The triage's reminder timers never fired: cancelled with their task; the flows it took are marked.
    assert "triage_remind_timer" in states["cancelled"]
    assert {"flow_deadline_triage", "flow_triage_decision", "flow_triage_accept"} <= set(data["flows"])
    assert "flow_triage_reject" not in data["flows"]
    triage = data["elements"]["triage"]
    assert triage["state"] == "completed" and json.loads(triage["runs"][-1]["data"])["decision"] == "accept"
    assert 'src="/static/build/instance.js"' in page and 'id="instance-canvas"' in page


def test_a_designer_reads_the_data_masked_and_an_admin_as_it_is(world):
    app, code, _ = world
    designer = json.loads(_data(client_of(app, "thietke").get(f"/designer/instances/{code}").get_data(as_text=True))
                          ["elements"]["triage"]["runs"][-1]["data"])
    admin = json.loads(_data(client_of(app, "admin").get(f"/designer/instances/{code}").get_data(as_text=True))
                       ["elements"]["triage"]["runs"][-1]["data"])
    assert admin["note"] == "Đã gọi ông Nguyễn Văn A số 0912345678"
    assert "0912345678" not in designer["note"] and "Nguyễn Văn A" not in designer["note"]
    assert designer["decision"] == "accept"


def test_a_failed_step_is_marked_with_its_reason(world):
    app, _code, stuck_id = world
    page = client_of(app, "admin").get(f"/designer/instances/{stuck_id}?lang=en").get_data(as_text=True)
    data = _data(page)
    assert data["states"]["failed"] == ["s0"] and "start" in data["states"]["completed"]
    reason = data["elements"]["s0"]["reason"]
    assert "missing" in reason
    assert json.loads(data["elements"]["s0"]["runs"][-1]["data"]) == {"x": 1}
    assert "missing" in page[page.index('class="instance-incidents"'):page.index('class="diff-legend"')]


def test_english_readers_get_english_names_on_the_diagram(world):
    app, code, _ = world
    page = client_of(app, "thietke").get(f"/designer/instances/{code}?lang=en").get_data(as_text=True)
    data = _data(page)
    assert 'name="Triage the report"' in data["xml"] and data["elements"]["triage"]["name"] == "Triage the report"


def test_unknown_references_say_what_to_give(world):
    app, _code, _ = world
    response = client_of(app, "thietke").get("/designer/instances/PA-2026-999999")
    assert response.status_code == 404 and "PA-2026-999999" in response.get_data(as_text=True)
    assert client_of(app, "thietke").get("/designer/instances/99999999999999999999").status_code == 404


def test_the_lookup_form_opens_the_instance(world):
    app, code, _ = world
    client = client_of(app, "thietke")
    response = client.get(f"/designer/instances?ref={code}")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/designer/instances/{code}")
    assert code in client.get("/designer/instances").get_data(as_text=True)


def test_officials_without_the_designer_role_are_refused(world):
    app, code, _ = world
    assert client_of(app, "cb.buonmathuot").get(f"/designer/instances/{code}").status_code == 403
    assert client_of(app, "tp.ioc").get(f"/designer/instances/{code}").status_code == 403


def test_the_incidents_page_and_an_admins_case_page_link_the_instance_view(world):
    app, code, stuck_id = world
    incidents = client_of(app, "admin").get("/admin/incidents").get_data(as_text=True)
    assert f'href="/designer/instances/{stuck_id}"' in incidents
    assert f'href="/designer/instances/{code}"' in client_of(app, "admin").get(f"/cases/{code}").get_data(as_text=True)
    assert "/designer/instances/" not in client_of(app, "cb.buonmathuot").get(f"/cases/{code}").get_data(as_text=True)


def test_the_engine_traces_each_reached_task_with_its_state_data_and_the_element_before(services, session):
    services.definitions.deploy({"tr.bpmn": process("tr", [script(0, "y = x + 1"), user(1)], {"officer": ["s1"]})})
    row = services.instances.start("tr", {"x": 1})
    session.commit()
    steps = services.instances.trace(row.id)
    by = {s.element_id: s for s in steps}
    assert by["start"].state == "COMPLETED"
    assert by["s0"].state == "COMPLETED" and by["s0"].data["y"] == 2 and by["s0"].came_from == "start"
    assert by["s1"].state == "READY" and by["s1"].manual and by["s1"].came_from == "s0"
    assert "end" not in by  # only predicted, never reached
    assert [s.element_id for s in steps] == ["start", "s0", "s1"]
