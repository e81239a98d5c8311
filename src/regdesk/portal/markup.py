"""The published regulation's markdown-ish text (``regdesk.core.render``) as safe HTML.

Only what the renderer writes is understood: ``#`` headings, ``-`` bullets nested by two
spaces, ``1.`` numbered items, ``| a | b |`` tables whose second row is ``| --- |``, and
paragraphs whose lines are kept as line breaks. Everything else is text: every piece is
escaped, and bare http(s) addresses become links.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET = re.compile(r"^(\s*)-\s+(.*)$")
_NUMBERED = re.compile(r"^(\s*)\d+[.)]\s+(.*)$")
_TABLE_ROW = re.compile(r"^\|(.*)\|\s*$")
_TABLE_RULE = re.compile(r"^\|(\s*:?-{3,}:?\s*\|)+\s*$")
_URL = re.compile(r"https?://[^\s<>\"'()]+[^\s<>\"'().,;:!?]")


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str


def inline(text: str) -> str:
    """Escaped text with bare web addresses as links."""
    out: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        out.append(escape(text[last : match.start()]))
        url = escape(match.group(0))
        out.append(f'<a href="{url}" rel="nofollow noopener">{url}</a>')
        last = match.end()
    out.append(escape(text[last:]))
    return "".join(out)


def _cells(line: str) -> list[str]:
    match = _TABLE_ROW.match(line.strip())
    inner = match.group(1) if match else line
    return [cell.strip() for cell in inner.split("|")]


class _Builder:
    def __init__(self) -> None:
        self.html: list[str] = []
        self.headings: list[Heading] = []
        self._anchors: set[str] = set()
        self._lists: list[tuple[int, str]] = []  # (indent, "ul"/"ol") open, innermost last
        self._paragraph: list[str] = []

    # paragraphs ------------------------------------------------------------
    def flush_paragraph(self) -> None:
        if self._paragraph:
            self.html.append("<p>" + "<br>".join(inline(p) for p in self._paragraph) + "</p>")
            self._paragraph = []

    def text_line(self, text: str) -> None:
        self.close_lists()
        self._paragraph.append(text.strip())

    # lists -------------------------------------------------------------------
    def close_lists(self, to_indent: int = -1) -> None:
        while self._lists and self._lists[-1][0] > to_indent:
            _indent, tag = self._lists.pop()
            self.html.append(f"</li></{tag}>")

    def item(self, indent: int, tag: str, text: str) -> None:
        self.flush_paragraph()
        self.close_lists(indent)
        if self._lists and self._lists[-1][0] == indent:
            if self._lists[-1][1] != tag:
                self.close_lists(indent - 1)
                self.html.append(f"<{tag}><li>")
                self._lists.append((indent, tag))
            else:
                self.html.append("</li><li>")
        else:
            self.html.append(f"<{tag}><li>")
            self._lists.append((indent, tag))
        self.html.append(inline(text))

    # blocks ------------------------------------------------------------------
    def heading(self, level: int, text: str) -> None:
        self.flush_paragraph()
        self.close_lists()
        base = slugify(text, allow_unicode=True) or "section"
        anchor, n = base, 1
        while anchor in self._anchors:
            n += 1
            anchor = f"{base}-{n}"
        self._anchors.add(anchor)
        self.headings.append(Heading(level, text, anchor))
        self.html.append(f'<h{level} id="{escape(anchor)}">{inline(text)}</h{level}>')

    def table(self, rows: list[str]) -> None:
        self.flush_paragraph()
        self.close_lists()
        header = _cells(rows[0])
        body = [_cells(r) for r in rows[1:] if not _TABLE_RULE.match(r.strip())]
        parts = ['<div class="table-wrap"><table><thead><tr>']
        parts += [f'<th scope="col">{inline(c)}</th>' for c in header]
        parts.append("</tr></thead><tbody>")
        for row in body:
            parts.append("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in row) + "</tr>")
        parts.append("</tbody></table></div>")
        self.html.append("".join(parts))

    def finish(self) -> None:
        self.flush_paragraph()
        self.close_lists()


def regulation_html(text: str) -> tuple[SafeString, list[Heading]]:
    """HTML of a rendered regulation and its headings (for a table of contents)."""
    builder = _Builder()
    lines = text.splitlines()
    n = 0
    while n < len(lines):
        line = lines[n]
        stripped = line.strip()
        if not stripped:
            builder.flush_paragraph()
            builder.close_lists()
            n += 1
            continue
        if stripped.startswith("|") and n + 1 < len(lines) and _TABLE_RULE.match(lines[n + 1]):
            rows = []
            while n < len(lines) and lines[n].strip().startswith("|"):
                rows.append(lines[n])
                n += 1
            builder.table(rows)
            continue
        heading = _HEADING.match(stripped)
        bullet = _BULLET.match(line)
        numbered = _NUMBERED.match(line)
        if heading:
            builder.heading(len(heading.group(1)), heading.group(2).strip())
        elif bullet:
            builder.item(len(bullet.group(1).expandtabs(2)), "ul", bullet.group(2))
        elif numbered:
            builder.item(len(numbered.group(1).expandtabs(2)), "ol", numbered.group(2))
        else:
            builder.text_line(line)
        n += 1
    builder.finish()
    # Safe: every piece of text went through escape() in inline() or heading anchors.
    return mark_safe("\n".join(builder.html)), builder.headings
