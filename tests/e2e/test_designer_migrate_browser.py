"""The designer's migrate and replay pages in a real browser (Playwright driving Debian's chromium), on the demo.

A second version of field_report is deployed into the demo's database first (a normal report's SLA 72 -> 48 hours
and the reminder timer at the deadline): the demo's reports still at triage can move to it, those being handled
wait on the changed reminder and cannot; the designer moves one in a job and replays the deadline table.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_designer_compare_browser import designer_page

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def prepare(database_url: str) -> None:
    """Deploy the changed field_report as version 2."""
    from tests.compare_samples import changed_field_report
    from webapp import create_app
    from webapp.extensions import db

    app = create_app({"DATABASE_URL": database_url, "TIMER_SWEEP": "off"})
    with app.app_context():
        app.extensions["ioc"].services(db.session).definitions.deploy(changed_field_report(), deployed_by="thietke")
        db.session.commit()


@pytest.fixture(scope="module")
def version_2(server, tmp_path_factory):
    """The demo with field_report version 2 deployed (the running reports stay on version 1)."""
    files = sorted(tmp_path_factory.getbasetemp().glob("browser-demo*/demo.sqlite3"), key=lambda p: p.stat().st_mtime)
    assert files, "the demo server's database was not found"
    url = f"sqlite:///{files[-1]}"
    done = subprocess.run([sys.executable, "-c", "import sys; from tests.e2e.test_designer_migrate_browser import prepare;"
                           " prepare(sys.argv[1])", url], cwd=ROOT, env={**os.environ, "IOC_DATABASE_URL": url},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return server


def test_the_dry_run_says_which_reports_can_move_and_a_job_moves_the_chosen_one(version_2, browser, shots):
    page = designer_page(browser, version_2)
    page.goto(version_2 + "/designer/migrate?key=field_report&to=2")
    can, cannot = page.locator("tr.can"), page.locator("tr.cannot")
    assert can.count() >= 1 and cannot.count() >= 1
    # A report being handled waits on the reminder timer version 2 changed: it says so, in Vietnamese.
    reasons = cannot.first.locator("ul.reasons").inner_text()
    assert "bộ hẹn giờ" in reasons and 'assignment["due_at"]' in reasons, reasons
    assert cannot.first.locator("input[type=checkbox]").count() == 0
    # One still at triage will take version 2's deadline table; one further on keeps what was decided.
    at_triage = page.locator("tr.can", has_text="bảng quyết định mới")
    assert at_triage.count() >= 1
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.screenshot(path=str(shots / "designer-migrate.png"), full_page=True)

    code = at_triage.first.locator("td").nth(1).locator("a").inner_text()
    at_triage.first.locator("input[type=checkbox]").check()
    page.click("form.migrate-form button:not([name])")
    page.wait_for_url(lambda url: "/designer/migrate/jobs/" in url)
    row = page.locator("table.migrate-instances tbody tr").first
    assert row.get_attribute("class") == "moved" and code in row.inner_text()
    assert "thietke" in page.locator("dl.migrate-job").inner_text()
    page.screenshot(path=str(shots / "designer-migrate-job.png"), full_page=False)

    # Back on the list, that report is no longer on an older version.
    page.goto(version_2 + "/designer/migrate?key=field_report&to=2")
    assert code not in page.locator("table.migrate-instances").inner_text()


def test_the_replay_of_version_2_tells_each_units_cases_and_mean_deadline(version_2, browser, shots):
    page = designer_page(browser, version_2)
    page.goto(version_2 + "/designer/migrate?key=field_report&to=2")
    page.click("p.migrate-links a")
    page.wait_for_url(lambda url: "/designer/replay" in url)
    sentences = page.locator("ul.replay-sentences li")
    overall = page.locator("p.replay-overall").inner_text()
    assert "thời hạn trung bình" in overall
    if sentences.count():  # the demo's last 30 days hold normal reports: their deadline shortens
        assert "Với bảng này" in sentences.first.inner_text()
        assert page.locator("table.replay-cases tbody tr").count() >= 1
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.screenshot(path=str(shots / "designer-replay.png"), full_page=False)
