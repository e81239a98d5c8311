"""Clock monitoring and escalation.

The monitor finds tickets whose stored ``next_check_at`` has come with one indexed query, claims
each with a conditional update (so two workers never take the same ticket) and checks it: every
escalation step of the regulation whose share of a running clock's target is reached runs once
per clock cycle (an ``EscalationRun`` row with a unique key), respecting the clock's calendar (a
warning that comes due while the desk is closed goes out at the next opening; a 24/7 line is
warned around the clock). The ticket's next check is the earliest step still to come.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from regdesk.core.clocks import ClockResult, ClockState, TicketFacts, evaluate_clocks
from regdesk.core.clocks import TicketEvent as CoreTicketEvent
from regdesk.core.regulation import ClockName, EscalationStep, NotificationEvent
from regdesk.desks.models import RegulationVersion
from regdesk.escalation.models import EscalationRun, PeriodicJob
from regdesk.notifications.services import Occurrence, TicketOccurrence, notify_tickets
from regdesk.tickets.models import OPEN_STATUSES, Ticket, TicketEvent
from regdesk.tickets.services import (
    clock_summary,
    core_event,
    core_events,
    ticket_escalate_priority,
)

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
ALARM_STEP = -1  # the implicit step of an alarm channel: escalate at once, any hour


@dataclass(frozen=True)
class Step:
    index: int
    spec: EscalationStep
    any_hour: bool = False


def steps_for(ticket: Ticket) -> list[Step]:
    """The regulation's escalation steps that apply to this ticket, plus the alarm step."""
    regulation = ticket.regulation_version.regulation
    steps = [
        Step(index, spec)
        for index, spec in enumerate(regulation.escalation)
        if spec.only_priorities is None or ticket.priority in spec.only_priorities
    ]
    try:
        channel = regulation.channel(ticket.channel)
    except KeyError:
        channel = None
    if channel is not None and channel.escalate:
        alarm = EscalationStep(
            clock=[ClockName.FIRST_RESPONSE], at_percent=0, notify=["on_duty_lead", "assignee"]
        )
        steps.append(Step(ALARM_STEP, alarm, any_hour=True))
    return steps


def escalation_check(*, ticket_id: int, now: datetime | None = None) -> list[str]:
    """Run the steps that are due for one ticket and store its next check; idempotent."""
    moment = now or timezone.now()
    # One transaction: the steps' rows, their notifications and the ticket's next check commit
    # together, one WAL flush per check instead of one per write.
    with transaction.atomic():
        return _check(ticket_id, moment)


def escalation_checks(
    *, ticket_ids: Sequence[int], now: datetime | None = None
) -> dict[int, list[str]]:
    """Run the due steps of several claimed tickets (a monitor's chunk); idempotent.

    The chunk is read with a few queries and written in one transaction. When anything in it
    fails, the whole chunk is rolled back and its tickets are checked one by one, each in its
    own transaction, so one failing check never undoes the others: its ticket keeps its claim,
    which lapses and hands it out again.
    """
    moment = now or timezone.now()
    try:
        with transaction.atomic():
            return _check_chunk(list(ticket_ids), moment)
    except Exception:
        logger.warning(
            "chunk of %s checks failed; checking one by one", len(ticket_ids), exc_info=True
        )
    ran: dict[int, list[str]] = {}
    for ticket_id in ticket_ids:
        try:
            ran[ticket_id] = escalation_check(ticket_id=ticket_id, now=now)
        except Exception:
            logger.exception("escalation check of ticket %s failed", ticket_id)
    return ran


@dataclass(frozen=True)
class _DueStep:
    step: Step
    clock: ClockName
    cycle_start: datetime
    due: datetime | None

    @property
    def label(self) -> str:
        return f"{self.clock.value}:{self.step.spec.at_percent}%"


@dataclass(frozen=True)
class _Plan:
    due: list[_DueStep]
    next_check: datetime | None
    results: dict[ClockName, ClockResult]


Done = set[tuple[str, datetime, int]]  # (clock, cycle start, step index) already run


