"""Reading what was sent."""

from __future__ import annotations

from django.db.models import QuerySet

from regdesk.notifications.models import Notification
from regdesk.tickets.models import Ticket


def notifications_for_ticket(*, ticket: Ticket, limit: int = 200) -> QuerySet[Notification]:
    """The ticket's notifications, newest first (the per-ticket history of what was sent)."""
    return Notification.objects.filter(ticket=ticket).order_by("-created_at", "-pk")[:limit]
