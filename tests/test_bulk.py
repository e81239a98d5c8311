"""rows_update: many rows' fields in one statement, as they are in memory."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from regdesk.bulk import rows_update
from regdesk.channels.models import Inbound

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")


def test_rows_update_stores_each_rows_own_values_and_nothing_else() -> None:
    # Given three stored rows
    rows = [
        Inbound.objects.create(
            channel="email", key=f"k{n}", raw=b"raw", source="t", received_at=datetime.now(UTC)
        )
        for n in range(3)
    ]
    # When two are changed in memory (text, JSON, a null and a zone-aware instant) and stored
    rows[0].result = "WIA-000001"
    rows[0].warnings = ["first", {"nested": 1}]
    rows[0].processed_at = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
    rows[1].result = "consultation"
    rows[1].warnings = []
    rows[1].processed_at = None
    rows[1].source = "not stored: not among the fields"
    with CaptureQueriesContext(connection) as queries:
        rows_update(rows=rows[:2], fields=["result", "warnings", "processed_at"])
    # Then each row has its own values, the third is untouched, in one statement on PostgreSQL
    stored = {row.key: row for row in Inbound.objects.all()}
    assert stored["k0"].result == "WIA-000001"
    assert stored["k0"].warnings == ["first", {"nested": 1}]
    assert stored["k0"].processed_at == datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
    assert stored["k1"].result == "consultation"
    assert stored["k1"].warnings == []
    assert stored["k1"].processed_at is None
    assert stored["k1"].source == "t"
    assert stored["k2"].result == ""
    if connection.vendor == "postgresql":
        assert len(queries) == 1
