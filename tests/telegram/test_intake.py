"""Every update is stored raw before it is processed; the same update twice is one message; a
broken one is quarantined and the ones after it go on; polling and the webhook both feed it."""

from __future__ import annotations

import json

import pytest
from django.test import Client, TestCase
from typer.testing import CliRunner

from regdesk.channels.models import Inbound
from regdesk.cli import app
from regdesk.directory.models import Person
from regdesk.telegram.models import TelegramBot
from regdesk.telegram.services import telegram_poll_once, telegram_webhook_set
from regdesk.tickets.models import Message, Ticket
from regdesk.tickets.services import ticket_create
from tests.telegram.fake_botapi import FakeBotApi
from tests.telegram.support import Chat, recorded, webhook_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_ticket(linked: Person, bot: TelegramBot) -> Ticket:
    return ticket_create(
        desk=bot.desk,
        requester=linked,
        request_type="reports",
        subject="No readings",
        body="The readings page is empty.",
        fields={"client_name": "Vodokanal", "login": "vodokanal"},
        channel="telegram",
        strict=False,
    )


def test_the_same_update_twice_makes_one_message(
    chat: Chat, open_ticket: Ticket, botapi: FakeBotApi
) -> None:
    update = chat.text_update("Still no readings this morning.")

    first = chat.deliver(update)
    again = chat.deliver(update)

    assert first.pk == again.pk
    assert (again.state, again.outcome, again.result) == ("processed", "follow_up", "WAV-000001")
    assert json.loads(bytes(again.raw)) == update  # the original, as received
    assert open_ticket.messages.filter(body="Still no readings this morning.").count() == 1
    assert chat.texts.count("Added to WAV-000001.") == 1


def test_an_answer_telegram_refuses_undoes_nothing(
    chat: Chat, open_ticket: Ticket, botapi: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a user who has blocked the bot: every sendMessage is refused
    blocked = "Forbidden: bot was blocked by the user"
    monkeypatch.setattr(botapi, "_m_sendMessage", lambda params, files: (403, blocked))
    # When they write to their request
    row = chat.deliver(chat.text_update("Readings are back, thanks."))
    # Then the message is on the ticket and the update processed; the answer was tried once,
    # after the commit, and only it is missing
    assert (row.state, row.outcome, row.result) == ("processed", "follow_up", "WAV-000001")
    assert open_ticket.messages.filter(body="Readings are back, thanks.").count() == 1
    assert [c.result for c in botapi.called("sendMessage")] == [None]


def test_a_broken_update_is_quarantined_and_the_next_one_is_processed(
    client: Client, chat: Chat, bot: TelegramBot, open_ticket: Ticket
) -> None:
    broken = chat.text_update("lost")
    del broken["message"]["chat"]

    assert webhook_post(client, bot, json.dumps(broken).encode()).status_code == 200
    assert webhook_post(client, bot, b"{not json").status_code == 200
    after = chat.send("This one arrives.")

    rows = Inbound.objects.filter(channel="telegram").order_by("pk")
    assert [r.state for r in rows] == ["quarantined", "quarantined", "processed"]
    assert rows[0].error == "unusable Telegram update: chat is not an object"
    assert rows[1].key.startswith(f"{bot.pk}:sha256-")
    assert bytes(rows[1].raw) == b"{not json"
    assert after.outcome == "follow_up"


def test_edited_and_group_messages_are_stored_and_ignored(
    chat: Chat, open_ticket: Ticket, botapi: FakeBotApi
) -> None:
    edited = chat.deliver(recorded("edited_message"))
    group = chat.deliver(recorded("group_message"))

    assert (edited.outcome, edited.result) == ("refused", "ignored: edited message")
    assert (group.outcome, group.result) == ("refused", "ignored: supergroup chat")
    assert botapi.called("sendMessage") == []
    assert open_ticket.messages.count() == 1


def test_the_webhook_refuses_a_wrong_secret(client: Client, bot: TelegramBot) -> None:
    body = json.dumps(recorded("text_message")).encode()

    assert webhook_post(client, bot, body, secret="guess").status_code == 403
    assert webhook_post(client, bot, body, secret="").status_code == 403
    assert Inbound.objects.count() == 0


def test_polling_stores_processes_and_advances_the_offset(
    bot: TelegramBot, botapi: FakeBotApi, open_ticket: Ticket
) -> None:
    first, second = recorded("text_message"), recorded("text_message")
    second["update_id"] = first["update_id"] + 1
    second["message"]["message_id"] += 1
    second["message"]["text"] = "And the second meter too."
    botapi.queue(first, second)

    rows = telegram_poll_once(bot=bot)

    bot.refresh_from_db()
    assert bot.update_offset == second["update_id"] + 1
    assert [r.result for r in rows] == ["WAV-000001", "WAV-000001"]
    assert botapi.called("getUpdates")[0].params["allowed_updates"] == [
        "message",
        "edited_message",
        "callback_query",
    ]

    # the next round confirms them (offset), so Telegram drops them: nothing more comes
    assert telegram_poll_once(bot=bot) == []
    assert int(botapi.called("getUpdates")[1].params["offset"]) == second["update_id"] + 1
    assert Message.objects.filter(ticket=open_ticket).count() == 3


def test_set_webhook_sends_the_url_and_the_secret(bot: TelegramBot, botapi: FakeBotApi) -> None:
    url = telegram_webhook_set(bot=bot, url="https://desk.example/telegram/1/webhook")

    (call,) = botapi.called("setWebhook")
    assert call.params["url"] == url
    assert call.params["secret_token"] == bot.webhook_secret


def test_the_cli_polls_once(bot: TelegramBot, botapi: FakeBotApi, open_ticket: Ticket) -> None:
    botapi.queue(recorded("text_message"))

    with TestCase.captureOnCommitCallbacks(execute=True):  # the test's transaction never commits
        result = CliRunner().invoke(app, ["telegram", "poll", "--desk", "waviot", "--once"])

    assert result.exit_code == 0, result.output
    assert result.output == f"{bot.pk}:734001200 WAV-000001\n"
    assert [c.method for c in botapi.calls if c.method != "getMe"] == [
        "deleteWebhook",
        "getUpdates",
        "sendMessage",
    ]
    bot.refresh_from_db()
    assert (bot.mode, bot.update_offset) == ("polling", 734001201)
