"""Escalation at scale on PostgreSQL: the monitor's due query and two workers running due steps.

    .venv/bin/python benchmarks/escalation.py [--tickets 1000000] [--due 10000] [--keep]

(1) creates the database ``regdesk_bench_esc`` (REGDESK_BENCH_ESC_DATABASE_URL to change it),
one desk and bulk-loads open tickets with COPY, each with its ``created`` event (the clock
engine's input), as desk.py loads its queue. ``--due`` of them (10,000) are due now: their stored
``next_check_at`` is the instant their first-response clock reached 80 % (within the last ten
minutes), so each has exactly one escalation step to run; the others' next checks are spread
over the next five days.

(2) times the monitor's "what is due now" query — the queryset ``clock_monitor`` runs — 20 times
(median, p95), shows its plan (EXPLAIN ANALYZE) and times ``clock_monitor`` itself: the query
plus the conditional-update claims of a batch of 1,000.

(3) runs the 10,000 due steps with two worker processes, on Redis (RQ: ``rqworker --burst``,
django-tasks-rq's job class) and then, after putting the tickets back, on the database backend
(``db_worker --batch``). The monitor claims the due tickets and enqueues their checks, one
``escalation_checks_task`` per chunk of 100 tickets, before the workers start; the steps' rate is
10,000 over the time from the first step to the 10,000th ``EscalationRun`` row. Each step
creates one notification (the assignee's "due soon" mail); a chunk's notifications are made
together (``notify_tickets``: the agents' preferences read with one query, one INSERT) and go out
as one delivery task, queued behind the checks; the workers deliver those afterwards (locmem mail
backend, no SMTP) and that rate is printed separately.

(2b), before (3), runs the workers' code in this process (``--profile N`` tickets): the
statements of one check on its own and of one chunk, both rates, and a cProfile of the chunks.

The desk runs the ``wialon`` preset: its L1 line works 24/7, so a due warning goes out at once
whatever the hour the benchmark runs (on a business-hours calendar the worker, which reads the
wall clock, would defer it to the next opening). Redis: REGDESK_BENCH_REDIS_URL (default
redis://127.0.0.1:6379/12; only this benchmark's queue and job keys are touched). The database
is dropped at the end unless --keep. Figures, not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from desk import COLUMNS, SUBJECTS, _percentile  # the sibling benchmark's ticket rows

BENCH_URL = os.environ.get(
    "REGDESK_BENCH_ESC_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/regdesk_bench_esc"
)
REDIS_URL = os.environ.get("REGDESK_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
PRESET = "wialon"
LOAD_LIMIT_SECONDS = 15 * 60
CHUNK = 50_000
SAMPLES = 20
AGENTS = 20
TARGET_QUERY_MS = 20.0
TARGET_STEPS_PER_S = 1000.0
DELIVERY = "django.core.mail.backends.locmem.EmailBackend"


# --------------------------------------------------------------------------- set-up


def _admin_url() -> str:
    return urlparse(BENCH_URL)._replace(path="/postgres").geturl()


def _db_name() -> str:
    return urlparse(BENCH_URL).path.lstrip("/")


def _recreate_database() -> None:
    import psycopg

    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{_db_name()}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{_db_name()}"')


def _drop_database() -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{_db_name()}" WITH (FORCE)')


def _environment(data_dir: str, tasks: str) -> dict[str, str]:
    """The environment of this process and of the workers: bench database, tasks backend."""
    return {
        **os.environ,
        "DATABASE_URL": BENCH_URL,
        "REGDESK_DATA": data_dir,
        "REGDESK_TASKS": tasks,
        "REGDESK_EMAIL_BACKEND": DELIVERY,
        "REGDESK_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "regdesk.config.settings",
    }


def _setup_django(data_dir: str) -> None:
    # This process enqueues on Redis; the database-backend run overrides TASKS.
    os.environ.update(_environment(data_dir, REDIS_URL))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


# --------------------------------------------------------------------------- (1) the load


class World:
    """One desk, 20 agents with addresses (the first a lead), 1,000 requesters."""

    def __init__(self) -> None:
        from django.contrib.auth.models import User

        from regdesk.desks.services import desk_create
        from regdesk.directory.models import Agent, AgentMembership, Organisation, Person

        self.desk = desk_create(
            slug="bench-esc", name="Escalation bench", ticket_prefix="ESC", preset=PRESET
        )
        self.version = self.desk.regulation_versions.get()
        self.agents: list[int] = []
        for i in range(AGENTS):
            user = User.objects.create(
                username=f"agent{i}",
                first_name="Agent",
                last_name=str(i),
                email=f"agent{i}@bench.invalid",
            )
            agent = Agent.objects.create(user=user, language="en")
            AgentMembership.objects.create(agent=agent, desk=self.desk, line="l1", is_lead=i == 0)
            self.agents.append(user.pk)
        organisations = Organisation.objects.bulk_create(
            Organisation(name=f"Customer {i}") for i in range(100)
        )
        self.people = [
            (p.pk, p.organisation_id)
            for p in Person.objects.bulk_create(
                Person(full_name=f"Requester {i}", organisation=organisations[i % 100])
                for i in range(1000)
            )
        ]


def warning_offset(world: World, now: datetime) -> tuple[timedelta, timedelta]:
    """When the first-response clock of a fresh L1 ticket reaches 80 % and 100 %, from the clock
    engine (on the 24/7 line these are fixed offsets from the registration)."""
    from regdesk.core.clocks import EventKind, TicketFacts, evaluate_clocks
    from regdesk.core.clocks import TicketEvent as CoreEvent
    from regdesk.core.regulation import ClockName

    created = now - timedelta(days=3)
    facts = TicketFacts(
        priority="normal", tier="other", line="l1", type="technical", channel="email"
    )
    results = evaluate_clocks(
        world.version.clocks,
        [CoreEvent(at=created, kind=EventKind.CREATED, facts=facts)],
        now=now,
        percents=(80, 100),
    )
    thresholds = results[ClockName.FIRST_RESPONSE].thresholds
    return thresholds[80] - created, thresholds[100] - created


class Loader:
    """Appends open tickets with COPY and their ``created`` events with INSERT … SELECT."""

    def __init__(self, world: World, now: datetime) -> None:
        self.world = world
        self.now = now
        self.random = random.Random(11)
        self.number = world.desk.next_number
        self.warn_after, _ = warning_offset(world, now)

    def _row(self, *, due: bool) -> str:
        r = self.random
        number = self.number
        self.number += 1
        person, organisation = self.world.people[r.randrange(len(self.world.people))]
        if due:  # the 80 % warning came due within the last ten minutes; no breach yet
            check = self.now - timedelta(seconds=r.uniform(0, 600))
            created = check - self.warn_after
            status, priority = "new", "normal"
            assignee = str(self.world.agents[r.randrange(len(self.world.agents))])
        else:  # next check somewhere in the next five days
            check = self.now + timedelta(seconds=r.uniform(3600, 5 * 86400))
            created = self.now - timedelta(seconds=r.uniform(3600, 30 * 86400))
            status = r.choices(
                ["new", "accepted", "waiting_for_customer", "answered"], [4, 6, 3, 2]
            )[0]
            priority = "critical" if r.random() < 0.05 else "normal"
            assignee = "\\N" if status == "new" else str(r.choice(self.world.agents))
        values = [
            str(self.world.desk.pk),
            str(number),
            f"ESC-{number:07d}",
            f"esc{number:09d}{r.getrandbits(64):016x}",
            str(self.world.version.pk),
            "technical",
            "{}",
            "[]",
            SUBJECTS[number % len(SUBJECTS)],
            str(person),
            str(organisation),
            "email",
            status,
            priority,
            "",
            "other",
            "l1",
            "",
            assignee,
            "en",
            "",
            "f",
            "",
            created.isoformat(),
            created.isoformat(),
            "\\N",
            check.isoformat(),
            "first_response",
            "f",
            "{}",
            check.isoformat(),
        ]
        return "\t".join(values) + "\n"

    def load(self, count: int, *, due: bool) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM tickets_ticket")
            last_id = cursor.fetchone()[0]
            buffer = io.StringIO()
            for _ in range(count):
                buffer.write(self._row(due=due))
            with cursor.cursor.copy(
                f"COPY tickets_ticket ({', '.join(COLUMNS)}) FROM STDIN"
            ) as copy:
                copy.write(buffer.getvalue())
            # The registration event each ticket carries (what ticket_create writes).
            cursor.execute(
                """
                INSERT INTO tickets_ticketevent (ticket_id, kind, at, actor_person_id, public, data)
                SELECT id, 'created', created_at, requester_id, true, jsonb_build_object(
                    'priority', priority, 'tier', nullif(tier, ''), 'line', nullif(line, ''),
                    'team', nullif(team, ''), 'type', request_type, 'channel', channel,
                    'number', reference, 'out_of_lifecycle', out_of_lifecycle)
                FROM tickets_ticket WHERE id > %s ORDER BY id
                """,
                [last_id],
            )
            cursor.execute(
                "UPDATE desks_desk SET next_number = %s WHERE id = %s",
                [self.number, self.world.desk.pk],
            )


def load_tickets(world: World, total: int, due: int) -> tuple[int, float]:
    """Load ``due`` due tickets, then the rest in chunks while the 15-minute budget allows."""
    from django.db import connection
    from django.utils import timezone

    loader = Loader(world, timezone.now())
    started = time.perf_counter()
    loaded = 0
    for size in [due] + [CHUNK] * ((total - due) // CHUNK) + [(total - due) % CHUNK]:
        if not size:
            continue
        elapsed = time.perf_counter() - started
        if loaded and elapsed + elapsed / loaded * size > LOAD_LIMIT_SECONDS:
            print(
                f"    stopped at {loaded:,} tickets: the next {size:,} would pass the "
                f"{LOAD_LIMIT_SECONDS // 60}-minute budget"
            )
            break
        loader.load(size, due=loaded == 0)
        loaded += size
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE tickets_ticket")
        cursor.execute("VACUUM ANALYZE tickets_ticketevent")
        cursor.execute("ANALYZE")
    return loaded, time.perf_counter() - started


# --------------------------------------------------------------------------- (2) the monitor


def due_queryset(now: datetime) -> Any:
    """The monitor's query, as clock_monitor writes it."""
    from regdesk.tickets.models import Ticket

    return (
        Ticket.objects.filter(next_check_at__lte=now)
        .order_by("next_check_at")
        .values_list("pk", "next_check_at")[:1000]
    )


