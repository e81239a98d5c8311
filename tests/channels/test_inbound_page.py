"""The workspace's journal of incoming messages: each agent sees their desks' messages only,
downloads an original, and runs a quarantined message again."""

from __future__ import annotations

import pytest
from django.test import Client

from regdesk.channels.email_intake import email_ingest
from regdesk.channels.models import Inbound
from tests.channels.test_email_intake import customer, mail
from tests.desk.factories import make_agent, make_desk

pytestmark = pytest.mark.django_db
PASSWORD = "secret-pass-123"


def signed_in(user: object) -> Client:
    user.set_password(PASSWORD)  # type: ignore[attr-defined]
    user.save()  # type: ignore[attr-defined]
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)  # type: ignore[attr-defined]
    return client


def test_agents_see_their_desks_messages_and_rerun_the_quarantine() -> None:
    wialon = make_desk("wialon", prefix="WIA")
    other = make_desk("service-desk", prefix="SD")
    customer(wialon, "anna@fleet.example")
    ok = email_ingest(
        raw=mail(sender="anna@fleet.example", to="support@wialon.com", subject="Trips fail"),
        source="t",
    )
    broken = email_ingest(raw=b"\x00 not mail", source="t", desk=wialon)
    assert broken.state == Inbound.State.QUARANTINED
    mine = signed_in(make_agent(wialon))
    page = mine.get("/desk/inbound/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Trips fail" in text
    assert ok.result in text
    assert "1 message is quarantined." in text
    original = mine.get(f"/desk/inbound/{broken.pk}/original/")
    assert original.content == b"\x00 not mail"
    assert original["Content-Type"] == "message/rfc822"
    # an agent of another desk neither lists nor opens them
    theirs = signed_in(make_agent(other))
    assert "Trips fail" not in theirs.get("/desk/inbound/").content.decode()
    assert theirs.get(f"/desk/inbound/{ok.pk}/original/").status_code == 404
    assert theirs.post(f"/desk/inbound/{broken.pk}/retry/").status_code == 404
    # running it again: still unreadable, still quarantined, nothing lost
    response = mine.post(f"/desk/inbound/{broken.pk}/retry/", follow=True)
    assert "Still quarantined" in response.content.decode()
    broken.refresh_from_db()
    assert broken.state == Inbound.State.QUARANTINED
    assert broken.attempts == 0  # a failed run does not count as processed
