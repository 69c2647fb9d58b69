"""The `ioc` command: demo, serve, worker, beat, vision, deploy, start, instance, bench, db."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext

from engine.errors import DeploymentError, EngineError, FormError, NotFoundError, Problem
from engine.i18n import t, text_of
from engine.models import HumanTask
from webapp.extensions import db
from webapp.i18n import cli_language, translate
from webapp.runtime import runtime
from workflows.admin.incidents import ShellActor
from workflows.errors import CaseError, IntakeError

# Instance statuses as the report shows them (the stored values are English keys).
STATUS = {"running": t("running"), "completed": t("completed"), "error": t("error"), "cancelled": t("cancelled")}


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


def in_cli_language(command: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command (inside its app context) with messages in the configured IOC_LANG."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with cli_language():
            return command(*args, **kwargs)

    return wrapper


def echo(message: Any, err: bool = False, indent: str = "") -> None:
    """Print a message for people, translated into the CLI's language."""
    click.echo(indent + translate(message), err=err)


def _problem_line(problem: Problem) -> str:
    """`file [element]: message`, the message translated."""
    where = problem.file + (f" [{problem.element_id}]" if problem.element_id else "")
    return f"{where}: {translate(problem.message)}"


def deploy_files(paths: list[str], key: str | None = None, deployed_by: str = "cli", note: str | None = None,
                 confirm: bool = False, source: str = "cli") -> list[str]:
    """Deploy each root process found among `paths` with what it uses; lines (translatable Text) saying what happened.

    Raises `ConfirmationNeededError` (nothing stored) when a file would take over a process deployed from
    another file and `confirm` is false.
    """
    from engine.definitions import read_files

    files = read_files(paths)
    services = _services()
    others = sorted(n for n in files if not n.lower().endswith((".bpmn", ".dmn")))
    if others:
        raise DeploymentError([Problem(n, None, t("only .bpmn and .dmn files can be deployed")) for n in others])
    lines = []
    # One deployment per root process: its file, the files of the processes it calls, the DMN files it uses.
    for result in services.definitions.deploy_bundles(files, key, deployed_by=deployed_by, note=note, source=source,
                                                      confirm=confirm):
        d = result.definition
        facts = {"key": d.process_key, "version": d.version, "name": d.name, "sha": d.sha256[:12],
                 "files": ", ".join(sorted(d.files))}
        if result.created:
            lines.append(t("%(key)s v%(version)s deployed (%(name)s; sha256 %(sha)s; files: %(files)s)", **facts))
        else:
            lines.append(t("%(key)s v%(version)s unchanged (%(name)s; sha256 %(sha)s)", **facts))
    db.session.commit()
    return lines


@main.command("deploy")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--key", help="Process id to deploy when the files hold several executable processes.")
@click.option("--note", default=None, help="Why this version is deployed (kept with it, shown in the library).")
@click.option("--yes", "assume_yes", is_flag=True,
              help="Accept without asking when a file becomes the next version of a process deployed from another file.")
@with_appcontext
@in_cli_language
def deploy_command(files: tuple[str, ...], key: str | None, note: str | None, assume_yes: bool) -> None:
    """Validate and deploy BPMN/DMN FILES: one version per root process, with the processes it calls and
    the decision tables it uses (prints each problem when refused)."""
    from engine.bundles import ConfirmationNeededError

    try:
        try:
            lines = deploy_files(list(files), key, note=note, confirm=assume_yes)
        except ConfirmationNeededError as asked:
            db.session.rollback()
            for message in asked.messages:
                echo(t("Warning: %(message)s", message=message), err=True)
            try:
                accepted = click.confirm(translate(t("Deploy anyway?")), default=False, err=True)
            except click.Abort:  # no answer (not run from a terminal)
                accepted = False
            if not accepted:
                echo(t("Not deployed. Answer yes when asked, or run the command again with --yes to accept."),
                     err=True)
                sys.exit(1)
            lines = deploy_files(list(files), key, note=note, confirm=True)
        for line in lines:
            echo(line)
    except DeploymentError as exc:
        db.session.rollback()
        echo(t("Refused: %(count)s problem(s); nothing was deployed. Fix them and deploy again.",
               count=len(exc.problems)), err=True)
        for problem in exc.problems:
            click.echo(f"  - {_problem_line(problem)}", err=True)
        sys.exit(1)


@main.command("start")
@click.argument("key")
@click.option("--data", default="{}", help="Start data as a JSON object.")
@click.option("--business-key", default=None, help="A business key (case code) for the instance.")
@with_appcontext
@in_cli_language
def start_command(key: str, data: str, business_key: str | None) -> None:
    """Start an instance of process KEY; prints its id and state."""
    payload = _json_object(data)
    services = _services()
    try:
        row = services.instances.start(key, payload, business_key=business_key, actor="cli")
        db.session.commit()
    except EngineError as exc:
        db.session.rollback()
        _echo_error(exc)
        sys.exit(1)
    runtime().enqueue_outbox()
    _print_instance(row.id)


