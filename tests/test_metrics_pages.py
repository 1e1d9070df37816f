"""The compliance pages: league table, drill-down, scorecard, weekly trends, their CSVs."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import Outcome, RequestType, VerificationStatus
from metrics.figures import MetricFilters
from metrics.models import MetricSnapshot
from metrics.selectors import compliance_figures
from metrics.services import snapshot_build
from platforms.models import PlatformTier
from tests.factories import (
    PlatformFactory,
    RequestItemFactory,
    SentRequestFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday
SENT = NOW - timedelta(days=2)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _lines(platform, outcomes, *, sent=SENT, request_type=RequestType.REFERRAL, **request):
    """One sent request to ``platform`` with a line per outcome (answered an hour later)."""
    removal = request_type == RequestType.REMOVAL_ORDER
    rr = SentRequestFactory(platform=platform, sent_at=sent, removal_order=removal, **request)
    lines = []
    for outcome in outcomes:
        answered = outcome not in (Outcome.PENDING, Outcome.NO_RESPONSE)
        removed = outcome in (Outcome.REMOVED, Outcome.ACCESS_DISABLED, Outcome.ALREADY_GONE)
        lines.append(
            RequestItemFactory(
                request=rr,
                outcome=outcome,
                outcome_at=sent + timedelta(hours=1) if answered else None,
                first_response_at=sent + timedelta(hours=1) if answered else None,
                first_removal_at=sent + timedelta(hours=1) if removed else None,
            )
        )
    return rr, lines


@pytest.fixture
def two_platforms():
    big = PlatformFactory(name="Bigface", tier=PlatformTier.MAINSTREAM)
    small = PlatformFactory(name="Smallpaste", tier=PlatformTier.NICHE)
    _lines(big, [Outcome.REMOVED, Outcome.REMOVED, Outcome.PENDING, Outcome.UNABLE])
    _lines(small, [Outcome.REMOVED, Outcome.REFUSED_NOT_VIOLATING])
    return big, small


def _row_names(html: str, caption: str = "Platforms, sortable by any column") -> list[str]:
    table = html.split(caption, 1)[1].split("</table>", 1)[0]
    return re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a></th>', table)


def _tiers_column(html: str) -> list[str]:
    table = html.split("Platforms, sortable by any column", 1)[1].split("</table>", 1)[0]
    return re.findall(r"</a></th>\s*<td>([^<]+)</td>", table)


# --- league table ---------------------------------------------------------------------------


def test_it_lists_mainstream_and_niche_platforms_with_their_tier(client, dave, two_platforms):
    client.force_login(dave)
    html = client.get(reverse("metrics:league")).content.decode()
    assert _row_names(html) == ["Bigface", "Smallpaste"]
    assert _tiers_column(html) == ["Mainstream", "Niche"]
    assert "Figures per tier" in html


def test_it_sorts_the_league_by_any_figure(client, dave):
    client.force_login(dave)
    for name, outcomes in [
        ("Alpha", [Outcome.REMOVED, Outcome.PENDING]),  # 50 %
        ("Bravo", [Outcome.REMOVED]),  # 100 %
        ("Charlie", [Outcome.PENDING]),  # 0 %
    ]:
        _lines(PlatformFactory(name=name, tier=PlatformTier.NICHE), outcomes)
    url = reverse("metrics:league")
    best_first = client.get(url, {"sort": "removal_rate", "order": "desc"}).content.decode()
    worst_first = client.get(url, {"sort": "removal_rate", "order": "asc"}).content.decode()
    assert _row_names(best_first) == ["Bravo", "Alpha", "Charlie"]
    assert _row_names(worst_first) == ["Charlie", "Alpha", "Bravo"]


def test_it_links_each_figure_to_exactly_the_items_behind_it(client, dave, two_platforms):
    client.force_login(dave)
    big, _small = two_platforms
    [figures] = compliance_figures(filters=MetricFilters(platform_ids=(big.pk,)), now=NOW)
    snapshot_build(now=NOW)
    html = client.get(reverse("metrics:league")).content.decode()
    links = re.findall(rf'href="(/metrics/items/\?figure=removed&amp;platform={big.pk})"', html)
    assert links
    page = client.get(links[0].replace("&amp;", "&"))
    assert page.status_code == 200
    assert page.context["total"] == figures.removed == 2
    assert len(page.context["page"].rows) == 2


def test_it_lists_every_refusal_behind_the_refused_column(client, dave, two_platforms):
    client.force_login(dave)
    page = client.get(reverse("metrics:items"), {"figure": "refused"})
    outcomes = sorted(line.outcome for line in page.context["page"].rows)
    assert outcomes == [Outcome.REFUSED_NOT_VIOLATING, Outcome.UNABLE]


def test_it_lists_the_items_of_one_week(client, dave):
    client.force_login(dave)
    platform = PlatformFactory()
    _lines(platform, [Outcome.REMOVED], sent=SENT)
    _lines(platform, [Outcome.REMOVED], sent=SENT - timedelta(days=7))
    monday = (SENT.date() - timedelta(days=SENT.weekday())).isoformat()
    page = client.get(reverse("metrics:items"), {"figure": "removed", "week": monday})
    assert page.context["total"] == 1


def test_it_shows_a_dash_for_the_rates_of_an_empty_week(client, dave):
    client.force_login(dave)
    _lines(PlatformFactory(), [Outcome.REMOVED])
    html = client.get(reverse("metrics:trends")).content.decode()
    assert "100.0 %" in html  # this week
    empty_week = html.split("2026-W46</th>", 1)[1].split("</tr>", 1)[0]
    assert "—" in empty_week
    assert "0.0 %" not in empty_week


def test_it_refuses_filters_it_cannot_read_with_a_message(client, dave):
    client.force_login(dave)
    response = client.get(reverse("metrics:league"), {"start": "yesterday"})
    assert response.status_code == 400
    assert "Enter a valid date" in response.content.decode()


def test_it_refuses_a_period_that_ends_before_it_starts(client, dave):
    client.force_login(dave)
    response = client.get(reverse("metrics:trends"), {"start": "2026-11-10", "end": "2026-11-01"})
    assert response.status_code == 400
    assert "The end of the period must be after its start." in response.content.decode()


def test_it_refuses_a_drilldown_without_a_known_figure(client, dave):
    client.force_login(dave)
    response = client.get(reverse("metrics:items"), {"figure": "nonsense"})
    assert response.status_code == 400
    assert "Choose which figure" in response.content.decode()


def test_it_runs_as_many_queries_for_ten_platforms_as_for_one(client, dave):
    client.force_login(dave)
    url = reverse("metrics:league")
    _lines(PlatformFactory(tier=PlatformTier.NICHE), [Outcome.REMOVED])
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    for index in range(9):
        tier = PlatformTier.NICHE if index % 2 else PlatformTier.MAINSTREAM
        _lines(PlatformFactory(tier=tier), [Outcome.REMOVED, Outcome.PENDING])
    with CaptureQueriesContext(connection) as ten:
        assert client.get(url).status_code == 200
    assert len(ten) == len(one)


def test_it_reads_the_snapshot_when_nothing_but_the_tier_is_filtered(client, dave, two_platforms):
    client.force_login(dave)
    snapshot_build(now=NOW - timedelta(hours=3))
    unfiltered = client.get(reverse("metrics:league"))
    assert unfiltered.context["league"].from_snapshot
    assert "Figures as of 2026-11-18 09:00" in unfiltered.content.decode()
    niche = client.get(reverse("metrics:league"), {"tier": PlatformTier.NICHE})
    assert niche.context["league"].from_snapshot
    assert _row_names(niche.content.decode()) == ["Smallpaste"]
    assert "page 1 of 1 (1 platforms)" in niche.content.decode()
    filtered = client.get(reverse("metrics:league"), {"request_type": RequestType.REFERRAL})
    assert not filtered.context["league"].from_snapshot
    assert "Figures computed live" in filtered.content.decode()


def test_it_exports_the_league_as_csv_with_empty_cells_for_empty_rates(client, dave, two_platforms):
    client.force_login(dave)
    response = client.get(reverse("metrics:league_csv"))
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = {r["platform"]: r for r in csv.DictReader(io.StringIO(body))}
    assert rows["Bigface"]["removed"] == "2"
    assert rows["Bigface"]["removal_rate"] == "0.5"
    assert rows["Smallpaste"]["median_hours_to_removal"] == "1.0"


# --- scorecard and trends ----------------------------------------------------------------------


def test_it_draws_the_scorecard_charts_with_a_data_table_each(client, dave, two_platforms):
    client.force_login(dave)
    big, _small = two_platforms
    html = client.get(reverse("metrics:scorecard", args=[big.pk])).content.decode()
    charts = re.findall(r'<svg viewBox[^>]*role="img" aria-labelledby="([^"]+)"', html)
    assert charts == [
        "chart-rates-title chart-rates-desc",
        "chart-verified-title chart-verified-desc",
    ]
    assert html.count("<details") == 2
    assert "Show the data" in html
    assert "style=" not in html


def test_it_shows_verified_and_claimed_removals_on_the_scorecard(client, dave):
    client.force_login(dave)
    platform = PlatformFactory()
    _rr, lines = _lines(platform, [Outcome.REMOVED, Outcome.REMOVED])
    item = lines[0].item
    item.verification = VerificationStatus.GONE
    item.save()
    response = client.get(reverse("metrics:scorecard", args=[platform.pk]))
    totals = {c.column.key: c.value for c in response.context["totals"].cells}
    assert (totals["removed"], totals["verified_removal_rate"]) == (2, 0.5)
    html = response.content.decode()
    verified = re.search(r'<a href="([^"]+)">1</a> items were found gone by a check', html)
    assert verified
    assert client.get(verified.group(1).replace("&amp;", "&")).context["total"] == 1


def test_it_links_the_scorecard_from_the_platform_page(client, dave, platform):
    client.force_login(dave)
    html = client.get(reverse("platforms:detail", args=[platform.pk])).content.decode()
    assert reverse("metrics:scorecard", args=[platform.pk]) in html


def test_it_exports_the_weekly_trends_as_csv(client, dave):
    client.force_login(dave)
    _lines(PlatformFactory(), [Outcome.REMOVED, Outcome.PENDING])
    response = client.get(reverse("metrics:trends_csv"))
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 12
    assert (rows[-1]["iso_week"], rows[-1]["requested"], rows[-1]["removed"]) == (
        "2026-W47",
        "2",
        "1",
    )
    assert rows[0]["removal_rate"] == ""  # an empty week: no rate, not 0


# --- permissions -------------------------------------------------------------------------------

PAGES = ["metrics:league", "metrics:trends", "metrics:report", "metrics:league_csv"]


@pytest.mark.parametrize("name", PAGES)
def test_it_sends_anonymous_visitors_to_sign_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302


@pytest.mark.parametrize("name", PAGES)
def test_it_refuses_an_account_without_the_figures_permission(client, role_groups, name):
    client.force_login(UserFactory(username="nobody"))
    assert client.get(reverse(name)).status_code == 403


def test_it_lets_only_supervisors_recompute_the_snapshot(client, alice):
    client.force_login(alice)
    assert client.post(reverse("metrics:refresh")).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_it_recomputes_the_snapshot_for_a_supervisor_and_audits_it(client, bob):
    from core.audit import audit_history

    client.force_login(bob)
    response = client.post(reverse("metrics:refresh"))
    assert response.status_code == 302
    snapshot = MetricSnapshot.objects.get(is_current=True)
    assert snapshot.computed_by == bob
    assert audit_history(snapshot).filter(action="metrics.snapshot_refreshed").exists()


def test_it_never_recomputes_on_get(client, bob):
    client.force_login(bob)
    assert client.get(reverse("metrics:refresh")).status_code == 405
    assert not MetricSnapshot.objects.exists()


def test_it_refuses_trends_over_more_than_three_years(client, dave):
    client.force_login(dave)
    response = client.get(reverse("metrics:trends"), {"start": "2020-01-06", "end": "2026-01-05"})
    assert response.status_code == 400
    assert "at most 160 weeks" in response.content.decode()


@pytest.mark.parametrize("page", ["trends", "scorecard", "report", "items"])
def test_it_runs_a_fixed_number_of_queries_whatever_the_data(client, dave, page):
    client.force_login(dave)
    first = PlatformFactory()

    def url() -> str:
        return {
            "trends": reverse("metrics:trends"),
            "scorecard": reverse("metrics:scorecard", args=[first.pk]),
            "report": reverse("metrics:report") + "?start=2026-10-01&end=2026-12-01",
            "items": reverse("metrics:items") + "?figure=requested",
        }[page]

    _lines(first, [Outcome.REMOVED])
    with CaptureQueriesContext(connection) as one:
        assert client.get(url()).status_code == 200
    for _ in range(6):
        platform = PlatformFactory()
        _lines(platform, [Outcome.REMOVED, Outcome.PENDING])
        _lines(first, [Outcome.UNABLE], sent=SENT - timedelta(days=20))
    with CaptureQueriesContext(connection) as many:
        assert client.get(url()).status_code == 200
    assert len(many) == len(one)
