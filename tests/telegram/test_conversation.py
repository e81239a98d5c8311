"""Given a linked customer of the waviot desk, when they open a request in the chat, then the
bot asks exactly what the regulation asks for the chosen type, registers it and gives its number."""

from __future__ import annotations

import pytest

from regdesk.core.loader import preset_text
from regdesk.directory.models import Person
from regdesk.telegram.models import TelegramBot, TelegramConversation
from regdesk.tickets.models import Status, Ticket
from tests.desk.factories import PersonFactory, make_desk
from tests.telegram.fake_botapi import FakeBotApi
from tests.telegram.support import TOKEN, Chat

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SKIP_BUTTON = ("Skip", "skip")


def test_a_device_request_asks_the_regulations_fields_in_order_and_registers_it(
    chat: Chat, linked: Person, botapi: FakeBotApi
) -> None:
    chat.send("/new")
    assert chat.last == "What is your request about?"
    assert chat.buttons() == [
        ("Device question", "t:device"),
        ("Base station question", "t:base-station"),
        ("Access to the personal account", "t:access"),
        ("Reports and readings", "t:reports"),
        ("Other question", "t:other"),
    ]

    asked = []
    chat.press("t:device")
    asked.append(chat.last)
    for answer in [
        "Meter offline",
        "The meter stopped sending readings on Monday.",
        "Vodokanal",
        "vodokanal",
        "/skip",  # steps (optional)
        "not a link",  # object_url: refused, asked again
        "https://lk.waviot.ru/devices/0x1A2B",
        "skip",  # additional_info by its button
        "0x1A2B",
        "SN-100200",
    ]:
        if answer == "skip":
            assert SKIP_BUTTON in chat.buttons()
            chat.press("skip")
        else:
            chat.send(answer)
        asked.append(chat.last)

    assert asked == [
        "Device question. Write a short subject for the request.",
        "The problem or request, described in as much detail as possible",
        "Client name *\nCheck it carefully — it is used to identify you.",
        "Login in the system *\nCheck it carefully — it is used to identify you.",
        "Step-by-step actions to reproduce the problem\nIf possible.\n"
        "Optional: send /skip to leave it out.",
        "Link to the problem object\nCopy the link from the browser's address bar.\n"
        "Optional: send /skip to leave it out.",
        "Link to the problem object\nCopy the link from the browser's address bar.\n"
        "Optional: send /skip to leave it out.",
        "Additional information\n"
        "Anything that helps to fix the problem or answer the question sooner.\n"
        "Optional: send /skip to leave it out.",
        "Device ID *",
        "Device serial number *",
        "Please check your request:\n\n"
        "Type: Device question\n"
        "Subject: Meter offline\n"
        "Description: The meter stopped sending readings on Monday.\n"
        "Client name: Vodokanal\n"
        "Login in the system: vodokanal\n"
        "Link to the problem object: https://lk.waviot.ru/devices/0x1A2B\n"
        "Device ID: 0x1A2B\n"
        "Device serial number: SN-100200",
    ]
    assert "expected a web address" in chat.texts[-6]  # said before asking the link again
    assert chat.buttons() == [("Register", "ok"), ("Cancel", "cancel")]
    assert Ticket.objects.count() == 0

    inbound = chat.press("ok")

    ticket = Ticket.objects.get()
    assert chat.last.startswith("Your request is registered under the number WAV-000001.")
    assert (inbound.outcome, inbound.result, inbound.ticket) == ("ticket", "WAV-000001", ticket)
    assert ticket.requester == linked
    assert ticket.channel == "telegram"
    assert ticket.request_type == "device"
    assert ticket.subject == "Meter offline"
    assert ticket.status == Status.NEW
    assert ticket.missing_fields == []
    assert ticket.fields == {
        "client_name": "Vodokanal",
        "login": "vodokanal",
        "object_url": "https://lk.waviot.ru/devices/0x1A2B",
        "device_id": "0x1A2B",
        "serial_number": "SN-100200",
    }
    assert ticket.messages.get().body == "The meter stopped sending readings on Monday."
    # every button press was answered and its buttons taken away
    assert len(botapi.called("answerCallbackQuery")) == 3  # type, skip, register
    assert len(botapi.called("editMessageReplyMarkup")) == 3


