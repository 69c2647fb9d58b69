"""The library of definitions: every process with its versions, downloads and deploys from the browser.

A deploy from the browser goes through the same bundles and checks as `ioc deploy` (one version per root
process with the processes it calls and the decisions it uses), re-runs the designer's kept test cases
(workflows/designer/testrun.py) and refuses when one fails,
asks before a file takes over a process deployed from another file, and leaves an audit line per version.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath, PureWindowsPath

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.bundles import scan
from engine.clock import SYSTEM_CLOCK, Clock
from engine.definitions import DefinitionService, Deployment
from engine.errors import DeploymentError, NotFoundError, Problem
from engine.i18n import Named, t
from engine.models import ProcessDefinition, ProcessInstance
from workflows.admin.audit import Acting, Target, record, register_actions
from workflows.case_diagram import process_name_en

# The confirm step of the upload form sends each file back as a form field, which Flask caps at 500 000 bytes
# (MAX_FORM_MEMORY_SIZE). The demo's largest process is 76 KB.
MAX_FILE_BYTES = 480 * 1024
MAX_FILES = 30
# Instances that still run on their version (a migration would move them).
LIVE_STATUSES = ("running", "waiting", "error")
_UNSAFE = re.compile(r"[^\w.\- ]", re.UNICODE)

register_actions({"definition.deploy": t("deploy a process version")},
                 {"process_definition": t("process definition")})


@dataclass(frozen=True)
class VersionLine:
    """One deployed version as the library lists it."""

    id: int
    version: int
    deployed_by: str
    deployed_at: datetime
    note: str
    sha256: str
    source: str
    running: int

    @property
    def sha_short(self) -> str:
        """The first 12 hex digits of the bundle's digest."""
        return self.sha256[:12]


@dataclass(frozen=True)
class ProcessLine:
    """A process key with its name (in both languages) and its versions, newest first."""

    key: str
    name: Named
    versions: list[VersionLine]
    files: list[str]  # the newest version's file names

    @property
    def running(self) -> int:
        """Instances still running on any version."""
        return sum(v.running for v in self.versions)


@dataclass(frozen=True)
class Download:
    """A file to send: its safe name, bytes and media type."""

    name: str
    data: bytes
    mimetype: str


def safe_file_name(name: str) -> str:
    """A name safe to offer as a download: no folders, no leading dot, only letters, digits, . - _ and spaces."""
    base = PureWindowsPath(PurePosixPath(name).name).name
    cleaned = _UNSAFE.sub("_", base).strip(" .") or "file"
    return cleaned[:120]


