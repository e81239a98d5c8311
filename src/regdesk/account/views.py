"""The signed-in user's own settings: API tokens and (agents) notification preferences."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from regdesk.account.forms import TokenForm
from regdesk.api.models import ApiToken
from regdesk.api.services import token_create, token_revoke
from regdesk.core.regulation import NotificationEvent
from regdesk.desks.selectors import desks_usable_by
from regdesk.notifications.models import NotificationPreference
from regdesk.notifications.services import AGENT_EVENTS, preferences_set
from regdesk.tickets.selectors import agent_desk_ids


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    desks = desks_usable_by(user=request.user)
    form = TokenForm(request.POST or None, desks=desks)
    created = None
    if request.method == "POST" and form.is_valid():
        _, created = token_create(
            user=request.user,  # type: ignore[arg-type]
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            desks=form.cleaned_data["desks"],
            expires_at=form.expires_at(),
        )
        form = TokenForm(desks=desks)
    rows = ApiToken.objects.filter(user=request.user).prefetch_related("desks")
    return render(
        request, "account/tokens.html", {"form": form, "tokens": rows, "created": created}
    )


@require_POST
@login_required
def token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    token_revoke(token=token)
    messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("account:tokens")


@login_required
def notification_settings(request: HttpRequest) -> HttpResponse:
    if not agent_desk_ids(request.user):
        return redirect("portal:home")
    events = [event for event in NotificationEvent if event in AGENT_EVENTS]
    if request.method == "POST":
        preferences_set(
            user=request.user,  # type: ignore[arg-type]
            enabled={event.value: f"event-{event.value}" in request.POST for event in events},
        )
        messages.success(request, _("Your notification settings are saved."))
        return redirect("account:notifications")
    off = set(
        NotificationPreference.objects.filter(user=request.user, enabled=False).values_list(
            "event", flat=True
        )
    )
    rows = [(event, event.value not in off) for event in events]
    return render(request, "account/notifications.html", {"rows": rows})
