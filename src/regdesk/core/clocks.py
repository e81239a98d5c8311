"""The clock engine: a regulation + a ticket's facts and event history → every clock's state.

Decisions (documented in ``docs/clocks.md``):

* **Targets** come from the clock's target matrix, first matching rule, using the ticket's
  *current* facts. A priority (or tier/type) change therefore applies the new target measured
  from the clock's original start.
* **Calendars** are chosen per span of time: while a ticket sits with a team that has its own
  calendar, its clocks count on that calendar; before, on the line's (then the tier's, then the
  desk's default). A rule may override the calendar, or count in plain elapsed time.
* **first_response** runs from creation to the first public reply by support. An internal note
  never meets a response clock.
* **next_response** runs from a customer message awaiting an answer (after the first public
  reply; from creation when the regulation has no first_response clock) to the next public
  reply. With ``counts_from: last_customer_message`` every new customer message restarts it.
* **resolution** runs from creation to resolution; statuses listed in ``pause_in`` (by default
  ``waiting_for_customer``) do not count. A reopened ticket starts a new cycle of resolution and
  next_response counted from the reopening message, never from creation.
* **Due** is the first instant at which the consumed business time reaches the target (which may
  be exactly a closing time). A clock is **breached** when it is met, stopped or evaluated after
  its due instant; the breach size is the business time consumed beyond the target, frozen when
  the clock is met.
* ``end_of_business_day`` targets become the business time between the start and the closing of
  the first business day open at or after it, so pauses shift them like any other target.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo

from regdesk.core.calendar import BusinessCalendar, from_us, to_us
from regdesk.core.regulation import (
    CLOSED_STATUSES,
    ClockName,
    ClockSpec,
    Regulation,
    Status,
    TargetKind,
    TargetRule,
    local_text,
)

__all__ = [
    "ClockCycle",
    "ClockResult",
    "ClockState",
    "EventKind",
    "RegulationClocks",
    "ResolvedTarget",
    "TicketEvent",
    "TicketFacts",
    "UnknownFactError",
    "clocks_for",
    "evaluate_clocks",
]

_US = 1_000_000
DEFAULT_PAUSES: dict[ClockName, tuple[Status, ...]] = {
    ClockName.RESOLUTION: (Status.WAITING_FOR_CUSTOMER,),
}


class UnknownFactError(ValueError):
    """A ticket fact (priority, tier, …) that the regulation does not define."""


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What the target matrix matches on."""

    priority: str | None = None
    tier: str | None = None
    line: str | None = None
    team: str | None = None
    type: str | None = None
    channel: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "priority": self.priority,
            "tier": self.tier,
            "line": self.line,
            "team": self.team,
            "type": self.type,
            "channel": self.channel,
        }


class EventKind(StrEnum):
    CREATED = "created"
    CUSTOMER_MESSAGE = "customer_message"
    AGENT_REPLY = "agent_reply"  # a public reply by support
    INTERNAL_NOTE = "internal_note"
    STATUS = "status"
    PRIORITY = "priority"
    TIER = "tier"
    LINE = "line"
    TEAM = "team"
    TYPE = "type"
    AGREED_TARGET = "agreed_target"
    RESOLVED = "resolved"
    REOPENED = "reopened"


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """One entry of a ticket's history, as the clock engine sees it."""

    at: datetime
    kind: EventKind
    to: str | None = None  # status, priority, tier, line, team or type
    clock: ClockName | None = None  # agreed_target
    duration: timedelta | None = None  # agreed_target
    facts: TicketFacts | None = None  # created

    @classmethod
    def from_json(cls, data: dict[str, Any], *, parse_time: Any) -> TicketEvent:
        """Build from the `regdesk sla replay` JSON-lines shape."""
        kind = EventKind(data["event"])
        at = parse_time(data["at"])
        if kind is EventKind.CREATED:
            facts = TicketFacts(
                **{k: data.get(k) for k in ("priority", "tier", "line", "team", "type", "channel")}
            )
            return cls(at=at, kind=kind, facts=facts)
        if kind is EventKind.AGREED_TARGET:
            hours = data.get("hours")
            if hours is None:
                raise ValueError("agreed_target needs 'hours'")
            return cls(
                at=at,
                kind=kind,
                clock=ClockName(data["clock"]),
                duration=timedelta(hours=float(hours)),
            )
        return cls(at=at, kind=kind, to=data.get("to"))