def _json_object(data: str) -> dict[str, Any]:
    """`--data` as a JSON object; a usage error saying why otherwise."""
    try:
        payload = json.loads(data)
        if not isinstance(payload, dict):
            raise ValueError(t("it must be a JSON object like {\"a\": 1}"))
    except ValueError as exc:
        raise click.BadParameter(translate(t("--data is not a JSON object: %(error)s", error=text_of(exc)))) from None
    return payload


def _echo_error(exc: BaseException) -> None:
    """`Error: …` on stderr, with the exception's message translated."""
    echo(t("Error: %(message)s", message=text_of(exc)), err=True)


def _print_instance(instance_id: int) -> None:
    view = _services().instances.view(instance_id)
    facts = {"id": view.id, "key": view.process_key, "version": view.version,
             "status": STATUS.get(view.status, view.status)}
    if view.business_key:
        echo(t("instance %(id)s: %(key)s v%(version)s  status=%(status)s  business_key=%(business_key)s",
               business_key=view.business_key, **facts))
    else:
        echo(t("instance %(id)s: %(key)s v%(version)s  status=%(status)s", **facts))
    echo(t("next timer: %(at)s", at=_local(view.next_timer_at)), indent="  ")
    echo(t("waiting for messages: %(names)s", names=", ".join(view.waiting_messages) or "—"), indent="  ")
    if view.open_tasks:
        echo(t("open tasks:"), indent="  ")
        for task in view.open_tasks:
            echo(t("%(id)s  %(element)s «%(title)s»  role=%(role)s unit=%(unit)s assignee=%(assignee)s due=%(due)s",
                   id=task.id, element=task.element_id, title=task.title, role=task.candidate_role,
                   unit=task.candidate_unit, assignee=task.assignee or "—",
                   due=_local(task.due_at)), indent="    ")
    else:
        echo(t("open tasks: —"), indent="  ")
    if view.incident_steps:
        echo(t("incidents:"), indent="  ")
        for step in view.incident_steps:
            # Our own reasons come back as Text and are translated; other failures read as recorded.
            click.echo(f"    ! #{step.id} {_element(step.element_id, step.element_name)}: {translate(step.reason)}")


def _element(element_id: str | None, name: Any) -> str:
    """`element_id «name»`, the name in the CLI's language (the id alone when the element has no name)."""
    return f"{element_id or '—'} «{translate(name)}»" if name else (element_id or "—")


def _local(moment) -> str:
    """A UTC moment as the operations centre's local time (IOC_TIMEZONE), e.g. 10:35 28/11/2026 +07."""
    if moment is None:
        return "—"
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).strftime("%H:%M %d/%m/%Y UTC%z")[:-2]


@main.command("instance")
@click.argument("instance_id", type=int)
@with_appcontext
@in_cli_language
def instance_command(instance_id: int) -> None:
    """Show an instance: state, open tasks, next timer, incidents."""
    try:
        _print_instance(instance_id)
    except EngineError as exc:
        _echo_error(exc)
        sys.exit(1)


@main.group("incidents", invoke_without_command=True)
@click.option("--resolved", is_flag=True, help="List the resolved incidents instead of the open ones.")
@with_appcontext
@in_cli_language
def incidents_command(resolved: bool) -> None:
    """List the open incidents (failed steps); `ioc incidents retry ID` runs one again."""
    if click.get_current_context().invoked_subcommand is not None:
        return
    page = _services().incidents.list("resolved" if resolved else "open")
    if not page.rows:
        echo(t("No open incident: every process runs.") if not resolved else t("No incident here."))
        return
    for row in page.rows:
        state = translate(row.resolution_label) + f" ({row.resolved_by or '—'})" if not row.is_open else ""
        click.echo(f"#{row.id}  {_local(row.created_at)}  {row.case_code or '—'}  {row.process_key} v{row.version}"
                   f" #{row.instance_id}  {_element(row.element_id, row.element_name)}  {state}".rstrip())
        click.echo(f"    ! {translate(row.reason)}")
    if page.total > len(page.rows):
        echo(t("… and %(count)s more on the incidents page (/admin/incidents)", count=page.total - len(page.rows)))


@incidents_command.command("retry")
@click.argument("incident_id", type=int)
@click.option("--data", default="{}", help="Corrected process data as a JSON object, e.g. '{\"unit_code\": \"P-TAN-LAP\"}'.")
@click.option("--note", default="", help="Why, for the case history and the audit log.")
@with_appcontext
@in_cli_language
def incidents_retry_command(incident_id: int, data: str, note: str) -> None:
    """Run the failed step of incident ID again (after fixing its cause), optionally with corrected data."""
    payload = _json_object(data)
    try:
        row = _services().incidents.retry(incident_id, ShellActor(), note=note, data=payload)
    except (EngineError, CaseError) as exc:
        db.session.rollback()
        if isinstance(exc, IntakeError):
            for name, why in exc.fields.items():
                click.echo(f"  - {name}: {translate(why)}", err=True)
        else:
            _echo_error(exc)
        sys.exit(1)
    _print_instance(row.instance_id)


