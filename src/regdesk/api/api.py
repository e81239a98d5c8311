"""The REST API, version 1: /api/v1/ (OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs)."""

from __future__ import annotations

from ninja import NinjaAPI

from regdesk.api import consultations, desks, directory, errors, tickets, webhooks
from regdesk.api.auth import SessionAuth, TokenAuth

api = NinjaAPI(
    title="regdesk API",
    version="1",
    description=(
        "Everything the portal and the workspace can do. Authenticate with a personal token "
        "(`Authorization: Bearer rdk_…`) or the site's session. Errors have one shape: "
        '`{"error": {"code", "message", "fields"}}`. Instants are ISO 8601 with an offset.'
    ),
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api-v1",
)
errors.install(api)
api.add_router("", desks.router)
api.add_router("", tickets.router)
api.add_router("", directory.router)
api.add_router("", webhooks.router)
api.add_router("", consultations.router)
errors.document(api)
