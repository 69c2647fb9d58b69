"""Migrating running field reports from v1 to a v2 with a changed deadline table and reminder timer, in the browser's
pages: the dry run says which can move and why not, the chosen ones move in one job (Celery eager), each audited,
and a moved case goes on to completion on v2's deadline."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from engine.clock import SYSTEM_CLOCK
from engine.db import Base
from engine.models import AuditEvent, HumanTask, ProcessDefinition, ProcessInstance
from tests.conftest import BPMN_DIR
from tests.working_time import working
from tests.workspace import client_of, csrf_of, make_workspace_app, new_case
from webapp.extensions import db
from workflows.admin.models import AdminAuditEntry
from workflows.models import Case, MigrationJob, MigrationJobItem

ROOT = Path(__file__).resolve().parents[2]


def field_report_files(normal_sla: int = 72) -> dict[str, str]:
    """The files of field_report, with normal priority due in `normal_sla` working hours (72 in bpmn/)."""
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(BPMN_DIR.glob("field_report*"))}
    sla = files["field_report_sla.dmn"]
    normal = sla.index('id="field_report_sla_rule_2_out_1"')
    files["field_report_sla.dmn"] = sla[:normal] + sla[normal:].replace("<text>72</text>", f"<text>{normal_sla}</text>", 1)
    return files


def v2_files() -> dict[str, str]:
    """field_report with normal priority due in 48 working hours (was 72) and the reminder at the deadline's eve."""
    files = field_report_files(normal_sla=48)
    bpmn = files["field_report.bpmn"]
    assert bpmn.count('assignment["remind_at"]') == 1
    files["field_report.bpmn"] = bpmn.replace('assignment["remind_at"]', 'assignment.get("remind_at") or assignment["due_at"]')
    return files


@pytest.fixture
def app(db_url, clock):
    app = make_workspace_app(db_url, clock)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def instance_of(app, code: str) -> ProcessInstance:
    with app.app_context():
        row = db.session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == code))
        db.session.expunge(row)
        return row


