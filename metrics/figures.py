"""The compliance figures of DESIGN.md §5: their definitions, the filters and the result rows.

This module holds no queries: it is the vocabulary that the selector
(``metrics.selectors``), the snapshot (``metrics.models``) and the pages share.

- ``MetricFilters`` — which request items a figure counts (period, platform, …).
- ``GROUP_BY_FIELDS`` — what figures can be broken down by.
- ``Figures`` — one row of figures for one group; rates are ``None`` for an
  empty group (shown as "—", never 0).
- ``FIGURE_DEFINITIONS`` — the definitions in DESIGN §5's own words, for the
  methodology section of the transparency report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.dateparse import parse_date
from django_countries import countries

from cases.models import REFUSAL_OUTCOMES, LegalBasis, Outcome, RequestType
from core.errors import DomainError
from platforms.models import PlatformArchitecture, PlatformKind, PlatformTier

# What figures can be grouped by, in the order the pages offer them. "week" is the
# ISO week (Monday) of the request's sending, in the unit's time zone.
GROUP_BY_FIELDS: tuple[str, ...] = (
    "platform",
    "tier",
    "kind",
    "architecture",
    "country",
    "legal_basis",
    "request_type",
    "actor",
    "week",
)

# Shown for a rate whose group is empty (DESIGN §5: "—", never 0, never an error).
EMPTY_RATE = "—"

# The refusal-type outcomes in the order the breakdown lists them.
REFUSAL_KEYS: tuple[str, ...] = tuple(o.value for o in REFUSAL_OUTCOMES)

# (key, label, definition) in DESIGN §5's words, in the order of §5. The keys are
# the attribute names on ``Figures`` and the ``figure`` argument of
# ``metrics.selectors.request_items_behind``.
FIGURE_DEFINITIONS: tuple[tuple[str, str, str], ...] = (
    ("requested", "Requested", "number of request items sent."),
    (
        "responded",
        "Responded",
        "items whose latest outcome is anything but `pending` and `no_response` "
        "(an answer relayed by an officer counts).",
    ),
    ("response_rate", "Response rate", "responded / requested."),
    (
        "removed",
        "Removed",
        "items whose latest outcome is `removed`, `access_disabled` or `already_gone`.",
    ),
    ("removal_rate", "Removal rate", "removed / requested."),
    (
        "verified_removal_rate",
        "Verified removal rate",
        "items whose latest verification is `gone` / requested.",
    ),
    (
        "median_hours_to_response",
        "Median hours to response",
        "median over responded items of (time of the first answer − time sent).",  # noqa: RUF001
    ),
    (
        "median_hours_to_removal",
        "Median hours to removal",
        # §5's own words, with its minus sign.
        "median over removed items of (time the removal answer was first recorded − time sent).",  # noqa: RUF001
    ),
    (
        "on_time_rate",
        "On-time rate",
        "removed items whose removal answer was recorded at or before the request's "
        "deadline (extended by any clarification pause) / requested.",
    ),
    (
        "overdue_open",
        "Overdue and open",
        "items past their deadline whose latest outcome is still `pending` (as of now).",
    ),
    (
        "refusal_breakdown",
        "Refusals by type",
        "count per refusal-type outcome (`refused_*`, `unable`, `needs_info`, "
        "`forwarded`, `restricted`).",
    ),
)

# The scope sentence that precedes the definitions in §5, for the methodology text.
FIGURE_SCOPE = (
    "Computed per platform, tier, kind, country, legal basis, request type, actor and "
    "ISO week, over request items whose request was sent in the period (half-open "
    "[start, end), dates and ISO weeks in the unit's time zone). An item's outcome is "
    "its latest one (amendments replace earlier answers for counting; the history is "
    "kept). Counting is per item, never per request."
)

# Count figures that ``request_items_behind`` can list rows for, and the rows behind
# each rate or median (its numerator / the items it is taken over).
COUNT_FIGURES: tuple[str, ...] = (
    "requested",
    "responded",
    "removed",
    "verified_removed",
    "removed_on_time",
    "overdue_open",
)
FIGURE_ROWS: dict[str, str] = {
    **{key: key for key in COUNT_FIGURES},
    "response_rate": "responded",
    "removal_rate": "removed",
    "verified_removal_rate": "verified_removed",
    "on_time_rate": "removed_on_time",
    "median_hours_to_response": "responded",
    "median_hours_to_removal": "removed",
    # "refusal:<outcome>" lists the items with that refusal-type outcome.
    **{f"refusal:{key}": f"refusal:{key}" for key in REFUSAL_KEYS},
}


def _rate(numerator: int, requested: int) -> float | None:
    return numerator / requested if requested else None


@dataclass(frozen=True)
class Figures:
    """The §5 figures of one group.

    ``group`` holds the group's keys and their display labels, e.g.
    ``{"platform": 3, "platform_name": "PasteBay", "week": date(2026, 11, 16)}``;
    it is ``{}`` for ungrouped figures. Key and label names per grouping field:

    ============  ===========================  =====================================
    field         key (the filter value)       label
    ============  ===========================  =====================================
    platform      ``platform`` (id)            ``platform_name``
    tier          ``tier``                     ``tier_label``
    kind          ``kind``                     ``kind_label``
    architecture  ``architecture``             ``architecture_label``
    country       ``country`` (ISO code, "")   ``country_label``
    legal_basis   ``legal_basis``              ``legal_basis_label``
    request_type  ``request_type``             ``request_type_label``
    actor         ``actor`` (id or None)       ``actor_name`` ("No actor" for None)
    week          ``week`` (Monday, a date)    ``week_label`` ("2026-W47")
    ============  ===========================  =====================================

    Rates and medians are ``None`` when there is nothing to divide by or take the
    median of; templates render ``None`` as "—" (``EMPTY_RATE``).
    """

    group: dict[str, Any] = field(default_factory=dict)
    requested: int = 0
    responded: int = 0
    removed: int = 0
    verified_removed: int = 0
    removed_on_time: int = 0
    overdue_open: int = 0
    median_hours_to_response: float | None = None
    median_hours_to_removal: float | None = None
    refusal_breakdown: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(REFUSAL_KEYS, 0)
    )

    @property
    def response_rate(self) -> float | None:
        return _rate(self.responded, self.requested)

    @property
    def removal_rate(self) -> float | None:
        return _rate(self.removed, self.requested)

    @property
    def verified_removal_rate(self) -> float | None:
        return _rate(self.verified_removed, self.requested)

    @property
    def on_time_rate(self) -> float | None:
        return _rate(self.removed_on_time, self.requested)

    @property
    def refused(self) -> int:
        """All refusal-type outcomes together."""
        return sum(self.refusal_breakdown.values())

    @property
    def is_empty(self) -> bool:
        return self.requested == 0

    def value(self, key: str) -> Any:
        """A figure by its ``FIGURE_DEFINITIONS`` / ``COUNT_FIGURES`` key."""
        return getattr(self, key)

    def as_dict(self) -> dict[str, Any]:
        """Counts, rates and medians flat (for CSV and JSON); the group's keys first."""
        row: dict[str, Any] = dict(self.group)
        for f in fields(self):
            if f.name not in ("group", "refusal_breakdown"):
                row[f.name] = getattr(self, f.name)
        for key in ("response_rate", "removal_rate", "verified_removal_rate", "on_time_rate"):
            row[key] = getattr(self, key)
        for key in REFUSAL_KEYS:
            row[key] = self.refusal_breakdown.get(key, 0)
        return row


