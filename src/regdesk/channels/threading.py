"""Our own signed reply token, carried in the Message-IDs of the mail we send.

Every message regdesk sends about a ticket has a Message-ID ``<[n<id>.]<ref>.<sig>@<domain>>``
and references the ticket's thread root ``<<ref>.<sig>@<domain>>``; ``sig`` is an HMAC of the
reference under the site's secret, so a reply's In-Reply-To/References name its ticket, and a
forged or altered token (a guessed number with a made-up signature) is recognised and rejected.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

TOKEN_RE = re.compile(r"^(?:n\d+\.)?([a-z0-9]{1,10}-\d{1,12})\.([a-z2-7]{16})@", re.IGNORECASE)
SUBJECT_REF_RE = re.compile(r"(?<![A-Za-z0-9])\[?([A-Za-z][A-Za-z0-9]{0,9})-(\d{3,12})\]?")


def _signature(reference: str) -> str:
    key = hashlib.sha256(b"regdesk-reply-token:" + settings.SECRET_KEY.encode()).digest()
    digest = hmac.new(key, reference.upper().encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:16]


def mail_domain() -> str:
    host = settings.BASE_URL.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return host or "regdesk"


def thread_root(reference: str) -> str:
    """The Message-ID (with brackets) every mail about the ticket refers to."""
    return f"<{reference.lower()}.{_signature(reference)}@{mail_domain()}>"


def message_id(reference: str, notification_id: int) -> str:
    return f"<n{notification_id}.{reference.lower()}.{_signature(reference)}@{mail_domain()}>"


@dataclass(frozen=True)
class TokenMatch:
    reference: str  # upper case, e.g. WAV-000123
    valid: bool


def tokens_in(ids: Iterable[str]) -> list[TokenMatch]:
    """The reply tokens among message ids (without brackets), each checked."""
    found: list[TokenMatch] = []
    for item in ids:
        match = TOKEN_RE.match(item.strip().strip("<>"))
        if match is None:
            continue
        reference = match.group(1).upper()
        valid = hmac.compare_digest(match.group(2).lower(), _signature(reference))
        found.append(TokenMatch(reference, valid))
    return found


def notification_ids_in(ids: Iterable[str]) -> list[int]:
    """Ids of our notifications named by message ids (a bounce names the one that bounced)."""
    found = []
    for item in ids:
        match = re.match(r"^n(\d+)\.", item.strip().strip("<>"))
        if match and tokens_in([item]) and tokens_in([item])[0].valid:
            found.append(int(match.group(1)))
    return found


def subject_references(subject: str) -> list[tuple[str, int]]:
    """(prefix, number) pairs such as ``[WAV-000123]`` in a subject, in order."""
    return [(m.group(1).upper(), int(m.group(2))) for m in SUBJECT_REF_RE.finditer(subject)]
