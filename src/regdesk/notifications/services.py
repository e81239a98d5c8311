"""Who is told what, in which language, on which channel — once.

``notify`` decides recipients from the regulation's notification rules (requesters,
organisation managers, the assignee, the team, leads, escalation contacts) plus the agents'
built-in events (assigned to you, customer replied, clock due soon / breached, subject to their
preferences), renders the text in each recipient's language and stores one ``Notification`` per
unique key; delivery is a background task enqueued on commit and safe to run twice.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from regdesk.bulk import rows_insert
from regdesk.core.regulation import NotificationEvent, Regulation, local_text
from regdesk.delivery import delivery_claim_many, delivery_stale_ids
from regdesk.desks.selectors import regulation_version
from regdesk.directory.models import AgentMembership, Person, PersonEmail
from regdesk.notifications.models import DeliverySweep, Notification, NotificationPreference
from regdesk.tickets.models import Ticket

logger = logging.getLogger(__name__)

Event = NotificationEvent

# These carry the conversation itself (support's answer, what support needs): the requester
# always gets them, whatever the regulation's notification list says.
CONVERSATION_EVENTS: dict[Event, tuple[str, ...]] = {
    Event.ANSWERED: ("requester",),
    Event.RETURNED_FOR_INFORMATION: ("requester",),
}

# Agents are told these whatever the regulation says (they can switch them off).
AGENT_EVENTS: dict[Event, tuple[str, ...]] = {
    Event.ASSIGNED: ("assignee",),
    Event.CUSTOMER_REPLIED: ("assignee",),
    Event.CLOCK_DUE_SOON: ("assignee",),
    Event.CLOCK_BREACHED: ("assignee", "team_lead"),
}

SUBJECTS: dict[Event, Any] = {
    Event.REGISTERED: _("[%(ref)s] Your request is registered"),
    Event.ACCEPTED: _("[%(ref)s] Your request is accepted for work"),
    Event.RETURNED_FOR_INFORMATION: _("[%(ref)s] We need more information"),
    Event.ANSWERED: _("[%(ref)s] Support has answered your request"),
    Event.PRIORITY_CHANGED: _("[%(ref)s] The priority of your request changed"),
    Event.STATUS_CHANGED: _("[%(ref)s] Your request is now: %(status)s"),
    Event.RESOLVED: _("[%(ref)s] Your request is resolved"),
    Event.REOPENED: _("[%(ref)s] Your request is reopened"),
    Event.REFUSED: _("[%(ref)s] Your request was refused"),
    Event.ASSIGNED: _("[%(ref)s] Assigned to you: %(subject)s"),
    Event.CUSTOMER_REPLIED: _("[%(ref)s] The customer replied: %(subject)s"),
    Event.CLOCK_DUE_SOON: _("[%(ref)s] Due soon (%(clock)s): %(subject)s"),
    Event.CLOCK_BREACHED: _("[%(ref)s] BREACHED (%(clock)s): %(subject)s"),
}


@dataclass(frozen=True)
class Recipient:
    key: str  # stable identity for the unique key: person-12, user-3, contact-vp
    address: str
    language: str
    person: Person | None = None
    user: User | None = None  # an agent's account; a person's own is ``person.user_id``

    @property
    def user_id(self) -> int | None:
        """The recipient's user account, if any (a person's is not loaded to know it)."""
        if self.user is not None:
            return int(self.user.pk)
        return self.person.user_id if self.person is not None else None


def _person_recipient(person: Person, fallback_language: str, address: str) -> Recipient | None:
    if not address or person.bounced_at is not None:
        return None
    return Recipient(f"person-{person.pk}", address, person.language or fallback_language, person)


def _user_recipient(user: User, fallback_language: str) -> Recipient | None:
    if not user.email or not user.is_active:
        return None
    agent = getattr(user, "agent", None)
    language = (agent.language if agent else "") or fallback_language
    return Recipient(f"user-{user.pk}", user.email, language, user=user)


class _Directory:
    """What recipients are made of, read once for a batch of notifications (a ticket's, or an
    escalation chunk's): people's primary addresses, organisations' managers, desks' leads and
    team members. Lives as long as one batch, so it never serves a stale copy."""

    def __init__(self) -> None:
        self._addresses: dict[int, str] = {}
        self._managers: dict[int, list[Person]] = {}
        self._agents: dict[tuple[int, str, str, str], list[User]] = {}

    def load(self, tickets: Iterable[Ticket], roles: Iterable[str]) -> None:
        """Read, in one query each, the managers and the addresses these roles need."""
        wanted = set(roles)
        people: list[Person] = []
        tickets = list(tickets)
        if "requester" in wanted:
            people += [t.requester for t in tickets]
        if "organisation_managers" in wanted:
            organisations = {
                t.organisation_id for t in tickets if t.organisation_id is not None
            } - set(self._managers)
            if organisations:
                for organisation_id in organisations:
                    self._managers[organisation_id] = []
                for manager in Person.objects.filter(
                    organisation_id__in=organisations, is_organisation_manager=True
                ).order_by("full_name", "pk"):
                    self._managers[int(manager.organisation_id or 0)].append(manager)
                people += [p for o in organisations for p in self._managers[o]]
        self._load_addresses(people)

    def _load_addresses(self, people: Iterable[Person]) -> None:
        missing: set[int] = set()
        for person in people:
            if person.pk in self._addresses:
                continue
            if "emails" in getattr(person, "_prefetched_objects_cache", {}):
                self._addresses[person.pk] = person.primary_email  # no query
            else:
                missing.add(person.pk)
        if not missing:
            return
        emails = PersonEmail.objects.all()
        if len(missing) == 1:  # ticket creation's case: the plainest query compiles fastest
            emails = emails.filter(person_id=next(iter(missing)))
        else:
            emails = emails.filter(person_id__in=missing)
        # as Person.primary_email: the primary address, else the first one (the lowest id; the
        # database's order would be arbitrary, and sorting there costs more than here)
        best: dict[int, tuple[bool, int, str]] = {}
        for person_id, pk, address, is_primary in emails.values_list(
            "person_id", "pk", "address", "is_primary"
        ):
            rank = (not is_primary, pk, address)
            if person_id not in best or rank < best[person_id]:
                best[person_id] = rank
        for person_id in missing:
            self._addresses[person_id] = best[person_id][2] if person_id in best else ""

    def address(self, person: Person) -> str:
        if person.pk not in self._addresses:
            self._load_addresses([person])
        return self._addresses[person.pk]

    def managers(self, organisation_id: int) -> list[Person]:
        if organisation_id not in self._managers:
            found = list(
                Person.objects.filter(
                    organisation_id=organisation_id, is_organisation_manager=True
                ).order_by("full_name", "pk")
            )
            self._managers[organisation_id] = found
            self._load_addresses(found)
        return self._managers[organisation_id]

    def leads(self, ticket: Ticket, *, team: bool) -> list[User]:
        unit = ("team", ticket.team) if team and ticket.team else ("", "")
        if team and not ticket.team and ticket.line:
            unit = ("line", ticket.line)
        key = (ticket.desk_id, "lead", *unit)
        if key not in self._agents:
            memberships = AgentMembership.objects.filter(desk_id=ticket.desk_id, is_lead=True)
            if unit[0] == "team":
                memberships = memberships.filter(team=unit[1])
            elif unit[0] == "line":
                memberships = memberships.filter(line=unit[1])
            self._agents[key] = [
                m.agent.user for m in memberships.select_related("agent__user").order_by("pk")
            ]
        return self._agents[key]

    def team(self, ticket: Ticket) -> list[User]:
        key = (ticket.desk_id, "team", "team", ticket.team)
        if key not in self._agents:
            members = AgentMembership.objects.filter(desk_id=ticket.desk_id, team=ticket.team)
            self._agents[key] = [
                m.agent.user for m in members.select_related("agent__user").order_by("pk")
            ]
        return self._agents[key]


def recipients_for(
    ticket: Ticket, roles: Iterable[str], directory: _Directory | None = None
) -> list[Recipient]:
    """Resolve the regulation's role names into addresses (unique, in order)."""
    directory = directory or _Directory()
    regulation = ticket.regulation_version.regulation
    default_language = ticket.language or regulation.languages[0]
    found: list[Recipient | None] = []
    for role in roles:
        if role == "requester":
            person = ticket.requester
            found.append(_person_recipient(person, default_language, directory.address(person)))
        elif role == "organisation_managers" and ticket.organisation_id is not None:
            found += [
                _person_recipient(p, default_language, directory.address(p))
                for p in directory.managers(ticket.organisation_id)
            ]
        elif role == "assignee" and ticket.assignee is not None:
            found.append(_user_recipient(ticket.assignee, default_language))
        elif role in ("team_lead", "line_lead"):
            found += [
                _user_recipient(u, default_language) for u in directory.leads(ticket, team=True)
            ]
        elif role in ("desk_lead", "on_duty_lead"):
            found += [
                _user_recipient(u, default_language) for u in directory.leads(ticket, team=False)
            ]
        elif role == "team":
            found += [_user_recipient(u, default_language) for u in directory.team(ticket)]
        elif role.startswith("contact:"):
            contact = next((c for c in regulation.escalation_contacts if c.id == role[8:]), None)
            if contact is not None and contact.email:
                found.append(Recipient(f"contact-{contact.id}", contact.email, default_language))
    unique: dict[str, Recipient] = {}
    for item in found:
        if item is not None and item.address not in {r.address for r in unique.values()}:
            unique[item.key] = item
    return list(unique.values())


def _switched_off(wanted: Iterable[tuple[int, Event]]) -> set[tuple[int, str]]:
    """The (user, event) pairs an agent switched off, of those asked: one query for a batch.

    Preferences exist for the agents' built-in events only (``preferences_set`` and the account
    page offer no others), so other events and recipients without an account are not asked.
    """
    pairs = {(user_id, event.value) for user_id, event in wanted if event in AGENT_EVENTS}
    if not pairs:
        return set()
    rows = NotificationPreference.objects.filter(
        user_id__in={u for u, _ in pairs}, event__in={e for _, e in pairs}, enabled=False
    ).values_list("user_id", "event")
    return {row for row in rows if row in pairs}


def ticket_link(ticket: Ticket, *, for_agent: bool) -> str:
    if for_agent:
        name, key = "workspace:ticket", ticket.reference
    else:
        name, key = "portal:ticket", ticket.public_key
    before, after = _link_parts(name, get_script_prefix(), get_urlconf())
    return settings.BASE_URL + before + quote(key, safe="") + after


_PLACEHOLDER = "regdesk0key"


def links_warm() -> None:
    """Resolve the ticket pages' paths now (importing the URLconf: a third of a second), so
    processes forked from this one find them resolved."""
    for name in ("workspace:ticket", "portal:ticket"):
        _link_parts(name, get_script_prefix(), get_urlconf())


@functools.lru_cache(maxsize=32)
def _link_parts(name: str, _prefix: str, _urlconf: Any) -> tuple[str, str]:
    """A ticket page's path around its key, resolved once (``reverse`` is a third of a
    notification's rendering); the script prefix and URLconf are part of the cache key."""
    path = reverse(name, args=[_PLACEHOLDER])
    before, _found, after = path.partition(_PLACEHOLDER)
    return before, after


def _clock_title(regulation: Regulation, clock_id: str, lang: str) -> str:
    """The regulation's title of a clock in ``lang`` (its id when the regulation has none)."""
    for name, spec in regulation.clocks.items():
        if name.value == clock_id:
            return local_text(spec.title, lang) or clock_id
    return clock_id


class _SubjectValues(dict[str, str]):
    """A subject's values; the status's display name is looked up only by a subject that
    shows it (it translates every status choice, a quarter of a render)."""

    ticket: Ticket

    def __missing__(self, key: str) -> str:
        if key != "status":
            raise KeyError(key)
        return str(self.ticket.get_status_display())


def render(
    ticket: Ticket, event: Event, recipient: Recipient, data: dict[str, Any]
) -> tuple[str, str]:
    """(subject, body) in the recipient's language."""
    regulation = ticket.regulation_version.regulation
    for_agent = recipient.person is None
    with translation.override(recipient.language):
        clock = _clock_title(regulation, str(data.get("clock", "")), recipient.language)
        values = _SubjectValues(ref=ticket.reference, subject=ticket.subject, clock=clock)
        values.ticket = ticket
        subject = str(SUBJECTS[event]) % values
        missing: list[str] = []
        if data.get("missing"):
            specs = {s.id: s for s in regulation.fields_for(ticket.request_type)}
            missing = [
                local_text(specs[f].label, recipient.language) if f in specs else f
                for f in data["missing"]
            ]
        body = render_to_string(
            "notifications/message.txt",
            {
                "event": event.value,
                "ticket": ticket,
                "data": data,
                "missing": missing,
                "link": ticket_link(ticket, for_agent=for_agent),
                "for_agent": for_agent,
                "clock": clock,
                "desk_name": ticket.desk.name,
            },
        )
    return subject, body.strip() + "\n"


def notify(
    *,
    ticket: Ticket,
    event: Event,
    occurrence: str,
    data: dict[str, Any] | None = None,
    exclude_user: User | None = None,
    extra_roles: Iterable[str] = (),
) -> list[Notification]:
    """Create the notifications ``event`` calls for and enqueue their delivery on commit.

    ``occurrence`` identifies this happening of the event (an event-log id, a clock cycle and
    step): together with the recipient and channel it makes the unique key, so calling twice
    sends once.
    """
    item = Occurrence(event, occurrence, data or {})
    return notify_many(
        ticket=ticket, occurrences=[item], exclude_user=exclude_user, extra_roles=extra_roles
    )


@dataclass(frozen=True)
class Occurrence:
    event: Event
    occurrence: str
    data: dict[str, Any]


def notify_many(
    *,
    ticket: Ticket,
    occurrences: Sequence[Occurrence],
    exclude_user: User | None = None,
    extra_roles: Iterable[str] = (),
) -> list[Notification]:
    """``notify`` for several events of one change (a request registered and returned at
    once): their mail notifications are inserted together, in one statement."""
    roles = tuple(extra_roles)
    return notify_tickets(
        items=[TicketOccurrence(ticket, item, roles, exclude_user) for item in occurrences]
    )


@dataclass(frozen=True)
class TicketOccurrence:
    """One happening of an event on one ticket, as ``notify`` takes it."""

    ticket: Ticket
    item: Occurrence
    extra_roles: tuple[str, ...] = ()
    exclude_user: User | None = None


def notify_tickets(*, items: Sequence[TicketOccurrence]) -> list[Notification]:
    """``notify`` for events of several tickets at once (an escalation chunk's steps).

    The recipients' primary addresses and the agents' preferences are read once for the batch
    (a recipient without an account, or an event no preference covers, is not asked about),
    the leads and teams once per desk and unit, and the mail notifications inserted with one
    ``INSERT … ON CONFLICT DO NOTHING``: each keeps its unique key, so calling twice sends once.
    Their delivery is one task when the transaction commits.
    """
    return notifications_store(items=items, mails=notifications_render(items=items))


@dataclass(frozen=True)
class Mail:
    """A mail notification rendered for one recipient of one occurrence, not yet stored."""

    entry: TicketOccurrence
    recipient: Recipient
    notification: Notification


def notifications_render(*, items: Sequence[TicketOccurrence]) -> list[Mail]:
    """The mail notifications ``items`` call for, rendered, without writing anything (their
    tickets need not be stored yet: a registration renders before it takes its number)."""
    if not items:
        return []
    planned = [(entry, _roles(entry)) for entry in items]
    directory = _Directory()
    directory.load(
        (entry.ticket for entry in items), {role for _, roles in planned for role in roles}
    )
    found: list[tuple[TicketOccurrence, Recipient]] = []
    for entry, roles in planned:
        excluded = entry.exclude_user.pk if entry.exclude_user is not None else None
        found += [
            (entry, recipient)
            for recipient in recipients_for(entry.ticket, roles, directory)
            if excluded is None or recipient.user_id != excluded
        ]
    off = _switched_off(
        (recipient.user_id, entry.item.event)
        for entry, recipient in found
        if recipient.user_id is not None
    )
    return [
        Mail(entry, recipient, _mail_notification(entry, recipient))
        for entry, recipient in found
        if (recipient.user_id, entry.item.event.value) not in off
    ]


def notifications_store(
    *, items: Sequence[TicketOccurrence], mails: Sequence[Mail]
) -> list[Notification]:
    """Store rendered ``mails`` (their tickets stored by now) and the Telegram messages
    ``items`` call for; delivery is asked for when the transaction commits."""
    for mail in mails:
        ticket, item = mail.entry.ticket, mail.entry.item
        mail.notification.key = (
            f"{ticket.pk}:{item.event.value}:{item.occurrence}:{mail.recipient.key}:email"
        )
        mail.notification.subject = mail.notification.subject[:300]
    # one statement; a key taken by an earlier or concurrent call is skipped
    created = rows_insert(rows=[mail.notification for mail in mails], unique="key")
    # the requester's linked Telegram chat, where the regulation (or the request's channel)
    # calls for it
    from regdesk.telegram.delivery import telegram_notifications

    for entry in items:
        item = entry.item
        for sent in telegram_notifications(
            ticket=entry.ticket, event=item.event, occurrence=item.occurrence, data=item.data
        ):
            created.append(sent)
    if created:
        _deliver_on_commit()
    return created


def _roles(entry: TicketOccurrence) -> list[str]:
    """The roles told of one occurrence by email: the regulation's rules and the fixed ones."""
    event = entry.item.event
    roles: list[str] = list(entry.extra_roles)
    for rule in entry.ticket.regulation_version.regulation.notifications:
        if rule.event == event and "email" in rule.channels:
            roles += rule.to
    roles += CONVERSATION_EVENTS.get(event, ())
    roles += AGENT_EVENTS.get(event, ())
    return roles


def _mail_notification(entry: TicketOccurrence, recipient: Recipient) -> Notification:
    """One mail notification (not saved, its key set when it is), rendered in the recipient's
    language."""
    ticket, item = entry.ticket, entry.item
    subject, body = render(ticket, item.event, recipient, item.data)
    return Notification(
        ticket=ticket,
        event=item.event.value,
        channel="email",
        recipient_person=recipient.person,
        recipient_user_id=recipient.user_id,
        address=recipient.address,
        language=recipient.language,
        subject=subject,  # cut to its column when stored, after the reference is in
        body=body,
    )


def _deliver_on_commit() -> None:
    """Have the notifications just made delivered once the transaction commits: the commit
    asks for a sweep of the pending notifications (``sweep_request``), once per transaction
    (at once outside one). A rolled-back transaction, or savepoint, drops its hook with what
    it wrote, so nothing rolled back asks or is sent."""
    connection = transaction.get_connection()
    if not any(hook[1] is sweep_request for hook in connection.run_on_commit):
        transaction.on_commit(sweep_request)


def notifications_bounced(*, notification_ids: list[int], detail: str) -> None:
    """A delivery report says these notifications did not arrive: shown with them."""
    Notification.objects.filter(pk__in=notification_ids).update(last_error=detail[:2000])


def notification_queue(
    *,
    key: str,
    event: str,
    address: str,
    language: str,
    subject: str,
    body: str,
    headers: dict[str, str] | None = None,
    from_address: str = "",
    ticket: Ticket | None = None,
) -> Notification | None:
    """One mail outside the regulation's events (an automatic answer): stored once per key and
    delivered after the commit like every notification. None when the key was used before."""
    notification, created = Notification.objects.get_or_create(
        key=key,
        defaults={
            "ticket": ticket,
            "event": event[:40],
            "channel": "email",
            "address": address,
            "language": language,
            "subject": subject[:300],
            "body": body,
            "headers": headers or {},
            "from_address": from_address,
        },
    )
    if not created:
        return None
    _deliver_on_commit()
    return notification


def _enqueue_delivery(notification_id: int, delay: timedelta | None = None) -> None:
    from regdesk.notifications.tasks import notification_deliver

    task = notification_deliver
    if delay is not None:
        task = task.using(run_after=timezone.now() + delay)
    task.enqueue(notification_id)


def thread_id(ticket: Ticket) -> str:
    """The Message-ID every mail about the ticket refers to (carries the signed reply token)."""
    from regdesk.channels.threading import thread_root

    return thread_root(ticket.reference)


def _references_many(tickets: Iterable[Ticket]) -> dict[int, list[str]]:
    """The Message-IDs of the customers' own mail on these tickets (the first 20 of each), in
    one query: with the thread root they make a notification's References, so every client
    threads the conversation and a reply to any of it comes back to the ticket."""
    from regdesk.channels.models import Inbound

    found: dict[int, list[str]] = {ticket.pk: [] for ticket in tickets}
    if not found:
        return found
    theirs = Inbound.objects.filter(ticket_id__in=found, channel="email").order_by("received_at")
    for ticket_id, key in theirs.values_list("ticket_id", "key"):
        keys = found[ticket_id]
        if len(keys) < 20 and not key.startswith("sha256:"):
            keys.append(f"<{key}>")
    return found


def _mail_headers(
    notification: Notification, references: dict[int, list[str]]
) -> tuple[dict[str, str], str]:
    """(headers, from address) for one notification."""
    from regdesk.channels.threading import message_id

    headers = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}
    sender = notification.from_address or settings.DEFAULT_FROM_EMAIL
    ticket = notification.ticket
    if ticket is not None:
        root = thread_id(ticket)
        headers |= {
            "Message-ID": message_id(ticket.reference, notification.pk),
            "In-Reply-To": root,
            "References": " ".join([root, *references.get(ticket.pk, [])]),
            "X-Regdesk-Ticket": ticket.reference,
        }
        if notification.event in CONVERSATION_EVENTS and notification.recipient_person_id:
            # a person's answer from support is a message, not an automatic one
            headers.pop("Auto-Submitted")
        if ticket.desk.email_address:
            sender = notification.from_address or ticket.desk.email_address
            headers["Reply-To"] = ticket.desk.email_address
    headers |= {str(k): str(v) for k, v in (notification.headers or {}).items()}
    return headers, sender


MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)


def notifications_send(*, notification_ids: list[int]) -> list[str]:
    """Deliver several notifications over one mail connection: claimed in one statement, the
    sent ones recorded in one; one that fails is retried alone and never holds the others back.
    Returns an outcome per id, in order."""
    claimed = delivery_claim_many(
        Notification, pks=list(dict.fromkeys(notification_ids)), now=timezone.now(), lease=LEASE
    )
    outcomes = _send_claimed(claimed)
    busy = "not claimable (sent, or being sent by another worker)"
    return [outcomes.get(pk, busy) for pk in notification_ids]


def notifications_send_pending(*, rounds: int = 50) -> int:
    """A sweep: deliver every pending notification, ``SWEEP_BATCH`` at a time; returns how
    many were sent. The request is cleared first, so a notification committed from now on asks
    for the next sweep; more than ``rounds`` batches left ask for another at the end."""
    DeliverySweep.objects.filter(pk=1).update(requested_at=None)
    sent = 0
    for _round in range(rounds):
        claimed = delivery_claim_many(
            Notification, now=timezone.now(), lease=LEASE, limit=SWEEP_BATCH
        )
        sent += sum(1 for outcome in _send_claimed(claimed).values() if outcome == "sent")
        if len(claimed) < SWEEP_BATCH:
            return sent
    sweep_request()
    return sent