# --------------------------------------------------------------------- group labels

NO_ACTOR_LABEL = "No actor"

_CHOICE_LABELS: dict[str, Any] = {
    "tier": PlatformTier,
    "kind": PlatformKind,
    "architecture": PlatformArchitecture,
    "legal_basis": LegalBasis,
    "request_type": RequestType,
}


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def _label_key(field_name: str) -> str:
    if field_name == "platform":
        return "platform_name"
    if field_name == "actor":
        return "actor_name"
    return f"{field_name}_label"


def _label(field_name: str, value: Any, raw_label: Any = None) -> str:
    if field_name in ("platform", "actor"):
        if value is None:
            return NO_ACTOR_LABEL if field_name == "actor" else "—"
        return str(raw_label)
    if field_name == "week":
        return week_label(value)
    if field_name == "country":
        return str(countries.name(value)) if value else "Unknown"
    choices = _CHOICE_LABELS[field_name]
    return str(choices(value).label) if value in choices.values else str(value)


def make_group(field_name: str, value: Any, label: Any = None) -> dict[str, Any]:
    """A group dict for one field: ``{field: value, <label key>: label}``."""
    return {field_name: value, _label_key(field_name): _label(field_name, value, label)}


def empty_figures(group: Mapping[str, Any] | None = None) -> Figures:
    """Figures of a group with no request items: counts 0, rates and medians None."""
    return Figures(group=dict(group or {}))


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_midnight(day: date) -> datetime:
    """The start of ``day`` in the unit's time zone, as an aware datetime (DST-safe)."""
    return datetime.combine(day, time.min, tzinfo=_zone())


