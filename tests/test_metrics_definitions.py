"""DESIGN §5, one definition at a time, on hand-built data with known answers.

Answers are recorded through the real services (``request_item_record_outcome``,
``request_expire_open_items``, the clock pause), so the first-answer and
first-removal times are the ones production stores.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from cases.models import (
    LegalBasis,
    Outcome,
    OutcomeSource,
    RequestItem,
    RequestType,
    VerificationStatus,
)
from cases.services.outcomes import request_expire_open_items, request_item_record_outcome
from cases.services.requests import request_resume_clock
from core.errors import DomainError
from core.roles import Role, ensure_role_groups
from metrics.figures import GROUP_BY_FIELDS, MetricFilters
from metrics.selectors import (
    compliance_figures,
    platform_group,
    request_items_behind,
    week_group,
    weeks_between,
    with_empty_groups,
)
from platforms.models import PlatformArchitecture, PlatformKind, PlatformTier
from tests.factories import (
    ActorFactory,
    ItemFactory,
    PlatformFactory,
    RemovalRequestFactory,
    RequestItemFactory,
    SentRequestFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SENT_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, ISO week 2026-W10
DEADLINE = SENT_AT + timedelta(days=7)  # PasteBay answers referrals within 7 days
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def sent(platform, *, lines: int = 1, sent_at: datetime = SENT_AT, **fields) -> list[RequestItem]:
    request = SentRequestFactory(platform=platform, sent_at=sent_at, **fields)
    return [RequestItemFactory(request=request) for _ in range(lines)]


def answer(line: RequestItem, outcome: str, *, hours: float, source=OutcomeSource.OPERATOR_PORTAL):
    """Record ``outcome`` ``hours`` after the line's request was sent."""
    at = line.request.sent_at + timedelta(hours=hours)
    recorded_by = None
    if source != OutcomeSource.OPERATOR_PORTAL:  # relayed by an officer, who may record it
        recorded_by = UserFactory(groups=[ensure_role_groups()[Role.OFFICER]])
    request_item_record_outcome(
        line=line, outcome=outcome, source=source, recorded_by=recorded_by, at=at
    )


def totals(now: datetime = NOW, **filters):
    [figures] = compliance_figures(filters=MetricFilters(**filters), now=now)
    return figures


# --- requested, and empty groups -----------------------------------------------------


def test_it_counts_every_item_of_every_sent_request(platform):
    sent(platform, lines=3)
    sent(platform, lines=2)

    assert totals().requested == 5


def test_it_does_not_count_items_of_requests_not_sent(platform):
    RequestItemFactory(request=RemovalRequestFactory(platform=platform))

    assert totals().requested == 0


def test_it_gives_no_rate_for_an_empty_group(platform):
    sent(platform)

    figures = totals(start=date(2027, 1, 1))

    assert (figures.requested, figures.responded, figures.removed, figures.overdue_open) == (
        0,
        0,
        0,
        0,
    )
    assert [
        figures.response_rate,
        figures.removal_rate,
        figures.verified_removal_rate,
        figures.on_time_rate,
        figures.median_hours_to_response,
        figures.median_hours_to_removal,
    ] == [None] * 6


def test_it_fills_the_groups_without_items_with_empty_figures(platform):
    quiet = PlatformFactory(name="Quiet")
    sent(platform)

    rows = with_empty_groups(
        compliance_figures(filters=MetricFilters(), group_by=["platform"], now=NOW),
        groups=[platform_group(quiet), platform_group(platform)],
    )

    assert [(r.group["platform_name"], r.requested, r.removal_rate) for r in rows] == [
        ("Quiet", 0, None),
        ("PasteBay", 1, 0.0),
    ]


# --- responded -----------------------------------------------------------------------


