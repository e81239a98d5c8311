"""The plain-mailbox shortcut of the address parser reads exactly what the full parsers read."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from regdesk.channels.parsers import _headers

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "email"
HARD = [
    "Anna <Anna@Fleet.example>",
    "a@b.example",
    "  a@b.example  ",
    "<a@b.example>",
    "Anna<a@b.example>",
    "O'Brien <ob@x.example>",
    "Anna Miller\r\n <a@b.example>",
    "(comment) a@b.example",
    "a@b.example (Anna)",
    "John Q. Public <j@x.example>",
    "Anna  Miller <a@b.example>",
    "x@y.example, z@w.example",
    "Undisclosed recipients:;",
    '"Miller, Anna" <a@b.example>',
    "a..b@x.example",
    "Anna Miller <a@b.example.>",
    "=?utf-8?q?Anna?= <a@b.example>",
    "=?koi8-r?b?6dfBziDwxdTSz9c=?= <ivan@b.example>",
    "=?windows-1251?b?yOLg7SDP5fLw7uI=?= <ivan@b.example>",
    "=?utf-8?q?Miller=2C_Anna?= <a@b.example>",
    "=?utf-8?q?=22Anna=22?= <a@b.example>",
    "=?utf-8?q?Anna?= Miller <a@b.example>",
    "Dr =?utf-8?q?M=C3=BCller?= <m@b.example>",
    "=?x-unknown?q?Anna?= <a@b.example>",
    "=?utf-8?b?broken!?= <a@b.example>",
    "=?utf-8?q?Anna?=<a@b.example>",
    "bounce+srs=x=y@b.example",
    "Иван <ivan@b.example>",
]


def _headers_of_corpus() -> list[str]:
    found = []
    for path in sorted(CORPUS.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.compat32)
        for name, value in message.raw_items():
            if name.lower() in ("from", "to", "cc", "sender", "reply-to", "return-path"):
                found.append(str(value))
    return found


@pytest.mark.parametrize("value", [*HARD, *_headers_of_corpus()])
def test_the_shortcut_agrees_with_the_full_parsers(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def decoder() -> _headers.HeaderDecoder:
        return _headers.HeaderDecoder(hints=(), warn=lambda _note: None)

    shortcut = decoder()._address_list(value, "from")
    monkeypatch.setattr(_headers, "_PLAIN_MAILBOX", re.compile(r"(?!x)x"))
    assert shortcut == decoder()._address_list(value, "from")


def test_the_shortcut_takes_the_common_forms_only() -> None:
    assert _headers._PLAIN_MAILBOX.fullmatch("Anna Miller <anna@fleet.example>")
    assert _headers._PLAIN_MAILBOX.fullmatch("support@wialon.com")
    assert not _headers._PLAIN_MAILBOX.fullmatch('"Miller, Anna" <a@b.example>')
    assert _headers._PLAIN_MAILBOX.fullmatch("=?utf-8?q?Anna?= <a@b.example>")
    assert _headers._PLAIN_MAILBOX.fullmatch("=?koi8-r?b?6dfBziDwxdTSz9c=?= <ivan@b.example>")
    assert not _headers._PLAIN_MAILBOX.fullmatch("(comment) a@b.example")


def test_the_blank_between_two_encoded_words_is_not_part_of_the_name() -> None:
    # RFC 2047 6.2; the stdlib's header registry keeps it (a double space here)
    decoder = _headers.HeaderDecoder(hints=(), warn=lambda _note: None)
    value = "=?utf-8?b?0JjQstCw0L0=?= =?utf-8?b?INCf0LXRgtGA0L7Qsg==?= <ivan@b.example>"
    assert decoder._address_list(value, "from") == [("Иван Петров", "ivan@b.example")]
