"""Email in: the regulation applied to one stored message.

Order of decisions (each documented in docs/channels.md):

1. Parse (a message that cannot be read is quarantined, its original kept).
2. A delivery report (RFC 3464) is recorded on the person whose address bounced, and on the
   notification that bounced; it never opens or touches a ticket.
3. Threading, in layers: our signed reply token in In-Reply-To/References (a forged token is
   rejected and flagged), then the Message-IDs of earlier mail on a ticket, then the ticket number
   in the subject. A thread's sender must belong to the ticket (the requester, a person of its
   organisation, or someone who was in To/Cc of its mail); otherwise the message is handled as a
   new request and flagged.
4. Automatic mail (auto-replies, bounces) is never registered and never answered (RFC 3834);
   list and bulk mail is registered per the rules below but never answered automatically.
5. A new request follows its channel's role and sender rules: a follow-up-only address answers
   with the regulation's text pointing to the portal and registers nothing; only a requester's
   registered address is official where the regulation says so (others are a consultation or a
   refusal); the alarm address sets its priority and escalates; missing required information
   registers the request and returns it asking for exactly what is missing.

Automatic answers are rate-limited per sender, carry ``Auto-Submitted: auto-replied`` and go out
through the notification outbox, so they are retried and never lost.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Prefetch, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from regdesk.channels.models import AutoAnswer, Inbound
from regdesk.channels.parsers.message import AutoKind, InboundAttachment, InboundMessage
from regdesk.channels.services import (
    HandlerResult,
    QuarantineError,
    Received,
    handler_register,
    inbound_process_many,
    inbound_receive_many,
    intake_batch_done,
    intake_flush,
    intake_memo,
)
from regdesk.channels.threading import notification_ids_in, subject_references, tokens_in
from regdesk.consultations.services import consultation_record
from regdesk.core.regulation import Channel, ChannelKind, ChannelRole, Status, local_text
from regdesk.desks.models import Desk
from regdesk.desks.selectors import NoRegulationError, desks_for_person, regulation_current
from regdesk.directory.models import Organisation, Person, PersonEmail
from regdesk.directory.services import person_bounced, person_create_by_email, person_desk_add
from regdesk.notifications.services import notification_queue, notifications_bounced
from regdesk.tickets.models import Ticket
from regdesk.tickets.selectors import is_agent_of
from regdesk.tickets.services import (
    TicketError,
    ticket_customer_reply_prepare,
    ticket_history_prefetch,
    ticket_note,
    ticket_prepare,
)

# Automatic answers per sender: at most this many an hour and a day.
AUTO_ANSWERS_PER_HOUR = 3
AUTO_ANSWERS_PER_DAY = 10
# Local parts that are machines: never answered, whatever their headers say.
MACHINE_SENDERS = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?|notifications?)([+-].*)?@",
    re.IGNORECASE,
)


def mail_key(raw: bytes) -> str:
    """The idempotency key of a raw message: its Message-ID, or a digest of its bytes."""
    import hashlib

    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(raw[:200_000])
        value = str(headers.get("Message-ID") or "").strip()
    except Exception:
        value = ""
    match = re.search(r"<([^<>\s]+)>", value)
    if match:
        return match.group(1)
    if value and " " not in value:
        return value
    return "sha256:" + hashlib.sha256(raw).hexdigest()


# --------------------------------------------------------------------------- routing


def _email_channels(desk: Desk) -> list[Channel]:
    regulation = regulation_current(desk=desk).regulation
    return [c for c in regulation.channels if c.kind is ChannelKind.EMAIL]


def _channel_for(desk: Desk, addresses: list[str]) -> Channel | None:
    """The desk's email channel for the first address that names one (the alarm address is
    its own channel); the desk's general email channel when the address is the desk's own."""
    channels = _email_channels(desk)
    for address in addresses:
        for channel in channels:
            if channel.address and channel.address.lower() == address:
                return channel
    general = next((c for c in channels if c.role is ChannelRole.OPENS), None)
    general = general or (channels[0] if channels else None)
    if desk.email_address and desk.email_address.lower() in addresses:
        return general
    return None


def _route(row: Inbound, message: InboundMessage) -> tuple[Desk, Channel] | None:
    addresses = [a for a in [row.envelope_to.lower(), *message.to, *message.cc] if a]
    if row.desk is not None:
        channel = _channel_for(row.desk, addresses)
        if channel is None:
            channels = _email_channels(row.desk)
            general = [c for c in channels if not c.sets_priority and not c.escalate]
            channel = (general or channels or [None])[0]
        return (row.desk, channel) if channel is not None else None
    memo = _memo()
    if "desks" not in memo:
        memo["desks"] = list(Desk.objects.filter(is_active=True).order_by("pk"))
    for desk in memo["desks"]:
        channel = _channel_for(desk, addresses)
        if channel is not None:
            return desk, channel
    return None


# --------------------------------------------------------------------------- threading


def _memo() -> dict[Any, Any]:
    """The batch's memo, or a throwaway one outside a batch."""
    memo = intake_memo()
    return memo if memo is not None else {}