def test_it_counts_answered_items_as_responded_but_not_pending_or_no_response(platform):
    pending, silent, removed, refused, relayed = sent(platform, lines=5)
    answer(removed, Outcome.REMOVED, hours=1)
    answer(refused, Outcome.REFUSED_NOT_VIOLATING, hours=1)
    answer(relayed, Outcome.UNABLE, hours=1, source=OutcomeSource.OFFICER)
    request_expire_open_items(request=silent.request, at=DEADLINE)
    # The expiry turned both unanswered lines into no_response; put one back to pending
    # as a line added late would be, so both unanswered kinds are present.
    RequestItem.objects.filter(pk=pending.pk).update(outcome=Outcome.PENDING)

    figures = totals()

    assert (figures.responded, figures.response_rate) == (3, 3 / 5)


def test_it_counts_a_late_answer_after_no_response_as_responded(platform):
    [line] = sent(platform)
    request_expire_open_items(request=line.request, at=DEADLINE)
    answer(line, Outcome.REMOVED, hours=24 * 9)

    figures = totals()

    assert (figures.responded, figures.median_hours_to_response) == (1, 24 * 9)


# --- removed -------------------------------------------------------------------------


def test_it_counts_removed_access_disabled_and_already_gone_as_removed(platform):
    lines = sent(platform, lines=5)
    for line, outcome in zip(
        lines,
        [Outcome.REMOVED, Outcome.ACCESS_DISABLED, Outcome.ALREADY_GONE, Outcome.RESTRICTED],
        strict=False,
    ):
        answer(line, outcome, hours=2)

    figures = totals()

    assert (figures.removed, figures.removal_rate) == (3, 3 / 5)


def test_it_counts_the_latest_outcome_when_an_answer_is_amended(platform):
    withdrawn, confirmed = sent(platform, lines=2)
    answer(withdrawn, Outcome.REMOVED, hours=1)
    answer(withdrawn, Outcome.REFUSED_NOT_VIOLATING, hours=5)
    answer(confirmed, Outcome.NEEDS_INFO, hours=1)
    answer(confirmed, Outcome.REMOVED, hours=5)

    figures = totals()

    assert (figures.removed, figures.refusal_breakdown["refused_not_violating"]) == (1, 1)
    assert figures.refusal_breakdown["needs_info"] == 0


# --- verified removals ---------------------------------------------------------------


def test_it_counts_items_whose_latest_verification_is_gone(platform):
    lines = sent(platform, lines=5)
    answer(lines[0], Outcome.REMOVED, hours=1)
    checks = ["gone", "gone", "live", "unknown", ""]  # the second: gone without an answer
    for line, check in zip(lines, checks, strict=True):
        line.item.verification = check
        line.item.save()

    figures = totals()

    assert (figures.verified_removed, figures.verified_removal_rate) == (2, 2 / 5)


# --- medians ---------------------------------------------------------------------------


def test_it_takes_the_median_hours_to_the_first_answer_over_responded_items(platform):
    lines = sent(platform, lines=4)
    answer(lines[0], Outcome.REMOVED, hours=1)
    answer(lines[1], Outcome.REFUSED_NO_JURISDICTION, hours=3)
    answer(lines[2], Outcome.FORWARDED, hours=11)

    assert totals().median_hours_to_response == 3


def test_it_averages_the_two_middle_values_for_an_even_count(platform):
    lines = sent(platform, lines=2)
    answer(lines[0], Outcome.REMOVED, hours=1)
    answer(lines[1], Outcome.REMOVED, hours=4)

    figures = totals()

    assert (figures.median_hours_to_response, figures.median_hours_to_removal) == (2.5, 2.5)


def test_it_keeps_the_first_answer_time_when_an_answer_is_amended(platform):
    [line] = sent(platform)
    answer(line, Outcome.NEEDS_INFO, hours=2)
    answer(line, Outcome.REMOVED, hours=30)

    figures = totals()

    assert (figures.median_hours_to_response, figures.median_hours_to_removal) == (2, 30)


def test_it_keeps_the_first_removal_time_when_a_removal_is_amended(platform):
    [line] = sent(platform)
    answer(line, Outcome.REMOVED, hours=3)
    answer(line, Outcome.ACCESS_DISABLED, hours=40)

    assert totals().median_hours_to_removal == 3


