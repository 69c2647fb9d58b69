"""Open311 GeoReport v2 conformance: every endpoint in JSON and XML, the spec's errors and codes, and a
request followed through triage, publication, a citizen's "not resolved" and closing — on SQLite and
PostgreSQL. The reporter's details never appear in any answer.
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from engine.clock import FrozenClock
from engine.models import HumanTask
from tests.media_samples import jpeg_with_gps
from tests.workspace import make_workspace_app
from webapp.extensions import db
from workflows.models import Case, CaseEvent, Open311Client
from workflows.open311_service import DEMO_API_KEY, Open311Service

BASE = "/open311/v2"
REPORTER = {"first_name": "Trần Thị", "last_name": "Hoa", "email": "hoa.tran@example.vn", "phone": "0987654321",
            "device_id": "device-7f3a9c", "account_id": "acct-55102"}
PRIVATE_VALUES = ["Trần Thị Hoa", "hoa.tran@example.vn", "0987654321", "device-7f3a9c", "acct-55102"]
DISCOVERY_ORDER = ["changeset", "contact", "key_service", "endpoints"]
ENDPOINT_ORDER = ["specification", "url", "changeset", "type", "formats"]
SERVICE_ORDER = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
ATTRIBUTE_ORDER = ["variable", "code", "datatype", "required", "datatype_description", "order", "description",
                   "values"]
REQUEST_ORDER = ["service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                 "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                 "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"]
DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}


@pytest.fixture
def world(db_url, tmp_path):
    """The app with the demo people and categories, the demo api_key, a clock, and a log of every answer."""
    clock = FrozenClock()
    app = make_workspace_app(db_url, clock, FILES_DIR=str(tmp_path / "files"))
    with app.app_context():
        assert _open311(app).seed_demo_client()
    answers: list[str] = []
    client = app.test_client()
    yield app, clock, _Recording(client, answers), answers
    with app.app_context():
        db.engine.dispose()


class _Recording:
    """A test client that keeps the body of every answer (for the privacy check)."""

    def __init__(self, client, answers: list[str]):
        self.client, self.answers = client, answers

    def get(self, path, **kwargs):
        response = self.client.get(path, **kwargs)
        self.answers.append(response.get_data(as_text=True))
        return response

    def post(self, path, **kwargs):
        response = self.client.post(path, **kwargs)
        self.answers.append(response.get_data(as_text=True))
        return response


def _open311(app) -> Open311Service:
    return Open311Service(db.session, app.extensions["ioc"].services(db.session).cases, app.extensions["ioc"].clock)


def _xml(response) -> ET.Element:
    body = response.get_data(as_text=True)
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert response.content_type == "text/xml; charset=utf-8"
    return ET.fromstring(response.get_data())


def _json(response):
    assert response.content_type == "application/json; charset=utf-8"
    return json.loads(response.get_data(as_text=True))


def _tags(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


def _post(client, fmt="json", headers=None, **fields):
    data = {"api_key": DEMO_API_KEY, "service_code": "street_lighting", "lat": "12.668", "long": "108.041",
            "description": "Ba cột đèn trước số 12 Lê Duẩn không sáng", "attribute[lights_out]": "3",
            "attribute[extent]": "several"}
    data.update(fields)
    return client.post(f"{BASE}/requests.{fmt}", data={k: v for k, v in data.items() if v is not None},
                       headers=headers or {})


def _cases(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Case))


def _error(response, fmt: str) -> tuple[int, str]:
    """(code, description) of a refusal in the spec's form, checking its shape."""
    if fmt == "xml":
        root = _xml(response)
        assert root.tag == "errors" and _tags(root) == ["error"] * len(root)
        first = root[0]
        assert _tags(first) == ["code", "description"]
        return int(first.find("code").text), first.find("description").text
    body = _json(response)
    assert isinstance(body, list) and body and all(set(e) == {"code", "description"} for e in body)
    assert all(isinstance(e["code"], int) and isinstance(e["description"], str) for e in body)
    return body[0]["code"], body[0]["description"]


