"""Quoted history: where a reply's own text ends and the quoted earlier messages begin.

Cuts only on clear markers (separator lines, Outlook header blocks, "On … wrote:" attributions,
a bounce's copy of the message); when unsure it keeps the whole text.
"""

from __future__ import annotations

import re

from regdesk.channels.parsers._reports import BOUNCE_COPY_MARKER

# A forward's quoted message is what the forwarder wants looked at, not history.
FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|пересл|wg|tr)\s*:", re.IGNORECASE)

# Where the quoted history of a reply starts. Deliberately narrow: a missed quote costs the agent a
# scroll, a wrong cut loses what the customer wrote.
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(original message|исходное сообщение|ursprüngliche nachricht|"
    r"message d'origine|mensaje original|oorspronkelijk bericht)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_OUTLOOK_FROM = re.compile(r"^\s*\*?(from|от|von|de|van|da)\s*:\*?\s*\S", re.IGNORECASE)
_OUTLOOK_FIELD = re.compile(
    r"^\s*\*?(sent|date|to|cc|subject|отправлено|дата|кому|копия|тема|gesendet|datum|an|"
    r"betreff|envoyé|à|objet|enviado|para|asunto)\s*:",
    re.IGNORECASE,
)
_FORWARD_MARKER = re.compile(
    r"^\s*-*\s*(forwarded message|begin forwarded message|пересылаемое сообщение|"
    r"weitergeleitete nachricht|message transféré)",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
_ATTRIBUTION_END = re.compile(
    r"(\b(wrote|writes|schrieb|escribió|ha scritto|schreef|napisał)|a écrit|"
    r"написал(а|\(а\))?|пишет|<[^<>\s@]+@[^<>\s]+>)\s*:\s*$",
    re.IGNORECASE,
)
_ATTRIBUTION_START = re.compile(r"^\s*(on|am|le|el|il|op)\s", re.IGNORECASE)
_TIME_OR_YEAR = re.compile(r"\d{1,2}:\d{2}|\b(19|20)\d{2}\b")
_NUMERIC_DATE = re.compile(r"\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b")


def strip_quoted(text: str) -> str:
    """The text without the quoted history; the whole text when unsure."""
    lines = text.split("\n")
    cut = _history_start(lines)
    if cut is not None:
        while cut > 0 and (not lines[cut - 1].strip() or _UNDERSCORES.match(lines[cut - 1])):
            cut -= 1
        lines = lines[:cut]
    end = len(lines)
    while end and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith(">")):
        end -= 1
    new = "\n".join(lines[:end]).strip("\n")
    return new if new.strip() else text


def _history_start(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith(">"):
            continue
        if _FORWARD_MARKER.match(line):
            return None  # below is a forwarded message: content, not history
        if _ORIGINAL_MESSAGE.match(line) or BOUNCE_COPY_MARKER.match(line):
            return index
        if _OUTLOOK_FROM.match(line) and _outlook_header_block(lines, index):
            return index
        if _attribution_at(lines, index):
            return index
    return None


def _outlook_header_block(lines: list[str], start: int) -> bool:
    following = [line for line in lines[start + 1 : start + 8] if line.strip()][:4]
    return sum(bool(_OUTLOOK_FIELD.match(line)) for line in following) >= 2


def _attribution_at(lines: list[str], index: int) -> bool:
    # Clients wrap a long "On …, Name <address> wrote:" over two or three lines.
    may_wrap = bool(_ATTRIBUTION_START.match(lines[index]) or _TIME_OR_YEAR.search(lines[index]))
    for span in (1, 2, 3) if may_wrap else (1,):
        chunk = lines[index : index + span]
        if len(chunk) < span or not all(line.strip() for line in chunk):
            return False
        joined = " ".join(line.strip() for line in chunk)
        if len(joined) > 400:
            return False
        if _ATTRIBUTION_END.search(joined):
            return _attribution_confirmed(lines, index + span, joined)
    return False


def _attribution_confirmed(lines: list[str], after: int, attribution: str) -> bool:
    following = next((line for line in lines[after:] if line.strip()), "")
    if following.lstrip().startswith(">"):
        return True
    dated = bool(_TIME_OR_YEAR.search(attribution))
    looks_like_header = bool(
        _ATTRIBUTION_START.match(attribution)
        or "@" in attribution
        or _NUMERIC_DATE.search(attribution)
    )
    return dated and looks_like_header
