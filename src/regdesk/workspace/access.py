"""Who may use the workspace: agents only (superusers count as agents of every desk)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from regdesk.tickets.selectors import agent_desk_ids

View = Callable[..., HttpResponse]


def agent_required(view: View) -> View:
    """Anonymous users go to the login page; signed-in users who are not agents get 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not agent_desk_ids(request.user):
            raise PermissionDenied("The workspace is for agents.")
        return view(request, *args, **kwargs)

    return wrapper


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"
