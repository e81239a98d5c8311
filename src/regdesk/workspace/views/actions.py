"""Ticket actions: each parses one form and calls ONE service, then re-renders the panel.

With htmx the panel comes back in place (errors inline in the action's form); without it a
success redirects to the ticket page and a failure renders the page with the error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from regdesk.tickets import services
from regdesk.tickets.models import Ticket
from regdesk.tickets.services import TicketError
from regdesk.workspace import forms as wf
from regdesk.workspace.access import agent_required, is_htmx
from regdesk.workspace.selectors import ticket_for_agent
from regdesk.workspace.views.tickets import Failed, action_form, render_ticket

# An action gets the ticket, its valid form and the acting agent; it may return a notice.
Action = Callable[[Ticket, Any, User], str | None]


def _accept(ticket: Ticket, form: wf.EmptyForm, user: User) -> str | None:
    services.ticket_accept(ticket=ticket, actor=user)
    return None


def _assign(ticket: Ticket, form: wf.AssignForm, user: User) -> str | None:
    services.ticket_assign(ticket=ticket, actor=user, assignee=form.assignee_user())
    return None


def _priority(ticket: Ticket, form: wf.PriorityForm, user: User) -> str | None:
    data = form.cleaned_data
    services.ticket_change_priority(
        ticket=ticket, actor=user, priority=data["priority"], reason=data["reason"]
    )
    return None


def _team(ticket: Ticket, form: wf.TeamForm, user: User) -> str | None:
    services.ticket_change_team(ticket=ticket, actor=user, team=form.cleaned_data["team"])
    return None


def _line(ticket: Ticket, form: wf.LineForm, user: User) -> str | None:
    services.ticket_change_line(ticket=ticket, actor=user, line=form.cleaned_data["line"])
    return None


def _return(ticket: Ticket, form: wf.ReturnForm, user: User) -> str | None:
    services.ticket_return_for_information(
        ticket=ticket,
        actor=user,
        missing=list(form.cleaned_data["missing"]),
        body=form.cleaned_data["body"],
    )
    return None


def _reply(ticket: Ticket, form: wf.ReplyForm, user: User) -> str | None:
    data = form.cleaned_data
    services.ticket_reply(
        ticket=ticket,
        author=user,
        body=data["body"],
        attachments=data["attachments"],
        status_after=data["status_after"],
    )
    return None


def _note(ticket: Ticket, form: wf.NoteForm, user: User) -> str | None:
    services.ticket_note(ticket=ticket, author=user, body=form.cleaned_data["body"])
    return None


def _resolve(ticket: Ticket, form: wf.EmptyForm, user: User) -> str | None:
    services.ticket_resolve(ticket=ticket, actor_user=user)
    return None


def _refuse(ticket: Ticket, form: wf.RefuseForm, user: User) -> str | None:
    data = form.cleaned_data
    services.ticket_refuse(ticket=ticket, actor=user, reason=data["reason"], body=data["body"])
    return None


def _split(ticket: Ticket, form: wf.SplitForm, user: User) -> str | None:
    created = services.ticket_split(ticket=ticket, actor=user, parts=form.cleaned_data["parts"])
    return _("Opened %(references)s.") % {"references": ", ".join(t.reference for t in created)}


def _merge(ticket: Ticket, form: wf.MergeForm, user: User) -> str | None:
    reference = form.cleaned_data["target"]
    try:
        target = ticket_for_agent(user=user, reference=reference)
    except Http404:
        raise TicketError(
            _("There is no ticket %(reference)s on this desk.") % {"reference": reference},
            {"target": _("Unknown ticket number.")},
        ) from None
    services.ticket_merge(source=ticket, target=target, actor=user)
    return _("Merged into %(reference)s.") % {"reference": target.reference}


def _agree(ticket: Ticket, form: wf.AgreeTargetForm, user: User) -> str | None:
    data = form.cleaned_data
    services.ticket_set_agreed_target(
        ticket=ticket, actor=user, clock=data["clock"], hours=data["hours"]
    )
    return None


def _fields(ticket: Ticket, form: wf.FieldsForm, user: User) -> str | None:
    services.ticket_update_fields(ticket=ticket, actor=user, fields=form.changes())
    return None


ACTIONS: dict[str, Action] = {
    "accept": _accept,
    "assign": _assign,
    "priority": _priority,
    "team": _team,
    "line": _line,
    "return": _return,
    "reply": _reply,
    "note": _note,
    "resolve": _resolve,
    "refuse": _refuse,
    "split": _split,
    "merge": _merge,
    "agree": _agree,
    "fields": _fields,
}


def _put_errors(form: wf.TicketForm, error: TicketError) -> None:
    for key, text in error.errors.items():
        if key in form.fields:
            form.add_error(key, text)
        else:
            form.add_error(None, f"{key}: {text}")


@require_POST
@agent_required
def ticket_action(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    perform = ACTIONS.get(action)
    if perform is None:
        raise Http404("No such action")
    user: User = request.user  # type: ignore[assignment]
    ticket = ticket_for_agent(user=user, reference=reference)
    form = action_form(action, ticket, user, request.POST, request.FILES)
    message = _("Check the form.")
    if form.is_valid():
        try:
            notice = perform(ticket, form, user)
        except TicketError as error:
            message = error.message
            _put_errors(form, error)
        else:
            return _done(request, reference, notice or "")
    failed = Failed(action=action, form=form, message=message)
    return render_ticket(request, ticket, partial=is_htmx(request), failed=failed)


def _done(request: HttpRequest, reference: str, notice: str) -> HttpResponse:
    ticket = ticket_for_agent(user=request.user, reference=reference)  # as the service left it
    if not is_htmx(request):
        if notice:
            messages.success(request, notice)
        return redirect("workspace:ticket", reference=ticket.reference)
    response = render_ticket(request, ticket, partial=True, notice=notice)
    response["HX-Trigger"] = "ticket-changed"
    return response
