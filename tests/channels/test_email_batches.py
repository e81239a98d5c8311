"""Batch intake: a batch is stored in one INSERT, processed in one transaction, and a message
that fails is quarantined alone; a Maildir message is marked seen by a rename after its batch
commits."""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from regdesk.channels import services as intake
from regdesk.channels.email_intake import email_ingest_many
from regdesk.channels.maildir import maildir_import
from regdesk.channels.models import Inbound
from regdesk.desks.models import Desk
from regdesk.tickets import services as tickets
from regdesk.tickets.models import Message, Ticket
from tests.channels.test_email_intake import customer, mail
from tests.desk.factories import make_desk

pytestmark = pytest.mark.django_db


@pytest.fixture
def wialon() -> Desk:
    return make_desk("wialon", prefix="WIA")


def test_a_bad_message_in_a_batch_is_quarantined_alone(wialon: Desk) -> None:
    customer(wialon, "anna@fleet.example")
    good = [
        mail(sender="anna@fleet.example", to="support@wialon.com", subject=f"Issue {n}")
        for n in range(3)
    ]
    raws = [
        good[0],
        b"\x00\x01 not mail",
        good[1],
        mail(sender="anna@fleet.example", to="help@unknown.example"),
        good[2],
        b"  \n",  # nothing to store
    ]
    rows = email_ingest_many(raws=raws, source="t")
    assert rows[5] is None
    states = [row.state if row else None for row in rows]
    assert states == ["processed", "quarantined", "processed", "quarantined", "processed", None]
    assert rows[3] is not None
    assert rows[3].result == "quarantined: no desk receives mail for help@unknown.example"
    # the numbers of the ones that passed are consecutive: nothing of the failed ones is kept
    assert [row.result for row in rows if row and row.outcome == "ticket"] == [
        "WIA-000001",
        "WIA-000002",
        "WIA-000003",
    ]
    assert Ticket.objects.count() == 3
    assert Message.objects.filter(kind=Message.Kind.CUSTOMER).count() == 3
    assert bytes(Inbound.objects.get(pk=rows[1].pk).raw) == b"\x00\x01 not mail"  # type: ignore[union-attr]


