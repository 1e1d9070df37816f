"""Items: three redundant indexes dropped, a trigram index for URL search (issue 11).

Dropped (each write to cases_item maintained them; no query reads them):
- ``cases_item_platform_id_441fa0b4`` (platform_id): item_platform_status_idx
  (platform_id, status) starts with the same column.
- ``cases_item_url_normalised_38b52244_like`` (text_pattern_ops): LIKE 'prefix%' only;
  URL search is a substring search (the trigram index below), equality uses the unique key.
- ``cases_item_host_d64a253c_like`` (varchar_pattern_ops): host matching is equality (the
  plain host index stays) or LIKE '%.domain', which a pattern_ops index cannot answer.

The unique constraint and the host index keep their names, so the state change is only
that Django now declares them in Meta (no rebuild of either on a large table).

The trigram index serves ``url_normalised__icontains`` (UPPER(url_normalised) LIKE
UPPER('%…%')). It needs the pg_trgm extension; the embedded PostgreSQL wheel ships
without it, so there the migration skips it and search falls back to a sequential scan
(decision 0022). It is not in the model state for that reason.
"""

from django.db import migrations, models

TRGM_INDEX = "item_url_trgm_idx"


def _trigram_available(schema_editor) -> bool:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        return cursor.fetchone() is not None


def create_trigram_index(apps, schema_editor) -> None:
    if not _trigram_available(schema_editor):
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {TRGM_INDEX} ON cases_item "
        "USING gin (UPPER(url_normalised) gin_trgm_ops)"
    )


def drop_trigram_index(apps, schema_editor) -> None:
    schema_editor.execute(f"DROP INDEX IF EXISTS {TRGM_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0008_correspondence_message_id_not_unique"),
        ("platforms", "0002_tco_notice_permission"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="item",
                    name="host",
                    field=models.CharField(max_length=253),
                ),
                migrations.AlterField(
                    model_name="item",
                    name="url_normalised",
                    field=models.TextField(),
                ),
                migrations.AddIndex(
                    model_name="item",
                    index=models.Index(fields=["host"], name="cases_item_host_d64a253c"),
                ),
                migrations.AddConstraint(
                    model_name="item",
                    constraint=models.UniqueConstraint(
                        fields=("url_normalised",), name="cases_item_url_normalised_key"
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS cases_item_url_normalised_38b52244_like",
                    "CREATE INDEX IF NOT EXISTS cases_item_url_normalised_38b52244_like "
                    "ON cases_item (url_normalised text_pattern_ops)",
                ),
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS cases_item_host_d64a253c_like",
                    "CREATE INDEX IF NOT EXISTS cases_item_host_d64a253c_like "
                    "ON cases_item (host varchar_pattern_ops)",
                ),
            ],
        ),
        migrations.AlterField(
            model_name="item",
            name="platform",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=models.deletion.PROTECT,
                related_name="items",
                to="platforms.platform",
            ),
        ),
        migrations.RunPython(create_trigram_index, drop_trigram_index),
    ]