def test_a_dry_run_then_a_job_moves_the_cases_that_can_and_they_run_to_the_end_on_v2(app, clock):
    at_triage = new_case(app, category="traffic", triage=None, title="Ổ gà")
    at_handle = new_case(app, category="traffic", title="Đèn hỏng")
    also_at_triage = new_case(app, category="traffic", triage=None, title="Cây đổ")
    with app.app_context():
        v1 = db.session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.version == 1))
        v2 = app.extensions["ioc"].services(db.session).definitions.deploy(v2_files(), deployed_by="thietke").definition
        db.session.commit()
        v2 = v2.id
    designer = client_of(app, "thietke")

    # The dry run: the cases still at triage can move (v2's table will set their deadline); the case being
    # handled waits on the reminder timer v2 changed, so it cannot.
    page = designer.get("/designer/migrate?key=field_report&to=2&lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    rows = {m.group(1): m.group(2) for m in re.finditer(r'<tr id="instance-(\d+)" class="(can|cannot)">', html)}
    ids = {code: str(instance_of(app, code).id) for code in (at_triage, at_handle, also_at_triage)}
    assert rows == {ids[at_triage]: "can", ids[at_handle]: "cannot", ids[also_at_triage]: "can"}
    assert at_handle in html and "the timer Deadline reminder it waits on changed" in html
    assert 'assignment["remind_at"]' in html.replace("&#34;", '"').replace("&quot;", '"')  # the timer it waits on, old and new
    assert f'name="instance" value="{ids[at_handle]}"' not in html  # nothing to tick for a case that cannot move

    # One job for two ticked cases, the one being handled sent along by hand: it is refused with its reason.
    token = csrf_of(html)
    answer = designer.post("/designer/migrate/jobs", data={"csrf_token": token, "key": "field_report", "to": "2",
                                                           "instance": [ids[at_triage], ids[at_handle]]})
    assert answer.status_code == 303
    job_url = answer.headers["Location"]
    with app.app_context():
        job = db.session.scalar(select(MigrationJob))
        assert (job.status, job.total, job.moved, job.refused, job.created_by) == ("done", 2, 1, 1, "thietke")
        assert job.started_at is not None and job.finished_at is not None
        items = {i.business_key: i for i in db.session.scalars(select(MigrationJobItem))}
        assert items[at_triage].outcome == "moved" and items[at_handle].outcome == "refused"
        assert "it waits on changed" in items[at_handle].reasons[0]["msgid"]
        instances = {code: db.session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == code))
                     for code in ids}
        assert instances[at_triage].definition_id == v2
        assert instances[at_handle].definition_id == v1 and instances[also_at_triage].definition_id == v1
        migrated = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "migrated")).all()
        assert [(a.business_key, a.actor, a.detail["from_version"], a.detail["to_version"]) for a in migrated] == [
            (at_triage, "thietke", 1, 2)]
        console = db.session.scalars(select(AdminAuditEntry).where(
            AdminAuditEntry.action == "process.migrate_instance")).all()
        assert [(c.actor_username, c.target_label, c.before, c.after) for c in console] == [
            ("thietke", at_triage, {"version": 1}, {"version": 2})]
    job_page = designer.get(job_url + "?lang=en").get_data(as_text=True)
    assert f'<tr id="item-{ids[at_triage]}" class="moved">' in job_page
    assert f'<tr id="item-{ids[at_handle]}" class="refused">' in job_page and "it waits on changed" in job_page

    # Running the job again moves nothing twice.
    assert designer.post(job_url + "/run", data={"csrf_token": token}).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "migrated")) == 1

    # "All that can move": the other case at triage moves; the one being handled stays where it is.
    answer = designer.post("/designer/migrate/jobs", data={"csrf_token": token, "key": "field_report", "to": "2",
                                                           "all": "1"})
    assert answer.status_code == 303
    with app.app_context():
        job2 = db.session.scalars(select(MigrationJob).order_by(MigrationJob.id.desc())).first()
        assert (job2.total, job2.moved, job2.refused) == (1, 1, 0)
        assert db.session.scalar(select(ProcessInstance.definition_id).where(
            ProcessInstance.business_key == also_at_triage)) == v2

    # The moved case goes on: its open triage task is the same row, the deadline comes from v2's table (48 working
    # hours for normal priority), and it runs to its end.
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        triage = db.session.scalar(select(HumanTask).where(HumanTask.business_key == at_triage, HumanTask.state == "open"))
        assert triage.element_id == "triage"
        assigned_at = clock.now()
        services.cases.complete_task(triage.id, {"decision": "accept"}, actor="dtv1")
        case = db.session.scalar(select(Case).where(Case.code == at_triage))
        assert case.due_at == working(assigned_at, 48)
        handle = db.session.scalar(select(HumanTask).where(HumanTask.business_key == at_triage, HumanTask.state == "open"))
        services.cases.complete_task(handle.id, {"outcome": "resolved", "resolution": "Đã vá."}, actor="cb.buonmathuot")
        services.cases.citizen_feedback(at_triage, satisfied=True)
        db.session.expire_all()
        case = db.session.scalar(select(Case).where(Case.code == at_triage))
        assert (case.status, case.close_reason) == ("closed", "satisfied")
        assert db.session.get(ProcessInstance, case.process_instance_id).status == "completed"
        # The case that stayed on v1 keeps v1's deadline of 72 working hours.
        other = db.session.scalar(select(Case).where(Case.code == at_handle))
        assert other.due_at == working(other.created_at, 72)


def test_the_migrate_page_is_for_designers_and_says_when_nothing_can_move(app):
    assert client_of(app, "cb.buonmathuot").get("/designer/migrate").status_code == 403
    html = client_of(app, "admin").get("/designer/migrate?key=field_report").get_data(as_text=True)
    assert 'class="empty"' in html
    assert client_of(app, "thietke").get("/designer/migrate?key=field_report&to=9").status_code == 404


def _job_worker(url: str, job_id: int) -> None:
    """Run a migration job in this process (the test kills it midway)."""
    from engine.database import make_engine, make_session_factory
    from workflows.designer.migration import run_migration_job
    from workflows.runtime import make_services

    engine = make_engine(url)
    run_migration_job(make_session_factory(engine), make_services, SYSTEM_CLOCK, job_id)


