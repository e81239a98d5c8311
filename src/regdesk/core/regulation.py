"""The regulation file: pydantic v2 models of one support regulation version.

A regulation is authored as YAML (see ``docs/regulation-format.md``). The models here are the
single source of truth for its shape; ``regdesk regulation schema`` prints their JSON Schema.
Loading (with file/line aware errors) lives in :mod:`regdesk.core.loader`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "AttachmentPolicy",
    "CalendarSpec",
    "Channel",
    "ChannelKind",
    "ChannelRole",
    "ClockName",
    "ClockSpec",
    "Condition",
    "EscalationContact",
    "EscalationStep",
    "FieldKind",
    "FieldSpec",
    "HolidaySpec",
    "LocalText",
    "NotificationRule",
    "Priority",
    "Product",
    "ProductVersion",
    "Regulation",
    "RequestType",
    "Section",
    "Status",
    "TargetKind",
    "TargetRule",
    "Unit",
    "local_text",
    "reference_problems",
]

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
Identifier = Annotated[str, Field(pattern=ID_PATTERN, max_length=64)]

# Text shown to people: one string, or one string per language code ({en: ..., ru: ...}).
LocalText = str | dict[str, str]


def local_text(text: LocalText | None, lang: str, fallback: str = "en") -> str:
    """Pick the text for ``lang`` (then ``fallback``, then any) from a :data:`LocalText`."""
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    for code in (lang, fallback):
        if code in text:
            return text[code]
    return next(iter(text.values()), "")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- statuses, clocks


class Status(StrEnum):
    """Ticket statuses every regulation shares (the product's lifecycle)."""

    NEW = "new"
    ACCEPTED = "accepted"
    WAITING_FOR_CUSTOMER = "waiting_for_customer"
    ANSWERED = "answered"
    RESOLVED = "resolved"
    REFUSED = "refused"
    MERGED = "merged"


CLOSED_STATUSES = frozenset({Status.RESOLVED, Status.REFUSED, Status.MERGED})


class ClockName(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


# --------------------------------------------------------------------------- calendars

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS_RE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


def parse_hours(text: str) -> tuple[int, int]:
    """Parse ``"09:00-18:00"`` into (open, close) minutes after local midnight.

    ``24:00`` is allowed as a closing time; the interval is half-open ``[open, close)``.
    """
    match = _HOURS_RE.match(text.strip())
    if not match:
        raise ValueError(f"expected an interval like '09:00-18:00', got {text!r}")
    oh, om, ch, cm = (int(g) for g in match.groups())
    if oh > 23 or om > 59 or cm > 59 or ch > 24 or (ch == 24 and cm != 0):
        raise ValueError(f"not a wall-clock time in {text!r} (hours 00-23, or 24:00 to close)")
    start, end = oh * 60 + om, ch * 60 + cm
    if end <= start:
        raise ValueError(f"interval {text!r} closes before it opens")
    return start, end


def _expand_weekday_key(key: str) -> list[str]:
    key = key.strip().lower()
    if "-" in key:
        first, last = key.split("-", 1)
        if first not in WEEKDAYS or last not in WEEKDAYS:
            raise ValueError(f"unknown weekday range {key!r}; use e.g. 'mon-fri'")
        i, j = WEEKDAYS.index(first), WEEKDAYS.index(last)
        if j < i:
            raise ValueError(f"weekday range {key!r} runs backwards")
        return list(WEEKDAYS[i : j + 1])
    if key not in WEEKDAYS:
        raise ValueError(f"unknown weekday {key!r}; use one of {', '.join(WEEKDAYS)}")
    return [key]


def _check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name like 'Europe/Moscow')"
        ) from exc
    return name


ZoneName = Annotated[str, AfterValidator(_check_zone)]


