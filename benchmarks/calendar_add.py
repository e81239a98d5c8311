"""Adding business time: regdesk's compiled calendar against businesstimedelta.

20,000 additions of 15 business hours to random instants of 2025-2026 on the Mon-Fri 09:00-18:00
Europe/Moscow calendar with the Russian production calendar, through regdesk and through
businesstimedelta (WorkDayRule + HolidayRule fed the same `holidays` RU table), in one run.
Prints how many results were compared and agree, both throughputs and their ratio; exits with
status 1 if any compared result differs. Not a test: `make bench` runs it.

    .venv/bin/python benchmarks/calendar_add.py [--additions N] [--seed S]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytz
from businesstimedelta import BusinessTimeDelta, HolidayRule, Rules, WorkDayRule

from regdesk.core.calendar import BusinessCalendar
from regdesk.core.regulation import CalendarSpec

TARGET_PER_SECOND = 200_000
DURATION = timedelta(hours=15)
ZONE_NAME = "Europe/Moscow"
YEARS = (2025, 2026)
REPEATS = 7  # regdesk runs are short: the best of several is the steady-state figure


def regdesk_calendar(*, weekend_workdays: bool) -> BusinessCalendar:
    spec = CalendarSpec.model_validate(
        {
            "zone": ZONE_NAME,
            "week": {"mon-fri": ["09:00-18:00"]},
            "holidays": {"country": "RU", "weekend_workdays": weekend_workdays},
        }
    )
    return BusinessCalendar.from_spec(spec, name="office-msk")


def businesstimedelta_rule() -> Rules:
    zone = pytz.timezone(ZONE_NAME)
    workday = WorkDayRule(
        start_time=datetime.min.time().replace(hour=9),
        end_time=datetime.min.time().replace(hour=18),
        working_days=[0, 1, 2, 3, 4],
        tz=zone,
    )
    # The same table regdesk reads; two years of margin so a window that runs into 2027 is
    # covered (the holidays object would also expand itself on demand).
    table = holidays.country_holidays("RU", years=[*YEARS, YEARS[-1] + 1])
    return Rules([workday, HolidayRule(table, tz=zone)])


def random_instants(count: int, seed: int) -> list[int]:
    """Seconds since the epoch, uniform over the benchmark years."""
    rng = random.Random(seed)
    zone = ZoneInfo(ZONE_NAME)
    lo = int(datetime(YEARS[0], 1, 1, tzinfo=zone).timestamp())
    hi = int(datetime(YEARS[-1] + 1, 1, 1, tzinfo=zone).timestamp())
    return [rng.randrange(lo, hi) for _ in range(count)]


def time_regdesk(
    calendar: BusinessCalendar, starts: list[datetime]
) -> tuple[list[datetime], list[float]]:
    """Results and the wall times of :data:`REPEATS` runs (after a warm-up that compiles)."""
    add = calendar.add
    results = [add(start, DURATION) for start in starts]
    runs = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        for start in starts:
            add(start, DURATION)
        runs.append(time.perf_counter() - began)
    return results, runs


def time_businesstimedelta(rule: Rules, starts: list[datetime]) -> tuple[list[datetime], float]:
    delta = BusinessTimeDelta(rule, timedelta=DURATION)
    began = time.perf_counter()
    results = [start + delta for start in starts]
    return results, time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--additions", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20250101)
    args = parser.parse_args()

    zone, pytz_zone = ZoneInfo(ZONE_NAME), pytz.timezone(ZONE_NAME)
    seconds = random_instants(args.additions, args.seed)
    # Each library gets the same instants in its own kind of aware datetime.
    regdesk_starts = [datetime.fromtimestamp(s, zone) for s in seconds]
    peer_starts = [datetime.fromtimestamp(s, pytz_zone) for s in seconds]

    peer_rule = businesstimedelta_rule()  # also imports the RU holiday module, once
    began = time.perf_counter()
    production = regdesk_calendar(weekend_workdays=True)
    production.is_open(regdesk_starts[0])
    compile_ms = (time.perf_counter() - began) * 1e3
    due, regdesk_runs = time_regdesk(production, regdesk_starts)
    peer_due, peer_seconds = time_businesstimedelta(peer_rule, peer_starts)

    # businesstimedelta knows public holidays but not the production calendar's transferred
    # working Saturdays (`weekend_workdays`, e.g. 2025-11-01). Two comparisons where the
    # semantics match:
    # 1. every instant, against regdesk on the same calendar WITHOUT weekend workdays: both
    #    then compute on exactly the same holiday set, so every result must agree;
    # 2. the production calendar (with weekend workdays) on the instants whose window
    #    [start, due] touches no weekend workday, where the working Saturday cannot matter.
    same_holidays, _ = time_regdesk(regdesk_calendar(weekend_workdays=False), regdesk_starts)
    table = holidays.country_holidays("RU", years=[*YEARS, YEARS[-1] + 1])
    workdays: set[date] = set(getattr(table, "weekend_workdays", ()))
    disagreements: list[tuple[datetime, datetime, datetime]] = []
    agree_all = 0
    for start, ours, theirs in zip(regdesk_starts, same_holidays, peer_due, strict=True):
        if ours == theirs:
            agree_all += 1
        else:
            disagreements.append((start, ours, theirs))
    compared_prod = agree_prod = 0
    for start, ours, theirs in zip(regdesk_starts, due, peer_due, strict=True):
        first, last = start.date(), max(ours, theirs).astimezone(zone).date()
        if any(first <= day <= last for day in workdays):
            continue
        compared_prod += 1
        if ours == theirs:
            agree_prod += 1
        else:
            disagreements.append((start, ours, theirs))
    # How often the working Saturday changes the answer (expected: regdesk is earlier).
    differ_by_workday = sum(1 for a, b in zip(due, same_holidays, strict=True) if a != b)

    n = args.additions
    ours_rate, theirs_rate = n / min(regdesk_runs), n / peer_seconds
    ours_median = n / statistics.median(regdesk_runs)
    verdict = "met" if ours_rate >= TARGET_PER_SECOND else "NOT MET"
    print(f"calendar: Mon-Fri 09:00-18:00 {ZONE_NAME}, holidays RU (production calendar)")
    print(f"additions: {n:,} x {DURATION} business time, instants {YEARS[0]}-{YEARS[-1]}")
    print(f"compared (same holiday set, all instants): {n:,}, agreeing: {agree_all:,}")
    print(
        f"compared (production calendar, windows without a working Saturday): "
        f"{compared_prod:,}, agreeing: {agree_prod:,}"
    )
    print(f"results moved by the transferred working Saturdays: {differ_by_workday:,}")
    print(f"regdesk compile (build + first query, 6 years): {compile_ms:.1f} ms")
    print(
        f"regdesk:           {ours_rate:>12,.0f} additions/s "
        f"(best of {REPEATS} runs, median {ours_median:,.0f}/s; "
        f"target >= {TARGET_PER_SECOND:,}/s: {verdict})"
    )
    print(f"businesstimedelta: {theirs_rate:>12,.0f} additions/s (one run)")
    print(f"ratio regdesk / businesstimedelta: {ours_rate / theirs_rate:,.1f}x")
    for start, ours, theirs in disagreements[:10]:
        print(
            f"DISAGREE start {start.isoformat()}: regdesk {ours.isoformat()}, "
            f"businesstimedelta {theirs.isoformat()}"
        )
    if disagreements:
        print(f"{len(disagreements)} disagreements", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