def _ticket_ready(ticket: Ticket) -> Ticket:
    """The one instance of this ticket in the batch, with its desk's cached regulation version
    (every reply to it in the batch then sees the others' changes)."""
    ticket = _memo().setdefault(("ticket", ticket.pk), ticket)
    if "regulation_version" not in ticket._state.fields_cache:
        current = regulation_current(desk=ticket.desk)
        if current.pk == ticket.regulation_version_id:
            ticket.regulation_version = current
    return ticket


def _tickets() -> Any:
    return Ticket.objects.select_related("desk", "requester")


def _ticket_by_reference(reference: str) -> Ticket | None:
    memo = _memo()
    ticket = memo.get(("reference", reference))
    if ticket is None:
        ticket = _tickets().filter(reference=reference).first()
    return _ticket_ready(ticket) if ticket is not None else None


def _ticket_by_number(prefix: str, number: int) -> Ticket | None:
    memo = _memo()
    ticket = memo.get(("number", prefix, number))
    if ticket is None:
        ticket = _tickets().filter(desk__ticket_prefix__iexact=prefix, number=number).first()
    return _ticket_ready(ticket) if ticket is not None else None


def _ticket_by_earlier_mail(ids: list[str]) -> Ticket | None:
    """The ticket of the latest of the customer's earlier messages among ``ids`` (stored, or
    processed earlier in this batch)."""
    memo = _memo()
    wanted = set(ids)
    found = [(r.received_at, r.ticket) for r in intake_batch_done() if r.key in wanted and r.ticket]
    if all(("earlier", i) in memo for i in ids):  # else one may be a message of this batch
        found += [memo[("earlier", i)] for i in ids]
    else:
        earlier = (
            Inbound.objects.filter(channel="email", key__in=ids, ticket__isnull=False)
            .select_related("ticket__desk", "ticket__requester")
            .order_by("-received_at")
            .only("received_at", "ticket")
            .first()
        )
        if earlier is not None and earlier.ticket is not None:
            found.append((earlier.received_at, earlier.ticket))
    if not found:
        return None
    return _ticket_ready(max(found, key=lambda pair: pair[0])[1])


def _thread(message: InboundMessage, warnings: list[str]) -> Ticket | None:
    ids = [*message.in_reply_to, *message.references]
    for token in tokens_in(ids):
        if not token.valid:
            warnings.append(
                _("A forged reply token for %(ref)s was rejected.") % {"ref": token.reference}
            )
            continue
        ticket = _ticket_by_reference(token.reference)
        if ticket is not None:
            return ticket
    if ids:
        ticket = _ticket_by_earlier_mail(ids)
        if ticket is not None:
            return ticket
    for prefix, number in subject_references(message.subject):
        ticket = _ticket_by_number(prefix, number)
        if ticket is not None:
            return ticket
    return None


