"""Full-text search tables: FTS5 on SQLite, a tsvector table with a GIN index on PostgreSQL."""

from django.db import migrations


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE TABLE tickets_search ("
                " ticket_id bigint PRIMARY KEY REFERENCES tickets_ticket(id) ON DELETE CASCADE"
                " DEFERRABLE INITIALLY DEFERRED,"
                " document tsvector NOT NULL)"
            )
            cursor.execute(
                "CREATE INDEX tickets_search_document ON tickets_search USING gin (document)"
            )
        else:
            cursor.execute(
                "CREATE VIRTUAL TABLE tickets_fts USING fts5("
                "document, tokenize = 'unicode61 remove_diacritics 2')"
            )


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TABLE IF EXISTS tickets_search")
        else:
            cursor.execute("DROP TABLE IF EXISTS tickets_fts")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
