"""Business calendars: the regulations' worked examples and regressions for bugs peers shipped.

Each test is a small story: given a calendar, when business time is added or measured, then
the answer is this instant or this duration, expressed in the calendar's zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from regdesk.core.calendar import BusinessCalendar, CalendarError
from regdesk.core.regulation import CalendarSpec

MSK = ZoneInfo("Europe/Moscow")
ROME = ZoneInfo("Europe/Rome")
NEW_YORK = ZoneInfo("America/New_York")
H = timedelta(hours=1)


def calendar(**spec: Any) -> BusinessCalendar:
    return BusinessCalendar.from_spec(CalendarSpec.model_validate(spec), name="test")


def office_moscow() -> BusinessCalendar:
    return calendar(zone="Europe/Moscow", week={"mon-fri": ["09:00-18:00"]})


def russian_production() -> BusinessCalendar:
    return calendar(
        zone="Europe/Moscow",
        week={"mon-fri": ["09:00-18:00"]},
        holidays={"country": "RU", "weekend_workdays": True},
    )


def wildix() -> BusinessCalendar:
    return calendar(
        zone="Europe/Rome", week={"mon-fri": ["09:00-18:00"]}, holidays={"country": "IT"}
    )


def msk(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MSK)


def rome(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ROME)


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


# --------------------------------------------------------------------------- adding business time


def test_friday_17_plus_one_hour_is_friday_18_not_monday() -> None:
    # Given Mon-Fri 09-18, when 1 h is added at Friday 17:00 (2026-03-06),
    # then the due instant is the closing time itself.
    assert office_moscow().add(msk(2026, 3, 6, 17, 0), H) == msk(2026, 3, 6, 18, 0)


def test_adding_outside_hours_starts_at_the_next_opening() -> None:
    cal = office_moscow()
    assert cal.add(msk(2026, 3, 6, 18, 0), H) == msk(2026, 3, 9, 10, 0)  # Fri close → Mon
    assert cal.add(msk(2026, 3, 7, 12, 0), H) == msk(2026, 3, 9, 10, 0)  # Saturday
    assert cal.add(msk(2026, 3, 9, 7, 30), H) == msk(2026, 3, 9, 10, 0)  # before opening
    assert cal.add(msk(2026, 3, 6, 17, 0), timedelta(0)) == msk(2026, 3, 6, 17, 0)
    assert cal.add(msk(2026, 3, 6, 18, 0), timedelta(0)) == msk(2026, 3, 9, 9, 0)


def test_adding_spans_several_days() -> None:
    # 15 business hours from Thursday 12:00: 6 h on Thursday, 9 h on Friday → Friday 18:00.
    assert office_moscow().add(msk(2026, 3, 5, 12, 0), hours(15)) == msk(2026, 3, 6, 18, 0)
    assert office_moscow().add(msk(2026, 3, 5, 12, 0), hours(16)) == msk(2026, 3, 9, 10, 0)


def test_a_negative_duration_is_refused() -> None:
    with pytest.raises(CalendarError):
        office_moscow().add(msk(2026, 3, 5, 12, 0), -H)


# --------------------------------------------------------------------------- wildix: end of day


@pytest.mark.parametrize(
    ("created", "due"),
    [
        pytest.param(rome(2026, 3, 3, 10, 0), rome(2026, 3, 3, 18, 0), id="Tue 10:00 -> Tue 18:00"),
        pytest.param(rome(2026, 3, 3, 19, 0), rome(2026, 3, 4, 18, 0), id="Tue 19:00 -> Wed 18:00"),
        pytest.param(rome(2026, 3, 3, 7, 0), rome(2026, 3, 3, 18, 0), id="Tue 07:00 -> Tue 18:00"),
        pytest.param(rome(2026, 3, 7, 11, 0), rome(2026, 3, 9, 18, 0), id="Sat -> Mon 18:00"),
        pytest.param(rome(2026, 3, 3, 18, 0), rome(2026, 3, 4, 18, 0), id="at closing -> next day"),
        # Easter Monday (Pasquetta) 2026-04-06 is an Italian holiday: Saturday → Tuesday 18:00.
        pytest.param(rome(2026, 4, 4, 11, 0), rome(2026, 4, 7, 18, 0), id="skips Pasquetta"),
        # 2026-12-08 (Immacolata, a Tuesday): Monday evening → Wednesday 18:00.
        pytest.param(rome(2026, 12, 7, 19, 0), rome(2026, 12, 9, 18, 0), id="skips Immacolata"),
    ],
)
def test_wildix_end_of_business_day(created: datetime, due: datetime) -> None:
    assert wildix().end_of_business_day(created) == due


def test_wildix_customer_care_is_nine_business_hours() -> None:
    # Reviewed within one business day = 9 business hours: Friday 15:00 → Monday 15:00.
    assert wildix().add(rome(2026, 3, 6, 15, 0), hours(9)) == rome(2026, 3, 9, 15, 0)


# --------------------------------------------------------------------------- Russian calendar


def test_ru_transferred_working_saturday_is_a_working_day() -> None:
    # 2025-11-01 is a Saturday worked in exchange for Monday 2025-11-03.
    cal = russian_production()
    assert cal.is_open(msk(2025, 11, 1, 10, 0))
    assert cal.add(msk(2025, 10, 31, 17, 0), hours(2)) == msk(2025, 11, 1, 10, 0)
    assert cal.end_of_business_day(msk(2025, 11, 1, 7, 0)) == msk(2025, 11, 1, 18, 0)


def test_ru_holiday_transfer_and_unity_day_are_skipped() -> None:
    # Monday 2025-11-03 is the transferred day off, Tuesday 2025-11-04 is Unity Day.
    cal = russian_production()
    assert not cal.is_open(msk(2025, 11, 3, 12, 0))
    assert cal.add(msk(2025, 11, 1, 17, 0), hours(2)) == msk(2025, 11, 5, 10, 0)
    # 2025-05-02 (Friday) is a day off substituted from 2025-01-04.
    assert cal.add(msk(2025, 4, 30, 17, 0), hours(2)) == msk(2025, 5, 5, 10, 0)


def test_ru_new_year_holidays_2026() -> None:
    # 2025-12-31 is a day off (from 2025-01-05), 2026-01-01..08 are holidays and 2026-01-09 is a
    # day off (from 2026-01-03): the first working day of 2026 is Monday 2026-01-12.
    cal = russian_production()
    assert cal.add(msk(2025, 12, 30, 17, 0), hours(2)) == msk(2026, 1, 12, 10, 0)
    assert cal.next_opening(msk(2025, 12, 30, 18, 0)) == msk(2026, 1, 12, 9, 0)
    assert cal.elapsed(msk(2025, 12, 29, 9, 0), msk(2026, 1, 13, 9, 0)) == hours(27)


def test_ru_without_weekend_workdays_keeps_the_saturday_off() -> None:
    cal = calendar(
        zone="Europe/Moscow", week={"mon-fri": ["09:00-18:00"]}, holidays={"country": "RU"}
    )
    assert not cal.is_open(msk(2025, 11, 1, 10, 0))
    assert cal.add(msk(2025, 10, 31, 17, 0), hours(2)) == msk(2025, 11, 5, 10, 0)


def test_explicit_holidays_and_extra_working_days() -> None:
    cal = calendar(
        zone="Europe/Moscow",
        week={"mon-fri": ["09:00-18:00"], "sat": ["10:00-14:00"]},
        holidays={"dates": ["2026-03-10"]},
        extra_working_days=["2026-03-15"],  # a Sunday, worked with the first weekday's hours
    )
    assert not cal.is_open(msk(2026, 3, 10, 12, 0))
    assert cal.is_open(msk(2026, 3, 15, 17, 0))
    assert cal.elapsed(msk(2026, 3, 14, 0, 0), msk(2026, 3, 16, 0, 0)) == hours(4 + 9)


# --------------------------------------------------------------------------- 24/7 and midnight


@pytest.mark.parametrize(
    "cal",
    [
        pytest.param(BusinessCalendar.always("Europe/Moscow"), id="24/7"),
        pytest.param(calendar(zone="Europe/Moscow", week="24/7"), id="spec 24/7"),
        pytest.param(
            calendar(zone="Europe/Moscow", week={"mon-sun": ["00:00-24:00"]}), id="00:00-24:00"
        ),
        pytest.param(
            calendar(zone="Europe/Moscow", week={"mon-sun": ["00:00-24:00"]}, holidays={}),
            id="00:00-24:00 compiled day by day",
        ),
    ],
)
def test_round_the_clock_loses_no_minute_at_midnight(cal: BusinessCalendar) -> None:
    # A peer's 24/7 calendar lost a minute at every midnight (23:59 was its last open minute).
    start = msk(2026, 3, 5, 23, 30)
    assert cal.elapsed(start, msk(2026, 3, 6, 0, 30)) == H
    assert cal.elapsed(start, start + timedelta(days=10)) == timedelta(days=10)
    assert cal.add(msk(2026, 3, 5, 23, 59), timedelta(minutes=2)) == msk(2026, 3, 6, 0, 1)
    assert cal.add(start, timedelta(days=3)) == start + timedelta(days=3)
    assert cal.is_open(msk(2026, 3, 6, 0, 0))


def test_24_7_never_closes() -> None:
    with pytest.raises(CalendarError):
        BusinessCalendar.always("UTC").next_closing(datetime(2026, 1, 1, tzinfo=UTC))


def test_next_closing_far_beyond_the_compiled_years() -> None:
    # Open round the clock except one holiday five years on: the interval that runs past the
    # first compiled years must not be reported as closing where compilation stopped.
    cal = calendar(
        zone="UTC", week={"mon-sun": ["00:00-24:00"]}, holidays={"dates": ["2031-06-01"]}
    )
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    assert cal.next_closing(moment) == datetime(2031, 6, 1, tzinfo=UTC)


# --------------------------------------------------------------------------- zones


def test_the_agents_zone_does_not_leak_into_the_calendar() -> None:
    # A peer converted the instant to the agent's zone and read wall-clock hours there.
    cal = office_moscow()
    same_instant = [
        msk(2026, 3, 6, 17, 0),
        datetime(2026, 3, 6, 14, 0, tzinfo=UTC),
        datetime(2026, 3, 6, 6, 0, tzinfo=ZoneInfo("America/Los_Angeles")),
        datetime(2026, 3, 6, 23, 0, tzinfo=ZoneInfo("Asia/Tokyo")),
        datetime(2026, 3, 6, 19, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    ]
    for moment in same_instant:
        due = cal.add(moment, H)
        assert due == msk(2026, 3, 6, 18, 0)
        assert due.tzinfo is MSK
        assert due.isoformat() == "2026-03-06T18:00:00+03:00"
        assert cal.next_opening(moment).tzinfo is MSK
        assert cal.end_of_business_day(moment).isoformat() == "2026-03-06T18:00:00+03:00"
        assert cal.elapsed(moment, msk(2026, 3, 9, 10, 0)) == hours(2)
        assert cal.is_open(moment)


@pytest.mark.parametrize("week", ["24/7", {"mon-sun": ["00:00-24:00"]}])
def test_dst_days_last_as_long_as_the_wall_clock_says(week: Any) -> None:
    cal = calendar(zone="Europe/Rome", week=week, holidays={})
    assert cal.elapsed(rome(2026, 3, 29, 0, 0), rome(2026, 3, 30, 0, 0)) == hours(23)
    assert cal.elapsed(rome(2026, 10, 25, 0, 0), rome(2026, 10, 26, 0, 0)) == hours(25)
    assert cal.elapsed(rome(2026, 3, 28, 0, 0), rome(2026, 3, 28, 12, 0)) == hours(12)


def test_office_hours_on_a_dst_day_stay_nine_hours() -> None:
    cal = calendar(zone="Europe/Rome", week={"mon-sun": ["09:00-18:00"]})
    for day in (date(2026, 3, 29), date(2026, 10, 25)):
        start = datetime(day.year, day.month, day.day, tzinfo=ROME)
        assert cal.elapsed(start, start + timedelta(days=1)) == hours(9)
        assert cal.add(start, hours(9)) == datetime(day.year, day.month, day.day, 18, tzinfo=ROME)


def test_interval_closing_inside_a_spring_forward_gap() -> None:
    # Regression (engine bug): 2025-03-09 New York jumps from 02:00 to 03:00. A Sunday interval
    # 00:00-02:30 ends when the wall clock leaves it, at 03:00 EDT: 2 hours. The engine read
    # 02:30 with the pre-change offset and kept the desk open until 03:30 EDT (2 h 30 min).
    cal = calendar(zone="America/New_York", week={"sun": ["00:00-02:30"]})
    midnight = datetime(2025, 3, 9, tzinfo=NEW_YORK)
    assert cal.elapsed(midnight, midnight + timedelta(days=1)) == hours(2)
    assert cal.next_closing(midnight) == datetime(2025, 3, 9, 7, 0, tzinfo=UTC)
    assert not cal.is_open(datetime(2025, 3, 9, 3, 15, tzinfo=NEW_YORK))


def test_interval_opening_inside_a_spring_forward_gap() -> None:
    # Regression (engine bug): Rome 2026-03-29 jumps from 02:00 to 03:00. An interval
    # 02:30-04:00 is open from 03:00 (the first wall-clock time inside it) to 04:00: 1 hour,
    # not 30 minutes from 03:30.
    cal = calendar(zone="Europe/Rome", week={"sun": ["02:30-04:00"]})
    midnight = rome(2026, 3, 29)
    assert cal.next_opening(midnight) == rome(2026, 3, 29, 3, 0)
    assert cal.elapsed(midnight, midnight + timedelta(days=1)) == H


def test_interval_closing_inside_a_repeated_hour_is_open_on_both_passes() -> None:
    # Regression (engine bug): Rome 2026-10-25 repeats 02:00-03:00. An interval 00:00-02:30 is
    # open while the wall clock shows 00:00-02:30 on the first pass and 02:00-02:30 on the
    # second: 3 hours, closed between 02:30 CEST and 02:00 CET.
    cal = calendar(zone="Europe/Rome", week={"sun": ["00:00-02:30"]})
    midnight = rome(2026, 10, 25)
    assert cal.elapsed(midnight, midnight + timedelta(days=1)) == hours(3)
    assert not cal.is_open(datetime(2026, 10, 25, 0, 45, tzinfo=UTC))  # 02:45 CEST
    assert cal.is_open(datetime(2026, 10, 25, 1, 15, tzinfo=UTC))  # 02:15 CET
    # (Compared in UTC: Python never finds a repeated wall time equal to another zone's time.)
    assert cal.next_closing(midnight).astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    end_of_day = cal.end_of_business_day(midnight)
    assert end_of_day.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert end_of_day.isoformat() == "2026-10-25T02:30:00+01:00"


# --------------------------------------------------------------------------- inputs and range


def test_a_naive_datetime_is_refused() -> None:
    cal = office_moscow()
    naive = datetime(2026, 3, 6, 17, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(CalendarError):
        cal.add(naive, H)
    with pytest.raises(CalendarError):
        cal.elapsed(naive, msk(2026, 3, 9, 10, 0))
    with pytest.raises(CalendarError):
        cal.elapsed(msk(2026, 3, 9, 10, 0), naive)
    with pytest.raises(CalendarError):
        cal.is_open(naive)
    with pytest.raises(CalendarError):
        cal.next_opening(naive)
    with pytest.raises(CalendarError):
        cal.end_of_business_day(naive)


def _weekday_hours(first: date, last: date) -> timedelta:
    """9 h for every Monday-Friday in [first, last): the slow way, to check the fast one."""
    days = sum(1 for n in range((last - first).days) if (first + timedelta(n)).weekday() < 5)
    return hours(9 * days)


def test_far_future_and_past_instants_grow_the_calendar() -> None:
    cal = office_moscow()
    assert cal.add(msk(2026, 3, 6, 17, 0), H) == msk(2026, 3, 6, 18, 0)
    # 2040-03-02 is a Friday, 2001-03-02 is a Friday.
    assert cal.add(msk(2040, 3, 2, 17, 0), hours(2)) == msk(2040, 3, 5, 10, 0)
    assert cal.add(msk(2001, 3, 2, 17, 0), hours(2)) == msk(2001, 3, 5, 10, 0)
    span = cal.elapsed(msk(2001, 1, 1), msk(2041, 1, 1))
    assert span == _weekday_hours(date(2001, 1, 1), date(2041, 1, 1))
    fresh = office_moscow()
    assert fresh.elapsed(msk(2001, 1, 1), msk(2041, 1, 1)) == span
    assert cal.add(msk(2001, 1, 1), span) == msk(2040, 12, 31, 18, 0)


def test_a_day_split_by_lunch() -> None:
    cal = calendar(zone="Europe/Moscow", week={"mon-fri": ["09:00-13:00", "14:00-18:00"]})
    monday = (2026, 3, 9)
    assert cal.elapsed(msk(*monday, 9, 0), msk(*monday, 18, 0)) == hours(8)
    assert cal.add(msk(*monday, 12, 30), H) == msk(*monday, 14, 30)
    assert cal.add(msk(*monday, 12, 0), H) == msk(*monday, 13, 0)  # due at the lunch break
    assert cal.add(msk(*monday, 13, 30), H) == msk(*monday, 15, 0)
    assert not cal.is_open(msk(*monday, 13, 30))
    assert cal.next_opening(msk(*monday, 13, 30)) == msk(*monday, 14, 0)
    assert cal.next_closing(msk(*monday, 10, 0)) == msk(*monday, 13, 0)
    assert cal.end_of_business_day(msk(*monday, 10, 0)) == msk(*monday, 18, 0)
    assert cal.end_of_business_day(msk(*monday, 13, 30)) == msk(*monday, 18, 0)
