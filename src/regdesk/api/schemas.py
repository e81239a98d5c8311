"""API schemas (pydantic via Django Ninja). Instants are ISO 8601 strings with an offset."""

from __future__ import annotations

from typing import Any, Literal

from ninja import Schema
from pydantic import BaseModel, Field


class ErrorDetail(Schema):
    code: str
    message: str
    fields: dict[str, Any] = {}


class ErrorOut(Schema):
    error: ErrorDetail


class DeskOut(Schema):
    slug: str
    name: str
    ticket_prefix: str
    regulation_version: str
    effective_from: str


class RegulationOut(Schema):
    desk: str
    name: str
    version: str
    effective_from: str
    languages: list[str]
    yaml: str
    rendered: str


class ChoiceOut(Schema):
    id: str
    title: str


class FieldOut(Schema):
    id: str
    kind: str
    label: str
    help: str
    required: bool
    required_when: dict[str, Any] | None
    shown_when: dict[str, Any] | None
    choices: list[ChoiceOut]


class RequestTypeOut(Schema):
    id: str
    title: str
    description: str
    fields: list[FieldOut]


class ClockOut(Schema):
    clock: str
    state: str
    due: str | None
    met_at: str | None
    breached: bool
    breached_by_seconds: int | None
    business_seconds: int
    target: dict[str, Any] | None
    calendar: str
    explanation: str


class PersonRef(BaseModel):
    id: int
    name: str


# The ticket endpoints build plain dicts (``regdesk.api.tickets.ticket_out``): validated as
# plain pydantic models, without Ninja's attribute-resolving wrapper around every field, which
# cost more than the whole query of a 50-ticket page.
class TicketOut(BaseModel):
    reference: str
    desk: str
    status: str
    priority: str
    proposed_priority: str
    request_type: str
    subject: str
    fields: dict[str, Any]
    missing_fields: list[str]
    requester: PersonRef
    organisation: str | None
    tier: str
    line: str
    team: str
    assignee: str | None
    channel: str
    language: str
    regulation_version: str
    created_at: str
    updated_at: str
    resolved_at: str | None
    next_due_at: str | None
    next_due_clock: str
    breached: bool
    out_of_lifecycle: bool
    lifecycle_note: str
    merged_into: str | None
    split_from: str | None


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None


class TicketCreateIn(Schema):
    desk: str = Field(description="Desk slug.")
    request_type: str
    subject: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=100_000)
    fields: dict[str, Any] = {}
    priority: str | None = Field(default=None, description="Proposed priority.")
    channel: str | None = Field(
        default=None, description="Regulation channel id; default: the desk's API channel."
    )
    requester_email: str | None = Field(
        default=None, description="Agents and integrations: the requester's registered address."
    )
    language: str = ""


class AttachmentOut(Schema):
    id: int
    filename: str
    size: int
    content_type: str


class MessageOut(Schema):
    id: int
    kind: str
    author: str
    channel: str
    body: str
    created_at: str
    attachments: list[AttachmentOut]


# The statuses a public reply may leave the ticket in (as in the workspace's reply form).
ReplyStatus = Literal["answered", "accepted", "waiting_for_customer", "resolved"]


class ReplyIn(Schema):
    body: str = Field(min_length=1, max_length=100_000)
    status_after: ReplyStatus | None = "answered"


class TextIn(Schema):
    body: str = Field(min_length=1, max_length=100_000)


class PriorityIn(Schema):
    priority: str
    reason: str = Field(min_length=1, max_length=1000)


class UnitIn(Schema):
    value: str = Field(default="", max_length=64, description="Empty to clear.")


class AssignIn(Schema):
    assignee: str | None = Field(default=None, description="Username; null to unassign.")


class ReturnIn(Schema):
    missing: list[str] = []
    body: str = ""


class RefuseIn(Schema):
    reason: str
    body: str = ""


class SplitPart(Schema):
    subject: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1)


class SplitIn(Schema):
    parts: list[SplitPart] = Field(min_length=1, max_length=20)


class MergeIn(Schema):
    into: str = Field(description="Reference of the ticket to merge into.")


class AgreedTargetIn(Schema):
    clock: str
    hours: float = Field(gt=0, le=10_000)


class FieldsIn(Schema):
    fields: dict[str, Any]


class EventOut(Schema):
    id: int
    kind: str
    at: str
    actor: str
    public: bool
    data: dict[str, Any]


class OrganisationOut(Schema):
    id: int
    name: str
    tier: str


class PersonOut(Schema):
    id: int
    full_name: str
    organisation: str | None
    emails: list[str]
    language: str


class DeviceOut(Schema):
    id: int
    organisation: str
    device_id: str
    serial: str
    model: str
    name: str


class ProductVersionOut(Schema):
    version: str
    released: str
    supported_until: str | None


class ProductOut(Schema):
    code: str
    desk: str
    title: str
    support_years: int | None
    versions: list[ProductVersionOut]
