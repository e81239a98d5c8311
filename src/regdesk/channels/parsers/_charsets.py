"""Charsets: turning bytes of a declared, wrong or missing charset into text.

Owns the charset aliases mail clients use, strict decoding with wider fallbacks, and the guess
for undeclared 8-bit text (valid UTF-8 first, else the most plausible legacy reading).
"""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata
from collections.abc import Sequence

import charset_normalizer

# Labels mail clients use that Python does not know, or knows as a narrower charset than the one
# the clients really write (Outlook's "ks_c_5601-1987" is cp949, "gb2312" mail is GBK, and so on).
_CHARSET_ALIASES = {
    "x-mac-cyrillic": "mac_cyrillic",
    "x-mac-ukrainian": "mac_cyrillic",
    "windows-874": "cp874",
    "tis-620": "cp874",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "windows-31j": "cp932",
    "iso-8859-8-i": "iso8859_8",
    "iso-8859-6-i": "iso8859_6",
}
# Try these in turn when a message declares the first: real ISO-2022-JP mail uses the extensions,
# and mail labelled ISO-8859-1 is windows-1252 (its C1 range is never meant as control codes).
_WIDER_CHARSETS = {
    "iso2022_jp": ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2", "iso2022_jp_2004"),
    "iso8859-1": ("cp1252", "latin_1"),
    "cp1252": ("cp1252", "latin_1"),
}
# Candidates for undeclared 8-bit text besides what charset_normalizer proposes; ties go to the
# earlier one, so the charsets our senders really use come first.
_COMMON_LEGACY = ("cp1251", "koi8_r", "cp1252", "iso8859_5", "cp866", "mac_cyrillic", "koi8_u")
# How warnings name a codec (Python's names otherwise, with "-" for "_").
_DISPLAY_NAMES = {"cp1251": "windows-1251", "cp1252": "windows-1252", "iso8859-1": "iso-8859-1"}
_SAMPLE_BYTES = 16_384  # enough text to judge a charset by
_ISO2022_ESCAPES = (b"\x1b$B", b"\x1b$@", b"\x1b(J", b"\x1b$(D")


def python_codec(label: str) -> str | None:
    """Python's codec name for a declared charset label, None when it is not a text charset."""
    key = label.strip().strip("\"'").lower()
    key = _CHARSET_ALIASES.get(key, key)
    for name in (key, key.removeprefix("x-")):
        try:
            info = codecs.lookup(name)
        except (LookupError, ValueError, TypeError):
            continue
        try:
            b"a".decode(info.name)
        except LookupError:  # a bytes-to-bytes codec such as base64 or zlib
            continue
        except UnicodeError:  # a text codec that cannot decode a lone "a" (utf-16)
            pass
        return info.name
    return None


def _display(codec: str) -> str:
    return _DISPLAY_NAMES.get(codec, codec.replace("_", "-"))


