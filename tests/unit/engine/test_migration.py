"""Moving running instances to another version: the dry run's verdicts and a move followed to the end."""

from __future__ import annotations

from datetime import timedelta
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import select

from engine.definitions import DefinitionService, SpecCache
from engine.errors import ConflictError
from engine.instances import InstanceService
from engine.migration import InstanceMigrator
from engine.models import AuditEvent, HumanTask, ProcessInstance
from engine.registry import OperatorRegistry
from tests.bpmn_factory import HEADER


def user(eid: str, name: str = "Việc", fields: str = "") -> str:
    props = f'<spiffworkflow:property name="field.note" value="{fields}"/>' if fields else ""
    ext = f"<bpmn:extensionElements><spiffworkflow:properties>{props}</spiffworkflow:properties></bpmn:extensionElements>"
    return f'<bpmn:userTask id="{eid}" name="{name}">{ext if props else ""}</bpmn:userTask>'


def timer(eid: str, expression: str) -> str:
    return (f'<bpmn:intermediateCatchEvent id="{eid}" name="Chờ {eid}"><bpmn:timerEventDefinition id="def_{eid}">'
            f"<bpmn:timeDuration>{escape(expression)}</bpmn:timeDuration></bpmn:timerEventDefinition>"
            "</bpmn:intermediateCatchEvent>")


def flow(*elements: tuple[str, str]) -> dict[str, str]:
    """Process `p`: start → the elements in order → end; each element is (id, xml); user tasks in the officer lane."""
    ids = ["start", *[eid for eid, _xml in elements], "end"]
    body = ['<bpmn:startEvent id="start"/>', *[xml for _eid, xml in elements], '<bpmn:endEvent id="end"/>']
    flows = [f'<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}"/>' for a, b in zip(ids, ids[1:], strict=False)]
    lanes = ('<bpmn:laneSet id="lanes"><bpmn:lane id="lane_officer" name="officer">'
             + "".join(f"<bpmn:flowNodeRef>{i}</bpmn:flowNodeRef>" for i in ids) + "</bpmn:lane></bpmn:laneSet>")
    return {"p.bpmn": HEADER + f'<bpmn:process id="p" isExecutable="true">{lanes}' + "".join(body) + "".join(flows)
            + "</bpmn:process></bpmn:definitions>"}


@pytest.fixture
def engine(session, clock):
    registry = OperatorRegistry()
    definitions = DefinitionService(session, registry, {"officer": "officer"}, cache=SpecCache())
    return InstanceService(session, definitions, registry, clock)


def deploy(engine, files):
    return engine.definitions.deploy(files, deployed_by="test").definition


def open_tasks(session, instance_id):
    return list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                        HumanTask.state == "open")))


V1 = flow(("a", user("a", "Bước A")), ("wait", timer("wait", '"PT1H"')), ("b", user("b", "Bước B")))


def test_an_instance_on_an_unchanged_path_can_move_and_is_told_what_lies_ahead(engine, session):
    v1 = deploy(engine, V1)
    row = engine.start("p", {})
    session.commit()
    v2 = deploy(engine, flow(("a", user("a", "Bước A")), ("wait", timer("wait", '"PT2H"')), ("b", user("b", "Bước B"))))
    plan = InstanceMigrator(engine).plan(row.id, v2)
    assert plan.can_move and plan.reasons == []
    assert (plan.from_version, plan.to_version) == (v1.version, v2.version) == (1, 2)
    assert plan.current == ["Bước A"]
    assert any("Chờ wait will use the new timer" in change and '"PT2H"' in change for change in plan.changes)
    session.expire_all()
    assert session.get(ProcessInstance, row.id).definition_id == v1.id  # a dry run writes nothing


def test_an_instance_whose_current_element_was_removed_cannot_move(engine, session):
    deploy(engine, V1)
    row = engine.start("p", {})
    session.commit()
    v2 = deploy(engine, flow(("wait", timer("wait", '"PT1H"')), ("b", user("b", "Bước B"))))
    plan = InstanceMigrator(engine).plan(row.id, v2)
    assert not plan.can_move
    assert plan.reasons == ["its current element Bước A is not in version 2"]
    with pytest.raises(ConflictError, match="cannot move to version 2: its current element Bước A"):
        InstanceMigrator(engine).migrate(row.id, v2, actor="thietke")


def test_an_instance_waiting_on_a_timer_whose_definition_changed_cannot_move(engine, session):
    deploy(engine, V1)
    row = engine.start("p", {})
    engine.complete_task(open_tasks(session, row.id)[0].id, {}, actor="cb1")
    session.commit()
    v2 = deploy(engine, flow(("a", user("a", "Bước A")), ("wait", timer("wait", '"PT2H"')), ("b", user("b", "Bước B"))))
    plan = InstanceMigrator(engine).plan(row.id, v2)
    assert plan.reasons == ['the timer Chờ wait it waits on changed ("PT1H", now "PT2H")']
    assert plan.current == ["Chờ wait"]


def test_an_open_task_whose_form_changed_and_a_removed_history_step_are_refused(engine, session):
    deploy(engine, V1)
    row = engine.start("p", {})
    session.commit()
    v2 = deploy(engine, flow(("a", user("a", "Bước A", fields="text!")), ("wait", timer("wait", '"PT1H"')),
                             ("b", user("b", "Bước B"))))
    assert InstanceMigrator(engine).plan(row.id, v2).reasons == ["the form of the open task Bước A changed"]
    engine.complete_task(open_tasks(session, row.id)[0].id, {}, actor="cb1")
    session.commit()
    v3 = deploy(engine, flow(("wait", timer("wait", '"PT1H"')), ("b", user("b", "Bước B"))))
    assert InstanceMigrator(engine).plan(row.id, v3).reasons == [
        "it has passed through Bước A, which version 3 no longer has: its history could not be kept"]


