"""Writing the directory's people-facing settings."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User


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
