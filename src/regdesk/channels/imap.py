"""IMAP polling: fetch unseen mail, store it, process it, and only then mark it.

Messages are fetched a batch at a time with ``BODY.PEEK[]`` (fetching does not mark them seen),
stored in one INSERT and committed, processed in one transaction (a savepoint per message), and
only after that commit flagged ``\\Seen`` (or ``\\Deleted`` and expunged) with one STORE. A poller
killed at any point leaves the batch unmarked: the next poll fetches it again, the store
recognises each message (same Message-ID, or the same bytes), and nothing is processed twice.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import ssl
from dataclasses import dataclass, field

from django.utils import timezone

from regdesk.channels.models import Inbound, Mailbox
from regdesk.tickets import crypto

logger = logging.getLogger(__name__)

# Messages fetched, stored and processed together.
BATCH = 100
_UID = re.compile(rb"\bUID (\d+)")


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


def mailbox_poll(*, mailbox: Mailbox, limit: int = 500, batch: int = BATCH) -> PollResult:
    """Import up to ``limit`` unseen messages of one mailbox, ``batch`` at a time."""
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
        uids = uids[:limit]
        step = max(1, batch)
        for start in range(0, len(uids), step):
            _poll_batch(client, mailbox, uids[start : start + step], result)
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


def _poll_batch(
    client: imaplib.IMAP4, mailbox: Mailbox, uids: list[bytes], result: PollResult
) -> None:
    """Fetch, store, process and then flag one batch of messages."""
    from regdesk.channels.email_intake import email_ingest_many

    fetched = _check(client.uid("FETCH", b",".join(uids).decode(), "(BODY.PEEK[])"), "FETCH")
    by_uid: dict[bytes, bytes] = {}
    for part in fetched:
        if isinstance(part, tuple) and isinstance(part[1], bytes):
            found = _UID.search(part[0])
            if found is not None:
                by_uid[found.group(1)] = part[1]
    present = [uid for uid in uids if uid in by_uid]
    if not present:
        return
    source = f"imap:{mailbox.username}@{mailbox.host}/{mailbox.folder}"
    rows = email_ingest_many(
        raws=[by_uid[uid] for uid in present],
        source=source,
        desk=mailbox.desk,
        envelope_to=mailbox.address,
    )
    done = []
    for uid, row in zip(present, rows, strict=True):
        result.fetched += 1
        result.results.append((row.result or row.state) if row else "empty: nothing stored")
        if row is None or row.state != Inbound.State.RECEIVED:
            done.append(uid)
    if done:
        flag = "\\Deleted" if mailbox.delete_after_import else "\\Seen"
        _check(client.uid("STORE", b",".join(done).decode(), "+FLAGS", f"({flag})"), "STORE")


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mailboxes_poll(*, batch: int = BATCH) -> dict[str, PollResult]:
    """Poll every enabled mailbox (the periodic task calls this)."""
    return {
        str(mailbox): mailbox_poll(mailbox=mailbox, batch=batch)
        for mailbox in Mailbox.objects.filter(enabled=True, desk__is_active=True).select_related(
            "desk"
        )
    }
