"""Email intake: the bytes of one RFC 5322 / MIME message in, one ``InboundMessage`` out.

``parse_email`` is a pure function: no Django, no database, no network. Real mail is messy, so
the parser guesses where it must (charsets, broken headers, where the quoted history starts) and
records every guess or cut in ``InboundMessage.warnings``; it raises ``MailParseError`` only when
the bytes are not an email message at all.

The MIME tree is read by the stdlib parser under ``policy.compat32``: its accessors work on the
raw header strings, so a malformed header cannot make them raise, whereas ``policy.default``
builds a header object on every access (``get_payload``, ``get_param``, ``get_content_type``
included) and some malformed values make that raise. Header values are decoded by ``_headers``
(RFC 2047 encoded-words, raw 8-bit bytes, unknown charsets); address lists are parsed by
``policy.default``'s header registry, which handles groups and quoting best, with
``email.utils.getaddresses`` as the fallback.

This module walks the MIME tree and assembles the message; the private modules next to it do the
rest: ``_mime`` (safe access to the tree), ``_charsets`` (bytes to text), ``_headers`` (header
values), ``_html`` (body text), ``_quotes`` (cutting quoted history) and ``_reports`` (automatic
mail and bounces).
"""

from __future__ import annotations

import hashlib
import html as html_entities
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.utils import parsedate_to_datetime
from urllib.parse import unquote

from regdesk.channels.parsers._charsets import decode_bytes
from regdesk.channels.parsers._headers import (
    MESSAGE_ID,
    HeaderDecoder,
    ascii_token_text,
    language_tag,
    message_ids,
    one_line,
    raw_value,
    raw_values,
)
from regdesk.channels.parsers._html import (
    CID_SRC,
    clean_text,
    html_to_text,
    normalise_newlines,
    sanitise,
    unflow,
)
from regdesk.channels.parsers._mime import (
    DEFECT_NOTES,
    EXTENSIONS,
    MAX_DEPTH,
    RAW_HEADERS,
    content_charset,
    declared_charsets,
    header_param,
    iter_parts,
    meta_charset,
    sub_parts,
)
from regdesk.channels.parsers._quotes import FORWARD_SUBJECT, strip_quoted
from regdesk.channels.parsers._reports import (
    auto_kind,
    classic_bounce,
    dsn_bounce,
    looks_like_bounce,
)
from regdesk.channels.parsers.message import Bounce, InboundAttachment, InboundMessage

__all__ = ["MailParseError", "parse_email"]


class MailParseError(ValueError):
    """The bytes are not an email message: nothing usable could be read from them."""


