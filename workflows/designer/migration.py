"""Moving a process's running instances to a newer version: the dry run per instance, and a job that moves the
selected ones (the designer's /designer/migrate page).

A job is a row (`MigrationJob`) with one item per instance. Running it moves each instance in a transaction
of its own, together with its item's outcome, its audit line and the job's counts: a job interrupted midway
leaves every instance either moved or not, and running it again takes only the items still pending.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.errors import ConflictError, NotFoundError
from engine.i18n import Text, from_json, t, to_json
from engine.instances import InstanceService
from engine.migration import InstanceMigrator, MigrationPlan
from engine.models import ProcessDefinition, ProcessInstance
from workflows.admin.audit import Target, record, register_actions
from workflows.models import MigrationJob, MigrationJobItem, User

PAGE_SIZE = 50
# Instances that may move: a finished or cancelled one has nowhere to go (one in error is listed, and told why).
LISTED_STATUSES = ("running", "error")
OUTCOMES = {"pending": t("not run yet"), "moved": t("moved to the new version"), "refused": t("not moved"),
            "skipped": t("already moved")}
JOB_STATUSES = {"queued": t("job queued"), "running": t("job running"), "done": t("job done")}

register_actions({"process.migrate_instance": t("move a running instance to another version")},
                 {"process_instance": t("process instance")})


class MigrationRequestError(Exception):
    """A migration asked for something that cannot be: no such process or version, nothing chosen."""


@dataclass(frozen=True)
class Candidate:
    """A running instance of an older version, with the dry run's verdict on moving it."""

    plan: MigrationPlan
    created_at: datetime


@dataclass(frozen=True)
class CandidatePage:
    """One page of the instances that could move to `target`."""

    process_key: str
    target: ProcessDefinition
    rows: list[Candidate]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class JobItemView:
    """One instance of a job and its outcome."""

    instance_id: int
    business_key: str | None
    from_version: int
    outcome: str
    reasons: list[Text | str]
    finished_at: datetime | None

    @property
    def outcome_label(self) -> Text:
        """The outcome in words (translate when shown)."""
        return OUTCOMES.get(self.outcome, self.outcome)


@dataclass(frozen=True)
class JobView:
    """A migration job with its items, for its page."""

    job: MigrationJob
    items: list[JobItemView]

    @property
    def pending(self) -> int:
        """Items not run yet (an interrupted job)."""
        return sum(1 for item in self.items if item.outcome == "pending")

    @property
    def status_label(self) -> Text:
        """The job's status in words."""
        return JOB_STATUSES.get(self.job.status, self.job.status)


