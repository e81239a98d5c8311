"""Reading tickets. ``ticket_visible_to`` is THE place that decides who sees which ticket;
every list, search, report, page and API endpoint starts from it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet
from django.http import Http404

from regdesk.desks.models import Desk
from regdesk.directory.models import Person
from regdesk.tickets.models import Ticket

AnyUser = User | AnonymousUser


def agent_desk_ids(user: AnyUser) -> set[int] | None:
    """Desk ids an agent works on; None for non-agents. Superusers work on every desk."""
    if not user.is_authenticated:
        return None
    # Asked many times per request: remembered on the user object, which lives one request.
    cached: set[int] | bool | None = getattr(user, "_regdesk_agent_desks", False)
    if cached is not False:
        return set(cached) if cached is not None else None  # type: ignore[arg-type]
    ids: set[int] | None
    if user.is_superuser:
        ids = set(Desk.objects.values_list("id", flat=True))
    else:
        agent = getattr(user, "agent", None)
        ids = None if agent is None else set(agent.memberships.values_list("desk_id", flat=True))
    user._regdesk_agent_desks = ids  # type: ignore[union-attr]
    return set(ids) if ids is not None else None


def is_agent_of(user: AnyUser, desk_id: int) -> bool:
    desks = agent_desk_ids(user)
    return desks is not None and desk_id in desks


def ticket_visible_to(user: AnyUser) -> QuerySet[Ticket]:
    """Every ticket ``user`` may see: agents their desks', customers their own (organisation
    managers: their organisation's), anonymous users none."""
    tickets = Ticket.objects.all()
    if not user.is_authenticated or not user.is_active:
        return tickets.none()
    desks = agent_desk_ids(user)
    visible = Q(desk_id__in=desks) if desks else Q(pk__in=[])
    person = getattr(user, "person", None)
    if person is not None:
        visible |= customer_tickets_q(person)
    return tickets.filter(visible)


def customer_tickets_q(person: Person) -> Q:
    """The tickets a customer sees: their own, and an organisation manager their
    organisation's. Also for a person known only by a channel (a Telegram chat, no login)."""
    mine = Q(requester=person)
    if person.is_organisation_manager and person.organisation_id is not None:
        mine |= Q(organisation_id=person.organisation_id)
    return mine


def ticket_get_for_user(*, user: AnyUser, reference: str) -> Ticket:
    """One ticket by its number, or 404 when it does not exist or ``user`` may not see it."""
    ticket = (
        ticket_visible_to(user)
        .select_related("desk", "requester", "organisation", "assignee", "regulation_version")
        .filter(reference=reference.upper())
        .first()
    )
    if ticket is None:
        raise Http404("No such ticket")
    return ticket


def ticket_get_for_customer(*, user: AnyUser, public_key: str) -> Ticket:
    """A customer's ticket by its unguessable key (and visibility), or 404."""
    ticket = (
        ticket_visible_to(user)
        .select_related("desk", "requester", "regulation_version")
        .filter(public_key=public_key)
        .first()
    )
    if ticket is None:
        raise Http404("No such ticket")
    return ticket


def ticket_list_for_user(*, user: AnyUser, **filters: Any) -> QuerySet[Ticket]:
    """Visible tickets filtered by field lookups (status, desk, priority, assignee, …)."""
    clean = {key: value for key, value in filters.items() if value not in (None, "")}
    return ticket_visible_to(user).filter(**clean)
