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
from dataclasses import dataclass, field
from pathlib import Path

from regdesk.desks.models import Desk

# Messages stored in one INSERT and processed in one transaction.
BATCH = 100
INFO = mailbox.Maildir.colon + "2,"


@dataclass
class MaildirResult:
    imported: int = 0
    results: list[str] = field(default_factory=list)


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
    return sorted(found, key=lambda e: e.key)


def _mark_seen(path: Path, entry: _Entry) -> None:
    flags = "".join(sorted({*entry.flags, "S"}))
    with contextlib.suppress(FileNotFoundError):  # moved meanwhile (a mail client, another run)
        os.rename(entry.file, path / "cur" / f"{entry.key}{INFO}{flags}")


def _read(entries: list[_Entry]) -> list[tuple[_Entry, bytes]]:
    found = []
    for entry in entries:
        try:
            found.append((entry, entry.file.read_bytes()))
        except FileNotFoundError:  # moved since the listing: the next run finds it where it is
            continue
    return found


def maildir_import(
    *,
    path: Path,
    desk: Desk | None = None,
    envelope_to: str = "",
    limit: int | None = None,
    batch: int = BATCH,
) -> MaildirResult:
    """Import the unseen messages of the Maildir at ``path`` (``new`` and unflagged ``cur``)."""
    from regdesk.channels.email_intake import email_ingest_many

    entries = _unseen(path)
    if limit is not None:
        entries = entries[:limit]
    result = MaildirResult()
    for start in range(0, len(entries), max(1, batch)):
        chunk = _read(entries[start : start + max(1, batch)])
        rows = email_ingest_many(
            raws=[raw for _entry, raw in chunk],
            source=f"maildir:{path}",
            desk=desk,
            envelope_to=envelope_to,
        )
        for (entry, _raw), row in zip(chunk, rows, strict=True):
            result.imported += 1
            result.results.append((row.result or row.state) if row else "empty: nothing stored")
            _mark_seen(path, entry)
    return result
