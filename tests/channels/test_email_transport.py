"""Mail in over the three intakes (pipe, LMTP, IMAP against a real Dovecot) and mail out
(threading headers, the waviot acknowledgement) against a real SMTP server."""

from __future__ import annotations

import signal
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from typer.testing import CliRunner

from regdesk.channels.imap import mailbox_password_set, mailbox_poll
from regdesk.channels.lmtp import lmtp_controller
from regdesk.channels.models import Inbound, Mailbox
from regdesk.channels.threading import thread_root
from regdesk.cli import app
from regdesk.notifications.models import Notification
from regdesk.notifications.services import notification_send
from regdesk.tickets.models import Message, Ticket, TicketEvent
from tests.background.conftest import Inbox, free_port
from tests.channels import dovecot as dovecot_imap
from tests.channels.conftest import cli_env
from tests.channels.dovecot import DovecotError, dovecot_installed, dovecot_running
from tests.channels.test_email_intake import customer, mail
from tests.desk.factories import make_desk

# --------------------------------------------------------------------------- pipe


@pytest.mark.django_db
def test_mail_ingest_prints_one_line_per_outcome(tmp_path: Path) -> None:
    desk = make_desk("wialon", prefix="WIA")
    customer(desk, "anna@fleet.example")
    runner = CliRunner()
    raw = mail(sender="anna@fleet.example", to="someone@else.example")
    result = runner.invoke(app, ["mail", "ingest", "--desk", "wialon"], input=raw)
    assert result.exit_code == 0, result.output
    ticket = Ticket.objects.get()
    assert result.output.strip() == ticket.reference
    stranger = mail(sender="who@nowhere.example", to="support@wialon.com")
    result = runner.invoke(app, ["mail", "ingest", "--to", "support@wialon.com"], input=stranger)
    assert (result.exit_code, result.output.strip()) == (0, "consultation")
    result = runner.invoke(app, ["mail", "ingest"], input=b"\x00garbage")
    assert result.exit_code == 0
    assert result.output.startswith("quarantined: ")
    result = runner.invoke(app, ["mail", "ingest"], input=b"")
    assert result.exit_code == 1  # nothing was stored
    assert "empty message" in result.output


# --------------------------------------------------------------------------- mail out


@pytest.mark.django_db
def test_outgoing_mail_threads_and_acknowledges_for_waviot(smtp_server: Inbox) -> None:
    desk = make_desk("waviot", prefix="WAV")
    desk.email_address = "support@waviot.ru"
    desk.save()
    customer(desk, "meter@utility.example", language="ru")
    their_id = make_msgid(domain="utility.example")
    from regdesk.channels.email_intake import email_ingest

    row = email_ingest(
        raw=mail(sender="meter@utility.example", to="support@waviot.ru", msgid=their_id),
        source="t",
    )
    ticket = Ticket.objects.get(reference=row.result)
    registered = Notification.objects.get(ticket=ticket, event="registered")
    assert not ticket.events.filter(kind=TicketEvent.Kind.ACKNOWLEDGED).exists()
    assert notification_send(notification_id=registered.pk) == "sent"
    sent = smtp_server.messages[-1]
    subject = str(make_header(decode_header(sent["Subject"])))
    assert subject.startswith(f"[{ticket.reference}]")
    assert sent["From"] == "support@waviot.ru"
    assert sent["Reply-To"] == "support@waviot.ru"
    assert sent["In-Reply-To"] == thread_root(ticket.reference)
    assert their_id in sent["References"]  # the customer's client threads it under their mail
    assert sent["Auto-Submitted"] == "auto-generated"
    # waviot: the request counts as accepted from the moment its confirmation went out
    acknowledged = ticket.events.get(kind=TicketEvent.Kind.ACKNOWLEDGED)
    assert acknowledged.data["notification"] == registered.pk
    # the customer's reply to that confirmation comes back to the ticket
    reply = mail(
        sender="meter@utility.example",
        to="support@waviot.ru",
        subject="Re: " + subject,
        body="Серийный номер 12345",
        headers={"In-Reply-To": str(sent["Message-ID"])},
    )
    assert email_ingest(raw=reply, source="t").result == ticket.reference


# --------------------------------------------------------------------------- LMTP


@pytest.mark.django_db(transaction=True)
def test_lmtp_answers_each_recipient_after_storing() -> None:
    desk = make_desk("wialon", prefix="WIA")
    customer(desk, "anna@fleet.example")
    controller = lmtp_controller(host="127.0.0.1", port=free_port())
    controller.start()
    try:
        client = smtplib.LMTP("127.0.0.1", controller.port)
        refused = client.sendmail(
            "anna@fleet.example",
            ["support@wialon.com"],
            mail(sender="anna@fleet.example", to="support@wialon.com"),
        )
        client.quit()
    finally:
        controller.stop()
    assert refused == {}
    row = Inbound.objects.get()
    assert row.source == "lmtp"
    assert row.envelope_to == "support@wialon.com"
    assert row.result == Ticket.objects.get().reference


# --------------------------------------------------------------------------- IMAP (Dovecot)