def _task(app, code: str) -> HumanTask:
    with app.app_context():
        task = db.session.scalar(select(HumanTask).where(HumanTask.business_key == code, HumanTask.state == "open"))
        db.session.expunge(task)
        return task


def _complete(app, code: str, data: dict, actor: str) -> None:
    task = _task(app, code)
    with app.app_context():
        app.extensions["ioc"].services(db.session).cases.complete_task(task.id, data, actor=actor)


# --------------------------------------------------------------------------- discovery and services
def test_discovery_in_both_formats(world):
    _app, _clock, client, _ = world
    body = _json(client.get(f"{BASE}/discovery.json"))
    assert list(body) == DISCOVERY_ORDER
    endpoint = body["endpoints"][0]
    assert list(endpoint) == ENDPOINT_ORDER
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2/") and endpoint["type"] in ("production", "test")
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    root = _xml(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery" and _tags(root) == DISCOVERY_ORDER
    node = root.find("endpoints/endpoint")
    assert _tags(node) == ENDPOINT_ORDER
    assert [f.text for f in node.find("formats")] == ["text/xml", "application/json"]


def test_services_list_every_category_in_both_formats(world):
    _app, _clock, client, _ = world
    services = _json(client.get(f"{BASE}/services.json"))
    codes = {s["service_code"] for s in services}
    assert {"street_lighting", "traffic", "pollution", "trees_parks"} <= codes
    for service in services:
        assert list(service) == SERVICE_ORDER
        assert service["type"] == "realtime" and isinstance(service["metadata"], bool)
        assert all(isinstance(service[k], str) for k in ("service_name", "description", "keywords", "group"))
    by_code = {s["service_code"]: s for s in services}
    assert by_code["street_lighting"]["service_name"] == "Điện chiếu sáng"  # Vietnamese by default
    assert by_code["street_lighting"]["metadata"] is True and by_code["pollution"]["metadata"] is False
    assert by_code["street_lighting"]["group"] == "Sở Xây dựng"
    root = _xml(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services" and _tags(root) == ["service"] * len(services)
    assert all(_tags(s) == SERVICE_ORDER for s in root)
    assert {s.find("metadata").text for s in root} == {"true", "false"}


def test_services_speak_english_by_lang_or_accept_language(world):
    _app, _clock, client, _ = world
    by_lang = {s["service_code"]: s for s in _json(client.get(f"{BASE}/services.json?lang=en"))}
    assert by_lang["street_lighting"]["service_name"] == "Street lighting"
    by_header = {s["service_code"]: s for s in _json(client.get(f"{BASE}/services.json",
                                                                headers={"Accept-Language": "en-US,en;q=0.8"}))}
    assert by_header["traffic"]["service_name"] == "Traffic & roads"
    definition = _json(client.get(f"{BASE}/services/trees_parks.json?lang=en"))
    assert definition["attributes"][0]["values"] == [{"key": "true", "name": "Yes"}, {"key": "false", "name": "No"}]


def test_service_definition_from_the_categorys_questions(world):
    _app, _clock, client, _ = world
    body = _json(client.get(f"{BASE}/services/street_lighting.json"))
    assert list(body) == ["service_code", "attributes"] and body["service_code"] == "street_lighting"
    attributes = body["attributes"]
    assert [a["code"] for a in attributes] == ["pole_number", "lights_out", "extent"]
    assert [a["order"] for a in attributes] == [1, 2, 3]
    for attribute in attributes:
        assert list(attribute) == ATTRIBUTE_ORDER
        assert attribute["variable"] is True and attribute["datatype"] in DATATYPES
        assert isinstance(attribute["required"], bool) and isinstance(attribute["description"], str)
    assert [a["datatype"] for a in attributes] == ["string", "number", "singlevaluelist"]
    assert attributes[0]["description"] == "Số hiệu cột đèn (nếu thấy)"
    assert {v["key"] for v in attributes[2]["values"]} >= {"one", "several"}
    assert all(set(v) == {"key", "name"} for v in attributes[2]["values"])
    required = _json(client.get(f"{BASE}/services/trees_parks.json"))["attributes"][0]
    assert (required["code"], required["required"], required["datatype"]) == ("fallen", True, "singlevaluelist")
    assert required["values"] == [{"key": "true", "name": "Có"}, {"key": "false", "name": "Không"}]
    assert _json(client.get(f"{BASE}/services/pollution.json"))["attributes"] == []

    root = _xml(client.get(f"{BASE}/services/street_lighting.xml"))
    assert root.tag == "service_definition" and _tags(root) == ["service_code", "attributes"]
    nodes = root.findall("attributes/attribute")
    assert [n.find("code").text for n in nodes] == ["pole_number", "lights_out", "extent"]
    assert all(_tags(n) == ATTRIBUTE_ORDER for n in nodes)
    values = nodes[2].findall("values/value")
    assert values and all(_tags(v) == ["key", "name"] for v in values)
    assert nodes[0].find("required").text == "false" and nodes[0].find("variable").text == "true"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_service_code_is_404(world, fmt):
    _app, _clock, client, _ = world
    response = client.get(f"{BASE}/services/no_such_field.{fmt}")
    assert response.status_code == 404
    code, description = _error(response, fmt)
    assert code == 404 and "no_such_field" in description


# --------------------------------------------------------------------------- POST requests
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_opens_a_field_report_with_a_token(world, fmt):
    app, _clock, client, _ = world
    response = _post(client, fmt, **REPORTER, address_string="12 Lê Duẩn", media_url="https://example.org/p.jpg")
    assert response.status_code == 200, response.get_data(as_text=True)
    if fmt == "json":
        body = _json(response)
        assert isinstance(body, list) and len(body) == 1
        answer = body[0]
        assert list(answer) == ["service_request_id", "service_notice", "account_id", "token"]
        assert answer["account_id"] is None
    else:
        root = _xml(response)
        assert root.tag == "service_requests" and _tags(root) == ["request"]
        assert _tags(root[0]) == ["service_request_id", "service_notice", "account_id", "token"]
        answer = {child.tag: child.text for child in root[0]}
    code, token = answer["service_request_id"], answer["token"]
    assert code.startswith("PA-") and token and code in answer["service_notice"]
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.code == code))
        assert (case.channel, case.source, case.category_code) == ("field_report", "open311", "street_lighting")
        assert case.admin_unit.code == "P-BUON-MA-THUOT"  # the nearest ward to the point
        assert case.request_token == token and case.answers == {"lights_out": 3, "extent": "several"}
        assert (case.reporter.name, case.reporter.phone, case.reporter.email) == (
            "Trần Thị Hoa", "0987654321", "hoa.tran@example.vn")
        assert case.address == "12 Lê Duẩn" and case.status == "received"
        event = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                          CaseEvent.kind == "open311_received"))
        assert event.public is False and event.detail["device_id"] == "device-7f3a9c"
        assert event.detail["media_url"] == "https://example.org/p.jpg"
        assert db.session.scalar(select(Open311Client.last_used_at)) is not None
    # The token resolves to the request, in both formats.
    tokens = _json(client.get(f"{BASE}/tokens/{token}.json"))
    assert tokens == [{"service_request_id": code, "token": token}]
    root = _xml(client.get(f"{BASE}/tokens/{token}.xml"))
    assert root.tag == "service_requests" and _tags(root[0]) == ["service_request_id", "token"]
    assert root[0].find("service_request_id").text == code


