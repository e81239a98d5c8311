"""Email intake on PostgreSQL: messages/s and threading from a Maildir, from Dovecot over IMAP,
and the peer's ``get_email`` on the same corpus.

    .venv/bin/python benchmarks/email_ingest.py [--messages 5000] [--skip-imap] [--skip-peer]
                                                [--round 1000] [--workers N] [--keep]

The corpus is generated from a seed: --messages mails from 200 registered senders to the wialon
preset's support@wialon.com, 60 % new requests and 40 % replies to them; plain text,
multipart/alternative with HTML, some with a small PNG, some Cyrillic in windows-1251 or koi8-r
(base64, as mail clients send it). Each reply carries exactly one threading marker, so each layer
is measured alone: a third In-Reply-To/References the customer's own first Message-ID, a third
``[WIA-000123]`` in the subject, a third our signed reply token (``thread_root``) in References.

A reply needs the ticket its request became, so every run has two phases: the new requests,
then the replies written against what phase 1 registered (both phases are timed, the writing of
the mail is not). Every run starts on a fresh database:

* regdesk, Maildir, twice: ``maildir_import`` in this process (``workers=1``), then shared out
  to --workers forked processes (default: one per CPU) by sender and thread; batches of 100
  (phase 2 rescans the seen messages of phase 1, as an import over a live Maildir does);
* regdesk, IMAP: a private Dovecot on a random port; the corpus is APPENDed (timed apart), then
  ``mailbox_poll`` rounds of --round messages with --workers processes (fetched, stored and
  processed 100 at a time; with several workers, the round is fetched a chunk at a time while
  the workers process the chunks before, handed out a batch at a time, and the poller flags
  each batch its workers committed) until nothing is
  unseen. As in ``regdesk mail poll``, the workers are forked at the first poll and kept
  between polls (an ``IntakePool``);
* peer: django-helpdesk 2.6.1 ``manage.py get_email`` over a local mail directory, in its own venv
  (.bench/peer-venv, made on the first run) and its own database ``peer_helpdesk_bench``. It
  does not know our reply token or our ticket numbers, so its replies carry its own marker where
  ours carry one of ours: ``[wia-<its ticket id>]`` in the subject (as a reply to its own
  notification would). Its figure is also given without the two command start-ups.

regdesk's notifications are enqueued as tasks (the database backend) and no worker runs: what is
measured is intake (store, parse, route, thread, register), not sending. The SQL statements
regdesk sends while timed are counted (a counter on the connection, not a query log; the forked
workers inherit it, and it lives in shared memory, so theirs are counted too). Every run's
outcome is checked the same way: misthreaded, duplicated and lost messages. The peer
renders and "sends" its notifications to Django's dummy mail backend inside ``get_email``.

Figures, not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import mailbox
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the private Dovecot the IMAP tests start, started here too
from tests.channels.dovecot import Imap, dovecot_running  # noqa: E402

BENCH_URL = os.environ.get(
    "REGDESK_BENCH_EMAIL_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/regdesk_bench_email"
)
PEER_URL = os.environ.get(
    "PEER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/peer_helpdesk_bench"
)
PEER_VENV = ROOT / ".bench" / "peer-venv"
PEER_PACKAGES = ["django-helpdesk==2.6.1", "psycopg[binary]"]
PEER_SLUG = "wia"
SUPPORT = "support@wialon.com"
SENDERS = 200
TARGET_RATIO = 10.0
SEED = 20240607
BASE_TIME = 1_717_740_000  # the corpus's first Date header (June 2024)

# A 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
PROBLEMS_EN = (
    "The trip report for unit {unit} is empty since this morning.",
    "Unit {unit} stopped sending positions at 09:40; the tracker is online.",
    "Fuel level sensor on unit {unit} shows 0 l after the update.",
    "Geofence notifications for unit {unit} arrive twice.",
    "The mobile app cannot log in with account {unit}; the web interface works.",
    "Export of the engine hours report for unit {unit} to XLSX fails with an error.",
)
PROBLEMS_RU = (
    "Отчёт по поездкам для объекта {unit} пустой с утра.",
    "Объект {unit} перестал присылать координаты в 09:40, трекер на связи.",
    "Датчик уровня топлива на объекте {unit} показывает 0 л после обновления.",
    "Уведомления о геозонах для объекта {unit} приходят дважды.",
)
SUBJECTS_EN = (
    "Trip report is empty",
    "Unit stopped sending data",
    "Fuel sensor shows zero",
    "Duplicate geofence notifications",
    "Cannot log in to the mobile app",
    "Report export fails",
)
SUBJECTS_RU = (
    "Пустой отчёт по поездкам",
    "Объект не присылает данные",
    "Датчик топлива показывает ноль",
    "Двойные уведомления",
)
FOLLOW_UPS_EN = (
    "Here is the IMEI you asked for: {imei}.",
    "It happened again at 14:05 today.",
    "We are on Wialon Hosting; the tracker is a Teltonika FMB920.",
    "Thank you, it works now, but please check unit {unit} too.",
)
FOLLOW_UPS_RU = (
    "IMEI, который вы просили: {imei}.",
    "Сегодня в 14:05 повторилось.",
    "У нас Wialon Hosting, трекер Teltonika FMB920.",
)
FIRST_NAMES_RU = ("Иван", "Мария", "Алексей", "Ольга", "Дмитрий", "Наталья")
LAST_NAMES_RU = ("Петров", "Смирнова", "Козлов", "Новикова", "Соколов", "Морозова")
FIRST_NAMES_EN = ("Anna", "Ben", "Carla", "David", "Eva", "Frank", "Grace", "Hugo")
LAST_NAMES_EN = ("Miller", "Novak", "Schmidt", "Rossi", "Kowalski", "Dubois", "Berg")


# --------------------------------------------------------------------------- the corpus


@dataclass(frozen=True)
class Sender:
    address: str
    name: str
    organisation: int
    charset: str  # "" for English mail, else the Cyrillic charset their client uses


@dataclass(frozen=True)
class Mail:
    """One message before it is written: what varies, kept so replies can be rendered later."""

    index: int
    message_id: str  # with brackets
    sender: Sender
    subject: str
    body: str
    shape: str  # plain | alternative | attachment
    date: int


@dataclass(frozen=True)
class Reply:
    mail: Mail
    request: int  # index into Corpus.requests
    how: str  # msgid | subject | token


@dataclass
class Corpus:
    requests: list[Mail]
    replies: list[Reply]

    @property
    def size(self) -> int:
        return len(self.requests) + len(self.replies)

    def describe(self) -> str:
        mails = [*self.requests, *(r.mail for r in self.replies)]
        shapes = Counter(m.shape for m in mails)
        charsets = Counter(m.sender.charset for m in mails if m.sender.charset)
        hows = Counter(r.how for r in self.replies)
        return (
            f"{len(self.requests):,} new requests + {len(self.replies):,} replies "
            f"(In-Reply-To {hows['msgid']:,}, subject [REF] {hows['subject']:,}, "
            f"reply token {hows['token']:,}); {shapes['plain']:,} plain, "
            f"{shapes['alternative']:,} text+HTML, {shapes['attachment']:,} with a PNG; "
            f"Cyrillic: {charsets['windows-1251']:,} windows-1251, {charsets['koi8-r']:,} koi8-r"
        )


def corpus_generate(total: int, seed: int = SEED) -> Corpus:
    """The same corpus for the same (total, seed): 60 % requests, 40 % replies to them."""
    rng = random.Random(seed)
    senders = []
    for i in range(SENDERS):
        charset = "" if i % 5 else ("windows-1251" if i % 10 == 0 else "koi8-r")
        if charset:
            name = f"{FIRST_NAMES_RU[i % 6]} {LAST_NAMES_RU[(i // 6) % 6]}"
        else:
            name = f"{FIRST_NAMES_EN[i % 8]} {LAST_NAMES_EN[(i // 8) % 7]}"
        domain = f"fleet{i // 5:02d}.example"  # five people per customer organisation
        senders.append(Sender(f"user{i:03d}@{domain}", name, i // 5, charset))
    requests_n = round(total * 0.6)
    replies_n = total - requests_n
    requests = []
    for i in range(requests_n):
        sender = rng.choice(senders)
        russian = bool(sender.charset)
        unit = f"{rng.randrange(1000, 99999)}"
        subject = rng.choice(SUBJECTS_RU if russian else SUBJECTS_EN)
        body = (
            rng.choice(PROBLEMS_RU if russian else PROBLEMS_EN).format(unit=unit)
            + "\n\n"
            + ("С уважением,\n" if russian else "Best regards,\n")
            + sender.name
        )
        requests.append(
            Mail(i, _message_id(rng, i, sender), sender, subject, body, _shape(rng),
                 BASE_TIME + i * 7)
        )  # fmt: skip
    replies = []
    hows = ("msgid", "subject", "token")
    for j in range(replies_n):
        index = requests_n + j
        request = rng.randrange(requests_n)
        original = requests[request]
        sender = original.sender
        russian = bool(sender.charset)
        text = rng.choice(FOLLOW_UPS_RU if russian else FOLLOW_UPS_EN).format(
            imei=f"35{rng.randrange(10**12, 10**13)}", unit=rng.randrange(1000, 99999)
        )
        quoted = "\n".join("> " + line for line in original.body.splitlines()[:2])
        mail = Mail(index, _message_id(rng, index, sender), sender, original.subject,
                    f"{text}\n\n{quoted}", _shape(rng), BASE_TIME + index * 7)  # fmt: skip
        replies.append(Reply(mail, request, hows[j % 3]))
    return Corpus(requests, replies)


def _message_id(rng: random.Random, index: int, sender: Sender) -> str:
    return f"<{rng.getrandbits(64):016x}.{index}@{sender.address.split('@')[1]}>"


def _shape(rng: random.Random) -> str:
    return rng.choices(("plain", "alternative", "attachment"), (55, 35, 10))[0]


def mail_bytes(mail: Mail, *, subject: str, headers: dict[str, str] | None = None) -> bytes:
    """The message as a mail client would send it (Cyrillic in the sender's charset, base64)."""
    charset = mail.sender.charset or "utf-8"
    text = MIMEText(mail.body + "\n", "plain", charset)
    message: MIMEBase
    if mail.shape == "plain":
        message = text
    elif mail.shape == "alternative":
        message = MIMEMultipart("alternative")
        message.attach(text)
        paragraphs = "".join(f"<p>{line}</p>" for line in mail.body.splitlines() if line)
        message.attach(MIMEText(f"<html><body>{paragraphs}</body></html>", "html", charset))
    else:
        message = MIMEMultipart("mixed")
        message.attach(text)
        message.attach(MIMEImage(PNG, "png", name=f"screenshot-{mail.index}.png"))
    if mail.sender.charset:
        message["From"] = formataddr((mail.sender.name, mail.sender.address), charset)
        message["Subject"] = Header(subject, charset).encode()
    else:
        message["From"] = formataddr((mail.sender.name, mail.sender.address))
        message["Subject"] = subject
    message["To"] = SUPPORT
    message["Date"] = formatdate(mail.date)
    message["Message-ID"] = mail.message_id
    for name, value in (headers or {}).items():
        message[name] = value
    return message.as_bytes()


def requests_render(corpus: Corpus) -> list[bytes]:
    return [mail_bytes(m, subject=m.subject) for m in corpus.requests]


def replies_render_regdesk(corpus: Corpus, references: dict[str, str]) -> list[bytes]:
    """Replies against what phase 1 registered (``references``: request Message-ID -> ticket)."""
    from regdesk.channels.threading import message_id, thread_root

    rendered = []
    for n, reply in enumerate(corpus.replies):
        original = corpus.requests[reply.request]
        reference = references.get(original.message_id, "WIA-999999")
        subject = f"Re: {original.subject}"
        headers: dict[str, str] = {}
        if reply.how == "msgid":
            headers = {"In-Reply-To": original.message_id, "References": original.message_id}
        elif reply.how == "subject":
            subject = f"[{reference}] {original.subject}"
        else:  # a reply to our notification: its Message-ID and the thread root
            headers = {"In-Reply-To": message_id(reference, n + 1),
                       "References": thread_root(reference)}  # fmt: skip
        rendered.append(mail_bytes(reply.mail, subject=subject, headers=headers))
    return rendered


def replies_render_peer(corpus: Corpus, ticket_ids: dict[str, int]) -> list[bytes]:
    """The same replies with the peer's own markers (``ticket_ids``: Message-ID -> its id)."""
    rendered = []
    for n, reply in enumerate(corpus.replies):
        original = corpus.requests[reply.request]
        tag = f"[{PEER_SLUG}-{ticket_ids.get(original.message_id, 999999)}]"
        subject = f"Re: {original.subject}"
        headers: dict[str, str] = {}
        if reply.how == "msgid":
            headers = {"In-Reply-To": original.message_id, "References": original.message_id}
        elif reply.how == "subject":
            subject = f"{tag} {original.subject}"
        else:  # a reply to the peer's own notification: its tag, a Message-ID it did not keep
            subject = f"Re: {tag} {original.subject}"
            headers = {"In-Reply-To": f"<peer-notification-{n}@helpdesk.example>"}
        rendered.append(mail_bytes(reply.mail, subject=subject, headers=headers))
    return rendered


# --------------------------------------------------------------------------- results


@dataclass
class Run:
    source: str
    messages: int = 0
    seconds: float = 0.0
    phases: list[float] = field(default_factory=list)
    misthreaded: int = 0
    duplicates: int = 0
    lost: int = 0
    notes: list[str] = field(default_factory=list)
    net_seconds: float | None = None  # the peer without its command start-ups
    statements: int = 0  # SQL statements regdesk sent while timed (0: not counted)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def _print_table(runs: list[Run]) -> None:
    print()
    print(f"{'source':<56} {'messages':>8} {'seconds':>8} {'msg/s':>8} {'misthreaded':>11} "
          f"{'duplicates':>10} {'lost':>5}")  # fmt: skip
    for run in runs:
        print(f"{run.source:<56} {run.messages:>8,} {run.seconds:>8.1f} {run.rate:>8.1f} "
              f"{run.misthreaded:>11,} {run.duplicates:>10,} {run.lost:>5,}")  # fmt: skip
        if run.net_seconds:
            net = run.messages / run.net_seconds
            print(f"{'  without its 2 start-ups':<56} {'':>8} {run.net_seconds:>8.1f} {net:>8.1f}")


# --------------------------------------------------------------------------- databases


def _recreate_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.path.lstrip("/")}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.path.lstrip("/")}"')


