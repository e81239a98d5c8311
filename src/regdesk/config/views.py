from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from regdesk.tickets.selectors import agent_desk_ids


def home(request: HttpRequest) -> HttpResponse:
    """Agents land in the workspace, everyone else in the customer portal."""
    if agent_desk_ids(request.user):
        return redirect("workspace:queue")
    return redirect("portal:home")