def upload_problems(uploads: Iterable[tuple[str, bytes]]) -> tuple[dict[str, str], list[Problem]]:
    """The uploaded files as {name: text} and what is wrong with them (names, types, sizes, encodings)."""
    files: dict[str, str] = {}
    problems: list[Problem] = []
    uploads = list(uploads)
    if not uploads:
        return {}, [Problem("-", None, t("no file given; choose the .bpmn and .dmn files to deploy"))]
    if len(uploads) > MAX_FILES:
        return {}, [Problem("-", None, t("too many files (%(count)s); deploy at most %(max)s at once",
                                         count=len(uploads), max=MAX_FILES))]
    for raw_name, data in uploads:
        name = (raw_name or "").strip()
        if not name or name != safe_file_name(name):
            problems.append(Problem(name or "-", None, t(
                "this file name cannot be kept; rename it with letters, digits, dots, dashes, underscores and"
                " spaces only, ending in .bpmn or .dmn")))
            continue
        if not name.lower().endswith((".bpmn", ".dmn")):
            problems.append(Problem(name, None, t("only .bpmn and .dmn files can be deployed")))
            continue
        if name in files:
            problems.append(Problem(name, None, t("two files share this name; rename one")))
            continue
        if len(data) > MAX_FILE_BYTES:
            problems.append(Problem(name, None, t("is too large (%(size)s KB; at most %(max)s KB); remove what the"
                                                  " process does not need", size=len(data) // 1024,
                                                  max=MAX_FILE_BYTES // 1024)))
            continue
        try:
            files[name] = data.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(Problem(name, None, t("is not UTF-8 text; save it as UTF-8")))
    return files, problems


def kept_case_failures(session: Session, process_key: str, files: Mapping[str, str],
                       clock: Clock = SYSTEM_CLOCK) -> list[Problem]:
    """The designer's kept test cases of `process_key` re-run on `files`: each failed one as a problem that
    refuses the deploy (on the file declaring the process)."""
    from workflows.designer.testrun import rerun_kept_cases  # the sandbox is only loaded when deploying

    file_name = scan(files).file_of_process(process_key) or ", ".join(sorted(files))
    return [Problem(file_name, None, t("kept test case %(name)s fails: %(reason)s; fix the process, or the test"
                                       " case if the change is wanted", name=result.name, reason=result.message))
            for result in rerun_kept_cases(session, process_key, files, clock) if not result.passed]


class LibraryService:
    """Reads the deployed definitions for the library page and deploys bundles from the browser."""

    def __init__(self, session: Session, definitions: DefinitionService, clock: Clock = SYSTEM_CLOCK):
        self.session = session
        self.definitions = definitions
        self.clock = clock

    # -- reading
    def processes(self) -> list[ProcessLine]:
        """Every deployed process key (by key) with its versions, newest first, and live instances per version."""
        running = dict(self.session.execute(
            select(ProcessInstance.definition_id, func.count())
            .where(ProcessInstance.status.in_(LIVE_STATUSES)).group_by(ProcessInstance.definition_id)).all())
        rows = self.session.scalars(select(ProcessDefinition)
                                    .order_by(ProcessDefinition.process_key, ProcessDefinition.version.desc()))
        lines: dict[str, list[VersionLine]] = {}
        newest: dict[str, ProcessDefinition] = {}
        for row in rows:
            newest.setdefault(row.process_key, row)
            lines.setdefault(row.process_key, []).append(VersionLine(
                row.id, row.version, row.deployed_by or "", row.deployed_at, row.note or "", row.sha256,
                row.source or "", running.get(row.id, 0)))
        return [ProcessLine(key, Named(newest[key].name or key, process_name_en(newest[key].files, key)), versions,
                            sorted(newest[key].files)) for key, versions in lines.items()]

    def version(self, key: str, version: int) -> ProcessDefinition:
        """One deployed version (NotFoundError when there is none)."""
        row = self.session.scalar(select(ProcessDefinition).where(ProcessDefinition.process_key == key,
                                                                  ProcessDefinition.version == version))
        if row is None:
            raise NotFoundError(t("process %(key)s has no version %(version)s", key=repr(key), version=version))
        return row

    def files_of(self, key: str, version: int) -> dict[str, str]:
        """{file name: text} of a deployed version."""
        return dict(self.version(key, version).files)

    def download(self, key: str, version: int, name: str | None = None) -> Download:
        """One file of a version as it was deployed, or (no name) the whole version as a .zip."""
        files = self.files_of(key, version)
        if name is not None:
            if name not in files:
                raise NotFoundError(t("version %(version)s of %(key)s has no file %(name)s", version=version,
                                      key=repr(key), name=repr(name)))
            return Download(safe_file_name(name), files[name].encode("utf-8"), "application/xml")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for file_name in sorted(files):
                info = zipfile.ZipInfo(safe_file_name(file_name), date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, files[file_name].encode("utf-8"))
        return Download(safe_file_name(f"{key}-v{version}.zip"), buffer.getvalue(), "application/zip")

    # -- deploying
    def deploy(self, files: Mapping[str, str], actor: Acting, note: str = "", confirm: bool = False,
               draft_id: int | None = None, source: str = "browser") -> list[Deployment]:
        """Check, re-run the kept test cases and deploy `files` as one version per root process, audited.

        Raises DeploymentError (problems) or ConfirmationNeededError (a takeover to confirm); stores nothing
        then. The caller commits.
        """
        plan = self.definitions.plan(files)
        if not plan.problems:
            failures = [p for bundle in plan.bundles if bundle.root
                        for p in kept_case_failures(self.session, bundle.root, bundle.files, self.clock)]
            if failures:
                raise DeploymentError(failures)
        previous = {key: self.definitions.latest(key, missing_ok=True) for key in
                    (b.root for b in plan.bundles if b.root)}
        previous_versions = {key: row.version if row is not None else None for key, row in previous.items()}
        deployed = self.definitions.deploy_bundles(files, deployed_by=actor.username, note=note, source=source,
                                                   draft_id=draft_id, confirm=confirm)
        for result in deployed:
            row = result.definition
            if not result.created:
                continue
            record(self.session, actor, "definition.deploy", Target("process_definition", row.id,
                                                                     f"{row.process_key} v{row.version}"),
                   before={"version": previous_versions.get(row.process_key)},
                   after={"version": row.version, "files": sorted(row.files), "sha256": row.sha256[:12],
                          "draft": draft_id},
                   note=note, clock=self.clock)
        return deployed