def bench_query() -> dict[str, Any]:
    """Wall time of the ORM query as the monitor runs it (this process, 1,000 rows fetched),
    and the server's own execution time of the same statement (EXPLAIN ANALYZE)."""
    import json

    from django.utils import timezone

    samples, server = [], []
    rows = 0
    for i in range(SAMPLES + 2):  # two warm-up runs
        started = time.perf_counter()
        rows = len(list(due_queryset(timezone.now())))
        if i >= 2:
            samples.append((time.perf_counter() - started) * 1000)
    for _ in range(SAMPLES):
        plan = json.loads(due_queryset(timezone.now()).explain(format="json", analyze=True))
        server.append(plan[0]["Execution Time"])
    plan = due_queryset(timezone.now()).explain(analyze=True, buffers=True)
    return {
        "median": statistics.median(samples),
        "p95": _percentile(samples, 0.95),
        "server_median": statistics.median(server),
        "server_p95": _percentile(server, 0.95),
        "rows": rows,
        "plan": plan,
        "index_used": "ticket_next_check_idx" in plan,
    }


def bench_claims(originals: dict[int, datetime], rounds: int = 3) -> list[tuple[int, float]]:
    """clock_monitor() as the tick runs it: the query plus one conditional update per ticket,
    each its own transaction. The claimed tickets are put back afterwards."""
    from regdesk.escalation.services import clock_monitor

    figures = []
    for _ in range(rounds):
        started = time.perf_counter()
        claimed = clock_monitor()
        figures.append((len(claimed), (time.perf_counter() - started) * 1000))
    restore_due(originals)
    return figures


