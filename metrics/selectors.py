"""Reading the compliance figures (DESIGN.md §5): live from the cases tables, or from the snapshot.

Public API for the pages, the reports and the exports:

- ``compliance_figures(filters=..., group_by=..., now=...)`` — every §5 figure,
  per group, in ONE SQL query whatever the number of rows or groups.
- ``request_items_behind(filters=..., figure=..., group=...)`` — the request
  items behind any figure of any group (drill-down links, CSV exports).
- ``with_empty_groups(figures, groups=...)`` — add the groups that had no rows
  (requested 0, rates None) so that a table lists every platform / week.
- ``platform_group`` / ``week_group`` / ``weeks_between`` — build those groups.
- ``latest_snapshot(...)`` — the nightly precomputed figures (milliseconds).

Definitions, filters and the ``Figures`` row live in ``metrics.figures``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import F, QuerySet
from django.utils import timezone

from cases.models import RequestItem
from core.errors import DomainError
from metrics.figures import (  # noqa: F401 - NO_ACTOR_LABEL, week_label: the pages import them here
    FIGURE_ROWS,
    GROUP_BY_FIELDS,
    NO_ACTOR_LABEL,
    REFUSAL_KEYS,
    Figures,
    MetricFilters,
    empty_figures,
    make_group,
    week_label,
)
from metrics.models import MetricSnapshot, SnapshotScope, SnapshotWindow
from metrics.queries import (
    GROUP_COLUMNS,
    aggregates,
    figure_condition,
    filtered_request_items,
    group_condition,
    week_start,
)
from platforms.models import Platform


def platform_group(platform: Platform) -> dict[str, Any]:
    return make_group("platform", platform.pk, platform.name)


def week_group(monday: date) -> dict[str, Any]:
    return make_group("week", monday)


def weeks_between(start: date, end: date) -> list[date]:
    """Mondays of the ISO weeks that overlap the half-open period [start, end)."""
    monday = start - timedelta(days=start.weekday())
    weeks = []
    while monday < end:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


def _check_group_by(group_by: Sequence[str]) -> tuple[str, ...]:
    unknown = [g for g in group_by if g not in GROUP_BY_FIELDS]
    if unknown:
        raise DomainError(f"Figures cannot be grouped by {', '.join(map(repr, unknown))}.")
    return tuple(dict.fromkeys(group_by))


def compliance_figures(
    *,
    filters: MetricFilters,
    group_by: Sequence[str] = (),
    now: datetime | None = None,
) -> list[Figures]:
    """Every §5 figure for the request items ``filters`` selects, per group. One query.

    ``group_by`` is any of ``GROUP_BY_FIELDS`` (several give one row per combination).
    Ungrouped, the result is always exactly one row (an empty one when nothing
    matches). Grouped, only groups with at least one request item come back —
    use ``with_empty_groups`` to list the others. Rows are ordered by the group's
    labels (platform and actor names, then weeks oldest first).

    ``now`` fixes "as of now" for ``overdue_open`` (and an open clarification pause).
    """
    group_by = _check_group_by(group_by)
    now = now or timezone.now()
    if not group_by:
        totals = filtered_request_items(filters).aggregate(**aggregates(now))
        return [_figures({}, totals)]
    rows = _grouped(filters, group_by, now).order_by(
        *(_order(field_name) for field_name in group_by)
    )
    return [_figures(_group_of(row, group_by), row) for row in rows]


def _grouped(filters: MetricFilters, group_by: Sequence[str], now: datetime) -> QuerySet[Any]:
    """``values(<group keys and labels>).annotate(<every figure>)``: one GROUP BY query."""
    columns: dict[str, Any] = {}
    labels: dict[str, Any] = {}
    for field_name in group_by:
        column, label = GROUP_COLUMNS[field_name]
        columns[f"g_{field_name}"] = week_start() if field_name == "week" else F(column)
        if label:
            labels[f"l_{field_name}"] = F(label)
    return (
        filtered_request_items(filters)
        .annotate(**columns, **labels)
        .values(*columns, *labels)
        .annotate(**aggregates(now))
    )


def _group_of(row: Mapping[str, Any], group_by: Sequence[str]) -> dict[str, Any]:
    group: dict[str, Any] = {}
    for field_name in group_by:
        group.update(make_group(field_name, row[f"g_{field_name}"], row.get(f"l_{field_name}")))
    return group


# Fields that are never NULL in a group key, so that a NULL in a GROUPING SETS result
# can only mean "not grouped by this field" (an item's actor may be NULL: not here).
_SET_FIELDS = frozenset(GROUP_BY_FIELDS) - {"actor"}


def compliance_figures_sets(
    *,
    filters: MetricFilters,
    grouping_sets: Sequence[Sequence[str]],
    now: datetime | None = None,
) -> list[list[Figures]]:
    """Several groupings of the same rows in ONE scan (SQL ``GROUPING SETS``).

    Returns one list per grouping set, each equal to what ``compliance_figures``
    returns for that grouping (same rows, same order; ``()`` gives the one
    ungrouped row — empty if nothing matched). Used by the snapshot, which needs
    per platform-week, per week, per platform and total figures of the same
    million rows: joining and reading them once instead of four times.
    ``actor`` cannot be used here (its NULL would be ambiguous).
    """
    now = now or timezone.now()
    sets = [_check_group_by(grouping) for grouping in grouping_sets]
    fields = [name for name in GROUP_BY_FIELDS if any(name in g for g in sets)]
    if not set(fields) <= _SET_FIELDS:
        raise DomainError("Grouping sets cannot group by actor.")
    if not fields:
        return [compliance_figures(filters=filters, now=now) for _ in sets]
    qs = _grouped(filters, fields, now).order_by()
    compiler = qs.query.get_compiler(using=qs.db)
    sql, params = compiler.as_sql()
    aliases = [alias for _expression, _sql, alias in compiler.select]
    head, group_clause, tail = sql.rpartition(" GROUP BY ")
    if not group_clause or not tail.replace(",", "").replace(" ", "").isdigit():
        raise RuntimeError(f"Unexpected GROUP BY clause: {tail!r}")  # Django changed its SQL

    def positions(grouping: Sequence[str]) -> str:
        wanted = {f"g_{name}" for name in grouping} | {f"l_{name}" for name in grouping}
        return "(" + ", ".join(str(i + 1) for i, a in enumerate(aliases) if a in wanted) + ")"

    # Ordered as compliance_figures orders (names, then values, NULLs last): within one
    # set the fields it does not group by are NULL, so each set comes out in its own order.
    order = ", ".join(
        f"{aliases.index(('l_' if name == 'platform' else 'g_') + name) + 1} ASC NULLS LAST"
        for name in fields
    )
    sets_sql = ", ".join(positions(g) for g in sets)
    sql = f"{head} GROUP BY GROUPING SETS ({sets_sql}) ORDER BY {order}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [dict(zip(aliases, values, strict=True)) for values in cursor.fetchall()]
    by_set: dict[frozenset[str], list[Figures]] = {frozenset(g): [] for g in sets}
    for row in rows:
        if isinstance(row.get("g_week"), datetime):
            row["g_week"] = row["g_week"].date()
        present = frozenset(name for name in fields if row[f"g_{name}"] is not None)
        by_set[present].append(_figures(_group_of(row, [n for n in fields if n in present]), row))
    result = []
    for grouping in sets:
        figures = by_set[frozenset(grouping)]
        if not grouping and not figures:
            figures = [empty_figures()]
        # Same group dict key order as compliance_figures gives for this grouping.
        result.append([replace(f, group=_reordered(f.group, grouping)) for f in figures])
    return result


def _reordered(group: Mapping[str, Any], grouping: Sequence[str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name in grouping:
        result.update(make_group(name, group[name], group.get("platform_name")))
    return result


def _order(field_name: str) -> Any:
    if field_name in ("platform", "actor"):
        return F(f"l_{field_name}").asc(nulls_last=True)
    return F(f"g_{field_name}").asc(nulls_last=True)


def _figures(group: dict[str, Any], row: Mapping[str, Any]) -> Figures:
    def hours(value: Any) -> float | None:
        return None if value is None else float(value)

    return Figures(
        group=group,
        requested=row["requested"] or 0,
        responded=row["responded"] or 0,
        removed=row["removed"] or 0,
        verified_removed=row["verified_removed"] or 0,
        removed_on_time=row["removed_on_time"] or 0,
        overdue_open=row["overdue_open"] or 0,
        median_hours_to_response=hours(row["median_hours_to_response"]),
        median_hours_to_removal=hours(row["median_hours_to_removal"]),
        refusal_breakdown={key: row[f"refusal__{key}"] or 0 for key in REFUSAL_KEYS},
    )


def _group_key(group: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple((name, group[name]) for name in GROUP_BY_FIELDS if name in group)


def with_empty_groups(
    figures: Iterable[Figures], *, groups: Iterable[Mapping[str, Any]]
) -> list[Figures]:
    """``figures`` completed with an empty row for every group in ``groups`` it lacks.

    The result follows the order of ``groups``; figures of groups not listed there
    come after, in their own order. ``groups`` are dicts like those in
    ``Figures.group`` (build them with ``platform_group``, ``week_group``,
    ``make_group``; for two fields, merge the dicts).
    """
    found = {_group_key(f.group): f for f in figures}
    result = []
    for group in groups:
        key = _group_key(group)
        result.append(found.pop(key) if key in found else empty_figures(group))
    result.extend(found.values())
    return result


def request_items_behind(
    *,
    filters: MetricFilters,
    figure: str,
    group: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> QuerySet[RequestItem]:
    """The request items behind ``figure`` of ``group`` (for drill-down and CSV export).

    ``figure`` is a count (``requested``, ``responded``, ``removed``,
    ``verified_removed``, ``removed_on_time``, ``overdue_open``), a rate or median
    (its numerator / the items it is taken over: ``removal_rate`` → removed), or
    ``refusal:<outcome>`` (e.g. ``refusal:unable``). ``group`` is a
    ``Figures.group`` dict (labels are ignored; ``{}`` or None for all).
    Ordered by sending time, request and item; request, platform and item joined.
    """
    if figure not in FIGURE_ROWS:
        raise DomainError(f"Unknown figure {figure!r}.")
    now = now or timezone.now()
    return (
        filtered_request_items(filters)
        .filter(group_condition(dict(group or {})))
        .filter(figure_condition(FIGURE_ROWS[figure], now))
        .select_related("request", "request__platform", "item", "item__actor")
        .order_by("request__sent_at", "request_id", "id")
    )


# --------------------------------------------------------------------------- snapshot


@dataclass(frozen=True)
class Snapshot:
    """Figures read from the latest snapshot, and where they come from.

    ``computed_at`` is None (and ``rows`` empty) when no snapshot was ever made.
    ``source`` says what the figures were computed from (see
    ``metrics.models.MetricSnapshot.source``).
    """

    computed_at: datetime | None
    rows: list[Figures] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)
    snapshot_id: int | None = None


def latest_snapshot(
    *,
    scope: str,
    window: str = "all_time",
    platform_ids: Sequence[int] = (),
    since_week: date | None = None,
) -> Snapshot:
    """Figures from the current snapshot. Two small indexed queries.

    ``scope`` is one of ``metrics.models.SnapshotScope``: ``platform_week``
    (per platform per ISO week), ``week`` (the unit per week), ``platform`` (per
    platform over ``window``) or ``total`` (the unit over ``window``). ``window``
    (``all_time`` or ``last_12_weeks``) applies to the ``platform`` and
    ``total`` scopes only. ``since_week`` keeps weeks from that Monday on.
    Rows carry groups like ``compliance_figures`` builds (``platform`` /
    ``platform_name``, ``week`` / ``week_label``).
    """
    if scope not in SnapshotScope.values:
        raise DomainError(f"Unknown snapshot scope {scope!r}.")
    if window not in SnapshotWindow.values:
        raise DomainError(f"Unknown snapshot window {window!r}.")
    snapshot = MetricSnapshot.objects.filter(is_current=True).first()
    if snapshot is None:
        return Snapshot(computed_at=None)
    rows = snapshot.rows.filter(scope=scope)
    if scope in (SnapshotScope.PLATFORM, SnapshotScope.TOTAL):
        rows = rows.filter(window=window)
    if platform_ids:
        rows = rows.filter(platform_id__in=platform_ids)
    if since_week is not None:
        rows = rows.filter(week__gte=since_week)
    return Snapshot(
        computed_at=snapshot.computed_at,
        rows=[row.as_figures() for row in rows.order_by("platform_name", "week", "id")],
        source=snapshot.source,
        snapshot_id=snapshot.pk,
    )
