"""`regdesk serve --demo`: the demo organisation, the real server, and start-up errors."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User

from regdesk.core.loader import PRESETS
from regdesk.demo import (
    ADMIN_PASSWORD,
    AGENT_PASSWORD,
    CUSTOMER_PASSWORD,
    demo_load,
)
from regdesk.desks.models import Desk
from regdesk.directory.models import AgentMembership, Device, Organisation, Person
from regdesk.notifications.models import Notification
from regdesk.tickets.models import CannedReply, Message, Status, Ticket, TicketEvent

EVERY_STATUS = {status.value for status in Status}


def _counts() -> dict[str, int]:
    models = [Desk, User, Person, Organisation, Device, AgentMembership, CannedReply, Ticket,
              Message, TicketEvent]  # fmt: skip
    return {model.__name__: model.objects.count() for model in models}


@pytest.mark.django_db
def test_the_service_desk_demo_loads_once_with_tickets_in_every_state() -> None:
    # Given an empty desk, when the demo is loaded twice
    first = demo_load(preset="service-desk")
    after_first = _counts()
    second = demo_load(preset="service-desk")

    # Then the second run creates nothing
    assert first.created == ("local-berlin", "local-madrid", "waviot")
    assert second.created == ()
    assert _counts() == after_first
    assert [d.slug for d in second.desks] == [d.slug for d in first.desks]

    # and every ticket state is there, with split and merged tickets linked
    assert first.statuses == EVERY_STATUS
    assert Ticket.objects.filter(split_from__isnull=False).exists()
    assert Ticket.objects.filter(status=Status.MERGED, merged_into__isnull=False).exists()
    waiting = Ticket.objects.filter(status=Status.WAITING_FOR_CUSTOMER)
    assert waiting.exists()
    assert all(ticket.missing_fields for ticket in waiting)

    # and the clocks tell a story: some breached, some still running, some met in time
    open_tickets = Ticket.objects.filter(status__in=[Status.NEW, Status.ACCEPTED])
    assert open_tickets.filter(breached=True).exists()
    assert open_tickets.filter(breached=False, next_due_at__isnull=False).exists()
    met_in_time = [
        t for t in Ticket.objects.all()
        if (t.clock_state.get("first_response") or {}).get("met_at")
        and not t.clock_state["first_response"]["breached"]
    ]  # fmt: skip
    assert met_in_time

    # and the directory is believable: two regional desks on the same preset plus WAVIoT,
    # a lead per desk, an agent on two desks, an organisation manager, canned replies en + ru
    assert [(d.slug, d.preset) for d in first.desks] == [
        ("local-berlin", "service-desk"),
        ("local-madrid", "service-desk"),
        ("waviot", "waviot"),
    ]
    assert AgentMembership.objects.filter(is_lead=True).values("desk").distinct().count() == 3
    two_desks = [d for d in first.desks[0].agents if d in first.desks[1].agents]
    assert two_desks
    assert Person.objects.filter(is_organisation_manager=True).exists()
    assert set(CannedReply.objects.values_list("language", flat=True)) == {"en", "ru"}
    assert Device.objects.exists()

    # and its history's e-mails count as sent: a worker starting on the demo mails nothing old
    assert Notification.objects.exists()
    assert not Notification.objects.exclude(state=Notification.State.SENT).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("preset", [p for p in PRESETS if p != "service-desk"])
def test_every_preset_has_a_demo_with_every_state(preset: str) -> None:
    summary = demo_load(preset=preset)
    assert summary.desks[0].preset == preset
    assert len(summary.desks) == 3
    assert summary.statuses == EVERY_STATUS
    if preset == "wialon":
        tiers = set(Organisation.objects.exclude(tier="").values_list("tier", flat=True))
        assert tiers == {"gold", "silver", "other"}
        assert Ticket.objects.filter(out_of_lifecycle=True, status=Status.REFUSED).exists()


@pytest.mark.django_db
def test_the_printed_passwords_log_in() -> None:
    summary = demo_load(preset="service-desk")
    berlin = summary.desks[0]
    assert authenticate(username=berlin.agents[0].username, password=AGENT_PASSWORD)
    assert authenticate(username=berlin.customers[0].username, password=CUSTOMER_PASSWORD)
    admin = authenticate(username="admin", password=ADMIN_PASSWORD)
    assert admin is not None
    assert admin.is_superuser


# --------------------------------------------------------------------------- the real server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clean_env(data: Path, **extra: str) -> dict[str, str]:
    """The environment of a fresh install: no test settings, the embedded SQLite default."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL") and not key.startswith("REGDESK_")
    }
    env["REGDESK_DATA"] = str(data)
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra)
    return env


def _regdesk(*args: str) -> list[str]:
    return [sys.executable, "-m", "regdesk.cli", *args]


@contextlib.contextmanager
def _serving(port: int, env: dict[str, str], *options: str) -> Iterator[list[str]]:
    """``regdesk serve --demo service-desk`` running, its output collected line by line;
    stopped (SIGTERM) at the end."""
    process = subprocess.Popen(
        _regdesk("serve", "--demo", "service-desk", "--port", str(port), *options),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        encoding="utf-8",
    )
    lines: list[str] = []
    assert process.stdout is not None
    stream = process.stdout

    def read() -> None:
        for text in stream:
            lines.append(text.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield lines
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(10)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[int, list[str]]]:
    port = _free_port()
    with _serving(port, _clean_env(tmp_path / "data")) as lines:
        yield port, lines


