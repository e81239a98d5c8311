"""Automatic mail: auto-reply, list and bulk markers, and what a bounce says.

Owns the headers and subjects that mark mail as automatic, and reading a bounce: an RFC 3464
delivery status notification from its field blocks, or a classic bounce from its prose.
"""

from __future__ import annotations

import re
from email.message import Message

from regdesk.channels.parsers._headers import (
    ADDRESS,
    ascii_token_text,
    first_token,
    raw_value,
    raw_values,
)
from regdesk.channels.parsers.message import AutoKind, Bounce

_BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster", "mail-daemon"})
_BOUNCE_SENDER_NAME = re.compile(r"mail delivery (system|subsystem)", re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery status notification|returned mail|delivery failure|failure notice|"
    r"mail delivery failed|delivery has failed|could not be delivered|недостав|не доставлен",
    re.IGNORECASE,
)
_AUTO_REPLY_SUBJECT = re.compile(
    r"\b(automatic reply|auto(matic)?[- ]?(reply|response)|autoreply|out of (the )?office|"
    r"abwesenheitsnotiz|réponse automatique|respuesta automática|vacation)\b|^\s*auto:|"
    r"автоответ|автоматический ответ",
    re.IGNORECASE,
)
_STATUS_CODE = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_SMTP_REPLY = re.compile(r"\b[45]\d\d\b")
BOUNCE_COPY_MARKER = re.compile(
    r"^\s*-*\s*(below this line is a copy of the message|this is a copy of the message|"
    r"original message follows|the original message|original message headers)",
    re.IGNORECASE | re.MULTILINE,
)
_BARE_RECIPIENT = re.compile(r"^\s*<?([^\s<>@]+@[^\s<>:]+?)>?\s*:?\s*$")
_RECIPIENT_SAID = re.compile(r"^\s*<([^\s<>@]+@[^\s<>]+)>:\s*(\S.*)$")
_QUOTED_MESSAGE_ID = re.compile(r"^message-id:\s*<([^<>\s]+)>", re.IGNORECASE | re.MULTILINE)


def auto_kind(
    message: Message, *, report_type: str, subject: str, bounce: Bounce | None
) -> AutoKind:
    """What kind of automatic mail the message is, from its markers (RFC 3834 and habits)."""
    if bounce is not None:
        return AutoKind.BOUNCE
    auto_submitted = first_token(raw_value(message, "auto-submitted"))
    precedence = first_token(raw_value(message, "precedence") or raw_value(message, "x-precedence"))
    autoreply = first_token(raw_value(message, "x-autoreply"))
    marked = (
        auto_submitted not in ("", "no")
        or (bool(raw_values(message, "x-autoreply")) and autoreply not in ("no", "false", "0"))
        or bool(raw_values(message, "x-autorespond"))
        or precedence == "auto_reply"
        or report_type == "disposition-notification"
    )
    # RFC 3834 replies go out with a null envelope sender; Exchange marks inbox-rule mail.
    # Weak hints, so they count only with an auto-reply subject. X-Auto-Response-Suppress is a
    # request to others, and Exchange puts it on ordinary mail: it is not a marker.
    hinted = raw_value(message, "return-path").strip() == "<>" or bool(
        raw_values(message, "x-ms-exchange-inbox-rules-loop")
    )
    if marked or (hinted and _AUTO_REPLY_SUBJECT.search(subject)):
        return AutoKind.AUTO_REPLY
    if raw_values(message, "list-id") or raw_values(message, "list-unsubscribe"):
        return AutoKind.LIST
    if precedence == "list":
        return AutoKind.LIST
    if precedence in ("bulk", "junk"):
        return AutoKind.BULK
    return AutoKind.NONE


def looks_like_bounce(message: Message, sender: tuple[str, str], subject: str) -> bool:
    """Whether a message without a delivery report reads as a bounce: a daemon's failure notice."""
    address, name = sender
    from_daemon = (
        address.split("@", 1)[0] in _BOUNCE_SENDERS
        or _BOUNCE_SENDER_NAME.search(name)
        or any(daemon in raw_value(message, "from").lower() for daemon in _BOUNCE_SENDERS)
    )
    return bool(from_daemon and _BOUNCE_SUBJECT.search(subject))


def dsn_bounce(blocks: list[Message], original_message_id: str) -> Bounce:
    """What a delivery status notification (RFC 3464) says, read from its field blocks."""
    fields = [
        {
            name.lower(): " ".join(ascii_token_text(value).split())
            for name, value in block.raw_items()
        }
        for block in blocks
    ]
    per_recipient = [block for block in fields if "final-recipient" in block or "action" in block]
    recipients: dict[str, None] = {}
    for block in per_recipient:
        for name in ("final-recipient", "original-recipient"):
            address = block.get(name, "").rpartition(";")[2].strip().strip("<>").lower()
            if ADDRESS.fullmatch(address):
                recipients[address] = None
    first = per_recipient[0] if per_recipient else {}
    status = _STATUS_CODE.search(first.get("status", ""))
    diagnostic = first.get("diagnostic-code", "")
    kind, separator, rest = diagnostic.partition(";")
    if separator and re.fullmatch(r"\s*[\w-]+\s*", kind):  # "smtp; 550 5.1.1 …"
        diagnostic = rest.strip()
    return Bounce(
        recipients=tuple(recipients),
        action=first.get("action", "").lower(),
        status=status.group(1) if status else "",
        diagnostic=diagnostic,
        original_message_id=original_message_id,
    )


def classic_bounce(text: str, original_message_id: str) -> Bounce:
    """What a non-DSN bounce (qmail, old Exim) says, read from its prose."""
    marker = BOUNCE_COPY_MARKER.search(text)
    report, returned = (text[: marker.start()], text[marker.start() :]) if marker else (text, "")
    lines = report.split("\n")
    recipients: dict[str, None] = {}
    explanation: list[str] = []
    for index, line in enumerate(lines):
        # qmail and Exim put the address alone on a line, Postfix as "<address>: what happened"
        found = _BARE_RECIPIENT.match(line) or _RECIPIENT_SAID.match(line)
        if not found:
            continue
        recipients[found.group(1).lower()] = None
        if explanation:
            continue
        explanation = [found.group(2).strip()] if found.lastindex == 2 else []
        for following in lines[index + 1 :]:
            if not following.strip() or _BARE_RECIPIENT.match(following):
                break
            explanation.append(following.strip())
    status = _STATUS_CODE.search(report)
    diagnostic = " ".join(explanation) or next(
        (line.strip() for line in lines if _SMTP_REPLY.search(line)), ""
    )
    lowered = report.lower()
    if "permanent" in lowered or (status and status.group(1).startswith("5")):
        action = "failed"
    elif "delayed" in lowered or "will retry" in lowered or "temporary" in lowered:
        action = "delayed"
    else:
        action = ""
    if not original_message_id:
        quoted = _QUOTED_MESSAGE_ID.search(returned)
        original_message_id = quoted.group(1) if quoted else ""
    return Bounce(
        recipients=tuple(recipients),
        action=action,
        status=status.group(1) if status else "",
        diagnostic=diagnostic,
        original_message_id=original_message_id,
    )
