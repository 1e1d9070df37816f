"""Read back every held evidence file and check it still has the SHA-256 recorded for it."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from evidence.services import evidence_hashes_check


class Command(BaseCommand):
    help = (
        "Hash every held (not purged) evidence file again and compare it with its record. "
        "Lists each file that is altered, missing or could not be read; exits with an "
        "error unless every file checked out."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts: Counter[str] = Counter()
        for check in evidence_hashes_check():
            counts[check.status] += 1
            if check.status == "ok":
                continue
            where = f"evidence {check.evidence_id} (item {check.item_id}) {check.name}"
            if check.status == "mismatch":
                self.stdout.write(
                    f"ALTERED  {where}: recorded {check.expected}, the file hashes to {check.found}"
                )
            elif check.status == "missing":
                self.stdout.write(f"MISSING  {where}: no such file in storage")
            else:
                self.stdout.write(f"UNKNOWN  {where}: could not be read ({check.error})")
        total = sum(counts.values())
        summary = (
            f"{total:,} evidence files checked: {counts['ok']:,} intact, "
            f"{counts['mismatch']:,} altered, {counts['missing']:,} missing, "
            f"{counts['unknown']:,} unknown (could not be read)."
        )
        self.stdout.write(summary)
        if total != counts["ok"]:
            raise CommandError("Not every evidence file is intact (see above).")
