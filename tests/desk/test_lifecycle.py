"""Service-level lifecycle rules of each preset: given a desk under a preset, when the services
are called, then the ticket, its clocks and its event log follow the regulation."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from regdesk.tickets.models import Message, Status, TicketEvent, TicketSecret
from regdesk.tickets.services import (
    TicketError,
    secret_reveal,
    ticket_accept,
    ticket_change_priority,
    ticket_create,
    ticket_customer_reply,
    ticket_merge,
    ticket_note,
    ticket_refuse,
    ticket_reply,
    ticket_resolve,
    ticket_return_for_information,
    ticket_set_agreed_target,
    ticket_split,
)
from tests.desk.factories import OrganisationFactory, PersonFactory, make_agent, make_desk

pytestmark = pytest.mark.django_db
MSK = ZoneInfo("Europe/Moscow")
ROME = ZoneInfo("Europe/Rome")
UTC = ZoneInfo("UTC")

WIALON_FIELDS = {
    "product": "wialon-local",
    "version": "2404",
    "deployment": "cloud",
    "specifics": "unit 'Truck 12', report 'Trips', 2026-11-01..2026-11-20",
    "actions": "Ran the report",
}
WAVIOT_DEVICE = {"client_name": "Vodokanal", "login": "vodokanal", "device_id": "0x1A2B"}


def wialon_ticket(desk, person, *, at: datetime, channel: str = "email", **fields: str):  # type: ignore[no-untyped-def]
    return ticket_create(
        desk=desk,
        requester=person,
        request_type="technical",
        subject="Report shows no trips",
        body="The Trips report is empty since the upgrade.",
        fields={**WIALON_FIELDS, **fields},
        channel=channel,
        at=at,
    )


# --------------------------------------------------------------------------- wialon


def test_wialon_alarm_address_gives_critical_priority() -> None:
    desk = make_desk("wialon", prefix="WLN")
    ticket = wialon_ticket(
        desk, PersonFactory(), at=datetime(2026, 11, 23, 3, 0, tzinfo=MSK), channel="alarm"
    )
    assert ticket.priority == "critical"
    assert ticket.line == "l1"


def test_wialon_tier_comes_from_the_organisation() -> None:
    desk = make_desk("wialon", prefix="WLN")
    person = PersonFactory(organisation=OrganisationFactory(tier="gold"))
    created = datetime(2026, 11, 28, 22, 0, tzinfo=MSK)
    ticket = wialon_ticket(desk, person, at=created)
    assert ticket.tier == "gold"
    assert ticket.next_due_at == created + timedelta(hours=3)  # L1 24/7, gold: 3 h


def test_wialon_old_local_version_is_flagged_out_of_lifecycle() -> None:
    desk = make_desk("wialon", prefix="WLN")
    ticket = wialon_ticket(
        desk, PersonFactory(), at=datetime(2026, 11, 23, 10, 0, tzinfo=MSK), version="1904"
    )
    assert ticket.out_of_lifecycle
    assert "1904" in ticket.lifecycle_note
    fresh = wialon_ticket(desk, PersonFactory(), at=datetime(2026, 11, 23, 10, 0, tzinfo=MSK))
    assert not fresh.out_of_lifecycle


def test_wialon_ssh_access_is_encrypted_and_every_reveal_is_logged() -> None:
    desk = make_desk("wialon", prefix="WLN")
    other_desk = make_desk("m2m", prefix="M2M")
    agent = make_agent(desk)
    outsider = make_agent(other_desk)
    ticket = wialon_ticket(
        desk,
        PersonFactory(),
        at=datetime(2026, 11, 23, 10, 0, tzinfo=MSK),
        deployment="on-premises",
        ssh_access="ssh root@10.0.0.5 password hunter2",
    )
    stored = TicketSecret.objects.get(ticket=ticket, field_id="ssh_access")
    assert b"hunter2" not in bytes(stored.ciphertext)
    assert "ssh_access" not in ticket.fields
    assert secret_reveal(ticket=ticket, field_id="ssh_access", user=agent).endswith("hunter2")
    with pytest.raises(TicketError):
        secret_reveal(ticket=ticket, field_id="ssh_access", user=outsider)
    reveals = TicketEvent.objects.filter(ticket=ticket, kind="secret_revealed")
    assert [(e.actor_user, e.data["field"]) for e in reveals] == [(agent, "ssh_access")]


def test_wialon_on_premises_without_ssh_access_is_refused_in_a_form() -> None:
    desk = make_desk("wialon", prefix="WLN")
    with pytest.raises(TicketError) as info:
        wialon_ticket(
            desk,
            PersonFactory(),
            at=datetime(2026, 11, 23, 10, tzinfo=MSK),
            deployment="on-premises",
        )
    assert "ssh_access" in info.value.errors


def test_wialon_refusal_for_discourtesy_stops_the_clocks() -> None:
    desk = make_desk("wialon", prefix="WLN")
    agent = make_agent(desk)
    ticket = wialon_ticket(desk, PersonFactory(), at=datetime(2026, 11, 23, 10, tzinfo=MSK))
    ticket_refuse(ticket=ticket, actor=agent, reason="discourtesy", body="We cannot go on.")
    ticket.refresh_from_db()
    assert ticket.status == Status.REFUSED
    assert ticket.refusal_reason == "discourtesy"
    assert ticket.next_due_at is None
    with pytest.raises(TicketError):
        ticket_refuse(ticket=ticket, actor=agent, reason="no-such-reason")


def test_wialon_one_issue_per_ticket_split() -> None:
    desk = make_desk("wialon", prefix="WLN")
    agent = make_agent(desk)
    ticket = wialon_ticket(desk, PersonFactory(), at=datetime(2026, 11, 23, 10, tzinfo=MSK))
    children = ticket_split(
        ticket=ticket, actor=agent, parts=[("Fuel sensor drift", "Second issue in the mail")]
    )
    assert len(children) == 1
    child = children[0]
    assert child.split_from == ticket
    assert child.reference == "WLN-000002"
    assert child.requester == ticket.requester
    assert TicketEvent.objects.filter(ticket=ticket, kind="split").exists()


def test_wialon_customer_reply_to_answered_ticket_reopens_and_restarts_next_response() -> None:
    desk = make_desk("wialon", prefix="WLN")
    agent = make_agent(desk)
    person = PersonFactory()
    ticket = wialon_ticket(desk, person, at=datetime(2026, 11, 23, 10, tzinfo=MSK))
    ticket_reply(
        ticket=ticket, author=agent, body="Try now", at=datetime(2026, 11, 23, 11, tzinfo=MSK)
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.ANSWERED
    ticket_customer_reply(
        ticket=ticket, person=person, body="Still empty", at=datetime(2026, 11, 23, 20, tzinfo=MSK)
    )
    ticket_customer_reply(
        ticket=ticket, person=person, body="Any news?", at=datetime(2026, 11, 23, 22, tzinfo=MSK)
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.ACCEPTED
    # next_response counts from the LAST message: 22:00 + 12 h (tier other, L1)
    assert ticket.next_due_at == datetime(2026, 11, 24, 10, tzinfo=MSK)
    assert ticket.next_due_clock == "next_response"


# --------------------------------------------------------------------------- m2m


def test_m2m_answer_preliminarily_closes_and_reaction_is_only_measured() -> None:
    desk = make_desk("m2m", prefix="M2M")
    agent = make_agent(desk)
    fields = {"product": "Wialon", "specifics": "объект «Камаз 1»", "steps": "Открыть отчёт"}
    ticket = ticket_create(
        desk=desk,
        requester=PersonFactory(language="ru"),
        request_type="technical",
        subject="Нет данных",
        body="Пустой отчёт",
        fields=fields,
        channel="email",
        at=datetime(2026, 11, 27, 17, tzinfo=MSK),
    )
    assert ticket.next_due_at is None  # no numeric target
    ticket_reply(
        ticket=ticket, author=agent, body="Исправлено", at=datetime(2026, 11, 30, 10, tzinfo=MSK)
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.ANSWERED
    first = ticket.clock_state["first_response"]
    assert first["business_seconds"] == 2 * 3600
    assert first["breached"] is False


# --------------------------------------------------------------------------- wildix


def test_wildix_email_cannot_open_a_ticket_but_the_portal_can() -> None:
    desk = make_desk("wildix", prefix="WDX")
    person = PersonFactory()
    fields = {"pbx": "PBX-Milano", "wms_version": "6.05", "firmware_versions": "W-AIR 1.2"}
    with pytest.raises(TicketError) as info:
        ticket_create(
            desk=desk,
            requester=person,
            request_type="technical-support",
            subject="No audio",
            body="One-way audio",
            fields=fields,
            channel="email",
        )
    assert "channel" in info.value.errors
    ticket = ticket_create(
        desk=desk,
        requester=person,
        request_type="technical-support",
        subject="No audio",
        body="One-way audio",
        fields=fields,
        channel="portal",
        at=datetime(2026, 11, 24, 19, 0, tzinfo=ROME),
    )
    assert ticket.next_due_at == datetime(2026, 11, 25, 18, 0, tzinfo=ROME)


def test_wildix_customer_care_needs_a_topic() -> None:
    desk = make_desk("wildix", prefix="WDX")
    with pytest.raises(TicketError) as info:
        ticket_create(
            desk=desk,
            requester=PersonFactory(),
            request_type="customer-care",
            subject="Invoice",
            body="Wrong VAT",
            fields={"pbx": "PBX-1"},
            channel="portal",
        )
    assert "topic" in info.value.errors


# --------------------------------------------------------------------------- service-desk


def test_service_desk_priority_set_by_requester_changed_by_specialist_with_reason() -> None:
    desk = make_desk("service-desk", prefix="SD")
    agent = make_agent(desk)
    created = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    ticket = ticket_create(
        desk=desk,
        requester=PersonFactory(),
        request_type="incident",
        subject="Slow",
        body="Everything is slow",
        channel="widget",
        proposed_priority="low",
        at=created,
    )
    assert (ticket.priority, ticket.proposed_priority) == ("low", "low")
    with pytest.raises(TicketError):
        ticket_change_priority(ticket=ticket, actor=agent, priority="critical", reason=" ")
    ticket_change_priority(
        ticket=ticket,
        actor=agent,
        priority="critical",
        reason="Whole office cannot work",
        at=created + timedelta(hours=1),
    )
    event = TicketEvent.objects.get(ticket=ticket, kind="priority")
    assert event.public
    assert event.data == {"to": "critical", "from": "low", "reason": "Whole office cannot work"}
    ticket.refresh_from_db()
    assert ticket.clock_state["resolution"]["due"] == "2026-11-23T13:00:00+00:00"


def test_service_desk_return_for_information_pauses_resolution() -> None:
    desk = make_desk("service-desk", prefix="SD")
    agent = make_agent(desk)
    person = PersonFactory()
    t0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    ticket = ticket_create(
        desk=desk,
        requester=person,
        request_type="incident",
        subject="Error",
        body="Error 42",
        channel="widget",
        proposed_priority="critical",
        at=t0,
    )
    ticket_accept(ticket=ticket, actor=agent, at=t0 + timedelta(minutes=10))
    ticket_return_for_information(
        ticket=ticket, actor=agent, missing=[], body="Which browser?", at=t0 + timedelta(hours=1)
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_FOR_CUSTOMER
    assert ticket.clock_state["resolution"]["state"] == "paused"
    ticket_customer_reply(
        ticket=ticket, person=person, body="Firefox", at=datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.ACCEPTED
    assert ticket.clock_state["resolution"]["due"] == "2026-11-24T18:00:00+00:00"


def test_service_desk_merge_duplicates() -> None:
    desk = make_desk("service-desk", prefix="SD")
    agent = make_agent(desk)
    person = PersonFactory()
    first = ticket_create(
        desk=desk,
        requester=person,
        request_type="incident",
        subject="VPN down",
        body="VPN",
        channel="widget",
    )
    second = ticket_create(
        desk=desk,
        requester=person,
        request_type="incident",
        subject="VPN down again",
        body="VPN!",
        channel="email",
    )
    ticket_merge(source=second, target=first, actor=agent)
    second.refresh_from_db()
    assert second.status == Status.MERGED
    assert second.merged_into == first
    assert first.messages.filter(kind=Message.Kind.SYSTEM, body__contains=second.reference).exists()


# --------------------------------------------------------------------------- waviot


def test_waviot_email_with_missing_information_is_registered_and_returned() -> None:
    desk = make_desk("waviot", prefix="WAV")
    ticket = ticket_create(
        desk=desk,
        requester=PersonFactory(language="ru"),
        request_type="device",
        subject="Счётчик молчит",
        body="Нет показаний с 1 ноября",
        channel="email",
        fields={"client_name": "Водоканал"},
        strict=False,
        at=datetime(2026, 11, 23, 10, 0, tzinfo=MSK),
    )
    assert ticket.reference == "WAV-000001"
    assert ticket.status == Status.WAITING_FOR_CUSTOMER
    assert set(ticket.missing_fields) >= {"login", "device_id", "serial_number"}
    request = ticket.messages.get(kind=Message.Kind.SYSTEM)
    assert "ID" in request.body


def test_waviot_phone_is_a_consultation_not_a_request() -> None:
    desk = make_desk("waviot", prefix="WAV")
    with pytest.raises(TicketError) as info:
        ticket_create(
            desk=desk,
            requester=PersonFactory(),
            request_type="other",
            subject="?",
            body="Вопрос",
            channel="phone",
            fields=WAVIOT_DEVICE,
        )
    assert "channel" in info.value.errors


def test_waviot_low_priority_target_is_agreed_per_ticket() -> None:
    desk = make_desk("waviot", prefix="WAV")
    agent = make_agent(desk)
    t0 = datetime(2026, 11, 23, 10, 0, tzinfo=MSK)
    ticket = ticket_create(
        desk=desk,
        requester=PersonFactory(),
        request_type="reports",
        subject="Нестандартная форма отчёта",
        body="Нужна форма",
        channel="email",
        fields={"client_name": "X", "login": "x"},
        at=t0,
    )
    ticket_change_priority(
        ticket=ticket,
        actor=agent,
        priority="low",
        reason="Нестандартный отчёт",
        at=t0 + timedelta(minutes=5),
    )
    ticket.refresh_from_db()
    assert ticket.next_due_at is None
    ticket_set_agreed_target(
        ticket=ticket, actor=agent, clock="first_response", hours=20, at=t0 + timedelta(minutes=10)
    )
    ticket.refresh_from_db()
    assert ticket.next_due_at == datetime(2026, 11, 25, 12, 0, tzinfo=MSK)


def test_waviot_accepts_only_images_as_attachments() -> None:
    desk = make_desk("waviot", prefix="WAV")
    pdf = SimpleUploadedFile("act.pdf", b"%PDF-1.4 minimal", content_type="application/pdf")
    png = SimpleUploadedFile(
        "screen.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, content_type="image/png"
    )
    fields = {**WAVIOT_DEVICE, "serial_number": "SN-1"}
    with pytest.raises(TicketError) as info:
        ticket_create(
            desk=desk,
            requester=PersonFactory(),
            request_type="device",
            subject="x",
            body="y",
            channel="email",
            fields=fields,
            attachments=[pdf],
        )
    assert "act.pdf" in info.value.errors
    assert "PDF" not in info.value.errors["act.pdf"].split("only")[1].split("(")[0]
    ticket = ticket_create(
        desk=desk,
        requester=PersonFactory(),
        request_type="device",
        subject="x",
        body="y",
        channel="email",
        fields=fields,
        attachments=[png],
    )
    attachment = ticket.messages.get().attachments.get()
    assert (attachment.filename, attachment.size) == ("screen.png", 72)


# --------------------------------------------------------------------------- common rules


def test_internal_note_is_not_public_and_does_not_meet_the_response_clock() -> None:
    desk = make_desk("service-desk", prefix="SD")
    agent = make_agent(desk)
    ticket = ticket_create(
        desk=desk,
        requester=PersonFactory(),
        request_type="incident",
        subject="x",
        body="y",
        channel="widget",
    )
    note = ticket_note(ticket=ticket, author=agent, body="Looks like the DNS")
    assert not note.is_public
    ticket.refresh_from_db()
    assert ticket.clock_state["first_response"]["met_at"] is None


def test_only_the_requester_or_support_can_resolve() -> None:
    desk = make_desk("service-desk", prefix="SD")
    ticket = ticket_create(
        desk=desk,
        requester=PersonFactory(),
        request_type="incident",
        subject="x",
        body="y",
        channel="widget",
    )
    with pytest.raises(TicketError):
        ticket_resolve(ticket=ticket, actor_person=PersonFactory())
    with pytest.raises(TicketError):
        ticket_accept(ticket=ticket, actor=make_agent(make_desk("m2m", prefix="M2M")))


def test_numbers_are_per_desk_and_a_rejected_request_consumes_none() -> None:
    one = make_desk("service-desk", slug="berlin", prefix="BER")
    two = make_desk("service-desk", slug="madrid", prefix="MAD")
    person = PersonFactory()

    def create(desk, **extra):  # type: ignore[no-untyped-def]
        return ticket_create(
            desk=desk,
            requester=person,
            request_type="incident",
            subject="x",
            body="y",
            channel="widget",
            **extra,
        )

    assert create(one).reference == "BER-000001"
    with pytest.raises(TicketError):
        create(one, proposed_priority="bogus")
    assert create(one).reference == "BER-000002"
    assert create(two).reference == "MAD-000001"


def test_events_are_append_only() -> None:
    desk = make_desk("service-desk", prefix="SD")
    ticket = ticket_create(
        desk=desk,
        requester=PersonFactory(),
        request_type="incident",
        subject="x",
        body="y",
        channel="widget",
    )
    event = ticket.events.first()
    assert event is not None
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()


def test_a_reply_to_a_return_goes_back_to_where_the_ticket_was() -> None:
    # Returned by the system at registration: still nobody's, so new again once completed
    desk = make_desk("waviot", prefix="WAV")
    person = PersonFactory()
    ticket = ticket_create(
        desk=desk,
        requester=person,
        request_type="base-station",
        subject="БС молчит",
        body="Нет связи",
        channel="email",
        fields={"client_name": "X"},
        strict=False,
    )
    assert ticket.status == Status.WAITING_FOR_CUSTOMER
    ticket_customer_reply(
        ticket=ticket,
        person=person,
        body="Вот данные",
        fields={"login": "x", "station_number": "BS-17"},
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.missing_fields) == (Status.NEW, [])
    # Returned by an agent: support is on it, so back in work
    agent = make_agent(desk)
    ticket_return_for_information(ticket=ticket, actor=agent, missing=[], body="Адрес БС?")
    ticket_customer_reply(ticket=ticket, person=person, body="ул. Ленина, 1")
    ticket.refresh_from_db()
    assert ticket.status == Status.ACCEPTED


def test_a_ticket_prefix_belongs_to_one_desk() -> None:
    make_desk("service-desk", slug="berlin", prefix="BER")
    with pytest.raises(ValueError, match="taken"):
        make_desk("service-desk", slug="bern", prefix="ber")
