"""MIME structure: reading the stdlib parser's tree without letting malformed input raise.

Owns the raw-header parsing policy, the bounded walk over parts, parameter and charset access,
and the names given to attachments and to the parser's defects.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import feedparser, policy
from email.message import Message
from typing import Any

from regdesk.channels.parsers._charsets import python_codec


class _RawHeaderPolicy(policy.Compat32):
    """compat32, except that a header value comes back as it was parsed.

    compat32 turns a value with raw 8-bit bytes into an "unknown-8bit" Header whose text has
    replacement characters; kept surrogate-escaped, the bytes reach our charset detection intact.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


RAW_HEADERS = _RawHeaderPolicy()


# The stdlib parser compiles a regular expression for each multipart boundary it meets, and
# boundaries are unique, so none is ever cached: 0.45 ms a multipart message, about as much as
# the rest of its parsing (measured on the benchmark's mail). ``email.feedparser`` is given a
# stand-in for ``re`` that answers that one pattern with the same test done by a string prefix
# and one precompiled pattern for the rest of the line; every other pattern, and any shape of
# it another Python version may use, is compiled by ``re`` as before.
_BOUNDARY_START = "(?P<sep>"
_BOUNDARY_REST = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
_BOUNDARY_TAIL = re.compile(_BOUNDARY_REST[1:])
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


class BoundaryMatcher:
    """``re.compile(f"(?P<sep>{re.escape(separator)}" + _BOUNDARY_REST).match``, the same
    answer for every line: None, or a match with the groups the parser reads (``end``, ``ws``,
    ``linesep``)."""

    __slots__ = ("_length", "_separator")

    def __init__(self, separator: str) -> None:
        self._separator = separator
        self._length = len(separator)

    def match(self, line: str) -> re.Match[str] | None:
        if not line.startswith(self._separator):
            return None
        return _BOUNDARY_TAIL.match(line, self._length)


class _FeedparserRe:
    """What ``email.feedparser`` sees as ``re``: ``re`` itself, except for boundary patterns."""

    def __getattr__(self, name: str) -> Any:
        return getattr(re, name)

    def compile(self, pattern: Any, flags: int = 0) -> Any:
        if (
            not flags
            and isinstance(pattern, str)
            and pattern.startswith(_BOUNDARY_START)
            and pattern.endswith(_BOUNDARY_REST)
        ):
            escaped = pattern[len(_BOUNDARY_START) : -len(_BOUNDARY_REST)]
            separator = _ESCAPED.sub(r"\1", escaped)
            if re.escape(separator) == escaped:  # the pattern is exactly that literal
                return BoundaryMatcher(separator)
        return re.compile(pattern, flags)


def boundary_matching_install() -> None:
    """Give ``email.feedparser`` the stand-in (once per process; idempotent)."""
    if feedparser.re is re:
        feedparser.re = _FeedparserRe()  # type: ignore[assignment]


boundary_matching_install()

MAX_DEPTH = 40  # MIME nesting beyond this is hostile, not mail
_MAX_PARTS = 5_000


def header_param(part: Message, name: str, header: str = "content-type") -> str:
    try:
        value = part.get_param(name, header=header)
    except Exception:  # a malformed parameter list
        return ""
    if isinstance(value, tuple):  # RFC 2231 (charset, language, value)
        value = value[2]
    return value if isinstance(value, str) else ""


def content_charset(part: Message) -> str:
    try:
        charset = part.get_content_charset()
    except Exception:  # RFC 2231 charset parameters with impossible values
        return ""
    return charset or ""


def iter_parts(message: Message) -> Iterator[Message]:
    """Every part, depth first, bounded (``Message.walk`` recurses without a limit)."""
    stack: list[tuple[Message, int]] = [(message, 0)]
    seen = 0
    while stack and seen < _MAX_PARTS:
        part, depth = stack.pop()
        seen += 1
        yield part
        if depth < MAX_DEPTH:
            stack.extend((child, depth + 1) for child in reversed(sub_parts(part) or []))


def sub_parts(part: Message) -> list[Message] | None:
    """The sub-parts of a multipart or message/* part; None for a leaf.

    Only ever call ``get_payload()`` without ``decode`` on a container: on a leaf with 8-bit bytes
    it decodes them with the declared charset (and raises on some RFC 2231 charset values).
    """
    if not part.is_multipart():
        return None
    return [child for child in part.get_payload() if isinstance(child, Message)]


def declared_charsets(message: Message) -> tuple[str, ...]:
    """The text charsets the message's parts declare, in order: hints for undeclared bytes."""
    found: dict[str, None] = {}
    for part in iter_parts(message):
        declared = content_charset(part)
        codec = python_codec(declared) if declared else None
        if codec and codec != "ascii":
            found[codec] = None
    return tuple(found)


def meta_charset(data: bytes) -> str:
    found = re.search(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?([A-Za-z0-9_:.-]{1,40})", data[:4096])
    return found.group(1).decode("ascii") if found else ""


EXTENSIONS = {
    "application/json": ".json",
    "application/msword": ".doc",
    "application/ms-tnef": ".dat",
    "application/pdf": ".pdf",
    "application/pgp-signature": ".asc",
    "application/pkcs7-signature": ".p7s",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.ms-tnef": ".dat",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/x-pkcs7-signature": ".p7s",
    "application/xml": ".xml",
    "application/zip": ".zip",
    "audio/mpeg": ".mp3",
    "image/bmp": ".bmp",
    "image/gif": ".gif",
    "image/heic": ".heic",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/svg+xml": ".svg",
    "image/tiff": ".tif",
    "image/webp": ".webp",
    "message/delivery-status": ".txt",
    "message/global": ".eml",
    "message/rfc822": ".eml",
    "text/calendar": ".ics",
    "text/csv": ".csv",
    "text/html": ".html",
    "text/plain": ".txt",
    "text/rfc822-headers": ".txt",
    "text/xml": ".xml",
    "video/mp4": ".mp4",
}

# What the stdlib parser's defects mean for the reader of the message.
DEFECT_NOTES = {
    "StartBoundaryNotFoundDefect": "multipart boundary never found; the body was read as text",
    "NoBoundaryInMultipartDefect": "multipart without a boundary; the body was read as text",
    "CloseBoundaryNotFoundDefect": "multipart without its closing boundary (truncated message?)",
    "MissingHeaderBodySeparatorDefect": "a header line without a colon; the rest was read as body",
    "FirstHeaderLineIsContinuationDefect": "the first header line was a continuation line",
    "MisplacedEnvelopeHeaderDefect": "a 'From ' envelope line among the headers",
    "InvalidBase64PaddingDefect": "damaged base64 content; what could be read was kept",
    "InvalidBase64CharactersDefect": "damaged base64 content; what could be read was kept",
    "InvalidBase64LengthDefect": "damaged base64 content; what could be read was kept",
}