def test_it_takes_the_removal_median_over_removed_items_only(platform):
    removed, refused = sent(platform, lines=2)
    answer(removed, Outcome.REMOVED, hours=6)
    answer(refused, Outcome.REMOVED, hours=1)
    answer(refused, Outcome.REFUSED_NOT_VIOLATING, hours=2)

    assert totals().median_hours_to_removal == 6


# --- on time -------------------------------------------------------------------------


def test_it_counts_a_removal_recorded_at_the_deadline_as_on_time(platform):
    [line] = sent(platform)
    answer(line, Outcome.REMOVED, hours=24 * 7)

    figures = totals()

    assert (figures.removed_on_time, figures.on_time_rate) == (1, 1.0)


def test_it_counts_a_removal_recorded_after_the_deadline_as_late(platform):
    on_time, late = sent(platform, lines=2)
    answer(on_time, Outcome.REMOVED, hours=24 * 6)
    answer(late, Outcome.REMOVED, hours=24 * 7 + 0.1)

    figures = totals()

    assert (figures.removed, figures.removed_on_time, figures.on_time_rate) == (2, 1, 0.5)


def test_it_keeps_a_removal_on_time_when_it_is_amended_after_the_deadline(platform):
    [line] = sent(platform)
    answer(line, Outcome.REMOVED, hours=1)
    answer(line, Outcome.ACCESS_DISABLED, hours=24 * 8)

    assert totals().removed_on_time == 1


def test_it_counts_a_removal_within_a_deadline_extended_by_a_pause_as_on_time(platform, bob):
    # A one-hour removal order: a question at 30 min pauses the clock for 4 h 30 min.
    [line] = sent(platform, removal_order=True)
    answer(line, Outcome.NEEDS_INFO, hours=0.5)
    request_resume_clock(request=line.request, by=bob, at=SENT_AT + timedelta(hours=5))
    answer(line, Outcome.REMOVED, hours=5.25)

    assert totals().removed_on_time == 1


def test_it_counts_a_removal_during_an_open_pause_as_on_time(platform):
    [line] = sent(platform, removal_order=True)
    answer(line, Outcome.NEEDS_INFO, hours=0.5)
    answer(line, Outcome.REMOVED, hours=3)  # after the original deadline; clock still paused

    assert totals().removed_on_time == 1


def test_it_counts_a_removal_after_the_extended_deadline_as_late(platform, bob):
    [line] = sent(platform, removal_order=True)
    answer(line, Outcome.NEEDS_INFO, hours=0.5)
    request_resume_clock(request=line.request, by=bob, at=SENT_AT + timedelta(hours=2))
    answer(line, Outcome.REMOVED, hours=2.75)  # deadline 1 h + 1 h 30 min pause = 2 h 30 min

    assert totals().removed_on_time == 0


# --- overdue and open ------------------------------------------------------------------


def test_it_counts_pending_items_past_their_deadline_as_overdue(platform):
    _overdue, answered = sent(platform, lines=2)
    answer(answered, Outcome.REMOVED, hours=24 * 8)
    sent(platform, sent_at=NOW - timedelta(days=1))  # deadline still ahead

    assert totals().overdue_open == 1


def test_it_counts_overdue_items_as_of_now(platform):
    sent(platform)

    assert totals(now=DEADLINE).overdue_open == 0
    assert totals(now=DEADLINE + timedelta(seconds=1)).overdue_open == 1


def test_it_does_not_count_no_response_items_as_overdue_open(platform):
    [line] = sent(platform)
    request_expire_open_items(request=line.request, at=DEADLINE)

    assert totals().overdue_open == 0


def test_it_does_not_count_items_as_overdue_while_the_clock_is_paused(platform):
    _waiting, asked = sent(platform, lines=2, removal_order=True)
    answer(asked, Outcome.NEEDS_INFO, hours=0.5)  # pauses the whole request's clock

    assert totals().overdue_open == 0


# --- refusals ------------------------------------------------------------------------