# --------------------------------------------------------------------------- outputs


class ClockState(StrEnum):
    NOT_STARTED = "not_started"  # nothing to answer yet (next_response)
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    STOPPED = "stopped"  # the ticket closed without meeting the clock (refused, merged…)
    NOT_DEFINED = "not_defined"  # the regulation has no such clock


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """The target that applies to a clock, and why."""

    kind: TargetKind
    duration: timedelta | None  # business (or elapsed) time to meet it
    time: Literal["business", "calendar"]
    rule_index: int | None
    rule: str  # 'tier other, line l1' or 'default'
    text: str  # '12 h', 'end of the business day', 'agreed per ticket (3 h)'

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "seconds": int(self.duration.total_seconds()) if self.duration is not None else None,
            "time": self.time,
            "rule": self.rule,
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class ClockCycle:
    started_at: datetime
    started_by: str
    due: datetime | None
    met_at: datetime | None
    stopped_at: datetime | None
    breached: bool
    breached_by: timedelta | None
    business_time: timedelta
    paused_spans: tuple[tuple[datetime, datetime | None], ...]
    superseded: bool = False


@dataclass(frozen=True, slots=True)
class ClockResult:
    clock: ClockName
    state: ClockState
    target: ResolvedTarget | None
    calendar: str
    due: datetime | None
    met_at: datetime | None
    breached: bool
    breached_by: timedelta | None
    business_time: timedelta
    paused_spans: tuple[tuple[datetime, datetime | None], ...]
    explanation: str
    cycles: tuple[ClockCycle, ...] = ()
    # Running clocks only: the instant each requested percentage of the target is reached.
    thresholds: dict[int, datetime | None] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "state": self.state.value,
            "due": iso(self.due),
            "met_at": iso(self.met_at),
            "breached": self.breached,
            "breached_by_seconds": (
                int(self.breached_by.total_seconds()) if self.breached_by is not None else None
            ),
            "business_seconds": int(self.business_time.total_seconds()),
            "target": self.target.as_json() if self.target else None,
            "calendar": self.calendar,
            "paused_spans": [[iso(a), iso(b)] for a, b in self.paused_spans],
            "cycles": len(self.cycles),
            "breached_cycles": sum(1 for c in self.cycles if c.breached),
            "explanation": self.explanation,
        }


# --------------------------------------------------------------------------- compiled regulation


