"""The SQL pieces behind the §5 figures: the filtered rows, the group columns, the aggregates.

Every figure is an aggregate over ``cases.RequestItem`` rows joined to their
request, platform and item; one ``GROUP BY`` query computes them all
(``COUNT(*) FILTER (WHERE …)`` and ``percentile_cont(0.5) WITHIN GROUP``), so
the cost does not depend on how many groups there are, and no row ever comes
back to Python.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import (
    Aggregate,
    Count,
    DateField,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Coalesce, TruncWeek

from cases.models import (
    REMOVAL_OUTCOMES,
    UNANSWERED_OUTCOMES,
    Outcome,
    RequestItem,
    VerificationStatus,
)
from core.errors import DomainError
from metrics.figures import REFUSAL_KEYS, MetricFilters, local_midnight


class PercentileCont(Aggregate):
    """``percentile_cont(p) WITHIN GROUP (ORDER BY expr)``: PostgreSQL's interpolated percentile.

    ``percentile_cont(0.5)`` is the median as ``statistics.median`` computes it (the
    mean of the two middle values for an even count); NULLs are ignored and a group
    with no values gives NULL. ``filter=Q(...)`` becomes a ``FILTER (WHERE …)`` clause.
    """

    function = "percentile_cont"
    name = "PercentileCont"
    template = "%(function)s(%(percentile)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, *, percentile: float, **extra: Any) -> None:
        if not 0 <= float(percentile) <= 1:
            raise ValueError("A percentile is between 0 and 1.")
        # A float literal in the SQL: it is validated above, never user text.
        super().__init__(expression, percentile=repr(float(percentile)), **extra)


class HoursBetween(Func):
    """``later - earlier`` in hours, as double precision."""

    # date_part() is double precision; EXTRACT() is numeric since PostgreSQL 14, and
    # numeric arithmetic made the two medians ~2 s slower at a million rows.
    template = "(date_part('epoch', %(expressions)s) / 3600.0)"
    arg_joiner = " - "
    output_field = FloatField()

    def __init__(self, later: Any, earlier: Any) -> None:
        super().__init__(later, earlier)


def unit_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


# ----------------------------------------------------------------------------- rows


def filtered_request_items(filters: MetricFilters) -> QuerySet[RequestItem]:
    """The request items §5 counts: those of requests *sent* in the period, filtered."""
    qs = RequestItem.objects.filter(request__sent_at__isnull=False)
    if filters.start_at is not None:
        qs = qs.filter(request__sent_at__gte=filters.start_at)
    if filters.end_at is not None:
        qs = qs.filter(request__sent_at__lt=filters.end_at)
    if filters.platform_ids:
        qs = qs.filter(request__platform_id__in=filters.platform_ids)
    if filters.tiers:
        qs = qs.filter(request__platform__tier__in=filters.tiers)
    if filters.kinds:
        qs = qs.filter(request__platform__kind__in=filters.kinds)
    if filters.architectures:
        qs = qs.filter(request__platform__architecture__in=filters.architectures)
    if filters.countries:
        qs = qs.filter(request__platform__country__in=filters.countries)
    if filters.legal_bases:
        qs = qs.filter(request__legal_basis__in=filters.legal_bases)
    if filters.request_types:
        qs = qs.filter(request__request_type__in=filters.request_types)
    if filters.actor_ids:
        ids = [i for i in filters.actor_ids if i is not None]
        condition = Q(item__actor_id__in=ids)
        if None in filters.actor_ids:
            condition |= Q(item__actor_id__isnull=True)
        qs = qs.filter(condition)
    return qs


# ------------------------------------------------------------------------ conditions


def effective_deadline(now: datetime) -> ExpressionWrapper:
    """The request's deadline as of ``now``.

    ``deadline`` already includes every finished clarification pause (the services
    push it back when the clock resumes). While a pause is still open, the clock
    does not run, so the pause so far (``now - clock_paused_at``) is added too.
    """
    open_pause = Coalesce(
        Value(now, output_field=DateTimeField()) - F("request__clock_paused_at"),
        Value(timedelta(0), output_field=DurationField()),
        output_field=DurationField(),
    )
    return ExpressionWrapper(F("request__deadline") + open_pause, output_field=DateTimeField())


RESPONDED = ~Q(outcome__in=UNANSWERED_OUTCOMES)
REMOVED = Q(outcome__in=REMOVAL_OUTCOMES)
VERIFIED_REMOVED = Q(item__verification=VerificationStatus.GONE)


def removed_on_time(now: datetime) -> Q:
    """Removed, and the removal answer was first recorded at or before the deadline."""
    return REMOVED & Q(first_removal_at__lte=effective_deadline(now))


def overdue_open(now: datetime) -> Q:
    """Still pending and past the deadline as of ``now`` (a paused clock does not run)."""
    running = Q(request__clock_paused_at__isnull=True, request__deadline__lt=now)
    # Paused: overdue only if the deadline had passed before the pause began.
    paused = Q(
        request__clock_paused_at__isnull=False,
        request__deadline__lt=F("request__clock_paused_at"),
    )
    return Q(outcome=Outcome.PENDING) & Q(request__deadline__isnull=False) & (running | paused)


def figure_condition(figure: str, now: datetime) -> Q:
    """The rows a count figure counts (``requested`` → all rows)."""
    conditions = {
        "requested": Q(),
        "responded": RESPONDED,
        "removed": REMOVED,
        "verified_removed": VERIFIED_REMOVED,
        "removed_on_time": removed_on_time(now),
        "overdue_open": overdue_open(now),
        **{f"refusal:{key}": Q(outcome=key) for key in REFUSAL_KEYS},
    }
    if figure not in conditions:
        raise DomainError(f"Unknown figure {figure!r}.")
    return conditions[figure]


def aggregates(now: datetime) -> dict[str, Aggregate]:
    """Every §5 figure as one aggregate each; computed together in one query."""
    result: dict[str, Aggregate] = {
        "requested": Count("id"),
        "responded": Count("id", filter=RESPONDED),
        "removed": Count("id", filter=REMOVED),
        "verified_removed": Count("id", filter=VERIFIED_REMOVED),
        "removed_on_time": Count("id", filter=removed_on_time(now)),
        "overdue_open": Count("id", filter=overdue_open(now)),
        "median_hours_to_response": PercentileCont(
            HoursBetween(F("first_response_at"), F("request__sent_at")),
            percentile=0.5,
            filter=RESPONDED,
        ),
        "median_hours_to_removal": PercentileCont(
            HoursBetween(F("first_removal_at"), F("request__sent_at")),
            percentile=0.5,
            filter=REMOVED,
        ),
    }
    for key in REFUSAL_KEYS:
        result[f"refusal__{key}"] = Count("id", filter=Q(outcome=key))
    return result


# ---------------------------------------------------------------------------- groups

# field -> (key column, label column or None). Platform attributes are the request's
# platform's; the actor is the item's.
GROUP_COLUMNS: dict[str, tuple[str, str | None]] = {
    "platform": ("request__platform_id", "request__platform__name"),
    "tier": ("request__platform__tier", None),
    "kind": ("request__platform__kind", None),
    "architecture": ("request__platform__architecture", None),
    "country": ("request__platform__country", None),
    "legal_basis": ("request__legal_basis", None),
    "request_type": ("request__request_type", None),
    "actor": ("item__actor_id", "item__actor__name"),
    "week": ("", None),  # an annotation, see week_start()
}


def week_start() -> TruncWeek:
    """Monday of the ISO week the request was sent in, in the unit's time zone."""
    return TruncWeek("request__sent_at", tzinfo=unit_zone(), output_field=DateField())


def week_condition(monday: date) -> Q:
    """Requests sent in the ISO week starting ``monday`` (local midnight to midnight)."""
    return Q(
        request__sent_at__gte=local_midnight(monday),
        request__sent_at__lt=local_midnight(monday + timedelta(days=7)),
    )


def group_condition(group: dict[str, Any]) -> Q:
    """The rows of one group, from a ``Figures.group`` dict (label keys are ignored)."""
    condition = Q()
    for field_name, (column, _label) in GROUP_COLUMNS.items():
        if field_name not in group:
            continue
        value = group[field_name]
        if field_name == "week":
            if not isinstance(value, date):
                raise DomainError("A week is given by its Monday (a date).")
            condition &= week_condition(value)
        elif value is None:
            condition &= Q(**{f"{column}__isnull": True})
        else:
            condition &= Q(**{column: value})
    return condition
