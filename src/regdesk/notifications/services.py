"""Who is told what, in which language, on which channel — once.

``notify`` decides recipients from the regulation's notification rules (requesters,
organisation managers, the assignee, the team, leads, escalation contacts) plus the agents'
built-in events (assigned to you, customer replied, clock due soon / breached, subject to their
preferences), renders the text in each recipient's language and stores one ``Notification`` per
unique key; delivery is a background task enqueued on commit and safe to run twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from regdesk.core.regulation import NotificationEvent, Regulation, local_text
from regdesk.delivery import delivery_claim, delivery_stale_ids
from regdesk.directory.models import AgentMembership, Person
from regdesk.notifications.models import Notification, NotificationPreference
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
    user: User | None = None


def _person_recipient(person: Person, fallback_language: str) -> Recipient | None:
    address = person.primary_email
    if not address or person.bounced_at is not None:
        return None
    return Recipient(
        f"person-{person.pk}",
        address,
        person.language or fallback_language,
        person=person,
        user=person.user,
    )


def _user_recipient(user: User, fallback_language: str) -> Recipient | None:
    if not user.email or not user.is_active:
        return None
    agent = getattr(user, "agent", None)
    language = (agent.language if agent else "") or fallback_language
    return Recipient(f"user-{user.pk}", user.email, language, user=user)


def _leads(ticket: Ticket, *, team: bool) -> list[User]:
    memberships = AgentMembership.objects.filter(desk=ticket.desk, is_lead=True).select_related(
        "agent__user"
    )
    if team and ticket.team:
        memberships = memberships.filter(team=ticket.team)
    elif team and ticket.line:
        memberships = memberships.filter(line=ticket.line)
    return [m.agent.user for m in memberships]


def recipients_for(ticket: Ticket, roles: Iterable[str]) -> list[Recipient]:
    """Resolve the regulation's role names into addresses (unique, in order)."""
    regulation = ticket.regulation_version.regulation
    default_language = ticket.language or regulation.languages[0]
    found: list[Recipient | None] = []
    for role in roles:
        if role == "requester":
            found.append(_person_recipient(ticket.requester, default_language))
        elif role == "organisation_managers" and ticket.organisation_id is not None:
            managers = Person.objects.filter(
                organisation_id=ticket.organisation_id, is_organisation_manager=True
            ).prefetch_related("emails")
            found += [_person_recipient(p, default_language) for p in managers]
        elif role == "assignee" and ticket.assignee is not None:
            found.append(_user_recipient(ticket.assignee, default_language))
        elif role in ("team_lead", "line_lead"):
            found += [_user_recipient(u, default_language) for u in _leads(ticket, team=True)]
        elif role in ("desk_lead", "on_duty_lead"):
            found += [_user_recipient(u, default_language) for u in _leads(ticket, team=False)]
        elif role == "team":
            members = AgentMembership.objects.filter(desk=ticket.desk, team=ticket.team)
            found += [
                _user_recipient(m.agent.user, default_language)
                for m in members.select_related("agent__user")
            ]
        elif role.startswith("contact:"):
            contact = next((c for c in regulation.escalation_contacts if c.id == role[8:]), None)
            if contact is not None and contact.email:
                found.append(Recipient(f"contact-{contact.id}", contact.email, default_language))
    unique: dict[str, Recipient] = {}
    for item in found:
        if item is not None and item.address not in {r.address for r in unique.values()}:
            unique[item.key] = item
    return list(unique.values())


def _wants(recipient: Recipient, event: Event) -> bool:
    if recipient.user is None:
        return True
    enabled = NotificationPreference.objects.filter(
        user=recipient.user, event=event.value
    ).values_list("enabled", flat=True)
    return all(enabled)  # no preference: wanted


def ticket_link(ticket: Ticket, *, for_agent: bool) -> str:
    if for_agent:
        path = reverse("workspace:ticket", args=[ticket.reference])
    else:
        path = reverse("portal:ticket", args=[ticket.public_key])
    return settings.BASE_URL + path


