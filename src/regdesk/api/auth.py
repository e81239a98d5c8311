"""API authentication: personal tokens (Bearer) or the site's session (with CSRF)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import APIKeyCookie, HttpBearer

from regdesk.api.models import ApiToken, Scope
from regdesk.api.services import token_digest


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limit exceeded; retry after {retry_after} s")
        self.retry_after = retry_after


class ScopeError(Exception):
    pass


def _rate_limit(token: ApiToken) -> None:
    """Fixed one-minute windows per token, counted in the shared cache."""
    now = time.time()
    window = int(now // 60)
    key = f"regdesk:rl:{token.digest[:24]}:{window}"
    if cache.add(key, 1, timeout=90):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=90)
            count = 1
    if count > token.rate_per_minute:
        raise RateLimited(max(1, int(60 - now % 60)))


class TokenAuth(HttpBearer):
    """``Authorization: Bearer rdk_…``"""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        # One query per request: the token with its user, and the user's person (with their
        # organisation) and agent rows, which the endpoints ask for next.
        row = (
            ApiToken.objects.select_related("user__person__organisation", "user__agent")
            .filter(digest=token_digest(token))
            .first()
        )
        if row is None or not row.active or not row.user.is_active:
            return None
        _rate_limit(row)
        now = timezone.now()
        if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        request.api_token = row  # type: ignore[attr-defined]
        return row


class SessionAuth(APIKeyCookie):
    """The site's own pages: the session cookie, with CSRF on unsafe methods."""

    param_name = "sessionid"

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            request.api_token = None  # type: ignore[attr-defined]
            return user
        return None


def require_scope(request: HttpRequest, scope: str) -> None:
    """Tokens carry a scope; session users act with their own rights."""
    token: ApiToken | None = getattr(request, "api_token", None)
    if token is not None and not token.allows(Scope(scope)):
        raise ScopeError(f"this token's scope is {token.scope!r}; {scope!r} is needed")


def token_desk_ids(request: HttpRequest) -> set[int] | None:
    """Desks a token is limited to (None: no limit beyond the user's own rights)."""
    token: ApiToken | None = getattr(request, "api_token", None)
    if token is None:
        return None
    # Asked once or twice per request: remembered on the token row, which lives one request.
    cached: set[int] | None = getattr(token, "_regdesk_desk_ids", None)
    if cached is None:
        through = ApiToken.desks.through.objects.filter(apitoken_id=token.pk)
        cached = set(through.values_list("desk_id", flat=True))
        token._regdesk_desk_ids = cached  # type: ignore[attr-defined]
    return set(cached) or None
