"""A desk's Telegram bot, the one-time codes that link a person's account, and the state of each
chat's conversation (kept in the database so a restart loses nothing)."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

from regdesk.desks.models import Desk
from regdesk.directory.models import Person
from regdesk.tickets import crypto

DEFAULT_API_BASE_URL = "https://api.telegram.org"


def _webhook_secret() -> str:
    # Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and -: token_urlsafe's alphabet.
    return secrets.token_urlsafe(32)


class TelegramBot(models.Model):
    class Mode(models.TextChoices):
        WEBHOOK = "webhook", _("webhook")
        POLLING = "polling", _("long polling")

    desk = models.ForeignKey(Desk, on_delete=models.CASCADE, related_name="telegram_bots")
    username = models.CharField(
        _("bot username"), max_length=64, unique=True, help_text=_("Without the @.")
    )
    token_encrypted = models.BinaryField(_("token (encrypted)"), editable=False, default=b"")
    webhook_secret = models.CharField(
        _("webhook secret"), max_length=256, default=_webhook_secret, editable=False
    )
    mode = models.CharField(_("mode"), max_length=10, choices=Mode.choices, default=Mode.WEBHOOK)
    api_base_url = models.URLField(
        _("Bot API server"),
        default=DEFAULT_API_BASE_URL,
        help_text=_("Change only for a self-hosted Bot API server."),
    )
    update_offset = models.BigIntegerField(
        _("next update id"), default=0, editable=False, help_text=_("Long polling offset.")
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    last_polled_at = models.DateTimeField(_("last polled"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Telegram bot")
        verbose_name_plural = _("Telegram bots")

    def __str__(self) -> str:
        return f"@{self.username}"

    @property
    def token(self) -> str:
        return crypto.decrypt(self.token_encrypted) if self.token_encrypted else ""

    def set_token(self, token: str) -> None:
        self.token_encrypted = crypto.encrypt(token.strip())


class TelegramLinkCode(models.Model):
    """A one-time code from the portal: ``/start <code>`` links the sender to the person."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    desk = models.ForeignKey(Desk, on_delete=models.CASCADE, related_name="+")
    code = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Telegram link code")
        verbose_name_plural = _("Telegram link codes")


class TelegramConversation(models.Model):
    """Where a chat stands: linking questions, or a request being put together step by step."""

    class State(models.TextChoices):
        IDLE = "", _("idle")
        IDENTIFY_EMAIL = "identify_email", _("asked for the email address")
        IDENTIFY_LOGIN = "identify_login", _("asked for the login")
        CHOOSE_TYPE = "choose_type", _("choosing the request type")
        SUBJECT = "subject", _("asked for the subject")
        DESCRIPTION = "description", _("asked for the description")
        FIELD = "field", _("asked for a field")
        CONFIRM = "confirm", _("asked to confirm")

    bot = models.ForeignKey(TelegramBot, on_delete=models.CASCADE, related_name="conversations")
    chat_id = models.BigIntegerField()
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.IDLE, blank=True)
    data = models.JSONField(default=dict, blank=True)
    failed_identifications = models.PositiveSmallIntegerField(default=0)
    last_failed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Telegram conversation")
        verbose_name_plural = _("Telegram conversations")
        constraints = [
            models.UniqueConstraint(fields=["bot", "chat_id"], name="telegram_conversation_chat")
        ]

    def __str__(self) -> str:
        return f"{self.bot} chat {self.chat_id}: {self.state or 'idle'}"
