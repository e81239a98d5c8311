"""Wildix (preset 002) end to end: the customer opens a request on the portal form generated from
the regulation, the agent answers it in the workspace, the customer confirms the solution."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import dateformat, translation
from playwright.sync_api import expect

from regdesk.directory.models import Device
from regdesk.tickets.models import Message, Status, Ticket, TicketEvent
from tests.desk.factories import OrganisationFactory, PersonFactory, make_agent, make_desk
from tests.e2e.browser import Screenshots, status_class

pytestmark = pytest.mark.django_db(transaction=True)

ROME = ZoneInfo("Europe/Rome")


@pytest.fixture
def wildix() -> dict[str, Any]:
    """The Wildix desk, a partner company with a PBX on its device list, and an agent."""
    desk = make_desk("wildix", prefix="WX")
    company = OrganisationFactory(name="Rossi Impianti Srl")
    company.desks.add(desk)
    pbx = Device.objects.create(
        organisation=company,
        device_id="001A2B3C4D5E",
        serial="WGW-7781",
        model="WGW20",
        name="Milan office PBX",
    )
    customer = PersonFactory(
        organisation=company,
        full_name="Giulia Rossi",
        user__first_name="Giulia",
        user__last_name="Rossi",
        email="giulia@rossi-impianti.example",
        language="en",
    )
    agent = make_agent(desk, username="marco")
    agent.first_name, agent.last_name = "Marco", "Bianchi"
    agent.save()
    return {"desk": desk, "pbx": pbx, "customer": customer, "agent": agent}


def _promise_text(due: datetime) -> str:
    """How the portal writes a promised instant in the customer's zone (Europe/Rome here)."""
    with translation.override("en"):
        return dateformat.format(due.astimezone(ROME), "D j M, H:i")


def _open_new_request_form(page: Any, base_url: str, slug: str) -> None:
    page.goto(f"{base_url}/portal/")
    page.locator(f"a.button[href='/portal/desks/{slug}/new/']").click()
    expect(page).to_have_url(f"{base_url}/portal/desks/{slug}/new/")