class MigrationService:
    """The migrate page's service: versions, the dry run of a page of instances, jobs."""

    def __init__(self, session: Session, instances: InstanceService, clock: Clock = SYSTEM_CLOCK):
        self.session = session
        self.instances = instances
        self.clock = clock
        self.migrator = InstanceMigrator(instances)

    # -- what can move
    def processes(self) -> list[str]:
        """Keys of the deployed processes."""
        return list(self.session.scalars(select(ProcessDefinition.process_key).distinct()
                                         .order_by(ProcessDefinition.process_key)))

    def versions(self, process_key: str) -> list[ProcessDefinition]:
        """The deployed versions of a process, newest first."""
        return list(self.session.scalars(select(ProcessDefinition).where(ProcessDefinition.process_key == process_key)
                                         .order_by(ProcessDefinition.version.desc())))

    def target(self, process_key: str, version: int | None) -> ProcessDefinition:
        """The version to move to (the newest when none is named)."""
        versions = self.versions(process_key)
        if not versions:
            raise MigrationRequestError(t("no process %(key)s is deployed; choose one of the list", key=repr(process_key)))
        if version is None:
            return versions[0]
        for row in versions:
            if row.version == version:
                return row
        raise MigrationRequestError(t("process %(key)s has no version %(version)s; choose one of the list",
                                      key=process_key, version=version))

    def _older(self, target: ProcessDefinition):
        return (select(ProcessInstance).join(ProcessInstance.definition)
                .where(ProcessInstance.process_key == target.process_key,
                       ProcessInstance.status.in_(LISTED_STATUSES),
                       ProcessDefinition.version < target.version))

    def candidates(self, target: ProcessDefinition, page: int = 1) -> CandidatePage:
        """The running instances of older versions, a page at a time, each with its dry run."""
        total = self.session.scalar(select(func.count()).select_from(self._older(target).subquery())) or 0
        pages = max(1, -(-total // PAGE_SIZE))
        page = max(1, min(page, pages))
        rows = self.session.scalars(self._older(target).order_by(ProcessInstance.id)
                                    .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))
        found = [Candidate(self.migrator.plan(row.id, target), row.created_at) for row in rows]
        return CandidatePage(target.process_key, target, found, page, pages, total)

    # -- jobs
    def start_job(self, target: ProcessDefinition, instance_ids: list[int] | None, actor: str) -> int:
        """A job for the chosen instances (None: every one the dry run lets move), committed; its id."""
        if instance_ids is None:
            chosen = [row.id for row in self.session.scalars(self._older(target).order_by(ProcessInstance.id))
                      if self.migrator.plan(row.id, target).can_move]
        else:
            listed = set(self.session.scalars(self._older(target).with_only_columns(ProcessInstance.id)
                                              .where(ProcessInstance.id.in_(instance_ids))))
            chosen = [i for i in dict.fromkeys(instance_ids) if i in listed]
        if not chosen:
            raise MigrationRequestError(t("no instance that can move was chosen; tick the ones to move, or choose"
                                          " \"all that can move\""))
        now = self.clock.now()
        job = MigrationJob(process_key=target.process_key, target_definition_id=target.id,
                           target_version=target.version, status="queued", total=len(chosen), moved=0, refused=0,
                           created_by=actor, created_at=now)
        self.session.add(job)
        self.session.flush()
        for row in self.session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_(chosen))
                                        .order_by(ProcessInstance.id)):
            self.session.add(MigrationJobItem(job_id=job.id, instance_id=row.id, business_key=row.business_key,
                                              from_version=row.definition.version, outcome="pending", reasons=[]))
        job_id = job.id
        self.session.commit()
        return job_id

    def run_job(self, job_id: int) -> MigrationJob:
        """Move the job's pending instances, each in its own transaction with its outcome and audit line."""
        job = self._job(job_id)
        target = self.session.get(ProcessDefinition, job.target_definition_id)
        actor = self.session.scalar(select(User).where(User.username == job.created_by)) or _Named(job.created_by)
        job.status, job.started_at, job.finished_at = "running", job.started_at or self.clock.now(), None
        self.session.commit()
        pending = list(self.session.scalars(select(MigrationJobItem.id).where(
            MigrationJobItem.job_id == job.id, MigrationJobItem.outcome == "pending").order_by(MigrationJobItem.id)))
        for item_id in pending:
            self._run_item(job, self.session.get(MigrationJobItem, item_id), target, actor)
        job = self._job(job_id)
        job.status, job.finished_at = "done", self.clock.now()
        self.session.commit()
        return job

    def _run_item(self, job: MigrationJob, item: MigrationJobItem, target: ProcessDefinition, actor: Any) -> None:
        self.session.refresh(item)
        if item.outcome != "pending":
            return  # another run of this job (a double click on "run again") took it meanwhile
        try:
            plan = self.migrator.migrate(item.instance_id, target, actor=job.created_by)
            record(self.session, actor, "process.migrate_instance",
                   Target("process_instance", item.instance_id, item.business_key or ""),
                   before={"version": plan.from_version}, after={"version": plan.to_version},
                   note=f"job {job.id}", clock=self.clock)
            item.outcome = "moved"
        except (ConflictError, NotFoundError):
            self.session.rollback()
            item = self.session.get(MigrationJobItem, item.id)
            self.session.refresh(item)
            if item.outcome != "pending":
                return
            row = self.session.get(ProcessInstance, item.instance_id)
            if row is not None and row.definition_id == target.id:
                item.outcome = "skipped"  # already there: moved by another job, or by another run of this one
            else:
                plan = self.migrator.plan(item.instance_id, target) if row is not None else None
                reasons = plan.reasons if plan else [t("the instance no longer exists")]
                item.outcome = "refused"
                item.reasons = [to_json(r) for r in reasons] or \
                    [to_json(t("someone else changed the instance at the same time; run the job again"))]
        item.finished_at = self.clock.now()
        self._count(job.id)
        self.session.commit()

    def _count(self, job_id: int) -> None:
        job = self._job(job_id)
        counts = dict(self.session.execute(select(MigrationJobItem.outcome, func.count()).where(
            MigrationJobItem.job_id == job_id).group_by(MigrationJobItem.outcome)).all())
        job.moved = counts.get("moved", 0) + counts.get("skipped", 0)
        job.refused = counts.get("refused", 0)

    def _job(self, job_id: int) -> MigrationJob:
        job = self.session.get(MigrationJob, job_id)
        if job is None:
            raise NotFoundError(t("no migration job %(job)s", job=job_id))
        return job

    def job(self, job_id: int) -> JobView:
        """A job with each instance's outcome."""
        job = self._job(job_id)
        items = self.session.scalars(select(MigrationJobItem).where(MigrationJobItem.job_id == job_id)
                                     .order_by(MigrationJobItem.id))
        return JobView(job, [JobItemView(i.instance_id, i.business_key, i.from_version, i.outcome,
                                         [from_json(r) for r in i.reasons or []], i.finished_at) for i in items])

    def recent_jobs(self, process_key: str, limit: int = 10) -> list[MigrationJob]:
        """The latest jobs of a process."""
        return list(self.session.scalars(select(MigrationJob).where(MigrationJob.process_key == process_key)
                                         .order_by(MigrationJob.id.desc()).limit(limit)))


@dataclass(frozen=True)
class _Named:
    """Who started a job whose account is gone: the audit line keeps the name."""

    username: str


def run_migration_job(session_factory: Callable[[], Session], services: Callable[[Session], Any],
                      clock: Clock, job_id: int) -> MigrationJob:
    """Run a job on a session of its own (the Celery task's body)."""
    with session_factory() as session:
        return MigrationService(session, services(session).instances, clock).run_job(job_id)
