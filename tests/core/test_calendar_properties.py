"""Property tests: the compiled BusinessCalendar against a slow, obviously-correct oracle.

The oracle knows nothing of the engine's compiled tables. It walks UTC minute by minute, reads
the local wall clock of each minute in the calendar's zone and asks the weekly table, the holiday
set and the extra working days whether that wall-clock minute is business time. So the zone
decides DST exactly as the semantics say: a wall-clock hour that repeats counts twice, a skipped
one not at all, and an interval whose opening or closing falls inside a DST gap starts (or ends)
where the wall clock really shows a time inside it.

Every instant is on a minute boundary and every interval boundary is a whole minute, and every
zone used changes offset on a minute boundary, so minute steps are exact.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays as holidays_lib
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from regdesk.core.calendar import BusinessCalendar, CalendarError
from regdesk.core.regulation import WEEKDAYS, CalendarSpec

ZONES = (
    "Europe/Rome",
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "Europe/Moscow",
    "UTC",
    "Asia/Kolkata",
)
COUNTRIES = ("RU", "IT", "US")
MINUTES_PER_DAY = 1440
# Instants are drawn from these two years; walks may run into the next one.
FIRST_MINUTE = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp()) // 60
LAST_MINUTE = int(datetime(2027, 1, 1, tzinfo=UTC).timestamp()) // 60
HOLIDAY_YEARS = range(2024, 2029)
# The oracle gives up (and the example is rejected) after this many minutes of walking.
WALK_LIMIT = 120 * MINUTES_PER_DAY

# A representation of the input instant in some other zone: the result must not depend on it.
INPUT_ZONES: tuple[Any, ...] = (
    UTC,
    timezone(timedelta(hours=-7)),
    timezone(timedelta(hours=5, minutes=45)),
    ZoneInfo("Asia/Tokyo"),
    ZoneInfo("America/Los_Angeles"),
)


# --------------------------------------------------------------------------- the oracle


@dataclass
class Oracle:
    """Business time by walking the wall clock minute by minute."""

    zone: ZoneInfo
    weekly: dict[int, list[tuple[int, int]]]
    closed_dates: frozenset[date]  # holidays (country + explicit)
    explicit_closed: frozenset[date]  # explicit holiday dates beat extra working days
    extra_dates: frozenset[date]  # extra working days (explicit + RU weekend_workdays)
    workday_hours: list[tuple[int, int]]
    always: bool

    def __post_init__(self) -> None:
        self._days: dict[date, bytes] = {}

    def _day_flags(self, day: date) -> bytes:
        flags = self._days.get(day)
        if flags is None:
            if self.always:
                hours = [(0, MINUTES_PER_DAY)]
            elif day in self.explicit_closed:
                hours = []
            elif day in self.extra_dates:
                hours = self.weekly[day.weekday()] or self.workday_hours
            elif day in self.closed_dates:
                hours = []
            else:
                hours = self.weekly[day.weekday()]
            table = bytearray(MINUTES_PER_DAY)
            for start, end in hours:
                table[start:end] = b"\x01" * (end - start)
            flags = self._days[day] = bytes(table)
        return flags

    def local(self, minute: int) -> datetime:
        return datetime.fromtimestamp(minute * 60, self.zone)

    def is_open(self, minute: int) -> bool:
        """Is the UTC minute ``[minute, minute + 1)`` business time?"""
        wall = datetime.fromtimestamp(minute * 60, self.zone)
        return bool(self._day_flags(wall.date())[wall.hour * 60 + wall.minute])

    def next_opening(self, minute: int) -> int:
        for step in range(WALK_LIMIT):
            if self.is_open(minute + step):
                return minute + step
        raise OracleGaveUp

    def next_closing(self, minute: int) -> int:
        opening = self.next_opening(minute)
        for step in range(WALK_LIMIT):
            if not self.is_open(opening + step):
                return opening + step
        raise OracleGaveUp

    def add(self, minute: int, business_minutes: int) -> int:
        if business_minutes == 0:
            return self.next_opening(minute)
        counted = 0
        for step in range(WALK_LIMIT):
            if self.is_open(minute + step):
                counted += 1
                if counted == business_minutes:
                    return minute + step + 1  # the end of the minute that completes it
        raise OracleGaveUp

    def elapsed(self, start: int, end: int) -> int:
        if end < start:
            return -self.elapsed(end, start)
        return sum(1 for m in range(start, end) if self.is_open(m))

    def end_of_business_day(self, minute: int) -> int:
        opening = self.next_opening(minute)
        day = self.local(opening).date()
        close = opening + 1
        # Walk to the end of that local day (plus the longest DST shift), noting the last close.
        for m in range(opening, opening + MINUTES_PER_DAY + 180):
            wall = self.local(m).date()
            if wall > day:
                break
            if wall == day and self.is_open(m):
                close = m + 1
        return close


class OracleGaveUp(Exception):
    pass


# --------------------------------------------------------------------------- strategies


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def day_hours(draw: st.DrawFn) -> list[tuple[int, int]]:
    """0-3 non-overlapping intervals of one day, boundaries biased towards DST-change hours."""
    shape = draw(st.sampled_from(["closed", "full", "intervals", "intervals", "intervals"]))
    if shape == "closed":
        return []
    if shape == "full":
        return [(0, MINUTES_PER_DAY)]
    count = draw(st.integers(1, 3))
    boundary = st.one_of(
        st.integers(0, 48).map(lambda h: h * 30),  # half hours, 24:00 included
        st.integers(0, MINUTES_PER_DAY),  # any minute
        st.integers(0, 240),  # 00:00-04:00, where the DST changes happen
    )
    points = draw(st.lists(boundary, min_size=2 * count, max_size=2 * count, unique=True))
    points.sort()
    return [(points[i], points[i + 1]) for i in range(0, len(points), 2)]


@dataclass
class Case:
    spec: CalendarSpec
    calendar: BusinessCalendar
    oracle: Oracle

    def __repr__(self) -> str:  # what hypothesis prints for a failing example
        return f"Case({self.spec.model_dump(exclude_defaults=True)!r})"


@cache
def _country_table(country: str) -> tuple[frozenset[date], frozenset[date]]:
    table = holidays_lib.country_holidays(country, years=list(HOLIDAY_YEARS))
    return frozenset(table.keys()), frozenset(getattr(table, "weekend_workdays", ()))


def _build_case(data: dict[str, Any]) -> Case:
    spec = CalendarSpec.model_validate(data)
    calendar = BusinessCalendar.from_spec(spec, name="prop")
    zone = ZoneInfo(spec.zone)
    if spec.week == "24/7":
        weekly = {d: [(0, MINUTES_PER_DAY)] for d in range(7)}
    else:
        weekly = {d: [] for d in range(7)}
        for key, texts in data["week"].items():
            weekly[WEEKDAYS.index(key)] = [
                (int(t[0:2]) * 60 + int(t[3:5]), int(t[6:8]) * 60 + int(t[9:11])) for t in texts
            ]
    explicit_closed: frozenset[date] = frozenset()
    closed: set[date] = set()
    extra = set(spec.extra_working_days)
    if spec.holidays is not None:
        explicit_closed = frozenset(spec.holidays.dates)
        closed |= explicit_closed
        if spec.holidays.country:
            country_days, weekend_workdays = _country_table(spec.holidays.country)
            closed |= country_days
            if spec.holidays.weekend_workdays:
                extra |= weekend_workdays
    if spec.workday_hours:
        workday = [
            (int(t[0:2]) * 60 + int(t[3:5]), int(t[6:8]) * 60 + int(t[9:11]))
            for t in spec.workday_hours
        ]
    else:
        workday = next(weekly[d] for d in range(7) if weekly[d])
    oracle = Oracle(
        zone=zone,
        weekly=weekly,
        closed_dates=frozenset(closed),
        explicit_closed=explicit_closed,
        extra_dates=frozenset(extra),
        workday_hours=workday,
        always=spec.week == "24/7" and spec.holidays is None,
    )
    return Case(spec, calendar, oracle)


_dates = st.dates(date(2024, 12, 1), date(2027, 2, 1))


@st.composite
def calendars(draw: st.DrawFn) -> Case:
    zone = draw(st.sampled_from(ZONES))
    data: dict[str, Any] = {"zone": zone}
    if draw(st.integers(0, 9)) == 0:
        data["week"] = "24/7"
    else:
        days = draw(st.lists(day_hours(), min_size=7, max_size=7))
        assume(any(days))
        week: dict[str, list[str]] = {}
        for day, hours in enumerate(days):
            # An empty list and a missing day both mean closed: write both forms.
            keep_empty: bool = draw(st.booleans())
            if hours or keep_empty:
                week[WEEKDAYS[day]] = [f"{_hhmm(a)}-{_hhmm(b)}" for a, b in hours]
        data["week"] = week
    if draw(st.booleans()):
        holiday: dict[str, Any] = {"dates": draw(st.lists(_dates, max_size=8))}
        country = draw(st.sampled_from((None, *COUNTRIES)))
        if country is not None:
            holiday["country"] = country
            holiday["weekend_workdays"] = country == "RU" and draw(st.booleans())
        data["holidays"] = holiday
    if draw(st.booleans()):
        data["extra_working_days"] = draw(st.lists(_dates, max_size=4))
    if draw(st.integers(0, 3)) == 0:
        data["workday_hours"] = [f"{_hhmm(a)}-{_hhmm(b)}" for a, b in draw(day_hours()) if b > a]
        if not data["workday_hours"]:
            del data["workday_hours"]
    return _build_case(data)


def _transition_minutes() -> list[int]:
    """UTC minutes at which one of the zones changes offset within the test years."""
    found: set[int] = set()
    for name in ZONES:
        zone = ZoneInfo(name)
        previous = None
        for hour in range(FIRST_MINUTE // 60 - 24, LAST_MINUTE // 60 + 24 * 40):
            offset = datetime.fromtimestamp(hour * 3600, zone).utcoffset()
            if previous is not None and offset != previous:
                found.add(hour * 60)
            previous = offset
    return sorted(found)


TRANSITIONS = _transition_minutes()

minutes = st.one_of(
    st.integers(FIRST_MINUTE, LAST_MINUTE),
    # around a DST change: a few days before up to a day after
    st.builds(
        lambda t, d: t + d,
        st.sampled_from(TRANSITIONS),
        st.integers(-3 * MINUTES_PER_DAY, MINUTES_PER_DAY),
    ),
)
business_minutes = st.one_of(
    st.integers(0, 90), st.integers(0, 600), st.sampled_from([0, 1, 60, 540, 1440])
)


def as_input(minute: int, zone: Any) -> datetime:
    """The instant as an aware datetime in ``zone`` (any representation will do)."""
    return datetime.fromtimestamp(minute * 60, zone)


def as_minute(moment: datetime) -> int:
    assert moment.second == 0
    assert moment.microsecond == 0
    return int(moment.timestamp()) // 60


def assert_in_zone(moment: datetime, zone: ZoneInfo) -> None:
    """Aware, in the calendar's zone, and a normalised wall time (right offset and fold)."""
    assert moment.tzinfo is zone
    assert moment.utcoffset() is not None
    assert moment == moment.astimezone(UTC).astimezone(zone)
    assert moment.isoformat() == moment.astimezone(UTC).astimezone(zone).isoformat()


