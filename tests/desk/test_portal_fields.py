"""Every kind of regulation field on the generated form: widget, conversion, what is stored."""

from __future__ import annotations

import pytest
from django.urls import reverse

from regdesk.core.loader import preset_text
from regdesk.desks.services import desk_create
from regdesk.tickets.models import Ticket
from tests.desk.portal_support import client_for, customer

pytestmark = pytest.mark.django_db

EXTRA_FIELDS = """
  - id: areas
    kind: multichoice
    label: {en: Affected areas, ru: Затронутые разделы}
    choices:
      - {id: billing, title: {en: Billing, ru: Счета}}
      - {id: reports, title: {en: Reports, ru: Отчёты}}
  - id: users
    kind: number
    label: {en: Users affected}
  - id: since
    kind: date
    label: {en: Since when}
  - id: window
    kind: time_interval
    label: {en: When it happened}
  - id: contact_email
    kind: email
    label: {en: Contact email}
  - id: contact_phone
    kind: phone
    label: {en: Contact phone}
  - id: report_link
    kind: url
    label: {en: Link}
    shown_when: {field: areas, equals: [reports]}
"""


@pytest.fixture
def desk():  # type: ignore[no-untyped-def]
    source = preset_text("service-desk").replace(
        "\ncommon_fields:\n", "\ncommon_fields:\n" + EXTRA_FIELDS.lstrip("\n"), 1
    )
    return desk_create(slug="kinds", name="Kinds", ticket_prefix="KD", source=source)


def test_each_kind_gets_its_widget(desk) -> None:  # type: ignore[no-untyped-def]
    client = client_for(customer(desk))
    html = client.get(reverse("portal:request_new", args=[desk.slug]) + "?type=incident").content
    html = html.decode()
    assert 'type="checkbox" name="f-areas" value="billing"' in html
    assert 'type="number" name="f-users"' in html
    assert 'type="date" name="f-since"' in html
    assert 'type="datetime-local" name="f-window_0"' in html
    assert 'type="datetime-local" name="f-window_1"' in html
    assert 'type="email" name="f-contact_email"' in html
    assert 'type="tel" name="f-contact_phone"' in html
    # The link is asked only when reports are affected
    assert 'name="f-report_link"' not in html
    html = client.get(
        reverse("portal:request_new", args=[desk.slug]) + "?type=incident&f-areas=reports"
    ).content.decode()
    assert 'type="url" name="f-report_link"' in html


def test_values_are_converted_in_the_customers_zone(desk) -> None:  # type: ignore[no-untyped-def]
    client = client_for(customer(desk))
    client.cookies["tz"] = "Europe%2FMoscow"
    response = client.post(
        reverse("portal:request_new", args=[desk.slug]),
        {
            "request_type": "incident",
            "subject": "Reports wrong",
            "body": "Totals are off.",
            "proposed_priority": "medium",
            "f-areas": ["billing", "reports"],
            "f-users": "12",
            "f-since": "2026-11-02",
            "f-window_0": "2026-11-02T10:00",
            "f-window_1": "2026-11-02T12:30",
            "f-contact_email": "Boss@Client.Example",
            "f-contact_phone": "+7 (495) 123-45-67",
            "f-report_link": "https://app.example.com/r/1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    fields = Ticket.objects.get().fields
    assert fields["areas"] == ["billing", "reports"]
    assert fields["users"] == 12
    assert fields["since"] == "2026-11-02"
    assert fields["window"] == "2026-11-02T10:00:00+03:00/2026-11-02T12:30:00+03:00"
    assert fields["contact_email"] == "boss@client.example"
    assert fields["report_link"] == "https://app.example.com/r/1"


def test_wrong_values_are_explained_in_words(desk) -> None:  # type: ignore[no-untyped-def]
    response = client_for(customer(desk)).post(
        reverse("portal:request_new", args=[desk.slug]),
        {
            "request_type": "incident",
            "subject": "x",
            "body": "y",
            "proposed_priority": "medium",
            "f-users": "many",
            "f-window_0": "2026-11-02T12:00",
            "f-window_1": "2026-11-02T10:00",
            "f-contact_phone": "call me",
            "f-contact_email": "not-an-email",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Enter a number." in html
    assert "The end is before the start." in html
    assert "Enter a phone number" in html
    assert "Enter a valid email address." in html
    assert 'value="2026-11-02T12:00"' in html
    assert 'value="many"' in html