def no_surrogates(text: str) -> str:
    """Replace lone surrogates (unicode_escape, utf-7 can make them) so the text can be stored."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


def _decode_strict(data: bytes, codec: str) -> str | None:
    for name in _WIDER_CHARSETS.get(codec, (codec,)):
        try:
            return no_surrogates(data.decode(name))
        except (UnicodeError, LookupError):
            continue
    return None


def decode_bytes(
    data: bytes, declared: str, *, hints: Sequence[str], where: str
) -> tuple[str, str]:
    """The text of ``data`` and a warning ("" if none): the declared charset first, else a guess."""
    label = declared.strip().strip("\"'")
    if label:
        codec = python_codec(label)
        if codec is None:
            text, guessed = decode_guessed(data, hints)
            return text, f"{where}: unknown charset {label!r}; decoded as {guessed} (guessed)"
        if codec == "ascii" and not data.isascii():
            text, guessed = decode_guessed(data, hints)
            return text, f"{where}: declared us-ascii but has 8-bit bytes; decoded as {guessed}"
        text_or_none = _decode_strict(data, codec)
        if text_or_none is not None:
            return text_or_none, ""
        text, guessed = decode_guessed(data, (codec, *hints))
        if guessed == _display(codec):
            return text, f"{where}: bytes that are not valid {label} were replaced"
        return text, f"{where}: not valid {label}; decoded as {guessed} (guessed)"
    if data.isascii():
        if any(escape in data for escape in _ISO2022_ESCAPES):
            text_or_none = _decode_strict(data, "iso2022_jp")
            if text_or_none is not None:
                return text_or_none, f"{where}: no charset declared; decoded as iso-2022-jp"
        return data.decode("ascii"), ""
    text, guessed = decode_guessed(data, hints)
    return text, f"{where}: no charset declared; decoded as {guessed} (guessed)"


def decode_guessed(data: bytes, hints: Sequence[str]) -> tuple[str, str]:
    """Decode bytes of an unknown charset: valid UTF-8 is UTF-8, else the most plausible reading.

    Random legacy bytes practically never form valid UTF-8, so that test comes first.
    charset_normalizer proposes candidates but is unreliable on short Cyrillic text (it reads
    a cp1251 subject as cp1125 or shift_jis), so every candidate is scored by how much its
    reading looks like words of one script with sane letter case; ties go to the earlier one.
    """
    try:
        return no_surrogates(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    sample = data[:_SAMPLE_BYTES]
    candidates = dict.fromkeys([*hints, *_COMMON_LEGACY, *_detected(sample), "latin_1"])
    best, best_score = "latin_1", float("-inf")
    for name in candidates:
        try:
            score = _plausibility(sample.decode(name, "replace"))
        except (LookupError, UnicodeError, TypeError):
            continue
        if score > best_score:
            best, best_score = name, score
    try:
        text = data.decode(best, "replace")
    except (LookupError, UnicodeError, TypeError):
        best, text = "latin_1", data.decode("latin_1")
    return no_surrogates(text), _display(python_codec(best) or best)


def _detected(sample: bytes) -> list[str]:
    try:
        found = [match.encoding for match in list(charset_normalizer.from_bytes(sample))[:3]]
    except Exception:  # detection only proposes candidates; its failure leaves the fixed ones
        return []
    # Short Western text "detects" as UTF-16 and reads as CJK; mail never sends UTF-16 unlabelled.
    return [name for name in found if not name.startswith(("utf_16", "utf_32"))]


_WORD_OR_SYMBOL = re.compile(r"[^\W\d_]+|[^\x00-\x7f]")
_RUSSIAN_FREQUENT = frozenset("оеаинтсрвлкмдпуяыь")
_CYRILLIC_COMMON = frozenset("гзбчйхжшюцщэфъёіїєґў")
_HARMLESS_SYMBOLS = frozenset("№©®°™€₽£§¶")
_EAST_ASIAN = frozenset({"CJK", "HIRAGANA", "KATAKANA", "HANGUL", "IDEOGRAPHIC"})


def _plausibility(text: str) -> float:
    score = 0.0
    for match in _WORD_OR_SYMBOL.finditer(text):
        token = match.group()
        if not token.isascii():
            score += _word_score(token) if token[0].isalpha() else _symbol_score(token)
    return score


def _word_score(word: str) -> float:
    letters = [letter for letter in word if ord(letter) > 127]
    if not letters:
        return 0.0
    infos = [_letter_info(letter) for letter in letters]
    scripts = {script for script, _ in infos}
    if len(letters) < len(word):
        scripts.add("LATIN")
    cased = any(letter.isupper() or letter.islower() for letter in word)
    sane_case = not cased or word.islower() or word.isupper() or word.istitle()
    if len(scripts) > 1 or "HALFWIDTH" in scripts or not sane_case:
        return -float(len(letters))
    if scripts == {"LATIN"} and len(letters) == len(word) > 2:
        # Western words nearly always have plain ASCII letters; "Ïðèâåò" is Cyrillic misread.
        return 0.2 * len(letters)
    # An all-capitals reading of a word is usually the other legacy charset's lower case.
    capitals = 0.9 if cased and word.isupper() and len(word) > 1 else 1.0
    return capitals * sum(weight for _, weight in infos)


@functools.lru_cache(maxsize=8192)
def _letter_info(letter: str) -> tuple[str, float]:
    script = unicodedata.name(letter, "?").split(" ", 1)[0]
    if script in _EAST_ASIAN:
        return "CJK", 1.0
    if script == "CYRILLIC":
        lower = letter.lower()
        weight = 1.0 if lower in _RUSSIAN_FREQUENT else 0.9 if lower in _CYRILLIC_COMMON else 0.3
        return script, weight
    if script == "LATIN":
        return script, 1.0 if "\u00c0" <= letter <= "\u00ff" else 0.5
    return script, 0.5


@functools.lru_cache(maxsize=8192)
def _symbol_score(symbol: str) -> float:
    if symbol == "\ufffd":
        return -3.0
    if symbol in _HARMLESS_SYMBOLS:
        return 0.0
    category = unicodedata.category(symbol)
    if category.startswith("C"):
        return -2.0
    if category in ("So", "Sm", "Sk"):
        return -0.5
    return 0.0
