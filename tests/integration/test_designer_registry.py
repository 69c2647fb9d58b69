"""The modeler's registry API: operators with their declared parameters, roles, lists, deployed processes and
decisions, read live from the application (what the properties panel offers)."""

from __future__ import annotations

import pytest

from engine.clock import FrozenClock
from tests.conftest import BPMN_DIR
from tests.workspace import client_of, make_workspace_app
from webapp.extensions import db
from workflows.roles import ROLES
from workflows.runtime import REGISTRY


@pytest.fixture
def app(db_url):
    app = make_workspace_app(db_url, FrozenClock())
    yield app
    with app.app_context():
        db.engine.dispose()


def test_the_registry_lists_what_the_engine_accepts_and_what_is_deployed(app):
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        hotline = {p.name: p.read_text(encoding="utf-8")
                   for p in [BPMN_DIR / "hotline_call.bpmn", *sorted(BPMN_DIR.glob("*.dmn"))]}
        services.definitions.deploy(hotline, deployed_by="test")
        # A second version of the field report whose English name changed: the newest version is offered.
        files = {p.name: p.read_text(encoding="utf-8") for p in sorted(BPMN_DIR.glob("field_report*"))}
        files["field_report.bpmn"] = files["field_report.bpmn"].replace(
            'value="Handle a field report"', 'value="Handle a report from the field"')
        services.definitions.deploy(files, deployed_by="test")
        db.session.commit()
    designer = client_of(app, "thietke")

    english = designer.get("/designer/api/registry?lang=en")
    assert english.status_code == 200
    body = english.get_json()
    operators = {op["name"]: op for op in body["operators"]}
    assert set(operators) == set(REGISTRY.operators)
    assert [(p["name"], p["required"]) for p in operators["assign"]["params"]] == [
        ("unit", True), ("sla_hours", True), ("reminder_hours", True)]
    assert operators["assign"]["params"][1]["description"] == "Working hours until the deadline."
    assert {"name": "up_levels", "required": False,
            "description": "How many administrative levels above to tell as well (0 by default)."} \
        in operators["notify_leaders"]["params"]
    assert all(p["description"] for op in body["operators"] for p in op["params"])
    assert operators["assign"]["description"] == \
        "Assign the report to the responsible unit, with its deadline and reminder time."
    assert all(op["description"] for op in body["operators"])
    assert [r["key"] for r in body["roles"]] == list(ROLES)
    assert {"key": "officer", "label": "Handling officer", "label_vi": "Cán bộ xử lý",
            "label_en": "Handling officer", "names": ["Cán bộ xử lý", "Handling officer", "officer"]} in body["roles"]
    assert "Điện thoại viên" in next(r for r in body["roles"] if r["key"] == "operator")["names"]
    assert body["lists"] == ["categories", "units"]
    assert body["processes"] == [
        {"key": "field_report", "version": 2, "name": "Handle a report from the field"},
        {"key": "hotline_call", "version": 1, "name": body["processes"][1]["name"]}]
    assert body["processes"][1]["name"] not in ("", "hotline_call")
    decisions = {(d["id"], d["file"], d["process"]): d["name"] for d in body["decisions"]}
    assert decisions[("field_report_sla", "field_report_sla.dmn", "field_report")] == "Thời hạn xử lý theo mức độ ưu tiên"
    assert ("field_report_routing", "field_report_routing.dmn", "field_report") in decisions
    assert ("publication_review", "field_report_review.dmn", "field_report") in decisions
    assert {d["process"] for d in body["decisions"]} >= {"field_report", "hotline_call"}

    vietnamese = designer.get("/designer/api/registry?lang=vi").get_json()
    assert vietnamese["operators"][0]["name"] == "assign"
    assert vietnamese["operators"][0]["description"].startswith("Giao phản ánh cho đơn vị xử lý")
    assert vietnamese["operators"][0]["params"][1]["description"] == "Số giờ làm việc đến hạn xử lý."
    assert vietnamese["processes"][0]["name"] == "Xử lý phản ánh hiện trường"
    assert next(r for r in vietnamese["roles"] if r["key"] == "officer")["label"] == "Cán bộ xử lý"


def test_only_designers_and_administrators_read_the_registry(app):
    assert client_of(app, "admin").get("/designer/api/registry").status_code == 200
    assert client_of(app, "cb.buonmathuot").get("/designer/api/registry").status_code == 403
    assert app.test_client().get("/designer/api/registry").status_code in (302, 401)


def test_the_panels_form_field_examples_read_as_the_engine_reads_them():
    """frontend/test/fixtures/form-fields.json: what the panel writes for each field (its JS test checks the
    other direction) is what engine/spiff.py's parse_field reads."""
    import json
    from pathlib import Path

    from engine.spiff import parse_field

    examples = json.loads((Path(__file__).parents[2] / "webapp/frontend/test/fixtures/form-fields.json").read_text())
    assert len(examples) >= 7
    for example in examples:
        parsed, field = parse_field("f", example["spec"]), example["field"]
        when = field["when"]
        assert (parsed.type, parsed.source, parsed.required, list(parsed.choices), parsed.label, parsed.label_en) == (
            field["type"], field["source"], field["required"], field["choices"], field["label"], field["labelEn"])
        assert parsed.required_when == ((when["field"], tuple(when["values"])) if when else None)
