"""CSV exports: streamed in constant memory, formula injection neutralised, lists' filters kept."""

from __future__ import annotations

import csv
import io
import tracemalloc
from pathlib import Path

import pytest
from django.core.management import call_command
from django.http import StreamingHttpResponse
from django.urls import reverse

from cases.models import Case, Item, ItemStatus, RequestState
from core.csv_export import FORMULA_TRIGGERS, export_cell, is_formula_like, neutralise
from metrics.management.commands.bench_export import insert_bench_items
from platforms.models import Platform, PlatformTier
from tests.factories import (
    ActorFactory,
    CaseFactory,
    ItemFactory,
    PlatformDomainFactory,
    PlatformFactory,
    RemovalRequestFactory,
    SentRequestFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "csv-injection"
PAYLOAD_FILE = CORPUS / "csv-payload.txt"


def _payloads() -> list[str]:
    if not PAYLOAD_FILE.exists():
        pytest.skip(f"The shared corpora are missing at {CORPUS}.")
    # The file's last line has no newline; splitlines() keeps every payload whole.
    return [line for line in PAYLOAD_FILE.read_text(encoding="utf-8").splitlines() if line]


def _rows(response: StreamingHttpResponse) -> list[dict[str, str]]:
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff"), "Excel needs the BOM to read UTF-8"
    return list(csv.DictReader(io.StringIO(body[1:])))


def _export(client, name: str, **params: str) -> list[dict[str, str]]:
    response = client.get(reverse(f"{name}:export"), params)
    assert response.status_code == 200, response.content
    return _rows(response)


def _starts_with_trigger(cell: str) -> bool:
    return bool(cell) and cell[0] in FORMULA_TRIGGERS


# --- the neutraliser ------------------------------------------------------------------------


def test_it_neutralises_every_payload_of_the_corpus():
    for payload in _payloads():
        cell = neutralise(payload)
        assert not _starts_with_trigger(cell), payload
        assert cell in (payload, "'" + payload)


FORMULA_LIKE = ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", " =1+1", "\u200b=1"]
FULL_WIDTH = ["\uff1d1+1", "\uff20SUM(1)"]  # full-width = and @


@pytest.mark.parametrize("text", [*FORMULA_LIKE, *FULL_WIDTH])
def test_it_prefixes_a_quote_to_formula_like_text(text):
    assert is_formula_like(text)
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["https://x.example/=1", "plain", "", "a-b", "DDE is text"])
def test_it_leaves_ordinary_text_alone(text):
    assert neutralise(text) == text


def test_it_keeps_numbers_as_numbers_even_when_negative():
    assert export_cell(-3) == -3
    assert export_cell(True) == "yes"
    assert export_cell(None) == ""


def test_it_exports_the_neutralised_payload_and_keeps_the_stored_value(client, dave):
    client.force_login(dave)
    payloads = _payloads()
    text_columns = ("url_normalised", "url_submitted", "host", "platform", "case", "referred_by")
    items = []
    for index, payload in enumerate(payloads):
        # The payload in every free-text field the item export shows.
        items.append(
            ItemFactory(
                url_normalised=payload,
                url_submitted=payload,
                host=payload,
                platform=PlatformFactory(name=payload),
                case=CaseFactory(title=payload),
                created_by=UserFactory(username=f"{payload[:140]}{index}"),
            )
        )
    by_id = {int(row["id"]): row for row in _export(client, "items")}
    for item, payload in zip(items, payloads, strict=True):
        row = by_id[item.pk]
        for column in text_columns:
            assert not _starts_with_trigger(row[column]), (column, payload)
        # Read back through the csv module: exactly the neutralised text.
        assert row["url_submitted"] == neutralise(payload)
        stored = Item.objects.select_related("platform", "case").get(pk=item.pk)
        assert (stored.url_submitted, stored.url_normalised, stored.host) == (payload,) * 3
        assert (stored.platform.name, stored.case.title) == (payload, payload)


def test_it_neutralises_payloads_in_every_list_export(client, dave):
    client.force_login(dave)
    payload = _payloads()[-1]
    actor = ActorFactory(name=payload)
    case = CaseFactory(title=payload, actor=actor)
    platform = PlatformFactory(name=payload)
    PlatformDomainFactory(platform=platform, domain="payload.example")
    SentRequestFactory(platform=platform)
    cells = [
        _export(client, "cases")[0]["title"],
        _export(client, "cases")[0]["actor"],
        _export(client, "platforms")[0]["name"],
        _export(client, "requests")[0]["platform"],
    ]
    assert cells == ["'" + payload] * 4
    assert Case.objects.get(pk=case.pk).title == payload
    assert Platform.objects.get(pk=platform.pk).name == payload


# --- streaming ------------------------------------------------------------------------------


