"""Every write to a ticket goes through these services (keyword arguments, typed).

Each service validates against the regulation that governs the ticket, writes the rows, appends
to the event log and recomputes the stored clock state with ``regdesk.core``. Views, API
endpoints, channel handlers and tasks only parse input and call them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from secrets import token_hex
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from regdesk.bulk import keys_reserve, pipelined, rows_insert, rows_update
from regdesk.core.clocks import ClockState, TicketFacts, evaluate_clocks
from regdesk.core.clocks import EventKind as CoreEvent
from regdesk.core.clocks import TicketEvent as CoreTicketEvent
from regdesk.core.intake import attachment_problem, check_fields
from regdesk.core.regulation import (
    ChannelRole,
    ClockName,
    Regulation,
    local_text,
    support_end,
)
from regdesk.desks.models import Desk
from regdesk.desks.selectors import regulation_current
from regdesk.directory.models import Person, ProductVersion
from regdesk.tickets import crypto
from regdesk.tickets.models import (
    OPEN_STATUSES,
    Attachment,
    Message,
    Status,
    Ticket,
    TicketEvent,
    TicketSecret,
)
from regdesk.tickets.search import (
    search_index_append_many,
    search_index_update,
    search_index_update_many,
    ticket_document,
)
from regdesk.tickets.selectors import is_agent_of

if TYPE_CHECKING:
    from regdesk.notifications.services import TicketOccurrence

Kind = TicketEvent.Kind
DESCRIPTION_FIELD = "description"


class TicketError(Exception):
    """A request the regulation or the lifecycle does not allow; ``errors`` maps fields to text."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


@dataclass(frozen=True)
class Upload:
    """An attachment to store: a name, its bytes' reader and size."""

    name: str
    content: UploadedFile


# --------------------------------------------------------------------------- helpers


def _now(at: datetime | None) -> datetime:
    return at if at is not None else timezone.now()


def _event(
    ticket: Ticket,
    kind: str,
    *,
    at: datetime,
    user: User | None = None,
    person: Person | None = None,
    public: bool = False,
    **data: Any,
) -> TicketEvent:
    from regdesk.webhooks.services import webhooks_emit

    _history_forget(ticket)
    event = TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        at=at,
        actor_user=user,
        actor_person=person,
        public=public,
        data=data,
    )
    webhooks_emit(event=event)  # integrations hear of every change
    return event


def _events(events: list[TicketEvent]) -> list[TicketEvent]:
    """Append several events in one statement (each heard by the integrations, as one is)."""
    from regdesk.webhooks.services import webhooks_emit

    for ticket in {id(e.ticket): e.ticket for e in events}.values():
        _history_forget(ticket)
    rows_insert(rows=events)
    for event in events:
        webhooks_emit(event=event)
    return events


def _notify(
    ticket: Ticket,
    event: str,
    occurrence: TicketEvent,
    *,
    exclude_user: User | None = None,
    **data: Any,
) -> None:
    """Tell the people the regulation names (delivery runs after commit, in the background)."""
    from regdesk.core.regulation import NotificationEvent
    from regdesk.notifications.services import notify

    notify(
        ticket=ticket,
        event=NotificationEvent(event),
        occurrence=f"ev{occurrence.pk}",
        data=data,
        exclude_user=exclude_user,
    )


def _touch(ticket: Ticket, at: datetime, *fields: str) -> None:
    ticket.updated_at = at
    ticket.save(update_fields=[*fields, "updated_at"])


def _require_open(ticket: Ticket) -> None:
    if ticket.status not in OPEN_STATUSES:
        raise TicketError(
            _("Ticket %(ref)s is closed (%(status)s).")
            % {"ref": ticket.reference, "status": ticket.get_status_display()}
        )


def _check_choice(value: str, known: Iterable[str], what: str) -> None:
    known = list(known)
    if value not in known:
        raise TicketError(
            _("Unknown %(what)s %(value)s (known: %(known)s).")
            % {"what": what, "value": repr(value), "known": ", ".join(known) or "—"},
            {what: _("unknown value")},
        )


def _store_attachments(message: Message, uploads: Sequence[UploadedFile]) -> list[Attachment]:
    """Write the files and store their rows (one statement)."""
    return rows_insert(rows=_attachments_written(message, uploads))


