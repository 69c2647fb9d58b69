"""The designer workspace: migrating running instances to a new version, and replaying decision tables against recent cases.

`/designer/migrate?key=K&to=N` lists the running instances of older versions of process K with the dry run's
verdict on moving each to version N; the chosen ones (or all that can) move in one job (`ioc.migrate_instances`,
eager in the embedded mode), whose results are at `/designer/migrate/jobs/<id>`. `/designer/replay` replays the
routing and deadline tables of a version or a draft against the cases of the last 30 days.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.errors import NotFoundError
from webapp.blueprints.designer import bp, designer_required, section
from webapp.extensions import db
from webapp.i18n import translate
from webapp.runtime import runtime
from webapp.security import actor
from workflows.designer.drafts import DraftNotFoundError, DraftService
from workflows.designer.migration import MigrationRequestError, MigrationService
from workflows.designer.replay import ReplayError, ReplayService

section("designer.migrate", _l("Migrate"), order=50,
        description=_l("Move running instances to a newer version: a dry run says which can move and why not;"
                       " the chosen ones move in one job, each audited."))


def _service() -> MigrationService:
    rt = runtime()
    return MigrationService(db.session, rt.services(db.session).instances, rt.clock)


def _int(value: str | None) -> int | None:
    raw = (value or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None


@bp.get("/migrate")
@designer_required()
def migrate():
    """The running instances of older versions of a process, each with whether it can move to the chosen version."""
    service = _service()
    processes = service.processes()
    key = request.args.get("key") or (processes[0] if processes else "")
    if not key:
        return render_template("designer/migrate.html", processes=[], key="", versions=[], page=None, jobs=[])
    try:
        target = service.target(key, _int(request.args.get("to")))
    except MigrationRequestError as exc:
        flash(translate(exc.args[0]), "error")
        return render_template("designer/migrate.html", processes=processes, key=key, versions=[], page=None,
                               jobs=[]), 404
    page = service.candidates(target, _int(request.args.get("page")) or 1)
    return render_template("designer/migrate.html", processes=processes, key=key, versions=service.versions(key),
                           page=page, jobs=service.recent_jobs(key))


@bp.post("/migrate/jobs")
@designer_required()
def migrate_start():
    """Start a job moving the ticked instances (or all that can move) to the chosen version."""
    service = _service()
    key = request.form.get("key", "")
    everyone = request.form.get("all") == "1"
    ids = [i for i in (_int(v) for v in request.form.getlist("instance")) if i is not None]
    try:
        target = service.target(key, _int(request.form.get("to")))
        job_id = service.start_job(target, None if everyone else ids, actor().username)
    except MigrationRequestError as exc:
        db.session.rollback()
        flash(translate(exc.args[0]), "error")
        return redirect(url_for("designer.migrate", key=key, to=request.form.get("to") or None)), 303
    _enqueue(job_id)
    return redirect(url_for("designer.migrate_job", job_id=job_id)), 303


@bp.post("/migrate/jobs/<int:job_id>/run")
@designer_required()
def migrate_rerun(job_id: int):
    """Run a job again: the instances it has not moved yet (after an interruption)."""
    try:
        _service().job(job_id)
    except NotFoundError:
        abort(404)
    _enqueue(job_id)
    return redirect(url_for("designer.migrate_job", job_id=job_id)), 303


def _enqueue(job_id: int) -> None:
    from webapp.tasks import migrate_instances

    # The job runs on sessions of its own (eagerly, here, in the embedded mode): this request's read transaction
    # ends first, or SQLite's write lock would make it wait.
    db.session.rollback()
    try:
        migrate_instances.delay(job_id)
    except Exception:  # noqa: BLE001 - the broker being down: the job waits, its page offers to run it again
        flash(_("The job could not be queued now; it waits. Run it again from its page in a moment."), "error")


@bp.get("/migrate/jobs/<int:job_id>")
@designer_required()
def migrate_job(job_id: int):
    """A migration job: who started it, when it ran, and what became of each instance."""
    try:
        view = _service().job(job_id)
    except NotFoundError:
        abort(404)
    return render_template("designer/migrate_job.html", view=view)


@bp.get("/replay")
@designer_required()
def replay():
    """The routing and deadline tables of a version (`?key=&version=`, against the version before it) or of a draft
    (`?draft=`, against the version it started from, else the newest), replayed against the last 30 days' cases."""
    rt = runtime()
    service = ReplayService(db.session, rt.services(db.session).definitions.evaluator, rt.clock)
    try:
        draft_id = _int(request.args.get("draft"))
        if draft_id is not None:
            draft = DraftService(db.session, rt.clock).get(draft_id)
            key = draft.base_key or request.args.get("key", "")
            old, _before = service.version_files(key, draft.base_version)
            result = service.replay(key, old.files, draft.files, _("version %(version)s", version=old.version),
                                    _("draft “%(title)s”", title=draft.title))
        else:
            key = request.args.get("key", "")
            new, old = service.version_files(key, _int(request.args.get("version")))
            if old is None:  # nothing is wrong: there is nothing to compare yet
                return render_template("designer/replay.html", result=None, error=_(
                    "Version %(version)s is the first: there is no earlier table to compare with.", version=new.version))
            result = service.replay(key, old.files, new.files, _("version %(version)s", version=old.version),
                                    _("version %(version)s", version=new.version))
    except (ReplayError, DraftNotFoundError) as exc:
        return render_template("designer/replay.html", result=None, error=translate(exc.args[0])), 404
    return render_template("designer/replay.html", result=result, error=None)
