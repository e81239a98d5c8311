"""Body text: HTML sanitised with nh3 and turned into readable text; plain text normalised.

Owns what a body's text looks like once decoded: safe HTML (tracking pixels dropped, ``cid:``
links kept), HTML rendered as text with quotes prefixed, format=flowed lines joined, and control
characters, stray blank lines and trailing spaces removed.
"""

from __future__ import annotations

import html as html_entities
import re
from html.parser import HTMLParser

import nh3

from regdesk.channels.parsers._headers import CONTROL_CHARS

# cid: must survive so a later step can point inline images at the stored attachments.
_URL_SCHEMES = frozenset(nh3.ALLOWED_URL_SCHEMES | {"cid"})
_DROPPED_WITH_CONTENT = frozenset({"script", "style", "title", "noscript", "template"})
_IMG_TAG = re.compile(r"<img(?:\s+[^\s=>\"]+(?:=\"[^\"]*\")?)*\s*/?>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"([^\s=>\"]+)=\"([^\"]*)\"")
CID_SRC = re.compile(r"src=\"cid:([^\"]+)\"", re.IGNORECASE)


def sanitise(html: str) -> str:
    cleaned = nh3.clean(
        html, clean_content_tags=set(_DROPPED_WITH_CONTENT), url_schemes=set(_URL_SCHEMES)
    )
    return _IMG_TAG.sub(_drop_tracking_pixel, cleaned).strip()


def _drop_tracking_pixel(match: re.Match[str]) -> str:
    attributes = {name.lower(): value for name, value in _ATTRIBUTE.findall(match.group())}
    sizes = [
        attributes[name].strip().lower().removesuffix("px")
        for name in ("width", "height")
        if name in attributes
    ]
    if sizes and all(size.isdigit() and int(size) <= 1 for size in sizes):
        return ""
    return match.group()


_HTML_WHITESPACE = re.compile(r"[ \t\n\r\f]+")
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "caption", "center", "dd", "details", "div", "dl", "dt",
        "figcaption", "figure", "footer", "header", "hgroup", "hr", "li", "nav", "section",
        "summary", "tbody", "thead", "tfoot", "tr",
    }
)  # fmt: skip
_PARAGRAPHS = frozenset(
    {"blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "ol", "p", "pre", "table", "ul"}
)


class _HtmlText(HTMLParser):
    """Readable text of (sanitised) HTML: blocks on their own lines, quotes prefixed by "> "."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._out: list[str] = []
        self._skip = 0
        self._pre = 0
        self._quote = 0
        self._line_start = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "br":
            self._out.append("\n")
            self._line_start = True
        elif tag in ("td", "th"):
            self._space()
        elif tag in _PARAGRAPHS or tag in _BLOCKS:
            self._break(blank=tag in _PARAGRAPHS)
            if tag == "blockquote":
                self._quote += 1
            elif tag == "pre":
                self._pre += 1
            elif tag == "li":
                self._text("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _PARAGRAPHS or tag in _BLOCKS:
            self._break(blank=tag in _PARAGRAPHS)
            if tag == "blockquote":
                self._quote = max(0, self._quote - 1)
            if tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._pre:
            lines = data.split("\n")
            for index, line in enumerate(lines):
                if index:
                    self._out.append("\n")
                    self._line_start = True
                if line:
                    self._text(line)
            return
        data = _HTML_WHITESPACE.sub(" ", data)  # not \s: a no-break space must stay
        if self._line_start or (self._out and self._out[-1].endswith(" ")):
            data = data.lstrip(" ")
        if data:
            self._text(data)

    def _text(self, data: str) -> None:
        if self._line_start:
            self._out.append("> " * self._quote)
            self._line_start = False
        self._out.append(data)

    def _space(self) -> None:
        if not self._line_start and self._out and not self._out[-1].endswith(" "):
            self._out.append(" ")

    def _break(self, *, blank: bool) -> None:
        if not self._out:
            return
        joined_tail = "".join(self._out[-3:])
        have = len(joined_tail) - len(joined_tail.rstrip("\n"))
        want = 2 if blank else 1
        self._out.append("\n" * max(0, want - have))
        self._line_start = True

    def text(self) -> str:
        return "".join(self._out)


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except AssertionError:  # html.parser on markup nh3 would never emit; keep the tag-free text
        return clean_text(html_entities.unescape(re.sub(r"<[^>]*>", " ", html)))
    return clean_text(parser.text())


# --- plain text ----------------------------------------------------------------------------------


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def unflow(text: str, *, delsp: bool) -> str:
    """Join RFC 3676 format=flowed soft line breaks (a line ending in a space continues)."""
    out: list[str] = []
    paragraph: str | None = None
    paragraph_depth = 0
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        content = content.removeprefix(" ")  # space-stuffing
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delsp:
            content = content[:-1]
        if paragraph is not None and depth == paragraph_depth:
            paragraph += content
        else:
            if paragraph is not None:
                out.append(_quoted(paragraph, paragraph_depth))
            paragraph, paragraph_depth = content, depth
        if not flowed:
            out.append(_quoted(paragraph, paragraph_depth))
            paragraph = None
    if paragraph is not None:
        out.append(_quoted(paragraph, paragraph_depth))
    return "\n".join(out)


def _quoted(text: str, depth: int) -> str:
    return ">" * depth + (" " if depth and text else "") + text


def clean_text(text: str) -> str:
    text = CONTROL_CHARS.sub("", normalise_newlines(text).lstrip("\ufeff"))
    lines = [line.rstrip() for line in text.split("\n")]
    collapsed: list[str] = []
    for line in lines:
        if not line and (not collapsed or not collapsed[-1]):
            continue
        collapsed.append(line)
    return "\n".join(collapsed).strip("\n")
