"""Bundles: `ioc deploy a.bpmn b.bpmn c.dmn` and the service deploy one version per root process, with the
processes it calls and the decisions it uses; a file nobody uses is named; a takeover of a process deployed
from another file asks first; a deploy keeps its note."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from engine.bundles import ConfirmationNeededError, plan
from engine.errors import DeploymentError
from engine.models import ProcessDefinition
from tests.conftest import DATA_DIR
from webapp.cli import main

BUNDLE = DATA_DIR / "bundle"
NAMES = ("parent.bpmn", "child.bpmn", "levels.dmn")


def files(*names: str) -> dict[str, str]:
    """The bundle's test files by name."""
    return {name: (BUNDLE / name).read_text(encoding="utf-8") for name in names}


def count(session, key: str) -> int:
    return session.scalar(select(func.count()).select_from(ProcessDefinition).where(ProcessDefinition.process_key == key))


def test_a_parent_calling_a_child_in_another_file_with_a_decision_in_a_third_deploys_and_runs(services, session):
    deployed = services.definitions.deploy_bundles(files(*NAMES), deployed_by="test")
    session.commit()
    assert [(d.definition.process_key, d.definition.version, d.created) for d in deployed] == [("bundle_parent", 1, True)]
    assert sorted(deployed[0].definition.files) == sorted(NAMES)
    assert count(session, "bundle_child") == 0  # a called process is part of its caller's version, not one of its own
    row = services.instances.start("bundle_parent", {"size": 12})
    session.commit()
    assert row.status == "completed"
    assert services.instances.view(row.id).data["outcome"] == "level big"


def test_the_plan_groups_files_per_root_and_takes_only_what_each_uses():
    both = {**files(*NAMES), "hotline.bpmn": files("child.bpmn")["child.bpmn"].replace(
        'id="bundle_child"', 'id="other_root"')}
    result = plan(both)
    assert not result.problems
    assert {b.root: sorted(b.files) for b in result.bundles} == {
        "bundle_parent": ["child.bpmn", "levels.dmn", "parent.bpmn"],
        "other_root": ["hotline.bpmn", "levels.dmn"],
    }


@pytest.mark.parametrize(("name", "expected"), [
    ("parent.bpmn", "calls process 'bundle_child', which is in none of the files deployed together"),
    ("child.bpmn", "bundle_level"),
    ("levels.dmn", "holds decision tables only; deploy it together with the .bpmn file of a process that uses them"),
])
def test_each_file_alone_is_refused_saying_why(services, session, name, expected):
    with pytest.raises(DeploymentError) as refused:
        services.definitions.deploy_bundles(files(name))
    messages = [f"{p.file}: {p.message}" for p in refused.value.problems]
    assert any(m.startswith(name) and expected in m for m in messages), messages
    session.rollback()
    assert count(session, "bundle_parent") == count(session, "bundle_child") == 0


def test_a_file_no_process_uses_is_named_and_nothing_is_stored(services, session):
    with pytest.raises(DeploymentError) as refused:
        services.definitions.deploy_bundles(files(*NAMES, "unused.dmn"))
    [problem] = refused.value.problems
    assert problem.file == "unused.dmn"
    assert str(problem.message) == ("no process deployed with it uses its decisions (nobody_calls_me); leave it"
                                        " out, or call one of them from a business rule task")
    session.rollback()
    assert count(session, "bundle_parent") == 0


