"""Requests: a trigram index for the request list's search by any part of the reference
(issue 11, P1: "TKD-2025-0001" or "000123" scanned all 100k requests, 61 ms).

As for items (0009, decision 0022): created only where pg_trgm is available (the embedded
PostgreSQL wheel lacks it: there the search scans), and not in the model state for that
reason.
"""

from django.db import migrations

TRGM_INDEX = "request_reference_trgm_idx"


def create_trigram_index(apps, schema_editor) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if cursor.fetchone() is None:
            return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {TRGM_INDEX} ON cases_removalrequest "
        "USING gin (UPPER(reference) gin_trgm_ops)"
    )


def drop_trigram_index(apps, schema_editor) -> None:
    schema_editor.execute(f"DROP INDEX IF EXISTS {TRGM_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("cases", "0012_request_lines_by_id")]

    operations = [migrations.RunPython(create_trigram_index, drop_trigram_index)]
