"""WAVIoT (preset 004) end to end. Its regulation registers requests only by email, the Telegram
bot or the Omnidesk helpdesk service: the portal explains how to open one instead of offering a
form. The request arrives by email without everything the regulation asks for, is returned to the
customer, who supplies the rest on the portal; the agent takes it and answers, the customer
confirms the solution.

The customer works in Russian: elements are found by stable names, ids and form actions, and
texts from the regulation are compared in the language the page is in.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from regdesk.core.regulation import local_text
from regdesk.desks.selectors import regulation_current
from regdesk.tickets.models import Message, Status, Ticket, TicketEvent
from regdesk.tickets.services import ticket_create
from tests.desk.factories import OrganisationFactory, PersonFactory, make_agent, make_desk
from tests.e2e.browser import Screenshots, status_class

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def waviot() -> dict[str, Any]:
    desk = make_desk("waviot", prefix="WAV")
    client = OrganisationFactory(name="МУП «Водоканал»")
    client.desks.add(desk)
    customer = PersonFactory(
        organisation=client,
        full_name="Иван Петров",
        user__first_name="Иван",
        user__last_name="Петров",
        email="petrov@vodokanal.example",
        language="ru",
    )
    agent = make_agent(desk, username="olga")
    agent.first_name, agent.last_name = "Olga", "Smirnova"
    agent.save()
    return {"desk": desk, "customer": customer, "agent": agent}


def test_email_request_completed_on_the_portal_answered_and_confirmed(
    people, live_server, waviot
) -> None:
    shot = Screenshots("waviot")
    base = live_server.url
    desk = waviot["desk"]
    regulation = regulation_current(desk=desk).regulation
    labels = {spec.id: local_text(spec.label, "ru") for spec in regulation.fields_for("device")}

    # The customer's email arrives at support@waviot.ru: registered by the email channel, which
    # (unlike a form) accepts what it gets and returns the request asking for the rest.
    ticket = ticket_create(
        desk=desk,
        requester=waviot["customer"],
        request_type="device",
        subject="Счётчик не передаёт показания",
        body="С 1 ноября счётчик на насосной станции №3 не передаёт показания.",
        fields={"client_name": "МУП «Водоканал»"},
        channel="email",
        strict=False,
    )
    assert ticket.status == Status.WAITING_FOR_CUSTOMER
    assert ticket.missing_fields == ["login", "device_id", "serial_number"]

    # The customer signs in: the request is in "My requests", waiting for him.
    customer = people(zone="Europe/Moscow", locale="ru-RU")
    page = customer.page
    customer.sign_in(base, "petrov@vodokanal.example")
    expect(page).to_have_url(f"{base}/portal/")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    row = page.locator("table.tickets tbody tr", has_text=ticket.reference)
    expect(row).to_contain_text("Счётчик не передаёт показания")
    expect(row.locator(".status")).to_have_class(status_class("waiting_for_customer"))
    shot(page, "customer my requests")

    # The desk offers no form on the web: its page says how to open a request.
    page.locator(f"a.button[href='/portal/desks/{desk.slug}/new/']").click()
    expect(page).to_have_url(f"{base}/portal/desks/{desk.slug}/new/")
    expect(page.locator("form.request-form")).to_have_count(0)
    expect(page.locator("input[name=subject]")).to_have_count(0)
    opening = page.locator("ul.channels").first
    expect(opening.locator("li")).to_have_count(3)
    expect(opening).to_contain_text("support@waviot.ru")
    expect(opening).to_contain_text("@WAVIoTHelp_bot")
    expect(opening).to_contain_text("Омнидеск")
    expect(opening).not_to_contain_text("8-800-550-51-89")
    expect(page.locator("ul.channels").last).to_contain_text("8-800-550-51-89")
    shot(page, "how to open a request")

    # Back in "My requests", he opens the request: support lists what is missing.
    page.locator("header.topbar nav a[href='/portal/']").click()
    page.locator("table.tickets").get_by_role("link", name=ticket.reference).click()
    page.wait_for_url(f"{base}/portal/requests/{ticket.public_key}/")
    needs = page.locator("section.needs")
    expect(needs.locator("ul > li")).to_have_text(
        [labels["login"], labels["device_id"], labels["serial_number"]]
    )
    supply = needs.locator(f"form[action='/portal/requests/{ticket.public_key}/details/']")
    for name in ("f-login", "f-device_id", "f-serial_number"):
        expect(supply.locator(f"input[name={name}]")).to_have_attribute("required", "")
    # The request's system message asks for the same, all of it in his language.
    with translation.override("ru"):
        asking = gettext("To go on with your request we need:\n%(list)s") % {
            "list": "\n".join(f"- {labels[f]}" for f in ("login", "device_id", "serial_number"))
        }
    expect(page.locator(".timeline .message.from-support .body").first).to_have_text(
        asking, use_inner_text=True
    )
    shot(page, "customer sees missing information")

    supply.locator("input[name=f-login]").fill("vodokanal_nsk")
    supply.locator("input[name=f-device_id]").fill("0042AB7F")
    supply.locator("input[name=f-serial_number]").fill("WV-2311-000457")
    shot(page, "missing information filled")
    supply.locator("button[type=submit]").click()
    expect(page.locator("section.needs")).to_have_count(0)
    expect(page.locator(".ticket-head .status")).to_have_class(status_class("new"))
    details = page.locator("aside.details")
    expect(details).to_contain_text("0042AB7F")
    expect(details).to_contain_text("WV-2311-000457")
    shot(page, "missing information sent")

    ticket.refresh_from_db()
    assert ticket.missing_fields == []
    assert ticket.fields == {
        "client_name": "МУП «Водоканал»",
        "login": "vodokanal_nsk",
        "device_id": "0042AB7F",
        "serial_number": "WV-2311-000457",
    }
    assert ticket.status == Status.NEW  # complete now, but nobody has accepted it yet
    assert ticket.assignee is None

    # The agent finds it in the workspace, takes it and answers.
    agent = people(zone="Europe/Moscow")
    desk_page = agent.page
    agent.sign_in(base, "olga")
    expect(desk_page).to_have_url(f"{base}/desk/")
    row = desk_page.locator("[data-queue-table] tbody tr", has_text=ticket.reference)
    expect(row.locator(".status")).to_have_class(status_class("new"))
    shot(desk_page, "agent queue")
    row.get_by_role("link", name=ticket.reference).click()
    desk_page.wait_for_url(f"{base}/desk/t/{ticket.reference}/")
    expect(desk_page.locator(".tk-side")).to_contain_text("WV-2311-000457")
    shot(desk_page, "agent ticket opened")

    # Completed by the customer, it is new again: the agent accepts it (and so takes it).
    actions = desk_page.locator("section.tk-actions")
    actions.locator("[data-key=accept]").click()
    expect(desk_page.locator(".tk-head .status")).to_have_class(status_class("accepted"))
    expect(desk_page.locator(".tk-head")).to_contain_text("Olga Smirnova")

    answer = (
        "Иван, базовая станция №12 не видела счётчик из-за помех. Мы сменили канал, "
        "показания за ноябрь загружены."
    )
    reply = desk_page.locator("form.compose-reply")
    reply.locator("#reply-body").fill(answer)
    reply.locator("button[type=submit]").click()
    expect(desk_page.locator(".tk-head .status")).to_have_class(status_class("answered"))
    expect(desk_page.locator(".tk-main")).to_contain_text("показания за ноябрь загружены")
    shot(desk_page, "agent replied ticket answered")

    ticket.refresh_from_db()
    assert ticket.status == Status.ANSWERED
    assert ticket.assignee == waviot["agent"]
    assert ticket.messages.filter(kind=Message.Kind.AGENT, body=answer).exists()

    # The customer reloads the request, reads the answer and confirms the solution.
    page.reload()
    expect(page.locator(".ticket-head .status")).to_have_class(status_class("answered"))
    support_said = page.locator(".timeline .message.from-support .body")
    expect(support_said).to_have_count(2)
    expect(support_said.last).to_have_text(answer)
    shot(page, "customer sees the answer")
    solved = page.locator(f"form[action='/portal/requests/{ticket.public_key}/solved/']")
    solved.locator("button[type=submit]").click()
    expect(page.locator(".ticket-head .status")).to_have_class(status_class("resolved"))
    expect(solved).to_have_count(0)
    shot(page, "customer confirmed resolved")

    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    resolved = ticket.events.get(kind=TicketEvent.Kind.RESOLVED)
    assert resolved.data["confirmed_by_customer"] is True
    assert resolved.actor_person_id == waviot["customer"].pk
    assert Ticket.objects.filter(desk=desk).count() == 1
    assert customer.errors == []
    assert agent.errors == []
