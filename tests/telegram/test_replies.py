"""Given a linked customer with an open request, when they write, send photos or files, the
chat adds to the request under the attachment policy; when an agent answers, the answer comes
back to the chat."""

from __future__ import annotations

import pytest

from regdesk.directory.models import Person
from regdesk.notifications.models import Notification
from regdesk.telegram.delivery import telegram_notifications, telegram_send
from regdesk.telegram.models import TelegramBot
from regdesk.tickets.models import Ticket, TicketEvent
from regdesk.tickets.services import ticket_create, ticket_reply
from tests.desk.factories import make_agent
from tests.telegram.fake_botapi import FakeBotApi
from tests.telegram.support import USER_ID, Chat

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
PHOTO_ID = "AgACAgIAAxkBAAM5aSJ3xQABHvQbX0m3cW1aJ2E9AAJH9jEbRm0ZSSmJ6Qk7sYb3AQADAgADeQADNgQ"
DOCUMENT_ID = "BQACAgIAAxkBAAM6aSJ4EV0tFh2Jr0QmNq9u2pZz5cEAAn5kAAJGbRlJ1sI0c8cJbV42BA"


def _ticket(person: Person, bot: TelegramBot, subject: str, channel: str = "telegram") -> Ticket:
    return ticket_create(
        desk=bot.desk,
        requester=person,
        request_type="reports",
        subject=subject,
        body="The readings page is empty.",
        fields={"client_name": "Vodokanal", "login": "vodokanal"},
        channel=channel,
        strict=False,
    )


@pytest.fixture
def ticket(linked: Person, bot: TelegramBot) -> Ticket:
    return _ticket(linked, bot, "No readings")


def test_a_photo_is_added_to_the_only_open_request(
    chat: Chat, ticket: Ticket, botapi: FakeBotApi
) -> None:
    botapi.add_file(PHOTO_ID, PNG, "photos/file_3.jpg")

    inbound = chat.send_recorded("photo_with_caption")

    assert (inbound.outcome, inbound.ticket) == ("follow_up", ticket)
    message = ticket.messages.order_by("-pk").first()
    assert message is not None
    assert message.body == "The readings page is empty since Monday"
    assert message.channel == "telegram"
    (attachment,) = message.attachments.all()
    assert attachment.size == len(PNG)
    assert chat.last == "Added to WAV-000001."


def test_a_document_that_is_not_an_image_is_refused_with_the_policy(
    chat: Chat, ticket: Ticket, botapi: FakeBotApi
) -> None:
    botapi.add_file(DOCUMENT_ID, PDF, "documents/file_4.pdf")

    inbound = chat.send_recorded("document")

    assert inbound.outcome == "refused"
    assert ticket.messages.count() == 1
    assert chat.last == (
        "Not accepted under the support regulation:\n"
        "• readings-report.pdf: only JPEG, GIF, PNG, BMP files are accepted (this file is pdf)\n"
        "Screenshots and graphical explanations in JPG, GIF, PNG or BMP format may be added to "
        "requests sent through Omnidesk or by email."
    )


def test_a_file_over_the_size_limit_is_refused_without_downloading_it(
    chat: Chat, ticket: Ticket, botapi: FakeBotApi
) -> None:
    chat.send_recorded(
        "document",
        caption="Full log attached",
        document={"file_id": DOCUMENT_ID, "file_unique_id": "AgAD", "file_name": "big.png",
                  "mime_type": "image/png", "file_size": 30 * 1024 * 1024},
    )  # fmt: skip

    assert botapi.called("getFile") == []
    assert "big.png: 30.0 MB is over the 25 MB limit" in chat.texts[-2]
    assert ticket.messages.filter(body="Full log attached").exists()  # the text still goes


def test_with_several_open_requests_a_reply_to_the_bots_message_picks_one(
    chat: Chat, linked: Person, bot: TelegramBot
) -> None:
    first = _ticket(linked, bot, "No readings")
    second = _ticket(linked, bot, "Station offline")

    chat.send("Any news?")
    assert chat.last.startswith("Which request is this about?")
    assert chat.last.endswith("\nWAV-000002: Station offline\nWAV-000001: No readings")

    notice = {"message_id": 77, "date": 1763907000, "chat": {"id": USER_ID, "type": "private"},
              "text": "[WAV-000001] Support has answered your request\n\n…"}  # fmt: skip
    chat.send("Thanks, it works now.", reply_to=notice)
    chat.send("/reply wav-2 The station is back too.")

    assert first.messages.filter(body="Thanks, it works now.").exists()
    assert second.messages.filter(body="The station is back too.").exists()


def test_an_agents_answer_goes_back_to_the_chat(
    chat: Chat, ticket: Ticket, botapi: FakeBotApi
) -> None:
    agent = make_agent(ticket.desk)

    reply = ticket_reply(ticket=ticket, author=agent, body="Please restart the base station.")

    occurrence = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.AGENT_REPLY)
    telegram_notifications(
        ticket=ticket, event="answered", occurrence=f"ev{occurrence.pk}", data={"reply": reply.body}
    )  # notify() makes it too once it calls this; the key makes it one either way
    notification = Notification.objects.get(ticket=ticket, channel="telegram", event="answered")
    assert (
        notification.key
        == f"{ticket.pk}:answered:ev{occurrence.pk}:person-{ticket.requester_id}:telegram"
    )
    assert notification.address == str(USER_ID)

    telegram_send(notification=notification)

    (sent,) = botapi.sent(USER_ID)
    assert sent.params["text"].startswith("[WAV-000001] Support has answered your request\n\n")
    assert "Please restart the base station." in sent.params["text"]


def test_telegram_notifications_follow_the_regulation(linked: Person, bot: TelegramBot) -> None:
    by_email = _ticket(linked, bot, "By email", channel="email")
    by_telegram = _ticket(linked, bot, "By Telegram")

    def made(ticket: Ticket, event: str) -> bool:
        return bool(telegram_notifications(ticket=ticket, event=event, occurrence="t1", data={}))

    assert made(by_email, "registered")  # waviot: registered goes by email and telegram
    assert not made(by_telegram, "registered")  # the bot gave the number in the conversation
    assert not made(by_email, "accepted")  # not a telegram event in waviot
    assert made(by_telegram, "resolved")
    assert not made(by_telegram, "resolved")  # the same occurrence twice is one notification

    linked.telegram_user_id = None
    linked.save(update_fields=["telegram_user_id"])
    assert not made(by_email, "answered")  # no linked account, nothing to send to
