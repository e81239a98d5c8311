"""Business calendars: add business time, measure it, find openings — in microseconds.

A calendar is compiled once into sorted UTC intervals ``[start, end)`` of business time (in
integer microseconds since the epoch) with the cumulative business time before each interval.
Every query is then one or two ``bisect`` calls, whatever the distance: adding 15 business hours
and adding 15 business weeks cost the same. Intervals that touch (``24:00`` followed by
``00:00`` the next day) are merged, so a 24/7 calendar is one long interval and never loses a
minute at midnight.

Wall-clock hours are read in the calendar's zone, so DST is the zone's business: an instant is
business time when the wall clock shows, at that instant, a time inside one of the day's
intervals. A 09:00-18:00 day is 9 hours on both sides of a DST change; a day that contains the
change has whatever length the wall clock gives it (a wall-clock hour that repeats counts twice, a
skipped one not at all). An interval that opens or closes inside a spring-forward gap therefore
opens or closes at the change itself, and one that closes inside a repeated hour is open during
both passes of the wall clock through it. The compiler follows the zone's offset changes to get
this exactly: between two changes the wall clock is a plain shift of UTC.

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
_EPOCH_ORDINAL = _EPOCH.toordinal()
_US = 1_000_000
_MINUTE_US = 60 * _US
_DAY_US = 86_400 * _US
_ONE_US = timedelta(microseconds=1)
_fromtimestamp = datetime.fromtimestamp
# Offsets are probed this often (seconds) when looking for a zone's changes. Two changes within
# one probe step that come back to the first offset would be missed; in tzdata the closest two
# changes since 1900 are four days apart.
_OFFSET_PROBE_S = 86_400
# Compile this many years around the first query, then grow in steps of this many years.
_YEARS_STEP = 4
# Beyond this span a calendar that never opens is declared broken rather than searched forever.
_MAX_YEARS = 200
# What fromtimestamp accepts, with a margin for any zone's offset.
_MIN_SECOND = int((datetime(1, 1, 3, tzinfo=UTC) - _EPOCH).total_seconds())
_MAX_SECOND = int((datetime(9999, 12, 29, tzinfo=UTC) - _EPOCH).total_seconds())


class CalendarError(ValueError):
    """A calendar query could not be answered (naive datetime, no business time at all…)."""


def to_us(moment: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch."""
    try:
        # Exact integer arithmetic; a naive datetime cannot be subtracted from an aware one.
        return (moment - _EPOCH) // _ONE_US
    except TypeError:
        raise _naive(moment) from None


def _naive(moment: datetime) -> Exception:
    if not isinstance(moment, datetime):
        return TypeError(f"expected a datetime, got {type(moment).__name__}")
    return CalendarError(f"naive datetime {moment.isoformat()} (a zone or offset is required)")


