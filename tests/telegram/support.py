"""A Telegram user talking to the desk's bot: updates built from the recorded samples in
tests/fixtures/telegram and delivered to the webhook as Telegram delivers them."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

from django.test import Client, TestCase

from regdesk.channels.models import Inbound
from regdesk.telegram.models import TelegramBot
from tests.telegram.fake_botapi import FakeBotApi

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "telegram"
TOKEN = "7000001234:AAH3xQ9fakeTokenForTheTests_0123456789"
USER_ID = 184467301

_update_ids = itertools.count(734_002_000)
_message_ids = itertools.count(100)


def recorded(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def webhook_post(client: Client, bot: TelegramBot, body: bytes, secret: str | None = None) -> Any:
    # the bot answers once the update's work commits: the test's own transaction never does,
    # so the commit hooks run when the request is done, as they would after a real commit
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            f"/telegram/{bot.pk}/webhook",
            data=body,
            content_type="application/json",
            headers={
                "X-Telegram-Bot-Api-Secret-Token": bot.webhook_secret if secret is None else secret
            },
        )


class Chat:
    """One user's private chat with the bot."""

    def __init__(self, client: Client, bot: TelegramBot, api: FakeBotApi, user_id: int = USER_ID):
        self.client, self.bot, self.api, self.user_id = client, bot, api, user_id

    # ---------------------------------------------------------------- building updates

    def _own(self, update: dict[str, Any]) -> dict[str, Any]:
        update = copy.deepcopy(update)
        update["update_id"] = next(_update_ids)
        for kind in ("message", "edited_message", "callback_query"):
            if kind in update:
                part = update[kind]
                part["from"]["id"] = self.user_id
                message = part["message"] if kind == "callback_query" else part
                message["chat"]["id"] = self.user_id
                if kind != "callback_query":
                    message["message_id"] = next(_message_ids)
        return update

    def text_update(self, text: str, reply_to: dict[str, Any] | None = None) -> dict[str, Any]:
        update = self._own(recorded("text_message"))
        update["message"]["text"] = text
        if text.startswith("/"):
            length = len(text.split()[0])
            update["message"]["entities"] = [{"offset": 0, "length": length, "type": "bot_command"}]
        if reply_to is not None:
            update["message"]["reply_to_message"] = reply_to
        return update

    def press_update(self, data: str) -> dict[str, Any]:
        """A press on a button of the bot's last message that had buttons."""
        with_buttons = [c for c in self.api.sent(self.user_id) if c.params.get("reply_markup")]
        assert with_buttons, "the bot offered no buttons"
        sent = with_buttons[-1].result
        offered = [
            b["callback_data"] for row in sent["reply_markup"]["inline_keyboard"] for b in row
        ]
        assert data in offered, f"{data!r} is not among the buttons {offered}"
        update = self._own(recorded("callback_query"))
        update["callback_query"]["message"] = sent
        update["callback_query"]["id"] = str(next(_update_ids) * 1000)
        update["callback_query"]["data"] = data
        return update

    # ---------------------------------------------------------------- talking

    def deliver(self, update: dict[str, Any]) -> Inbound:
        response = webhook_post(self.client, self.bot, json.dumps(update).encode())
        assert response.status_code == 200, response.content
        return Inbound.objects.get(channel="telegram", key=f"{self.bot.pk}:{update['update_id']}")

    def send(self, text: str, reply_to: dict[str, Any] | None = None) -> Inbound:
        return self.deliver(self.text_update(text, reply_to))

    def press(self, data: str) -> Inbound:
        return self.deliver(self.press_update(data))

    def send_recorded(self, name: str, **changes: Any) -> Inbound:
        update = self._own(recorded(name))
        update["message"].update(changes)
        return self.deliver(update)

    # ---------------------------------------------------------------- what the bot said

    @property
    def texts(self) -> list[str]:
        return self.api.texts(self.user_id)

    @property
    def last(self) -> str:
        return self.texts[-1]

    def buttons(self) -> list[tuple[str, str]]:
        """(label, data) of the bot's last message, [] when it had none."""
        sent = self.api.sent(self.user_id)[-1]
        markup = sent.params.get("reply_markup") or {"inline_keyboard": []}
        return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]