def test_a_retried_post_with_the_same_idempotency_key_answers_the_first_request(world):
    app, _clock, client, _ = world
    first = _json(_post(client, headers={"Idempotency-Key": "app-42-report-7"}))[0]
    again = _json(_post(client, "json", headers={"Idempotency-Key": "app-42-report-7"}))[0]
    assert (again["service_request_id"], again["token"]) == (first["service_request_id"], first["token"])
    other = _json(_post(client, headers={"Idempotency-Key": "app-42-report-8"}))[0]
    assert other["service_request_id"] != first["service_request_id"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 2
    assert _post(client, headers={"Idempotency-Key": "k" * 81}).status_code == 400


def test_location_by_address_string_or_address_id(world):
    app, _clock, client, _ = world
    by_name = _post(client, lat=None, long=None, address_string="45 Nguyễn Tất Thành, phuong Tan Lap, Đắk Lắk")
    by_id = _post(client, lat=None, long=None, address_id="X-HOA-PHU")
    english = _post(client, lat=None, long=None, address_string="Near the market, Ea Kao Ward")
    codes = [_json(r)[0]["service_request_id"] for r in (by_name, by_id, english)]
    with app.app_context():
        places = [db.session.scalar(select(Case).where(Case.code == c)).admin_unit.code for c in codes]
    assert places == ["P-TAN-LAP", "X-HOA-PHU", "P-EA-KAO"]
    detail = _json(client.get(f"{BASE}/requests/{codes[0]}.json"))[0]
    assert detail["lat"] is None and detail["address_id"] == "P-TAN-LAP"
    assert detail["address"] == "Phường Tân Lập"  # the ward it names, not the house (kept for officials)


BAD_POSTS = [
    ("missing api_key", {"api_key": None}, 403),
    ("wrong api_key", {"api_key": "not-a-key"}, 403),
    ("missing service_code", {"service_code": None}, 400),
    ("unknown service_code", {"service_code": "rockets"}, 400),
    ("no location", {"lat": None, "long": None}, 400),
    ("lat without long", {"long": None}, 400),
    ("lat not a number", {"lat": "north"}, 400),
    ("lat out of range", {"lat": "123"}, 400),
    ("outside the province", {"lat": "21.03", "long": "105.85"}, 400),
    ("address naming no commune", {"lat": None, "long": None, "address_string": "somewhere"}, 400),
    ("unknown address_id", {"lat": None, "long": None, "address_id": "NOWHERE"}, 400),
    ("required attribute missing", {"service_code": "trees_parks"}, 400),
    ("required attribute not yes/no", {"service_code": "trees_parks", "attribute[fallen]": "maybe"}, 400),
    ("number attribute not a number", {"attribute[lights_out]": "many"}, 400),
    ("choice attribute not a choice", {"attribute[extent]": "galaxy"}, 400),
    ("bad email", {"email": "not an address"}, 400),
    ("bad phone", {"phone": "call me"}, 400),
    ("NUL in the description", {"description": "bad\x00byte"}, 400),
    ("description too long", {"description": "x" * 4001}, 400),
    ("another jurisdiction", {"jurisdiction_id": "hanoi.gov.vn"}, 404),
]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_refused_posts_answer_per_spec_and_start_no_case(world, fmt):
    app, _clock, client, _ = world
    before = _cases(app)
    for name, fields, expected in BAD_POSTS:
        response = _post(client, fmt, **fields)
        assert response.status_code == expected, f"{name}: {response.status_code} {response.get_data(as_text=True)}"
        code, description = _error(response, fmt)
        assert code == expected and description, name
    assert _cases(app) == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CaseEvent)) == 0


