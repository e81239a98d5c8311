"""Calls to the Bot API through python-telegram-bot, from sync code (views, tasks, the CLI).

Each call opens the library's ``Bot`` against the bot's ``api_base_url`` (Telegram, a
self-hosted Bot API server, or the tests' local server) and runs it with ``asyncio.run``; nothing
here touches the database, so the coroutines never meet the ORM.
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import telegram
from telegram.error import BadRequest
from telegram.warnings import PTBUserWarning

from regdesk.telegram.models import TelegramBot

T = TypeVar("T")

# Telegram refuses longer messages; the rest of a longer text follows in further messages.
MESSAGE_LIMIT = 4096
# What the bot asks Telegram for (webhook and polling alike).
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]


def bot_client(bot: TelegramBot) -> telegram.Bot:
    base = bot.api_base_url.rstrip("/")
    return telegram.Bot(bot.token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot")


def bot_run(bot: TelegramBot, work: Callable[[telegram.Bot], Awaitable[T]]) -> T:
    """Run ``work`` with an initialised client of ``bot``; Bot API errors propagate."""
    client = bot_client(bot)

    async def session() -> T:
        async with client:
            return await work(client)

    return asyncio.run(session())


Buttons = list[list[tuple[str, str]]]  # rows of (label, callback data)


@dataclass
class Reply:
    text: str
    buttons: Buttons | None = None


@dataclass
class Outbox:
    """What the bot says in one chat while handling one update; sent together at the end."""

    chat_id: int
    replies: list[Reply] = field(default_factory=list)
    callback_answers: list[tuple[str, str]] = field(default_factory=list)  # (query id, text)
    keyboards_to_clear: list[int] = field(default_factory=list)  # message ids

    def say(self, text: str, buttons: Buttons | None = None) -> None:
        self.replies.append(Reply(text, buttons))


def _markup(buttons: Buttons | None) -> telegram.InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return telegram.InlineKeyboardMarkup(
        [
            [telegram.InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in buttons
        ]
    )


def text_parts(text: str) -> list[str]:
    text = text.strip() or "…"
    return [text[i : i + MESSAGE_LIMIT] for i in range(0, len(text), MESSAGE_LIMIT)]


def outbox_send(bot: TelegramBot, outbox: Outbox) -> None:
    if not (outbox.replies or outbox.callback_answers or outbox.keyboards_to_clear):
        return

    async def send(client: telegram.Bot) -> None:
        for query_id, text in outbox.callback_answers:
            await client.answer_callback_query(query_id, text=text or None)
        for message_id in outbox.keyboards_to_clear:
            # already cleared, or too old to edit: then its buttons just do nothing
            with contextlib.suppress(BadRequest):
                await client.edit_message_reply_markup(
                    chat_id=outbox.chat_id, message_id=message_id, reply_markup=None
                )
        for reply in outbox.replies:
            parts = text_parts(reply.text)
            for n, part in enumerate(parts):
                markup = _markup(reply.buttons) if n == len(parts) - 1 else None
                await client.send_message(chat_id=outbox.chat_id, text=part, reply_markup=markup)

    bot_run(bot, send)


def message_send(bot: TelegramBot, *, chat_id: int, text: str) -> list[int]:
    """Send a text (in parts when long); the sent messages' ids."""

    async def send(client: telegram.Bot) -> list[int]:
        sent = []
        for part in text_parts(text):
            message = await client.send_message(chat_id=chat_id, text=part)
            sent.append(message.message_id)
        return sent

    return bot_run(bot, send)


def file_download(bot: TelegramBot, file_id: str) -> bytes:
    """A file's bytes: getFile, then the download from the file URL it gives."""

    async def fetch(client: telegram.Bot) -> bytes:
        remote = await client.get_file(file_id)
        return bytes(await remote.download_as_bytearray())

    return bot_run(bot, fetch)


def updates_fetch(bot: TelegramBot, *, offset: int, timeout: int = 0) -> list[dict[str, Any]]:
    """getUpdates as Telegram sends them (the raw JSON objects, so they are stored unchanged)."""

    async def fetch(client: telegram.Bot) -> Any:
        # Not Bot.get_updates: it returns Update objects, and the intake keeps the originals.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Please use 'Bot.getUpdates'", PTBUserWarning)
            return await client.do_api_request(
                "getUpdates",
                api_kwargs={
                    "offset": offset or None,
                    "timeout": timeout,
                    "allowed_updates": ALLOWED_UPDATES,
                },
                read_timeout=timeout + 10,
            )

    result = bot_run(bot, fetch)
    return [item for item in result if isinstance(item, dict)] if isinstance(result, list) else []


def webhook_set(bot: TelegramBot, *, url: str) -> bool:
    async def call(client: telegram.Bot) -> bool:
        return await client.set_webhook(
            url=url, secret_token=bot.webhook_secret, allowed_updates=ALLOWED_UPDATES
        )

    return bot_run(bot, call)


def webhook_delete(bot: TelegramBot) -> bool:
    async def call(client: telegram.Bot) -> bool:
        return await client.delete_webhook()

    return bot_run(bot, call)