class RegulationClocks:
    """A regulation with its calendars compiled; reuse one per regulation version."""

    def __init__(self, regulation: Regulation) -> None:
        self.regulation = regulation
        self.calendars = {
            name: BusinessCalendar.from_spec(spec, name=name)
            for name, spec in regulation.calendars.items()
        }
        default = self.calendars[regulation.default_calendar]
        self.elapsed_calendar = BusinessCalendar.always(default.zone, name="24/7 (elapsed time)")
        # Rules live as long as the regulation (held here), so their ids are stable keys.
        self._calendar_cache: dict[tuple[int, TicketFacts], BusinessCalendar] = {}
        self._valid = {
            "priority": {p.id for p in regulation.priorities},
            "tier": {u.id for u in regulation.tiers},
            "line": {u.id for u in regulation.lines},
            "team": {u.id for u in regulation.teams},
            "type": {t.id for t in regulation.request_types},
            "channel": {c.id for c in regulation.channels},
        }

    # ----------------------------------------------------------------- facts

    def check_fact(self, key: str, value: str | None) -> None:
        if value is None:
            return
        known = self._valid[key]
        if value not in known:
            listing = ", ".join(sorted(known)) or "none"
            raise UnknownFactError(
                f"unknown {key} {value!r} for regulation {self.regulation.name!r} "
                f"(known: {listing})"
            )

    def complete_facts(self, facts: TicketFacts) -> TicketFacts:
        """Fill defaults the regulation gives (priority, tier, line, the type's line/team)."""
        for key, value in facts.as_dict().items():
            self.check_fact(key, value)
        reg = self.regulation
        priority = facts.priority
        line, team = facts.line, facts.team
        if facts.type is not None:
            rtype = reg.request_type(facts.type)
            priority = priority or rtype.default_priority
            line = line or rtype.line
            team = team or rtype.team
        if facts.channel is not None and priority is None:
            priority = reg.channel(facts.channel).sets_priority
        return replace(
            facts,
            priority=priority or reg.default_priority,
            tier=facts.tier or reg.default_tier,
            line=line or reg.default_line,
            team=team,
        )

    def unit_calendar(self, facts: TicketFacts) -> BusinessCalendar:
        """The calendar of the team, else line, else tier, else the desk default."""
        reg = self.regulation
        for group, value in (("teams", facts.team), ("lines", facts.line), ("tiers", facts.tier)):
            if value is not None:
                unit = reg.unit(group, value)  # type: ignore[arg-type]
                if unit.calendar is not None:
                    return self.calendars[unit.calendar]
        return self.calendars[reg.default_calendar]

    # ----------------------------------------------------------------- targets

    def spec(self, clock: ClockName) -> ClockSpec | None:
        return self.regulation.clocks.get(clock)

    def rule_for(self, clock: ClockName, facts: TicketFacts) -> tuple[int, TargetRule] | None:
        spec = self.spec(clock)
        if spec is None:
            return None
        values = facts.as_dict()
        for index, rule in enumerate(spec.targets):
            if rule.when.matches(values):
                return index, rule
        return None

    def calendar_for(self, rule: TargetRule | None, facts: TicketFacts) -> BusinessCalendar:
        key = (id(rule), facts)
        found = self._calendar_cache.get(key)
        if found is None:
            if rule is not None and rule.time == "calendar":
                found = self.elapsed_calendar
            elif rule is not None and rule.calendar is not None:
                found = self.calendars[rule.calendar]
            else:
                found = self.unit_calendar(facts)
            if len(self._calendar_cache) > 4096:
                self._calendar_cache.clear()
            self._calendar_cache[key] = found
        return found

    def resolve_target(
        self,
        clock: ClockName,
        facts: TicketFacts,
        *,
        start: datetime | None = None,
        agreed: timedelta | None = None,
    ) -> ResolvedTarget:
        """The target of ``clock`` for ``facts``; end-of-day targets need ``start``."""
        found = self.rule_for(clock, facts)
        if found is None:
            return ResolvedTarget(TargetKind.NONE, None, "business", None, "no rule", "none")
        index, rule = found
        label = local_text(rule.label, "en") or rule.when.describe() or "every ticket"
        kind = rule.kind
        if kind is TargetKind.DURATION:
            duration = rule.duration
            assert duration is not None
            return ResolvedTarget(kind, duration, rule.time, index, label, _fmt_span(duration))
        if kind is TargetKind.AGREED:
            text = f"agreed per ticket ({_fmt_span(agreed)})" if agreed else "agreed per ticket"
            return ResolvedTarget(kind, agreed, "business", index, label, text)
        if kind is TargetKind.END_OF_BUSINESS_DAY:
            duration = None
            if start is not None:
                cal = self.calendar_for(rule, facts)
                close = cal.end_of_business_day_us(to_us(start))
                duration = timedelta(microseconds=cal.elapsed_us(to_us(start), close))
            return ResolvedTarget(
                kind, duration, "business", index, label, "by the end of the business day"
            )
        return ResolvedTarget(kind, None, "business", index, label, "measured only, no target")

    def due(
        self, clock: ClockName, facts: TicketFacts, start: datetime
    ) -> tuple[datetime | None, ResolvedTarget, BusinessCalendar]:
        """Due instant of a fresh, never-paused ``clock`` started at ``start``."""
        facts = self.complete_facts(facts)
        found = self.rule_for(clock, facts)
        cal = self.calendar_for(found[1] if found else None, facts)
        target = self.resolve_target(clock, facts, start=start)
        if target.duration is None:
            return None, target, cal
        due_us = cal.add_us(to_us(start), target.duration // timedelta(microseconds=1))
        return from_us(due_us, cal.zone), target, cal


_COMPILED: dict[int, tuple[Regulation, RegulationClocks]] = {}


def clocks_for(regulation: Regulation) -> RegulationClocks:
    """The compiled clocks of a regulation, cached per regulation object."""
    hit = _COMPILED.get(id(regulation))
    if hit is not None and hit[0] is regulation:
        return hit[1]
    if len(_COMPILED) > 256:
        _COMPILED.clear()
    compiled = RegulationClocks(regulation)
    _COMPILED[id(regulation)] = (regulation, compiled)
    return compiled


# --------------------------------------------------------------------------- evaluation


@dataclass(slots=True)
class _Segment:
    start: int
    end: int | None  # None: running now
    facts: TicketFacts


@dataclass(slots=True)
class _Cycle:
    start: int
    started_by: str
    segments: list[_Segment] = field(default_factory=list)
    pauses: list[list[int | None]] = field(default_factory=list)
    met_at: int | None = None
    stopped_at: int | None = None
    ended_at: int | None = None
    superseded: bool = False

    @property
    def open(self) -> bool:
        return self.ended_at is None

    def finish(self, at: int) -> None:
        self.ended_at = at
        if self.segments and self.segments[-1].end is None:
            self.segments[-1].end = at
        if self.pauses and self.pauses[-1][1] is None:
            self.pauses[-1][1] = at


class _ClockTrack:
    def __init__(self, clock: ClockName, spec: ClockSpec | None) -> None:
        self.clock = clock
        self.spec = spec
        self.pause_in: frozenset[str] = frozenset(
            spec.pause_in if spec is not None and spec.pause_in else DEFAULT_PAUSES.get(clock, ())
        )
        self.cycles: list[_Cycle] = []

    @property
    def current(self) -> _Cycle | None:
        return self.cycles[-1] if self.cycles and self.cycles[-1].open else None

    def start(self, at: int, by: str, facts: TicketFacts, status: str) -> None:
        cycle = _Cycle(start=at, started_by=by)
        if status in self.pause_in:
            cycle.pauses.append([at, None])
        else:
            cycle.segments.append(_Segment(at, None, facts))
        self.cycles.append(cycle)

    def set_status(self, at: int, old: str, new: str, facts: TicketFacts) -> None:
        cycle = self.current
        if cycle is None:
            return
        was_paused, paused = old in self.pause_in, new in self.pause_in
        if paused and not was_paused:
            if cycle.segments and cycle.segments[-1].end is None:
                cycle.segments[-1].end = at
            cycle.pauses.append([at, None])
        elif was_paused and not paused:
            if cycle.pauses and cycle.pauses[-1][1] is None:
                cycle.pauses[-1][1] = at
            cycle.segments.append(_Segment(at, None, facts))

    def set_facts(self, at: int, facts: TicketFacts) -> None:
        cycle = self.current
        if cycle is None or not cycle.segments or cycle.segments[-1].end is not None:
            return
        last = cycle.segments[-1]
        if last.start == at:
            last.facts = facts
            return
        last.end = at
        cycle.segments.append(_Segment(at, None, facts))


@dataclass(slots=True)
class _TicketState:
    status: str = Status.NEW.value
    facts: TicketFacts = field(default_factory=TicketFacts)
    replied: bool = False
    agreed: dict[ClockName, timedelta] = field(default_factory=dict)


def evaluate_clocks(
    regulation: Regulation | RegulationClocks,
    events: list[TicketEvent],
    *,
    now: datetime | None = None,
    percents: tuple[int, ...] = (),
) -> dict[ClockName, ClockResult]:
    """Every clock of a ticket, evaluated at ``now`` (default: the last event's instant).

    ``events`` must be in time order and start with a ``created`` event. ``percents`` asks,
    for running clocks, when each share of the target is (or was) reached (escalation steps).
    """
    compiled = regulation if isinstance(regulation, RegulationClocks) else clocks_for(regulation)
    if not events or events[0].kind is not EventKind.CREATED:
        raise ValueError("a ticket history starts with a 'created' event")
    tracks = {clock: _ClockTrack(clock, compiled.spec(clock)) for clock in ClockName}
    first, nxt, res = (
        tracks[ClockName.FIRST_RESPONSE],
        tracks[ClockName.NEXT_RESPONSE],
        tracks[ClockName.RESOLUTION],
    )
    state = _TicketState()
    previous = None
    for event in events:
        at = to_us(event.at)
        if previous is not None and at < previous:
            raise ValueError(f"events out of order at {event.at.isoformat()}")
        previous = at
        _apply(compiled, state, tracks, first, nxt, res, event, at)
    now_us = to_us(now) if now is not None else previous
    assert now_us is not None
    return {
        clock: _result(compiled, track, state, now_us, percents) for clock, track in tracks.items()
    }


def _apply(
    compiled: RegulationClocks,
    state: _TicketState,
    tracks: dict[ClockName, _ClockTrack],
    first: _ClockTrack,
    nxt: _ClockTrack,
    res: _ClockTrack,
    event: TicketEvent,
    at: int,
) -> None:
    kind = event.kind
    if kind is EventKind.CREATED:
        if first.cycles or res.cycles:
            raise ValueError("a ticket history has one 'created' event")
        state.facts = compiled.complete_facts(event.facts or TicketFacts())
        first.start(at, "creation", state.facts, state.status)
        res.start(at, "creation", state.facts, state.status)
        if compiled.spec(ClockName.FIRST_RESPONSE) is None:
            nxt.start(at, "the customer's message", state.facts, state.status)
        return
    if not first.cycles:
        raise ValueError("a ticket history starts with a 'created' event")
    closed = state.status in CLOSED_STATUSES
    if kind is EventKind.CUSTOMER_MESSAGE:
        if state.status == Status.RESOLVED.value:
            _reopen(state, tracks, nxt, res, at, "the customer's reopening message")
        elif closed:
            return
        elif state.status in (Status.WAITING_FOR_CUSTOMER.value, Status.ANSWERED.value):
            _set_status(state, tracks, at, Status.ACCEPTED.value)
        if state.replied or compiled.spec(ClockName.FIRST_RESPONSE) is None:
            current = nxt.current
            if current is None:
                nxt.start(at, "the customer's message", state.facts, state.status)
            elif nxt.spec is not None and nxt.spec.counts_from == "last_customer_message":
                current.finish(at)
                current.superseded = True
                nxt.start(at, "the customer's last message", state.facts, state.status)
    elif kind is EventKind.AGENT_REPLY:
        if closed:
            return
        state.replied = True
        for track in (first, nxt):
            cycle = track.current
            if cycle is not None:
                cycle.finish(at)
                cycle.met_at = at
    elif kind is EventKind.INTERNAL_NOTE:
        return  # never meets a response clock
    elif kind is EventKind.STATUS:
        try:
            target = Status(event.to or "").value
        except ValueError:
            known = ", ".join(s.value for s in Status)
            raise ValueError(f"unknown status {event.to!r} (known: {known})") from None
        if target == Status.RESOLVED.value:
            _resolve(state, tracks, res, at)
        elif target in CLOSED_STATUSES:
            _stop(state, tracks, at, target)
        elif closed:
            _reopen(state, tracks, nxt, res, at, "the reopening")
            _set_status(state, tracks, at, target)
        else:
            _set_status(state, tracks, at, target)
    elif kind is EventKind.RESOLVED:
        _resolve(state, tracks, res, at)
    elif kind is EventKind.REOPENED:
        if closed:
            _reopen(state, tracks, nxt, res, at, "the reopening message")
    elif kind is EventKind.AGREED_TARGET:
        assert event.clock is not None
        assert event.duration is not None
        state.agreed[event.clock] = event.duration
    else:  # a fact changes: priority, tier, line, team, type
        key = kind.value
        compiled.check_fact(key, event.to)
        state.facts = replace(state.facts, **{key: event.to})
        for track in tracks.values():
            track.set_facts(at, state.facts)


def _set_status(
    state: _TicketState, tracks: dict[ClockName, _ClockTrack], at: int, new: str
) -> None:
    if new == state.status:
        return
    for track in tracks.values():
        track.set_status(at, state.status, new, state.facts)
    state.status = new


def _resolve(
    state: _TicketState, tracks: dict[ClockName, _ClockTrack], res: _ClockTrack, at: int
) -> None:
    cycle = res.current
    if cycle is not None:
        cycle.finish(at)
        cycle.met_at = at
    _stop(state, tracks, at, Status.RESOLVED.value)


def _stop(state: _TicketState, tracks: dict[ClockName, _ClockTrack], at: int, status: str) -> None:
    for track in tracks.values():
        cycle = track.current
        if cycle is not None:
            cycle.finish(at)
            cycle.stopped_at = at
    state.status = status


def _reopen(
    state: _TicketState,
    tracks: dict[ClockName, _ClockTrack],
    nxt: _ClockTrack,
    res: _ClockTrack,
    at: int,
    why: str,
) -> None:
    state.status = Status.ACCEPTED.value
    res.start(at, why, state.facts, state.status)
    if nxt.current is None:
        nxt.start(at, why, state.facts, state.status)


# --------------------------------------------------------------------------- results


def _reach(
    compiled: RegulationClocks,
    cycle: _Cycle,
    rule: TargetRule | None,
    goals: list[int],
    horizon: int,
    *,
    project: bool,
) -> tuple[list[int | None], int]:
    """For each goal (µs of consumed time): the first instant the cycle's consumption reaches
    it, projected past ``horizon`` when ``project``; and the consumption up to ``horizon``."""
    consumed = 0
    reached: list[int | None] = [None] * len(goals)
    for segment in cycle.segments:
        cal = compiled.calendar_for(rule, segment.facts)
        seg_end = max(segment.end if segment.end is not None else horizon, segment.start)
        used = cal.elapsed_us(segment.start, seg_end)
        for index, goal in enumerate(goals):
            if reached[index] is None and consumed + used >= goal:
                reached[index] = cal.add_us(segment.start, goal - consumed)
        consumed += used
    if project and cycle.segments:
        last = cycle.segments[-1]
        cal = compiled.calendar_for(rule, last.facts)
        anchor = max(horizon, last.start)
        for index, goal in enumerate(goals):
            if reached[index] is None:
                reached[index] = cal.add_us(anchor, goal - consumed)
    return reached, consumed


def _evaluate_cycle(
    compiled: RegulationClocks,
    cycle: _Cycle,
    target: ResolvedTarget,
    rule: TargetRule | None,
    now: int,
    percents: tuple[int, ...] = (),
) -> tuple[int | None, int, bool, int | None, dict[int, int | None]]:
    """(due µs, consumed µs up to the cycle's end or ``now``, breached, breached_by µs,
    {percent of the target: instant it is reached})."""
    horizon = cycle.ended_at if cycle.ended_at is not None else now
    running = cycle.ended_at is None and bool(cycle.segments) and cycle.segments[-1].end is None
    if target.duration is None:
        _, consumed = _reach(compiled, cycle, rule, [], horizon, project=False)
        return None, consumed, False, None, {}
    goal = target.duration // timedelta(microseconds=1)
    goals = [goal] + [goal * p // 100 for p in percents]
    # Once met, the due instant is still shown: where the target would have been reached.
    reached, consumed = _reach(
        compiled, cycle, rule, goals, horizon, project=running or cycle.met_at is not None
    )
    due = reached[0]
    breached = due is not None and horizon > due
    breached_by = consumed - goal if breached else None
    thresholds = dict(zip(percents, reached[1:], strict=True)) if running else {}
    return due, consumed, breached, breached_by, thresholds


def _result(
    compiled: RegulationClocks,
    track: _ClockTrack,
    state: _TicketState,
    now: int,
    percents: tuple[int, ...] = (),
) -> ClockResult:
    facts = state.facts
    found = compiled.rule_for(track.clock, facts)
    rule = found[1] if found else None
    calendar = compiled.calendar_for(rule, facts)
    zone = calendar.zone
    if track.spec is None:
        return ClockResult(
            clock=track.clock,
            state=ClockState.NOT_DEFINED,
            target=None,
            calendar=calendar.describe(),
            due=None,
            met_at=None,
            breached=False,
            breached_by=None,
            business_time=timedelta(0),
            paused_spans=(),
            explanation=f"The regulation defines no {track.clock.value} clock.",
        )
    cycles: list[ClockCycle] = []
    last_target: ResolvedTarget | None = None
    agreed = state.agreed.get(track.clock)
    last_thresholds: dict[int, int | None] = {}
    shared_target: ResolvedTarget | None = None
    for cycle in track.cycles:
        start_dt = from_us(cycle.start, zone)
        # Only an end-of-business-day target depends on the cycle's start.
        if shared_target is None or shared_target.kind is TargetKind.END_OF_BUSINESS_DAY:
            target = compiled.resolve_target(track.clock, facts, start=start_dt, agreed=agreed)
            shared_target = target
        else:
            target = shared_target
        due, consumed, breached, breached_by, thresholds = _evaluate_cycle(
            compiled, cycle, target, rule, now, percents
        )
        cycles.append(
            ClockCycle(
                started_at=start_dt,
                started_by=cycle.started_by,
                due=from_us(due, zone) if due is not None else None,
                met_at=from_us(cycle.met_at, zone) if cycle.met_at is not None else None,
                stopped_at=from_us(cycle.stopped_at, zone) if cycle.stopped_at else None,
                breached=breached,
                breached_by=timedelta(microseconds=breached_by) if breached_by else None,
                business_time=timedelta(microseconds=consumed),
                paused_spans=tuple(
                    (from_us(a, zone), from_us(b, zone) if b is not None else None)
                    for a, b in ((p[0], p[1]) for p in cycle.pauses)
                    if a is not None
                ),
                superseded=cycle.superseded,
            )
        )
        last_target = target
        last_thresholds = thresholds
    if not cycles:
        target = compiled.resolve_target(track.clock, facts, agreed=state.agreed.get(track.clock))
        return ClockResult(
            clock=track.clock,
            state=ClockState.NOT_STARTED,
            target=target,
            calendar=calendar.describe(),
            due=None,
            met_at=None,
            breached=False,
            breached_by=None,
            business_time=timedelta(0),
            paused_spans=(),
            explanation=(
                f"{_clock_title(track.clock)}: no customer message is awaiting an answer. "
                f"Target {target.text} ({target.rule}) on {calendar.describe()}."
            ),
        )
    latest = cycles[-1]
    raw = track.cycles[-1]
    if raw.met_at is not None:
        clock_state = ClockState.MET
    elif raw.stopped_at is not None:
        clock_state = ClockState.STOPPED
    elif raw.segments and raw.segments[-1].end is None:
        clock_state = ClockState.RUNNING
    else:
        clock_state = ClockState.PAUSED
    assert last_target is not None
    explanation = _explain(track.clock, clock_state, latest, last_target, calendar, zone, cycles)
    routing = _routing_note(compiled, raw, rule, zone)
    if routing:
        explanation = f"{explanation[:-1]}; {routing}."
    return ClockResult(
        clock=track.clock,
        state=clock_state,
        target=last_target,
        calendar=calendar.describe(),
        due=latest.due,
        met_at=latest.met_at,
        breached=latest.breached,
        breached_by=latest.breached_by if latest.breached else None,
        business_time=latest.business_time,
        paused_spans=latest.paused_spans,
        explanation=explanation,
        cycles=tuple(cycles),
        thresholds={
            p: from_us(v, zone) if v is not None else None for p, v in last_thresholds.items()
        },
    )


# --------------------------------------------------------------------------- explanations


def _routing_note(
    compiled: RegulationClocks, cycle: _Cycle, rule: TargetRule | None, zone: ZoneInfo
) -> str:
    """'counted on A, then from Tue 11:00 on B' when routing changed the calendar."""
    spans: list[tuple[BusinessCalendar, int]] = []
    for segment in cycle.segments:
        cal = compiled.calendar_for(rule, segment.facts)
        if not spans or spans[-1][0] is not cal:
            spans.append((cal, segment.start))
    if len(spans) < 2:
        return ""
    parts = [f"counted on {spans[0][0].describe()}"]
    for cal, since in spans[1:]:
        parts.append(f"from {_fmt_at(from_us(since, zone), zone)} on {cal.describe()}")
    return ", then ".join(parts)


def _clock_title(clock: ClockName) -> str:
    return {
        ClockName.FIRST_RESPONSE: "First response",
        ClockName.NEXT_RESPONSE: "Next response",
        ClockName.RESOLUTION: "Resolution",
    }[clock]


def _fmt_span(span: timedelta | None) -> str:
    if span is None:
        return "—"
    seconds = int(abs(span.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours} h")
    if minutes:
        parts.append(f"{minutes} min")
    if secs and not hours:
        parts.append(f"{secs} s")
    return " ".join(parts) or "0 min"


def _fmt_at(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%a %Y-%m-%d %H:%M} {local.tzname()}"


def _explain(
    clock: ClockName,
    state: ClockState,
    cycle: ClockCycle,
    target: ResolvedTarget,
    calendar: BusinessCalendar,
    zone: ZoneInfo,
    cycles: list[ClockCycle],
) -> str:
    title = _clock_title(clock)
    on = "elapsed time (24/7)" if target.time == "calendar" else calendar.describe()
    if target.kind is TargetKind.NONE:
        head = f"{title}: measured only, no target ({target.rule}); counted on {on}"
    elif target.kind is TargetKind.AGREED and target.duration is None:
        head = f"{title}: target to be agreed per ticket ({target.rule}); counted on {on}"
    else:
        head = f"{title}: {target.text} for {target.rule}, on {on}"
    parts = [f"{head}; counted from {cycle.started_by} at {_fmt_at(cycle.started_at, zone)}"]
    paused = [(a, b) for a, b in cycle.paused_spans]
    if paused:
        total = sum(((b - a) for a, b in paused if b is not None), timedelta(0))
        open_pause = any(b is None for _, b in paused)
        text = "paused once" if len(paused) == 1 else f"paused {len(paused)} times"
        if total:
            text += f" for {_fmt_span(total)}"
        if open_pause:
            text += ", paused now"
        parts.append(text)
    if cycle.due is not None and state in (ClockState.RUNNING, ClockState.PAUSED):
        parts.append(f"due {_fmt_at(cycle.due, zone)}")
    elif cycle.due is not None and state is ClockState.MET:
        parts.append(f"was due {_fmt_at(cycle.due, zone)}")
    elif state is ClockState.PAUSED and target.duration is not None:
        remaining = target.duration - cycle.business_time
        parts.append(f"{_fmt_span(remaining)} left when it resumes")
    parts.append(f"{_fmt_span(cycle.business_time)} of business time used")
    if cycle.met_at is not None:
        parts.append(f"met at {_fmt_at(cycle.met_at, zone)}")
    elif cycle.stopped_at is not None:
        parts.append(f"stopped at {_fmt_at(cycle.stopped_at, zone)} (ticket closed)")
    if cycle.breached:
        parts.append(f"BREACHED by {_fmt_span(cycle.breached_by)}")
    earlier = [c for c in cycles[:-1] if c.breached]
    if earlier:
        parts.append(f"{len(earlier)} earlier cycle(s) breached")
    return "; ".join(parts) + "."
