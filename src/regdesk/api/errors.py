"""One error shape for the whole API: {"error": {"code", "message", "fields": {...}}}."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from regdesk.api.auth import RateLimited, ScopeError
from regdesk.core.loader import RegulationError
from regdesk.desks.selectors import NoRegulationError
from regdesk.tickets.services import TicketError

PARAM_LOCATIONS = {"body", "query", "path", "form", "file", "header", "cookie"}
CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    429: "rate_limited",
}


def error_body(status: int, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "error": {"code": CODES.get(status, "error"), "message": message, "fields": fields or {}}
    }


def install(api: NinjaAPI) -> None:
    def respond(
        request: HttpRequest, status: int, message: str, fields: dict[str, Any] | None = None
    ) -> HttpResponse:
        return api.create_response(request, error_body(status, message, fields), status=status)

    @api.exception_handler(ValidationError)
    def validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        fields: dict[str, str] = {}
        for item in exc.errors:
            loc = [str(part) for part in item.get("loc", ())]
            # Ninja prefixes the parameter's location and name: ("body", "payload", "subject").
            if loc and loc[0] in PARAM_LOCATIONS:
                loc = loc[1:]
            if loc and loc[0] == "payload":
                loc = loc[1:]
            fields[".".join(loc) or "request"] = str(item.get("msg", "invalid"))
        return respond(request, 422, "The request is not valid.", fields)

    @api.exception_handler(TicketError)
    def ticket_error(request: HttpRequest, exc: TicketError) -> HttpResponse:
        return respond(request, 422 if exc.errors else 409, exc.message, exc.errors)

    @api.exception_handler(RegulationError)
    def regulation_error(request: HttpRequest, exc: RegulationError) -> HttpResponse:
        fields = {f"{p.path or 'document'}": f"line {p.line}: {p.message}" for p in exc.problems}
        return respond(request, 422, "The regulation is not valid.", fields)

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return respond(request, 404, "Not found.")

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = respond(request, 401, "Authentication required: a Bearer token or a session.")
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(ScopeError)
    def scope(request: HttpRequest, exc: ScopeError) -> HttpResponse:
        return respond(request, 403, str(exc))

    @api.exception_handler(PermissionDenied)
    def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return respond(request, 403, str(exc) or "Not allowed.")

    @api.exception_handler(RateLimited)
    def rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
        response = respond(request, 429, str(exc))
        response["Retry-After"] = str(exc.retry_after)
        return response

    @api.exception_handler(NoRegulationError)
    def no_regulation(request: HttpRequest, exc: NoRegulationError) -> HttpResponse:
        return respond(request, 409, str(exc))

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return respond(request, exc.status_code, str(exc))
