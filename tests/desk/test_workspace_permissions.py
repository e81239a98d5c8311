"""Nobody but the desk's own agents sees or touches its tickets through the workspace."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from regdesk.directory.models import Agent, AgentMembership
from regdesk.tickets.models import Ticket
from regdesk.tickets.services import ticket_reply
from regdesk.workspace.views.actions import ACTIONS
from tests.desk.factories import PersonFactory, UserFactory
from tests.desk.workspace_support import (
    HTMX,
    agent_client,
    customer,
    login,
    wialon_desk,
    wialon_ticket,
)

pytestmark = pytest.mark.django_db

SECRET = "ssh root@10.0.0.1 pw hunter2"


@pytest.fixture
def world():
    """Desk A with a ticket (secret, attachment), desk B with its own agent."""
    desk_a = wialon_desk(slug="desk-a", prefix="AAA")
    desk_b = wialon_desk(slug="desk-b", prefix="BBB")
    agent_a, _ = agent_client(desk_a)
    requester = customer(desk_a)
    ticket = wialon_ticket(desk_a, requester=requester, subject="Zanzibar fuel sensor",
                           fields={"deployment": "on-premises", "product": "wialon-local",
                                   "ssh_access": SECRET})  # fmt: skip
    upload = SimpleUploadedFile("log.txt", b"secret log", content_type="text/plain")
    ticket_reply(ticket=ticket, author=agent_a, body="See log", attachments=[upload],
                 status_after="accepted")  # fmt: skip
    attachment = ticket.messages.get(kind="agent").attachments.get()
    agent_b, client_b = agent_client(desk_b)
    return {
        "desk_a": desk_a,
        "desk_b": desk_b,
        "ticket": ticket,
        "attachment": attachment,
        "requester": requester,
        "agent_b": agent_b,
        "client_b": client_b,
    }


def ticket_urls(world) -> list[tuple[str, str]]:
    ticket, attachment = world["ticket"], world["attachment"]
    ref = ticket.reference
    urls = [
        ("get", reverse("workspace:ticket", args=[ref])),
        ("get", reverse("workspace:attachment", args=[attachment.pk])),
        ("post", reverse("workspace:secret_reveal", args=[ref, "ssh_access"])),
    ]
    urls += [("post", reverse("workspace:ticket_action", args=[ref, name])) for name in ACTIONS]
    return urls


def page_urls(world) -> list[tuple[str, str]]:
    return [
        ("get", reverse("workspace:queue")),
        ("get", reverse("workspace:queue", args=["mine"])),
        ("get", reverse("workspace:counts")),
        ("get", reverse("workspace:regulation", args=[world["desk_a"].slug])),
        ("post", reverse("workspace:regulation", args=[world["desk_a"].slug])),
    ]


def hit(client: Client, method: str, url: str):
    data = {"assignee": "", "body": "x", "reason": "x", "priority": "critical", "target": "x"}
    return getattr(client, method)(url, data if method == "post" else None, **HTMX)


def unchanged(world) -> None:
    ticket = Ticket.objects.get(pk=world["ticket"].pk)
    assert ticket.status == "accepted"
    assert ticket.priority == "normal"
    assert not ticket.events.filter(kind="secret_revealed").exists()
    assert ticket.messages.count() == 2


def test_anonymous_is_sent_to_the_login_page(world) -> None:
    client = Client()
    for method, url in page_urls(world) + ticket_urls(world):
        response = hit(client, method, url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("portal:login")), url
    unchanged(world)


def test_a_customer_gets_403_even_on_their_own_ticket(world) -> None:
    client = login(world["requester"].user)
    for method, url in page_urls(world) + ticket_urls(world):
        assert hit(client, method, url).status_code == 403, url
    unchanged(world)


def test_an_agent_of_another_desk_cannot_see_or_act(world) -> None:
    client = world["client_b"]
    for method, url in ticket_urls(world):
        response = hit(client, method, url)
        assert response.status_code == 404, url
        assert SECRET not in response.content.decode()
    for method in ("get", "post"):
        url = reverse("workspace:regulation", args=[world["desk_a"].slug])
        assert hit(client, method, url).status_code == 404
    unchanged(world)


def test_an_agent_of_another_desk_neither_lists_nor_finds_the_tickets(world) -> None:
    client = world["client_b"]
    ticket = world["ticket"]
    for queue in ("open", "unassigned", "breached", "due-soon", "waiting", "mine", "team"):
        page = client.get(reverse("workspace:queue", args=[queue])).content.decode()
        assert ticket.reference not in page
    params = {"q": "Zanzibar", "desk": world["desk_a"].pk}
    response = client.get(reverse("workspace:queue", args=["open"]), params)
    assert response.context["rows"] == []
    response = client.get(reverse("workspace:counts"))
    assert all(link["count"] == 0 for link in response.context["queue_links"])


def test_the_desks_agent_finds_it(world) -> None:
    _agent_a, client = agent_client(world["desk_a"])
    response = client.get(reverse("workspace:queue", args=["open"]), {"q": "Zanzibar"})
    assert [row.ticket.reference for row in response.context["rows"]] == [world["ticket"].reference]


def test_an_agent_who_is_also_a_customer_elsewhere_does_not_work_those_tickets(world) -> None:
    # given an agent of desk B who is a requester on desk A
    agent_b = world["agent_b"]
    person = PersonFactory(user=agent_b, organisation=world["requester"].organisation)
    own = wialon_ticket(world["desk_a"], requester=person, subject="My own request")
    client = world["client_b"]
    # then the workspace neither lists nor opens it, nor lets them act on it
    page = client.get(reverse("workspace:queue", args=["open"])).content.decode()
    assert own.reference not in page
    assert client.get(reverse("workspace:ticket", args=[own.reference])).status_code == 404
    url = reverse("workspace:ticket_action", args=[own.reference, "accept"])
    assert client.post(url, **HTMX).status_code == 404
    assert Ticket.objects.get(pk=own.pk).status == "new"


def test_a_plain_agent_cannot_manage_the_regulation(world) -> None:
    _, client = agent_client(world["desk_a"])
    url = reverse("workspace:regulation", args=[world["desk_a"].slug])
    assert client.get(url).status_code == 403
    assert client.post(url, {"step": "check", "source": "x"}).status_code == 403


def test_a_user_with_an_agent_profile_but_no_desk_is_not_an_agent(world) -> None:
    user = UserFactory()
    Agent.objects.create(user=user)
    client = login(user)
    assert client.get(reverse("workspace:queue")).status_code == 403


def test_a_superuser_works_on_every_desk(world) -> None:
    admin = UserFactory(is_superuser=True, is_staff=True)
    client = login(admin)
    page = client.get(reverse("workspace:ticket", args=[world["ticket"].reference]))
    assert page.status_code == 200
    url = reverse("workspace:ticket_action", args=[world["ticket"].reference, "assign"])
    client.post(url, {"assignee": admin.pk}, **HTMX)
    assert Ticket.objects.get(pk=world["ticket"].pk).assignee == admin
    assert not AgentMembership.objects.filter(agent__user=admin).exists()
