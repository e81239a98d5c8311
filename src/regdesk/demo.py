"""The demo organisation behind ``regdesk serve --demo PRESET``.

``demo_load`` builds the chosen preset's desk and two more (see ``regdesk.demo_data``), their
agents, customer organisations, devices, canned replies and tickets in every state. Tickets are
written only through the ticket services, with ``at=`` instants spread over the last weeks;
directory rows (people, agents, organisations, devices, canned replies) are plain rows.

Loading is idempotent: a desk that already exists (by slug) is left as it is, people are looked
up by username, so running it twice creates nothing new.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from regdesk.core.loader import PRESETS, preset_text
from regdesk.demo_data import DEMO_DESKS, DESKS, SHARED_AGENT
from regdesk.demo_data.shapes import (
    AgentSpec,
    CustomerSpec,
    DeskSpec,
    Step,
    Story,
    Timeline,
)
from regdesk.desks.models import Desk
from regdesk.desks.services import desk_create
from regdesk.directory.models import (
    Agent,
    AgentMembership,
    Device,
    Organisation,
    Person,
    PersonEmail,
)
from regdesk.notifications.services import notifications_mark_history_sent
from regdesk.tickets.models import OPEN_STATUSES, CannedReply, Status, Ticket
from regdesk.tickets.services import (
    ticket_accept,
    ticket_assign,
    ticket_change_line,
    ticket_change_priority,
    ticket_change_team,
    ticket_clocks_recompute,
    ticket_create,
    ticket_customer_reply,
    ticket_merge,
    ticket_note,
    ticket_refuse,
    ticket_reply,
    ticket_resolve,
    ticket_return_for_information,
    ticket_set_agreed_target,
    ticket_split,
)

AGENT_PASSWORD = "demo-agent"
CUSTOMER_PASSWORD = "demo-customer"
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "demo-admin"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    name: str
    role: str


@dataclass(frozen=True)
class DemoDesk:
    slug: str
    name: str
    preset: str
    prefix: str
    agents: tuple[DemoLogin, ...]
    customers: tuple[DemoLogin, ...]
    tickets: int


@dataclass(frozen=True)
class DemoSummary:
    preset: str
    desks: tuple[DemoDesk, ...]
    admin: DemoLogin
    created: tuple[str, ...]  # slugs of the desks this call created (empty on a second run)
    statuses: frozenset[str]  # the ticket statuses found on these desks


class DemoError(ValueError):
    pass


def demo_load(*, preset: str, now: datetime | None = None) -> DemoSummary:
    """Load the demo organisation for ``preset`` (idempotent) and describe its logins."""
    if preset not in DEMO_DESKS:
        raise DemoError(f"unknown preset {preset!r} (presets: {', '.join(PRESETS)})")
    moment = now or timezone.now()
    specs = [DESKS[slug] for slug in DEMO_DESKS[preset]]
    created: list[str] = []
    with transaction.atomic():
        admin = _admin()
        for spec in specs:
            if not Desk.objects.filter(slug=spec.slug).exists():
                _desk_load(spec, now=moment)
                created.append(spec.slug)
        shared = _agent(SHARED_AGENT)
        for spec in specs[:2]:
            AgentMembership.objects.get_or_create(
                agent=shared.agent, desk=Desk.objects.get(slug=spec.slug)
            )
    slugs = [spec.slug for spec in specs]
    statuses = Ticket.objects.filter(desk__slug__in=slugs).values_list("status", flat=True)
    return DemoSummary(
        preset=preset,
        desks=tuple(_describe(spec) for spec in specs),
        admin=DemoLogin(admin.username, ADMIN_PASSWORD, "Administrator", "staff superuser"),
        created=tuple(created),
        statuses=frozenset(statuses.order_by().distinct()),
    )


# --------------------------------------------------------------------------- people

_hashes: dict[str, str] = {}


def _password(raw: str) -> str:
    # PBKDF2 takes a noticeable fraction of a second; every demo user shares one of three.
    if raw not in _hashes:
        _hashes[raw] = make_password(raw)
    return _hashes[raw]


def _admin() -> User:
    user = User.objects.filter(username=ADMIN_USERNAME).first()
    if user is None:
        user = User.objects.create(
            username=ADMIN_USERNAME,
            email="admin@example.com",
            first_name="Desk",
            last_name="Administrator",
            is_staff=True,
            is_superuser=True,
            password=_password(ADMIN_PASSWORD),
        )
    return user


def _agent(spec: AgentSpec) -> User:
    user, _ = User.objects.get_or_create(
        username=spec.username,
        defaults={
            "first_name": spec.first_name,
            "last_name": spec.last_name,
            "email": f"{spec.username}@support.example",
            "password": _password(AGENT_PASSWORD),
        },
    )
    Agent.objects.get_or_create(user=user, defaults={"language": spec.language})
    return user


def _customer(spec: CustomerSpec, organisation: Organisation, desk: Desk) -> Person:
    first, _, last = spec.full_name.partition(" ")
    user, _ = User.objects.get_or_create(
        username=spec.username,
        defaults={
            "first_name": first,
            "last_name": last,
            "email": spec.email,
            "password": _password(CUSTOMER_PASSWORD),
        },
    )
    person, made = Person.objects.get_or_create(
        user=user,
        defaults={
            "full_name": spec.full_name,
            "organisation": organisation,
            "is_organisation_manager": spec.is_manager,
            "language": spec.language,
            "login": spec.login,
            "phone": spec.phone,
        },
    )
    if made:
        PersonEmail.objects.create(person=person, address=spec.email, is_primary=True)
    person.desks.add(desk)
    return person


# --------------------------------------------------------------------------- desks


def _regulation_source(spec: DeskSpec) -> str:
    """The preset text; a regional desk gets its own zone and public holidays."""
    text = preset_text(spec.preset)
    if spec.zone:
        replacement = f"zone: {spec.zone}"
        if spec.holidays:
            country, subdivision = spec.holidays
            replacement += (
                f"\n    holidays:\n      country: {country}\n      subdivision: {subdivision}"
            )
        if text.count("zone: UTC") != 1:
            raise DemoError(f"preset {spec.preset!r} has no single UTC zone to localise")
        text = text.replace("zone: UTC", replacement)
    return text


def _desk_load(spec: DeskSpec, *, now: datetime) -> None:
    desk = desk_create(
        slug=spec.slug,
        name=spec.name,
        ticket_prefix=spec.prefix,
        source=_regulation_source(spec),
        email_address=spec.email_address,
    )
    agents: dict[str, User] = {}
    for agent_spec in spec.agents:
        user = _agent(agent_spec)
        AgentMembership.objects.get_or_create(
            agent=user.agent,
            desk=desk,
            line=agent_spec.line,
            team=agent_spec.team,
            defaults={"is_lead": agent_spec.is_lead},
        )
        agents[agent_spec.username] = user
    people: dict[str, Person] = {}
    for org_spec in spec.organisations:
        organisation = Organisation.objects.filter(name=org_spec.name).first()
        if organisation is None:
            organisation = Organisation.objects.create(name=org_spec.name, tier=org_spec.tier)
        organisation.desks.add(desk)
        for device in org_spec.devices:
            Device.objects.get_or_create(
                organisation=organisation,
                device_id=device.device_id,
                defaults={"serial": device.serial, "model": device.model, "name": device.name},
            )
        for customer_spec in org_spec.customers:
            people[customer_spec.username] = _customer(customer_spec, organisation, desk)
    for canned in spec.canned:
        CannedReply.objects.create(
            desk=desk, title=canned.title, body=canned.body, language=canned.language
        )
    regulation = desk.regulation_versions.get().regulation
    zone = spec.zone or str(regulation.calendars[regulation.default_calendar].zone)
    stories = spec.stories(Timeline(now, zone))
    _play(desk, stories, agents=agents, people=people, now=now)


# --------------------------------------------------------------------------- tickets


class _Player:
    """Runs every story's steps in time order, so numbers follow registration order."""

    def __init__(
        self, desk: Desk, agents: dict[str, User], people: dict[str, Person], now: datetime
    ) -> None:
        self.desk = desk
        self.agents = agents
        self.people = people
        self.now = now
        self.by_key: dict[str, Ticket] = {}
        self.queue: list[tuple[datetime, int, Any]] = []
        self.order = itertools.count()

    def schedule(self, at: datetime, action: Any) -> None:
        if at > self.now:
            raise DemoError(f"demo step at {at.isoformat()} is in the future")
        heapq.heappush(self.queue, (at, next(self.order), action))

    def run(self) -> list[Ticket]:
        tickets: list[Ticket] = []
        while self.queue:
            _, _, action = heapq.heappop(self.queue)
            made = action()
            if isinstance(made, Ticket):
                tickets.append(made)
        return tickets

    def story(self, story: Story) -> None:
        def register() -> Ticket:
            ticket = ticket_create(
                desk=self.desk,
                requester=self.people[story.requester],
                request_type=story.request_type,
                subject=story.subject,
                body=story.body,
                fields=dict(story.fields),
                channel=story.channel,
                proposed_priority=story.priority or None,
                actor_user=self.agents[story.registered_by] if story.registered_by else None,
                strict=story.strict,
                at=story.created,
            )
            if story.key:
                self.by_key[story.key] = ticket
            self.steps(ticket, story.steps, after=story.created)
            return ticket

        self.schedule(story.created, register)

    def steps(self, ticket: Ticket, steps: list[Step], *, after: datetime) -> None:
        previous = after
        for step in steps:
            if step.at < previous:
                raise DemoError(f"{ticket.subject!r}: step {step.kind!r} goes back in time")
            previous = step.at
            self.schedule(step.at, lambda step=step: self.perform(ticket, step))

    def perform(self, ticket: Ticket, step: Step) -> Ticket | None:
        ticket.refresh_from_db()
        at = step.at
        kind = step.kind
        if kind == "confirm" or kind == "customer":
            person = self.people[step.actor]
            if kind == "confirm":
                ticket_resolve(ticket=ticket, actor_person=person, at=at)
            else:
                ticket_customer_reply(
                    ticket=ticket, person=person, body=step.text, channel=ticket.channel,
                    fields=step.data.get("fields") or None, at=at,
                )  # fmt: skip
            return None
        agent = self.agents.get(step.actor) or User.objects.get(username=step.actor)
        if kind == "accept":
            ticket_accept(ticket=ticket, actor=agent, at=at)
        elif kind == "reply":
            status_after = None if step.data.get("keep_status") else Status.ANSWERED
            ticket_reply(ticket=ticket, author=agent, body=step.text, status_after=status_after,
                         at=at)  # fmt: skip
        elif kind == "note":
            ticket_note(ticket=ticket, author=agent, body=step.text, at=at)
        elif kind == "return":
            ticket_return_for_information(
                ticket=ticket, actor=agent, missing=step.data["missing"], body=step.text, at=at
            )
        elif kind == "priority":
            ticket_change_priority(
                ticket=ticket, actor=agent, priority=step.data["priority"], reason=step.text, at=at
            )
        elif kind == "resolve":
            ticket_resolve(ticket=ticket, actor_user=agent, at=at)
        elif kind == "refuse":
            ticket_refuse(
                ticket=ticket, actor=agent, reason=step.data["reason"], body=step.text, at=at
            )
        elif kind == "merge":
            target = self.by_key[step.data["into"]]
            target.refresh_from_db()
            ticket_merge(source=ticket, target=target, actor=agent, at=at)
        elif kind == "split":
            children = ticket_split(ticket=ticket, actor=agent, parts=step.data["parts"], at=at)
            for child, child_steps in zip(children, step.data["then"], strict=False):
                self.steps(child, child_steps, after=at)
        elif kind == "agreed":
            ticket_set_agreed_target(
                ticket=ticket, actor=agent, clock=step.data["clock"], hours=step.data["hours"],
                at=at,
            )  # fmt: skip
        elif kind == "team":
            ticket_change_team(ticket=ticket, actor=agent, team=step.data["team"], at=at)
        elif kind == "line":
            ticket_change_line(ticket=ticket, actor=agent, line=step.data["line"], at=at)
        elif kind == "assign":
            assignee = self.agents[step.data["to"]]
            ticket_assign(ticket=ticket, actor=agent, assignee=assignee, at=at)
        else:
            raise DemoError(f"unknown demo step {kind!r}")
        return None


