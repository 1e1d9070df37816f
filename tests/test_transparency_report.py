"""The transparency report (TCO Art. 8 shape, plus referrals): HTML, PDF and CSV."""

from __future__ import annotations

import csv
import io
import re
import time
import zlib
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse

from cases.models import LegalBasis, Outcome, RequestType
from core.pdf import local_static_fetcher
from metrics.figures import FIGURE_DEFINITIONS
from metrics.forms import last_full_quarter
from metrics.report import transparency_report
from tests.factories import PlatformFactory, RequestItemFactory, SentRequestFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
Q3 = {"start": "2026-07-01", "end": "2026-10-01"}
# 1 July 00:30 in London (BST) is still 30 June in UTC: inside the period.
FIRST_MINUTES = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
# 30 June 23:59 in London: outside.
JUST_BEFORE = datetime(2026, 6, 30, 22, 59, tzinfo=UTC)
MID = datetime(2026, 8, 12, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _request(platform, outcomes, *, sent, request_type=RequestType.REMOVAL_ORDER, **fields):
    rr = SentRequestFactory(
        platform=platform,
        sent_at=sent,
        removal_order=request_type == RequestType.REMOVAL_ORDER,
        **fields,
    )
    for outcome in outcomes:
        answered = outcome not in (Outcome.PENDING, Outcome.NO_RESPONSE)
        RequestItemFactory(
            request=rr,
            outcome=outcome,
            first_response_at=sent + timedelta(hours=2) if answered else None,
            first_removal_at=sent + timedelta(hours=2) if outcome == Outcome.REMOVED else None,
        )
    return rr


@pytest.fixture
def quarter():
    """Three orders in Q3 (abroad, at home, country unknown), one just before it, one referral."""
    abroad = PlatformFactory(name="Auslandpaste", country="DE")
    home = PlatformFactory(name="Homeshare", country="GB")
    nowhere = PlatformFactory(name="Nowhere", country="")
    _request(
        abroad,
        [Outcome.REMOVED, Outcome.ACCESS_DISABLED, Outcome.UNABLE, Outcome.NO_RESPONSE],
        sent=FIRST_MINUTES,
        is_emergency=True,
    )
    _request(
        home,
        [Outcome.ALREADY_GONE, Outcome.REFUSED_NO_JURISDICTION],
        sent=MID,
        legal_basis=LegalBasis.TERRORISM_ACT_2006,
    )
    _request(nowhere, [Outcome.PENDING], sent=MID)
    _request(abroad, [Outcome.REMOVED], sent=JUST_BEFORE)  # the previous quarter
    _request(
        abroad,
        [Outcome.REMOVED, Outcome.PENDING, Outcome.REFUSED_NOT_VIOLATING],
        sent=MID,
        request_type=RequestType.REFERRAL,
    )


def _cell(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert match, element_id
    return match.group(1).strip()


# --- the figures ------------------------------------------------------------------------------


@override_settings(UNIT_COUNTRY="GB")
def test_it_counts_the_orders_issued_in_the_period(quarter):
    report = transparency_report(start=date(2026, 7, 1), end=date(2026, 10, 1))
    orders = report.orders
    assert (orders.total, orders.emergency) == (3, 1)
    assert (orders.cross_border, orders.domestic, orders.country_unknown) == (1, 1, 1)
    assert {c.key: c.count for c in orders.by_legal_basis} == {
        LegalBasis.TCO_REGULATION: 2,
        LegalBasis.TERRORISM_ACT_2006: 1,
    }


def test_it_splits_the_orders_content_into_removed_and_not_with_reasons(quarter):
    outcomes = transparency_report(start=date(2026, 7, 1), end=date(2026, 10, 1)).order_outcomes
    assert (outcomes.items, outcomes.removed, outcomes.not_removed) == (7, 3, 4)
    not_removed = {c.key: c.count for c in outcomes.not_removed_by_reason if c.count}
    assert not_removed == {
        Outcome.UNABLE: 1,
        Outcome.NO_RESPONSE: 1,
        Outcome.REFUSED_NO_JURISDICTION: 1,
        Outcome.PENDING: 1,
    }


def test_it_reports_referrals_beside_the_orders(quarter):
    referrals = transparency_report(start=date(2026, 7, 1), end=date(2026, 10, 1)).referrals
    assert (referrals.requests, referrals.figures.requested, referrals.figures.removed) == (1, 3, 1)


@override_settings(UNIT_COUNTRY="DE")
def test_it_counts_cross_border_against_the_units_country(quarter):
    orders = transparency_report(start=date(2026, 7, 1), end=date(2026, 10, 1)).orders
    assert (orders.cross_border, orders.domestic) == (1, 1)  # now the British one is abroad


def test_it_defaults_to_the_last_full_quarter():
    assert last_full_quarter(date(2026, 11, 18)) == (date(2026, 7, 1), date(2026, 10, 1))
    assert last_full_quarter(date(2026, 2, 1)) == (date(2025, 10, 1), date(2026, 1, 1))


# --- HTML ---------------------------------------------------------------------------------------


@override_settings(UNIT_COUNTRY="GB")
def test_it_prints_every_section_with_its_numbers(client, dave, quarter):
    client.force_login(dave)
    html = client.get(reverse("metrics:report"), Q3).content.decode()
    assert "Period: 2026-07-01 to 2026-09-30 inclusive" in html
    assert _cell(html, "orders-total") == "3"
    assert _cell(html, "orders-cross-border") == "1"
    assert _cell(html, "orders-removed") == "3"
    assert _cell(html, "orders-not-removed") == "4"
    assert _cell(html, "referrals-requested") == "3"
    assert _cell(html, "referrals-removal-rate") == "33.3 %"
    for name in ("Auslandpaste", "Homeshare", "Nowhere"):
        assert f'<th scope="row">{name}</th>' in html


def test_it_prints_the_methodology_with_every_definition(client, dave):
    client.force_login(dave)
    html = client.get(reverse("metrics:report"), Q3).content.decode()
    for key, _label, _definition in FIGURE_DEFINITIONS:
        assert f"<code>{key}</code>" in html
    assert "cross-border (TCO Art. 4)" in html
    assert "half-open" in html


def test_it_shows_the_last_full_quarter_when_no_period_is_chosen(client, dave):
    client.force_login(dave)
    response = client.get(reverse("metrics:report"))
    assert response.status_code == 200
    assert "Period: 2026-07-01 to 2026-09-30 inclusive" in response.content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2026-13-01", "end": "2026-10-01"}, "Enter a valid date."),
        ({"start": "2026-10-01", "end": "2026-07-01"}, "must be after its start"),
        ({"start": "2026-07-01"}, "This field is required."),
    ],
)
def test_it_refuses_a_bad_period_with_a_message(client, dave, params, message):
    client.force_login(dave)
    for name in ("metrics:report", "metrics:report_pdf", "metrics:report_csv"):
        response = client.get(reverse(name), params)
        assert response.status_code == 400
        assert message in response.content.decode()


