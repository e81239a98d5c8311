"""The real SMTP server fixture of the background tests serves the mail-out tests too; the
environment of a `regdesk` command the intake tests run (and kill) beside them."""

import os

from tests.background.conftest import smtp_server

__all__ = ["smtp_server"]


def cli_env() -> dict[str, str]:
    """The environment of a `regdesk` command run beside the test: the test's PostgreSQL
    database (so the test sees what it commits), tasks run inline, the plain settings."""
    from django.db import connection

    db = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REGDESK_TEST_DATABASE_URL": "",
        "REGDESK_TASKS": "immediate",
        "DJANGO_SETTINGS_MODULE": "regdesk.config.settings",
    }
