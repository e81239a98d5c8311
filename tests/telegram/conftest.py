"""The Telegram tests run python-telegram-bot against a local server that speaks the Bot API's
wire format (tests/telegram/fake_botapi.py): the only stand-in, no mocks of the library."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client

from regdesk.desks.models import Desk
from regdesk.directory.models import Person
from regdesk.telegram.models import TelegramBot
from tests.desk.factories import PersonFactory, make_desk
from tests.telegram.fake_botapi import FakeBotApi
from tests.telegram.support import TOKEN, USER_ID, Chat


@pytest.fixture
def botapi() -> Iterator[FakeBotApi]:
    api = FakeBotApi(TOKEN)
    yield api
    api.close()


@pytest.fixture
def desk(db: None) -> Desk:
    return make_desk("waviot", slug="waviot", prefix="WAV")


@pytest.fixture
def bot(desk: Desk, botapi: FakeBotApi) -> TelegramBot:
    bot = TelegramBot(desk=desk, username="WAVIoTHelp_bot", api_base_url=botapi.url)
    bot.set_token(TOKEN)
    bot.save()
    return bot


@pytest.fixture
def customer(desk: Desk) -> Person:
    person = PersonFactory(
        full_name="Ivan Petrov", login="vodokanal", email="ivan@vodokanal.example", language="en"
    )
    person.desks.add(desk)
    return person


@pytest.fixture
def linked(customer: Person) -> Person:
    customer.telegram_user_id = USER_ID
    customer.telegram_username = "ipetrov"
    customer.save(update_fields=["telegram_user_id", "telegram_username"])
    return customer


@pytest.fixture
def chat(client: Client, bot: TelegramBot, botapi: FakeBotApi) -> Chat:
    return Chat(client, bot, botapi)
