"""What the agent's pages show, computed from a ticket and its regulation (no writes, no HTTP).

Templates stay simple: they get these small records instead of digging through the
regulation and the stored clock JSON themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from django.urls import reverse
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from regdesk.core.regulation import FieldKind, FieldSpec, Regulation, TargetKind, local_text
from regdesk.tickets.models import Status, Ticket, TicketEvent
from regdesk.tickets.services import DESCRIPTION_FIELD

WARNING_BEFORE_DUE = timedelta(hours=1)
Group = Literal["tiers", "lines", "teams"]


def unit_title(regulation: Regulation, group: Group, unit_id: str, lang: str) -> str:
    if not unit_id:
        return ""
    try:
        return local_text(regulation.unit(group, unit_id).title, lang) or unit_id
    except KeyError:
        return unit_id


def priority_title(regulation: Regulation, priority_id: str, lang: str) -> str:
    try:
        return local_text(regulation.priority(priority_id).title, lang) or priority_id
    except KeyError:
        return priority_id


def channel_title(regulation: Regulation, channel_id: str, lang: str) -> str:
    try:
        return local_text(regulation.channel(channel_id).title, lang) or channel_id
    except KeyError:
        return channel_id


def type_title(regulation: Regulation, type_id: str, lang: str) -> str:
    try:
        return local_text(regulation.request_type(type_id).title, lang) or type_id
    except KeyError:
        return type_id


# --------------------------------------------------------------------------- clocks


def clock_title(regulation: Regulation, clock_id: str, lang: str) -> str:
    """The regulation's title of a clock (its id when the regulation gives none)."""
    for clock, spec in regulation.clocks.items():
        if clock.value == clock_id:
            return local_text(spec.title, lang) or clock_id
    return clock_id


@dataclass(frozen=True)
class ClockBadge:
    clock: str
    title: str
    state: str
    state_label: str
    due: datetime | None
    met_at: datetime | None
    breached: bool
    tone: str  # breached, warning, ok, done, paused, idle
    target_text: str
    explanation: str
    agreed: bool  # the regulation's target is "agreed per ticket"


