"""Webhooks: signed deliveries to a real local HTTP server, retries, SSRF refusals."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client

from regdesk.api.services import token_create
from regdesk.tickets.models import TicketEvent
from regdesk.tickets.services import ticket_create
from regdesk.webhooks.models import WebhookDelivery, WebhookSubscription
from regdesk.webhooks.services import (
    WebhookError,
    sign,
    webhook_send,
    webhook_subscribe,
)
from tests.desk.factories import PersonFactory, UserFactory, make_agent, make_desk

pytestmark = pytest.mark.django_db


class Receiver:
    """A local HTTP endpoint answering with ``status`` and recording what it got."""

    def __init__(self) -> None:
        self.status = 200
        self.location = ""
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers.items()), body))
                self.send_response(receiver.status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    yield endpoint
    endpoint.server.shutdown()


def _world(url: str) -> tuple[Any, WebhookSubscription, str]:
    desk = make_desk("service-desk", prefix="SD")
    admin = UserFactory(is_superuser=True, is_staff=True)
    subscription, secret = webhook_subscribe(
        desk=desk, url=url, events=["created", "agent_reply"], allow_private=True, actor=admin
    )
    return desk, subscription, secret


def _create_ticket(desk: Any) -> Any:
    return ticket_create(
        desk=desk,
        requester=PersonFactory(),
        request_type="incident",
        subject="Server room hot",
        body="34 °C",
        channel="widget",
    )


def test_private_targets_are_refused_unless_an_administrator_allows_them() -> None:
    desk = make_desk("service-desk", prefix="SD")
    lead = make_agent(desk, is_lead=True)
    for url in ("http://127.0.0.1:9/x", "http://10.1.2.3/x", "http://169.254.169.254/latest"):
        with pytest.raises(WebhookError, match="non-public"):
            webhook_subscribe(desk=desk, url=url, actor=lead)
    with pytest.raises(WebhookError, match="administrator"):
        webhook_subscribe(desk=desk, url="http://127.0.0.1:9/x", allow_private=True, actor=lead)
    with pytest.raises(WebhookError, match="unknown event"):
        webhook_subscribe(desk=desk, url="http://127.0.0.1:9/x", events=["exploded"], actor=lead)


def test_a_delivery_is_signed_and_logged(receiver: Receiver) -> None:
    desk, subscription, secret = _world(receiver.url)
    ticket = _create_ticket(desk)
    delivery = WebhookDelivery.objects.get(subscription=subscription, kind="created")
    assert not WebhookDelivery.objects.filter(kind="status").exists()  # not subscribed
    assert webhook_send(delivery_id=delivery.pk) == "delivered"
    assert webhook_send(delivery_id=delivery.pk) == "not claimable"
    headers, body = receiver.requests[0]
    assert headers["X-Regdesk-Event"] == "created"
    assert headers["X-Regdesk-Signature"] == sign(secret, int(headers["X-Regdesk-Timestamp"]), body)
    payload = json.loads(body)
    assert payload["ticket"]["reference"] == ticket.reference
    assert payload["event_id"] == TicketEvent.objects.get(ticket=ticket, kind="created").pk
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("delivered", 1, 200)


def test_failures_are_retried_and_redirects_are_not_followed(receiver: Receiver) -> None:
    desk, subscription, _ = _world(receiver.url)
    _create_ticket(desk)
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    receiver.status = 500
    assert webhook_send(delivery_id=delivery.pk) == "failed"
    receiver.status, receiver.location = 302, "http://169.254.169.254/latest/meta-data"
    assert webhook_send(delivery_id=delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("failed", 2, 302)
    receiver.status, receiver.location = 204, ""
    assert webhook_send(delivery_id=delivery.pk) == "delivered"
    assert len(receiver.requests) == 3


def test_a_target_that_turns_private_is_refused_at_delivery(receiver: Receiver) -> None:
    desk, subscription, _ = _world(receiver.url)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(allow_private=False)
    _create_ticket(desk)
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert webhook_send(delivery_id=delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert "non-public" in delivery.last_error
    assert receiver.requests == []


def test_desk_leads_manage_webhooks_over_the_api(receiver: Receiver) -> None:
    desk = make_desk("service-desk", slug="berlin", prefix="BER")
    lead = make_agent(desk, is_lead=True)
    plain = make_agent(desk)
    _, lead_token = token_create(user=lead, name="lead", scope="admin")
    _, plain_token = token_create(user=plain, name="plain", scope="admin")
    client = Client()

    def post(token: str, body: dict[str, Any]) -> Any:
        return client.post(
            "/api/v1/desks/berlin/webhooks",
            json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    refused = post(lead_token, {"url": receiver.url})
    assert refused.status_code == 422
    assert "non-public" in refused.json()["error"]["fields"]["url"]
    assert post(plain_token, {"url": "https://hooks.example.com"}).status_code == 404
    WebhookSubscription.objects.create(desk=desk, url=receiver.url, secret_ciphertext=b"")
    listed = client.get("/api/v1/desks/berlin/webhooks", HTTP_AUTHORIZATION=f"Bearer {lead_token}")
    assert [w["url"] for w in listed.json()] == [receiver.url]
