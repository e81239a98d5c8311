"""Business calendars: add business time, measure it, find openings — in microseconds.

A calendar is compiled once into sorted UTC intervals ``[start, end)`` of business time (in
integer microseconds since the epoch) with the cumulative business time before each interval.
Every query is then one or two ``bisect`` calls, whatever the distance: adding 15 business hours
and adding 15 business weeks cost the same. Intervals that touch (``24:00`` followed by
``00:00`` the next day) are merged, so a 24/7 calendar is one long interval and never loses a
minute at midnight.

Wall-clock hours are read in the calendar's zone, so DST is the zone's business: a 09:00-18:00
day is 9 hours on both sides of a DST change, and a day that contains the change has whatever
length the wall clock gives it. A wall-clock time that does not exist (inside a spring-forward
gap) is read with ``fold=0``, i.e. as the same number of minutes after the previous offset.

The compiled range grows on demand (a few years at a time); a growth rebuilds the arrays, which
is rare and amortised.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from regdesk.core.regulation import CalendarSpec, parse_hours

__all__ = ["BusinessCalendar", "CalendarError", "elapsed_calendar"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = 1_000_000
_ONE_US = timedelta(microseconds=1)
# Compile this many years around the first query, then grow in steps of this many years.
_YEARS_STEP = 4
# Beyond this span a calendar that never opens is declared broken rather than searched forever.
_MAX_YEARS = 200


class CalendarError(ValueError):
    """A calendar query could not be answered (naive datetime, no business time at all…)."""


def to_us(moment: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CalendarError(f"naive datetime {moment.isoformat()} (a zone or offset is required)")
    return (moment - _EPOCH) // _ONE_US


def from_us(micros: int, zone: ZoneInfo) -> datetime:
    return (_EPOCH + timedelta(microseconds=micros)).astimezone(zone)


def elapsed_calendar(start: datetime, end: datetime) -> timedelta:
    """Plain elapsed (24/7) time, for targets counted in calendar time."""
    return end - start


@dataclass
class _Compiled:
    first_year: int
    last_year: int  # inclusive
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    cum_before: list[int] = field(default_factory=list)  # business µs before interval i
    cum_after: list[int] = field(default_factory=list)  # business µs up to the end of i
    day_closes: list[int] = field(default_factory=list)  # last closing of each business day


class BusinessCalendar:
    """A compiled business calendar. Build with :meth:`from_spec`; instances are reusable."""

    def __init__(
        self,
        *,
        zone: ZoneInfo,
        weekly: dict[int, list[tuple[int, int]]],
        holidays: Iterable[date] | None = None,
        holiday_source: CalendarSpec | None = None,
        extra_working_days: Iterable[date] = (),
        workday_hours: list[tuple[int, int]] | None = None,
        name: str = "",
        title: str = "",
    ) -> None:
        self.zone = zone
        self.name = name
        self.title = title or name
        self._weekly = {day: sorted(weekly.get(day, [])) for day in range(7)}
        if not any(self._weekly.values()):
            raise CalendarError(f"calendar {name!r} has no opening hours")
        self._explicit_holidays = frozenset(holidays or ())
        self._source = holiday_source
        self._extra = frozenset(extra_working_days)
        first_working = next(hours for day, hours in sorted(self._weekly.items()) if hours)
        self._workday_hours = sorted(workday_hours) if workday_hours else first_working
        self._always_open = (
            all(hours == [(0, 1440)] for hours in self._weekly.values())
            and not self._explicit_holidays
            and (holiday_source is None or holiday_source.holidays is None)
        )
        self._compiled: _Compiled | None = None

    # ----------------------------------------------------------------- construction

    @classmethod
    def from_spec(cls, spec: CalendarSpec, *, name: str = "") -> BusinessCalendar:
        """Build from a regulation's :class:`CalendarSpec`."""
        hours = [parse_hours(h) for h in spec.workday_hours] if spec.workday_hours else None
        explicit = spec.holidays.dates if spec.holidays else []
        title = spec.title if isinstance(spec.title, str) else spec.title.get("en", name)
        return cls(
            zone=ZoneInfo(spec.zone),
            weekly=spec.weekly_minutes(),
            holidays=explicit,
            holiday_source=spec,
            extra_working_days=spec.extra_working_days,
            workday_hours=hours,
            name=name,
            title=title or name,
        )

    @classmethod
    def always(cls, zone: ZoneInfo | str = "UTC", *, name: str = "24/7") -> BusinessCalendar:
        """A 24/7 calendar: business time is elapsed time."""
        tz = ZoneInfo(zone) if isinstance(zone, str) else zone
        return cls(zone=tz, weekly={d: [(0, 1440)] for d in range(7)}, name=name, title=name)

    @property
    def always_open(self) -> bool:
        return self._always_open

    def _holidays_for(self, years: range) -> tuple[set[date], set[date]]:
        """(non-working dates, extra working dates) from `holidays` and the explicit lists."""
        off = set(self._explicit_holidays)
        extra = set(self._extra)
        source = self._source.holidays if self._source else None
        if source is not None and source.country:
            import holidays as holidays_lib

            table = holidays_lib.country_holidays(
                source.country, subdiv=source.subdivision, years=list(years)
            )
            off.update(table.keys())
            if source.weekend_workdays:
                extra.update(getattr(table, "weekend_workdays", ()))
        return off, extra - self._explicit_holidays

    def _compile(self, first_year: int, last_year: int) -> _Compiled:
        compiled = _Compiled(first_year, last_year)
        if self._always_open:
            start = to_us(datetime(first_year, 1, 1, tzinfo=self.zone))
            end = to_us(datetime(last_year + 1, 1, 1, tzinfo=self.zone))
            compiled.starts, compiled.ends = [start], [end]
            compiled.cum_before, compiled.cum_after = [0], [end - start]
            # Local midnights close each "business day" of a 24/7 calendar.
            day = date(first_year, 1, 1)
            while day.year <= last_year:
                day += timedelta(days=1)
                compiled.day_closes.append(
                    to_us(datetime(day.year, day.month, day.day, tzinfo=self.zone))
                )
            return compiled
        off, extra = self._holidays_for(range(first_year, last_year + 1))
        starts: list[int] = []
        ends: list[int] = []
        day = date(first_year, 1, 1)
        stop = date(last_year + 1, 1, 1)
        zone = self.zone
        while day < stop:
            if day in extra:
                hours = self._weekly[day.weekday()] or self._workday_hours
            elif day in off:
                hours = []
            else:
                hours = self._weekly[day.weekday()]
            if hours:
                # Aware + timedelta is wall-clock arithmetic: the zone decides the offset.
                midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
                for open_min, close_min in hours:
                    start = to_us(midnight + timedelta(minutes=open_min))
                    end = to_us(midnight + timedelta(minutes=close_min))
                    if end <= start:  # an interval swallowed by a DST gap
                        continue
                    if ends and ends[-1] >= start:
                        ends[-1] = max(ends[-1], end)
                    else:
                        starts.append(start)
                        ends.append(end)
                compiled.day_closes.append(ends[-1] if ends else 0)
            day += timedelta(days=1)
        compiled.day_closes = sorted({c for c in compiled.day_closes if c})
        total = 0
        for start, end in zip(starts, ends, strict=True):
            compiled.cum_before.append(total)
            total += end - start
            compiled.cum_after.append(total)
        compiled.starts, compiled.ends = starts, ends
        return compiled

    def _ensure(self, micros: int) -> _Compiled:
        """The compiled tables, grown so that they cover ``micros`` with a year to spare."""
        compiled = self._compiled
        year = (_EPOCH + timedelta(microseconds=micros)).year
        if compiled is not None and compiled.first_year < year < compiled.last_year:
            return compiled
        first = year - 1 if compiled is None else min(compiled.first_year, year - _YEARS_STEP)
        last = year + _YEARS_STEP if compiled is None else max(compiled.last_year, year + 1)
        first, last = max(first, 1), min(last, 9998)
        if last - first > _MAX_YEARS:
            raise CalendarError(
                f"calendar {self.name!r}: no business time within {_MAX_YEARS} years"
            )
        self._compiled = self._compile(first, last)
        return self._compiled

    def _grow_forward(self) -> _Compiled:
        compiled = self._compiled
        assert compiled is not None
        if compiled.last_year - compiled.first_year > _MAX_YEARS or compiled.last_year >= 9998:
            raise CalendarError(
                f"calendar {self.name!r}: no business time within {_MAX_YEARS} years"
            )
        self._compiled = self._compile(
            compiled.first_year, min(compiled.last_year + _YEARS_STEP * 2, 9998)
        )
        return self._compiled

    # ----------------------------------------------------------------- queries in µs

    def _cum_at(self, c: _Compiled, micros: int) -> int:
        """Business µs between the compiled origin and ``micros``."""
        i = bisect_right(c.starts, micros) - 1
        if i < 0:
            return 0
        return c.cum_before[i] + min(micros, c.ends[i]) - c.starts[i]

    def add_us(self, micros: int, business_us: int) -> int:
        """The instant (µs) when ``business_us`` of business time has passed since ``micros``."""
        if business_us < 0:
            raise CalendarError("cannot add a negative business duration")
        c = self._ensure(micros)
        if business_us == 0:
            return self.next_opening_us(micros)
        goal = self._cum_at(c, micros) + business_us
        while True:
            j = bisect_left(c.cum_after, goal)
            if j < len(c.cum_after):
                return c.starts[j] + goal - c.cum_before[j]
            c = self._grow_forward()

    def elapsed_us(self, start: int, end: int) -> int:
        """Business µs in ``[start, end)``; negative when ``end`` is before ``start``."""
        self._ensure(start)
        c = self._ensure(end)
        return self._cum_at(c, end) - self._cum_at(c, start)

    def is_open_us(self, micros: int) -> bool:
        c = self._ensure(micros)
        i = bisect_right(c.starts, micros) - 1
        return i >= 0 and micros < c.ends[i]

    def next_opening_us(self, micros: int) -> int:
        """``micros`` itself when open, else the next opening."""
        c = self._ensure(micros)
        while True:
            i = bisect_right(c.starts, micros) - 1
            if i >= 0 and micros < c.ends[i]:
                return micros
            if i + 1 < len(c.starts):
                return c.starts[i + 1]
            c = self._grow_forward()

    def next_closing_us(self, micros: int) -> int:
        """The end of the business interval open at ``micros``, or of the next one."""
        c = self._ensure(micros)
        while True:
            i = bisect_right(c.starts, micros) - 1
            if i >= 0 and micros < c.ends[i]:
                return c.ends[i]
            if i + 1 < len(c.starts):
                return c.ends[i + 1]
            c = self._grow_forward()

    def end_of_business_day_us(self, micros: int) -> int:
        """The last closing time of the first business day open at or after ``micros``."""
        opening = self.next_opening_us(micros)
        c = self._ensure(opening)
        while True:
            k = bisect_right(c.day_closes, opening)
            if k < len(c.day_closes):
                return c.day_closes[k]
            c = self._grow_forward()

    @staticmethod
    def _year(micros: int) -> int:
        return (_EPOCH + timedelta(microseconds=micros)).year

    # ----------------------------------------------------------------- datetime API

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """``start`` plus ``duration`` of business time, in the calendar's zone.

        Outside business hours counting starts at the next opening; the result may be exactly a
        closing time (Fri 17:00 + 1 h over 09-18 is Fri 18:00).
        """
        return from_us(self.add_us(to_us(start), duration // _ONE_US), self.zone)

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between two instants (negative when ``end`` < ``start``)."""
        return timedelta(microseconds=self.elapsed_us(to_us(start), to_us(end)))

    def is_open(self, moment: datetime) -> bool:
        return self.is_open_us(to_us(moment))

    def next_opening(self, moment: datetime) -> datetime:
        return from_us(self.next_opening_us(to_us(moment)), self.zone)

    def next_closing(self, moment: datetime) -> datetime:
        return from_us(self.next_closing_us(to_us(moment)), self.zone)

    def end_of_business_day(self, moment: datetime) -> datetime:
        """Closing of the business day open at ``moment``, or of the next business day."""
        return from_us(self.end_of_business_day_us(to_us(moment)), self.zone)

    def describe(self) -> str:
        """Short human description: '24/7' or 'Mon-Fri 09:00-18:00 Europe/Moscow'."""
        if self._always_open:
            return f"24/7 ({self.zone.key})"
        return f"{self.title} ({self.zone.key})"