def _people() -> Any:
    return PersonEmail.objects.select_related("person__organisation").prefetch_related(
        Prefetch("person__emails", queryset=PersonEmail.objects.order_by("pk"))
    )


def _person_for(address: str) -> Person | None:
    memo = _memo()
    if ("person", address) in memo:
        return memo[("person", address)]  # type: ignore[no-any-return]
    entry = _people().filter(address=address).first()
    person = entry.person if entry is not None else None
    memo[("person", address)] = person
    return person


def _participant(ticket: Ticket, sender: str) -> Person | None:
    """The person ``sender`` is on this ticket: the requester, a person of its organisation,
    or someone who was in To/Cc of its mail (when they are in the directory)."""
    person = _person_for(sender)
    if person is None:
        return None
    if person.pk == ticket.requester_id:
        return person
    if ticket.organisation_id is not None and person.organisation_id == ticket.organisation_id:
        return person
    earlier = [r.participants for r in intake_batch_done() if r.ticket_id == ticket.pk]
    earlier += Inbound.objects.filter(ticket=ticket).values_list("participants", flat=True)
    for participants in earlier:
        if sender in (participants or []):
            return person
    return None


# --------------------------------------------------------------------------- actions


def _uploads(
    desk: Desk, attachments: tuple[InboundAttachment, ...], warnings: list[str]
) -> list[SimpleUploadedFile]:
    """The attachments the regulation's policy accepts; the others are named in a warning
    (the original message keeps them)."""
    from regdesk.tickets.services import attachments_check

    regulation = regulation_current(desk=desk).regulation
    accepted = []
    for item in attachments:
        upload = SimpleUploadedFile(item.filename, item.data, content_type=item.content_type)
        problems = attachments_check(regulation=regulation, uploads=[upload])
        if problems:
            warnings.append(
                _("Attachment %(name)s not accepted: %(why)s")
                % {"name": item.filename, "why": "; ".join(problems.values())}
            )
            continue
        upload.seek(0)
        accepted.append(upload)
    return accepted


def _body(message: InboundMessage, uploads: list[SimpleUploadedFile]) -> str:
    body = message.body
    if body:
        return body
    if uploads:
        return _("(attachments only: %(names)s)") % {"names": ", ".join(u.name for u in uploads)}
    return message.subject.strip() or _("(empty message)")


def _answerable(desk: Desk, message: InboundMessage) -> str:
    """Why no automatic answer may go to this message ("" when one may)."""
    if message.auto is not AutoKind.NONE:
        return f"automatic mail ({message.auto.value})"
    sender = message.sender
    if not sender or "@" not in sender:
        return "no sender address"
    if MACHINE_SENDERS.match(sender):
        return "machine sender"
    own = {c.address.lower() for c in _email_channels(desk) if c.address}
    if desk.email_address:
        own.add(desk.email_address.lower())
    if sender in own:
        return "our own address"
    now = timezone.now()
    recent = AutoAnswer.objects.filter(address=sender, at__gte=now - timedelta(days=1))
    if recent.count() >= AUTO_ANSWERS_PER_DAY:
        return "rate limit (day)"
    if recent.filter(at__gte=now - timedelta(hours=1)).count() >= AUTO_ANSWERS_PER_HOUR:
        return "rate limit (hour)"
    return ""


