"""Settings for the test suite (pyproject: DJANGO_SETTINGS_MODULE for pytest).

The suite runs on SQLite by default and on PostgreSQL when REGDESK_TEST_DATABASE_URL is set;
pytest-django then creates ``test_<name>`` on that server and drops it at the end. The mapping
lives here, not in tests/conftest.py, because pytest-django loads the settings before any
conftest.py is imported, so environment changes made there come too late.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("REGDESK_DATA", tempfile.mkdtemp(prefix="regdesk-test-"))
if os.environ.get("REGDESK_TEST_DATABASE_URL"):
    os.environ["DATABASE_URL"] = os.environ["REGDESK_TEST_DATABASE_URL"]
else:
    # Never let a developer's DATABASE_URL decide where the tests write.
    os.environ.pop("DATABASE_URL", None)

from regdesk.config.settings import *  # noqa: F403

# Hashing demo and factory passwords with PBKDF2 would dominate the suite's run time.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# whitenoise warns about a missing static root; the suite reads the apps' files (finders).
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
