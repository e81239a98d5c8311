"""Givens for the workspace stories: desks, agents and tickets created at controlled instants."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from regdesk.desks.models import Desk
from regdesk.directory.models import Organisation, Person
from regdesk.tickets.models import Ticket
from regdesk.tickets.services import ticket_create
from tests.desk.factories import OrganisationFactory, PersonFactory, make_agent, make_desk

PASSWORD = "secret-pass-123"
HTMX = {"HTTP_HX_REQUEST": "true"}

# Wialon's first line works 24/7: a ticket created `h` hours ago by an "other"-tier customer is
# due 12 h after creation, whatever the time of day the tests run at.
WIALON_FIELDS = {
    "product": "wialon-hosting",
    "version": "2404",
    "deployment": "cloud",
    "specifics": "user demo, unit Truck 7",
    "actions": "Opened the trips report for last week.",
}


def wialon_desk(slug: str = "wialon", prefix: str = "WLN") -> Desk:
    return make_desk("wialon", slug=slug, prefix=prefix)


def customer(desk: Desk, *, tier: str = "", organisation: Organisation | None = None) -> Person:
    organisation = organisation or OrganisationFactory(tier=tier)
    organisation.desks.add(desk)
    return PersonFactory(organisation=organisation)


def wialon_ticket(
    desk: Desk,
    *,
    requester: Person | None = None,
    hours_ago: float = 0,
    subject: str = "Trips report is empty",
    body: str = "The report shows no trips for Truck 7.",
    fields: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Ticket:
    created = at or timezone.now() - timedelta(hours=hours_ago)
    return ticket_create(
        desk=desk,
        requester=requester or customer(desk),
        request_type="technical",
        subject=subject,
        body=body,
        fields={**WIALON_FIELDS, **(fields or {})},
        channel="email",
        at=created,
    )


def service_desk_ticket(
    desk: Desk,
    *,
    requester: Person | None = None,
    subject: str = "Cannot log in",
    body: str = "The login page says 500.",
    priority: str = "high",
    at: datetime | None = None,
) -> Ticket:
    return ticket_create(
        desk=desk,
        requester=requester or customer(desk),
        request_type="incident",
        subject=subject,
        body=body,
        channel="widget",
        proposed_priority=priority,
        at=at,
    )


def login(user: User) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def agent_client(desk: Desk, **membership: Any) -> tuple[User, Client]:
    user = make_agent(desk, **membership)
    return user, login(user)


def fresh(ticket: Ticket) -> Ticket:
    ticket.refresh_from_db()
    return ticket
