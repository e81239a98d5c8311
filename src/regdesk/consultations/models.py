"""Calls, chats and other unofficial contacts that agents log.

Depending on the regulation's channel, a contact is a consultation (logged and counted, not a
registered request), a coordination note on an existing ticket, or the start of a ticket.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from regdesk.desks.models import Desk
from regdesk.directory.models import Person
from regdesk.tickets.models import Ticket


class Consultation(models.Model):
    desk = models.ForeignKey(Desk, on_delete=models.PROTECT, related_name="consultations")
    channel = models.CharField(_("channel"), max_length=64)
    person = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="consultations",
        verbose_name=_("person"),
    )
    contact = models.CharField(
        _("contact"), max_length=200, blank=True, help_text=_("Name, phone or address given.")
    )
    summary = models.CharField(_("summary"), max_length=300)
    notes = models.TextField(_("notes"), blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("agent"),
        help_text=_("Who logged it; empty when it arrived by email from an unofficial sender."),
    )
    at = models.DateTimeField(_("when"), db_index=True)
    duration_seconds = models.PositiveIntegerField(_("duration, seconds"), null=True, blank=True)
    ticket = models.ForeignKey(
        Ticket,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="consultations",
        verbose_name=_("ticket"),
        help_text=_("The ticket this contact coordinated, or opened."),
    )
    opened_ticket = models.BooleanField(_("opened the ticket"), default=False)

    class Meta:
        verbose_name = _("consultation")
        verbose_name_plural = _("consultations")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["desk", "at"])]

    def __str__(self) -> str:
        return f"{self.channel}: {self.summary}"
