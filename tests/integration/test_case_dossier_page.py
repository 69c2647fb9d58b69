"""A case's dossier for the records, made from the case's page (embedded mode: eager Celery): an official of the
case's ward makes it in the language chosen, follows it to its download and finds it listed on the page; officials
and leaders outside the case's view neither make nor download it; the reporter's details are not in it."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from tests.workspace import client_of, csrf_of, make_workspace_app, new_case
from webapp.extensions import db


@pytest.fixture
def site(db_url, clock, tmp_path):
    app = make_workspace_app(db_url, clock, FILES_DIR=str(tmp_path / "files"))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def post(client, url: str, page_url: str, **form):
    token = csrf_of(client.get(page_url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **form})


def test_an_official_makes_the_dossier_on_the_case_page_and_it_is_kept_to_the_case_s_readers(site):
    code = new_case(site, title="Đèn đường hỏng trước trường Tiểu học", reporter_email="mai@example.vn")
    page_url = f"/cases/{code}"
    officer = client_of(site, "cb.buonmathuot")
    page = officer.get(page_url).get_data(as_text=True)
    assert 'id="dossier"' in page and "Lập hồ sơ" in page

    # A language that is not offered is refused with the reason, on the case's page.
    refused = post(officer, f"{page_url}/dossier", page_url, language="fr")
    assert refused.status_code == 400 and "vi hoặc en" in refused.get_data(as_text=True)

    made = post(officer, f"{page_url}/dossier", page_url, language="en")
    assert made.status_code == 303 and re.search(rf"/cases/{code}/dossier/\d+$", made.headers["Location"])
    for thread in site.extensions["ioc_report_threads"]:  # the embedded mode makes it in a thread of the server
        thread.join(timeout=60)
    job_page = officer.get(made.headers["Location"]).get_data(as_text=True)
    link = re.search(r'id="download" href="(/leaders/reports/\d+\.pdf)"', job_page)
    assert link, "the dossier is made and offered for download"
    status = officer.get(re.search(r'data-status-url="([^"]+)"', job_page).group(1)).get_json()
    assert status["state"] == "done" and status["pages"] >= 1

    pdf = officer.get(link.group(1))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert code in text and "mai@example.vn" not in text and "0912345678" not in text
    page = officer.get(page_url).get_data(as_text=True)
    assert link.group(1) in page and "English" in page  # listed on the case's page, with its language

    # Outside the case's view: another ward's officer and leader, and a leader of that ward for the dossier's link.
    for username in ("cb.tanlap", "ld.tanlap"):
        other = client_of(site, username)
        assert other.get(page_url).status_code == 403
        token = csrf_of(other.get("/cases/").get_data(as_text=True))
        assert other.post(f"{page_url}/dossier", data={"csrf_token": token, "language": "vi"}).status_code == 403
        assert other.get(link.group(1)).status_code == 403
        assert other.get(made.headers["Location"]).status_code == 403
    # The ward's leader and the province's see the case, so its dossier too; the job's page is its maker's.
    for username in ("ld.buonmathuot", "ct.ubnd"):
        leader = client_of(site, username)
        assert leader.get(link.group(1)).status_code == 200
        assert leader.get(made.headers["Location"]).status_code == 404
    assert client_of(site, "dan.tranthimai").get(link.group(1)).status_code == 403  # a citizen