def _auto_answer(
    *,
    row: Inbound,
    desk: Desk,
    message: InboundMessage,
    reason: str,
    text: str,
    warnings: list[str],
) -> None:
    """Queue one automatic answer (outbox: retried, never lost), unless loops or limits
    forbid it."""
    why_not = _answerable(desk, message)
    if why_not:
        warnings.append(f"no automatic answer: {why_not}")
        return
    subject = message.subject.strip() or _("your message")
    references = " ".join(f"<{i}>" for i in [*message.references, message.message_id][-10:])
    notification_queue(
        key=f"auto:{row.pk}",
        event=f"auto_answer:{reason}",
        address=message.sender,
        language=_language(desk, message, None),
        subject=f"Re: {subject}",
        body=text.strip() + "\n",
        headers={
            "In-Reply-To": f"<{message.message_id}>",
            "References": references,
            "Auto-Submitted": "auto-replied",
        },
        from_address=desk.email_address,
    )
    AutoAnswer.objects.create(
        desk=desk, address=message.sender, reason=reason, inbound=row, at=timezone.now()
    )


def _language(desk: Desk, message: InboundMessage, person: Person | None) -> str:
    languages = regulation_current(desk=desk).regulation.languages
    for candidate in (person.language if person else "", message.language[:2].lower()):
        if candidate and candidate in languages:
            return candidate
    return languages[0]


def _refuse(text: str) -> HandlerResult:
    return HandlerResult(outcome=Inbound.Outcome.REFUSED, result=f"refused: {text}")


def _bounce(message: InboundMessage, warnings: list[str]) -> HandlerResult:
    report = message.bounce
    recipients = list(report.recipients) if report else []
    recorded = []
    if report is None or report.permanent:
        now = timezone.now()
        for address in recipients:
            person = _person_for(address)
            if person is not None:
                person_bounced(person=person, at=now)
                recorded.append(address)
        if report is not None and report.original_message_id:
            notifications_bounced(
                notification_ids=notification_ids_in([report.original_message_id]),
                detail=f"bounced: {report.status} {report.diagnostic}".strip(),
            )
    who = ", ".join(recipients) or _("unknown recipient")
    if recorded:
        warnings.append("bounce recorded on " + ", ".join(recorded))
    return _refuse(f"delivery report for {who}")


def _contact(message: InboundMessage) -> str:
    if message.sender_name:
        return f"{message.sender_name} <{message.sender}>"[:200]
    return message.sender[:200]


def _consultation(
    desk: Desk, channel: Channel, message: InboundMessage, person: Person | None
) -> HandlerResult:
    consultation_record(
        desk=desk,
        channel=channel.id,
        person=person,
        contact=_contact(message),
        summary=message.subject.strip() or message.body[:120] or "email",
        notes=message.body,
    )
    return HandlerResult(outcome=Inbound.Outcome.CONSULTATION, result="consultation", desk=desk)


def _person_or_new(desk: Desk, message: InboundMessage, language: str) -> Person:
    person = _person_for(message.sender)
    if person is None:
        person = person_create_by_email(
            address=message.sender,
            full_name=message.sender_name or message.sender,
            language=language,
            desk=desk,
        )
        _memo()[("person", message.sender)] = person
        _memo()[("may_use", person.pk, desk.pk)] = True
    if not _may_use(person, desk):
        person_desk_add(person=person, desk=desk)
        _memo()[("may_use", person.pk, desk.pk)] = True
    return person


def _may_use(person: Person, desk: Desk) -> bool:
    memo = _memo()
    key = ("may_use", person.pk, desk.pk)
    if key not in memo:
        memo[key] = desks_for_person(person=person).filter(pk=desk.pk).exists()
    return bool(memo[key])


def _official_person(desk: Desk, message: InboundMessage) -> Person | None:
    person = _person_for(message.sender)
    if person is None:
        return None
    if not _may_use(person, desk):
        return None
    return person