def _attachments_written(message: Message, uploads: Sequence[UploadedFile]) -> list[Attachment]:
    """The attachments' rows, not stored yet, their files written to storage: a registration
    writes its files before it takes its desk's number counter, and stores the rows after."""
    rows = []
    file_field = Attachment._meta.get_field("file")
    for upload in uploads:
        upload.seek(0)
        data = upload.read()
        row = Attachment(
            message=message,
            file=_content_file(data, upload.name or "attachment"),
            filename=upload.name or "attachment",
            content_type=getattr(upload, "content_type", "") or "application/octet-stream",
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        file_field.pre_save(row, True)  # writes the file (what saving the row would do)
        rows.append(row)
    return rows


def _content_file(data: bytes, name: str) -> Any:
    from django.core.files.base import ContentFile

    return ContentFile(data, name=name.replace("/", "_").replace("\\", "_")[-200:])


def attachments_check(*, regulation: Regulation, uploads: Sequence[UploadedFile]) -> dict[str, str]:
    """Per-file problems under the regulation's attachment policy (empty when all pass)."""
    problems: dict[str, str] = {}
    for upload in uploads:
        upload.seek(0)
        head = upload.read(4096)
        upload.seek(0)
        problem = attachment_problem(
            regulation.attachments,
            filename=upload.name or "attachment",
            size=upload.size or 0,
            head=head,
        )
        if problem:
            problems[upload.name or "attachment"] = problem
    return problems


def _lifecycle(desk: Desk, fields: dict[str, Any], at: datetime) -> tuple[bool, str]:
    """Whether the product version named in the fields is out of its support period."""
    version = str(fields.get("version") or "")
    product = str(fields.get("product") or "")
    if not version:
        return False, ""
    candidates = ProductVersion.objects.filter(product__desk=desk, version=version).select_related(
        "product"
    )
    if product:
        candidates = candidates.filter(product__code=product)
    for item in candidates:
        years = item.product.support_years
        if years is None:
            continue
        last_day = support_end(item.released, years)
        if at.date() > last_day:
            note = _("%(product)s %(version)s was released %(released)s; support ended %(end)s.")
            return True, note % {
                "product": item.product.title,
                "version": version,
                "released": item.released.isoformat(),
                "end": last_day.isoformat(),
            }
    return False, ""


# --------------------------------------------------------------------------- clocks


def core_event(kind: str, at: datetime, data: dict[str, Any] | None) -> CoreTicketEvent | None:
    """One row of the event log (its kind, instant and data) as the clock engine sees it (None:
    not a clock event). Code that reads many tickets' rows at once maps them with this too."""
    if kind not in _CORE_KINDS:
        return None
    core = CoreEvent(kind)
    data = data or {}
    if core is CoreEvent.CREATED:
        facts = TicketFacts(
            **{k: data.get(k) for k in ("priority", "tier", "line", "team", "type", "channel")}
        )
        return CoreTicketEvent(at=at, kind=core, facts=facts)
    if core is CoreEvent.AGREED_TARGET:
        return CoreTicketEvent(
            at=at,
            kind=core,
            clock=ClockName(data["clock"]),
            duration=timedelta(seconds=float(data["seconds"])),
        )
    return CoreTicketEvent(at=at, kind=core, to=data.get("to"))


_CORE_KINDS = {k.value for k in CoreEvent}


# Where ticket_history_prefetch leaves a ticket's history for the next write to use once.
_PREFETCHED_HISTORY = "regdesk_prefetched_history"


def _history_rows() -> Any:
    return TicketEvent.objects.order_by("at", "id").only("kind", "at", "data", "ticket")


def ticket_history_prefetch(*, tickets: Sequence[Ticket]) -> None:
    """Read the histories of several tickets in one query, for the next customer reply to
    each (a batch of emailed replies); any event written on a ticket drops its copy."""
    from django.db.models import Prefetch, prefetch_related_objects

    fresh = [t for t in tickets if _PREFETCHED_HISTORY not in t.__dict__]
    prefetch_related_objects(
        fresh, Prefetch("events", queryset=_history_rows(), to_attr=_PREFETCHED_HISTORY)
    )


def _history(ticket: Ticket) -> list[TicketEvent]:
    prefetched = ticket.__dict__.pop(_PREFETCHED_HISTORY, None)
    if prefetched is not None:
        return list(prefetched)
    return list(_history_rows().filter(ticket=ticket))


def _history_forget(ticket: Ticket) -> None:
    ticket.__dict__.pop(_PREFETCHED_HISTORY, None)


def _core_history(rows: Iterable[TicketEvent]) -> list[CoreTicketEvent]:
    ordered = sorted(rows, key=lambda row: (row.at, row.pk or 0))
    events = (core_event(row.kind, row.at, row.data) for row in ordered)
    return [event for event in events if event is not None]


def core_events(ticket: Ticket) -> list[CoreTicketEvent]:
    """The ticket's history as the clock engine sees it."""
    return _core_history(_history(ticket))


def clock_summary(results: dict[ClockName, Any]) -> dict[str, Any]:
    """The stored clock fields of a ticket from the engine's results."""
    next_due: tuple[datetime, str] | None = None
    breached = False
    state: dict[str, Any] = {}
    for clock, result in results.items():
        if result.state is ClockState.NOT_DEFINED:
            continue
        state[clock.value] = result.as_json()
        running = result.state is ClockState.RUNNING
        if running and result.due is not None and (next_due is None or result.due < next_due[0]):
            next_due = (result.due, clock.value)
        breached = breached or any(cycle.breached for cycle in result.cycles)
    return {
        "clock_state": state,
        "next_due_at": next_due[0] if next_due else None,
        "next_due_clock": next_due[1] if next_due else "",
        "breached": breached,
    }


def ticket_clocks_recompute(*, ticket: Ticket, now: datetime | None = None) -> None:
    """Recompute and store the ticket's clocks; the escalation monitor re-checks it next."""
    fields = _clocks_set(ticket, core_events(ticket), now=_now(now))
    ticket.save(update_fields=fields)


def _clocks_set(ticket: Ticket, history: list[CoreTicketEvent], *, now: datetime) -> list[str]:
    """Set the ticket's clock fields from its history (not saved); returns their names."""
    results = evaluate_clocks(ticket.regulation_version.clocks, history, now=now)
    summary = clock_summary(results)
    for key, value in summary.items():
        setattr(ticket, key, value)
    # Any change may move an escalation step: the monitor takes the ticket at its next round.
    ticket.next_check_at = timezone.now() if ticket.status in OPEN_STATUSES else None
    return [*summary, "next_check_at"]


def _after_change(ticket: Ticket, *, at: datetime, reindex: bool = False) -> None:
    ticket_clocks_recompute(ticket=ticket, now=at)
    if reindex:
        search_index_update(ticket)


# --------------------------------------------------------------------------- create


def ticket_create(
    *,
    desk: Desk,
    requester: Person,
    request_type: str,
    subject: str,
    body: str,
    fields: dict[str, Any] | None = None,
    channel: str,
    proposed_priority: str | None = None,
    attachments: Sequence[UploadedFile] = (),
    actor_user: User | None = None,
    language: str = "",
    strict: bool = True,
    at: datetime | None = None,
) -> Ticket:
    """Register a request under the desk's current regulation.

    ``strict`` (forms, API): missing required fields are errors and nothing is stored. Not strict
    (email, Telegram): the request is registered and returned to the requester asking for exactly
    what is missing.
    """
    draft = ticket_prepare(
        desk=desk,
        requester=requester,
        request_type=request_type,
        subject=subject,
        body=body,
        fields=fields,
        channel=channel,
        proposed_priority=proposed_priority,
        attachments=attachments,
        actor_user=actor_user,
        language=language,
        strict=strict,
        at=at,
    )
    return tickets_register(drafts=[draft])[0]


@dataclass
class TicketDraft:
    """A request that passed the regulation's checks, with everything its registration writes
    (the ticket, its messages, events and secrets), not stored yet: ``tickets_register``
    stores drafts, several in one statement per table."""

    ticket: Ticket
    messages: list[Message]
    events: list[TicketEvent]
    secrets: dict[str, str]
    attachments: Sequence[UploadedFile]
    regulation: Regulation
    escalate: bool


def ticket_prepare(
    *,
    desk: Desk,
    requester: Person,
    request_type: str,
    subject: str,
    body: str,
    fields: dict[str, Any] | None = None,
    channel: str,
    proposed_priority: str | None = None,
    attachments: Sequence[UploadedFile] = (),
    actor_user: User | None = None,
    language: str = "",
    strict: bool = True,
    at: datetime | None = None,
) -> TicketDraft:
    """``ticket_create``'s checks and decisions, without writing: raises ``TicketError`` for a
    request the regulation refuses, else returns the draft ``tickets_register`` stores."""
    # Everything that can refuse the request only reads: a refusal leaves a caller's
    # transaction untouched, and the writes need no savepoint of their own.
    moment = _now(at)
    version = regulation_current(desk=desk, at=moment)
    regulation = version.regulation
    errors: dict[str, str] = {}
    if request_type not in {t.id for t in regulation.request_types}:
        errors["request_type"] = _("Choose a request type.")
    try:
        channel_spec = regulation.channel(channel)
    except KeyError:
        channel_spec = None
        errors["channel"] = _("This desk does not take requests by %(channel)s.") % {
            "channel": channel
        }
    if channel_spec is not None and channel_spec.role is not ChannelRole.OPENS:
        errors["channel"] = _("Requests cannot be opened by %(channel)s.") % {"channel": channel}
    if not subject.strip():
        errors["subject"] = _("Write a subject.")
    if not body.strip():
        errors["body"] = _("Describe the request.")
    priorities = [p.id for p in regulation.priorities]
    if proposed_priority and proposed_priority not in priorities:
        errors["priority"] = _("Unknown priority.")
    check = None
    if "request_type" not in errors:
        values = dict(fields or {})
        # The request's message is its description: a regulation's `description` field is
        # answered by the message body and not stored twice.
        field_ids = {spec.id for spec in regulation.fields_for(request_type)}
        if DESCRIPTION_FIELD in field_ids and body.strip():
            values[DESCRIPTION_FIELD] = body.strip()
        check = check_fields(regulation, request_type, values, lang=language or "en")
        check.values.pop(DESCRIPTION_FIELD, None)
        errors.update(check.errors)
        if strict:
            for spec in check.missing:
                errors[spec.id] = _("This field is required.")
    errors.update(attachments_check(regulation=regulation, uploads=attachments))
    if errors:
        raise TicketError(_("The request has errors; nothing was registered."), errors)
    assert check is not None
    assert channel_spec is not None

    rtype = regulation.request_type(request_type)
    if channel_spec.sets_priority:
        priority = channel_spec.sets_priority
    elif proposed_priority and regulation.requester_sets_priority:
        priority = proposed_priority
    else:
        priority = rtype.default_priority or regulation.default_priority
    organisation = requester.organisation
    tiers = {u.id for u in regulation.tiers}
    tier = organisation.tier if organisation and organisation.tier in tiers else ""
    tier = tier or (regulation.default_tier or "")
    line = rtype.line or regulation.default_line or ""
    team = rtype.team or ""
    out_of_lifecycle, lifecycle_note = _lifecycle(desk, check.values, moment)
    # The clocks of a new ticket follow from its creation alone: stored with the row.
    facts = {
        "priority": priority,
        "tier": tier or None,
        "line": line or None,
        "team": team or None,
        "type": request_type,
        "channel": channel,
    }
    opening = CoreTicketEvent(at=moment, kind=CoreEvent.CREATED, facts=TicketFacts(**facts))

    missing = [spec.id for spec in check.missing]
    language = language or requester.language or regulation.languages[0]
    # A request registered with information missing is returned at once (not strict): its
    # status, its history and its clocks are known before anything is written.
    status = Status.WAITING_FOR_CUSTOMER if missing else Status.NEW
    history = [opening]
    if missing:
        history.append(CoreTicketEvent(at=moment, kind=CoreEvent.STATUS, to=status.value))
    clocks = clock_summary(evaluate_clocks(version.clocks, history, now=moment))
    ticket = Ticket(
        desk=desk,
        regulation_version=version,
        request_type=request_type,
        fields=check.values,
        missing_fields=missing,
        subject=subject.strip()[:300],
        requester=requester,
        organisation=organisation,
        channel=channel,
        status=status,
        priority=priority,
        proposed_priority=proposed_priority or "",
        tier=tier,
        line=line,
        team=team,
        language=language,
        out_of_lifecycle=out_of_lifecycle,
        lifecycle_note=lifecycle_note,
        created_at=moment,
        updated_at=moment,
        **clocks,
    )
    messages = [
        Message(
            ticket=ticket,
            kind=Message.Kind.CUSTOMER,
            author_person=requester,
            channel=channel,
            body=body.strip(),
            created_at=moment,
        )
    ]
    if missing:
        note = _return_text(regulation, ticket, missing=missing, body="")
        messages.append(
            Message(ticket=ticket, kind=Message.Kind.SYSTEM, body=note, created_at=moment)
        )
    events = [
        TicketEvent(
            ticket=ticket,
            kind=Kind.CREATED,
            at=moment,
            actor_user=actor_user,
            actor_person=requester,
            public=True,
            data={"out_of_lifecycle": out_of_lifecycle, **facts},  # + its number when stored
        )
    ]
    if missing:
        data = {"to": status.value, "from": Status.NEW.value, "missing": missing}
        events.append(
            TicketEvent(ticket=ticket, kind=Kind.STATUS, at=moment, public=True, data=data)
        )
    return TicketDraft(
        ticket=ticket,
        messages=messages,
        events=events,
        secrets=check.secrets,
        attachments=attachments,
        regulation=regulation,
        escalate=channel_spec.escalate,
    )


def tickets_register(*, drafts: Sequence[TicketDraft]) -> list[Ticket]:
    """Store prepared requests: their numbers, tickets, messages, events, notifications and
    search documents, one statement per table for all of them (a batch of emailed requests
    costs about what one does). Returns the tickets, in order.

    The desk's number counter stays locked from the number to the commit, and concurrent
    registrations on the desk queue there; so what can be done before the number is: the
    acknowledgements are rendered around a stand-in for the reference, which the number then
    replaces, and the rows get their keys. On PostgreSQL the writes after the number are then
    sent together (``pipelined``): one wait for all of them and one for the commit."""
    from regdesk.notifications.services import notifications_render, notifications_store

    if not drafts:
        return []
    with transaction.atomic(savepoint=False), pipelined():
        stand_ins = {id(draft.ticket): f"{_STAND_IN}{n:06d}~" for n, draft in enumerate(drafts)}
        for draft in drafts:
            draft.ticket.reference = stand_ins[id(draft.ticket)]
        items = _registered_occurrences(drafts)
        mails = notifications_render(items=items)
        tickets = [draft.ticket for draft in drafts]
        messages = [m for draft in drafts for m in draft.messages]
        events = [event for draft in drafts for event in draft.events]
        attachments = [
            row
            for draft in drafts
            if draft.attachments
            for row in _attachments_written(draft.messages[0], draft.attachments)
        ]
        keys_reserve(
            rows=[*tickets, *messages, *events, *attachments, *(m.notification for m in mails)]
        )
        _number(drafts)
        for mail in mails:
            stand_in, reference = stand_ins[id(mail.entry.ticket)], mail.entry.ticket.reference
            notification = mail.notification
            notification.subject = notification.subject.replace(stand_in, reference)
            notification.body = notification.body.replace(stand_in, reference)
        now = timezone.now()
        for ticket in tickets:
            ticket.next_check_at = now
        rows_insert(rows=tickets)
        secrets = [
            TicketSecret(ticket=draft.ticket, field_id=field_id, ciphertext=crypto.encrypt(value))
            for draft in drafts
            for field_id, value in draft.secrets.items()
        ]
        if secrets:
            rows_insert(rows=secrets)
        rows_insert(rows=messages)
        if attachments:
            rows_insert(rows=attachments)
        for draft in drafts:
            created = draft.events[0]
            created.data = {"number": draft.ticket.reference, **created.data}
        _events(events)
        documents = [
            (draft.ticket, ticket_document(draft.ticket, bodies=[m.body for m in draft.messages]))
            for draft in drafts
        ]
        search_index_update_many(documents=documents)
        # last: it reads what it stored, which waits for everything sent before it
        notifications_store(items=items, mails=mails)
        for draft in drafts:
            if draft.escalate:
                transaction.on_commit(lambda pk=draft.ticket.pk: _escalate_now(pk))
    return tickets


# Stands in for a reference while the acknowledgements are rendered: a process's own random
# letters, which no template or ticket text can contain by chance.
_STAND_IN = "rdref" + token_hex(8)


def _number(drafts: Sequence[TicketDraft]) -> None:
    """Number the drafts, in order, per desk. The counter row is locked until commit, so
    concurrent creations neither duplicate nor leave gaps (a rolled-back creation rolls the
    counter back too); creations on one desk queue here. Everything that does not need the
    number (checks, clocks, the rows in memory, the acknowledgements' text) was done before."""
    by_desk: dict[int, list[TicketDraft]] = {}
    for draft in drafts:
        by_desk.setdefault(draft.ticket.desk_id, []).append(draft)
    with connection.cursor() as cursor:
        for desk_id, items in by_desk.items():
            cursor.execute(
                "UPDATE desks_desk SET next_number = next_number + %s WHERE id = %s "
                "RETURNING next_number",
                [len(items), desk_id],
            )
            first = cursor.fetchone()[0] - len(items)
            for offset, draft in enumerate(items):
                ticket = draft.ticket
                ticket.number = first + offset
                ticket.reference = f"{ticket.desk.ticket_prefix}-{ticket.number:06d}"


def _registered_occurrences(drafts: Sequence[TicketDraft]) -> list[TicketOccurrence]:
    """Registered, and returned at once when information is missing. A ticket is registered
    once, so its creation names the occurrence (the notifications' keys need no event id)."""
    from regdesk.core.regulation import NotificationEvent
    from regdesk.notifications.services import Occurrence, TicketOccurrence

    items = []
    for draft in drafts:
        items.append(
            TicketOccurrence(draft.ticket, Occurrence(NotificationEvent.REGISTERED, "created", {}))
        )
        if draft.ticket.missing_fields:
            data = {"missing": draft.ticket.missing_fields, "note": ""}
            occurrence = Occurrence(NotificationEvent.RETURNED_FOR_INFORMATION, "created", data)
            items.append(TicketOccurrence(draft.ticket, occurrence))
    return items


def _escalate_now(ticket_id: int) -> None:
    from regdesk.escalation.tasks import escalation_check_task

    escalation_check_task.enqueue(ticket_id)


# --------------------------------------------------------------------------- conversation


@transaction.atomic
def ticket_reply(
    *,
    ticket: Ticket,
    author: User,
    body: str,
    attachments: Sequence[UploadedFile] = (),
    status_after: str | None = Status.ANSWERED,
    at: datetime | None = None,
) -> Message:
    """A public reply by support; by default the ticket becomes answered (handled)."""
    moment = _now(at)
    if not body.strip():
        raise TicketError(_("Write a reply."), {"body": _("Write a reply.")})
    _require_agent(ticket, author)
    regulation = ticket.regulation_version.regulation
    problems = attachments_check(regulation=regulation, uploads=attachments)
    if problems:
        raise TicketError(_("Some attachments are not accepted."), problems)
    message = Message.objects.create(
        ticket=ticket,
        kind=Message.Kind.AGENT,
        author_user=author,
        channel="portal",
        body=body.strip(),
        created_at=moment,
    )
    _store_attachments(message, attachments)
    replied = _event(
        ticket, Kind.AGENT_REPLY, at=moment, user=author, public=True, message=message.pk
    )
    _notify(ticket, "answered", replied, exclude_user=author, reply=message.body)
    if status_after and status_after != ticket.status and ticket.status in OPEN_STATUSES:
        _set_status(ticket, status_after, at=moment, user=author)
        if status_after == Status.RESOLVED:
            ticket.resolved_at = moment
    _touch(ticket, moment, "status", "resolved_at")
    _after_change(ticket, at=moment, reindex=True)
    return message


@transaction.atomic
def ticket_note(*, ticket: Ticket, author: User, body: str, at: datetime | None = None) -> Message:
    """An internal note: never shown to the requester, never meets a response clock."""
    moment = _now(at)
    if not body.strip():
        raise TicketError(_("Write a note."), {"body": _("Write a note.")})
    _require_agent(ticket, author)
    message = Message.objects.create(
        ticket=ticket,
        kind=Message.Kind.NOTE,
        author_user=author,
        body=body.strip(),
        created_at=moment,
    )
    _event(ticket, Kind.INTERNAL_NOTE, at=moment, user=author, message=message.pk)
    _touch(ticket, moment)
    _after_change(ticket, at=moment, reindex=True)
    return message


def ticket_customer_reply(
    *,
    ticket: Ticket,
    person: Person,
    body: str,
    channel: str = "portal",
    attachments: Sequence[UploadedFile] = (),
    fields: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Message:
    """A message from the requester: it reopens a resolved or answered ticket, and takes it
    out of waiting_for_customer (with any of the missing fields it supplies)."""
    moment = _now(at)
    regulation = _customer_reply_check(ticket, body=body, attachments=attachments)
    # Without fields nothing below refuses the message: the writes need no savepoint of their
    # own (fields are checked as they are merged, so a refusal there must roll back alone).
    with transaction.atomic(savepoint=bool(fields)):
        if fields:
            _merge_fields(ticket, regulation, fields, at=moment, person=person)
        draft = _reply_draft(
            ticket, regulation, person=person, body=body, channel=channel,
            attachments=attachments, moment=moment,
        )  # fmt: skip
        customer_replies_register(drafts=[draft], reindex=bool(fields))
    return draft.message


@dataclass
class ReplyDraft:
    """A requester's message to add to a ticket, not stored yet (``customer_replies_register``
    stores several in one statement per table). Drafting changes the ticket in memory."""

    ticket: Ticket
    message: Message
    events: list[TicketEvent]
    history: list[TicketEvent]
    attachments: Sequence[UploadedFile]
    regulation: Regulation
    moment: datetime


def ticket_customer_reply_prepare(
    *,
    ticket: Ticket,
    person: Person,
    body: str,
    channel: str = "portal",
    attachments: Sequence[UploadedFile] = (),
    at: datetime | None = None,
) -> ReplyDraft:
    """``ticket_customer_reply`` (without fields) up to its writes: raises ``TicketError`` for
    a message the ticket does not take, else returns the draft to register. A second message
    to the same ticket is drafted after the first is registered (it reads the history)."""
    moment = _now(at)
    regulation = _customer_reply_check(ticket, body=body, attachments=attachments)
    return _reply_draft(
        ticket, regulation, person=person, body=body, channel=channel,
        attachments=attachments, moment=moment,
    )  # fmt: skip


def _customer_reply_check(
    ticket: Ticket, *, body: str, attachments: Sequence[UploadedFile]
) -> Regulation:
    if not body.strip():
        raise TicketError(_("Write a message."), {"body": _("Write a message.")})
    if ticket.status in (Status.REFUSED, Status.MERGED):
        raise TicketError(_("This request is closed; please open a new one."))
    regulation = ticket.regulation_version.regulation
    problems = attachments_check(regulation=regulation, uploads=attachments)
    if problems:
        raise TicketError(_("Some attachments are not accepted."), problems)
    return regulation


def _reply_draft(
    ticket: Ticket,
    regulation: Regulation,
    *,
    person: Person,
    body: str,
    channel: str,
    attachments: Sequence[UploadedFile],
    moment: datetime,
) -> ReplyDraft:
    # The history is read once: it says whether an agent ever took the request, and with the
    # events below it gives the clocks.
    history = _history(ticket)
    message = Message(
        ticket=ticket,
        kind=Message.Kind.CUSTOMER,
        author_person=person,
        channel=channel,
        body=body.strip(),
        created_at=moment,
    )
    events: list[TicketEvent] = []
    if ticket.status == Status.RESOLVED:
        events.append(
            TicketEvent(
                ticket=ticket,
                kind=Kind.REOPENED,
                at=moment,
                actor_person=person,
                public=True,
                data={},
            )
        )
        ticket.status = Status.ACCEPTED
        ticket.resolved_at = None
    elif ticket.status in (Status.ANSWERED, Status.WAITING_FOR_CUSTOMER):
        # Back to work; a request the system returned at registration, that no agent has
        # touched yet, is new again.
        accepted = ticket.assignee_id is not None or any(
            row.kind == Kind.AGENT_REPLY
            or (row.kind == Kind.STATUS and (row.data or {}).get("to") == Status.ACCEPTED.value)
            for row in history
        )
        old, new = ticket.status, (Status.ACCEPTED if accepted else Status.NEW)
        ticket.status = new
        events.append(
            TicketEvent(
                ticket=ticket,
                kind=Kind.STATUS,
                at=moment,
                actor_person=person,
                public=True,
                data={"to": new.value, "from": old},
            )
        )
    events.append(
        TicketEvent(
            ticket=ticket,
            kind=Kind.CUSTOMER_MESSAGE,
            at=moment,
            actor_person=person,
            public=True,
            data={},
        )
    )
    ticket.updated_at = moment
    return ReplyDraft(ticket, message, events, history, attachments, regulation, moment)


# What a requester's message changes on its ticket.
_REPLY_FIELDS = ["status", "resolved_at", "updated_at"]


def customer_replies_register(
    *, drafts: Sequence[ReplyDraft], reindex: bool = False
) -> list[Ticket]:
    """Store drafted requester messages (at most one a ticket): their messages, events,
    notifications, the tickets' status and clocks, and the search documents, one statement per
    table for all of them. ``reindex`` rebuilds the documents (fields changed) instead of
    appending the messages. Returns the tickets, in order."""
    from regdesk.core.regulation import NotificationEvent
    from regdesk.notifications.services import Occurrence, TicketOccurrence, notify_tickets

    if not drafts:
        return []
    with transaction.atomic(savepoint=False):
        rows_insert(rows=[draft.message for draft in drafts])
        rows_insert(
            rows=[
                row
                for draft in drafts
                if draft.attachments
                for row in _attachments_written(draft.message, draft.attachments)
            ]
        )
        for draft in drafts:
            for event in draft.events:
                if event.kind in (Kind.REOPENED, Kind.CUSTOMER_MESSAGE):
                    event.data = {"message": draft.message.pk}
        _events([event for draft in drafts for event in draft.events])
        items = []
        fields: set[str] = set(_REPLY_FIELDS)
        for draft in drafts:
            ticket = draft.ticket
            for event in draft.events:
                if event.kind == Kind.REOPENED:
                    occurrence = Occurrence(NotificationEvent.REOPENED, f"ev{event.pk}", {})
                elif event.kind == Kind.CUSTOMER_MESSAGE:
                    occurrence = Occurrence(NotificationEvent.CUSTOMER_REPLIED, f"ev{event.pk}", {})
                else:
                    continue
                items.append(TicketOccurrence(ticket, occurrence))
            history = _core_history([*draft.history, *draft.events])
            fields.update(_clocks_set(ticket, history, now=draft.moment))
        notify_tickets(items=items)
        tickets = [draft.ticket for draft in drafts]
        rows_update(rows=tickets, fields=sorted(fields))
        if reindex:
            for ticket in tickets:
                search_index_update(ticket)
        else:
            search_index_append_many(texts=[(d.ticket, d.message.body) for d in drafts])
    return tickets


def _merge_fields(
    ticket: Ticket,
    regulation: Regulation,
    fields: dict[str, Any],
    *,
    at: datetime,
    person: Person | None = None,
    user: User | None = None,
) -> None:
    merged = {**ticket.fields, **fields}
    if any(spec.id == DESCRIPTION_FIELD for spec in regulation.fields_for(ticket.request_type)):
        merged.setdefault(DESCRIPTION_FIELD, ticket.subject)
    check = check_fields(regulation, ticket.request_type, merged)
    if check.errors:
        raise TicketError(_("Some fields are not valid."), check.errors)
    for field_id, value in check.secrets.items():
        TicketSecret.objects.update_or_create(
            ticket=ticket, field_id=field_id, defaults={"ciphertext": crypto.encrypt(value)}
        )
    changed = sorted(k for k in fields if ticket.fields.get(k) != check.values.get(k))
    check.values.pop(DESCRIPTION_FIELD, None)
    ticket.fields = check.values
    ticket.missing_fields = [spec.id for spec in check.missing]
    ticket.save(update_fields=["fields", "missing_fields"])
    if changed:
        _event(ticket, Kind.FIELDS, at=at, user=user, person=person, public=True, changed=changed)


@transaction.atomic
def ticket_update_fields(
    *, ticket: Ticket, actor: User, fields: dict[str, Any], at: datetime | None = None
) -> Ticket:
    moment = _now(at)
    _require_agent(ticket, actor)
    _merge_fields(ticket, ticket.regulation_version.regulation, fields, at=moment, user=actor)
    _touch(ticket, moment)
    _after_change(ticket, at=moment, reindex=True)
    return ticket


# --------------------------------------------------------------------------- lifecycle


def _require_agent(ticket: Ticket, user: User) -> None:
    if not is_agent_of(user, ticket.desk_id):
        raise TicketError(_("Only agents of this desk can do that."))


def _set_status(
    ticket: Ticket,
    status: str,
    *,
    at: datetime,
    user: User | None = None,
    person: Person | None = None,
    **data: Any,
) -> TicketEvent:
    old = ticket.status
    ticket.status = status
    return _event(
        ticket,
        Kind.STATUS,
        at=at,
        user=user,
        person=person,
        public=True,
        to=status,
        **{"from": old},
        **data,
    )


@transaction.atomic
def ticket_accept(*, ticket: Ticket, actor: User, at: datetime | None = None) -> Ticket:
    """Accept a new request for work (and take it when nobody has)."""
    moment = _now(at)
    _require_agent(ticket, actor)
    if ticket.status != Status.NEW:
        raise TicketError(_("Only a new request can be accepted."))
    accepted = _set_status(ticket, Status.ACCEPTED, at=moment, user=actor)
    _notify(ticket, "accepted", accepted, exclude_user=actor)
    if ticket.assignee_id is None:
        ticket.assignee = actor
        _event(ticket, Kind.ASSIGNED, at=moment, user=actor, to=actor.pk, name=str(actor))
    _touch(ticket, moment, "status", "assignee")
    _after_change(ticket, at=moment)
    return ticket


@transaction.atomic
def ticket_assign(
    *, ticket: Ticket, actor: User, assignee: User | None, at: datetime | None = None
) -> Ticket:
    moment = _now(at)
    _require_agent(ticket, actor)
    if assignee is not None and not is_agent_of(assignee, ticket.desk_id):
        raise TicketError(_("%(name)s is not an agent of this desk.") % {"name": assignee})
    ticket.assignee = assignee
    assigned = _event(
        ticket,
        Kind.ASSIGNED,
        at=moment,
        user=actor,
        to=assignee.pk if assignee else None,
        name=str(assignee or ""),
    )
    _touch(ticket, moment, "assignee")
    if assignee is not None:
        _notify(ticket, "assigned", assigned, exclude_user=actor)
    return ticket


@transaction.atomic
def ticket_change_priority(
    *, ticket: Ticket, actor: User, priority: str, reason: str, at: datetime | None = None
) -> Ticket:
    """Change the priority; a reason is required and the change is shown to the requester."""
    moment = _now(at)
    _require_agent(ticket, actor)
    regulation = ticket.regulation_version.regulation
    _check_choice(priority, [p.id for p in regulation.priorities], "priority")
    if not reason.strip():
        raise TicketError(_("Give a reason for the priority change."), {"reason": _("Required.")})
    if priority == ticket.priority:
        return ticket
    old = ticket.priority
    ticket.priority = priority
    changed = _event(
        ticket,
        Kind.PRIORITY,
        at=moment,
        user=actor,
        public=True,
        to=priority,
        reason=reason.strip(),
        **{"from": old},
    )
    _notify(
        ticket,
        "priority_changed",
        changed,
        exclude_user=actor,
        reason=reason.strip(),
        to=priority,
        **{"from": old},
    )
    _touch(ticket, moment, "priority")
    _after_change(ticket, at=moment)
    return ticket


@transaction.atomic
def ticket_escalate_priority(
    *, ticket: Ticket, priority: str, reason: str, at: datetime | None = None
) -> Ticket:
    """Raise the priority as an escalation step of the regulation (no human actor)."""
    moment = _now(at)
    if priority == ticket.priority:
        return ticket
    old = ticket.priority
    ticket.priority = priority
    changed = _event(
        ticket,
        Kind.PRIORITY,
        at=moment,
        public=True,
        to=priority,
        reason=reason,
        **{"from": old},
    )
    _notify(ticket, "priority_changed", changed, reason=reason, to=priority, **{"from": old})
    _touch(ticket, moment, "priority")
    ticket_clocks_recompute(ticket=ticket, now=moment)
    return ticket


def _change_unit(
    ticket: Ticket, actor: User, *, key: str, group: str, value: str, at: datetime | None
) -> Ticket:
    moment = _now(at)
    _require_agent(ticket, actor)
    regulation = ticket.regulation_version.regulation
    if value:
        _check_choice(value, [u.id for u in getattr(regulation, group)], key)
    if getattr(ticket, key) == value:
        return ticket
    old = getattr(ticket, key)
    setattr(ticket, key, value)
    _event(ticket, key, at=moment, user=actor, to=value or None, **{"from": old})
    _touch(ticket, moment, key)
    _after_change(ticket, at=moment)
    return ticket


def ticket_change_team(
    *, ticket: Ticket, actor: User, team: str, at: datetime | None = None
) -> Ticket:
    with transaction.atomic():
        return _change_unit(ticket, actor, key="team", group="teams", value=team, at=at)


def ticket_change_line(
    *, ticket: Ticket, actor: User, line: str, at: datetime | None = None
) -> Ticket:
    with transaction.atomic():
        return _change_unit(ticket, actor, key="line", group="lines", value=line, at=at)


def _return_text(regulation: Regulation, ticket: Ticket, *, missing: list[str], body: str) -> str:
    """What a returned request tells its requester: the note, and exactly what is missing."""
    labels = []
    specs = {s.id: s for s in regulation.fields_for(ticket.request_type)}
    for field_id in missing:
        spec = specs.get(field_id)
        labels.append(local_text(spec.label, ticket.language) if spec else field_id)
    text = body.strip()
    # Written to the requester: in the ticket's language, like the labels, whoever returns it
    # (an email registered with no request active, or an agent working in another language).
    with translation.override(ticket.language or translation.get_language()):
        if labels:
            listing = "\n".join(f"- {label}" for label in labels)
            text = (text + "\n\n" if text else "") + _(
                "To go on with your request we need:\n%(list)s"
            ) % {"list": listing}
        text = text or _("We need more information.")
    return text


def _return(
    ticket: Ticket, *, missing: list[str], body: str, user: User | None, at: datetime
) -> None:
    text = _return_text(ticket.regulation_version.regulation, ticket, missing=missing, body=body)
    Message.objects.create(
        ticket=ticket,
        kind=Message.Kind.AGENT if user else Message.Kind.SYSTEM,
        author_user=user,
        body=text,
        created_at=at,
    )
    if user is not None:
        _event(ticket, Kind.AGENT_REPLY, at=at, user=user, public=True)
    returned = _set_status(ticket, Status.WAITING_FOR_CUSTOMER, at=at, user=user, missing=missing)
    _notify(ticket, "returned_for_information", returned, missing=missing, note=body.strip())
    ticket.missing_fields = missing
    ticket.save(update_fields=["status", "missing_fields"])


@transaction.atomic
def ticket_return_for_information(
    *, ticket: Ticket, actor: User, missing: list[str], body: str = "", at: datetime | None = None
) -> Ticket:
    """Return the request asking for exactly what is missing; resolution pauses meanwhile."""
    moment = _now(at)
    _require_agent(ticket, actor)
    _require_open(ticket)
    known = {s.id for s in ticket.regulation_version.regulation.fields_for(ticket.request_type)}
    unknown = [m for m in missing if m not in known]
    if unknown:
        raise TicketError(_("Unknown fields: %(f)s") % {"f": ", ".join(unknown)})
    if not missing and not body.strip():
        raise TicketError(_("Say what is missing."), {"body": _("Required.")})
    _return(ticket, missing=missing, body=body, user=actor, at=moment)
    _touch(ticket, moment)
    _after_change(ticket, at=moment, reindex=True)
    return ticket


def _require_requester_or_agent(
    ticket: Ticket, actor_user: User | None, actor_person: Person | None
) -> None:
    """Support of the desk, the requester, or a manager of the requester's organisation."""
    if actor_user is not None:
        _require_agent(ticket, actor_user)
        return
    if actor_person is not None and (
        actor_person.pk == ticket.requester_id
        or (
            actor_person.is_organisation_manager
            and actor_person.organisation_id == ticket.organisation_id
        )
    ):
        return
    raise TicketError(_("Only the requester or support can do this."))


@transaction.atomic
def ticket_resolve(
    *,
    ticket: Ticket,
    actor_user: User | None = None,
    actor_person: Person | None = None,
    at: datetime | None = None,
) -> Ticket:
    """Resolve: closed by support, or confirmed by the customer ("this solved my problem")."""
    moment = _now(at)
    _require_requester_or_agent(ticket, actor_user, actor_person)
    _require_open(ticket)
    old = ticket.status
    ticket.status = Status.RESOLVED
    ticket.resolved_at = moment
    resolved = _event(
        ticket,
        Kind.RESOLVED,
        at=moment,
        user=actor_user,
        person=actor_person,
        public=True,
        to=Status.RESOLVED.value,
        confirmed_by_customer=actor_person is not None,
        **{"from": old},
    )
    _notify(ticket, "resolved", resolved, exclude_user=actor_user)
    _touch(ticket, moment, "status", "resolved_at")
    _after_change(ticket, at=moment)
    return ticket


@transaction.atomic
def ticket_reopen(
    *,
    ticket: Ticket,
    actor_user: User | None = None,
    actor_person: Person | None = None,
    at: datetime | None = None,
) -> Ticket:
    moment = _now(at)
    _require_requester_or_agent(ticket, actor_user, actor_person)
    if ticket.status != Status.RESOLVED:
        raise TicketError(_("Only a resolved request can be reopened."))
    ticket.status = Status.ACCEPTED
    ticket.resolved_at = None
    reopened = _event(
        ticket, Kind.REOPENED, at=moment, user=actor_user, person=actor_person, public=True
    )
    _notify(ticket, "reopened", reopened, exclude_user=actor_user)
    _touch(ticket, moment, "status", "resolved_at")
    _after_change(ticket, at=moment)
    return ticket


@transaction.atomic
def ticket_refuse(
    *, ticket: Ticket, actor: User, reason: str, body: str = "", at: datetime | None = None
) -> Ticket:
    """Refuse with a reason of the regulation (discourtesy, out of lifecycle, …)."""
    moment = _now(at)
    _require_agent(ticket, actor)
    _require_open(ticket)
    regulation = ticket.regulation_version.regulation
    reasons = [r.id for r in regulation.refusal_reasons] or ["other"]
    _check_choice(reason, reasons, "reason")
    if body.strip():
        Message.objects.create(
            ticket=ticket,
            kind=Message.Kind.AGENT,
            author_user=actor,
            body=body.strip(),
            created_at=moment,
        )
    ticket.refusal_reason = reason
    refused = _set_status(ticket, Status.REFUSED, at=moment, user=actor, reason=reason)
    titles = {r.id: local_text(r.title, ticket.language) for r in regulation.refusal_reasons}
    _notify(ticket, "refused", refused, exclude_user=actor, reason=titles.get(reason, reason))
    _touch(ticket, moment, "status", "refusal_reason")
    _after_change(ticket, at=moment, reindex=bool(body.strip()))
    return ticket


@transaction.atomic
def ticket_set_agreed_target(
    *, ticket: Ticket, actor: User, clock: str, hours: float, at: datetime | None = None
) -> Ticket:
    """Agree a target for a clock whose regulation says 'agreed per ticket'."""
    moment = _now(at)
    _require_agent(ticket, actor)
    _check_choice(clock, [c.value for c in ClockName], "clock")
    if not 0 < hours <= 10_000:
        raise TicketError(_("Give a number of business hours."), {"hours": _("Out of range.")})
    _event(
        ticket,
        Kind.AGREED_TARGET,
        at=moment,
        user=actor,
        public=True,
        clock=clock,
        seconds=hours * 3600,
    )
    _touch(ticket, moment)
    _after_change(ticket, at=moment)
    return ticket


@transaction.atomic
def ticket_split(
    *, ticket: Ticket, actor: User, parts: list[tuple[str, str]], at: datetime | None = None
) -> list[Ticket]:
    """One issue per ticket: open a new ticket per (subject, text) part, linked to this one."""
    moment = _now(at)
    _require_agent(ticket, actor)
    if not parts:
        raise TicketError(_("Give at least one part to split off."))
    created = []
    for subject, body in parts:
        child = ticket_create(
            desk=ticket.desk,
            requester=ticket.requester,
            request_type=ticket.request_type,
            subject=subject,
            body=body,
            fields=dict(ticket.fields),
            channel=ticket.channel,
            actor_user=actor,
            language=ticket.language,
            strict=False,
            at=moment,
        )
        if child.priority != ticket.priority:
            child.priority = ticket.priority
            child.save(update_fields=["priority"])
        child.split_from = ticket
        child.save(update_fields=["split_from"])
        _event(child, Kind.SPLIT, at=moment, user=actor, public=True, parent=ticket.reference)
        created.append(child)
    _event(
        ticket,
        Kind.SPLIT,
        at=moment,
        user=actor,
        public=True,
        children=[c.reference for c in created],
    )
    _touch(ticket, moment)
    return created


@transaction.atomic
def ticket_merge(
    *, source: Ticket, target: Ticket, actor: User, at: datetime | None = None
) -> Ticket:
    """Merge a duplicate into another ticket of the same desk; the duplicate closes as merged."""
    moment = _now(at)
    _require_agent(source, actor)
    if source.pk == target.pk or source.desk_id != target.desk_id:
        raise TicketError(_("Merge into another ticket of the same desk."))
    _require_open(source)
    source.merged_into = target
    _set_status(source, Status.MERGED, at=moment, user=actor, into=target.reference)
    _touch(source, moment, "status", "merged_into")
    Message.objects.create(
        ticket=target,
        kind=Message.Kind.SYSTEM,
        body=_("Merged from %(ref)s: %(subject)s")
        % {"ref": source.reference, "subject": source.subject},
        created_at=moment,
    )
    _event(target, Kind.MERGED, at=moment, user=actor, public=True, source=source.reference)
    _touch(target, moment)
    _after_change(source, at=moment)
    _after_change(target, at=moment, reindex=True)
    return target


@transaction.atomic
def secret_reveal(*, ticket: Ticket, field_id: str, user: User, at: datetime | None = None) -> str:
    """Decrypt a secret field for an agent of the ticket's desk; every reveal is logged."""
    if not is_agent_of(user, ticket.desk_id):
        raise TicketError(_("Only agents of this desk can see secrets."))
    secret = TicketSecret.objects.filter(ticket=ticket, field_id=field_id).first()
    if secret is None:
        raise TicketError(_("No such secret."))
    _event(ticket, Kind.SECRET_REVEALED, at=_now(at), user=user, field=field_id)
    return crypto.decrypt(secret.ciphertext)


@transaction.atomic
def ticket_acknowledge(*, ticket: Ticket, notification_id: int, at: datetime) -> bool:
    """Record that the requester's confirmation with the number was sent (once per ticket: the
    ticket is locked, so its email and its Telegram confirmation sent at once record it once)."""
    Ticket.objects.select_for_update().filter(pk=ticket.pk).values_list("pk").first()
    if ticket.events.filter(kind=Kind.ACKNOWLEDGED).exists():
        return False
    _event(ticket, Kind.ACKNOWLEDGED, at=at, public=True, notification=notification_id)
    return True
