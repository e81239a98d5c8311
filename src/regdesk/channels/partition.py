"""Parallel intake: which worker process takes which message of a Maildir or a mailbox.

Email intake keeps state in its process while it runs: a reply threads onto a request drafted
earlier in the same batch, an unknown sender becomes a person once and later mail of theirs is
theirs, automatic answers are rate-limited per sender by what the batch already answered, and a
ticket's messages are applied in the order they came. So messages that can touch the same
thing go to the same process, in their original order. Every message has keys, and messages
that share a key, directly or through others, form one group (union-find):

* its sender (as the parser takes it: From, else Sender, else Return-Path; lower case);
* every Message-ID it has or names (its own, In-Reply-To, References; brackets stripped, lower
  case), so a thread stays together even when a client trims References, and the same message
  twice (one Message-ID) is stored by one process;
* every ticket it names: a number in the subject (``[WIA-000123]``) or our reply token in its
  threading headers (valid or not: the signature is checked later, by the handler).

Groups go to the workers largest first, each to the least loaded; within a worker the messages
keep their original order.

Why a reply can never need a ticket another worker is registering meanwhile: the mail of one
sender and of one thread is in one group, so a reply threads onto another group's ticket only by
the ticket's number in its subject or our reply token in its headers. Both come from mail we
sent about that ticket, and we send it (through the outbox, from ``transaction.on_commit``)
only after the ticket's registration committed; a message whose writer had read the number was
written after that commit, and its worker reads the committed ticket like any stored one. A
number in a subject that merely looks like one (``[ISO-9001]``) only joins groups: the price of
a false key is balance, never order.

Pure: header bytes in, worker indices out; no database.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from email.parser import BytesHeaderParser

from regdesk.channels.parsers._headers import HeaderDecoder, message_ids, raw_value, raw_values
from regdesk.channels.parsers._mime import RAW_HEADERS
from regdesk.channels.threading import TOKEN_RE, subject_references

# Where a message's header section ends.
HEADER_END = re.compile(rb"\r?\n\r?\n")


def header_section(raw: bytes) -> bytes:
    """A whole message's header section: what the partition reads."""
    end = HEADER_END.search(raw)
    return raw if end is None else raw[: end.start()]


def _ignore(_note: str) -> None:
    """Warnings are the parser's business when it reads the whole message."""


def mail_partition_keys(head: bytes) -> list[str]:
    """The keys that tie a message to others (``head``: its header section, or all of it)."""
    try:
        message = BytesHeaderParser(policy=RAW_HEADERS).parsebytes(head.lstrip(b" \t\r\n"))
    except Exception:  # unreadable: it stands alone (the parser quarantines it later)
        return []
    decoder = HeaderDecoder(hints=(), warn=_ignore)
    keys: list[str] = []
    for name in ("from", "sender", "return-path"):  # the parser's order for the sender
        found = decoder.addresses(message, (name,))
        if found:
            keys.append("sender:" + found[0][1].lower())
            break
    ids = [
        *message_ids(raw_value(message, "message-id")),
        *message_ids(raw_value(message, "in-reply-to")),
        *message_ids(" ".join(raw_values(message, "references"))),
    ]
    for item in ids:
        keys.append("id:" + item.lower())
        token = TOKEN_RE.match(item)
        if token is not None:
            keys.append("ticket:" + _ticket(*token.group(1).rsplit("-", 1)))
    subject = decoder.text(raw_value(message, "subject"), "Subject")
    for prefix, number in subject_references(subject):
        keys.append("ticket:" + _ticket(prefix, number))
    return keys


def _ticket(prefix: str, number: str | int) -> str:
    return f"{prefix.upper()}-{int(number)}"


def intake_partition(*, heads: Sequence[bytes], workers: int) -> list[int]:
    """The worker (0 … workers-1) of each message, given the messages' headers in order."""
    count = len(heads)
    parent = list(range(count))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    owner: dict[str, int] = {}
    for index, head in enumerate(heads):
        for key in mail_partition_keys(head):
            other = owner.setdefault(key, index)
            if other != index:
                a, b = root(index), root(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for index in range(count):
        groups.setdefault(root(index), []).append(index)
    loads = [0] * max(1, workers)
    assigned = [0] * count
    # largest first, each to the least loaded (ties: the earlier group, the lower worker)
    for group in sorted(groups.values(), key=lambda members: (-len(members), members[0])):
        worker = min(range(len(loads)), key=lambda w: (loads[w], w))
        loads[worker] += len(group)
        for index in group:
            assigned[index] = worker
    return assigned


def intake_shares(*, assigned: Sequence[int], workers: int) -> list[list[int]]:
    """Each worker's message indices, in the original order (a worker may get none)."""
    shares: list[list[int]] = [[] for _ in range(max(1, workers))]
    for index, worker in enumerate(assigned):
        shares[worker].append(index)
    return shares
