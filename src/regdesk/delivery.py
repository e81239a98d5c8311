"""Outbox rows (notifications, webhook deliveries) share one claim protocol.

A row is ``pending`` until a worker claims it with a conditional UPDATE (``pending``/``failed`` →
``sending``, stamping ``claimed_at``); a claim older than the lease is treated as abandoned by a
dead worker and may be taken again. So a delivery task is safe to run twice, and nothing a killed
worker held is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import connection
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


def delivery_claim_many(
    model: type[Model],
    *,
    now: datetime,
    lease: timedelta,
    pks: Sequence[int] | None = None,
    limit: int = 200,
) -> list[int]:
    """Claim several rows in one statement; returns the ids claimed (by this call alone).

    With ``pks``: those of them that are claimable, as ``delivery_claim`` decides. Without: up
    to ``limit`` pending rows, oldest first, skipping rows another worker is claiming (a
    sweep; failed rows wait for their own retry).
    """
    table = connection.ops.quote_name(model._meta.db_table)
    if pks is not None:
        if not pks:
            return []
        marks = ", ".join("%s" for _pk in pks)
        sql = (
            f"UPDATE {table} SET state = %s, claimed_at = %s WHERE id IN ({marks}) AND "
            "(state IN (%s, %s) OR (state = %s AND claimed_at < %s)) RETURNING id"
        )
        params = [SENDING, now, *pks, PENDING, FAILED, SENDING, now - lease]
    else:
        skip = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
        sql = (
            f"UPDATE {table} SET state = %s, claimed_at = %s WHERE state = %s AND id IN "
            f"(SELECT id FROM {table} WHERE state = %s ORDER BY id LIMIT %s{skip}) RETURNING id"
        )
        params = [SENDING, now, PENDING, PENDING, limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())