@main.command("complete")
@click.argument("task_id")
@click.option("--data", default="{}", help="Form data as a JSON object.")
@click.option("--as", "actor", default="cli", help="Who completes it (username).")
@with_appcontext
@in_cli_language
def complete_command(task_id: str, data: str, actor: str) -> None:
    """Complete a human task with form data (for scripts and operators)."""
    try:
        payload = json.loads(data)
    except ValueError as exc:
        raise click.BadParameter(translate(t("--data is not JSON: %(error)s", error=str(exc)))) from None
    services = _services()
    try:
        task = db.session.get(HumanTask, task_id)
        if task is None:
            raise NotFoundError(t("no task %(task)s; check the task id", task=task_id))
        services.cases.complete_task(task_id, payload, actor)
    except FormError as exc:
        echo(t("Refused, fix these fields:"), err=True)
        for name, why in exc.fields.items():
            click.echo(f"  - {name}: {translate(why)}", err=True)
        sys.exit(1)
    except EngineError as exc:
        _echo_error(exc)
        sys.exit(1)
    _print_instance(task.instance_id)


def _serve(with_sweep: bool, vision: str = "off") -> None:
    from engine.sweep import SweepThread
    from webapp.vision_thread import start_vision

    app = current_app._get_current_object()
    if with_sweep and app.config["TIMER_SWEEP"] == "thread":
        thread = SweepThread(runtime().sweep(), float(app.config["TIMER_SWEEP_INTERVAL"]))
        thread.start()
        app.extensions["ioc_sweep_thread"] = thread
        from webapp.report_jobs import start_schedule_thread

        start_schedule_thread(app)  # the subscribed reports' planning, as Celery beat does it with a broker
    host, port = app.config["HOST"], int(app.config["PORT"])
    echo(t("Serving IOC Case Flow at %(url)s  (health: %(health)s)",
           url=f"http://{host}:{port}", health=f"http://{host}:{port}/healthz"))
    cameras = start_vision(app, default=vision)  # `vision`: what IOC_VISION unset means for this command
    if cameras is not None:
        echo(t("The server watches the cameras itself (IOC_VISION=thread; off: IOC_VISION=off)."))
        import signal

        def _terminate(*_args) -> None:
            raise SystemExit(0)  # through run_simple, so the cameras stop and say so before the process ends

        signal.signal(signal.SIGTERM, _terminate)
    # app.run() refuses to run inside the flask CLI; run_simple is the same server without the guard.
    from werkzeug.serving import run_simple

    try:
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    finally:
        if cameras is not None:
            cameras.stop()


@main.command("serve")
@with_appcontext
@in_cli_language
def serve_command() -> None:
    """Serve the web app with Werkzeug (demo and development; production: gunicorn webapp.wsgi:app)."""
    _serve(with_sweep=True)


@main.command("demo")
@click.option("--no-serve", is_flag=True, help="Only set up the demo database, do not serve.")
@with_appcontext
@in_cli_language
def demo_command(no_serve: bool) -> None:
    """Set up the embedded demo (schema, Đắk Lắk demo data, processes, sample cases) and serve it."""
    from webapp.setup import setup_demo
    from workflows.demo import DEMO_PASSWORD, demo_data

    summary = setup_demo(current_app._get_current_object())
    app = current_app
    echo(t("IOC Case Flow — Đắk Lắk demo (demo data)"))
    for line in summary:
        echo(line, indent="  ")
    echo(t("Demo accounts (password: %(password)s; all %(count)s are in workflows/demo/dak_lak.json):",
           password=DEMO_PASSWORD, count=len(demo_data()["users"])))
    from workflows.roles import ROLES

    in_english = current_app.config["LANG"] == "en"
    for username, role, unit in _demo_accounts():
        label = ROLES[role][1 if in_english else 0] if role in ROLES else role
        click.echo(f"  {username:<18} {label:<24} {unit}")
    from workflows.open311_service import DEMO_API_KEY

    echo(t("Open311 GeoReport v2: %(url)s (demo api_key: %(key)s)",
           url=f"http://{app.config['HOST']}:{app.config['PORT']}/open311/v2/discovery.json", key=DEMO_API_KEY))
    from workflows.monitoring.demo import DEMO_ALERT_TOKEN

    echo(t("Monitoring: %(url)s; alerts webhook: POST %(hook)s (demo token: %(token)s)",
           url=f"http://{app.config['HOST']}:{app.config['PORT']}/monitoring/",
           hook=f"http://{app.config['HOST']}:{app.config['PORT']}/monitoring/hooks/alerts", token=DEMO_ALERT_TOKEN))
    from workflows.sample_cases import DEMO_FOLLOW_KEY, rating_link_code

    code = rating_link_code(db.session)
    db.session.rollback()  # SQLite: the read must not keep its (immediate) transaction while the server runs
    if code:  # the demo's one published private link: try rating a resolution as its reporter
        echo(t("A reporter's private link (rate the resolution): %(url)s",
               url=f"http://{app.config['HOST']}:{app.config['PORT']}/track/{code}?key={DEMO_FOLLOW_KEY}"))
    echo(t("Open %(url)s", url=f"http://{app.config['HOST']}:{app.config['PORT']}"))
    if not no_serve:
        _serve(with_sweep=True, vision="thread")


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


