"""Shared fixtures. The suite runs on SQLite by default and on PostgreSQL when
REGDESK_TEST_DATABASE_URL is set (the test database is created next to it)."""

from __future__ import annotations

import os
import tempfile

# Settings read the environment at import: point them at a throwaway data directory and,
# when asked, at PostgreSQL, before Django configures itself.
os.environ.setdefault("REGDESK_DATA", tempfile.mkdtemp(prefix="regdesk-test-"))
if os.environ.get("REGDESK_TEST_DATABASE_URL"):
    os.environ["DATABASE_URL"] = os.environ["REGDESK_TEST_DATABASE_URL"]