def _drop_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.path.lstrip("/")}" WITH (FORCE)')


def _setup_django(data_dir: str) -> None:
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ["REGDESK_DATA"] = data_dir
    os.environ["REGDESK_TASKS"] = "database"  # enqueued on commit; no worker runs
    os.environ["REGDESK_EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
    os.environ["REGDESK_LOG_LEVEL"] = "WARNING"
    os.environ["DJANGO_SETTINGS_MODULE"] = "regdesk.config.settings"
    import django

    django.setup()


def _fresh_desk(corpus: Corpus) -> object:
    """A fresh schema, the wialon desk, and the corpus's senders registered in 40 organisations."""
    from django.core.management import call_command
    from django.db import connections

    from regdesk.desks.services import desk_create
    from regdesk.directory.models import Organisation, Person, PersonEmail

    connections.close_all()
    _recreate_database(BENCH_URL)
    call_command("migrate", verbosity=0, interactive=False)
    desk = desk_create(slug="wialon", name="Wialon", ticket_prefix="WIA", preset="wialon")
    senders = sorted({m.sender for m in corpus.requests}, key=lambda s: s.address)
    organisations = {}
    for org in sorted({s.organisation for s in senders}):
        organisations[org] = Organisation.objects.create(name=f"Fleet customer {org:02d}")
        organisations[org].desks.add(desk)
    for sender in senders:
        person = Person.objects.create(
            full_name=sender.name,
            organisation=organisations[sender.organisation],
            language="ru" if sender.charset else "en",
        )
        PersonEmail.objects.create(person=person, address=sender.address, is_primary=True)
    return desk


# --------------------------------------------------------------------------- regdesk: verify


def _references() -> dict[str, str]:
    """Message-ID (with brackets) -> the ticket reference its Inbound row names."""
    from regdesk.channels.models import Inbound

    rows = Inbound.objects.filter(channel="email", ticket__isnull=False)
    return {f"<{key}>": ref for key, ref in rows.values_list("key", "ticket__reference")}


def regdesk_verify(run: Run, corpus: Corpus) -> None:
    """One Inbound row per message, one ticket per request, every reply on its request's
    ticket, one customer message per mail."""
    from regdesk.channels.models import Inbound
    from regdesk.tickets.models import Message, Ticket

    rows = list(
        Inbound.objects.filter(channel="email").values_list(
            "key", "state", "outcome", "ticket__reference"
        )
    )
    by_key: dict[str, list[tuple[str, str, str | None]]] = {}
    for key, state, outcome, reference in rows:
        by_key.setdefault(f"<{key}>", []).append((state, outcome, reference))
    extra_rows = sum(len(v) - 1 for v in by_key.values())
    lost = quarantined = 0
    outcomes: Counter[str] = Counter()
    request_tickets: dict[str, str | None] = {}
    for mail in corpus.requests:
        found = by_key.get(mail.message_id)
        if not found:
            lost += 1
            continue
        state, outcome, reference = found[0]
        outcomes[outcome or state] += 1
        quarantined += state == Inbound.State.QUARANTINED
        request_tickets[mail.message_id] = reference if outcome == "ticket" else None
    misthreaded = Counter[str]()
    for reply in corpus.replies:
        found = by_key.get(reply.mail.message_id)
        if not found:
            lost += 1
            continue
        state, outcome, reference = found[0]
        outcomes[outcome or state] += 1
        quarantined += state == Inbound.State.QUARANTINED
        expected = request_tickets.get(corpus.requests[reply.request].message_id)
        if outcome != "follow_up" or reference is None or reference != expected:
            misthreaded[reply.how] += 1
    tickets = Ticket.objects.count()
    customer_messages = Message.objects.filter(kind=Message.Kind.CUSTOMER).count()
    run.misthreaded = sum(misthreaded.values())
    # lost: never stored, or a request that did not become a ticket (the outcomes say what)
    run.lost = lost + sum(1 for reference in request_tickets.values() if reference is None)
    run.duplicates = (
        extra_rows
        + max(0, tickets - len(corpus.requests) - run.misthreaded)
        + max(0, customer_messages - corpus.size)
    )
    run.notes.append(
        f"Inbound rows {len(rows):,} for {corpus.size:,} messages; outcomes "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(outcomes.items()))
        + f"; tickets {tickets:,} for {len(corpus.requests):,} requests; customer messages "
        f"{customer_messages:,}; quarantined {quarantined:,}; misthreaded by marker: "
        + (", ".join(f"{k} {v:,}" for k, v in sorted(misthreaded.items())) or "none")
    )