def _plan(ticket: Ticket, events: list[CoreTicketEvent], done: Done, moment: datetime) -> _Plan:
    """The steps due now (on the clock's calendar) and the instant of the next one; pure."""
    steps = steps_for(ticket)
    compiled = ticket.regulation_version.clocks
    percents = tuple(sorted({s.spec.at_percent for s in steps}))
    results = evaluate_clocks(compiled, events, now=moment, percents=percents)
    facts = compiled.complete_facts(
        TicketFacts(
            priority=ticket.priority,
            tier=ticket.tier or None,
            line=ticket.line or None,
            team=ticket.team or None,
            type=ticket.request_type,
            channel=ticket.channel,
        )
    )
    due: list[_DueStep] = []
    next_check: datetime | None = None
    for clock, result in results.items():
        if result.state is not ClockState.RUNNING or not result.cycles:
            continue
        cycle_start = result.cycles[-1].started_at
        found = compiled.rule_for(clock, facts)
        calendar = compiled.calendar_for(found[1] if found else None, facts)
        for step in steps:
            if step.spec.clock is not None and clock not in step.spec.clock:
                continue
            if (clock.value, cycle_start, step.index) in done:
                continue
            at = result.thresholds.get(step.spec.at_percent)
            if at is None:
                continue
            when = at
            if at <= moment and not step.any_hour and not calendar.is_open(moment):
                when = calendar.next_opening(moment)  # warn at the next opening
            if when > moment:
                next_check = when if next_check is None else min(next_check, when)
                continue
            due.append(_DueStep(step, clock, cycle_start, result.due))
    return _Plan(due, next_check, results)


def _stored_clocks(ticket: Ticket, plan: _Plan, priority: str, moment: datetime) -> None:
    """Set the ticket's next check and clock summary (the check doubles as the bulk recompute
    after a publication or calendar change)."""
    results = plan.results
    if ticket.priority != priority:  # a step raised the priority: count again with the new facts
        results = evaluate_clocks(ticket.regulation_version.clocks, core_events(ticket), now=moment)
    ticket.next_check_at = plan.next_check
    for field, value in clock_summary(results).items():
        setattr(ticket, field, value)


STORED = ["next_check_at", "clock_state", "next_due_at", "next_due_clock", "breached"]


def _tickets(ids: Sequence[int]) -> list[Ticket]:
    """The tickets with what the steps and their notifications read, locked for the check (a
    reply committing in the middle would otherwise have its re-check overwritten)."""
    return list(
        Ticket.objects.select_related("desk", "assignee__agent", "requester")
        .defer("clock_state")  # rewritten by the check, read by nothing before that
        .select_for_update(of=("self",))
        .filter(pk__in=ids)
        .order_by("pk")
    )


def _with_versions(tickets: list[Ticket]) -> None:
    """Attach the regulation versions, one query and one shared object per version."""
    versions = RegulationVersion.objects.in_bulk({t.regulation_version_id for t in tickets})
    for ticket in tickets:
        ticket.regulation_version = versions[ticket.regulation_version_id]


def _check(ticket_id: int, moment: datetime) -> list[str]:
    found = _tickets([ticket_id])
    if not found:
        raise Ticket.DoesNotExist(f"ticket {ticket_id}")
    ticket = found[0]
    if ticket.status not in OPEN_STATUSES:
        Ticket.objects.filter(pk=ticket.pk).update(next_check_at=None)
        return []
    _with_versions(found)
    done = set(
        EscalationRun.objects.filter(ticket=ticket).values_list("clock", "cycle_started_at", "step")
    )
    plan = _plan(ticket, core_events(ticket), done, moment)
    priority = ticket.priority
    ran = [item.label for item in plan.due if _run_step(ticket, item, moment)]
    _stored_clocks(ticket, plan, priority, moment)
    Ticket.objects.filter(pk=ticket.pk).update(**{f: getattr(ticket, f) for f in STORED})
    return ran


