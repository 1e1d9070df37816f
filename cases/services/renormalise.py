"""Bring existing items up to today's canonical URLs (``./desk manage renormalise_items``).

When the per-site rules (``platforms.canonical``) learn a new spelling, items referred before
keep the old key: m.youtube.com/watch?v=X and youtu.be/X stay two items. This recomputes
``url_normalised`` and ``host`` of every item from its stored key, in batches, one UPDATE per
batch. Two items that would share a key are the same content referred twice: they are
reported (ids, both URLs) for a person to decide, and neither is changed: merging would
rewrite requests, outcomes and evidence, which no script should do unseen.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from cases.models import Item
from core.models import AuditEvent
from platforms.canonical import canonical_url
from platforms.urlnorm import UrlRefused

BATCH_SIZE = 1000


@dataclass(frozen=True)
class Change:
    item_id: int
    old_url: str
    new_url: str
    old_host: str
    new_host: str


@dataclass(frozen=True)
class Clash:
    """Items that would all become ``canonical``: left as they are, for a person to merge."""

    canonical: str
    items: list[tuple[int, str]]  # (id, current url_normalised), by id


@dataclass
class RenormaliseReport:
    checked: int = 0
    changed: list[Change] = field(default_factory=list)
    clashes: list[Clash] = field(default_factory=list)
    unreadable: list[tuple[int, str, str]] = field(default_factory=list)  # id, url, reason


def _batches(batch_size: int) -> Iterator[list[tuple[int, str, str]]]:
    """Every item's (id, url_normalised, host), by id, a keyset page at a time."""
    last = 0
    while True:
        rows = list(
            Item.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "url_normalised", "host")[:batch_size]
        )
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def items_renormalise(
    *, dry_run: bool = False, batch_size: int = BATCH_SIZE, actor: Any = None
) -> RenormaliseReport:
    """Recompute every item's canonical URL and host; what changed (or would), what clashed."""
    report = RenormaliseReport()
    wanted: list[Change] = []
    for rows in _batches(batch_size):
        report.checked += len(rows)
        for pk, url, host in rows:
            try:
                parsed = canonical_url(url)
            except UrlRefused as exc:
                report.unreadable.append((pk, url, exc.message))
                continue
            if (parsed.normalised, parsed.host) != (url, host):
                wanted.append(Change(pk, url, parsed.normalised, host, parsed.host))

    # Who already holds, or would take, each new key. A key held by an item that is itself
    # moving away is still reported: conservative, and a second run settles it.
    by_key: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for change in wanted:
        if change.new_url != change.old_url:
            by_key[change.new_url].append((change.item_id, change.old_url))
    for keys in _chunks(list(by_key), batch_size):
        for pk, url in Item.objects.filter(url_normalised__in=keys).values_list(
            "pk", "url_normalised"
        ):
            by_key[url].append((pk, url))
    clashing: set[int] = set()
    for key, holders in by_key.items():
        if len(holders) > 1:
            report.clashes.append(Clash(canonical=key, items=sorted(holders)))
            clashing.update(pk for pk, _url in holders)
    report.changed = [c for c in wanted if c.item_id not in clashing]
    if not dry_run:
        for chunk in _chunks(report.changed, batch_size):
            _apply(chunk, actor=actor)
    return report


def _apply(changes: list[Change], *, actor: Any) -> None:
    """One UPDATE for a batch; a row changed meanwhile (its old key is gone) is left alone."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Item._meta.db_table} AS i"  # noqa: S608 (table name)
            " SET url_normalised = v.new_url, host = v.new_host"
            " FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[])"
            " AS v(id, old_url, new_url, new_host)"
            " WHERE i.id = v.id AND i.url_normalised = v.old_url RETURNING i.id",
            [
                [c.item_id for c in changes],
                [c.old_url for c in changes],
                [c.new_url for c in changes],
                [c.new_host for c in changes],
            ],
        )
        done = {row[0] for row in cursor.fetchall()}
        user = actor if getattr(actor, "is_authenticated", False) else None
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    actor=user,
                    actor_label="" if user else "renormalise_items",
                    action="item.renormalised",
                    target_type=Item._meta.label_lower,
                    target_id=str(c.item_id),
                    old={"url_normalised": c.old_url, "host": c.old_host},
                    new={"url_normalised": c.new_url, "host": c.new_host},
                )
                for c in changes
                if c.item_id in done
            ]
        )