def _clock_title(regulation: Regulation, clock_id: str, lang: str) -> str:
    """The regulation's title of a clock in ``lang`` (its id when the regulation has none)."""
    for name, spec in regulation.clocks.items():
        if name.value == clock_id:
            return local_text(spec.title, lang) or clock_id
    return clock_id


def render(
    ticket: Ticket, event: Event, recipient: Recipient, data: dict[str, Any]
) -> tuple[str, str]:
    """(subject, body) in the recipient's language."""
    regulation = ticket.regulation_version.regulation
    for_agent = recipient.person is None
    with translation.override(recipient.language):
        clock = _clock_title(regulation, str(data.get("clock", "")), recipient.language)
        values = {
            "ref": ticket.reference,
            "subject": ticket.subject,
            "status": ticket.get_status_display(),
            "clock": clock,
        }
        subject = str(SUBJECTS[event]) % values
        specs = {s.id: s for s in regulation.fields_for(ticket.request_type)}
        missing = [
            local_text(specs[f].label, recipient.language) if f in specs else f
            for f in data.get("missing", [])
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
    pending: list[Notification] = []
    for item in occurrences:
        pending += _mail_notifications(ticket, item, exclude_user, list(extra_roles))
    created = _insert_new(pending)
    for notification in created:
        _deliver_on_commit(notification.pk)
    # the requester's linked Telegram chat, where the regulation (or the request's channel)
    # calls for it
    from regdesk.telegram.delivery import telegram_notifications

    for item in occurrences:
        for sent in telegram_notifications(
            ticket=ticket, event=item.event, occurrence=item.occurrence, data=item.data
        ):
            created.append(sent)
            _deliver_on_commit(sent.pk)
    return created


def _mail_notifications(
    ticket: Ticket, item: Occurrence, exclude_user: User | None, extra_roles: list[str]
) -> list[Notification]:
    """The mail notifications (not saved) one occurrence of an event calls for."""
    event = item.event
    regulation = ticket.regulation_version.regulation
    roles: list[str] = list(extra_roles)
    for rule in regulation.notifications:
        if rule.event == event and "email" in rule.channels:
            roles += rule.to
    roles += CONVERSATION_EVENTS.get(event, ())
    roles += AGENT_EVENTS.get(event, ())
    found: list[Notification] = []
    for recipient in recipients_for(ticket, roles):
        if exclude_user is not None and recipient.user == exclude_user:
            continue
        if not _wants(recipient, event):
            continue
        subject, body = render(ticket, event, recipient, item.data)
        found.append(
            Notification(
                key=f"{ticket.pk}:{event.value}:{item.occurrence}:{recipient.key}:email",
                ticket=ticket,
                event=event.value,
                channel="email",
                recipient_person=recipient.person,
                recipient_user=recipient.user,
                address=recipient.address,
                language=recipient.language,
                subject=subject[:300],
                body=body,
            )
        )
    return found


def _insert_new(notifications: list[Notification]) -> list[Notification]:
    """Insert those whose key is not taken; returns them, saved, in order.

    ``INSERT … ON CONFLICT DO NOTHING RETURNING id, key`` in one statement: a savepoint around
    each plain insert (to survive the unique key's IntegrityError when an earlier or concurrent
    call made it) costs two more round trips a notification. Django builds the statement
    (``QuerySet._insert``, what ``Model.save`` uses: its fields, defaults and ``auto_now_add``);
    no row comes back for a key that was taken.
    """
    from django.db.models.constants import OnConflict

    if not notifications:
        return []
    meta = Notification._meta
    fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field]
    returning = [meta.pk, meta.get_field("key")]
    rows = Notification.objects._insert(
        notifications, fields=fields, returning_fields=returning, on_conflict=OnConflict.IGNORE
    )
    ids = {key: pk for pk, key in (row for row in rows if row is not None)}
    created = []
    for notification in notifications:
        pk = ids.pop(notification.key, None)
        if pk is None:
            continue
        notification.pk = pk
        notification._state.adding = False
        notification._state.db = Notification.objects.db
        created.append(notification)
    return created


