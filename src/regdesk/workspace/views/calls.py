"""Calls and chats: log one in a few seconds, find and count them."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from regdesk.consultations.selectors import consultation_counts, consultations_for_agent
from regdesk.consultations.services import consultation_log, contact_channels
from regdesk.desks.selectors import regulation_current
from regdesk.directory.models import Person
from regdesk.tickets.services import TicketError
from regdesk.workspace.access import agent_required
from regdesk.workspace.selectors import agent_desks
from regdesk.workspace.views.queues import sidebar_context


@agent_required
def calls_view(request: HttpRequest) -> HttpResponse:
    desks = list(agent_desks(user=request.user))
    chosen = next(
        (d for d in desks if d.slug == request.GET.get("desk")), desks[0] if desks else None
    )
    errors: dict[str, str] = {}
    values = request.POST if request.method == "POST" else {}
    if request.method == "POST" and chosen is not None:
        person = None
        if request.POST.get("person"):
            person = Person.objects.filter(pk=request.POST["person"]).first()
        ticket = None
        reference = request.POST.get("ticket", "").strip().upper()
        if reference:
            ticket = chosen.tickets.filter(reference=reference).first()
            if ticket is None:
                errors["ticket"] = _("No ticket %(ref)s on this desk.") % {"ref": reference}
        minutes = request.POST.get("minutes", "").strip()
        if not errors:
            try:
                consultation_log(
                    desk=chosen,
                    agent=request.user,  # type: ignore[arg-type]
                    channel=request.POST.get("channel", ""),
                    summary=request.POST.get("summary", ""),
                    notes=request.POST.get("notes", ""),
                    person=person,
                    contact=request.POST.get("contact", ""),
                    ticket=ticket,
                    open_ticket=(
                        {"request_type": request.POST.get("request_type", "")}
                        if request.POST.get("open_ticket")
                        else None
                    ),
                    duration=timedelta(minutes=int(minutes)) if minutes.isdigit() else None,
                )
            except TicketError as error:
                errors = error.errors or {"summary": error.message}
            else:
                messages.success(request, _("The call is logged."))
                return redirect(f"{request.path}?desk={chosen.slug}")
    rows = consultations_for_agent(user=request.user, desk=chosen, q=request.GET.get("q", ""))  # type: ignore[arg-type]
    regulation = regulation_current(desk=chosen).regulation if chosen else None
    context = {
        "desks": desks,
        "desk": chosen,
        "channels": contact_channels(desk=chosen) if chosen else [],
        "request_types": regulation.request_types if regulation else [],
        "people": Person.objects.filter(desks=chosen).order_by("full_name")[:500] if chosen else [],
        "rows": rows[:200],
        "counts": consultation_counts(rows=rows),
        "errors": errors,
        "values": values,
        "q": request.GET.get("q", ""),
        **sidebar_context(request, current=None),
    }
    return render(request, "workspace/calls.html", context, status=400 if errors else 200)
