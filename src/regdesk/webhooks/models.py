"""Webhook subscriptions per desk and the log of every delivery attempt."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from regdesk.desks.models import Desk
from regdesk.tickets.models import Ticket, TicketEvent


class WebhookSubscription(models.Model):
    desk = models.ForeignKey(Desk, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(_("target URL"), max_length=500)
    secret_ciphertext = models.BinaryField(help_text=_("The signing secret, encrypted at rest."))
    events = models.JSONField(
        _("events"), default=list, blank=True, help_text=_("Ticket event kinds; empty: all.")
    )
    allow_private = models.BooleanField(
        _("allow private addresses"),
        default=False,
        help_text=_("Set by an administrator to deliver to loopback, private or link-local hosts."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["desk", "url"]

    def __str__(self) -> str:
        return f"{self.desk.slug} → {self.url}"

    def wants(self, kind: str) -> bool:
        return not self.events or kind in self.events


class WebhookDelivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed (will retry)")
        GAVE_UP = "gave_up", _("gave up")

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(TicketEvent, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32)
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event"], name="webhook_once")
        ]
        indexes = [models.Index(fields=["state", "created_at"])]