def due_now() -> dict[int, datetime]:
    from django.utils import timezone

    from regdesk.tickets.models import Ticket

    return dict(
        Ticket.objects.filter(next_check_at__lte=timezone.now()).values_list("pk", "next_check_at")
    )


def restore_due(originals: dict[int, datetime]) -> None:
    """Put the due slice back as loaded: its checks due again, no step run, no notification."""
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    from regdesk.escalation.models import EscalationRun
    from regdesk.notifications.models import Notification

    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE tickets_ticket AS t SET next_check_at = v.at
            FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, at) WHERE t.id = v.id
            """,
            [list(originals), list(originals.values())],
        )
    EscalationRun.objects.all().delete()
    Notification.objects.all().delete()
    DBTaskResult.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE tickets_ticket")


# --------------------------------------------------------------------------- (3) the workers


def _rq_queue() -> Any:
    import django_rq
    from django_tasks_rq.backend import Job

    return django_rq.get_queue("default", job_class=Job)


def rq_cleanup() -> None:
    """Remove this benchmark's queue, jobs and results from Redis (nothing else)."""
    from rq.results import Result

    queue = _rq_queue()
    queue.empty()
    registries = [
        queue.finished_job_registry,
        queue.failed_job_registry,
        queue.started_job_registry,
        queue.deferred_job_registry,
        queue.scheduled_job_registry,
        queue.canceled_job_registry,
    ]
    redis = queue.connection
    for registry in registries:
        ids = registry.get_job_ids()
        for start in range(0, len(ids), 1000):
            with redis.pipeline() as pipe:
                for job_id in ids[start : start + 1000]:
                    pipe.delete(queue.job_class.key_for(job_id), Result.get_key(job_id))
                pipe.execute()
        redis.delete(registry.key)
    for key in redis.scan_iter(f"{queue.key}:intermediate*"):  # jobs of a stopped worker
        redis.delete(key)
    queue.delete(delete_jobs=True)


