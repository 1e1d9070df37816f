"""Property: the SQL figures equal a plain Python computation of DESIGN §5 on random data.

Hypothesis draws platforms, requests (sent around the spring clock change, some
removal orders with a clarification pause, open or finished), items with actors
and verifications, and each line's answer history (amendments, no_response at
the deadline, late answers). The rows are written the way the services write
them; the reference below recomputes every figure from the drawn history alone,
with no SQL, and must agree with ``compliance_figures`` for a random grouping
and random filters.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from cases.models import (
    REFUSAL_OUTCOMES,
    REMOVAL_OUTCOMES,
    Actor,
    Item,
    ItemStatus,
    LegalBasis,
    Outcome,
    OutcomeRecord,
    OutcomeSource,
    RemovalRequest,
    RequestItem,
    RequestState,
    RequestType,
)
from metrics.figures import GROUP_BY_FIELDS, MetricFilters
from metrics.selectors import compliance_figures
from platforms.models import Platform, PlatformArchitecture, PlatformKind, PlatformTier
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# Around the start of British Summer Time (29 March 2026), so local weeks and
# period boundaries differ from UTC ones.
EPOCH = datetime(2026, 3, 16, 0, 0, tzinfo=UTC)
SPAN_MINUTES = 60 * 24 * 28
NOW = EPOCH + timedelta(days=30)
# Minutes (from a UTC midnight) where local and UTC days differ or a local day starts:
# in British Summer Time local midnight is 23:00 UTC the day before.
NEAR_MIDNIGHT = [-61, -60, -59, -1, 0, 1]
ANSWERS = [o for o in Outcome if o not in (Outcome.PENDING, Outcome.NO_RESPONSE)]


@dataclass
class Line:
    actor: int | None
    verification: str
    # (minutes after sending, outcome); the services only ever append
    answers: list[tuple[int, str]]
    expired: bool  # the deadline sweeper ran (no_response for a still pending line)


@dataclass
class Request:
    platform: int
    request_type: str
    legal_basis: str
    sent_minute: int
    deadline_minutes: int
    # (minutes after sending the pause began, minutes it lasted or None while open)
    pause: tuple[int, int | None] | None
    lines: list[Line] = field(default_factory=list)


platforms_st = st.lists(
    st.tuples(
        st.sampled_from(PlatformTier.values),
        st.sampled_from([PlatformKind.VIDEO, PlatformKind.PASTE_SITE, PlatformKind.FORUM]),
        st.sampled_from(PlatformArchitecture.values),
        st.sampled_from(["", "PL", "US"]),
    ),
    min_size=1,
    max_size=3,
)

lines_st = st.builds(
    Line,
    actor=st.one_of(st.none(), st.integers(0, 1)),
    verification=st.sampled_from(["", "live", "gone", "unknown"]),
    answers=st.lists(
        st.tuples(st.integers(1, 60 * 24 * 12), st.sampled_from(ANSWERS)), max_size=2
    ).map(sorted),
    expired=st.booleans(),
)

requests_st = st.lists(
    st.builds(
        Request,
        platform=st.integers(0, 2),
        request_type=st.sampled_from(RequestType.values),
        legal_basis=st.sampled_from([LegalBasis.TERMS_OF_SERVICE, LegalBasis.TCO_REGULATION]),
        sent_minute=st.one_of(
            st.integers(0, SPAN_MINUTES),
            st.builds(
                lambda day, minute: max(day * 24 * 60 + minute, 0),
                st.one_of(st.sampled_from([14, 21, 28]), st.integers(0, 28)),  # BST Mondays
                st.sampled_from(NEAR_MIDNIGHT),
            ),
        ),
        deadline_minutes=st.sampled_from([60, 60 * 24 * 3, 60 * 24 * 7]),
        # (start, length or None while still open), in minutes; starts on either
        # side of the one-hour and three-day deadlines.
        pause=st.one_of(
            st.none(),
            st.tuples(
                st.one_of(st.sampled_from([30, 90, 60 * 24]), st.integers(1, 60 * 24 * 4)),
                st.one_of(st.none(), st.integers(1, 600)),
            ),
        ),
        lines=st.lists(lines_st, min_size=1, max_size=4),
    ),
    # Hypothesis favours small lists; a few requests each example give the figures
    # something to disagree about.
    min_size=2,
    max_size=7,
)

group_by_st = st.lists(st.sampled_from(GROUP_BY_FIELDS), max_size=2, unique=True)
filters_st = st.fixed_dictionaries(
    {},
    optional={
        "start": st.dates(date(2026, 3, 14), date(2026, 4, 12)),
        "tiers": st.sampled_from([("niche",), ("mainstream",)]),
        "countries": st.sampled_from([("PL",), ("US", "PL")]),
        "request_types": st.sampled_from([("referral",), ("removal_order",)]),
        "legal_bases": st.just(("tco_regulation",)),
        "actor_ids": st.sampled_from([(None,), (0,), (0, None)]),
        "platform_ids": st.sampled_from([(0,), (1, 2)]),
    },
)


# --- writing the drawn data the way the services do ---------------------------------


@dataclass
class Built:
    """Database ids of what was written, and the facts each row's figures depend on."""

    rows: list[dict[str, Any]]
    platform_ids: list[int]
    actor_ids: list[int]


