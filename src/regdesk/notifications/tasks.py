"""Background tasks of notifications (Django Tasks API; ids in, never objects)."""

from __future__ import annotations

from django_tasks import task

from regdesk.notifications.services import notification_send


@task()
def notification_deliver(notification_id: int) -> str:
    return notification_send(notification_id=notification_id)
