"""Reading what the customer portal shows: the customer's desks, channels, promised times.

Which tickets a user may see is decided by ``regdesk.tickets.selectors`` alone; this module only
adds the portal's own questions on top of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo, available_timezones

from django.db.models import QuerySet
from django.http import Http404

from regdesk.core.regulation import Channel, ChannelKind, ChannelRole, Regulation
from regdesk.desks.models import Desk, RegulationVersion
from regdesk.desks.selectors import NoRegulationError, desks_for_person, regulation_current
from regdesk.directory.models import Device, Person, Product, ProductVersion
from regdesk.tickets.models import OPEN_STATUSES, Ticket
from regdesk.tickets.selectors import AnyUser, ticket_list_for_user

# The portal registers requests through the first of these kinds that opens requests.
PORTAL_CHANNEL_KINDS = (ChannelKind.PORTAL, ChannelKind.WIDGET, ChannelKind.API)
RESPONSE_CLOCKS = ("first_response", "next_response")


def person_for_user(user: AnyUser) -> Person | None:
    """The customer profile of a signed-in user, if any."""
    if not user.is_authenticated:
        return None
    return getattr(user, "person", None)


def desk_get_for_person(*, person: Person | None, slug: str) -> Desk:
    """A desk the person may open requests on, or 404."""
    if person is None:
        raise Http404("No such desk")
    desk = desks_for_person(person=person).filter(slug=slug).first()
    if desk is None:
        raise Http404("No such desk")
    return desk


def desk_get_public(*, slug: str) -> Desk:
    desk = Desk.objects.filter(slug=slug, is_active=True).first()
    if desk is None:
        raise Http404("No such desk")
    return desk


def regulation_version_for(*, desk: Desk) -> RegulationVersion:
    try:
        return regulation_current(desk=desk)
    except NoRegulationError:
        raise Http404("This desk has no published regulation") from None


def portal_channel(regulation: Regulation) -> Channel | None:
    """The channel the portal's form registers requests by, or None when the regulation
    does not let requests be opened on the web (then the portal explains how to open one)."""
    for kind in PORTAL_CHANNEL_KINDS:
        for channel in regulation.channels:
            if channel.kind is kind and channel.role is ChannelRole.OPENS:
                return channel
    return None


def channels_in_order(regulation: Regulation) -> list[Channel]:
    """Channels that open requests first, then the rest, each group in regulation order."""
    opening = [c for c in regulation.channels if c.role is ChannelRole.OPENS]
    return opening + [c for c in regulation.channels if c.role is not ChannelRole.OPENS]


def desk_zone(regulation: Regulation) -> ZoneInfo:
    return ZoneInfo(regulation.calendars[regulation.default_calendar].zone)


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def customer_zone(*, cookie: str | None, fallback: ZoneInfo) -> ZoneInfo:
    """The zone the browser reported (cookie ``tz``), when it is a known IANA name."""
    name = unquote(cookie or "").strip()
    if name and name in _known_zones():
        return ZoneInfo(name)
    return fallback


def devices_for_person(*, person: Person | None) -> list[Device]:
    if person is None or person.organisation_id is None:
        return []
    return list(Device.objects.filter(organisation_id=person.organisation_id).order_by("name"))


def products_for_desk(*, desk: Desk) -> list[Product]:
    return list(Product.objects.filter(desk=desk).order_by("title"))


def versions_for_desk(*, desk: Desk) -> list[str]:
    return list(
        ProductVersion.objects.filter(product__desk=desk)
        .order_by("-released")
        .values_list("version", flat=True)
        .distinct()
    )


@dataclass(frozen=True)
class Promise:
    """When support promised to answer (or resolve): ``due`` None means agreed per ticket."""

    clock: str
    due: datetime | None
    late: bool


def _promise(clock: str, state: dict[str, Any] | None, now: datetime) -> Promise | None:
    if not state or state.get("state") != "running":
        return None
    if state.get("due"):
        due = datetime.fromisoformat(state["due"])
        return Promise(clock=clock, due=due, late=due < now)
    target = state.get("target") or {}
    if target.get("kind") == "agreed":
        return Promise(clock=clock, due=None, late=False)
    return None


def promised_answer(*, ticket: Ticket, now: datetime) -> Promise | None:
    """The earliest running response clock of an open ticket: when we will answer."""
    if ticket.status not in OPEN_STATUSES:
        return None
    promises = [
        p
        for clock in RESPONSE_CLOCKS
        if (p := _promise(clock, (ticket.clock_state or {}).get(clock), now)) is not None
    ]
    dated = [p for p in promises if p.due is not None]
    if dated:
        return min(dated, key=lambda p: p.due or now)
    return promises[0] if promises else None


def promised_resolution(*, ticket: Ticket, now: datetime) -> Promise | None:
    if ticket.status not in OPEN_STATUSES:
        return None
    promise = _promise("resolution", (ticket.clock_state or {}).get("resolution"), now)
    return promise if promise is not None and promise.due is not None else None


def tickets_for_portal(
    *, user: AnyUser, person: Person, scope: str, status: str
) -> QuerySet[Ticket]:
    """The customer's requests (``scope`` 'mine') or, for an organisation manager, the
    organisation's ('organisation'); ``status`` 'open', 'closed' or 'all'."""
    if scope == "organisation":
        if not person.is_organisation_manager or person.organisation_id is None:
            raise Http404("Not an organisation manager")
        tickets = ticket_list_for_user(user=user, organisation_id=person.organisation_id)
    else:
        tickets = ticket_list_for_user(user=user, requester=person)
    if status == "open":
        tickets = tickets.filter(status__in=OPEN_STATUSES)
    elif status == "closed":
        tickets = tickets.exclude(status__in=OPEN_STATUSES)
    return tickets.select_related("desk", "requester", "regulation_version").order_by(
        "-updated_at", "-id"
    )