def test_technical_support_request_answered_and_confirmed(people, live_server, wildix) -> None:
    shot = Screenshots("wildix")
    base = live_server.url
    pbx: Device = wildix["pbx"]

    # The customer signs in to the portal with the email registered with support.
    customer = people(zone="Europe/Rome")
    page = customer.page
    customer.sign_in(base, "giulia@rossi-impianti.example")
    expect(page).to_have_url(f"{base}/portal/")
    expect(page.locator("h1")).to_contain_text("Giulia Rossi")
    shot(page, "customer portal home")

    # She opens the form generated from the regulation: nothing to fill before a type is chosen.
    _open_new_request_form(page, base, "wildix")
    form = page.locator("form.request-form")
    expect(form.locator("input[name=request_type]")).to_have_count(2)
    expect(form.locator("input[name=subject]")).to_have_count(0)
    shot(page, "new request form")

    # Technical Support: htmx brings in the fields this type requires.
    page.get_by_label("Technical Support").check()
    expect(page.get_by_label("WMS version")).to_be_visible()
    expect(page.get_by_label("Firmware versions of all the devices")).to_be_visible()
    expect(form.locator("select[name=f-topic]")).to_have_count(0)
    for name in ("subject", "body", "f-wms_version", "f-firmware_versions"):
        expect(form.locator(f"[name='{name}']")).to_have_attribute("required", "")
    form.locator("input[name=subject]").fill("Calls drop after 30 seconds")
    form.locator("select[name=f-pbx_0]").select_option(label=str(pbx))
    form.locator("textarea[name=body]").fill(
        "Every outgoing call through the SIP trunk drops after exactly 30 seconds since the "
        "update on Monday. Incoming calls are fine."
    )
    form.locator("input[name=f-wms_version]").fill("6.05.20240116.1")
    form.locator("input[name=f-firmware_versions]").fill("WP480G 2.4.1, W-AIR 1.9")
    shot(page, "technical support form filled")

    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/portal/requests/**")

    # The request is registered with what she entered, and governed by the current regulation.
    ticket = Ticket.objects.get(desk=wildix["desk"])
    assert ticket.reference == "WX-000001"
    assert ticket.status == Status.NEW
    assert ticket.request_type == "technical-support"
    assert ticket.channel == "portal"
    assert ticket.regulation_version.version == "2021-03"
    assert ticket.fields == {
        "pbx": str(pbx),
        "wms_version": "6.05.20240116.1",
        "firmware_versions": "WP480G 2.4.1, W-AIR 1.9",
    }
    assert ticket.missing_fields == []

    # The ticket page promises the answer by the end of the business day, in her zone.
    due = datetime.fromisoformat(ticket.clock_state["first_response"]["due"])
    assert (due.astimezone(ROME).hour, due.astimezone(ROME).minute) == (18, 0)
    expect(page.locator(".flash")).to_contain_text(f"Your request {ticket.reference}")
    expect(page.locator(".ticket-head .ref")).to_have_text(ticket.reference)
    expect(page.locator(".ticket-head .status")).to_have_text("Registered")
    promise = page.locator(".promise[role=status]")
    # ("We will answer by …", or "We promised to answer by …" in the last seconds before 18:00)
    expect(promise).to_contain_text(f"answer by {_promise_text(due)} your time")
    expect(promise).to_contain_text("Europe/Rome")
    details = page.locator("aside.details")
    expect(details).to_contain_text("6.05.20240116.1")
    expect(details).to_contain_text(str(pbx))
    shot(page, "customer ticket registered with promise")

    # The agent signs in, finds the request in the workspace queue and opens it.
    agent = people(zone="Europe/Rome")
    desk_page = agent.page
    agent.sign_in(base, "marco")
    expect(desk_page).to_have_url(f"{base}/desk/")
    row = desk_page.locator("[data-queue-table] tbody tr", has_text=ticket.reference)
    expect(row).to_contain_text("Calls drop after 30 seconds")
    expect(row.locator(".status")).to_have_class(status_class("new"))
    shot(desk_page, "agent queue")

    row.get_by_role("link", name=ticket.reference).click()
    desk_page.wait_for_url(f"{base}/desk/t/{ticket.reference}/")
    expect(desk_page.locator(".tk-head h1")).to_contain_text("Calls drop after 30 seconds")
    expect(desk_page.locator(".tk-head .status")).to_have_text("New")
    shot(desk_page, "agent ticket opened")

    # A public reply (status after: answered) goes out through htmx.
    answer = (
        "Hello Giulia, the SIP trunk's session timer was set to 30 s. We set it to 1800 s on "
        "your PBX: calls no longer drop. Best regards, Marco"
    )
    reply = desk_page.locator("form.compose-reply")
    reply.locator("#reply-body").fill(answer)
    expect(reply.locator("select[name=status_after]")).to_have_value("answered")
    reply.locator("button[type=submit]").click()
    expect(desk_page.locator(".tk-head .status")).to_have_class(status_class("answered"))
    expect(desk_page.locator(".tk-main")).to_contain_text("calls no longer drop")
    shot(desk_page, "agent replied ticket answered")

    ticket.refresh_from_db()
    assert ticket.status == Status.ANSWERED
    assert ticket.messages.filter(kind=Message.Kind.AGENT, body=answer).exists()

    # The customer reloads her ticket page: the answer is there, and she confirms the solution.
    page.reload()
    expect(page.locator(".ticket-head .status")).to_have_text("Answered")
    expect(page.locator(".timeline .message.from-support .body")).to_contain_text(
        "calls no longer drop"
    )
    shot(page, "customer sees the answer")

    page.get_by_role("button", name="This solved my problem").click()
    expect(page.locator(".ticket-head .status")).to_have_class(status_class("resolved"))
    expect(page.locator(".ticket-head .status")).to_have_text("Resolved")
    expect(page.get_by_role("button", name="This solved my problem")).to_have_count(0)
    expect(page.locator(".timeline")).to_contain_text(
        "Giulia Rossi confirmed that the problem is solved."
    )
    shot(page, "customer confirmed resolved")

    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert ticket.resolved_at is not None
    resolved = ticket.events.get(kind=TicketEvent.Kind.RESOLVED)
    assert resolved.data["confirmed_by_customer"] is True
    assert resolved.actor_person_id == wildix["customer"].pk

    # The agent's workspace shows it closed.
    desk_page.reload()
    expect(desk_page.locator(".tk-head .status")).to_have_class(status_class("resolved"))
    shot(desk_page, "agent sees resolved")
    assert customer.errors == []
    assert agent.errors == []


def test_customer_care_request_asks_for_the_topic(people, live_server, wildix) -> None:
    shot = Screenshots("wildix", start=21)
    base = live_server.url
    pbx: Device = wildix["pbx"]
    customer = people(zone="Europe/Rome")
    page = customer.page
    customer.sign_in(base, "giulia@rossi-impianti.example")
    _open_new_request_form(page, base, "wildix")
    form = page.locator("form.request-form")

    # Typed under Technical Support, then the type changes: the subject survives the swap.
    page.get_by_label("Technical Support").check()
    form.locator("input[name=subject]").fill("Invoice 2025/118 charges two PBX licences")
    page.get_by_label("Customer Care").check()
    topic = form.locator("select[name=f-topic]")
    expect(topic).to_be_visible()
    expect(form.locator("input[name=f-wms_version]")).to_have_count(0)
    expect(form.locator("input[name=f-firmware_versions]")).to_have_count(0)
    expect(form.locator("input[name=subject]")).to_have_value(
        "Invoice 2025/118 charges two PBX licences"
    )
    expect(page).to_have_url(f"{base}/portal/desks/wildix/new/?type=customer-care")
    # The topics are the regulation's nine Customer Care topics.
    expect(topic.locator("option")).to_have_count(10)
    shot(page, "customer care form shows topic")

    topic.select_option("billing")
    form.locator("select[name=f-pbx_0]").select_option(label=str(pbx))
    form.locator("textarea[name=body]").fill(
        "Invoice 2025/118 charges two licences for our single PBX. Please issue a credit note."
    )
    shot(page, "customer care form filled")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/portal/requests/**")

    ticket = Ticket.objects.get(desk=wildix["desk"])
    assert ticket.request_type == "customer-care"
    assert ticket.fields == {"pbx": str(pbx), "topic": "billing"}
    # Customer Care is reviewed within one business day (9 business hours).
    due = datetime.fromisoformat(ticket.clock_state["first_response"]["due"])
    expect(page.locator(".ticket-head")).to_contain_text("Customer Care")
    expect(page.locator(".promise[role=status]")).to_contain_text(_promise_text(due))
    expect(page.locator("aside.details")).to_contain_text("Billing (delivery document dispute")
    shot(page, "customer care ticket registered")
    assert customer.errors == []
