from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from regdesk.tickets.models import Status, TicketEvent
from regdesk.tickets.services import (
    TicketError,
    ticket_accept,
    ticket_create,
    ticket_customer_reply,
    ticket_reply,
    ticket_resolve,
)
from tests.desk.factories import PersonFactory, make_agent, make_desk

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")


def test_create_answer_confirm_service_desk() -> None:
    desk = make_desk("service-desk", prefix="SD")
    agent = make_agent(desk)
    person = PersonFactory()
    created = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)
    ticket = ticket_create(
        desk=desk, requester=person, request_type="incident", subject="Cannot log in",
        body="The login page says 500.", channel="widget", proposed_priority="high",
        fields={}, at=created,
    )  # fmt: skip
    assert ticket.reference == "SD-000001"
    assert ticket.priority == "high"
    assert ticket.next_due_at == datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    assert ticket.next_due_clock == "first_response"
    ticket_accept(ticket=ticket, actor=agent, at=datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    ticket_reply(
        ticket=ticket, author=agent, body="Fixed.", at=datetime(2026, 11, 24, 9, 10, tzinfo=UTC)
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.ANSWERED
    assert ticket.clock_state["first_response"]["met_at"] == "2026-11-24T09:10:00+00:00"
    ticket_resolve(ticket=ticket, actor_person=person, at=datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert ticket.next_due_at is None
    kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert kinds[0] == "created"
    assert "resolved" in kinds
    ticket_customer_reply(ticket=ticket, person=person, body="It broke again",
                          at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC))  # fmt: skip
    ticket.refresh_from_db()
    assert ticket.status == Status.ACCEPTED
    assert ticket.clock_state["resolution"]["cycles"] == 2


def test_missing_required_fields_are_errors_in_strict_mode() -> None:
    desk = make_desk("waviot", prefix="WAV")
    person = PersonFactory()
    with pytest.raises(TicketError) as info:
        ticket_create(desk=desk, requester=person, request_type="device", subject="Meter silent",
                      body="No data", channel="email", fields={})  # fmt: skip
    assert "device_id" in info.value.errors


def test_the_language_menu_saves_the_persons_setting(client) -> None:  # type: ignore[no-untyped-def]
    person = PersonFactory(language="en")
    client.force_login(person.user)
    response = client.post("/i18n/setlang/", {"language": "ru", "next": "/portal/"})
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.language == "ru"
    page = client.get("/portal/")
    assert page.headers["Content-Language"] == "ru"