def enqueue_due() -> tuple[int, float]:
    """What periodic_tick does, until nothing is due: claim a batch, enqueue its checks in
    chunks (``monitor_enqueue``)."""
    from regdesk.escalation.services import clock_monitor
    from regdesk.escalation.tasks import monitor_enqueue

    started = time.perf_counter()
    total = 0
    while claimed := clock_monitor():
        monitor_enqueue(claimed)
        total += len(claimed)
    return total, time.perf_counter() - started


def _worker_command(backend: str, worker_class: str | None) -> list[str]:
    if backend == "rq":
        command = [
            sys.executable,
            "-m",
            "django",
            "rqworker",
            "default",
            "--burst",
            "--job-class",
            "django_tasks_rq.backend.Job",
            "--verbosity",
            "0",
        ]
        if worker_class:
            command += ["--worker-class", worker_class]
        return command
    return [
        sys.executable,
        "-m",
        "django",
        "db_worker",
        "--queue-name",
        "default",
        "--interval",
        "1",
        "--batch",
        "--no-startup-delay",
    ]


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU of each process and its reaped children, from /proc (Linux): a figure
    the other work on a shared machine barely moves, unlike a rate."""
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return found


def _server_pids() -> list[int]:
    """The PostgreSQL backends serving the workers (this process's own excluded)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return [row[0] for row in cursor.fetchall()]


def run_workers(
    backend: str,
    expected: int,
    data_dir: str,
    *,
    worker_class: str | None = None,
    sample: int | None = None,
    timeout: float = 1800.0,
) -> dict[str, Any]:
    """Start two workers on the queued checks; wait for the steps, then for the deliveries.

    With ``sample``, stop the workers once that many steps have run (for a slow set-up)."""
    from django.db.models import Min

    from regdesk.escalation.models import EscalationRun
    from regdesk.notifications.models import Notification

    goal = min(expected, sample) if sample else expected
    env = _environment(data_dir, REDIS_URL if backend == "rq" else "database")
    name = f"{backend}-{(worker_class or 'default').rsplit('.', 1)[-1]}"
    logs = [Path(data_dir) / f"{name}-{i}.log" for i in range(2)]
    launched = time.time()
    processes = [
        subprocess.Popen(
            _worker_command(backend, worker_class),
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parent.parent,
        )
        for log in logs
    ]
    steps_done = deliveries_done = None
    runs = steps = sent = 0
    pids = [p.pid for p in processes]
    cpu_start: tuple[int, dict[int, float], dict[int, float]] | None = None
    cpu_end: tuple[int, dict[int, float], dict[int, float]] | None = None
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = EscalationRun.objects.count()
            if cpu_start is None and runs:  # from the first step: the start-up is not counted
                cpu_start = (runs, _cpu_seconds(pids), _cpu_seconds(_server_pids()))
            if steps_done is None and runs >= goal:
                steps_done, steps = time.time(), runs
                cpu_end = (runs, _cpu_seconds(pids), _cpu_seconds(_server_pids()))
                if sample:
                    break
            sent = Notification.objects.filter(state=Notification.State.SENT).count()
            if steps_done is not None and sent >= runs:
                deliveries_done = time.time()
                break
            if all(p.poll() is not None for p in processes):
                break  # burst workers leave when the queue is empty
            time.sleep(0.1)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            process.wait(timeout=120)
    if steps_done is None:  # timed out or the workers left early: the rate so far
        steps_done, steps = time.time(), EscalationRun.objects.count()
    first = EscalationRun.objects.aggregate(first=Min("ran_at"))["first"]
    start = first.timestamp() if first else launched
    if backend == "rq":
        failed = _rq_queue().failed_job_registry.count
    else:
        from django_tasks_db.models import DBTaskResult

        failed = DBTaskResult.objects.filter(status="FAILED").count()
    if failed or steps < goal:
        print(f"    worker log {logs[0]}:")
        print("      " + "\n      ".join(logs[0].read_text().splitlines()[-12:]))
    cpu = {"worker_cpu_ms": None, "server_cpu_ms": None}
    # A sample is a chunk or two per worker, still running at the first step: no figure.
    if not sample and cpu_start and cpu_end and cpu_end[0] > cpu_start[0]:
        counted = cpu_end[0] - cpu_start[0]
        for key, index in (("worker_cpu_ms", 1), ("server_cpu_ms", 2)):
            before, after = cpu_start[index], cpu_end[index]
            used = sum(after[pid] - before.get(pid, 0.0) for pid in after)
            cpu[key] = used * 1000 / counted
    return {
        **cpu,
        "goal": goal,
        "steps": steps,
        "notifications": Notification.objects.count(),
        "sent": sent,
        "failed": failed,
        "startup": start - launched,
        "steps_per_s": steps / max(steps_done - start, 1e-9),
        "steps_per_s_incl_startup": steps / max(steps_done - launched, 1e-9),
        "deliveries_per_s": (
            sent / (deliveries_done - steps_done) if deliveries_done and sent else None
        ),
    }


def bench_workers(
    backend: str,
    originals: dict[int, datetime],
    data_dir: str,
    *,
    worker_class: str | None = None,
    sample: int | None = None,
    timeout: float = 1800.0,
) -> dict[str, Any]:
    """Reset the due slice, let the monitor enqueue a check per due ticket, run the workers."""
    from django.test import override_settings

    restore_due(originals)
    if backend == "rq":
        rq_cleanup()
        enqueued, enqueue_s = enqueue_due()
    else:
        with override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}):
            enqueued, enqueue_s = enqueue_due()
    figures = run_workers(
        backend,
        len(originals),
        data_dir,
        worker_class=worker_class,
        sample=sample,
        timeout=timeout,
    )
    figures["enqueued"] = enqueued
    figures["enqueue_per_s"] = enqueued / enqueue_s
    if backend == "rq":
        rq_cleanup()
    return figures