def test_refusals_name_the_field_and_speak_the_callers_language(world):
    _app, _clock, client, _ = world
    body = _json(_post(client, service_code="trees_parks", email="nope"))
    descriptions = " ".join(e["description"] for e in body)
    assert "attribute[fallen]" in descriptions and "email" in descriptions
    assert "bắt buộc" in descriptions  # Vietnamese by default
    english = _json(client.post(f"{BASE}/requests.json?lang=en", data={"service_code": "traffic"}))
    assert english[0]["description"].startswith("api_key is required")
    vietnamese = _json(client.post(f"{BASE}/requests.json", data={"service_code": "traffic"}))
    assert vietnamese[0]["code"] == 403 and not vietnamese[0]["description"].startswith("api_key is required")


def test_a_revoked_key_is_refused(world):
    app, _clock, client, _ = world
    with app.app_context():
        service = _open311(app)
        info, key = service.create_client("Ứng dụng Đắk Lắk 311")
    assert _post(client, api_key=key).status_code == 200
    with app.app_context():
        _open311(app).revoke_client(info.id)
    before = _cases(app)
    response = _post(client, api_key=key)
    assert response.status_code == 403 and _error(response, "json")[0] == 403
    assert _cases(app) == before


def test_jurisdiction_id_ours_or_none_is_accepted(world):
    _app, _clock, client, _ = world
    assert client.get(f"{BASE}/services.json?jurisdiction_id=daklak.gov.vn").status_code == 200
    assert _post(client, jurisdiction_id="daklak.gov.vn").status_code == 200
    for fmt in ("json", "xml"):
        response = client.get(f"{BASE}/requests.{fmt}?jurisdiction_id=hcmc.gov.vn")
        assert response.status_code == 404 and _error(response, fmt)[0] == 404


