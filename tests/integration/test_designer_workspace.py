"""The process designer's workspace: found in the header by designers, the pages of its navigation."""

from __future__ import annotations

import pytest

from engine.clock import FrozenClock
from tests.workspace import client_of, make_workspace_app


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("designer")
    return make_workspace_app(f"sqlite:///{folder / 'designer.sqlite3'}", FrozenClock())


def test_a_designer_finds_the_workspace_in_the_header_and_an_officer_does_not(app):
    assert 'href="/designer/"' in client_of(app, "thietke").get("/account/profile").get_data(as_text=True)
    assert 'href="/designer/"' not in client_of(app, "cb.buonmathuot").get("/account/profile").get_data(as_text=True)


def test_the_workspace_front_page_reads_in_the_designers_language(app):
    page = client_of(app, "thietke").get("/designer/").get_data(as_text=True)
    assert "Thiết kế quy trình" in page