def _play(
    desk: Desk,
    stories: list[Story],
    *,
    agents: dict[str, User],
    people: dict[str, Person],
    now: datetime,
) -> None:
    player = _Player(desk, agents, people, now)
    for story in stories:
        player.story(story)
    player.run()
    # The services evaluated each clock at its last event; evaluate the open ones now, as the
    # escalation worker would, so breaches that happened since are shown.
    for ticket in Ticket.objects.filter(desk=desk, status__in=OPEN_STATUSES):
        ticket_clocks_recompute(ticket=ticket, now=now)
    # The stories are history: their e-mails went out when it happened. Recording them as sent
    # keeps the ticket pages' notification history and stops the worker from mailing (or, with
    # the console backend, printing) a few hundred messages about events weeks old.
    notifications_mark_history_sent(desk_id=desk.pk)


# --------------------------------------------------------------------------- summary


def _describe(spec: DeskSpec) -> DemoDesk:
    desk = Desk.objects.get(slug=spec.slug)
    agents = []
    memberships = (
        AgentMembership.objects.filter(desk=desk)
        .select_related("agent__user")
        .order_by("-is_lead", "agent__user__username")
    )
    seen: set[str] = set()
    for membership in memberships:
        user = membership.agent.user
        if user.username in seen:
            continue
        seen.add(user.username)
        unit = membership.line or membership.team
        role = "lead" if membership.is_lead else "agent"
        agents.append(
            DemoLogin(
                user.username,
                AGENT_PASSWORD,
                user.get_full_name(),
                f"{role}, {unit}" if unit else role,
            )
        )
    customers = []
    people = (
        Person.objects.filter(desks=desk, user__isnull=False)
        .select_related("user", "organisation")
        .order_by("organisation__name", "-is_organisation_manager", "user__username")
    )
    for person in people:
        org = person.organisation
        role = ("organisation manager, " if person.is_organisation_manager else "") + (
            org.name if org else ""
        )
        if org is not None and org.tier:
            role += f" ({org.tier} tier)"
        assert person.user is not None
        customers.append(DemoLogin(person.user.username, CUSTOMER_PASSWORD, person.full_name, role))
    version = desk.regulation_versions.order_by("-effective_from").first()
    return DemoDesk(
        slug=desk.slug,
        name=desk.name,
        preset=version.regulation.name if version else spec.preset,
        prefix=desk.ticket_prefix,
        agents=tuple(agents),
        customers=tuple(customers),
        tickets=Ticket.objects.filter(desk=desk).count(),
    )
