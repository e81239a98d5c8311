"""One ticket: the page, its attachments and secrets (each reveal is logged by the service)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.http import require_POST, require_safe

from regdesk.notifications.selectors import notifications_for_ticket
from regdesk.tickets.models import Attachment, Status, Ticket
from regdesk.tickets.selectors import is_agent_of
from regdesk.tickets.services import TicketError, secret_reveal
from regdesk.workspace import forms as wf
from regdesk.workspace.access import agent_required, is_htmx
from regdesk.workspace.presenters import (
    channel_title,
    clock_badges,
    event_summary,
    field_labels,
    field_rows,
    priority_title,
    type_title,
    unit_title,
)
from regdesk.workspace.selectors import (
    canned_replies_for,
    desk_agents,
    ticket_conversation,
    ticket_for_agent,
    ticket_log,
    ticket_secret_ids,
    workspace_tickets,
)
from regdesk.workspace.views.queues import sidebar_context

ACTION_FORMS: dict[str, type[wf.TicketForm]] = {
    "accept": wf.EmptyForm,
    "assign": wf.AssignForm,
    "priority": wf.PriorityForm,
    "team": wf.TeamForm,
    "line": wf.LineForm,
    "return": wf.ReturnForm,
    "reply": wf.ReplyForm,
    "note": wf.NoteForm,
    "resolve": wf.EmptyForm,
    "refuse": wf.RefuseForm,
    "split": wf.SplitForm,
    "merge": wf.MergeForm,
    "agree": wf.AgreeTargetForm,
    "fields": wf.FieldsForm,
}


@dataclass(frozen=True)
class Failed:
    """An action that did not go through: its bound form and the service's message."""

    action: str
    form: wf.TicketForm
    message: str


def assignable_agents(ticket: Ticket, user: Any) -> list[User]:
    agents = list(desk_agents(desk_ids=[ticket.desk_id]))
    if user.pk not in {a.pk for a in agents} and is_agent_of(user, ticket.desk_id):
        agents.insert(0, user)  # a superuser works on every desk without a membership
    return agents


def action_form(
    name: str, ticket: Ticket, user: Any, data: Any = None, files: Any = None
) -> wf.TicketForm:
    kwargs: dict[str, Any] = {"ticket": ticket}
    if name == "assign":
        kwargs["agents"] = assignable_agents(ticket, user)
    return ACTION_FORMS[name](data, files, **kwargs)


def panel_context(
    request: HttpRequest,
    ticket: Ticket,
    *,
    failed: Failed | None = None,
    notice: str = "",
    revealed: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Everything the ticket panel shows; ``failed`` keeps a failed action's input and error."""
    version = ticket.regulation_version
    regulation = version.regulation
    lang = get_language() or "en"
    secret_ids = ticket_secret_ids(ticket)
    rows = field_rows(ticket, regulation, lang=lang, secret_ids=secret_ids, revealed=revealed)
    badges = clock_badges(ticket, regulation, lang=lang, now=timezone.now())
    forms = {name: action_form(name, ticket, request.user) for name in ACTION_FORMS}
    if failed is not None:
        forms[failed.action] = failed.form
    labels = field_labels(regulation, lang)
    return {
        "ticket": ticket,
        "regulation": regulation,
        "version": version,
        "is_open": ticket.is_open,
        "can_accept": ticket.status == Status.NEW,
        "titles": {
            "priority": priority_title(regulation, ticket.priority, lang),
            "proposed_priority": priority_title(regulation, ticket.proposed_priority, lang),
            "tier": unit_title(regulation, "tiers", ticket.tier, lang),
            "line": unit_title(regulation, "lines", ticket.line, lang),
            "team": unit_title(regulation, "teams", ticket.team, lang),
            "channel": channel_title(regulation, ticket.channel, lang),
            "type": type_title(regulation, ticket.request_type, lang),
        },
        "badges": badges,
        "can_agree": any(b.agreed for b in badges),
        "field_rows": rows,
        "missing_rows": [row for row in rows if row.missing],
        "conversation": ticket_conversation(ticket),
        "events": [
            (event, event_summary(event, regulation, lang, labels)) for event in ticket_log(ticket)
        ],
        "canned_replies": canned_replies_for(ticket),
        "notifications": notifications_for_ticket(ticket=ticket),
        "forms": forms,
        "failed": failed,
        "notice": notice,
    }


def render_ticket(
    request: HttpRequest, ticket: Ticket, *, partial: bool, **panel: Any
) -> HttpResponse:
    context = panel_context(request, ticket, **panel)
    if partial:
        return render(request, "workspace/ticket/_panel.html", context)
    context.update(sidebar_context(request, current=None))
    return render(request, "workspace/ticket.html", context)


@require_safe
@agent_required
def ticket_view(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = ticket_for_agent(user=request.user, reference=reference)
    return render_ticket(request, ticket, partial=False)


@require_POST
@agent_required
def secret_reveal_view(request: HttpRequest, reference: str, field_id: str) -> HttpResponse:
    ticket = ticket_for_agent(user=request.user, reference=reference)
    try:
        value = secret_reveal(ticket=ticket, field_id=field_id, user=request.user)  # type: ignore[arg-type]
    except TicketError as error:
        if is_htmx(request):
            return render(request, "workspace/ticket/_secret.html", {"error": error.message})
        raise Http404(error.message) from None
    if is_htmx(request):
        response = render(request, "workspace/ticket/_secret.html", {"value": value})
    else:
        response = render_ticket(request, ticket, partial=False, revealed={field_id: value})
    response["Cache-Control"] = "no-store"
    return response


@require_safe
@agent_required
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    """An attachment of a ticket the agent works on, always as a download (never inline)."""
    attachment = get_object_or_404(
        Attachment.objects.select_related("message"),
        pk=pk,
        message__ticket__in=workspace_tickets(user=request.user),
    )
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type or "application/octet-stream",
    )