def _task_backlog() -> int:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.ready().count()


@contextmanager
def statements_counted(run: Run) -> Iterator[None]:
    """Count the SQL statements regdesk sends meanwhile (a counter on Django's connection: no
    query log, so nothing slows the run down). The counter is in shared memory: a worker forked
    meanwhile inherits the wrapper and counts into the same number."""
    from multiprocessing import get_context

    from django.db import connection

    counter = get_context("fork").Value("q", 0)

    def count(execute: Callable[..., object], sql: str, params: object, many: bool,
              context: object) -> object:  # fmt: skip
        with counter.get_lock():
            counter.value += 1
        return execute(sql, params, many, context)

    try:
        with connection.execute_wrapper(count):
            yield
    finally:
        run.statements += counter.value


# --------------------------------------------------------------------------- regdesk: Maildir


def _processes(workers: int) -> str:
    return "1 process" if workers == 1 else f"{workers} processes"


def bench_maildir(corpus: Corpus, work: Path, workers: int) -> Run:
    from regdesk.channels.maildir import maildir_import

    desk: Any = _fresh_desk(corpus)
    run = Run(f"regdesk maildir_import, {_processes(workers)}")
    path = work / f"Maildir-{workers}"
    box = mailbox.Maildir(path, create=True)
    for raw in requests_render(corpus):
        box.add(raw)
    started = time.perf_counter()
    with statements_counted(run):
        imported = _maildir_all(maildir_import(path=path, desk=desk, workers=workers))
    run.phases.append(time.perf_counter() - started)
    for raw in replies_render_regdesk(corpus, _references()):
        box.add(raw)
    started = time.perf_counter()
    with statements_counted(run):
        imported += _maildir_all(maildir_import(path=path, desk=desk, workers=workers))
    run.phases.append(time.perf_counter() - started)
    run.messages, run.seconds = imported, sum(run.phases)
    regdesk_verify(run, corpus)
    run.notes.append(
        f"phases: requests {run.phases[0]:.1f} s, replies {run.phases[1]:.1f} s (rescanning "
        f"{len(corpus.requests):,} seen); {_task_backlog():,} notification tasks left queued"
    )
    return run


