"""The database triggers that write the outbox, in the transaction of each change.

A trigger sees every write to a published model's table, whatever made it:
``save()`` and ``delete()``, ``QuerySet.update()`` and ``delete()``,
``bulk_create()``, ``bulk_update()``, a cascade's ``SET_NULL``, raw SQL, another
process. Signals see only the first two. Because the trigger's insert is part of
the writing transaction, a change rolled back leaves no event.

- PostgreSQL: one function, ``federated_fk_record_change``, shared by every
  published table; it compares ``to_jsonb(OLD)`` with ``to_jsonb(NEW)``, so
  adding or altering columns needs no new trigger. It records the writing
  transaction's id (``pg_current_xact_id()``), which the feed orders by.
- SQLite: three triggers per table, which list the table's columns. Django
  rebuilds a SQLite table to alter it, dropping its triggers; ``migrate``
  installs them again after every run (``sync_triggers`` on ``post_migrate``).

Not recorded: ``TRUNCATE``, and updates that change nothing (no event is
needed: the published object is the same).
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import connections, models, router

from federated_fk import conf
from federated_fk.changes.models import ChangeEvent

__all__ = ["installed_tables", "sync_triggers"]

#: The name of the PostgreSQL trigger on each published table, and the prefix
#: of the SQLite ones.
TRIGGER = "federated_fk_changes"
FUNCTION = "federated_fk_record_change"

_POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed text := '';
    row_id text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        row_id := to_jsonb(OLD) ->> TG_ARGV[1];
    ELSE
        row_id := to_jsonb(NEW) ->> TG_ARGV[1];
    END IF;
    IF TG_OP = 'UPDATE' THEN
        SELECT coalesce(string_agg(n.key, ',' ORDER BY n.key), '') INTO changed
        FROM jsonb_each(to_jsonb(NEW)) AS n
        WHERE n.value IS DISTINCT FROM to_jsonb(OLD) -> n.key;
        IF changed = '' THEN
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO {table} (model, object_id, kind, columns, transaction)
    VALUES (
        TG_ARGV[0],
        row_id,
        CASE TG_OP WHEN 'INSERT' THEN 'created' WHEN 'UPDATE' THEN 'updated' ELSE 'deleted' END,
        changed,
        pg_current_xact_id()::text::bigint
    );
    RETURN NULL;
END
$$
"""


def published_models() -> list[type[models.Model]]:
    """Return the models of ``FEDERATION["CHANGES"]["MODELS"]`` (unknown labels left out)."""
    found = []
    for label in conf.published_change_models():
        try:
            found.append(apps.get_model(label))
        except (LookupError, ValueError):
            continue  # reported by the check federated_fk.E701
    return found


def sync_triggers(using: str = "default", **kwargs: Any) -> list[str]:
    """Install the outbox triggers on the published models' tables, and remove stale ones.

    Idempotent; connected to ``post_migrate``, so every ``migrate`` leaves the
    triggers matching the settings and the tables. Return the tables that
    have triggers now.

    :param using: the database alias
    """
    connection = connections[using]
    if connection.vendor not in ("postgresql", "sqlite"):
        return []  # the check federated_fk.E702 says the feed needs one of them
    tables = set(connection.introspection.table_names())
    if ChangeEvent._meta.db_table not in tables:
        return []  # federated_fk not migrated on this database
    wanted = {
        model._meta.db_table: model
        for model in published_models()
        if model._meta.db_table in tables and router.allow_migrate_model(using, model)
    }
    with connection.cursor() as cursor:
        for table in installed_tables(using):
            if table not in wanted:
                _drop(cursor, connection.vendor, table)
        if connection.vendor == "postgresql" and wanted:
            quoted = connection.ops.quote_name(ChangeEvent._meta.db_table)
            cursor.execute(_POSTGRES_FUNCTION.format(function=FUNCTION, table=quoted))
        for table, model in wanted.items():
            _drop(cursor, connection.vendor, table)
            for statement in _create(connection, model):
                cursor.execute(statement)
    return sorted(wanted)


def installed_tables(using: str = "default") -> list[str]:
    """Return the tables that have outbox triggers in database ``using``."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname = %s AND c.relnamespace = to_regnamespace(current_schema())",
                [TRIGGER],
            )
        elif connection.vendor == "sqlite":
            cursor.execute(
                "SELECT DISTINCT tbl_name FROM sqlite_master WHERE type = 'trigger' "
                "AND name LIKE %s ESCAPE '\\'",
                [TRIGGER.replace("_", "\\_") + "\\_%"],
            )
        else:
            return []
        return sorted(row[0] for row in cursor.fetchall())


def _drop(cursor: Any, vendor: str, table: str) -> None:
    quote = cursor.db.ops.quote_name
    if vendor == "postgresql":
        cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {quote(table)}")
        return
    for operation in ("insert", "update", "delete"):
        cursor.execute(f"DROP TRIGGER IF EXISTS {quote(_sqlite_name(table, operation))}")


def _sqlite_name(table: str, operation: str) -> str:
    return f"{TRIGGER}_{operation}_{table}"


def _create(connection: Any, model: type[models.Model]) -> list[str]:
    """Return the statements that create the triggers of ``model``'s table."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    label = model._meta.label_lower
    pk = model._meta.pk.column
    if connection.vendor == "postgresql":
        return [
            f"CREATE TRIGGER {TRIGGER} AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}({_literal(label)}, {_literal(pk)})"
        ]
    outbox = quote(ChangeEvent._meta.db_table)
    insert = f"INSERT INTO {outbox} (model, object_id, kind, columns) VALUES ({_literal(label)}, "
    columns = [field.column for field in model._meta.local_concrete_fields]
    differs = {column: f"OLD.{quote(column)} IS NOT NEW.{quote(column)}" for column in columns}
    listed = " || ".join(
        f"CASE WHEN {test} THEN {_literal(column + ',')} ELSE '' END"
        for column, test in differs.items()
    )
    body = {
        "insert": f"{insert}CAST(NEW.{quote(pk)} AS TEXT), 'created', '');",
        "update": f"{insert}CAST(NEW.{quote(pk)} AS TEXT), 'updated', rtrim({listed}, ','));",
        "delete": f"{insert}CAST(OLD.{quote(pk)} AS TEXT), 'deleted', '');",
    }
    when = {"update": f" WHEN {' OR '.join(differs.values())}"}
    return [
        f"CREATE TRIGGER {quote(_sqlite_name(model._meta.db_table, operation))} "
        f"AFTER {operation.upper()} ON {table} FOR EACH ROW{when.get(operation, '')} "
        f"BEGIN {statement} END"
        for operation, statement in body.items()
    ]


def _literal(text: str) -> str:
    """Quote ``text`` as an SQL string literal (labels and column names, not input)."""
    return "'" + text.replace("'", "''") + "'"
