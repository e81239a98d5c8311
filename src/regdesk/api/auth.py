"""API authentication: personal tokens (Bearer) or the site's session (with CSRF)."""

from __future__ import annotations

import pickle
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import prefetch_related_objects
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import APIKeyCookie, HttpBearer

from regdesk.api.models import ApiToken, Scope
from regdesk.api.services import token_digest
from regdesk.tickets.selectors import agent_desk_ids


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


# What a token stands for (the token row, its user with their person, organisation and agent
# rows, the desks the user works on and those the token is limited to), remembered by this
# process for a few seconds: reading it is three queries whose building costs a third of a
# small request's CPU. Each request gets its own copy (unpickled), so nothing a request changes
# in memory leaks into the next. A token revoked here is forgotten at once; another process
# refuses it, and sees a user deactivated or a membership changed, within the TTL.
_principals: dict[str, tuple[float, bytes]] = {}
_PRINCIPALS_MAX = 10_000


def principal_forget(digest: str | None = None) -> None:
    """Forget one token's remembered principal (all of them with None)."""
    if digest is None:
        _principals.clear()
    else:
        _principals.pop(digest, None)


def _principal(digest: str) -> ApiToken | None:
    ttl = settings.REGDESK_API_AUTH_CACHE_SECONDS
    now = time.monotonic()
    hit = _principals.get(digest) if ttl > 0 else None
    if hit is not None and hit[0] > now:
        row: ApiToken = pickle.loads(hit[1])  # this process's own bytes, never input
        return row
    # The token with its user, and the user's person (with their organisation) and agent
    # rows, which the endpoints ask for next.
    found = (
        ApiToken.objects.select_related("user__person__organisation", "user__agent")
        .filter(digest=digest)
        .first()
    )
    if found is None:
        _principals.pop(digest, None)
        return None
    moment = timezone.now()
    if found.last_used_at is None or moment - found.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=moment)
        found.last_used_at = moment
    agent_desk_ids(found.user)  # remembered on the user
    person = getattr(found.user, "person", None)
    if person is not None:  # the requester's addresses, which registering a request reads
        prefetch_related_objects([person], "emails")
    _desk_ids(found)  # remembered on the token
    if ttl > 0:
        if len(_principals) >= _PRINCIPALS_MAX:
            _principals.clear()
        _principals[digest] = (now + ttl, pickle.dumps(found))
    return found


class TokenAuth(HttpBearer):
    """``Authorization: Bearer rdk_…``"""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        row = _principal(token_digest(token))
        # checked on every request: an expired token is refused at its instant
        if row is None or not row.active or not row.user.is_active:
            return None
        _rate_limit(row)
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
    return _desk_ids(token) or None


def _desk_ids(token: ApiToken) -> set[int]:
    # Remembered on the token row (a request's own copy, or the principal remembered above).
    cached: set[int] | None = getattr(token, "_regdesk_desk_ids", None)
    if cached is None:
        through = ApiToken.desks.through.objects.filter(apitoken_id=token.pk)
        cached = set(through.values_list("desk_id", flat=True))
        token._regdesk_desk_ids = cached  # type: ignore[attr-defined]
    return set(cached)
