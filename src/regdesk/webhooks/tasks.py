"""Background delivery of webhooks (ids in; safe to run twice)."""

from __future__ import annotations

from django_tasks import task

from regdesk.webhooks.services import webhook_send


@task()
def webhook_deliver(delivery_id: int) -> str:
    return webhook_send(delivery_id=delivery_id)
