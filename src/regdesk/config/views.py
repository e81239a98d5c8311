from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from regdesk.directory.services import user_language_set
from regdesk.tickets.selectors import agent_desk_ids


def home(request: HttpRequest) -> HttpResponse:
    """Agents land in the workspace, everyone else in the customer portal."""
    if agent_desk_ids(request.user):
        return redirect("workspace:queue")
    return redirect("portal:home")


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """The language menu: remember the choice on the person/agent, then Django's cookie."""
    user_language_set(user=request.user, language=request.POST.get("language", ""))
    return set_language(request)
