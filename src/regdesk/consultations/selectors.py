"""Reading consultations: only those of the desks an agent works on."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet

from regdesk.consultations.models import Consultation
from regdesk.desks.models import Desk
from regdesk.tickets.selectors import agent_desk_ids


def consultations_for_agent(
    *, user: User, desk: Desk | None = None, q: str = ""
) -> QuerySet[Consultation]:
    """Consultations of the desks the agent works on, newest first, optionally searched."""
    rows = Consultation.objects.filter(desk_id__in=agent_desk_ids(user) or set())
    if desk is not None:
        rows = rows.filter(desk=desk)
    for word in q.split():
        rows = rows.filter(
            Q(summary__icontains=word)
            | Q(notes__icontains=word)
            | Q(contact__icontains=word)
            | Q(person__full_name__icontains=word)
        )
    return rows.select_related("desk", "person", "agent", "ticket")


def consultation_counts(*, rows: QuerySet[Consultation]) -> list[dict[str, Any]]:
    """Counts per desk and channel (for the list's summary and reports)."""
    return list(
        rows.order_by()
        .values("desk__name", "channel")
        .annotate(count=Count("id"))
        .order_by("desk__name", "channel")
    )
