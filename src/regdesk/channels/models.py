"""Every inbound message is stored raw before it is processed, once per channel and key.

``Inbound`` is the intake's journal: the original bytes (an email as received, a Telegram
update's JSON), where it came from, and what became of it. Processing is idempotent: the unique
(channel, key) makes the same Message-ID or Telegram update one row, and a row is processed at most
once; one that fails is quarantined with its error and can be run again.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from regdesk.desks.models import Desk
from regdesk.tickets.models import Ticket


class Inbound(models.Model):
    class State(models.TextChoices):
        RECEIVED = "received", _("received")
        PROCESSED = "processed", _("processed")
        QUARANTINED = "quarantined", _("quarantined")

    class Outcome(models.TextChoices):
        NONE = "", _("not yet")
        TICKET = "ticket", _("registered a request")
        FOLLOW_UP = "follow_up", _("added to a request")
        CONSULTATION = "consultation", _("logged as a consultation")
        REFUSED = "refused", _("not registered")
        QUARANTINED = "quarantined", _("quarantined")

    channel = models.CharField(_("channel"), max_length=20)
    key = models.CharField(
        _("key"), max_length=255, help_text=_("Message-ID, or the Telegram bot and update id.")
    )
    source = models.CharField(
        _("source"), max_length=200, help_text=_("imap:mailbox, lmtp, cli, telegram:bot…")
    )
    desk = models.ForeignKey(
        Desk, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound"
    )
    envelope_to = models.CharField(
        _("delivered to"), max_length=254, blank=True, help_text=_("The envelope recipient.")
    )
    sender = models.CharField(_("sender"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    participants = models.JSONField(
        _("participants"), default=list, blank=True, help_text=_("Addresses in To and Cc.")
    )
    raw = models.BinaryField(_("original"))
    received_at = models.DateTimeField(_("received"), db_index=True)
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.RECEIVED
    )
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.NONE, blank=True
    )
    result = models.CharField(
        _("result"), max_length=300, blank=True, help_text=_("What the CLI prints.")
    )
    error = models.TextField(_("error"), blank=True)
    warnings = models.JSONField(default=list, blank=True)
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "key"], name="inbound_unique_key")
        ]
        indexes = [
            models.Index(fields=["state", "received_at"]),
            models.Index(fields=["ticket"]),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.key}: {self.result or self.state}"


class Mailbox(models.Model):
    """An IMAP mailbox a desk polls for requests."""

    desk = models.ForeignKey(Desk, on_delete=models.CASCADE, related_name="mailboxes")
    address = models.EmailField(
        _("address"), blank=True, help_text=_("The support address this mailbox receives.")
    )
    host = models.CharField(_("IMAP host"), max_length=200)
    port = models.PositiveIntegerField(_("port"), default=993)
    security = models.CharField(
        _("security"),
        max_length=10,
        choices=[("ssl", "SSL/TLS"), ("starttls", "STARTTLS"), ("none", _("none (local only)"))],
        default="ssl",
    )
    username = models.CharField(_("user name"), max_length=200)
    password_encrypted = models.BinaryField(_("password (encrypted)"), blank=True, default=b"")
    folder = models.CharField(_("folder"), max_length=200, default="INBOX")
    delete_after_import = models.BooleanField(
        _("delete after import"),
        default=False,
        help_text=_("Otherwise imported messages are marked as read and left in the mailbox."),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    last_polled_at = models.DateTimeField(_("last polled"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("IMAP mailbox")
        verbose_name_plural = _("IMAP mailboxes")

    def __str__(self) -> str:
        return f"{self.username}@{self.host}/{self.folder}"


class AutoAnswer(models.Model):
    """An automatic answer sent to a sender: the rate limit counts these."""

    desk = models.ForeignKey(Desk, on_delete=models.CASCADE, related_name="+")
    address = models.CharField(max_length=254)
    reason = models.CharField(max_length=40)
    inbound = models.ForeignKey(Inbound, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["address", "at"])]
