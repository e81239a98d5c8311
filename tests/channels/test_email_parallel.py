"""Parallel intake: a Maildir import and an IMAP poll shared out to two worker processes register
each message once and thread every reply onto its request; killed midway and run again, they
lose and duplicate nothing.

The workers are forks with their own database connections: they must see what the test wrote,
so these tests commit (``transaction=True``) and run on the PostgreSQL pass only (a parallel
intake on SQLite runs in one process)."""

from __future__ import annotations

import mailbox
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from regdesk.channels import email_intake
from regdesk.channels.forked import IntakePool
from regdesk.channels.imap import mailbox_poll
from regdesk.channels.maildir import maildir_import
from regdesk.channels.models import Inbound
from regdesk.desks.models import Desk
from regdesk.tickets.models import Message, Ticket
from tests.channels.conftest import cli_env
from tests.channels.test_email_intake import customer, mail
from tests.channels.test_email_transport import Imap, _mailbox, dovecot, inbound_resume_stale
from tests.desk.factories import make_desk

__all__ = ["dovecot"]  # the Dovecot fixture, shared with the transport tests

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="worker processes must share the test database: PostgreSQL pass only",
    ),
    pytest.mark.django_db(transaction=True),
]

SUPPORT = "support@wialon.com"
SENDERS = [f"user{n}@fleet{n}.example" for n in range(6)]


class Corpus:
    """Requests from six customers, replies to them by In-Reply-To, a colleague in copy
    answering on the requester's thread, and one message delivered twice."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, bytes]] = []  # (Message-ID, raw)
        self.replies: list[tuple[str, str, bytes]] = []  # (Message-ID, its request's, raw)
        for round_ in range(3):
            for n, sender in enumerate(SENDERS):
                msgid = f"<req-{round_}-{n}@fleet{n}.example>"
                raw = mail(sender=sender, to=SUPPORT, subject=f"Issue {round_}", msgid=msgid)
                self.requests.append((msgid, raw))
                if (round_ + n) % 2 == 0:
                    answer = f"<reply-{round_}-{n}@fleet{n}.example>"
                    raw = mail(
                        sender=sender,
                        to=SUPPORT,
                        subject="Re: Issue",
                        msgid=answer,
                        body=f"Reply {round_}.{n}.",
                        headers={"In-Reply-To": msgid, "References": msgid},
                    )
                    self.replies.append((answer, msgid, raw))
        # user0 asks with user1 in copy; user1 answers on that thread
        first = "<cc-req@fleet0.example>"
        self.requests.append(
            (
                first,
                mail(
                    sender=SENDERS[0],
                    to=SUPPORT,
                    subject="Both of us",
                    msgid=first,
                    headers={"Cc": SENDERS[1]},
                ),
            )
        )
        answer = "<cc-reply@fleet1.example>"
        raw = mail(
            sender=SENDERS[1],
            to=SUPPORT,
            subject="Re: Both of us",
            msgid=answer,
            headers={"In-Reply-To": first, "References": first},
        )
        self.replies.append((answer, first, raw))

    def messages(self) -> list[bytes]:
        """In the order they arrive: requests and replies interleaved, each reply after its
        request, and the first request once more at the end (a second delivery)."""
        ordered: list[bytes] = []
        replies = {request: raw for _msgid, request, raw in self.replies}
        for msgid, raw in self.requests:
            ordered.append(raw)
            if msgid in replies and len(ordered) % 3 == 0:
                ordered.append(replies.pop(msgid))
        ordered += replies.values()
        ordered.append(self.requests[0][1])
        return ordered

    @property
    def size(self) -> int:  # distinct messages
        return len(self.requests) + len(self.replies)


def customers(desk: Desk) -> None:
    for sender in SENDERS:
        customer(desk, sender)


def assert_registered_once_and_threaded(corpus: Corpus) -> None:
    rows = {f"<{row.key}>": row for row in Inbound.objects.select_related("ticket")}
    assert len(rows) == corpus.size
    assert all(row.state == Inbound.State.PROCESSED for row in rows.values())
    for msgid, _raw in corpus.requests:
        assert rows[msgid].outcome == Inbound.Outcome.TICKET
    for msgid, request, _raw in corpus.replies:
        assert rows[msgid].outcome == Inbound.Outcome.FOLLOW_UP, rows[msgid].warnings
        assert rows[msgid].ticket_id == rows[request].ticket_id
    assert Ticket.objects.count() == len(corpus.requests)
    assert Message.objects.filter(kind=Message.Kind.CUSTOMER).count() == corpus.size
    # the numbers have no gaps and no repeats, whichever worker took them
    numbers = sorted(Ticket.objects.values_list("number", flat=True))
    assert numbers == list(range(1, len(corpus.requests) + 1))


@pytest.fixture
def worker_pids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file each process that ingests a batch appends its pid to (the forks inherit it)."""
    record = tmp_path / "pids"
    real = email_intake.email_ingest_many

    def recording(**kwargs: Any) -> Any:
        with open(record, "a") as out:
            out.write(f"{os.getpid()}\n")
        return real(**kwargs)

    monkeypatch.setattr(email_intake, "email_ingest_many", recording)
    return record


