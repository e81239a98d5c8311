"""``regdesk telegram``: long polling and the webhook of a desk's bot."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

telegram_app = typer.Typer(help="Run a desk's Telegram bot.", no_args_is_help=True)


def _bot(desk: str) -> Any:
    from regdesk.cli import _django_setup, _fail

    _django_setup()
    from regdesk.telegram.models import TelegramBot

    bot = TelegramBot.objects.select_related("desk").filter(desk__slug=desk, enabled=True).first()
    if bot is None:
        _fail(f"no enabled Telegram bot for desk {desk!r} (add one in the admin)")
    return bot


@telegram_app.command("poll")
def telegram_poll(
    desk: Annotated[str, typer.Option(help="The desk's slug.")],
    once: Annotated[bool, typer.Option("--once", help="One getUpdates round, then stop.")] = False,
    timeout: Annotated[int, typer.Option(help="Long polling timeout, seconds.")] = 30,
) -> None:
    """Take the bot's updates by long polling (the webhook is switched off first)."""
    from regdesk.telegram.botapi import webhook_delete
    from regdesk.telegram.services import telegram_poll_once

    bot = _bot(desk)
    webhook_delete(bot)
    if bot.mode != bot.Mode.POLLING:
        bot.mode = bot.Mode.POLLING
        bot.save(update_fields=["mode"])
    while True:
        try:
            rows = telegram_poll_once(bot=bot, timeout=0 if once else timeout)
        except Exception as exc:  # the network or Telegram: say so, wait, go on
            if once:
                raise
            typer.echo(f"regdesk: polling failed: {type(exc).__name__}: {exc}", err=True)
            time.sleep(5)
            continue
        for row in rows:
            typer.echo(f"{row.key} {row.result or row.state}")
        if once:
            return


@telegram_app.command("set-webhook")
def telegram_set_webhook(
    desk: Annotated[str, typer.Option(help="The desk's slug.")],
    url: Annotated[str, typer.Option(help="Public URL (default: REGDESK_BASE_URL's).")] = "",
) -> None:
    """Tell Telegram to post the bot's updates to the desk's webhook."""
    from regdesk.telegram.services import telegram_webhook_set

    bot = _bot(desk)
    typer.echo(f"webhook: {telegram_webhook_set(bot=bot, url=url)}")
