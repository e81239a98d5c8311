"""Calls and chats by the regulation's channel roles: consultation, coordination, opens."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from regdesk.api.services import token_create
from regdesk.consultations.models import Consultation
from regdesk.consultations.services import consultation_log
from regdesk.tickets.models import TicketEvent
from regdesk.tickets.services import TicketError, ticket_create
from tests.desk.factories import PersonFactory, make_agent, make_desk

pytestmark = pytest.mark.django_db


def test_waviot_phone_is_a_consultation_that_cannot_open_a_request() -> None:
    desk = make_desk("waviot", prefix="WAV")
    agent = make_agent(desk)
    person = PersonFactory()
    logged = consultation_log(
        desk=desk,
        agent=agent,
        channel="phone",
        person=person,
        summary="Как выгрузить отчёт за месяц",
    )
    assert logged.ticket is None
    with pytest.raises(TicketError) as info:
        consultation_log(
            desk=desk,
            agent=agent,
            channel="phone",
            person=person,
            summary="Счётчик молчит",
            open_ticket={"request_type": "device"},
        )
    assert "channel" in info.value.errors
    assert Consultation.objects.count() == 1


def test_wialon_phone_coordination_is_logged_on_a_ticket() -> None:
    desk = make_desk("wialon", prefix="WLN")
    agent = make_agent(desk)
    person = PersonFactory()
    with pytest.raises(TicketError) as info:
        consultation_log(desk=desk, agent=agent, channel="phone", summary="Urgent: all down")
    assert "ticket" in info.value.errors
    fields = {
        "product": "wialon-hosting",
        "version": "2404",
        "deployment": "cloud",
        "specifics": "all units",
        "actions": "none",
    }
    ticket = ticket_create(
        desk=desk,
        requester=person,
        request_type="technical",
        subject="Down",
        body="Nothing loads",
        fields=fields,
        channel="email",
    )
    consultation_log(
        desk=desk,
        agent=agent,
        channel="phone",
        ticket=ticket,
        summary="Customer called: still down in Minsk",
    )
    event = TicketEvent.objects.get(ticket=ticket, kind="consultation")
    assert event.data["summary"] == "Customer called: still down in Minsk"
    assert not event.public


def test_service_desk_specialist_opens_a_request_from_a_call() -> None:
    desk = make_desk("service-desk", prefix="SD")
    agent = make_agent(desk)
    person = PersonFactory()
    logged = consultation_log(
        desk=desk,
        agent=agent,
        channel="phone",
        person=person,
        summary="Printer jams on floor 2",
        notes="Since this morning",
        open_ticket={"request_type": "incident"},
    )
    assert logged.opened_ticket
    assert logged.ticket is not None
    assert logged.ticket.channel == "phone"
    assert logged.ticket.requester == person
    assert logged.ticket.subject == "Printer jams on floor 2"


def test_calls_page_logs_and_finds_a_call_and_hides_other_desks(client: Client) -> None:
    desk = make_desk("waviot", prefix="WAV")
    other = make_desk("m2m", prefix="M2M")
    agent = make_agent(desk)
    outsider = make_agent(other)
    client.force_login(agent)
    page = client.post(
        "/desk/calls/?desk=waviot",
        {"channel": "phone", "summary": "Вопрос по API ссылкам", "contact": "+7 900 000-00-00"},
    )
    assert page.status_code == 302
    found = client.get("/desk/calls/?desk=waviot&q=API").content.decode()
    assert "Вопрос по API ссылкам" in found
    assert "phone: 1" in found
    error = client.post("/desk/calls/?desk=waviot", {"channel": "phone", "summary": ""})
    assert error.status_code == 400
    client.force_login(outsider)
    assert "Вопрос по API ссылкам" not in client.get("/desk/calls/").content.decode()


def test_consultations_over_the_api() -> None:
    desk = make_desk("waviot", slug="waviot", prefix="WAV")
    agent = make_agent(desk)
    _, token = token_create(user=agent, name="phone system", scope="write")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    created = client.post(
        "/api/v1/desks/waviot/consultations",
        json.dumps({"channel": "phone", "summary": "Call about tariffs", "minutes": 4}),
        content_type="application/json",
    )
    assert created.status_code == 201
    assert created.json()["duration_seconds"] == 240
    listed = client.get("/api/v1/desks/waviot/consultations?q=tariffs").json()
    assert [row["summary"] for row in listed] == ["Call about tariffs"]
    customer = PersonFactory()
    _, customer_token = token_create(user=customer.user, name="c", scope="write")
    denied = Client(HTTP_AUTHORIZATION=f"Bearer {customer_token}").get(
        "/api/v1/desks/waviot/consultations"
    )
    assert denied.status_code == 404