@main.group("vision", invoke_without_command=True)
@click.option("--worker-id", default=None, help="This worker's name in the leases (default: host-pid).")
@click.option("--max-cameras", type=int, default=None, help="Watch at most this many cameras.")
@click.option("--for-seconds", type=float, default=None, help="Stop after this long (tests, trials).")
@click.option("--once", is_flag=True, help="Read every camera's source once to its end, then stop (video files).")
@click.option("--fast", is_flag=True, help="Play video files as fast as they decode, not at real time.")
@click.option("--redis-url", envvar="IOC_REDIS_URL", default=None,
              help="The Redis that holds the leases and health (default: IOC_REDIS_URL).")
@click.option("--lease-ms", type=int, default=6000, show_default=True,
              help="A lease's time to live: a dead worker's cameras are taken over within about this long.")
@click.option("--cameras", "cameras_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Watch the cameras of this JSON file instead of the registry (trying cameras out).")
@click.option("--events", "events_file", type=click.Path(dir_okay=False), default=None,
              help="With --cameras: write incidents and statuses to this JSON-lines file.")
@click.pass_context
def vision_command(ctx: click.Context, worker_id: str | None, max_cameras: int | None, for_seconds: float | None,
                   once: bool, fast: bool, redis_url: str | None, lease_ms: int, cameras_file: str | None,
                   events_file: str | None) -> None:
    """Watch the cameras: decode, detect incidents, open cases (many cameras per process; run several)."""
    if ctx.invoked_subcommand is not None:
        return
    import logging
    import signal

    import redis as redis_lib

    from vision.runner import JsonCameraLister, JsonLinesSink, Runner

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if cameras_file:
        if not events_file:
            raise click.UsageError("--cameras needs --events (where the incidents go)")
        if not redis_url:
            raise click.UsageError("the leases need Redis: --redis-url or IOC_REDIS_URL")
        lister, sink = JsonCameraLister(cameras_file), JsonLinesSink(events_file, worker_id or "")
        _run_vision(Runner(lister, sink, redis_lib.Redis.from_url(redis_url), worker_id=worker_id,
                           max_cameras=max_cameras, lease_ttl_ms=lease_ms, realtime=not fast, once=once),
                    for_seconds, signal)
        return
    app = ctx.ensure_object(ScriptInfo).load_app()
    with app.app_context():
        from workflows.cameras.incidents import CameraIncidents, CameraLister

        redis_url = redis_url or app.config.get("REDIS_URL")
        if not redis_url:
            raise click.UsageError("the leases need Redis: --redis-url or IOC_REDIS_URL")
        wiring = runtime()
        sink = CameraIncidents(db.session, wiring.clock, services_factory=wiring.services,
                               after_commit=wiring.enqueue_outbox)
        runner = Runner(CameraLister(wiring.session_factory), sink, redis_lib.Redis.from_url(redis_url),
                        worker_id=worker_id, clock=wiring.clock, max_cameras=max_cameras, lease_ttl_ms=lease_ms,
                        realtime=not fast, once=once)
        _run_vision(runner, for_seconds, signal)


def _run_vision(runner, for_seconds: float | None, signal) -> None:
    """Run until SIGTERM/SIGINT (the cameras' leases are given back) or for_seconds."""
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    try:
        runner.run(for_seconds=for_seconds)
    except KeyboardInterrupt:
        runner.stop()


@vision_command.command("eval", with_appcontext=False)
@click.option("--scenario", "scenarios", multiple=True, metavar="NAME",
              help="A scenario to run (repeat; default: all the short ones, or all the long ones with --long).")
@click.option("--long", "long_", is_flag=True, help="The long scenarios (a simulated day; minutes of wall time).")
@click.option("--seed", "seeds", type=int, multiple=True, default=(0,), show_default=True,
              help="The random seed of the traffic and the noise (repeat to run each scenario with several).")
