"""Tickets under a regulation: messages, attachments, secrets and the append-only event log.

Rows are written only by the services in ``regdesk.tickets.services``.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from regdesk.desks.models import Desk, RegulationVersion
from regdesk.directory.models import Organisation, Person


class Status(models.TextChoices):
    NEW = "new", _("New")
    ACCEPTED = "accepted", _("Accepted")
    WAITING_FOR_CUSTOMER = "waiting_for_customer", _("Waiting for customer")
    ANSWERED = "answered", _("Answered")
    RESOLVED = "resolved", _("Resolved")
    REFUSED = "refused", _("Refused")
    MERGED = "merged", _("Merged")


OPEN_STATUSES = (
    Status.NEW,
    Status.ACCEPTED,
    Status.WAITING_FOR_CUSTOMER,
    Status.ANSWERED,
)
CLOSED_STATUSES = (Status.RESOLVED, Status.REFUSED, Status.MERGED)


def _public_key() -> str:
    return secrets.token_urlsafe(18)


class Ticket(models.Model):
    desk = models.ForeignKey(Desk, on_delete=models.PROTECT, related_name="tickets")
    number = models.PositiveIntegerField(editable=False)
    reference = models.CharField(_("number"), max_length=32, unique=True, editable=False)
    public_key = models.CharField(max_length=32, unique=True, default=_public_key, editable=False)
    regulation_version = models.ForeignKey(
        RegulationVersion, on_delete=models.PROTECT, related_name="tickets"
    )
    request_type = models.CharField(_("request type"), max_length=64)
    fields = models.JSONField(_("fields"), default=dict, blank=True)
    missing_fields = models.JSONField(default=list, blank=True)
    subject = models.CharField(_("subject"), max_length=300)
    requester = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("requester")
    )
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    channel = models.CharField(_("channel"), max_length=64)
    status = models.CharField(
        _("status"), max_length=32, choices=Status.choices, default=Status.NEW, db_index=True
    )
    priority = models.CharField(_("priority"), max_length=64)
    proposed_priority = models.CharField(
        _("priority proposed by the requester"), max_length=64, blank=True
    )
    tier = models.CharField(_("tier"), max_length=64, blank=True)
    line = models.CharField(_("line"), max_length=64, blank=True)
    team = models.CharField(_("team"), max_length=64, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
    )
    language = models.CharField(_("language"), max_length=8, blank=True)
    refusal_reason = models.CharField(_("refusal reason"), max_length=64, blank=True)
    out_of_lifecycle = models.BooleanField(_("out of support lifecycle"), default=False)
    lifecycle_note = models.CharField(max_length=300, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_tickets"
    )
    split_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="split_tickets"
    )
    created_at = models.DateTimeField(_("created"), db_index=True)
    updated_at = models.DateTimeField(_("updated"))
    resolved_at = models.DateTimeField(null=True, blank=True)

    # Stored clock state, recomputed by regdesk.core on every event.
    next_due_at = models.DateTimeField(_("next due"), null=True, blank=True)
    next_due_clock = models.CharField(max_length=32, blank=True)
    breached = models.BooleanField(_("breached"), default=False)
    clock_state = models.JSONField(default=dict, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["desk", "number"], name="unique_ticket_number")
        ]
        indexes = [
            models.Index(fields=["desk", "status", "next_due_at"], name="ticket_queue_idx"),
            models.Index(fields=["assignee", "status", "next_due_at"], name="ticket_mine_idx"),
            models.Index(fields=["requester", "created_at"], name="ticket_requester_idx"),
            models.Index(fields=["organisation", "created_at"], name="ticket_org_idx"),
            models.Index(fields=["next_check_at"], name="ticket_next_check_idx"),
            # The agents' queues: open tickets of a desk in due order, read without a sort.
            models.Index(
                fields=["desk", "next_due_at", "created_at", "id"],
                name="ticket_open_due_idx",
                condition=models.Q(
                    status__in=["new", "accepted", "waiting_for_customer", "answered"]
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class Message(models.Model):
    class Kind(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        AGENT = "agent", _("Support")
        NOTE = "note", _("Internal note")
        SYSTEM = "system", _("System")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    channel = models.CharField(max_length=64, blank=True)
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"])]

    @property
    def is_public(self) -> bool:
        return self.kind != self.Kind.NOTE


def _attachment_path(instance: Attachment, filename: str) -> str:
    """A month's folder per desk, the file's random prefix before its name (the name it is
    downloaded under is ``filename``). A folder per file cost a directory's creation per file,
    as much as writing the file."""
    month = timezone.now().strftime("%Y-%m")
    return (
        f"attachments/{instance.message.ticket.desk.slug}/{month}/{secrets.token_hex(8)}-{filename}"
    )


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=_attachment_path, max_length=400)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)

    def __str__(self) -> str:
        return self.filename


class TicketSecret(models.Model):
    """A secret field value (e.g. SSH access), encrypted at rest; reveals are logged."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="secrets")
    field_id = models.CharField(max_length=64)
    ciphertext = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "field_id"], name="unique_ticket_secret")
        ]


class TicketEvent(models.Model):
    """Append-only log of every change with actor and time ("all requests are documented")."""

    class Kind(models.TextChoices):
        CREATED = "created", _("registered")
        CUSTOMER_MESSAGE = "customer_message", _("customer message")
        AGENT_REPLY = "agent_reply", _("reply by support")
        INTERNAL_NOTE = "internal_note", _("internal note")
        STATUS = "status", _("status changed")
        PRIORITY = "priority", _("priority changed")
        TIER = "tier", _("tier changed")
        LINE = "line", _("line changed")
        TEAM = "team", _("team changed")
        TYPE = "type", _("request type changed")
        ASSIGNED = "assigned", _("assigned")
        AGREED_TARGET = "agreed_target", _("target agreed")
        RESOLVED = "resolved", _("resolved")
        REOPENED = "reopened", _("reopened")
        FIELDS = "fields", _("fields changed")
        SPLIT = "split", _("split")
        MERGED = "merged", _("merged")
        SECRET_REVEALED = "secret_revealed", _("secret revealed")
        CONSULTATION = "consultation", _("call or chat logged")
        ACKNOWLEDGED = "acknowledged", _("confirmation sent")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    at = models.DateTimeField(db_index=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    public = models.BooleanField(default=False, help_text=_("Shown to the requester."))

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["ticket", "at"])]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("ticket events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("ticket events are append-only")

    @property
    def actor_name(self) -> str:
        if self.actor_user is not None:
            return self.actor_user.get_full_name() or self.actor_user.get_username()
        if self.actor_person is not None:
            return self.actor_person.full_name
        return "regdesk"


class TicketSearch(models.Model):
    """PostgreSQL full-text document of a ticket (SQLite uses the FTS5 table `tickets_fts`)."""

    ticket = models.OneToOneField(
        Ticket, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    document = SearchVectorField()

    class Meta:
        db_table = "tickets_search"
        required_db_vendor = "postgresql"
        indexes = [GinIndex(fields=["document"], name="tickets_search_document")]


class CannedReply(models.Model):
    desk = models.ForeignKey(
        Desk, null=True, blank=True, on_delete=models.CASCADE, related_name="canned_replies"
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    language = models.CharField(_("language"), max_length=8, blank=True)

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title
