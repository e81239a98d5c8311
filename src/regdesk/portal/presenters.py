"""How the portal words tickets for the customer: statuses, the timeline, channels, fields.

Pure presentation over rows already read through the selectors; no queries beyond the
ticket's own messages and events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from regdesk.core.regulation import (
    Channel,
    ChannelKind,
    ChannelRole,
    FieldKind,
    FieldSpec,
    Regulation,
    local_text,
)
from regdesk.tickets.models import Attachment, Message, Ticket, TicketEvent

STATUS_LABELS = {
    "new": gettext_lazy("Registered"),
    "accepted": gettext_lazy("In progress"),
    "waiting_for_customer": gettext_lazy("Waiting for your reply"),
    "answered": gettext_lazy("Answered"),
    "resolved": gettext_lazy("Resolved"),
    "refused": gettext_lazy("Refused"),
    "merged": gettext_lazy("Merged"),
}

CHANNEL_KIND_LABELS = {
    ChannelKind.EMAIL: gettext_lazy("Email"),
    ChannelKind.TELEGRAM: gettext_lazy("Telegram"),
    ChannelKind.PORTAL: gettext_lazy("Support portal"),
    ChannelKind.WIDGET: gettext_lazy("Request form"),
    ChannelKind.API: gettext_lazy("API"),
    ChannelKind.HELPDESK_SERVICE: gettext_lazy("Helpdesk service"),
    ChannelKind.PHONE: gettext_lazy("Phone"),
    ChannelKind.CHAT: gettext_lazy("Chat"),
    ChannelKind.SOCIAL: gettext_lazy("Social networks"),
}

CHANNEL_ROLE_LABELS = {
    ChannelRole.OPENS: gettext_lazy("Opens new requests."),
    ChannelRole.FOLLOW_UP: gettext_lazy(
        "Only for follow-ups on an existing request; a new request sent here is not registered."
    ),
    ChannelRole.CONSULTATION: gettext_lazy("Consultations only; not registered as a request."),
    ChannelRole.COORDINATION: gettext_lazy(
        "Urgent questions and coordination on an existing request; answers are given in writing."
    ),
}

CLOCK_LABELS = {
    "first_response": gettext_lazy("first response"),
    "next_response": gettext_lazy("next response"),
    "resolution": gettext_lazy("resolution"),
}


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def priority_title(regulation: Regulation, priority_id: str, lang: str) -> str:
    try:
        return local_text(regulation.priority(priority_id).title, lang)
    except KeyError:
        return priority_id


def request_type_title(regulation: Regulation, type_id: str, lang: str) -> str:
    try:
        return local_text(regulation.request_type(type_id).title, lang)
    except KeyError:
        return type_id


def channel_title(regulation: Regulation, channel_id: str, lang: str) -> str:
    try:
        channel = regulation.channel(channel_id)
    except KeyError:
        return channel_id
    return local_text(channel.title, lang) or str(CHANNEL_KIND_LABELS[channel.kind])


@dataclass(frozen=True)
class ChannelInfo:
    title: str
    kind: str
    role: str
    opens: bool
    address: str
    href: str


def channel_info(channel: Channel, lang: str) -> ChannelInfo:
    """A channel as the "how to open a request" page lists it, with a link when it has one."""
    address = channel.address or ""
    href = ""
    if address:
        if channel.kind is ChannelKind.EMAIL and "@" in address:
            href = f"mailto:{address}"
        elif channel.kind is ChannelKind.PHONE:
            href = "tel:" + "".join(ch for ch in address if ch.isdigit() or ch == "+")
        elif channel.kind is ChannelKind.TELEGRAM and address.startswith("@"):
            href = f"https://t.me/{address[1:]}"
        elif address.startswith(("https://", "http://")):
            href = address
    return ChannelInfo(
        title=local_text(channel.title, lang) or str(CHANNEL_KIND_LABELS[channel.kind]),
        kind=str(CHANNEL_KIND_LABELS[channel.kind]),
        role=str(CHANNEL_ROLE_LABELS[channel.role]),
        opens=channel.role is ChannelRole.OPENS,
        address=address,
        href=href,
    )


def field_labels(regulation: Regulation, request_type: str, lang: str) -> dict[str, str]:
    try:
        specs = regulation.fields_for(request_type)
    except KeyError:
        return {}
    return {spec.id: local_text(spec.label, lang) for spec in specs}


def _value_text(spec: FieldSpec, value: Any, lang: str) -> str:
    titles = {c.id: local_text(c.title, lang) for c in spec.choices}
    if isinstance(value, list):
        return ", ".join(titles.get(str(v), str(v)) for v in value)
    if spec.kind is FieldKind.TIME_INTERVAL and isinstance(value, str) and "/" in value:
        start, _sep, end = value.partition("/")
        return f"{start} — {end}"
    return titles.get(str(value), str(value))


@dataclass(frozen=True)
class FieldValue:
    label: str
    value: str
    secret: bool = False


def ticket_field_values(
    ticket: Ticket, regulation: Regulation, lang: str, secret_ids: set[str]
) -> list[FieldValue]:
    """The request's details in regulation order; secrets only say that they are stored."""
    shown: list[FieldValue] = []
    try:
        specs = regulation.fields_for(ticket.request_type)
    except KeyError:
        specs = []
    for spec in specs:
        label = local_text(spec.label, lang)
        if spec.kind is FieldKind.SECRET:
            if spec.id in secret_ids:
                shown.append(
                    FieldValue(label, _("Stored encrypted, visible only to support."), True)
                )
            continue
        value = (ticket.fields or {}).get(spec.id)
        if value in (None, "", [], {}):
            continue
        shown.append(FieldValue(label, _value_text(spec, value, lang)))
    return shown


