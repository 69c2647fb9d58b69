"""The library of definitions and the deploy API: bundles from the browser, the takeover question, notes,
running instances per version, downloads byte for byte, bad uploads refused with nothing stored, the audit."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select

from engine.clock import FrozenClock
from engine.models import ProcessDefinition, ProcessInstance
from tests.bpmn_factory import process, service
from tests.conftest import BPMN_DIR, DATA_DIR
from tests.workspace import client_of, csrf_of, make_workspace_app, new_case
from webapp.extensions import db
from workflows.admin.models import AdminAuditEntry

BUNDLE = DATA_DIR / "bundle"
NAMES = ("parent.bpmn", "child.bpmn", "levels.dmn")


def bundle(*names: str) -> dict[str, str]:
    return {name: (BUNDLE / name).read_text(encoding="utf-8") for name in names}


@pytest.fixture
def app(db_url):
    app = make_workspace_app(db_url, FrozenClock())
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def designer(app):
    client = client_of(app, "thietke")
    client.token = csrf_of(client.get("/designer/library").get_data(as_text=True))
    return client


def deploy(client, files, lang="en", **extra):
    return client.post(f"/designer/api/deploy?lang={lang}", json={"files": files, **extra},
                       headers={"X-CSRFToken": client.token})


def versions(app, key):
    with app.app_context():
        return list(db.session.scalars(select(ProcessDefinition.version).where(ProcessDefinition.process_key == key)
                                       .order_by(ProcessDefinition.version)))


def test_the_api_deploys_a_bundle_with_its_note_and_audit_line(app, designer):
    answer = deploy(designer, bundle(*NAMES), note="first cut", draft=None)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"deployed": [{"key": "bundle_parent", "version": 1, "created": True,
                                               "name": "Quy trình mẹ"}]}
    with app.app_context():
        row = db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.process_key == "bundle_parent"))
        assert (row.deployed_by, row.note, row.source, sorted(row.files)) == ("thietke", "first cut", "browser",
                                                                              sorted(NAMES))
        entry = db.session.scalar(select(AdminAuditEntry).where(AdminAuditEntry.action == "definition.deploy"))
        assert (entry.actor_username, entry.target_label, entry.note) == ("thietke", "bundle_parent v1", "first cut")
        assert entry.before == {"version": None} and entry.after["version"] == 1
    audit = client_of(app, "admin").get("/admin/audit?lang=en").get_data(as_text=True)
    assert "deploy a process version" in audit and "bundle_parent v1" in audit
    files = designer.get("/designer/api/definitions/bundle_parent/1").get_json()
    assert files == {"key": "bundle_parent", "version": 1, "files": bundle(*NAMES)}
    assert designer.get("/designer/api/definitions/bundle_parent/9").status_code == 404


def test_a_takeover_answers_409_and_deploys_on_confirm(app, designer):
    assert deploy(designer, bundle(*NAMES)).status_code == 200
    renamed = {**bundle("child.bpmn", "levels.dmn"),
               "copy.bpmn": bundle("parent.bpmn")["parent.bpmn"].replace("Kết thúc", "Xong")}
    asked = deploy(designer, renamed)
    assert asked.status_code == 409
    assert asked.get_json() == {"confirm": [
        "copy.bpmn declares process 'bundle_parent', which was deployed from parent.bpmn (version 1); deploying it"
        " makes this file version 2 of 'bundle_parent'"]}
    assert versions(app, "bundle_parent") == [1]
    confirmed = deploy(designer, renamed, confirm=True)
    assert confirmed.status_code == 200 and confirmed.get_json()["deployed"][0]["version"] == 2


def test_refused_files_answer_422_with_each_problem_in_the_readers_language(app, designer):
    bad = {"bad.bpmn": process("bad", [service(0, "send_fax", {"to": "'x'"})])}
    answer = deploy(designer, bad)
    assert answer.status_code == 422
    [problem] = answer.get_json()["problems"]
    assert problem["file"] == "bad.bpmn" and problem["element"] == "s0" and "code" in problem
    assert "unknown operator 'send_fax'" in problem["message"]
    vietnamese = deploy(designer, bad, lang="vi").get_json()["problems"][0]["message"]
    assert "không có toán tử 'send_fax'" in vietnamese
    alone = deploy(designer, bundle("parent.bpmn")).get_json()["problems"]
    assert alone[0]["element"] == "call_child" and "calls process 'bundle_child'" in alone[0]["message"]
    assert deploy(designer, {"x.txt": "hello"}).status_code == 422
    assert designer.post("/designer/api/deploy", data="nope", headers={"X-CSRFToken": designer.token}).status_code == 400
    assert versions(app, "bad") == [] and versions(app, "bundle_parent") == []


def upload(client, files, note="", lang="en", **form):
    data = {"csrf_token": client.token, "note": note, "files": [(io.BytesIO(body), name) for name, body in files],
            **form}
    return client.post(f"/designer/library/deploy?lang={lang}", data=data, content_type="multipart/form-data")


@pytest.mark.parametrize(("files", "message"), [
    ([("notes.bpmn", b"this is not XML")], "notes.bpmn: is not a well-formed XML file (the first mistake is on line 1)"),
    ([("diagram.png", b"\x89PNG")], "diagram.png: only .bpmn and .dmn files can be deployed"),
    ([("levels.dmn", b"<a/>"), ("levels.dmn", b"<b/>")], "levels.dmn: two files share this name; rename one"),
    ([("huge.bpmn", b"<x>" + b" " * (480 * 1024) + b"</x>")], "huge.bpmn: is too large (480 KB; at most 480 KB)"),
    ([("latin.bpmn", "<x>é</x>".encode("latin-1"))], "latin.bpmn: is not UTF-8 text; save it as UTF-8"),
    ([("xhtml.bpmn", b"<html/>")], "xhtml.bpmn: is XML but not a BPMN or DMN model (it starts with &lt;html&gt;)"),
], ids=["not XML", "wrong extension", "same name twice", "huge", "not UTF-8", "not a model"])
def test_bad_uploads_are_named_clearly_and_store_nothing(app, designer, files, message):
    page = upload(designer, files)
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    flat = " ".join(text.replace("<strong>", "").replace("</strong>", "").split())
    assert "Nothing was deployed." in flat and message in flat, flat[flat.find("Nothing was"):][:600]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ProcessDefinition)) == 1  # field_report only


def test_the_upload_form_deploys_a_bundle_and_asks_before_a_takeover(app, designer):
    page = upload(designer, [(n, (BUNDLE / n).read_bytes()) for n in NAMES], note="from disk")
    assert page.status_code == 200 and "bundle_parent</code> v1" in page.get_data(as_text=True)
    copy = (BUNDLE / "parent.bpmn").read_bytes().replace("Kết thúc".encode(), b"Xong")
    asked = upload(designer, [("copy.bpmn", copy), ("child.bpmn", (BUNDLE / "child.bpmn").read_bytes()),
                              ("levels.dmn", (BUNDLE / "levels.dmn").read_bytes())], note="renamed")
    text = asked.get_data(as_text=True)
    assert asked.status_code == 409 and "declares process &#39;bundle_parent&#39;" in text
    assert versions(app, "bundle_parent") == [1]
    # The confirm step sends the same files back as fields.
    import re

    fields = dict(re.findall(r'<input type="hidden" name="(file:[^"]+)" value="([^"]*)">', text))
    import html

    fields = {k: html.unescape(v) for k, v in fields.items()}
    assert fields["file:copy.bpmn"] == copy.decode("utf-8")
    confirmed = designer.post("/designer/library/deploy", data={"csrf_token": designer.token, "confirm": "1",
                                                                "note": "renamed", **fields})
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
    assert versions(app, "bundle_parent") == [1, 2]


def test_new_cases_take_the_new_version_and_the_library_counts_running_instances_per_version(app, designer):
    old_case = new_case(app, key="library-old")
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(BPMN_DIR.glob("field_report*"))}
    files["field_report_sla.dmn"] = files["field_report_sla.dmn"].replace("<text>24</text>", "<text>20</text>", 1)
    answer = deploy(designer, files, note="high priority: 20 hours")
    assert answer.get_json() == {"deployed": [{"key": "field_report", "version": 2, "created": True,
                                               "name": "Xử lý phản ánh hiện trường"}]}
    new = new_case(app, key="library-new")
    with app.app_context():
        used = dict(db.session.execute(select(ProcessInstance.business_key, ProcessDefinition.version)
                                       .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)).all())
    assert (used[old_case], used[new]) == (1, 2)
    page = designer.get("/designer/library?lang=en").get_data(as_text=True)
    section = page[page.index('id="process-field_report"'):]
    assert "Handle a field report" in section and "high priority: 20 hours" in section
    rows = section.split('<tr data-version="')[1:]
    assert [r.split('"')[0] for r in rows] == ["2", "1"]
    assert all('class="running">1<' in r for r in rows)
    assert "/designer/compare?key=field_report&amp;a=1&amp;b=2" in rows[0]
    assert "/designer/migrate?key=field_report&amp;to=2" in rows[0]
    assert "/designer/model?key=field_report&amp;version=1" in rows[1]
    assert "Xử lý phản ánh hiện trường" in designer.get("/designer/library?lang=vi").get_data(as_text=True)


def test_downloads_are_the_deployed_bytes_as_attachments(app, designer):
    deploy(designer, bundle(*NAMES))
    single = designer.get("/designer/library/bundle_parent/1/download?file=child.bpmn")
    assert single.status_code == 200 and single.data == (BUNDLE / "child.bpmn").read_bytes()
    assert single.headers["Content-Disposition"] == "attachment; filename=child.bpmn"
    whole = designer.get("/designer/library/bundle_parent/1/download")
    assert whole.headers["Content-Disposition"] == "attachment; filename=bundle_parent-v1.zip"
    with zipfile.ZipFile(io.BytesIO(whole.data)) as archive:
        assert {n: archive.read(n) for n in archive.namelist()} == {n: (BUNDLE / n).read_bytes() for n in NAMES}
    assert designer.get("/designer/library/bundle_parent/1/download?file=../../etc/passwd").status_code == 404
    assert designer.get("/designer/library/bundle_parent/7/download").status_code == 404


def test_a_stored_name_with_folders_or_odd_characters_is_offered_under_a_safe_name():
    from workflows.designer.library import safe_file_name

    assert safe_file_name("../../etc/passwd") == "passwd"
    assert safe_file_name("..\\evil\\a.bpmn") == "a.bpmn"
    assert safe_file_name('quy trình "mới";.bpmn') == "quy trình _mới__.bpmn"
    assert safe_file_name(".hidden") == "hidden"


def test_a_deploy_whose_kept_test_case_now_fails_is_refused_with_the_case_named(app, designer):
    from datetime import UTC, datetime

    from workflows.designer.testrun import KeptCaseService

    monday = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(BPMN_DIR.glob("field_report*"))}
    with app.app_context():
        kept = KeptCaseService(db.session, FrozenClock(monday))
        start = kept.sample_start({"category": "street_lighting", "place": "P-BUON-MA-THUOT", "title": "Đèn hỏng",
                                   "description": "Ba cột đèn không sáng.", "priority": "high",
                                   "at": monday.isoformat()})
        view = kept.run(files, start, [])
        view = kept.run(files, start, view.steps, {"kind": "complete", "element": "triage",
                                                   "data": {"decision": "accept", "priority": "high",
                                                            "category": "street_lighting"}})
        view = kept.run(files, start, view.steps, {"kind": "clock", "move": "days3"})
        kept.keep(files, start, view.steps, "Quá hạn 3 ngày", "3-day SLA escalates", "thietke")
        db.session.commit()
    slower = {**files, "field_report_sla.dmn": files["field_report_sla.dmn"].replace("<text>24</text>",
                                                                                     "<text>48</text>", 1)}
    answer = deploy(designer, slower)
    assert answer.status_code == 422
    assert answer.get_json()["problems"] == [{
        "file": "field_report.bpmn", "element": None, "code": None,
        "message": "kept test case 3-day SLA escalates fails: expected to reach Reminder but stopped at Handle the"
                   " report; fix the process, or the test case if the change is wanted"}]
    assert versions(app, "field_report") == [1]
    assert deploy(designer, files).get_json()["deployed"][0] == {"key": "field_report", "version": 1, "created": False,
                                                                 "name": "Xử lý phản ánh hiện trường"}