def test_unknown_format_address_and_method_answer_in_the_spec_form(world):
    _app, _clock, client, _ = world
    response = client.get(f"{BASE}/services.csv")
    assert response.status_code == 400 and _error(response, "json")[0] == 400
    response = client.get(f"{BASE}/nowhere.xml")
    assert response.status_code == 404 and _error(response, "xml")[0] == 404
    response = client.client.delete(f"{BASE}/requests.json")
    assert response.status_code == 405 and _error(response, "json")[0] == 405


def test_posts_are_rate_limited_per_key_and_address(db_url, tmp_path):
    app = make_workspace_app(db_url, FrozenClock(), RATELIMIT_ENABLED=True, OPEN311_RATE_LIMIT="2 per minute",
                             FILES_DIR=str(tmp_path / "files"))
    with app.app_context():
        _open311(app).seed_demo_client()
    client = app.test_client()
    assert [_post(client).status_code for _ in range(2)] == [200, 200]
    limited = _post(client, "xml")
    assert limited.status_code == 429 and _error(limited, "xml")[0] == 429
    assert client.get(f"{BASE}/services.json").status_code == 200  # reading is not limited
    with app.app_context():
        db.engine.dispose()


# --------------------------------------------------------------------------- GET requests
def test_get_requests_filters_and_defaults(world):
    app, clock, client, _ = world
    old = _json(_post(client, service_code="traffic", **{"attribute[hazard]": "pothole"}))[0]["service_request_id"]
    clock.advance(days=100)
    lights = _json(_post(client))[0]["service_request_id"]
    clock.advance(hours=1)
    water = _json(_post(client, service_code="water_drainage", **{"attribute[flooding]": "yes"}))[0][
        "service_request_id"]
    clock.advance(hours=1)

    def ids(query: str = "", fmt: str = "json") -> list[str]:
        response = client.get(f"{BASE}/requests.{fmt}{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        if fmt == "xml":
            root = _xml(response)
            assert root.tag == "service_requests" and all(_tags(r) == REQUEST_ORDER for r in root)
            return [r.find("service_request_id").text for r in root]
        body = _json(response)
        assert all(list(r) == REQUEST_ORDER for r in body)
        return [r["service_request_id"] for r in body]

    # Without dates: the last 90 days, newest first.
    assert ids() == [water, lights] and ids(fmt="xml") == [water, lights]
    # By ids (a comma list; the other filters are then ignored), whatever their age.
    assert ids(f"?service_request_id={old},{lights}&status=closed") == [lights, old]
    assert ids("?service_code=water_drainage") == [water]
    assert ids("?service_code=water_drainage,street_lighting") == [water, lights]
    start = (clock.now() - timedelta(days=101)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(f"?start_date={start}") == [old]  # a start alone spans 90 days from it
    end = (clock.now() - timedelta(minutes=90)).isoformat()
    assert ids("?end_date=" + end.replace("+", "%2B")) == [lights]
    assert ids(f"?start_date={start}&end_date={clock.now().date().isoformat()}T23:59:59Z") == [water, lights, old]
    assert ids("?status=open") == [water, lights] and ids("?status=closed") == []
    assert ids("?status=open,closed") == [water, lights]
    assert ids("?service_request_id=PA-1999-000001") == []


@pytest.mark.parametrize("query", ["start_date=yesterday", "end_date=2026-13-45", "start_date=2026-05-01T25:00:00Z",
                                   "status=pending", "start_date=2026-05-02&end_date=2026-05-01",
                                   "start_date=0001-01-01"])
def test_bad_filters_are_400_in_both_formats(world, query):
    _app, _clock, client, _ = world
    for fmt in ("json", "xml"):
        response = client.get(f"{BASE}/requests.{fmt}?{query}")
        assert response.status_code == 400, (query, response.get_data(as_text=True))
        assert _error(response, fmt)[0] == 400


def test_request_by_id_and_unknown_ids_and_tokens(world):
    _app, _clock, client, _ = world
    code = _json(_post(client))[0]["service_request_id"]
    body = _json(client.get(f"{BASE}/requests/{code}.json"))
    assert len(body) == 1 and list(body[0]) == REQUEST_ORDER
    request = body[0]
    assert (request["service_request_id"], request["status"], request["service_code"]) == (code, "open", "street_lighting")
    assert request["service_name"] == "Điện chiếu sáng" and isinstance(request["lat"], float)
    assert request["requested_datetime"].endswith("+07:00")
    with _app.app_context():  # until routing, the triage deadline
        due = db.session.scalar(select(Case.due_at).where(Case.code == code))
    assert request["expected_datetime"] == due.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).isoformat(timespec="seconds")
    root = _xml(client.get(f"{BASE}/requests/{code}.xml"))
    assert root.tag == "service_requests" and _tags(root) == ["request"] and _tags(root[0]) == REQUEST_ORDER
    for fmt in ("json", "xml"):
        missing = client.get(f"{BASE}/requests/PA-2026-999999.{fmt}")
        assert missing.status_code == 404 and _error(missing, fmt)[0] == 404
        unknown = client.get(f"{BASE}/tokens/0123456789abcdef.{fmt}")
        assert unknown.status_code == 404 and _error(unknown, fmt)[0] == 404


# --------------------------------------------------------------------------- a request's life
def test_a_request_followed_to_publication_reopening_and_closing(world):
    app, clock, client, answers = world
    posted = _json(_post(client, **REPORTER, description="Đèn hỏng. Tôi là Trần Thị Hoa, gọi 0987654321"))[0]
    code = posted["service_request_id"]

    def status() -> dict:
        json_body = _json(client.get(f"{BASE}/requests/{code}.json"))[0]
        xml_body = _xml(client.get(f"{BASE}/requests/{code}.xml"))[0]
        assert xml_body.find("status").text == json_body["status"]
        assert (xml_body.find("status_notes").text or "") == json_body["status_notes"]
        return json_body

    first = status()
    assert (first["status"], first["status_notes"], first["agency_responsible"]) == ("open", "", "")
    assert "Trần Thị Hoa" not in first["description"] and "[đã ẩn]" in first["description"]

    # Triage by the IOC: routed to the ward, with the SLA deadline as expected_datetime.
    clock.advance(hours=1)
    _complete(app, code, {"decision": "accept"}, "dtv1")
    routed = status()
    with app.app_context():
        due = db.session.scalar(select(Case.due_at).where(Case.code == code))
    assert routed["status"] == "open" and routed["agency_responsible"] == "Phường Buôn Ma Thuột"
    assert routed["expected_datetime"] == due.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).isoformat(timespec="seconds")
    assert routed["updated_datetime"] > routed["requested_datetime"]
    in_english = _json(client.get(f"{BASE}/requests/{code}.json?lang=en"))[0]
    assert in_english["agency_responsible"] == "Buôn Ma Thuột Ward"

    # The ward resolves it; the resolution is published with personal data removed: closed, with notes.
    clock.advance(hours=5)
    _complete(app, code, {"outcome": "resolved", "resolution": "Đã thay 3 bóng đèn. Đã báo chị Trần Thị Hoa qua 0987654321."},
              "cb.buonmathuot")
    published = status()
    assert published["status"] == "closed"
    assert published["status_notes"].startswith("Đã thay 3 bóng đèn")
    assert "0987654321" not in published["status_notes"] and "Trần Thị Hoa" not in published["status_notes"]
    assert published["media_url"] is None  # no public photo was added
    closed_ids = [r["service_request_id"] for r in _json(client.get(f"{BASE}/requests.json?status=closed"))]
    assert code in closed_ids

    # The citizen says it is not resolved: reopened, open again, the publication withdrawn.
    clock.advance(days=1)
    with app.app_context():
        app.extensions["ioc"].services(db.session).cases.citizen_feedback(code, False, "Vẫn tối")
    reopened = status()
    assert reopened["status"] == "open" and reopened["status_notes"] == ""
    assert reopened["expected_datetime"] != published["expected_datetime"]
    open_ids = [r["service_request_id"] for r in _json(client.get(f"{BASE}/requests.json?status=open"))]
    assert code in open_ids

    # Resolved again, and this time the citizen is satisfied: closed for good.
    _complete(app, code, {"outcome": "resolved", "resolution": "Đã thay toàn bộ dây dẫn."}, "cb.buonmathuot")
    with app.app_context():
        app.extensions["ioc"].services(db.session).cases.citizen_feedback(code, True)
    final = status()
    assert final["status"] == "closed" and final["status_notes"] == "Đã thay toàn bộ dây dẫn."
    with app.app_context():
        assert db.session.scalar(select(Case.status).where(Case.code == code)) == "closed"

    # Privacy: none of the reporter's details ever left through Open311.
    client.get(f"{BASE}/requests.json")
    client.get(f"{BASE}/requests.xml")
    client.get(f"{BASE}/tokens/{posted['token']}.json")
    leaks = [(value, body[:200]) for body in answers for value in PRIVATE_VALUES if value in body]
    assert not leaks