def test_a_file_taking_over_a_process_deployed_from_another_file_asks_first(services, session):
    services.definitions.deploy_bundles(files(*NAMES), deployed_by="test")
    session.commit()
    renamed = files("child.bpmn", "levels.dmn")
    renamed["copy.bpmn"] = files("parent.bpmn")["parent.bpmn"].replace("Kết thúc", "Xong")
    with pytest.raises(ConfirmationNeededError) as asked:
        services.definitions.deploy_bundles(renamed, deployed_by="test")
    assert [str(m) for m in asked.value.messages] == [
        "copy.bpmn declares process 'bundle_parent', which was deployed from parent.bpmn (version 1); deploying it"
        " makes this file version 2 of 'bundle_parent'"]
    assert count(session, "bundle_parent") == 1
    [v2] = services.definitions.deploy_bundles(renamed, deployed_by="test", confirm=True, note="renamed the file")
    session.commit()
    assert (v2.definition.version, v2.definition.note) == (2, "renamed the file")
    # The same file name again is no takeover.
    again = {**renamed, "copy.bpmn": renamed["copy.bpmn"].replace("Xong", "Hết")}
    assert services.definitions.deploy_bundles(again)[0].definition.version == 3


def test_a_deploy_keeps_its_note_source_and_draft(services, session):
    [d] = services.definitions.deploy_bundles(files(*NAMES), deployed_by="thietke", note="  first version ",
                                              source="browser", draft_id=7)
    session.commit()
    row = session.get(ProcessDefinition, d.definition.id)
    assert (row.deployed_by, row.note, row.source, row.draft_id) == ("thietke", "first version", "browser", 7)


# -- the command line

def ioc(url, *args, input=None):
    return CliRunner().invoke(main, list(args), env={"IOC_DATABASE_URL": url, "IOC_LANG": "en"}, input=input)


@pytest.fixture
def cli_url(db_url):
    if "postgresql" in db_url:
        pytest.skip("the command's bundles are the service's (tested on both databases above)")
    return db_url


def test_ioc_deploy_makes_one_version_per_root_with_what_it_uses(cli_url):
    result = ioc(cli_url, "deploy", *(str(BUNDLE / n) for n in NAMES), "--note", "from the shell")
    assert result.exit_code == 0, result.output
    assert "bundle_parent v1 deployed (Quy trình mẹ; sha256" in result.output
    assert "files: child.bpmn, levels.dmn, parent.bpmn)" in result.output
    alone = ioc(cli_url, "deploy", str(BUNDLE / "parent.bpmn"))
    assert alone.exit_code == 1
    assert "parent.bpmn [call_child]: calls process 'bundle_child'" in alone.output
    unused = ioc(cli_url, "deploy", *(str(BUNDLE / n) for n in NAMES), str(BUNDLE / "unused.dmn"))
    assert unused.exit_code == 1 and "unused.dmn: no process deployed with it uses its decisions" in unused.output


def test_ioc_deploy_asks_before_a_takeover_and_refuses_without_an_answer(cli_url, tmp_path):
    assert ioc(cli_url, "deploy", *(str(BUNDLE / n) for n in NAMES)).exit_code == 0
    copy = tmp_path / "copy.bpmn"
    copy.write_text((BUNDLE / "parent.bpmn").read_text(encoding="utf-8").replace("Kết thúc", "Xong"), encoding="utf-8")
    paths = [str(copy), str(BUNDLE / "child.bpmn"), str(BUNDLE / "levels.dmn")]
    refused = ioc(cli_url, "deploy", *paths)
    assert refused.exit_code == 1
    assert "Warning: copy.bpmn declares process 'bundle_parent', which was deployed from parent.bpmn" in refused.output
    assert "run the command again with --yes to accept" in refused.output
    declined = ioc(cli_url, "deploy", *paths, input="n\n")
    assert declined.exit_code == 1 and "Deploy anyway?" in declined.output
    accepted = ioc(cli_url, "deploy", *paths, "--note", "renamed", input="y\n")
    assert accepted.exit_code == 0 and "bundle_parent v2 deployed" in accepted.output
    copy.write_text(copy.read_text(encoding="utf-8").replace("Xong", "Hết"), encoding="utf-8")
    (tmp_path / "parent.bpmn").write_text((BUNDLE / "parent.bpmn").read_text(encoding="utf-8"), encoding="utf-8")
    back = [str(tmp_path / "parent.bpmn"), *paths[1:]]
    forced = ioc(cli_url, "deploy", *back, "--yes")
    assert forced.exit_code == 0 and "bundle_parent v3 deployed" in forced.output
