"""Escalation: each step once per clock cycle, on the clock's calendar, claimed exclusively."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from regdesk.escalation.models import EscalationRun, PeriodicJob
from regdesk.escalation.services import (
    clock_monitor,
    escalation_check,
    periodic_claim,
    tickets_recheck_open,
)
from regdesk.notifications.models import Notification
from regdesk.tickets.models import Ticket
from regdesk.tickets.services import ticket_assign, ticket_create, ticket_reply
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