# --------------------------------------------------------------------------- timeline


@dataclass
class TimelineItem:
    at: datetime
    kind: str  # "message" or "event"
    message: Message | None = None
    attachments: list[Attachment] = field(default_factory=list)
    author: str = ""
    from_customer: bool = False
    text: str = ""
    detail: str = ""
    created: bool = False


def _author(message: Message) -> tuple[str, bool]:
    if message.kind == Message.Kind.CUSTOMER:
        name = message.author_person.full_name if message.author_person else _("You")
        return name, True
    if message.kind == Message.Kind.SYSTEM:
        return _("Support desk (automatic message)"), False
    user = message.author_user
    if user is None:
        return _("Support"), False
    name = user.get_full_name() or user.get_username()
    return _("%(name)s (support)") % {"name": name}, False


# Events already shown as the messages they record.
_MESSAGE_EVENTS = {TicketEvent.Kind.CUSTOMER_MESSAGE, TicketEvent.Kind.AGENT_REPLY}


def event_text(event: TicketEvent, regulation: Regulation, lang: str) -> tuple[str, str]:
    """(sentence, detail) for a public event, in the active language."""
    data = event.data or {}
    kind = event.kind
    labels = field_labels(regulation, event.ticket.request_type, lang)
    if kind == TicketEvent.Kind.CREATED:
        channel = channel_title(regulation, str(data.get("channel") or ""), lang)
        return _("Request %(number)s registered. Received by: %(channel)s.") % {
            "number": data.get("number") or event.ticket.reference,
            "channel": channel,
        }, ""
    if kind == TicketEvent.Kind.STATUS:
        to = str(data.get("to") or "")
        if to == "waiting_for_customer" and data.get("missing"):
            missing = ", ".join(labels.get(m, m) for m in data["missing"])
            return _("Support asked you for more information: %(fields)s.") % {
                "fields": missing
            }, ""
        if to == "refused":
            reasons = {r.id: local_text(r.title, lang) for r in regulation.refusal_reasons}
            reason = str(data.get("reason") or "")
            return _("The request was refused: %(reason)s.") % {
                "reason": reasons.get(reason, reason)
            }, ""
        if to == "merged":
            return _("This request was merged into %(number)s.") % {
                "number": data.get("into", "")
            }, ""
        return _("Status changed to “%(status)s”.") % {"status": status_label(to)}, ""
    if kind == TicketEvent.Kind.PRIORITY:
        text = _("Priority changed from %(old)s to %(new)s.") % {
            "old": priority_title(regulation, str(data.get("from") or ""), lang),
            "new": priority_title(regulation, str(data.get("to") or ""), lang),
        }
        reason = str(data.get("reason") or "")
        return text, (_("Reason: %(reason)s") % {"reason": reason}) if reason else ""
    if kind == TicketEvent.Kind.RESOLVED:
        if data.get("confirmed_by_customer"):
            return _("%(name)s confirmed that the problem is solved.") % {
                "name": event.actor_name
            }, ""
        return _("Support marked the request as resolved."), ""
    if kind == TicketEvent.Kind.REOPENED:
        return _("The request was reopened."), ""
    if kind == TicketEvent.Kind.FIELDS:
        changed = ", ".join(labels.get(f, f) for f in data.get("changed", []))
        return _("Details updated: %(fields)s.") % {"fields": changed}, ""
    if kind == TicketEvent.Kind.SPLIT:
        if data.get("parent"):
            return _("Split off from request %(number)s.") % {"number": data["parent"]}, ""
        return _("Parts of this request continue as new requests: %(numbers)s.") % {
            "numbers": ", ".join(data.get("children", []))
        }, ""
    if kind == TicketEvent.Kind.MERGED:
        return _("Request %(number)s was merged into this one.") % {
            "number": data.get("source", "")
        }, ""
    if kind == TicketEvent.Kind.AGREED_TARGET:
        hours = float(data.get("seconds") or 0) / 3600
        return _("The %(clock)s time was agreed with support: %(hours)s business hours.") % {
            "clock": CLOCK_LABELS.get(str(data.get("clock")), data.get("clock")),
            "hours": f"{hours:g}",
        }, ""
    return str(event.get_kind_display()).capitalize(), ""


def _order(item: TimelineItem) -> int:
    if item.kind == "message":
        return 1
    return 0 if item.created else 2


def ticket_timeline(ticket: Ticket, regulation: Regulation, lang: str) -> list[TimelineItem]:
    """Public messages and public events in the order they happened; never internal notes."""
    items: list[TimelineItem] = []
    messages = (
        ticket.messages.exclude(kind=Message.Kind.NOTE)
        .select_related("author_user", "author_person")
        .prefetch_related("attachments")
    )
    for message in messages:
        author, from_customer = _author(message)
        items.append(
            TimelineItem(
                at=message.created_at,
                kind="message",
                message=message,
                attachments=list(message.attachments.all()),
                author=author,
                from_customer=from_customer,
            )
        )
    events = (
        ticket.events.filter(public=True)
        .exclude(kind__in=_MESSAGE_EVENTS)
        .select_related("actor_user", "actor_person", "ticket")
    )
    for event in events:
        text, detail = event_text(event, regulation, lang)
        items.append(
            TimelineItem(
                at=event.at,
                kind="event",
                text=text,
                detail=detail,
                created=event.kind == TicketEvent.Kind.CREATED,
            )
        )
    # At one instant: "registered" first, then the message, then what the message changed
    # (a reply's status change follows the reply).
    items.sort(key=lambda item: (item.at, _order(item)))
    return items
