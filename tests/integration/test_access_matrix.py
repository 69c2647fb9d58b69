"""Role × endpoint matrix: every route refuses the roles and units that must not reach it and lets in the rest.

One case of ward Buôn Ma Thuột for the pages, another for the API. People: a visitor, a citizen, a
process designer, the ward's officer / head / leader, an officer of another ward and of a department,
the IOC's operator and head, the province's leader and the administrator. Refused means a redirect
to sign-in (visitors of pages), 401 (visitors of the API), 403 or 404; never a 500. A new route that
is not in this matrix fails the completeness test.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.clock import FrozenClock
from tests.media_samples import png
from tests.workspace import csrf_of, make_workspace_app, new_case, open_task, sign_in
from webapp.extensions import db
from workflows.models import Open311Client, SavedFilter, User

PEOPLE = {
    "visitor": None, "citizen": "dan.tranthimai", "designer": "thietke",
    "officer": "cb.buonmathuot", "head": "tp.buonmathuot", "leader": "ld.buonmathuot",
    "other_ward": "cb.tanlap", "department": "cb.sxd",
    "operator": "dtv1", "ioc_head": "tp.ioc", "province_leader": "ct.ubnd", "admin": "admin",
}
SIGNED = set(PEOPLE) - {"visitor"}
OFFICIALS = SIGNED - {"citizen", "designer"}
# Who sees the ward's case: its unit, its place, the IOC (the province), the province's leaders, admin.
CASE_SEERS = {"officer", "head", "leader", "operator", "ioc_head", "province_leader", "admin"}
EVERYONE = set(PEOPLE)
# Who reports indicator values (webapp.blueprints.monitoring.REPORTERS: officers, unit heads, operators, admin).
REPORTER_PEOPLE = {"officer", "head", "other_ward", "department", "operator", "ioc_head", "admin"}
# Who reads the leaders' page (webapp.blueprints.leaders.ROLES: leaders and administrators).
LEADERS = {"leader", "province_leader", "admin"}
PNG = png((4, 4))  # a real photo: files are checked by their content


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The app, the people's signed-in clients, and the ids the routes take."""
    folder = tmp_path_factory.mktemp("matrix")
    app = make_workspace_app(f"sqlite:///{folder / 'matrix.sqlite3'}", FrozenClock(), FILES_DIR=str(folder / "files"))
    page_case, api_case = new_case(app, key="matrix-page"), new_case(app, key="matrix-api")
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        attachment = services.cases.add_attachment(page_case, "den.png", "image/png", PNG, uploaded_by="dtv1").id
        api_attachment = services.cases.add_attachment(api_case, "den.png", "image/png", PNG, uploaded_by="dtv1").id
        ward = db.session.scalar(select(User).where(User.username == "cb.buonmathuot"))
        saved = SavedFilter(unit_id=ward.unit_id, owner_id=ward.id, name="Chiếu sáng", query={"category": "street_lighting"})
        db.session.add(saved)
        db.session.commit()
        saved_id = saved.id
        from workflows.open311_service import DEMO_API_KEY, NewRequest, Open311Service  # the demo's api_key

        open311 = Open311Service(db.session, services.cases)
        open311.seed_demo_client()
        open311_token = open311.submit(NewRequest(api_key=DEMO_API_KEY, service_code="street_lighting",
                                                  address_id="P-BUON-MA-THUOT")).token
    # A resolved and published case: its public page, photo and rating form.
    public_case = new_case(app, key="matrix-public")
    handle = open_task(app, public_case).id
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        public_attachment = services.cases.add_attachment(public_case, "sau.png", "image/png", PNG,
                                                          uploaded_by="cb.buonmathuot", stage="resolution").id
        services.cases.complete_task(handle, {"outcome": "resolved", "resolution": "Đã thay bóng đèn."},
                                     actor="cb.buonmathuot")
    clients = {}
    for who, username in PEOPLE.items():
        client = app.test_client()
        if username:
            assert sign_in(client, username).status_code == 302, who
        clients[who] = client
    ids = {"code": page_case, "task": open_task(app, page_case).id, "attachment": attachment, "filter": saved_id,
           "api_code": api_case, "api_task": open_task(app, api_case).id, "api_attachment": api_attachment,
           "open311_token": open311_token}
    ids.update(public_code=public_case, public_attachment=public_attachment)
    with app.app_context():  # the console's targets: the administrator's own account, the demo's Open311 key, a token
        from workflows.open311_service import DEMO_CLIENT_NAME
        from workflows.tokens import TokenService

        ids["admin_user"] = db.session.scalar(select(User.id).where(User.username == "admin"))
        ids["open311_client"] = db.session.scalar(select(Open311Client.id).where(Open311Client.name == DEMO_CLIENT_NAME))
        ids["api_token"] = TokenService(db.session).create("admin", "matrix")[0].id
        # A failed step for the incidents page: a script reading a variable the process never had.
        from tests.bpmn_factory import process, script, user

        services = app.extensions["ioc"].services(db.session)
        services.definitions.deploy({"needs.bpmn": process("needs", [script(0, "y = missing + 1"), user(1)],
                                                           {"officer": ["s1"]})})
        stuck = services.instances.start("needs", {})
        db.session.commit()
        ids["incident"] = services.incidents.list("open").rows[0].id
        assert stuck.status == "error"
        from workflows.designer.drafts import DraftService  # a designer's draft for the modeler's routes

        ids["draft"] = DraftService(db.session, FrozenClock()).save(title="t", files={"a.bpmn": "<x/>"}, actor="thietke").id
        db.session.commit()
        from engine.models import ProcessDefinition  # a migration job for the migrate routes (it moves nobody)
        from workflows.models import MigrationJob

        job = MigrationJob(process_key="field_report", target_definition_id=db.session.scalar(select(
            ProcessDefinition.id).where(ProcessDefinition.process_key == "field_report")), target_version=1,
            created_by="thietke")
        db.session.add(job)
        db.session.commit()
        ids["migration_job"] = job.id
        from tests.monitoring_views_data import seed_monitoring  # an indicator, a ward's value, a target

        ids.update(seed_monitoring(db.session))
        from workflows.monitoring.models import Upload  # a file the IOC's operator checked: theirs and admin's

        checked = Upload(filename="matrix.csv", sha256="0" * 64, kind="csv", uploaded_by="dtv1", report={"good": []})
        db.session.add(checked)
        db.session.commit()
        ids["kpi_upload"] = checked.id
        import cv2  # a camera whose stream is a JPEG file: its snapshot answers at once
        import numpy

        from workflows.cameras.registry import CameraForm, CameraRegistry

        picture = folder / "camera.jpg"
        cv2.imwrite(str(picture), numpy.full((90, 160, 3), 120, numpy.uint8))
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        ids["camera"] = CameraRegistry(db.session, FrozenClock()).create(admin, CameraForm(
            code="MATRIX-CAM", name="Camera ma trận", name_en="Matrix camera", admin_unit="P-BUON-MA-THUOT",
            maintainer_unit="IOC-DLK", stream_url=str(picture), read_mode="snapshot")).code
    yield app, clients, ids
    with app.app_context():
        db.engine.dispose()


