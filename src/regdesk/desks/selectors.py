"""Reading desks and their regulation versions."""

from __future__ import annotations

import copy
import time
from datetime import datetime

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet
from django.utils import timezone

from regdesk.desks.models import Desk, RegulationVersion
from regdesk.directory.models import Person


class NoRegulationError(LookupError):
    pass


# Versions per desk, kept briefly in each process: every ticket creation asks for the current
# version. Publishing clears this process's entry; other processes see a new version within
# VERSIONS_TTL seconds (a version scheduled for later takes effect exactly on time, since the
# choice among cached versions is made at each call).
VERSIONS_TTL = 10.0
_versions: dict[tuple[int, object], tuple[float, list[RegulationVersion]]] = {}


# Active desks by slug, kept as briefly: the API reads one on every registration (a third of
# the statements a request costs besides its own writes). A desk saved or deleted in this process
# is forgotten at once (``Desk.save``); other processes see a change within DESKS_TTL seconds.
DESKS_TTL = 5.0
_desks: dict[str, tuple[float, Desk]] = {}


def desks_forget() -> None:
    _desks.clear()


def desk_active(*, slug: str) -> Desk | None:
    """The active desk with this slug, or None; each call gets its own copy of the row."""
    now = time.monotonic()
    hit = _desks.get(slug)
    if hit is None or hit[0] <= now:
        found = list(Desk.objects.filter(slug=slug, is_active=True).order_by()[:1])
        if not found:
            _desks.pop(slug, None)
            return None
        if len(_desks) > 1000:
            _desks.clear()
        hit = _desks[slug] = (now + DESKS_TTL, found[0])
    return copy.copy(hit[1])


def regulation_versions_forget(*, desk: Desk) -> None:
    for key in [k for k in _versions if k[0] == desk.pk]:
        _versions.pop(key, None)


def _desk_versions(desk: Desk) -> list[RegulationVersion]:
    key = (desk.pk, desk.created_at)  # created_at: a reused id in another test run is another desk
    hit = _versions.get(key)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    versions = list(
        RegulationVersion.objects.filter(desk=desk).order_by("-effective_from", "-published_at")
    )
    if len(_versions) > 1000:
        _versions.clear()
    _versions[key] = (now + VERSIONS_TTL, versions)
    return versions


def regulation_current(*, desk: Desk, at: datetime | None = None) -> RegulationVersion:
    """The version in effect at ``at`` (now): the latest published one already effective."""
    moment = at or timezone.now()
    versions = _desk_versions(desk)
    for version in versions:
        if version.effective_from <= moment:
            return version
    if versions:
        return versions[-1]  # nothing in effect yet: the earliest version governs
    raise NoRegulationError(f"desk {desk.slug!r} has no published regulation")


def regulation_version(*, desk: Desk, version_id: int) -> RegulationVersion:
    """One of the desk's versions by id (a ticket's governing one), from the same short-lived
    cache: a published version never changes."""
    for version in _desk_versions(desk):
        if version.pk == version_id:
            return version
    return RegulationVersion.objects.get(pk=version_id, desk=desk)


def regulation_upcoming(*, desk: Desk) -> list[RegulationVersion]:
    return list(
        RegulationVersion.objects.filter(desk=desk, effective_from__gt=timezone.now()).order_by(
            "effective_from"
        )
    )


def desks_for_person(*, person: Person) -> QuerySet[Desk]:
    """Active desks the person may use: their own, and their organisation's."""
    allowed = Q(people=person)
    if person.organisation_id is not None:
        allowed |= Q(organisations=person.organisation_id)
    return Desk.objects.filter(allowed, is_active=True).distinct().order_by("name")


def desks_usable_by(*, user: User | AnonymousUser) -> QuerySet[Desk]:
    """Active desks a user works on (agents) or may open requests at (customers)."""
    from regdesk.tickets.selectors import agent_desk_ids

    allowed = Q(id__in=agent_desk_ids(user) or set())
    person = getattr(user, "person", None) if user.is_authenticated else None
    if person is not None:
        allowed |= Q(people=person)
        if person.organisation_id is not None:
            allowed |= Q(organisations=person.organisation_id)
    return Desk.objects.filter(allowed, is_active=True).distinct().order_by("name")