def test_it_breaks_refusals_down_by_type(platform):
    outcomes = [
        Outcome.REFUSED_NOT_VIOLATING,
        Outcome.REFUSED_NOT_VIOLATING,
        Outcome.REFUSED_NO_JURISDICTION,
        Outcome.UNABLE,
        Outcome.FORWARDED,
        Outcome.RESTRICTED,
        Outcome.REMOVED,
    ]
    for line, outcome in zip(sent(platform, lines=len(outcomes)), outcomes, strict=True):
        answer(line, outcome, hours=1)

    assert totals().refusal_breakdown == {
        "refused_not_violating": 2,
        "refused_no_jurisdiction": 1,
        "unable": 1,
        "needs_info": 0,
        "forwarded": 1,
        "restricted": 1,
    }


# --- the period, in the unit's time zone -----------------------------------------------


def test_it_counts_the_period_half_open_in_the_units_time_zone(platform):
    # British Summer Time starts on 29 March 2026: local midnight is 23:00 UTC the day before.
    sent(platform, sent_at=datetime(2026, 3, 29, 22, 59, tzinfo=UTC))  # 29 March, 23:59 GMT
    sent(platform, sent_at=datetime(2026, 3, 29, 23, 0, tzinfo=UTC))  # 30 March, 00:00 BST
    sent(platform, sent_at=datetime(2026, 4, 5, 22, 59, tzinfo=UTC))  # 5 April, 23:59 BST
    sent(platform, sent_at=datetime(2026, 4, 5, 23, 0, tzinfo=UTC))  # 6 April, 00:00 BST

    assert totals(start=date(2026, 3, 30), end=date(2026, 4, 6)).requested == 2


def test_it_puts_a_request_in_its_local_iso_week_across_a_clock_change(platform):
    sent(platform, sent_at=datetime(2026, 3, 29, 22, 30, tzinfo=UTC))  # Sunday 29 March
    sent(platform, sent_at=datetime(2026, 3, 29, 23, 30, tzinfo=UTC))  # Monday 30 March, BST
    sent(platform, sent_at=datetime(2026, 10, 25, 23, 30, tzinfo=UTC))  # Sunday 25 Oct, GMT

    rows = compliance_figures(filters=MetricFilters(), group_by=["week"], now=NOW)

    assert [(r.group["week"], r.group["week_label"], r.requested) for r in rows] == [
        (date(2026, 3, 23), "2026-W13", 1),
        (date(2026, 3, 30), "2026-W14", 1),
        (date(2026, 10, 19), "2026-W43", 1),
    ]


def test_it_refuses_a_period_that_ends_before_it_starts():
    with pytest.raises(DomainError):
        MetricFilters(start=date(2026, 3, 2), end=date(2026, 3, 2))


def test_it_lists_the_weeks_of_a_period():
    assert weeks_between(date(2026, 3, 4), date(2026, 3, 17)) == [
        date(2026, 3, 2),
        date(2026, 3, 9),
        date(2026, 3, 16),
    ]


# --- grouping and filtering ------------------------------------------------------------


def _two_kinds_of_everything():
    """Two requests that differ in every groupable field; the first has 2 items, the second 1."""
    first = PlatformFactory(
        name="Alpha",
        tier=PlatformTier.MAINSTREAM,
        kind=PlatformKind.VIDEO,
        architecture=PlatformArchitecture.CENTRALISED,
        country="US",
    )
    second = PlatformFactory(
        name="Beta",
        tier=PlatformTier.NICHE,
        kind=PlatformKind.PASTE_SITE,
        architecture=PlatformArchitecture.SELF_HOSTED,
        country="PL",
    )
    actor = ActorFactory(name="Group A")
    referral = SentRequestFactory(platform=first, sent_at=SENT_AT)
    for _ in range(2):
        line = RequestItemFactory(
            request=referral, item=ItemFactory(approved=True, platform=first, actor=actor)
        )
        answer(line, Outcome.REMOVED, hours=2)
    order = SentRequestFactory(
        platform=second,
        sent_at=SENT_AT + timedelta(days=7),
        request_type=RequestType.REMOVAL_ORDER,
        legal_basis=LegalBasis.TCO_REGULATION,
    )
    RequestItemFactory(request=order, item=ItemFactory(approved=True, platform=second))
    return first, second, actor


