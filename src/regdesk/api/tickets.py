"""Tickets over the API: create, list, read and every lifecycle action.

Endpoints parse input, resolve objects through the visibility selector (404 for anything the
caller may not see) and call one service each.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import F, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import File, Form, Query, Router, Schema
from ninja.files import UploadedFile

from regdesk.api.auth import require_scope, token_desk_ids
from regdesk.api.schemas import (
    AgreedTargetIn,
    AssignIn,
    ClockOut,
    EventOut,
    FieldsIn,
    MergeIn,
    MessageOut,
    PriorityIn,
    RefuseIn,
    ReplyIn,
    ReplyStatus,
    ReturnIn,
    SplitIn,
    TextIn,
    TicketCreateIn,
    TicketOut,
    TicketPage,
    UnitIn,
)
from regdesk.core.clocks import ClockState, evaluate_clocks
from regdesk.core.regulation import ChannelRole
from regdesk.desks.models import Desk
from regdesk.desks.selectors import desk_active, regulation_current
from regdesk.directory.models import Person, PersonEmail
from regdesk.tickets import services
from regdesk.tickets.models import Message, Ticket, TicketEvent
from regdesk.tickets.search import ticket_search
from regdesk.tickets.selectors import agent_desk_ids, is_agent_of, ticket_visible_to

router = Router(tags=["tickets"])


def iso(value: datetime | None) -> str | None:
    # In UTC, as read from the database, also for instants still in memory after a write.
    return value.astimezone(UTC).isoformat() if value is not None else None


# --------------------------------------------------------------------------- lookups


def visible_tickets(request: HttpRequest) -> QuerySet[Ticket]:
    """THE selector, narrowed to the token's desks when the token is limited."""
    tickets = ticket_visible_to(request.user)
    desks = token_desk_ids(request)
    return tickets.filter(desk_id__in=desks) if desks is not None else tickets


def get_ticket(request: HttpRequest, reference: str) -> Ticket:
    ticket = (
        visible_tickets(request)
        .select_related(
            "desk",
            "requester",
            "organisation",
            "assignee",
            "regulation_version",
            "merged_into",
            "split_from",
        )
        .filter(reference=reference.upper())
        .first()
    )
    if ticket is None:
        raise Http404
    return ticket


def caller_is_agent(request: HttpRequest, ticket: Ticket) -> bool:
    return is_agent_of(request.user, ticket.desk_id)


def caller_person(request: HttpRequest) -> Person:
    person = getattr(request.user, "person", None)
    if person is None:
        raise services.TicketError("This account is not a requester.")
    return person


# What the API shows of a ticket: these columns, and one value of each relation (named as
# ``values()`` names them). ``ticket_out`` reads them from a model; the list reads them as rows,
# which spares building six model instances per ticket.
_COLUMNS = (
    "id", "reference", "status", "priority", "proposed_priority", "request_type", "subject",
    "fields", "missing_fields", "requester_id", "tier", "line", "team", "channel", "language",
    "created_at", "updated_at", "resolved_at", "next_due_at", "next_due_clock", "breached",
    "out_of_lifecycle", "lifecycle_note", "merged_into_id", "split_from_id",
)  # fmt: skip
_RELATED = {
    "desk_slug": F("desk__slug"),
    "requester_name": F("requester__full_name"),
    "organisation_name": F("organisation__name"),
    "assignee_username": F("assignee__username"),
    "regulation": F("regulation_version__version"),
}


