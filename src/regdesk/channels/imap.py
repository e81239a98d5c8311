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
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.utils import timezone

from regdesk.channels.forked import IntakePool, intake_workers
from regdesk.channels.models import Inbound, Mailbox
from regdesk.channels.partition import header_section
from regdesk.desks.models import Desk
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


def mailbox_poll(
    *,
    mailbox: Mailbox,
    limit: int = 500,
    batch: int = BATCH,
    workers: int = 1,
    pool: IntakePool | None = None,
) -> PollResult:
    """Import up to ``limit`` unseen messages of one mailbox, ``batch`` at a time.

    With ``workers`` > 1, or a ``pool`` (PostgreSQL), the messages are fetched a chunk at a
    time, grouped by sender and thread (``partition``) as they come, and processed a batch at
    a time by the pool's worker processes (a pool for this poll when none is given; a
    long-running poller passes its own and keeps its workers between polls). This process
    flags each batch once its worker reports it committed, and the results come back in the
    mailbox's order. A batch that fails leaves its messages, and the later mail of its senders
    and threads, unseen for the next poll, and its error in ``error`` (and on the mailbox) once
    the rest is done.
    """
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
        size = pool.size if pool is not None else workers
        if intake_workers(workers=size, messages=len(uids)) > 1:
            if pool is not None:
                _poll_parallel(client, mailbox, uids, batch=batch, pool=pool, result=result)
            else:
                with IntakePool(size=size) as own:
                    _poll_parallel(client, mailbox, uids, batch=batch, pool=own, result=result)
        else:
            step = max(1, batch)
            for start in range(0, len(uids), step):
                for _uid, line in _poll_batch(client, mailbox, uids[start : start + step]):
                    result.fetched += 1
                    result.results.append(line)
        if mailbox.delete_after_import:
            client.expunge()
    except (OSError, imaplib.IMAP4.error) as exc:
        result.error = "; ".join(filter(None, [result.error, f"{type(exc).__name__}: {exc}"]))
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            client.logout()
    Mailbox.objects.filter(pk=mailbox.pk).update(
        last_polled_at=timezone.now(), last_error=result.error[:2000]
    )
    return result


def _poll_parallel(
    client: imaplib.IMAP4,
    mailbox: Mailbox,
    uids: list[bytes],
    *,
    batch: int,
    pool: IntakePool,
    result: PollResult,
) -> None:
    """Fetch ``uids`` and process them in the pool's workers; this process flags each batch
    as its worker reports it committed.

    The messages are fetched a chunk at a time (a batch for each worker), and each chunk is
    grouped by its headers (``partition``) while the workers process the chunks before. The
    workers need no IMAP connection of their own: each batch's messages are sent to its
    worker, and the flags are stored here while they work. A worker's own login and fetches
    cost more than its share of the fetch done here (Dovecot's work and the waits)."""
    raws: dict[bytes, bytes] = {}
    present: list[bytes] = []  # the messages fetched, in order: the others were expunged
    failed: list[str] = []

    def feed() -> Iterator[list[bytes]]:
        size = max(1, batch) * pool.size
        for start in range(0, len(uids), size):
            fetched = _fetch(client, uids[start : start + size])
            raws.update(fetched)
            present.extend(uid for uid, _raw in fetched)
            yield [header_section(raw) for _uid, raw in fetched]

    def flag(lines: list[tuple[int, str]]) -> None:
        if failed:  # the connection failed: the rest stay unseen, fetched again next poll
            return
        done = [present[index] for index, line in lines if line != _UNFINISHED]
        try:
            _flag(client, mailbox, done)
        except (OSError, imaplib.IMAP4.error) as exc:
            failed.append(f"{type(exc).__name__}: {exc}")

    from regdesk.channels.email_intake import intake_warm

    intake_warm(desk=mailbox.desk)  # loaded here, before workers are forked
    source = _source(mailbox)
    outcome = pool.run(
        feed=feed(),
        batch=batch,
        job=lambda indices: (
            _ingest,
            {
                "raws": [raws[present[index]] for index in indices],
                "source": source,
                "desk": mailbox.desk,
                "envelope_to": mailbox.address,
            },
        ),
        reported=flag,
    )
    result.results = [outcome.lines[index] for index in sorted(outcome.lines)]
    result.fetched = len(result.results)
    result.error = "; ".join([*outcome.errors, *failed])


def _ingest(*, raws: list[bytes], source: str, desk: Desk | None, envelope_to: str) -> list[str]:
    """A worker's batch: store and process ``raws``; an outcome line each."""
    from regdesk.channels.email_intake import email_ingest_many

    rows = email_ingest_many(raws=raws, source=source, desk=desk, envelope_to=envelope_to)
    return [_line(row) for row in rows]


# The outcome line of a message stored but not processed (another process held it): it is
# not flagged, so the next poll fetches it again.
_UNFINISHED = Inbound.State.RECEIVED.value


def _line(row: Inbound | None) -> str:
    if row is None:
        return "empty: nothing stored"
    if row.state == Inbound.State.RECEIVED:
        return _UNFINISHED
    return row.result or row.state


def _source(mailbox: Mailbox) -> str:
    return f"imap:{mailbox.username}@{mailbox.host}/{mailbox.folder}"


def _flag(client: imaplib.IMAP4, mailbox: Mailbox, uids: list[bytes]) -> None:
    """Flag committed messages seen (or deleted, expunged at the end of the poll)."""
    if not uids:
        return
    flag = "\\Deleted" if mailbox.delete_after_import else "\\Seen"
    # .SILENT: the server does not send each message's new flags back (RFC 3501 6.4.6)
    _check(client.uid("STORE", b",".join(uids).decode(), "+FLAGS.SILENT", f"({flag})"), "STORE")


def _fetch(client: imaplib.IMAP4, uids: list[bytes]) -> list[tuple[bytes, bytes]]:
    """Fetch ``uids`` without marking them seen: (UID, bytes) of each message still there, in
    the order of ``uids`` (the others were expunged meanwhile)."""
    response = _check(client.uid("FETCH", b",".join(uids).decode(), "(BODY.PEEK[])"), "FETCH")
    found: dict[bytes, bytes] = {}
    for part in response:
        if isinstance(part, tuple) and isinstance(part[1], bytes):
            uid = _UID.search(part[0])
            if uid is not None:
                found[uid.group(1)] = part[1]
    return [(uid, found[uid]) for uid in uids if uid in found]


def _poll_batch(
    client: imaplib.IMAP4, mailbox: Mailbox, uids: list[bytes]
) -> list[tuple[bytes, str]]:
    """Fetch, store, process and then flag one batch of messages; returns the (UID, outcome
    line) of each message fetched."""
    fetched = _fetch(client, uids)
    if not fetched:
        return []
    outcomes = _ingest(
        raws=[raw for _uid, raw in fetched],
        source=_source(mailbox),
        desk=mailbox.desk,
        envelope_to=mailbox.address,
    )
    lines = [(uid, line) for (uid, _raw), line in zip(fetched, outcomes, strict=True)]
    _flag(client, mailbox, [uid for uid, line in lines if line != _UNFINISHED])
    return lines


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mailboxes_poll(
    *, batch: int = BATCH, workers: int = 1, pool: IntakePool | None = None
) -> dict[str, PollResult]:
    """Poll every enabled mailbox (the periodic task calls this, in one process; the
    long-running poller with its ``pool``)."""
    return {
        str(mailbox): mailbox_poll(mailbox=mailbox, batch=batch, workers=workers, pool=pool)
        for mailbox in Mailbox.objects.filter(enabled=True, desk__is_active=True).select_related(
            "desk"
        )
    }
