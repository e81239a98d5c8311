"""Header fields: raw values read from the MIME tree and decoded into one clean line of text.

Owns RFC 2047 encoded-words (decoded leniently), raw 8-bit header bytes, address lists, message
ids and language tags. ``HeaderDecoder`` records its guesses through the reader's ``warn``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.utils import getaddresses

from regdesk.channels.parsers._charsets import decode_bytes, decode_guessed, no_surrogates

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_QP_BYTE = re.compile(rb"=([0-9A-Fa-f]{2})")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ADDRESS = re.compile(r"[^@\s<>,;\"\x00-\x1f\x7f]+@[^@\s<>,;\"\x00-\x1f\x7f]+")
MESSAGE_ID = re.compile(r"<([^<>\s\x00-\x1f\x7f]+)>")
# One plain mailbox, the common case: `Name Surname <local@domain>` or `local@domain`, ASCII,
# words separated by single spaces, a word being an atom or an RFC 2047 encoded-word (a name
# in another script, as every mail client writes one: decoded by ``_display_name``). Quoting,
# comments, groups, dots in the name or several addresses go through the full parsers.
_ATOM = r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+"
_WORD = rf"(?:{_ATOM}|=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)"
_ADDR_SPEC = rf"(?:{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)"
_PLAIN_MAILBOX = re.compile(
    rf"\s*(?:((?:{_WORD})(?: {_WORD})*)?\s*<({_ADDR_SPEC})>|({_ADDR_SPEC}))\s*"
)
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")


def raw_values(part: Message, name: str) -> list[str]:
    """The raw values of a header field, in order. The part's fields are indexed by name on
    first use (a message is asked for about 25 fields; scanning all of them each time was a
    fortieth of its intake); parsed parts are never changed afterwards."""
    index: dict[str, list[str]] | None = part.__dict__.get(_INDEX)
    if index is None:
        index = {}
        for key, value in part.raw_items():
            index.setdefault(key.lower(), []).append(value)
        part.__dict__[_INDEX] = index
    return list(index.get(name.lower(), ()))


_INDEX = "_regdesk_raw_headers"


def raw_value(part: Message, name: str) -> str:
    values = raw_values(part, name)
    return values[0] if values else ""


def unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value).replace("\r", " ").replace("\n", " ")


def one_line(text: str) -> str:
    text = unfold(text).replace("\t", " ")
    return CONTROL_CHARS.sub("", text).strip()


def ascii_token_text(raw: str) -> str:
    """A header that should be ASCII (ids, dates, tags), readable even when it is not."""
    return no_surrogates(raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


def _b_decode(payload: str) -> bytes | None:
    # Broken senders drop or misplace padding, and some glue two padded chunks together.
    chunks = [re.sub(r"[^A-Za-z0-9+/]", "", chunk) for chunk in payload.split("=")]
    decoded = []
    for chunk in chunks:
        if len(chunk) % 4 == 1:
            chunk = chunk[:-1]
        try:
            decoded.append(base64.b64decode(chunk + "=" * (-len(chunk) % 4)))
        except (binascii.Error, ValueError):
            return None
    return b"".join(decoded)


def _q_decode(payload: str) -> bytes:
    data = payload.replace("_", " ").encode("utf-8", "surrogateescape")
    return _QP_BYTE.sub(lambda match: bytes([int(match.group(1), 16)]), data)


def message_ids(raw: str) -> tuple[str, ...]:
    text = one_line(ascii_token_text(raw))
    ids = MESSAGE_ID.findall(text)
    if not ids:
        ids = [token.strip("<>") for token in re.split(r"[\s,;]+", text) if "@" in token]
    return tuple(dict.fromkeys(found for found in ids if found))


def language_tag(raw: str) -> str:
    first = one_line(ascii_token_text(raw)).split(",", 1)[0].strip()
    return first if _LANGUAGE_TAG.fullmatch(first) else ""


def first_token(raw: str) -> str:
    return one_line(ascii_token_text(raw)).split(";", 1)[0].strip().lower()


@dataclass
class HeaderDecoder:
    """Decodes header values of one message; ``hints`` are the charsets its parts declare."""

    hints: tuple[str, ...]
    warn: Callable[[str], None]

    def _eight_bit(self, raw: str, where: str) -> str:
        """Raw 8-bit header bytes as text (RFC 6532 UTF-8, or a legacy charset guessed)."""
        if raw.isascii():
            return raw
        data = raw.encode("utf-8", "surrogateescape")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        text, guessed = decode_guessed(data, self.hints)
        self.warn(f"{where}: unencoded 8-bit header decoded as {guessed} (guessed)")
        return text

    def text(self, raw: str, where: str) -> str:
        """A raw header value as one line of text: 8-bit bytes and encoded-words decoded."""
        return one_line(self._encoded_words(self._eight_bit(raw, where), where))

    def _encoded_words(self, text: str, where: str) -> str:
        """Decode RFC 2047 encoded-words, leniently: also inside quotes and words, split bytes."""
        if "=?" not in text:
            return text
        pieces: list[str] = []
        run: list[tuple[str, bytes]] = []
        position = 0
        for match in _ENCODED_WORD.finditer(text):
            gap = text[position : match.start()]
            if not (run and not gap.strip()):  # blanks between encoded-words are not text
                pieces.append(self._decode_run(run, where))
                run = []
                pieces.append(gap)
            charset, encoding, payload = match.groups()
            data = _b_decode(payload) if encoding in "bB" else _q_decode(payload)
            if data is None:
                self.warn(f"{where}: a broken encoded-word was left as it is")
                pieces.append(self._decode_run(run, where))
                run = []
                pieces.append(match.group())
            else:
                run.append((charset.split("*", 1)[0], data))
            position = match.end()
        pieces.append(self._decode_run(run, where))
        pieces.append(text[position:])
        return "".join(pieces)

    def _decode_run(self, run: list[tuple[str, bytes]], where: str) -> str:
        # Adjacent words in one charset are joined before decoding: senders split multibyte
        # characters across them.
        decoded: list[str] = []
        index = 0
        while index < len(run):
            charset, data = run[index]
            index += 1
            while index < len(run) and run[index][0].lower() == charset.lower():
                data += run[index][1]
                index += 1
            text, note = decode_bytes(data, charset, hints=self.hints, where=where)
            self.warn(note)
            decoded.append(text)
        return "".join(decoded)

    def addresses(self, message: Message, names: Iterable[str]) -> list[tuple[str, str]]:
        found: dict[str, str] = {}
        for name in names:
            for raw in raw_values(message, name):
                for display_name, address in self._address_list(raw, name):
                    found.setdefault(address, display_name)
        return [(display_name, address) for address, display_name in found.items()]

    def _address_list(self, raw: str, name: str) -> list[tuple[str, str]]:
        where = name.title()
        text = unfold(self._eight_bit(raw, where))
        plain = _PLAIN_MAILBOX.fullmatch(text) if text.isascii() else None
        if plain is not None:
            display_name, address = plain.group(1) or "", plain.group(2) or plain.group(3)
            address = address.lower()
            if ADDRESS.fullmatch(address):
                return [(self._display_name(display_name, where), address)]
        try:
            fallback = getaddresses([text])
        except Exception:  # some stdlib versions raise on pathological lists
            fallback = []
        try:
            header = policy.default.header_factory("to", text)  # "to": parse as an address list
            parsed = [(found.display_name, found.addr_spec) for found in header.addresses]
        except Exception:  # the header registry raises on some malformed address lists
            parsed = []
        if not any(ADDRESS.fullmatch(address) for _, address in parsed):
            parsed = fallback
        comment_names = {address.lower(): display for display, address in fallback if display}
        result = []
        for display_name, address in parsed:
            address = no_surrogates(address.strip().strip("<>")).lower()
            if not ADDRESS.fullmatch(address):
                continue
            display_name = display_name or comment_names.get(address, "")
            result.append((self._display_name(display_name, where), address))
        return result

    def _display_name(self, display_name: str, where: str) -> str:
        if not display_name.isascii():
            # The registry leaves the bytes of an unknown encoded-word charset as surrogates.
            display_name = self._eight_bit(display_name, where)
        text = self._encoded_words(display_name, where)
        return one_line(text).strip("\"' ")