def _print_workers(label: str, f: dict[str, Any]) -> None:
    print(f"    {label}")
    print(
        f"      the monitor claimed and enqueued {f['enqueued']:,} checks at "
        f"{f['enqueue_per_s']:,.0f}/s; first step {f['startup']:.1f} s after the workers' "
        f"launch"
    )
    delivered = (
        f"{f['sent']:,} delivered after the steps at {f['deliveries_per_s']:,.0f}/s"
        if f["deliveries_per_s"]
        else f"{f['sent']:,} delivered"
    )
    print(
        f"      {f['steps']:,} of {f['goal']:,} steps at {f['steps_per_s']:,.1f} steps/s "
        f"({f['steps_per_s_incl_startup']:,.1f}/s counting the start-up); "
        f"{f['notifications']:,} notifications, {delivered}; failed jobs: {f['failed']}"
    )
    if f["worker_cpu_ms"] is not None:
        print(
            f"      CPU per step (user + system, from the first step to the last): workers "
            f"{f['worker_cpu_ms']:.2f} ms, their PostgreSQL backends {f['server_cpu_ms']:.2f} ms"
        )


def _verdict(value: float, target: float) -> str:
    return "meets" if value >= target else "MISSES"


# --------------------------------------------------------------------------- diagnostics


def profile_steps(originals: dict[int, datetime], count: int) -> None:
    """The workers' code in this process: the statements of one check (``escalation_check``,
    the one-by-one path) and of one chunk (``escalation_checks``, what ``escalation_checks_task``
    runs), the rate of each, and where a chunk's time goes (cProfile).

    The delivery task each transaction enqueues on commit goes to Redis as in the workers."""
    from django.db import connection
    from django.utils import timezone

    from regdesk.escalation.services import escalation_check, escalation_checks
    from regdesk.escalation.tasks import CHUNK

    restore_due(originals)
    ids = list(originals)
    queries: list[tuple[float, str]] = []

    def record(execute: Any, sql: str, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, *args)
        finally:
            queries.append(((time.perf_counter() - started) * 1000, sql))

    single, ids = ids[: count // 4], ids[count // 4 :]
    with connection.execute_wrapper(record):
        escalation_check(ticket_id=single[0], now=timezone.now())
    one = list(queries)
    started = time.perf_counter()
    for ticket_id in single[1:]:
        escalation_check(ticket_id=ticket_id)
    plain = (len(single) - 1) / (time.perf_counter() - started)
    queries.clear()
    with connection.execute_wrapper(record):
        escalation_checks(ticket_ids=ids[:CHUNK], now=timezone.now())
    chunk = list(queries)
    rest = ids[CHUNK : CHUNK + count]
    chunks = [rest[i : i + CHUNK] for i in range(0, len(rest), CHUNK)]
    started = time.perf_counter()
    for part in chunks[: len(chunks) // 2]:
        escalation_checks(ticket_ids=part)
    done = sum(len(part) for part in chunks[: len(chunks) // 2])
    chunked = done / (time.perf_counter() - started)
    profiler = cProfile.Profile()
    profiler.enable()
    for part in chunks[len(chunks) // 2 :]:
        escalation_checks(ticket_ids=part)
    profiler.disable()
    print(
        f"    one escalation_check: {len(one)} statements, {sum(q for q, _ in one):.1f} ms "
        f"in the database; {plain:,.0f} checks/s one by one ({1000 / plain:.1f} ms each)"
    )
    for ms, sql in one:
        print(f"      {ms:6.2f} ms  {sql[:100]}")
    print(
        f"    one chunk of {CHUNK} (escalation_checks): {len(chunk)} statements "
        f"({len(chunk) / CHUNK:.1f} per step), {sum(q for q, _ in chunk):.1f} ms in the "
        f"database; {chunked:,.0f} steps/s in chunks ({1000 / chunked:.2f} ms each), "
        f"{chunked / plain:.1f}x one by one"
    )
    shown: dict[str, list[float]] = {}
    for ms, sql in chunk:
        flat = " ".join(sql.split())
        key = flat[:100] if not flat.startswith(("SAVEPOINT", "RELEASE")) else flat.split('"')[0]
        shown.setdefault(key, []).append(ms)
    for key, times in shown.items():
        print(f"      {len(times):3d} x {statistics.mean(times):6.2f} ms  {key}")
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(
        r"regdesk|psycopg/connection|urls/base|template/loader|django_tasks|redis", 28
    )
    stats.sort_stats("tottime").print_stats(14)
    print("    cProfile of the chunks (cumulative, regdesk and waits; then by own time):")
    skip = ("Ordered", "List reduced")
    for line in out.getvalue().splitlines():
        if line.strip() and not line.lstrip().startswith(skip):
            print("      " + line.strip())
    restore_due(originals)


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000, help="open tickets to load")
    parser.add_argument("--due", type=int, default=10_000, help="of which due now")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--profile",
        type=int,
        default=400,
        metavar="N",
        help="profile N escalation checks in this process (0: skip)",
    )
    parser.add_argument(
        "--fork-sample",
        type=int,
        default=200,
        metavar="N",
        help="steps to time on RQ's forking worker (0: skip)",
    )
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="regdesk-bench-esc-")
    _recreate_database()
    _setup_django(data_dir)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('server_version'), "
            "current_setting('shared_buffers'), current_setting('synchronous_commit')"
        )
        server, buffers, sync = cursor.fetchone()
    print(
        f"regdesk escalation benchmark: PostgreSQL {server} (shared_buffers {buffers}, "
        f"synchronous_commit {sync}, database {_db_name()}), Redis {REDIS_URL}, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {_load()}"
    )
    table: list[tuple[str, str, str, str]] = []
    try:
        world = World()
        print(
            f"(1) bulk load: {args.tickets:,} open tickets on one {PRESET} desk, "
            f"{args.due:,} of them due now"
        )
        loaded, seconds = load_tickets(world, args.tickets, args.due)
        originals = due_now()
        print(
            f"    {loaded:,} tickets and their {loaded:,} 'created' events in {seconds:.0f} s "
            f"({loaded / seconds:,.0f} tickets/s: COPY, INSERT ... SELECT, VACUUM ANALYZE); "
            f"{len(originals):,} due now"
        )

        print(
            f"(2) the monitor's due query (next_check_at <= now, first 1,000 in order), "
            f"{SAMPLES} runs"
        )
        query = bench_query()
        print(
            f"    ORM, fetched into this process: median {query['median']:.2f} ms, "
            f"p95 {query['p95']:.2f} ms ({query['rows']:,} rows); server execution: median "
            f"{query['server_median']:.2f} ms, p95 {query['server_p95']:.2f} ms; "
            f"ticket_next_check_idx used: {'yes' if query['index_used'] else 'NO'}"
        )
        print("    EXPLAIN (ANALYZE, BUFFERS):")
        print("\n".join("      " + line for line in query["plan"].splitlines()))
        claims = bench_claims(originals)
        batch_ms = statistics.median(ms for n, ms in claims if n) if claims[0][0] else 0.0
        print(
            "    clock_monitor() (the query, then a conditional-update claim per ticket): "
            + ", ".join(f"{n:,} claimed in {ms:,.0f} ms" for n, ms in claims)
        )
        size = f"{loaded:,} open"
        for label, value in (("median", query["median"]), ("p95", query["p95"])):
            table.append(
                (
                    f"due query, {label}, ORM ({size})",
                    f"{value:.2f} ms",
                    f"<= {TARGET_QUERY_MS:.0f} ms",
                    "meets" if value <= TARGET_QUERY_MS else "MISSES",
                )
            )
        table.append(
            (
                "due query, p95, server execution",
                f"{query['server_p95']:.2f} ms",
                f"<= {TARGET_QUERY_MS:.0f} ms",
                "meets" if query["server_p95"] <= TARGET_QUERY_MS else "MISSES",
            )
        )
        table.append(("clock_monitor: query + 1,000 claims", f"{batch_ms:,.0f} ms", "-", ""))

        if args.profile:
            print(f"(2b) the checks in this process, {args.profile} tickets")
            profile_steps(originals, args.profile)

        print(f"(3) {len(originals):,} due steps, two worker processes")
        simple = bench_workers("rq", originals, data_dir, worker_class="rq.SimpleWorker")
        _print_workers(
            "Redis (RQ): 2 x rqworker --burst --worker-class rq.SimpleWorker "
            "--job-class django_tasks_rq.backend.Job",
            simple,
        )
        table.append(
            (
                "steps/s, Redis (RQ), 2 SimpleWorkers",
                f"{simple['steps_per_s']:,.0f}/s",
                f">= {TARGET_STEPS_PER_S:,.0f}/s",
                _verdict(simple["steps_per_s"], TARGET_STEPS_PER_S),
            )
        )
        if simple["worker_cpu_ms"] is not None:
            table.append(
                (
                    "CPU ms per step, Redis: workers / PostgreSQL",
                    f"{simple['worker_cpu_ms']:.2f} / {simple['server_cpu_ms']:.2f}",
                    "-",
                    "",
                )
            )
        if args.fork_sample:
            forked = bench_workers("rq", originals, data_dir, sample=args.fork_sample, timeout=600)
            _print_workers(
                "Redis (RQ): 2 x rqworker --burst --job-class "
                "django_tasks_rq.backend.Job (RQ's Worker: a fork per job), first "
                f"{args.fork_sample} steps",
                forked,
            )
            table.append(
                (
                    "steps/s, Redis (RQ), 2 forking Workers",
                    f"{forked['steps_per_s']:,.1f}/s",
                    f">= {TARGET_STEPS_PER_S:,.0f}/s",
                    _verdict(forked["steps_per_s"], TARGET_STEPS_PER_S),
                )
            )
        database = bench_workers("database", originals, data_dir)
        _print_workers("database backend: 2 x db_worker --batch --interval 1", database)
        table.append(
            (
                "steps/s, database backend, 2 db_workers",
                f"{database['steps_per_s']:,.0f}/s",
                "(comparison)",
                "",
            )
        )
        table.append(
            (
                "monitor claim+enqueue/s, Redis / database",
                f"{simple['enqueue_per_s']:,.0f} / {database['enqueue_per_s']:,.0f}",
                "-",
                "",
            )
        )
        table.append(
            (
                "deliveries/s after the steps, Redis / database",
                " / ".join(f"{f['deliveries_per_s'] or 0:,.0f}" for f in (simple, database)),
                "-",
                "",
            )
        )

        print(f"summary (load average now {_load()})")
        header = ("figure", "measured", "target", "verdict")
        widths = [max(len(row[i]) for row in [header, *table]) for i in range(4)]
        for row in [header, *table]:
            print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    finally:
        try:
            rq_cleanup()
        except Exception as exc:  # Redis gone: nothing of ours is left there
            print(f"(Redis clean-up skipped: {exc})")
        if args.keep:
            print(f"kept database {BENCH_URL}")
        else:
            _drop_database()


if __name__ == "__main__":
    main()