# Notifications claimed and sent together by a sweep.
SWEEP_BATCH = 200
# A sweep asked for this long ago and not begun is asked for again (its task was lost with a
# process, or its queue is down): nothing waits on a request that will never run.
SWEEP_STALE = timedelta(seconds=60)


def sweep_request() -> None:
    """Ask for a sweep of the pending notifications, unless one is queued: a read when one is
    (as it is for most transactions when many commit: the worker clears the request before it
    claims, so a queued sweep finds what just committed), else an upsert that answers only when
    it asked, and a task only then."""
    from regdesk.notifications.tasks import notifications_sweep

    now = timezone.now()
    table = connection.ops.quote_name(DeliverySweep._meta.db_table)
    with connection.cursor() as cursor:
        # A read takes no row lock and writes nothing to the log: the upsert below does both
        # even when it changes nothing, and its commit waits for the disk.
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE id = 1 AND requested_at >= %s", [now - SWEEP_STALE]
        )
        if cursor.fetchone() is not None:
            return
        cursor.execute(
            f"INSERT INTO {table} (id, requested_at) VALUES (1, %s) ON CONFLICT (id) DO UPDATE "
            f"SET requested_at = EXCLUDED.requested_at WHERE {table}.requested_at IS NULL "
            f"OR {table}.requested_at < %s RETURNING id",
            [now, now - SWEEP_STALE],
        )
        asked = cursor.fetchone() is not None
    if not asked:
        return
    try:
        notifications_sweep.enqueue()
    except Exception:
        # not queued: the next transaction asks again (and the stale sweep finds them)
        DeliverySweep.objects.filter(pk=1).update(requested_at=None)
        raise


