"""Organisations, people, devices and products, as far as the caller may see them.

Agents see the directory of their desks; a requester sees their own organisation.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from ninja import Router

from regdesk.api.auth import require_scope
from regdesk.api.schemas import DeviceOut, OrganisationOut, PersonOut, ProductOut
from regdesk.api.tickets import agent_desks
from regdesk.core.regulation import support_end
from regdesk.directory.models import Device, Organisation, Person, Product

router = Router(tags=["directory"])


def visible_organisations(request: HttpRequest) -> QuerySet[Organisation]:
    desks = agent_desks(request)
    visible = Q(desks__in=desks) if desks else Q(pk__in=[])
    person = getattr(request.user, "person", None)
    if person is not None and person.organisation_id is not None:
        visible |= Q(pk=person.organisation_id)
    return Organisation.objects.filter(visible).distinct()


def visible_people(request: HttpRequest) -> QuerySet[Person]:
    desks = agent_desks(request)
    visible = Q(desks__in=desks) | Q(organisation__desks__in=desks) if desks else Q(pk__in=[])
    person = getattr(request.user, "person", None)
    if person is not None:
        visible |= Q(pk=person.pk)
        if person.is_organisation_manager and person.organisation_id is not None:
            visible |= Q(organisation_id=person.organisation_id)
    return Person.objects.filter(visible).distinct()


@router.get("/organisations", response=list[OrganisationOut])
def organisation_list(request: HttpRequest, q: str = "") -> list[dict[str, Any]]:
    require_scope(request, "read")
    rows = visible_organisations(request).order_by("name")
    if q:
        rows = rows.filter(name__icontains=q)
    return [{"id": o.pk, "name": o.name, "tier": o.tier} for o in rows[:500]]


@router.get("/organisations/{org_id}", response=OrganisationOut)
def organisation_get(request: HttpRequest, org_id: int) -> dict[str, Any]:
    require_scope(request, "read")
    org = visible_organisations(request).filter(pk=org_id).first()
    if org is None:
        raise Http404
    return {"id": org.pk, "name": org.name, "tier": org.tier}


def _person_out(person: Person) -> dict[str, Any]:
    return {
        "id": person.pk,
        "full_name": person.full_name,
        "organisation": person.organisation.name if person.organisation else None,
        "emails": [e.address for e in person.emails.all()],
        "language": person.language,
    }


@router.get("/people", response=list[PersonOut])
def person_list(request: HttpRequest, q: str = "") -> list[dict[str, Any]]:
    require_scope(request, "read")
    rows = visible_people(request).select_related("organisation").prefetch_related("emails")
    if q:
        rows = rows.filter(Q(full_name__icontains=q) | Q(emails__address__icontains=q))
    return [_person_out(p) for p in rows.order_by("full_name")[:500]]


@router.get("/people/{person_id}", response=PersonOut)
def person_get(request: HttpRequest, person_id: int) -> dict[str, Any]:
    require_scope(request, "read")
    person = visible_people(request).filter(pk=person_id).first()
    if person is None:
        raise Http404
    return _person_out(person)


@router.get("/devices", response=list[DeviceOut])
def device_list(request: HttpRequest, organisation: int | None = None) -> list[dict[str, Any]]:
    require_scope(request, "read")
    rows = Device.objects.filter(organisation__in=visible_organisations(request)).select_related(
        "organisation"
    )
    if organisation is not None:
        rows = rows.filter(organisation_id=organisation)
    return [
        {
            "id": d.pk,
            "organisation": d.organisation.name,
            "device_id": d.device_id,
            "serial": d.serial,
            "model": d.model,
            "name": d.name,
        }
        for d in rows.order_by("organisation__name", "device_id")[:1000]
    ]


@router.get("/products", response=list[ProductOut], summary="Products and support lifecycle")
def product_list(request: HttpRequest) -> list[dict[str, Any]]:
    require_scope(request, "read")
    from regdesk.api.desks import usable_desks

    desks = usable_desks(request)
    rows = (
        Product.objects.filter(desk__in=desks).select_related("desk").prefetch_related("versions")
    )
    out = []
    for product in rows.order_by("desk__slug", "code"):
        versions = []
        for item in product.versions.order_by("released"):
            until = (
                support_end(item.released, product.support_years) if product.support_years else None
            )
            versions.append(
                {
                    "version": item.version,
                    "released": item.released.isoformat(),
                    "supported_until": until.isoformat() if until else None,
                }
            )
        out.append(
            {
                "code": product.code,
                "desk": product.desk.slug,
                "title": product.title,
                "support_years": product.support_years,
                "versions": versions,
            }
        )
    return out
