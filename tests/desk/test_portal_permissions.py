"""Every portal page and action as the wrong user: anonymous, another customer, a customer of
another organisation, an organisation manager of another organisation. The answer is the login
page or 404, and nothing changes."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from regdesk.desks.models import Desk
from regdesk.directory.models import Person
from regdesk.tickets.models import Message, Status, Ticket
from regdesk.tickets.services import ticket_create, ticket_reply
from tests.desk.factories import make_agent, make_desk
from tests.desk.portal_support import PNG, client_for, customer

pytestmark = pytest.mark.django_db


@dataclass
class World:
    desk: Desk
    other_desk: Desk
    owner: Person
    colleague: Person
    manager: Person
    stranger: Person
    foreign_manager: Person
    ticket: Ticket


@pytest.fixture
def world() -> World:
    # Given a desk, a customer's answered request with a screenshot, and people around it
    desk = make_desk("service-desk", prefix="SD")
    other_desk = make_desk("wildix", prefix="WX")
    agent = make_agent(desk)
    owner = customer(desk)
    colleague = customer(desk, organisation=owner.organisation)
    manager = customer(desk, organisation=owner.organisation, manager=True)
    stranger = customer(desk)  # same desk, another organisation
    foreign_manager = customer(other_desk, manager=True)
    ticket = ticket_create(
        desk=desk, requester=owner, request_type="incident", subject="Private problem",
        body="Our VPN password is in the attachment.", channel="widget", proposed_priority="low",
        attachments=[SimpleUploadedFile("screen.png", PNG, "image/png")],
    )  # fmt: skip
    ticket_reply(ticket=ticket, author=agent, body="Fixed.")
    return World(desk, other_desk, owner, colleague, manager, stranger, foreign_manager, ticket)


def _ticket_urls(ticket: Ticket) -> dict[str, str]:
    attachment = ticket.messages.get(kind=Message.Kind.CUSTOMER).attachments.get()
    key = ticket.public_key
    return {
        "ticket": reverse("portal:ticket", args=[key]),
        "reply": reverse("portal:ticket_reply", args=[key]),
        "details": reverse("portal:ticket_supply_missing", args=[key]),
        "solved": reverse("portal:ticket_solved", args=[key]),
        "attachment": reverse("portal:attachment", args=[key, attachment.pk]),
    }


def _hit(client: Client, name: str, url: str) -> int:
    if name in ("reply", "details", "solved"):
        return client.post(url, {"reply-body": "Intruder", "f-description": "x"}).status_code
    return client.get(url).status_code


def _unchanged(world: World) -> None:
    world.ticket.refresh_from_db()
    assert world.ticket.status == Status.ANSWERED
    assert world.ticket.messages.count() == 2


def test_anonymous_is_sent_to_sign_in_everywhere(world: World) -> None:
    client = Client()
    login = reverse("portal:login")
    private = {
        **_ticket_urls(world.ticket),
        "home": reverse("portal:home"),
        "new": reverse("portal:request_new", args=[world.desk.slug]),
    }
    for name, url in private.items():
        response = client.post(url) if name in ("reply", "details", "solved") else client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith(login + "?next="), name
    fields = client.post(reverse("portal:request_fields", args=[world.desk.slug]))
    assert fields.status_code == 302
    _unchanged(world)
    # The regulation and the help button script are public
    assert client.get(reverse("portal:regulation", args=[world.desk.slug])).status_code == 200
    assert client.get(reverse("portal:widget", args=[world.desk.slug])).status_code == 200


@pytest.mark.parametrize("who", ["stranger", "colleague", "foreign_manager"])
def test_other_customers_get_404_for_every_ticket_page_and_action(world: World, who: str) -> None:
    client = client_for(getattr(world, who))
    for name, url in _ticket_urls(world.ticket).items():
        assert _hit(client, name, url) == 404, (who, name)
    _unchanged(world)
    home = client.get(reverse("portal:home") + "?status=all").content.decode()
    assert world.ticket.reference not in home
    assert "Private problem" not in home


def test_the_owner_and_their_organisation_manager_get_through(world: World) -> None:
    for person in (world.owner, world.manager):
        client = client_for(person)
        urls = _ticket_urls(world.ticket)
        assert client.get(urls["ticket"]).status_code == 200
        assert client.get(urls["attachment"]).status_code == 200


def test_organisation_manager_of_another_organisation_sees_nothing(world: World) -> None:
    client = client_for(world.foreign_manager)
    page = client.get(reverse("portal:home") + "?scope=organisation&status=all")
    assert page.status_code == 200
    assert world.ticket.reference not in page.content.decode()


def test_guessing_a_ticket_by_its_number_does_not_work(world: World) -> None:
    for person in (world.owner, world.stranger):
        client = client_for(person)
        for guess in (world.ticket.reference, world.ticket.reference.lower(), str(world.ticket.pk)):
            assert client.get(reverse("portal:ticket", args=[guess])).status_code == 404
            url = reverse("portal:attachment", args=[guess, 1])
            assert client.get(url).status_code == 404


def test_attachment_of_another_ticket_is_not_served_under_my_key(world: World) -> None:
    # Given the stranger's own request, they cannot fetch the owner's file through it
    mine = ticket_create(
        desk=world.desk, requester=world.stranger, request_type="incident", subject="Mine",
        body="Mine.", channel="widget", proposed_priority="low",
    )  # fmt: skip
    attachment = world.ticket.messages.get(kind=Message.Kind.CUSTOMER).attachments.get()
    url = reverse("portal:attachment", args=[mine.public_key, attachment.pk])
    assert client_for(world.stranger).get(url).status_code == 404


def test_customer_of_another_organisation_cannot_use_a_desk_that_is_not_theirs(
    world: World,
) -> None:
    client = client_for(world.foreign_manager)
    new = reverse("portal:request_new", args=[world.desk.slug])
    assert client.get(new).status_code == 404
    form = {"request_type": "incident", "subject": "x", "body": "y", "proposed_priority": "low"}
    assert client.post(new, form).status_code == 404
    assert (
        client.post(reverse("portal:request_fields", args=[world.desk.slug]), form).status_code
        == 404
    )
    assert Ticket.objects.filter(requester=world.foreign_manager).count() == 0
    # But the desk's published regulation is public
    assert client.get(reverse("portal:regulation", args=[world.desk.slug])).status_code == 200


def test_an_agent_can_read_but_not_act_as_the_customer(world: World) -> None:
    agent = make_agent(world.desk)
    client = Client()
    client.force_login(agent)
    urls = _ticket_urls(world.ticket)
    html = client.get(urls["ticket"]).content.decode()
    assert "This solved my problem" not in html
    assert client.post(urls["reply"], {"reply-body": "as customer"}).status_code == 404
    assert client.post(urls["solved"]).status_code == 404
    _unchanged(world)
    # An agent of another desk sees nothing
    outsider = make_agent(world.other_desk)
    client.force_login(outsider)
    assert client.get(urls["ticket"]).status_code == 404


def test_inactive_desk_is_gone(world: World) -> None:
    world.desk.is_active = False
    world.desk.save()
    client = client_for(world.owner)
    assert client.get(reverse("portal:request_new", args=[world.desk.slug])).status_code == 404
    assert client.get(reverse("portal:regulation", args=[world.desk.slug])).status_code == 404
    assert client.get(reverse("portal:widget", args=[world.desk.slug])).status_code == 404
