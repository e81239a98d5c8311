"""Reading for the agents' workspace: queues, their capped counts, keyset pages.

Every queue starts from ``ticket_visible_to`` (THE visibility rule) and is then narrowed to the
desks the user works on as an agent, so that an agent who is also a customer elsewhere never
sees those tickets among their work.

Queues stay fast on a million tickets: they filter on indexed columns (desk, status, assignee,
next_due_at), are ordered by the next due instant, are read a page at a time with a keyset
cursor (no OFFSET), and are counted only up to :data:`COUNT_CAP`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from regdesk.desks.models import Desk, RegulationVersion
from regdesk.desks.selectors import NoRegulationError, regulation_current
from regdesk.directory.models import AgentMembership
from regdesk.tickets.models import OPEN_STATUSES, CannedReply, Status, Ticket
from regdesk.tickets.search import ticket_search
from regdesk.tickets.selectors import (
    AnyUser,
    agent_desk_ids,
    ticket_get_for_user,
    ticket_visible_to,
)

PAGE_SIZE = 50
COUNT_CAP = 500
DUE_SOON_WINDOW = timedelta(hours=2)
_REFERENCE = re.compile(r"^[A-Za-z][A-Za-z0-9]*-\d+$")  # a ticket number like WLN-000123


class Queue(StrEnum):
    MINE = "mine"
    TEAM = "team"
    UNASSIGNED = "unassigned"
    DUE_SOON = "due-soon"
    BREACHED = "breached"
    WAITING = "waiting"
    OPEN = "open"


QUEUE_TITLES = {
    Queue.MINE: _("Mine"),
    Queue.TEAM: _("My team"),
    Queue.UNASSIGNED: _("Unassigned"),
    Queue.DUE_SOON: _("Due in the next 2 hours"),
    Queue.BREACHED: _("Breached"),
    Queue.WAITING: _("Waiting for customer"),
    Queue.OPEN: _("All open"),
}


def workspace_tickets(*, user: AnyUser) -> QuerySet[Ticket]:
    """Tickets the user sees (the selector's rule) on the desks they work on as an agent."""
    return ticket_visible_to(user).filter(desk_id__in=agent_desk_ids(user) or ())


def _team_condition(user: User) -> Q:
    """The agent's teams: per membership its team, else its line, else the whole desk."""
    condition = Q(pk__in=[])
    memberships = AgentMembership.objects.filter(agent__user=user).values_list(
        "desk_id", "line", "team"
    )
    for desk_id, line, team in memberships:
        if team:
            condition |= Q(desk_id=desk_id, team=team)
        elif line:
            condition |= Q(desk_id=desk_id, line=line)
        else:
            condition |= Q(desk_id=desk_id)
    return condition


def queue_tickets(*, user: User, queue: Queue, now: datetime | None = None) -> QuerySet[Ticket]:
    """The tickets of one queue, ordered by next due instant (nulls last), then creation."""
    moment = now or timezone.now()
    tickets = workspace_tickets(user=user)
    open_tickets = tickets.filter(status__in=OPEN_STATUSES)
    if queue is Queue.MINE:
        chosen = open_tickets.filter(assignee=user)
    elif queue is Queue.TEAM:
        chosen = open_tickets.filter(_team_condition(user))
    elif queue is Queue.UNASSIGNED:
        chosen = open_tickets.filter(assignee__isnull=True)
    elif queue is Queue.DUE_SOON:
        chosen = open_tickets.filter(
            next_due_at__gte=moment, next_due_at__lte=moment + DUE_SOON_WINDOW
        )
    elif queue is Queue.BREACHED:
        chosen = open_tickets.filter(Q(next_due_at__lt=moment) | Q(breached=True))
    elif queue is Queue.WAITING:
        chosen = tickets.filter(status=Status.WAITING_FOR_CUSTOMER)
    else:
        chosen = open_tickets
    return chosen.order_by(F("next_due_at").asc(nulls_last=True), "created_at", "id")


@dataclass(frozen=True)
class QueueFilters:
    desk: int | None = None
    status: str = ""
    priority: str = ""
    team: str = ""
    line: str = ""
    assignee: str = ""  # a user id, "me" or "none"
    request_type: str = ""
    channel: str = ""
    text: str = ""


def queue_filter(
    tickets: QuerySet[Ticket], *, filters: QueueFilters, user: User
) -> QuerySet[Ticket]:
    """Narrow a queue by the filter bar and the search box (full-text, on the visible set)."""
    lookups: dict[str, Any] = {
        "desk_id": filters.desk,
        "status": filters.status,
        "priority": filters.priority,
        "team": filters.team,
        "line": filters.line,
        "request_type": filters.request_type,
        "channel": filters.channel,
    }
    tickets = tickets.filter(**{k: v for k, v in lookups.items() if v not in (None, "")})
    if filters.assignee == "me":
        tickets = tickets.filter(assignee=user)
    elif filters.assignee == "none":
        tickets = tickets.filter(assignee__isnull=True)
    elif filters.assignee.isdigit():
        tickets = tickets.filter(assignee_id=int(filters.assignee))
    text = filters.text.strip()
    if not text:
        return tickets
    if _REFERENCE.match(text):
        # A typed ticket number finds its ticket by the unique index (PostgreSQL's parser
        # splits "WLN-000001" into a word and a negative number, so full text may miss it).
        by_number = tickets.filter(reference=text.upper())
        if by_number.exists():
            return by_number
    return ticket_search(tickets, text)


def count_capped(tickets: QuerySet[Ticket], cap: int = COUNT_CAP) -> int:
    """How many tickets, counting no further than ``cap + 1`` (shown as "500+")."""
    return tickets.order_by()[: cap + 1].count()


def queue_counts(*, user: User, now: datetime | None = None) -> dict[Queue, int]:
    moment = now or timezone.now()
    return {
        queue: count_capped(queue_tickets(user=user, queue=queue, now=moment)) for queue in Queue
    }


# --------------------------------------------------------------------------- keyset pages


@dataclass(frozen=True)
class QueueCursor:
    """Position after a row in (next_due_at nulls last, created_at, id) order."""

    due_us: int | None
    created_us: int
    ticket_id: int

    @classmethod
    def after(cls, ticket: Ticket) -> QueueCursor:
        due = ticket.next_due_at
        return cls(_us(due) if due else None, _us(ticket.created_at), ticket.pk)

    def encode(self) -> str:
        due = "-" if self.due_us is None else str(self.due_us)
        return f"{due}.{self.created_us}.{self.ticket_id}"

    @classmethod
    def decode(cls, text: str) -> QueueCursor | None:
        parts = text.split(".")
        if len(parts) != 3:
            return None
        due, created, ticket_id = parts
        try:
            return cls(None if due == "-" else int(due), int(created), int(ticket_id))
        except ValueError:
            return None

    def condition(self) -> Q:
        created = _from_us(self.created_us)
        later_created = Q(created_at__gt=created) | Q(created_at=created, pk__gt=self.ticket_id)
        if self.due_us is None:
            return Q(next_due_at__isnull=True) & later_created
        due = _from_us(self.due_us)
        return (
            Q(next_due_at__gt=due)
            | Q(next_due_at__isnull=True)
            | (Q(next_due_at=due) & later_created)
        )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _us(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def queue_page(
    tickets: QuerySet[Ticket], *, after: QueueCursor | None, size: int | None = None
) -> tuple[list[Ticket], QueueCursor | None]:
    """One page of an ordered queue and the cursor of the next page (None on the last)."""
    size = size or PAGE_SIZE
    if after is not None:
        tickets = tickets.filter(after.condition())
    # Related rows come by id in small extra queries: joins in the page query tempt SQLite's
    # planner into scanning the ticket table instead of walking the queue index.
    rows = list(
        tickets.defer("clock_state", "fields", "missing_fields").prefetch_related(
            "desk", "requester", "organisation", "assignee"
        )[: size + 1]
    )
    if len(rows) <= size:
        return rows, None
    return rows[:size], QueueCursor.after(rows[size - 1])


# --------------------------------------------------------------------------- one ticket


def ticket_for_agent(*, user: AnyUser, reference: str) -> Ticket:
    """A ticket the user sees AND works on as an agent of its desk; 404 otherwise."""
    ticket = ticket_get_for_user(user=user, reference=reference)
    if ticket.desk_id not in (agent_desk_ids(user) or ()):
        raise Http404("No such ticket")
    return ticket


def ticket_conversation(ticket: Ticket) -> QuerySet[Any]:
    return ticket.messages.select_related("author_user", "author_person").prefetch_related(
        "attachments"
    )


def ticket_log(ticket: Ticket) -> QuerySet[Any]:
    return ticket.events.select_related("actor_user", "actor_person")


def ticket_secret_ids(ticket: Ticket) -> set[str]:
    return set(ticket.secrets.values_list("field_id", flat=True))


def canned_replies_for(ticket: Ticket) -> QuerySet[CannedReply]:
    """The desk's and global canned replies in the ticket's language (or any language)."""
    return CannedReply.objects.filter(
        Q(desk=ticket.desk) | Q(desk__isnull=True),
        Q(language="") | Q(language=ticket.language),
    )


def desk_agents(*, desk_ids: set[int] | list[int]) -> QuerySet[User]:
    """Users who work as agents on any of these desks."""
    return (
        User.objects.filter(agent__memberships__desk_id__in=desk_ids, is_active=True)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def agent_desks(*, user: AnyUser) -> QuerySet[Desk]:
    return Desk.objects.filter(pk__in=agent_desk_ids(user) or ())


def desk_regulations(*, desks: QuerySet[Desk] | list[Desk]) -> dict[int, RegulationVersion]:
    """The regulation in effect now for each desk that has one."""
    found = {}
    for desk in desks:
        try:
            found[desk.pk] = regulation_current(desk=desk)
        except NoRegulationError:
            continue
    return found


# --------------------------------------------------------------------------- regulations


def desk_for_regulation_manager(*, user: AnyUser, slug: str) -> Desk:
    """A desk whose regulation ``user`` may manage: a lead of it, staff or superuser.

    404 when the user is not an agent of the desk; 403 when a plain agent of it.
    """
    desk = agent_desks(user=user).filter(slug=slug).first()
    if desk is None:
        raise Http404("No such desk")
    if not can_manage_regulation(user=user, desk=desk):
        raise PermissionDenied("Only leads of this desk manage its regulation.")
    return desk


def can_manage_regulation(*, user: AnyUser, desk: Desk) -> bool:
    if user.is_superuser or user.is_staff:
        return True
    return AgentMembership.objects.filter(agent__user=user, desk=desk, is_lead=True).exists()


def managed_desk_ids(*, user: AnyUser) -> set[int]:
    """Desks whose regulation the user may manage (for the sidebar)."""
    desks = agent_desk_ids(user) or set()
    if user.is_superuser or user.is_staff:
        return desks
    return set(
        AgentMembership.objects.filter(
            agent__user=user, desk_id__in=desks, is_lead=True
        ).values_list("desk_id", flat=True)
    )


def regulation_versions(*, desk: Desk) -> QuerySet[RegulationVersion]:
    return (
        RegulationVersion.objects.filter(desk=desk)
        .select_related("published_by")
        .defer("source")
        .order_by("-effective_from", "-published_at")
    )