def _new_request(
    row: Inbound, desk: Desk, channel: Channel, message: InboundMessage, warnings: list[str]
) -> HandlerResult:
    regulation = regulation_current(desk=desk).regulation
    if message.auto in (AutoKind.AUTO_REPLY, AutoKind.BOUNCE):
        return _refuse(f"automatic message ({message.auto.value}), not a request")
    if channel.role is ChannelRole.FOLLOW_UP:
        with translation.override(_language(desk, message, _person_for(message.sender))):
            lang = translation.get_language()
            text = local_text(channel.auto_reply, lang) if channel.auto_reply else ""
            text = text or _(
                "Thank you for your message. New requests cannot be opened by email at this "
                "desk; please open one in the portal. To add to an existing request, reply to "
                "its email."
            )
        _auto_answer(
            row=row,
            desk=desk,
            message=message,
            reason="follow_up_only",
            text=text,
            warnings=warnings,
        )
        return _refuse("this address takes follow-ups on existing requests only")
    if channel.role is ChannelRole.CONSULTATION:
        return _consultation(desk, channel, message, _person_for(message.sender))
    if channel.role is ChannelRole.COORDINATION:
        return _refuse("this address only coordinates existing requests")
    person = _official_person(desk, message)
    if person is None and channel.official_senders == "registered":
        if channel.unofficial == "consultation":
            return _consultation(desk, channel, message, _person_for(message.sender))
        if channel.unofficial == "refuse":
            with translation.override(_language(desk, message, None)):
                text = _(
                    "Thank you for your message. It was not registered as a request: only a "
                    "customer's registered email address is an official channel of this desk. "
                    "Please write from your registered address or use the portal."
                )
            _auto_answer(
                row=row,
                desk=desk,
                message=message,
                reason="not_official",
                text=text,
                warnings=warnings,
            )
            return _refuse("not an official channel (unregistered sender)")
    language = _language(desk, message, person)
    if person is None:
        person = _person_or_new(desk, message, language)
    uploads = _uploads(desk, message.attachments, warnings)
    subject = message.subject.strip() or (message.body.splitlines() or [_("Request by email")])[0]
    try:
        draft = ticket_prepare(
            desk=desk,
            requester=person,
            request_type=regulation.request_types[0].id,
            subject=subject[:300],
            body=_body(message, uploads),
            channel=channel.id,
            attachments=uploads,
            language=language,
            strict=False,
        )
    except TicketError as exc:
        raise QuarantineError(f"{exc.message}: {exc.errors}") from exc
    # registered with the batch's other requests (its number and ticket come then)
    return HandlerResult(outcome=Inbound.Outcome.TICKET, result="", desk=desk, draft=draft)


def email_handle(row: Inbound) -> HandlerResult:
    from regdesk.channels.parsers.mail import MailParseError, parse_email

    parsed = _memo().pop(("parsed", row.pk), None)
    try:
        message = parsed if parsed is not None else parse_email(bytes(row.raw))
    except MailParseError as exc:
        raise QuarantineError(f"unreadable message: {exc}") from exc
    warnings = list(message.warnings)
    row.sender = message.sender[:254]
    row.subject = message.subject[:300]
    row.participants = sorted({*message.to, *message.cc, message.sender} - {""})

    if message.auto is AutoKind.BOUNCE:
        result = _bounce(message, warnings)
        result.warnings = warnings
        return result
    # it may answer a request drafted earlier in the batch (only a Message-ID can name one:
    # a request drafted has no number yet, so neither a reply token nor a subject names it)
    intake_flush(keys=[*message.in_reply_to, *message.references])
    ticket = _thread(message, warnings)
    if ticket is not None:
        result = _follow_up(row, ticket, message, warnings)
        if result is not None:
            result.warnings = warnings
            return result
    route = _route(row, message)
    if route is None:
        addresses = ", ".join([a for a in [row.envelope_to, *message.to] if a][:4])
        addresses = addresses or "no recipient"
        raise QuarantineError(f"no desk receives mail for {addresses}")
    desk, channel = route
    result = _new_request(row, desk, channel, message, warnings)
    result.desk = result.desk or desk
    result.warnings = warnings
    return result


def _agent_of(ticket: Ticket, sender: str) -> User | None:
    for user in User.objects.filter(email__iexact=sender, is_active=True):
        if is_agent_of(user, ticket.desk_id):
            return user
    return None