def _check_chunk(ticket_ids: list[int], moment: datetime) -> dict[int, list[str]]:
    tickets = _tickets(ticket_ids)
    closed = [t.pk for t in tickets if t.status not in OPEN_STATUSES]
    if closed:
        Ticket.objects.filter(pk__in=closed).update(next_check_at=None)
    tickets = [t for t in tickets if t.status in OPEN_STATUSES]
    ran: dict[int, list[str]] = {pk: [] for pk in closed}
    if not tickets:
        return ran
    _with_versions(tickets)
    ids = [t.pk for t in tickets]
    events: dict[int, list[CoreTicketEvent]] = defaultdict(list)
    rows = (
        TicketEvent.objects.filter(ticket_id__in=ids)
        .order_by("ticket_id", "at", "id")
        .values_list("ticket_id", "kind", "at", "data")
    )
    for ticket_id, kind, at, data in rows:
        event = core_event(kind, at, data)
        if event is not None:
            events[ticket_id].append(event)
    done: dict[int, Done] = defaultdict(set)
    for ticket_id, clock, cycle_start, index in EscalationRun.objects.filter(
        ticket_id__in=ids
    ).values_list("ticket_id", "clock", "cycle_started_at", "step"):
        done[ticket_id].add((clock, cycle_start, index))
    plans = {t.pk: _plan(t, events[t.pk], done[t.pk], moment) for t in tickets}
    # One INSERT for the chunk's steps: a step another worker ran meanwhile breaks the unique
    # key, rolls the chunk back and sends it down the one-by-one path.
    runs = EscalationRun.objects.bulk_create(
        _run_row(ticket, item, moment) for ticket in tickets for item in plans[ticket.pk].due
    )
    by_ticket: dict[int, list[EscalationRun]] = defaultdict(list)
    for run in runs:
        if run.pk is None:  # a database that returns no ids from a bulk insert
            raise RuntimeError("bulk insert returned no ids")
        by_ticket[run.ticket_id].append(run)
    # The chunk's notifications are made together: addresses and preferences read once, one
    # INSERT (a step that raises the priority first makes those collected so far, as before).
    told: list[TicketOccurrence] = []
    for ticket in tickets:
        plan = plans[ticket.pk]
        priority = ticket.priority
        for item, run in zip(plan.due, by_ticket[ticket.pk], strict=True):
            _step_actions(ticket, item, run, moment, told)
        ran[ticket.pk] = [item.label for item in plan.due]
        _stored_clocks(ticket, plan, priority, moment)
    notify_tickets(items=told)
    _store_checked(tickets)
    return ran


