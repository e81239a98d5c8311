"""Import a local Maildir (a mail server's delivery folder, or an export): messages are stored
and processed a batch at a time, and only then moved to ``cur`` with the seen flag, so an import
killed midway and run again neither loses nor repeats a message.

A message is marked seen by renaming it to ``cur/<key>:2,<flags>S``, the Maildir convention, and
flags are read from the file names: no message is rewritten, and the folder is listed once.
"""

from __future__ import annotations

import contextlib
import mailbox
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from regdesk.channels.forked import IntakePool, intake_workers
from regdesk.channels.partition import HEADER_END
from regdesk.desks.models import Desk

# Messages stored in one INSERT and processed in one transaction.
BATCH = 100
INFO = mailbox.Maildir.colon + "2,"


@dataclass
class MaildirResult:
    imported: int = 0
    results: list[str] = field(default_factory=list)
    error: str = ""  # the workers that failed (parallel import only)


@dataclass(frozen=True)
class _Entry:
    key: str
    file: Path
    flags: str


def _unseen(path: Path) -> list[_Entry]:
    """The messages of ``new`` and those of ``cur`` without the seen flag, by key."""
    found = []
    for folder in ("new", "cur"):
        with os.scandir(path / folder) as entries:
            for entry in entries:
                if entry.name.startswith(".") or not entry.is_file():
                    continue
                key, colon, info = entry.name.partition(mailbox.Maildir.colon)
                flags = info[2:] if colon and info.startswith("2,") else ""
                if "S" not in flags:
                    found.append(_Entry(key, Path(entry.path), flags))
    return sorted(found, key=lambda e: delivery_order(e.key))


_DELIVERED = re.compile(r"(\d+)\.(?:M(\d+))?")


def delivery_order(key: str) -> tuple[int, int, str]:
    """A Maildir message's place in delivery order, from its unique name: ``<seconds>.M<micro
    seconds>P<pid>…`` (Python's ``mailbox``, Dovecot, most delivery agents), or at least
    ``<seconds>.…``. The microseconds are not zero-padded, so the names' text order is not
    the delivery order: ``M98765`` (0.098765 s) sorts after ``M512345`` (0.512345 s), and a
    reply could be taken before the request it answers. Names of another form come last."""
    found = _DELIVERED.match(key)
    if found is None:
        return (sys.maxsize, 0, key)
    return (int(found.group(1)), int(found.group(2) or 0), key)


def _mark_seen(path: Path, entry: _Entry) -> None:
    flags = "".join(sorted({*entry.flags, "S"}))
    with contextlib.suppress(FileNotFoundError):  # moved meanwhile (a mail client, another run)
        os.rename(entry.file, path / "cur" / f"{entry.key}{INFO}{flags}")


def _read(file: Path) -> bytes | None:
    try:
        return file.read_bytes()
    except FileNotFoundError:  # moved since the listing: the next run finds it where it is
        return None


def _head(file: Path) -> bytes:
    """The message's header section (what the partition reads), without reading the rest."""
    data = b""
    try:
        with open(file, "rb") as handle:
            while chunk := handle.read(16_384):
                data += chunk
                end = HEADER_END.search(data)
                if end is not None:
                    return data[: end.start()]
                if len(data) > 262_144:  # no end in sight: this is enough to place it
                    return data
    except FileNotFoundError:  # moved since the listing: the worker skips it too
        return b""
    return data


def _import(
    *, path: Path, entries: list[_Entry], desk: Desk | None, envelope_to: str
) -> list[str | None]:
    """Store, process and then mark one batch; an outcome line per entry (None: the file was
    gone)."""
    from regdesk.channels.email_intake import email_ingest_many

    raws = [_read(entry.file) for entry in entries]
    found = [(entry, raw) for entry, raw in zip(entries, raws, strict=True) if raw is not None]
    rows = email_ingest_many(
        raws=[raw for _entry, raw in found],
        source=f"maildir:{path}",
        desk=desk,
        envelope_to=envelope_to,
    )
    lines: dict[str, str] = {}
    for (entry, _raw), row in zip(found, rows, strict=True):
        lines[entry.key] = (row.result or row.state) if row else "empty: nothing stored"
        _mark_seen(path, entry)
    return [lines.get(entry.key) for entry in entries]


def maildir_import(
    *,
    path: Path,
    desk: Desk | None = None,
    envelope_to: str = "",
    limit: int | None = None,
    batch: int = BATCH,
    workers: int = 1,
) -> MaildirResult:
    """Import the unseen messages of the Maildir at ``path`` (``new`` and unflagged ``cur``).

    With ``workers`` > 1 (PostgreSQL), the messages are grouped by sender and thread
    (``partition``) and imported a batch at a time by forked processes; the results come back
    in the messages' order. A batch that fails leaves its messages, and the later mail of their
    senders and threads, unseen for the next run, and its error in ``error`` once the rest is
    done (in one process, errors raise).
    """
    entries = _unseen(path)
    if limit is not None:
        entries = entries[:limit]
    result = MaildirResult()
    workers = intake_workers(workers=workers, messages=len(entries))
    step = max(1, batch)
    found: dict[int, str] = {}
    if workers == 1:
        for start in range(0, len(entries), step):
            chunk = entries[start : start + step]
            lines = _import(path=path, entries=chunk, desk=desk, envelope_to=envelope_to)
            for index, line in enumerate(lines, start):
                if line is not None:
                    found[index] = line
    else:
        from regdesk.channels.email_intake import intake_warm

        size = step * workers  # a batch for each worker, read while the workers process
        heads = (
            [_head(entry.file) for entry in entries[start : start + size]]
            for start in range(0, len(entries), size)
        )
        intake_warm(desk=desk)  # loaded once here, not in each worker
        with IntakePool(size=workers) as pool:
            outcome = pool.run(
                feed=heads,
                batch=step,
                job=lambda indices: (
                    _import,
                    {
                        "path": path,
                        "entries": [entries[index] for index in indices],
                        "desk": desk,
                        "envelope_to": envelope_to,
                    },
                ),
            )
        found = outcome.lines
        result.error = "; ".join(outcome.errors)
    result.results = [found[index] for index in sorted(found)]
    result.imported = len(result.results)
    return result
