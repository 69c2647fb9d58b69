"""The modeler's drafts: saved, reopened, a stale save refused with nothing lost, bad input told plainly.

On SQLite and the real PostgreSQL (the `db_url` fixture), through the real app and its sign-in.
"""

from __future__ import annotations

import json
import re
import threading
import time

import pytest

from engine.clock import FrozenClock
from tests.workspace import client_of, csrf_of, make_workspace_app
from webapp.extensions import db
from workflows.designer.drafts import DraftService, StaleDraftError

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <bpmn:process id="p" name="{name}" isExecutable="true"><bpmn:startEvent id="s"/></bpmn:process>
</bpmn:definitions>
"""
DMN = '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="t" name="t" namespace="x"/>'


@pytest.fixture
def app(db_url):
    app = make_workspace_app(db_url, FrozenClock())
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _designer(app, username="thietke"):
    client = client_of(app, username)
    token = csrf_of(client.get("/designer/model").get_data(as_text=True))
    return client, {"X-CSRFToken": token}


def _page_data(page: str) -> dict:
    """The JSON the modeler page gives its script."""
    return json.loads(re.search(r'<script type="application/json" id="modeler-data">(.*?)</script>', page, re.S).group(1))


def _save(client, headers, body):
    return client.post("/designer/api/drafts", json=body, headers=headers)


def test_a_draft_is_saved_and_reopened_with_its_files_and_base(app):
    client, headers = _designer(app)
    answer = _save(client, headers, {"title": "Phản ánh hiện trường (sửa)", "base": {"key": "field_report", "version": 1},
                                     "files": {"a.bpmn": BPMN.format(name="Một"), "t.dmn": DMN}})
    assert answer.status_code == 200, answer.get_json()
    draft = answer.get_json()
    assert draft["version"] == 1
    again = client.get(f"/designer/api/drafts/{draft['id']}").get_json()
    assert again["title"] == "Phản ánh hiện trường (sửa)"
    assert again["files"] == {"a.bpmn": BPMN.format(name="Một"), "t.dmn": DMN}
    assert again["base"] == {"key": "field_report", "version": 1}
    # The modeler opens it (its files are in the page's JSON) and lists it on its front page.
    page = client.get(f"/designer/model?draft={draft['id']}").get_data(as_text=True)
    assert _page_data(page)["bundle"]["files"]["a.bpmn"] == BPMN.format(name="Một")
    assert _page_data(page)["bundle"]["draft"] == {"id": draft["id"], "version": 1}
    assert f'href="/designer/model?draft={draft["id"]}"' in client.get("/designer/model").get_data(as_text=True)
    listed = client.get("/designer/api/drafts").get_json()["drafts"]
    assert [d["id"] for d in listed] == [draft["id"]] and listed[0]["files"] == ["a.bpmn", "t.dmn"]

    changed = _save(client, headers, {"id": draft["id"], "version": 1, "title": "x",
                                      "files": {"a.bpmn": BPMN.format(name="Hai")}})
    assert changed.status_code == 200 and changed.get_json()["version"] == 2
    assert client.get(f"/designer/api/drafts/{draft['id']}").get_json()["files"] == {"a.bpmn": BPMN.format(name="Hai")}


def test_a_stale_save_is_refused_with_409_and_nothing_of_either_tab_is_lost(app):
    client, headers = _designer(app)
    draft = _save(client, headers, {"title": "t", "files": {"a.bpmn": BPMN.format(name="gốc")}}).get_json()
    # Two tabs opened version 1; the first saves, the second's save (still naming version 1) is refused.
    first = _save(client, headers, {"id": draft["id"], "version": 1, "title": "t",
                                    "files": {"a.bpmn": BPMN.format(name="tab 1")}})
    assert first.status_code == 200
    other, other_headers = _designer(app, "admin")
    stale = _save(other, other_headers, {"id": draft["id"], "version": 1, "title": "t",
                                         "files": {"a.bpmn": BPMN.format(name="tab 2")}})
    assert stale.status_code == 409
    body = stale.get_json()
    assert body["stale"] is True and "thietke" in body["error"] and "bản nháp mới" in body["error"]
    assert "08:00 05/01/2026" in body["error"]  # FrozenClock's 01:00 UTC, in the centre's local time
    assert client.get(f"/designer/api/drafts/{draft['id']}").get_json()["files"]["a.bpmn"] == BPMN.format(name="tab 1")
    # The refused tab keeps its work by saving it as a new draft.
    kept = _save(other, other_headers, {"title": "t", "files": {"a.bpmn": BPMN.format(name="tab 2")}})
    assert kept.status_code == 200 and kept.get_json()["id"] != draft["id"]
    assert other.get(f"/designer/api/drafts/{kept.get_json()['id']}").get_json()["files"]["a.bpmn"] == \
        BPMN.format(name="tab 2")


BAD = [
    ("not json", "JSON"),
    ([1, 2], "JSON"),
    ({"title": "t", "files": {}}, ".bpmn"),
    ({"title": "t", "files": {"notes.txt": "<x/>"}}, "notes.txt"),
    ({"title": "t", "files": {"../a.bpmn": "<x/>"}}, "../a.bpmn"),
    ({"title": "t", "files": {"a.bpmn": "hello"}}, "a.bpmn"),
    ({"title": "t", "files": {"a.bpmn": "<x/>" + "x" * (5 * 1024 * 1024)}}, "MB"),
    ({"title": "t" * 201, "files": {"a.bpmn": "<x/>"}}, "200"),
    ({"title": "t", "files": {"a.bpmn": "<x/>"}, "base": {"key": "field_report", "version": 99}}, "field_report"),
    ({"title": "t", "files": {"a.bpmn": "<x/>"}, "id": "7"}, "Mã bản nháp"),
    ({"title": "t", "files": {"a.bpmn": "<x/>\x00"}}, "a.bpmn"),
]


def test_bad_drafts_are_refused_with_a_clear_message_and_nothing_stored(app):
    client, headers = _designer(app)
    for body, words in BAD:
        if isinstance(body, str):
            answer = client.post("/designer/api/drafts", data=body,
                                 headers={**headers, "Content-Type": "application/json"})
        else:
            answer = _save(client, headers, body)
        assert answer.status_code == 400, body
        message = answer.get_json()["error"]
        assert words in message and "Traceback" not in message, (body, message)
    assert client.get("/designer/api/drafts").get_json()["drafts"] == []


def test_a_save_without_the_version_it_started_from_is_refused(app):
    client, headers = _designer(app)
    draft = _save(client, headers, {"title": "t", "files": {"a.bpmn": "<x/>"}}).get_json()
    answer = _save(client, headers, {"id": draft["id"], "title": "t", "files": {"a.bpmn": "<y/>"}})
    assert answer.status_code == 400 and "tải lại" in answer.get_json()["error"]
    missing = _save(client, headers, {"id": draft["id"] + 100, "version": 1, "title": "t", "files": {"a.bpmn": "<y/>"}})
    assert missing.status_code == 404


def test_the_modeler_opens_a_deployed_versions_files(app):
    client, _ = _designer(app)
    bundle = _page_data(client.get("/designer/model?key=field_report&version=1").get_data(as_text=True))["bundle"]
    assert sorted(bundle["files"]) == ["field_report.bpmn", "field_report_review.dmn", "field_report_routing.dmn",
                                       "field_report_sla.dmn"]
    assert bundle["base"] == {"key": "field_report", "version": 1} and bundle["draft"] is None
    assert client.get("/designer/model?key=field_report&version=7").status_code == 404
    assert client.get("/designer/model?draft=999").status_code == 404
    assert 'href="/designer/model?key=field_report&amp;version=1"' in client.get("/designer/model").get_data(as_text=True)


def test_only_designers_and_administrators_reach_the_drafts(app):
    officer = client_of(app, "cb.buonmathuot")
    assert officer.get("/designer/model").status_code == 403
    assert officer.get("/designer/api/drafts").status_code == 403
    token = csrf_of(officer.get("/account/profile").get_data(as_text=True))
    answer = officer.post("/designer/api/drafts", json={"title": "t", "files": {"a.bpmn": "<x/>"}},
                          headers={"X-CSRFToken": token})
    assert answer.status_code == 403
    assert app.test_client().get("/designer/api/drafts").status_code in (302, 401)


def test_two_saves_racing_on_one_version_one_is_written_and_the_other_refused(session_factory):
    """Both tabs read version 1; the second UPDATE waits on the first's lock, then finds the version moved on."""
    clock = FrozenClock()
    with session_factory() as session:
        draft_id = DraftService(session, clock).save(title="t", files={"a.bpmn": "<a/>"}, actor="thietke").id
        session.commit()
    first, second = session_factory(), session_factory()
    DraftService(first, clock).save(title="t", files={"a.bpmn": "<first/>"}, actor="thietke", draft_id=draft_id,
                                    version=1)  # written, not committed: the row is locked
    outcome = []

    def other_tab():
        try:
            DraftService(second, clock).save(title="t", files={"a.bpmn": "<second/>"}, actor="admin",
                                             draft_id=draft_id, version=1)
            second.commit()
            outcome.append("saved")
        except StaleDraftError:
            second.rollback()
            outcome.append("refused")

    racer = threading.Thread(target=other_tab)
    racer.start()
    time.sleep(0.5)
    first.commit()
    racer.join(30)
    first.close()
    second.close()
    assert outcome == ["refused"]
    with session_factory() as session:
        stored = DraftService(session, clock).get(draft_id)
    assert stored.files == {"a.bpmn": "<first/>"} and stored.version == 2 and stored.updated_by == "thietke"
