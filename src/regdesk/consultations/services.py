"""Logging calls and chats by the regulation's rules for their channel.

* a channel with role ``consultation`` (waviot: anything but email and Telegram) is logged as a
  consultation: searchable and counted, never a registered request;
* a channel with role ``coordination`` (wialon's phone: "urgent inquiries or coordination") is
  logged on an existing ticket, which it must name;
* a channel with role ``opens`` (the service desk's local specialists) may open a ticket on the
  caller's behalf.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from regdesk.consultations.models import Consultation
from regdesk.core.regulation import ChannelKind, ChannelRole
from regdesk.desks.models import Desk
from regdesk.desks.selectors import regulation_current
from regdesk.directory.models import Person
from regdesk.tickets.models import Ticket, TicketEvent
from regdesk.tickets.selectors import is_agent_of
from regdesk.tickets.services import TicketError, ticket_create

CONTACT_KINDS = (ChannelKind.PHONE, ChannelKind.CHAT, ChannelKind.SOCIAL)


def contact_channels(*, desk: Desk) -> list[tuple[str, ChannelRole]]:
    """The desk's channels an agent logs contacts from: phone, chat, social networks."""
    regulation = regulation_current(desk=desk).regulation
    return [(c.id, c.role) for c in regulation.channels if c.kind in CONTACT_KINDS]


@transaction.atomic
def consultation_record(
    *,
    desk: Desk,
    channel: str,
    summary: str,
    notes: str = "",
    person: Person | None = None,
    contact: str = "",
    at: datetime | None = None,
) -> Consultation:
    """A contact the regulation takes as a consultation, recorded by the system as it arrives
    (an email from an unofficial sender): no agent logged it."""
    return Consultation.objects.create(
        desk=desk,
        channel=channel,
        person=person,
        contact=contact[:200],
        summary=summary[:300],
        notes=notes[:20000],
        agent=None,
        at=at or timezone.now(),
    )


def consultation_log(
    *,
    desk: Desk,
    agent: User,
    channel: str,
    summary: str,
    notes: str = "",
    person: Person | None = None,
    contact: str = "",
    ticket: Ticket | None = None,
    open_ticket: dict[str, Any] | None = None,
    duration: timedelta | None = None,
    at: datetime | None = None,
) -> Consultation:
    """Log a call or chat; ``open_ticket`` ({request_type, fields}) opens a ticket from it."""
    moment = at or timezone.now()
    if not is_agent_of(agent, desk.pk):
        raise TicketError(_("Only agents of this desk can log calls."))
    roles = dict(contact_channels(desk=desk))
    errors: dict[str, str] = {}
    if channel not in roles:
        errors["channel"] = _("This desk's regulation has no such phone or chat channel.")
    if not summary.strip():
        errors["summary"] = _("Say in a few words what it was about.")
    if ticket is not None and ticket.desk_id != desk.pk:
        errors["ticket"] = _("The ticket belongs to another desk.")
    role = roles.get(channel)
    if role is ChannelRole.COORDINATION and ticket is None:
        errors["ticket"] = _("By the regulation, calls on this channel are logged on a ticket.")
    if open_ticket is not None:
        if role is not ChannelRole.OPENS:
            errors["channel"] = _(
                "By the regulation, this channel does not open requests: log it as a "
                "consultation, or ask the customer to write by an official channel."
            )
        if person is None:
            errors["person"] = _("Choose who is asking: a request needs a requester.")
        if ticket is not None:
            errors["ticket"] = _("Either open a new ticket or name an existing one.")
    if errors:
        raise TicketError(_("The call was not logged."), errors)
    if open_ticket is not None:
        assert person is not None
        ticket = ticket_create(
            desk=desk,
            requester=person,
            request_type=open_ticket.get("request_type", ""),
            subject=summary,
            body=notes or summary,
            fields=open_ticket.get("fields") or {},
            channel=channel,
            actor_user=agent,
            strict=False,
            at=moment,
        )
    consultation = Consultation.objects.create(
        desk=desk,
        channel=channel,
        person=person,
        contact=contact.strip()[:200],
        summary=summary.strip()[:300],
        notes=notes.strip(),
        agent=agent,
        at=moment,
        duration_seconds=int(duration.total_seconds()) if duration else None,
        ticket=ticket,
        opened_ticket=open_ticket is not None,
    )
    if ticket is not None and open_ticket is None:
        TicketEvent.objects.create(
            ticket=ticket,
            kind=TicketEvent.Kind.CONSULTATION,
            at=moment,
            actor_user=agent,
            data={
                "channel": channel,
                "summary": consultation.summary,
                "consultation": consultation.pk,
            },
        )
    return consultation
