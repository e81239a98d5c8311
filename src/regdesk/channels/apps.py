from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    name = "regdesk.channels"
    verbose_name = _("Channels: email and Telegram")

    def ready(self) -> None:
        from regdesk.channels import email_intake  # noqa: F401  (registers the email handler)