def test_photos_sent_as_media_are_published_with_the_resolution(world):
    app, _clock, client, answers = world
    photo = jpeg_with_gps()
    data = {"api_key": DEMO_API_KEY, "service_code": "street_lighting", "lat": "12.668", "long": "108.041",
            "description": "Cột đèn nghiêng", "media": (io.BytesIO(photo), "IMG_0042.jpg", "image/jpeg")}
    posted = client.post(f"{BASE}/requests.json", data=data, content_type="multipart/form-data")
    assert posted.status_code == 200, posted.get_data(as_text=True)
    code = _json(posted)[0]["service_request_id"]
    assert _json(client.get(f"{BASE}/requests/{code}.json"))[0]["media_url"] is None  # not published yet
    _complete(app, code, {"decision": "accept"}, "dtv1")
    _complete(app, code, {"outcome": "resolved", "resolution": "Đã dựng lại cột đèn."}, "cb.buonmathuot")
    media_url = _json(client.get(f"{BASE}/requests/{code}.json"))[0]["media_url"]
    assert media_url and media_url.startswith("http://localhost/")
    assert _xml(client.get(f"{BASE}/requests/{code}.xml"))[0].find("media_url").text == media_url
    picture = client.client.get(media_url.removeprefix("http://localhost"))
    assert picture.status_code == 200 and picture.content_type == "image/jpeg"
    assert picture.data != photo and b"Nguyen Van An" not in picture.data  # the public copy, without EXIF
    # A program dressed as a photo is refused and starts no case.
    before = _cases(app)
    disguised = dict(data, media=(io.BytesIO(b"MZ\x90\x00" + b"\x00" * 200), "photo.jpg", "image/jpeg"))
    refused = client.post(f"{BASE}/requests.xml", data=disguised, content_type="multipart/form-data")
    assert refused.status_code == 400 and _error(refused, "xml")[1].startswith("media")
    assert _cases(app) == before