class HolidaySpec(_Model):
    """Where non-working days come from: the ``holidays`` package and/or explicit dates."""

    country: str | None = Field(
        default=None, description="Country code for the `holidays` package, e.g. RU, IT."
    )
    subdivision: str | None = Field(default=None, description="Optional subdivision code.")
    dates: list[date] = Field(default_factory=list, description="Extra non-working dates.")
    weekend_workdays: bool = Field(
        default=False,
        description=(
            "Production calendar (RU): the transferred working weekend days that `holidays` "
            "lists in `weekend_workdays` become working days with normal hours."
        ),
    )

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        import holidays

        if value.upper() not in holidays.list_supported_countries():
            raise ValueError(f"the holidays package has no country {value!r}")
        return value.upper()


class CalendarSpec(_Model):
    """Business hours of a desk, line or team: a zone, weekly intervals and exceptions."""

    title: LocalText = ""
    zone: ZoneName = Field(description="IANA time zone the wall-clock hours are read in.")
    week: Literal["24/7"] | dict[str, list[str]] = Field(
        description=(
            "'24/7', or weekly opening intervals in local time keyed by weekday or range "
            "('mon-fri': ['09:00-13:00', '14:00-18:00']). Half-open; 24:00 allowed."
        )
    )
    holidays: HolidaySpec | None = None
    extra_working_days: list[date] = Field(
        default_factory=list, description="Dates that are working days although weekend/holiday."
    )
    workday_hours: list[str] | None = Field(
        default=None,
        description=(
            "Hours on extra working days that have no weekly hours of their own (a working "
            "Saturday); default: the hours of the first working weekday."
        ),
    )

    @field_validator("week")
    @classmethod
    def _valid_week(
        cls, value: Literal["24/7"] | dict[str, list[str]]
    ) -> Literal["24/7"] | dict[str, list[str]]:
        if isinstance(value, str):
            return value
        seen: set[str] = set()
        for key, intervals in value.items():
            for day in _expand_weekday_key(key):
                if day in seen:
                    raise ValueError(f"weekday {day!r} is given twice")
                seen.add(day)
            spans = sorted(parse_hours(i) for i in intervals)
            for (_, end), (start, _) in itertools.pairwise(spans):
                if start < end:
                    raise ValueError(f"intervals overlap on {key!r}: {intervals}")
        if not any(value.values()):
            raise ValueError("a calendar needs at least one opening interval")
        return value

    @field_validator("workday_hours")
    @classmethod
    def _valid_workday_hours(cls, value: list[str] | None) -> list[str] | None:
        for item in value or []:
            parse_hours(item)
        return value

    @property
    def always_open(self) -> bool:
        return self.week == "24/7" and self.holidays is None

    def weekly_minutes(self) -> dict[int, list[tuple[int, int]]]:
        """Opening intervals as minutes after midnight, keyed by ``date.weekday()``."""
        if self.week == "24/7":
            return {day: [(0, 24 * 60)] for day in range(7)}
        out: dict[int, list[tuple[int, int]]] = {day: [] for day in range(7)}
        for key, intervals in self.week.items():
            for day in _expand_weekday_key(key):
                out[WEEKDAYS.index(day)] = sorted(parse_hours(i) for i in intervals)
        return out


# --------------------------------------------------------------------------- channels


class ChannelKind(StrEnum):
    EMAIL = "email"
    TELEGRAM = "telegram"
    PORTAL = "portal"
    WIDGET = "widget"
    API = "api"
    HELPDESK_SERVICE = "helpdesk_service"
    PHONE = "phone"
    CHAT = "chat"
    SOCIAL = "social"


class ChannelRole(StrEnum):
    OPENS = "opens"  # may register a new request
    FOLLOW_UP = "follow_up"  # only follow-ups on an existing request
    CONSULTATION = "consultation"  # logged, never a registered request
    COORDINATION = "coordination"  # logged on an existing ticket (e.g. urgent phone calls)


