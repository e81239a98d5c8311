"""``regdesk mail …``: intake from a pipe, IMAP polling, the LMTP server, quarantine re-runs.

Django is set up inside each command (importing this module costs nothing).
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Annotated

import typer

mail_app = typer.Typer(help="Email intake: pipe, IMAP, LMTP, quarantine.", no_args_is_help=True)


def _setup() -> None:
    from regdesk.cli import _django_setup

    _django_setup()


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"regdesk: {message}", err=True)
    raise typer.Exit(code)


_WORKERS = typer.Option(
    help="Processes to share the messages out to, by sender and thread (PostgreSQL; "
    "default: REGDESK_INTAKE_WORKERS, else 1).",
    min=1,
)


def _workers(given: int | None) -> int:
    from django.conf import settings

    return given if given is not None else int(settings.REGDESK_INTAKE_WORKERS)


@mail_app.command("ingest")
def mail_ingest(
    desk: Annotated[str | None, typer.Option(help="The desk's slug (else by address).")] = None,
    to: Annotated[str | None, typer.Option(help="The address it was delivered to.")] = None,
) -> None:
    """Take one message on standard input; print the ticket number it was registered as or
    threaded onto, `consultation`, `refused: REASON` or `quarantined: REASON`."""
    raw = sys.stdin.buffer.read()
    _setup()
    from regdesk.channels.email_intake import email_ingest
    from regdesk.desks.models import Desk

    target = None
    if desk:
        target = Desk.objects.filter(slug=desk).first()
        if target is None:
            _fail(f"--desk {desk}: no such desk")
    try:
        row = email_ingest(raw=raw, source="cli", desk=target, envelope_to=to or "")
    except ValueError as exc:
        _fail(str(exc), code=1)
        return
    typer.echo(row.result or row.state)


@mail_app.command("maildir")
def mail_maildir(
    path: Annotated[str, typer.Argument(help="The Maildir (with cur/, new/, tmp/).")],
    desk: Annotated[str | None, typer.Option(help="The desk's slug (else by address).")] = None,
    to: Annotated[str | None, typer.Option(help="The address it was delivered to.")] = None,
    batch: Annotated[
        int, typer.Option(help="Messages stored and processed together.", min=1)
    ] = 100,
    workers: Annotated[int | None, _WORKERS] = None,
) -> None:
    """Import the unseen messages of a local Maildir; prints one line per message."""
    from pathlib import Path

    _setup()
    from regdesk.channels.maildir import maildir_import
    from regdesk.desks.models import Desk

    target = Desk.objects.filter(slug=desk).first() if desk else None
    if desk and target is None:
        _fail(f"--desk {desk}: no such desk")
    if not (Path(path) / "cur").is_dir():
        _fail(f"{path}: not a Maildir (no cur/ folder)")
    result = maildir_import(
        path=Path(path),
        desk=target,
        envelope_to=to or "",
        batch=batch,
        workers=_workers(workers),
    )
    for line in result.results:
        typer.echo(line)
    if result.error:  # its unfinished messages are still unseen: the next run takes them
        _fail(result.error, code=1)


@mail_app.command("retry")
def mail_retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Inbound ids (default: all).")] = None,
) -> None:
    """Run quarantined messages again; prints one line per message."""
    _setup()
    from regdesk.channels.models import Inbound
    from regdesk.channels.services import inbound_retry

    rows = Inbound.objects.filter(state=Inbound.State.QUARANTINED)
    if ids:
        rows = rows.filter(pk__in=ids)
    for pk in rows.order_by("pk").values_list("pk", flat=True):
        row = inbound_retry(inbound_id=pk)
        typer.echo(f"{pk}: {row.result}")


@mail_app.command("poll")
def mail_poll(
    once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
    interval: Annotated[int, typer.Option(help="Seconds between rounds.", min=5)] = 60,
    batch: Annotated[
        int, typer.Option(help="Messages stored and processed together.", min=1)
    ] = 100,
    workers: Annotated[int | None, _WORKERS] = None,
) -> None:
    """Poll the enabled IMAP mailboxes (the worker does this on its own every minute)."""
    _setup()
    from regdesk.channels.forked import IntakePool, intake_workers
    from regdesk.channels.imap import mailboxes_poll

    requested = _workers(workers)
    processes = intake_workers(workers=requested, messages=requested)  # one on SQLite
    # the workers are forked once and kept between rounds (one process: none)
    with IntakePool(size=processes) if processes > 1 else contextlib.nullcontext() as pool:
        while True:
            for name, result in mailboxes_poll(batch=batch, workers=1, pool=pool).items():
                line = f"{name}: {result.fetched} message(s)"
                if result.error:
                    line += f"; error: {result.error}"
                typer.echo(line)
                for item in result.results:
                    typer.echo(f"  {item}")
            if once:
                return
            time.sleep(interval)


@mail_app.command("lmtp")
def mail_lmtp(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 2424,
) -> None:
    """Run an LMTP server for an MTA to deliver to, until interrupted."""
    _setup()
    from regdesk.channels.lmtp import lmtp_controller

    controller = lmtp_controller(host=host, port=port)
    controller.start()
    typer.echo(f"regdesk: LMTP on {host}:{port}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
