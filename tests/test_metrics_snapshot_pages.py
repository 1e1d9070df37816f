"""The /metrics/ pages read the snapshot: fixed queries whatever the platforms, paged league,
figures equal to the live ones, a clear fallback before the first snapshot."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import Outcome, RequestType
from metrics.figures import MetricFilters
from metrics.report import transparency_report
from metrics.selectors import compliance_figures
from metrics.services import snapshot_build
from metrics.stored import current_snapshot, stored_report, stored_tiers
from platforms.models import PlatformTier
from tests.factories import PlatformFactory, RequestItemFactory, SentRequestFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday; last full quarter: Q3
IN_Q3 = datetime(2026, 8, 12, 9, 0, tzinfo=UTC)
MAX_QUERIES = 10


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _lines(platform, outcomes, *, sent=NOW - timedelta(days=2), request_type=RequestType.REFERRAL):
    removal = request_type == RequestType.REMOVAL_ORDER
    request = SentRequestFactory(platform=platform, sent_at=sent, removal_order=removal)
    for outcome in outcomes:
        answered = outcome not in (Outcome.PENDING, Outcome.NO_RESPONSE)
        removed = outcome in (Outcome.REMOVED, Outcome.ACCESS_DISABLED, Outcome.ALREADY_GONE)
        RequestItemFactory(
            request=request,
            outcome=outcome,
            outcome_at=sent + timedelta(hours=3) if answered else None,
            first_response_at=sent + timedelta(hours=3) if answered else None,
            first_removal_at=sent + timedelta(hours=5) if removed else None,
        )


def _platforms(count, *, start=0):
    """``count`` platforms, each with its own mix of outcomes this week and in Q3."""
    mix = [Outcome.REMOVED, Outcome.PENDING, Outcome.UNABLE, Outcome.ACCESS_DISABLED]
    for index in range(start, start + count):
        tier = PlatformTier.MAINSTREAM if index % 3 == 0 else PlatformTier.NICHE
        platform = PlatformFactory(name=f"Platform {index:03d}", tier=tier)
        _lines(platform, mix[: 1 + index % 4])
        _lines(platform, mix[index % 2 :], sent=IN_Q3, request_type=RequestType.REMOVAL_ORDER)


def _row_names(html: str) -> list[str]:
    table = html.split("Platforms, sortable by any column", 1)[1].split("</table>", 1)[0]
    return re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a></th>', table)


def _pages(platform_id: int) -> dict[str, str]:
    return {
        "league": reverse("metrics:league"),
        "league, niche": reverse("metrics:league") + "?tier=niche",
        "league, by removal rate": reverse("metrics:league") + "?sort=removal_rate&order=desc",
        "league CSV": reverse("metrics:league_csv"),
        "trends": reverse("metrics:trends"),
        "trends CSV": reverse("metrics:trends_csv"),
        "scorecard": reverse("metrics:scorecard", args=[platform_id]),
        "scorecard CSV": reverse("metrics:scorecard_csv", args=[platform_id]),
        "report": reverse("metrics:report"),
        "report CSV": reverse("metrics:report_csv"),
        "items": reverse("metrics:items") + "?figure=removed",
    }


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        assert response.status_code == 200, url
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
    return len(queries)


def test_it_costs_the_same_queries_for_3_and_30_platforms_on_every_page(client, dave):
    client.force_login(dave)
    _platforms(3)
    snapshot_build(now=NOW)
    first = PlatformFactory._meta.model.objects.order_by("pk").first()
    few = {name: _queries(client, url) for name, url in _pages(first.pk).items()}
    _platforms(27, start=3)
    snapshot_build(now=NOW)
    many = {name: _queries(client, url) for name, url in _pages(first.pk).items()}
    # The drill-down's keyset page (core.pagination) reads one query fewer once it is full.
    assert many.pop("items") <= few.pop("items") <= MAX_QUERIES
    assert many == few
    assert max(many.values()) <= MAX_QUERIES, many


def test_it_computes_filtered_pages_live_in_the_same_queries_for_3_and_30_platforms(client, dave):
    client.force_login(dave)
    _platforms(3)
    snapshot_build(now=NOW)  # there is a snapshot, but it does not hold these filters
    first = PlatformFactory._meta.model.objects.order_by("pk").first()
    query = "?request_type=removal_order&start=2026-07-01"
    urls = {
        "league": reverse("metrics:league") + query,
        "league CSV": reverse("metrics:league_csv") + query,
        "trends": reverse("metrics:trends") + query,
        "scorecard": reverse("metrics:scorecard", args=[first.pk]) + query,
        "report, another period": reverse("metrics:report") + "?start=2026-08-01&end=2026-09-01",
    }
    few = {name: _queries(client, url) for name, url in urls.items()}
    _platforms(27, start=3)
    many = {name: _queries(client, url) for name, url in urls.items()}
    assert many == few
    assert max(many.values()) <= MAX_QUERIES, many
    assert not client.get(urls["league"]).context["league"].from_snapshot


def test_it_shows_the_snapshot_figures_not_what_was_sent_since(client, dave):
    client.force_login(dave)
    platform = PlatformFactory(name="Steady", tier=PlatformTier.NICHE)
    _lines(platform, [Outcome.REMOVED, Outcome.PENDING])
    snapshot_build(now=NOW - timedelta(hours=1))
    _lines(platform, [Outcome.REMOVED, Outcome.REMOVED, Outcome.REMOVED])  # after the snapshot
    for url in [
        reverse("metrics:league"),
        reverse("metrics:scorecard", args=[platform.pk]),
        reverse("metrics:trends"),
    ]:
        response = client.get(url)
        html = response.content.decode()
        assert "Figures as of 2026-11-18 11:00" in html, url
        assert "50.0 %" in html, url  # 1 of 2 removed, as of the snapshot
        assert "80.0 %" not in html, url  # 4 of 5: the live figure


def test_it_pages_the_league_keeping_the_sort(client, dave, monkeypatch):
    monkeypatch.setattr("metrics.views.league.LEAGUE_PAGE_SIZE", 3)
    client.force_login(dave)
    for name, requested in [("Ant", 2), ("Bee", 7), ("Cat", 5), ("Dog", 1), ("Eel", 4)]:
        _lines(PlatformFactory(name=name), [Outcome.PENDING] * requested)
    snapshot_build(now=NOW)
    url = reverse("metrics:league")
    first = client.get(url, {"sort": "requested", "order": "desc"})
    assert _row_names(first.content.decode()) == ["Bee", "Cat", "Eel"]
    next_url = first.context["next_url"]
    assert "sort=requested" in next_url and "page=2" in next_url
    second = client.get(url + next_url)
    assert _row_names(second.content.decode()) == ["Ant", "Dog"]
    assert "page 2 of 2 (5 platforms)" in second.content.decode()
    assert second.context["next_url"] == ""
    # A new order starts again at page 1.
    headers = {h.key: h.url for h in second.context["headers"]}
    assert "page=" not in headers["name"]
    by_name = client.get(url + headers["name"])  # A-Z
    assert _row_names(by_name.content.decode()) == ["Ant", "Bee", "Cat"]


def test_it_orders_the_snapshot_league_as_the_live_one_for_every_column(client, dave, monkeypatch):
    """SQL over the stored rows and Python over the live rows sort alike (empty values last)."""
    monkeypatch.setattr("metrics.views.league.LEAGUE_PAGE_SIZE", 100)
    client.force_login(dave)
    _platforms(9)
    PlatformFactory(name="Platform empty")  # nothing sent: not in either league
    snapshot_build(now=NOW)
    url = reverse("metrics:league")
    live_period = {"start": "2020-01-06"}  # a filter the snapshot does not hold: computed live
    for key in [h.key for h in client.get(url).context["headers"]]:
        for order in ("asc", "desc"):
            stored = client.get(url, {"sort": key, "order": order})
            assert stored.context["league"].from_snapshot
            live = client.get(
                url, {"sort": key, "order": order, **live_period, "end": "2026-12-01"}
            )
            assert live.status_code == 400  # more than 53 weeks: refused, not computed
            live = client.get(url, {"sort": key, "order": order, "start": "2026-01-05"})
            assert not live.context["league"].from_snapshot
            stored_names = _row_names(stored.content.decode())
            assert len(stored_names) == 9
            # Q3 and this week are both inside 2026: the live rows are the same platforms.
            assert stored_names == _row_names(live.content.decode()), (key, order)


def test_it_exports_every_platform_of_the_league_not_one_page(client, dave, monkeypatch):
    monkeypatch.setattr("metrics.views.league.LEAGUE_PAGE_SIZE", 2)
    client.force_login(dave)
    _platforms(5)
    snapshot_build(now=NOW)
    response = client.get(reverse("metrics:league_csv"), {"sort": "requested", "order": "desc"})
    assert response.streaming
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    )
    assert len(rows) == 5
    assert [int(r["requested"]) for r in rows] == sorted(
        (int(r["requested"]) for r in rows), reverse=True
    )
    live = compliance_figures(filters=MetricFilters(), group_by=("platform",), now=NOW)
    assert {r["platform"]: int(r["removed"]) for r in rows} == {
        f.group["platform_name"]: f.removed for f in live
    }


def test_it_stores_tier_figures_equal_to_the_live_ones():
    _platforms(7)
    snapshot_build(now=NOW)
    live = compliance_figures(filters=MetricFilters(), group_by=("tier",), now=NOW)
    assert stored_tiers(current_snapshot(), tier=None) == live
    assert [f.requested for f in live] == [19, 22]  # known answer: platforms 0, 3, 6 mainstream


def test_it_stores_the_default_report_equal_to_the_live_one(client, dave):
    _platforms(6)
    snapshot_build(now=NOW)
    live = transparency_report(
        start=datetime(2026, 7, 1).date(), end=datetime(2026, 10, 1).date(), now=NOW
    )
    stored = stored_report(current_snapshot())
    assert stored == replace(live, generated_at=stored.generated_at)
    assert stored.orders.total == 6 and stored.order_outcomes.items == 21  # known answer
    client.force_login(dave)
    page = client.get(reverse("metrics:report"))
    assert page.context["from_snapshot"]
    assert page.context["report"].orders == live.orders
    chosen = client.get(reverse("metrics:report"), {"start": "2026-07-01", "end": "2026-09-01"})
    assert not chosen.context["from_snapshot"]  # another period: computed live


def test_it_says_clearly_when_there_is_no_snapshot_yet(client, dave):
    client.force_login(dave)
    _platforms(2)
    response = client.get(reverse("metrics:league"))
    html = response.content.decode()
    assert "No snapshot has been computed yet." in html
    assert "Figures computed live at 2026-11-18 12:00, for requests sent from 2026-08-31" in html
    assert response.context["league"].filters.start.isoformat() == "2026-08-31"  # 12 weeks


def test_it_refuses_a_live_period_of_more_than_53_weeks(client, dave):
    client.force_login(dave)
    for name in ["metrics:league", "metrics:league_csv"]:
        response = client.get(reverse(name), {"start": "2025-01-01", "request_type": "referral"})
        assert response.status_code == 400, name
        assert "at most 53 weeks" in response.content.decode()


def test_it_offers_the_platform_filter_as_a_name_input_not_a_select(client, dave):
    client.force_login(dave)
    platform = PlatformFactory(name="Zeta Paste")
    url = reverse("metrics:league")
    options = client.get(url).content.decode().count("<option")
    for _ in range(30):
        PlatformFactory()
    html = client.get(url, {"platform": platform.pk}).content.decode()
    assert 'value="Zeta Paste"' in html
    assert html.count("<option") == options  # tiers, kinds, countries ... not the platforms
    assert client.get(reverse("metrics:league"), {"platform": "zeta paste"}).status_code == 200


def test_it_counts_the_items_behind_a_figure_up_to_a_cap(client, dave, monkeypatch):
    monkeypatch.setattr("metrics.views.league.DRILLDOWN_COUNT_CAP", 2)
    client.force_login(dave)
    _lines(PlatformFactory(), [Outcome.REMOVED] * 3)
    response = client.get(reverse("metrics:items"), {"figure": "removed"})
    assert "More than 2 request items" in response.content.decode()
    assert len(response.context["page"].rows) == 3  # the list itself is not capped
    response = client.get(reverse("metrics:items"), {"figure": "requested", "week": "2026-11-09"})
    assert "0 request items" in response.content.decode()