def oracle_or_reject(function: Any, *args: int) -> int:
    try:
        result: int = function(*args)
    except OracleGaveUp:
        assume(False)
        raise  # unreachable
    return result


# REGDESK_PROPERTY_EXAMPLES=2000 for a deeper run; the default keeps the file around 30 s.
EXAMPLES = int(os.environ.get("REGDESK_PROPERTY_EXAMPLES", "120"))
PROPERTY_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# --------------------------------------------------------------------------- properties


@PROPERTY_SETTINGS
@given(
    case=calendars(), start=minutes, duration=business_minutes, zone=st.sampled_from(INPUT_ZONES)
)
def test_add_matches_the_oracle(case: Case, start: int, duration: int, zone: Any) -> None:
    expected = oracle_or_reject(case.oracle.add, start, duration)

    due = case.calendar.add(as_input(start, zone), timedelta(minutes=duration))

    assert as_minute(due) == expected
    assert_in_zone(due, case.calendar.zone)


@PROPERTY_SETTINGS
@given(
    case=calendars(),
    start=minutes,
    span=st.integers(-8 * MINUTES_PER_DAY, 8 * MINUTES_PER_DAY),
    zone=st.sampled_from(INPUT_ZONES),
)
def test_elapsed_matches_the_oracle(case: Case, start: int, span: int, zone: Any) -> None:
    expected = case.oracle.elapsed(start, start + span)

    elapsed = case.calendar.elapsed(as_input(start, zone), as_input(start + span, case.oracle.zone))

    assert elapsed == timedelta(minutes=expected)


