"""Import a local Maildir (a mail server's delivery folder, or an export): each message is
stored and processed, and only then moved to ``cur`` with the seen flag, so an import killed
midway and run again neither loses nor repeats a message."""

from __future__ import annotations

import mailbox
from dataclasses import dataclass, field
from pathlib import Path

from regdesk.desks.models import Desk


@dataclass
class MaildirResult:
    imported: int = 0
    results: list[str] = field(default_factory=list)


def maildir_import(
    *, path: Path, desk: Desk | None = None, envelope_to: str = "", limit: int | None = None
) -> MaildirResult:
    """Import the unseen messages of the Maildir at ``path`` (``new`` and unflagged ``cur``)."""
    from regdesk.channels.email_intake import email_ingest

    box = mailbox.Maildir(path, factory=None, create=False)
    result = MaildirResult()
    for key in sorted(box.iterkeys()):
        if limit is not None and result.imported >= limit:
            break
        message = box.get_message(key)
        if "S" in message.get_flags():
            continue
        raw = box.get_bytes(key)
        row = email_ingest(raw=raw, source=f"maildir:{path}", desk=desk, envelope_to=envelope_to)
        result.imported += 1
        result.results.append(row.result or row.state)
        message.set_subdir("cur")
        message.add_flag("S")
        box[key] = message
    return result
