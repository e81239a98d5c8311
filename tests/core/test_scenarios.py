"""Scenario tests for each shipped preset, written from ../shared/regulations.md."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from regdesk.core.clocks import (
    ClockState,
    EventKind,
    TicketEvent,
    TicketFacts,
    clocks_for,
    evaluate_clocks,
)
from regdesk.core.loader import load_regulation
from regdesk.core.regulation import ClockName

MSK = ZoneInfo("Europe/Moscow")
ROME = ZoneInfo("Europe/Rome")
UTC = ZoneInfo("UTC")
FR, NR, RES = ClockName.FIRST_RESPONSE, ClockName.NEXT_RESPONSE, ClockName.RESOLUTION


def due(preset: str, clock: ClockName, start: datetime, **facts: str) -> datetime | None:
    value, _target, _calendar = clocks_for(load_regulation(preset)).due(
        clock, TicketFacts(**facts), start
    )
    return value


def history(start: datetime, *steps: tuple[datetime, EventKind, str | None], **facts: str):
    events = [TicketEvent(at=start, kind=EventKind.CREATED, facts=TicketFacts(**facts))]
    events += [TicketEvent(at=when, kind=kind, to=to) for when, kind, to in steps]
    return events


# --------------------------------------------------------------------------- wialon


@pytest.mark.parametrize(("tier", "hours"), [("gold", 3), ("silver", 6), ("other", 12)])
def test_wialon_l1_response_targets_by_partner_tier_in_calendar_time(tier: str, hours: int) -> None:
    start = datetime(2026, 11, 28, 20, 0, tzinfo=MSK)  # a Saturday evening: L1 works 24/7
    expected = start + timedelta(hours=hours)
    assert due("wialon", FR, start, tier=tier, line="l1") == expected
    assert due("wialon", NR, start, tier=tier, line="l1") == expected


def test_wialon_l2_answers_within_24_hours_whatever_the_tier() -> None:
    start = datetime(2026, 11, 23, 10, 0, tzinfo=MSK)
    assert due("wialon", FR, start, tier="gold", line="l2") == start + timedelta(hours=24)


def test_wialon_customers_without_a_tier_are_other_on_l1() -> None:
    start = datetime(2026, 11, 23, 10, 0, tzinfo=MSK)
    assert due("wialon", FR, start) == start + timedelta(hours=12)


def test_wialon_ticket_routed_to_a_team_runs_on_weekdays_9_to_18() -> None:
    start = datetime(2026, 11, 27, 17, 0, tzinfo=MSK)  # Friday 17:00
    # 12 h (tier other): Fri 1 h, Mon 9 h, Tue 2 h
    assert due("wialon", FR, start, team="server-administration") == datetime(
        2026, 12, 1, 11, 0, tzinfo=MSK
    )


def test_wialon_native_speaker_calendar_runs_until_midnight() -> None:
    start = datetime(2026, 11, 23, 23, 0, tzinfo=MSK)  # Monday 23:00
    # 12 h: Mon 23-24 (1 h), Tue 09:00-20:00 (11 h)
    assert due("wialon", FR, start, team="native-speakers") == datetime(
        2026, 11, 24, 20, 0, tzinfo=MSK
    )


def test_wialon_next_response_counts_from_the_last_customer_message() -> None:
    t0 = datetime(2026, 11, 23, 9, 0, tzinfo=MSK)
    events = history(
        t0,
        (t0 + timedelta(hours=1), EventKind.AGENT_REPLY, None),
        (datetime(2026, 11, 23, 20, 0, tzinfo=MSK), EventKind.CUSTOMER_MESSAGE, None),
        (datetime(2026, 11, 23, 22, 0, tzinfo=MSK), EventKind.CUSTOMER_MESSAGE, None),
        tier="other",
    )
    clock = evaluate_clocks(load_regulation("wialon"), events)[NR]
    assert clock.due == datetime(2026, 11, 24, 10, 0, tzinfo=MSK)
    assert "last message" in clock.explanation


def test_wialon_24_7_loses_nothing_at_midnight() -> None:
    start = datetime(2026, 11, 23, 23, 30, tzinfo=MSK)
    events = history(start, (start + timedelta(hours=1), EventKind.AGENT_REPLY, None))
    clock = evaluate_clocks(load_regulation("wialon"), events)[FR]
    assert clock.business_time == timedelta(hours=1)


def test_wialon_alarm_address_sets_critical_priority() -> None:
    facts = clocks_for(load_regulation("wialon")).complete_facts(TicketFacts(channel="alarm"))
    assert facts.priority == "critical"


def test_wialon_resolution_is_measured_without_a_target() -> None:
    start = datetime(2026, 11, 23, 9, 0, tzinfo=MSK)
    events = history(start, (start + timedelta(hours=30), EventKind.RESOLVED, None))
    clock = evaluate_clocks(load_regulation("wialon"), events)[RES]
    assert clock.due is None
    assert not clock.breached
    assert clock.business_time == timedelta(hours=30)


def test_wialon_out_of_lifecycle_versions() -> None:
    product = next(p for p in load_regulation("wialon").products if p.id == "wialon-local")
    assert product.support_years == 5
    for version in product.versions:
        until = product.supported_until(version.id)
        assert until is not None
        assert until.year == version.released.year + 5


# --------------------------------------------------------------------------- m2m


def test_m2m_reaction_is_measured_in_business_time_without_breach() -> None:
    start = datetime(2026, 11, 27, 17, 0, tzinfo=MSK)  # Friday
    events = history(
        start, (datetime(2026, 11, 30, 10, 0, tzinfo=MSK), EventKind.AGENT_REPLY, None)
    )
    clock = evaluate_clocks(load_regulation("m2m"), events)[FR]
    assert clock.due is None
    assert clock.met_at == datetime(2026, 11, 30, 10, 0, tzinfo=MSK)
    assert clock.business_time == timedelta(hours=2)
    assert not clock.breached


def test_m2m_counts_a_transferred_working_saturday() -> None:
    start = datetime(2025, 10, 31, 17, 0, tzinfo=MSK)  # Friday; Saturday 2025-11-01 works
    events = history(start, (datetime(2025, 11, 1, 12, 0, tzinfo=MSK), EventKind.AGENT_REPLY, None))
    assert evaluate_clocks(load_regulation("m2m"), events)[FR].business_time == timedelta(hours=4)


def test_m2m_next_response_restarts_with_each_user_message() -> None:
    t0 = datetime(2026, 11, 23, 9, 0, tzinfo=MSK)
    events = history(
        t0,
        (t0 + timedelta(hours=1), EventKind.AGENT_REPLY, None),
        (t0 + timedelta(hours=2), EventKind.CUSTOMER_MESSAGE, None),
        (t0 + timedelta(hours=5), EventKind.CUSTOMER_MESSAGE, None),
        (t0 + timedelta(hours=6), EventKind.AGENT_REPLY, None),
    )
    clock = evaluate_clocks(load_regulation("m2m"), events)[NR]
    assert clock.business_time == timedelta(hours=1)
    assert clock.state is ClockState.MET


# --------------------------------------------------------------------------- wildix


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        (datetime(2026, 11, 24, 10, 0, tzinfo=ROME), datetime(2026, 11, 24, 18, 0, tzinfo=ROME)),
        (datetime(2026, 11, 24, 19, 0, tzinfo=ROME), datetime(2026, 11, 25, 18, 0, tzinfo=ROME)),
        (datetime(2026, 11, 24, 7, 0, tzinfo=ROME), datetime(2026, 11, 24, 18, 0, tzinfo=ROME)),
        (datetime(2026, 11, 28, 11, 0, tzinfo=ROME), datetime(2026, 11, 30, 18, 0, tzinfo=ROME)),
        # Tuesday 2026-12-08 (Immaculate Conception) is skipped
        (datetime(2026, 12, 7, 19, 0, tzinfo=ROME), datetime(2026, 12, 9, 18, 0, tzinfo=ROME)),
    ],
)
def test_wildix_technical_support_answers_by_end_of_business_day(
    created: datetime, expected: datetime
) -> None:
    assert due("wildix", FR, created, type="technical-support") == expected


def test_wildix_customer_care_reviewed_within_one_business_day() -> None:
    created = datetime(2026, 11, 24, 10, 0, tzinfo=ROME)
    assert due("wildix", FR, created, type="customer-care") == datetime(
        2026, 11, 25, 10, 0, tzinfo=ROME
    )


def test_wildix_email_only_follows_up() -> None:
    reg = load_regulation("wildix")
    emails = [c for c in reg.channels if c.kind.value == "email"]
    assert emails
    assert all(c.role.value == "follow_up" for c in emails)
    assert all(c.auto_reply for c in emails)


# --------------------------------------------------------------------------- service-desk


def test_service_desk_reviews_within_one_business_hour() -> None:
    for priority in ("critical", "high", "medium", "low"):
        created = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)
        assert due("service-desk", FR, created, priority=priority) == datetime(
            2026, 11, 24, 9, 30, tzinfo=UTC
        )


@pytest.mark.parametrize(
    ("priority", "expected"),
    [
        ("critical", datetime(2026, 11, 23, 13, 0, tzinfo=UTC)),
        ("high", datetime(2026, 11, 25, 15, 0, tzinfo=UTC)),
        ("medium", datetime(2026, 11, 30, 12, 0, tzinfo=UTC)),
        ("low", datetime(2026, 12, 2, 18, 0, tzinfo=UTC)),
    ],
)
def test_service_desk_resolution_targets_by_priority(priority: str, expected: datetime) -> None:
    created = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 09:00
    assert due("service-desk", RES, created, priority=priority) == expected


def test_service_desk_return_for_information_pauses_resolution() -> None:
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    events = history(
        start,
        (datetime(2026, 11, 23, 10, 0, tzinfo=UTC), EventKind.STATUS, "waiting_for_customer"),
        (datetime(2026, 11, 24, 15, 0, tzinfo=UTC), EventKind.CUSTOMER_MESSAGE, None),
        priority="critical",
    )
    clock = evaluate_clocks(load_regulation("service-desk"), events)[RES]
    # 1 h before the pause; 3 h left from Tue 15:00 → Tue 18:00 (exactly the closing time)
    assert clock.due == datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
    assert clock.business_time == timedelta(hours=1)


def test_service_desk_priority_change_by_specialist_applies_from_creation() -> None:
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    events = history(
        start,
        (datetime(2026, 11, 23, 14, 0, tzinfo=UTC), EventKind.PRIORITY, "critical"),
        priority="low",
    )
    clock = evaluate_clocks(load_regulation("service-desk"), events)[RES]
    assert clock.due == datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    assert clock.breached
    assert clock.breached_by == timedelta(hours=1)


# --------------------------------------------------------------------------- waviot


@pytest.mark.parametrize(
    ("priority", "expected"),
    [
        ("critical", datetime(2026, 11, 30, 10, 0, tzinfo=MSK)),
        ("high", datetime(2026, 11, 30, 12, 0, tzinfo=MSK)),
        ("medium", datetime(2026, 12, 1, 13, 0, tzinfo=MSK)),
    ],
)
def test_waviot_reaction_targets_in_business_hours(priority: str, expected: datetime) -> None:
    created = datetime(2026, 11, 27, 16, 0, tzinfo=MSK)  # Friday 16:00
    assert due("waviot", FR, created, priority=priority) == expected


def test_waviot_skips_unity_day() -> None:
    created = datetime(2026, 11, 3, 17, 0, tzinfo=MSK)  # Tuesday; Wednesday 4 Nov is a holiday
    assert due("waviot", FR, created, priority="critical") == datetime(
        2026, 11, 5, 11, 0, tzinfo=MSK
    )


def test_waviot_low_priority_waits_for_an_agreed_target() -> None:
    created = datetime(2026, 11, 23, 10, 0, tzinfo=MSK)
    assert due("waviot", FR, created, priority="low") is None
    events = [
        TicketEvent(at=created, kind=EventKind.CREATED, facts=TicketFacts(priority="low")),
        TicketEvent(
            at=created + timedelta(hours=1),
            kind=EventKind.AGREED_TARGET,
            clock=FR,
            duration=timedelta(hours=20),
        ),
    ]
    clock = evaluate_clocks(load_regulation("waviot"), events)[FR]
    # 20 business hours from Mon 10:00: Mon 8 h, Tue 9 h, Wed 3 h
    assert clock.due == datetime(2026, 11, 25, 12, 0, tzinfo=MSK)


def test_waviot_only_email_and_telegram_register_requests_besides_the_helpdesk_service() -> None:
    reg = load_regulation("waviot")
    opening = {c.kind.value for c in reg.channels if c.role.value == "opens"}
    assert opening == {"email", "telegram", "helpdesk_service"}
    phone = [c for c in reg.channels if c.kind.value == "phone"]
    assert phone
    assert all(c.role.value == "consultation" for c in phone)
    assert reg.acknowledgement_required
