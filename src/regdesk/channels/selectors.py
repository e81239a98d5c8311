"""Reading the intake journal: agents see their desks' messages; staff also see the ones no
desk could be found for."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from regdesk.channels.models import Inbound
from regdesk.tickets.selectors import agent_desk_ids


def inbound_for_agent(*, user: User, state: str = "", q: str = "") -> QuerySet[Inbound]:
    allowed = Q(desk_id__in=agent_desk_ids(user) or set())
    if user.is_staff:
        allowed |= Q(desk__isnull=True)
    rows = Inbound.objects.filter(allowed)
    if state:
        rows = rows.filter(state=state)
    for word in q.split():
        rows = rows.filter(
            Q(sender__icontains=word) | Q(subject__icontains=word) | Q(result__icontains=word)
        )
    return rows.select_related("desk", "ticket").defer("raw")