@PROPERTY_SETTINGS
@given(case=calendars(), moment=minutes, zone=st.sampled_from(INPUT_ZONES))
def test_open_next_opening_and_closing_match_the_oracle(case: Case, moment: int, zone: Any) -> None:
    given_at = as_input(moment, zone)

    assert case.calendar.is_open(given_at) == case.oracle.is_open(moment)

    opening = case.calendar.next_opening(given_at)
    assert as_minute(opening) == oracle_or_reject(case.oracle.next_opening, moment)
    assert_in_zone(opening, case.calendar.zone)

    if case.calendar.always_open:
        with pytest.raises(CalendarError):
            case.calendar.next_closing(given_at)
        return
    try:
        expected_close = case.oracle.next_closing(moment)
    except OracleGaveUp:
        return  # open for months on end: nothing to compare within the walk limit
    closing = case.calendar.next_closing(given_at)
    assert as_minute(closing) == expected_close
    assert_in_zone(closing, case.calendar.zone)


@PROPERTY_SETTINGS
@given(case=calendars(), moment=minutes, zone=st.sampled_from(INPUT_ZONES))
def test_end_of_business_day_matches_the_oracle(case: Case, moment: int, zone: Any) -> None:
    expected = oracle_or_reject(case.oracle.end_of_business_day, moment)

    close = case.calendar.end_of_business_day(as_input(moment, zone))

    assert as_minute(close) == expected
    assert_in_zone(close, case.calendar.zone)


