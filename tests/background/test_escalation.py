"""Escalation: each step once per clock cycle, on the clock's calendar, claimed exclusively."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from regdesk.core.clocks import evaluate_clocks
from regdesk.core.regulation import ClockName
from regdesk.escalation import services as escalation_services
from regdesk.escalation.models import EscalationRun, PeriodicJob
from regdesk.escalation.services import (
    clock_monitor,
    escalation_check,
    escalation_checks,
    periodic_claim,
    tickets_recheck_open,
)
from regdesk.escalation.tasks import escalation_checks_task
from regdesk.notifications.models import Notification
from regdesk.tickets.models import Ticket, TicketEvent
from regdesk.tickets.services import (
    core_event,
    core_events,
    ticket_assign,
    ticket_create,
    ticket_customer_reply,
    ticket_reply,
    ticket_resolve,
)
from tests.desk.factories import PersonFactory, make_agent, make_desk

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")
MSK = ZoneInfo("Europe/Moscow")


def service_desk_ticket(created: datetime):  # type: ignore[no-untyped-def]
    desk = make_desk("service-desk", prefix="SD")
    agent = make_agent(desk)
    ticket = ticket_create(
        desk=desk,
        requester=PersonFactory(),
        request_type="incident",
        subject="Printer on fire",
        body="Smoke",
        channel="widget",
        proposed_priority="critical",
        at=created,
    )
    ticket_assign(ticket=ticket, actor=agent, assignee=agent, at=created)
    return ticket, agent


def test_due_soon_then_breach_each_once_per_cycle() -> None:
    # Given a critical ticket Monday 09:00 (first response 1 h, resolution 4 h) on 09-18 UTC
    ticket, agent = service_desk_ticket(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    # When checked at 09:50 (past 80 % of the first-response hour)
    ran = escalation_check(ticket_id=ticket.pk, now=datetime(2026, 11, 23, 9, 50, tzinfo=UTC))
    assert ran == ["first_response:80%"]
    assert (
        escalation_check(ticket_id=ticket.pk, now=datetime(2026, 11, 23, 9, 55, tzinfo=UTC)) == []
    )
    # Then at 10:01 the breach step runs, and only once
    ran = escalation_check(ticket_id=ticket.pk, now=datetime(2026, 11, 23, 10, 1, tzinfo=UTC))
    assert ran == ["first_response:100%"]
    assert (
        escalation_check(ticket_id=ticket.pk, now=datetime(2026, 11, 23, 10, 2, tzinfo=UTC)) == []
    )
    events = list(
        Notification.objects.filter(ticket=ticket, recipient_user=agent)
        .exclude(event="assigned")
        .values_list("event", flat=True)
    )
    assert events.count("clock_due_soon") == 1
    assert events.count("clock_breached") == 1
    # And the next check is the resolution clock's 80 % (3 h 12 min after 09:00)
    ticket.refresh_from_db()
    assert ticket.next_check_at == datetime(2026, 11, 23, 12, 12, tzinfo=UTC)


def test_a_warning_that_falls_due_at_night_goes_out_at_the_next_opening() -> None:
    # Given a critical ticket created 17:50 on a 09-18 desk: 80 % of 1 h is reached at 09:38
    ticket, _ = service_desk_ticket(datetime(2026, 11, 23, 17, 50, tzinfo=UTC))
    assert (
        escalation_check(ticket_id=ticket.pk, now=datetime(2026, 11, 23, 18, 30, tzinfo=UTC)) == []
    )
    ticket.refresh_from_db()
    assert ticket.next_check_at == datetime(2026, 11, 24, 9, 38, tzinfo=UTC)
    ran = escalation_check(ticket_id=ticket.pk, now=datetime(2026, 11, 24, 9, 40, tzinfo=UTC))
    assert ran == ["first_response:80%"]


def test_a_late_check_on_a_closed_desk_waits_for_the_opening() -> None:
    # The monitor was down all evening: at 23:00 the 80 % step is overdue but the desk is closed.
    ticket, _ = service_desk_ticket(datetime(2026, 11, 23, 16, 0, tzinfo=UTC))
    ran = escalation_check(ticket_id=ticket.pk, now=datetime(2026, 11, 23, 16, 30, tzinfo=UTC))
    assert ran == []
    assert (
        escalation_check(ticket_id=ticket.pk, now=datetime(2026, 11, 23, 23, 0, tzinfo=UTC)) == []
    )
    ticket.refresh_from_db()
    assert ticket.next_check_at == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_a_24_7_line_is_warned_at_night_and_alarm_mail_escalates_at_once() -> None:
    desk = make_desk("wialon", prefix="WLN")
    fields = {
        "product": "wialon-hosting",
        "version": "2404",
        "deployment": "cloud",
        "specifics": "all units",
        "actions": "none",
    }
    created = datetime(2026, 11, 24, 2, 0, tzinfo=MSK)
    ticket = ticket_create(
        desk=desk,
        requester=PersonFactory(),
        request_type="technical",
        subject="Platform down",
        body="Nothing loads",
        fields=fields,
        channel="alarm",
        at=created,
    )
    ran = escalation_check(ticket_id=ticket.pk, now=created + timedelta(minutes=1))
    assert "first_response:0%" in ran
    # the alarm channel's own step is recorded (its index, -1, was refused by a positive field)
    assert EscalationRun.objects.filter(ticket=ticket, step=-1).exists()
    # tier other: 12 h; 80 % = 9 h 36 min later, at night-time 11:36 — still the 24/7 line
    ran = escalation_check(ticket_id=ticket.pk, now=created + timedelta(hours=9, minutes=40))
    assert "first_response:80%" in ran


def test_a_met_clock_escalates_no_more_and_a_new_cycle_starts_over() -> None:
    ticket, agent = service_desk_ticket(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    escalation_check(ticket_id=ticket.pk, now=datetime(2026, 11, 23, 9, 50, tzinfo=UTC))
    ticket_reply(
        ticket=ticket,
        author=agent,
        body="On it",
        status_after="accepted",
        at=datetime(2026, 11, 23, 9, 55, tzinfo=UTC),
    )
    ran = escalation_check(ticket_id=ticket.pk, now=datetime(2026, 11, 23, 10, 5, tzinfo=UTC))
    assert "first_response:100%" not in ran
    assert EscalationRun.objects.filter(ticket=ticket, clock="first_response").count() == 1


def test_the_monitor_claims_each_due_ticket_once() -> None:
    ticket, _ = service_desk_ticket(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    now = datetime(2026, 11, 23, 9, 50, tzinfo=UTC)
    Ticket.objects.filter(pk=ticket.pk).update(next_check_at=now - timedelta(minutes=1))
    assert clock_monitor(now=now) == [ticket.pk]
    assert clock_monitor(now=now) == []  # leased five minutes ahead
    assert clock_monitor(now=now + timedelta(minutes=6)) == [ticket.pk]  # lease ran out


def test_closed_tickets_leave_the_monitor() -> None:
    ticket, agent = service_desk_ticket(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    ticket_reply(
        ticket=ticket,
        author=agent,
        body="Fixed",
        status_after="resolved",
        at=datetime(2026, 11, 23, 9, 30, tzinfo=UTC),
    )
    escalation_check(ticket_id=ticket.pk, now=datetime(2026, 11, 23, 9, 31, tzinfo=UTC))
    ticket.refresh_from_db()
    assert ticket.next_check_at is None


def test_recheck_in_bulk_and_periodic_claims() -> None:
    ticket, _ = service_desk_ticket(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    Ticket.objects.filter(pk=ticket.pk).update(next_check_at=None)
    assert tickets_recheck_open(desk_id=ticket.desk_id) == 1
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert periodic_claim(name="tick", interval=timedelta(seconds=55), now=now)
    assert not periodic_claim(name="tick", interval=timedelta(seconds=55), now=now)
    assert periodic_claim(
        name="tick", interval=timedelta(seconds=55), now=now + timedelta(minutes=1)
    )
    assert PeriodicJob.objects.get(name="tick").last_run_at == now + timedelta(minutes=1)


def desk_tickets(
    count: int, created: datetime, priority: str = "critical"
) -> tuple[list[Ticket], Any]:
    """``count`` service-desk tickets of ``priority`` registered at ``created``, all assigned."""
    desk = make_desk("service-desk", prefix="SD")
    agent = make_agent(desk)
    tickets = []
    for i in range(count):
        ticket = ticket_create(
            desk=desk,
            requester=PersonFactory(),
            request_type="incident",
            subject=f"Printer {i} on fire",
            body="Smoke",
            channel="widget",
            proposed_priority=priority,
            at=created,
        )
        ticket_assign(ticket=ticket, actor=agent, assignee=agent, at=created)
        tickets.append(ticket)
    return tickets, agent


def test_a_chunk_runs_the_same_steps_as_one_check_per_ticket() -> None:
    # Given four critical tickets at 09:00: one resolved, one answered at 09:20 (its first
    # response met), two still waiting for a first response
    tickets, agent = desk_tickets(4, datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    resolved, answered, waiting, late = tickets
    ticket_resolve(ticket=resolved, actor_user=agent, at=datetime(2026, 11, 23, 9, 10, tzinfo=UTC))
    ticket_reply(
        ticket=answered,
        author=agent,
        body="On it",
        status_after="accepted",
        at=datetime(2026, 11, 23, 9, 20, tzinfo=UTC),
    )
    # and the late one's 80 % warning ran already at 09:50
    escalation_check(ticket_id=late.pk, now=datetime(2026, 11, 23, 9, 50, tzinfo=UTC))
    # When the four are checked as one chunk at 10:01
    now = datetime(2026, 11, 23, 10, 1, tzinfo=UTC)
    ran = escalation_checks(ticket_ids=[t.pk for t in tickets], now=now)
    # Then each ran what a check of its own would have run
    assert ran == {
        resolved.pk: [],
        answered.pk: [],
        waiting.pk: ["first_response:80%", "first_response:100%"],
        late.pk: ["first_response:100%"],
    }
    assert escalation_checks(ticket_ids=[t.pk for t in tickets], now=now) == {
        t.pk: [] for t in tickets
    }
    assert EscalationRun.objects.filter(ticket=waiting).count() == 2
    assert Notification.objects.filter(ticket=late, event="clock_breached").exists()
    # And the next checks are stored as a single check stores them
    stored = dict(Ticket.objects.values_list("pk", "next_check_at"))
    assert stored[resolved.pk] is None
    assert stored[waiting.pk] == datetime(2026, 11, 23, 12, 12, tzinfo=UTC)
    assert stored[late.pk] == datetime(2026, 11, 23, 12, 12, tzinfo=UTC)
    assert Ticket.objects.get(pk=waiting.pk).breached


def test_a_chunk_reads_its_tickets_with_a_fixed_number_of_queries() -> None:
    # Given ten tickets, each with its 80 % warning due
    tickets, _ = desk_tickets(10, datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    now = datetime(2026, 11, 23, 9, 50, tzinfo=UTC)
    # When they are checked as one chunk
    with CaptureQueriesContext(connection) as queries:
        ran = escalation_checks(ticket_ids=[t.pk for t in tickets], now=now)
    assert all(steps == ["first_response:80%"] for steps in ran.values())
    # Then the chunk is read and written with a few statements (tickets, versions, events,
    # runs; one insert of the runs; one update of the tickets), and its notifications with two
    # whatever its size (the agents' preferences, one insert); SQLite updates the tickets one by
    # one
    sql = [q["sql"] for q in queries.captured_queries]
    assert sum('"notifications_notification"' in q for q in sql) == 1
    assert sum("notifications_notificationpreference" in q for q in sql) == 1
    updates = 1 if connection.vendor == "postgresql" else len(tickets)
    assert len(queries) <= 6 + 1 + updates + 2
    assert Notification.objects.filter(ticket__in=tickets, event="clock_due_soon").count() == 10


def test_one_failing_check_does_not_undo_the_others_of_its_chunk(monkeypatch: Any) -> None:
    # Given three due tickets, and notifications that fail for the second one
    tickets, _ = desk_tickets(3, datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    now = datetime(2026, 11, 23, 9, 50, tzinfo=UTC)
    lease = now + timedelta(minutes=5)
    Ticket.objects.update(next_check_at=lease)  # claimed by the monitor
    broken = tickets[1]
    real_notify = escalation_services.notify_tickets

    def notify_tickets(*, items: Any) -> Any:
        if any(entry.ticket.pk == broken.pk for entry in items):
            raise RuntimeError("mail templates gone")
        return real_notify(items=items)

    monkeypatch.setattr(escalation_services, "notify_tickets", notify_tickets)
    # When the chunk is checked
    ran = escalation_checks(ticket_ids=[t.pk for t in tickets], now=now)
    # Then the others ran their step; the broken one ran nothing and keeps its claim (its
    # lease lapses and the monitor hands it out again)
    assert ran == {tickets[0].pk: ["first_response:80%"], tickets[2].pk: ["first_response:80%"]}
    assert not EscalationRun.objects.filter(ticket=broken).exists()
    assert Ticket.objects.get(pk=broken.pk).next_check_at == lease
    assert clock_monitor(now=lease + timedelta(seconds=1)) == [broken.pk]
    # And once it works again the step runs, once
    monkeypatch.setattr(escalation_services, "notify_tickets", real_notify)
    assert escalation_checks(ticket_ids=[broken.pk], now=now) == {broken.pk: ["first_response:80%"]}


def test_event_rows_read_in_bulk_give_the_engine_the_same_history() -> None:
    # (the escalation chunk reads many tickets' rows in one query and maps them one by one)
    # Given a ticket with a reply, a customer message, a resolution and a reopening
    ticket, agent = service_desk_ticket(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    ticket_reply(
        ticket=ticket,
        author=agent,
        body="Try this",
        status_after="waiting_for_customer",
        at=datetime(2026, 11, 23, 9, 20, tzinfo=UTC),
    )
    ticket_customer_reply(
        ticket=ticket,
        person=ticket.requester,
        body="Still smoking",
        at=datetime(2026, 11, 23, 9, 40, tzinfo=UTC),
    )
    # When its rows are mapped one by one
    rows = TicketEvent.objects.filter(ticket=ticket).order_by("at", "id")
    mapped = [core_event(r.kind, r.at, r.data) for r in rows]
    # Then the engine sees what tickets.services.core_events gives it
    assert [e for e in mapped if e is not None] == core_events(ticket)
    assert len(core_events(ticket)) >= 4


def test_the_monitor_leaves_a_ticket_rescheduled_after_its_query() -> None:
    # Given two due tickets, one of which is rescheduled (a reply) between the monitor's query
    # and its claims
    tickets, _ = desk_tickets(2, datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    now = datetime(2026, 11, 23, 9, 50, tzinfo=UTC)
    Ticket.objects.update(next_check_at=now - timedelta(minutes=1))
    moved, kept = tickets
    rescheduled = now + timedelta(seconds=30)
    done = []

    def reply_first(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.lstrip().upper().startswith("UPDATE") and not done:
            done.append(True)
            execute(
                "UPDATE tickets_ticket SET next_check_at = %s WHERE id = %s",
                [rescheduled, moved.pk],
                False,
                context,
            )
        return execute(sql, params, many, context)

    # When the monitor claims the batch
    with connection.execute_wrapper(reply_first):
        claimed = clock_monitor(now=now)
    # Then only the ticket still due as read is claimed; the other keeps its new check
    assert claimed == [kept.pk]
    assert Ticket.objects.get(pk=moved.pk).next_check_at == rescheduled


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="a worker in another process must share the test database: PostgreSQL pass only",
)
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_chunk_loses_nothing_and_duplicates_nothing() -> None:
    import psycopg

    # Given three tickets on a 24/7 line whose 80 % warning is due (first response in 12 h,
    # registered 11 h ago) and a resolved one, all claimed
    desk = make_desk("wialon", prefix="WLN")
    make_agent(desk, is_lead=True, line="l1")
    fields = {
        "product": "wialon-hosting",
        "version": "2404",
        "deployment": "cloud",
        "specifics": "all units",
        "actions": "none",
    }
    created = timezone.now() - timedelta(hours=11)
    tickets = [
        ticket_create(
            desk=desk,
            requester=PersonFactory(),
            request_type="technical",
            subject=f"Platform slow {i}",
            body="Reports take minutes",
            fields=fields,
            channel="email",
            at=created,
        )
        for i in range(4)
    ]
    resolved = tickets[3]
    ticket_resolve(ticket=resolved, actor_person=resolved.requester, at=created)
    Ticket.objects.update(next_check_at=timezone.now() - timedelta(minutes=1))
    claimed = clock_monitor()
    assert sorted(claimed) == sorted(t.pk for t in tickets)
    leases = dict(Ticket.objects.values_list("pk", "next_check_at"))
    # and another transaction holding the key of the second ticket's warning, so the worker
    # stops at its chunk's INSERT of the steps, after it has written the resolved ticket
    blocked = tickets[1]
    warning = next(s for s in escalation_services.steps_for(blocked) if s.spec.at_percent == 80)
    cycle = evaluate_clocks(
        blocked.regulation_version.clocks, core_events(blocked), now=timezone.now()
    )[ClockName.FIRST_RESPONSE].cycles[-1]
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    blocker = psycopg.connect(url)
    blocker.execute(
        "INSERT INTO escalation_escalationrun "
        "(ticket_id, clock, cycle_started_at, step, percent, ran_at, actions) "
        "VALUES (%s, 'first_response', %s, %s, 80, now(), '{}')",
        [blocked.pk, cycle.started_at, warning.index],
    )
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REGDESK_TEST_DATABASE_URL": "",
        "REGDESK_TASKS": "database",
        "REGDESK_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "DJANGO_SETTINGS_MODULE": "regdesk.config.settings",
    }
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}):
        escalation_checks_task.enqueue(claimed)
    # When a worker takes the chunk and is killed while it waits there
    worker = subprocess.Popen(
        [sys.executable, "-m", "django", "db_worker", "--interval", "0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        waiting = False
        while time.monotonic() < deadline and not waiting:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO%%escalationrun%%'"
                )
                waiting = cursor.fetchone()[0] > 0
            time.sleep(0.05)
        assert waiting
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        blocker.rollback()
        blocker.close()
    # Then nothing of the chunk was kept: no step, no notification, every claim as it was
    assert not EscalationRun.objects.exists()
    assert not Notification.objects.filter(event__startswith="clock").exists()
    assert dict(Ticket.objects.values_list("pk", "next_check_at")) == leases
    # And once the lease has run out the monitor hands the chunk out again: each step runs once
    later = max(leases.values()) + timedelta(seconds=1)
    assert sorted(clock_monitor(now=later)) == sorted(claimed)
    ran = escalation_checks(ticket_ids=claimed)
    assert ran == {**{t.pk: ["first_response:80%"] for t in tickets[:3]}, resolved.pk: []}
    assert escalation_checks(ticket_ids=claimed) == {t.pk: [] for t in tickets}
    assert EscalationRun.objects.count() == 3
    assert Ticket.objects.get(pk=resolved.pk).next_check_at is None


def test_a_step_that_raises_the_priority_in_a_chunk_tells_in_the_order_of_one_check(
    monkeypatch: Any, caplog: Any
) -> None:
    # Given two high-priority tickets whose 80 % step also raises the priority to critical
    created = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    tickets, _agent = desk_tickets(2, created, priority="high")
    real_steps = escalation_services.steps_for

    def steps_for(ticket: Ticket) -> list[Any]:
        return [
            replace(s, spec=s.spec.model_copy(update={"raise_priority_to": "critical"}))
            if s.spec.at_percent == 80
            else s
            for s in real_steps(ticket)
        ]

    monkeypatch.setattr(escalation_services, "steps_for", steps_for)
    now = datetime(2026, 11, 23, 9, 50, tzinfo=UTC)  # past 80 % of the first-response hour
    # When they are checked as one chunk
    ran = escalation_checks(ticket_ids=[t.pk for t in tickets], now=now)
    assert "one by one" not in caplog.text  # the chunk itself, not its fallback
    # Then each ran its warning and was raised to critical, and the assignee's warning was made
    # before the requester heard of the new priority, as a check of its own makes them
    for ticket in tickets:
        assert ran[ticket.pk] == ["first_response:80%"]
        assert Ticket.objects.get(pk=ticket.pk).priority == "critical"
        told = list(
            Notification.objects.filter(
                ticket=ticket, event__in=["clock_due_soon", "priority_changed"]
            )
            .order_by("pk")
            .values_list("event", flat=True)
        )
        assert told[0] == "clock_due_soon"
        assert "priority_changed" in told
