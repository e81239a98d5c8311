"""The desk on PostgreSQL: ticket creation through the services, and the agents' queue page.

    .venv/bin/python benchmarks/desk.py [--create 2000] [--sizes 100000,1000000] [--keep]

(a) registers tickets with ``ticket_create`` (validation, numbering, event log, clocks, search
index: everything a real registration does), one connection and then eight threads;
(b) bulk-loads tickets with COPY (plausible desks, statuses, due instants, regulation version)
to 100,000 and 1,000,000 rows and times 20 requests of the real "due soon" queue view through
Django's test client, logged in as an agent of two of the four desks.

It creates the database ``regdesk_bench`` (REGDESK_BENCH_DATABASE_URL to change the server) and
drops it at the end unless --keep. Figures, not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

BENCH_URL = os.environ.get(
    "REGDESK_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/regdesk_bench"
)
LOAD_LIMIT_SECONDS = 600
REQUESTS = 20

# The peer, measured on its own terms (django-helpdesk 2.6, SQLite, its web ticket form and its
# staff ticket list); see the project notes on the peer comparison.
PEER_CREATE_PER_S = 44.0
PEER_LIST_MS_100K = 1050.0
TARGET_CREATE_PER_S = 500.0
TARGET_QUEUE_P95_MS = 50.0


def _recreate_database() -> None:
    import psycopg

    parsed = urlparse(BENCH_URL)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _drop_database() -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    parsed = urlparse(BENCH_URL)
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.path.lstrip("/")}" WITH (FORCE)')


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def _setup_django() -> None:
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ.setdefault("REGDESK_DATA", tempfile.mkdtemp(prefix="regdesk-bench-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "regdesk.config.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from django.conf import settings

    settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)


# --------------------------------------------------------------------------- the organisation


class World:
    """Four desks, an agent on two of them, 1,000 requesters in 100 organisations."""

    def __init__(self) -> None:
        from django.contrib.auth.models import User

        from regdesk.desks.services import desk_create
        from regdesk.directory.models import Agent, AgentMembership, Organisation, Person

        self.desks = [
            desk_create(slug=f"bench-{i}", name=f"Bench desk {i}", ticket_prefix=f"B{i}",
                        preset="service-desk")
            for i in range(4)
        ]  # fmt: skip
        self.versions = {desk.pk: desk.regulation_versions.get().pk for desk in self.desks}
        self.agents = []
        for i in range(5):
            user = User.objects.create(username=f"agent{i}", first_name="Agent", last_name=f"{i}")
            agent = Agent.objects.create(user=user, language="en")
            for desk in self.desks[:2] if i == 0 else self.desks:
                AgentMembership.objects.create(agent=agent, desk=desk)
            self.agents.append(user)
        organisations = Organisation.objects.bulk_create(
            Organisation(name=f"Customer {i}") for i in range(100)
        )
        self.people = Person.objects.bulk_create(
            Person(full_name=f"Requester {i}", organisation=organisations[i % 100], language="en")
            for i in range(1000)
        )


# --------------------------------------------------------------------------- (a) creation


def _create(world: World, desk_index: int, person_index: int) -> None:
    from regdesk.tickets.services import ticket_create

    ticket_create(
        desk=world.desks[desk_index], requester=world.people[person_index],
        request_type="incident", subject=f"Export fails for customer {person_index}",
        body="Since this morning the monthly export stops at 80 % with an error.",
        channel="widget", proposed_priority="high",
    )  # fmt: skip


def bench_create(world: World, count: int) -> tuple[float, float, float]:
    """Tickets per second on one connection, then from four processes (like gunicorn -w 4) on
    four desks and on one desk (where they queue for the desk's number counter)."""
    for i in range(20):  # warm-up: caches, prepared plans
        _create(world, 0, i)
    started = time.perf_counter()
    for i in range(count):
        _create(world, 0, i % 1000)
    sequential = count / (time.perf_counter() - started)
    return sequential, _parallel(world, count, desks=4), _parallel(world, count, desks=1)


def _parallel(world: World, count: int, *, desks: int) -> float:
    import multiprocessing

    from django.db import connections

    processes_n = 4
    per_process = count // processes_n
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(processes_n + 1)

    def work(index: int) -> None:
        barrier.wait()
        for i in range(per_process):
            _create(world, index % desks, (index * per_process + i) % 1000)
        connections.close_all()

    connections.close_all()  # children open their own connections
    workers = [context.Process(target=work, args=(i,)) for i in range(processes_n)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    rate = per_process * processes_n / (time.perf_counter() - started)
    if any(worker.exitcode for worker in workers):
        raise SystemExit("a creating process failed")
    return rate


# --------------------------------------------------------------------------- (b) the queue


COLUMNS = (
    "desk_id", "number", "reference", "public_key", "regulation_version_id", "request_type",
    "fields", "missing_fields", "subject", "requester_id", "organisation_id", "channel", "status",
    "priority", "proposed_priority", "tier", "line", "team", "assignee_id", "language",
    "refusal_reason", "out_of_lifecycle", "lifecycle_note", "created_at", "updated_at",
    "resolved_at", "next_due_at", "next_due_clock", "breached", "clock_state", "next_check_at",
)  # fmt: skip

SUBJECTS = (
    "Export fails at 80 %", "Cannot log in", "Report shows no data", "Printer offline",
    "Password reset mail missing", "Dashboard is slow", "Add a new user", "Invoice is wrong",
    "Sync duplicates appointments", "Scanner does not read labels",
)  # fmt: skip


class Loader:
    """Appends plausible ticket rows with COPY, desk by desk numbering on from the services'."""

    def __init__(self, world: World, now: datetime) -> None:
        from regdesk.desks.models import Desk
        from regdesk.tickets.models import Ticket

        self.world = world
        self.now = now
        self.random = random.Random(7)
        self.next_number = dict(
            Desk.objects.filter(pk__in=[d.pk for d in world.desks]).values_list("pk", "next_number")
        )
        sample = Ticket.objects.exclude(clock_state={}).first()
        self.clock_state = json.dumps(sample.clock_state if sample else {})
        self.serial = 0

    def _row(self) -> str:
        r = self.random
        desk = self.world.desks[r.randrange(4)]
        number = self.next_number[desk.pk]
        self.next_number[desk.pk] += 1
        self.serial += 1
        person = self.world.people[r.randrange(1000)]
        roll = r.random()
        due: datetime | None = None
        resolved: datetime | None = None
        assignee = ""
        if roll < 0.15:  # open: registered within the last month, clocks running
            created = self.now - timedelta(seconds=r.uniform(0, 30 * 86400))
            status = r.choices(
                ["new", "accepted", "waiting_for_customer", "answered"], [4, 6, 3, 2]
            )[0]
            if status != "waiting_for_customer":
                due = self.now + timedelta(seconds=r.uniform(-3 * 86400, 5 * 86400))
            if status != "new":
                assignee = str(r.choice(self.world.agents).pk)
        else:  # closed: spread over three years
            created = self.now - timedelta(seconds=r.uniform(30 * 86400, 3 * 365 * 86400))
            status = r.choices(["resolved", "refused", "merged"], [90, 5, 5])[0]
            resolved = created + timedelta(hours=r.uniform(1, 72))
        breached = due is not None and due < self.now
        values = [
            str(desk.pk), str(number), f"{desk.ticket_prefix}-{number:06d}",
            f"bench{self.serial:010d}{r.getrandbits(40):010x}",
            str(self.world.versions[desk.pk]), "incident", "{}", "[]",
            SUBJECTS[self.serial % len(SUBJECTS)], str(person.pk),
            str(person.organisation_id), "widget", status,
            r.choice(["critical", "high", "medium", "low"]), "", "", "", "", assignee or "\\N",
            "en", "", "f", "", created.isoformat(), (resolved or created).isoformat(),
            resolved.isoformat() if resolved else "\\N", due.isoformat() if due else "\\N",
            "resolution" if due else "", "t" if breached else "f", self.clock_state,
            due.isoformat() if due else "\\N",
        ]  # fmt: skip
        return "\t".join(v.replace("\\", "\\\\") if v != "\\N" else v for v in values) + "\n"

    def load(self, count: int) -> float:
        """Append ``count`` rows; returns rows per second."""
        from django.db import connection

        started = time.perf_counter()
        batch = 50_000
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg 3 cursor: COPY FROM STDIN
            for offset in range(0, count, batch):
                buffer = io.StringIO()
                for _ in range(min(batch, count - offset)):
                    buffer.write(self._row())
                with raw.copy(f"COPY tickets_ticket ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    copy.write(buffer.getvalue())
            for desk_id, number in self.next_number.items():
                cursor.execute(
                    "UPDATE desks_desk SET next_number = %s WHERE id = %s", [number, desk_id]
                )
            # Statistics for every table, as autovacuum would gather them in time: the directory
            # rows were bulk-created too, and a planner that thinks there are 66 people picks
            # nested loops that cost a second.
            cursor.execute("ANALYZE")
        return count / (time.perf_counter() - started)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    rank = max(1, round(share * len(ordered) + 0.5))  # nearest rank
    return ordered[min(rank, len(ordered)) - 1]


def _queue_url(queue: str) -> str:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("workspace:queue", kwargs={"queue": queue})
    except NoReverseMatch:  # the first sketch of the workspace took the queue as a parameter
        return reverse("workspace:queue") + f"?queue={queue.replace('-', '_')}"


def time_view(agent: object, url: str) -> dict[str, float]:
    from django.db import connection
    from django.test import Client

    client = Client()
    client.force_login(agent)  # type: ignore[arg-type]
    for _ in range(2):  # warm-up
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
    queries: list[str] = []

    def count(execute: Any, sql: str, *args: Any) -> Any:
        queries.append(sql)
        return execute(sql, *args)

    with connection.execute_wrapper(count):
        response = client.get(url)
    rows = response.content.count(b"<tr data-href=")
    samples = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "median": statistics.median(samples),
        "p95": _percentile(samples, 0.95),
        "queries": len(queries),
        "rows": rows,
    }


def time_query(agent: object) -> dict[str, float]:
    """The ORM query the due-soon page runs for its rows, without the view around it."""
    from regdesk.workspace.selectors import Queue, queue_page, queue_tickets

    samples = []
    for i in range(REQUESTS + 2):
        started = time.perf_counter()
        queue_page(queue_tickets(user=agent, queue=Queue.DUE_SOON), after=None)  # type: ignore[arg-type]
        if i >= 2:
            samples.append((time.perf_counter() - started) * 1000)
    return {"median": statistics.median(samples), "p95": _percentile(samples, 0.95)}


def report_queue(world: World, size: int) -> None:
    from regdesk.tickets.models import Ticket

    agent = world.agents[0]
    due_soon = _queue_url("due-soon")
    figures = time_view(agent, due_soon)
    visible_open = Ticket.objects.filter(
        desk__in=world.desks[:2], status__in=["new", "accepted", "answered"]
    ).count()
    verdict = "meets" if figures["p95"] <= TARGET_QUEUE_P95_MS else "MISSES"
    print(f"  {size:>9,} tickets: GET {due_soon}  median {figures['median']:6.1f} ms, "
          f"p95 {figures['p95']:6.1f} ms ({figures['rows']:.0f} rows, "
          f"{figures['queries']:.0f} queries; {visible_open:,} open on the agent's desks) "
          f"-> {verdict} the {TARGET_QUEUE_P95_MS:.0f} ms p95 target")  # fmt: skip
    query = time_query(agent)
    print(f"  {'':>9}           its ORM query alone: median {query['median']:6.1f} ms, "
          f"p95 {query['p95']:6.1f} ms")  # fmt: skip
    landing = time_view(agent, _queue_url("open"))
    print(f"  {'':>9}           GET {_queue_url('open')} (all open): median "
          f"{landing['median']:6.1f} ms, p95 {landing['p95']:6.1f} ms")  # fmt: skip
    if size == 100_000:
        print(f"  {'':>9}           peer: django-helpdesk ticket list ~{PEER_LIST_MS_100K:,.0f} ms "
              f"median -> {PEER_LIST_MS_100K / figures['median']:.0f}x faster")  # fmt: skip


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--create", type=int, default=2000, help="tickets to register (a)")
    parser.add_argument("--sizes", default="100000,1000000", help="queue sizes to measure (b)")
    parser.add_argument("--keep", action="store_true", help="keep the regdesk_bench database")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]

    _recreate_database()
    _setup_django()
    from django.db import connection
    from django.utils import timezone

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
    print(f"regdesk desk benchmark: PostgreSQL {server} (shared_buffers {buffers}, database "
          f"{urlparse(BENCH_URL).path.lstrip('/')}), Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, load average {_load()}")  # fmt: skip
    try:
        world = World()
        print(f"(a) ticket creation through ticket_create, {args.create:,} tickets")
        sequential, parallel, one_desk = bench_create(world, args.create)
        print(f"    one connection: {sequential:6.0f} tickets/s; four processes: {parallel:6.0f} "
              f"tickets/s on four desks, {one_desk:6.0f} tickets/s on one desk "
              f"(target >= {TARGET_CREATE_PER_S:.0f})")  # fmt: skip
        print(f"    peer: django-helpdesk 2.6 on SQLite, {PEER_CREATE_PER_S:.0f} tickets/s through "
              f"its ticket form -> {sequential / PEER_CREATE_PER_S:.1f}x on one connection, "
              f"{parallel / PEER_CREATE_PER_S:.1f}x with four processes")  # fmt: skip

        print(f"(b) the agents' due-soon queue, first page, {REQUESTS} requests through the "
              "test client as an agent of 2 of 4 desks")  # fmt: skip
        from regdesk.tickets.models import Ticket

        loader = Loader(world, timezone.now())
        rate = 0.0
        for size in sizes:
            have = Ticket.objects.count()
            missing = max(0, size - have)
            if rate and missing / rate > LOAD_LIMIT_SECONDS:
                print(f"  {size:>9,} tickets: loading {missing:,} more rows would take about "
                      f"{missing / rate / 60:.0f} min (> {LOAD_LIMIT_SECONDS // 60} min); "
                      "not measured")  # fmt: skip
                continue
            if missing:
                rate = loader.load(missing)
                print(f"  loaded {missing:,} rows with COPY at {rate:,.0f} rows/s")
            report_queue(world, size)
        print(f"load average at the end: {_load()}")
    finally:
        if args.keep:
            print(f"kept database {BENCH_URL}")
        else:
            _drop_database()


if __name__ == "__main__":
    main()
