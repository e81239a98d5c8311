from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelegramConfig(AppConfig):
    name = "regdesk.telegram"
    verbose_name = _("Telegram")

    def ready(self) -> None:
        from regdesk.channels.services import handler_register
        from regdesk.telegram.services import telegram_inbound_handle

        handler_register("telegram", telegram_inbound_handle)
