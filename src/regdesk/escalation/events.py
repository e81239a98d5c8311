"""A ticket's event rows as the clock engine reads them, for checks that load many tickets' rows
in one query.

The mapping is that of ``regdesk.tickets.services.core_events``, which reads one ticket's rows
itself; ``tests/background/test_escalation.py`` holds the two to the same answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from regdesk.core.clocks import EventKind, TicketEvent, TicketFacts
from regdesk.core.regulation import ClockName

_KINDS = {kind.value: kind for kind in EventKind}
_FACTS = ("priority", "tier", "line", "team", "type", "channel")


def core_event(kind: str, at: datetime, data: dict[str, Any] | None) -> TicketEvent | None:
    """One event row (kind, instant, data) as the clock engine's event; None when the engine
    ignores that kind (notes, field changes, …)."""
    core = _KINDS.get(kind)
    if core is None:
        return None
    data = data or {}
    if core is EventKind.CREATED:
        return TicketEvent(at=at, kind=core, facts=TicketFacts(**{k: data.get(k) for k in _FACTS}))
    if core is EventKind.AGREED_TARGET:
        return TicketEvent(
            at=at,
            kind=core,
            clock=ClockName(data["clock"]),
            duration=timedelta(seconds=float(data["seconds"])),
        )
    return TicketEvent(at=at, kind=core, to=data.get("to"))