def test_a_photo_sent_on_the_way_goes_with_the_request(
    chat: Chat, linked: Person, botapi: FakeBotApi
) -> None:
    botapi.add_file(
        "AgACAgIAAxkBAAM5aSJ3xQABHvQbX0m3cW1aJ2E9AAJH9jEbRm0ZSSmJ6Qk7sYb3AQADAgADeQADNgQ",
        PNG,
        "photos/file_12.jpg",
    )
    chat.send("/new")
    chat.press("t:reports")
    chat.send("Readings missing")
    chat.send_recorded("photo_with_caption")  # the caption answers the description

    assert chat.texts[-2] == "Added to the request: photo_AQADR_YxG0ZtGUl-.jpg"
    assert chat.last.startswith("Client name *")
    chat.send("Vodokanal")
    chat.send("vodokanal")
    for _ in range(3):
        chat.send("/skip")
    assert "Files: photo_AQADR_YxG0ZtGUl-.jpg" in chat.last
    chat.press("ok")

    ticket = Ticket.objects.get()
    message = ticket.messages.get()
    assert message.body == "The readings page is empty since Monday"
    (attachment,) = message.attachments.all()
    assert (attachment.filename, attachment.size) == ("photo_AQADR_YxG0ZtGUl-.jpg", len(PNG))
    assert botapi.downloads == ["photos/file_12.jpg", "photos/file_12.jpg"]  # checked, then kept


def test_cancel_registers_nothing_and_the_conversation_survives_between_updates(
    chat: Chat, linked: Person
) -> None:
    chat.send("/new")
    chat.press("t:base-station")
    conversation = TelegramConversation.objects.get()
    assert (conversation.state, conversation.data["type"]) == ("subject", "base-station")

    chat.send("Station 4021 is silent")
    chat.send("/cancel")

    assert chat.last == "Cancelled. Send /new to open a request."
    assert TelegramConversation.objects.get().state == ""
    assert Ticket.objects.count() == 0


CHOICE_FIELDS = """  - id: other
    title: {ru: Другой вопрос, en: Other question}
    fields:
      - id: urgency
        kind: choice
        label: {ru: Срочность, en: Urgency}
        required: true
        choices:
          - {id: blocked, title: {ru: Работа стоит, en: Work is blocked}}
          - {id: normal, title: {ru: Обычная, en: Normal}}
      - id: workaround
        kind: text
        label: {ru: Что уже пробовали, en: What you tried}
        shown_when: {field: urgency, equals: [blocked]}
        required: true
"""


@pytest.fixture
def choice_chat(client, botapi: FakeBotApi) -> Chat:  # type: ignore[no-untyped-def]
    """A desk whose 'other' requests ask an urgency (buttons) and, when blocked, a workaround."""
    text = preset_text("waviot")
    old = "  - id: other\n    title: {ru: Другой вопрос, en: Other question}\n"
    assert old in text
    desk = make_desk("waviot", slug="choices", prefix="CHO")
    from regdesk.desks.services import regulation_publish

    source = text.replace(old, CHOICE_FIELDS).replace('version: "2026-01"', 'version: "2026-02"')
    regulation_publish(desk=desk, source=source)
    bot = TelegramBot(desk=desk, username="WAVIoTHelp_bot", api_base_url=botapi.url)
    bot.set_token(TOKEN)
    bot.save()
    person = PersonFactory(login="vodokanal", language="en", telegram_user_id=184467301)
    person.desks.add(desk)
    return Chat(client, bot, botapi)


@pytest.mark.parametrize(
    ("urgency", "workaround_asked"), [("c:normal", False), ("c:blocked", True)]
)
def test_choices_are_buttons_and_a_field_is_asked_only_when_its_condition_holds(
    choice_chat: Chat, urgency: str, workaround_asked: bool
) -> None:
    chat = choice_chat
    chat.send("/new")
    chat.press("t:other")
    for answer in ["Question", "How do I export readings?", "Vodokanal", "vodokanal"]:
        chat.send(answer)
    for _ in range(3):
        chat.send("/skip")

    assert chat.last == "Urgency *"
    assert chat.buttons() == [("Work is blocked", "c:blocked"), ("Normal", "c:normal")]
    chat.press(urgency)

    if workaround_asked:
        assert chat.last == "What you tried *"
        chat.send("/skip")
        assert chat.texts[-2:] == ["This one is required.", "What you tried *"]
        chat.send("Restarted the station")
    assert chat.last.startswith("Please check your request:")
    chat.press("ok")

    ticket = Ticket.objects.get()
    assert ticket.fields["urgency"] == urgency[2:]
    assert ("workaround" in ticket.fields) is workaround_asked
