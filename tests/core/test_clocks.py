"""The clock engine: decisions and regressions for bugs peers shipped.

Each test is a small story: given a regulation and a ticket history, when it is evaluated, then
the clock says this.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from regdesk.core.clocks import (
    ClockState,
    EventKind,
    TicketEvent,
    TicketFacts,
    UnknownFactError,
    evaluate_clocks,
)
from regdesk.core.loader import load_regulation_text
from regdesk.core.regulation import ClockName

MSK = ZoneInfo("Europe/Moscow")
FR, NR, RES = ClockName.FIRST_RESPONSE, ClockName.NEXT_RESPONSE, ClockName.RESOLUTION

REGULATION = """
name: test-desk
title: Test desk
version: "1"
effective_from: 2026-01-01T00:00:00+03:00
languages: [en]
calendars:
  office:
    zone: Europe/Moscow
    week: {mon-fri: ["09:00-18:00"]}
    holidays: {country: RU, weekend_workdays: true}
  round-the-clock:
    zone: Europe/Moscow
    week: "24/7"
default_calendar: office
channels:
  - {id: email, kind: email}
request_types:
  - {id: incident, title: Incident}
lines:
  - {id: l1, title: First line, calendar: round-the-clock}
  - {id: office, title: Office line}
default_line: office
teams:
  - {id: admins, title: Server administration, calendar: office}
tiers:
  - {id: gold, title: Gold}
  - {id: other, title: Other}
default_tier: other
priorities:
  - {id: critical, title: Critical}
  - {id: normal, title: Normal}
  - {id: low, title: Low}
default_priority: normal
clocks:
  first_response:
    targets:
      - {when: {priority: critical}, target: 1h}
      - {when: {priority: low}, target: agreed}
      - {when: {tier: gold}, target: 3h}
      - {target: 4h}
  next_response:
    counts_from: last_customer_message
    targets:
      - {target: 2h}
  resolution:
    pause_in: [waiting_for_customer]
    targets:
      - {when: {priority: critical}, target: 4h}
      - {target: 16h}