def _history(line: Line, sent_at: datetime, deadline: datetime, paused: bool):
    """The line's outcome records as the services would store them, up to NOW.

    The deadline sweeper turns a line still unanswered at the deadline into
    no_response (never while the clock is paused); answers may still come later.
    """
    history = [(sent_at + timedelta(minutes=m), outcome) for m, outcome in line.answers]
    answered_in_time = any(at <= deadline for at, _ in history)
    if line.expired and not paused and deadline <= NOW and not answered_in_time:
        history.insert(0, (deadline, Outcome.NO_RESPONSE))
    return [(at, outcome) for at, outcome in history if at <= NOW]


def build(platforms: list[tuple], requests: list[Request], user, approver) -> Built:
    platform_rows = [
        Platform.objects.create(
            name=f"P{n}", tier=tier, kind=kind, architecture=architecture, country=country
        )
        for n, (tier, kind, architecture, country) in enumerate(platforms)
    ]
    actors = [Actor.objects.create(name=f"A{n}") for n in range(2)]
    rows: list[dict[str, Any]] = []
    item_number = 0
    for number, request in enumerate(requests):
        platform = platform_rows[request.platform % len(platform_rows)]
        sent_at = EPOCH + timedelta(minutes=request.sent_minute)
        deadline = sent_at + timedelta(minutes=request.deadline_minutes)
        paused_at = None
        if request.pause is not None and request.request_type == RequestType.REMOVAL_ORDER:
            start, length = request.pause
            if length is None:
                paused_at = sent_at + timedelta(minutes=start)
            else:
                deadline += timedelta(minutes=length)
        else:
            request.pause = None
        if paused_at is not None and paused_at > NOW:
            paused_at = None
            request.pause = None
        removal_request = RemovalRequest.objects.create(
            reference=f"TKD-2026-{number + 1:06d}",
            platform=platform,
            request_type=request.request_type,
            legal_basis=request.legal_basis,
            state=RequestState.SENT,
            composed_by=user,
            approved_by=approver,
            approved_at=sent_at,
            sent_at=sent_at,
            deadline=deadline,
            original_deadline=sent_at + timedelta(minutes=request.deadline_minutes),
            clock_paused_at=paused_at,
        )
        for line in request.lines:
            item_number += 1
            item = Item.objects.create(
                url_submitted=f"https://x.example/{item_number}",
                url_normalised=f"https://x.example/{item_number}",
                host="x.example",
                platform=platform,
                actor=None if line.actor is None else actors[line.actor],
                status=ItemStatus.APPROVED,
                created_by=user,
                reviewed_by=approver,
                reviewed_at=sent_at,
                verification=line.verification,
            )
            history = _history(line, sent_at, deadline, paused=paused_at is not None)
            responses = [at for at, o in history if o != Outcome.NO_RESPONSE]
            removals = [at for at, o in history if o in REMOVAL_OUTCOMES]
            last_at, last = history[-1] if history else (None, Outcome.PENDING)
            request_line = RequestItem.objects.create(
                request=removal_request,
                item=item,
                outcome=last,
                outcome_at=last_at,
                first_response_at=min(responses, default=None),
                first_removal_at=min(removals, default=None),
            )
            OutcomeRecord.objects.bulk_create(
                OutcomeRecord(
                    line=request_line,
                    outcome=o,
                    source=OutcomeSource.SYSTEM
                    if o == Outcome.NO_RESPONSE
                    else OutcomeSource.OPERATOR_PORTAL,
                    recorded_at=at,
                )
                for at, o in history
            )
            rows.append(
                {
                    "platform": platform,
                    "actor": None if line.actor is None else actors[line.actor].pk,
                    "actor_index": line.actor,
                    "request_type": request.request_type,
                    "legal_basis": request.legal_basis,
                    "sent_at": sent_at,
                    "deadline": deadline,
                    "paused_at": paused_at,
                    "verification": line.verification,
                    "history": history,
                }
            )
    return Built(rows, [p.pk for p in platform_rows], [a.pk for a in actors])


# --- the reference: DESIGN §5 in plain Python ------------------------------------------


def _local_date(at: datetime) -> date:
    return at.astimezone(ZoneInfo(settings.TIME_ZONE)).date()


def _key(row: dict[str, Any], name: str) -> Any:
    platform = row["platform"]
    if name == "week":
        day = _local_date(row["sent_at"])
        return day - timedelta(days=day.weekday())
    if name == "platform":
        return platform.pk
    if name in ("tier", "kind", "architecture", "country"):
        return str(getattr(platform, name))
    return row[name]


