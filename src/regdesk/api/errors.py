"""One error shape for the whole API: {"error": {"code", "message", "fields": {...}}}."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from regdesk.api.auth import RateLimited, ScopeError
from regdesk.api.schemas import ErrorOut
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


# The error statuses every operation documents (as ErrorOut), and those that depend on its
# inputs and method; see ``document``.
ALWAYS = (401, 403, 429)
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
BODY_SOURCES = {"body", "form", "file"}


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


def error_statuses(path: str, methods: list[str], sources: set[str]) -> list[int]:
    """The error statuses an operation can answer with, from its path, methods and inputs.

    401/403/429: authentication, scope and rate limit (every operation); 400: a body that does
    not parse; 404: an object in the path, or one named in the body, the caller cannot see; 409:
    an action the ticket's state (or the desk's regulation) does not allow; 422: input that does
    not validate, as a map of fields.
    """
    statuses = set(ALWAYS)
    unsafe = bool(UNSAFE_METHODS & set(methods))
    if sources & BODY_SOURCES:
        statuses.add(400)
    if "{" in path or unsafe:
        statuses.add(404)
    if unsafe or path.startswith("/desks/{"):
        statuses.add(409)
    if sources or unsafe:
        statuses.add(422)
    return sorted(statuses)


def document(api: NinjaAPI) -> None:
    """Declare the error responses (ErrorOut) of every operation of the routers added so far.

    The handlers above answer errors themselves, so this changes only the OpenAPI document (and
    lets a view return ``(404, error_body(...))``). Call it after the last ``add_router``.
    """
    for _prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                sources = {model.__ninja_param_source__ for model in operation.models}
                for status in error_statuses(path, operation.methods, sources):
                    if status not in operation.response_models:
                        operation.response_models[status] = operation._create_response_model(
                            ErrorOut
                        )
