"""Desks and the regulation versions that govern them."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from regdesk.core.clocks import RegulationClocks, clocks_for
from regdesk.core.loader import load_regulation_text
from regdesk.core.regulation import Regulation


class Desk(models.Model):
    """One support desk (a company's support, or a regional local support service)."""

    slug = models.SlugField(_("slug"), unique=True)
    name = models.CharField(_("name"), max_length=200)
    ticket_prefix = models.CharField(
        _("ticket number prefix"),
        max_length=10,
        unique=True,
        help_text=_("WAV gives numbers like WAV-000123; unique, since numbers are."),
    )
    next_number = models.PositiveIntegerField(default=1, editable=False)
    email_address = models.EmailField(_("support address"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    has_webhooks = models.BooleanField(
        default=False, editable=False, help_text="Kept by the webhook services: skip the lookup."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("desk")
        verbose_name_plural = _("desks")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Saving a desk never writes its number counter: a desk loaded before tickets were
        created (an admin form, a long-lived object) must not set it back."""
        if self.pk is not None and not self._state.adding and "update_fields" not in kwargs:
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name != "next_number"
            ]
        super().save(*args, **kwargs)
        _forget()

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        result = super().delete(*args, **kwargs)
        _forget()
        return result


def _forget() -> None:
    """This process's remembered desks (``desk_active``) are read again after a change."""
    from regdesk.desks.selectors import desks_forget

    desks_forget()


class RegulationVersion(models.Model):
    """A published version of a desk's regulation; every version is kept."""

    desk = models.ForeignKey(Desk, on_delete=models.CASCADE, related_name="regulation_versions")
    version = models.CharField(_("version"), max_length=64)
    source = models.TextField(_("regulation YAML"))
    sha256 = models.CharField(max_length=64, editable=False)
    effective_from = models.DateTimeField(_("effective from"))
    published_at = models.DateTimeField(_("published at"), auto_now_add=True)
    published_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("regulation version")
        verbose_name_plural = _("regulation versions")
        ordering = ["desk", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["desk", "version"], name="unique_desk_version")
        ]
        indexes = [models.Index(fields=["desk", "effective_from"])]

    def __str__(self) -> str:
        return f"{self.desk.slug} {self.version}"

    @property
    def regulation(self) -> Regulation:
        return _parse(self.sha256 or hashlib.sha256(self.source.encode()).hexdigest(), self.source)

    @property
    def clocks(self) -> RegulationClocks:
        return clocks_for(self.regulation)


@lru_cache(maxsize=128)
def _parse(digest: str, source: str) -> Regulation:
    del digest  # part of the cache key only
    return load_regulation_text(source, file="regulation.yaml")
