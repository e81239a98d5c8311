"""The user's own settings: API tokens and agents' notification preferences."""

from __future__ import annotations

import re

import pytest

from regdesk.api.models import ApiToken
from regdesk.notifications.models import NotificationPreference
from tests.desk.factories import PersonFactory, make_agent, make_desk

pytestmark = pytest.mark.django_db


def test_a_customer_creates_uses_and_revokes_a_token(client) -> None:  # type: ignore[no-untyped-def]
    desk = make_desk("service-desk", prefix="SD")
    person = PersonFactory()
    person.desks.add(desk)
    client.force_login(person.user)
    page = client.post("/account/tokens/", {"name": "CI", "scope": "read", "expires_in_days": 30})
    shown = re.search(r'id="new-token">(rdk_[^<]+)<', page.content.decode())
    assert shown is not None
    plaintext = shown.group(1)
    token = ApiToken.objects.get(user=person.user)
    assert token.digest != plaintext
    api = client.get("/api/v1/desks", HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert api.status_code == 200
    listing = client.get("/account/tokens/").content.decode()
    assert plaintext not in listing
    assert token.prefix in listing
    client.post(f"/account/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_nobody_revokes_someone_elses_token(client) -> None:  # type: ignore[no-untyped-def]
    owner = PersonFactory()
    client.force_login(owner.user)
    client.post("/account/tokens/", {"name": "mine", "scope": "read"})
    token = ApiToken.objects.get(user=owner.user)
    client.force_login(PersonFactory().user)
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_an_agent_switches_off_a_notification(client) -> None:  # type: ignore[no-untyped-def]
    agent = make_agent(make_desk("service-desk", prefix="SD"))
    client.force_login(agent)
    client.post("/account/notifications/", {"event-assigned": "on", "event-clock_breached": "on"})
    off = set(
        NotificationPreference.objects.filter(user=agent, enabled=False).values_list(
            "event", flat=True
        )
    )
    assert off == {"customer_replied", "clock_due_soon"}
    page = client.get("/account/notifications/").content.decode()
    assert page.count("checked") == 2
