"""Worker processes of a parallel intake (see ``partition``): an ``IntakePool``.

The pool forks its workers on first use and keeps them until it is closed, so the
long-running poller (``regdesk mail poll``) forks once, not on every poll: each worker keeps
its database connection and what it loaded. A child is a fork of the caller: it inherits what
the caller loaded (``intake_warm``), and opens its own database connection (the caller closes
its own before forking, so no connection is shared).

``run`` reads the messages' headers a chunk at a time from a feed (the caller's listing or
IMAP fetch) while the workers process the chunks before, and hands the messages out a batch at
a time, to whichever worker falls free (``partition.Schedule``); a worker stores and processes
its batch, commits it, and sends back the outcome lines, which the caller gets as they come (an
IMAP poller flags the batch then).
A worker that fails on a batch reports the error and goes on with the next; a worker that
dies is replaced at the next run. The failed batch's groups are given up for this run: their
messages stay unseen, and the next run takes them. The caller gets every error at the end.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any

from django.db import close_old_connections, connection, connections

from regdesk.channels.partition import Schedule

logger = logging.getLogger(__name__)

Report = Callable[[list[tuple[int, str]]], None]
# A batch's work, as sent to a worker: a module-level function (sent by name) and its keyword
# arguments; it returns an outcome line per message, in order (None: not stored, skip it).
Job = tuple[Callable[..., list[str | None]], dict[str, Any]]


@dataclass
class PoolOutcome:
    lines: dict[int, str] = field(default_factory=dict)  # message index -> outcome line
    errors: list[str] = field(default_factory=list)  # one per failed batch or dead worker


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


@dataclass(eq=False)
class _Worker:
    number: int
    process: BaseProcess
    conn: Connection


class IntakePool:
    """``size`` worker processes, forked on first use; use it as a context manager (closing
    it stops them). Not for use inside a transaction (``intake_workers``)."""

    def __init__(self, *, size: int) -> None:
        self.size = max(1, size)
        self._workers: list[_Worker] = []
        self._numbers = itertools.count()

    def __enter__(self) -> IntakePool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def pids(self) -> list[int]:
        """The workers' process ids (none before the first run)."""
        return [worker.process.pid for worker in self._workers if worker.process.pid]

    def close(self) -> None:
        for worker in self._workers:
            with contextlib.suppress(OSError):
                worker.conn.send(None)  # stop
        for worker in self._workers:
            worker.process.join(timeout=30)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
        self._workers = []

    def _fill(self) -> None:
        """Reap dead workers and fork new ones up to ``size``."""
        for worker in [w for w in self._workers if not w.process.is_alive()]:
            self._drop(worker)
        if len(self._workers) >= self.size:
            return
        context = get_context("fork")
        connections.close_all()  # each child opens its own
        while len(self._workers) < self.size:
            number = next(self._numbers)
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_serve, args=(theirs,), name=f"regdesk-intake-{number}", daemon=True
            )
            process.start()
            theirs.close()  # the child holds the other end only: its death is our EOF
            self._workers.append(_Worker(number, process, ours))

    def _drop(self, worker: _Worker) -> None:
        worker.conn.close()
        worker.process.join()
        self._workers.remove(worker)

    def run(
        self,
        *,
        feed: Iterable[Sequence[bytes]],
        batch: int,
        job: Callable[[list[int]], Job],
        reported: Report | None = None,
    ) -> PoolOutcome:
        """Process messages in the workers, a batch at a time (``job`` makes a batch's work
        from its message indices). ``feed`` yields the messages' header sections
        (``partition.header_section``) a chunk at a time, in their order; message ``i`` is the
        ``i``-th one fed. The next chunk is read here while the workers process the ones
        before, so they start on the first chunk. ``reported``, when given, is called here
        with each batch's lines as they come (the batch is committed by then). A feed that
        raises ends the reading, not the run (``pull``)."""
        self._fill()
        schedule = Schedule(batch=batch)
        chunks = iter(feed)
        outcome = PoolOutcome()
        idle = list(self._workers)
        busy: dict[Connection, tuple[_Worker, list[int]]] = {}

        def pull() -> bool:
            """Add the next chunk to the schedule; False once there is none. When reading
            fails (an IMAP connection dropped), what was read is still processed, and the
            error is one of the run's: the rest stays unseen for the next run."""
            try:
                chunk = next(chunks, None)
            except Exception as exc:
                logger.exception("reading the mail for the intake workers failed")
                outcome.errors.append(f"reading the mail: {type(exc).__name__}: {exc}")
                chunk = None
            if chunk is None:
                schedule.close()
                return False
            schedule.add(chunk)
            return True

        def hand_out() -> None:
            working = len(idle) + len(busy)
            for worker in list(idle):
                indices = schedule.take(worker.number, workers=working)
                if not indices:
                    continue
                try:
                    worker.conn.send(job(indices))
                except OSError:  # it died meanwhile: the batch waits for the next run
                    schedule.done(indices, failed=True)
                    idle.remove(worker)
                    self._drop(worker)
                    outcome.errors.append(f"worker {worker.number} died before its batch")
                    continue
                idle.remove(worker)
                busy[worker.conn] = (worker, indices)

        more = pull()
        hand_out()
        while busy or more:
            if more:  # read on, and hand out to whoever fell free meanwhile
                more = pull()
                hand_out()
                ready = wait(list(busy), timeout=0) if busy else []
            else:
                ready = wait(list(busy))
            for conn in ready:
                assert isinstance(conn, Connection)
                worker, indices = busy.pop(conn)
                try:
                    kind, payload = conn.recv()
                except (EOFError, OSError):
                    schedule.done(indices, failed=True)
                    self._drop(worker)
                    outcome.errors.append(
                        f"worker {worker.number} stopped midway "
                        f"(exit code {worker.process.exitcode})"
                    )
                    continue
                if kind == "lines":
                    schedule.done(indices)
                    lines = [
                        (index, line)
                        for index, line in zip(indices, payload, strict=True)
                        if line is not None
                    ]
                    outcome.lines.update(lines)
                    if reported is not None:
                        reported(lines)
                else:  # error: nothing of the batch committed
                    schedule.done(indices, failed=True)
                    outcome.errors.append(f"worker {worker.number}: {payload}")
                idle.append(worker)
            hand_out()
        return outcome


def _serve(conn: Connection) -> None:
    """A worker: run each job received, send back its lines (or its error), until told to
    stop or the caller is gone."""
    gc.freeze()  # what it inherited is never collected here: its pages stay shared
    try:
        while True:
            try:
                received = conn.recv()
            except (EOFError, OSError):  # the caller is gone
                return
            if received is None:
                return
            function, kwargs = received
            # a long-running poller's worker may wait for hours between batches: a connection
            # the server dropped meanwhile, or past its age, is replaced before the batch
            close_old_connections()
            try:
                lines = function(**kwargs)
            except Exception as exc:  # reported to the caller, which decides
                logger.exception("intake worker failed")
                connections.close_all()  # the next batch starts on a fresh connection
                reply: tuple[str, Any] = ("error", f"{type(exc).__name__}: {exc}")
            else:
                reply = ("lines", lines)
            try:
                conn.send(reply)
            except OSError:  # the caller is gone: nobody to tell
                return
    finally:
        connections.close_all()
        conn.close()