def notification_send(*, notification_id: int) -> str:
    """Deliver one notification (its retry); safe to run twice (claimed with a conditional
    update)."""
    return notifications_send(notification_ids=[notification_id])[0]


def _send_claimed(ids: list[int]) -> dict[int, str]:
    """Send notifications this worker claimed, email over one connection (opened when the
    first one needs it); the sent ones are recorded in one statement."""
    from django.core.mail import get_connection

    if not ids:
        return {}
    rows = Notification.objects.select_related("ticket__desk").filter(pk__in=ids).order_by("pk")
    notifications = list(rows)
    references = _references_many([n.ticket for n in notifications if n.ticket is not None])
    outcomes: dict[int, str] = {}
    sent: list[Notification] = []
    mail = None
    try:
        for notification in notifications:
            if mail is None and notification.channel != "telegram":
                mail = get_connection()
                try:
                    mail.open()
                except Exception:  # each send tries again on its own and records the error
                    logger.warning("mail server unavailable for a batch of %s", len(ids))
            try:
                outcomes[notification.pk] = _deliver(notification, mail, references)
            except Exception:  # claimed and left: the stale-lease sweep hands it out again
                logger.exception("delivery of notification %s failed", notification.pk)
                outcomes[notification.pk] = "error"
                continue
            if outcomes[notification.pk] == "sent":
                sent.append(notification)
    finally:
        if mail is not None:
            mail.close()
    if sent:
        sent_at = timezone.now()
        Notification.objects.filter(pk__in=[n.pk for n in sent]).update(
            state=Notification.State.SENT, sent_at=sent_at, attempts=F("attempts") + 1
        )
        for notification in sent:
            if notification.event == Event.REGISTERED.value and notification.recipient_person_id:
                _acknowledged(notification, sent_at)
    return outcomes


