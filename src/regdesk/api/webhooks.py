"""Webhook subscriptions of a desk and their delivery log (desk leads and administrators)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from ninja import Router, Schema
from pydantic import Field

from regdesk.api.auth import require_scope
from regdesk.api.desks import get_desk
from regdesk.desks.models import Desk
from regdesk.directory.models import AgentMembership
from regdesk.tickets.services import TicketError
from regdesk.webhooks.models import WebhookDelivery, WebhookSubscription
from regdesk.webhooks.services import WebhookError, webhook_subscribe, webhook_unsubscribe

router = Router(tags=["webhooks"])


class WebhookIn(Schema):
    url: str = Field(max_length=500)
    events: list[str] = Field(default_factory=list, description="Ticket event kinds; empty: all.")
    allow_private: bool = Field(
        default=False, description="Administrators only: deliver to private/loopback hosts."
    )


class WebhookOut(Schema):
    id: int
    url: str
    events: list[str]
    allow_private: bool
    is_active: bool
    created_at: str


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="The signing secret; shown only now.")


class DeliveryOut(Schema):
    id: int
    kind: str
    ticket: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str
    created_at: str
    delivered_at: str | None


def _managed_desk(request: HttpRequest, slug: str) -> Desk:
    """The desk, when the caller leads it (or administers the site); 404 otherwise."""
    desk = get_desk(request, slug)
    user = request.user
    is_lead = AgentMembership.objects.filter(
        desk=desk, agent__user_id=user.pk, is_lead=True
    ).exists()
    if not (user.is_superuser or is_lead):
        raise Http404
    require_scope(request, "admin")
    return desk


def _out(subscription: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": subscription.pk,
        "url": subscription.url,
        "events": subscription.events,
        "allow_private": subscription.allow_private,
        "is_active": subscription.is_active,
        "created_at": subscription.created_at.isoformat(),
    }


@router.get("/desks/{slug}/webhooks", response=list[WebhookOut])
def webhook_list(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    desk = _managed_desk(request, slug)
    return [_out(s) for s in WebhookSubscription.objects.filter(desk=desk)]


@router.post("/desks/{slug}/webhooks", response={201: WebhookCreatedOut})
def webhook_create(
    request: HttpRequest, slug: str, payload: WebhookIn
) -> tuple[int, dict[str, Any]]:
    desk = _managed_desk(request, slug)
    try:
        subscription, secret = webhook_subscribe(
            desk=desk,
            url=payload.url,
            events=payload.events,
            allow_private=payload.allow_private,
            actor=request.user,  # type: ignore[arg-type]
        )
    except WebhookError as exc:
        raise TicketError(str(exc), {"url": str(exc)}) from None
    return 201, {**_out(subscription), "secret": secret}


def _subscription(request: HttpRequest, slug: str, webhook_id: int) -> WebhookSubscription:
    desk = _managed_desk(request, slug)
    subscription = WebhookSubscription.objects.filter(desk=desk, pk=webhook_id).first()
    if subscription is None:
        raise Http404
    return subscription


@router.delete("/desks/{slug}/webhooks/{webhook_id}", response=WebhookOut)
def webhook_delete(request: HttpRequest, slug: str, webhook_id: int) -> dict[str, Any]:
    subscription = _subscription(request, slug, webhook_id)
    webhook_unsubscribe(subscription=subscription)
    return _out(subscription)


@router.get("/desks/{slug}/webhooks/{webhook_id}/deliveries", response=list[DeliveryOut])
def webhook_deliveries(request: HttpRequest, slug: str, webhook_id: int) -> list[dict[str, Any]]:
    subscription = _subscription(request, slug, webhook_id)
    rows = WebhookDelivery.objects.filter(subscription=subscription).select_related("ticket")
    return [
        {
            "id": d.pk,
            "kind": d.kind,
            "ticket": d.ticket.reference,
            "state": d.state,
            "attempts": d.attempts,
            "last_status": d.last_status,
            "last_error": d.last_error,
            "created_at": d.created_at.isoformat(),
            "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None,
        }
        for d in rows[:500]
    ]