# The notifications a transaction creates go to the workers as one task once it commits.
@dataclass
class _Deliveries:
    ids: list[int]

    def flush(self) -> None:
        from regdesk.notifications.tasks import notifications_deliver

        if self.ids:
            # SQLite hands a rolled-back id out again: each id once
            notifications_deliver.enqueue(list(dict.fromkeys(self.ids)))
            self.ids = []


def _deliver_on_commit(notification_id: int) -> None:
    """Queue a delivery for when the transaction commits, with the others of the transaction.

    The batch lives as long as its commit hook: once the hook has run, or was dropped with a
    rolled-back transaction or savepoint, the next id starts a new batch, so nothing rolled back
    with its transaction is handed out. An id rolled back with a savepoint inside a transaction
    that commits rides along and is skipped by the worker (there is no row to claim).
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _Deliveries([notification_id]).flush()
        return
    batch: _Deliveries | None = getattr(connection, "regdesk_deliveries", None)
    if batch is None or not any(hook[1] == batch.flush for hook in connection.run_on_commit):
        batch = _Deliveries([])
        connection.regdesk_deliveries = batch  # type: ignore[attr-defined]
        transaction.on_commit(batch.flush)
    batch.ids.append(notification_id)


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


def _references(ticket: Ticket, root: str) -> str:
    """The thread root and the customer's own mail on the ticket, so every client threads the
    conversation, and a reply to any of it comes back to the ticket."""
    from regdesk.channels.models import Inbound

    theirs = Inbound.objects.filter(ticket=ticket, channel="email").order_by("received_at")
    ids = [f"<{key}>" for key in theirs.values_list("key", flat=True)[:20]]
    return " ".join([root, *[i for i in ids if not i.startswith("<sha256:")]])


def _mail_headers(notification: Notification) -> tuple[dict[str, str], str]:
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
            "References": _references(ticket, root),
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
    """Deliver several notifications over one mail connection; one that fails is retried
    alone and never holds the others back."""
    from django.core.mail import get_connection

    results: list[str] = []
    connection = get_connection()
    try:
        connection.open()
    except Exception:  # each send tries again on its own and records the server's error
        logger.warning("mail server unavailable for a batch of %s", len(notification_ids))
    try:
        for notification_id in notification_ids:
            try:
                results.append(
                    notification_send(notification_id=notification_id, connection=connection)
                )
            except Exception:  # claimed and left: the stale-lease sweep hands it out again
                logger.exception("delivery of notification %s failed", notification_id)
                results.append("error")
    finally:
        connection.close()
    return results


def notification_send(*, notification_id: int, connection: Any = None) -> str:
    """Deliver one notification; safe to run twice (claimed with a conditional update)."""
    now = timezone.now()
    if not delivery_claim(Notification, pk=notification_id, now=now, lease=LEASE):
        return "not claimable (sent, or being sent by another worker)"
    notification = Notification.objects.select_related("ticket__desk").get(pk=notification_id)
    try:
        if notification.channel == "telegram":
            from regdesk.telegram.delivery import telegram_send

            telegram_send(notification=notification)
        else:
            headers, sender = _mail_headers(notification)
            EmailMessage(
                subject=notification.subject,
                body=notification.body,
                from_email=sender,
                to=[notification.address],
                headers=headers,
                connection=connection,
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
    sent_at = timezone.now()
    Notification.objects.filter(pk=notification.pk).update(
        state=Notification.State.SENT, sent_at=sent_at, attempts=notification.attempts + 1
    )
    if notification.event == Event.REGISTERED.value and notification.recipient_person_id:
        _acknowledged(notification, sent_at)
    return "sent"


def _acknowledged(notification: Notification, sent_at: datetime) -> None:
    """Record that the requester's confirmation with the number went out: where the regulation
    says so (waviot), an emailed request counts as accepted only from this moment."""
    from regdesk.tickets.services import ticket_acknowledge

    ticket = notification.ticket
    if ticket is None:
        return
    if not ticket.regulation_version.regulation.acknowledgement_required:
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
