"""The database cache table (settings.CACHES without Redis) holding the bad-token counters.

``createcachetable`` is idempotent and does nothing for non-database caches, so
running it as a migration keeps `migrate` the only setup step everywhere.
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps: Any, schema_editor: Any) -> None:
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