@click.option("--tolerance", default=10.0, show_default=True,
              help="Seconds a detection may come before the ground-truth moment and still count.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
def vision_eval_command(scenarios: tuple[str, ...], long_: bool, seeds: tuple[int, ...], tolerance: float,
                        as_json: bool) -> None:
    """Play synthetic scenarios through the detectors: precision, recall and delay per detector and scenario."""
    import json

    from vision import evaluate, synthetic

    known = set(synthetic.SCENARIOS) | set(synthetic.LONG_SCENARIOS)
    unknown = [name for name in scenarios if name not in known]
    if unknown:
        raise click.BadParameter(f"unknown {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                                 param_hint="--scenario")

    def progress(run) -> None:
        click.echo(f"{run.name}: {run.frames} frames ({run.duration_s:g} s simulated) in {run.wall_s:.1f} s "
                   f"({run.cpu_s:.1f} s CPU), {len(run.truths)} truths, {len(run.episodes)} incidents", err=True)

    def heartbeat(name: str, simulated_s: float, incidents: int) -> None:
        click.echo(f"{name}: {simulated_s / 3600:.0f} h simulated, {incidents} incidents so far", err=True)

    runs = [run for seed in seeds
            for run in evaluate.evaluate(scenarios or None, seed=seed, long=long_, tolerance_s=tolerance,
                                         progress=progress, heartbeat=heartbeat)]
    if as_json:
        click.echo(json.dumps(evaluate.report(runs), indent=2, default=str))
        return
    click.echo(evaluate.table([row for run in runs for row in run.rows]))
    click.echo("")
    click.echo(evaluate.table(evaluate.summarise(runs)))


@main.group("bench", invoke_without_command=True)
@click.option("--backend", type=click.Choice(["sqlite", "postgres", "both"]), default="both", show_default=True)
@click.option("--cases", default=1000, show_default=True, help="Cases to open (then complete and time out).")
@click.option("--processes", default=1, show_default=True, help="Worker processes measuring in parallel.")
@click.option("--postgres-url", envvar="IOC_BENCH_POSTGRES_URL", show_default=True,
              default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
              help="A server where the scratch database ioc_bench may be created (and dropped).")
@click.pass_context
def bench_command(ctx: click.Context, backend: str, cases: int, processes: int, postgres_url: str) -> None:
    """Measure intakes, task completions and timer firings per second on scratch databases."""
    if ctx.invoked_subcommand:
        return
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


@bench_command.command("tasklist", with_appcontext=False)
@click.option("--cases", default=1_000_000, show_default=True)
@click.option("--tasks", default=5_000_000, show_default=True, help="About this many human tasks.")
@click.option("--database", envvar="IOC_BENCH_TASKLIST_URL", show_default=True,
              default="postgresql+psycopg://postgres@127.0.0.1:5432/ioc_bench_tasklist",
              help="The bench database (its name must start with ioc_bench): dropped and rebuilt.")
@click.option("--reuse", is_flag=True, help="Keep the database when it already holds this data set.")
@click.option("--requests", default=200, show_default=True, help="Timed requests per account and kind of request.")
@click.option("--http/--no-http", default=True, show_default=True, help="Also time GET /tasks/ through the app.")
def bench_tasklist_command(cases: int, tasks: int, database: str, reuse: bool, requests: int, http: bool) -> None:
    """Officers' task lists on a large PostgreSQL data set: p50/p95/p99 per tab and filter (issue 3)."""
    import re
    from datetime import timedelta

    from engine.clock import FrozenClock
    from webapp.config import PROJECT_ROOT
    from workflows import bench, bench_tasklist
    from workflows.demo import DEMO_PASSWORD

    click.echo(f"machine: {bench.machine()}")
    click.echo(f"CPU reference: {bench.cpu_reference_ms():.0f} ms for 5M loop iterations (lower is faster)")
    data = bench_tasklist.build(database, cases, tasks, PROJECT_ROOT / "bpmn", reuse=reuse, log=click.echo)
    click.echo(f"data set: {data.cases} cases, {data.tasks} tasks ({data.open_tasks} open)"
               + ("" if data.reused else f", built in {data.seconds:.0f} s"))
    at = data.generated_at + timedelta(minutes=1)  # the moment the data set was drawn around
    apps: list = []

    def signed_in(username: str):
        from webapp import create_app

        if not apps:
            apps.append(create_app({"DATABASE_URL": database, "TIMER_SWEEP": "off"}, clock=FrozenClock(at)))
        client = apps[0].test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))
        client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token.group(1)})
        return client.get

    lines = bench_tasklist.measure(database, requests, at, http_client=signed_in if http else None, log=click.echo)
    for app in apps:
        with app.app_context():
            db.engine.dispose()
    click.echo(bench_tasklist.table(lines))
    click.echo(bench_tasklist.summary(lines))



