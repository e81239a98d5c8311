"""Writes that Django's ORM makes slow, and the round trips of a registration.

``rows_insert`` stores one new row with a statement built once per model and process
(``INSERT … VALUES (%s, …) RETURNING id``); ``save`` and ``bulk_create`` build and compile
theirs on every call, which costs more than PostgreSQL's work (0.19 ms of CPU against 0.12 ms
for a ticket event, measured). An API registration writes four such rows while it holds its
desk's number counter, so this shortens the time other registrations wait there too. Several
rows go in with one array per column, in binary: Django's ``bulk_create`` sends text arrays,
which psycopg escapes element by element (an eighth of an email batch's CPU).

``keys_reserve`` gives new rows their keys from their tables' sequences before they are stored,
all in one statement; a row that has its key is then inserted without ``RETURNING``, so its
statement need not be waited for. ``pipelined`` sends such statements together (psycopg's
pipeline mode): a registration waits for PostgreSQL three times while it holds its desk's
number counter instead of seven, and on a busy machine each wait is a turn on a core.

``rows_update`` stores some fields of many rows in one statement. On PostgreSQL that is
``UPDATE … FROM unnest(…)``, an array per column cast to its type; Django's ``bulk_update``
builds a ``CASE WHEN id = … THEN …`` per column and row instead, which costs more to build than
the writes it replaces (40 % of a batch of emailed replies). Elsewhere (SQLite) it is one
``UPDATE`` per row.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.db import connection, connections
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)


@functools.cache
def _insert_plan(
    model: type[Model], unique: str, keyed: bool, many: bool
) -> tuple[list[Field[Any, Any]], str]:
    """The columns written and the insert statement. ``keyed``: the rows bring their keys
    (reserved) and nothing comes back, unless ``unique`` asks which were stored (a row whose
    value is taken is skipped and returns nothing). ``many``: the values come as one array per
    column, in binary (``unnest(%b::type[], …)``): the statement and its conversion are the same
    for any number of rows, and psycopg writes binary arrays fifteen times faster than text ones
    (which escape each element with a regular expression; 0.4 ms against 6.5 ms of CPU for 50
    rows of text, JSON and bytes, measured)."""
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    fields = [f for f in meta.local_concrete_fields if keyed or f is not meta.auto_field]
    quote = connection.ops.quote_name
    if many:
        values = (
            "SELECT * FROM unnest("
            + ", ".join(f"%b::{f.db_type(connection)}[]" for f in fields)
            + ")"
        )
    else:
        values = f"VALUES ({', '.join('%s' for _field in fields)})"
    returning = [pk.column, *([meta.get_field(unique).column] if unique else [])]
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        + values
        + (" ON CONFLICT DO NOTHING" if unique else "")
        + (f" RETURNING {', '.join(quote(c) for c in returning)}" if unique or not keyed else "")
    )
    return fields, sql


def rows_insert(*, rows: Sequence[M], unique: str = "") -> list[M]:
    """Store new rows of one model and return those stored, in order, their keys set.

    With ``unique`` (a field with a unique constraint), a row whose value is taken already is
    skipped and left out (``ON CONFLICT DO NOTHING``), in the same single statement. Like
    ``bulk_create``, no signal is sent and ``save`` is not called. Rows that have their keys
    (``keys_reserve``) are inserted without ``RETURNING``: in a pipeline nothing waits for them."""
    if not rows:
        return []
    model = type(rows[0])
    if connection.vendor != "postgresql":
        if not unique:
            return list(model._default_manager.bulk_create(rows))
        return _stored(rows, _insert_skipping(model, rows, unique), unique)
    keyed = all(row.pk is not None for row in rows)
    many = len(rows) > 1
    fields, sql = _insert_plan(model, unique, keyed, many)
    database = connections[connection.alias]  # not the proxy: it is asked once per value
    converters = [_converter(field) for field in fields]
    relations = [field for field in fields if field.is_relation]
    columns: list[list[Any]] = [[] for _field in fields]
    for row in rows:
        _relations_take_keys(row, relations)
        for field, convert, values in zip(fields, converters, columns, strict=True):
            value = field.pre_save(row, True)
            converted = _SLOW if convert is None else convert(value)
            values.append(
                field.get_db_prep_save(value, database) if converted is _SLOW else converted
            )
    with connection.cursor() as cursor:
        cursor.execute(sql, columns if many else [values[0] for values in columns])
        returned = cursor.fetchall() if unique or not keyed else [(row.pk,) for row in rows]
    return _stored(rows, returned, unique)


def _stored(rows: Sequence[M], returned: Sequence[Any], unique: str) -> list[M]:
    """The rows the database stored, given what it returned (their keys; with ``unique``,
    (key, value) of the stored ones only), marked saved."""
    if unique:
        ids = {value: pk for pk, value in returned}
        pairs = [(row, ids.pop(getattr(row, unique), None)) for row in rows]
    else:
        pairs = [(row, pk) for row, (pk,) in zip(rows, returned, strict=True)]
    stored = []
    for row, pk in pairs:
        if pk is not None:
            row.pk = pk
            row._state.adding = False
            row._state.db = connection.alias
            stored.append(row)
    return stored


_SLOW = object()
_NATIVE: dict[Any, type] = {}


def _native_types() -> dict[Any, type]:
    """Fields whose value for the database is the Python value itself, when it is of this
    type (Django would only check it): text, whole numbers, booleans and their relations."""
    if not _NATIVE:
        from django.db import models

        _NATIVE.update(
            {
                models.CharField.get_prep_value: str,
                models.TextField.get_prep_value: str,
                models.IntegerField.get_prep_value: int,
                models.BooleanField.get_prep_value: bool,
            }
        )
    return _NATIVE


@functools.cache
def _converter(field: Field[Any, Any]) -> Any:
    """A cheap conversion of ``field``'s values, or None where Django's is needed for all."""
    from django.db.models import ForeignKey
    from django.db.models.fields import AutoFieldMixin

    target: Any = field.target_field if isinstance(field, ForeignKey) else field
    kind = type(target)
    if _aware_as_it_is(kind):

        def aware(value: Any) -> Any:
            if value is None or (type(value) is datetime and value.tzinfo is not None):
                return value
            return _SLOW  # naive, or a string: Django's checks and warnings

        return aware
    # an automatic key's value is only checked (on PostgreSQL: not even that), like an integer
    prep_value = (Field.get_db_prep_value, AutoFieldMixin.get_db_prep_value)
    if (
        kind.get_db_prep_save is not Field.get_db_prep_save
        or kind.get_db_prep_value not in prep_value
    ):
        return None
    native = _native_types().get(kind.get_prep_value)
    if native is None:
        return None

    def convert(value: Any) -> Any:
        return value if value is None or type(value) is native else _SLOW

    return convert


def _aware_as_it_is(kind: type) -> bool:
    """A date-time column whose aware values PostgreSQL's backend passes on unchanged (Django
    converts nothing, and warns only about naive ones)."""
    from django.db.models import DateTimeField

    return (
        issubclass(kind, DateTimeField)
        and kind.get_db_prep_save is Field.get_db_prep_save
        and kind.get_db_prep_value is DateTimeField.get_db_prep_value
        and kind.get_prep_value is DateTimeField.get_prep_value
        and kind.to_python is DateTimeField.to_python
        and connection.ops.adapt_datetimefield_value(_PROBE) is _PROBE
    )


_PROBE = datetime(2000, 1, 1, tzinfo=UTC)


def _relations_take_keys(row: Model, relations: Sequence[Field[Any, Any]]) -> None:
    """What bulk_create does first: a relation assigned before its row was saved gives its key
    (a message built before its ticket was stored); an unsaved one is refused."""
    for field in relations:
        if getattr(row, field.attname) is None and field.is_cached(row):  # type: ignore[attr-defined]
            related = field.get_cached_value(row)  # type: ignore[attr-defined]
            if related is None:
                continue
            if related.pk is None:
                raise ValueError(f"rows_insert() prohibited: {field.name} refers to an unsaved row")
            setattr(row, field.name, related)  # the key, and the row stays remembered


def keys_reserve(*, rows: Sequence[Model]) -> None:
    """Give new rows (of any models) keys from their tables' sequences, in one statement.
    PostgreSQL only; elsewhere the rows get their keys when they are stored."""
    if connection.vendor != "postgresql" or not rows:
        return
    by_model: dict[type[Model], list[Model]] = {}
    for row in rows:
        by_model.setdefault(type(row), []).append(row)
    columns, params = [], []
    for model, items in by_model.items():
        pk = model._meta.pk
        assert pk is not None
        columns.append(
            "ARRAY(SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s))"
        )
        params += [model._meta.db_table, pk.column, len(items)]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)}", params)
        reserved = cursor.fetchone()
    for items, keys in zip(by_model.values(), reserved, strict=True):
        for row, key in zip(items, keys, strict=True):
            row.pk = key


@contextlib.contextmanager
def pipelined() -> Iterator[None]:
    """Send the statements of the block without waiting for each (psycopg's pipeline mode):
    a statement waits only when its result is read, or when the block ends. Errors are
    Django's, as from a statement. Open it inside the transaction (``atomic``), never around
    one: after a failure a pipeline drops what follows, the rollback to a savepoint included,
    so the transaction must be ended once the pipeline is. PostgreSQL only; elsewhere the
    block runs as it is."""
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    with connection.wrap_database_errors, connection.connection.pipeline():
        yield


def _insert_skipping(model: type[Model], rows: Sequence[Model], unique: str) -> list[Any]:
    """SQLite, skipping taken values: Django's ``INSERT … ON CONFLICT DO NOTHING RETURNING id,
    <unique>``, the statement ``save`` uses, for all of them; (key, value) of those stored."""
    from django.db.models.constants import OnConflict

    meta = model._meta
    fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field]
    assert meta.pk is not None
    for row in rows:
        row._prepare_related_fields_for_save(operation_name="rows_insert")
    returned = model._default_manager._insert(  # type: ignore[attr-defined]
        rows, fields=fields, returning_fields=[meta.pk, meta.get_field(unique)],
        on_conflict=OnConflict.IGNORE,
    )  # fmt: skip
    return [r for r in returned if r is not None]


def rows_update(*, rows: Sequence[Model], fields: Sequence[str]) -> None:
    """Store ``fields`` of ``rows`` (saved rows of one model) as they are in memory."""
    if not rows:
        return
    model = type(rows[0])
    meta = model._meta
    if connection.vendor != "postgresql" or len(rows) == 1:
        for row in rows:
            row.save(update_fields=list(fields))
        return
    columns = [meta.get_field(name) for name in fields]
    pk = meta.pk
    assert pk is not None
    types = [pk.db_type(connection), *(column.db_type(connection) for column in columns)]
    names = [pk.column, *(column.column for column in columns)]
    arrays: list[list[Any]] = [[pk.get_db_prep_value(row.pk, connection) for row in rows]]
    arrays += [
        [column.get_db_prep_save(getattr(row, column.attname), connection) for row in rows]
        for column in columns
    ]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(c.column)} = v.{quote(c.column)}" for c in columns)
    with connection.cursor() as cursor:
        # one binary array per column (see rows_insert): the same statement for any number of
        # rows, so psycopg converts it once and PostgreSQL prepares it once
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "
            f"FROM unnest({', '.join(f'%b::{kind}[]' for kind in types)}) "
            f"AS v({', '.join(quote(name) for name in names)}) "
            f"WHERE t.{quote(pk.column)} = v.{quote(pk.column)}",
            arrays,
        )