def _selected(row: dict[str, Any], filters: dict[str, Any], built: Built) -> bool:
    platform = row["platform"]
    if "start" in filters and _local_date(row["sent_at"]) < filters["start"]:
        return False
    checks = {
        "tiers": platform.tier,
        "countries": str(platform.country),
        "request_types": row["request_type"],
        "legal_bases": row["legal_basis"],
        "actor_ids": row["actor_index"],
        "platform_ids": built.platform_ids.index(platform.pk),
    }
    return all(checks[name] in wanted for name, wanted in filters.items() if name in checks)


def _hours(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 3600


def reference(rows: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    latest = [r["history"][-1][1] if r["history"] else Outcome.PENDING for r in rows]
    responded = [
        r
        for r, o in zip(rows, latest, strict=True)
        if o not in (Outcome.PENDING, Outcome.NO_RESPONSE)
    ]
    removed = [r for r, o in zip(rows, latest, strict=True) if o in REMOVAL_OUTCOMES]

    def first(r: dict[str, Any], outcomes: Any) -> datetime:
        return min(at for at, o in r["history"] if o in outcomes)

    def deadline_now(r: dict[str, Any]) -> datetime:
        pause = now - r["paused_at"] if r["paused_at"] else timedelta(0)
        return r["deadline"] + pause

    answers = [o for o in Outcome if o != Outcome.NO_RESPONSE]
    return {
        "requested": len(rows),
        "responded": len(responded),
        "removed": len(removed),
        "verified_removed": sum(r["verification"] == "gone" for r in rows),
        "removed_on_time": sum(first(r, REMOVAL_OUTCOMES) <= deadline_now(r) for r in removed),
        "overdue_open": sum(
            o == Outcome.PENDING
            and (r["deadline"] < r["paused_at"] if r["paused_at"] else r["deadline"] < now)
            for r, o in zip(rows, latest, strict=True)
        ),
        "median_hours_to_response": statistics.median(
            [_hours(first(r, answers), r["sent_at"]) for r in responded]
        )
        if responded
        else None,
        "median_hours_to_removal": statistics.median(
            [_hours(first(r, REMOVAL_OUTCOMES), r["sent_at"]) for r in removed]
        )
        if removed
        else None,
        "refusal_breakdown": {
            o.value: sum(latest_o == o for latest_o in latest) for o in REFUSAL_OUTCOMES
        },
    }


def expected_figures(selected: list[dict[str, Any]], group_by: list[str]) -> dict[tuple, Any]:
    """The reference figures per group; ungrouped, one group even when nothing matched."""
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for row in selected:
        groups[tuple(_key(row, name) for name in group_by)].append(row)
    if not group_by:
        groups = {(): selected}
    return {key: _approx(reference(rows, NOW)) for key, rows in groups.items()}


def _figures_dict(figures: Any) -> dict[str, Any]:
    keys = [
        "requested",
        "responded",
        "removed",
        "verified_removed",
        "removed_on_time",
        "overdue_open",
        "median_hours_to_response",
        "median_hours_to_removal",
        "refusal_breakdown",
    ]
    return {key: getattr(figures, key) for key in keys}


def _approx(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: pytest.approx(value, abs=1e-6) if isinstance(value, float) else value
        for key, value in values.items()
    }


@hypothesis_settings(
    max_examples=50,
    deadline=None,
    # No example database in the working tree: failures print their example.
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(
    platforms=platforms_st,
    requests=requests_st,
    group_by=group_by_st,
    filters=filters_st,
)
def test_it_computes_the_same_figures_as_plain_python(platforms, requests, group_by, filters):
    # One savepoint per example, rolled back: every example starts from an empty database.
    with transaction.atomic():
        user = UserFactory(username="prop-officer")
        approver = UserFactory(username="prop-supervisor")
        built = build(platforms, requests, user, approver)
        sql_filters = dict(filters)
        if "platform_ids" in filters:
            sql_filters["platform_ids"] = tuple(
                built.platform_ids[i]
                for i in filters["platform_ids"]
                if i < len(built.platform_ids)
            )
            if not sql_filters["platform_ids"]:
                sql_filters["platform_ids"] = (0,)  # an id no platform has
        if "actor_ids" in filters:
            sql_filters["actor_ids"] = tuple(
                None if i is None else built.actor_ids[i] for i in filters["actor_ids"]
            )

        selected = [r for r in built.rows if _selected(r, filters, built)]
        # The drawn grouping, and by ISO week every time (the time-zone-sensitive one).
        for grouping in (group_by, ["week"]):
            result = compliance_figures(
                filters=MetricFilters(**sql_filters), group_by=grouping, now=NOW
            )
            got = {tuple(f.group[name] for name in grouping): _figures_dict(f) for f in result}
            assert got == expected_figures(selected, grouping)
        transaction.set_rollback(True)
