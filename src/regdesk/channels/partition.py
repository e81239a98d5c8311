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

A worker that falls free takes the next batch of pending messages of groups no other worker
holds, its own groups first (``Schedule``): a group's messages are processed in their original
order, one batch after another, and never by two workers at once.

Why a reply can never need a ticket another worker is registering meanwhile: the mail of one
sender and of one thread is in one group, so a reply threads onto another group's ticket only by
the ticket's number in its subject or our reply token in its headers. Both come from mail we
sent about that ticket, and we send it (through the outbox, from ``transaction.on_commit``)
only after the ticket's registration committed; a message whose writer had read the number was
written after that commit, and its worker reads the committed ticket like any stored one. A
number in a subject that merely looks like one (``[ISO-9001]``) only joins groups: the price of
a false key is balance, never order.

Pure: header bytes in, groups and batches out; no database.
"""

from __future__ import annotations

import re
from collections import Counter
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


class _Groups:
    """Messages joined by the keys they share (union-find), as they are added."""

    def __init__(self) -> None:
        self.parent: list[int] = []
        self.owner: dict[str, int] = {}  # key -> the first message that had it

    def add(self, keys: Sequence[str]) -> list[tuple[int, int]]:
        """Add a message with ``keys``; returns the pairs of groups (roots) it joined, the
        surviving one first."""
        index = len(self.parent)
        self.parent.append(index)
        joined: list[tuple[int, int]] = []
        for key in keys:
            other = self.owner.setdefault(key, index)
            if other != index:
                a, b = self.root(index), self.root(other)
                if a != b:
                    keep, gone = min(a, b), max(a, b)
                    self.parent[gone] = keep
                    joined.append((keep, gone))
        return joined

    def root(self, index: int) -> int:
        parent = self.parent
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index


def intake_groups(*, heads: Sequence[bytes]) -> list[int]:
    """The group of each message, given the messages' headers in order: the index of the
    group's first message (messages that share a key, directly or through others)."""
    groups = _Groups()
    for head in heads:
        groups.add(mail_partition_keys(head))
    return [groups.root(index) for index in range(len(heads))]


class Schedule:
    """Which messages a worker that falls free takes next: a batch of pending messages of
    groups no other worker holds, group by group (a group's in their order). A group is held
    by the workers processing some of its messages until their batches are committed (or
    failed), so a group's messages are processed one batch after another, in order, and never
    by two workers at once.

    Messages are added as they are read (``add``, in their order), while the workers process
    what came before: a message added later may join groups already taken, even groups two
    workers hold; it is taken only once every earlier message of the joined group is done.
    ``close`` says no more will come.

    A worker takes its own groups first (those it took before, then new ones up to an even
    share of the groups), so its batches keep to about 1/workers of the senders and threads,
    as a fixed share would, and a batch holds few of them: what a batch looks up once for all
    the mail of a sender or a ticket is looked up once, not in every batch. When its own run
    short, it takes over other workers' groups that are not held (what their earlier batches
    wrote is committed by then): so the workers finish together. Once closed, batches shrink
    towards the end (to a quarter batch). A failed batch's groups are given up: their later
    messages are not taken (they would come before the failed ones), and stay unseen for the
    next run.

    Pure: indices in, indices out; the pool (``forked``) does the processes."""

    def __init__(self, *, batch: int, heads: Sequence[bytes] | None = None) -> None:
        self.batch = max(1, batch)
        self.groups = _Groups()
        self.pending: list[int] = []
        self.taken: dict[int, int] = {}  # message -> the worker processing it
        self.owner: dict[int, int] = {}  # group -> the worker that took it last
        self.owned: Counter[int] = Counter()  # worker -> how many groups it owns
        self.count = 0  # groups
        self.failed: list[int] = []  # messages of failed batches
        self.closed = False
        if heads is not None:  # all the messages at once
            self.add(heads)
            self.close()

    def add(self, heads: Sequence[bytes]) -> None:
        """The next messages, by their header sections (``header_section``)."""
        if self.closed:
            raise RuntimeError("no message can be added to a closed schedule")
        for head in heads:
            self.pending.append(len(self.groups.parent))
            self.count += 1
            for keep, gone in self.groups.add(mail_partition_keys(head)):
                self.count -= 1
                gone_owner = self.owner.pop(gone, None)
                if gone_owner is None:
                    continue
                if keep in self.owner:  # one of the two owners keeps the joined group
                    self.owned[gone_owner] -= 1
                else:
                    self.owner[keep] = gone_owner

    def close(self) -> None:
        """No more messages will be added."""
        self.closed = True

    def take(self, worker: int, *, workers: int) -> list[int]:
        """The next batch for ``worker`` (empty: nothing it may take now); ``workers``: how
        many are working, to even out the last batches."""
        size = self.batch
        if self.closed:
            # an even share of what is left, but not below a quarter batch: each batch has a
            # fixed cost (its reads and writes), which many small ones would pay again and
            # again
            size = min(size, max(-(-len(self.pending) // max(1, workers)), self.batch // 4))
        share = -(-self.count // max(1, workers))
        root = self.groups.root
        held: dict[int, set[int]] = {}  # group -> the workers holding it
        for index, holder in self.taken.items():
            held.setdefault(root(index), set()).add(holder)
        failed = {root(index) for index in self.failed}
        mine = {worker}
        taken: list[int] = []
        for steal in (False, True):
            if len(taken) >= size:
                break
            kept: list[int] = []
            passed: set[int] = set()  # groups with an earlier message left pending
            for index in self.pending:
                group = root(index)
                if group in failed:
                    continue  # given up: stays unseen
                owner = self.owner.get(group)
                if (
                    len(taken) < size
                    and group not in passed
                    and held.get(group, mine) == mine
                    and (steal or owner == worker or (owner is None and self.owned[worker] < share))
                ):
                    if owner != worker:
                        self.owner[group] = worker
                        self.owned[worker] += 1
                        if owner is not None:
                            self.owned[owner] -= 1
                    held[group] = mine
                    self.taken[index] = worker
                    taken.append(index)
                else:
                    passed.add(group)
                    kept.append(index)
            self.pending = kept
        return sorted(taken)

    def done(self, indices: Sequence[int], *, failed: bool = False) -> None:
        """A batch taken earlier is committed, or ``failed`` (nothing of it committed)."""
        for index in indices:
            self.taken.pop(index, None)
        if failed:
            self.failed.extend(indices)