class Channel(_Model):
    id: Identifier
    kind: ChannelKind
    role: ChannelRole = ChannelRole.OPENS
    title: LocalText = ""
    address: str | None = Field(default=None, description="Email address, bot name, phone, URL.")
    sets_priority: str | None = Field(
        default=None, description="Priority given to requests from this channel (alarm address)."
    )
    escalate: bool = Field(default=False, description="Escalate at once (alarm address).")
    official_senders: Literal["registered", "any"] = Field(
        default="any",
        description="'registered': only a requester's registered address/account is official.",
    )
    unofficial: Literal["consultation", "refuse", "register"] = Field(
        default="register",
        description="What happens to a message from a sender that is not official.",
    )
    auto_reply: LocalText | None = Field(
        default=None,
        description="Automatic answer for messages this channel does not register.",
    )


# --------------------------------------------------------------------------- request types


class FieldKind(StrEnum):
    TEXT = "text"
    TEXTAREA = "textarea"
    CHOICE = "choice"
    MULTICHOICE = "multichoice"
    URL = "url"
    EMAIL = "email"
    PHONE = "phone"
    NUMBER = "number"
    DATE = "date"
    VERSION = "version"
    PRODUCT = "product"
    DEVICE = "device"
    SECRET = "secret"
    TIME_INTERVAL = "time_interval"


class Choice(_Model):
    id: Identifier
    title: LocalText


class Condition(_Model):
    """When a field applies: all given parts must hold."""

    type: list[Identifier] | None = Field(default=None, description="Request type is one of.")
    field: str | None = Field(default=None, description="Another field's id ...")
    equals: list[str] | None = Field(default=None, description="... has one of these values.")
    is_set: bool | None = Field(default=None, description="... is (true) / is not (false) set.")

    @model_validator(mode="after")
    def _field_needs_test(self) -> Condition:
        if self.field is not None and self.equals is None and self.is_set is None:
            raise ValueError("a condition on a field needs 'equals' or 'is_set'")
        if self.field is None and (self.equals is not None or self.is_set is not None):
            raise ValueError("'equals'/'is_set' need 'field'")
        return self

    def holds(self, request_type: str, values: dict[str, Any]) -> bool:
        if self.type is not None and request_type not in self.type:
            return False
        if self.field is not None:
            value = values.get(self.field)
            present = value not in (None, "", [], {})
            if self.is_set is not None and present != self.is_set:
                return False
            if self.equals is not None:
                got = value if isinstance(value, list) else [value]
                if not any(str(v) in self.equals for v in got):
                    return False
        return True


class FieldSpec(_Model):
    id: Identifier
    kind: FieldKind
    label: LocalText
    help: LocalText = ""
    required: bool = False
    required_when: Condition | None = Field(
        default=None, description="Required only when this condition holds."
    )
    shown_when: Condition | None = Field(
        default=None, description="Asked only when this condition holds (default: always)."
    )
    choices: list[Choice] = Field(default_factory=list)
    max_length: int | None = None

    @model_validator(mode="after")
    def _choices_for_choice_fields(self) -> FieldSpec:
        needs = self.kind in (FieldKind.CHOICE, FieldKind.MULTICHOICE)
        if needs and not self.choices:
            raise ValueError(f"field {self.id!r} of kind {self.kind.value!r} needs 'choices'")
        if not needs and self.choices:
            raise ValueError(f"field {self.id!r} of kind {self.kind.value!r} takes no 'choices'")
        return self

    def is_required(self, request_type: str, values: dict[str, Any]) -> bool:
        if not self.is_shown(request_type, values):
            return False
        if self.required_when is not None:
            return self.required_when.holds(request_type, values)
        return self.required

    def is_shown(self, request_type: str, values: dict[str, Any]) -> bool:
        return self.shown_when is None or self.shown_when.holds(request_type, values)


class RequestType(_Model):
    id: Identifier
    title: LocalText
    description: LocalText = ""
    fields: list[FieldSpec] = Field(default_factory=list)
    default_priority: str | None = None
    line: str | None = Field(default=None, description="Line a new request of this type goes to.")
    team: str | None = Field(default=None, description="Team a new request of this type goes to.")


