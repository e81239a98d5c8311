"""Background tasks of escalation; periodic work reschedules itself (no cron loop).

``periodic_tick`` runs the clock monitor and re-enqueues itself one interval later with
``run_after``. Each run first claims the "tick" row with a conditional update: a duplicate chain
(a second ``regdesk worker`` start) loses the claim and ends, and a chain whose worker died is
restarted by the next ``regdesk worker`` start. The database backend honours ``run_after``
natively; on RQ, run the workers with the scheduler (``--with-scheduler``).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from regdesk.escalation.services import (
    clock_monitor,
    escalation_check,
    escalation_checks,
    periodic_claim,
)
from regdesk.notifications.services import notifications_requeue_stale
from regdesk.webhooks.services import webhooks_requeue_stale

TICK = timedelta(seconds=60)
logger = logging.getLogger(__name__)


@task()
def escalation_check_task(ticket_id: int) -> list[str]:
    return escalation_check(ticket_id=ticket_id)


# Due tickets go to the workers in chunks: one task runs the checks of up to this many tickets
# in one transaction (a few queries read the chunk; its notifications go out as one delivery
# task), so the queue's per-task cost and the commit are paid once per chunk. 100 took about a
# tenth less CPU per step than 50 (in one process, on the escalation benchmark's tickets); a
# monitor batch of 1,000 still makes ten tasks for the workers to share, and a chunk holds its
# tickets' locks for a fraction of a second.
CHUNK = 100


@task()
def escalation_checks_task(ticket_ids: list[int]) -> int:
    """Run the checks of several claimed tickets; one failing check does not stop the others
    (its ticket's claim lapses and the monitor hands it out again)."""
    return sum(len(ran) for ran in escalation_checks(ticket_ids=ticket_ids).values())


def monitor_enqueue(ticket_ids: list[int]) -> None:
    """Hand claimed tickets to the workers, a chunk per task."""
    for start in range(0, len(ticket_ids), CHUNK):
        escalation_checks_task.enqueue(ticket_ids[start : start + CHUNK])


def _monitor_round(batch: int = 1000, rounds: int = 50) -> list[int]:
    """Claim and enqueue every due ticket, batch after batch (bounded per tick)."""
    claimed: list[int] = []
    for _ in range(rounds):
        batch_ids = clock_monitor(batch=batch)
        monitor_enqueue(batch_ids)
        claimed += batch_ids
        if len(batch_ids) < batch:
            break
    return claimed


@task()
def clock_monitor_task() -> int:
    return len(_monitor_round())


@task()
def periodic_tick() -> str:
    if not periodic_claim(name="tick", interval=TICK - timedelta(seconds=5)):
        return "another chain is running"
    claimed = _monitor_round()
    notifications_requeue_stale()
    webhooks_requeue_stale()
    _channels_round()
    periodic_tick.using(run_after=timezone.now() + TICK).enqueue()
    return f"checked {len(claimed)} tickets"


def _channels_round() -> None:
    """Mailbox polling as its own task (network time must not hold the tick), and messages
    a killed process stored but never processed."""
    from regdesk.channels.models import Mailbox
    from regdesk.channels.tasks import inbound_resume, mailboxes_poll_task

    inbound_resume()
    if Mailbox.objects.filter(enabled=True).exists():
        mailboxes_poll_task.enqueue()


def periodic_start() -> None:
    """Start the tick chain (called when a worker starts; harmless when one runs)."""
    periodic_tick.enqueue()
