"""The directory: customer organisations, people, agents, products and devices."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from regdesk.desks.models import Desk


class Organisation(models.Model):
    """A customer company. Its tier is one of the regulation's tiers (e.g. gold)."""

    name = models.CharField(_("name"), max_length=200)
    desks = models.ManyToManyField(Desk, related_name="organisations", verbose_name=_("desks"))
    tier = models.CharField(_("tier"), max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    """A requester: someone who opens and follows requests."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="person",
    )
    full_name = models.CharField(_("full name"), max_length=200)
    organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="people",
        verbose_name=_("organisation"),
    )
    is_organisation_manager = models.BooleanField(
        _("organisation manager"),
        default=False,
        help_text=_("Sees every request of the organisation."),
    )
    login = models.CharField(
        _("login in the product"), max_length=200, blank=True, help_text=_("For identification.")
    )
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    telegram_user_id = models.BigIntegerField(
        _("Telegram user id"), null=True, blank=True, unique=True
    )
    telegram_username = models.CharField(_("Telegram username"), max_length=64, blank=True)
    desks = models.ManyToManyField(Desk, blank=True, related_name="people", verbose_name=_("desks"))
    bounced_at = models.DateTimeField(_("last bounce"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["full_name"]

    def __str__(self) -> str:
        return self.full_name

    @property
    def primary_email(self) -> str:
        emails = list(self.emails.all())
        for item in emails:
            if item.is_primary:
                return item.address
        return emails[0].address if emails else ""


class PersonEmail(models.Model):
    """A registered address: only these are official for the person (per regulation)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="emails")
    address = models.EmailField(_("address"), unique=True)
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        verbose_name = _("registered email address")
        verbose_name_plural = _("registered email addresses")

    def save(self, *args: object, **kwargs: object) -> None:
        self.address = self.address.strip().lower()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return self.address


class Agent(models.Model):
    """A support specialist."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent"
    )
    language = models.CharField(_("language"), max_length=8, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class AgentMembership(models.Model):
    """An agent works on a desk, optionally in a line and/or team (ids from the regulation)."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="memberships")
    desk = models.ForeignKey(Desk, on_delete=models.CASCADE, related_name="memberships")
    line = models.CharField(_("line"), max_length=64, blank=True)
    team = models.CharField(_("team"), max_length=64, blank=True)
    is_lead = models.BooleanField(_("lead"), default=False)

    class Meta:
        verbose_name = _("desk membership")
        verbose_name_plural = _("desk memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "desk", "line", "team"], name="unique_membership"
            )
        ]


class Product(models.Model):
    """A product of the desk (from the regulation's lifecycle section or entered by hand)."""

    desk = models.ForeignKey(Desk, on_delete=models.CASCADE, related_name="products")
    code = models.CharField(_("code"), max_length=64)
    title = models.CharField(_("title"), max_length=200)
    support_years = models.PositiveSmallIntegerField(
        _("support period, years"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [models.UniqueConstraint(fields=["desk", "code"], name="unique_product")]

    def __str__(self) -> str:
        return self.title


class ProductVersion(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(_("version"), max_length=64)
    released = models.DateField(_("release date"))

    class Meta:
        verbose_name = _("product version")
        verbose_name_plural = _("product versions")
        constraints = [
            models.UniqueConstraint(fields=["product", "version"], name="unique_product_version")
        ]

    def __str__(self) -> str:
        return f"{self.product} {self.version}"


class Device(models.Model):
    """A customer's device or installation (meter, base station, PBX) with ID and serial."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="devices",
        verbose_name=_("organisation"),
    )
    device_id = models.CharField(_("device ID"), max_length=100)
    serial = models.CharField(_("serial number"), max_length=100, blank=True)
    model = models.CharField(_("model"), max_length=100, blank=True)
    name = models.CharField(_("name"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        constraints = [
            models.UniqueConstraint(fields=["organisation", "device_id"], name="unique_device")
        ]

    def __str__(self) -> str:
        label = self.name or self.model or self.device_id
        return f"{label} ({self.device_id}{', ' + self.serial if self.serial else ''})"