class AttachmentPolicy(_Model):
    allowed: Literal["any"] | list[str] = Field(
        default="any",
        description="'any', or formats recognised by content: jpeg, png, gif, bmp, pdf, zip, …",
    )
    max_size_mb: float = Field(default=25, gt=0)
    encouraged: bool = True
    note: LocalText = ""


# --------------------------------------------------------------------------- organisation


class Unit(_Model):
    """A tier, line or team."""

    id: Identifier
    title: LocalText
    description: LocalText = ""
    calendar: str | None = Field(
        default=None, description="Calendar id; a ticket routed here runs its clocks on it."
    )
    languages: list[str] = Field(default_factory=list)


class Priority(_Model):
    id: Identifier
    title: LocalText
    description: LocalText = ""
    criteria: list[LocalText] = Field(
        default_factory=list, description="What makes a request this urgent (for suggestion)."
    )
    keywords: list[str] = Field(
        default_factory=list, description="Words that suggest this priority in a request text."
    )


# --------------------------------------------------------------------------- targets


class TargetKind(StrEnum):
    DURATION = "duration"
    END_OF_BUSINESS_DAY = "end_of_business_day"
    AGREED = "agreed"
    NONE = "none"


_DURATION_RE = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?$")


def parse_duration(text: str) -> timedelta:
    """Parse '3h', '90m', '1h30m', '1.5h', '45s' into a timedelta."""
    match = _DURATION_RE.match(text.strip())
    if not text.strip() or not match or not any(match.groups()):
        raise ValueError(
            f"expected a duration like '3h', '90m' or '1h30m', or one of "
            f"end_of_business_day, agreed, none; got {text!r}"
        )
    hours, minutes, seconds = match.groups()
    return timedelta(hours=float(hours or 0), minutes=int(minutes or 0), seconds=int(seconds or 0))


