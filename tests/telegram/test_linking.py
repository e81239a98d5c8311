"""Given a customer in the directory, when they link their Telegram account (a one-time code
from the portal, or the regulation's identification questions), then the bot knows them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from regdesk.directory.models import Person
from regdesk.telegram.models import TelegramBot, TelegramLinkCode
from regdesk.telegram.services import MAX_FAILED_IDENTIFICATIONS, telegram_link_code_issue
from tests.telegram.support import USER_ID, Chat

pytestmark = pytest.mark.django_db


def test_the_portal_gives_a_one_time_code_and_the_deep_link(
    client: Client, bot: TelegramBot, customer: Person
) -> None:
    client.force_login(customer.user)

    page = client.get("/telegram/link/")
    assert page.status_code == 200
    assert "Get a link for Waviot (@WAVIoTHelp_bot)" in page.content.decode()

    issued = client.post("/telegram/link/", {"bot": bot.pk})

    code = TelegramLinkCode.objects.get(person=customer)
    assert f"https://t.me/WAVIoTHelp_bot?start={code.code}" in issued.content.decode()
    assert code.expires_at > timezone.now() + timedelta(minutes=29)


def test_start_with_the_code_links_the_account_once(
    chat: Chat, customer: Person, bot: TelegramBot
) -> None:
    code = telegram_link_code_issue(person=customer, desk=bot.desk)

    inbound = chat.send_recorded("start_with_code", text=f"/start {code.code}")

    customer.refresh_from_db()
    assert (customer.telegram_user_id, customer.telegram_username) == (USER_ID, "ipetrov")
    assert chat.last == "Linked: you are Ivan Petrov. Send /new to open a request."
    assert inbound.result == f"linked by code: person {customer.pk}"

    other = Chat(chat.client, bot, chat.api, user_id=555000111)
    other.send(f"/start {code.code}")
    assert other.last.startswith("This link code is not valid or has expired.")
    assert Person.objects.filter(telegram_user_id=555000111).count() == 0


def test_an_expired_code_links_nothing(chat: Chat, customer: Person, bot: TelegramBot) -> None:
    code = telegram_link_code_issue(
        person=customer, desk=bot.desk, now=timezone.now() - timedelta(hours=1)
    )

    chat.send(f"/start {code.code}")

    customer.refresh_from_db()
    assert customer.telegram_user_id is None
    assert "expired" in chat.last


def test_identification_questions_link_by_registered_email_and_login(
    chat: Chat, customer: Person
) -> None:
    chat.send("Hello! The meter 0x1A2B stopped sending readings.")
    assert chat.last.endswith("Send the email address registered with support.")
    assert "http://127.0.0.1:8000/telegram/link/" in chat.last

    chat.send("Ivan@Vodokanal.example")
    assert chat.last == "Now send your login in the system."
    chat.send("VODOKANAL")

    customer.refresh_from_db()
    assert customer.telegram_user_id == USER_ID
    assert chat.last == "Linked: you are Ivan Petrov. Send /new to open a request."


def test_a_wrong_login_links_nothing_and_attempts_are_limited(chat: Chat, customer: Person) -> None:
    for _ in range(MAX_FAILED_IDENTIFICATIONS):
        chat.send("/start")
        chat.send("ivan@vodokanal.example")
        inbound = chat.send("someone-else")
        assert inbound.outcome == "refused"
        assert chat.last.startswith("We found no customer with this email address and login.")

    chat.send("/start")

    assert chat.last.startswith("Too many attempts.")
    customer.refresh_from_db()
    assert customer.telegram_user_id is None


def test_a_person_linked_to_another_account_is_not_taken_over_by_questions(
    chat: Chat, customer: Person
) -> None:
    customer.telegram_user_id = 999
    customer.save(update_fields=["telegram_user_id"])

    chat.send("/start")
    chat.send("ivan@vodokanal.example")
    chat.send("vodokanal")

    customer.refresh_from_db()
    assert customer.telegram_user_id == 999
    assert chat.last.startswith("We found no customer")