def _follow_up(
    row: Inbound, ticket: Ticket, message: InboundMessage, warnings: list[str]
) -> HandlerResult | None:
    """Add the message to its ticket; None when it must be handled as a new request."""
    if message.auto is AutoKind.AUTO_REPLY:
        return HandlerResult(
            outcome=Inbound.Outcome.REFUSED,
            result=f"refused: automatic reply on {ticket.reference}, not added",
            desk=ticket.desk,
        )
    person = _participant(ticket, message.sender)
    agent = _agent_of(ticket, message.sender) if person is None else None
    if agent is not None:
        # an agent answering a notification by mail: kept as an internal note, never sent on
        # to the customer by accident
        ticket_note(ticket=ticket, author=agent, body=_body(message, []))
        return HandlerResult(
            outcome=Inbound.Outcome.FOLLOW_UP,
            result=ticket.reference,
            ticket=ticket,
            desk=ticket.desk,
        )
    if person is None:
        warnings.append(
            _("%(sender)s is not a participant of %(ref)s: handled as a new request.")
            % {"sender": message.sender, "ref": ticket.reference}
        )
        return None
    if ticket.status == Status.MERGED and ticket.merged_into_id is not None:
        ticket = _ticket_ready(_tickets().get(pk=ticket.merged_into_id))
    if ticket.status in (Status.REFUSED, Status.MERGED):
        warnings.append(
            _("%(ref)s is closed: handled as a new request.") % {"ref": ticket.reference}
        )
        return None
    channels = _email_channels(ticket.desk)
    channel = next((c.id for c in channels if not c.escalate), "email")
    uploads = _uploads(ticket.desk, message.attachments, warnings)
    intake_flush(ticket=ticket)  # an earlier message of the batch to it is registered first
    draft = ticket_customer_reply_prepare(
        ticket=ticket,
        person=person,
        body=_body(message, uploads),
        channel=channel,
        attachments=uploads,
    )
    # registered with the batch's other messages
    return HandlerResult(
        outcome=Inbound.Outcome.FOLLOW_UP,
        result=ticket.reference,
        ticket=ticket,
        desk=ticket.desk,
        draft=draft,
    )


def email_prepare(rows: Sequence[Inbound]) -> None:
    """Before a batch is processed: parse every message and read, in a few queries, what the
    batch will ask about (senders, the tickets its markers name), into the batch's memo."""
    from regdesk.channels.parsers.mail import MailParseError, parse_email

    memo = intake_memo()
    if memo is None:
        return
    messages: list[InboundMessage] = []
    for row in rows:
        try:
            message = parse_email(bytes(row.raw))
        except MailParseError:
            continue  # the handler quarantines it
        memo[("parsed", row.pk)] = message
        messages.append(message)
    senders = {m.sender for m in messages if m.sender}
    for address in senders:
        memo[("person", address)] = None
    for entry in _people().filter(address__in=senders):
        memo[("person", entry.address)] = entry.person
    people = [memo[("person", a)] for a in senders if memo[("person", a)] is not None]
    for desk in {row.desk for row in rows if row.desk is not None}:
        allowed = set()
        if desk.is_active and people:
            organisations = {p.organisation_id for p in people if p.organisation_id}
            allowed = set(
                Person.objects.filter(pk__in=[p.pk for p in people])
                .filter(
                    Q(desks=desk)
                    | Q(
                        organisation__in=Organisation.objects.filter(
                            pk__in=organisations, desks=desk
                        )
                    )
                )
                .values_list("pk", flat=True)
            )
        for person in people:
            memo[("may_use", person.pk, desk.pk)] = person.pk in allowed
    _prefetch_threads(memo, messages)