def test_an_unexpected_error_rolls_back_only_its_message(
    wialon: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer(wialon, "anna@fleet.example")
    real = tickets.tickets_register

    def failing(*, drafts: list[tickets.TicketDraft]) -> list[Ticket]:
        registered = real(drafts=drafts)  # its rows are written, then the database refuses
        if any(draft.ticket.subject == "Issue 1" for draft in drafts):
            raise IntegrityError("the database refused")
        return registered

    # the batch's requests are registered together, then again one by one: only Issue 1 fails
    monkeypatch.setattr("regdesk.channels.services.tickets_register", failing)
    raws = [
        mail(sender="anna@fleet.example", to="support@wialon.com", subject=f"Issue {n}")
        for n in range(4)
    ]
    rows = email_ingest_many(raws=raws, source="t")
    assert [row.state for row in rows if row] == [
        "processed",
        "quarantined",
        "processed",
        "processed",
    ]
    assert rows[1] is not None
    assert "IntegrityError: the database refused" in rows[1].result
    assert "Traceback" in rows[1].error
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == [
        "Issue 0",
        "Issue 2",
        "Issue 3",
    ]


def test_a_message_twice_in_one_batch_is_stored_and_registered_once(wialon: Desk) -> None:
    customer(wialon, "anna@fleet.example")
    raw = mail(sender="anna@fleet.example", to="support@wialon.com")
    rows = email_ingest_many(raws=[raw, raw], source="t")
    assert rows[0] is not None
    assert rows[1] is not None
    assert rows[0].pk == rows[1].pk
    assert Inbound.objects.count() == 1
    assert Ticket.objects.count() == 1
    # and again in a later batch: returned as it was processed
    again = email_ingest_many(raws=[raw], source="t")
    assert again[0] is not None
    assert again[0].result == rows[0].result
    assert Ticket.objects.count() == 1


def test_a_reply_in_the_same_batch_as_its_request_threads(wialon: Desk) -> None:
    customer(wialon, "anna@fleet.example")
    first = mail(sender="anna@fleet.example", to="support@wialon.com", msgid="<req-1@fleet>")
    reply = mail(
        sender="anna@fleet.example",
        to="support@wialon.com",
        subject="Re: Reports do not open",
        body="It happened again.",
        headers={"In-Reply-To": "<req-1@fleet>", "References": "<req-1@fleet>"},
    )
    rows = email_ingest_many(raws=[first, reply], source="t")
    assert rows[0] is not None
    assert rows[1] is not None
    assert rows[1].outcome == Inbound.Outcome.FOLLOW_UP
    assert rows[1].result == rows[0].result
    assert Ticket.objects.count() == 1


def test_a_rolled_back_segment_leaves_no_change_on_an_earlier_segments_ticket(
    wialon: Desk,
) -> None:
    # Given a request returned at registration (waiting for the customer), then in the next
    # segment a reply to it and, after the reply, a message that fails
    customer(wialon, "anna@fleet.example")
    raws = [mail(sender="anna@fleet.example", to="support@wialon.com", msgid="<req-1@fleet>")]
    raws += [
        mail(sender="anna@fleet.example", to="support@wialon.com", subject=f"Other {n}")
        for n in range(intake.SEGMENT - 1)
    ]
    raws.append(
        mail(
            sender="anna@fleet.example",
            to="support@wialon.com",
            subject="Re: Reports do not open",
            body="Here is the unit ID you asked for.",
            headers={"In-Reply-To": "<req-1@fleet>", "References": "<req-1@fleet>"},
        )
    )
    raws.append(b"\x00 garbage")
    # When the batch runs (the reply's segment is rolled back and run again)
    rows = email_ingest_many(raws=raws, source="t")
    # Then the reply was applied once, to the ticket as stored: its status change is logged
    reply = rows[intake.SEGMENT]
    assert reply is not None
    assert (reply.outcome, reply.result) == (Inbound.Outcome.FOLLOW_UP, "WIA-000001")
    ticket = Ticket.objects.get(reference="WIA-000001")
    changes = [
        (e.data["from"], e.data["to"]) for e in ticket.events.filter(kind="status").order_by("pk")
    ]
    assert changes[-1] == ("waiting_for_customer", ticket.status)
    assert ticket.messages.filter(body__startswith="Here is the unit ID").count() == 1


def test_batches_smaller_than_a_segment_and_larger(wialon: Desk) -> None:
    customer(wialon, "anna@fleet.example")
    raws = [
        mail(sender="anna@fleet.example", to="support@wialon.com", subject=f"Issue {n}")
        for n in range(intake.SEGMENT * 2 + 3)
    ]
    raws[intake.SEGMENT + 4] = b"\x00 garbage"
    rows = email_ingest_many(raws=raws, source="t")
    assert sum(1 for row in rows if row and row.state == "quarantined") == 1
    assert Ticket.objects.count() == len(raws) - 1


def _assert_one_insert_a_segment(inserts: list[str]) -> None:
    """Two segments' rows: one INSERT each (SQLite splits one at its limit of parameters)."""
    if connection.vendor == "postgresql":
        assert len(inserts) == 2
    else:
        assert 2 <= len(inserts) < intake.SEGMENT


def test_a_segments_requests_are_registered_together_in_message_order(wialon: Desk) -> None:
    customer(wialon, "anna@fleet.example")
    raws = [
        mail(sender="anna@fleet.example", to="support@wialon.com", subject=f"Issue {n}")
        for n in range(intake.SEGMENT * 2)
    ]
    with CaptureQueriesContext(connection) as queries:
        rows = email_ingest_many(raws=raws, source="t")
    inserts = [q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "tickets_ticket"')]
    _assert_one_insert_a_segment(inserts)
    ordered = Ticket.objects.order_by("number")
    assert [t.subject for t in ordered] == [f"Issue {n}" for n in range(intake.SEGMENT * 2)]
    assert [row.result for row in rows if row] == [t.reference for t in ordered]
    assert [row.ticket_id for row in rows if row] == [t.pk for t in ordered]
    # each with its message, its event with its number, and its acknowledgement
    for ticket in ordered:
        assert ticket.messages.get(kind="customer").body
        assert ticket.events.get(kind="created").data["number"] == ticket.reference
        assert ticket.notifications.filter(event="registered").exists()


def test_a_segments_replies_are_registered_together(wialon: Desk) -> None:
    customer(wialon, "anna@fleet.example")
    count = intake.SEGMENT * 2
    requests = email_ingest_many(
        raws=[
            mail(sender="anna@fleet.example", to="support@wialon.com", subject=f"Issue {n}")
            for n in range(count)
        ],
        source="t",
    )
    replies = [
        mail(
            sender="anna@fleet.example",
            to="support@wialon.com",
            subject=f"Re: [{row.result}] Issue",
            body=f"Unit {n} again.",
        )
        for n, row in enumerate(requests)
        if row
    ]
    with CaptureQueriesContext(connection) as queries:
        rows = email_ingest_many(raws=replies, source="t")
    inserts = [q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "tickets_message"')]
    _assert_one_insert_a_segment(inserts)
    assert [row.result for row in rows if row] == [row.result for row in requests if row]
    for n, row in enumerate(requests):
        assert row is not None
        ticket = Ticket.objects.get(reference=row.result)
        said = ticket.messages.filter(kind="customer").order_by("pk").last()
        assert said is not None
        assert said.body.startswith(f"Unit {n} again.")
        event = ticket.events.get(kind="customer_message")
        assert event.data == {"message": said.pk}
        assert ticket.status == "new"  # returned at registration, answered, new again


def test_maildir_marks_seen_by_renaming_after_the_batch(wialon: Desk, tmp_path: Path) -> None:
    customer(wialon, "anna@fleet.example")
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    keys = [
        box.add(mail(sender="anna@fleet.example", to="support@wialon.com", subject=f"I{n}"))
        for n in range(5)
    ]
    flagged = box.get_message(keys[0])  # read and flagged in a mail client, not seen
    flagged.set_subdir("cur")
    flagged.add_flag("F")
    box[keys[0]] = flagged
    seen = box.get_message(keys[1])  # already seen: not imported
    seen.set_subdir("cur")
    seen.add_flag("S")
    box[keys[1]] = seen
    result = maildir_import(path=tmp_path / "Maildir", desk=wialon, batch=2)
    assert result.imported == 4
    assert Ticket.objects.count() == 4
    cur = sorted(p.name for p in (tmp_path / "Maildir" / "cur").iterdir())
    assert not list((tmp_path / "Maildir" / "new").iterdir())
    assert f"{keys[0]}:2,FS" in cur
    assert all(name.endswith("S") for name in cur)
    # the mailbox module reads what we wrote
    assert all("S" in box.get_message(key).get_flags() for key in keys)
    # run again: nothing left to import
    assert maildir_import(path=tmp_path / "Maildir", desk=wialon).imported == 0
    assert Ticket.objects.count() == 4


def test_a_colleague_in_copy_may_follow_up_in_the_same_batch(wialon: Desk) -> None:
    anna = customer(wialon, "anna@fleet.example")
    colleague = customer(wialon, "boris@partner.example")
    assert colleague.organisation_id != anna.organisation_id
    first = mail(
        sender="anna@fleet.example",
        to="support@wialon.com",
        msgid="<req-1@fleet>",
        headers={"Cc": "Boris <boris@partner.example>"},
    )
    # a reply to the mail he was copied on (its number is not given yet: nothing names it)
    follow = mail(
        sender="boris@partner.example",
        to="support@wialon.com",
        subject="Re: Reports",
        headers={"In-Reply-To": "<req-1@fleet>", "References": "<req-1@fleet>"},
    )
    rows = email_ingest_many(raws=[first, follow], source="t")
    assert rows[0] is not None
    assert rows[1] is not None
    assert rows[0].result == "WIA-000001"
    assert rows[1].outcome == Inbound.Outcome.FOLLOW_UP
    assert rows[1].result == "WIA-000001"


def test_replies_in_a_batch_see_the_whole_history(wialon: Desk) -> None:
    from regdesk.tickets.services import ticket_reply
    from tests.desk.factories import make_agent

    customer(wialon, "anna@fleet.example")
    first, second = email_ingest_many(
        raws=[
            mail(sender="anna@fleet.example", to="support@wialon.com", subject=f"Issue {n}")
            for n in range(2)
        ],
        source="t",
    )
    assert first is not None
    assert second is not None
    agent = make_agent(wialon)
    taken = Ticket.objects.get(reference=first.result)
    ticket_reply(ticket=taken, author=agent, body="Which unit?")  # an agent has taken it
    # the second was returned at registration and nobody took it: it is new again
    replies = [
        mail(
            sender="anna@fleet.example",
            to="support@wialon.com",
            subject=f"Re: [{row.result}] Issue",
            body=f"Unit {n}.",
        )
        for n, row in enumerate([first, second, first])
    ]
    rows = email_ingest_many(raws=replies, source="t")
    assert [row.result for row in rows if row] == [first.result, second.result, first.result]
    taken.refresh_from_db()
    untouched = Ticket.objects.get(reference=second.result)
    assert taken.status == "accepted"
    assert untouched.status == "new"
    # the clocks were computed from every event, the batch's own included
    assert taken.events.filter(kind="customer_message").count() == 2
    expected = tickets.clock_summary(
        tickets.evaluate_clocks(
            taken.regulation_version.clocks,
            tickets.core_events(taken),
            now=taken.updated_at,
        )
    )
    assert taken.clock_state == expected["clock_state"]


def test_a_maildir_message_moved_meanwhile_is_skipped(
    wialon: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from regdesk.channels import maildir

    customer(wialon, "anna@fleet.example")
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for n in range(3):
        box.add(mail(sender="anna@fleet.example", to="support@wialon.com", subject=f"I{n}"))
    listed = maildir._unseen(tmp_path / "Maildir")
    listed[1].file.unlink()  # taken by a mail client after the listing
    monkeypatch.setattr(maildir, "_unseen", lambda _path: listed)
    result = maildir.maildir_import(path=tmp_path / "Maildir", desk=wialon)
    assert result.imported == 2
    assert Ticket.objects.count() == 2


def test_a_parallel_import_runs_in_one_process_on_sqlite_and_not_in_a_transaction(
    wialon: Desk, tmp_path: Path
) -> None:
    customer(wialon, "anna@fleet.example")
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for n in range(3):
        box.add(mail(sender=f"user{n}@fleet.example", to="support@wialon.com", subject=f"I{n}"))
    if connection.vendor == "postgresql":
        # the workers could not see this test's uncommitted rows: refused, nothing touched
        with pytest.raises(RuntimeError, match="inside a transaction"):
            maildir_import(path=tmp_path / "Maildir", desk=wialon, workers=2)
        assert Inbound.objects.count() == 0
        assert len(list((tmp_path / "Maildir" / "new").iterdir())) == 3
    else:
        # SQLite takes one writer at a time: the import runs here, in one process
        result = maildir_import(path=tmp_path / "Maildir", desk=wialon, workers=2)
        assert result.imported == 3
        assert result.error == ""
        assert Inbound.objects.count() == 3


def test_a_batchs_requests_take_the_number_counter_once_at_its_end(wialon: Desk) -> None:
    # Given existing tickets, and a batch where new requests alternate with replies to those
    # tickets (by the number in the subject, and two to the same ticket)
    customer(wialon, "anna@fleet.example")
    existing = email_ingest_many(
        raws=[
            mail(sender="anna@fleet.example", to="support@wialon.com", subject=f"Old {n}")
            for n in range(2)
        ],
        source="t",
    )
    old = [row.result for row in existing if row]
    raws = []
    for n in range(3):
        raws.append(mail(sender="anna@fleet.example", to="support@wialon.com", subject=f"New {n}"))
        raws.append(
            mail(
                sender="anna@fleet.example",
                to="support@wialon.com",
                subject=f"Re: [{old[n % 2]}] Old",
                body=f"Reply {n}.",
            )
        )
    # When it is processed
    with CaptureQueriesContext(connection) as queries:
        rows = email_ingest_many(raws=raws, source="t")
    # Then the desk's number counter (locked until the batch commits) is taken once, for the
    # three requests together, after every message was handled: a reply flushes only what it
    # needs (its ticket's earlier replies), never the requests drafted before it
    counters = [n for n, q in enumerate(queries) if "SET next_number" in q["sql"]]
    assert len(counters) == 1
    assert [row.result for row in rows if row] == [
        "WIA-000003", old[0], "WIA-000004", old[1], "WIA-000005", old[0]
    ]  # fmt: skip
    # and the two replies to one ticket are on it in the order they came
    ticket = Ticket.objects.get(reference=old[0])
    said = ticket.messages.filter(kind="customer").order_by("pk").values_list("body", flat=True)
    assert [body.split("\n")[0] for body in said][1:] == ["Reply 0.", "Reply 2."]


def test_a_message_a_concurrent_receiver_stored_meanwhile_is_taken_as_stored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from regdesk.channels.services import Received, inbound_receive_many

    real = intake.rows_insert
    concurrent: list[Inbound] = []

    def after_another_receiver(*, rows: list[Inbound], unique: str = "") -> list[Inbound]:
        # between this receiver's read and its insert, another one stores the second message
        concurrent.append(
            Inbound.objects.create(
                channel="email",
                key="b@x",
                raw=b"theirs",
                source="other",
                received_at=rows[0].received_at,
            )
        )
        return real(rows=rows, unique=unique)

    monkeypatch.setattr(intake, "rows_insert", after_another_receiver)
    items = [Received("a@x", b"mine a"), Received("b@x", b"mine b"), Received("c@x", b"mine c")]
    rows = inbound_receive_many(channel="email", items=items, source="t")
    assert [row.key for row in rows] == ["a@x", "b@x", "c@x"]
    assert rows[1].pk == concurrent[0].pk  # theirs, not a second row
    assert Inbound.objects.count() == 3
    assert [bytes(row.raw) for row in Inbound.objects.order_by("key")] == [
        b"mine a", b"theirs", b"mine c"
    ]  # fmt: skip
    assert all(row.pk for row in rows)


def test_a_batchs_attachments_are_written_before_the_number_and_stored_together(
    wialon: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.files.storage import default_storage

    from regdesk.tickets.models import Attachment

    customer(wialon, "anna@fleet.example")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    raws = [
        mail(
            sender="anna@fleet.example",
            to="support@wialon.com",
            subject=f"Issue {n}",
            attachments=[(f"shot-{n}.png", "image/png", png)],
        )
        for n in range(3)
    ]
    # the files are in storage when the desk's number counter is taken (held until commit)
    real = tickets._number
    files_at_number: list[int] = []
    shots = tuple(f"-shot-{n}.png" for n in range(3))

    def counting(drafts: list[tickets.TicketDraft]) -> None:
        folders = default_storage.listdir("attachments/wialon")[0]
        names = [n for f in folders for n in default_storage.listdir(f"attachments/wialon/{f}")[1]]
        files_at_number.append(sum(1 for name in names if name.endswith(shots)))
        real(drafts)

    monkeypatch.setattr(tickets, "_number", counting)
    with CaptureQueriesContext(connection) as queries:
        rows = email_ingest_many(raws=raws, source="t")
    assert files_at_number == [3]
    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "tickets_attachment"')]
    assert len(inserts) == 1
    for n, row in enumerate(rows):
        assert row is not None
        attachment = Attachment.objects.get(message__ticket__reference=row.result)
        assert attachment.filename == f"shot-{n}.png"
        with attachment.file.open("rb") as handle:
            assert handle.read() == png


def test_maildir_messages_are_taken_in_delivery_order(wialon: Desk, tmp_path: Path) -> None:
    from regdesk.channels.maildir import delivery_order

    customer(wialon, "anna@fleet.example")
    box = tmp_path / "Maildir"
    mailbox.Maildir(box, create=True)
    # delivered 0.098765 s and 0.512345 s into one second: as text, the reply's name sorts first
    request = mail(sender="anna@fleet.example", to="support@wialon.com", msgid="<req@fleet>")
    reply = mail(
        sender="anna@fleet.example",
        to="support@wialon.com",
        subject="Re: Reports do not open",
        headers={"In-Reply-To": "<req@fleet>"},
    )
    (box / "new" / "1700000000.M98765P7Q1.host").write_bytes(request)
    (box / "new" / "1700000000.M512345P7Q2.host").write_bytes(reply)
    result = maildir_import(path=box, desk=wialon)
    assert result.results == ["WIA-000001", "WIA-000001"]
    assert Ticket.objects.count() == 1
    names = ["1700000001.M5P1Q9.h", "1700000000.M512345P7Q2.h", "1700000000.M98765P7Q1.h", "x"]
    assert sorted(names, key=delivery_order) == [
        "1700000000.M98765P7Q1.h", "1700000000.M512345P7Q2.h", "1700000001.M5P1Q9.h", "x"
    ]  # fmt: skip
