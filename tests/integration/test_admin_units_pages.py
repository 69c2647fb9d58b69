"""The console's units and categories pages (/admin/units, /admin/categories) through the real app."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.workspace import client_of, csrf_of, make_workspace_app, new_case, open_task
from webapp.extensions import db
from workflows.admin.models import AdminAuditEntry
from workflows.admin.unit_models import AdminUnitChange
from workflows.models import AdminUnit, Category


@pytest.fixture
def app(db_url, clock):
    app = make_workspace_app(db_url, clock)
    yield app
    with app.app_context():
        db.engine.dispose()


def post(client, url, data, page):
    token = csrf_of(client.get(page).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def test_only_administrators_open_the_units_and_categories_pages(app):
    for username in ("cb.tanan", "thietke", "tp.ioc"):
        client = client_of(app, username)
        assert client.get("/admin/units").status_code == 403
        assert client.get("/admin/categories").status_code == 403
    admin = client_of(app, "admin")
    page = admin.get("/admin/units").get_data(as_text=True)
    assert 'data-unit="P-TAN-AN"' in page and "Sáp nhập" in page  # the tree and the forms, in Vietnamese
    assert 'href="/admin/units"' in admin.get("/admin/").get_data(as_text=True)


def test_a_merger_from_the_page_moves_the_open_task_to_the_successor(app):
    code = new_case(app, unit="P-TAN-AN")
    admin = client_of(app, "admin")
    # A unit that is not in the live list is refused, with what was typed kept.
    refused = post(admin, "/admin/units/merge", {"unit": "P-TAN-AN", "successor": "P-NOWHERE",
                                                 "effective_on": "2026-01-05", "move_roles": "1"}, "/admin/units")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "chọn một đơn vị" in page.lower()
    assert '<option value="P-TAN-AN" selected>' in page
    assert open_task(app, code).candidate_unit == "P-TAN-AN"
    done = post(admin, "/admin/units/merge", {"unit": "P-TAN-AN", "successor": "P-TAN-LAP",
                                              "effective_on": "2026-01-05", "move_roles": "1"}, "/admin/units")
    assert done.status_code == 303
    assert open_task(app, code).candidate_unit == "P-TAN-LAP"
    # The successor's officer has it in the unit's list; the merged ward's officer, moved there, too.
    for username in ("cb.tanlap", "cb.tanan"):
        assert code in client_of(app, username).get("/tasks/?tab=unit").get_data(as_text=True)
    history = client_of(app, "cb.tanlap").get(f"/cases/{code}").get_data(as_text=True)
    assert "Phường Tân An sáp nhập vào Phường Tân Lập từ ngày 05/01/2026" in history
    page = admin.get("/admin/units").get_data(as_text=True)
    assert 'data-unit="P-TAN-AN"' in page and "đã kết thúc" in page
    assert '<option value="P-TAN-AN"' not in page  # no longer offered
    with app.app_context():
        assert db.session.scalar(select(AdminAuditEntry.action).where(AdminAuditEntry.target_id == "P-TAN-AN")) \
            == "unit.merge"


def test_a_merger_dated_ahead_waits_and_can_be_withdrawn(app):
    admin = client_of(app, "admin")
    post(admin, "/admin/units/merge", {"unit": "P-TAN-AN", "successor": "P-TAN-LAP", "effective_on": "2026-07-01"},
         "/admin/units")
    page = admin.get("/admin/units").get_data(as_text=True)
    assert "chờ đến ngày" in page
    with app.app_context():
        change = db.session.scalar(select(AdminUnitChange))
        assert change.applied_at is None and change.detail["move_roles"] is False
        change_id = change.id
    assert post(admin, f"/admin/units/changes/{change_id}/cancel", {}, "/admin/units").status_code == 303
    with app.app_context():
        assert db.session.scalar(select(AdminUnit.valid_to).where(AdminUnit.code == "P-TAN-AN")) is None


def test_a_category_is_created_edited_and_disabled_from_the_pages(app):
    admin = client_of(app, "admin")
    form = {"code": "sidewalk", "name": "Vỉa hè", "name_en": "", "default_priority": "high", "department": "SXD",
            "question_rows": "2", "q-1-name": "kind", "q-1-label": "Loại lấn chiếm", "q-1-type": "choice",
            "q-1-choices": ""}
    refused = post(admin, "/admin/categories/new", form, "/admin/categories/new")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and 'value="Vỉa hè"' in page and 'value="Loại lấn chiếm"' in page
    assert "tiếng Anh" in page  # the English name is missing
    form.update({"name_en": "Sidewalks", "q-1-choices": "stall | Quầy hàng | Stall\nparking | Đỗ xe | Parking"})
    assert post(admin, "/admin/categories/new", form, "/admin/categories/new").status_code == 303
    page = admin.get("/admin/categories/sidewalk").get_data(as_text=True)
    assert "stall | Quầy hàng | Stall" in page
    lighting = admin.get("/admin/categories/street_lighting").get_data(as_text=True)
    assert 'data-rule="field_report_routing_rule_7"' in lighting and "&#34;SXD&#34;" in lighting
    assert post(admin, "/admin/categories/sidewalk/disable", {}, "/admin/categories/sidewalk").status_code == 303
    with app.app_context():
        category = db.session.get(Category, "sidewalk")
        assert not category.active and category.questions[0]["choices"][1]["label_en"] == "Parking"
    assert "sidewalk" not in client_of(app, "dtv1").get("/hotline/").get_data(as_text=True)
    assert admin.get("/admin/categories/nothing").status_code == 404


def test_the_category_form_names_the_answering_bodies_in_the_reader_s_language(app):
    admin = client_of(app, "admin")
    assert ">Công an tỉnh Đắk Lắk</option>" in admin.get("/admin/categories/new").get_data(as_text=True)
    post(admin, "/language", {"lang": "en", "next": "/admin/categories/new"}, "/admin/categories/new")
    english = admin.get("/admin/categories/public_security").get_data(as_text=True)
    assert ">Đắk Lắk Provincial Police</option>" in english and "Công an tỉnh Đắk Lắk</option>" not in english


def test_an_english_reader_sees_each_unit_s_english_name_beside_its_official_one(app):
    admin = client_of(app, "admin")
    post(admin, "/language", {"lang": "en", "next": "/admin/units"}, "/admin/units")
    row = admin.get("/admin/units").get_data(as_text=True).split('data-unit="P-TAN-AN"', 1)[1].split("</tr>", 1)[0]
    assert "Phường Tân An" in row and "Tân An Ward" in row