def _prefetch_threads(memo: dict[Any, Any], messages: list[InboundMessage]) -> None:
    """The tickets the batch's markers name; a marker not found here (a ticket made earlier in
    the same batch) is looked up again when its message comes."""
    references: set[str] = set()
    ids: set[str] = set()
    numbers: set[tuple[str, int]] = set()
    for message in messages:
        found = [*message.in_reply_to, *message.references]
        references |= {t.reference for t in tokens_in(found) if t.valid}
        ids |= set(found)
        numbers |= set(subject_references(message.subject))
    if references:
        for ticket in _tickets().filter(reference__in=references):
            memo[("reference", ticket.reference)] = ticket
    if ids:
        earlier = Inbound.objects.filter(channel="email", key__in=ids, ticket__isnull=False)
        for key, received_at, ticket in (
            (row.key, row.received_at, row.ticket)
            for row in earlier.select_related("ticket__desk", "ticket__requester").only(
                "key", "received_at", "ticket"
            )
        ):
            memo[("earlier", key)] = (received_at, ticket)
    if numbers:
        wanted = {number for _prefix, number in numbers}
        for ticket in _tickets().filter(number__in=wanted):
            key = ("number", ticket.desk.ticket_prefix.upper(), ticket.number)
            if (key[1], key[2]) in numbers:
                memo[key] = ticket
    # one instance per ticket, whichever marker names it
    for key, value in list(memo.items()):
        if key[0] in ("reference", "number"):
            memo[key] = memo.setdefault(("ticket", value.pk), value)
        elif key[0] == "earlier":
            ticket = memo.setdefault(("ticket", value[1].pk), value[1])
            memo[key] = (value[0], ticket)
    # and their histories, for the replies' clocks
    tickets = [value for key, value in memo.items() if key[0] == "ticket"]
    if tickets:
        ticket_history_prefetch(tickets=tickets)


handler_register("email", email_handle, prepare=email_prepare)


def intake_warm(*, desk: Desk | None) -> None:
    """Load what every intake process needs before a parallel intake forks its workers, so
    each inherits it instead of loading it again: the parser, the URLconf (the links in the
    acknowledgements) and the desks' regulations (``desk``'s, or every active desk's). Each
    worker of a benchmark run spent half a second on these, a tenth of its share."""
    import importlib

    from regdesk.notifications.services import links_warm

    importlib.import_module("regdesk.channels.parsers.mail")
    links_warm()
    for item in [desk] if desk is not None else Desk.objects.filter(is_active=True):
        try:
            version = regulation_current(desk=item)
        except NoRegulationError:
            continue
        version.clocks  # noqa: B018  (the regulation parsed, and its clocks built)


def email_ingest(
    *, raw: bytes, source: str, desk: Desk | None = None, envelope_to: str = ""
) -> Inbound:
    """Store one message (committed first) and process it; a message seen before is returned
    as it was processed. Raises ``ValueError`` only when there is nothing to store."""
    from regdesk.channels.services import inbound_process, inbound_receive

    if not raw.strip():
        raise ValueError("empty message: nothing to store")
    row, _created = inbound_receive(
        channel="email",
        key=mail_key(raw),
        raw=raw,
        source=source,
        desk=desk,
        envelope_to=envelope_to.strip().lower(),
    )
    return inbound_process(inbound_id=row.pk)


def email_ingest_many(
    *, raws: Sequence[bytes], source: str, desk: Desk | None = None, envelope_to: str = ""
) -> list[Inbound | None]:
    """Store a batch of messages (one INSERT, committed first), then process them in one
    transaction, a savepoint per message. Returns a row per message, in order (None for an
    empty one: nothing to store)."""
    items = [Received(mail_key(raw), raw) for raw in raws if raw.strip()]
    if not items:
        return [None for _raw in raws]
    rows = inbound_receive_many(
        channel="email",
        items=items,
        source=source,
        desk=desk,
        envelope_to=envelope_to.strip().lower(),
    )
    processed = {row.pk: row for row in inbound_process_many(inbound_ids=[r.pk for r in rows])}
    done = iter(processed.get(row.pk, row) for row in rows)
    return [next(done) if raw.strip() else None for raw in raws]