def _get(url: str, *, within: float) -> tuple[int, bytes]:
    deadline = time.monotonic() + within
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_serve_demo_answers_and_prints_where_to_log_in(served: tuple[int, list[str]]) -> None:
    port, lines = served
    status, _ = _get(f"http://127.0.0.1:{port}/portal/login/", within=120)
    assert status == 200
    status, body = _get(f"http://127.0.0.1:{port}/static/admin/css/base.css", within=5)
    assert status == 200
    assert body
    printed = "\n".join(lines)
    assert f"http://127.0.0.1:{port}/portal/login/" in printed
    assert "admin / demo-admin" in printed
    for login in ("anna.schmidt", "lucia.garcia", "irina.volkova", "alex.kim"):
        assert f"agent     {login} / demo-agent" in printed
    for login in ("petra.brandt", "carmen.lopez", "sergey.ivanov"):
        assert f"customer  {login} / demo-customer" in printed
    assert "Local support — Berlin" in printed
    assert "Local support — Madrid" in printed


@pytest.mark.parametrize(
    ("variable", "value"),
    [("REGDESK_DEBUG", "maybe"), ("REGDESK_SMTP_PORT", "twenty-five"),
     ("REGDESK_MAX_UPLOAD_MB", "0"), ("DATABASE_URL", "mysql://root@localhost/desk")],
)  # fmt: skip
def test_a_wrong_setting_stops_the_start_naming_the_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    result = subprocess.run(
        _regdesk("serve", "--port", str(_free_port())),
        env=_clean_env(tmp_path / "data", **{variable: value}),
        capture_output=True,
        encoding="utf-8",
        timeout=60,
    )
    assert result.returncode == 2
    assert variable in result.stderr
    assert "Traceback" not in result.stderr
    assert "running at" not in result.stdout


def test_serve_refuses_an_unknown_demo_preset(tmp_path: Path) -> None:
    result = subprocess.run(
        _regdesk("serve", "--demo", "helpdesk"),
        env=_clean_env(tmp_path / "data"),
        capture_output=True,
        encoding="utf-8",
        timeout=60,
    )
    assert result.returncode == 2
    assert "unknown preset 'helpdesk'" in result.stderr


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A database of its own on the test suite's PostgreSQL server (dropped afterwards)."""
    server = os.environ.get("REGDESK_TEST_DATABASE_URL")
    if not server:
        pytest.skip("needs PostgreSQL (REGDESK_TEST_DATABASE_URL)")
    import psycopg

    name = f"regdesk_serve_{os.getpid()}"
    admin = server.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_serve_on_postgresql_runs_a_worker_per_process_and_the_background_worker(
    tmp_path: Path, postgres_url: str
) -> None:
    # Given a fresh install on PostgreSQL (gunicorn installed, as the production extra has it)
    port = _free_port()
    env = _clean_env(tmp_path / "data", DATABASE_URL=postgres_url)
    with _serving(port, env, "--workers", "2") as lines:
        # When it has started, then the site answers from gunicorn's two workers
        status, _ = _get(f"http://127.0.0.1:{port}/portal/login/", within=120)
        assert status == 200
        # and the background worker, a process of its own, delivers the acknowledgement of a
        # request mailed in meanwhile (the demo's own mail counts as sent, and what its clocks
        # send depends on the hour)
        mailed = subprocess.run(
            _regdesk("mail", "ingest", "--desk", "local-berlin"),
            env=env,
            input=(
                "From: Petra Brandt <petra.brandt@brandt-logistik.de>\r\n"
                "To: support@example.com\r\nSubject: Printer offline\r\n"
                "Message-ID: <serve-test@brandt-logistik.de>\r\n\r\nThe printer is offline.\r\n"
            ),
            capture_output=True,
            encoding="utf-8",
            timeout=60,
        )
        assert mailed.returncode == 0, mailed.stderr
        reference = mailed.stdout.strip()
        assert reference.startswith("BER-"), mailed.stdout
        deadline = time.monotonic() + 60
        while not any(line.startswith(f"Subject: [{reference}]") for line in list(lines)):
            assert time.monotonic() < deadline, "\n".join(lines[-30:])
            time.sleep(0.5)
        printed = "\n".join(lines)
        assert "server: gunicorn, 2 sync workers" in printed
        background = next(line for line in lines if "background worker: process" in line)
        pid = int(background.split("process ")[1].split()[0])
    # and when it is stopped, the background worker stops with it
    deadline = time.monotonic() + 10
    while _running(pid):
        assert time.monotonic() < deadline, "the background worker outlived the server"
        time.sleep(0.2)


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (an orphan that nothing here reaps)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "zombie" not in status.lower()


def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path) -> None:
    result = subprocess.run(
        _regdesk("serve", "--workers", "2", "--port", str(_free_port())),
        env=_clean_env(tmp_path / "data"),
        capture_output=True,
        encoding="utf-8",
        timeout=60,
    )
    assert result.returncode == 2
    assert "--workers needs PostgreSQL" in result.stderr
