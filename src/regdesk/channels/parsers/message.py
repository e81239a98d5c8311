"""What every channel's parser produces: one inbound message, independent of the channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class AutoKind(StrEnum):
    """Why a message must never get an automatic answer (RFC 3834, RFC 3464, list mail)."""

    NONE = ""
    AUTO_REPLY = "auto_reply"  # Auto-Submitted: auto-replied / auto-generated, vacation replies
    BULK = "bulk"  # Precedence: bulk / junk
    LIST = "list"  # List-Id / List-Unsubscribe / Precedence: list
    BOUNCE = "bounce"  # delivery status notification (multipart/report, delivery-status)


@dataclass(frozen=True)
class InboundAttachment:
    filename: str  # the real name, decoded (RFC 2231 / RFC 2047); a made-up one only if none given
    content_type: str  # lower-case, e.g. "image/png"
    data: bytes
    content_id: str = ""  # without angle brackets; set for inline cid: parts
    inline: bool = False


@dataclass(frozen=True)
class RemoteFile:
    """A file the channel keeps and the message only refers to (a Telegram file_id): the
    service fetches it, so a parser stays pure."""

    file_id: str
    filename: str  # the sender's name, or a made-up one (Telegram photos have none)
    content_type: str  # as the channel states it ("" when it does not)
    size: int | None = None  # as the channel states it, before downloading
    kind: str = "document"  # telegram: photo, document, video, audio, voice, animation


@dataclass(frozen=True)
class Bounce:
    """What a delivery status notification says about a message we sent."""

    recipients: tuple[str, ...]  # Final-Recipient / Original-Recipient addresses, lower-case
    action: str  # "failed", "delayed", ... ("" when the report does not say)
    status: str  # e.g. "5.1.1"
    diagnostic: str
    original_message_id: str  # of the message that bounced, without brackets ("" if unknown)

    @property
    def permanent(self) -> bool:
        return self.action == "failed" or self.status.startswith("5")


@dataclass(frozen=True)
class InboundMessage:
    channel: str  # "email", "telegram"
    message_id: str  # the idempotency key within the channel (email: Message-ID without <>)
    sender: str  # email: the From address, lower-case; telegram: the user id as text
    sender_name: str = ""
    to: tuple[str, ...] = ()  # lower-case addresses (email: To, plus Delivered-To/X-Original-To)
    cc: tuple[str, ...] = ()
    reply_to: str = ""
    subject: str = ""
    text: str = ""  # the readable text of the whole body (from text/plain, or from the HTML)
    new_text: str = ""  # the text without the quoted history ("On … wrote:", "> …")
    html: str = ""  # sanitised HTML (nh3), "" when the message had none
    attachments: tuple[InboundAttachment, ...] = ()
    remote_files: tuple[RemoteFile, ...] = ()  # attachments still held by the channel
    in_reply_to: tuple[str, ...] = ()  # message ids without <>
    references: tuple[str, ...] = ()
    sent_at: datetime | None = None  # zone-aware
    auto: AutoKind = AutoKind.NONE
    bounce: Bounce | None = None
    language: str = ""
    warnings: tuple[str, ...] = field(default=())  # what the parser had to guess or cut

    @property
    def body(self) -> str:
        """The text a ticket records: the new part, or the whole text when nothing was quoted."""
        return (self.new_text or self.text).strip()
