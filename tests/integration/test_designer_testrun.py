"""Test runs of a draft in a sandbox: the simulated clock, nothing written to the real database, kept test cases
re-run before a deploy, clear messages for bad input; and the pages and API of /designer/test."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from engine.clock import FrozenClock
from engine.models import AuditEvent, HumanTask, OutboxMessage, ProcessInstance
from tests.conftest import BPMN_DIR
from tests.workspace import client_of, csrf_of, make_workspace_app
from workflows.designer.testrun import KeptCaseService, TestRunError, TestRunService, rerun_kept_cases
from workflows.models import Case, CaseEvent, DesignerTestCase, Notification, Publication

# Monday 7 December 2026, 08:00 in Buôn Ma Thuột: a working week ahead.
MONDAY = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
HIGH_TRIAGE = {"decision": "accept", "priority": "high", "category": "street_lighting"}
LIVE_TABLES = (Case, CaseEvent, OutboxMessage, Notification, Publication, HumanTask, ProcessInstance, AuditEvent)


def field_report_files(**replace: tuple[str, str]) -> dict[str, str]:
    """The field_report bundle as deployed, with text replaced in some files ({file: (old, new)})."""
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(BPMN_DIR.glob("field_report*"))}
    for name, (old, new) in replace.items():
        assert old in files[name], f"{old!r} is not in {name}"
        files[name] = files[name].replace(old, new)
    return files


# The SLA of a high-priority report: 24 working hours (three working days) → 48 (six).
SLA_DOUBLED = {"field_report_sla.dmn": ("<text>24</text>", "<text>48</text>")}
# The route to the leaders' alert for high priority taken away.
NO_HIGH_ROUTE = {"field_report.bpmn": ('priority == "high"</bpmn:conditionExpression>',
                                       'priority == "urgent"</bpmn:conditionExpression>')}


def counts(session) -> dict[str, int]:
    return {model.__tablename__: session.scalar(select(func.count()).select_from(model)) for model in LIVE_TABLES}


def sample(service: TestRunService, **overrides) -> dict:
    form = {"category": "street_lighting", "place": "P-BUON-MA-THUOT", "title": "Đèn đường hỏng (thử)",
            "description": "Ba cột đèn không sáng.", "priority": "high", "at": MONDAY.isoformat(), **overrides}
    return service.sample_start(form)


def run_to_escalation(service: TestRunService, files: dict[str, str]):
    start = sample(service)
    view = service.run(files, start, [])
    view = service.run(files, start, view.steps, {"kind": "complete", "element": "triage", "data": HIGH_TRIAGE})
    view = service.run(files, start, view.steps, {"kind": "clock", "move": "days3"})
    return start, view


def test_a_three_day_sla_reaches_escalation_in_seconds_and_nothing_real_is_written(session, reference_data):
    files = field_report_files()
    before = counts(session)
    service = TestRunService(session, FrozenClock(MONDAY))
    started = time.perf_counter()
    start, view = run_to_escalation(service, files)
    elapsed = time.perf_counter() - started

    assert elapsed < 20, f"the 3-day path took {elapsed:.1f} s"
    assert view.now >= datetime(2026, 12, 10, 1, 0, tzinfo=UTC)
    # Due Thursday 08:00 (24 working hours after Monday 08:00): the handling task was taken away, its head has it.
    assert view.case_status == "escalated"
    assert [task.element_id for task in view.tasks] == ["handle_l1"]
    assert {"remind", "escalate_1", "notify_escalation_1"} <= set(view.outcome.reached)
    assert "escalate_1" in view.state.done and "handle_l1" in view.state.active
    assert "handle" in view.cancelled and "flow_priority_normal" not in view.state.flows  # the high-priority way only
    kinds = {line.kind for line in view.events}
    assert {"history", "notification", "email"} <= kinds  # shown as would-be lines, from the sandbox only
    assert any("Overdue" in str(line.text) for line in view.events if line.kind == "email")
    assert [step["kind"] for step in view.steps] == ["complete", "clock"]
    assert view.steps[1]["to"] == datetime(2026, 12, 10, 1, 0, tzinfo=UTC).isoformat()
    session.expire_all()
    assert counts(session) == before  # no case, task, outbox row (e-mail), notification or publication in the live database


def test_the_clock_moves_by_a_working_day_and_to_the_next_timer(session, reference_data):
    files = field_report_files()
    service = TestRunService(session, FrozenClock(MONDAY))
    start = sample(service, priority="normal")
    view = service.run(files, start, [])
    assert view.next_timer_at is not None  # the triage's reminder and deadline
    day = service.run(files, start, view.steps, {"kind": "clock", "move": "working_day"})
    assert day.now == datetime(2026, 12, 8, 1, 0, tzinfo=UTC)  # Tuesday 08:00: eight office hours later
    timer = service.run(files, start, view.steps, {"kind": "clock", "move": "next_timer"})
    assert timer.now == view.next_timer_at.replace(second=1)
    assert "triage_remind" in timer.outcome.reached  # the reminder fired at its moment
    assert any(line.kind == "notification" for line in timer.events)


def test_a_kept_case_passes_on_its_files_and_fails_clearly_where_a_timer_or_route_changed(session, reference_data):
    files = field_report_files()
    kept = KeptCaseService(session, FrozenClock(MONDAY))
    start, view = run_to_escalation(kept, files)
    row = kept.keep(files, start, view.steps, "Quá hạn 3 ngày lên thủ trưởng", "3-day SLA escalates", "thietke")
    session.commit()
    assert row.process_key == "field_report" and row.expected["open_tasks"] == ["handle_l1"]

    same = rerun_kept_cases(session, "field_report", files)
    assert [(str(r.name), r.passed, r.message) for r in same] == [("Quá hạn 3 ngày lên thủ trưởng", True, "")]

    slower = rerun_kept_cases(session, "field_report", field_report_files(**SLA_DOUBLED))
    assert not slower[0].passed
    # Neither the reminder (4 working hours before the new deadline) nor the escalation came in those three days.
    assert str(slower[0].message) == "expected to reach Reminder but stopped at Handle the report"

    rerouted = rerun_kept_cases(session, "field_report", field_report_files(**NO_HIGH_ROUTE))
    assert not rerouted[0].passed
    assert str(rerouted[0].message) == ("no longer passes through Alert the leaders (high priority); it went another"
                                        " way and waits at Direct the handling (overdue)")

    recorded = kept.rerun("field_report", field_report_files(**SLA_DOUBLED), record=True)
    session.commit()
    listed = kept.kept("field_report")
    assert [c.last_passed for c in listed] == [False] and str(listed[0].last_message) == str(recorded[0].message)
    assert rerun_kept_cases(session, "hotline_call", files) == []


def test_bad_input_is_named_field_by_field(session, reference_data):
    files = field_report_files()
    service = TestRunService(session, FrozenClock(MONDAY))
    with pytest.raises(TestRunError) as unknown:
        service.run(files, sample(service, category="no_such_category"), [])
    assert unknown.value.fields == {"category": "choose one of the listed categories"}
    with pytest.raises(TestRunError) as nowhere:
        service.run(files, sample(service, place="SXD", title=""), [])
    assert set(nowhere.value.fields) == {"place", "title"}
    with pytest.raises(TestRunError) as wrong:
        service.run(files, sample(service), [], {"kind": "complete", "element": "triage",
                                                 "data": {"decision": "maybe", "colour": "red"}})
    assert wrong.value.fields == {"decision": "must be one of: accept, reject", "colour": "this task has no such field"}
    with pytest.raises(TestRunError) as closed:
        service.run(files, sample(service), [], {"kind": "complete", "element": "handle", "data": {}})
    assert str(closed.value.message) == "task Handle the report is not open (open: Triage the report)"
    broken = field_report_files(**{"field_report.bpmn": ('id="assign" resultVariable', 'id="no_such_op" resultVariable')})
    with pytest.raises(TestRunError) as refused:
        service.run(broken, sample(service), [])
    assert refused.value.problems and "no_such_op" in str(refused.value.problems[0].message)
    with pytest.raises(TestRunError) as odd:
        service.run(files, sample(service), ["complete triage"])
    assert str(odd.value.message) == ("step 1 can no longer be replayed: unknown step 'complete triage'; a step"
                                      " completes a task or moves the clock")
    with pytest.raises(TestRunError) as far:
        service.run(files, sample(service), [], {"kind": "clock", "move": "to", "to": "2999-01-01T00:00:00+00:00"})
    assert str(far.value.message) == "a test run covers at most 400 days; keep this run and start another"
    with pytest.raises(TestRunError) as answers:
        service.run(files, sample(service, answers="yes"), [])
    assert set(answers.value.fields) == {"answers"}
    with pytest.raises(TestRunError) as named:
        KeptCaseService(session, FrozenClock(MONDAY)).keep(files, sample(service), [], "  ", "", "thietke")
    assert named.value.fields == {"name": "required"}


def test_a_real_case_is_copied_without_its_reporter(session, services, clock):
    from workflows.access import AccessService
    from workflows.case_service import IntakeRequest
    from workflows.models import User

    case, _ = services.cases.intake(IntakeRequest(channel="field_report", category="sanitation", title="Rác tồn đọng",
                                                  admin_unit="P-TAN-LAP", reporter_name="Nguyễn Văn A",
                                                  reporter_email="a@example.vn"))
    designer = AccessService(session).actor_of(session.scalar(select(User).where(User.username == "thietke")))
    start = TestRunService(session, clock).copy_of_case(designer, case.code)
    assert start["copied_from"] == case.code and start["category"] == "sanitation" and start["place"] == "P-TAN-LAP"
    assert "a@example.vn" not in json.dumps(start) and "Nguyễn Văn A" not in json.dumps(start)
    view = TestRunService(session, clock).run(field_report_files(), start, [])
    assert [t.element_id for t in view.tasks] == ["triage"] and view.start["copied_from"] == case.code


# ---------------------------------------------------------------------- the pages and the API
@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("testrun")
    return make_workspace_app(f"sqlite:///{folder / 'testrun.sqlite3'}", FrozenClock(MONDAY))


def api(client, path: str, body: dict):
    token = csrf_of(client.get("/designer/test?key=field_report").get_data(as_text=True))
    return client.post(path, data=json.dumps(body), content_type="application/json", headers={"X-CSRFToken": token})


def test_the_page_runs_a_deployed_version_through_the_api_and_keeps_it(app):
    designer = client_of(app, "thietke")
    page = designer.get("/designer/test?key=field_report")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "build/testrun.js" in html and "Chạy thử" in html
    source = {"key": "field_report"}
    start = {"category": "street_lighting", "place": "P-BUON-MA-THUOT", "title": "Đèn hỏng", "priority": "high"}
    first = api(designer, "/designer/api/test/run", {"source": source, "sample": start, "steps": []})
    assert first.status_code == 200, first.get_data(as_text=True)
    body = first.get_json()
    assert body["tasks"][0]["element_id"] == "triage" and body["xml"].startswith("<?xml")
    assert body["start"]["at"].startswith("2026-12-07T01:00")
    fields = {f["name"]: f for f in body["tasks"][0]["fields"]}
    assert ["street_lighting", "Điện chiếu sáng"] in [list(o) for o in fields["category"]["options"]]
    second = api(designer, "/designer/api/test/run", {"source": source, "start": body["start"], "steps": body["steps"],
                                                      "action": {"kind": "complete", "element": "triage",
                                                                 "data": HIGH_TRIAGE}})
    third = api(designer, "/designer/api/test/run", {"source": source, "start": body["start"],
                                                     "steps": second.get_json()["steps"],
                                                     "action": {"kind": "clock", "move": "days3"}})
    state = third.get_json()
    assert state["case_status_label"] and "escalate_1" in state["diagram"]["done"]
    assert "handle" in state["diagram"]["cancelled"] and state["diagram"]["active"] == ["handle_l1"]
    assert any(line["kind"] == "email" for line in state["events"])
    bad = api(designer, "/designer/api/test/run", {"source": source, "start": body["start"], "steps": [],
                                                   "action": {"kind": "complete", "element": "triage",
                                                              "data": {"decision": "maybe"}}})
    assert bad.status_code == 422 and "decision" in bad.get_json()["fields"]
    kept = api(designer, "/designer/api/test/cases", {"source": source, "start": body["start"],
                                                      "steps": state["steps"], "name": "Quá hạn lên thủ trưởng",
                                                      "name_en": "Escalates"})
    assert kept.status_code == 200, kept.get_data(as_text=True)
    listing = designer.get("/designer/test/cases?key=field_report").get_data(as_text=True)
    assert "Quá hạn lên thủ trưởng" in listing
    token = csrf_of(listing)
    ran = designer.post("/designer/test/cases/run", data={"key": "field_report", "csrf_token": token})
    assert ran.status_code == 302
    after = designer.get("/designer/test/cases?key=field_report").get_data(as_text=True)
    assert "Đạt" in after
    case_id = kept.get_json()["id"]
    assert f"/designer/test?key=field_report&amp;case={case_id}" in after
    reopened = designer.get(f"/designer/test?key=field_report&case={case_id}").get_data(as_text=True)
    data = json.loads(re.search(r'<script type="application/json" id="testrun-data">(.*?)</script>', reopened,
                                re.S).group(1))
    assert data["initial"]["name"] == "Quá hạn lên thủ trưởng" and data["initial"]["steps"][1]["kind"] == "clock"
    with app.app_context():
        from webapp.extensions import db
        assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_a_draft_runs_and_a_real_case_is_copied_through_the_api(app):
    from webapp.extensions import db
    from workflows.designer.drafts import DraftService

    with app.app_context():
        draft = DraftService(db.session, FrozenClock(MONDAY)).save(
            title="SLA gấp đôi", files=field_report_files(**SLA_DOUBLED), actor="thietke")
        db.session.commit()
    designer = client_of(app, "thietke")
    page = designer.get(f"/designer/test?draft={draft.id}").get_data(as_text=True)
    assert "SLA gấp đôi" in page
    source = {"draft": draft.id}
    start = {"category": "street_lighting", "place": "P-BUON-MA-THUOT", "title": "Đèn hỏng", "priority": "high"}
    body = api(designer, "/designer/api/test/run", {"source": source, "sample": start, "steps": []}).get_json()
    body = api(designer, "/designer/api/test/run", {"source": source, "start": body["start"], "steps": body["steps"],
                                                    "action": {"kind": "complete", "element": "triage",
                                                               "data": HIGH_TRIAGE}}).get_json()
    # The draft's deadline: 48 working hours from Monday 08:00 end the Tuesday after next at 08:00.
    assert body["tasks"][0]["element_id"] == "handle" and body["tasks"][0]["due_at"]["local"] == "08:00 15/12/2026"
    missing = api(designer, "/designer/api/test/run", {"source": {"draft": 99999}, "sample": start, "steps": []})
    assert missing.status_code == 422 and "99999" in missing.get_json()["message"]
    copied = api(designer, "/designer/api/test/run", {"source": source, "sample": {"case": "PA-2026-999999"}, "steps": []})
    assert copied.status_code == 422 and copied.get_json()["fields"]["case"]


def test_the_hotline_process_is_run_on_a_hotline_call_by_default(app):
    from webapp.extensions import db
    from workflows.runtime import make_services

    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(BPMN_DIR.glob("*.dmn"))}
    files["hotline_call.bpmn"] = (BPMN_DIR / "hotline_call.bpmn").read_text(encoding="utf-8")
    with app.app_context():
        make_services(db.session, FrozenClock(MONDAY)).definitions.deploy(files, process_key="hotline_call")
        db.session.commit()
    page = client_of(app, "thietke").get("/designer/test?key=hotline_call").get_data(as_text=True)
    data = json.loads(re.search(r'<script type="application/json" id="testrun-data">(.*?)</script>', page, re.S).group(1))
    assert data["lists"]["defaults"] == {"channel": "hotline"}


def test_an_officer_may_not_test_run(app):
    officer = client_of(app, "cb.buonmathuot")
    assert officer.get("/designer/test?key=field_report").status_code == 403


def test_a_bad_source_is_a_clear_message(app):
    designer = client_of(app, "thietke")
    answer = api(designer, "/designer/api/test/run", {"source": {"key": "nope"}, "sample": {}, "steps": []})
    assert answer.status_code == 422
    assert "nope" in answer.get_json()["message"]
    assert DesignerTestCase.__tablename__ == "designer_test_case"


def test_a_sandbox_leaves_no_parsed_spec_in_the_process_wide_cache(session, reference_data):
    from engine.definitions import SPEC_CACHE, bundle_sha256

    files = field_report_files(**SLA_DOUBLED)
    service = TestRunService(session, FrozenClock(MONDAY))
    service.run(files, sample(service), [])
    assert (bundle_sha256(files), "field_report") not in SPEC_CACHE._by_sha  # each edit of a draft would stay there
