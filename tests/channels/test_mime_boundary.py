"""The stand-in for the stdlib parser's boundary patterns answers as the pattern would."""

from __future__ import annotations

import email.feedparser
import re
from email.parser import BytesParser

from hypothesis import given
from hypothesis import strategies as st

from regdesk.channels.parsers._mime import RAW_HEADERS, BoundaryMatcher

# the pattern email.feedparser compiles for a boundary (Python 3.11)
REST = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
BOUNDARY_CHARS = st.characters(min_codepoint=32, max_codepoint=126) | st.sampled_from(
    "\t\r\n+.()*?[]^$\\"
)
TAILS = st.lists(st.sampled_from(["--", " ", "\t", "\r\n", "\r", "\n", "x", "-", "\\", "="]))


def _pattern(separator: str) -> str:
    return "(?P<sep>" + re.escape(separator) + REST


def _groups(match: re.Match[str] | None) -> tuple[str | None, ...] | None:
    return (
        None if match is None else (match.group("end"), match.group("ws"), match.group("linesep"))
    )


@given(
    boundary=st.text(BOUNDARY_CHARS, min_size=1, max_size=30),
    before=st.text(BOUNDARY_CHARS, max_size=3),
    tail=TAILS,
    cut=st.integers(min_value=0, max_value=5),
)
def test_a_line_matches_as_the_compiled_pattern_would(
    boundary: str, before: str, tail: list[str], cut: int
) -> None:
    separator = "--" + boundary
    expected = re.compile(_pattern(separator))
    matcher = BoundaryMatcher(separator)
    for line in (
        separator + "".join(tail),
        before + separator + "".join(tail),
        separator[: max(0, len(separator) - cut)] + "".join(tail),
    ):
        assert _groups(matcher.match(line)) == _groups(expected.match(line)), line


def test_the_parser_uses_the_stand_in_and_parses_multiparts_as_before() -> None:
    stand_in = email.feedparser.re.compile(_pattern("--b1.x(y)"))
    assert isinstance(stand_in, BoundaryMatcher)
    # every other pattern is compiled as it is
    assert email.feedparser.re.compile(r"a+b") is re.compile(r"a+b")
    raw = (
        b'Content-Type: multipart/mixed; boundary="b1.x(y)"\r\n\r\npreamble\r\n'
        b"--b1.x(y)\r\nContent-Type: text/plain\r\n\r\none\r\n"
        b"--b1.x(y)X\r\nnot a boundary\r\n"
        b"--b1.x(y)  \r\nContent-Type: text/plain\r\n\r\ntwo\r\n"
        b"--b1.x(y)--\r\nepilogue\r\n"
    )
    message = BytesParser(policy=RAW_HEADERS).parsebytes(raw)
    parts = message.get_payload()
    assert [p.get_payload() for p in parts] == ["one\r\n--b1.x(y)X\r\nnot a boundary", "two"]
    assert message.preamble == "preamble"
    assert message.epilogue == "epilogue\r\n"
    assert not message.defects
