"""Calls and chats logged by agents (consultations, coordination, or the start of a ticket)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Router, Schema
from pydantic import Field

from regdesk.api.auth import require_scope
from regdesk.api.desks import get_desk
from regdesk.consultations.models import Consultation
from regdesk.consultations.selectors import consultations_for_agent
from regdesk.consultations.services import consultation_log
from regdesk.directory.models import Person
from regdesk.tickets.selectors import is_agent_of
from regdesk.tickets.services import TicketError

router = Router(tags=["consultations"])


class ConsultationIn(Schema):
    channel: str = Field(description="A phone/chat/social channel id of the regulation.")
    summary: str = Field(min_length=1, max_length=300)
    notes: str = ""
    person_id: int | None = None
    contact: str = Field(default="", max_length=200)
    ticket: str | None = Field(default=None, description="Reference of the ticket it concerns.")
    open_ticket_type: str | None = Field(
        default=None, description="Open a request of this type from it (where allowed)."
    )
    minutes: int | None = Field(default=None, ge=0, le=24 * 60)


class ConsultationOut(Schema):
    id: int
    desk: str
    channel: str
    summary: str
    notes: str
    person: str | None
    contact: str
    agent: str
    at: str
    duration_seconds: int | None
    ticket: str | None
    opened_ticket: bool


def _out(row: Consultation) -> dict[str, Any]:
    return {
        "id": row.pk,
        "desk": row.desk.slug,
        "channel": row.channel,
        "summary": row.summary,
        "notes": row.notes,
        "person": row.person.full_name if row.person else None,
        "contact": row.contact,
        "agent": row.agent.get_username(),
        "at": row.at.isoformat(),
        "duration_seconds": row.duration_seconds,
        "ticket": row.ticket.reference if row.ticket else None,
        "opened_ticket": row.opened_ticket,
    }


def _agent_desk(request: HttpRequest, slug: str) -> Any:
    desk = get_desk(request, slug)
    if not is_agent_of(request.user, desk.pk):
        raise Http404
    return desk


@router.get("/desks/{slug}/consultations", response=list[ConsultationOut])
def consultation_list(request: HttpRequest, slug: str, q: str = "") -> list[dict[str, Any]]:
    desk = _agent_desk(request, slug)
    require_scope(request, "read")
    rows = consultations_for_agent(user=request.user, desk=desk, q=q)  # type: ignore[arg-type]
    return [_out(row) for row in rows[:500]]


@router.post("/desks/{slug}/consultations", response={201: ConsultationOut})
def consultation_create(
    request: HttpRequest, slug: str, payload: ConsultationIn
) -> tuple[int, dict[str, Any]]:
    desk = _agent_desk(request, slug)
    require_scope(request, "write")
    person = None
    if payload.person_id is not None:
        person = Person.objects.filter(pk=payload.person_id).first()
        if person is None:
            raise TicketError("No such person.", {"person_id": "unknown"})
    ticket = None
    if payload.ticket:
        ticket = desk.tickets.filter(reference=payload.ticket.upper()).first()
        if ticket is None:
            raise TicketError("No such ticket on this desk.", {"ticket": "unknown"})
    row = consultation_log(
        desk=desk,
        agent=request.user,  # type: ignore[arg-type]
        channel=payload.channel,
        summary=payload.summary,
        notes=payload.notes,
        person=person,
        contact=payload.contact,
        ticket=ticket,
        open_ticket=(
            {"request_type": payload.open_ticket_type} if payload.open_ticket_type else None
        ),
        duration=timedelta(minutes=payload.minutes) if payload.minutes is not None else None,
    )
    return 201, _out(row)