def _maildir_all(result: Any) -> int:
    if result.error:
        raise RuntimeError(f"maildir_import: {result.error}")
    return int(result.imported)


# --------------------------------------------------------------------------- regdesk: IMAP


class Dovecot(Imap):
    def append(self, messages: list[bytes]) -> float:
        client = self.client()
        started = time.perf_counter()
        for raw in messages:
            status, data = client.append("INBOX", None, None, raw)
            if status != "OK":
                raise SystemExit(f"Dovecot refused APPEND: {data!r}")
        seconds = time.perf_counter() - started
        client.logout()
        return seconds


def _poll_all(mailbox_row: object, limit: int, pool: Any) -> tuple[int, int, str]:
    from regdesk.channels.imap import mailbox_poll

    fetched = rounds = 0
    while True:
        result = mailbox_poll(
            mailbox=mailbox_row,  # type: ignore[arg-type]
            limit=limit,
            pool=pool,
        )
        rounds += 1
        fetched += result.fetched
        if result.error or result.fetched == 0:
            return fetched, rounds, result.error


def bench_imap(corpus: Corpus, limit: int, workers: int) -> Run:
    from regdesk.channels.forked import IntakePool
    from regdesk.channels.imap import mailbox_password_set
    from regdesk.channels.models import Mailbox

    desk = _fresh_desk(corpus)
    run = Run(f"regdesk mailbox_poll (Dovecot, {limit}/round), {_processes(workers)}")
    with dovecot_running(password="bench-secret", prefix="regdesk-bench-dovecot-") as imap:
        server = Dovecot(imap.port, imap.user, imap.password)
        row = Mailbox.objects.create(
            desk=desk, address=SUPPORT, host="127.0.0.1", port=server.port, security="none",
            username=server.user,
        )  # fmt: skip
        mailbox_password_set(mailbox=row, password=server.password)
        appended = server.append(requests_render(corpus))
        # as `regdesk mail poll` does: the workers are forked at the first poll (timed) and
        # kept between polls; one process: no pool. The workers count their statements into
        # the counter they were forked with, so one counter spans both phases (the reading of
        # the references between them adds one statement).
        pool = IntakePool(size=workers) if workers > 1 else None
        with statements_counted(run), pool or contextlib.nullcontext():
            started = time.perf_counter()
            fetched, rounds, error = _poll_all(row, limit, pool)
            run.phases.append(time.perf_counter() - started)
            replies = replies_render_regdesk(corpus, _references())
            appended += server.append(replies)
            started = time.perf_counter()
            more, more_rounds, error2 = _poll_all(row, limit, pool)
            run.phases.append(time.perf_counter() - started)
    run.messages, run.seconds = fetched + more, sum(run.phases)
    regdesk_verify(run, corpus)
    run.notes.append(
        f"APPEND of {corpus.size:,} messages took {appended:.1f} s (not counted); "
        f"{rounds + more_rounds} polls incl. the empty ones; phases: requests "
        f"{run.phases[0]:.1f} s, replies {run.phases[1]:.1f} s; {_task_backlog():,} "
        "notification tasks left queued"
    )
    if error or error2:
        run.notes.append(f"poll error: {error or error2}")
    return run


