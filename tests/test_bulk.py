"""rows_update: many rows' fields in one statement, as they are in memory; rows_insert: new rows,
their keys set, taken unique values skipped."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from regdesk.bulk import keys_reserve, pipelined, rows_insert, rows_update
from regdesk.channels.models import Inbound
from regdesk.notifications.models import Notification
from regdesk.tickets.models import Message, Ticket
from tests.desk.factories import PersonFactory, make_desk

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")


def _now() -> datetime:
    return datetime.now(UTC)


def test_rows_update_stores_each_rows_own_values_and_nothing_else() -> None:
    # Given three stored rows
    rows = [
        Inbound.objects.create(
            channel="email", key=f"k{n}", raw=b"raw", source="t", received_at=datetime.now(UTC)
        )
        for n in range(3)
    ]
    # When two are changed in memory (text, JSON, a null and a zone-aware instant) and stored
    rows[0].result = "WIA-000001"
    rows[0].warnings = ["first", {"nested": 1}]
    rows[0].processed_at = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
    rows[1].result = "consultation"
    rows[1].warnings = []
    rows[1].processed_at = None
    rows[1].source = "not stored: not among the fields"
    with CaptureQueriesContext(connection) as queries:
        rows_update(rows=rows[:2], fields=["result", "warnings", "processed_at"])
    # Then each row has its own values, the third is untouched, in one statement on PostgreSQL
    stored = {row.key: row for row in Inbound.objects.all()}
    assert stored["k0"].result == "WIA-000001"
    assert stored["k0"].warnings == ["first", {"nested": 1}]
    assert stored["k0"].processed_at == datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
    assert stored["k1"].result == "consultation"
    assert stored["k1"].warnings == []
    assert stored["k1"].processed_at is None
    assert stored["k1"].source == "t"
    assert stored["k2"].result == ""
    if connection.vendor == "postgresql":
        assert len(queries) == 1


def test_rows_insert_stores_one_row_and_takes_its_relations_keys() -> None:
    # Given a message built around a ticket that was stored after the message was built
    desk = make_desk("service-desk", slug="bulk", prefix="BLK")
    requester = PersonFactory()
    stored = Ticket.objects.create(
        desk=desk, regulation_version=desk.regulation_versions.get(), number=1,
        reference="BLK-000001", request_type="incident", subject="s", requester=requester,
        channel="portal", created_at=datetime.now(UTC), updated_at=datetime.now(UTC),
    )  # fmt: skip
    ticket = Ticket(pk=None)
    message = Message(ticket=ticket, kind="customer", body="hello", created_at=datetime.now(UTC))
    ticket.pk = stored.pk
    # When it is inserted alone
    with CaptureQueriesContext(connection) as queries:
        saved = rows_insert(rows=[message])
    # Then it is stored, with its key, under that ticket, in one statement
    assert saved == [message]
    assert message.pk is not None
    assert not message._state.adding
    assert Message.objects.get(pk=message.pk).ticket_id == stored.pk
    assert len(queries) == 1
    # and it still holds that ticket: reading it asks the database nothing (each such read
    # was two queries a request in an email batch when the key was set without the row)
    with CaptureQueriesContext(connection) as reads:
        assert message.ticket is ticket
    assert len(reads) == 0


@pytest.mark.parametrize("count", [1, 3])
def test_rows_insert_skips_taken_unique_values_and_returns_the_rest_in_order(count: int) -> None:
    # Given a stored notification key
    Notification.objects.create(key="taken", event="registered", channel="email", address="a@x")
    fresh = [
        Notification(key=f"new{n}", event="registered", channel="email", address=f"{n}@x")
        for n in range(count)
    ]
    rows = [Notification(key="taken", event="registered", channel="email", address="b@x")]
    rows += fresh
    # When a batch holding it is inserted (with one fresh row, or three)
    saved = rows_insert(rows=rows, unique="key")
    # Then the taken key is skipped and the rest stored, in order, with their keys
    assert saved == fresh
    assert [n.pk is not None for n in saved] == [True] * count
    assert Notification.objects.get(key="taken").address == "a@x"
    assert set(Notification.objects.values_list("key", flat=True)) == {"taken"} | {
        f"new{n}" for n in range(count)
    }
    # and alone, a row whose key is taken is skipped, and a fresh one stored
    assert rows_insert(rows=[rows[0]], unique="key") == []
    assert rows[0].pk is None
    alone = Notification(key="alone", event="registered", channel="email", address="c@x")
    assert rows_insert(rows=[alone], unique="key") == [alone]
    assert Notification.objects.get(pk=alone.pk).key == "alone"


def test_reserved_keys_are_the_keys_rows_are_stored_under() -> None:
    # Given new rows of two models
    desk = make_desk("service-desk", slug="bulk", prefix="BLK")
    events = [Notification(key=f"n{n}", event="registered", channel="email") for n in range(2)]
    inbound = Inbound(channel="email", key="r", raw=b"raw", source="t", received_at=_now())
    # When their keys are reserved and they are stored
    keys_reserve(rows=[*events, inbound])
    reserved = [row.pk for row in (*events, inbound)]
    for row in (*events, inbound):
        rows_insert(rows=[row])
    # Then on PostgreSQL each kept its reserved key, distinct ones; elsewhere they were given
    # theirs when stored
    if connection.vendor == "postgresql":
        assert None not in reserved
        assert len(set(reserved[:2])) == 2
        assert [row.pk for row in (*events, inbound)] == reserved
    else:
        assert reserved == [None, None, None]
    assert Notification.objects.filter(pk__in=[e.pk for e in events]).count() == 2
    assert Inbound.objects.get(pk=inbound.pk).key == "r"
    assert desk.pk is not None


def test_a_failure_in_a_pipelined_block_is_djangos_error_and_stores_nothing() -> None:
    # Given a stored notification key
    Notification.objects.create(key="taken", event="registered", channel="email")

    # When a pipelined transaction stores a fresh row, then one whose key is taken
    def store_both() -> None:
        with transaction.atomic(), pipelined():
            rows_insert(rows=[Notification(key="fresh", event="registered", channel="email")])
            duplicate = Notification(key="taken", event="registered", channel="email")
            keys_reserve(rows=[duplicate])
            rows_insert(rows=[duplicate])
            Notification.objects.count()  # a read: the failure is reported by now at the latest

    with pytest.raises(IntegrityError):
        store_both()
    # Then the failure is Django's IntegrityError and the fresh row went with the transaction
    assert list(Notification.objects.values_list("key", flat=True)) == ["taken"]


def test_several_rows_with_reserved_keys_are_stored_under_them_in_one_statement() -> None:
    # Given three new rows whose keys are reserved
    rows = [
        Inbound(channel="email", key=f"m{n}", raw=b"raw", source="t", received_at=_now())
        for n in range(3)
    ]
    keys_reserve(rows=rows)
    reserved = [row.pk for row in rows]
    # When they are stored together
    with CaptureQueriesContext(connection) as queries:
        stored = rows_insert(rows=rows)
    # Then they are stored, in one statement, under the reserved keys (PostgreSQL) or new ones
    assert stored == rows
    assert len(queries) == 1
    assert {row.key: row.pk for row in Inbound.objects.all()} == {r.key: r.pk for r in rows}
    if connection.vendor == "postgresql":
        assert [row.pk for row in rows] == reserved
        assert "RETURNING" not in queries[0]["sql"]


@pytest.mark.parametrize("count", [1, 2])
def test_rows_insert_stores_instants_in_any_zone_and_warns_about_naive_ones(count: int) -> None:
    # Given inbound rows received at the same instant written in three ways: in UTC, in
    # another zone, and naive (a mistake Django warns about and reads as UTC)
    moscow = datetime(2026, 12, 2, 12, 30, tzinfo=ZoneInfo("Europe/Moscow"))
    instants = {
        "utc": datetime(2026, 12, 2, 9, 30, tzinfo=UTC),
        "moscow": moscow,
        "naive": datetime(2026, 12, 2, 9, 30),  # noqa: DTZ001 (the mistake under test)
    }
    for name, at in instants.items():
        rows = [
            Inbound(channel="email", key=f"{name}{n}", raw=b"r", source="t", received_at=at)
            for n in range(count)
        ]
        if name == "naive":
            with pytest.warns(RuntimeWarning, match="naive datetime"):
                rows_insert(rows=rows)
        else:
            rows_insert(rows=rows)
    # Then each is stored as the same instant
    stored = set(Inbound.objects.values_list("received_at", flat=True))
    assert stored == {datetime(2026, 12, 2, 9, 30, tzinfo=UTC)}
    assert Inbound.objects.count() == 3 * count
