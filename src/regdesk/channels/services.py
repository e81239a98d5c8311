"""Intake: store every inbound message raw, then apply the regulation to it, once.

``inbound_receive`` commits the original before anything else happens (a crash after it loses
nothing: the row is processed on the next run); ``inbound_process`` parses the row and hands it to
its channel's handler, and records the outcome. A handler that raises quarantines the row with its
error and the rows after it go on; ``inbound_retry`` runs a quarantined row again.

Mail arrives in batches (a poll, a Maildir): ``inbound_receive_many`` stores a batch in one
INSERT and commits it, ``inbound_process_many`` processes it in one transaction with a savepoint
per message. A message whose handler raises rolls back to its own savepoint and is quarantined in
the same transaction; the others commit. Handlers may memoise reads for the batch in
``intake_memo()``; it is emptied whenever a message rolls back, so nothing written by a
rolled-back message is remembered.

A channel's handler is registered with ``handler_register`` by the app that owns the channel
(email here, Telegram in ``regdesk.telegram``): ``handler(inbound) -> HandlerResult``.
"""

from __future__ import annotations

import copy
import logging
import traceback
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from regdesk.bulk import rows_insert, rows_update
from regdesk.channels.models import Inbound
from regdesk.desks.models import Desk
from regdesk.tickets.models import Ticket
from regdesk.tickets.services import (
    ReplyDraft,
    TicketDraft,
    customer_replies_register,
    tickets_register,
)

logger = logging.getLogger(__name__)


class QuarantineError(Exception):
    """The message cannot be processed as it is: kept raw and quarantined with this reason."""


@dataclass
class HandlerResult:
    outcome: str  # an Inbound.Outcome value
    result: str  # the one line the CLI prints: a ticket number, "consultation", "refused: …"
    ticket: Ticket | None = None
    desk: Desk | None = None
    warnings: list[str] = field(default_factory=list)
    # A request or a requester's message to register (``ticket_prepare``'s or
    # ``ticket_customer_reply_prepare``'s draft): in a batch, the drafts of several messages
    # are registered together; the ticket and result follow.
    draft: TicketDraft | ReplyDraft | None = None


Handler = Callable[[Inbound], HandlerResult]
Prepare = Callable[[Sequence[Inbound]], None]
_HANDLERS: dict[str, Handler] = {}
_PREPARES: dict[str, Prepare] = {}


def handler_register(channel: str, handler: Handler, *, prepare: Prepare | None = None) -> None:
    """``prepare(rows)``, when given, runs once before a batch of the channel's rows and may
    fill ``intake_memo()`` with what the batch's handlers will read."""
    _HANDLERS[channel] = handler
    if prepare is not None:
        _PREPARES[channel] = prepare


def inbound_receive(
    *,
    channel: str,
    key: str,
    raw: bytes,
    source: str,
    desk: Desk | None = None,
    envelope_to: str = "",
    at: datetime | None = None,
) -> tuple[Inbound, bool]:
    """Store the original once per (channel, key); returns (row, created). Commits."""
    key = key[:255]
    existing = Inbound.objects.filter(channel=channel, key=key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            row = Inbound.objects.create(
                channel=channel,
                key=key,
                raw=raw,
                source=source[:200],
                desk=desk,
                envelope_to=envelope_to[:254],
                received_at=at or timezone.now(),
            )
    except IntegrityError:  # a concurrent receiver stored it first
        return Inbound.objects.get(channel=channel, key=key), False
    return row, True


def inbound_process(*, inbound_id: int, retry: bool = False) -> Inbound:
    """Apply the regulation to a stored message; a processed one is returned as it is.

    The handler's writes and the row's outcome commit together: killed midway, nothing of it
    is kept and the row is still ``received``, so the next run processes it once.
    """
    states = [Inbound.State.RECEIVED]
    if retry:
        states.append(Inbound.State.QUARANTINED)
    try:
        with transaction.atomic():
            row = Inbound.objects.select_for_update().get(pk=inbound_id)
            if row.state not in states:
                return row
            handler = _HANDLERS.get(row.channel)
            if handler is None:
                raise QuarantineError(f"no handler for channel {row.channel!r}")
            outcome = handler(row)
            _register([(row, outcome)])
            row.state = Inbound.State.PROCESSED
            row.outcome = outcome.outcome
            row.result = outcome.result[:300]
            row.ticket = outcome.ticket
            if outcome.desk is not None:
                row.desk = outcome.desk
            row.warnings = outcome.warnings
            row.error = ""
            row.attempts += 1
            row.processed_at = timezone.now()
            row.save()
            return row
    except Exception as exc:  # one bad message never blocks the ones after it
        reason = str(exc) if isinstance(exc, QuarantineError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, QuarantineError):
            logger.exception("inbound %s failed", inbound_id)
        detail = reason if isinstance(exc, QuarantineError) else traceback.format_exc()
        Inbound.objects.filter(pk=inbound_id).update(
            state=Inbound.State.QUARANTINED,
            outcome=Inbound.Outcome.QUARANTINED,
            result=f"quarantined: {reason}"[:300],
            error=detail[:20000],
            processed_at=timezone.now(),
        )
        return Inbound.objects.get(pk=inbound_id)


def _quarantine_fields(exc: Exception, inbound_id: int) -> dict[str, Any]:
    reason = str(exc) if isinstance(exc, QuarantineError) else f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, QuarantineError):
        logger.error("inbound %s failed", inbound_id, exc_info=exc)
    detail = reason
    if not isinstance(exc, QuarantineError):
        detail = "".join(traceback.format_exception(exc))
    return {
        "state": Inbound.State.QUARANTINED,
        "outcome": Inbound.Outcome.QUARANTINED,
        "result": f"quarantined: {reason}"[:300],
        "error": detail[:20000],
    }


