"""Shared fixtures. The suite runs on SQLite by default and on PostgreSQL when
REGDESK_TEST_DATABASE_URL is set (pytest-django creates ``test_<name>`` on that server and drops
it afterwards). The environment is mapped in ``regdesk.config.settings_test``, which pytest-django
loads before any conftest.py is imported."""
