"""Email intake applies each seed regulation: threading, official senders, follow-up-only
addresses, the alarm address, missing information, loops, bounces and quarantine."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import pytest
from django.core import mail as django_mail
from django.test import TestCase, override_settings
from django.utils import timezone

from regdesk.channels.email_intake import email_ingest, mail_key
from regdesk.channels.models import AutoAnswer, Inbound
from regdesk.channels.services import inbound_retry
from regdesk.channels.threading import message_id, thread_root
from regdesk.consultations.models import Consultation
from regdesk.core.regulation import Status
from regdesk.desks.models import Desk
from regdesk.directory.models import Person
from regdesk.notifications.models import Notification
from regdesk.tickets.models import Message, Ticket
from regdesk.tickets.services import ticket_reply
from tests.desk.factories import PersonFactory, make_agent, make_desk

IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

pytestmark = pytest.mark.django_db

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def mail(
    *,
    sender: str,
    to: str,
    subject: str = "Reports do not open",
    body: str = "The trip report fails since this morning.",
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
    msgid: str | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = msgid or make_msgid(domain="customer.example")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def customer(desk: Desk, address: str, **extra: Any) -> Person:
    person = PersonFactory(email=address, **extra)
    person.desks.add(desk)
    return person


@pytest.fixture
def wialon() -> Desk:
    return make_desk("wialon", prefix="WIA")


def test_a_registered_sender_opens_a_ticket_once(wialon: Desk) -> None:
    person = customer(wialon, "anna@fleet.example")
    raw = mail(sender="Anna <Anna@Fleet.example>", to="support@wialon.com")
    row = email_ingest(raw=raw, source="test")
    ticket = Ticket.objects.get()
    assert row.result == ticket.reference
    assert row.outcome == Inbound.Outcome.TICKET
    assert ticket.requester == person
    assert ticket.channel == "email"
    said = ticket.messages.get(kind=Message.Kind.CUSTOMER)
    assert said.body == "The trip report fails since this morning."
    # the same Message-ID again (a re-polled mailbox, a resent pipe): one message
    again = email_ingest(raw=raw, source="test")
    assert again.pk == row.pk
    assert Ticket.objects.count() == 1
    assert Message.objects.filter(kind=Message.Kind.CUSTOMER).count() == 1


def test_the_alarm_address_sets_critical_priority(wialon: Desk) -> None:
    customer(wialon, "ops@fleet.example")
    row = email_ingest(
        raw=mail(sender="ops@fleet.example", to="alarm@wialon.com", subject="Server down"),
        source="test",
    )
    ticket = Ticket.objects.get(reference=row.result)
    assert ticket.priority == "critical"
    assert ticket.channel == "alarm"


def test_an_unregistered_sender_is_a_consultation_at_wialon(wialon: Desk) -> None:
    row = email_ingest(
        raw=mail(sender="stranger@elsewhere.example", to="support@wialon.com"), source="test"
    )
    assert row.result == "consultation"
    consultation = Consultation.objects.get()
    assert consultation.agent is None
    assert consultation.contact == "stranger@elsewhere.example"
    assert not Ticket.objects.exists()


def test_a_reply_threads_by_our_signed_token(wialon: Desk) -> None:
    person = customer(wialon, "anna@fleet.example")
    first = email_ingest(raw=mail(sender="anna@fleet.example", to="support@wialon.com"), source="t")
    ticket = Ticket.objects.get(reference=first.result)
    agent = make_agent(wialon)
    ticket_reply(ticket=ticket, author=agent, body="Please send the unit name.")
    answer = Notification.objects.filter(ticket=ticket, event="answered").first()
    assert answer is not None
    ours = message_id(ticket.reference, answer.pk)
    reply = mail(
        sender="anna@fleet.example",
        to="support@wialon.com",
        subject="Re: something unrelated",  # no number in the subject: the token threads it
        body="Unit 42.\n\nOn Mon, Support wrote:\n> Please send the unit name.",
        headers={"In-Reply-To": ours, "References": f"{thread_root(ticket.reference)} {ours}"},
    )
    row = email_ingest(raw=reply, source="t")
    assert row.result == ticket.reference
    assert row.outcome == Inbound.Outcome.FOLLOW_UP
    last = ticket.messages.order_by("-created_at", "-pk").first()
    assert last is not None
    assert last.author_person == person
    assert last.body == "Unit 42."


def test_a_forged_token_is_rejected(wialon: Desk) -> None:
    customer(wialon, "anna@fleet.example")
    first = email_ingest(raw=mail(sender="anna@fleet.example", to="support@wialon.com"), source="t")
    ticket = Ticket.objects.get(reference=first.result)
    forged = f"<n1.{ticket.reference.lower()}.aaaaaaaaaaaaaaaa@regdesk>"
    row = email_ingest(
        raw=mail(
            sender="anna@fleet.example",
            to="support@wialon.com",
            subject="Another question",
            headers={"In-Reply-To": forged},
        ),
        source="t",
    )
    assert row.result != ticket.reference
    assert any("forged" in w for w in row.warnings)
    assert Ticket.objects.count() == 2


def test_a_subject_number_threads_only_for_participants(wialon: Desk) -> None:
    customer(wialon, "anna@fleet.example")
    first = email_ingest(raw=mail(sender="anna@fleet.example", to="support@wialon.com"), source="t")
    ref = first.result
    same = email_ingest(
        raw=mail(sender="anna@fleet.example", to="support@wialon.com", subject=f"Re: [{ref}] x"),
        source="t",
    )
    assert same.result == ref
    # someone registered, but not on this ticket, quoting its number: not threaded onto it
    customer(wialon, "other@another.example")
    other = email_ingest(
        raw=mail(sender="other@another.example", to="support@wialon.com", subject=f"[{ref}] x"),
        source="t",
    )
    assert other.result not in (ref, "")
    assert other.outcome == Inbound.Outcome.TICKET
    assert any("not a participant" in w for w in other.warnings)


def test_a_colleague_in_copy_may_follow_up(wialon: Desk) -> None:
    anna = customer(wialon, "anna@fleet.example")
    colleague = customer(wialon, "boris@partner.example")
    assert colleague.organisation_id != anna.organisation_id
    first = email_ingest(
        raw=mail(
            sender="anna@fleet.example",
            to="support@wialon.com",
            headers={"Cc": "Boris <boris@partner.example>"},
        ),
        source="t",
    )
    follow = email_ingest(
        raw=mail(
            sender="boris@partner.example",
            to="support@wialon.com",
            subject=f"Re: [{first.result}] Reports",
        ),
        source="t",
    )
    assert follow.result == first.result
    assert follow.outcome == Inbound.Outcome.FOLLOW_UP


def test_wildix_answers_new_mail_with_the_portal_and_registers_nothing() -> None:
    desk = make_desk("wildix", prefix="WDX")
    # the regulation names no address for its email channel: the desk's support address is it
    assert all(not c.address for c in desk_channels(desk) if c.kind == "email")
    address = "support@wildix.example"
    desk.email_address = address
    desk.save()
    # (the commit hooks run as after a real commit: the answer goes out by the worker)
    with (
        override_settings(TASKS=IMMEDIATE_TASKS),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        row = email_ingest(raw=mail(sender="pbx@reseller.example", to=address), source="t")
    assert row.result.startswith("refused: ")
    assert not Ticket.objects.exists()
    answer = Notification.objects.get(key=f"auto:{row.pk}")
    assert answer.state == Notification.State.SENT
    assert [m.subject for m in django_mail.outbox] == [answer.subject]
    assert "Wildix Management Portal" in answer.body
    assert answer.headers["Auto-Submitted"] == "auto-replied"
    assert answer.headers["In-Reply-To"] == f"<{mail_key(mail_raw(row))}>"
    # an auto-reply to it is never answered (RFC 3834), and a chatty sender is rate-limited
    auto = email_ingest(
        raw=mail(
            sender="pbx@reseller.example",
            to=address,
            subject="Automatic reply: out of office",
            headers={"Auto-Submitted": "auto-replied"},
        ),
        source="t",
    )
    assert not Notification.objects.filter(key=f"auto:{auto.pk}").exists()
    for n in range(5):
        email_ingest(
            raw=mail(sender="pbx@reseller.example", to=address, subject=f"q{n}"), source="t"
        )
    assert AutoAnswer.objects.filter(address="pbx@reseller.example").count() == 3


def desk_channels(desk: Desk) -> list[Any]:
    from regdesk.desks.selectors import regulation_current

    return list(regulation_current(desk=desk).regulation.channels)


def mail_raw(row: Inbound) -> bytes:
    return bytes(Inbound.objects.get(pk=row.pk).raw)


def test_waviot_registers_and_returns_for_missing_information() -> None:
    desk = make_desk("waviot", prefix="WAV")
    customer(desk, "meter@utility.example", language="ru")
    row = email_ingest(
        raw=mail(
            sender="meter@utility.example",
            to="support@waviot.ru",
            subject="Счётчик не выходит на связь",
            body="Счётчик перестал передавать показания.",
            attachments=[("photo.png", "image/png", PNG), ("act.pdf", "application/pdf", b"%PDF")],
        ),
        source="t",
    )
    ticket = Ticket.objects.get(reference=row.result)
    assert ticket.status == Status.WAITING_FOR_CUSTOMER
    assert ticket.missing_fields  # returned asking for exactly what is missing
    names = [a.filename for m in ticket.messages.all() for a in m.attachments.all()]
    assert names == ["photo.png"]  # waviot takes images only; the PDF is named in a warning
    assert any("act.pdf" in w for w in row.warnings)


DSN = b"""From: MAILER-DAEMON@mx.fleet.example (Mail Delivery System)
To: support@wialon.com
Subject: Undelivered Mail Returned to Sender
Message-ID: <20261123101500.4F1A2@mx.fleet.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B0UND"

