"""The ``regdesk`` command.

The ``regulation`` and ``sla`` sub-commands are a stable contract other tools depend on: their
output formats and exit codes (0 ok, 1 invalid regulation, 2 usage/input error) do not change.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from regdesk.channels.cli import mail_app
from regdesk.core.calendar import CalendarError
from regdesk.core.clocks import (
    EventKind,
    TicketEvent,
    TicketFacts,
    UnknownFactError,
    clocks_for,
    evaluate_clocks,
)
from regdesk.core.loader import RegulationError, load_regulation, regulation_schema
from regdesk.core.regulation import ClockName, Regulation
from regdesk.telegram.cli import telegram_app

app = typer.Typer(
    help="regdesk: a service desk run by its written support regulation.",
    no_args_is_help=True,
    add_completion=False,
)
regulation_app = typer.Typer(
    help="Check, show and describe regulation files.", no_args_is_help=True
)
sla_app = typer.Typer(help="Compute due instants and replay clocks.", no_args_is_help=True)
app.add_typer(regulation_app, name="regulation")
app.add_typer(sla_app, name="sla")
app.add_typer(telegram_app, name="telegram")
app.add_typer(mail_app, name="mail")


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"regdesk: {message}", err=True)
    raise typer.Exit(code)


def _load(name_or_path: str) -> Regulation:
    try:
        return load_regulation(name_or_path)
    except RegulationError as exc:
        if len(exc.problems) == 1 and "no such preset or file" in exc.problems[0].message:
            _fail(str(exc.problems[0]))
        _fail(f"invalid regulation {name_or_path!r}:\n{exc}")


def parse_instant(text: str, *, what: str = "timestamp") -> datetime:
    """An ISO 8601 instant with an offset; naive or malformed input is an error."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"bad {what} {text!r}: expected ISO 8601 with an offset, e.g. 2026-11-30T09:30:00+03:00"
        ) from None
    if value.tzinfo is None:
        raise ValueError(
            f"bad {what} {text!r}: no UTC offset (write e.g. {text.strip()}+03:00 or Z)"
        )
    return value


# --------------------------------------------------------------------------- regulation


@regulation_app.command("schema")
def regulation_schema_cmd() -> None:
    """Print the JSON Schema of regulation files (for editors)."""
    typer.echo(regulation_schema())


@regulation_app.command("check")
def regulation_check(
    file_or_preset: Annotated[str, typer.Argument(help="A preset name or a YAML file.")],
) -> None:
    """Validate a regulation; print every error with file, line and field path."""
    try:
        reg = load_regulation(file_or_preset)
    except RegulationError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"ok: {reg.name} version {reg.version} ({file_or_preset})")


@regulation_app.command("show")
def regulation_show(
    name: Annotated[str, typer.Argument(help="A preset name or a YAML file.")],
    lang: Annotated[str, typer.Option(help="Language: en or ru.")] = "en",
) -> None:
    """Render the regulation as customers read it."""
    from regdesk.core.render import render_regulation

    typer.echo(render_regulation(_load(name), lang=lang))


# --------------------------------------------------------------------------- sla