# --------------------------------------------------------------------------- the peer


class PeerUnavailable(Exception):
    pass


def _peer_python() -> Path:
    """The peer venv's python, made on first use (pip with the machine's configured index)."""
    python = PEER_VENV / "bin" / "python"
    marker = PEER_VENV / ".installed"
    if python.exists() and marker.exists():
        return python
    print(f"  making the peer's venv {PEER_VENV.relative_to(ROOT)} (first run) ...", flush=True)
    base = shutil.which("python3.11") or sys.executable
    steps = [
        [base, "-m", "venv", str(PEER_VENV)],
        [str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise PeerUnavailable(
                f"`{' '.join(step)}` failed ({done.returncode}): {done.stderr.strip()[-1500:]}"
            )
    marker.touch()
    return python


def _peer(python: Path, media: Path, *args: str, code: str = "") -> float:
    """Run ``django-admin <args>`` in the peer's venv; returns wall seconds."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
        "PYTHONPATH": str(ROOT / "benchmarks"),
        "DJANGO_SETTINGS_MODULE": "peer_helpdesk.settings",
        "PEER_DATABASE_URL": PEER_URL,
        "PEER_MEDIA_ROOT": str(media),
    }
    command = [str(python), "-m", "django", *args]
    if code:
        command += ["-c", code]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise PeerUnavailable(
            f"`django-admin {' '.join(args)}` failed ({done.returncode}): "
            f"{(done.stderr or done.stdout).strip()[-1500:]}"
        )
    return seconds


def _peer_followups() -> list[tuple[str, int, int]]:
    """(Message-ID, ticket id, followup id) of every followup the peer made."""
    import psycopg

    with psycopg.connect(PEER_URL) as conn:
        rows = conn.execute(
            "SELECT coalesce(message_id, ''), ticket_id, id FROM helpdesk_followup ORDER BY id"
        ).fetchall()
    return [(str(m).strip(), int(t), int(i)) for m, t, i in rows]


def _peer_count(table: str) -> int:
    import psycopg

    with psycopg.connect(PEER_URL) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def _write_files(folder: Path, messages: list[bytes], prefix: str) -> None:
    for n, raw in enumerate(messages):
        (folder / f"{prefix}-{n:06d}.eml").write_bytes(raw)


def bench_peer(corpus: Corpus, work: Path) -> Run:
    python = _peer_python()
    version = subprocess.run(
        [str(python), "-c", "import django, importlib.metadata as m; "
         "print(m.version('django-helpdesk'), django.get_version())"],
        capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    run = Run("peer: django-helpdesk get_email")
    media = work / "peer-media"
    folder = work / "peer-mail"
    folder.mkdir()
    media.mkdir()
    _recreate_database(PEER_URL)
    _peer(python, media, "migrate", "-v0")
    _peer(python, media, "shell", code=(
        "from helpdesk.models import Queue; Queue.objects.create(title='Wialon', "
        f"slug={PEER_SLUG!r}, email_address={SUPPORT!r}, allow_email_submission=True, "
        f"email_box_type='local', email_box_local_dir={str(folder)!r}, email_box_interval=0, "
        "logging_type='none')"
    ))  # fmt: skip
    startup = _peer(python, media, "get_email", "--quiet")  # the empty folder: start-up only
    _write_files(folder, requests_render(corpus), "request")
    run.phases.append(_peer(python, media, "get_email", "--quiet"))
    ticket_of = {}
    for message_id, ticket, _pk in _peer_followups():
        ticket_of.setdefault(message_id, ticket)
    _write_files(folder, replies_render_peer(corpus, ticket_of), "reply")
    run.phases.append(_peer(python, media, "get_email", "--quiet"))
    left = len(list(folder.iterdir()))

    followups: dict[str, list[int]] = {}
    for message_id, ticket, _pk in _peer_followups():
        followups.setdefault(message_id, []).append(ticket)
    lost = sum(1 for m in corpus.requests if m.message_id not in followups)
    lost += sum(1 for r in corpus.replies if r.mail.message_id not in followups)
    duplicates = sum(len(v) - 1 for v in followups.values() if len(v) > 1)
    misthreaded: Counter[str] = Counter()
    for reply in corpus.replies:
        landed = followups.get(reply.mail.message_id)
        expected = ticket_of.get(corpus.requests[reply.request].message_id)
        if landed and (expected is None or landed[0] != expected):
            misthreaded[reply.how] += 1
    tickets = _peer_count("helpdesk_ticket")
    run.messages = corpus.size - lost
    run.seconds = sum(run.phases)
    run.net_seconds = max(0.001, run.seconds - 2 * startup)
    run.misthreaded, run.duplicates, run.lost = sum(misthreaded.values()), duplicates, lost
    label = f"django-helpdesk {version[0]} on Django {version[1]}" if len(version) == 2 else ""
    run.notes.append(
        f"{label}; tickets {tickets:,} for {len(corpus.requests):,} requests, followups "
        f"{sum(len(v) for v in followups.values()):,}; files left unprocessed {left:,}; "
        f"phases: requests {run.phases[0]:.1f} s, replies {run.phases[1]:.1f} s, of which "
        f"{startup:.1f} s each is the command's start-up; misthreaded by marker: "
        + (", ".join(f"{k} {v:,}" for k, v in sorted(misthreaded.items())) or "none")
        + " (its markers: In-Reply-To of the customer's Message-ID, [wia-ID] in the subject)"
    )
    return run


# --------------------------------------------------------------------------- main


def _attempt(label: str, runs: list[Run], bench: Callable[[], Run]) -> None:
    print(f"{label} ...", flush=True)
    try:
        run = bench()
    except (PeerUnavailable, RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"  NOT MEASURED: {type(exc).__name__}: {exc}")
        return
    runs.append(run)
    load = " ".join(f"{v:.1f}" for v in os.getloadavg())
    run.notes.append(f"load average after the run: {load} (the machine is shared: compare ratios)")
    print(f"  {run.messages:,} messages in {run.seconds:.1f} s = {run.rate:.1f} messages/s; "
          f"misthreaded {run.misthreaded:,}, duplicates {run.duplicates:,}, "
          f"lost {run.lost:,}")  # fmt: skip
    if run.statements and run.messages:
        per = run.statements / run.messages
        print(f"  {run.statements:,} SQL statements while timed = {per:.1f} a message")
    for note in run.notes:
        print(f"  {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=5000, help="corpus size (default 5000)")
    parser.add_argument("--round", type=int, default=1000, help="IMAP messages per poll")
    parser.add_argument("--skip-imap", action="store_true", help="no Dovecot run")
    parser.add_argument("--skip-peer", action="store_true", help="no django-helpdesk run")
    parser.add_argument("--keep", action="store_true", help="keep the databases and mail")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="regdesk's processes (default: one per CPU)")  # fmt: skip
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="regdesk-bench-email-"))
    _recreate_database(BENCH_URL)
    _setup_django(str(work / "data"))
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    load = " ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"regdesk email intake benchmark: PostgreSQL {server}, Python "
          f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load}")  # fmt: skip
    started = time.perf_counter()
    corpus = corpus_generate(args.messages)
    print(f"corpus (seed {SEED}): {corpus.describe()}; generated in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    print("regdesk: intake only; notifications are enqueued as database tasks and no worker "
          "runs. Every run: phase 1 the requests, phase 2 the replies to them.")  # fmt: skip
    runs: list[Run] = []
    try:
        _attempt("regdesk from a local Maildir, one process", runs,
                 lambda: bench_maildir(corpus, work, 1))  # fmt: skip
        if args.workers > 1:
            _attempt(f"regdesk from a local Maildir, {args.workers} processes", runs,
                     lambda: bench_maildir(corpus, work, args.workers))  # fmt: skip
        if not args.skip_imap:
            _attempt(f"regdesk from Dovecot over IMAP, {_processes(args.workers)}", runs,
                     lambda: bench_imap(corpus, args.round, args.workers))  # fmt: skip
        if not args.skip_peer:
            _attempt("peer: django-helpdesk get_email from a local mail directory", runs,
                     lambda: bench_peer(corpus, work))  # fmt: skip
    finally:
        from django.db import connections

        connections.close_all()
        if args.keep:
            print(f"kept {BENCH_URL}, {PEER_URL} and {work}")
        else:
            _drop_database(BENCH_URL)
            if not args.skip_peer:
                _drop_database(PEER_URL)
            shutil.rmtree(work, ignore_errors=True)

    _print_table(runs)
    peer = next((r for r in runs if r.source.startswith("peer")), None)
    if peer is not None and peer.rate:
        for run in runs:
            if run is peer:
                continue
            ratio = run.rate / peer.rate
            verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
            net = ""
            if peer.net_seconds:
                net = f" ({run.rate / (peer.messages / peer.net_seconds):.1f}x its net rate)"
            print(f"{run.source} / peer: {ratio:.1f}x{net} -> {verdict} the "
                  f">= {TARGET_RATIO:.0f}x target")  # fmt: skip
    elif not args.skip_peer:
        print("no peer figure: see above why")


if __name__ == "__main__":
    main()
