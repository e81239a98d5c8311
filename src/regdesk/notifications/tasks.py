"""Background tasks of notifications (Django Tasks API; ids in, never objects)."""

from __future__ import annotations

from django_tasks import task

from regdesk.notifications.services import (
    notification_send,
    notifications_send,
    notifications_send_pending,
)


@task()
def notification_deliver(notification_id: int) -> str:
    return notification_send(notification_id=notification_id)


@task()
def notifications_deliver(notification_ids: list[int]) -> list[str]:
    """These notifications (one task, one mail connection): tasks queued before sweeps."""
    return notifications_send(notification_ids=notification_ids)


@task()
def notifications_sweep() -> int:
    """Every pending notification (asked for by the transactions that made them)."""
    return notifications_send_pending()
