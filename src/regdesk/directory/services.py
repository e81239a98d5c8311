"""Writing the directory: people's settings, people known by their email address."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User

from regdesk.desks.models import Desk
from regdesk.directory.models import Person, PersonEmail


def user_language_set(*, user: User | AnonymousUser, language: str) -> bool:
    """Save the interface language on the signed-in person and/or agent; False if unknown."""
    if language not in {code for code, _ in settings.LANGUAGES}:
        return False
    if not user.is_authenticated:
        return True
    person = getattr(user, "person", None)
    if person is not None and person.language != language:
        person.language = language
        person.save(update_fields=["language"])
    agent = getattr(user, "agent", None)
    if agent is not None and agent.language != language:
        agent.language = language
        agent.save(update_fields=["language"])
    return True


def person_create_by_email(*, address: str, full_name: str, language: str, desk: Desk) -> Person:
    """A requester known only by the address they wrote from (an unregistered sender where the
    regulation registers their request), with the desk they wrote to."""
    person = Person.objects.create(full_name=full_name[:200], language=language)
    PersonEmail.objects.create(person=person, address=address, is_primary=True)
    person_desk_add(person=person, desk=desk)
    return person


def person_bounced(*, person: Person, at: datetime) -> None:
    """Mail to the person came back undeliverable (a permanent bounce)."""
    Person.objects.filter(pk=person.pk).update(bounced_at=at)


def person_desk_add(*, person: Person, desk: Desk) -> None:
    """The person may use the desk (a sender its regulation registers requests from)."""
    person.desks.add(desk)
