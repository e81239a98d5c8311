"""The shapes the demo is described in: desks, people, stories of tickets and their steps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

# --------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class AgentSpec:
    username: str
    first_name: str
    last_name: str
    language: str
    line: str = ""
    team: str = ""
    is_lead: bool = False


@dataclass(frozen=True)
class CustomerSpec:
    username: str
    full_name: str
    email: str
    language: str
    is_manager: bool = False
    login: str = ""
    phone: str = ""


@dataclass(frozen=True)
class DeviceSpec:
    device_id: str
    serial: str
    model: str
    name: str = ""


@dataclass(frozen=True)
class OrganisationSpec:
    name: str
    customers: tuple[CustomerSpec, ...]
    tier: str = ""
    devices: tuple[DeviceSpec, ...] = ()


@dataclass(frozen=True)
class CannedSpec:
    title: str
    body: str
    language: str


@dataclass
class Step:
    """One thing that happens to a ticket: ``kind`` names the service, ``actor`` a username."""

    at: datetime
    kind: str
    actor: str
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Story:
    """A ticket from registration to where the demo leaves it."""

    requester: str
    request_type: str
    subject: str
    body: str
    created: datetime
    channel: str
    fields: dict[str, Any] = field(default_factory=dict)
    priority: str = ""
    strict: bool = True
    registered_by: str = ""
    key: str = ""
    steps: list[Step] = field(default_factory=list)


@dataclass(frozen=True)
class DeskSpec:
    slug: str
    name: str
    prefix: str
    preset: str
    email_address: str
    agents: tuple[AgentSpec, ...]
    organisations: tuple[OrganisationSpec, ...]
    canned: tuple[CannedSpec, ...]
    stories: Callable[[Timeline], list[Story]]
    zone: str = ""
    holidays: tuple[str, str] | None = None


class Timeline:
    """Instants relative to ``now`` in a desk's zone.

    ``day(n, "10:15")`` is 10:15 local time on the n-th weekday before today, so it always lies
    in the past and inside office hours; ``ago(...)`` is for today's events. Keep ``day`` times
    before 19:00 and ``ago`` under five hours, and a ``day`` event always precedes an ``ago`` one.
    """

    def __init__(self, now: datetime, zone: str) -> None:
        self.now = now
        self.zone = ZoneInfo(zone)

    def ago(self, *, hours: float = 0, minutes: float = 0) -> datetime:
        return self.now - timedelta(hours=hours, minutes=minutes)

    def day(self, weekdays_back: int, clock: str) -> datetime:
        current: date = self.now.astimezone(self.zone).date()
        counted = 0
        while counted < weekdays_back:
            current -= timedelta(days=1)
            if current.weekday() < 5:
                counted += 1
        hours, minutes = (int(part) for part in clock.split(":"))
        return datetime.combine(current, time(hours, minutes), tzinfo=self.zone)


# Small constructors keep the stories readable.


def accept(at: datetime, who: str) -> Step:
    return Step(at, "accept", who)


def reply(at: datetime, who: str, text: str, *, keep_status: bool = False) -> Step:
    return Step(at, "reply", who, text, {"keep_status": keep_status})


def note(at: datetime, who: str, text: str) -> Step:
    return Step(at, "note", who, text)


def customer(at: datetime, who: str, text: str, **fields: Any) -> Step:
    return Step(at, "customer", who, text, {"fields": fields})


def ask(at: datetime, who: str, text: str, missing: list[str]) -> Step:
    return Step(at, "return", who, text, {"missing": missing})


def priority(at: datetime, who: str, value: str, reason: str) -> Step:
    return Step(at, "priority", who, reason, {"priority": value})


def resolve(at: datetime, who: str) -> Step:
    return Step(at, "resolve", who)


def confirm(at: datetime, who: str) -> Step:
    return Step(at, "confirm", who)


def refuse(at: datetime, who: str, reason: str, text: str) -> Step:
    return Step(at, "refuse", who, text, {"reason": reason})


def merge(at: datetime, who: str, into: str) -> Step:
    return Step(at, "merge", who, data={"into": into})


def split(
    at: datetime, who: str, parts: list[tuple[str, str]], then: list[list[Step]] | None = None
) -> Step:
    """Split into ``parts``; ``then[i]`` are the steps of the i-th new ticket."""
    return Step(at, "split", who, data={"parts": parts, "then": then or []})


def agree(at: datetime, who: str, clock: str, hours: float) -> Step:
    return Step(at, "agreed", who, data={"clock": clock, "hours": hours})


def team(at: datetime, who: str, value: str) -> Step:
    return Step(at, "team", who, data={"team": value})


def line(at: datetime, who: str, value: str) -> Step:
    return Step(at, "line", who, data={"line": value})


def assign(at: datetime, who: str, to: str) -> Step:
    return Step(at, "assign", who, data={"to": to})


# --------------------------------------------------------------------------- canned replies


def canned_replies(signature: str) -> tuple[CannedSpec, ...]:
    return (
        CannedSpec(
            "Request received",
            "Hello,\n\nthank you for your request. We have registered it and a specialist is "
            f"looking into it now.\n\nBest regards,\n{signature}",
            "en",
        ),
        CannedSpec(
            "More information needed",
            "Hello,\n\nto go on with your request we need a few more details: the exact steps, "
            "the time it happened and a screenshot of the error, if there is one.\n\n"
            f"Best regards,\n{signature}",
            "en",
        ),
        CannedSpec(
            "Solved — please confirm",
            "Hello,\n\nthe issue should be solved now. Please check on your side and confirm; "
            "if anything is still wrong, simply reply to this message.\n\n"
            f"Best regards,\n{signature}",
            "en",
        ),
        CannedSpec(
            "Запрос получен",
            "Здравствуйте!\n\nСпасибо за обращение. Мы зарегистрировали его, специалист уже "
            f"занимается вашим вопросом.\n\nС уважением,\n{signature}",
            "ru",
        ),
        CannedSpec(
            "Нужны дополнительные сведения",
            "Здравствуйте!\n\nЧтобы продолжить работу по запросу, уточните, пожалуйста: "
            "точные шаги, время, когда возникла проблема, и скриншот ошибки, если он есть.\n\n"
            f"С уважением,\n{signature}",
            "ru",
        ),
        CannedSpec(
            "Решено — подтвердите, пожалуйста",
            "Здравствуйте!\n\nПроблема должна быть решена. Проверьте, пожалуйста, и подтвердите; "
            "если что-то не так, просто ответьте на это письмо.\n\n"
            f"С уважением,\n{signature}",
            "ru",
        ),
    )
