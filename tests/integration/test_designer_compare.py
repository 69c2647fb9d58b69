"""The designer's compare page: two versions of field_report with a changed SLA row and reminder timer."""

from __future__ import annotations

import json
import re

import pytest

from engine.clock import FrozenClock
from tests.compare_samples import changed_field_report
from tests.workspace import client_of, make_workspace_app
from webapp.extensions import db


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare")
    app = make_workspace_app(f"sqlite:///{folder / 'compare.sqlite3'}", FrozenClock())
    with app.app_context():
        services = app.extensions["ioc"].services(db.session)
        services.definitions.deploy(changed_field_report(), deployed_by="thietke")
        db.session.commit()
    return app


def _page(app, path, who="thietke"):
    response = client_of(app, who).get(path)
    return response.status_code, response.get_data(as_text=True)


def _rows(page, css):
    return re.findall(rf'<tr class="diff-row diff-(\w+)" data-{css}="([^"]+)"', page)


def test_the_list_says_the_timer_and_the_sla_row_changed_and_nothing_else(app):
    status, page = _page(app, "/designer/compare?key=field_report&a=1&b=2")
    assert status == 200
    # BPMN: one element, the reminder timer, its date expression old -> new.
    assert _rows(page, "element") == [("changed", "remind_timer")]
    row = page[page.index('data-element="remind_timer"'):]
    row = row[:row.index("</tr>")]
    assert "assignment[&#34;remind_at&#34;]" in row and "assignment[&#34;due_at&#34;]" in row
    assert row.index("remind_at") < row.index("due_at")  # old before new
    # DMN: the SLA table's second row, its first output 72 -> 48; the other tables unchanged.
    assert _rows(page, "rule") == [("changed", "field_report_sla_rule_2")]
    rule = page[page.index('data-rule="field_report_sla_rule_2"'):]
    rule = rule[:rule.index("</tr>")]
    assert re.search(r"<code>72</code> → <code>48</code>", rule)
    assert "Thời hạn xử lý (giờ)" in rule
    files = re.findall(r'<td>(?:<a href="#file-\d+">)?([\w.]+)(?:</a>)?</td><td><span class="diff-pill diff-(\w+)"', page)
    assert dict(files) == {"field_report.bpmn": "changed", "field_report_review.dmn": "unchanged",
                           "field_report_routing.dmn": "unchanged", "field_report_sla.dmn": "changed"}


def test_the_page_hands_the_viewers_both_diagrams_and_the_changed_ids(app):
    _status, page = _page(app, "/designer/compare?key=field_report&a=1&b=2")
    data = json.loads(re.search(r'<script type="application/json" id="compare-data">(.*?)</script>', page, re.S)[1])
    diagram, = data["diagrams"]
    assert diagram["file"] == "field_report.bpmn" and diagram["changes"] == [{"id": "remind_timer", "kind": "changed"}]
    assert 'assignment["remind_at"]' in diagram["old"] and 'assignment["due_at"]' in diagram["new"]
    assert 'src="/static/build/compare.js"' in page and 'id="' + diagram["anchor"] + '"' in page


def test_the_default_is_the_newest_version_against_the_one_before(app):
    _status, page = _page(app, "/designer/compare")
    assert _rows(page, "element") == [("changed", "remind_timer")]
    assert re.search(r'<option value="2" selected>', page) and re.search(r'<option value="1" selected>', page)


def test_an_english_reader_reads_labels_and_element_names_in_english(app):
    _status, page = _page(app, "/designer/compare?key=field_report&a=1&b=2&lang=en")
    assert "Timer (date)" in page and "Deadline reminder" in page
    data = json.loads(re.search(r'<script type="application/json" id="compare-data">(.*?)</script>', page, re.S)[1])
    assert 'name="Deadline reminder"' in data["diagrams"][0]["new"]
    _status, page = _page(app, "/designer/compare?key=field_report&a=1&b=2&lang=vi")
    assert "Timer (date)" not in page and "Nhắc hạn" in page


def test_a_version_that_does_not_exist_is_said_so_with_the_pickers(app):
    status, page = _page(app, "/designer/compare?key=field_report&a=1&b=9")
    assert status == 404
    assert 'role="alert"' in page and "9" in page and 'id="compare-pickers"' in page
    status, page = _page(app, "/designer/compare?key=nope")
    assert status == 404 and "nope" in page


def test_the_same_version_twice_has_no_changes(app):
    _status, page = _page(app, "/designer/compare?key=field_report&a=2&b=2")
    assert _rows(page, "element") == [] and 'class="empty"' in page


def test_compare_is_in_the_workspace_navigation(app):
    _status, page = _page(app, "/designer/")
    assert 'href="/designer/compare"' in page


def test_officers_are_refused(app):
    assert client_of(app, "cb.buonmathuot").get("/designer/compare").status_code == 403


def test_a_draft_is_compared_with_the_version_it_was_opened_from(app):
    from workflows.designer.drafts import DraftService

    with app.app_context():
        draft = DraftService(db.session, FrozenClock()).save(
            title="Hạn mới", files=changed_field_report(), actor="thietke", base={"key": "field_report", "version": 1})
        db.session.commit()
    status, page = _page(app, f"/designer/compare?draft={draft.id}&b=1")
    assert status == 200 and "Hạn mới" in page
    assert _rows(page, "element") == [("changed", "remind_timer")]
    assert _rows(page, "rule") == [("changed", "field_report_sla_rule_2")]
    # Without a version: the draft's base (version 1); against version 2 (the same files): no difference.
    assert _rows(_page(app, f"/designer/compare?draft={draft.id}")[1], "element") == [("changed", "remind_timer")]
    _status, same = _page(app, f"/designer/compare?draft={draft.id}&b=2")
    assert _rows(same, "element") == [] and _rows(same, "rule") == []
    status, missing = _page(app, "/designer/compare?draft=999999")
    assert status == 404 and "999999" in missing
