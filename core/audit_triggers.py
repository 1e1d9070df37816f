"""Attach the row-level audit triggers to every domain table (core.RowChange).

Run from core's post_migrate receiver, so a table added by any later migration is
covered at the next ``migrate`` without a migration of its own in core. ``CREATE OR
REPLACE TRIGGER`` makes it idempotent (it runs after every migrate and test flush).
"""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections


def audited_tables() -> dict[str, str]:
    """Table name -> primary key column, for every concrete table of AUDITED_APPS.

    Auto-created many-to-many through tables (auth_user_groups, ...) are included:
    group membership is a change that matters.
    """
    excluded = set(settings.AUDIT_EXCLUDED_TABLES)
    tables: dict[str, str] = {}
    for label in settings.AUDITED_APPS:
        try:
            app_config = apps.get_app_config(label)
        except LookupError:
            continue  # e.g. otp_totp where it is not installed
        for model in app_config.get_models(include_auto_created=True):
            meta = model._meta
            if meta.proxy or not meta.managed or meta.db_table in excluded:
                continue
            tables[meta.db_table] = meta.pk.column
    return tables


# One trigger per event: PostgreSQL allows transition tables only on single-event
# triggers. Each writes a statement's rows at once (core migration 0006).
_STATEMENT_TRIGGERS = (
    ("tkd_audit_insert", "INSERT", "NEW TABLE AS tkd_new"),
    ("tkd_audit_update", "UPDATE", "OLD TABLE AS tkd_old NEW TABLE AS tkd_new"),
    ("tkd_audit_delete", "DELETE", "OLD TABLE AS tkd_old"),
)


def attach_audit_triggers(*, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Create the tkd_audit triggers on each audited table that exists; return their names.

    The statement-level triggers of migration 0006 replace the row-level ``tkd_audit``
    of migration 0004 (dropped here too, so a table never has both); migrated back
    below 0006, the row-level trigger is attached again.
    """
    connection = connections[using]
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        cursor.execute(
            "SELECT to_regproc('tkd_audit_capture_statement') IS NOT NULL,"
            " to_regproc('tkd_audit_capture') IS NOT NULL"
        )
        statement_level, row_level = cursor.fetchone()
        if not (statement_level or row_level):
            return []  # core's migration 0004 has not run (migrating backwards)
        attached = []
        quote = connection.ops.quote_name
        for table, pk_column in sorted(audited_tables().items()):
            if table not in existing:
                continue
            pk_literal = "'" + pk_column.replace("'", "''") + "'"
            if statement_level:
                for name, event, referencing in _STATEMENT_TRIGGERS:
                    cursor.execute(
                        f"CREATE OR REPLACE TRIGGER {name} AFTER {event} ON {quote(table)} "
                        f"REFERENCING {referencing} FOR EACH STATEMENT "
                        f"EXECUTE FUNCTION tkd_audit_capture_statement({pk_literal})"
                    )
                cursor.execute(f"DROP TRIGGER IF EXISTS tkd_audit ON {quote(table)}")
            else:
                cursor.execute(
                    f"CREATE OR REPLACE TRIGGER tkd_audit AFTER INSERT OR UPDATE OR DELETE "
                    f"ON {quote(table)} FOR EACH ROW "
                    f"EXECUTE FUNCTION tkd_audit_capture({pk_literal})"
                )
            attached.append(table)
    return attached


def attach_after_migrate(sender: AppConfig, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    # post_migrate comes after every migration has run, so every table exists;
    # once per migrate is enough (core's own signal).
    if sender.label != "core":
        return
    attach_audit_triggers(using=using)