class When(_Model):
    """Facts a target rule applies to; each given key must match (a value or a list)."""

    priority: list[str] | None = None
    tier: list[str] | None = None
    line: list[str] | None = None
    team: list[str] | None = None
    type: list[str] | None = None
    channel: list[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _scalars_to_lists(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in data.items()}
        return data

    def matches(self, facts: dict[str, str | None]) -> bool:
        for key in ("priority", "tier", "line", "team", "type", "channel"):
            wanted: list[str] | None = getattr(self, key)
            if wanted is not None and facts.get(key) not in wanted:
                return False
        return True

    def describe(self) -> str:
        parts = []
        for key in ("priority", "tier", "line", "team", "type", "channel"):
            wanted: list[str] | None = getattr(self, key)
            if wanted is not None:
                parts.append(f"{key} {' or '.join(wanted)}")
        return ", ".join(parts)


class TargetRule(_Model):
    """One row of a clock's target matrix; the first rule whose ``when`` matches applies."""

    when: When = Field(default_factory=When)
    target: str = Field(
        description="A duration ('3h', '90m'), 'end_of_business_day', 'agreed' or 'none'."
    )
    time: Literal["business", "calendar"] = Field(
        default="business",
        description=(
            "Count the duration in business time (on the clock's calendar) or elapsed time."
        ),
    )
    calendar: str | None = Field(
        default=None, description="Calendar id overriding the line/team/desk calendar."
    )
    label: LocalText = Field(default="", description="How people call this target.")

    @field_validator("target")
    @classmethod
    def _valid_target(cls, value: str) -> str:
        if value not in {k.value for k in TargetKind if k is not TargetKind.DURATION}:
            parse_duration(value)
        return value

    @cached_property
    def kind(self) -> TargetKind:
        try:
            return TargetKind(self.target)
        except ValueError:
            return TargetKind.DURATION

    @cached_property
    def duration(self) -> timedelta | None:
        return parse_duration(self.target) if self.kind is TargetKind.DURATION else None


class ClockSpec(_Model):
    title: LocalText = ""
    targets: list[TargetRule] = Field(
        default_factory=list, description="Target matrix; first matching rule applies."
    )
    counts_from: Literal["first_unanswered", "last_customer_message"] = Field(
        default="first_unanswered",
        description="next_response only: count from the first unanswered or the LAST message.",
    )
    pause_in: list[Status] = Field(
        default_factory=list, description="Statuses in which this clock does not count."
    )


# --------------------------------------------------------------------------- escalation


class EscalationContact(_Model):
    id: Identifier
    title: LocalText
    name: str = ""
    email: str | None = None
    phone: str | None = None


class EscalationStep(_Model):
    clock: list[ClockName] | None = Field(default=None, description="Clocks (default: all).")
    at_percent: int = Field(
        ge=0, le=1000, description="Share of the target consumed; 100 = at breach."
    )
    notify: list[str] = Field(
        description="assignee, team_lead, line_lead, on_duty_lead, or contact:<id>."
    )
    raise_priority_to: str | None = None
    only_priorities: list[str] | None = None


class NotificationEvent(StrEnum):
    REGISTERED = "registered"
    ACCEPTED = "accepted"
    RETURNED_FOR_INFORMATION = "returned_for_information"
    ANSWERED = "answered"
    PRIORITY_CHANGED = "priority_changed"
    STATUS_CHANGED = "status_changed"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    REFUSED = "refused"
    ASSIGNED = "assigned"
    CUSTOMER_REPLIED = "customer_replied"
    CLOCK_DUE_SOON = "clock_due_soon"
    CLOCK_BREACHED = "clock_breached"


class NotificationRule(_Model):
    event: NotificationEvent
    to: list[str] = Field(description="requester, organisation_managers, assignee, team, …")
    channels: list[str] = Field(default_factory=lambda: ["email", "telegram"])
    note: LocalText = ""


# --------------------------------------------------------------------------- products


class ProductVersion(_Model):
    id: str
    released: date
    title: str = ""


class Product(_Model):
    id: Identifier
    title: LocalText
    support_years: int | None = Field(
        default=None, description="Versions are supported this many years after release."
    )
    versions: list[ProductVersion] = Field(default_factory=list)

    def supported_until(self, version: str) -> date | None:
        """Last supported day of ``version``, or None when support is unlimited or unknown."""
        if self.support_years is None:
            return None
        for item in self.versions:
            if item.id == version:
                return support_end(item.released, self.support_years)
        return None


def support_end(released: date, years: int) -> date:
    """Last supported day of a version released on ``released`` with ``years`` of support."""
    try:
        end = released.replace(year=released.year + years)
    except ValueError:  # released on 29 February
        end = released.replace(year=released.year + years, day=28)
    return end - timedelta(days=1)


class Section(_Model):
    """A prose part of the published regulation (communication standards, confidentiality…)."""

    title: LocalText
    body: LocalText


# --------------------------------------------------------------------------- the regulation


class Regulation(_Model):
    """One version of a support regulation."""

    name: Identifier = Field(description="Stable identifier, e.g. 'waviot'.")
    title: LocalText
    version: str = Field(min_length=1, description="Version label, e.g. '2026-01'.")
    effective_from: datetime = Field(description="Instant this version takes effect (with offset).")
    languages: list[str] = Field(min_length=1, description="Languages of support; first = default.")
    organisation: str = ""
    summary: LocalText = ""
    source: str = Field(default="", description="Where the published text lives.")

    calendars: dict[str, CalendarSpec] = Field(min_length=1)
    default_calendar: str
    channels: list[Channel] = Field(min_length=1)
    request_types: list[RequestType] = Field(min_length=1)
    common_fields: list[FieldSpec] = Field(
        default_factory=list, description="Fields every request type asks (before its own)."
    )
    attachments: AttachmentPolicy = Field(default_factory=AttachmentPolicy)
    tiers: list[Unit] = Field(default_factory=list)
    default_tier: str | None = None
    lines: list[Unit] = Field(default_factory=list)
    default_line: str | None = None
    teams: list[Unit] = Field(default_factory=list)
    priorities: list[Priority] = Field(min_length=1)
    default_priority: str
    requester_sets_priority: bool = False
    clocks: dict[ClockName, ClockSpec] = Field(default_factory=dict)
    escalation_contacts: list[EscalationContact] = Field(default_factory=list)
    escalation: list[EscalationStep] = Field(default_factory=list)
    notifications: list[NotificationRule] = Field(default_factory=list)
    products: list[Product] = Field(default_factory=list)
    refusal_reasons: list[Choice] = Field(default_factory=list)
    one_issue_per_ticket: bool = False
    handled_when_answered: bool = Field(
        default=True, description="A request counts as handled once a response is sent."
    )
    acknowledgement_required: bool = Field(
        default=False,
        description="An emailed request counts as accepted only once its confirmation is sent.",
    )
    sections: list[Section] = Field(default_factory=list)

    @field_validator("effective_from")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("effective_from needs a UTC offset, e.g. 2026-01-01T00:00:00+03:00")
        return value

    @model_validator(mode="after")
    def _references(self) -> Regulation:
        problems = reference_problems(self.model_dump())
        if problems:
            raise PydanticCustomError(
                "unknown_reference",
                "{summary}",
                {
                    "summary": "; ".join(f"{path}: {message}" for path, message in problems),
                    "problems": problems,
                },
            )
        return self

    # ----------------------------------------------------------------- lookups

    def priority(self, priority_id: str) -> Priority:
        for item in self.priorities:
            if item.id == priority_id:
                return item
        raise KeyError(priority_id)

    def request_type(self, type_id: str) -> RequestType:
        for item in self.request_types:
            if item.id == type_id:
                return item
        raise KeyError(type_id)

    def channel(self, channel_id: str) -> Channel:
        for item in self.channels:
            if item.id == channel_id:
                return item
        raise KeyError(channel_id)

    def unit(self, group: Literal["tiers", "lines", "teams"], unit_id: str) -> Unit:
        for item in getattr(self, group):
            if item.id == unit_id:
                return item  # type: ignore[no-any-return]
        raise KeyError(unit_id)

    def fields_for(self, type_id: str) -> list[FieldSpec]:
        """Every field a request of this type may carry: common fields, then its own."""
        return [*self.common_fields, *self.request_type(type_id).fields]

    def missing_fields(self, type_id: str, values: dict[str, Any]) -> list[FieldSpec]:
        """Required fields (given the values so far) that have no value."""
        return [
            spec
            for spec in self.fields_for(type_id)
            if spec.is_required(type_id, values) and values.get(spec.id) in (None, "", [], {})
        ]


# --------------------------------------------------------------------------- cross-references


def _listed(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int)]
    return []