# (endpoint, method, path, admitted, request arguments, not checked: people whose answer depends on order)
# Actions that change state come in an order where each admitted person meets the state they need.
ROUTES = [
    ("home.index", "GET", "/", EVERYONE, {}, set()),
    ("designer.compare", "GET", "/designer/compare?key=field_report&a=1&b=1", {"admin", "designer"}, {}, set()),
    ("designer.instances", "GET", "/designer/instances", {"admin", "designer"}, {}, set()),
    ("designer.instances_view", "GET", "/designer/instances/{code}", {"admin", "designer"}, {}, set()),
    ("home.healthz", "GET", "/healthz", EVERYONE, {}, set()),
    ("auth.login", "GET", "/login", EVERYONE, {}, set()),
    ("auth.language", "POST", "/language", EVERYONE, {"data": {"lang": "vi", "next": "/"}}, set()),
    ("static", "GET", "/static/css/app.css", EVERYONE, {}, set()),
    ("api.openapi_document", "GET", "/api/v1/openapi.json", EVERYONE, {}, set()),
    ("tasklist.index", "GET", "/tasks/?tab=unit", OFFICIALS, {}, set()),
    ("tasklist.fragment", "GET", "/tasks/fragment?tab=overdue", OFFICIALS, {}, set()),
    ("tasklist.task", "GET", "/tasks/{task}", CASE_SEERS, {}, set()),
    ("tasklist.save_filter", "POST", "/tasks/filters", OFFICIALS, {"data": {"name": ""}}, set()),
    ("tasklist.delete_filter", "POST", "/tasks/filters/{filter}/delete", {"head"}, {}, {"officer", "leader"}),
    ("tasklist.claim", "POST", "/tasks/{task}/claim", {"officer"}, {}, set()),
    ("tasklist.release", "POST", "/tasks/{task}/release", {"officer"}, {}, {"head", "admin"}),
    ("tasklist.reassign", "POST", "/tasks/{task}/reassign", {"head", "admin"},
     {"data": {"assignee": "cb.buonmathuot"}}, set()),
    ("tasklist.complete", "POST", "/tasks/{task}/complete", {"officer"}, {"data": {}}, set()),
    ("cases.index", "GET", "/cases/", OFFICIALS, {}, set()),
    ("cases.case", "GET", "/cases/{code}", CASE_SEERS, {}, set()),
    ("cases.diagram", "GET", "/cases/{code}/diagram.json", CASE_SEERS, {}, set()),
    ("cases.attachment", "GET", "/cases/{code}/attachments/{attachment}", CASE_SEERS, {}, set()),
    ("cases.thumbnail", "GET", "/cases/{code}/attachments/{attachment}/thumbnail", CASE_SEERS, {}, set()),
    ("cases.comment", "POST", "/cases/{code}/comments", CASE_SEERS, {"data": {"body": ""}}, set()),
    ("cases.upload", "POST", "/cases/{code}/attachments", CASE_SEERS, {"data": {}}, set()),
    # A dossier in a language not offered answers 400 to those who see the case; a job that does not exist 404.
    ("cases.dossier", "POST", "/cases/{code}/dossier", CASE_SEERS, {"data": {"language": "xx"}}, set()),
    ("cases.dossier_job", "GET", "/cases/{code}/dossier/999999999", CASE_SEERS, {}, CASE_SEERS),
    ("dashboard.index", "GET", "/dashboard/", OFFICIALS, {}, set()),
    ("dashboard.data", "GET", "/dashboard/data.json", OFFICIALS, {}, set()),
    ("notifications.index", "GET", "/notifications/", SIGNED, {}, set()),
    ("notifications.count", "GET", "/notifications/count", SIGNED, {}, set()),
    ("notifications.mark_read", "POST", "/notifications/read", SIGNED, {"data": {"all": "1"}}, set()),
    ("api.me", "GET", "/api/v1/me", SIGNED, {}, set()),
    ("api.tasks", "GET", "/api/v1/tasks?tab=unit", OFFICIALS, {}, set()),
    ("api.task", "GET", "/api/v1/tasks/{api_task}", CASE_SEERS, {}, set()),
    ("api.claim", "POST", "/api/v1/tasks/{api_task}/claim", {"officer"}, {"json": {}}, set()),
    ("api.release", "POST", "/api/v1/tasks/{api_task}/release", {"officer"}, {"json": {}}, {"head", "admin"}),
    ("api.reassign", "POST", "/api/v1/tasks/{api_task}/reassign", {"head", "admin"},
     {"json": {"assignee": "cb.buonmathuot"}}, set()),
    ("api.complete", "POST", "/api/v1/tasks/{api_task}/complete", {"officer"}, {"json": {"data": {}}}, set()),
    ("api.cases", "GET", "/api/v1/cases", OFFICIALS, {}, set()),
    ("api.case", "GET", "/api/v1/cases/{api_code}", CASE_SEERS, {}, set()),
    ("api.case_timeline", "GET", "/api/v1/cases/{api_code}/timeline", CASE_SEERS, {}, set()),
    ("api.case_comments", "GET", "/api/v1/cases/{api_code}/comments", CASE_SEERS, {}, set()),
    ("api.add_case_comment", "POST", "/api/v1/cases/{api_code}/comments", CASE_SEERS, {"json": {"body": ""}}, set()),
    ("api.case_attachments", "GET", "/api/v1/cases/{api_code}/attachments", CASE_SEERS, {}, set()),
    ("api.upload_case_file", "POST", "/api/v1/cases/{api_code}/attachments", CASE_SEERS, {"data": {}}, set()),
    ("api.case_file", "GET", "/api/v1/cases/{api_code}/attachments/{api_attachment}", CASE_SEERS, {}, set()),
    ("api.notifications", "GET", "/api/v1/notifications", SIGNED, {}, set()),
    ("api.mark_read", "POST", "/api/v1/notifications/read", SIGNED, {"json": {"all": True}}, set()),
    # Open311 GeoReport v2: public; a POST needs only a valid api_key (no account, no CSRF token).
    ("open311.discovery", "GET", "/open311/v2/discovery.json", EVERYONE, {}, set()),
    ("open311.services", "GET", "/open311/v2/services.xml", EVERYONE, {}, set()),
    ("open311.service_definition", "GET", "/open311/v2/services/street_lighting.json", EVERYONE, {}, set()),
    ("open311.requests", "GET", "/open311/v2/requests.json", EVERYONE, {}, set()),
    ("open311.post_request", "POST", "/open311/v2/requests.json", EVERYONE,
     {"data": {"api_key": "demo-open311-daklak", "service_code": "street_lighting", "lat": "12.668", "long": "108.041",
               "description": "Đèn đường không sáng"}}, set()),
    ("open311.request_by_id", "GET", "/open311/v2/requests/{code}.xml", EVERYONE, {}, set()),
    ("open311.token", "GET", "/open311/v2/tokens/{open311_token}.json", EVERYONE, {}, set()),
    # Published resolutions and performance: public. Rating needs the follow key (no one here has it).
    ("public.index", "GET", "/resolutions/?category=street_lighting", EVERYONE, {}, set()),
    ("public.map_data", "GET", "/resolutions/map.json", EVERYONE, {}, set()),
    ("public.performance", "GET", "/resolutions/performance?days=30", EVERYONE, {}, set()),
    ("public.detail", "GET", "/resolutions/{public_code}", EVERYONE, {}, set()),
    ("public.media", "GET", "/resolutions/{public_code}/media/{public_attachment}?size=thumb", EVERYONE, {}, set()),
    ("public.rate", "POST", "/resolutions/{public_code}/rate", set(), {"data": {"satisfied": "1", "key": "x"}}, set()),
    # Merging duplicates: operators, unit heads and administrators who see the case (an empty code: 400).
    ("cases.merge", "POST", "/cases/{code}/merge", {"head", "operator", "ioc_head", "admin"}, {"data": {"into": ""}},
     set()),
    # The 1022 hotline console: operators (and administrators standing in); an empty call is refused with 400.
    ("hotline.console", "GET", "/hotline/", {"operator", "admin"}, {}, set()),
    ("hotline.history", "GET", "/hotline/history?phone=0912345678", {"operator", "admin"}, {}, set()),
    ("hotline.duplicates", "GET", "/hotline/duplicates?category=street_lighting&place=P-BUON-MA-THUOT",
     {"operator", "admin"}, {}, set()),
    ("hotline.take_call", "POST", "/hotline/calls", {"operator", "admin"}, {"data": {"phone": ""}}, set()),
    # The citizens' portal: open to everyone; stopping emails needs the follow key or the citizen who follows.
    ("portal.report", "GET", "/report", EVERYONE, {}, set()),
    ("portal.report", "POST", "/report", EVERYONE, {"data": {"title": "x"}}, set()),
    ("portal.nearby", "GET", "/report/nearby.json?category=street_lighting&place=P-BUON-MA-THUOT", EVERYONE, {}, set()),
    ("portal.track_lookup", "GET", "/track?code={code}", EVERYONE, {}, set()),
    ("portal.track", "GET", "/track/{code}", EVERYONE, {}, set()),
    ("portal.follow", "POST", "/track/{code}/follow", EVERYONE, {"data": {}}, set()),
    ("portal.unsubscribe", "POST", "/track/{code}/unsubscribe", {"citizen"}, {"data": {"key": "not-a-key"}}, set()),
    ("portal.register", "GET", "/account/register", EVERYONE, {}, set()),
    ("portal.register", "POST", "/account/register", EVERYONE, {"data": {"username": ""}}, set()),
    ("portal.my_reports", "GET", "/my-reports", SIGNED, {}, set()),
    # The administration console: administrators only (sections for other roles say so themselves).
    ("admin.index", "GET", "/admin/", {"admin", "designer"}, {}, set()),  # designers: the incidents section
    ("admin.audit", "GET", "/admin/audit?actor=admin&since=2026-01-01", {"admin"}, {}, set()),
    # Users, keys and status: refusals of the administrator's own forms answer 400 (their own account is the target).
    ("admin.users", "GET", "/admin/users?q=tan&role=officer&unit=P-TAN-LAP&status=active", {"admin"}, {}, set()),
    ("admin.users_new", "GET", "/admin/users/new", {"admin"}, {}, set()),
    ("admin.users_new", "POST", "/admin/users/new", {"admin"}, {"data": {"username": ""}}, set()),
    ("admin.users_detail", "GET", "/admin/users/{admin_user}", {"admin"}, {}, set()),
    ("admin.users_edit", "POST", "/admin/users/{admin_user}/edit", {"admin"}, {"data": {"full_name": ""}}, set()),
    ("admin.users_disable", "POST", "/admin/users/{admin_user}/disable", {"admin"}, {}, set()),
    ("admin.users_enable", "POST", "/admin/users/{admin_user}/enable", {"admin"}, {}, set()),
    ("admin.users_password", "POST", "/admin/users/{admin_user}/password", {"admin"}, {"data": {"password": "short"}},
     set()),
    ("admin.users_grant", "POST", "/admin/users/{admin_user}/roles", {"admin"}, {"data": {"role": ""}}, set()),
    ("admin.users_revoke", "POST", "/admin/users/{admin_user}/roles/999999999/revoke", {"admin"}, {}, set()),
    ("admin.keys", "GET", "/admin/keys", {"admin"}, {}, set()),
    ("admin.keys_open311_create", "POST", "/admin/keys/open311", {"admin"}, {"data": {"name": ""}}, set()),
    ("admin.keys_open311_revoke", "POST", "/admin/keys/open311/{open311_client}/revoke", {"admin"}, {}, set()),
    ("admin.keys_token_create", "POST", "/admin/keys/tokens", {"admin"}, {"data": {"username": ""}}, set()),
    ("admin.keys_token_revoke", "POST", "/admin/keys/tokens/{api_token}/revoke", {"admin"}, {}, set()),
    ("admin.status", "GET", "/admin/status", {"admin"}, {}, set()),
    # Alert sources: administrators (an empty form answers 400; a source that does not exist answers them 404).
    ("admin.alert_sources", "GET", "/admin/alert-sources", {"admin"}, {}, set()),
    ("admin.alert_sources_create", "POST", "/admin/alert-sources", {"admin"}, {"data": {"code": ""}}, set()),
    ("admin.alert_sources_rotate", "POST", "/admin/alert-sources/999999999/rotate", {"admin"}, {}, {"admin"}),
    ("admin.alert_sources_active", "POST", "/admin/alert-sources/999999999/disable", {"admin"}, {}, {"admin"}),
    # The alert webhook: machines with a source's token only (no one here has one: 401 for all).
    ("monitoring.alert_hook", "POST", "/monitoring/hooks/alerts", set(), {"data": {}}, set()),
    # Units over time and categories: administrators only (an empty form answers 400; withdrawing a change that is
    # not waiting flashes why; a category that does not exist answers the administrator 404, so unchecked).
    ("admin.units", "GET", "/admin/units", {"admin"}, {}, set()),
    ("admin.units_change", "POST", "/admin/units/merge", {"admin"}, {"data": {"unit": ""}}, set()),
    ("admin.units_cancel", "POST", "/admin/units/changes/999999999/cancel", {"admin"}, {}, set()),
    ("admin.categories", "GET", "/admin/categories", {"admin"}, {}, set()),
    ("admin.categories_new", "GET", "/admin/categories/new", {"admin"}, {}, set()),
    ("admin.categories_new", "POST", "/admin/categories/new", {"admin"}, {"data": {"code": ""}}, set()),
    ("admin.categories_edit", "GET", "/admin/categories/traffic", {"admin"}, {}, set()),
    ("admin.categories_edit", "POST", "/admin/categories/no-such-category", {"admin"}, {"data": {"name": ""}},
     {"admin"}),
    ("admin.categories_active", "POST", "/admin/categories/no-such-category/disable", {"admin"}, {}, {"admin"}),
    # The working calendar: administrators only (refusals of its forms answer 400; removing an exception that
    # does not exist answers the administrator 404, so their answer there is not checked but for a 5xx).
    ("admin.calendar", "GET", "/admin/calendar?year=2027", {"admin"}, {}, set()),
    ("admin.calendar_add", "POST", "/admin/calendar/exceptions", {"admin"}, {"data": {"day": ""}}, set()),
    ("admin.calendar_remove", "POST", "/admin/calendar/exceptions/999999999/delete", {"admin"}, {}, {"admin"}),
    ("admin.calendar_hours", "POST", "/admin/calendar/hours", {"admin"}, {"data": {"periods": ""}}, set()),
    # Incidents: administrators and process designers (a skip without its note answers 400).
    ("admin.deliveries", "GET", "/admin/deliveries?state=dropped&page=99999999999999999999", {"admin"}, {}, set()),
    ("admin.delivery_act", "POST", "/admin/deliveries/999999999/retry", {"admin"}, {}, {"admin"}),
    ("admin.deliveries_retry_all", "POST", "/admin/deliveries/retry-all", {"admin"}, {}, set()),
    ("admin.report_delivery_retry", "POST", "/admin/deliveries/reports/999999999/retry", {"admin"}, {}, {"admin"}),
    ("admin.incidents", "GET", "/admin/incidents?state=all&page=99999999999999999999", {"admin", "designer"}, {}, set()),
    ("admin.incident", "GET", "/admin/incidents/{incident}", {"admin", "designer"}, {}, set()),
    ("admin.act", "POST", "/admin/incidents/{incident}/skip", {"admin", "designer"}, {"data": {"note": ""}}, set()),
    # The process designer's workspace: designers and administrators.
    ("designer.index", "GET", "/designer/", {"admin", "designer"}, {}, set()),
    ("designer.migrate", "GET", "/designer/migrate?key=field_report", {"admin", "designer"}, {}, set()),
    ("designer.migrate_start", "POST", "/designer/migrate/jobs", {"admin", "designer"},
     {"data": {"key": "field_report"}}, set()),  # nothing chosen: back to the page
    ("designer.migrate_job", "GET", "/designer/migrate/jobs/{migration_job}", {"admin", "designer"}, {}, set()),
    ("designer.migrate_rerun", "POST", "/designer/migrate/jobs/{migration_job}/run", {"admin", "designer"}, {}, set()),
    ("designer.replay", "GET", "/designer/replay?key=field_report&version=1", {"admin", "designer"}, {}, set()),
    ("designer.registry_api", "GET", "/designer/api/registry", {"admin", "designer"}, {}, set()),
    ("designer.testrun", "GET", "/designer/test?key=field_report&version=1", {"admin", "designer"}, {}, set()),
    ("designer.testrun_run", "POST", "/designer/api/test/run", {"admin", "designer"}, {}, set()),  # not JSON: 400
    ("designer.testrun_keep", "POST", "/designer/api/test/cases", {"admin", "designer"}, {}, set()),  # not JSON: 400
    ("designer.testrun_cases", "GET", "/designer/test/cases?key=field_report", {"admin", "designer"}, {}, set()),
    ("designer.testrun_run_all", "POST", "/designer/test/cases/run", {"admin", "designer"},
     {"data": {"key": "field_report"}}, set()),  # no kept case: back to the list
    ("designer.testrun_forget", "POST", "/designer/test/cases/99999/delete", {"admin", "designer"}, {}, set()),
    ("designer.library", "GET", "/designer/library", {"admin", "designer"}, {}, set()),
    ("designer.library_deploy", "POST", "/designer/library/deploy", {"admin", "designer"}, {}, set()),  # no file: 422
    ("designer.library_download", "GET", "/designer/library/field_report/1/download", {"admin", "designer"}, {}, set()),
    ("designer.api_deploy", "POST", "/designer/api/deploy", {"admin", "designer"}, {}, set()),  # not JSON: 400
    ("designer.api_check", "POST", "/designer/api/check", {"admin", "designer"}, {}, set()),  # not JSON: 400
    ("designer.api_definition", "GET", "/designer/api/definitions/field_report/1", {"admin", "designer"}, {}, set()),
    ("designer.modeler", "GET", "/designer/model?key=field_report&version=1", {"admin", "designer"}, {}, set()),
    ("designer.modeler_drafts", "GET", "/designer/api/drafts", {"admin", "designer"}, {}, set()),
    ("designer.modeler_draft", "GET", "/designer/api/drafts/{draft}", {"admin", "designer"}, {}, set()),
    ("designer.modeler_save_draft", "POST", "/designer/api/drafts", {"admin", "designer"}, {}, set()),  # not JSON: 400
    # Monitoring views: officials, limited to the units in their view (the ward's value and trend: who sees the
    # ward). The catalogue: officials and designers read it; designers and administrators edit it (an empty form
    # answers 400; the target removed by the designer is gone for the administrator: 404, unchecked).
    ("monitoring.index", "GET", "/monitoring/", OFFICIALS, {}, set()),
    ("monitoring.missing", "GET", "/monitoring/missing", OFFICIALS, {}, set()),
    ("monitoring.trend", "GET", "/monitoring/indicators/{indicator}?unit=P-BUON-MA-THUOT", CASE_SEERS, {}, set()),
    ("monitoring.value", "GET", "/monitoring/values/{kpi_value}", CASE_SEERS, {}, set()),
    ("monitoring.catalogue", "GET", "/monitoring/catalogue", OFFICIALS | {"designer"}, {}, set()),
    ("monitoring.catalogue_new", "GET", "/monitoring/catalogue/new", {"designer", "admin"}, {}, set()),
    ("monitoring.catalogue_new", "POST", "/monitoring/catalogue/new", {"designer", "admin"}, {"data": {"code": ""}},
     set()),
    ("monitoring.catalogue_edit", "GET", "/monitoring/catalogue/{indicator}", OFFICIALS | {"designer"}, {}, set()),
    ("monitoring.catalogue_edit", "POST", "/monitoring/catalogue/{indicator}", {"designer", "admin"},
     {"data": {"name": ""}}, set()),
    ("monitoring.catalogue_target", "POST", "/monitoring/catalogue/{indicator}/targets", {"designer", "admin"},
     {"data": {"year": ""}}, set()),
    ("monitoring.catalogue_target_delete", "POST", "/monitoring/catalogue/{indicator}/targets/{kpi_target}/delete",
     {"designer", "admin"}, {}, {"admin"}),
    # Uploading indicator values: officers, unit heads, the IOC's operators and administrators (no file answers
    # 400; an upload is its uploader's and the administrators': others get 404; a choice that is neither keep nor
    # refuse goes back to the report). The API: the same people; an empty list answers 400.
    ("monitoring.upload", "GET", "/monitoring/upload", REPORTER_PEOPLE, {}, set()),
    ("monitoring.upload_check", "POST", "/monitoring/upload", REPORTER_PEOPLE, {"data": {}}, set()),
    ("monitoring.upload_template", "GET", "/monitoring/upload/template.csv", REPORTER_PEOPLE, {}, set()),
    ("monitoring.upload_result", "GET", "/monitoring/uploads/{kpi_upload}", {"operator", "admin"}, {}, set()),
    ("monitoring.upload_decide", "POST", "/monitoring/uploads/{kpi_upload}/decide", {"operator", "admin"},
     {"data": {"choice": "maybe"}}, set()),
    ("api.kpi_values", "POST", "/api/v1/kpi/values", REPORTER_PEOPLE, {"json": {"values": []}}, set()),
    # The camera registry: the IOC's operators read it, administrators change it (an empty form answers 400; the
    # reference view exists once the administrator took it).
    ("cameras.index", "GET", "/cameras/", {"operator", "admin"}, {}, set()),
    ("cameras.new", "GET", "/cameras/new", {"admin"}, {}, set()),
    ("cameras.new", "POST", "/cameras/new", {"admin"}, {"data": {"code": ""}}, set()),
    ("cameras.edit", "GET", "/cameras/{camera}", {"operator", "admin"}, {}, set()),
    ("cameras.edit", "POST", "/cameras/{camera}", {"admin"}, {"data": {"name": ""}}, set()),
    ("cameras.regions", "GET", "/cameras/{camera}/regions", {"operator", "admin"}, {}, set()),
    ("cameras.history", "GET", "/cameras/{camera}/history", {"operator", "admin"}, {}, set()),
    ("cameras.regions_save", "POST", "/cameras/{camera}/regions", {"admin"}, {"data": {"roi": "[1"}}, set()),
    ("cameras.snapshot", "GET", "/cameras/{camera}/snapshot.jpg", {"operator", "admin"}, {}, set()),
    ("cameras.reference_save", "POST", "/cameras/{camera}/reference", {"admin"}, {}, set()),
    ("cameras.reference", "GET", "/cameras/{camera}/reference.jpg", {"operator", "admin"}, {}, set()),
    # Camera incidents whose case could not be opened: the IOC's operators and administrators retry or dismiss them
    # (a dismissal without a note answers 400; an incident that does not exist has no snapshot: 404, unchecked).
    ("cameras.waiting", "GET", "/cameras/incidents", {"operator", "admin"}, {}, set()),
    ("cameras.waiting_snapshot", "GET", "/cameras/incidents/999999999/snapshot.jpg", {"operator", "admin"}, {},
     {"operator", "admin"}),
    ("cameras.waiting_retry", "POST", "/cameras/incidents/999999999/retry", {"operator", "admin"}, {}, set()),
    ("cameras.waiting_dismiss", "POST", "/cameras/incidents/999999999/dismiss", {"operator", "admin"},
     {"data": {"note": ""}}, set()),
    # The leaders' page: leaders (the ward's and the province's) and administrators; an empty form answers them 400,
    # a job, PDF, subscription or delivery that does not exist 404 (unchecked: refused to them too).
    ("leaders.index", "GET", "/leaders/?unit=P-BUON-MA-THUOT", LEADERS, {}, set()),
    ("leaders.overdue", "GET", "/leaders/overdue?unit=P-BUON-MA-THUOT", LEADERS, {}, set()),
    ("leaders.archive", "GET", "/leaders/reports", LEADERS, {}, set()),
    ("leaders.generate", "POST", "/leaders/reports", LEADERS, {"data": {"type": ""}}, set()),
    ("leaders.job", "GET", "/leaders/reports/jobs/999999999", LEADERS, {}, LEADERS),
    ("leaders.job_status", "GET", "/leaders/reports/jobs/999999999.json", LEADERS, {}, LEADERS),
    ("leaders.download", "GET", "/leaders/reports/999999999.pdf", LEADERS, {}, LEADERS),
    ("leaders.subscriptions", "GET", "/leaders/subscriptions", LEADERS, {}, set()),
    ("leaders.subscription_create", "POST", "/leaders/subscriptions", LEADERS, {"data": {"type": ""}}, set()),
    ("leaders.subscription_edit", "GET", "/leaders/subscriptions/999999999", LEADERS, {}, LEADERS),
    ("leaders.subscription_edit", "POST", "/leaders/subscriptions/999999999", LEADERS, {}, LEADERS),
    ("leaders.subscription_pause", "POST", "/leaders/subscriptions/999999999/pause", LEADERS, {}, LEADERS),
    ("leaders.subscription_delete", "POST", "/leaders/subscriptions/999999999/delete", LEADERS, {}, LEADERS),
    ("leaders.delivery_retry", "POST", "/leaders/deliveries/999999999/retry", LEADERS, {}, LEADERS),
    # Everyone's own account page (a password change without the current password answers 400).
    ("auth.profile", "GET", "/account/profile", SIGNED, {}, set()),
    ("auth.profile", "POST", "/account/profile", SIGNED, {"data": {"current": ""}}, set()),
    # Last: these two change who is signed in.
    ("auth.login", "POST", "/login", EVERYONE, {"data": {"username": "cb.tanlap", "password": "demo1022"}}, set()),
    ("auth.logout", "POST", "/logout", EVERYONE, {}, set()),
]


