"""Given the Bot API's recorded updates, the pure parser reads them into inbound messages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from regdesk.channels.parsers.telegram import TelegramParseError, parse_update, read_update
from tests.telegram.support import recorded


def test_a_text_message_becomes_an_inbound_message() -> None:
    message = parse_update(recorded("text_message"))

    assert message.channel == "telegram"
    assert message.message_id == "184467301:54"
    assert message.sender == "184467301"
    assert message.sender_name == "Ivan Petrov"
    assert message.body == "Hello! The meter 0x1A2B stopped sending readings."
    assert message.sent_at == datetime(2025, 11, 23, 14, 15, tzinfo=UTC)
    assert message.language == "en"
    assert message.remote_files == ()


def test_start_with_a_code_is_a_command_with_its_argument() -> None:
    update = read_update(recorded("start_with_code"))

    assert (update.command, update.argument) == ("/start", "q7pZ3xK1v9Qm2Lr8TnB4sA")
    assert update.is_private


def test_a_photo_refers_to_its_largest_size_and_keeps_the_caption() -> None:
    message = parse_update(recorded("photo_with_caption"))

    (photo,) = message.remote_files
    assert photo.kind == "photo"
    assert photo.file_id.endswith("eQADNgQ")  # the 1280x720 one
    assert photo.size == 97215
    assert photo.filename == "photo_AQADR_YxG0ZtGUl-.jpg"
    assert photo.content_type == "image/jpeg"
    assert message.text == "The readings page is empty since Monday"


def test_a_document_keeps_its_name_and_type() -> None:
    (document,) = parse_update(recorded("document")).remote_files

    assert (document.filename, document.content_type, document.size) == (
        "readings-report.pdf",
        "application/pdf",
        48213,
    )


def test_a_button_press_carries_its_data_and_the_message_it_was_on() -> None:
    update = read_update(recorded("callback_query"))

    assert update.kind == "callback_query"
    assert update.callback_id == "791725471305720316"
    assert update.callback_data == "t:device"
    assert update.message_id == 56
    assert update.message is not None
    assert update.message.text == "t:device"


def test_an_edited_message_is_read_as_such() -> None:
    update = read_update(recorded("edited_message"))

    assert update.kind == "edited_message"
    assert update.message is not None
    assert update.message.message_id == "184467301:54"  # the same message as before the edit


def test_a_group_message_says_its_chat_is_not_private() -> None:
    update = read_update(recorded("group_message"))

    assert update.chat_type == "supergroup"
    assert not update.is_private


def test_an_update_of_another_kind_has_no_message() -> None:
    data = {"update_id": 9, "my_chat_member": {"chat": {"id": 1}}}

    assert read_update(data).message is None
    with pytest.raises(TelegramParseError):
        parse_update(data)


@pytest.mark.parametrize(
    "data",
    [
        {"message": {"text": "no update id"}},
        {"update_id": "7", "message": {}},
        {"update_id": 7},
        {"update_id": 7, "message": {"message_id": 1, "date": 1, "text": "no chat"}},
        {"update_id": 7, "message": {"message_id": 1, "chat": {"id": 1}, "date": 1, "from": 5}},
        {"update_id": 7, "callback_query": {"id": "1", "from": {"id": 1}, "data": "x"}},
    ],
)
def test_an_unusable_update_is_a_parse_error(data: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(TelegramParseError):
        read_update(data)