def _store_checked(tickets: list[Ticket]) -> None:
    """Write the checked tickets' next checks and clock summaries: one UPDATE on PostgreSQL
    (bulk_update's CASE per row and field cost more Python time than the rest of the check)."""
    if connection.vendor != "postgresql":
        for ticket in tickets:
            Ticket.objects.filter(pk=ticket.pk).update(**{f: getattr(ticket, f) for f in STORED})
        return
    meta = Ticket._meta
    column = {f: meta.get_field(f).column for f in STORED}
    encoder = meta.get_field("clock_state").encoder  # as the field itself would write it

    def instant(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    rows = [
        {
            "id": t.pk,
            "next_check_at": instant(t.next_check_at),
            "clock_state": t.clock_state,
            "next_due_at": instant(t.next_due_at),
            "next_due_clock": t.next_due_clock,
            "breached": t.breached,
        }
        for t in tickets
    ]
    # The rows go as one JSON document: a text array of JSON values is escaped element by
    # element, which took longer than the update.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {meta.db_table} AS t SET
                {column["next_check_at"]} = v.next_check_at,
                {column["clock_state"]} = v.clock_state,
                {column["next_due_at"]} = v.next_due_at,
                {column["next_due_clock"]} = v.next_due_clock,
                {column["breached"]} = v.breached
            FROM jsonb_to_recordset(%s::jsonb) AS v(
                id bigint, next_check_at timestamptz, clock_state jsonb, next_due_at timestamptz,
                next_due_clock text, breached boolean
            )
            WHERE t.id = v.id
            """,
            [json.dumps(rows, cls=encoder)],
        )


def _run_row(ticket: Ticket, item: _DueStep, now: datetime) -> EscalationRun:
    return EscalationRun(
        ticket=ticket,
        clock=item.clock.value,
        cycle_started_at=item.cycle_start,
        step=item.step.index,
        percent=item.step.spec.at_percent,
        ran_at=now,
        actions={
            "notify": item.step.spec.notify,
            "raise_priority_to": item.step.spec.raise_priority_to,
        },
    )


def _run_step(ticket: Ticket, item: _DueStep, now: datetime) -> bool:
    try:
        with transaction.atomic():
            run = _run_row(ticket, item, now)
            run.save(force_insert=True)
            _step_actions(ticket, item, run, now)
    except IntegrityError:
        return False  # another worker ran this step of this cycle
    return True


def _step_actions(
    ticket: Ticket,
    item: _DueStep,
    run: EscalationRun,
    now: datetime,
    told: list[TicketOccurrence] | None = None,
) -> None:
    """What a step does once its run is recorded: tell people, maybe raise the priority.

    With ``told`` the step's notification joins the chunk's, made when the chunk is."""
    spec = item.step.spec
    event = (
        NotificationEvent.CLOCK_BREACHED
        if spec.at_percent >= 100
        else NotificationEvent.CLOCK_DUE_SOON
    )
    occurrence = Occurrence(
        event,
        f"esc{run.pk}",
        {
            "clock": item.clock.value,
            "due": item.due.isoformat() if item.due else "",
            "percent": spec.at_percent,
        },
    )
    pending = told if told is not None else []
    pending.append(TicketOccurrence(ticket, occurrence, tuple(spec.notify)))
    raise_to = spec.raise_priority_to
    if told is None or (raise_to and raise_to != ticket.priority):
        notify_tickets(items=pending)  # told before the priority changes, as one by one
        pending.clear()
    if raise_to and raise_to != ticket.priority:
        ticket_escalate_priority(
            ticket=ticket,
            priority=raise_to,
            reason=f"escalation: {item.clock.value} at {spec.at_percent} %",
            at=now,
        )


def clock_monitor(*, now: datetime | None = None, batch: int = 1000) -> list[int]:
    """Claim the tickets whose next check has come; returns the claimed ids.

    One indexed query (``next_check_at <= now``); each claim is a conditional update that moves
    the check a lease ahead, so a worker killed mid-check leaves the ticket to be taken again.
    """
    moment = now or timezone.now()
    due = list(
        Ticket.objects.filter(next_check_at__lte=moment)
        .order_by("next_check_at")
        .values_list("pk", "next_check_at")[:batch]
    )
    if not due:
        return []
    lease_end = moment + LEASE
    if connection.vendor == "postgresql":
        # Every claim of the batch in one statement, each still conditional on the instant
        # this query read; a monitor killed mid-batch claims nothing, and the tickets stay due.
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {Ticket._meta.db_table} AS t SET next_check_at = %s
                FROM unnest(%b::bigint[], %b::timestamptz[]) AS d(id, at)
                WHERE t.id = d.id AND t.next_check_at = d.at
                RETURNING t.id
                """,
                [lease_end, [pk for pk, _ in due], [at for _, at in due]],
            )
            won = {row[0] for row in cursor.fetchall()}
        return [pk for pk, _ in due if pk in won]
    claimed = []
    with transaction.atomic():  # the batch's claims commit together (one flush)
        for pk, check_at in due:
            if Ticket.objects.filter(pk=pk, next_check_at=check_at).update(next_check_at=lease_end):
                claimed.append(pk)
    return claimed


def periodic_claim(*, name: str, interval: timedelta, now: datetime | None = None) -> bool:
    """Whether this caller won the right to run ``name`` now (at most once per interval)."""
    moment = now or timezone.now()
    job, _ = PeriodicJob.objects.get_or_create(name=name, defaults={"next_run_at": moment})
    return bool(
        PeriodicJob.objects.filter(pk=job.pk, next_run_at__lte=moment).update(
            next_run_at=moment + interval, last_run_at=moment
        )
    )


def tickets_recheck_open(*, desk_id: int | None = None) -> int:
    """Ask the monitor to re-check every open ticket (after a regulation or calendar change)."""
    tickets = Ticket.objects.filter(status__in=OPEN_STATUSES)
    if desk_id is not None:
        tickets = tickets.filter(desk_id=desk_id)
    return tickets.update(next_check_at=timezone.now())