def pids(record: Path) -> set[int]:
    return {int(line) for line in record.read_text().split()}


def test_a_maildir_shared_out_to_two_workers(tmp_path: Path, worker_pids: Path) -> None:
    desk = make_desk("wialon", prefix="WIA")
    customers(desk)
    corpus = Corpus()
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for raw in corpus.messages():
        box.add(raw)
    result = maildir_import(path=tmp_path / "Maildir", desk=desk, batch=4, workers=2)
    assert result.error == ""
    assert result.imported == len(corpus.messages())
    assert_registered_once_and_threaded(corpus)
    # both workers took part, neither of them this process
    assert len(pids(worker_pids)) == 2
    assert os.getpid() not in pids(worker_pids)
    # the results are in the Maildir's order: a line per message
    keys = sorted(p.name.split(":")[0] for p in (tmp_path / "Maildir" / "cur").iterdir())
    assert len(keys) == len(result.results)
    assert all(name.endswith("S") for name in os.listdir(tmp_path / "Maildir" / "cur"))
    assert maildir_import(path=tmp_path / "Maildir", desk=desk, workers=2).imported == 0


@pytest.mark.parametrize("delete", [False, True], ids=["seen", "deleted"])
def test_an_imap_poll_shared_out_to_two_workers(
    dovecot: Imap, worker_pids: Path, delete: bool
) -> None:
    desk = make_desk("wialon", prefix="WIA")
    customers(desk)
    corpus = Corpus()
    for raw in corpus.messages():
        dovecot.append(raw)
    mailbox_row = _mailbox(dovecot, desk=desk, delete=delete)
    result = mailbox_poll(mailbox=mailbox_row, batch=4, workers=2)
    assert result.error == ""
    assert result.fetched == len(corpus.messages())
    assert_registered_once_and_threaded(corpus)
    assert len(pids(worker_pids)) == 2
    assert os.getpid() not in pids(worker_pids)
    flags = dovecot.flags()
    if delete:
        assert flags == []  # flagged by the workers, expunged by the parent
    else:
        assert len(flags) == len(corpus.messages())
        assert all(b"\\Seen" in item for item in flags)
    mailbox_row.refresh_from_db()
    assert mailbox_row.last_error == ""
    assert mailbox_poll(mailbox=mailbox_row, workers=2).fetched == 0


def test_a_pollers_pool_keeps_its_workers_and_replaces_a_dead_one(
    dovecot: Imap, worker_pids: Path
) -> None:
    desk = make_desk("wialon", prefix="WIA")
    customers(desk)
    corpus = Corpus()
    messages = corpus.messages()
    mailbox_row = _mailbox(dovecot, desk=desk)
    with IntakePool(size=2) as pool:
        assert len(messages) == 30
        for raw in messages[:12]:
            dovecot.append(raw)
        first = mailbox_poll(mailbox=mailbox_row, batch=4, pool=pool)
        workers = set(pool.pids)
        assert len(workers) == 2
        assert (first.fetched, first.error) == (12, "")
        # the next poll is done by the same two processes, forked once
        for raw in messages[12:20]:
            dovecot.append(raw)
        assert mailbox_poll(mailbox=mailbox_row, batch=4, pool=pool).fetched == 8
        assert set(pool.pids) == workers == pids(worker_pids)
        # a worker killed between polls is replaced at the next one
        os.kill(pool.pids[0], signal.SIGKILL)
        for raw in messages[20:]:
            dovecot.append(raw)
        last = mailbox_poll(mailbox=mailbox_row, batch=4, pool=pool)
        assert last.error == ""
        assert last.fetched == 10
        assert len(set(pool.pids) - workers) == 1
    assert pool.pids == []  # closed: the workers stopped
    assert_registered_once_and_threaded(corpus)
    assert all(b"\\Seen" in item for item in dovecot.flags())


