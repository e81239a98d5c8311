"""IMAP polling: fetch unseen mail, store it, process it, and only then mark it.

A message is fetched with ``BODY.PEEK[]`` (fetching does not mark it seen), stored and committed,
processed, and only after that flagged ``\\Seen`` (or ``\\Deleted`` and expunged). A poller killed
at any point leaves the message unmarked: the next poll fetches it again, the store recognises
it (same Message-ID, or the same bytes), and nothing is processed twice.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import ssl
from dataclasses import dataclass, field

from django.utils import timezone

from regdesk.channels.models import Inbound, Mailbox
from regdesk.tickets import crypto

logger = logging.getLogger(__name__)


@dataclass
class PollResult:
    fetched: int = 0
    results: list[str] = field(default_factory=list)
    error: str = ""


def mailbox_password_set(*, mailbox: Mailbox, password: str) -> None:
    mailbox.password_encrypted = crypto.encrypt(password)
    mailbox.save(update_fields=["password_encrypted"])


def _connect(mailbox: Mailbox) -> imaplib.IMAP4:
    if mailbox.security == "ssl":
        client: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            mailbox.host, mailbox.port, ssl_context=ssl.create_default_context(), timeout=60
        )
    else:
        client = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=60)
        if mailbox.security == "starttls":
            client.starttls(ssl_context=ssl.create_default_context())
    stored = bytes(mailbox.password_encrypted)
    password = crypto.decrypt(stored) if stored else ""
    client.login(mailbox.username, password)
    return client


def _check(response: tuple[str, list[object]], what: str) -> list[object]:
    status, data = response
    if status != "OK":
        raise imaplib.IMAP4.error(f"{what}: {status} {data!r}")
    return data


def mailbox_poll(*, mailbox: Mailbox, limit: int = 500) -> PollResult:
    """Import up to ``limit`` unseen messages of one mailbox."""
    from regdesk.channels.email_intake import email_ingest

    result = PollResult()
    try:
        client = _connect(mailbox)
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        Mailbox.objects.filter(pk=mailbox.pk).update(
            last_polled_at=timezone.now(), last_error=result.error[:2000]
        )
        return result
    try:
        _check(client.select(_quoted(mailbox.folder)), "SELECT")
        data = _check(client.uid("SEARCH", None, "UNSEEN UNDELETED"), "SEARCH")
        uids = (data[0] or b"").split() if data else []
        for uid in uids[:limit]:
            fetched = _check(client.uid("FETCH", uid, "(BODY.PEEK[])"), "FETCH")
            raw = next((part[1] for part in fetched if isinstance(part, tuple)), None)
            if not isinstance(raw, bytes):
                continue
            source = f"imap:{mailbox.username}@{mailbox.host}/{mailbox.folder}"
            row = email_ingest(
                raw=raw, source=source, desk=mailbox.desk, envelope_to=mailbox.address
            )
            result.fetched += 1
            result.results.append(row.result or row.state)
            flag = "\\Deleted" if mailbox.delete_after_import else "\\Seen"
            if row.state != Inbound.State.RECEIVED:
                _check(client.uid("STORE", uid, "+FLAGS", f"({flag})"), "STORE")
        if mailbox.delete_after_import:
            client.expunge()
    except (OSError, imaplib.IMAP4.error) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            client.logout()
    Mailbox.objects.filter(pk=mailbox.pk).update(
        last_polled_at=timezone.now(), last_error=result.error[:2000]
    )
    return result


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mailboxes_poll() -> dict[str, PollResult]:
    """Poll every enabled mailbox (the periodic task calls this)."""
    return {
        str(mailbox): mailbox_poll(mailbox=mailbox)
        for mailbox in Mailbox.objects.filter(enabled=True, desk__is_active=True).select_related(
            "desk"
        )
    }
