"""Intake: store every inbound message raw, then apply the regulation to it, once.

``inbound_receive`` commits the original before anything else happens (a crash after it loses
nothing: the row is processed on the next run); ``inbound_process`` parses the row and hands it to
its channel's handler, and records the outcome. A handler that raises quarantines the row with its
error and the rows after it go on; ``inbound_retry`` runs a quarantined row again.

A channel's handler is registered with ``handler_register`` by the app that owns the channel
(email here, Telegram in ``regdesk.telegram``): ``handler(inbound) -> HandlerResult``.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from regdesk.channels.models import Inbound
from regdesk.desks.models import Desk
from regdesk.tickets.models import Ticket

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


Handler = Callable[[Inbound], HandlerResult]
_HANDLERS: dict[str, Handler] = {}


def handler_register(channel: str, handler: Handler) -> None:
    _HANDLERS[channel] = handler


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


def inbound_retry(*, inbound_id: int) -> Inbound:
    """Run a quarantined message again (from the workspace or `regdesk mail retry`)."""
    return inbound_process(inbound_id=inbound_id, retry=True)
