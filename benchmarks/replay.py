"""Replaying a ticket's history through the clock engine: time per evaluation.

A 50-event history (creation, customer messages, agent replies, internal notes, waiting for the
customer and back, a priority change, a team change, resolved, reopened, resolved again) is
evaluated with ``regdesk.core.clocks.evaluate_clocks`` many times; prints the mean and p95 time
per replay against the target of 1 ms. Two regulations: the ``service-desk`` preset (when it is
shipped) and a small inline one whose team has its own calendar, so that the team change
switches calendars mid-cycle. Not a test: `make bench` runs it.

    .venv/bin/python benchmarks/replay.py [--replays N] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from datetime import datetime, timedelta
from itertools import cycle
from zoneinfo import ZoneInfo

from regdesk.core.clocks import (
    EventKind,
    RegulationClocks,
    TicketEvent,
    TicketFacts,
    clocks_for,
    evaluate_clocks,
)
from regdesk.core.loader import load_regulation, load_regulation_text, preset_path
from regdesk.core.regulation import Regulation

TARGET_MS = 1.0
EVENTS = 50

INLINE = """
name: bench-desk
title: Benchmark desk
version: "1"
effective_from: 2026-01-01T00:00:00+03:00
languages: [en]
calendars:
  office:
    zone: Europe/Moscow
    week: {mon-fri: ["09:00-18:00"]}
    holidays: {country: RU, weekend_workdays: true}
  specialists:
    zone: Europe/Rome
    week: {mon-fri: ["09:00-13:00", "14:00-18:00"]}
    holidays: {country: IT}
default_calendar: office
channels:
  - {id: email, kind: email}
request_types:
  - {id: incident, title: Incident}
lines:
  - {id: l1, title: First line}
default_line: l1
teams:
  - {id: l2, title: Second line}
  - {id: admins, title: Server administration, calendar: specialists}
tiers:
  - {id: other, title: Other}
default_tier: other
priorities:
  - {id: critical, title: Critical}
  - {id: normal, title: Normal}
default_priority: normal
clocks:
  first_response:
    targets:
      - {when: {priority: critical}, target: 1h}
      - {target: 4h}
  next_response:
    counts_from: last_customer_message
    targets:
      - {target: 2h}
  resolution:
    pause_in: [waiting_for_customer]
    targets:
      - {when: {priority: critical}, target: 8h}
      - {target: 24h}
"""


def regulations() -> list[tuple[str, Regulation]]:
    found: list[tuple[str, Regulation]] = []
    if preset_path("service-desk").exists():
        found.append(("service-desk preset", load_regulation("service-desk")))
    found.append(("inline bench-desk", load_regulation_text(INLINE, file="bench-desk.yaml")))
    return found


def history(regulation: Regulation) -> list[TicketEvent]:
    """50 events over about two weeks, at business and non-business hours."""
    priorities = [p.id for p in regulation.priorities]
    raised = priorities[0]  # the most urgent: a priority change that shortens the targets
    teams = [t.id for t in regulation.teams]
    # A team change when the regulation has teams; otherwise the closest fact change it has.
    if teams:
        route_kind, route_to = EventKind.TEAM, teams[-1]
    elif len(regulation.request_types) > 1:
        route_kind, route_to = EventKind.TYPE, regulation.request_types[-1].id
    else:
        route_kind, route_to = EventKind.PRIORITY, priorities[-1]

    kinds: list[tuple[EventKind, str | None]] = [
        (EventKind.INTERNAL_NOTE, None),
        (EventKind.AGENT_REPLY, None),
        (EventKind.CUSTOMER_MESSAGE, None),
        (EventKind.STATUS, "accepted"),
        (EventKind.INTERNAL_NOTE, None),
        (EventKind.AGENT_REPLY, None),
        (EventKind.STATUS, "waiting_for_customer"),
        (EventKind.CUSTOMER_MESSAGE, None),  # back from waiting
        (EventKind.PRIORITY, raised),
        (EventKind.CUSTOMER_MESSAGE, None),
        (EventKind.INTERNAL_NOTE, None),
        (EventKind.AGENT_REPLY, None),
        (EventKind.STATUS, "waiting_for_customer"),
        (EventKind.STATUS, "accepted"),
        (EventKind.CUSTOMER_MESSAGE, None),
        (route_kind, route_to),
        (EventKind.INTERNAL_NOTE, None),
        (EventKind.AGENT_REPLY, None),
    ]
    while len(kinds) < 30:
        kinds += [
            (EventKind.CUSTOMER_MESSAGE, None),
            (EventKind.INTERNAL_NOTE, None),
            (EventKind.AGENT_REPLY, None),
            (EventKind.STATUS, "waiting_for_customer"),
            (EventKind.CUSTOMER_MESSAGE, None),
            (EventKind.AGENT_REPLY, None),
        ][: 30 - len(kinds)]
    kinds += [(EventKind.RESOLVED, None), (EventKind.REOPENED, None)]
    while len(kinds) < EVENTS - 2:
        kinds += [
            (EventKind.CUSTOMER_MESSAGE, None),
            (EventKind.AGENT_REPLY, None),
            (EventKind.INTERNAL_NOTE, None),
            (EventKind.STATUS, "waiting_for_customer"),
            (EventKind.CUSTOMER_MESSAGE, None),
        ][: EVENTS - 2 - len(kinds)]
    kinds.append((EventKind.RESOLVED, None))

    zone = regulation.calendars[regulation.default_calendar].zone
    at = datetime(2026, 3, 2, 9, 15, tzinfo=ZoneInfo(zone))  # a Monday morning
    steps = cycle([timedelta(minutes=m) for m in (17, 125, 43, 310, 21, 880, 64, 9, 1500, 95)])
    facts = TicketFacts(priority=priorities[-1], channel=regulation.channels[0].id)
    events = [TicketEvent(at=at, kind=EventKind.CREATED, facts=facts)]
    for kind, to in kinds:
        at += next(steps)
        events.append(TicketEvent(at=at, kind=kind, to=to))
    assert len(events) == EVENTS, len(events)
    return events


def measure(compiled: RegulationClocks, events: list[TicketEvent], replays: int) -> list[float]:
    """Milliseconds per replay."""
    for _ in range(50):  # warm-up: calendars compile on first use
        evaluate_clocks(compiled, events)
    times: list[float] = []
    clock = time.perf_counter
    for _ in range(replays):
        began = clock()
        evaluate_clocks(compiled, events)
        times.append((clock() - began) * 1e3)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replays", type=int, default=2000)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the replays")
    args = parser.parse_args()
    over = False
    for label, regulation in regulations():
        compiled = clocks_for(regulation)  # once per regulation, as the desk does
        events = history(regulation)
        times = sorted(measure(compiled, events, args.replays))
        mean = statistics.fmean(times)
        p95 = times[int(0.95 * (len(times) - 1))]
        verdict = "met" if mean < TARGET_MS and p95 < TARGET_MS else "NOT MET"
        over = over or verdict != "met"
        print(
            f"{label}: {len(events)} events, {args.replays:,} replays: "
            f"mean {mean:.3f} ms, p95 {p95:.3f} ms, min {times[0]:.3f} ms "
            f"(target < {TARGET_MS:g} ms: {verdict})"
        )
        results = evaluate_clocks(compiled, events)
        print(
            "  final: "
            + ", ".join(
                f"{clock.value} {result.state.value} ({len(result.cycles)} cycles)"
                for clock, result in results.items()
            )
        )
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.replays):
                evaluate_clocks(compiled, events)
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(15)
    if over:
        print("over target: run with --profile to see where the time goes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
