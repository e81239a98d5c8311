"""Background tasks of the channels (Django Tasks API): mailbox polling, quarantine re-runs."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from regdesk.channels.imap import mailbox_poll, mailboxes_poll
from regdesk.channels.models import Inbound, Mailbox
from regdesk.channels.services import inbound_process


@task()
def mailboxes_poll_task() -> int:
    """One polling round of every enabled mailbox (enqueued by the periodic tick)."""
    return sum(result.fetched for result in mailboxes_poll().values())


@task()
def mailbox_poll_task(mailbox_id: int) -> int:
    mailbox = Mailbox.objects.select_related("desk").filter(pk=mailbox_id).first()
    return mailbox_poll(mailbox=mailbox).fetched if mailbox is not None else 0


@task()
def inbound_process_task(inbound_id: int) -> str:
    """Process a stored message (the Telegram webhook stores, then hands over)."""
    return inbound_process(inbound_id=inbound_id).result


def inbound_resume() -> int:
    """Process rows a killed process stored but never processed (the periodic tick)."""
    # Older than a lease, so a row a live process has just stored is left to that process.
    stale = timezone.now() - timedelta(minutes=5)
    rows = Inbound.objects.filter(state=Inbound.State.RECEIVED, received_at__lt=stale)
    ids = list(rows.order_by("pk").values_list("pk", flat=True)[:500])
    for pk in ids:
        inbound_process(inbound_id=pk)
    return len(ids)