@bench_command.command("designer", with_appcontext=False)
@click.option("--runs", default=7, show_default=True, help="Openings timed (a page load each).")
@click.option("--elements", default=200, show_default=True, help="About this many BPMN elements.")
@click.option("--chromium", default="/usr/bin/chromium", show_default=True, envvar="CHROMIUM")
def bench_designer_command(runs: int, elements: int, chromium: str) -> None:
    """Open a valid process of about 200 elements in headless chromium with the canvas checks and the
    server's check (the designer's modeler): milliseconds until the problems list is shown, median and max."""
    import logging
    import tempfile
    import threading

    from werkzeug.serving import make_server

    from webapp import create_app
    from webapp.config import PROJECT_ROOT
    from workflows import bench, bench_designer
    from workflows.accounts import hash_password
    from workflows.demo import DEMO_PASSWORD, demo_data, load_reference_data

    click.echo(f"machine: {bench.machine()}")
    click.echo(f"CPU reference: {bench.cpu_reference_ms():.0f} ms for 5M loop iterations (lower is faster)")
    xml = bench_designer.process_xml(elements)
    click.echo(f"process: {bench_designer.element_count(bench_designer.blocks_for(elements))} elements, {len(xml)} bytes")
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3", "TESTING": True, "TIMER_SWEEP": "off",
                          "RATELIMIT_ENABLED": False, "FILES_DIR": f"{tmp}/files"})
        with app.app_context():
            db.create_all()
            load_reference_data(db.session, demo_data(), hash_password(DEMO_PASSWORD))
            db.session.commit()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request among the figures
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            page_dir = bench_designer.build_page(PROJECT_ROOT / "webapp" / "frontend", Path(tmp))
            results = bench_designer.measure(f"http://127.0.0.1:{server.server_port}", page_dir, xml, runs,
                                             "thietke", DEMO_PASSWORD, chromium, log=click.echo)
        finally:
            server.shutdown()
    click.echo(bench_designer.table(results))

@bench_command.command("kpi", with_appcontext=False)
@click.option("--backend", type=click.Choice(["sqlite", "postgres", "both"]), default="both", show_default=True)
@click.option("--values", default=100_000, show_default=True, help="Values validated, stored and evaluated.")
@click.option("--file-rows", default=10_000, show_default=True, help="Rows of the file given its per-row report.")
@click.option("--alerts", default=1000, show_default=True, help="Alerts sent in a burst.")
@click.option("--postgres-url", envvar="IOC_BENCH_POSTGRES_URL", show_default=True,
              default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
              help="A server where the scratch database ioc_bench_kpi may be created (and dropped).")
