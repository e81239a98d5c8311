"""The REST API over HTTP on PostgreSQL: ticket creation and the ticket list, 8 concurrent clients.

    .venv/bin/python benchmarks/api.py [--duration 20] [--clients 8] [--gunicorn-workers 2]
                                       [--gunicorn-threads 1] [--servers gunicorn,serve]
                                       [--client http.client|httpx] [--desks 1]
                                       [--profile 300] [--keep]

For each server it recreates the database ``regdesk_bench_api`` (REGDESK_BENCH_API_DATABASE_URL
to change it), migrates it, makes a desk (service-desk preset; --desks N makes N and spreads the
clients over them) with a customer and an agent per client, each with a token (rate limit out of
the way), and starts the server as an operator would:

* ``gunicorn``: ``gunicorn regdesk.config.wsgi -w N`` (docs/operations.md: N = cores, PostgreSQL
  on the same machine)
  with one ``regdesk worker`` beside it for the background tasks, as documented;
* ``serve``: ``regdesk serve --workers N`` (on PostgreSQL: gunicorn's sync workers and the
  background worker in a process of its own, all under the one command).

Then 8 clients, a connection each, register requests with POST /api/v1/tickets as customers
for --duration seconds, and list GET /api/v1/tickets?limit=50 as agents for --duration seconds;
each phase starts with 2 s of warm-up that are not counted. The clients are wrk (Debian's
package, when installed: a C thread per client, about 0.2 ms of CPU a request) or, with
--client http.client or httpx, threads of this Python process (0.6-2 ms a request, and one
interpreter's lock for all eight). They run on the same machine as the server and the
database: on a busy machine the figures say more about the machine than about regdesk (the load
average is printed with them), and the clients' own CPU per request is printed beside the
server's and PostgreSQL's.

--profile N registers N requests through Django's test client in this process: wall and CPU
time per request, SQL statements per request, and a cProfile (CPU time) of where it goes.
Figures, not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

BENCH_URL = os.environ.get(
    "REGDESK_BENCH_API_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/regdesk_bench_api"
)
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent

# The peer, measured on this machine: django-helpdesk 2.6, its public submit form over HTTP,
# SQLite. The targets are the issue's.
PEER_CREATE_PER_S = 27.0
TARGET_CREATE_PER_S = 300.0
TARGET_LIST_P95_MS = 50.0
SUBJECTS = (
    "Export fails at 80 %",
    "VPN drops every hour",
    "Printer on floor 3 jams",
    "Cannot log in to the portal",
)


# --------------------------------------------------------------------------- database and data


def _admin_url() -> tuple[str, str]:
    parsed = urlparse(BENCH_URL)
    return parsed.path.lstrip("/"), parsed._replace(path="/postgres").geturl()


def _recreate_database() -> None:
    import psycopg

    name, admin = _admin_url()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _drop_database() -> None:
    import psycopg

    name, admin = _admin_url()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _setup_django(data_dir: str) -> None:
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ["REGDESK_DATA"] = data_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "regdesk.config.settings"
    import django

    django.setup()


@dataclass
class World:
    customer_tokens: list[str] = field(default_factory=list)
    agent_tokens: list[str] = field(default_factory=list)


def _build_world(clients: int, desks: int = 1) -> World:
    """A fresh schema, the desks, a customer and an agent (each with a token) per client."""
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connections

    from regdesk.api.services import token_create
    from regdesk.desks.services import desk_create
    from regdesk.directory.models import Agent, AgentMembership, Organisation, Person, PersonEmail

    connections.close_all()
    _recreate_database()
    call_command("migrate", verbosity=0, interactive=False)
    all_desks = [
        desk_create(slug=f"bench{d}", name=f"Bench desk {d}", ticket_prefix=f"BE{d}",
                    preset="service-desk")
        for d in range(desks)
    ]  # fmt: skip
    organisation = Organisation.objects.create(name="Bench customer")
    organisation.desks.add(*all_desks)
    world = World()
    for i in range(clients):
        user = User.objects.create(username=f"customer{i}")
        person = Person.objects.create(
            user=user, full_name=f"Customer {i}", organisation=organisation, language="en"
        )
        PersonEmail.objects.create(person=person, address=f"customer{i}@bench.example")
        world.customer_tokens.append(
            token_create(user=user, name="bench", scope="write", rate_per_minute=10**7)[1]
        )
        agent_user = User.objects.create(username=f"agent{i}", first_name="Agent")
        agent = Agent.objects.create(user=agent_user, language="en")
        for desk in all_desks:
            AgentMembership.objects.create(agent=agent, desk=desk)
        world.agent_tokens.append(
            token_create(user=agent_user, name="bench", scope="read", rate_per_minute=10**7)[1]
        )
    connections.close_all()
    return world


def _create_body(client: int, n: int, desks: int = 1) -> dict[str, Any]:
    return {
        "desk": f"bench{client % desks}",
        "request_type": "incident",
        "subject": f"{SUBJECTS[n % len(SUBJECTS)]} (client {client}, #{n})",
        "body": "Since this morning the monthly export stops at 80 % with an error message.",
        "priority": "high",
    }


# --------------------------------------------------------------------------- servers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """The server's processes (and the background worker beside gunicorn), stopped at the end."""

    def __init__(
        self, kind: str, *, workers: int, threads: int, data_dir: str, log_dir: Path
    ) -> None:
        self.kind = kind
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": BENCH_URL,
            "REGDESK_DATA": data_dir,
            "REGDESK_ALLOWED_HOSTS": "127.0.0.1",
            "REGDESK_LOG_LEVEL": "WARNING",
            # Notifications are rendered and "sent" by the worker; nothing leaves the machine.
            "REGDESK_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        if kind == "gunicorn":
            threaded = ["--threads", str(threads)] if threads > 1 else []
            self.label = f"gunicorn -w {workers}{' --threads ' + str(threads) if threaded else ''}"
            self.label += " + regdesk worker"
            commands = [
                [str(BIN / "gunicorn"), "regdesk.config.wsgi", "-w", str(workers), *threaded,
                 "-b", f"127.0.0.1:{self.port}"],
                [str(BIN / "regdesk"), "worker"],
            ]  # fmt: skip
        elif kind == "serve":
            self.label = f"regdesk serve --workers {workers}"
            commands = [
                [str(BIN / "regdesk"), "serve", "--port", str(self.port), "--workers", str(workers)]
            ]
        else:
            raise SystemExit(f"unknown server {kind!r} (gunicorn or serve)")
        self.processes = []
        for index, command in enumerate(commands):
            log = (log_dir / f"{kind}-{index}.log").open("w")
            self.processes.append(
                subprocess.Popen(
                    command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                    start_new_session=True,
                )
            )  # fmt: skip
        self.sessions = {process.pid for process in self.processes}  # each leads its session
        self.worker_sessions = {
            p.pid for p, c in zip(self.processes, commands, strict=True) if "worker" in c
        }
        self._wait_ready()

    def _wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.processes):
                raise SystemExit(f"{self.label} exited at start-up; see its log")
            try:
                if httpx.get(f"{self.base}/api/v1/openapi.json", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise SystemExit(f"{self.label} does not answer")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


# --------------------------------------------------------------------------- load


@dataclass
class Phase:
    seconds: float = 0.0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    app_cpu_s: float = 0.0  # the server's processes (and the worker beside it)
    worker_cpu_s: float = 0.0  # of which the background worker beside gunicorn
    db_cpu_s: float = 0.0  # PostgreSQL's backends on the benchmark database
    client_cpu_s: float = 0.0  # the load generator (this process's client threads)
    fixed_percentiles: dict[float, float] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return self.ok + self.error_count

    def cpu_ms(self, seconds: float) -> float:
        return seconds * 1000 / self.requests if self.requests else float("nan")

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        if share in self.fixed_percentiles:  # reported by wrk
            return self.fixed_percentiles[share]
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def _cpu_seconds(sessions: set[int], worker: set[int]) -> tuple[float, float, float]:
    """CPU seconds used so far by the server's process sessions (and of those, by the worker's
    sessions), and by PostgreSQL's backends connected to the benchmark database (from /proc;
    CPU time is what a busy machine does not distort, unlike rates and latencies)."""
    tick = os.sysconf("SC_CLK_TCK")
    name = _admin_url()[0].encode()
    app = in_worker = db = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        session, cpu = int(fields[3]), (int(fields[11]) + int(fields[12])) / tick
        if session in sessions:
            app += cpu
            in_worker += cpu if session in worker else 0.0
        elif command.startswith(b"postgres:") and b" " + name + b" " in command:
            db += cpu
    return app, in_worker, db


class _Client:
    """One client's connection: the standard library's http.client (keep-alive where the server
    keeps connections; it reconnects when a sync gunicorn worker closes them), or httpx.

    The load generator shares the server's cores: httpx spent about 2 ms of CPU per request,
    as much as PostgreSQL did for a listing; http.client spends a fraction of that.
    """

    def __init__(self, kind: str, base: str, token: str) -> None:
        self.kind = kind
        self.headers = {"Authorization": f"Bearer {token}"}
        if kind == "httpx":
            import httpx

            self.http = httpx.Client(base_url=base, headers=self.headers, timeout=30)
        elif kind == "http.client":
            parsed = urlparse(base)
            self.conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        else:
            raise SystemExit(f"unknown client {kind!r} (http.client or httpx)")

    def call(self, method: str, path: str, payload: Any = None) -> tuple[int, bytes]:
        if self.kind == "httpx":
            response = self.http.request(method, path, json=payload)
            return response.status_code, response.content
        headers = dict(self.headers)
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # the next request opens a new connection
            raise

    def __enter__(self) -> _Client:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.kind == "httpx":
            self.http.close()
        else:
            self.conn.close()


def _run_phase(
    base: str,
    tokens: list[str],
    *,
    seconds: float,
    create: bool,
    warmup: float,
    desks: int = 1,
    sessions: set[int] | None = None,
    worker_sessions: set[int] | None = None,
    client_kind: str = "http.client",
) -> Phase:
    """Every client loops until the deadline; only requests started after the warm-up count."""
    phase = Phase()
    lock = threading.Lock()
    start_gate = threading.Barrier(len(tokens) + 1)
    times: dict[str, float] = {}

    def client(index: int, token: str) -> None:
        latencies: list[float] = []
        errors: dict[str, int] = {}
        ok = 0
        with _Client(client_kind, base, token) as http:
            start_gate.wait()
            n = 0
            while True:
                started = time.perf_counter()
                if started >= times["end"]:
                    break
                counted = started >= times["measure"]
                try:
                    if create:
                        status, _ = http.call(
                            "POST", "/api/v1/tickets", _create_body(index, n, desks)
                        )
                        good = status == 201
                    else:
                        status, body = http.call("GET", "/api/v1/tickets?limit=50")
                        good = status == 200 and len(json.loads(body)["items"]) == 50
                    key = str(status)
                except Exception as exc:  # a failed request is counted, not fatal
                    good, key = False, type(exc).__name__
                elapsed = (time.perf_counter() - started) * 1000
                n += 1
                if not counted:
                    continue
                if good:
                    ok += 1
                    latencies.append(elapsed)
                else:
                    errors[key] = errors.get(key, 0) + 1
        with lock:
            phase.ok += ok
            phase.latencies_ms += latencies
            for key, count in errors.items():
                phase.errors[key] = phase.errors.get(key, 0) + count

    threads = [
        threading.Thread(target=client, args=(i, token), daemon=True)
        for i, token in enumerate(tokens)
    ]
    for thread in threads:
        thread.start()
    now = time.perf_counter()
    times["measure"] = now + warmup
    times["end"] = now + warmup + seconds
    start_gate.wait()
    time.sleep(max(0.0, times["measure"] - time.perf_counter()))
    app_before, worker_before, db_before = _cpu_seconds(sessions or set(), worker_sessions or set())
    client_before = time.process_time()
    time.sleep(max(0.0, times["end"] - time.perf_counter()))
    app_after, worker_after, db_after = _cpu_seconds(sessions or set(), worker_sessions or set())
    client_after = time.process_time()
    for thread in threads:
        thread.join()
    phase.seconds = seconds
    phase.app_cpu_s, phase.db_cpu_s = app_after - app_before, db_after - db_before
    phase.worker_cpu_s = worker_after - worker_before
    phase.client_cpu_s = client_after - client_before
    return phase


# wrk: the load from a C client (8 threads, a connection each), lighter on the shared cores
# than Python's; its Lua script sends each connection's own token and bodies, and reports.
WRK_SCRIPT = """
local tokens = {%(tokens)s}
local create = %(create)s
local desks = %(desks)d
local count = 0
function setup(thread)
  thread:set("id", count)
  count = count + 1
end
function init(args)
  n = 0
end
function request()
  n = n + 1
  local headers = {["Authorization"] = "Bearer " .. tokens[(id %% #tokens) + 1]}
  if not create then
    return wrk.format("GET", "/api/v1/tickets?limit=50", headers)
  end
  headers["Content-Type"] = "application/json"
  local body = string.format(
    '{"desk": "bench%%d", "request_type": "incident", "subject": "Export stops at 80 %%%% '
    .. '(client %%d, #%%d)", "body": "Since this morning the monthly export stops at 80 %%%% '
    .. 'with an error message.", "priority": "high"}', id %% desks, id, n)
  return wrk.format("POST", "/api/v1/tickets", headers, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %%d, "failed": %%d, "p50": %%f, "p95": %%f, "p99": %%f}\\n',
    summary.requests, e.status + e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def _run_wrk_phase(
    base: str,
    tokens: list[str],
    *,
    seconds: float,
    create: bool,
    warmup: float,
    desks: int = 1,
    sessions: set[int] | None = None,
    worker_sessions: set[int] | None = None,
) -> Phase:
    """The phase with wrk: a warm-up run, then the measured one (its own percentiles)."""
    script = Path(tempfile.mkdtemp(prefix="regdesk-bench-wrk-")) / "phase.lua"
    script.write_text(
        WRK_SCRIPT
        % {
            "tokens": ", ".join(f'"{token}"' for token in tokens),
            "create": "true" if create else "false",
            "desks": desks,
        }
    )
    clients = str(len(tokens))
    command = ["wrk", "-t", clients, "-c", clients, "-s", str(script), f"{base}/api/v1/tickets"]
    subprocess.run([*command[:1], "-d", f"{max(1, int(warmup))}s", *command[1:]],
                   capture_output=True, check=True)  # fmt: skip
    app_before, worker_before, db_before = _cpu_seconds(sessions or set(), worker_sessions or set())
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run = subprocess.run(
        [*command[:1], "-d", f"{max(1, int(seconds))}s", *command[1:]],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    app_after, worker_after, db_after = _cpu_seconds(sessions or set(), worker_sessions or set())
    line = next(ln for ln in run.stdout.splitlines() if ln.startswith("RESULT "))
    figures = json.loads(line.removeprefix("RESULT "))
    phase = Phase(seconds=elapsed)
    phase.ok = figures["requests"] - figures["failed"]
    if figures["failed"]:
        phase.errors["non-2xx or socket error"] = figures["failed"]
    phase.fixed_percentiles = {0.50: figures["p50"], 0.95: figures["p95"], 0.99: figures["p99"]}
    phase.app_cpu_s, phase.db_cpu_s = app_after - app_before, db_after - db_before
    phase.worker_cpu_s = worker_after - worker_before
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    phase.client_cpu_s = (used.ru_utime + used.ru_stime) - (children.ru_utime + children.ru_stime)
    shutil.rmtree(script.parent, ignore_errors=True)
    return phase


@dataclass
class Result:
    label: str
    create: Phase
    listing: Phase
    backlog: int


def _task_backlog() -> int:
    """Background tasks still queued when the create phase ended (database backend)."""
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    count = DBTaskResult.objects.ready().count()
    connection.close()
    return count


def bench_server(kind: str, args: argparse.Namespace, log_dir: Path) -> Result:
    world = _build_world(args.clients, args.desks)
    data_dir = tempfile.mkdtemp(prefix=f"regdesk-bench-api-{kind}-")
    server = Server(
        kind, workers=args.gunicorn_workers, threads=args.gunicorn_threads, data_dir=data_dir,
        log_dir=log_dir,
    )  # fmt: skip
    try:
        common: dict[str, Any] = {
            "seconds": args.duration, "warmup": 2, "sessions": server.sessions,
            "worker_sessions": server.worker_sessions,
        }  # fmt: skip
        run = _run_wrk_phase if args.client == "wrk" else _run_phase
        if args.client != "wrk":
            common["client_kind"] = args.client
        print(f"  {server.label}: creating for {args.duration:.0f} s ...", flush=True)
        create = run(server.base, world.customer_tokens, create=True, desks=args.desks, **common)
        backlog = _task_backlog()
        # a full page for every agent (wrk checks only the status)
        with _Client("http.client", server.base, world.agent_tokens[0]) as http:
            status, body = http.call("GET", "/api/v1/tickets?limit=50")
            if status != 200 or len(json.loads(body)["items"]) != 50:
                raise SystemExit(f"the list answers {status}, not a full page: see the logs")
        print(f"  {server.label}: listing for {args.duration:.0f} s ...", flush=True)
        listing = run(server.base, world.agent_tokens, create=False, **common)
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    return Result(server.label, create, listing, backlog)


# --------------------------------------------------------------------------- profile


def profile_create(count: int) -> None:
    """POST /api/v1/tickets through Django's test client under cProfile (no HTTP server)."""
    import cProfile
    import json
    import pstats

    from django.test import Client

    world = _build_world(1)
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {world.customer_tokens[0]}"}

    def post(n: int) -> None:
        response = client.post(
            "/api/v1/tickets", json.dumps(_create_body(0, n)), content_type="application/json",
            **headers,
        )  # fmt: skip
        assert response.status_code == 201, response.content

    for n in range(20):  # warm-up
        post(n)
    from django.db import connection

    statements: list[str] = []

    def counted(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        post(20)
    # Without the profiler first: wall time, and this process's CPU time (Django, Ninja, the
    # services; PostgreSQL's share is the difference, plus waiting when the machine is busy).
    wall, cpu = time.perf_counter(), time.process_time()
    for n in range(count):
        post(21 + n)
    wall = (time.perf_counter() - wall) / count * 1000
    cpu = (time.process_time() - cpu) / count * 1000
    profiler = cProfile.Profile(time.process_time)  # CPU time: waits on the database excluded
    profiler.enable()
    for n in range(count):
        post(21 + count + n)
    profiler.disable()
    print(f"(profile) POST /api/v1/tickets in-process (Django's test client, one connection), "
          f"{count} requests: {wall:.1f} ms each, of which {cpu:.1f} ms CPU in Python; "
          f"{len(statements)} SQL statements per request; load average {_load()}")  # fmt: skip
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(r"regdesk/", 30)
    stats.sort_stats("tottime").print_stats(15)


# --------------------------------------------------------------------------- report


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def _server_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone()
    connection.close()
    return str(version)


def _client_label(kind: str) -> str:
    if kind == "wrk":
        return "wrk, a thread and a connection each"
    return f"{kind}, threads of one Python process"


def report(results: list[Result], args: argparse.Namespace, version: str, load: str) -> None:
    print()
    print(f"regdesk API over HTTP: PostgreSQL {version}, {os.cpu_count()} cores, "
          f"{args.clients} concurrent clients ({_client_label(args.client)}) creating on "
          f"{args.desks} desk(s), {args.duration:.0f} s per phase after a 2 s warm-up; load "
          f"average before: {load}, after: {_load()}")  # fmt: skip
    header = (f"{'server':<38} {'created/s':>9} {'create p50/p95 ms':>18} "
              f"{'list req/s':>10} {'list p50 ms':>11} {'list p95 ms':>11} {'errors':>6} "
              f"{'tasks queued':>12}")  # fmt: skip
    print(header)
    print("-" * len(header))
    for r in results:
        c, ls = r.create, r.listing
        print(f"{r.label:<38} {c.rate:>9.0f} "
              f"{c.percentile(0.5):>8.0f} / {c.percentile(0.95):<7.0f} {ls.rate:>10.0f} "
              f"{ls.percentile(0.5):>11.1f} {ls.percentile(0.95):>11.1f} "
              f"{c.error_count + ls.error_count:>6} {r.backlog:>12,}")  # fmt: skip
        for name, phase in (("create", c), ("list", ls)):
            if phase.errors:
                print(f"    {name} errors: {phase.errors}")
    print(f"{'peer: django-helpdesk 2.6, public form, SQLite':<38} {PEER_CREATE_PER_S:>9.0f}")
    print(f"{'target':<38} {'>= ' + format(TARGET_CREATE_PER_S, '.0f'):>9} {'':>18} {'':>10} "
          f"{'':>11} {'<= ' + format(TARGET_LIST_P95_MS, '.0f'):>11}")  # fmt: skip
    for r in results:
        list_ok = r.listing.percentile(0.95) <= TARGET_LIST_P95_MS
        verdicts = [
            "creation " + ("meets" if r.create.rate >= TARGET_CREATE_PER_S else "MISSES"),
            "list p95 " + ("meets" if list_ok else "MISSES"),
        ]
        print(f"  {r.label}: {', '.join(verdicts)} the target; "
              f"{r.create.rate / PEER_CREATE_PER_S:.1f}x the peer's creation rate")  # fmt: skip
    print("(tasks queued: background tasks (notifications, clock checks) still waiting when the "
          "create phase ended)")  # fmt: skip
    cores = os.cpu_count() or 1
    print()
    print("CPU per request, server processes (app; with gunicorn: and its worker) + PostgreSQL "
          "(db), from /proc; the ceiling is what the cores allow if nothing else ran (the "
          "clients' own CPU not counted):")  # fmt: skip
    header = (f"{'server':<38} {'create app+db ms':>16} {'list app+db ms':>16} "
              f"{'ceiling created/s':>17} {'ceiling list/s':>14}")  # fmt: skip
    print(header)
    print("-" * len(header))
    for r in results:
        c, ls = r.create, r.listing
        c_app, c_db = c.cpu_ms(c.app_cpu_s), c.cpu_ms(c.db_cpu_s)
        l_app, l_db = ls.cpu_ms(ls.app_cpu_s), ls.cpu_ms(ls.db_cpu_s)
        print(f"{r.label:<38} {c_app:>9.1f} + {c_db:<4.1f} {l_app:>9.1f} + {l_db:<4.1f} "
              f"{cores * 1000 / (c_app + c_db):>17.0f} "
              f"{cores * 1000 / (l_app + l_db):>14.0f}")  # fmt: skip
    print()
    print("Where the create CPU goes, ms per request: the background worker's share of app (the "
          "deliveries and clock checks a creation causes), and the load generator's own CPU, "
          "which shares the cores:")  # fmt: skip
    header = (f"{'server':<38} {'web':>6} {'worker':>7} {'db':>6} {'clients':>8} "
              f"{'list clients':>12}")  # fmt: skip
    print(header)
    print("-" * len(header))
    for r in results:
        c, ls = r.create, r.listing
        print(f"{r.label:<38} {c.cpu_ms(c.app_cpu_s - c.worker_cpu_s):>6.1f} "
              f"{c.cpu_ms(c.worker_cpu_s):>7.1f} {c.cpu_ms(c.db_cpu_s):>6.1f} "
              f"{c.cpu_ms(c.client_cpu_s):>8.1f} {ls.cpu_ms(ls.client_cpu_s):>12.1f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--gunicorn-workers", type=int, default=os.cpu_count() or 1,
        help="processes of gunicorn and of regdesk serve (default: one per core, as "
        "docs/operations.md advises)",
    )  # fmt: skip
    parser.add_argument(
        "--gunicorn-threads", type=int, default=1,
        help="threads per gunicorn worker (gthread workers when > 1; default: sync workers)",
    )  # fmt: skip
    parser.add_argument("--servers", default="gunicorn,serve", help="gunicorn,serve")
    parser.add_argument(
        "--client", default="wrk" if shutil.which("wrk") else "http.client",
        choices=["wrk", "http.client", "httpx"],
        help="the load generator: wrk (Debian's package; the default where installed, the "
        "lightest load on the shared cores), or Python threads with http.client or httpx",
    )  # fmt: skip
    parser.add_argument(
        "--desks", type=int, default=1,
        help="spread the clients' creations over this many desks (default: all on one)",
    )  # fmt: skip
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also profile N creations in-process")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="regdesk-bench-api-")
    log_dir = Path(tempfile.mkdtemp(prefix="regdesk-bench-api-logs-"))
    load = _load()
    _recreate_database()
    _setup_django(data_dir)
    version = _server_version()
    results = []
    try:
        for kind in [s.strip() for s in args.servers.split(",") if s.strip()]:
            results.append(bench_server(kind, args, log_dir))
        report(results, args, version, load)
        if args.profile:
            print()
            profile_create(args.profile)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _drop_database()
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"(server logs: {log_dir})")


if __name__ == "__main__":
    main()