def test_the_demo_key_is_seeded_once(world):
    app, _clock, _client, _ = world
    with app.app_context():
        assert _open311(app).seed_demo_client() is False
        assert db.session.scalar(select(func.count()).select_from(Open311Client)) == 1


def test_cli_creates_lists_and_revokes_keys(world, db_url):
    from click.testing import CliRunner

    from webapp.cli import main

    def ioc(*args):
        return CliRunner().invoke(main, ["open311", *args], env={"IOC_DATABASE_URL": db_url, "IOC_LANG": "en"},
                                  catch_exceptions=False)

    app, _clock, client, _ = world
    made = ioc("create-key", "Ứng dụng Buôn Ma Thuột")
    assert made.exit_code == 0 and "cannot be shown again" in made.stderr
    key = made.stdout.strip()  # the key alone on stdout: KEY=$(ioc open311 create-key …) works
    assert key.startswith("o311_") and "\n" not in key and key not in made.stderr
    with app.app_context():
        # Checked without opening a case: an eager Celery task queued now would run in the CLI's app.
        assert _open311(app).client_of(key).name == "Ứng dụng Buôn Ma Thuột"
    listed = ioc("list")
    assert "Ứng dụng Buôn Ma Thuột" in listed.stdout and "active" in listed.stdout and key not in listed.stdout
    client_id = listed.stdout.split()[0]
    assert ioc("revoke", client_id).exit_code == 0 and "revoked" in ioc("list").stdout
    assert _post(client, api_key=key).status_code == 403
    for args, reason in ((("revoke", "999"), "no Open311 client 999"), (("create-key", " "), "give the client a name")):
        result = ioc(*args)
        assert result.exit_code == 1 and reason in result.stderr, args


