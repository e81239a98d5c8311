"""Desks, their published regulation and request types (so a client can build the form)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from ninja import Router

from regdesk.api.auth import require_scope, token_desk_ids
from regdesk.api.schemas import DeskOut, RegulationOut, RequestTypeOut
from regdesk.core.regulation import Condition, local_text
from regdesk.core.render import render_regulation
from regdesk.desks.models import Desk
from regdesk.desks.selectors import desks_usable_by, regulation_current

router = Router(tags=["desks"])


def usable_desks(request: HttpRequest) -> list[Desk]:
    """Desks the caller works on or may open requests at, within the token's desks."""
    desks = desks_usable_by(user=request.user)
    limit = token_desk_ids(request)
    if limit is not None:
        desks = desks.filter(id__in=limit)
    return list(desks)


def get_desk(request: HttpRequest, slug: str) -> Desk:
    for desk in usable_desks(request):
        if desk.slug == slug:
            return desk
    raise Http404


def _desk_out(desk: Desk) -> dict[str, Any]:
    version = regulation_current(desk=desk)
    return {
        "slug": desk.slug,
        "name": desk.name,
        "ticket_prefix": desk.ticket_prefix,
        "regulation_version": version.version,
        "effective_from": version.effective_from.isoformat(),
    }


@router.get("/desks", response=list[DeskOut])
def desk_list(request: HttpRequest) -> list[dict[str, Any]]:
    require_scope(request, "read")
    return [_desk_out(desk) for desk in usable_desks(request)]


@router.get("/desks/{slug}", response=DeskOut)
def desk_get(request: HttpRequest, slug: str) -> dict[str, Any]:
    require_scope(request, "read")
    return _desk_out(get_desk(request, slug))


@router.get(
    "/desks/{slug}/regulation",
    response=RegulationOut,
    summary="The published regulation: YAML and rendered text",
)
def desk_regulation(request: HttpRequest, slug: str, lang: str = "en") -> dict[str, Any]:
    require_scope(request, "read")
    version = regulation_current(desk=get_desk(request, slug))
    regulation = version.regulation
    return {
        "desk": slug,
        "name": regulation.name,
        "version": version.version,
        "effective_from": version.effective_from.isoformat(),
        "languages": regulation.languages,
        "yaml": version.source,
        "rendered": render_regulation(regulation, lang=lang),
    }


def _condition(condition: Condition | None) -> dict[str, Any] | None:
    return condition.model_dump(exclude_none=True) if condition is not None else None


@router.get(
    "/desks/{slug}/request-types",
    response=list[RequestTypeOut],
    summary="Request types with their field definitions",
)
def desk_request_types(request: HttpRequest, slug: str, lang: str = "en") -> list[dict[str, Any]]:
    require_scope(request, "read")
    regulation = regulation_current(desk=get_desk(request, slug)).regulation
    out = []
    for rtype in regulation.request_types:
        fields = [
            {
                "id": spec.id,
                "kind": spec.kind.value,
                "label": local_text(spec.label, lang),
                "help": local_text(spec.help, lang),
                "required": spec.required,
                "required_when": _condition(spec.required_when),
                "shown_when": _condition(spec.shown_when),
                "choices": [{"id": c.id, "title": local_text(c.title, lang)} for c in spec.choices],
            }
            for spec in regulation.fields_for(rtype.id)
        ]
        out.append(
            {
                "id": rtype.id,
                "title": local_text(rtype.title, lang),
                "description": local_text(rtype.description, lang),
                "fields": fields,
            }
        )
    return out