def from_us(micros: int, zone: ZoneInfo) -> datetime:
    """Microseconds since the epoch as an aware datetime in ``zone``."""
    if micros % _US:
        return (_EPOCH + timedelta(microseconds=micros)).astimezone(zone)
    # Whole seconds (the usual case): an integer timestamp is exact and much faster.
    return _fromtimestamp(micros // _US, zone)


def _offset_us(zone: ZoneInfo, second: int) -> int:
    offset = datetime.fromtimestamp(second, zone).utcoffset()
    assert offset is not None
    return offset // _ONE_US


def _offset_spans(zone: ZoneInfo, lo_s: int, hi_s: int) -> list[tuple[int, int, int]]:
    """``(start µs, end µs, offset µs)``: spans of constant UTC offset covering ``[lo_s, hi_s)``.

    Offset changes happen on whole seconds; each is located by bisection between two probes.
    """
    spans: list[tuple[int, int, int]] = []
    span_start, offset = lo_s, _offset_us(zone, lo_s)
    probe = lo_s
    while probe < hi_s:
        ahead = probe + _OFFSET_PROBE_S
        if _offset_us(zone, ahead) == offset:
            probe = ahead
            continue
        low, high = probe, ahead  # the offset is ``offset`` at low, different at high
        while high - low > 1:
            middle = (low + high) // 2
            if _offset_us(zone, middle) == offset:
                low = middle
            else:
                high = middle
        spans.append((span_start * _US, high * _US, offset))
        span_start, offset, probe = high, _offset_us(zone, high), high
    spans.append((span_start * _US, max(probe, hi_s) * _US, offset))
    return spans


def elapsed_calendar(start: datetime, end: datetime) -> timedelta:
    """Plain elapsed (24/7) time, for targets counted in calendar time."""
    return end - start


@dataclass
class _Compiled:
    first_year: int
    last_year: int  # inclusive
    # Instants (µs) whose UTC year is strictly inside the compiled years: answered as compiled.
    safe_lo: int = 0
    safe_hi: int = 0
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

    def _hours_for(self, day: date, off: set[date], extra: set[date]) -> list[tuple[int, int]]:
        if day in extra:
            return self._weekly[day.weekday()] or self._workday_hours
        if day in off:
            return []
        return self._weekly[day.weekday()]

    def _compile(self, first_year: int, last_year: int) -> _Compiled:
        """Business intervals of the local dates from Jan 1 ``first_year`` to Dec 31 ``last_year``.

        The UTC timeline is cut into spans of constant offset. Within a span the wall clock is
        UTC shifted by the offset, so each day's wall-clock intervals, clipped to the wall-clock
        range the span shows, map back to UTC exactly: a span that skips wall-clock minutes
        (spring forward) opens none of them, and two spans that show the same wall-clock minutes
        (fall back) both open them.
        """
        off, extra = self._holidays_for(range(first_year, last_year + 1))
        first_day = date(first_year, 1, 1).toordinal() - _EPOCH_ORDINAL
        stop_day = date(last_year + 1, 1, 1).toordinal() - _EPOCH_ORDINAL
        wall_lo, wall_hi = first_day * _DAY_US, stop_day * _DAY_US
        # No zone is more than a day away from UTC, so two days either side cover every span.
        lo_s = max((wall_lo - 2 * _DAY_US) // _US, _MIN_SECOND)
        hi_s = min((wall_hi + 2 * _DAY_US) // _US, _MAX_SECOND)
        starts: list[int] = []
        ends: list[int] = []
        closes: dict[int, int] = {}  # day number → its last closing (UTC µs)
        for span_start, span_end, offset in _offset_spans(self.zone, lo_s, hi_s):
            lo = max(span_start + offset, wall_lo)  # the wall-clock range this span shows
            hi = min(span_end + offset, wall_hi)
            day_number = lo // _DAY_US
            while day_number * _DAY_US < hi:
                midnight = day_number * _DAY_US
                day = date.fromordinal(_EPOCH_ORDINAL + day_number)
                for open_min, close_min in self._hours_for(day, off, extra):
                    start = max(midnight + open_min * _MINUTE_US, lo) - offset
                    end = min(midnight + close_min * _MINUTE_US, hi) - offset
                    if end <= start:  # outside this span's wall-clock range
                        continue
                    if ends and ends[-1] >= start:  # touches the previous one: merge
                        ends[-1] = max(ends[-1], end)
                    else:
                        starts.append(start)
                        ends.append(end)
                    closes[day_number] = max(closes.get(day_number, end), end)
                day_number += 1
        compiled = _Compiled(first_year, last_year)
        compiled.safe_lo = to_us(datetime(first_year + 1, 1, 1, tzinfo=UTC))
        compiled.safe_hi = to_us(datetime(last_year, 1, 1, tzinfo=UTC))
        compiled.day_closes = sorted(closes.values())
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
        if compiled is not None and compiled.safe_lo <= micros < compiled.safe_hi:
            return compiled
        year = (_EPOCH + timedelta(microseconds=micros)).year
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
        """Compile further into the future (the span at least doubles, so growth is amortised)."""
        compiled = self._compiled
        assert compiled is not None
        span = compiled.last_year - compiled.first_year
        if span > _MAX_YEARS or compiled.last_year >= 9998:
            raise CalendarError(
                f"calendar {self.name!r}: no business time within {_MAX_YEARS} years"
            )
        last = compiled.last_year + max(_YEARS_STEP * 2, span)
        self._compiled = self._compile(compiled.first_year, min(last, 9998))
        return self._compiled

    # ----------------------------------------------------------------- queries in µs

    def add_us(self, micros: int, business_us: int) -> int:
        """The instant (µs) when ``business_us`` of business time has passed since ``micros``."""
        if business_us <= 0:
            if business_us < 0:
                raise CalendarError("cannot add a negative business duration")
            return self.next_opening_us(micros)
        c = self._compiled
        if c is None or not c.safe_lo <= micros < c.safe_hi:
            c = self._ensure(micros)
        # Business µs between the compiled origin and ``micros``, plus the duration.
        i = bisect_right(c.starts, micros) - 1
        goal = business_us
        if i >= 0:
            end = c.ends[i]
            goal += c.cum_before[i] + (micros if micros < end else end) - c.starts[i]
        while True:
            cum_after = c.cum_after
            j = bisect_left(cum_after, goal)
            if j < len(cum_after):
                return c.starts[j] + goal - c.cum_before[j]
            c = self._grow_forward()

    def _cum_at(self, c: _Compiled, micros: int) -> int:
        """Business µs between the compiled origin and ``micros``."""
        i = bisect_right(c.starts, micros) - 1
        if i < 0:
            return 0
        return c.cum_before[i] + min(micros, c.ends[i]) - c.starts[i]

    def elapsed_us(self, start: int, end: int) -> int:
        """Business µs in ``[start, end)``; negative when ``end`` is before ``start``."""
        c = self._compiled
        if c is None or not (c.safe_lo <= start < c.safe_hi and c.safe_lo <= end < c.safe_hi):
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
        """The end of the business interval open at ``micros``, or of the next one.

        Raises :class:`CalendarError` for a calendar that never closes (24/7).
        """
        if self._always_open:
            raise CalendarError(f"calendar {self.name!r} is open 24/7: it never closes")
        c = self._ensure(micros)
        while True:
            i = bisect_right(c.starts, micros) - 1
            if i < 0 or micros >= c.ends[i]:
                i += 1
            # The last compiled interval may run on past the compiled range: look further.
            if i < len(c.starts) - 1:
                return c.ends[i]
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

    # ----------------------------------------------------------------- datetime API

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """``start`` plus ``duration`` of business time, in the calendar's zone.

        Outside business hours counting starts at the next opening; the result may be exactly a
        closing time (Fri 17:00 + 1 h over 09-18 is Fri 18:00).
        """
        # to_us and from_us inlined: this is the hot path of every due-date computation.
        try:
            micros = (start - _EPOCH) // _ONE_US
        except TypeError:
            raise _naive(start) from None
        due = self.add_us(micros, duration // _ONE_US)
        if due % _US:
            return (_EPOCH + timedelta(microseconds=due)).astimezone(self.zone)
        return _fromtimestamp(due // _US, self.zone)

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
