"""BPMN element names in the reader's language: a task's title, its instructions, the diagram and the
"new task" notification show the English names the BPMN gives (property name_en) to English readers."""

from __future__ import annotations

import pytest

from tests.workspace import client_of, make_workspace_app, new_case, open_task
from webapp.extensions import db


@pytest.fixture
def app(db_url, clock):
    app = make_workspace_app(db_url, clock)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_task_titles_diagram_and_notifications_follow_the_readers_language(app):
    code = new_case(app, triage=None)  # waiting for triage at the IOC
    task = open_task(app, code)
    assert (task.title, task.title_en) == ("Phân loại phản ánh", "Triage the report")
    operator = client_of(app, "dtv1")

    vietnamese = operator.get("/tasks/?tab=unit").get_data(as_text=True)
    assert "Phân loại phản ánh" in vietnamese and "Triage the report" not in vietnamese
    english = operator.get("/tasks/?tab=unit&lang=en").get_data(as_text=True)
    assert "Triage the report" in english and "Phân loại phản ánh" not in english
    page = operator.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "<h2>Triage the report" in page
    case_page = operator.get(f"/cases/{code}").get_data(as_text=True)
    assert "Triage the report" in case_page and "Phân loại phản ánh" not in case_page

    diagram = operator.get(f"/cases/{code}/diagram.json").get_json()["xml"]
    assert 'name="Triage the report"' in diagram and 'name="Handle the report"' in diagram
    assert 'name="Phân loại phản ánh"' not in diagram
    operator.get("/?lang=vi")
    assert 'name="Phân loại phản ánh"' in operator.get(f"/cases/{code}/diagram.json").get_json()["xml"]

    inbox = operator.get("/notifications/?lang=en").get_data(as_text=True)
    assert f"New task: Triage the report — {code}" in inbox
    inbox = operator.get("/notifications/?lang=vi").get_data(as_text=True)
    assert f"Việc mới: Phân loại phản ánh — {code}" in inbox


def test_the_status_page_names_the_deployed_processes_in_the_readers_language(app):
    admin = client_of(app, "admin")
    english = admin.get("/admin/status?lang=en").get_data(as_text=True)
    assert "Handle a field report" in english and "Xử lý phản ánh hiện trường" not in english
    assert "Xử lý phản ánh hiện trường" in admin.get("/admin/status?lang=vi").get_data(as_text=True)


def test_the_task_page_names_the_unit_and_place_in_the_readers_language(app):
    code = new_case(app, triage=None)
    task = open_task(app, code)
    english = client_of(app, "dtv1").get(f"/tasks/{task.id}?lang=en").get_data(as_text=True)
    assert "Unit: <strong>Đắk Lắk Intelligent Operations Centre</strong>" in english
    assert "Trung tâm Giám sát" not in english.split("</header>", 1)[-1]  # the page's own header keeps the centre's name
    summary = english.split("<h2>", 1)[1].split("</p>", 1)[0]
    assert "Buôn Ma Thuột Ward" in summary and "Phường Buôn Ma Thuột" not in summary
