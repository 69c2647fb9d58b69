"""The `ioc` command: demo, serve, worker, beat, deploy, start, instance, bench, db."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext

from engine.errors import DeploymentError, EngineError, FormError, NotFoundError, Problem
from engine.models import HumanTask
from webapp.extensions import db
from webapp.runtime import runtime


def _create_app():
    from webapp import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, load_dotenv=False)
def main() -> None:
    """IOC Case Flow — case management for smart-city operations centres."""


@main.result_callback()
@click.pass_context
def _close_connections(ctx: click.Context, *_args, **_kwargs) -> None:
    """Close pooled database connections when a command ends (a CLI process must not leak them)."""
    info = ctx.find_object(ScriptInfo)
    if info is not None and info._loaded_app is not None:
        with info._loaded_app.app_context():
            db.engine.dispose()


def _services():
    return runtime().services(db.session)


def deploy_files(paths: list[str], key: str | None = None, deployed_by: str = "cli") -> list[str]:
    """Deploy each process found among `paths`; lines saying what happened."""
    from engine.definitions import read_files

    files = read_files(paths)
    services = _services()
    bpmn = {n: t for n, t in files.items() if n.endswith(".bpmn")}
    dmn = {n: t for n, t in files.items() if n.endswith(".dmn")}
    others = sorted(set(files) - set(bpmn) - set(dmn))
    if others:
        raise DeploymentError([Problem(n, None, "only .bpmn and .dmn files can be deployed") for n in others])
    lines = []
    # Each BPMN file is one deployment, together with every DMN file given (its decisions).
    groups = [{name: text, **dmn} for name, text in sorted(bpmn.items())] or [dmn]
    for group in groups:
        result = services.definitions.deploy(group, process_key=key, deployed_by=deployed_by)
        d = result.definition
        state = "deployed" if result.created else "unchanged"
        lines.append(f"{d.process_key} v{d.version} {state} ({d.name}; sha256 {d.sha256[:12]})")
    db.session.commit()
    return lines


@main.command("deploy")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--key", help="Process id to deploy when the files hold several executable processes.")
@with_appcontext
def deploy_command(files: tuple[str, ...], key: str | None) -> None:
    """Validate and deploy BPMN/DMN FILES as a new version (prints each problem when refused)."""
    try:
        for line in deploy_files(list(files), key):
            click.echo(line)
    except DeploymentError as exc:
        db.session.rollback()
        click.echo(f"Refused: {len(exc.problems)} problem(s); nothing was deployed.", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)


@main.command("start")
@click.argument("key")
@click.option("--data", default="{}", help="Start data as a JSON object.")
@click.option("--business-key", default=None, help="A business key (case code) for the instance.")
@with_appcontext
def start_command(key: str, data: str, business_key: str | None) -> None:
    """Start an instance of process KEY; prints its id and state."""
    try:
        payload = json.loads(data)
        if not isinstance(payload, dict):
            raise ValueError("it must be a JSON object like {\"a\": 1}")
    except ValueError as exc:
        raise click.BadParameter(f"--data is not a JSON object: {exc}") from None
    services = _services()
    try:
        row = services.instances.start(key, payload, business_key=business_key, actor="cli")
        db.session.commit()
    except EngineError as exc:
        db.session.rollback()
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    runtime().enqueue_outbox()
    _print_instance(row.id)


def _print_instance(instance_id: int) -> None:
    view = _services().instances.view(instance_id)
    click.echo(f"instance {view.id}: {view.process_key} v{view.version}  status={view.status}"
               + (f"  business_key={view.business_key}" if view.business_key else ""))
    click.echo(f"  next timer: {view.next_timer_at.isoformat() if view.next_timer_at else '—'}")
    click.echo(f"  waiting for messages: {', '.join(view.waiting_messages) or '—'}")
    if view.open_tasks:
        click.echo("  open tasks:")
        for t in view.open_tasks:
            due = t.due_at.isoformat() if t.due_at else "—"
            click.echo(f"    {t.id}  {t.element_id} «{t.title}»  role={t.candidate_role} unit={t.candidate_unit}"
                       f" assignee={t.assignee or '—'} due={due}")
    else:
        click.echo("  open tasks: —")
    if view.incidents:
        click.echo("  incidents:")
        for message in view.incidents:
            click.echo(f"    ! {message}")


@main.command("instance")
@click.argument("instance_id", type=int)
@with_appcontext
def instance_command(instance_id: int) -> None:
    """Show an instance: state, open tasks, next timer, incidents."""
    try:
        _print_instance(instance_id)
    except EngineError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)


@main.command("complete")
@click.argument("task_id")
@click.option("--data", default="{}", help="Form data as a JSON object.")
@click.option("--as", "actor", default="cli", help="Who completes it (username).")
@with_appcontext
def complete_command(task_id: str, data: str, actor: str) -> None:
    """Complete a human task with form data (for scripts and operators)."""
    try:
        payload = json.loads(data)
    except ValueError as exc:
        raise click.BadParameter(f"--data is not JSON: {exc}") from None
    services = _services()
    try:
        task = db.session.get(HumanTask, task_id)
        if task is None:
            raise NotFoundError(f"no task {task_id}")
        services.cases.complete_task(task_id, payload, actor)
    except FormError as exc:
        click.echo("Refused, fix these fields:", err=True)
        for name, why in exc.fields.items():
            click.echo(f"  - {name}: {why}", err=True)
        sys.exit(1)
    except EngineError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    _print_instance(task.instance_id)


def _serve(with_sweep: bool) -> None:
    from engine.sweep import SweepThread

    app = current_app._get_current_object()
    if with_sweep and app.config["TIMER_SWEEP"] == "thread":
        thread = SweepThread(runtime().sweep(), float(app.config["TIMER_SWEEP_INTERVAL"]))
        thread.start()
        app.extensions["ioc_sweep_thread"] = thread
    host, port = app.config["HOST"], int(app.config["PORT"])
    click.echo(f"Serving IOC Case Flow at http://{host}:{port}  (health: http://{host}:{port}/healthz)")
    # app.run() refuses to run inside the flask CLI; run_simple is the same server without the guard.
    from werkzeug.serving import run_simple

    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


@main.command("serve")
@with_appcontext
def serve_command() -> None:
    """Serve the web app with Werkzeug (demo and development; production: gunicorn webapp.wsgi:app)."""
    _serve(with_sweep=True)


@main.command("demo")
@click.option("--no-serve", is_flag=True, help="Only set up the demo database, do not serve.")
@with_appcontext
def demo_command(no_serve: bool) -> None:
    """Set up the embedded demo (schema, Đắk Lắk demo data, processes, sample cases) and serve it."""
    from webapp.setup import setup_demo
    from workflows.demo import DEMO_PASSWORD, demo_data

    summary = setup_demo(current_app._get_current_object())
    app = current_app
    click.echo("IOC Case Flow — demo Đắk Lắk (dữ liệu minh họa / demo data)")
    for line in summary:
        click.echo(f"  {line}")
    click.echo(f"Tài khoản demo / demo accounts (mật khẩu / password: {DEMO_PASSWORD}; "
               f"all {len(demo_data()['users'])} are in workflows/demo/dak_lak.json):")
    for username, role, unit in _demo_accounts():
        click.echo(f"  {username:<18} {role:<10} {unit}")
    click.echo(f"Open http://{app.config['HOST']}:{app.config['PORT']}")
    if not no_serve:
        _serve(with_sweep=True)


# The people of one case's journey in Buôn Ma Thuột, then the province and the back office.
DEMO_JOURNEY = ["dtv1", "cb.buonmathuot", "tp.buonmathuot", "ld.buonmathuot", "tp.sxd", "ct.ubnd",
                "thietke", "admin"]


def _demo_accounts() -> list[tuple[str, str, str]]:
    from workflows.demo import demo_data

    data = demo_data()
    names = {u["code"]: u["name"] for u in data["units"]}
    users = {u["username"]: u for u in data["users"]}
    citizens = [u["username"] for u in data["users"] if "citizen" in u["roles"]][:1]
    return [(name, users[name]["roles"][0], names[users[name]["unit"]])
            for name in DEMO_JOURNEY + citizens if name in users]


@main.command("worker")
@click.option("--beat", is_flag=True, help="Also run the periodic scheduler (timer sweep, outbox) in this worker.")
@click.option("--concurrency", default=2, show_default=True)
@with_appcontext
def worker_command(beat: bool, concurrency: int) -> None:
    """Run a Celery worker (needs IOC_REDIS_URL)."""
    celery_app = current_app.extensions["celery"]
    argv = ["worker", "--loglevel=INFO", f"--concurrency={concurrency}"]
    if beat:
        argv.append("--beat")
    celery_app.worker_main(argv)


@main.command("beat")
@with_appcontext
def beat_command() -> None:
    """Run Celery beat: the timer sweep every second and outbox delivery (needs IOC_REDIS_URL)."""
    celery_app = current_app.extensions["celery"]
    celery_app.start(["beat", "--loglevel=INFO", "--schedule", str(Path(current_app.instance_path) / "celerybeat-schedule")])


@main.command("bench")
@click.option("--backend", type=click.Choice(["sqlite", "postgres", "both"]), default="both", show_default=True)
@click.option("--cases", default=1000, show_default=True, help="Cases to open (then complete and time out).")
@click.option("--processes", default=1, show_default=True, help="Worker processes measuring in parallel.")
@click.option("--postgres-url", envvar="IOC_BENCH_POSTGRES_URL", show_default=True,
              default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
              help="A server where the scratch database ioc_bench may be created (and dropped).")
def bench_command(backend: str, cases: int, processes: int, postgres_url: str) -> None:
    """Measure intakes, task completions and timer firings per second on scratch databases."""
    import tempfile

    from webapp.config import PROJECT_ROOT
    from workflows import bench

    bpmn_dir = PROJECT_ROOT / "bpmn"
    results = []
    click.echo(f"machine: {bench.machine()}")
    click.echo(f"CPU reference: {bench.cpu_reference_ms():.0f} ms for 5M loop iterations (lower is faster)")
    if backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            # SQLite has one writer at a time: more processes would only queue.
            results += bench.run(f"sqlite:///{tmp}/bench.sqlite3", "sqlite", cases, 1, bpmn_dir)
    if backend in ("postgres", "both"):
        url = bench.scratch_postgres(postgres_url)
        results += bench.run(url, f"postgresql ×{processes}", cases, processes, bpmn_dir)
    click.echo(bench.table(results))


if __name__ == "__main__":  # pragma: no cover
    main()