def bench_kpi_command(backend: str, values: int, file_rows: int, alerts: int, postgres_url: str) -> None:
    """Monitoring (issue 11) on scratch databases: a file's per-row report, values validated, stored and
    evaluated, a burst of alerts absorbed and processed."""
    import tempfile
    from datetime import UTC, datetime

    from webapp.config import PROJECT_ROOT
    from workflows import bench, bench_kpi

    click.echo(f"machine: {bench.machine()}")
    click.echo(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    click.echo(f"CPU reference: {bench.cpu_reference_ms():.0f} ms for 5M loop iterations (lower is faster)")
    bpmn_dir = PROJECT_ROOT / "bpmn"
    figures = []

    def measure(url: str, label: str, files: str) -> None:
        figures.extend(bench_kpi.run(url, label, bpmn_dir, values=values, file_rows=file_rows, alerts=alerts,
                                     log=click.echo))
        if alerts:
            figures.extend(_bench_alerts_webhook(url, label, alerts, files))

    if backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            measure(f"sqlite:///{tmp}/bench.sqlite3", "sqlite", f"{tmp}/files")
    if backend in ("postgres", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            measure(bench.scratch_postgres(postgres_url, "ioc_bench_kpi"), "postgresql", f"{tmp}/files")
    click.echo(bench_kpi.table(figures))


@bench_command.command("vision", with_appcontext=False)
@click.option("--seconds", default=10.0, show_default=True, help="Seconds of each figure.")
@click.option("--threads", default=4, show_default=True, help="Camera threads sharing the core with analysis.")
def bench_vision_command(seconds: float, threads: int) -> None:
    """Cameras one core handles (pinned), decode included, by read mode: 640x360 H.264 25 fps analysed at
    2 frames/s, keyframes only, a JPEG every 2 s — each next to the decode-only figure of the same run."""
    import os

    from vision import bench as vision_bench
    from workflows import bench

    click.echo(f"machine: {bench.machine()}")
    click.echo(f"CPU reference: {bench.cpu_reference_ms():.0f} ms for 5M loop iterations (lower is faster)")
    click.echo("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    figures, _setup = vision_bench.run(seconds=seconds, threads=threads, log=click.echo)
    click.echo("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    click.echo(vision_bench.table(figures))


def _bench_alerts_webhook(url: str, label: str, alerts: int, files: str) -> list:
    """(c) through the real webhook (webapp/alert_bench.py): distinct alerts posted with the test client, then
    processed; as bench figures."""
    from webapp import create_app
    from webapp.alert_bench import bench_alerts
    from workflows.bench_kpi import Figure

    app = create_app({"DATABASE_URL": url, "TIMER_SWEEP": "off", "FILES_DIR": files})
    try:
        got = bench_alerts(app, alerts)
    finally:
        with app.app_context():
            db.engine.dispose()
    click.echo(f"{label}: webhook: {got['alerts']} distinct alerts in {got['calls']} calls absorbed in "
               f"{got['absorb_seconds']:.2f} s (refused: {got['refused'] or 'none'}); processed in "
               f"{got['process_seconds']:.2f} s: {got['alerts_stored']} alerts stored, {got['cases']} cases, "
               f"{got['failed_receipts']} failed receipts, {got['lost']} lost")
    return [Figure(f"{label}: (c) distinct alerts absorbed by the webhook (POST, one alert each)", got["absorbed"],
                   got["absorb_seconds"], "≥ 200/s"),
            Figure(f"{label}: (c) … then processed ({got['cases']} cases, {got['lost']} lost)", got["processed"],
                   got["process_seconds"])]


# --------------------------------------------------------------------------- API tokens
@main.group("token")
def token_group() -> None:
    """API tokens for machines calling /api/v1: create, list, revoke."""


def _or_exit(work: Callable[[], Any]) -> Any:
    """Run `work`; a refusal of the case layer prints each reason and exits 1."""
    from workflows.errors import CaseError, IntakeError

    try:
        return work()
    except CaseError as exc:
        for message in (exc.fields.values() if isinstance(exc, IntakeError) else [text_of(exc)]):
            echo(t("Error: %(message)s", message=message), err=True)
    # The group's result callback closes pooled connections after a command that succeeds only.
    db.session.remove()
    db.engine.dispose()
    sys.exit(1)


def _with_tokens(work: Callable[[Any], Any]) -> Any:
    """Run `work` with the token service; a refusal prints each reason and exits 1."""
    from workflows.tokens import TokenService

    return _or_exit(lambda: work(TokenService(db.session, runtime().clock)))


@token_group.command("create")
@click.argument("username")
@click.option("--name", required=True, help="What will use the token (shown by `ioc token list`).")
@with_appcontext
@in_cli_language
def token_create_command(username: str, name: str) -> None:
    """Make a token acting as USERNAME; it is printed once (on stdout) and never stored."""
    info, token = _with_tokens(lambda tokens: tokens.create(username, name))
    echo(t("Token %(id)s for %(user)s (%(name)s). Copy it now: it cannot be shown again.",
           id=info.id, user=info.username, name=info.name), err=True)
    click.echo(token)


@token_group.command("list")
@click.argument("username")
@with_appcontext
@in_cli_language
def token_list_command(username: str) -> None:
    """The tokens of USERNAME, newest first: id, name, when made, active or revoked."""
    tokens = _with_tokens(lambda service: service.list(username))
    if not tokens:
        echo(t("%(user)s has no API token.", user=username))
    for info in tokens:
        state = t("revoked %(at)s", at=_local(info.revoked_at)) if info.revoked_at else t("active")
        echo(t("%(id)s  %(name)s  created %(created)s  %(state)s", id=info.id, name=info.name,
               created=_local(info.created_at), state=state))


@token_group.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
@in_cli_language
def token_revoke_command(token_id: int) -> None:
    """Revoke token TOKEN_ID at once: the next call with it gets 401."""
    info = _with_tokens(lambda tokens: tokens.revoke(token_id))
    echo(t("Token %(id)s of %(user)s (%(name)s) is revoked.", id=info.id, user=info.username, name=info.name))


# --------------------------------------------------------------------------- Open311 keys
@main.group("open311")
def open311_group() -> None:
    """api_keys of the Open311 clients that post requests to /open311/v2: create-key, list, revoke."""


def _with_open311(work: Callable[[Any], Any]) -> Any:
    """Run `work` with the Open311 service; a refusal prints each reason and exits 1."""
    from workflows.open311_service import Open311Service

    return _or_exit(lambda: work(Open311Service(db.session, _services().cases, runtime().clock,
                                                current_app.config["OPEN311_JURISDICTION"])))


@open311_group.command("create-key")
@click.argument("name")
@with_appcontext
@in_cli_language
def open311_create_key_command(name: str) -> None:
    """Make an api_key for the Open311 client NAME; it is printed once (on stdout) and never stored."""
    info, key = _with_open311(lambda service: service.create_client(name))
    echo(t("Open311 client %(id)s (%(name)s). Copy its api_key now: it cannot be shown again.",
           id=info.id, name=info.name), err=True)
    click.echo(key)


@open311_group.command("list")
@with_appcontext
@in_cli_language
def open311_list_command() -> None:
    """The Open311 clients, newest first: id, name, when made and last used, active or revoked."""
    clients = _with_open311(lambda service: service.clients())
    if not clients:
        echo(t("No Open311 client yet; make one with `ioc open311 create-key NAME`."))
    for info in clients:
        state = t("revoked %(at)s", at=_local(info.revoked_at)) if info.revoked_at else t("active")
        echo(t("%(id)s  %(name)s  created %(created)s  last used %(used)s  %(state)s", id=info.id, name=info.name,
               created=_local(info.created_at), used=_local(info.last_used_at), state=state))


@open311_group.command("revoke")
@click.argument("client_id", type=int)
@with_appcontext
@in_cli_language
def open311_revoke_command(client_id: int) -> None:
    """Revoke client CLIENT_ID's api_key at once: its next POST gets 403."""
    info = _with_open311(lambda service: service.revoke_client(client_id))
    echo(t("Open311 client %(id)s (%(name)s) is revoked.", id=info.id, name=info.name))


if __name__ == "__main__":  # pragma: no cover
    main()


# --------------------------------------------------------------------------------------------- leaders' reports
@main.command("report")
@click.argument("report_type", metavar="TYPE")
@click.option("--unit", help="The unit's code (the report covers it and every unit below it), e.g. DLK.")
@click.option("--period", help="A month (2026-11) or an ISO week (2026-W48).")
@click.option("--case", "case_code", help="The case's code, for a dossier (e.g. PA-2026-000123).")
@click.option("--lang", "language", type=click.Choice(["vi", "en"]), default=None,
              help="The report's language (default: IOC_LANG).")
@click.option("--number", default="      /BC-IOC", show_default=True,
              help="The document's number after 'Số:' (left blank to be numbered by hand).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True,
              help="The PDF file to write.")
@with_appcontext
@in_cli_language
def report_command(report_type: str, unit: str | None, period: str | None, case_code: str | None,
                   language: str | None, number: str, output: str) -> None:
    """Write a leaders' report as a PDF: TYPE is operations, indicators or cameras (--unit, --period) or dossier
    (--case); the types are listed when TYPE is unknown."""
    from engine.clock import using
    from reports.catalog import ReportParamsError, report_types, validate_params
    from reports.i18n import translator
    from reports.render import render_report

    rt = runtime()
    raw = {"type": report_type, "unit": unit, "period": period, "case": case_code,
           "language": language or current_app.config["LANG"]}
    with using(rt.clock):
        try:
            params = validate_params(db.session, raw)
        except ReportParamsError as exc:
            for name, message in exc.errors.items():
                echo(t("%(field)s: %(message)s", field=name, message=message), err=True)
            if "type" in exc.errors:
                echo(t("Report types: %(types)s", types=", ".join(report_types())), err=True)
            db.session.remove()  # an exit skips the result callback that closes the pool
            db.engine.dispose()
            sys.exit(2)
        report = render_report(db.session, params, translator(params.language), number=number,
                               issued_at=rt.clock.now(), files=rt.files,
                               progress=lambda percent, step: click.echo(f"{percent:3d} % {translate(step)}",
                                                                         err=True))
    Path(output).write_bytes(report.pdf)
    echo(t("Wrote %(path)s: %(pages)s pages, sha256 %(sha256)s", path=output, pages=report.pages,
           sha256=report.sha256))


@bench_command.command("reports", with_appcontext=False)
@click.option("--backend", type=click.Choice(["sqlite", "postgres", "both"]), default="both", show_default=True)
@click.option("--cases", default=100_000, show_default=True, help="Cases of the report's month (and a third as many "
              "in the month before and a year before).")
@click.option("--postgres-url", envvar="IOC_BENCH_POSTGRES_URL", show_default=True,
              default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
              help="A server where the scratch database ioc_bench_reports may be created (and dropped).")
def bench_reports_command(backend: str, cases: int, postgres_url: str) -> None:
    """Leaders' reports (issue 13) on scratch databases: a province's monthly operations report over
    100,000 cases — its data queries, its rendering, the whole report — and a report of 20 pages or more."""
    import tempfile
    from datetime import UTC, datetime

    from reports import bench as reports_bench
    from workflows import bench

    click.echo(f"machine: {bench.machine()}")
    click.echo(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    click.echo(f"CPU reference: {bench.cpu_reference_ms():.0f} ms for 5M loop iterations (lower is faster)")
    figures = []
    if backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            figures += reports_bench.run(f"sqlite:///{tmp}/bench.sqlite3", "sqlite", cases, log=click.echo)
    if backend in ("postgres", "both"):
        url = bench.scratch_postgres(postgres_url, "ioc_bench_reports")
        figures += reports_bench.run(url, "postgresql", cases, log=click.echo)
    click.echo(reports_bench.table(figures))
