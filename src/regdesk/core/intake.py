"""Checking what a requester submits against the regulation: typed fields and attachments.

Pure functions: a form, the API, an email or a Telegram conversation all call them, so a request
is held to the same rules whatever channel it came by.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlparse

from regdesk.core.regulation import (
    AttachmentPolicy,
    FieldKind,
    FieldSpec,
    Regulation,
    local_text,
)

__all__ = [
    "FieldCheck",
    "attachment_problem",
    "check_fields",
    "detect_format",
]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()\-]{5,25}$")
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._\-+ ]{0,63}$")


@dataclass
class FieldCheck:
    """The cleaned values, per-field errors, the missing required fields and the secrets."""

    values: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    missing: list[FieldSpec] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.missing


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and not value)


def _clean(spec: FieldSpec, value: Any, lang: str) -> tuple[Any, str | None]:
    """(cleaned value, error message or None) for one non-empty value."""
    kind = spec.kind
    if kind is FieldKind.MULTICHOICE:
        items = value if isinstance(value, list) else [v for v in str(value).split(",") if v]
        ids = {c.id for c in spec.choices}
        unknown = [str(v) for v in items if str(v) not in ids]
        if unknown:
            return value, f"unknown choice {', '.join(unknown)}; choose from {', '.join(ids)}"
        return [str(v) for v in items], None
    if isinstance(value, list | dict):
        if kind is FieldKind.TIME_INTERVAL and isinstance(value, dict):
            value = f"{value.get('from', '')}/{value.get('to', '')}"
        else:
            return value, "expected a single value"
    text = str(value).strip()
    if spec.max_length is not None and len(text) > spec.max_length:
        return text, f"at most {spec.max_length} characters"
    if kind is FieldKind.CHOICE:
        known = {c.id: local_text(c.title, lang) for c in spec.choices}
        if text not in known:
            return text, f"choose one of: {', '.join(known.values())}"
    elif kind is FieldKind.URL:
        parsed = urlparse(text)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            return text, "expected a web address starting with http:// or https://"
    elif kind is FieldKind.EMAIL:
        if not _EMAIL.match(text):
            return text, "expected an email address like name@example.com"
        text = text.lower()
    elif kind is FieldKind.PHONE:
        if not _PHONE.match(text):
            return text, "expected a phone number (digits, spaces, +, -, parentheses)"
    elif kind is FieldKind.NUMBER:
        try:
            return (int(text) if re.fullmatch(r"-?\d+", text) else float(text)), None
        except ValueError:
            return text, "expected a number"
    elif kind is FieldKind.DATE:
        try:
            return date.fromisoformat(text).isoformat(), None
        except ValueError:
            return text, "expected a date as YYYY-MM-DD"
    elif kind is FieldKind.VERSION:
        if not _VERSION.match(text):
            return text, "expected a version such as 2404 or 7.1.3"
    elif kind is FieldKind.TIME_INTERVAL:
        start_text, sep, end_text = text.partition("/")
        try:
            if not sep:
                raise ValueError
            start = datetime.fromisoformat(start_text.strip())
            end = datetime.fromisoformat(end_text.strip())
        except ValueError:
            return text, "expected a start and an end, e.g. 2026-11-01T10:00/2026-11-02T12:00"
        if end < start:
            return text, "the interval ends before it starts"
        return f"{start.isoformat()}/{end.isoformat()}", None
    return text, None


def check_fields(
    regulation: Regulation, request_type: str, values: dict[str, Any], *, lang: str = "en"
) -> FieldCheck:
    """Validate ``values`` for a request of ``request_type``; unknown keys are errors."""
    result = FieldCheck()
    specs = {spec.id: spec for spec in regulation.fields_for(request_type)}
    for key in values:
        if key not in specs:
            result.errors[key] = f"this request type has no field {key!r}"
    for spec in specs.values():
        raw = values.get(spec.id)
        if _empty(raw) or not spec.is_shown(request_type, values):
            continue
        cleaned, error = _clean(spec, raw, lang)
        if error:
            result.errors[spec.id] = error
        elif spec.kind is FieldKind.SECRET:
            result.secrets[spec.id] = str(cleaned)
        else:
            result.values[spec.id] = cleaned
    present = {**result.values, **dict.fromkeys(result.secrets, "***")}
    result.missing = [
        spec
        for spec in specs.values()
        if spec.id not in result.errors
        and spec.is_required(request_type, present)
        and _empty(present.get(spec.id))
    ]
    return result


# --------------------------------------------------------------------------- attachments

_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"GIF87a", 0, "gif"),
    (b"GIF89a", 0, "gif"),
    (b"BM", 0, "bmp"),
    (b"%PDF-", 0, "pdf"),
    (b"PK\x03\x04", 0, "zip"),
    (b"\x1f\x8b", 0, "gzip"),
    (b"RIFF", 0, "riff"),
    (b"WEBP", 8, "webp"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "ole"),
    (b"7z\xbc\xaf\x27\x1c", 0, "7z"),
)


def detect_format(head: bytes) -> str:
    """The format of a file by its content (magic bytes), 'text' or 'binary' otherwise."""
    found = ""
    for signature, offset, name in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            found = name
    if found == "riff":
        return "binary"
    if found:
        return found
    sample = head[:4096]
    if b"\x00" in sample:
        return "binary"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError:
        return "binary"
    return "text"


def attachment_problem(policy: AttachmentPolicy, *, filename: str, size: int, head: bytes) -> str:
    """Why an attachment is not accepted under ``policy`` ('' when it is)."""
    limit = int(policy.max_size_mb * 1024 * 1024)
    if size > limit:
        return f"{filename}: {size / 1048576:.1f} MB is over the {policy.max_size_mb:g} MB limit"
    if policy.allowed == "any":
        return ""
    kind = detect_format(head)
    allowed = [a.lower() for a in policy.allowed]
    if kind in allowed or (kind == "jpeg" and "jpg" in allowed):
        return ""
    shown = ", ".join(a.upper() for a in policy.allowed)
    return f"{filename}: only {shown} files are accepted (this file is {kind})"