# Engine-only laws: no oracle walk, so they afford more examples and longer durations.

long_durations = st.integers(0, 200_000)  # up to ~140 days of business minutes


@settings(max_examples=EXAMPLES * 2, deadline=None)
@given(case=calendars(), start=minutes, duration=long_durations)
def test_elapsed_inverts_add(case: Case, start: int, duration: int) -> None:
    calendar = case.calendar
    begin = as_input(start, UTC)

    due = calendar.add(begin, timedelta(minutes=duration))

    assert calendar.elapsed(begin, due) == timedelta(minutes=duration)
    assert calendar.elapsed(due, begin) == -timedelta(minutes=duration)


@settings(max_examples=EXAMPLES * 2, deadline=None)
@given(
    case=calendars(),
    first=minutes,
    later_by=st.integers(0, 20 * MINUTES_PER_DAY),
    duration=long_durations,
    more=st.integers(0, 5000),
)
def test_add_is_monotonic(case: Case, first: int, later_by: int, duration: int, more: int) -> None:
    calendar = case.calendar
    early, late = as_input(first, UTC), as_input(first + later_by, UTC)
    span, longer = timedelta(minutes=duration), timedelta(minutes=duration + more)

    assert calendar.add(early, span) <= calendar.add(late, span)
    assert calendar.add(early, span) <= calendar.add(early, longer)
    assert calendar.next_opening(early) <= calendar.add(early, span)
