"""The interface language follows the person's setting, then the browser (LocaleMiddleware)."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation


class PersonLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.known = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        language = ""
        if user is not None and user.is_authenticated:
            agent = getattr(user, "agent", None)
            person = getattr(user, "person", None)
            language = (agent.language if agent else "") or (person.language if person else "")
        if language in self.known:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


class BrowserTimezoneMiddleware:
    """Times render in the viewer's zone: the IANA name the browser reports (cookie ``tz``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from regdesk.portal.selectors import customer_zone

        zone = customer_zone(cookie=request.COOKIES.get("tz"), fallback=ZoneInfo("UTC"))
        timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