def test_requests_show_the_commune_and_a_rounded_position_never_the_typed_address(world):
    """GET requests publishes what the public map does: a position rounded to about 10 m and the commune or
    ward, not the exact point nor the house the citizen typed."""
    app, _clock, client, _ = world
    response = _post(client, lat="12.667512345", long="108.037898765", address_string="số 7 ngõ 4 Hùng Vương")
    code = _json(response)[0]["service_request_id"]
    for fmt in ("json", "xml"):
        answer = client.get(f"{BASE}/requests/{code}.{fmt}")
        if fmt == "json":
            shown = _json(answer)[0]
        else:
            shown = {child.tag: child.text for child in _xml(answer)[0]}
        assert (float(shown["lat"]), float(shown["long"])) == (12.6675, 108.0379)
        assert "Hùng Vương" not in answer.get_data(as_text=True) and "12.667512345" not in answer.get_data(as_text=True)
        assert shown["address"] == "Phường Buôn Ma Thuột" and shown["address_id"] == "P-BUON-MA-THUOT"
    with app.app_context():  # the officials still have the exact point and the address
        case = db.session.scalar(select(Case).where(Case.code == code))
        assert (case.lat, case.lon, case.address) == (12.667512345, 108.037898765, "số 7 ngõ 4 Hùng Vương")