@dataclass(frozen=True)
class MetricFilters:
    """Which request items the figures count. Empty tuples mean "all".

    ``start`` / ``end`` are dates in the unit's time zone (settings.TIME_ZONE),
    half-open: items of requests sent from ``start`` 00:00 up to but not including
    ``end`` 00:00, local time. Either may be None (open-ended).

    ``legal_bases`` filters on the *request's* legal basis (a request is sent
    under one basis; its items normally share it). ``actor_ids`` filters on the
    *item's* actor. Platform attributes (tier, kind, architecture, country) are
    those of the request's platform.

    Query-string form (``from_query`` / ``to_query``), repeated keys for lists:
    ``start``, ``end`` (YYYY-MM-DD), ``platform``, ``tier``, ``kind``,
    ``architecture``, ``country``, ``legal_basis``, ``request_type``, ``actor``.
    ``actor=none`` selects items without an actor.
    """

    start: date | None = None
    end: date | None = None
    platform_ids: tuple[int, ...] = ()
    tiers: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    architectures: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    legal_bases: tuple[str, ...] = ()
    request_types: tuple[str, ...] = ()
    # None inside the tuple selects items without an actor.
    actor_ids: tuple[int | None, ...] = ()

    # query key -> (attribute, allowed values or None for ids)
    QUERY_KEYS: ClassVar[dict[str, str]] = {
        "platform": "platform_ids",
        "tier": "tiers",
        "kind": "kinds",
        "architecture": "architectures",
        "country": "countries",
        "legal_basis": "legal_bases",
        "request_type": "request_types",
        "actor": "actor_ids",
    }

    def __post_init__(self) -> None:
        if self.start and self.end and self.end <= self.start:
            raise DomainError("The end of the period must be after its start.")
        self._check_choices("tiers", PlatformTier.values)
        self._check_choices("kinds", PlatformKind.values)
        self._check_choices("architectures", PlatformArchitecture.values)
        self._check_choices("legal_bases", LegalBasis.values)
        self._check_choices("request_types", RequestType.values)
        for code in self.countries:
            if not isinstance(code, str) or (code and not (len(code) == 2 and code.isalpha())):
                raise DomainError(f"{code!r} is not a two-letter country code.")

    def _check_choices(self, attribute: str, allowed: Sequence[str]) -> None:
        for value in getattr(self, attribute):
            if value not in allowed:
                raise DomainError(f"Unknown {attribute.rstrip('s').replace('_', ' ')} {value!r}.")

    @property
    def start_at(self) -> datetime | None:
        """``start`` as an aware datetime: 00:00 in the unit's time zone."""
        return local_midnight(self.start) if self.start else None

    @property
    def end_at(self) -> datetime | None:
        """``end`` as an aware datetime: 00:00 in the unit's time zone (excluded)."""
        return local_midnight(self.end) if self.end else None

    @classmethod
    def from_query(cls, query: Mapping[str, Any]) -> MetricFilters:
        """Parse a QueryDict (or a dict of lists/strings); bad input raises ``DomainError``."""

        def values(key: str) -> list[str]:
            if hasattr(query, "getlist"):
                raw = query.getlist(key)
            else:
                value = query.get(key, [])
                raw = list(value) if isinstance(value, list | tuple) else [value]
            # Comma-separated values are accepted too (short links).
            return [part.strip() for v in raw for part in str(v).split(",") if part.strip()]

        def one_date(key: str) -> date | None:
            found = values(key)
            if not found:
                return None
            if len(found) > 1:
                raise DomainError(f"Give one {key} date.")
            try:
                parsed = parse_date(found[0])
            except ValueError:
                parsed = None
            if parsed is None:
                raise DomainError(f"{found[0]!r} is not a date (YYYY-MM-DD).")
            return parsed

        def ids(key: str, *, allow_none: bool = False) -> tuple[Any, ...]:
            out: list[int | None] = []
            for value in values(key):
                if allow_none and value.lower() == "none":
                    out.append(None)
                    continue
                try:
                    number = int(value)
                except ValueError:
                    raise DomainError(f"{value!r} is not a valid {key} id.") from None
                if number < 1:
                    raise DomainError(f"{value!r} is not a valid {key} id.")
                out.append(number)
            return tuple(dict.fromkeys(out))

        def choices(key: str) -> tuple[str, ...]:
            return tuple(dict.fromkeys(values(key)))

        return cls(
            start=one_date("start"),
            end=one_date("end"),
            platform_ids=ids("platform"),
            tiers=choices("tier"),
            kinds=choices("kind"),
            architectures=choices("architecture"),
            countries=tuple(c.upper() for c in choices("country")),
            legal_bases=choices("legal_basis"),
            request_types=choices("request_type"),
            actor_ids=ids("actor", allow_none=True),
        )

    def to_query(self) -> list[tuple[str, str]]:
        """The filters as query-string pairs (``urlencode(filters.to_query())``)."""
        pairs: list[tuple[str, str]] = []
        if self.start:
            pairs.append(("start", self.start.isoformat()))
        if self.end:
            pairs.append(("end", self.end.isoformat()))
        for key, attribute in self.QUERY_KEYS.items():
            for value in getattr(self, attribute):
                pairs.append((key, "none" if value is None else str(value)))
        return pairs

    def narrowed(self, group: Mapping[str, Any]) -> MetricFilters:
        """These filters further restricted to one group (week → that week's period)."""
        changes: dict[str, Any] = {}
        for key, attribute in self.QUERY_KEYS.items():
            if key in group:
                changes[attribute] = (group[key],)
        if group.get("week") is not None:
            week: date = group["week"]
            start = max(filter(None, [self.start, week]))
            end = min(filter(None, [self.end, week + timedelta(days=7)]))
            if end <= start:
                raise DomainError("That week is outside the period.")
            changes["start"], changes["end"] = start, end
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return MetricFilters(**values)

    @property
    def is_empty(self) -> bool:
        """True when nothing is filtered (all sent request items)."""
        return not self.to_query()


def outcome_label(value: str) -> str:
    return str(Outcome(value).label)