def test_a_finished_instance_cannot_move(engine, session, clock):
    deploy(engine, flow(("a", user("a", "Bước A"))))
    row = engine.start("p", {})
    engine.complete_task(open_tasks(session, row.id)[0].id, {}, actor="cb1")
    session.commit()
    v2 = deploy(engine, flow(("a", user("a", "Bước A mới"))))
    assert InstanceMigrator(engine).plan(row.id, v2).reasons == ["it has finished"]


def test_a_migrated_instance_keeps_its_open_task_and_runs_to_the_end_on_the_new_version(engine, session, clock):
    v1 = deploy(engine, V1)
    row = engine.start("p", {})
    session.commit()
    task_id = open_tasks(session, row.id)[0].id
    v2 = deploy(engine, flow(("a", user("a", "Bước A (mới)")), ("wait", timer("wait", '"PT2H"')),
                             ("b", user("b", "Bước B"))))
    plan = InstanceMigrator(engine).migrate(row.id, v2, actor="thietke")
    session.commit()
    assert plan.changes[0] == "the open task Bước A will be named Bước A (mới)"
    session.expire_all()
    row = session.get(ProcessInstance, row.id)
    assert row.definition_id == v2.id and row.status == "running"
    [task] = open_tasks(session, row.id)
    assert (task.id, task.title) == (task_id, "Bước A (mới)")  # the same task row, named as v2 names it
    audit = session.scalars(select(AuditEvent).where(AuditEvent.instance_id == row.id, AuditEvent.kind == "migrated")).one()
    assert audit.actor == "thietke"
    assert audit.detail == {"from_version": 1, "to_version": 2, "from_definition": v1.id, "to_definition": v2.id}

    engine.complete_task(task_id, {}, actor="cb1")
    session.commit()
    assert row.next_timer_at == clock.now() + timedelta(hours=2)  # v2's timer, not v1's hour
    clock.advance(hours=2, seconds=1)
    assert engine.fire_due_timers(row)
    session.commit()
    [task_b] = open_tasks(session, row.id)
    engine.complete_task(task_b.id, {}, actor="cb1")
    session.commit()
    assert session.get(ProcessInstance, row.id).status == "completed"


def test_a_timer_already_waited_on_keeps_its_due_time_when_moving(engine, session, clock):
    deploy(engine, V1)
    row = engine.start("p", {})
    engine.complete_task(open_tasks(session, row.id)[0].id, {}, actor="cb1")
    session.commit()
    due = row.next_timer_at
    clock.advance(minutes=30)
    v2 = deploy(engine, flow(("a", user("a", "Bước A")), ("wait", timer("wait", '"PT1H"')), ("b", user("b", "Bước B mới"))))
    InstanceMigrator(engine).migrate(row.id, v2, actor="thietke")
    session.commit()
    session.expire_all()
    row = session.get(ProcessInstance, row.id)
    assert (row.definition_id, row.next_timer_at) == (v2.id, due)  # not restarted from the moment of the move
    clock.advance(minutes=31)
    assert engine.fire_due_timers(row)
    session.commit()
    assert [t.title for t in open_tasks(session, row.id)] == ["Bước B mới"]


def called(sub_task_name: str) -> dict[str, str]:
    """Process p calls process q (another file), whose one user task is named `sub_task_name`."""
    p = flow(("c", '<bpmn:callActivity id="c" name="Gọi" calledElement="q"/>'))["p.bpmn"]
    q = (flow(("x", user("x", sub_task_name)))["p.bpmn"].replace('id="p"', 'id="q"')
         .replace('id="lanes"', 'id="lanes_q"').replace('id="lane_officer"', 'id="lane_officer_q"'))
    return {"p.bpmn": p, "q.bpmn": q}


def test_an_instance_inside_a_called_process_moves_with_it_and_finishes(engine, session):
    engine.definitions.deploy(called("Việc con"), process_key="p")
    row = engine.start("p", {})
    session.commit()
    v2 = engine.definitions.deploy(called("Việc con mới"), process_key="p").definition
    plan = InstanceMigrator(engine).plan(row.id, v2)
    assert plan.can_move and plan.current == ["Việc con"]
    InstanceMigrator(engine).migrate(row.id, v2, actor="thietke")
    session.commit()
    [task] = open_tasks(session, row.id)
    assert task.title == "Việc con mới"
    engine.complete_task(task.id, {}, actor="cb1")
    session.commit()
    assert session.get(ProcessInstance, row.id).status == "completed"


def test_renaming_the_timer_an_instance_waits_on_does_not_stop_it(engine, session, clock):
    deploy(engine, V1)
    row = engine.start("p", {})
    engine.complete_task(open_tasks(session, row.id)[0].id, {}, actor="cb1")
    session.commit()
    renamed = flow(("a", user("a", "Bước A")), ("wait", timer("wait", '"PT1H"').replace('name="Chờ wait"', 'name="Đợi"')),
                   ("b", user("b", "Bước B")))
    v2 = deploy(engine, renamed)
    plan = InstanceMigrator(engine).plan(row.id, v2)
    assert plan.can_move, plan.reasons