# field -> [(a key of the group dict, its value, requested)] in the selector's order.
EXPECTED_GROUPS = {
    "platform": [("platform_name", "Alpha", 2), ("platform_name", "Beta", 1)],
    "tier": [("tier_label", "Mainstream", 2), ("tier_label", "Niche", 1)],
    "kind": [("kind", "paste_site", 1), ("kind", "video", 2)],
    "architecture": [("architecture", "centralised", 2), ("architecture", "self_hosted", 1)],
    "country": [("country_label", "Poland", 1), ("country_label", "United States of America", 2)],
    "legal_basis": [("legal_basis", "tco_regulation", 1), ("legal_basis", "terms_of_service", 2)],
    "request_type": [("request_type", "referral", 2), ("request_type", "removal_order", 1)],
    "actor": [("actor_name", "Group A", 2), ("actor_name", "No actor", 1)],
    "week": [("week", date(2026, 3, 2), 2), ("week", date(2026, 3, 9), 1)],
}


@pytest.mark.parametrize("field", GROUP_BY_FIELDS)
def test_it_groups_by_each_field(field):
    _two_kinds_of_everything()

    rows = compliance_figures(filters=MetricFilters(), group_by=[field], now=NOW)

    keys = [key for key, _, _ in EXPECTED_GROUPS[field]]
    assert [(key, r.group[key], r.requested) for key, r in zip(keys, rows, strict=True)] == (
        EXPECTED_GROUPS[field]
    )


def test_it_groups_by_two_fields_at_once():
    _two_kinds_of_everything()

    rows = compliance_figures(filters=MetricFilters(), group_by=["platform", "week"], now=NOW)

    assert [(r.group["platform_name"], r.group["week"], r.requested, r.removed) for r in rows] == [
        ("Alpha", date(2026, 3, 2), 2, 2),
        ("Beta", date(2026, 3, 9), 1, 0),
    ]


@pytest.mark.parametrize(
    "field",
    [
        "platform_ids",
        "tiers",
        "kinds",
        "architectures",
        "countries",
        "legal_bases",
        "request_types",
        "actor_ids",
    ],
)
def test_it_filters_by_each_field(field):
    first, _second, actor = _two_kinds_of_everything()
    selecting_the_first_request = {
        "platform_ids": (first.pk,),
        "tiers": ("mainstream",),
        "kinds": ("video",),
        "architectures": ("centralised",),
        "countries": ("US",),
        "legal_bases": ("terms_of_service",),
        "request_types": ("referral",),
        "actor_ids": (actor.pk,),
    }

    assert totals(**{field: selecting_the_first_request[field]}).requested == 2


def test_it_filters_items_without_an_actor():
    _two_kinds_of_everything()

    assert totals(actor_ids=(None,)).requested == 1


def test_it_filters_by_period():
    _two_kinds_of_everything()

    assert totals(start=date(2026, 3, 9)).requested == 1
    assert totals(end=date(2026, 3, 9)).requested == 2


# --- the rows behind a figure ------------------------------------------------------------


@pytest.mark.parametrize(
    "figure",
    ["requested", "responded", "removed", "verified_removed", "removed_on_time", "overdue_open"],
)
def test_it_lists_exactly_the_items_behind_each_count(platform, figure):
    lines = sent(platform, lines=4)
    answer(lines[0], Outcome.REMOVED, hours=2)
    answer(lines[1], Outcome.REMOVED, hours=24 * 8)
    answer(lines[2], Outcome.UNABLE, hours=2)
    lines[0].item.verification = VerificationStatus.GONE
    lines[0].item.save()
    [figures] = compliance_figures(filters=MetricFilters(), group_by=["platform"], now=NOW)

    behind = request_items_behind(
        filters=MetricFilters(), figure=figure, group=figures.group, now=NOW
    )

    assert behind.count() == getattr(figures, figure)