@sla_app.command("due")
def sla_due(
    regulation: Annotated[str, typer.Option(help="Preset name or YAML path.")],
    clock: Annotated[str, typer.Option(help="first_response, next_response or resolution.")],
    start: Annotated[str, typer.Option(help="ISO 8601 instant the clock starts.")],
    priority: Annotated[str | None, typer.Option()] = None,
    tier: Annotated[str | None, typer.Option()] = None,
    line: Annotated[str | None, typer.Option()] = None,
    team: Annotated[str | None, typer.Option()] = None,
    type_: Annotated[str | None, typer.Option("--type")] = None,
    channel: Annotated[str | None, typer.Option()] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print the due instant of a clock started at --start (or `none`)."""
    reg = _load(regulation)
    try:
        clock_name = ClockName(clock)
    except ValueError:
        _fail(f"unknown clock {clock!r} (use one of: {', '.join(c.value for c in ClockName)})")
    try:
        start_at = parse_instant(start, what="--start")
        facts = TicketFacts(
            priority=priority, tier=tier, line=line, team=team, type=type_, channel=channel
        )
        compiled = clocks_for(reg)
        due, target, calendar = compiled.due(clock_name, facts, start_at)
        facts = compiled.complete_facts(facts)
    except (ValueError, CalendarError) as exc:
        _fail(str(exc))
    if as_json:
        start_local = start_at.astimezone(calendar.zone)
        explanation = (
            f"{target.text} for {target.rule}, on {calendar.describe()}; "
            f"counted from {start_local:%a %Y-%m-%d %H:%M} {start_local.tzname()}"
        )
        if due is not None:
            explanation += f"; due {due:%a %Y-%m-%d %H:%M} {due.tzname()}"
        payload: dict[str, Any] = {
            "due": due.isoformat() if due is not None else None,
            "target": target.as_json(),
            "calendar": calendar.describe(),
            "clock": clock_name.value,
            "facts": facts.as_dict(),
            "explanation": explanation,
        }
        typer.echo(json.dumps(payload, ensure_ascii=False))
    else:
        typer.echo(due.isoformat() if due is not None else "none")


@sla_app.command("elapsed")
def sla_elapsed(
    regulation: Annotated[str, typer.Option(help="Preset name or YAML path.")],
    from_: Annotated[str, typer.Option("--from", help="ISO 8601 instant.")],
    to: Annotated[str, typer.Option(help="ISO 8601 instant.")],
    team: Annotated[str | None, typer.Option()] = None,
    line: Annotated[str | None, typer.Option()] = None,
    tier: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Print the business seconds between two instants on the calendar that applies."""
    reg = _load(regulation)
    try:
        start = parse_instant(from_, what="--from")
        end = parse_instant(to, what="--to")
        compiled = clocks_for(reg)
        facts = compiled.complete_facts(TicketFacts(team=team, line=line, tier=tier))
        calendar = compiled.unit_calendar(facts)
        seconds = calendar.elapsed(start, end).total_seconds()
    except (ValueError, CalendarError) as exc:
        _fail(str(exc))
    typer.echo(str(int(seconds)))


def read_replay(lines: list[str], *, source: str) -> list[TicketEvent]:
    """Parse `sla replay` JSON lines into events; errors name the line."""
    events: list[TicketEvent] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object")
            if "event" not in data or "at" not in data:
                raise ValueError("each line needs 'at' and 'event'")
            EventKind(data["event"])
            events.append(
                TicketEvent.from_json(data, parse_time=lambda t: parse_instant(t, what="'at'"))
            )
        except json.JSONDecodeError as exc:
            raise ValueError(f"{source}:{number}: not JSON: {exc.msg}") from None
        except (ValueError, KeyError) as exc:
            message = str(exc)
            if isinstance(exc, ValueError) and "is not a valid EventKind" in message:
                known = ", ".join(k.value for k in EventKind)
                message = f"unknown event {data.get('event')!r} (known: {known})"
            raise ValueError(f"{source}:{number}: {message}") from None
    if not events:
        raise ValueError(f"{source}: no events")
    return events


@sla_app.command("replay")
def sla_replay(
    file: Annotated[str, typer.Argument(help="JSON lines file of events ('-' for stdin).")],
    regulation: Annotated[str, typer.Option(help="Preset name or YAML path.")],
    now: Annotated[str | None, typer.Option(help="Evaluate at this instant.")] = None,
) -> None:
    """Replay a ticket's event history and print every clock as JSON."""
    reg = _load(regulation)
    try:
        if file == "-":
            lines = sys.stdin.read().splitlines()
        else:
            path = Path(file)
            if not path.exists():
                raise ValueError(f"no such file {file!r}")
            lines = path.read_text("utf-8").splitlines()
        events = read_replay(lines, source=file)
        at = parse_instant(now, what="--now") if now else None
        results = evaluate_clocks(reg, events, now=at)
    except (ValueError, UnknownFactError, CalendarError) as exc:
        _fail(str(exc))
    payload = {"clocks": {clock.value: result.as_json() for clock, result in results.items()}}
    typer.echo(json.dumps(payload, ensure_ascii=False))


# --------------------------------------------------------------------------- the desk


def _django_setup(*, base_url: str | None = None) -> None:
    """Configure Django from the environment; a wrong value stops here, naming the variable."""
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "regdesk.config.settings")
    if base_url:
        os.environ.setdefault("REGDESK_BASE_URL", base_url)
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as exc:
        _fail(f"configuration error: {exc}")


def _site_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def _print_logins(summary: Any, url: str) -> None:
    from regdesk.demo import AGENT_PASSWORD, CUSTOMER_PASSWORD

    typer.echo(f"Demo organisation ({summary.preset}): log in at {url}/portal/login/")
    typer.echo(f"  passwords: agents {AGENT_PASSWORD}, customers {CUSTOMER_PASSWORD}")
    typer.echo(f"  admin: {summary.admin.username} / {summary.admin.password}  ({url}/admin/)")
    for desk in summary.desks:
        typer.echo(f"  {desk.name} [{desk.slug}, preset {desk.preset}, {desk.tickets} tickets]")
        for login in desk.agents:
            typer.echo(f"    agent     {login.username} / {login.password}  ({login.role})")
        for login in desk.customers:
            typer.echo(f"    customer  {login.username} / {login.password}  ({login.role})")