"""

REG = load_regulation_text(REGULATION, file="test-desk.yaml")


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=MSK)


def created(when: datetime, **facts: str) -> TicketEvent:
    return TicketEvent(at=when, kind=EventKind.CREATED, facts=TicketFacts(**facts))


def ev(when: datetime, kind: EventKind, to: str | None = None) -> TicketEvent:
    return TicketEvent(at=when, kind=kind, to=to)


def test_first_response_due_and_met_by_public_reply() -> None:
    # Given a normal ticket on the office calendar created Monday 17:00 (4 h target)
    events = [created(at(23, 17)), ev(at(24, 10), EventKind.AGENT_REPLY)]
    # When evaluated
    clock = evaluate_clocks(REG, events)[FR]
    # Then it was due Tuesday 12:00 and met at 10:00, 2 h of business time used
    assert clock.due == at(24, 12)
    assert clock.met_at == at(24, 10)
    assert clock.state is ClockState.MET
    assert not clock.breached
    assert clock.business_time == timedelta(hours=2)


def test_internal_note_does_not_meet_a_response_clock() -> None:
    events = [
        created(at(23, 10)),
        ev(at(23, 11), EventKind.INTERNAL_NOTE),
        ev(at(23, 15), EventKind.AGENT_REPLY),
    ]
    clock = evaluate_clocks(REG, events)[FR]
    assert clock.met_at == at(23, 15)
    assert clock.breached_by == timedelta(hours=1)


def test_priority_change_applies_new_target_from_original_start() -> None:
    # Given a normal ticket (4 h) raised to critical (1 h) two hours after creation
    events = [created(at(23, 10)), ev(at(23, 12), EventKind.PRIORITY, "critical")]
    clock = evaluate_clocks(REG, events)[FR]
    # Then the 1 h target counts from creation: due 11:00, already breached by 1 h
    assert clock.due == at(23, 11)
    assert clock.breached
    assert clock.breached_by == timedelta(hours=1)
    assert "critical" in clock.explanation


def test_breach_size_is_frozen_when_met_late() -> None:
    # Regression: peers keep growing the breach after the late reply.
    events = [created(at(23, 10), priority="critical"), ev(at(23, 13), EventKind.AGENT_REPLY)]
    later = evaluate_clocks(REG, events, now=at(27, 17))[FR]
    assert later.breached
    assert later.breached_by == timedelta(hours=2)
    assert later.met_at == at(23, 13)


def test_breach_grows_while_unmet_and_counts_business_time_only() -> None:
    events = [created(at(23, 17), priority="critical")]  # due 18:00 Monday (closing time)
    clock = evaluate_clocks(REG, events, now=at(24, 10))[FR]
    assert clock.due == at(23, 18)
    assert clock.breached
    assert clock.breached_by == timedelta(hours=1)  # 09:00-10:00 Tuesday


def test_due_exactly_at_closing_time_is_not_monday() -> None:
    # Friday 17:00 + 1 h over 09-18 is Friday 18:00.
    events = [created(at(27, 17), priority="critical")]
    assert evaluate_clocks(REG, events)[FR].due == at(27, 18)


def test_resolution_pauses_while_waiting_for_customer() -> None:
    events = [
        created(at(23, 9)),
        ev(at(23, 10), EventKind.STATUS, "waiting_for_customer"),
        ev(at(25, 10), EventKind.CUSTOMER_MESSAGE),  # unpauses: back to accepted
    ]
    clock = evaluate_clocks(REG, events, now=at(25, 12))[RES]
    assert clock.business_time == timedelta(hours=3)
    assert clock.state is ClockState.RUNNING
    # 16 h target: 1 h before the pause, 15 h from Wed 10:00 → Thu 16:00
    assert clock.due == at(26, 16)
    assert clock.paused_spans == ((at(23, 10), at(25, 10)),)


def test_resolved_straight_from_paused_state_keeps_paused_time_out() -> None:
    # Regression: resolving from waiting_for_customer counted the paused time.
    events = [
        created(at(23, 9), priority="critical"),
        ev(at(23, 10), EventKind.STATUS, "waiting_for_customer"),
        ev(at(26, 15), EventKind.RESOLVED),
    ]
    clock = evaluate_clocks(REG, events)[RES]
    assert clock.met_at == at(26, 15)
    assert clock.business_time == timedelta(hours=1)
    assert not clock.breached
    assert clock.paused_spans == ((at(23, 10), at(26, 15)),)


def test_paused_time_across_a_holiday_is_not_added_twice() -> None:
    # Regression: a pause spanning RU New Year holidays; resuming must not add the holiday.
    start = datetime(2025, 12, 30, 16, 0, tzinfo=MSK)
    events = [
        created(start),
        ev(start + timedelta(hours=1), EventKind.STATUS, "waiting_for_customer"),
        ev(datetime(2026, 1, 5, 12, tzinfo=MSK), EventKind.STATUS, "accepted"),
    ]
    clock = evaluate_clocks(REG, events, now=datetime(2026, 1, 12, 10, tzinfo=MSK))[RES]
    # 1 h before the pause (Dec 30 16-17); Dec 31 - Jan 11 are all non-working in 2026;
    # Jan 12 09:00-10:00 adds 1 h. The 16 h target: 1 h + 9 h on Jan 12 + 6 h on Jan 13.
    assert clock.business_time == timedelta(hours=2)
    assert clock.due == datetime(2026, 1, 13, 15, tzinfo=MSK)


def test_reopened_ticket_counts_from_the_reopening_message_not_creation() -> None:
    events = [
        created(at(23, 9)),
        ev(at(23, 10), EventKind.AGENT_REPLY),
        ev(at(23, 11), EventKind.RESOLVED),
        ev(at(25, 14), EventKind.REOPENED),
    ]
    result = evaluate_clocks(REG, events, now=at(25, 15))
    resolution = result[RES]
    assert resolution.state is ClockState.RUNNING
    assert resolution.business_time == timedelta(hours=1)
    assert resolution.due == at(27, 12)  # 16 h from Wed 14:00: Wed 4 h, Thu 9 h, Fri 3 h
    assert len(resolution.cycles) == 2
    assert resolution.cycles[0].met_at == at(23, 11)
    nxt = result[NR]
    assert nxt.due == at(25, 16)
    assert "reopening" in nxt.explanation


def test_customer_message_on_resolved_ticket_reopens_it() -> None:
    events = [
        created(at(23, 9)),
        ev(at(23, 10), EventKind.AGENT_REPLY),
        ev(at(23, 11), EventKind.RESOLVED),
        ev(at(24, 9), EventKind.CUSTOMER_MESSAGE),
    ]
    resolution = evaluate_clocks(REG, events, now=at(24, 12))[RES]
    assert resolution.state is ClockState.RUNNING
    assert resolution.business_time == timedelta(hours=3)


def test_next_response_restarts_on_the_customers_last_message() -> None:
    events = [
        created(at(23, 9)),
        ev(at(23, 10), EventKind.AGENT_REPLY),
        ev(at(23, 11), EventKind.CUSTOMER_MESSAGE),
        ev(at(23, 12), EventKind.CUSTOMER_MESSAGE),
    ]
    nxt = evaluate_clocks(REG, events, now=at(23, 12, 30))[NR]
    assert nxt.due == at(23, 14)
    assert nxt.cycles[0].superseded
    assert nxt.state is ClockState.RUNNING


def test_next_response_from_first_unanswered_message() -> None:
    text = REGULATION.replace("counts_from: last_customer_message", "counts_from: first_unanswered")
    reg = load_regulation_text(text)
    events = [
        created(at(23, 9)),
        ev(at(23, 10), EventKind.AGENT_REPLY),
        ev(at(23, 11), EventKind.CUSTOMER_MESSAGE),
        ev(at(23, 12), EventKind.CUSTOMER_MESSAGE),
        ev(at(23, 14), EventKind.AGENT_REPLY),
    ]
    nxt = evaluate_clocks(reg, events)[NR]
    assert nxt.due == at(23, 13)
    assert nxt.met_at == at(23, 14)
    assert nxt.breached_by == timedelta(hours=1)


def test_next_response_waits_for_a_customer_message_after_the_first_reply() -> None:
    events = [created(at(23, 9)), ev(at(23, 10), EventKind.AGENT_REPLY)]
    nxt = evaluate_clocks(REG, events)[NR]
    assert nxt.state is ClockState.NOT_STARTED
    assert nxt.due is None


def test_team_routing_switches_to_the_team_calendar_from_that_moment() -> None:
    # Given an L1 (24/7) gold ticket Saturday 10:00, routed to admins (office hours) at 11:00
    events = [
        created(at(28, 10), line="l1", tier="gold"),
        ev(at(28, 11), EventKind.TEAM, "admins"),
    ]
    clock = evaluate_clocks(REG, events, now=at(28, 12))[FR]
    # Then 1 h counted on 24/7, nothing on the weekend; the other 2 h Monday 09:00-11:00
    assert clock.business_time == timedelta(hours=1)
    assert clock.due == at(30, 11)


def test_agent_zone_does_not_leak_into_the_calendar() -> None:
    # The same instant written in another offset gives the same due, in the calendar's zone.
    tokyo = ZoneInfo("Asia/Tokyo")
    events = [created(at(23, 17).astimezone(tokyo))]
    clock = evaluate_clocks(REG, events)[FR]
    assert clock.due == at(24, 12)
    assert clock.due is not None
    assert clock.due.utcoffset() == timedelta(hours=3)


def test_agreed_target_has_no_due_until_agreed() -> None:
    events = [created(at(23, 10), priority="low")]
    before = evaluate_clocks(REG, events)[FR]
    assert before.due is None
    assert "agreed" in before.explanation
    agreed = TicketEvent(
        at=at(23, 11), kind=EventKind.AGREED_TARGET, clock=FR, duration=timedelta(hours=5)
    )
    after = evaluate_clocks(REG, [*events, agreed])[FR]
    assert after.due == at(23, 15)


def test_refused_ticket_stops_its_clocks() -> None:
    events = [created(at(23, 10)), ev(at(23, 11), EventKind.STATUS, "refused")]
    result = evaluate_clocks(REG, events, now=at(27, 10))
    assert result[FR].state is ClockState.STOPPED
    assert result[FR].business_time == timedelta(hours=1)
    assert not result[FR].breached


def test_unknown_priority_is_a_clear_error() -> None:
    with pytest.raises(UnknownFactError, match="unknown priority 'urgent'"):
        evaluate_clocks(REG, [created(at(23, 10), priority="urgent")])


def test_history_must_start_with_created_and_be_ordered() -> None:
    with pytest.raises(ValueError, match="starts with a 'created'"):
        evaluate_clocks(REG, [ev(at(23, 10), EventKind.AGENT_REPLY)])
    with pytest.raises(ValueError, match="out of order"):
        evaluate_clocks(REG, [created(at(23, 10)), ev(at(23, 9), EventKind.AGENT_REPLY)])


def test_thresholds_say_when_each_share_of_the_target_is_reached() -> None:
    # Given a critical ticket (1 h first response) created Monday 17:30 on office hours
    events = [created(at(23, 17, 30), priority="critical")]
    clock = evaluate_clocks(REG, events, percents=(50, 80, 150))[FR]
    # Then 50 % is reached at 18:00 (closing), 80 % the next morning, 150 % later still
    assert clock.thresholds == {50: at(23, 18), 80: at(24, 9, 18), 150: at(24, 10)}


def test_thresholds_are_empty_for_met_or_paused_clocks() -> None:
    events = [
        created(at(23, 9)),
        ev(at(23, 10), EventKind.STATUS, "waiting_for_customer"),
    ]
    result = evaluate_clocks(REG, events, percents=(80,))
    assert result[RES].state is ClockState.PAUSED
    assert result[RES].thresholds == {}
    assert result[FR].thresholds == {80: at(23, 12, 12)}
