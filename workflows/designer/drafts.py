"""Drafts: the bundles of BPMN and DMN files a process designer edits in the modeler, saved but not deployed.

A draft may start from a deployed version (its base), which the comparison and the deploy read. Two tabs
on one draft must not overwrite each other silently: each save names the version it started from, and a
save over a newer version is refused (`StaleDraftError`) with who saved it, so the designer can reload or
keep their work as a new draft.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, undefer

from engine.clock import Clock
from engine.i18n import t
from engine.models import ProcessDefinition
from workflows.models import DesignerDraft

MAX_FILES = 30
MAX_BYTES = 5 * 1024 * 1024  # all files together, encoded as UTF-8
MAX_TITLE = 200
KINDS = (".bpmn", ".dmn")
# A plain file name: no folders, no control characters (any letters, Vietnamese ones included).
_FILE_NAME = re.compile(r"^[^/\\\x00-\x1f]{1,120}$")


class DraftError(Exception):
    """A draft cannot be saved as sent; the message (a Text) says what to fix."""


class DraftNotFoundError(DraftError):
    """No draft (or deployed version) with that id."""


class StaleDraftError(DraftError):
    """Someone saved the draft after the sender opened it; nothing was written."""


@dataclass(frozen=True)
class Draft:
    """A saved draft as the modeler opens it."""

    id: int
    title: str
    files: dict[str, str]
    base_key: str | None
    base_version: int | None
    version: int
    created_by: str
    updated_by: str
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        """The draft as the drafts API answers it."""
        base = {"key": self.base_key, "version": self.base_version} if self.base_key else None
        return {"id": self.id, "title": self.title, "files": self.files, "base": base, "version": self.version,
                "updated_by": self.updated_by, "updated_at": self.updated_at.isoformat()}


@dataclass(frozen=True)
class DraftSummary:
    """A line of the list of drafts."""

    id: int
    title: str
    file_names: tuple[str, ...]
    base_key: str | None
    base_version: int | None
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True)
class DeployedProcess:
    """A deployed process key and its newest version, to open in the modeler."""

    key: str
    name: str
    version: int
    deployed_at: datetime


@dataclass(frozen=True)
class VersionFiles:
    """The files of one deployed version."""

    key: str
    version: int
    name: str
    files: dict[str, str]


class DraftService:
    """Saves and opens drafts, lists them, and reads deployed versions' files for the modeler."""

    def __init__(self, session: Session, clock: Clock, timezone: str = "Asia/Ho_Chi_Minh"):
        self.session = session
        self.clock = clock
        self.zone = ZoneInfo(timezone)  # messages name moments in the centre's local time

    def get(self, draft_id: int) -> Draft:
        """The draft `draft_id`, or DraftNotFoundError."""
        row = self.session.get(DesignerDraft, draft_id)
        if row is None:
            raise DraftNotFoundError(t("There is no draft %(id)s: open one from the list of drafts.", id=draft_id))
        return _draft(row)

    def list(self, limit: int = 100) -> list[DraftSummary]:
        """The drafts, the most recently saved first."""
        rows = self.session.scalars(select(DesignerDraft).order_by(DesignerDraft.updated_at.desc(),
                                                                   DesignerDraft.id.desc()).limit(limit))
        return [DraftSummary(r.id, r.title, tuple(sorted(r.files or {})), r.base_key, r.base_version, r.updated_by,
                             r.updated_at) for r in rows]

    def save(self, *, title: str, files: Any, actor: str, draft_id: int | None = None, version: Any = None,
             base: Any = None) -> Draft:
        """Store a new draft, or the next version of `draft_id` when `version` is still the stored one.

        Every problem is refused before anything is written (DraftError); a save over a newer version
        raises StaleDraftError and leaves the stored draft as it was.
        """
        files = _checked_files(files)
        title = _checked_title(title, files)
        base_key, base_version = self._checked_base(base)
        now = self.clock.now()
        if draft_id is None:
            row = DesignerDraft(title=title, files=files, base_key=base_key, base_version=base_version,
                                created_by=actor, updated_by=actor, created_at=now, updated_at=now, version=1)
            self.session.add(row)
            self.session.flush()
            return _draft(row)
        if isinstance(version, bool) or not isinstance(version, int):
            raise DraftError(t("Say which version of the draft you changed (reload the draft and save again)."))
        values = {"title": title, "files": files, "updated_by": actor, "updated_at": now, "version": version + 1}
        if base is not None:
            values.update(base_key=base_key, base_version=base_version)
        # One conditional UPDATE: of two saves that read the same version, exactly one matches.
        done = self.session.execute(update(DesignerDraft).where(DesignerDraft.id == draft_id,
                                                                DesignerDraft.version == version).values(**values)
                                    .execution_options(synchronize_session=False))
        if done.rowcount != 1:
            stored = self.get(draft_id)
            raise StaleDraftError(t(
                "This draft was saved by %(who)s at %(when)s after you opened it (its version is now %(version)s): "
                "nothing of yours was written. Save yours as a new draft, or reload the draft to see theirs.",
                who=stored.updated_by, when=stored.updated_at.astimezone(self.zone).strftime("%H:%M %d/%m/%Y"),
                version=stored.version))
        self.session.expire_all()
        return self.get(draft_id)

    def files_of_version(self, key: str, version: int | None = None) -> VersionFiles:
        """The files of version `version` of process `key` (its newest when None), or DraftNotFoundError."""
        query = select(ProcessDefinition).options(undefer(ProcessDefinition.files)).where(
            ProcessDefinition.process_key == key)
        query = query.where(ProcessDefinition.version == version) if version is not None else \
            query.order_by(ProcessDefinition.version.desc()).limit(1)
        row = self.session.scalars(query).first()
        if row is None:
            raise DraftNotFoundError(t("No deployed version %(version)s of the process “%(key)s”: choose one from "
                                       "the list of processes.", version=version or "", key=key))
        return VersionFiles(row.process_key, row.version, row.name or row.process_key, dict(row.files or {}))

    def deployed(self) -> list[DeployedProcess]:
        """Every deployed process key with its newest version, by key."""
        newest = select(ProcessDefinition.process_key, func.max(ProcessDefinition.version).label("version")) \
            .group_by(ProcessDefinition.process_key).subquery()
        rows = self.session.execute(
            select(ProcessDefinition.process_key, ProcessDefinition.name, ProcessDefinition.version,
                   ProcessDefinition.deployed_at)
            .join(newest, (newest.c.process_key == ProcessDefinition.process_key)
                  & (newest.c.version == ProcessDefinition.version))
            .order_by(ProcessDefinition.process_key))
        return [DeployedProcess(r.process_key, r.name or r.process_key, r.version, r.deployed_at) for r in rows]

    def _checked_base(self, base: Any) -> tuple[str | None, int | None]:
        if base is None:
            return None, None
        key, version = (base.get("key"), base.get("version")) if isinstance(base, dict) else (None, None)
        if not isinstance(key, str) or isinstance(version, bool) or not isinstance(version, int):
            raise DraftError(t("The base of a draft is a deployed process and version: "
                               "{\"key\": \"field_report\", \"version\": 3}."))
        found = self.session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.process_key == key,
                                                                       ProcessDefinition.version == version))
        if found is None:
            raise DraftError(t("No deployed version %(version)s of the process “%(key)s”: choose one from "
                               "the list of processes.", version=version, key=key))
        return key, version