def test_it_lists_the_items_behind_a_rate_and_a_week(platform):
    removed, _other = sent(platform, lines=2)
    answer(removed, Outcome.REMOVED, hours=1)
    sent(platform, sent_at=SENT_AT + timedelta(days=7))

    behind = request_items_behind(
        filters=MetricFilters(), figure="removal_rate", group=week_group(date(2026, 3, 2))
    )

    assert list(behind) == [removed]


def test_it_refuses_an_unknown_figure():
    with pytest.raises(DomainError):
        request_items_behind(filters=MetricFilters(), figure="happiness", group={})


# --- queries ------------------------------------------------------------------------------


@pytest.mark.parametrize("requests", [1, 6])
def test_it_computes_every_figure_of_every_group_in_one_query(requests):
    for n in range(requests):
        platform = PlatformFactory()
        for line in sent(platform, lines=2, sent_at=SENT_AT + timedelta(days=n * 3)):
            answer(line, Outcome.REMOVED, hours=1)

    with CaptureQueriesContext(connection) as queries:
        rows = compliance_figures(
            filters=MetricFilters(), group_by=["platform", "week", "actor"], now=NOW
        )

    assert (len(rows), len(queries)) == (requests, 1)


def test_it_refuses_an_unknown_grouping():
    with pytest.raises(DomainError):
        compliance_figures(filters=MetricFilters(), group_by=["colour"])


# --- filters from a query string ------------------------------------------------------


def test_it_reads_filters_from_a_query_string():
    query = QueryDict("start=2026-03-01&end=2026-04-01&tier=niche&platform=3&platform=4&actor=none")

    filters = MetricFilters.from_query(query)

    assert filters == MetricFilters(
        start=date(2026, 3, 1),
        end=date(2026, 4, 1),
        tiers=("niche",),
        platform_ids=(3, 4),
        actor_ids=(None,),
    )
    assert (
        MetricFilters.from_query(QueryDict("&".join(f"{k}={v}" for k, v in filters.to_query())))
        == filters
    )


@pytest.mark.parametrize(
    "query", ["start=yesterday", "tier=huge", "platform=x", "start=2026-03-02&end=2026-03-01"]
)
def test_it_refuses_bad_filters_with_a_message(query):
    with pytest.raises(DomainError):
        MetricFilters.from_query(QueryDict(query))


def test_it_narrows_filters_to_one_group():
    filters = MetricFilters(start=date(2026, 3, 4), tiers=("niche",))

    narrowed = filters.narrowed({"platform": 7, "platform_name": "X", "week": date(2026, 3, 2)})

    assert narrowed == MetricFilters(
        start=date(2026, 3, 4), end=date(2026, 3, 9), tiers=("niche",), platform_ids=(7,)
    )


def test_it_refuses_to_narrow_to_a_week_outside_the_period():
    with pytest.raises(DomainError):
        MetricFilters(start=date(2026, 3, 9)).narrowed({"week": date(2026, 3, 2)})


def test_it_counts_the_same_items_with_narrowed_filters_as_in_the_group(platform):
    sent(platform, lines=2)
    sent(PlatformFactory(), lines=1, sent_at=SENT_AT + timedelta(days=7))
    rows = compliance_figures(filters=MetricFilters(), group_by=["platform", "week"], now=NOW)

    narrowed = [
        compliance_figures(filters=MetricFilters().narrowed(r.group), now=NOW)[0].requested
        for r in rows
    ]
    assert narrowed == [r.requested for r in rows] == [2, 1]


def test_it_lists_the_items_behind_one_refusal_type(platform):
    unable, refused, _pending = sent(platform, lines=3)
    answer(unable, Outcome.UNABLE, hours=1)
    answer(refused, Outcome.REFUSED_NOT_VIOLATING, hours=1)

    behind = request_items_behind(filters=MetricFilters(), figure="refusal:unable", group={})

    assert list(behind) == [unable]
