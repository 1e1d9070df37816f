"""./desk manage audit_verify: recompute the row-level audit hash chain (core.RowChange).

Exit 0 with "ok: N rows, chain intact", or exit 1 naming the first broken link and why:
a row whose hash is not the hash of its own fields (the row was altered, or rows were
swapped: the id is hashed too), or whose prev_hash is not the hash of the row before it
(a row was deleted or inserted before it). Rows are read in id order in keyset
batches; each batch is checked in SQL with the same tkd_audit_hash() that defines the
chain, and only the batch's summary comes back.

The statement-level trigger (core migration 0006) writes a statement's rows at once,
but each row is still its own link: hash = tkd_audit_hash(prev_hash, its fields), and
prev_hash is the hash of the row before it, whether that row came from the same
statement or an earlier one. Rows written by the row-level trigger of migration 0004
follow the same rule, so one pass checks both.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

_BATCH_SQL = """
WITH batch AS (
    SELECT * FROM core_rowchange WHERE id > %(after)s ORDER BY id LIMIT %(size)s
), checked AS (
    SELECT id, hash,
           prev_hash <> coalesce(lag(hash) OVER (ORDER BY id), %(last_hash)s) AS unlinked,
           hash <> tkd_audit_hash(prev_hash, id, at, table_name, op, row_pk, before, after,
                                  actor_id, actor_label, context) AS altered
    FROM batch
)
SELECT count(*), max(id), min(id) FILTER (WHERE unlinked OR altered),
       (SELECT hash FROM checked ORDER BY id DESC LIMIT 1)
FROM checked
"""

_BROKEN_SQL = """
SELECT b.table_name, b.op, b.at,
       b.hash <> tkd_audit_hash(b.prev_hash, b.id, b.at, b.table_name, b.op, b.row_pk,
                                b.before, b.after, b.actor_id, b.actor_label, b.context),
       (SELECT p.id FROM core_rowchange p WHERE p.id < b.id ORDER BY p.id DESC LIMIT 1)
FROM core_rowchange b WHERE b.id = %s
"""


class Command(BaseCommand):
    help = "Verify the row-level audit hash chain; name the first broken link."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=20_000)

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        after, last_hash, total = 0, "", 0
        with connection.cursor() as cursor:
            while True:
                cursor.execute(
                    _BATCH_SQL, {"after": after, "size": batch_size, "last_hash": last_hash}
                )
                count, max_id, broken_id, batch_last_hash = cursor.fetchone()
                if not count:
                    break
                if broken_id is not None:
                    cursor.execute(_BROKEN_SQL, [broken_id])
                    table, op, at, altered, previous_id = cursor.fetchone()
                    self.stdout.write(
                        f"broken at id={broken_id}, table={table}, op={op}, at={at.isoformat()}: "
                        + _reason(altered=altered, previous_id=previous_id)
                    )
                    raise SystemExit(1)
                total += count
                after, last_hash = max_id, batch_last_hash
        self.stdout.write(f"ok: {total} rows, chain intact")


def _reason(*, altered: bool, previous_id: int | None) -> str:
    if altered:
        return (
            "its hash is not the hash of its own fields "
            "(the row was altered, or moved to another id)"
        )
    before = f"the row before it (id={previous_id})" if previous_id else "the start of the chain"
    return (
        f"its prev_hash is not the hash of {before} "
        "(a row between them was deleted or inserted, or that row was rewritten)"
    )