def test_a_job_killed_midway_leaves_each_instance_moved_or_not_and_a_rerun_finishes_it(postgres_database, tmp_path):
    """SIGKILL in the middle of a job on the real PostgreSQL: no instance is half moved; running it again moves the rest
    once each."""
    from engine.database import make_engine, make_session_factory
    from tests.unit.engine.test_migration import V1, flow, timer, user
    from workflows.designer.migration import MigrationService
    from workflows.runtime import make_services

    url = postgres_database
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
                          + " RESTART IDENTITY CASCADE"))
    factory = make_session_factory(engine)
    with factory() as session:
        services = make_services(session)
        services.definitions.deploy(V1)
        ids = [services.instances.start("p", {}).id for _ in range(150)]
        v2 = services.definitions.deploy(flow(("a", user("a", "Bước A mới")), ("wait", timer("wait", '"PT1H"')),
                                              ("b", user("b", "Bước B")))).definition
        session.commit()
        job_id = MigrationService(session, services.instances).start_job(v2, None, "thietke")
    moved = 0
    with (tmp_path / "worker.log").open("w") as log:
        worker = subprocess.Popen([sys.executable, "-c", "import sys; from tests.integration.test_designer_migration"
                                   " import _job_worker; _job_worker(sys.argv[1], int(sys.argv[2]))", url, str(job_id)],
                                  cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and worker.poll() is None:
                with engine.connect() as conn:
                    moved = conn.execute(select(func.count()).select_from(MigrationJobItem).where(
                        MigrationJobItem.outcome == "moved")).scalar_one()
                if moved >= 5:
                    break
                time.sleep(0.005)
            worker.send_signal(signal.SIGKILL)
        finally:
            worker.wait(timeout=30)
    assert 5 <= moved < len(ids), f"the job was not caught midway ({moved} moved): {(tmp_path / 'worker.log').read_text()}"

    def states():
        with factory() as session:
            items = {i.instance_id: i.outcome for i in session.scalars(select(MigrationJobItem))}
            on_v2 = set(session.scalars(select(ProcessInstance.id).where(ProcessInstance.definition_id == v2.id)))
            audited = Counter(session.scalars(select(AuditEvent.instance_id).where(AuditEvent.kind == "migrated")))
            console = Counter(session.scalars(select(AdminAuditEntry.target_id).where(
                AdminAuditEntry.action == "process.migrate_instance")))
            return items, on_v2, audited, console

    items, on_v2, audited, console = states()
    assert 0 < len(on_v2) < len(ids)
    for instance_id in ids:  # moved with its outcome and both audit lines, or not at all
        moved_here = instance_id in on_v2
        assert (items[instance_id] == "moved") == moved_here, instance_id
        assert audited[instance_id] == console[str(instance_id)] == (1 if moved_here else 0), instance_id
        assert items[instance_id] in ("moved", "pending")

    with factory() as session:
        job = MigrationService(session, make_services(session).instances).run_job(job_id)
        assert (job.status, job.moved, job.total) == ("done", len(ids), len(ids))
    items, on_v2, audited, console = states()
    assert on_v2 == set(ids) and set(items.values()) == {"moved"}
    assert set(audited.values()) == {1} and len(audited) == len(ids) and set(console.values()) == {1}
    engine.dispose()


def test_an_instance_already_moved_by_another_job_is_skipped_not_refused(services, session, clock):
    from tests.integration.test_field_report import intake
    from workflows.designer.migration import MigrationService

    case = intake(services)
    v2 = services.definitions.deploy(v2_files(), deployed_by="thietke").definition
    session.commit()
    migration = MigrationService(session, services.instances, clock)
    first, second = (migration.start_job(v2, [case.process_instance_id], "thietke") for _ in range(2))
    assert migration.run_job(first).moved == 1
    job = migration.run_job(second)
    assert (job.moved, job.refused) == (1, 0)
    assert [i.outcome for i in migration.job(second).items] == ["skipped"]
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "migrated")) == 1
