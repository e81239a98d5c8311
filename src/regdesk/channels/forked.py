"""Run the shares of a parallel intake in forked worker processes (see ``partition``).

Each child is a fork of the caller: it inherits what the caller read (the Maildir listing, the
mailbox row) and opens its own database connection (the caller closes its own before forking,
so no connection is shared). A child reports what it finished as it goes, one batch at a time,
through a pipe, so a child that dies midway still leaves the caller with the outcomes of the
batches it committed; its other messages stay unseen and the next run takes them. A child that
fails does not stop the others: the caller gets every child's error once all have finished.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from typing import Any

from django.db import connection, connections

logger = logging.getLogger(__name__)

Report = Callable[[list[tuple[int, str]]], None]
# work(share, report): process the share (message indices, in order), calling report with
# (index, outcome line) pairs after each committed batch.
Work = Callable[[list[int], Report], None]


@dataclass
class SharesOutcome:
    lines: dict[int, str] = field(default_factory=dict)  # message index -> outcome line
    errors: list[str] = field(default_factory=list)  # one per worker that did not finish


def intake_workers(*, workers: int, messages: int) -> int:
    """How many processes a parallel intake may use here: at most one per message, and one on
    SQLite (a second writer there only waits for the lock, or gives up on it)."""
    workers = max(1, min(workers, messages))
    if workers > 1 and connection.vendor != "postgresql":
        logger.warning("parallel intake needs PostgreSQL; %s runs one process", connection.vendor)
        return 1
    if workers > 1 and connection.in_atomic_block:
        # the workers could not see what this transaction wrote, and closing its connection
        # for the fork would end it
        raise RuntimeError("a parallel intake cannot run inside a transaction")
    return workers


def shares_run(
    *, shares: Sequence[list[int]], work: Work, reported: Report | None = None
) -> SharesOutcome:
    """Run ``work`` on each non-empty share in a forked child; wait for all of them.
    ``reported``, when given, is called here with each batch's lines as they come (the
    children's batches are committed by then)."""
    context = get_context("fork")
    connections.close_all()  # each child opens its own
    readers: dict[Connection, tuple[int, Any]] = {}
    for number, share in enumerate(shares):
        if not share:
            continue
        reader, writer = context.Pipe(duplex=False)
        process = context.Process(
            target=_child, args=(writer, share, work), name=f"regdesk-intake-{number}"
        )
        process.start()
        writer.close()  # the child holds the only writing end: its death is our EOF
        readers[reader] = (number, process)
    outcome = SharesOutcome()
    finished: set[int] = set()
    while readers:
        for ready in wait(list(readers)):
            assert isinstance(ready, Connection)
            number, process = readers[ready]
            try:
                kind, payload = ready.recv()
            except (EOFError, OSError):
                ready.close()
                del readers[ready]
                process.join()
                if number not in finished:
                    outcome.errors.append(
                        f"worker {number} stopped midway (exit code {process.exitcode})"
                    )
                continue
            if kind == "lines":
                outcome.lines.update(payload)
                if reported is not None:
                    reported(payload)
            elif kind == "error":
                finished.add(number)
                outcome.errors.append(f"worker {number}: {payload}")
            else:  # done
                finished.add(number)
    return outcome


def _child(writer: Connection, share: list[int], work: Work) -> None:
    try:
        work(share, lambda lines: writer.send(("lines", lines)))
        writer.send(("done", None))
    except BaseException as exc:  # reported to the caller, which decides
        logger.exception("intake worker failed")
        with contextlib.suppress(OSError):  # the caller is gone: nobody to tell
            writer.send(("error", f"{type(exc).__name__}: {exc}"))  # its traceback: logged
    finally:
        connections.close_all()
        writer.close()
