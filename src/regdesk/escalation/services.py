"""Clock monitoring and escalation.

The monitor finds tickets whose stored ``next_check_at`` has come with one indexed query, claims
each with a conditional update (so two workers never take the same ticket) and checks it: every
escalation step of the regulation whose share of a running clock's target is reached runs once
per clock cycle (an ``EscalationRun`` row with a unique key), respecting the clock's calendar (a
warning that comes due while the desk is closed goes out at the next opening; a 24/7 line is
warned around the clock). The ticket's next check is the earliest step still to come.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from regdesk.core.clocks import ClockState, TicketFacts, evaluate_clocks
from regdesk.core.regulation import ClockName, EscalationStep, NotificationEvent
from regdesk.escalation.models import EscalationRun, PeriodicJob
from regdesk.notifications.services import notify
from regdesk.tickets.models import OPEN_STATUSES, Ticket
from regdesk.tickets.services import clock_summary, core_events, ticket_escalate_priority

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


def _check(ticket_id: int, moment: datetime) -> list[str]:
    ticket = Ticket.objects.select_related("regulation_version", "desk", "assignee__agent").get(
        pk=ticket_id
    )
    if ticket.status not in OPEN_STATUSES:
        Ticket.objects.filter(pk=ticket.pk).update(next_check_at=None)
        return []
    steps = steps_for(ticket)
    compiled = ticket.regulation_version.clocks
    percents = tuple(sorted({s.spec.at_percent for s in steps}))
    results = evaluate_clocks(compiled, core_events(ticket), now=moment, percents=percents)
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
    done = set(
        EscalationRun.objects.filter(ticket=ticket).values_list("clock", "cycle_started_at", "step")
    )
    priority = ticket.priority
    ran: list[str] = []
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
            if _run_step(ticket, step, clock, cycle_start, result.due, moment):
                ran.append(f"{clock.value}:{step.spec.at_percent}%")
    # The check doubles as the bulk recompute (after a publication or calendar change).
    if ticket.priority != priority:  # a step raised the priority: count again with the new facts
        results = evaluate_clocks(compiled, core_events(ticket), now=moment)
    Ticket.objects.filter(pk=ticket.pk).update(next_check_at=next_check, **clock_summary(results))
    return ran


def _run_step(
    ticket: Ticket,
    step: Step,
    clock: ClockName,
    cycle_start: datetime,
    due: datetime | None,
    now: datetime,
) -> bool:
    event = (
        NotificationEvent.CLOCK_BREACHED
        if step.spec.at_percent >= 100
        else NotificationEvent.CLOCK_DUE_SOON
    )
    try:
        with transaction.atomic():
            run = EscalationRun.objects.create(
                ticket=ticket,
                clock=clock.value,
                cycle_started_at=cycle_start,
                step=step.index,
                percent=step.spec.at_percent,
                ran_at=now,
                actions={
                    "notify": step.spec.notify,
                    "raise_priority_to": step.spec.raise_priority_to,
                },
            )
            notify(
                ticket=ticket,
                event=event,
                occurrence=f"esc{run.pk}",
                data={
                    "clock": clock.value,
                    "due": due.isoformat() if due else "",
                    "percent": step.spec.at_percent,
                },
                extra_roles=step.spec.notify,
            )
            raise_to = step.spec.raise_priority_to
            if raise_to and raise_to != ticket.priority:
                ticket_escalate_priority(
                    ticket=ticket,
                    priority=raise_to,
                    reason=f"escalation: {clock.value} at {step.spec.at_percent} %",
                    at=now,
                )
    except IntegrityError:
        return False  # another worker ran this step of this cycle
    return True


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
    claimed = []
    # The batch's claims commit together: a commit (a WAL flush) per ticket made the claims the
    # monitor's bottleneck. Each claim is still conditional; a monitor killed mid-batch claims
    # nothing, and the tickets stay due.
    with transaction.atomic():
        for pk, check_at in due:
            if Ticket.objects.filter(pk=pk, next_check_at=check_at).update(
                next_check_at=moment + LEASE
            ):
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