def _draft(row: DesignerDraft) -> Draft:
    return Draft(row.id, row.title, dict(row.files or {}), row.base_key, row.base_version, row.version,
                 row.created_by, row.updated_by, row.updated_at)


def _checked_files(files: Any) -> dict[str, str]:
    if not isinstance(files, dict) or not files:
        raise DraftError(t("A draft holds at least one file: add a .bpmn or .dmn file."))
    if len(files) > MAX_FILES:
        raise DraftError(t("A draft holds at most %(limit)s files: remove some.", limit=MAX_FILES))
    size = 0
    for name, xml in files.items():
        if not _FILE_NAME.match(name):
            raise DraftError(t("“%(name)s” is not a file name: give a name without folders, at most 120 characters.",
                               name=name[:120]))
        if not name.lower().endswith(KINDS):
            raise DraftError(t("“%(name)s” is neither a BPMN nor a DMN file: only .bpmn and .dmn files go in a "
                               "bundle.", name=name))
        if not isinstance(xml, str) or not xml.lstrip().startswith("<") or "\x00" in xml:
            raise DraftError(t("“%(name)s” is not XML: open the file in the modeler and save again.", name=name))
        size += len(xml.encode("utf-8"))
    if size > MAX_BYTES:
        raise DraftError(t("The draft is too large (%(size)s MB, at most %(limit)s MB): remove files you do not "
                           "need.", size=round(size / 1024 / 1024, 1), limit=MAX_BYTES // 1024 // 1024))
    return dict(files)


def _checked_title(title: Any, files: dict[str, str]) -> str:
    if title is not None and (not isinstance(title, str) or "\x00" in title):
        raise DraftError(t("The title of a draft is text."))
    title = (title or "").strip() or ", ".join(sorted(files))[:MAX_TITLE]
    if len(title) > MAX_TITLE:
        raise DraftError(t("The title is longer than %(limit)s characters: shorten it.", limit=MAX_TITLE))
    return title