def _peak_while_streaming(client) -> tuple[int, int]:
    response = client.get(reverse("items:export"))
    assert isinstance(response, StreamingHttpResponse)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        size = sum(len(chunk) for chunk in response.streaming_content)
        return size, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_it_streams_ten_times_the_rows_in_about_the_same_memory(client, dave, platform):
    client.force_login(dave)
    insert_bench_items(rows=2_000, start=1, platform_id=platform.pk, user_id=dave.pk)
    small_bytes, small_peak = _peak_while_streaming(client)
    insert_bench_items(rows=18_000, start=2_001, platform_id=platform.pk, user_id=dave.pk)
    large_bytes, large_peak = _peak_while_streaming(client)
    assert large_bytes > 9 * small_bytes
    # Holding the rows would cost ten times as much; streaming holds one chunk either way
    # (measured: 2.3 MB for 2,000 rows, 3.1 MB for 20,000).
    assert large_peak < 2 * small_peak, (small_peak, large_peak)


def test_it_sends_a_dated_attachment_that_no_cache_keeps(client, dave):
    client.force_login(dave)
    response = client.get(reverse("items:export"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="items-20')
    assert response["Cache-Control"] == "no-store"


# --- each list: the same filters and permissions as its page --------------------------------


def test_it_exports_only_the_items_the_filters_select(client, dave, platform):
    client.force_login(dave)
    approved = ItemFactory(platform=platform, approved=True)
    ItemFactory(platform=platform)
    rows = _export(client, "items", status=ItemStatus.APPROVED)
    assert [int(r["id"]) for r in rows] == [approved.pk]
    assert rows[0]["platform"] == "PasteBay"


def test_it_exports_items_in_the_lists_sort_order(client, dave, platform):
    client.force_login(dave)
    first, second = ItemFactory(platform=platform), ItemFactory(platform=platform)
    newest = [int(r["id"]) for r in _export(client, "items")]
    oldest = [int(r["id"]) for r in _export(client, "items", sort="oldest")]
    assert newest == [second.pk, first.pk]
    assert oldest == [first.pk, second.pk]


def test_it_exports_only_the_requests_the_filters_select(client, dave, platform):
    client.force_login(dave)
    sent = SentRequestFactory(platform=platform)
    RemovalRequestFactory(platform=platform)  # a draft
    rows = _export(client, "requests", state=RequestState.SENT)
    assert [r["reference"] for r in rows] == [sent.reference]


def test_it_exports_only_the_cases_the_filters_select(client, dave):
    client.force_login(dave)
    CaseFactory(title="Release A")
    CaseFactory(title="Something else")
    rows = _export(client, "cases", q="release")
    assert [r["title"] for r in rows] == ["Release A"]


def test_it_exports_only_the_platforms_the_filters_select(client, dave):
    client.force_login(dave)
    big = PlatformFactory(name="Big", tier=PlatformTier.MAINSTREAM)
    PlatformDomainFactory(platform=big, domain="b.example")
    PlatformDomainFactory(platform=big, domain="a.example")
    PlatformFactory(name="Small", tier=PlatformTier.NICHE)
    rows = _export(client, "platforms", tier=PlatformTier.MAINSTREAM)
    assert [(r["name"], r["domains"]) for r in rows] == [("Big", "a.example, b.example")]


def test_it_refuses_an_export_with_filters_it_cannot_read(client, dave):
    client.force_login(dave)
    response = client.get(reverse("items:export"), {"status": "<b>nonsense</b>"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert b"not valid" in response.content


@pytest.mark.parametrize("name", ["items", "requests", "cases", "platforms"])
def test_it_sends_anonymous_visitors_to_sign_in(client, name):
    response = client.get(reverse(f"{name}:export"))
    assert response.status_code == 302
    assert "/login" in response["Location"] or "next=" in response["Location"]


@pytest.mark.parametrize("name", ["items", "requests", "cases", "platforms"])
def test_it_refuses_an_account_without_the_lists_permission(client, role_groups, name):
    client.force_login(UserFactory(username="nobody"))
    assert client.get(reverse(f"{name}:export")).status_code == 403


@pytest.mark.parametrize("name", ["items", "requests", "cases", "platforms"])
def test_it_links_the_export_from_the_list_with_its_filters(client, dave, name):
    client.force_login(dave)
    response = client.get(reverse(f"{name}:list"), {"q": "abc"})
    assert f'href="{reverse(f"{name}:export")}?q=abc"' in response.content.decode()


def test_it_benchmarks_the_export_and_rolls_back():
    out = io.StringIO()
    call_command("bench_export", rows=300, stdout=out)
    report = out.getvalue()
    assert "Streamed 300 rows" in report
    assert "Peak RSS growth" in report
    assert "Rolled back" in report
    assert Item.objects.count() == 0
