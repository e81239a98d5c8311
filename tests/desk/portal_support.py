"""Helpers for the customer portal's tests: desks, customers and signed-in clients."""

from __future__ import annotations

from django.test import Client

from regdesk.core.loader import preset_text
from regdesk.desks.models import Desk
from regdesk.desks.services import desk_create
from regdesk.directory.models import Organisation, Person
from tests.desk.factories import OrganisationFactory, PersonFactory

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"x" * 64


def with_portal_channel(preset: str) -> str:
    """A preset's YAML with a portal channel that opens requests (for presets without one)."""
    text = preset_text(preset)
    return text.replace(
        "\nchannels:\n",
        "\nchannels:\n  - id: portal\n    kind: portal\n    role: opens\n",
        1,
    )


def portal_desk(preset: str, *, slug: str, prefix: str) -> Desk:
    return desk_create(
        slug=slug,
        name=f"{preset} on the web",
        ticket_prefix=prefix,
        source=with_portal_channel(preset),
    )


def customer(
    desk: Desk | None = None,
    *,
    organisation: Organisation | None = None,
    manager: bool = False,
    language: str = "en",
) -> Person:
    """A customer whose organisation uses ``desk``."""
    organisation = organisation or OrganisationFactory()
    if desk is not None:
        organisation.desks.add(desk)
    return PersonFactory(
        organisation=organisation, is_organisation_manager=manager, language=language
    )


def client_for(person: Person) -> Client:
    client = Client()
    client.force_login(person.user)
    return client