def test_it_refuses_an_account_without_the_figures_permission(client, role_groups):
    client.force_login(UserFactory(username="nobody"))
    assert client.get(reverse("metrics:report_pdf"), Q3).status_code == 403


# --- PDF and CSV ---------------------------------------------------------------------------------


def _inflated(pdf: bytes) -> bytes:
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL)
    out = []
    for stream in streams:
        try:
            out.append(zlib.decompress(stream))
        except zlib.error:
            continue  # not Flate-compressed (e.g. a font program)
    return b"".join(out)


def test_it_renders_a_pdf_without_touching_the_network(client, dave, quarter):
    client.force_login(dave)
    started = time.perf_counter()
    response = client.get(reverse("metrics:report_pdf"), Q3)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert len(pdf) > 10_000  # text and an embedded font, not an empty page
    # No PDF reader is installed: the section headings are in the outline (bookmarks),
    # inside compressed object streams.
    assert b"5. Methodology" in _inflated(pdf)
    assert elapsed < 30
    assert response["Server-Timing"].startswith("pdf;dur=")


def test_it_fetches_only_its_own_static_files_for_the_pdf():
    css = local_static_fetcher("https://desk.invalid/static/css/report.css")
    assert b"@page" in css["string"]
    for url in (
        "https://example.org/static/css/report.css",
        "https://desk.invalid/media/evidence.warc",
        "file:///etc/passwd",
        "https://desk.invalid/static/../../etc/passwd",
    ):
        with pytest.raises(ValueError, match=r"fetches nothing|No static file"):
            local_static_fetcher(url)


@override_settings(UNIT_COUNTRY="GB")
def test_it_exports_the_report_as_csv(client, dave, quarter):
    client.force_login(dave)
    response = client.get(reverse("metrics:report_csv"), Q3)
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = {(r[0], r[1]): r[2] for r in csv.reader(io.StringIO(body))}
    assert rows[("removal_orders", "issued")] == "3"
    assert rows[("removal_orders", "cross_border")] == "1"
    assert rows[("removal_order_items_not_removed", "no_response")] == "1"
    assert rows[("referrals", "removal_rate")] == "0.3333"
    assert rows[("platform:Auslandpaste", "requested")] == "7"