def _deliver(notification: Notification, mail: Any, references: dict[int, list[str]]) -> str:
    """Hand one claimed notification to its channel: "sent", or "failed" with the error
    recorded and a retry queued (given up after ``MAX_ATTEMPTS``)."""
    try:
        if notification.channel == "telegram":
            from regdesk.telegram.delivery import telegram_send

            telegram_send(notification=notification)
        else:
            headers, sender = _mail_headers(notification, references)
            EmailMessage(
                subject=notification.subject,
                body=notification.body,
                from_email=sender,
                to=[notification.address],
                headers=headers,
                connection=mail,
            ).send(fail_silently=False)
    except Exception as exc:  # the server's problem is recorded, the send retried
        attempts = notification.attempts + 1
        gave_up = attempts >= MAX_ATTEMPTS
        Notification.objects.filter(pk=notification.pk).update(
            state=Notification.State.GAVE_UP if gave_up else Notification.State.FAILED,
            attempts=attempts,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        if not gave_up:
            _enqueue_delivery(notification.pk, delay=timedelta(seconds=30 * 2**attempts))
        return "failed"
    return "sent"


def _acknowledged(notification: Notification, sent_at: datetime) -> None:
    """Record that the requester's confirmation with the number went out: where the regulation
    says so (waviot), an emailed request counts as accepted only from this moment."""
    from regdesk.tickets.services import ticket_acknowledge

    ticket = notification.ticket
    if ticket is None:
        return
    version = regulation_version(desk=ticket.desk, version_id=ticket.regulation_version_id)
    if not version.regulation.acknowledgement_required:
        return
    ticket_acknowledge(ticket=ticket, notification_id=notification.pk, at=sent_at)


def notifications_requeue_stale(*, now: datetime | None = None) -> int:
    """Re-enqueue deliveries a dead worker left behind (pending or sending past the lease).

    Safe alongside live workers: delivery claims each notification with a conditional update.
    """
    ids = delivery_stale_ids(Notification, now=now or timezone.now(), lease=LEASE)
    for pk in ids:
        _enqueue_delivery(pk)
    return len(ids)


def preferences_set(*, user: User, enabled: dict[str, bool]) -> None:
    """Save an agent's choices of which built-in notifications they receive."""
    known = {event.value for event in AGENT_EVENTS}
    for event, on in enabled.items():
        if event not in known:
            raise ValueError(f"unknown notification event {event!r}")
        NotificationPreference.objects.update_or_create(
            user=user, event=event, defaults={"enabled": on}
        )


def notifications_mark_history_sent(*, desk_id: int) -> int:
    """Record a desk's pending notifications as sent when they were made (imported or demo
    history): the worker then mails nothing about events long past."""
    return Notification.objects.filter(
        ticket__desk_id=desk_id, state=Notification.State.PENDING
    ).update(state=Notification.State.SENT, sent_at=F("created_at"))
