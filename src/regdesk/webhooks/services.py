"""Webhooks: subscribe a URL to a desk's ticket events; deliveries are signed and retried.

Each delivery is POSTed as JSON with

    X-Regdesk-Event: <kind>            X-Regdesk-Delivery: <id>
    X-Regdesk-Timestamp: <unix seconds>
    X-Regdesk-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>

Receivers verify the signature and reject old timestamps (replays). A 2xx answer counts as
delivered; anything else is retried with exponential backoff (10 attempts, up to ~3 days). Target
hosts resolving to private, loopback, link-local or otherwise non-public addresses are refused
unless an administrator allows them on the subscription; the check runs when subscribing and
again before every delivery (a DNS answer may change).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from regdesk.delivery import delivery_claim, delivery_stale_ids
from regdesk.desks.models import Desk
from regdesk.desks.selectors import desks_forget
from regdesk.tickets import crypto
from regdesk.tickets.models import TicketEvent
from regdesk.webhooks.models import WebhookDelivery, WebhookSubscription

MAX_ATTEMPTS = 10
LEASE = timedelta(minutes=5)
TIMEOUT_SECONDS = 10
KINDS = {k.value for k in TicketEvent.Kind}


class WebhookError(ValueError):
    pass


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could point at an internal host: a 3xx answer is a failed delivery."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def address_problem(url: str) -> str:
    """Why ``url`` may not be called without an administrator's allowance ('' when it may)."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return "the URL must be http:// or https:// with a host"
    try:
        infos = socket.getaddrinfo(parsed.hostname, parsed.port or 443, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"the host does not resolve ({exc})"
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            return f"{parsed.hostname} resolves to a non-public address ({address})"
    return ""


def webhook_subscribe(
    *,
    desk: Desk,
    url: str,
    events: list[str] | None = None,
    allow_private: bool = False,
    actor: User | None = None,
) -> tuple[WebhookSubscription, str]:
    """Subscribe ``url``; returns the subscription and its signing secret (shown once)."""
    unknown = sorted(set(events or []) - KINDS)
    if unknown:
        raise WebhookError(f"unknown event kinds: {', '.join(unknown)}")
    if allow_private and not (actor is not None and actor.is_superuser):
        raise WebhookError("only an administrator may allow private addresses")
    problem = address_problem(url)
    if problem and not allow_private:
        raise WebhookError(f"{problem}; an administrator may allow it explicitly")
    secret = "whsec_" + secrets.token_urlsafe(32)
    subscription = WebhookSubscription.objects.create(
        desk=desk,
        url=url,
        secret_ciphertext=crypto.encrypt(secret),
        events=sorted(set(events or [])),
        allow_private=allow_private,
        created_by=actor,
    )
    webhooks_desk_flag_refresh(desk=desk)
    return subscription, secret


def webhook_unsubscribe(*, subscription: WebhookSubscription) -> None:
    subscription.is_active = False
    subscription.save(update_fields=["is_active"])
    webhooks_desk_flag_refresh(desk=subscription.desk)


def webhooks_desk_flag_refresh(*, desk: Desk) -> None:
    """Keep ``Desk.has_webhooks`` true exactly when the desk has an active subscription."""
    desk.has_webhooks = WebhookSubscription.objects.filter(desk=desk, is_active=True).exists()
    Desk.objects.filter(pk=desk.pk).update(has_webhooks=desk.has_webhooks)
    desks_forget()  # this process at once; the others within DESKS_TTL


def event_payload(event: TicketEvent) -> dict[str, Any]:
    ticket = event.ticket
    return {
        "event": event.kind,
        "event_id": event.pk,
        "at": event.at.isoformat(),
        "actor": event.actor_name,
        "data": event.data,
        "ticket": {
            "reference": ticket.reference,
            "desk": ticket.desk.slug,
            "status": ticket.status,
            "priority": ticket.priority,
            "subject": ticket.subject,
            "next_due_at": ticket.next_due_at.isoformat() if ticket.next_due_at else None,
            "breached": ticket.breached,
        },
    }


def webhooks_emit(*, event: TicketEvent) -> int:
    """Queue one delivery per interested subscription (on commit); returns how many."""
    if not event.ticket.desk.has_webhooks:
        return 0
    subscriptions = [
        s
        for s in WebhookSubscription.objects.filter(desk_id=event.ticket.desk_id, is_active=True)
        if s.wants(event.kind)
    ]
    if not subscriptions:
        return 0
    payload = event_payload(event)
    for subscription in subscriptions:
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(
                    subscription=subscription,
                    event=event,
                    ticket_id=event.ticket_id,
                    kind=event.kind,
                    payload=payload,
                )
        except IntegrityError:
            continue
        transaction.on_commit(lambda pk=delivery.pk: _enqueue(pk))
    return len(subscriptions)


def _enqueue(delivery_id: int, delay: timedelta | None = None) -> None:
    from regdesk.webhooks.tasks import webhook_deliver

    task = webhook_deliver
    if delay is not None:
        task = task.using(run_after=timezone.now() + delay)
    task.enqueue(delivery_id)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def webhook_send(*, delivery_id: int, now: datetime | None = None) -> str:
    """POST one delivery; safe to run twice (claimed with a conditional update)."""
    moment = now or timezone.now()
    if not delivery_claim(WebhookDelivery, pk=delivery_id, now=moment, lease=LEASE):
        return "not claimable"
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    subscription = delivery.subscription
    status: int | None = None
    error = ""
    if not subscription.is_active:
        error = "subscription is inactive"
    elif not subscription.allow_private and (problem := address_problem(subscription.url)):
        error = f"refused: {problem}"
    else:
        body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = int(time.time())
        request = urllib.request.Request(
            subscription.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "regdesk-webhooks/1",
                "X-Regdesk-Event": delivery.kind,
                "X-Regdesk-Delivery": str(delivery.pk),
                "X-Regdesk-Timestamp": str(timestamp),
                "X-Regdesk-Signature": sign(
                    crypto.decrypt(subscription.secret_ciphertext), timestamp, body
                ),
            },
        )
        try:
            with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"
    attempts = delivery.attempts + 1
    if status is not None and 200 <= status < 300:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=WebhookDelivery.State.DELIVERED,
            attempts=attempts,
            last_status=status,
            last_error="",
            delivered_at=timezone.now(),
        )
        return "delivered"
    gave_up = attempts >= MAX_ATTEMPTS or not subscription.is_active
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state=WebhookDelivery.State.GAVE_UP if gave_up else WebhookDelivery.State.FAILED,
        attempts=attempts,
        last_status=status,
        last_error=error[:2000],
    )
    if not gave_up:
        _enqueue(delivery.pk, delay=timedelta(seconds=min(60 * 2**attempts, 86_400)))
    return "gave up" if gave_up else "failed"


def webhooks_requeue_stale(*, now: datetime | None = None) -> int:
    """Re-enqueue deliveries a dead worker left behind (pending or sending past the lease)."""
    ids = delivery_stale_ids(WebhookDelivery, now=now or timezone.now(), lease=LEASE)
    for pk in ids:
        _enqueue(pk)
    return len(ids)
