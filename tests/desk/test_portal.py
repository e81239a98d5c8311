"""The customer portal through Django's test client: home, regulation, the generated request
form per preset, the ticket page and the help button."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import dateformat, timezone

from regdesk.directory.models import Device
from regdesk.tickets.models import Message, Status, Ticket
from regdesk.tickets.services import (
    ticket_change_priority,
    ticket_create,
    ticket_note,
    ticket_reply,
    ticket_resolve,
)
from tests.desk.factories import make_agent, make_desk
from tests.desk.portal_support import PDF, PNG, client_for, customer, portal_desk

pytestmark = pytest.mark.django_db


def _new_url(desk) -> str:  # type: ignore[no-untyped-def]
    return reverse("portal:request_new", args=[desk.slug])


def _incident(desk, person, **kwargs) -> Ticket:  # type: ignore[no-untyped-def]
    values = {
        "desk": desk,
        "requester": person,
        "request_type": "incident",
        "subject": "Cannot log in",
        "body": "The login page says 500.",
        "channel": "widget",
        "proposed_priority": "high",
    }
    values.update(kwargs)
    return ticket_create(**values)


# --------------------------------------------------------------------------- home


def test_home_lists_desks_and_my_requests() -> None:
    # Given a customer of a service desk with a request
    desk = make_desk("service-desk", prefix="SD")
    person = customer(desk)
    ticket = _incident(desk, person)
    # When they open the portal
    response = client_for(person).get(reverse("portal:home"))
    # Then they see the desk with its regulation and form, and the request with its promise
    html = response.content.decode()
    assert response.status_code == 200
    assert reverse("portal:regulation", args=[desk.slug]) in html
    assert _new_url(desk) in html
    assert ticket.reference in html
    assert reverse("portal:ticket", args=[ticket.public_key]) in html
    assert "Registered" in html
    assert "High" in html
    assert "My organisation&#x27;s requests" not in html


def test_home_filters_open_and_closed() -> None:
    desk = make_desk("service-desk", prefix="SD")
    agent = make_agent(desk)
    person = customer(desk)
    open_one = _incident(desk, person, subject="Still open")
    closed = _incident(desk, person, subject="Already closed")
    ticket_resolve(ticket=closed, actor_user=agent)
    client = client_for(person)
    open_page = client.get(reverse("portal:home")).content.decode()
    assert open_one.reference in open_page
    assert closed.reference not in open_page
    closed_page = client.get(reverse("portal:home") + "?status=closed").content.decode()
    assert closed.reference in closed_page
    assert open_one.reference not in closed_page


def test_organisation_manager_sees_the_organisations_requests() -> None:
    # Given two colleagues and a manager in one organisation, and a stranger
    desk = make_desk("service-desk", prefix="SD")
    colleague = customer(desk)
    manager = customer(desk, organisation=colleague.organisation, manager=True)
    stranger = customer(desk)
    theirs = _incident(desk, colleague, subject="Colleague's problem")
    foreign = _incident(desk, stranger, subject="Stranger's problem")
    # When the manager opens the organisation's requests
    response = client_for(manager).get(reverse("portal:home") + "?scope=organisation&status=all")
    html = response.content.decode()
    # Then the colleague's request is there, the stranger's is not
    assert response.status_code == 200
    assert theirs.reference in html
    assert colleague.full_name in html
    assert foreign.reference not in html
    # And a colleague who is not a manager cannot ask for that list
    assert (
        client_for(colleague).get(reverse("portal:home") + "?scope=organisation").status_code == 404
    )


def test_user_without_customer_profile_gets_an_explanation() -> None:
    desk = make_desk("service-desk", prefix="SD")
    agent = make_agent(desk)
    client = Client()
    client.force_login(agent)
    response = client.get(reverse("portal:home"))
    assert response.status_code == 200
    assert "not linked to a customer profile" in response.content.decode()


# --------------------------------------------------------------------------- regulation


def test_regulation_page_is_public_and_readable() -> None:
    desk = make_desk("waviot", prefix="WAV")
    response = Client().get(reverse("portal:regulation", args=[desk.slug]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1" in html
    assert "WAVIoT technical support regulation" in html
    assert "Version 2026-01" in html
    assert "In effect since" in html
    assert "<table>" in html  # target tables
    assert "<li>" in html
    assert "support@waviot.ru" in html
    # Nothing the regulation says is taken as markup, and agents' snippet is hidden
    assert "<script src=" not in html.split("</head>")[1]


def test_regulation_page_in_russian() -> None:
    desk = make_desk("waviot", prefix="WAV")
    response = Client().get(
        reverse("portal:regulation", args=[desk.slug]), HTTP_ACCEPT_LANGUAGE="ru"
    )
    html = response.content.decode()
    assert "Регламент работы отдела техподдержки WAVIoT" in html
    assert "Редакция 2026-01" in html


def test_regulation_page_shows_the_help_button_snippet_to_agents_only() -> None:
    desk = make_desk("service-desk", prefix="SD")
    agent = make_agent(desk)
    client = Client()
    client.force_login(agent)
    html = client.get(reverse("portal:regulation", args=[desk.slug])).content.decode()
    widget = reverse("portal:widget", args=[desk.slug])
    assert f"&lt;script src=&quot;http://127.0.0.1:8000{widget}&quot; async&gt;" in html
    customer_html = client_for(customer(desk)).get(reverse("portal:regulation", args=[desk.slug]))
    assert widget not in customer_html.content.decode()


def test_regulation_of_unknown_desk_is_404() -> None:
    assert Client().get(reverse("portal:regulation", args=["nope"])).status_code == 404


# --------------------------------------------------------------------------- the request form


def test_wildix_form_asks_the_type_first_then_its_fields() -> None:
    # Given a Wildix customer with two devices
    desk = make_desk("wildix", prefix="WX")
    person = customer(desk)
    Device.objects.create(
        organisation=person.organisation, device_id="PBX-7", serial="SN7", name="HQ PBX"
    )
    client = client_for(person)
    # When they open the form without a type
    html = client.get(_new_url(desk)).content.decode()
    # Then they are asked for the type (radio, htmx loads the rest) and nothing else yet
    assert 'name="request_type"' in html
    assert 'value="technical-support"' in html
    assert 'value="customer-care"' in html
    assert "hx-post" in html
    assert 'name="subject"' not in html
    # When they choose Customer Care (no JS: ?type=)
    html = client.get(_new_url(desk) + "?type=customer-care").content.decode()
    # Then the topic is asked, and the PBX from the organisation's devices
    assert 'name="f-topic"' in html
    assert "Billing (delivery document dispute" in html
    assert 'name="f-pbx_0"' in html
    assert "HQ PBX (PBX-7, SN7)" in html
    assert 'name="f-wms_version"' not in html
    # The message is the description: no separate description field
    assert 'id="id_description"' not in html
    assert 'name="f-description"' not in html
    assert "All the information related to the request" in html  # the message's label
    # When they choose Technical Support
    html = client.get(_new_url(desk) + "?type=technical-support").content.decode()
    assert 'name="f-wms_version"' in html
    assert 'name="f-firmware_versions"' in html
    assert 'name="f-topic"' not in html
    # Wildix does not let the requester set a priority
    assert 'name="proposed_priority"' not in html


def test_service_desk_form_offers_the_priority_with_its_criteria() -> None:
    desk = make_desk("service-desk", prefix="SD")
    html = client_for(customer(desk)).get(_new_url(desk) + "?type=incident").content.decode()
    assert 'name="proposed_priority"' in html
    for priority in ("critical", "high", "medium", "low"):
        assert f'value="{priority}"' in html
    assert "Inability to work due to inaccessibility of the system" in html
    # The incident's default priority is preselected
    assert 'value="high" id="id_proposed_priority_1" required checked' in html
    assert 'value="incident" hx-post' in html
    assert 'id="id_request_type_0" required checked' in html
    assert "Reason for the request" in html


def test_waviot_explains_how_to_open_a_request_instead_of_a_form() -> None:
    desk = make_desk("waviot", prefix="WAV")
    response = client_for(customer(desk)).get(_new_url(desk))
    html = response.content.decode()
    assert response.status_code == 200
    assert "How to open a request" in html
    assert "mailto:support@waviot.ru" in html
    assert "@WAVIoTHelp_bot" in html
    assert "8-800-550-51-89" in html  # listed among the other ways, as a consultation
    assert 'name="request_type"' not in html
    # Nothing can be posted either
    assert client_for(customer(desk)).post(_new_url(desk), {}).status_code == 200
    assert Ticket.objects.count() == 0


def test_htmx_loads_the_fields_of_the_chosen_type_keeping_what_was_typed() -> None:
    desk = make_desk("wildix", prefix="WX")
    client = client_for(customer(desk))
    response = client.post(
        reverse("portal:request_fields", args=[desk.slug]),
        {"request_type": "customer-care", "subject": "Invoice is wrong", "body": "Twice billed"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'name="f-topic"' in html
    assert 'value="Invoice is wrong"' in html
    assert "Twice billed" in html
    assert response["HX-Push-Url"] == _new_url(desk) + "?type=customer-care"
    assert 'class="errors"' not in html  # nothing was submitted: no errors yet


def test_submitting_the_form_registers_the_request_by_the_portal_channel() -> None:
    desk = make_desk("wildix", prefix="WX")
    person = customer(desk)
    device = Device.objects.create(
        organisation=person.organisation, device_id="PBX-7", name="HQ PBX"
    )
    response = client_for(person).post(
        _new_url(desk),
        {
            "request_type": "customer-care",
            "subject": "Invoice is wrong",
            "body": "We were billed twice in March.",
            "f-pbx_0": str(device.pk),
            "f-pbx_1": "",
            "f-topic": "billing",
        },
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:ticket", args=[ticket.public_key])
    assert ticket.channel == "portal"
    assert ticket.request_type == "customer-care"
    assert ticket.fields == {"pbx": "HQ PBX (PBX-7)", "topic": "billing"}
    assert ticket.messages.get().body == "We were billed twice in March."


def test_errors_are_shown_next_to_fields_and_everything_typed_is_kept() -> None:
    desk = make_desk("wildix", prefix="WX")
    person = customer(desk)
    response = client_for(person).post(
        _new_url(desk),
        {
            "request_type": "technical-support",
            "subject": "Calls drop after 30 seconds",
            "body": "Every outbound call drops.",
            "f-pbx": "PBX in Milan",
            "f-wms_version": "",
            "f-firmware_versions": "W-AIR 1.2",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert Ticket.objects.count() == 0
    # The error sits in the WMS version's block, in words
    wrap = html.split('id="id_f-wms_version_wrap"')[1].split('id="id_f-firmware_versions_wrap"')[0]
    assert "This field is required." in wrap
    assert 'aria-invalid="true"' in wrap
    # What was typed is all there
    assert 'value="Calls drop after 30 seconds"' in html
    assert "Every outbound call drops." in html
    assert 'value="PBX in Milan"' in html
    assert 'value="W-AIR 1.2"' in html
    assert "please add them again" in html


def test_service_errors_land_next_to_their_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a rule that only the service knows (here: a version the core rejects)
    desk = make_desk("wildix", prefix="WX")
    response = client_for(customer(desk)).post(
        _new_url(desk),
        {
            "request_type": "technical-support",
            "subject": "Calls drop",
            "body": "Every call drops.",
            "f-pbx": "PBX in Milan",
            "f-wms_version": "!!",
            "f-firmware_versions": "W-AIR 1.2",
        },
    )
    html = response.content.decode()
    wrap = html.split('id="id_f-wms_version_wrap"')[1].split("</div>")[0]
    assert "Enter a version such as 2404 or 7.1.3." in wrap
    assert 'value="!!"' in html


def test_secrets_are_not_echoed_back_and_the_user_is_told() -> None:
    desk = portal_desk("wialon", slug="wialon-web", prefix="WL")
    person = customer(desk)
    response = client_for(person).post(
        _new_url(desk),
        {
            "request_type": "technical",
            "subject": "Server slow",
            "body": "Reports take minutes.",
            "f-product": "wialon-local",
            "f-version": "2404",
            "f-deployment": "on-premises",
            "f-specifics": "",
            "f-actions": "Opened a report",
            "f-ssh_access": "root:hunter2@10.0.0.5",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "hunter2" not in html
    assert 'name="f-ssh_access"' in html  # asked again: on-premises needs SSH access
    assert "visible only to support" in html
    assert "secret fields" in html


def test_ssh_access_is_required_only_on_premises() -> None:
    desk = portal_desk("wialon", slug="wialon-web", prefix="WL")
    client = client_for(customer(desk))
    common = {
        "request_type": "technical",
        "f-product": "wialon-hosting",
        "f-version": "2404",
        "f-specifics": "unit 42",
        "f-actions": "none",
    }
    cloud = client.post(
        reverse("portal:request_fields", args=[desk.slug]), {**common, "f-deployment": "cloud"}
    )
    onprem = client.post(
        reverse("portal:request_fields", args=[desk.slug]),
        {**common, "f-deployment": "on-premises"},
    )
    cloud_ssh = cloud.content.decode().split('id="id_f-ssh_access_wrap"')[1].split("</label>")[0]
    onprem_ssh = onprem.content.decode().split('id="id_f-ssh_access_wrap"')[1].split("</label>")[0]
    assert "(optional)" in cloud_ssh
    assert "(required)" in onprem_ssh
    # The deployment choice re-renders the form when it changes
    assert 'name="f-deployment"' in onprem.content.decode()
    deployment = onprem.content.decode().split('<select name="f-deployment"')[1].split(">")[0]
    assert "hx-post" in deployment


def test_help_button_page_goes_into_the_message() -> None:
    # service-desk has no URL field: the page is appended to the message
    desk = make_desk("service-desk", prefix="SD")
    person = customer(desk)
    client = client_for(person)
    page = "https://app.example.com/reports/42?tab=export"
    html = client.get(
        _new_url(desk)
        + "?type=incident&page="
        + page.replace("?", "%3F").replace("&", "%26").replace("=", "%3D")
    ).content.decode()
    assert 'name="page"' in html
    assert "https://app.example.com/reports/42?tab=export" in html.replace("&amp;", "&")
    client.post(
        _new_url(desk),
        {
            "request_type": "incident",
            "subject": "Export fails",
            "body": "The export button does nothing.",
            "proposed_priority": "medium",
            "page": page,
        },
    )
    ticket = Ticket.objects.get()
    assert ticket.channel == "widget"
    assert ticket.priority == "medium"
    assert ticket.messages.get().body.endswith(f"Opened from: {page}")


def test_help_button_page_fills_a_page_url_field_when_the_regulation_has_one() -> None:
    source = make_desk_source_with_page_url()
    from regdesk.desks.services import desk_create

    desk = desk_create(slug="sd-url", name="SD with URL", ticket_prefix="SU", source=source)
    person = customer(desk)
    html = (
        client_for(person)
        .get(_new_url(desk) + "?type=incident&page=https%3A%2F%2Fapp.example.com%2Fx")
        .content.decode()
    )
    assert 'name="f-page_url"' in html
    assert 'value="https://app.example.com/x"' in html
    assert 'name="page"' not in html


def make_desk_source_with_page_url() -> str:
    from regdesk.core.loader import preset_text

    return preset_text("service-desk").replace(
        "\ncommon_fields:\n",
        "\ncommon_fields:\n  - id: page_url\n    kind: url\n    label: {en: Page, ru: Страница}\n",
        1,
    )


def test_attachments_outside_the_policy_are_refused_with_a_clear_message() -> None:
    # Given a WAVIoT-like desk that takes requests on the web (JPG, GIF, PNG, BMP only)
    desk = portal_desk("waviot", slug="waviot-web", prefix="WW")
    person = customer(desk)
    client = client_for(person)
    form = {
        "request_type": "other",
        "subject": "Readings missing",
        "body": "No readings since Monday.",
        "proposed_priority": "",
        "f-client_name": "Vodokanal",
        "f-login": "vodokanal",
    }
    # The policy is shown on the form
    html = client.get(_new_url(desk) + "?type=other").content.decode()
    assert "Accepted formats: JPG, GIF, PNG, BMP only." in html
    assert 'accept=".jpg,.jpeg,.gif,.png,.bmp"' in html
    # When a PDF is attached
    response = client.post(
        _new_url(desk),
        {**form, "attachments": [SimpleUploadedFile("report.pdf", PDF, "application/pdf")]},
    )
    # Then nothing is registered and the message says why, next to the attachments
    html = response.content.decode()
    assert response.status_code == 400
    assert Ticket.objects.count() == 0
    assert "report.pdf was not accepted: only JPG, GIF, PNG, BMP files can be attached." in html
    assert "Readings missing" in html
    # And a screenshot goes through
    response = client.post(
        _new_url(desk),
        {**form, "attachments": [SimpleUploadedFile("screen.png", PNG, "image/png")]},
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.channel == "portal"
    assert [a.filename for a in ticket.messages.get().attachments.all()] == ["screen.png"]


# --------------------------------------------------------------------------- the ticket page


def test_ticket_page_shows_the_conversation_but_never_internal_notes() -> None:
    desk = make_desk("service-desk", prefix="SD")
    agent = make_agent(desk)
    person = customer(desk)
    ticket = _incident(desk, person)
    ticket_note(ticket=ticket, author=agent, body="Customer is on the legacy cluster, do not tell")
    ticket_reply(ticket=ticket, author=agent, body="Please try again now.")
    ticket_change_priority(
        ticket=ticket, actor=agent, priority="low", reason="Only one user affected"
    )
    html = (
        client_for(person).get(reverse("portal:ticket", args=[ticket.public_key])).content.decode()
    )
    assert "The login page says 500." in html
    assert "Please try again now." in html
    assert "legacy cluster" not in html
    assert "internal" not in html.lower()
    assert "Priority changed from High to Low." in html
    assert "Reason: Only one user affected" in html
    assert f"Request {ticket.reference} registered" in html
    assert "Answered" in html


def test_ticket_page_promises_the_answer_in_the_customers_time_zone() -> None:
    desk = make_desk("service-desk", prefix="SD")
    person = customer(desk)
    ticket = _incident(desk, person)
    due = datetime.fromisoformat(ticket.clock_state["first_response"]["due"])
    client = client_for(person)
    client.cookies["tz"] = "Asia/Tokyo"
    html = client.get(reverse("portal:ticket", args=[ticket.public_key])).content.decode()
    local = dateformat.format(due.astimezone(ZoneInfo("Asia/Tokyo")), "D j M, H:i")
    assert f"We will answer by {local} your time (Asia/Tokyo)." in html or (
        f"We promised to answer by {local} your time (Asia/Tokyo)." in html
    )
    # Without the browser's zone the desk's calendar zone is used
    client.cookies.pop("tz")
    html = client.get(reverse("portal:ticket", args=[ticket.public_key])).content.decode()
    assert "your time (UTC)" in html
    # A zone name that is not a zone is ignored
    client.cookies["tz"] = "../../etc/passwd"
    assert (
        "your time (UTC)"
        in client.get(reverse("portal:ticket", args=[ticket.public_key])).content.decode()
    )


def test_a_reply_reopens_a_resolved_request() -> None:
    desk = make_desk("service-desk", prefix="SD")
    agent = make_agent(desk)
    person = customer(desk)
    ticket = _incident(desk, person)
    ticket_resolve(ticket=ticket, actor_user=agent)
    client = client_for(person)
    assert (
        "Reply to reopen the request"
        in client.get(reverse("portal:ticket", args=[ticket.public_key])).content.decode()
    )
    response = client.post(
        reverse("portal:ticket_reply", args=[ticket.public_key]),
        {"reply-body": "It broke again."},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.ACCEPTED
    assert ticket.messages.filter(kind=Message.Kind.CUSTOMER).last().body == "It broke again."
    assert "The request was reopened." in client.get(response["Location"]).content.decode()


def test_an_empty_reply_is_refused_next_to_the_field() -> None:
    desk = make_desk("service-desk", prefix="SD")
    person = customer(desk)
    ticket = _incident(desk, person)
    response = client_for(person).post(
        reverse("portal:ticket_reply", args=[ticket.public_key]), {"reply-body": "  "}
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_reply_with_a_refused_attachment_keeps_the_text() -> None:
    desk = portal_desk("waviot", slug="waviot-web", prefix="WW")
    person = customer(desk)
    ticket = ticket_create(
        desk=desk, requester=person, request_type="other", subject="Readings", body="None.",
        channel="portal", fields={"client_name": "V", "login": "v"},
    )  # fmt: skip
    response = client_for(person).post(
        reverse("portal:ticket_reply", args=[ticket.public_key]),
        {
            "reply-body": "Here is the export.",
            "reply-attachments": [SimpleUploadedFile("export.pdf", PDF, "application/pdf")],
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "export.pdf was not accepted" in html
    assert "Here is the export." in html
    assert ticket.messages.count() == 1


def test_this_solved_my_problem_resolves_an_answered_request() -> None:
    desk = make_desk("service-desk", prefix="SD")
    agent = make_agent(desk)
    person = customer(desk)
    ticket = _incident(desk, person)
    client = client_for(person)
    url = reverse("portal:ticket", args=[ticket.public_key])
    assert "This solved my problem" not in client.get(url).content.decode()
    ticket_reply(ticket=ticket, author=agent, body="Fixed on our side.")
    assert "This solved my problem" in client.get(url).content.decode()
    response = client.post(reverse("portal:ticket_solved", args=[ticket.public_key]))
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    html = client.get(url).content.decode()
    assert f"{person.full_name} confirmed that the problem is solved." in html


def test_missing_information_is_asked_and_supplied_on_the_ticket_page() -> None:
    # Given a WAVIoT-like request registered by email without the device's details
    desk = portal_desk("waviot", slug="waviot-web", prefix="WW")
    person = customer(desk)
    ticket = ticket_create(
        desk=desk, requester=person, request_type="device", subject="Meter silent",
        body="No data from the meter.", channel="email",
        fields={"client_name": "Vodokanal", "login": "vodokanal"}, strict=False,
    )  # fmt: skip
    assert ticket.status == Status.WAITING_FOR_CUSTOMER
    client = client_for(person)
    url = reverse("portal:ticket", args=[ticket.public_key])
    # Then the page lists what is missing, with a form for it
    html = client.get(url).content.decode()
    assert "Support needs more information" in html
    assert "Device ID" in html
    assert "Device serial number" in html
    assert 'name="f-device_id"' in html
    assert 'name="f-serial_number"' in html
    assert "Waiting for your reply" in html
    # When only one is given, the other is asked again
    response = client.post(
        reverse("portal:ticket_supply_missing", args=[ticket.public_key]),
        {"f-device_id": "0042AB", "f-serial_number": ""},
    )
    assert response.status_code == 400
    assert 'value="0042AB"' in response.content.decode()
    # When both are given, the request goes back to support
    response = client.post(
        reverse("portal:ticket_supply_missing", args=[ticket.public_key]),
        {"f-device_id": "0042AB", "f-serial_number": "SN-9"},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW  # returned at registration: nobody has accepted it yet
    assert ticket.fields["device_id"] == "0042AB"
    assert ticket.missing_fields == []
    assert "Device ID" in ticket.messages.filter(kind=Message.Kind.CUSTOMER).last().body


def test_attachments_download_through_the_portal_only() -> None:
    desk = make_desk("service-desk", prefix="SD")
    person = customer(desk)
    ticket = _incident(
        desk, person, attachments=[SimpleUploadedFile("screen.png", PNG, "image/png")]
    )
    attachment = ticket.messages.get().attachments.get()
    html = (
        client_for(person).get(reverse("portal:ticket", args=[ticket.public_key])).content.decode()
    )
    url = reverse("portal:attachment", args=[ticket.public_key, attachment.pk])
    assert url in html
    assert "/media/" not in html
    response = client_for(person).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert "attachment;" in response["Content-Disposition"]
    assert 'filename="screen.png"' in response["Content-Disposition"]


# --------------------------------------------------------------------------- help button


def test_widget_script_opens_the_desks_form() -> None:
    desk = make_desk("service-desk", prefix="SD")
    response = Client().get(reverse("portal:widget", args=[desk.slug]))
    script = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert f'"formUrl": "http://127.0.0.1:8000{_new_url(desk)}"' in script
    assert "encodeURIComponent(document.location.href)" in script
    assert '"label": "Help"' in script
    assert reverse("portal:widget", args=["service-desk"]) == "/portal/widget/service-desk.js"
    assert Client().get(reverse("portal:widget", args=["nope"])).status_code == 404


def test_promise_is_late_when_the_due_instant_passed() -> None:
    desk = make_desk("service-desk", prefix="SD")
    person = customer(desk)
    ticket = _incident(desk, person, at=timezone.now() - timedelta(days=7))
    html = (
        client_for(person).get(reverse("portal:ticket", args=[ticket.public_key])).content.decode()
    )
    assert "We are late and working on it." in html


def test_the_form_speaks_the_customers_language() -> None:
    desk = portal_desk("waviot", slug="waviot-web", prefix="WW")
    person = customer(desk, language="ru")
    html = client_for(person).get(_new_url(desk) + "?type=device").content.decode()
    assert "Наименование клиента" in html
    assert "ID устройства" in html
    assert "Максимально подробное описание проблемы или просьбы" in html  # the message


def test_the_browser_zone_cookie_is_read_url_encoded() -> None:
    desk = make_desk("service-desk", prefix="SD")
    person = customer(desk)
    ticket = _incident(desk, person)
    client = client_for(person)
    client.cookies["tz"] = "America%2FNew_York"
    html = client.get(reverse("portal:ticket", args=[ticket.public_key])).content.decode()
    assert "your time (America/New_York)" in html


@pytest.mark.parametrize(
    ("preset", "address"), [("m2m", "support@m2mail.ru"), ("wialon", "support@wialon.com")]
)
def test_presets_that_open_by_email_explain_it(preset: str, address: str) -> None:
    desk = make_desk(preset, prefix=preset[:3].upper())
    html = client_for(customer(desk)).get(_new_url(desk)).content.decode()
    assert "How to open a request" in html
    assert f"mailto:{address}" in html
    assert 'name="request_type"' not in html


def test_a_secret_from_the_form_is_stored_encrypted_not_in_the_fields() -> None:
    desk = portal_desk("wialon", slug="wialon-web", prefix="WL")
    person = customer(desk)
    response = client_for(person).post(
        _new_url(desk),
        {
            "request_type": "technical",
            "subject": "Server slow",
            "body": "Reports take minutes.",
            "f-product": "wialon-local",
            "f-version": "2404",
            "f-deployment": "on-premises",
            "f-specifics": "unit 42",
            "f-actions": "Opened a report",
            "f-ssh_access": "root:hunter2@10.0.0.5",
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert "ssh_access" not in ticket.fields
    assert ticket.secrets.get().field_id == "ssh_access"
    html = client_for(person).get(response["Location"]).content.decode()
    assert "hunter2" not in html
    assert "Stored encrypted, visible only to support." in html