@pytest.fixture
def repair(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """The batch intake fails on any batch holding user0's mail until the returned function
    repairs it."""
    real = email_intake.email_ingest_many

    def failing(**kwargs: Any) -> Any:
        if any(b"From: user0@" in raw for raw in kwargs["raws"]):
            raise OSError("the disk is gone")
        return real(**kwargs)

    monkeypatch.setattr(email_intake, "email_ingest_many", failing)
    return lambda: monkeypatch.setattr(email_intake, "email_ingest_many", real)


def test_a_worker_that_fails_costs_only_its_own_unfinished_mail(
    tmp_path: Path, repair: Callable[[], None]
) -> None:
    desk = make_desk("wialon", prefix="WIA")
    customers(desk)
    corpus = Corpus()
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for raw in corpus.messages():
        box.add(raw)
    result = maildir_import(path=tmp_path / "Maildir", desk=desk, batch=4, workers=2)
    # the other worker finished its share; the failed one's mail is still unseen
    assert "OSError: the disk is gone" in result.error
    assert 0 < result.imported < len(corpus.messages())
    unseen = list((tmp_path / "Maildir" / "new").iterdir())
    assert len(unseen) == len(corpus.messages()) - result.imported
    # run again, repaired: everything is registered once and threaded
    repair()
    again = maildir_import(path=tmp_path / "Maildir", desk=desk, batch=4, workers=2)
    assert again.error == ""
    assert again.imported == len(unseen)
    assert_registered_once_and_threaded(corpus)


def test_an_imap_worker_that_fails_leaves_its_unfinished_mail_unseen(
    dovecot: Imap, repair: Callable[[], None]
) -> None:
    desk = make_desk("wialon", prefix="WIA")
    customers(desk)
    corpus = Corpus()
    for raw in corpus.messages():
        dovecot.append(raw)
    mailbox_row = _mailbox(dovecot, desk=desk)
    result = mailbox_poll(mailbox=mailbox_row, batch=4, workers=2)
    # the poller flagged exactly what the workers committed; the failed worker's mail is unseen
    assert "OSError: the disk is gone" in result.error
    assert 0 < result.fetched < len(corpus.messages())
    seen = [item for item in dovecot.flags() if b"\\Seen" in item]
    assert len(seen) == Inbound.objects.filter(state=Inbound.State.PROCESSED).count()
    assert len(seen) == result.fetched
    # polled again, repaired: everything is registered once and threaded
    repair()
    again = mailbox_poll(mailbox=mailbox_row, batch=4, workers=2)
    assert again.error == ""
    assert again.fetched == len(corpus.messages()) - result.fetched
    assert_registered_once_and_threaded(corpus)
    assert all(b"\\Seen" in item for item in dovecot.flags())


@pytest.mark.parametrize("intake", ["poll", "maildir"])
def test_a_parallel_intake_killed_midway_loses_nothing_and_duplicates_nothing(
    intake: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    desk = make_desk("wialon", prefix="WIA")
    customers(desk)
    requests = [
        (
            f"<k{n}@fleet>",
            mail(sender=SENDERS[n % 4], to=SUPPORT, subject=f"Issue {n}", msgid=f"<k{n}@fleet>"),
        )
        for n in range(40)
    ]
    replies = [
        mail(
            sender=SENDERS[n % 4],
            to=SUPPORT,
            subject="Re: Issue",
            body=f"Reply {n}.",
            headers={"In-Reply-To": f"<k{n}@fleet>"},
            msgid=f"<kr{n}@fleet>",
        )
        for n in range(0, 40, 4)
    ]
    messages = [raw for _msgid, raw in requests] + replies
    count = len(messages)
    base = [sys.executable, "-m", "regdesk.cli", "mail"]
    if intake == "poll":
        imap: Imap = request.getfixturevalue("dovecot")
        for raw in messages:
            imap.append(raw)
        _mailbox(imap, desk=desk)
        command = [*base, "poll", "--once", "--batch", "5", "--workers", "2"]
    else:
        box = mailbox.Maildir(tmp_path / "Maildir", create=True)
        for raw in messages:
            box.add(raw)
        command = [
            *base,
            "maildir",
            str(tmp_path / "Maildir"),
            "--desk",
            "wialon",
            "--batch",
            "5",
            "--workers",
            "2",
        ]
    env = cli_env()
    processed = Inbound.objects.filter(state=Inbound.State.PROCESSED)
    # its own process group: the parent and its two workers die together, as under kill -9
    # of a service's control group
    intake_process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while processed.count() < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        os.killpg(intake_process.pid, signal.SIGKILL)
        intake_process.wait()
    killed_at = processed.count()
    assert 5 <= killed_at < count, "the intake must die midway for this test to mean anything"
    finished = subprocess.run(command, env=env, capture_output=True, timeout=120)
    assert finished.returncode == 0, finished.stderr.decode()[-2000:]
    inbound_resume_stale()  # nothing left for the periodic tick either
    assert Inbound.objects.count() == count
    assert Inbound.objects.exclude(state=Inbound.State.PROCESSED).count() == 0
    assert Ticket.objects.count() == len(requests)
    assert Message.objects.filter(kind=Message.Kind.CUSTOMER).count() == count
    tickets = dict(Inbound.objects.values_list("key", "ticket_id"))
    for n in range(0, 40, 4):
        assert tickets[f"kr{n}@fleet"] == tickets[f"k{n}@fleet"]
    if intake == "poll":
        assert all(b"\\Seen" in flags for flags in imap.flags())
    else:
        assert not list((tmp_path / "Maildir" / "new").iterdir())
        assert all(p.name.endswith("S") for p in (tmp_path / "Maildir" / "cur").iterdir())


def test_what_every_worker_needs_is_loaded_before_the_fork(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from regdesk.desks import models as desk_models
    from regdesk.notifications import services as notifications

    desk = make_desk("wialon", prefix="WIA")
    notifications._link_parts.cache_clear()
    desk_models._parse.cache_clear()
    warmed: list[int] = []
    real = email_intake.intake_warm

    def recording(**kwargs: Any) -> None:
        real(**kwargs)
        warmed.append(os.getpid())

    monkeypatch.setattr(email_intake, "intake_warm", recording)
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(mail(sender=SENDERS[0], to="support@wialon.com"))
    box.add(mail(sender=SENDERS[1], to="support@wialon.com"))
    maildir_import(path=tmp_path / "Maildir", desk=desk, workers=2)
    # in this process, before the workers were forked: the links' paths and the regulation
    assert warmed == [os.getpid()]
    assert notifications._link_parts.cache_info().currsize == 2
    assert desk_models._parse.cache_info().currsize == 1


def _echo(*, indices: list[int]) -> list[str]:
    """A batch's work in the pool test below: a line per message, no database."""
    return [f"done {index}" for index in indices]


def test_a_pool_whose_feed_fails_midway_finishes_what_it_read() -> None:
    heads = [
        f"From: user{n}@fleet.example\r\nMessage-ID: <m{n}@fleet>\r\n".encode() for n in range(12)
    ]

    def feed() -> Any:
        yield heads[:4]
        yield heads[4:8]
        raise OSError("the mail server went away")

    reported: list[int] = []
    with IntakePool(size=2) as pool:
        outcome = pool.run(
            feed=feed(),
            batch=2,
            job=lambda indices: (_echo, {"indices": indices}),
            reported=lambda lines: reported.extend(index for index, _line in lines),
        )
        # what was read before the failure was processed and reported, and the error is the
        # run's
        assert outcome.lines == {index: f"done {index}" for index in range(8)}
        assert sorted(reported) == list(range(8))
        assert outcome.errors == ["reading the mail: OSError: the mail server went away"]
        # every batch was awaited, so the workers' replies stay in step with their jobs
        again = pool.run(
            feed=iter([heads[:5]]), batch=2, job=lambda indices: (_echo, {"indices": indices})
        )
        assert again.lines == {index: f"done {index}" for index in range(5)}
        assert again.errors == []
