"""The intake journal: what arrived by email and Telegram, what became of it, and the
quarantine with one-click re-runs."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from regdesk.channels.models import Inbound
from regdesk.channels.selectors import inbound_for_agent
from regdesk.channels.services import inbound_retry
from regdesk.workspace.access import agent_required
from regdesk.workspace.views.queues import sidebar_context


@agent_required
def inbound_view(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    if state not in Inbound.State.values:
        state = ""
    q = request.GET.get("q", "")
    rows = inbound_for_agent(user=request.user, state=state, q=q)  # type: ignore[arg-type]
    quarantined = inbound_for_agent(user=request.user, state=Inbound.State.QUARANTINED)  # type: ignore[arg-type]
    context = {
        "rows": rows[:200],
        "state": state,
        "states": Inbound.State.choices,
        "q": q,
        "quarantined": quarantined.count(),
        **sidebar_context(request, current=None),
    }
    return render(request, "workspace/inbound.html", context)


def _visible(request: HttpRequest, pk: int) -> Inbound:
    row = inbound_for_agent(user=request.user).filter(pk=pk).first()  # type: ignore[arg-type]
    if row is None:
        raise Http404
    return row


@agent_required
@require_POST
def inbound_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    row = inbound_retry(inbound_id=_visible(request, pk).pk)
    if row.state == Inbound.State.PROCESSED:
        messages.success(request, _("Processed: %(result)s") % {"result": row.result})
    else:
        messages.error(request, _("Still quarantined: %(result)s") % {"result": row.result})
    return redirect("workspace:inbound")


@agent_required
def inbound_original_view(request: HttpRequest, pk: int) -> HttpResponse:
    row = Inbound.objects.get(pk=_visible(request, pk).pk)
    extension = "eml" if row.channel == "email" else "json"
    kind = "message/rfc822" if extension == "eml" else "application/json"
    response = HttpResponse(bytes(row.raw), content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="inbound-{row.pk}.{extension}"'
    return response
