"""Reading desks and their regulation versions."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from regdesk.desks.models import Desk, RegulationVersion


class NoRegulationError(LookupError):
    pass


def regulation_current(*, desk: Desk, at: datetime | None = None) -> RegulationVersion:
    """The version in effect at ``at`` (now): the latest published one already effective."""
    moment = at or timezone.now()
    version = (
        RegulationVersion.objects.filter(desk=desk, effective_from__lte=moment)
        .order_by("-effective_from", "-published_at")
        .first()
    )
    if version is None:
        version = RegulationVersion.objects.filter(desk=desk).order_by("effective_from").first()
    if version is None:
        raise NoRegulationError(f"desk {desk.slug!r} has no published regulation")
    return version


def regulation_upcoming(*, desk: Desk) -> list[RegulationVersion]:
    return list(
        RegulationVersion.objects.filter(desk=desk, effective_from__gt=timezone.now()).order_by(
            "effective_from"
        )
    )
