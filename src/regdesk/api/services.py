"""Issuing and revoking API tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from regdesk.api.models import ApiToken, Scope
from regdesk.desks.models import Desk

TOKEN_PREFIX = "rdk_"


def token_digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


@transaction.atomic
def token_create(
    *,
    user: User,
    name: str,
    scope: str = Scope.READ,
    desks: Iterable[Desk] = (),
    expires_at: datetime | None = None,
    rate_per_minute: int = 600,
) -> tuple[ApiToken, str]:
    """Issue a token; the plaintext is returned once and only its hash is stored."""
    if scope not in Scope.values:
        raise ValueError(f"unknown scope {scope!r} (use read, write or admin)")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValueError("expires_at is in the past")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=plaintext[:12],
        digest=token_digest(plaintext),
        scope=scope,
        expires_at=expires_at,
        rate_per_minute=rate_per_minute,
    )
    token.desks.set(list(desks))
    return token, plaintext


def token_revoke(*, token: ApiToken) -> None:
    """Revoke a token: refused from now on by this process, by the others within the API's
    principal cache TTL (REGDESK_API_AUTH_CACHE_SECONDS)."""
    from regdesk.api.auth import principal_forget

    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    transaction.on_commit(lambda: principal_forget(token.digest))
    principal_forget(token.digest)