def parse_email(raw: bytes, *, max_html_bytes: int = 2_000_000) -> InboundMessage:
    """Read one email message.

    ``max_html_bytes`` bounds the HTML handed to the sanitiser (its time is linear in the size):
    HTML beyond it is cut, with a warning. Raises ``MailParseError`` for input that is not an
    email message (empty, no header fields); anything merely odd is read as well as it can be.
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError(f"parse_email() takes the message bytes, not {type(raw).__name__}")
    if max_html_bytes < 0:
        raise ValueError("max_html_bytes must not be negative")
    data = bytes(raw)
    # Pipes and mbox exports sometimes prepend blank lines, which would end the header section
    # before it started.
    text = data.lstrip(b" \t\r\n")
    if not text:
        raise MailParseError("empty input: there is no email message to read")
    try:
        message = BytesParser(policy=RAW_HEADERS).parsebytes(text)
    except Exception as exc:  # the stdlib parser on hostile input (e.g. absurd nesting)
        raise MailParseError(f"not an email message: the MIME parser failed ({exc!r})") from exc
    names = {name.lower() for name, _ in message.raw_items()}
    if not names:
        raise MailParseError("not an email message: it has no header fields")
    if not names & _MESSAGE_HEADERS:
        raise MailParseError(
            "not an email message: none of From, To, Subject, Date, Message-ID, "
            "Content-Type, Received is present"
        )
    return _MailReader(data, message, max_html_bytes).read()


# Headers one of which every email message has; header-like text without any of them is not mail.
_MESSAGE_HEADERS = frozenset(
    {
        "from", "sender", "to", "cc", "subject", "date", "message-id", "reply-to", "return-path",
        "received", "delivered-to", "x-original-to", "mime-version", "content-type",
        "in-reply-to", "references",
    }
)  # fmt: skip


@dataclass
class _Segment:
    """One readable body: a text/plain, a text/html, or the pair of one multipart/alternative."""

    plain: str | None = None
    html: str | None = None


@dataclass
class _Attachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str


@dataclass
class _MailReader:
    raw: bytes
    message: Message
    html_budget: int
    warnings: list[str] = field(default_factory=list)
    attachments: list[_Attachment] = field(default_factory=list)
    delivery_status: list[Message] = field(default_factory=list)
    returned: list[Message] = field(default_factory=list)  # returned/forwarded messages' headers
    hints: tuple[str, ...] = field(init=False)  # the charsets the parts declare
    headers: HeaderDecoder = field(init=False)

    def __post_init__(self) -> None:
        self.hints = declared_charsets(self.message)
        self.headers = HeaderDecoder(hints=self.hints, warn=self.warn)

    def warn(self, note: str) -> None:
        if note and note not in self.warnings:
            self.warnings.append(note)

    def read(self) -> InboundMessage:
        message = self.message
        subject = self.headers.text(raw_value(message, "subject"), "Subject")
        sender_name, sender = self._sender()
        in_reply_to = message_ids(raw_value(message, "in-reply-to"))
        segments = self._walk(message, 0)
        self._defect_warnings()
        text = clean_text("\n\n".join(self._segment_text(segment) for segment in segments))
        html = "\n".join(segment.html for segment in segments if segment.html)
        content_type = message.get_content_type()
        report_type = ""
        if content_type == "multipart/report":
            report_type = header_param(message, "report-type").lower()
        bounce = self._bounce(report_type, (sender, sender_name), subject, text, in_reply_to)
        # What a forward quotes is what the forwarder wants looked at, not history.
        new_text = text if FORWARD_SUBJECT.match(subject) else strip_quoted(text)
        reply_to = self._addresses(("reply-to",))
        return InboundMessage(
            channel="email",
            message_id=self._message_id(),
            sender=sender,
            sender_name=sender_name,
            to=tuple(address for _, address in self._addresses(_RECIPIENT_HEADERS)),
            cc=tuple(address for _, address in self._addresses(("cc",))),
            reply_to=reply_to[0][1] if reply_to else "",
            subject=subject,
            text=text,
            new_text=new_text,
            html=html,
            attachments=self._final_attachments(html),
            in_reply_to=in_reply_to,
            references=message_ids(" ".join(raw_values(message, "references"))),
            sent_at=self._sent_at(),
            auto=auto_kind(message, report_type=report_type, subject=subject, bounce=bounce),
            bounce=bounce,
            language=language_tag(raw_value(message, "content-language")),
            warnings=tuple(self.warnings),
        )

    # --- headers ---

    def _addresses(self, names: Iterable[str]) -> list[tuple[str, str]]:
        return self.headers.addresses(self.message, names)

    def _sender(self) -> tuple[str, str]:
        for name in ("from", "sender", "return-path"):
            found = self._addresses((name,))
            if found:
                if name != "from":
                    self.warn(f"no usable From address; the sender is taken from {name.title()}")
                return found[0]
        self.warn("no sender address in From, Sender or Return-Path")
        return "", ""

    def _message_id(self) -> str:
        raw = raw_value(self.message, "message-id")
        found = MESSAGE_ID.search(ascii_token_text(raw))
        if found:
            return found.group(1)
        bare = one_line(ascii_token_text(raw)).strip("<>")
        if bare and " " not in bare:
            return bare
        self.warn("no Message-ID; a synthetic one was made from the message bytes")
        return "sha256:" + hashlib.sha256(self.raw).hexdigest()

    def _sent_at(self) -> datetime | None:
        raw = one_line(ascii_token_text(raw_value(self.message, "date")))
        if not raw:
            self.warn("no Date header")
            return None
        try:
            sent_at = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError, OverflowError):
            self.warn(f"unreadable Date {raw[:80]!r}")
            return None
        if sent_at.tzinfo is None:
            self.warn("Date has no time zone; taken as UTC")
            sent_at = sent_at.replace(tzinfo=UTC)
        return sent_at

    # --- body ---

    def _walk(self, part: Message, depth: int) -> list[_Segment]:
        if depth > MAX_DEPTH:
            self.warn(f"MIME nesting deeper than {MAX_DEPTH} levels; the inner parts were skipped")
            return []
        content_type = part.get_content_type()
        children = sub_parts(part)
        if content_type == "message/delivery-status":
            self.delivery_status.append(part)
            self._attach(part, content_type)
            return []
        if content_type.startswith("message/"):
            self._attach_message(part, content_type)
            return []
        if children is not None:
            if content_type == "multipart/alternative":
                return self._alternative(children, depth)
            segments: list[_Segment] = []
            for child in children:
                segments.extend(self._walk(child, depth + 1))
            return segments
        if content_type == "text/rfc822-headers":
            self._returned_headers(part)
            self._attach(part, content_type)
            return []
        if content_type.startswith("multipart/"):
            content_type = "text/plain"  # no boundary found: the parser kept the body as text
        if content_type in ("text/plain", "text/html") and self._is_body(part):
            return [self._body_segment(part, content_type)]
        self._attach(part, content_type)
        return []

    def _alternative(self, children: list[Message], depth: int) -> list[_Segment]:
        # Alternatives go from plainest to richest: the first plain text, the last HTML.
        plain: str | None = None
        html: str | None = None
        for child in children:
            for segment in self._walk(child, depth + 1):
                if plain is None and segment.plain is not None:
                    plain = segment.plain
                if segment.html is not None:
                    html = segment.html
        return [] if plain is None and html is None else [_Segment(plain=plain, html=html)]

    def _is_body(self, part: Message) -> bool:
        if part.get_content_disposition() == "attachment":
            return False
        try:
            return part.get_filename() is None
        except Exception:  # a filename parameter too broken to read is still a filename
            return False

    def _body_segment(self, part: Message, content_type: str) -> _Segment:
        data = self._payload(part)
        declared = content_charset(part)
        where = "HTML body" if content_type == "text/html" else "text body"
        if not declared and content_type == "text/html":
            declared = meta_charset(data)
        text, note = decode_bytes(data, declared, hints=self.hints, where=where)
        self.warn(note)
        text = normalise_newlines(text)
        if content_type == "text/html":
            return _Segment(html=self._bounded_sanitise(text))
        if header_param(part, "format").lower() == "flowed":
            text = unflow(text, delsp=header_param(part, "delsp").lower() == "yes")
        return _Segment(plain=text)

    def _bounded_sanitise(self, html: str) -> str:
        size = len(html.encode("utf-8"))
        if size > self.html_budget:
            html = html.encode("utf-8")[: self.html_budget].decode("utf-8", "ignore")
            self.warn(
                f"HTML of {size} bytes was cut to {self.html_budget} bytes before sanitising "
                "(max_html_bytes)"
            )
        self.html_budget -= min(size, self.html_budget)
        return sanitise(html) if html else ""

    def _segment_text(self, segment: _Segment) -> str:
        if segment.plain is not None and (segment.plain.strip() or not segment.html):
            return segment.plain.strip("\n")
        return html_to_text(segment.html or "")

    def _payload(self, part: Message) -> bytes:
        try:
            data = part.get_payload(decode=True)
        except Exception:  # the stdlib transfer decoders on damaged content
            self.warn("a part's transfer encoding could not be decoded; its raw bytes were kept")
            data = None
        return data if isinstance(data, bytes) else b""

    # --- attachments ---

    def _attach(
        self, part: Message, content_type: str, data: bytes | None = None, filename: str = ""
    ) -> None:
        if data is None and content_type == "message/delivery-status":
            data = self._delivery_status_bytes(part)
        elif data is None:
            data = self._payload(part)
        filename = self._filename(part) or filename
        content_id = raw_value(part, "content-id")
        found = MESSAGE_ID.search(ascii_token_text(content_id))
        content_id = found.group(1) if found else one_line(ascii_token_text(content_id))
        if not filename:
            extension = EXTENSIONS.get(content_type, ".bin")
            filename = f"attachment-{len(self.attachments) + 1}{extension}"
        self.attachments.append(_Attachment(filename, content_type, data, content_id))

    def _attach_message(self, part: Message, content_type: str) -> None:
        children = sub_parts(part)
        inner = children[0] if children else None
        data: bytes | None = None
        if inner is not None:
            self.returned.append(inner)
            try:
                data = inner.as_bytes(policy=policy.compat32.clone(max_line_length=None))
            except Exception:  # the generator on a damaged forwarded message
                self.warn("a forwarded message could not be re-serialised; it was skipped")
                return
        filename = ""
        if inner is not None:
            # Forwarded messages rarely carry a name; their subject makes a better one than
            # "attachment-2.eml".
            subject = self.headers.text(raw_value(inner, "subject"), "forwarded message Subject")
            stem = re.sub(r"[\\/:*?\"<>|]+", "_", subject).strip(" .")[:120]
            filename = f"{stem}{EXTENSIONS.get(content_type, '.eml')}" if stem else ""
        self._attach(part, content_type, data, filename)

    def _delivery_status_bytes(self, part: Message) -> bytes:
        blocks = sub_parts(part)
        if blocks is None:
            return self._payload(part)
        fields = [
            "".join(f"{name}: {value}\n" for name, value in block.raw_items()) for block in blocks
        ]
        return "\n".join(fields).encode("utf-8", "surrogateescape")

    def _delivery_status_blocks(self) -> list[Message]:
        """The field blocks of the first delivery-status part (per-message, per-recipient)."""
        if not self.delivery_status:
            return []
        part = self.delivery_status[0]
        blocks = sub_parts(part)
        if blocks is not None:  # the parser splits an 8bit/7bit report into blocks itself
            return blocks
        text, _ = decode_bytes(self._payload(part), "", hints=(), where="delivery status")
        chunks = re.split(r"\n\s*\n", normalise_newlines(text))
        return [HeaderParser(policy=RAW_HEADERS).parsestr(chunk) for chunk in chunks]

    def _filename(self, part: Message) -> str:
        try:
            raw = part.get_filename()
        except Exception:  # e.g. an RFC 2231 charset naming a codec that always fails
            raw = header_param(part, "filename", "content-disposition")
            raw = raw or header_param(part, "name")
        if not raw:
            return ""
        name = self.headers.text(raw, "attachment filename")
        base = re.split(r"[\\/]", name)[-1].strip()
        if base != name:
            self.warn(f"attachment filename {name!r} had a path; only {base!r} was kept")
        if len(base) > 255:
            stem, dot, extension = base.rpartition(".")
            base = (stem[: 250 - len(extension)] + dot + extension) if dot else base[:255]
        return base

    def _final_attachments(self, html: str) -> tuple[InboundAttachment, ...]:
        referenced = {
            unquote(html_entities.unescape(cid)).strip("<>").lower()
            for cid in CID_SRC.findall(html)
        }
        return tuple(
            InboundAttachment(
                filename=attachment.filename,
                content_type=attachment.content_type,
                data=attachment.data,
                content_id=attachment.content_id,
                inline=bool(attachment.content_id) and attachment.content_id.lower() in referenced,
            )
            for attachment in self.attachments
        )

    def _returned_headers(self, part: Message) -> None:
        text, _ = decode_bytes(self._payload(part), "", hints=(), where="returned headers")
        try:
            self.returned.append(HeaderParser(policy=RAW_HEADERS).parsestr(text))
        except Exception:  # unreadable returned headers: the bounce just lacks the original id
            return

    def _defect_warnings(self) -> None:
        for part in iter_parts(self.message):
            for defect in getattr(part, "defects", ()):
                note = DEFECT_NOTES.get(type(defect).__name__)
                if note:
                    self.warn(note)

    # --- automatic mail ---

    def _bounce(
        self,
        report_type: str,
        sender: tuple[str, str],
        subject: str,
        text: str,
        in_reply_to: Sequence[str],
    ) -> Bounce | None:
        original = self._returned_message_id() or (in_reply_to[0] if in_reply_to else "")
        if report_type == "delivery-status":
            bounce = dsn_bounce(self._delivery_status_blocks(), original)
            # A report whose machine-readable part is missing or empty still says it in prose.
            return bounce if bounce.recipients else classic_bounce(text, original)
        if looks_like_bounce(self.message, sender, subject):
            return classic_bounce(text, original)
        return None

    def _returned_message_id(self) -> str:
        for returned in self.returned:
            ids = message_ids(raw_value(returned, "message-id"))
            if ids:
                return ids[0]
        return ""


_RECIPIENT_HEADERS = ("to", "delivered-to", "x-original-to", "envelope-to")
