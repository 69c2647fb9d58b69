"""Categories in the console (workflows/admin/categories.py) on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from workflows.access import AccessService
from workflows.admin.categories import CategoryAdmin, CategoryError, CategoryForm, questions_as_rows
from workflows.admin.models import AdminAuditEntry
from workflows.models import User
from workflows.questions import parse_questions
from workflows.reference import categories


@pytest.fixture
def admin(services, session, clock):
    return CategoryAdmin(session, clock)


@pytest.fixture
def actor(session, reference_data):
    user = session.scalar(select(User).where(User.username == "admin"))
    return AccessService(session).actor(user.id)


SIDEWALK = CategoryForm(code="sidewalk", name="Vỉa hè", name_en="Sidewalks", default_priority="high",
                        department="SXD", questions=[
                            {"name": "width", "label": "Bề rộng bị lấn (m)", "label_en": "Width taken (m)",
                             "type": "number"},
                            {"name": "kind", "label": "Loại lấn chiếm", "type": "choice", "required": "on",
                             "choices": "stall | Quầy hàng | Stall\nparking | Đỗ xe | Parking"},
                            {"name": "", "label": "", "label_en": "", "type": "text", "choices": ""},  # a blank row
                        ])


def test_a_category_is_created_with_questions_edited_and_disabled(session, admin, actor):
    created = admin.create(actor, SIDEWALK)
    assert (created.name, created.name_en, created.default_priority) == ("Vỉa hè", "Sidewalks", "high")
    questions = parse_questions(created.questions)  # what every channel asks
    assert [q.name for q in questions] == ["width", "kind"]
    assert questions[1].required and questions[1].choices_in("en") == [("stall", "Stall"), ("parking", "Parking")]
    assert "sidewalk" in {c.code for c in categories(session)}
    # The edit form shows the choices as lines again, and saving them unchanged changes nothing.
    rows = questions_as_rows(created.questions)
    assert rows[1]["choices"] == "stall | Quầy hàng | Stall\nparking | Đỗ xe | Parking"
    admin.update(actor, "sidewalk", CategoryForm(code="sidewalk", name="Vỉa hè, lòng đường", name_en="Sidewalks",
                                                 default_priority="normal", department="SXD", questions=rows))
    assert admin.get("sidewalk").questions == created.questions and admin.get("sidewalk").default_priority == "normal"
    admin.set_active(actor, "sidewalk", False)
    assert "sidewalk" not in {c.code for c in categories(session)}  # no channel offers it
    actions = list(session.scalars(select(AdminAuditEntry.action).order_by(AdminAuditEntry.id)))
    assert actions == ["category.create", "category.update", "category.disable"]
    line = session.scalar(select(AdminAuditEntry).where(AdminAuditEntry.action == "category.update"))
    assert (line.before["name"], line.after["name"]) == ("Vỉa hè", "Vỉa hè, lòng đường")


def test_wrong_forms_say_what_to_fix_and_store_nothing(session, admin, actor):
    bad = CategoryForm(code="Vỉa hè", name="", name_en="", default_priority="urgent", department="P-TAN-AN",
                       questions=[{"name": "w", "label": "Rộng", "type": "choice", "choices": ""},
                                  {"name": "w", "label": "", "type": "number", "choices": "a | b"},
                                  {"name": "Bad Name", "label": "x", "type": "colour"}])
    with pytest.raises(CategoryError) as raised:
        admin.create(actor, bad)
    assert set(raised.value.fields) == {
        "code", "name", "name_en", "default_priority", "department", "questions.1.choices", "questions.2.name",
        "questions.2.label", "questions.2.choices", "questions.3.name", "questions.3.type"}
    session.rollback()
    with pytest.raises(CategoryError) as raised:
        admin.create(actor, CategoryForm(code="traffic", name="x", name_en="y"))
    assert "code" in raised.value.fields  # taken
    assert admin.get("vỉa hè") is None and session.scalar(select(AdminAuditEntry)) is None


def test_the_routing_rows_that_use_a_category_come_from_the_deployed_table(admin):
    rows = admin.routing_rows("street_lighting")
    named = [r for r in rows if not r.any_category]
    assert [r.rule_id for r in named] == ["field_report_routing_rule_7"]
    assert named[0].outputs == [("Đơn vị xử lý", '"SXD"')] and ("Loại địa bàn", '"commune"') in named[0].conditions
    assert named[0].processes == ("field_report v1",) and named[0].file == "field_report_routing.dmn"
    # The override and the catch-all rules take any category.
    assert {r.rule_id for r in rows if r.any_category} >= {"field_report_routing_rule_1", "field_report_routing_rule_8"}
    assert [r.rule_id for r in admin.routing_rows("health") if not r.any_category] == ["field_report_routing_rule_3"]