def _parse_instant(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _state_label(state: str) -> str:
    labels = {
        "not_started": _("not started"),
        "running": _("running"),
        "paused": _("paused"),
        "met": _("met"),
        "stopped": _("stopped"),
    }
    return labels.get(state, state)


def _tone(state: str, due: datetime | None, breached: bool, now: datetime) -> str:
    if breached or (state == "running" and due is not None and due < now):
        return "breached"
    if state == "running" and due is not None:
        return "warning" if due - now < WARNING_BEFORE_DUE else "ok"
    if state == "met":
        return "done"
    if state == "paused":
        return "paused"
    return "idle"


def clock_badges(
    ticket: Ticket, regulation: Regulation, *, lang: str, now: datetime
) -> list[ClockBadge]:
    """One badge per clock the regulation defines, from the ticket's stored clock state."""
    badges = []
    for clock, spec in regulation.clocks.items():
        data = (ticket.clock_state or {}).get(clock.value, {})
        state = str(data.get("state", "not_started"))
        due = _parse_instant(data.get("due"))
        breached = bool(data.get("breached"))
        target = data.get("target") or {}
        agreed = target.get("kind") == TargetKind.AGREED.value
        badges.append(
            ClockBadge(
                clock=clock.value,
                title=local_text(spec.title, lang) or clock.value,
                state=state,
                state_label=_state_label(state),
                due=due,
                met_at=_parse_instant(data.get("met_at")),
                breached=breached,
                tone=_tone(state, due, breached, now),
                target_text=str(target.get("text", "")),
                explanation=str(data.get("explanation", "")),
                agreed=agreed,
            )
        )
    return badges


# --------------------------------------------------------------------------- fields


@dataclass(frozen=True)
class FieldRow:
    spec: FieldSpec
    label: str
    help: str
    value: Any
    shown_value: str
    required: bool
    missing: bool
    is_secret: bool
    secret_stored: bool
    choices: list[tuple[str, str]] = field(default_factory=list)
    revealed_value: str | None = None  # a secret just revealed to this agent

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def kind(self) -> str:
        return self.spec.kind.value

    @property
    def is_description(self) -> bool:
        return self.spec.id == DESCRIPTION_FIELD

    @property
    def edit_value(self) -> str:
        if isinstance(self.value, list):
            return ",".join(str(v) for v in self.value)
        return "" if self.value is None else str(self.value)

    @property
    def selected(self) -> list[str]:
        if isinstance(self.value, list):
            return [str(v) for v in self.value]
        return [] if self.value in (None, "") else [str(self.value)]


def field_rows(
    ticket: Ticket,
    regulation: Regulation,
    *,
    lang: str,
    secret_ids: set[str],
    revealed: dict[str, str] | None = None,
) -> list[FieldRow]:
    """The fields the regulation asks for this request type, marking the missing ones.

    The request's message answers a ``description`` field, as the services store it.
    """
    try:
        specs = regulation.fields_for(ticket.request_type)
    except KeyError:
        return []
    values = dict(ticket.fields or {})
    present = {**values, **dict.fromkeys(secret_ids, "***"), DESCRIPTION_FIELD: ticket.subject}
    rows = []
    for spec in specs:
        if not spec.is_shown(ticket.request_type, present):
            continue
        choices = [(c.id, local_text(c.title, lang)) for c in spec.choices]
        titles = dict(choices)
        value = values.get(spec.id)
        if isinstance(value, list):
            shown = ", ".join(titles.get(str(v), str(v)) for v in value)
        else:
            shown = titles.get(str(value), str(value)) if value not in (None, "") else ""
        required = spec.is_required(ticket.request_type, present)
        rows.append(
            FieldRow(
                spec=spec,
                label=local_text(spec.label, lang) or spec.id,
                help=local_text(spec.help, lang),
                value=value,
                shown_value=shown,
                required=required,
                missing=required and present.get(spec.id) in (None, "", [], {}),
                is_secret=spec.kind is FieldKind.SECRET,
                secret_stored=spec.id in secret_ids,
                choices=choices,
                revealed_value=(revealed or {}).get(spec.id),
            )
        )
    return rows


# --------------------------------------------------------------------------- event log


def _status_title(value: Any) -> str:
    try:
        return str(Status(value).label)
    except ValueError:
        return str(value or "—")


def _hours(seconds: Any) -> str:
    try:
        return f"{float(seconds) / 3600:g}"
    except (TypeError, ValueError):
        return "?"


def field_labels(regulation: Regulation, lang: str) -> dict[str, str]:
    """Every field id of the regulation with its label."""
    labels = {}
    for request_type in regulation.request_types:
        for spec in regulation.fields_for(request_type.id):
            labels[spec.id] = local_text(spec.label, lang) or spec.id
    return labels


def event_summary(
    event: TicketEvent, regulation: Regulation, lang: str, labels: dict[str, str]
) -> str:
    """What changed, in a sentence (the kind itself is shown next to it)."""
    data = event.data or {}

    def named(ids: Iterable[str]) -> str:
        return ", ".join(labels.get(str(field_id), str(field_id)) for field_id in ids)

    kind = event.kind
    old, new = data.get("from"), data.get("to")
    Kind = TicketEvent.Kind
    if kind in (Kind.STATUS, Kind.RESOLVED):
        text = _("%(old)s → %(new)s") % {"old": _status_title(old), "new": _status_title(new)}
        if data.get("reason"):
            text += " · " + _("reason: %(reason)s") % {"reason": data["reason"]}
        if data.get("into"):
            text += " · " + _("into %(reference)s") % {"reference": data["into"]}
        if data.get("missing"):
            text += " · " + _("asked for: %(fields)s") % {"fields": named(data["missing"])}
        return text
    if kind == Kind.PRIORITY:
        return _("%(old)s → %(new)s, because: %(reason)s") % {
            "old": priority_title(regulation, str(old or ""), lang),
            "new": priority_title(regulation, str(new or ""), lang),
            "reason": data.get("reason", ""),
        }
    if kind in (Kind.LINE, Kind.TEAM, Kind.TIER):
        group: Group = {Kind.LINE: "lines", Kind.TEAM: "teams", Kind.TIER: "tiers"}[kind]
        return _("%(old)s → %(new)s") % {
            "old": unit_title(regulation, group, str(old or ""), lang) or "—",
            "new": unit_title(regulation, group, str(new or ""), lang) or "—",
        }
    if kind == Kind.ASSIGNED:
        return str(data.get("name") or _("nobody"))
    if kind == Kind.AGREED_TARGET:
        return _("%(clock)s: %(hours)s business hours") % {
            "clock": clock_title(regulation, str(data.get("clock", "")), lang),
            "hours": _hours(data.get("seconds")),
        }
    if kind == Kind.FIELDS:
        return named(data.get("changed", []))
    if kind == Kind.SPLIT:
        if data.get("parent"):
            return _("split off from %(reference)s") % {"reference": data["parent"]}
        return _("split into %(references)s") % {"references": ", ".join(data.get("children", []))}
    if kind == Kind.MERGED:
        return _("%(reference)s merged into this ticket") % {"reference": data.get("source", "")}
    if kind == Kind.SECRET_REVEALED:
        return named([data.get("field", "")])
    if kind == Kind.CREATED:
        return _("as %(reference)s, priority %(priority)s") % {
            "reference": data.get("number", ""),
            "priority": priority_title(regulation, str(data.get("priority", "")), lang),
        }
    return ""


def flat_choices(choices: Iterable[Any]) -> list[tuple[Any, str]]:
    """A form field's choices without option groups: [(value, label), …]."""
    flat: list[tuple[Any, str]] = []
    for value, label in choices:
        if isinstance(label, list | tuple):
            flat.extend((inner_value, str(inner_label)) for inner_value, inner_label in label)
        else:
            flat.append((value, str(label)))
    return flat


@dataclass(frozen=True)
class QueueRow:
    """One queue line, every string ready: a template loop over 50 of these is cheap."""

    ticket: Ticket
    url: str
    priority: str
    status_label: str
    assignee: str
    due_iso: str
    due_text: str
    due_title: str
    created_iso: str
    created_text: str


def queue_rows(tickets: Iterable[Ticket], *, versions: dict[int, Any], lang: str) -> list[QueueRow]:
    base = reverse("workspace:ticket", args=["REF"]).removesuffix("REF/")
    # Translated once per page: get_status_display() hashes every lazy choice label per row.
    status_labels = {value: str(label) for value, label in Status.choices}
    rows = []
    for ticket in tickets:
        version = versions.get(ticket.desk_id)
        priority = (
            priority_title(version.regulation, ticket.priority, lang)
            if version
            else ticket.priority
        )
        due = localtime(ticket.next_due_at) if ticket.next_due_at else None
        created = localtime(ticket.created_at)
        assignee = ticket.assignee
        rows.append(
            QueueRow(
                ticket=ticket,
                url=f"{base}{ticket.reference}/",
                priority=priority,
                status_label=status_labels.get(ticket.status, ticket.status),
                assignee=(assignee.get_full_name() or assignee.username) if assignee else "",
                due_iso=due.isoformat() if due else "",
                due_text=due.strftime("%Y-%m-%d %H:%M") if due else "",
                due_title=f"{ticket.next_due_clock} · {due:%Y-%m-%d %H:%M %Z}" if due else "",
                created_iso=created.isoformat(),
                created_text=created.strftime("%m-%d %H:%M"),
            )
        )
    return rows