--B0UND
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.fleet.example. Your message could not be delivered.

--B0UND
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.fleet.example

Final-Recipient: rfc822; gone@fleet.example
Original-Recipient: rfc822;gone@fleet.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <gone@fleet.example>: Recipient address rejected

--B0UND
Content-Type: text/rfc822-headers

From: support@wialon.com
To: gone@fleet.example
Subject: [WIA-000001] Your request is registered
Message-ID: <n7.wia-000001.aaaaaaaaaaaaaaaa@regdesk>

--B0UND--
""".replace(b"\n", b"\r\n")


def test_a_bounce_is_recorded_on_the_person_and_opens_nothing(wialon: Desk) -> None:
    person = customer(wialon, "gone@fleet.example")
    raw = DSN
    row = email_ingest(raw=raw, source="t")
    assert row.result.startswith("refused: delivery report")
    person.refresh_from_db()
    assert person.bounced_at is not None
    assert not Ticket.objects.exists()
    assert not Notification.objects.exists()


def test_an_unknown_address_is_quarantined_and_can_be_run_again(wialon: Desk) -> None:
    customer(wialon, "anna@fleet.example")
    bad = email_ingest(raw=mail(sender="anna@fleet.example", to="help@unknown.example"), source="t")
    assert bad.state == Inbound.State.QUARANTINED
    assert bad.result == "quarantined: no desk receives mail for help@unknown.example"
    # the next message is not blocked by it
    good = email_ingest(raw=mail(sender="anna@fleet.example", to="support@wialon.com"), source="t")
    assert good.outcome == Inbound.Outcome.TICKET
    wialon.email_address = "help@unknown.example"
    wialon.save()
    again = inbound_retry(inbound_id=bad.pk)
    assert again.state == Inbound.State.PROCESSED
    assert again.outcome == Inbound.Outcome.TICKET


def test_garbage_is_quarantined_with_its_original(wialon: Desk) -> None:
    raw = b"\x00\x01 this is not an email at all"
    row = email_ingest(raw=raw, source="t", desk=wialon)
    assert row.state == Inbound.State.QUARANTINED
    assert row.result.startswith("quarantined: ")
    assert bytes(row.raw) == raw


def test_saving_a_stale_desk_keeps_its_number_counter(wialon: Desk) -> None:
    customer(wialon, "anna@fleet.example")
    stale = Desk.objects.get(pk=wialon.pk)
    email_ingest(raw=mail(sender="anna@fleet.example", to="support@wialon.com"), source="t")
    stale.name = "Wialon support"
    stale.save()
    second = email_ingest(
        raw=mail(sender="anna@fleet.example", to="support@wialon.com"), source="t"
    )
    assert second.result == "WIA-000002"


def test_an_agent_answering_by_mail_adds_an_internal_note(wialon: Desk) -> None:
    customer(wialon, "anna@fleet.example")
    first = email_ingest(raw=mail(sender="anna@fleet.example", to="support@wialon.com"), source="t")
    agent = make_agent(wialon)
    row = email_ingest(
        raw=mail(
            sender=agent.email,
            to="support@wialon.com",
            subject=f"Re: [{first.result}] Reports",
            body="Checked the logs: the report template is broken.",
        ),
        source="t",
    )
    assert row.result == first.result
    note = Message.objects.get(kind=Message.Kind.NOTE)
    assert note.author_user == agent
    assert note.ticket.reference == first.result