@app.command("serve")
def serve(
    demo: Annotated[
        str | None,
        typer.Option(help="Load the demo organisation for this preset (e.g. service-desk)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    threads: Annotated[int, typer.Option(help="Worker threads of the WSGI server.")] = 8,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Server processes: more than one runs gunicorn's sync workers (PostgreSQL, "
            "gunicorn installed) with the background worker in a process of its own. Default: "
            "one per CPU core on PostgreSQL when gunicorn is installed, else one process "
            "(waitress, --threads).",
        ),
    ] = None,
) -> None:
    """Run the desk: apply migrations, optionally load the demo, and serve the site (waitress,
    or gunicorn's workers on PostgreSQL)."""
    from regdesk.core.loader import PRESETS

    if demo is not None and demo not in PRESETS:
        _fail(f"unknown preset {demo!r} for --demo (presets: {', '.join(PRESETS)})")
    url = _site_url(host, port)
    _django_setup(base_url=url)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import DatabaseError

    database = settings.DATABASES["default"]
    where = (
        f"SQLite {database['NAME']}"
        if database["ENGINE"].endswith("sqlite3")
        else f"PostgreSQL {database.get('NAME')} on {database.get('HOST') or 'localhost'}"
    )
    processes = _serve_processes(workers, sqlite=database["ENGINE"].endswith("sqlite3"))
    typer.echo(f"regdesk: database {where}; applying migrations")
    try:
        call_command("migrate", interactive=False, verbosity=0)
        if demo is not None:
            from regdesk.demo import demo_load

            summary = demo_load(preset=demo)
    except DatabaseError as exc:
        _fail(f"database error: {exc}")
    # whitenoise serves the collected files when there are any, the apps' own files otherwise.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    typer.echo(f"regdesk is running at {url}/")
    typer.echo(f"  customer portal {url}/portal/   agents' workspace {url}/desk/")
    if demo is not None:
        _print_logins(summary, url)
    else:
        typer.echo("  create a login with: regdesk manage createsuperuser")
    typer.echo("Press Ctrl+C to stop.")
    sys.stdout.flush()
    if processes > 1:
        _serve_gunicorn(host=host, port=port, workers=processes)
        return

    import waitress

    from regdesk.config.wsgi import application
    from regdesk.worker import worker_thread_start

    if worker_thread_start() is not None:
        typer.echo("  background worker: running in this process (database backend)")

    try:
        waitress.serve(application, host=host, port=port, threads=threads, ident="regdesk")
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc}")


def _serve_processes(wanted: int | None, *, sqlite: bool) -> int:
    """How many server processes ``serve`` runs (see its --workers)."""
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        if wanted is not None and wanted > 1:
            _fail("--workers needs gunicorn: pip install 'regdesk[production]'")
        return 1
    if sqlite:
        if wanted is not None and wanted > 1:
            _fail("--workers needs PostgreSQL: SQLite takes one writer at a time")
        return 1
    # One per core: PostgreSQL shares them, and more workers only take turns (operations.md).
    return wanted if wanted is not None else (os.cpu_count() or 1)


def _serve_gunicorn(*, host: str, port: int, workers: int) -> None:
    """gunicorn's sync workers in the foreground, the database backend's worker beside them in
    a process of its own; both stop on Ctrl+C."""
    from django.db import connections
    from gunicorn.app.base import BaseApplication

    from regdesk.config.wsgi import application
    from regdesk.worker import backend_kind, worker_run

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("proc_name", "regdesk")

        def load(self) -> Any:
            return application

    connections.close_all()  # forked processes open their own
    background = 0
    if backend_kind() == "database":
        # a plain fork, not multiprocessing's: gunicorn's workers are forks of this process, and
        # each would try to join an inherited multiprocessing child when it exits
        background = os.fork()
        if background == 0:
            code = 0
            try:
                worker_run(processes=1)
            except SystemExit as exc:  # how the worker stops on SIGTERM
                code = exc.code if isinstance(exc.code, int) else 0
            except BaseException:  # its output is the server's: say why it stopped there
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        typer.echo(f"  background worker: process {background} (database backend)")
    typer.echo(f"  server: gunicorn, {workers} sync workers")
    try:
        Server().run()
    finally:
        if background:
            _stop(background)


def _stop(pid: int, *, within: float = 10.0) -> None:
    """SIGTERM to a forked child, SIGKILL if it has not exited ``within`` seconds; reaped."""
    import signal
    import time

    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # reaped already (gunicorn reaps the children it sees exit)
            return
        if done:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError, ChildProcessError):
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


@app.command("worker")
def worker(
    processes: Annotated[int, typer.Option(help="Worker processes to run.", min=1)] = 1,
) -> None:
    """Run background workers (notifications, escalation, periodic work) until interrupted."""
    _django_setup()
    from regdesk.worker import backend_kind, worker_run

    typer.echo(f"regdesk: {processes} worker(s) on the {backend_kind()} task backend")
    try:
        worker_run(processes=processes)
    except RuntimeError as exc:
        _fail(str(exc))


@app.command(
    "manage",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def manage(ctx: typer.Context) -> None:
    """Run a Django management command: regdesk manage migrate | createsuperuser | shell | …"""
    _django_setup()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["regdesk manage", *ctx.args])


def main() -> None:
    app()


if __name__ == "__main__":
    main()
