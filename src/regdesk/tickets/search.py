"""Full-text search: PostgreSQL full-text search, SQLite FTS5 on the embedded default.

The index holds one document per ticket (number, subject, field values, message bodies); the
services refresh it whenever a ticket or its messages change.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from regdesk.tickets.models import Ticket

_TOKEN = re.compile(r"\w+", re.UNICODE)


def ticket_document(ticket: Ticket, *, bodies: list[str] | None = None) -> str:
    """The searchable text of a ticket; ``bodies`` saves a query when the caller has them."""
    parts = [ticket.reference, ticket.subject]
    parts += [str(value) for value in (ticket.fields or {}).values()]
    if bodies is None:
        bodies = list(ticket.messages.values_list("body", flat=True))
    parts += bodies
    return "\n".join(parts)


def search_index_update(ticket: Ticket, *, document: str | None = None) -> None:
    """(Re)index a ticket; pass ``document`` when the caller already has it."""
    if document is None:
        document = ticket_document(ticket)
    search_index_update_many(documents=[(ticket, document)])


def search_index_update_many(*, documents: Sequence[tuple[Ticket, str]]) -> None:
    """(Re)index several tickets with their documents: one statement on PostgreSQL."""
    if not documents:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "INSERT INTO tickets_search (ticket_id, document) "
                "SELECT t.id, to_tsvector('simple', t.document) "
                "FROM unnest(%b::bigint[], %b::text[]) AS t(id, document) "
                "ON CONFLICT (ticket_id) DO UPDATE SET document = EXCLUDED.document",
                [[ticket.pk for ticket, _d in documents], [d for _t, d in documents]],
            )
            return
        for ticket, document in documents:
            cursor.execute("DELETE FROM tickets_fts WHERE rowid = %s", [ticket.pk])
            cursor.execute(
                "INSERT INTO tickets_fts (rowid, document) VALUES (%s, %s)", [ticket.pk, document]
            )


def search_index_append(ticket: Ticket, *, text: str) -> None:
    """Add a new message's text to a ticket's document (PostgreSQL: appended in place, no
    re-read; elsewhere the document is rebuilt)."""
    if connection.vendor != "postgresql":
        search_index_update(ticket)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tickets_search SET document = document || to_tsvector('simple', %s) "
            "WHERE ticket_id = %s",
            [text, ticket.pk],
        )
        appended = cursor.rowcount
    if not appended:  # never indexed (older data): index it whole
        search_index_update(ticket)


def search_index_append_many(*, texts: Sequence[tuple[Ticket, str]]) -> None:
    """``search_index_append`` for several tickets: one statement on PostgreSQL."""
    if connection.vendor != "postgresql" or len(texts) == 1:
        for ticket, text in texts:
            search_index_append(ticket, text=text)
        return
    joined: dict[int, str] = {}
    tickets: dict[int, Ticket] = {}
    for ticket, text in texts:
        joined[ticket.pk] = joined[ticket.pk] + "\n" + text if ticket.pk in joined else text
        tickets[ticket.pk] = ticket
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tickets_search AS s SET document = s.document || to_tsvector('simple', t.text) "
            "FROM unnest(%b::bigint[], %b::text[]) AS t(id, text) WHERE s.ticket_id = t.id "
            "RETURNING s.ticket_id",
            [list(joined), list(joined.values())],
        )
        appended = {row[0] for row in cursor.fetchall()}
    for pk, ticket in tickets.items():
        if pk not in appended:  # never indexed (older data): index it whole
            search_index_update(ticket)


def ticket_search(tickets: QuerySet[Ticket], text: str) -> QuerySet[Ticket]:
    """Narrow ``tickets`` (already visibility-filtered) to those matching every word of ``text``."""
    words = _TOKEN.findall(text.lower())
    if not words:
        return tickets
    if connection.vendor == "postgresql":
        query = " & ".join(f"{w}:*" for w in words)
        matching = RawSQL(
            "SELECT ticket_id FROM tickets_search WHERE document @@ to_tsquery('simple', %s)",
            [query],
        )
    else:
        query = " ".join(f'"{w}"*' for w in words)
        matching = RawSQL("SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH %s", [query])
    return tickets.filter(id__in=matching)
