from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from regdesk.telegram.models import TelegramBot, TelegramConversation


class TelegramBotForm(forms.ModelForm):
    """The token is typed in clear and stored encrypted; left empty, the stored one stays."""

    token = forms.CharField(
        label=_("token"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("From @BotFather. Stored encrypted; leave empty to keep the current one."),
    )

    api_base_url = forms.URLField(
        label=_("Bot API server"),
        initial="https://api.telegram.org",
        assume_scheme="https",
        help_text=_("Change only for a self-hosted Bot API server."),
    )

    class Meta:
        model = TelegramBot
        fields = ["desk", "username", "token", "mode", "api_base_url", "enabled"]

    def clean_username(self) -> str:
        return str(self.cleaned_data["username"]).strip().lstrip("@")

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        if not cleaned.get("token") and not (self.instance.pk and self.instance.token_encrypted):
            self.add_error("token", _("Enter the bot's token."))
        return cleaned

    def save(self, commit: bool = True) -> TelegramBot:
        bot: TelegramBot = super().save(commit=False)
        if self.cleaned_data.get("token"):
            bot.set_token(self.cleaned_data["token"])
        if commit:
            bot.save()
        return bot


@admin.register(TelegramBot)
class TelegramBotAdmin(admin.ModelAdmin):
    form = TelegramBotForm
    list_display = ["username", "desk", "mode", "enabled", "last_polled_at"]
    list_filter = ["desk", "mode", "enabled"]
    readonly_fields = ["webhook_secret", "update_offset", "last_polled_at"]


@admin.register(TelegramConversation)
class TelegramConversationAdmin(admin.ModelAdmin):
    list_display = ["bot", "chat_id", "person", "state", "updated_at"]
    list_filter = ["bot", "state"]
    readonly_fields = ["bot", "chat_id", "person", "state", "data", "updated_at"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
