"""Tasks on the real backends: enqueued on commit, carrying ids, run by real workers.

The database backend runs everywhere; the RQ backend needs the Redis on 127.0.0.1:6379 (CI has
it). The worker-kill test needs PostgreSQL (a worker in another process must see the test
database) and runs in the PostgreSQL pass of CI.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from regdesk.notifications.models import Notification
from regdesk.tickets.services import ticket_create
from tests.background.conftest import Inbox
from tests.desk.factories import PersonFactory, make_desk

UTC = ZoneInfo("UTC")
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
RQ_TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:6379/9", "DEFAULT_TIMEOUT": 60}}


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(RQ_QUEUES["default"]["URL"]).ping())
    except Exception:
        return False


def _register(desk: Any = None) -> Any:
    return ticket_create(
        desk=desk or make_desk("service-desk", prefix="SD"),
        requester=PersonFactory(),
        request_type="incident",
        subject="Disk full",
        body="No space left",
        channel="widget",
        at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
    )


@pytest.mark.django_db(transaction=True)
def test_database_backend_delivers_after_commit(smtp_server: Inbox) -> None:
    from django_tasks_db.models import DBTaskResult

    with override_settings(TASKS=DATABASE_TASKS):
        ticket = _register()
        queued = DBTaskResult.objects.filter(task_path__endswith="notifications_sweep")
        assert queued.count() == 1  # a sweep of the pending notifications, asked on commit
        call_command("db_worker", "--batch", "--interval", "0")
    assert Notification.objects.get(ticket=ticket).state == Notification.State.SENT
    assert [m["Subject"] for m in smtp_server.messages] == [
        f"[{ticket.reference}] Your request is registered"
    ]


class _Rollback(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_one_sweep_queued_at_a_time_and_nothing_rolled_back_is_sent(
    smtp_server: Inbox,
) -> None:
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    desk = make_desk("service-desk", prefix="SD")

    def register_and_roll_back() -> None:
        with transaction.atomic():
            _register(desk)
            raise _Rollback

    def queued() -> int:
        return DBTaskResult.objects.filter(
            task_path__endswith="notifications_sweep", status="READY"
        ).count()

    with override_settings(TASKS=DATABASE_TASKS):
        # Given a whole transaction rolled back: it asks for nothing
        with pytest.raises(_Rollback):
            register_and_roll_back()
        assert queued() == 0
        # When a transaction commits with a savepoint rolled back inside it, and two more
        # commit while its sweep is still queued
        with transaction.atomic():
            first = _register(desk)
            with pytest.raises(_Rollback):
                register_and_roll_back()
            second = _register(desk)
        with CaptureQueriesContext(connection) as statements:
            third, fourth = _register(desk), _register(desk)
        # Then one sweep is queued for all of them, and it sends exactly what was committed;
        # the later commits only read that it is queued (no write, no wait for the disk)
        assert queued() == 1
        sweep_statements = [q["sql"] for q in statements if "deliverysweep" in q["sql"]]
        assert len(sweep_statements) == 2
        assert all(sql.startswith("SELECT") for sql in sweep_statements)
        call_command("db_worker", "--batch", "--interval", "0")
        assert sorted(m["Subject"] for m in smtp_server.messages) == sorted(
            f"[{t.reference}] Your request is registered" for t in (first, second, third, fourth)
        )
        assert set(Notification.objects.values_list("state", flat=True)) == {"sent"}
        # and once it ran, the next commit asks for the next sweep
        fifth = _register(desk)
        assert queued() == 1
        call_command("db_worker", "--batch", "--interval", "0")
    assert Notification.objects.get(ticket=fifth).state == Notification.State.SENT


@pytest.mark.django_db(transaction=True)
def test_a_sweep_asked_for_long_ago_and_never_run_is_asked_for_again(
    smtp_server: Inbox,
) -> None:
    from django_tasks_db.models import DBTaskResult

    from regdesk.notifications.models import DeliverySweep
    from regdesk.notifications.services import SWEEP_STALE

    with override_settings(TASKS=DATABASE_TASKS):
        # Given a sweep asked for, whose task was lost with its process
        asked = datetime.now(UTC) - SWEEP_STALE - timedelta(seconds=1)
        DeliverySweep.objects.update_or_create(pk=1, defaults={"requested_at": asked})
        # When a request is registered
        ticket = _register()
        # Then a sweep is queued again, and it delivers
        queued = DBTaskResult.objects.filter(task_path__endswith="notifications_sweep")
        assert queued.count() == 1
        call_command("db_worker", "--batch", "--interval", "0")
    assert Notification.objects.get(ticket=ticket).state == Notification.State.SENT
    assert DeliverySweep.objects.get(pk=1).requested_at is None


@pytest.mark.skipif(not _redis_up(), reason="needs Redis on 127.0.0.1:6379")
@pytest.mark.django_db(transaction=True)
def test_rq_backend_delivers_after_commit(smtp_server: Inbox) -> None:
    import django_rq
    from django_tasks_rq.backend import Job
    from rq import SimpleWorker

    with override_settings(TASKS=RQ_TASKS, RQ_QUEUES=RQ_QUEUES):
        queue = django_rq.get_queue("default", job_class=Job)
        queue.empty()
        ticket = _register()
        assert queue.count == 1
        SimpleWorker([queue], connection=queue.connection, job_class=Job).work(burst=True)
    assert Notification.objects.get(ticket=ticket).state == Notification.State.SENT
    assert len(smtp_server.messages) == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="a worker in another process must share the test database: PostgreSQL pass only",
)
@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_loses_nothing_and_duplicates_nothing(
    smtp_server: Inbox, settings: Any
) -> None:
    """Kill -9 a db_worker while it delivers; a new worker finishes the job exactly once."""
    from django_tasks_db.models import DBTaskResult

    from regdesk.notifications.services import notifications_requeue_stale

    # The SMTP server answers slowly, so the first worker is mid-send when it dies.
    smtp_server.delay = 3.0
    with override_settings(TASKS=DATABASE_TASKS):
        ticket = _register()
        db = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "REGDESK_TEST_DATABASE_URL": "",
            "REGDESK_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "REGDESK_SMTP_PORT": str(settings.EMAIL_PORT),
            "REGDESK_TASKS": "database",
            "DJANGO_SETTINGS_MODULE": "regdesk.config.settings",
        }
        worker = subprocess.Popen(
            [sys.executable, "-m", "django", "db_worker", "--interval", "0.1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if Notification.objects.filter(state=Notification.State.SENDING).exists():
                    break
                time.sleep(0.05)
            assert Notification.objects.filter(state=Notification.State.SENDING).exists()
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
        notification = Notification.objects.get(ticket=ticket)
        assert notification.state == Notification.State.SENDING  # orphaned, not lost
        # After the lease, the periodic tick re-enqueues it; a fresh worker delivers it once.
        from datetime import timedelta

        from django.utils import timezone

        Notification.objects.filter(pk=notification.pk).update(
            claimed_at=timezone.now() - timedelta(minutes=10)
        )
        smtp_server.delay = 0.0
        smtp_server.generation += 1  # the dead worker's connection never completes
        assert notifications_requeue_stale() == 1
        assert DBTaskResult.objects.filter(status="READY").count() >= 1
        call_command("db_worker", "--batch", "--interval", "0")
    notification.refresh_from_db()
    assert notification.state == Notification.State.SENT
    assert len(smtp_server.messages) == 1  # the killed send never completed