class Imap(dovecot_imap.Imap):
    def append(self, raw: bytes) -> None:
        client = self.client()
        client.append("INBOX", None, None, raw)
        client.logout()

    def flags(self) -> list[bytes]:
        client = self.client()
        _, count = client.select("INBOX")
        if count[0] in (b"0", None):
            client.logout()
            return []
        _, data = client.fetch("1:*", "(FLAGS)")
        client.logout()
        return [item for item in data if isinstance(item, bytes)]


@pytest.fixture
def dovecot() -> Iterator[Imap]:
    if not dovecot_installed():
        pytest.skip("Dovecot is not installed (.ci/run installs dovecot-imapd)")
    try:
        with dovecot_running(password="imap-secret") as server:
            yield Imap(server.port, server.user, server.password)
    except DovecotError as exc:
        pytest.fail(str(exc))


def _mailbox(imap: Imap, *, desk: Any, delete: bool = False) -> Mailbox:
    mailbox = Mailbox.objects.create(
        desk=desk,
        address="support@wialon.com",
        host="127.0.0.1",
        port=imap.port,
        security="none",
        username=imap.user,
        delete_after_import=delete,
    )
    mailbox_password_set(mailbox=mailbox, password=imap.password)
    return mailbox


@pytest.mark.django_db
def test_imap_polling_marks_mail_seen_only_after_storing(dovecot: Imap) -> None:
    desk = make_desk("wialon", prefix="WIA")
    customer(desk, "anna@fleet.example")
    for n in range(3):
        dovecot.append(mail(sender="anna@fleet.example", to="x@y.example", subject=f"Issue {n}"))
    dovecot.append(b"\x00\x01 not mail")  # quarantined; it does not block the others
    mailbox = _mailbox(dovecot, desk=desk)
    result = mailbox_poll(mailbox=mailbox)
    assert result.error == ""
    assert result.fetched == 4
    assert Ticket.objects.count() == 3
    assert Inbound.objects.filter(state=Inbound.State.QUARANTINED).count() == 1
    assert all(b"\\Seen" in flags for flags in dovecot.flags())
    # a second poll finds nothing new
    assert mailbox_poll(mailbox=mailbox).fetched == 0
    # a wrong password is reported on the mailbox, not raised
    mailbox_password_set(mailbox=mailbox, password="wrong")
    failed = mailbox_poll(mailbox=mailbox)
    mailbox.refresh_from_db()
    assert failed.error
    assert mailbox.last_error == failed.error


@pytest.mark.django_db
def test_imap_delete_after_import(dovecot: Imap) -> None:
    desk = make_desk("wialon", prefix="WIA")
    customer(desk, "anna@fleet.example")
    dovecot.append(mail(sender="anna@fleet.example", to="support@wialon.com"))
    assert mailbox_poll(mailbox=_mailbox(dovecot, desk=desk, delete=True)).fetched == 1
    assert dovecot.flags() == []


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the poller in another process must share the test database: PostgreSQL pass only",
)
@pytest.mark.django_db(transaction=True)
def test_a_poller_killed_midway_loses_nothing_and_duplicates_nothing(dovecot: Imap) -> None:
    desk = make_desk("wialon", prefix="WIA")
    customer(desk, "anna@fleet.example")
    count = 40
    for n in range(count):
        dovecot.append(mail(sender="anna@fleet.example", to="x@y.example", subject=f"Issue {n}"))
    _mailbox(dovecot, desk=desk)
    env = cli_env()
    # batches of 5: each is stored in one INSERT, processed in one transaction, then flagged
    command = [sys.executable, "-m", "regdesk.cli", "mail", "poll", "--once", "--batch", "5"]
    processed = Inbound.objects.filter(state=Inbound.State.PROCESSED)
    poller = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while processed.count() < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        poller.send_signal(signal.SIGKILL)
        poller.wait()
    killed_at = processed.count()
    assert 5 <= killed_at < count, "the poller must die midway for this test to mean anything"
    stored_at_kill = Inbound.objects.count()
    assert stored_at_kill < count
    # the next round picks up the rest, and what was stored or processed before the kill is
    # not redone: a batch caught between storing and its commit is still unseen in the mailbox,
    # so it is fetched again and its stored rows are processed once
    finished = subprocess.run(command, env=env, capture_output=True, timeout=120)
    assert finished.returncode == 0, finished.stderr.decode()[-2000:]
    assert Inbound.objects.count() == count
    assert Inbound.objects.exclude(state=Inbound.State.PROCESSED).count() == 0
    inbound_resume_stale()  # nothing left for the periodic tick
    assert Inbound.objects.exclude(state=Inbound.State.PROCESSED).count() == 0
    assert Ticket.objects.count() == count
    assert Message.objects.filter(kind=Message.Kind.CUSTOMER).count() == count
    assert all(b"\\Seen" in flags for flags in dovecot.flags())


def inbound_resume_stale() -> None:
    from datetime import timedelta

    from django.utils import timezone

    from regdesk.channels.tasks import inbound_resume

    Inbound.objects.filter(state=Inbound.State.RECEIVED).update(
        received_at=timezone.now() - timedelta(minutes=10)
    )
    inbound_resume()
