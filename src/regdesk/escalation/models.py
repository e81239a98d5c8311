"""Escalation steps that have run: one row per ticket, clock cycle and step (so once each)."""

from __future__ import annotations

from django.db import models

from regdesk.tickets.models import Ticket


class EscalationRun(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="escalations")
    clock = models.CharField(max_length=32)
    cycle_started_at = models.DateTimeField()
    # -1 is an alarm channel's implicit step (escalate at once): a positive field refused it, so
    # on both databases the alarm step was never recorded, and never ran.
    step = models.SmallIntegerField(
        help_text="Index of the step in the regulation; -1 for an alarm channel's step."
    )
    percent = models.PositiveSmallIntegerField()
    ran_at = models.DateTimeField()
    actions = models.JSONField(default=dict)

    class Meta:
        ordering = ["ran_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "clock", "cycle_started_at", "step"], name="escalation_once"
            )
        ]


class PeriodicJob(models.Model):
    """A periodic job's next run, claimed with a conditional update so one worker runs it."""

    name = models.CharField(max_length=64, unique=True)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)