@dataclass(frozen=True)
class Received:
    """One message of a batch to store: its idempotency key and original."""

    key: str
    raw: bytes


def inbound_receive_many(
    *,
    channel: str,
    items: Sequence[Received],
    source: str,
    desk: Desk | None = None,
    envelope_to: str = "",
    at: datetime | None = None,
) -> list[Inbound]:
    """Store a batch of originals, once per (channel, key), in one INSERT; commits. Returns one
    row per item, in order (an item whose key was stored before, or earlier in the batch, gets
    that row)."""
    keys = [item.key[:255] for item in items]
    found = {
        row.key: row
        for row in Inbound.objects.filter(channel=channel, key__in=set(keys)).defer("raw")
    }
    moment = at or timezone.now()
    fresh: dict[str, Inbound] = {}
    for key, item in zip(keys, items, strict=True):
        if key not in found and key not in fresh:
            fresh[key] = Inbound(
                channel=channel,
                key=key,
                raw=item.raw,
                source=source[:200],
                desk=desk,
                envelope_to=envelope_to[:254],
                received_at=moment,
            )
    if fresh:
        # one statement, one binary array per column (``rows_insert``); a key a concurrent
        # receiver stored meanwhile is skipped there and read back here (keys are unique per
        # channel, and every row of the batch has the same channel)
        with transaction.atomic():
            stored = rows_insert(rows=list(fresh.values()), unique="key")
        if len(stored) < len(fresh):
            taken = [key for key, row in fresh.items() if row.pk is None]
            found.update(
                (row.key, row)
                for row in Inbound.objects.filter(channel=channel, key__in=taken).defer("raw")
            )
            fresh = {row.key: row for row in stored}
    found.update(fresh)
    return [found[key] for key in keys]


@dataclass
class _Batch:
    memo: dict[Any, Any] = field(default_factory=dict)
    # rows of the batch processed so far: outcome set, stored by one UPDATE at the end
    done: list[Inbound] = field(default_factory=list)
    # rows whose request is drafted, registered at the end of their segment
    pending: list[tuple[Inbound, HandlerResult]] = field(default_factory=list)


_batch: ContextVar[_Batch | None] = ContextVar("regdesk_intake_batch", default=None)


def intake_memo() -> dict[Any, Any] | None:
    """Reads a handler may keep for the rest of the batch (None outside a batch). Emptied when
    a message of the batch rolls back."""
    batch = _batch.get()
    return batch.memo if batch is not None else None


def intake_batch_done() -> list[Inbound]:
    """The rows of the current batch processed so far (their outcome is not stored yet):
    threading by an earlier message, and a ticket's participants, look here too."""
    batch = _batch.get()
    return list(batch.done) if batch is not None else []