def _items(data: Mapping[str, Any], key: str) -> list[tuple[int, Mapping[str, Any]]]:
    value = data.get(key)
    if not isinstance(value, list):
        return []
    return [(n, item) for n, item in enumerate(value) if isinstance(item, Mapping)]


def reference_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Identifiers that a regulation refers to but does not define, and ids given twice.

    Works on plain data, valid or not (the loader runs it on the parsed YAML so that these
    problems are reported together with field errors), and returns ``(path, message)`` pairs
    whose paths use list indexes like pydantic locations (``channels.1.sets_priority``).
    """
    problems: list[tuple[str, str]] = []

    def ids(key: str) -> list[str]:
        return [str(item["id"]) for _, item in _items(data, key) if "id" in item]

    def check(kind: str, value: Any, known: set[str], where: str) -> None:
        if isinstance(value, str) and value not in known:
            listing = ", ".join(sorted(known)) or "none defined"
            problems.append((where, f"unknown {kind} {value!r} (known: {listing})"))

    raw_calendars = data.get("calendars")
    calendars = {str(k) for k in raw_calendars} if isinstance(raw_calendars, Mapping) else set()
    known = {
        "priority": set(ids("priorities")),
        "tier": set(ids("tiers")),
        "line": set(ids("lines")),
        "team": set(ids("teams")),
        "type": set(ids("request_types")),
        "channel": set(ids("channels")),
    }
    priorities = known["priority"]
    check("calendar", data.get("default_calendar"), calendars, "default_calendar")
    check("priority", data.get("default_priority"), priorities, "default_priority")
    check("tier", data.get("default_tier"), known["tier"], "default_tier")
    check("line", data.get("default_line"), known["line"], "default_line")
    for group in ("tiers", "lines", "teams"):
        for n, unit in _items(data, group):
            check("calendar", unit.get("calendar"), calendars, f"{group}.{n}.calendar")
    for n, channel in _items(data, "channels"):
        check("priority", channel.get("sets_priority"), priorities, f"channels.{n}.sets_priority")

    common = [f for _, f in _items(data, "common_fields")]
    common_ids = {str(f["id"]) for f in common if "id" in f}

    def check_fields(
        fields: list[tuple[int, Mapping[str, Any]]], where: str, own: set[str]
    ) -> None:
        for n, spec in fields:
            for key in ("required_when", "shown_when"):
                condition = spec.get(key)
                if not isinstance(condition, Mapping):
                    continue
                for type_id in _listed(condition.get("type")):
                    check("request type", type_id, known["type"], f"{where}.{n}.{key}.type")
                check("field", condition.get("field"), own, f"{where}.{n}.{key}.field")

    every_field = set(common_ids)
    for _, rtype in _items(data, "request_types"):
        every_field |= {str(f["id"]) for _, f in _items(rtype, "fields") if "id" in f}
    check_fields(_items(data, "common_fields"), "common_fields", every_field)
    for n, rtype in _items(data, "request_types"):
        where = f"request_types.{n}"
        check("priority", rtype.get("default_priority"), priorities, f"{where}.default_priority")
        check("line", rtype.get("line"), known["line"], f"{where}.line")
        check("team", rtype.get("team"), known["team"], f"{where}.team")
        own = common_ids | {str(f["id"]) for _, f in _items(rtype, "fields") if "id" in f}
        check_fields(_items(rtype, "fields"), f"{where}.fields", own)

    clocks = data.get("clocks")
    for clock, spec in clocks.items() if isinstance(clocks, Mapping) else []:
        if not isinstance(spec, Mapping):
            continue
        for n, rule in _items(spec, "targets"):
            where = f"clocks.{clock}.targets.{n}"
            check("calendar", rule.get("calendar"), calendars, f"{where}.calendar")
            when = rule.get("when")
            if isinstance(when, Mapping):
                for key, ids_known in known.items():
                    for value in _listed(when.get(key)):
                        check(key, value, ids_known, f"{where}.when.{key}")

    contacts = set(ids("escalation_contacts"))
    for n, step in _items(data, "escalation"):
        where = f"escalation.{n}"
        check("priority", step.get("raise_priority_to"), priorities, f"{where}.raise_priority_to")
        for value in _listed(step.get("only_priorities")):
            check("priority", value, priorities, f"{where}.only_priorities")
        for who in _listed(step.get("notify")):
            if who.startswith("contact:"):
                check("escalation contact", who[8:], contacts, f"{where}.notify")

    for key, label in (
        ("priorities", "priority"),
        ("tiers", "tier"),
        ("lines", "line"),
        ("teams", "team"),
        ("request_types", "request type"),
        ("channels", "channel"),
        ("escalation_contacts", "escalation contact"),
        ("products", "product"),
    ):
        seen: set[str] = set()
        for n, item in _items(data, key):
            item_id = str(item.get("id"))
            if "id" in item and item_id in seen:
                problems.append((f"{key}.{n}.id", f"{label} id {item_id!r} is given twice"))
            seen.add(item_id)
    return problems
