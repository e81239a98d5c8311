"""Writing desks and publishing regulation versions."""

from __future__ import annotations

import difflib
import hashlib
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from regdesk.core.loader import load_regulation_text, preset_text
from regdesk.core.regulation import Regulation, local_text
from regdesk.desks.models import Desk, RegulationVersion
from regdesk.desks.selectors import (
    NoRegulationError,
    regulation_current,
    regulation_versions_forget,
)
from regdesk.directory.models import Product, ProductVersion


def regulation_diff(*, desk: Desk, source: str) -> str:
    """A unified diff of ``source`` against the desk's current version ('' when none)."""
    try:
        current = regulation_current(desk=desk).source
    except NoRegulationError:
        return ""
    return "".join(
        difflib.unified_diff(
            current.splitlines(keepends=True),
            source.splitlines(keepends=True),
            fromfile="current",
            tofile="new",
        )
    )


@transaction.atomic
def regulation_publish(
    *,
    desk: Desk,
    source: str,
    effective_from: datetime | None = None,
    published_by: User | None = None,
) -> RegulationVersion:
    """Validate and publish a regulation version; raises RegulationError listing every problem.

    ``effective_from`` defaults to the instant the file gives. Products and versions of the
    regulation's lifecycle section are copied into the directory.
    """
    regulation = load_regulation_text(source, file=f"{desk.slug}.yaml")
    version = RegulationVersion.objects.create(
        desk=desk,
        version=regulation.version,
        source=source,
        sha256=hashlib.sha256(source.encode()).hexdigest(),
        effective_from=effective_from or regulation.effective_from,
        published_by=published_by,
    )
    regulation_versions_forget(desk=desk)
    _sync_products(desk=desk, regulation=regulation)
    from regdesk.escalation.services import tickets_recheck_open

    # The monitor re-checks every open ticket: clocks, breaches and next escalation steps.
    tickets_recheck_open(desk_id=desk.pk)
    return version


def _sync_products(*, desk: Desk, regulation: Regulation) -> None:
    for item in regulation.products:
        product, _ = Product.objects.update_or_create(
            desk=desk,
            code=item.id,
            defaults={
                "title": local_text(item.title, regulation.languages[0]),
                "support_years": item.support_years,
            },
        )
        for version in item.versions:
            ProductVersion.objects.update_or_create(
                product=product, version=version.id, defaults={"released": version.released}
            )


@transaction.atomic
def desk_create(
    *,
    slug: str,
    name: str,
    ticket_prefix: str,
    preset: str | None = None,
    source: str | None = None,
    email_address: str = "",
) -> Desk:
    """Create a desk governed by a preset or a regulation text."""
    prefix = ticket_prefix.strip().upper()
    if not prefix.isalnum():
        raise ValueError(f"ticket prefix {ticket_prefix!r}: use letters and digits, e.g. WAV")
    if Desk.objects.filter(ticket_prefix=prefix).exists():
        raise ValueError(f"ticket prefix {prefix!r} is taken by another desk")
    desk = Desk.objects.create(
        slug=slug, name=name, ticket_prefix=prefix, email_address=email_address
    )
    text = source if source is not None else preset_text(preset or "service-desk")
    regulation_publish(desk=desk, source=text)
    return desk