def intake_flush(*, keys: Collection[str] = (), ticket: Ticket | None = None) -> None:
    """Register now what the message about to be handled may need of the batch's drafts: with
    ``keys`` (the messages it answers), the requests drafted from those messages (with the other
    requests drafted before them, so numbers keep the mail's order); with ``ticket``, the
    messages drafted to that ticket (a draft reads the ticket's history).

    Everything else waits for the end of its segment. A request takes its desk's number counter,
    which stays locked until the batch commits, and other intake processes registering on the
    desk wait for it meanwhile: taken at the end, it is held for the batch's writes only."""
    batch = _batch.get()
    if batch is None:
        return
    if ticket is None:
        wanted = set(keys)
        if any(
            isinstance(result.draft, TicketDraft) and row.key in wanted
            for row, result in batch.pending
        ):
            _flush(batch, kind=TicketDraft)
    elif any(
        isinstance(result.draft, ReplyDraft) and result.draft.ticket.pk == ticket.pk
        for _row, result in batch.pending
    ):
        _flush(batch, kind=ReplyDraft)


def _flush(batch: _Batch, kind: type[TicketDraft | ReplyDraft] | None = None) -> None:
    """Register the pending drafts (only those of ``kind``, when given)."""
    if kind is None:
        pending, batch.pending = batch.pending, []
    else:
        pending = [item for item in batch.pending if isinstance(item[1].draft, kind)]
        batch.pending = [item for item in batch.pending if not isinstance(item[1].draft, kind)]
    _register(pending)


def _register(items: Sequence[tuple[Inbound, HandlerResult]]) -> None:
    """Register the drafts of these outcomes, requests and messages each together; their rows
    name the tickets."""
    requests: list[TicketDraft] = []
    messages: list[ReplyDraft] = []
    asked: list[tuple[Inbound, HandlerResult]] = []
    answered: list[tuple[Inbound, HandlerResult]] = []
    for row, result in items:
        if isinstance(result.draft, TicketDraft):
            requests.append(result.draft)
            asked.append((row, result))
        elif isinstance(result.draft, ReplyDraft):
            messages.append(result.draft)
            answered.append((row, result))
    tickets = tickets_register(drafts=requests) + customer_replies_register(drafts=messages)
    for (row, result), ticket in zip([*asked, *answered], tickets, strict=True):
        result.draft = None
        result.ticket = ticket
        result.result = ticket.reference
        if row.state == Inbound.State.PROCESSED:  # its outcome was set before: complete it
            row.ticket = ticket
            row.result = ticket.reference[:300]


@contextmanager
def _batch_open() -> Iterator[_Batch]:
    batch = _Batch()
    token = _batch.set(batch)
    try:
        yield batch
    finally:
        _batch.reset(token)


# Rows processed under one savepoint, their drafts written together at its end. A row that
# fails rolls its segment back, and the segment is run again with a savepoint per row (a
# savepoint per row would cost two statements a row, more than the rest of its processing).
# 100 rather than 10: each segment's writes cost about as much whatever its size, and the whole
# intake ran 10-20 % faster at 50 (benchmarks/email_ingest.py); a failure redoes more rows,
# rarely. As large as the intake's batches (``maildir.BATCH``, ``imap.BATCH``): a segment's
# requests take their desk's number counter, locked until the batch commits, so a batch of
# one segment holds it for its last writes only; with two segments of 50, two intake
# processes on one desk took turns for most of each batch (requests: 1.2x faster with two
# processes than with one; 1.7x at 100).
SEGMENT = 100


class _SegmentFailed(Exception):
    pass


def inbound_process_many(*, inbound_ids: Sequence[int], retry: bool = False) -> list[Inbound]:
    """Process stored rows in one transaction; returns the rows in order.

    A row whose handler raises is rolled back and quarantined (with its error) in the same
    transaction; the others' writes and outcomes commit together. Rows run in segments of
    ``SEGMENT`` under one savepoint; when a row fails, its segment is rolled back and run again
    with a savepoint per row, so only the failing row is lost. Killed midway, nothing of the
    batch is kept and its rows are still ``received``: the next run processes each once. Rows
    already processed (or locked and finished by another process meanwhile) are returned as
    they are.
    """
    states = [Inbound.State.RECEIVED]
    if retry:
        states.append(Inbound.State.QUARANTINED)
    order = list(dict.fromkeys(inbound_ids))
    with transaction.atomic(), _batch_open() as batch:
        rows = {
            row.pk: row
            for row in Inbound.objects.select_for_update(of=("self",))
            .select_related("desk")
            .filter(pk__in=order)
            .order_by("pk")
        }
        todo = [rows[pk] for pk in order if pk in rows and rows[pk].state in states]
        _prepare(todo, batch.memo)
        for start in range(0, len(todo), SEGMENT):
            segment = todo[start : start + SEGMENT]
            kept = [_snapshot(row) for row in segment]
            try:
                with transaction.atomic():
                    for row in segment:
                        outcome = _handle(row)
                        if isinstance(outcome, Exception):
                            raise _SegmentFailed
                        _outcome_set(row, outcome)
                        batch.done.append(row)
                        if outcome.draft is not None:
                            batch.pending.append((row, outcome))
                    try:
                        _flush(batch)
                    except Exception as exc:  # the segment's rows are run again, one by one
                        raise _SegmentFailed from exc
            except _SegmentFailed:
                # what the segment read or wrote is gone with its savepoint: run it again,
                # a savepoint per row
                batch.pending = []
                batch.memo.clear()
                batch.done = [row for row in batch.done if row not in segment]
                _tickets_reread(batch.done)
                for row, fields in zip(segment, kept, strict=True):
                    row.__dict__.clear()
                    row.__dict__.update(fields)
                for row in segment:
                    _outcome_set(row, _handle_alone(row, batch))
                    batch.done.append(row)
        _outcomes_write(todo)
    return [rows[pk] for pk in inbound_ids if pk in rows]


