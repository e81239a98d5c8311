from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from regdesk.channels.models import Inbound, Mailbox
from regdesk.tickets import crypto


class MailboxForm(forms.ModelForm):  # type: ignore[type-arg]
    password = forms.CharField(
        label=_("password"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Stored encrypted; leave empty to keep the current one."),
    )

    class Meta:
        model = Mailbox
        exclude = ["password_encrypted", "last_polled_at", "last_error"]


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = MailboxForm
    list_display = ["__str__", "desk", "address", "enabled", "last_polled_at", "last_error"]
    list_filter = ["desk", "enabled"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if form.cleaned_data.get("password"):
            obj.password_encrypted = crypto.encrypt(form.cleaned_data["password"])
        super().save_model(request, obj, form, change)


@admin.register(Inbound)
class InboundAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["received_at", "channel", "desk", "sender", "subject", "state", "result"]
    list_filter = ["channel", "state", "desk"]
    search_fields = ["sender", "subject", "key", "result"]
    exclude = ["raw"]
    readonly_fields = [f.name for f in Inbound._meta.fields if f.name != "raw"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
