"""Notifications: who is told what, once, in their language, threaded, retried until sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from regdesk.core.regulation import NotificationEvent
from regdesk.directory.models import Agent, AgentMembership, Person
from regdesk.notifications.models import Notification, NotificationPreference
from regdesk.notifications.services import (
    Occurrence,
    TicketOccurrence,
    notification_send,
    notify,
    notify_tickets,
    thread_id,
)
from regdesk.tickets.services import (
    ticket_accept,
    ticket_assign,
    ticket_change_priority,
    ticket_create,
    ticket_customer_reply,
    ticket_prepare,
    ticket_reply,
    ticket_return_for_information,
    tickets_register,
)
from tests.background.conftest import Inbox, free_port
from tests.desk.factories import PersonFactory, UserFactory, make_agent, make_desk

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")


def service_desk_ticket(**extra: Any):  # type: ignore[no-untyped-def]
    desk = make_desk("service-desk", prefix="SD")
    person = PersonFactory(**extra)
    ticket = ticket_create(
        desk=desk,
        requester=person,
        request_type="incident",
        subject="Mail is down",
        body="Since 9:00",
        channel="widget",
        at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
    )
    return desk, person, ticket


def test_links_in_notifications_are_the_ticket_pages(settings: Any) -> None:
    from django.urls import reverse

    from regdesk.notifications.services import ticket_link

    _desk, _person, ticket = service_desk_ticket()
    agent_page = settings.BASE_URL + reverse("workspace:ticket", args=[ticket.reference])
    customer_page = settings.BASE_URL + reverse("portal:ticket", args=[ticket.public_key])
    assert ticket_link(ticket, for_agent=True) == agent_page
    assert ticket_link(ticket, for_agent=False) == customer_page
    assert customer_page in Notification.objects.get(ticket=ticket, event="registered").body


def test_registration_tells_the_requester_the_number() -> None:
    _, person, ticket = service_desk_ticket()
    sent = Notification.objects.get(ticket=ticket, event="registered")
    assert sent.address == person.primary_email
    assert ticket.reference in sent.subject
    assert ticket.reference in sent.body
    assert f"/portal/requests/{ticket.public_key}/" in sent.body


def test_a_batch_of_registrations_acknowledges_each_with_its_own_number() -> None:
    # Given two requests prepared together
    desk = make_desk("service-desk", prefix="SD")
    people = [PersonFactory(), PersonFactory()]
    drafts = [
        ticket_prepare(
            desk=desk,
            requester=person,
            request_type="incident",
            subject=subject,
            body="Since 9:00",
            channel="widget",
        )
        for person, subject in zip(people, ["Mail is down", "VPN is down"], strict=True)
    ]
    # When they are registered at once (their acknowledgements rendered before the numbers)
    tickets = tickets_register(drafts=drafts)
    # Then each acknowledgement names its own ticket's number, and no stand-in is left
    assert [t.reference for t in tickets] == ["SD-000001", "SD-000002"]
    for ticket in tickets:
        sent = Notification.objects.get(ticket=ticket, event="registered")
        assert sent.key.startswith(f"{ticket.pk}:registered:created:")
        assert ticket.reference in sent.subject
        assert ticket.reference in sent.body
        assert "rdref" not in sent.subject + sent.body


def test_the_same_occurrence_notifies_once() -> None:
    _, _, ticket = service_desk_ticket()
    first = notify(ticket=ticket, event=NotificationEvent.ACCEPTED, occurrence="x1")
    again = notify(ticket=ticket, event=NotificationEvent.ACCEPTED, occurrence="x1")
    assert len(first) == 1
    assert again == []
    assert Notification.objects.filter(ticket=ticket, event="accepted").count() == 1


def test_events_the_service_desk_regulation_names() -> None:
    desk, person, ticket = service_desk_ticket()
    agent = make_agent(desk)
    ticket_accept(ticket=ticket, actor=agent)
    ticket_change_priority(ticket=ticket, actor=agent, priority="critical", reason="All staff")
    ticket_return_for_information(ticket=ticket, actor=agent, missing=[], body="Which client?")
    events = set(
        Notification.objects.filter(recipient_person=person).values_list("event", flat=True)
    )
    assert {"registered", "accepted", "priority_changed", "returned_for_information"} <= events
    change = Notification.objects.get(event="priority_changed", recipient_person=person)
    assert "All staff" in change.body


def test_the_requester_gets_the_answer_text_and_agents_hear_replies() -> None:
    desk, person, ticket = service_desk_ticket()
    agent = make_agent(desk)
    ticket_assign(ticket=ticket, actor=make_agent(desk), assignee=agent)
    assert Notification.objects.filter(event="assigned", recipient_user=agent).exists()
    ticket_reply(ticket=ticket, author=agent, body="Please restart the client.")
    answer = Notification.objects.get(event="answered", recipient_person=person)
    assert "Please restart the client." in answer.body
    ticket_customer_reply(ticket=ticket, person=person, body="Did not help")
    assert Notification.objects.filter(event="customer_replied", recipient_user=agent).exists()


def test_agent_preferences_switch_off_built_in_events() -> None:
    desk, _, ticket = service_desk_ticket()
    agent = make_agent(desk)
    NotificationPreference.objects.create(user=agent, event="assigned", enabled=False)
    ticket_assign(ticket=ticket, actor=make_agent(desk), assignee=agent)
    assert not Notification.objects.filter(event="assigned", recipient_user=agent).exists()


def test_text_is_in_the_recipients_language() -> None:
    _, _, ticket = service_desk_ticket(language="ru")
    sent = Notification.objects.get(ticket=ticket, event="registered")
    assert sent.language == "ru"


def test_delivery_over_smtp_is_threaded_and_marked_automatic(smtp_server: Inbox) -> None:
    _, person, ticket = service_desk_ticket()
    notification = Notification.objects.get(ticket=ticket, event="registered")
    assert notification_send(notification_id=notification.pk) == "sent"
    assert notification_send(notification_id=notification.pk).startswith("not claimable")
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail["To"] == person.primary_email
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["In-Reply-To"] == thread_id(ticket)
    assert mail["References"] == thread_id(ticket)
    assert ticket.reference in mail["Subject"]
    notification.refresh_from_db()
    assert notification.state == Notification.State.SENT


def test_a_failed_send_is_kept_and_retried(settings: Any, smtp_server: Inbox) -> None:
    _, _, ticket = service_desk_ticket()
    notification = Notification.objects.get(ticket=ticket, event="registered")
    good_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nothing listens there
    assert notification_send(notification_id=notification.pk) == "failed"
    notification.refresh_from_db()
    assert notification.state == Notification.State.FAILED
    assert notification.attempts == 1
    assert "Connection" in notification.last_error or "refused" in notification.last_error
    settings.EMAIL_PORT = good_port
    assert notification_send(notification_id=notification.pk) == "sent"
    assert len(smtp_server.messages) == 1


def test_team_lead_and_escalation_contacts_are_resolved() -> None:
    desk = make_desk("wialon", prefix="WLN")
    lead = UserFactory()
    agent = Agent.objects.create(user=lead)
    AgentMembership.objects.create(agent=agent, desk=desk, line="l1", is_lead=True)
    person = PersonFactory()
    fields = {
        "product": "wialon-hosting",
        "version": "2404",
        "deployment": "cloud",
        "specifics": "unit 5",
        "actions": "opened the report",
    }
    ticket = ticket_create(
        desk=desk,
        requester=person,
        request_type="technical",
        subject="x",
        body="y",
        fields=fields,
        channel="email",
    )
    created = notify(
        ticket=ticket,
        event=NotificationEvent.CLOCK_BREACHED,
        occurrence="t",
        extra_roles=["team_lead", "contact:vp-customer-service"],
    )
    addresses = {n.address for n in created}
    assert lead.email in addresses
    assert "p.sabaliauskas@wialon.com" in addresses


def test_the_ticket_page_shows_what_was_sent(client) -> None:  # type: ignore[no-untyped-def]
    desk, person, ticket = service_desk_ticket()
    agent = make_agent(desk)
    client.force_login(agent)
    page = client.get(f"/desk/t/{ticket.reference}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert person.primary_email in text
    assert "registered" in text


def _made(notifications: list[Notification]) -> set[tuple[Any, ...]]:
    return {
        (
            n.key,
            n.address,
            n.language,
            n.subject,
            n.body,
            n.recipient_person_id,
            n.recipient_user_id,
        )
        for n in notifications
    }


def test_a_batch_of_tickets_is_notified_as_one_by_one_with_two_statements() -> None:
    # Given two tickets of two organisations, each with a manager (one whose primary address is
    # not their first), a Russian-speaking requester, a team lead who switched breaches off,
    # and an assignee
    desk = make_desk("service-desk", prefix="SD")
    lead = make_agent(desk, is_lead=True)
    NotificationPreference.objects.create(user=lead, event="clock_breached", enabled=False)
    assignee = make_agent(desk)
    tickets = []
    for language in ("en", "ru"):
        person = PersonFactory(language=language)
        manager = PersonFactory(organisation=person.organisation, is_organisation_manager=True)
        if language == "ru":
            manager.emails.update(is_primary=False)
            manager.emails.create(address=f"first-{manager.pk}@customer.example", is_primary=True)
        ticket = ticket_create(
            desk=desk,
            requester=person,
            request_type="incident",
            subject=f"Mail is down ({language})",
            body="Since 9:00",
            channel="widget",
            at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
        )
        ticket_assign(ticket=ticket, actor=lead, assignee=assignee)
        tickets.append(ticket)
    roles = ("requester", "organisation_managers", "team_lead", "assignee")
    data = {"clock": "first_response", "due": "2026-11-23T10:00:00+00:00", "percent": 100}
    items = [
        TicketOccurrence(t, Occurrence(NotificationEvent.CLOCK_BREACHED, f"b{t.pk}", data), roles)
        for t in tickets
    ] + [
        TicketOccurrence(
            tickets[0], Occurrence(NotificationEvent.RESOLVED, "r1", {}), (), exclude_user=assignee
        )
    ]
    # When each is notified one by one (and rolled back), then all as one batch
    with transaction.atomic():
        one_by_one = _made(
            [
                n
                for i in items
                for n in notify(
                    ticket=i.ticket,
                    event=i.item.event,
                    occurrence=i.item.occurrence,
                    data=i.item.data,
                    exclude_user=i.exclude_user,
                    extra_roles=i.extra_roles,
                )
            ]
        )
        transaction.set_rollback(True)
    with CaptureQueriesContext(connection) as queries:
        batch = notify_tickets(items=items)
    # Then the batch made the same notifications, in each recipient's language, to each
    # person's primary address, without the lead's switched-off breaches
    assert _made(batch) == one_by_one
    addresses = {n.address for n in batch}
    assert {p.primary_email for t in tickets for p in [t.requester]} <= addresses
    assert {f"first-{p.pk}@customer.example" for p in Person.objects.filter(
        is_organisation_manager=True, organisation__people__in=[tickets[1].requester]
    )} <= addresses  # fmt: skip
    assert lead.email not in addresses
    assert assignee.email in addresses
    assert {n.language for n in batch if n.recipient_person == tickets[1].requester} == {"ru"}
    # with a handful of statements for any number of tickets: managers, addresses, leads,
    # preferences, one insert
    assert len(queries) <= 5
    # And a second call sends nothing again
    assert notify_tickets(items=items) == []


def test_a_requesters_own_events_ask_no_preferences() -> None:
    # Given a requester with a user account
    desk = make_desk("service-desk", prefix="SD")
    person = PersonFactory()
    # When a request is registered for them
    with CaptureQueriesContext(connection) as queries:
        ticket = ticket_create(
            desk=desk,
            requester=person,
            request_type="incident",
            subject="Mail is down",
            body="Since 9:00",
            channel="widget",
        )
    # Then they are told, and no agent preference was read (none covers "registered")
    assert Notification.objects.get(ticket=ticket, event="registered").recipient_user == person.user
    assert not any("notificationpreference" in q["sql"] for q in queries.captured_queries)


def test_a_status_change_subject_names_the_status_in_the_recipients_language() -> None:
    # Given a Russian-speaking requester's request
    _, _, ticket = service_desk_ticket(language="ru")
    # When they are told its status changed
    made = notify(ticket=ticket, event=NotificationEvent.STATUS_CHANGED, occurrence="s1")
    # Then the subject carries the status's display name, in Russian
    with translation.override("ru"):
        status = str(ticket.get_status_display())
    assert len(made) == 1
    assert made[0].subject.startswith(f"[{ticket.reference}] ")
    assert made[0].subject.endswith(status)
    assert made[0].language == "ru"