def _tickets_reread(rows: list[Inbound]) -> None:
    """The tickets of rows processed before a rolled-back segment, read again: the segment may
    have changed them in memory (a reply sets the status) and its writes are gone."""
    ids = {row.ticket_id for row in rows if row.ticket_id is not None}
    if not ids:
        return
    fresh = Ticket.objects.select_related("desk", "requester").in_bulk(ids)
    for row in rows:
        if row.ticket_id is not None:
            row.ticket = fresh[row.ticket_id]


def _snapshot(row: Inbound) -> dict[str, Any]:
    """The row's attributes, to put back when its segment rolls back (the related objects it
    caches included)."""
    fields = dict(row.__dict__)
    state = copy.copy(row._state)
    state.fields_cache = dict(row._state.fields_cache)
    fields["_state"] = state
    return fields


def _handle(row: Inbound) -> HandlerResult | Exception:
    handler = _HANDLERS.get(row.channel)
    try:
        if handler is None:
            raise QuarantineError(f"no handler for channel {row.channel!r}")
        return handler(row)
    except Exception as exc:  # one bad message never blocks the ones after it
        return exc


def _handle_alone(row: Inbound, batch: _Batch) -> HandlerResult | Exception:
    outcome: HandlerResult | Exception
    try:
        with transaction.atomic():
            outcome = _handle(row)
            if isinstance(outcome, Exception):
                raise _SegmentFailed
            try:
                _register([(row, outcome)])
            except Exception as exc:
                outcome = exc
                raise _SegmentFailed from exc
    except _SegmentFailed:
        batch.memo.clear()
    return outcome


def _outcome_set(row: Inbound, outcome: HandlerResult | Exception) -> None:
    row.processed_at = timezone.now()
    if isinstance(outcome, Exception):
        for name, value in _quarantine_fields(outcome, row.pk).items():
            setattr(row, name, value)
        return
    row.state = Inbound.State.PROCESSED
    row.outcome = outcome.outcome
    row.result = outcome.result[:300]
    row.ticket = outcome.ticket
    if outcome.desk is not None:
        row.desk = outcome.desk
    row.warnings = outcome.warnings
    row.error = ""
    row.attempts += 1


def _prepare(rows: list[Inbound], memo: dict[Any, Any]) -> None:
    for channel in {row.channel for row in rows}:
        prepare = _PREPARES.get(channel)
        if prepare is None:
            continue
        try:
            with transaction.atomic():
                prepare([row for row in rows if row.channel == channel])
        except Exception:  # only a shortcut: each handler reads for itself what is missing
            logger.exception("preparing a batch of %s failed", channel)
            memo.clear()


# What processing writes on a row (the original and its key never change).
OUTCOME_FIELDS = [
    "state",
    "outcome",
    "result",
    "error",
    "warnings",
    "ticket",
    "desk",
    "sender",
    "subject",
    "participants",
    "attempts",
    "processed_at",
]


def _outcomes_write(rows: list[Inbound]) -> None:
    """Store the batch's outcomes (one UPDATE on PostgreSQL)."""
    rows_update(rows=rows, fields=OUTCOME_FIELDS)


def inbound_retry(*, inbound_id: int) -> Inbound:
    """Run a quarantined message again (from the workspace or `regdesk mail retry`)."""
    return inbound_process(inbound_id=inbound_id, retry=True)
