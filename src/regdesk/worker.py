"""Running background workers: `regdesk worker`, and the in-process worker of `regdesk serve`."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid

from django.conf import settings
from django.core.management import call_command


def backend_kind() -> str:
    backend = settings.TASKS["default"]["BACKEND"]
    if backend.endswith("DatabaseBackend"):
        return "database"
    if backend.endswith("RQBackend"):
        return "rq"
    return "immediate"


def start_periodic() -> None:
    """Start (or re-start after a crash) the self-rescheduling periodic tick."""
    from regdesk.escalation.tasks import periodic_start

    periodic_start()


def worker_thread_start() -> threading.Thread | None:
    """A database-backend worker inside this process (the embedded SQLite default)."""
    if backend_kind() != "database":
        return None
    from django_tasks_db.management.commands.db_worker import Worker

    worker = Worker(
        queue_names=["default"],
        interval=1.0,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=f"serve-{uuid.uuid4().hex[:8]}",
    )
    thread = threading.Thread(target=worker.run, name="regdesk-worker", daemon=True)
    thread.start()
    start_periodic()
    return thread


def worker_run(*, processes: int = 1) -> None:
    """Run workers in the foreground until interrupted (several processes when asked)."""
    kind = backend_kind()
    if kind == "immediate":
        raise RuntimeError("REGDESK_TASKS=immediate runs tasks inline: there is nothing to work")
    start_periodic()
    if processes > 1:
        children = [
            subprocess.Popen([sys.executable, "-m", "regdesk.cli", "worker"], env=os.environ.copy())
            for _ in range(processes)
        ]
        try:
            for child in children:
                child.wait()
        except KeyboardInterrupt:
            for child in children:
                child.terminate()
        return
    if kind == "database":
        call_command("db_worker", "--queue-name", "default", "--interval", "1")
    else:
        # django-tasks-rq's job class runs Task objects; SimpleWorker runs jobs in this process
        # (a fork per job re-imports and re-parses everything: about 8x slower here).
        call_command(
            "rqworker",
            "default",
            "--with-scheduler",
            "--job-class",
            "django_tasks_rq.backend.Job",
            "--worker-class",
            "rq.SimpleWorker",
        )