def _out(row: dict[str, Any], references: dict[int, str]) -> dict[str, Any]:
    """The API's view of a ticket from its ``_COLUMNS`` and ``_RELATED`` values."""
    return {
        "reference": row["reference"],
        "desk": row["desk_slug"],
        "status": row["status"],
        "priority": row["priority"],
        "proposed_priority": row["proposed_priority"],
        "request_type": row["request_type"],
        "subject": row["subject"],
        "fields": row["fields"],
        "missing_fields": row["missing_fields"],
        "requester": {"id": row["requester_id"], "name": row["requester_name"]},
        "organisation": row["organisation_name"],
        "tier": row["tier"],
        "line": row["line"],
        "team": row["team"],
        "assignee": row["assignee_username"],
        "channel": row["channel"],
        "language": row["language"],
        "regulation_version": row["regulation"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "resolved_at": iso(row["resolved_at"]),
        "next_due_at": iso(row["next_due_at"]),
        "next_due_clock": row["next_due_clock"],
        "breached": row["breached"],
        "out_of_lifecycle": row["out_of_lifecycle"],
        "lifecycle_note": row["lifecycle_note"],
        "merged_into": references.get(row["merged_into_id"]) if row["merged_into_id"] else None,
        "split_from": references.get(row["split_from_id"]) if row["split_from_id"] else None,
    }


def ticket_out(ticket: Ticket, references: dict[int, str] | None = None) -> dict[str, Any]:
    """The API's view of a ticket; ``references`` (id -> reference) spares loading the tickets
    it was merged into or split from."""
    known = dict(references or {})
    for name in ("merged_into", "split_from"):
        pk = getattr(ticket, f"{name}_id")
        if pk is not None and pk not in known:
            known[pk] = str(getattr(ticket, name).reference)
    row = {column: getattr(ticket, column) for column in _COLUMNS}
    row |= {
        "desk_slug": ticket.desk.slug,
        "requester_name": ticket.requester.full_name,
        "organisation_name": ticket.organisation.name if ticket.organisation else None,
        "assignee_username": ticket.assignee.get_username() if ticket.assignee else None,
        "regulation": ticket.regulation_version.version,
    }
    return _out(row, known)


def _refreshed(ticket: Ticket) -> dict[str, Any]:
    ticket.refresh_from_db()
    return ticket_out(ticket)


# --------------------------------------------------------------------------- list and create


class TicketFilters(Schema):
    desk: str | None = None
    status: list[str] | None = None
    priority: str | None = None
    request_type: str | None = None
    assignee: str | None = None  # a username, "me" or "none"
    team: str | None = None
    line: str | None = None
    breached: bool | None = None
    q: str | None = None
    cursor: str | None = None
    limit: int = 50


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        stamp, pk = text.rsplit("|", 1)
        return datetime.fromisoformat(stamp), int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise services.TicketError(
            "Invalid cursor.", {"cursor": "not a cursor from this API"}
        ) from None


def _encode_cursor(created_at: datetime, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{pk}".encode()).decode()


@router.get("/tickets", response=TicketPage, summary="List visible tickets (newest first)")
def ticket_list(
    request: HttpRequest, filters: Query[TicketFilters]
) -> dict[str, Any] | HttpResponse:
    require_scope(request, "read")
    tickets = visible_tickets(request)
    if filters.desk:
        tickets = tickets.filter(desk__slug=filters.desk)
    if filters.status:
        tickets = tickets.filter(status__in=filters.status)
    for key in ("priority", "request_type", "team", "line"):
        value = getattr(filters, key)
        if value:
            tickets = tickets.filter(**{key: value})
    if filters.assignee == "me":
        tickets = tickets.filter(assignee=request.user)
    elif filters.assignee == "none":
        tickets = tickets.filter(assignee__isnull=True)
    elif filters.assignee:
        tickets = tickets.filter(assignee__username=filters.assignee)
    if filters.breached is not None:
        tickets = tickets.filter(breached=filters.breached)
    if filters.q:
        tickets = ticket_search(tickets, filters.q)
    if filters.cursor:
        stamp, pk = _decode_cursor(filters.cursor)
        tickets = tickets.filter(Q(created_at__lt=stamp) | Q(created_at=stamp, pk__lt=pk))
    limit = max(1, min(filters.limit, 200))
    ordered = tickets.order_by("-created_at", "-pk")
    if connection.vendor == "postgresql":
        return _page_json(ordered, limit)
    page = _page(ordered, limit + 1)
    more = len(page) > limit
    page = page[:limit]
    references = _related_references(page)
    return {
        "items": [_out(row, references) for row in page],
        "next_cursor": _encode_cursor(page[-1]["created_at"], page[-1]["id"]) if more else None,
    }


def _page(ordered: QuerySet[Ticket], size: int) -> list[dict[str, Any]]:
    """One page of ``ordered`` as the rows ``_out`` reads (SQLite).

    The page's ids come from a subquery on narrow rows, its LIMIT applied before any join; then
    those rows' shown columns with their relations'.
    """
    page = ordered.values("pk")[:size]
    rows = (
        Ticket.objects.filter(pk__in=page)
        .order_by(*ordered.query.order_by)
        .values(*_COLUMNS, **_RELATED)
    )
    return list(rows)


def _page_json(ordered: QuerySet[Ticket], limit: int) -> HttpResponse:
    """One page on PostgreSQL: the page's ids first, from a query on narrow rows with its
    LIMIT applied before any join (joining before the LIMIT took PostgreSQL 8-12 ms at
    6,000-100,000 tickets of a desk; this takes about 1 ms); then PostgreSQL writes the page's
    JSON itself (``_PAGE_JSON``, the shape of ``_out``). Reading the rows into Python, converting
    them and validating them again was two thirds of a list request's CPU.
    """
    ids = list(ordered.values_list("pk", flat=True)[: limit + 1])
    more = len(ids) > limit
    ids = ids[:limit]
    with connection.cursor() as cursor:
        cursor.execute(_PAGE_JSON, [ids])
        items, last_created = cursor.fetchone()
    cursor_value = None
    if more:
        stamp = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=last_created)
        cursor_value = _encode_cursor(stamp, ids[-1])
    body = f'{{"items": {items}, "next_cursor": {json.dumps(cursor_value)}}}'
    return HttpResponse(body, content_type="application/json")


def _iso_sql(column: str) -> str:
    """An instant as ``iso`` writes it (UTC, "+00:00", microseconds in six digits or none):
    PostgreSQL's own JSON of a timestamptz drops a fraction's trailing zeros."""
    utc = f"{column} AT TIME ZONE 'UTC'"
    return (
        f"CASE WHEN {column} IS NULL THEN NULL "
        f"WHEN date_part('microseconds', {column})::bigint %% 1000000 = 0 "
        f"""THEN to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"') """
        f"""ELSE to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') END"""
    )


# The list's items as ``_out`` makes them, written by PostgreSQL; tests hold each item equal
# to the ticket's own page. The second column is the last item's creation instant, in
# microseconds.
_PAGE_JSON = f"""
SELECT coalesce(json_agg(item ORDER BY ord), '[]')::text,
       (array_agg((extract(epoch from created_at) * 1000000)::bigint ORDER BY ord DESC))[1]
FROM (
  SELECT p.ord, t.created_at, json_build_object(
    'reference', t.reference, 'desk', d.slug, 'status', t.status, 'priority', t.priority,
    'proposed_priority', t.proposed_priority, 'request_type', t.request_type,
    'subject', t.subject, 'fields', t.fields, 'missing_fields', t.missing_fields,
    'requester', json_build_object('id', t.requester_id, 'name', r.full_name),
    'organisation', o.name, 'tier', t.tier, 'line', t.line, 'team', t.team,
    'assignee', u.username, 'channel', t.channel, 'language', t.language,
    'regulation_version', v.version, 'created_at', {_iso_sql("t.created_at")},
    'updated_at', {_iso_sql("t.updated_at")}, 'resolved_at', {_iso_sql("t.resolved_at")},
    'next_due_at', {_iso_sql("t.next_due_at")}, 'next_due_clock', t.next_due_clock,
    'breached', t.breached, 'out_of_lifecycle', t.out_of_lifecycle,
    'lifecycle_note', t.lifecycle_note, 'merged_into', m.reference, 'split_from', sf.reference
  ) AS item
  FROM unnest(%s::bigint[]) WITH ORDINALITY AS p(id, ord)
  JOIN tickets_ticket t ON t.id = p.id
  JOIN desks_desk d ON d.id = t.desk_id
  JOIN directory_person r ON r.id = t.requester_id
  JOIN desks_regulationversion v ON v.id = t.regulation_version_id
  LEFT JOIN directory_organisation o ON o.id = t.organisation_id
  LEFT JOIN auth_user u ON u.id = t.assignee_id
  LEFT JOIN tickets_ticket m ON m.id = t.merged_into_id
  LEFT JOIN tickets_ticket sf ON sf.id = t.split_from_id
) AS page
"""


def _related_references(rows: list[dict[str, Any]]) -> dict[int, str]:
    """References of the tickets these were merged into or split from, in one query."""
    ids = {pk for r in rows for pk in (r["merged_into_id"], r["split_from_id"]) if pk is not None}
    if not ids:
        return {}
    return dict(Ticket.objects.filter(pk__in=ids).values_list("pk", "reference"))


def _desk_for(request: HttpRequest, slug: str) -> Desk:
    desk = desk_active(slug=slug)
    if desk is None:
        raise Http404
    token_desks = token_desk_ids(request)
    if token_desks is not None and desk.pk not in token_desks:
        raise Http404
    return desk


def _api_channel(desk: Desk, wanted: str | None) -> str:
    regulation = regulation_current(desk=desk).regulation
    opening = [c for c in regulation.channels if c.role is ChannelRole.OPENS]
    if wanted:
        return wanted
    for kind in ("api", "helpdesk_service", "portal", "widget"):
        for channel in opening:
            if channel.kind.value == kind:
                return channel.id
    raise services.TicketError(
        "This desk does not register requests through the API; see its regulation.",
        {"channel": "no API channel"},
    )


@router.post("/tickets", response={201: TicketOut}, summary="Register a request")
def ticket_create(request: HttpRequest, payload: TicketCreateIn) -> tuple[int, dict[str, Any]]:
    require_scope(request, "write")
    desk = _desk_for(request, payload.desk)
    user: User = request.user  # type: ignore[assignment]
    if payload.requester_email:
        if not is_agent_of(user, desk.pk):
            raise Http404
        email = (
            PersonEmail.objects.select_related("person")
            .filter(address=payload.requester_email.strip().lower())
            .first()
        )
        if email is None:
            raise services.TicketError(
                "No person has this registered address.", {"requester_email": "not registered"}
            )
        requester = email.person
    else:
        requester = caller_person(request)
    ticket = services.ticket_create(
        desk=desk,
        requester=requester,
        request_type=payload.request_type,
        subject=payload.subject,
        body=payload.body,
        fields=payload.fields,
        channel=_api_channel(desk, payload.channel),
        proposed_priority=payload.priority,
        actor_user=user if requester.user_id != user.pk else None,
        language=payload.language,
    )
    # The service returns the ticket as it stored it, its relations in memory: no reload.
    return 201, ticket_out(ticket)


@router.get("/tickets/{reference}", response=TicketOut)
def ticket_get(request: HttpRequest, reference: str) -> dict[str, Any]:
    require_scope(request, "read")
    return ticket_out(get_ticket(request, reference))


@router.patch("/tickets/{reference}", response=TicketOut, summary="Update request fields")
def ticket_update(request: HttpRequest, reference: str, payload: FieldsIn) -> dict[str, Any]:
    require_scope(request, "write")
    ticket = get_ticket(request, reference)
    services.ticket_update_fields(ticket=ticket, actor=request.user, fields=payload.fields)  # type: ignore[arg-type]
    return _refreshed(ticket)


# --------------------------------------------------------------------------- conversation


def _message_out(message: Message) -> dict[str, Any]:
    if message.author_user is not None:
        author = message.author_user.get_full_name() or message.author_user.get_username()
    elif message.author_person is not None:
        author = message.author_person.full_name
    else:
        author = "regdesk"
    return {
        "id": message.pk,
        "kind": message.kind,
        "author": author,
        "channel": message.channel,
        "body": message.body,
        "created_at": iso(message.created_at),
        "attachments": [
            {"id": a.pk, "filename": a.filename, "size": a.size, "content_type": a.content_type}
            for a in message.attachments.all()
        ],
    }


@router.get("/tickets/{reference}/messages", response=list[MessageOut])
def message_list(request: HttpRequest, reference: str) -> list[dict[str, Any]]:
    require_scope(request, "read")
    ticket = get_ticket(request, reference)
    messages = ticket.messages.select_related("author_user", "author_person").prefetch_related(
        "attachments"
    )
    if not caller_is_agent(request, ticket):
        messages = messages.exclude(kind=Message.Kind.NOTE)
    return [_message_out(m) for m in messages]


@router.post(
    "/tickets/{reference}/messages",
    response={201: MessageOut},
    summary="Post a message with attachments (multipart)",
)
def message_post(
    request: HttpRequest,
    reference: str,
    body: Form[str],
    internal: Form[bool] = False,
    status_after: Form[ReplyStatus | Literal[""] | None] = "answered",
    files: File[list[UploadedFile] | None] = None,
) -> tuple[int, dict[str, Any]]:
    """Agents post a reply (or an internal note); the requester posts a follow-up."""
    require_scope(request, "write")
    ticket = get_ticket(request, reference)
    uploads = list(files or [])
    if caller_is_agent(request, ticket):
        if internal:
            if uploads:
                raise services.TicketError("Internal notes take no attachments.")
            message = services.ticket_note(ticket=ticket, author=request.user, body=body)  # type: ignore[arg-type]
        else:
            message = services.ticket_reply(
                ticket=ticket,
                author=request.user,
                body=body,
                attachments=uploads,  # type: ignore[arg-type]
                status_after=status_after or None,
            )
    else:
        message = services.ticket_customer_reply(
            ticket=ticket,
            person=caller_person(request),
            body=body,
            channel="api",
            attachments=uploads,
        )
    return 201, _message_out(message)


@router.post("/tickets/{reference}/reply", response={201: MessageOut}, summary="Public reply")
def ticket_reply(
    request: HttpRequest, reference: str, payload: ReplyIn
) -> tuple[int, dict[str, Any]]:
    require_scope(request, "write")
    ticket = get_ticket(request, reference)
    if caller_is_agent(request, ticket):
        message = services.ticket_reply(
            ticket=ticket,
            author=request.user,
            body=payload.body,  # type: ignore[arg-type]
            status_after=payload.status_after,
        )
    else:
        message = services.ticket_customer_reply(
            ticket=ticket, person=caller_person(request), body=payload.body, channel="api"
        )
    return 201, _message_out(message)


@router.post("/tickets/{reference}/note", response={201: MessageOut}, summary="Internal note")
def ticket_note(
    request: HttpRequest, reference: str, payload: TextIn
) -> tuple[int, dict[str, Any]]:
    require_scope(request, "write")
    ticket = get_ticket(request, reference)
    message = services.ticket_note(ticket=ticket, author=request.user, body=payload.body)  # type: ignore[arg-type]
    return 201, _message_out(message)


# --------------------------------------------------------------------------- lifecycle actions


def _writable_ticket(request: HttpRequest, reference: str) -> Ticket:
    require_scope(request, "write")
    return get_ticket(request, reference)


@router.post("/tickets/{reference}/accept", response=TicketOut)
def ticket_accept(request: HttpRequest, reference: str) -> dict[str, Any]:
    ticket = _writable_ticket(request, reference)
    services.ticket_accept(ticket=ticket, actor=request.user)  # type: ignore[arg-type]
    return _refreshed(ticket)


@router.post("/tickets/{reference}/assign", response=TicketOut)
def ticket_assign(request: HttpRequest, reference: str, payload: AssignIn) -> dict[str, Any]:
    ticket = _writable_ticket(request, reference)
    assignee = None
    if payload.assignee:
        assignee = User.objects.filter(username=payload.assignee).first()
        if assignee is None:
            raise services.TicketError("No such user.", {"assignee": "unknown username"})
    services.ticket_assign(ticket=ticket, actor=request.user, assignee=assignee)  # type: ignore[arg-type]
    return _refreshed(ticket)


@router.post("/tickets/{reference}/priority", response=TicketOut)
def ticket_priority(request: HttpRequest, reference: str, payload: PriorityIn) -> dict[str, Any]:
    ticket = _writable_ticket(request, reference)
    services.ticket_change_priority(
        ticket=ticket,
        actor=request.user,
        priority=payload.priority,
        reason=payload.reason,  # type: ignore[arg-type]
    )
    return _refreshed(ticket)


@router.post("/tickets/{reference}/team", response=TicketOut)
def ticket_team(request: HttpRequest, reference: str, payload: UnitIn) -> dict[str, Any]:
    ticket = _writable_ticket(request, reference)
    services.ticket_change_team(ticket=ticket, actor=request.user, team=payload.value)  # type: ignore[arg-type]
    return _refreshed(ticket)


@router.post("/tickets/{reference}/line", response=TicketOut)
def ticket_line(request: HttpRequest, reference: str, payload: UnitIn) -> dict[str, Any]:
    ticket = _writable_ticket(request, reference)
    services.ticket_change_line(ticket=ticket, actor=request.user, line=payload.value)  # type: ignore[arg-type]
    return _refreshed(ticket)


@router.post(
    "/tickets/{reference}/return", response=TicketOut, summary="Return for more information"
)
def ticket_return(request: HttpRequest, reference: str, payload: ReturnIn) -> dict[str, Any]:
    ticket = _writable_ticket(request, reference)
    services.ticket_return_for_information(
        ticket=ticket,
        actor=request.user,
        missing=payload.missing,
        body=payload.body,  # type: ignore[arg-type]
    )
    return _refreshed(ticket)


@router.post(
    "/tickets/{reference}/resolve",
    response=TicketOut,
    summary="Resolve (support) or confirm the solution (requester)",
)
def ticket_resolve(request: HttpRequest, reference: str) -> dict[str, Any]:
    ticket = _writable_ticket(request, reference)
    if caller_is_agent(request, ticket):
        services.ticket_resolve(ticket=ticket, actor_user=request.user)  # type: ignore[arg-type]
    else:
        services.ticket_resolve(ticket=ticket, actor_person=caller_person(request))
    return _refreshed(ticket)


@router.post("/tickets/{reference}/reopen", response=TicketOut)
def ticket_reopen(request: HttpRequest, reference: str) -> dict[str, Any]:
    ticket = _writable_ticket(request, reference)
    if caller_is_agent(request, ticket):
        services.ticket_reopen(ticket=ticket, actor_user=request.user)  # type: ignore[arg-type]
    else:
        services.ticket_reopen(ticket=ticket, actor_person=caller_person(request))
    return _refreshed(ticket)


@router.post("/tickets/{reference}/refuse", response=TicketOut)
def ticket_refuse(request: HttpRequest, reference: str, payload: RefuseIn) -> dict[str, Any]:
    ticket = _writable_ticket(request, reference)
    services.ticket_refuse(
        ticket=ticket, actor=request.user, reason=payload.reason, body=payload.body
    )  # type: ignore[arg-type]
    return _refreshed(ticket)


@router.post("/tickets/{reference}/split", response={201: list[TicketOut]})
def ticket_split(
    request: HttpRequest, reference: str, payload: SplitIn
) -> tuple[int, list[dict[str, Any]]]:
    ticket = _writable_ticket(request, reference)
    children = services.ticket_split(
        ticket=ticket,
        actor=request.user,
        parts=[(p.subject, p.body) for p in payload.parts],  # type: ignore[arg-type]
    )
    return 201, [_refreshed(child) for child in children]


@router.post("/tickets/{reference}/merge", response=TicketOut, summary="Merge into another ticket")
def ticket_merge(request: HttpRequest, reference: str, payload: MergeIn) -> dict[str, Any]:
    source = _writable_ticket(request, reference)
    target = get_ticket(request, payload.into)
    services.ticket_merge(source=source, target=target, actor=request.user)  # type: ignore[arg-type]
    return _refreshed(target)


@router.post("/tickets/{reference}/agreed-target", response=TicketOut)
def ticket_agreed_target(
    request: HttpRequest, reference: str, payload: AgreedTargetIn
) -> dict[str, Any]:
    ticket = _writable_ticket(request, reference)
    services.ticket_set_agreed_target(
        ticket=ticket,
        actor=request.user,
        clock=payload.clock,
        hours=payload.hours,  # type: ignore[arg-type]
    )
    return _refreshed(ticket)


# --------------------------------------------------------------------------- clocks and events


@router.get(
    "/tickets/{reference}/clocks",
    response=list[ClockOut],
    summary="Every clock with its due instant and explanation",
)
def ticket_clocks(request: HttpRequest, reference: str) -> list[dict[str, Any]]:
    require_scope(request, "read")
    ticket = get_ticket(request, reference)
    results = evaluate_clocks(
        ticket.regulation_version.clocks, services.core_events(ticket), now=timezone.now()
    )
    keys = (
        "state",
        "due",
        "met_at",
        "breached",
        "breached_by_seconds",
        "business_seconds",
        "target",
        "calendar",
        "explanation",
    )
    out = []
    for clock, result in results.items():
        if result.state is ClockState.NOT_DEFINED:
            continue
        data = result.as_json()
        out.append({"clock": clock.value, **{key: data[key] for key in keys}})
    return out


@router.get("/tickets/{reference}/events", response=list[EventOut], summary="Audit log")
def ticket_events(request: HttpRequest, reference: str) -> list[dict[str, Any]]:
    require_scope(request, "read")
    ticket = get_ticket(request, reference)
    events = TicketEvent.objects.filter(ticket=ticket).select_related("actor_user", "actor_person")
    if not caller_is_agent(request, ticket):
        events = events.filter(public=True)
    return [
        {
            "id": e.pk,
            "kind": e.kind,
            "at": iso(e.at),
            "actor": e.actor_name,
            "public": e.public,
            "data": e.data,
        }
        for e in events
    ]


def agent_desks(request: HttpRequest) -> set[int]:
    desks = agent_desk_ids(request.user) or set()
    limit = token_desk_ids(request)
    return desks & limit if limit is not None else desks