def _call(client, method, path, arguments):
    if method == "GET":
        return client.get(path)
    token = csrf_of(client.get("/").get_data(as_text=True))
    if path.startswith("/api/"):
        return client.open(path, method=method, headers={"X-CSRFToken": token}, **arguments)
    return client.open(path, method=method, data={"csrf_token": token, **arguments.get("data", {})})


def test_every_route_admits_the_right_people_and_refuses_the_rest(world):
    app, clients, ids = world
    wrong = []
    for endpoint, method, template, admitted, arguments, unchecked in ROUTES:
        path = template.format(**ids)
        # Refused people first (their attempts must change nothing the admitted ones rely on), then the
        # admitted, then those whose answer depends on what the others did.
        for who in sorted(PEOPLE, key=lambda person: (person in unchecked, person in admitted)):
            response = _call(clients[who], method, path, arguments)
            response.close()  # files are streamed: close them
            status = response.status_code
            refused = (status in (401, 403, 404)
                       or (status == 302 and "/login" in response.headers.get("Location", "")
                           and endpoint != "auth.logout"))  # signing out ends on the sign-in page
            if status >= 500 and not (endpoint == "home.healthz" and status == 503):
                wrong.append(f"{method} {template} as {who}: {status} (a server error)")
            elif who in unchecked:
                continue
            elif who in admitted and refused:
                wrong.append(f"{method} {template} as {who}: refused with {status}, should be let in")
            elif who not in admitted and not refused:
                wrong.append(f"{method} {template} as {who}: answered {status}, should be refused")
    assert not wrong, "\n".join(wrong)


def test_the_matrix_covers_every_route(world):
    app, _clients, _ids = world
    routes = {(rule.endpoint, method) for rule in app.url_map.iter_rules()
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    covered = {(endpoint, method) for endpoint, method, *_ in ROUTES}
    assert routes - covered == set(), "add the new routes to ROUTES with who may use them"
    assert covered - routes == set()
