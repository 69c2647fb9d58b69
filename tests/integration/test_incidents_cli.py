"""`ioc instance` names the failed step of each incident; `ioc incidents` lists them and retries one."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from engine.database import make_engine, make_session_factory
from tests.bpmn_factory import process, script, user
from webapp.cli import main
from workflows.runtime import make_services


def ioc(url, *args):
    return CliRunner().invoke(main, list(args), env={"IOC_DATABASE_URL": url, "IOC_LANG": "en"},
                              catch_exceptions=False)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_incidents_are_listed_shown_with_their_step_and_retried_from_the_shell(db_url, tmp_path):
    bpmn = tmp_path / "needs.bpmn"
    bpmn.write_text(process("needs", [script(0, "y = missing + 1"), user(1)], {"officer": ["s1"]}), encoding="utf-8")
    assert ioc(db_url, "deploy", str(bpmn)).exit_code == 0
    assert "No open incident" in ioc(db_url, "incidents").output

    started = ioc(db_url, "start", "needs")
    instance_id = re.search(r"instance (\d+): needs v1", started.output).group(1)
    # The instance names the failed element by id and name, with the incident's number.
    incident_id = re.search(r"! #(\d+) s0 «Script 0»: .*missing", started.output).group(1)
    assert f"#{incident_id} s0 «Script 0»" in ioc(db_url, "instance", instance_id).output

    listed = ioc(db_url, "incidents")
    assert re.search(rf"^#{incident_id} .* needs v1 #{instance_id}  s0 «Script 0»$", listed.output, re.M), listed.output
    assert "missing" in listed.output

    refused = ioc(db_url, "incidents", "retry", incident_id, "--data", "[1]")
    assert refused.exit_code == 2 and "--data is not a JSON object" in refused.output
    retried = ioc(db_url, "incidents", "retry", incident_id, "--data", json.dumps({"missing": 41}), "--note", "value given")
    assert retried.exit_code == 0, retried.output
    assert "status=running" in retried.output and "incidents:" not in retried.output
    assert "No open incident" in ioc(db_url, "incidents").output
    resolved = ioc(db_url, "incidents", "--resolved").output
    assert f"#{incident_id}" in resolved and "retried (cli)" in resolved

    again = ioc(db_url, "incidents", "retry", incident_id)
    assert again.exit_code == 1 and "already resolved" in again.output
    assert ioc(db_url, "incidents", "retry", "999").exit_code == 1
    assert ioc(db_url, "incidents", "retry", "99999999999999999999").exit_code == 1  # past the integers: none

    # An instance cancelled from the incidents page reads as cancelled.
    other = re.search(r"instance (\d+): needs v1", ioc(db_url, "start", "needs").output).group(1)
    engine = make_engine(db_url)
    with make_session_factory(engine)() as session:
        make_services(session).instances.cancel(int(other), "duplicate", actor="admin")
        session.commit()
    engine.dispose()
    assert "status=cancelled" in ioc(db_url, "instance", other).output
