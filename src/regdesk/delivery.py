"""Outbox rows (notifications, webhook deliveries) share one claim protocol.

A row is ``pending`` until a worker claims it with a conditional UPDATE (``pending``/``failed`` →
``sending``, stamping ``claimed_at``); a claim older than the lease is treated as abandoned by a
dead worker and may be taken again. So a delivery task is safe to run twice, and nothing a killed
worker held is lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Model, Q

PENDING, SENDING, FAILED = "pending", "sending", "failed"


def delivery_claim(model: type[Model], *, pk: int, now: datetime, lease: timedelta) -> bool:
    """Claim one row for sending; False when it is done or held by a live worker."""
    return bool(
        model._default_manager.filter(
            Q(state__in=[PENDING, FAILED]) | Q(state=SENDING, claimed_at__lt=now - lease),
            pk=pk,
        ).update(state=SENDING, claimed_at=now)
    )


def delivery_stale_ids(
    model: type[Model], *, now: datetime, lease: timedelta, limit: int = 1000
) -> list[int]:
    """Rows a dead worker left behind: pending without a task, or sending past the lease."""
    return list(
        model._default_manager.filter(
            Q(state=PENDING, created_at__lt=now - lease)
            | Q(state=SENDING, claimed_at__lt=now - lease)
        ).values_list("pk", flat=True)[:limit]
    )
