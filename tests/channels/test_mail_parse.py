"""Reading inbound email: a corpus of real-world messages, then the hard cases one by one.

Each ``tests/fixtures/email/X.eml`` comes with ``X.json``: the fields of the parse that matter for
that message. Every key there is checked; a key the checker does not know fails the test, and so
does a ``.json`` without expectations.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regdesk.channels.parsers.mail import MailParseError, parse_email
from regdesk.channels.parsers.message import AutoKind, InboundMessage

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "email"
CORPUS_NAMES = sorted(path.stem for path in CORPUS.glob("*.eml"))

Check = Callable[[InboundMessage, Any, bytes], None]


def _equal(field: str) -> Check:
    def check(message: InboundMessage, expected: Any, raw: bytes) -> None:
        assert getattr(message, field) == expected, field

    return check


def _equal_tuple(field: str) -> Check:
    def check(message: InboundMessage, expected: Any, raw: bytes) -> None:
        assert getattr(message, field) == tuple(expected), field

    return check


def _contains(field: str, *, negate: bool = False) -> Check:
    def check(message: InboundMessage, expected: Any, raw: bytes) -> None:
        value = getattr(message, field)
        for fragment in expected:
            if negate:
                assert fragment not in value, f"{field} must not contain {fragment!r}"
            else:
                assert fragment in value, f"{field} must contain {fragment!r}:\n{value}"

    return check


def _check_sent_at(message: InboundMessage, expected: Any, raw: bytes) -> None:
    if expected is None:
        assert message.sent_at is None
    else:
        assert message.sent_at == datetime.fromisoformat(expected)
        assert message.sent_at is not None
        assert message.sent_at.utcoffset() is not None


def _check_auto(message: InboundMessage, expected: Any, raw: bytes) -> None:
    assert message.auto == AutoKind(expected)


def _check_synthetic_id(message: InboundMessage, expected: Any, raw: bytes) -> None:
    synthetic = "sha256:" + hashlib.sha256(raw).hexdigest()
    assert (message.message_id == synthetic) is expected


def _check_warnings_contain(message: InboundMessage, expected: Any, raw: bytes) -> None:
    for fragment in expected:
        assert any(fragment in warning for warning in message.warnings), (
            f"no warning mentions {fragment!r}: {message.warnings}"
        )


ATTACHMENT_FIELDS = {"filename", "content_type", "content_id", "inline"}


def _check_attachments(message: InboundMessage, expected: Any, raw: bytes) -> None:
    names = [attachment.filename for attachment in message.attachments]
    assert len(message.attachments) == len(expected), names
    for attachment, wanted in zip(message.attachments, expected, strict=True):
        for key, value in wanted.items():
            if key == "size":
                assert len(attachment.data) == value, attachment.filename
            elif key == "data_contains":
                assert value.encode() in attachment.data, attachment.filename
            else:
                assert key in ATTACHMENT_FIELDS, f"unknown attachment expectation {key!r}"
                assert getattr(attachment, key) == value, (attachment.filename, key)


BOUNCE_FIELDS = {"action", "status", "diagnostic", "original_message_id", "permanent"}


def _check_bounce(message: InboundMessage, expected: Any, raw: bytes) -> None:
    if expected is None:
        assert message.bounce is None
        return
    assert message.bounce is not None
    for key, value in expected.items():
        if key == "recipients":
            assert message.bounce.recipients == tuple(value)
        else:
            assert key in BOUNCE_FIELDS, f"unknown bounce expectation {key!r}"
            assert getattr(message.bounce, key) == value, key


CHECKS: dict[str, Check] = {
    "message_id": _equal("message_id"),
    "message_id_synthetic": _check_synthetic_id,
    "sender": _equal("sender"),
    "sender_name": _equal("sender_name"),
    "reply_to": _equal("reply_to"),
    "subject": _equal("subject"),
    "language": _equal("language"),
    "text": _equal("text"),
    "new_text": _equal("new_text"),
    "html": _equal("html"),
    "to": _equal_tuple("to"),
    "cc": _equal_tuple("cc"),
    "in_reply_to": _equal_tuple("in_reply_to"),
    "references": _equal_tuple("references"),
    "warnings": _equal_tuple("warnings"),
    "sent_at": _check_sent_at,
    "auto": _check_auto,
    "attachments": _check_attachments,
    "bounce": _check_bounce,
    "warnings_contain": _check_warnings_contain,
    "text_contains": _contains("text"),
    "text_not_contains": _contains("text", negate=True),
    "new_text_contains": _contains("new_text"),
    "new_text_not_contains": _contains("new_text", negate=True),
    "html_contains": _contains("html"),
    "html_not_contains": _contains("html", negate=True),
}


def test_the_corpus_covers_the_clients_we_receive_mail_from() -> None:
    assert len(CORPUS_NAMES) >= 24
    for name in CORPUS_NAMES:
        assert (CORPUS / f"{name}.json").exists(), f"{name}.eml has no expectations"


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_corpus_message_parses_as_expected(name: str) -> None:
    # Given a real-world message and what a person reading it would record
    raw = (CORPUS / f"{name}.eml").read_bytes()
    expected = json.loads((CORPUS / f"{name}.json").read_text(encoding="utf-8"))
    assert expected, f"{name}.json has no expectations"
    unknown = set(expected) - set(CHECKS)
    assert not unknown, f"{name}.json has expectations nobody checks: {sorted(unknown)}"

    # When it is parsed
    message = parse_email(raw)

    # Then every expectation holds
    assert message.channel == "email"
    for key, value in expected.items():
        CHECKS[key](message, value, raw)


# --- building messages in the tests --------------------------------------------------------------


def _mail(body: bytes, *, headers: str = "", content_type: str = "text/plain") -> bytes:
    head = (
        "From: Customer <customer@example.com>\n"
        "To: support@regdesk.example\n"
        "Subject: test\n"
        "Date: Mon, 03 Mar 2025 10:00:00 +0300\n"
        "Message-ID: <test@example.com>\n"
        "MIME-Version: 1.0\n"
        f"Content-Type: {content_type}\n"
    )
    return (head + headers).encode("ascii") + b"\n" + body


RUSSIAN = (
    "Здравствуйте! Не могу войти в личный кабинет: пишет, что пароль неверный.\n"
    "Сбросить пароль тоже не получается. Помогите, пожалуйста.\n"
)
JAPANESE = "お世話になっております。\n請求書の印刷ができません。ご確認をお願いいたします。\n"


@pytest.mark.parametrize(
    ("label", "codec", "sample"),
    [
        ("koi8-r", "koi8_r", RUSSIAN),
        ("KOI8-R", "koi8_r", RUSSIAN),
        ("windows-1251", "cp1251", RUSSIAN),
        ("cp1251", "cp1251", RUSSIAN),
        ("x-mac-cyrillic", "mac_cyrillic", RUSSIAN),
        ('"utf-8"', "utf-8", RUSSIAN),
        ("iso-2022-jp", "iso2022_jp", JAPANESE),
        ("ISO-2022-JP", "iso2022_jp", JAPANESE),
        ("shift_jis", "shift_jis", JAPANESE),
    ],
)
def test_declared_charset_is_used_without_guessing(label: str, codec: str, sample: str) -> None:
    raw = _mail(
        sample.encode(codec),
        content_type=f"text/plain; charset={label}",
        headers="Content-Transfer-Encoding: 8bit\n",
    )

    message = parse_email(raw)

    assert message.text == sample.strip()
    assert message.warnings == ()


@pytest.mark.parametrize(
    ("codec", "sample", "guessed"),
    [
        ("koi8_r", RUSSIAN, "koi8-r"),
        ("cp1251", RUSSIAN, "windows-1251"),
        ("utf-8", RUSSIAN, "utf-8"),
        ("iso2022_jp", JAPANESE, "iso-2022-jp"),
    ],
)
def test_undeclared_charset_is_guessed_and_said(codec: str, sample: str, guessed: str) -> None:
    raw = _mail(sample.encode(codec), headers="Content-Transfer-Encoding: 8bit\n")

    message = parse_email(raw)

    assert message.text == sample.strip()
    assert any(f"no charset declared; decoded as {guessed}" in w for w in message.warnings)


def test_short_undeclared_cyrillic_is_not_mistaken_for_another_script() -> None:
    # charset_normalizer alone reads these bytes as cp1125 box-drawing characters
    for codec in ("cp1251", "koi8_r"):
        raw = _mail("Привет, мир\n".encode(codec))
        assert parse_email(raw).text == "Привет, мир"


def test_unknown_declared_charset_falls_back_to_detection() -> None:
    raw = _mail(RUSSIAN.encode("cp1251"), content_type='text/plain; charset="x-no-such-charset"')

    message = parse_email(raw)

    assert message.text == RUSSIAN.strip()
    assert any("unknown charset 'x-no-such-charset'" in w for w in message.warnings)


def test_a_bytes_to_bytes_codec_is_not_a_charset() -> None:
    raw = _mail(b"plain words", content_type="text/plain; charset=base64")

    message = parse_email(raw)

    assert message.text == "plain words"
    assert any("unknown charset 'base64'" in w for w in message.warnings)


def test_declared_utf8_with_a_stray_byte_keeps_the_text() -> None:
    raw = _mail(
        "Счёт № 15 ".encode() + b"\xff" + " оплачен".encode(),
        content_type="text/plain; charset=utf-8",
    )

    message = parse_email(raw)

    assert message.text == "Счёт № 15 \ufffd оплачен"
    assert any("not valid utf-8" in w for w in message.warnings)


def _subject_of(header_value: bytes, *, body_charset: str = "utf-8") -> InboundMessage:
    raw = (
        b"From: a@example.com\nSubject: " + header_value + b"\n"
        b"Content-Type: text/plain; charset=" + body_charset.encode() + b"\n\nbody\n"
    )
    return parse_email(raw)


@pytest.mark.parametrize(
    ("header_value", "subject"),
    [
        (b"=?koi8-r?B?8NLJ18XULCDNydI=?=", "Привет, мир"),
        (b"=?windows-1251?Q?=CF=F0=E8=E2=E5=F2,_=EC=E8=F0?=", "Привет, мир"),
        (b"=?ISO-2022-JP?B?GyRCMGxNdyRHJDkbKEI=?=", "一覧です"),
        # one UTF-8 character split across two encoded-words (Outlook does this)
        (b"=?utf-8?B?0J/RgNC4?= =?utf-8?B?0LLQtdGC?=", "Привет"),
        (b"=?UTF-8?B?0J8=?=\n =?UTF-8?B?0YDQuA==?=", "При"),
        (b"=?utf-8?q?caf=C3=A9?= au lait", "café au lait"),
        (b"Re: =?utf-8*ru?B?0L/RgNC40LLQtdGC?=", "Re: привет"),
        (b"=?utf-8?B?0L/RgNC40LLQtdGC?=", "привет"),
        (b"=?utf-8?B?0L/RgNC40LLQtdGC?", "=?utf-8?B?0L/RgNC40LLQtdGC?"),
        (b"no encoding\n\tfolded", "no encoding folded"),
    ],
)
def test_encoded_word_subjects(header_value: bytes, subject: str) -> None:
    assert _subject_of(header_value).subject == subject


def test_raw_8bit_subject_uses_the_body_charset_as_a_hint() -> None:
    message = _subject_of("Сканер не сканирует".encode("koi8_r"), body_charset="koi8-r")

    assert message.subject == "Сканер не сканирует"
    assert any("Subject: unencoded 8-bit header decoded as koi8-r" in w for w in message.warnings)


@pytest.mark.parametrize("codec", ["cp1251", "koi8_r", "utf-8"])
def test_raw_8bit_subject_without_hint(codec: str) -> None:
    message = _subject_of("Не работает почта в бухгалтерии".encode(codec))

    assert message.subject == "Не работает почта в бухгалтерии"


def test_rfc2231_and_encoded_word_filenames() -> None:
    name = "Отчёт за март.pdf"
    encoded = "".join(f"%{byte:02X}" for byte in name.encode())
    word = "=?utf-8?B?" + base64.b64encode(name.encode()).decode() + "?="
    parts = [
        "Content-Type: application/pdf\n"
        f"Content-Disposition: attachment; filename*=utf-8''{encoded}",
        f'Content-Type: application/pdf\nContent-Disposition: attachment; filename="{word}"',
        f'Content-Type: application/pdf; name="{word}"',
        "Content-Type: application/pdf\n"
        'Content-Disposition: attachment; filename="C:\\Users\\buh\\Отчёт за март.pdf"',
    ]
    body = "".join(
        f"--b\n{headers}\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n" for headers in parts
    )
    raw = _mail((body + "--b--\n").encode(), content_type='multipart/mixed; boundary="b"')

    message = parse_email(raw)

    assert [attachment.filename for attachment in message.attachments] == [name] * 4
    assert all(attachment.data == b"%PDF-1.4\n" for attachment in message.attachments)
    assert any("had a path" in warning for warning in message.warnings)


def test_nameless_parts_get_a_name_from_their_type() -> None:
    gif = base64.b64encode(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;").decode()
    raw = _mail(
        (
            "--b\nContent-Type: text/plain\n\nsee attached\n"
            f"--b\nContent-Type: image/gif\nContent-Transfer-Encoding: base64\n\n{gif}\n"
            "--b\nContent-Type: application/x-unheard-of\n\nxyz\n"
            "--b--\n"
        ).encode(),
        content_type='multipart/mixed; boundary="b"',
    )

    message = parse_email(raw)

    assert message.text == "see attached"
    assert [(a.filename, a.content_type) for a in message.attachments] == [
        ("attachment-1.gif", "image/gif"),
        ("attachment-2.bin", "application/x-unheard-of"),
    ]


# --- HTML ----------------------------------------------------------------------------------------


def _html_mail(html: str, *, related: str = "") -> bytes:
    if not related:
        return _mail(html.encode(), content_type="text/html; charset=utf-8")
    body = f"--r\nContent-Type: text/html; charset=utf-8\n\n{html}\n{related}--r--\n"
    return _mail(body.encode(), content_type='multipart/related; boundary="r"')


def test_html_larger_than_the_bound_is_cut_before_sanitising() -> None:
    paragraphs = "".join(f"<p>paragraph {index}</p>" for index in range(200_000))
    raw = _html_mail(f"<html><body><p>FIRST</p>{paragraphs}<p>LAST</p></body></html>")
    assert len(raw) > 3_000_000

    message = parse_email(raw, max_html_bytes=100_000)

    assert len(message.html.encode()) <= 100_000
    assert "FIRST" in message.html
    assert "FIRST" in message.text
    assert "LAST" not in message.html
    assert any("cut to 100000 bytes" in warning for warning in message.warnings)


def test_html_within_the_default_bound_is_kept_whole() -> None:
    raw = _html_mail("<p>FIRST</p>" + "<p>x</p>" * 1000 + "<p>LAST</p>")

    message = parse_email(raw)

    assert "LAST" in message.html
    assert message.warnings == ()


def test_cid_images_survive_sanitising_and_become_inline_attachments() -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    related = (
        "--r\nContent-Type: image/png\nContent-ID: <logo@acme.example>\n"
        f"Content-Transfer-Encoding: base64\n\n{png}\n"
        "--r\nContent-Type: image/png\nContent-ID: <unused@acme.example>\n"
        f"Content-Transfer-Encoding: base64\n\n{png}\n"
    )
    html = (
        '<p>Logo: <img src="cid:logo@acme.example" alt="logo">'
        '<img src="javascript:alert(1)"><img src="data:image/png;base64,AAAA"></p>'
    )

    message = parse_email(_html_mail(html, related=related))

    assert 'src="cid:logo@acme.example"' in message.html
    assert "javascript" not in message.html
    assert "data:" not in message.html
    inline = [(a.content_id, a.inline) for a in message.attachments]
    assert inline == [("logo@acme.example", True), ("unused@acme.example", False)]


def test_html_only_text_is_readable() -> None:
    html = (
        "<html><head><title>T</title><style>p{color:red}</style></head><body>"
        "<script>alert('x')</script><h1>Hello&nbsp;there</h1><p>Line one<br>Line two</p>"
        "<ul><li>first</li><li>second</li></ul><table><tr><td>a</td><td>b</td></tr></table>"
        "<p>A &amp; B &lt;tag&gt;</p></body></html>"
    )

    message = parse_email(_html_mail(html))

    assert message.text == (
        "Hello\u00a0there\n\nLine one\nLine two\n\n- first\n- second\n\na b\n\nA & B <tag>"
    )
    assert "<script" not in message.html
    assert "<style" not in message.html


def test_html_only_reply_loses_its_blockquote_history() -> None:
    html = (
        "<div>Fixed, thanks!</div><div class=gmail_quote>On Mon, 3 Mar 2025 at 10:00, "
        "Support &lt;support@regdesk.example&gt; wrote:<blockquote>Try again now."
        "</blockquote></div>"
    )

    message = parse_email(_html_mail(html))

    assert message.text.endswith("> Try again now.")
    assert message.new_text == "Fixed, thanks!"


def test_tracking_pixels_are_dropped_but_real_images_stay() -> None:
    html = (
        '<p>Hi</p><img src="https://t.example/o.gif" width="1" height="1">'
        '<img src="https://cdn.example/banner.png" width="600" height="200">'
    )

    message = parse_email(_html_mail(html))

    assert "t.example" not in message.html
    assert "cdn.example/banner.png" in message.html


# --- quoted history ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "new_text"),
    [
        (
            "Works now.\n\nOn Mon, Mar 3, 2025 at 10:15 AM Support <support@x.example> wrote:\n"
            "> Try again.\n",
            "Works now.",
        ),
        (
            "Спасибо!\n\nпн, 3 мар. 2025 г. в 10:15, Поддержка <support@x.example>:\n> Ок.\n",
            "Спасибо!",
        ),
        ("Спасибо!\n\nИван Петров написал(а):\n> Ок.\n", "Спасибо!"),
        (
            "Готово.\n\n-----Исходное сообщение-----\nОт: Поддержка\nОтправлено: 3 марта\n"
            "Тема: Re\n\nстарое",
            "Готово.",
        ),
        (
            "Done.\n\nFrom: Support <support@x.example>\nSent: Monday, March 3, 2025 10:00\n"
            "To: Me\nSubject: Re: x\n\nold text",
            "Done.",
        ),
        ("Answer.\n\n> quoted\n> more\n\n", "Answer."),
        # inline answers between quotes are all new
        (
            "> question one\nanswer one\n> question two\nanswer two",
            "> question one\nanswer one\n> question two\nanswer two",
        ),
        # prose that merely mentions writing is kept
        (
            "As my colleague wrote:\nthe server is down since 2024.\nPlease check.",
            "As my colleague wrote:\nthe server is down since 2024.\nPlease check.",
        ),
        # a forwarded message is content, not history
        (
            "Please look.\n\n---------- Forwarded message ---------\nFrom: Client <c@x.example>\n"
            "Date: Mon, 3 Mar 2025\nSubject: Broken\nTo: me\n\nIt is broken.",
            "Please look.\n\n---------- Forwarded message ---------\nFrom: Client <c@x.example>\n"
            "Date: Mon, 3 Mar 2025\nSubject: Broken\nTo: me\n\nIt is broken.",
        ),
        # nothing new at all: keep the text rather than return nothing
        ("> only a quote\n", "> only a quote"),
    ],
)
def test_new_text_cuts_only_clear_quoted_history(text: str, new_text: str) -> None:
    raw = _mail(text.encode(), content_type="text/plain; charset=utf-8")

    assert parse_email(raw).new_text == new_text


# --- automatic mail ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "auto"),
    [
        ("Auto-Submitted: auto-generated\n", AutoKind.AUTO_REPLY),
        ("Auto-Submitted: no\n", AutoKind.NONE),
        ("X-Autoreply: yes\n", AutoKind.AUTO_REPLY),
        ("X-Autorespond: Out of office\n", AutoKind.AUTO_REPLY),
        ("X-Auto-Response-Suppress: All\n", AutoKind.NONE),
        ("X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent\n", AutoKind.NONE),
        ("Precedence: bulk\n", AutoKind.BULK),
        ("Precedence: junk\n", AutoKind.BULK),
        ("Precedence: list\n", AutoKind.LIST),
        ("List-Id: <it.lists.example.org>\n", AutoKind.LIST),
        ("List-Unsubscribe: <mailto:leave@lists.example.org>\n", AutoKind.LIST),
        ("List-Id: <it.lists.example.org>\nPrecedence: bulk\n", AutoKind.LIST),
        ("Auto-Submitted: auto-replied\nList-Id: <x.example.org>\n", AutoKind.AUTO_REPLY),
    ],
)
def test_automatic_mail_markers(headers: str, auto: AutoKind) -> None:
    assert parse_email(_mail(b"text", headers=headers)).auto == auto


def test_auto_reply_subject_alone_is_not_a_marker() -> None:
    # A person may well type "Out of office" in a subject; Exchange's suppress header is a request
    raw = _mail(b"text", headers="X-Auto-Response-Suppress: All\n").replace(
        b"Subject: test", b"Subject: Out of office schedule for March"
    )

    assert parse_email(raw).auto == AutoKind.NONE


def test_auto_reply_subject_with_null_return_path_is_an_auto_reply() -> None:
    raw = _mail(b"text", headers="Return-Path: <>\n").replace(
        b"Subject: test", "Subject: Автоответ: заявка".encode()
    )

    assert parse_email(raw).auto == AutoKind.AUTO_REPLY


def test_read_receipts_are_automatic() -> None:
    body = (
        b"--m\nContent-Type: text/plain\n\nYour message was displayed.\n"
        b"--m\nContent-Type: message/disposition-notification\n\n"
        b"Final-Recipient: rfc822; a@example.com\nDisposition: manual-action/MDN-sent-manually;"
        b" displayed\n--m--\n"
    )
    raw = _mail(
        body, content_type='multipart/report; report-type=disposition-notification; boundary="m"'
    )

    assert parse_email(raw).auto == AutoKind.AUTO_REPLY


def test_bounce_beats_every_other_marker() -> None:
    raw = (CORPUS / "bounce-postfix-dsn.eml").read_bytes()
    raw = raw.replace(b"MIME-Version: 1.0", b"MIME-Version: 1.0\nList-Id: <x.example.org>", 1)

    message = parse_email(raw)

    assert message.auto == AutoKind.BOUNCE
    assert message.bounce is not None
    assert message.bounce.permanent


# --- odd headers ---------------------------------------------------------------------------------


def test_sender_falls_back_to_sender_and_return_path() -> None:
    raw = b"To: support@regdesk.example\nSender: Relay <Relay@Example.com>\nSubject: x\n\nhi\n"
    message = parse_email(raw)
    assert (message.sender, message.sender_name) == ("relay@example.com", "Relay")
    assert any("taken from Sender" in warning for warning in message.warnings)

    raw = b"Return-Path: <Bounce@Example.com>\nFrom: nobody\nSubject: x\n\nhi\n"
    assert parse_email(raw).sender == "bounce@example.com"

    message = parse_email(b"Subject: x\n\nhi\n")
    assert message.sender == ""
    assert any("no sender address" in warning for warning in message.warnings)


def test_header_garbage_is_tolerated() -> None:
    raw = (
        b"From: =?utf-8?B?broken!!?= <a@example.com>\n"
        b'To: a@example.com, , a@example.com, <b@EXAMPLE.com>, "x" <not an address>\n'
        b"Message-ID: bare-id@example.com\n"
        b"References: junk <r1@x> <r1@x> junk <r2@x>\n"
        b"Date: 3 Mar 2025 10:00:00\n"
        b"Content-Language: ru-RU, en\n"
        b"Subject: \xff\xfe\x00\x01 odd\n"
        b"\nbody\n"
    )

    message = parse_email(raw)

    assert message.sender == "a@example.com"
    assert message.to == ("a@example.com", "b@example.com")
    assert message.message_id == "bare-id@example.com"
    assert message.references == ("r1@x", "r2@x")
    assert message.sent_at is not None
    assert message.sent_at.utcoffset() is not None
    assert message.language == "ru-RU"
    assert "\x00" not in message.subject
    assert message.subject.endswith("odd")
    assert any("no time zone" in warning for warning in message.warnings)


def test_a_truncated_multipart_still_gives_its_text() -> None:
    raw = _mail(
        b"--b\nContent-Type: text/plain\n\nthe part that arrived\n--b\nContent-Type: image/png\n"
        b"Content-Transfer-Encoding: base64\n\niVBORw0K",
        content_type='multipart/mixed; boundary="b"',
    )

    message = parse_email(raw)

    assert message.text == "the part that arrived"
    assert any("closing boundary" in warning for warning in message.warnings)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"  \r\n\r\n\t",
        b"\x00\x01\x02\x03\xff\xfe",
        b"hello world, this is not a message",
        b"<html><body>not mail</body></html>",
        b"X-Custom: value\n\nno message headers at all\n",
    ],
)
def test_input_that_is_not_email_raises_mail_parse_error(raw: bytes) -> None:
    with pytest.raises(MailParseError, match=r"not an email message|empty input"):
        parse_email(raw)


def test_text_input_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        parse_email("From: a@example.com\n\nhi")  # type: ignore[arg-type]


# --- arbitrary input -----------------------------------------------------------------------------

HEADER_NAMES = [
    "From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
    "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Content-ID",
    "Auto-Submitted", "Precedence", "List-Id", "Return-Path", "Sender", "Reply-To",
    "Content-Language", "Delivered-To",
]  # fmt: skip
HEADER_VALUES = st.one_of(
    st.binary(max_size=60),
    st.text(max_size=40).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.sampled_from(
        [
            b"multipart/mixed; boundary=b",
            b"multipart/report; report-type=delivery-status; boundary=b",
            b'multipart/alternative; boundary="b"',
            b"text/html; charset=koi8-r",
            b"text/plain; charset=unicode_escape; format=flowed; delsp=yes",
            b"text/plain; charset*=undefined''x",
            b"message/rfc822",
            b"message/delivery-status",
            b"base64",
            b"quoted-printable",
            b"attachment; filename*0*=utf-8''%D0; filename*1=x",
            b"=?utf-8?B?0J/RgA?= =?x?Q?=FF?=",
            b"<a@b> <c@d>",
            b"Mon, 99 Foo 2025 99:99:99 +9999",
            b"undisclosed-recipients:;",
        ]
    ),
)
BODIES = st.lists(
    st.one_of(
        st.binary(max_size=200),
        st.sampled_from(
            [
                b"--b\nContent-Type: text/html\n\n<p>x<script>y</script>\n",
                b"--b\nContent-Type: message/delivery-status\n\nAction: failed\nStatus: 5.1.1\n",
                b"--b\nContent-Type: message/rfc822\n\nMessage-ID: <x@y>\n\nbody\n",
                b"--b\nContent-Transfer-Encoding: base64\n\n!!!==\n",
                b"--b--\n",
            ]
        ),
    ),
    max_size=6,
).map(b"".join)


@st.composite
def email_like(draw: st.DrawFn) -> bytes:
    headers = draw(st.lists(st.tuples(st.sampled_from(HEADER_NAMES), HEADER_VALUES), max_size=10))
    head = b"".join(name.encode() + b": " + value + b"\n" for name, value in headers)
    return head + b"\n" + draw(BODIES)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.one_of(st.binary(max_size=2_000), email_like()))
def test_arbitrary_bytes_parse_or_raise_mail_parse_error(raw: bytes) -> None:
    try:
        message = parse_email(raw)
    except MailParseError:
        return
    assert isinstance(message, InboundMessage)
    assert message.message_id
    assert message.sent_at is None or message.sent_at.utcoffset() is not None
    texts = [message.subject, message.text, message.new_text, message.html, message.sender]
    texts += [message.sender_name, message.message_id, *message.to, *message.references]
    texts += [attachment.filename for attachment in message.attachments]
    for text in texts:
        text.encode("utf-8")  # storable: no lone surrogates, no NUL
        assert "\x00" not in text
