"""Telegram Bot API updates (the JSON of getUpdates or a webhook) read into inbound messages.

Pure: a dict in, a ``TelegramUpdate`` (what the bot needs: chat, command, button pressed) holding
the common ``InboundMessage`` out. Files are not fetched here: a message lists them as
``RemoteFile`` references (Telegram file ids) for the service to download.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from regdesk.channels.parsers.message import InboundMessage, RemoteFile

__all__ = ["TelegramParseError", "TelegramUpdate", "parse_update", "read_update"]

CHANNEL = "telegram"
MESSAGE_KINDS = ("message", "edited_message")

# Media that carry a file, with the name and type used when Telegram gives none.
_MEDIA: tuple[tuple[str, str, str], ...] = (
    ("document", "document", "application/octet-stream"),
    ("video", "video.mp4", "video/mp4"),
    ("animation", "animation.mp4", "video/mp4"),
    ("audio", "audio.mp3", "audio/mpeg"),
    ("voice", "voice.ogg", "audio/ogg"),
    ("video_note", "video_note.mp4", "video/mp4"),
)


class TelegramParseError(ValueError):
    """The update cannot be used as it is (not an update, or a message without its parts)."""


@dataclass(frozen=True)
class TelegramUpdate:
    update_id: int
    kind: str  # message, edited_message, callback_query, or another kind the bot ignores
    message: InboundMessage | None = None  # None for the kinds the bot ignores
    chat_id: int | None = None
    chat_type: str = ""  # private, group, supergroup, channel
    user_id: int | None = None
    username: str = ""
    language_code: str = ""
    message_id: int | None = None  # of the message (for a button: of the message it was on)
    command: str = ""  # "/start", lower-case, without "@botname"; "" when not a command
    argument: str = ""  # what follows the command
    callback_id: str = ""
    callback_data: str = ""
    reply_to_text: str = ""  # the text of the message this one replies to

    @property
    def is_private(self) -> bool:
        return self.chat_type == "private"


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TelegramParseError(f"{what} is not an object")
    return value


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TelegramParseError(f"{what} is not an integer")
    return value


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _name(user: dict[str, Any]) -> str:
    return " ".join(p for p in (_str(user.get("first_name")), _str(user.get("last_name"))) if p)


def _files(message: dict[str, Any]) -> tuple[list[RemoteFile], list[str]]:
    files: list[RemoteFile] = []
    warnings: list[str] = []
    photo = message.get("photo")
    if isinstance(photo, list) and photo:
        # Telegram sends every size it made; the last is the largest.
        largest = _dict(photo[-1], "photo size")
        file_id = _str(largest.get("file_id"))
        if not file_id:
            raise TelegramParseError("photo without file_id")
        unique = _str(largest.get("file_unique_id")) or file_id[-12:]
        size = largest.get("file_size")
        files.append(
            RemoteFile(
                file_id=file_id,
                filename=f"photo_{unique}.jpg",
                content_type="image/jpeg",
                size=size if isinstance(size, int) else None,
                kind="photo",
            )
        )
    for kind, default_name, default_type in _MEDIA:
        item = message.get(kind)
        if item is None:
            continue
        item = _dict(item, kind)
        file_id = _str(item.get("file_id"))
        if not file_id:
            raise TelegramParseError(f"{kind} without file_id")
        filename = _str(item.get("file_name"))
        if not filename:
            unique = _str(item.get("file_unique_id")) or file_id[-12:]
            filename = f"{unique}_{default_name}"
            warnings.append(f"{kind} had no file name; called it {filename}")
        size = item.get("file_size")
        files.append(
            RemoteFile(
                file_id=file_id,
                filename=filename,
                content_type=_str(item.get("mime_type")).lower() or default_type,
                size=size if isinstance(size, int) else None,
                kind=kind,
            )
        )
    return files, warnings


def _command(text: str) -> tuple[str, str]:
    if not text.startswith("/"):
        return "", ""
    head, _, rest = text.partition(" ")
    first_line, _, more = head.partition("\n")
    if more:  # "/reply\ntext": the command ends at the line break
        rest = f"{more} {rest}".strip() if rest else more
    command = first_line.split("@", 1)[0].lower()
    return command, rest.strip()


def _read_message(update_id: int, kind: str, data: dict[str, Any]) -> TelegramUpdate:
    message = _dict(data[kind], kind)
    chat = _dict(message.get("chat"), "chat")
    chat_id = _int(chat.get("id"), "chat.id")
    message_id = _int(message.get("message_id"), "message_id")
    sender = _dict(message.get("from"), "from")
    user_id = _int(sender.get("id"), "from.id")
    moment = message.get("edit_date") if kind == "edited_message" else message.get("date")
    sent_at = datetime.fromtimestamp(_int(moment, "date"), tz=UTC)
    text = _str(message.get("text")) or _str(message.get("caption"))
    files, warnings = _files(message)
    reply = message.get("reply_to_message")
    reply_to = _dict(reply, "reply_to_message") if reply is not None else None
    in_reply_to: tuple[str, ...] = ()
    reply_text = ""
    if reply_to is not None:
        in_reply_to = (f"{chat_id}:{_int(reply_to.get('message_id'), 'reply message_id')}",)
        reply_text = _str(reply_to.get("text")) or _str(reply_to.get("caption"))
    command, argument = _command(text) if "text" in message else ("", "")
    parsed = InboundMessage(
        channel=CHANNEL,
        message_id=f"{chat_id}:{message_id}",
        sender=str(user_id),
        sender_name=_name(sender),
        subject="",
        text=text,
        new_text=text,
        remote_files=tuple(files),
        in_reply_to=in_reply_to,
        sent_at=sent_at,
        language=_str(sender.get("language_code")),
        warnings=tuple(warnings),
    )
    return _update(
        update_id,
        kind,
        parsed,
        chat=chat,
        sender=sender,
        message_id=message_id,
        command=command,
        argument=argument,
        reply_to_text=reply_text,
    )


def _update(
    update_id: int,
    kind: str,
    parsed: InboundMessage,
    *,
    chat: dict[str, Any],
    sender: dict[str, Any],
    **extra: Any,
) -> TelegramUpdate:
    """The fields every update the bot reads carries: its chat and its sender."""
    return TelegramUpdate(
        update_id=update_id,
        kind=kind,
        message=parsed,
        chat_id=_int(chat.get("id"), "chat.id"),
        chat_type=_str(chat.get("type")),
        user_id=_int(sender.get("id"), "from.id"),
        username=_str(sender.get("username")),
        language_code=_str(sender.get("language_code")),
        **extra,
    )


def _read_callback(update_id: int, data: dict[str, Any]) -> TelegramUpdate:
    query = _dict(data["callback_query"], "callback_query")
    callback_id = _str(query.get("id"))
    if not callback_id:
        raise TelegramParseError("callback_query without id")
    sender = _dict(query.get("from"), "from")
    user_id = _int(sender.get("id"), "from.id")
    # The message the button was on; absent only for inline-mode buttons, which the bot never
    # sends: without it there is no chat to answer in.
    message = _dict(query.get("message"), "callback_query.message")
    chat = _dict(message.get("chat"), "chat")
    chat_id = _int(chat.get("id"), "chat.id")
    message_id = _int(message.get("message_id"), "message_id")
    button = _str(query.get("data"))
    parsed = InboundMessage(
        channel=CHANNEL,
        message_id=f"{chat_id}:callback:{callback_id}",
        sender=str(user_id),
        sender_name=_name(sender),
        text=button,
        new_text=button,
        in_reply_to=(f"{chat_id}:{message_id}",),
        language=_str(sender.get("language_code")),
    )
    return _update(
        update_id,
        "callback_query",
        parsed,
        chat=chat,
        sender=sender,
        message_id=message_id,
        callback_id=callback_id,
        callback_data=button,
        reply_to_text=_str(message.get("text")),
    )


def read_update(data: dict[str, Any]) -> TelegramUpdate:
    """Read one Bot API ``Update``; kinds the bot does not handle come back without a message."""
    update = _dict(data, "the update")
    update_id = _int(update.get("update_id"), "update_id")
    for kind in MESSAGE_KINDS:
        if kind in update:
            return _read_message(update_id, kind, update)
    if "callback_query" in update:
        return _read_callback(update_id, update)
    others = [key for key in update if key != "update_id"]
    if not others:
        raise TelegramParseError(f"update {update_id} carries nothing")
    return TelegramUpdate(update_id=update_id, kind=others[0])


def parse_update(data: dict[str, Any]) -> InboundMessage:
    """The common inbound message of a message, edited message or button press."""
    update = read_update(data)
    if update.message is None:
        raise TelegramParseError(f"update {update.update_id} is a {update.kind}, not a message")
    return update.message
