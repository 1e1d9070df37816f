"""The item list, an item's page, and holds."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from cases.models import Hold, ItemStatus, LegalBasis, Outcome
from core.audit import audit_history
from tests.factories import (
    CaseFactory,
    HoldFactory,
    ItemFactory,
    ItemReferralFactory,
    PlatformFactory,
    RequestItemFactory,
    SentRequestFactory,
    UserFactory,
)
from tests.naughty import chosen_strings

pytestmark = pytest.mark.django_db

BLNS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "naughty-strings" / "blns.txt"


def listed(client, **params) -> list:
    response = client.get(reverse("items:list"), params)
    assert response.status_code == 200
    return list(response.context["page"].rows)


# --- the list -----------------------------------------------------------------------------------


def test_it_lists_items_newest_first(client, alice):
    old = ItemFactory(created_at=timezone.now() - timedelta(days=2))
    new = ItemFactory()
    client.force_login(alice)

    assert listed(client) == [new, old]


def test_it_filters_items_by_status(client, alice):
    approved = ItemFactory(approved=True)
    ItemFactory()
    client.force_login(alice)

    assert listed(client, status=ItemStatus.APPROVED) == [approved]


def test_it_filters_items_by_platform(client, alice, platform):
    on_platform = ItemFactory(platform=platform)
    ItemFactory()
    client.force_login(alice)

    assert listed(client, platform=platform.pk) == [on_platform]


def test_it_filters_items_whose_platform_is_unknown(client, alice):
    unknown = ItemFactory(platform=None)
    ItemFactory()
    client.force_login(alice)

    assert listed(client, platform="null") == [unknown]


def test_it_filters_items_by_case(client, alice):
    case = CaseFactory()
    in_case = ItemFactory(case=case)
    ItemFactory()
    client.force_login(alice)

    assert listed(client, case=case.pk) == [in_case]


def test_it_filters_items_by_category_and_legal_basis(client, alice):
    wanted = ItemFactory(category="instruction", legal_basis=LegalBasis.TCO_REGULATION)
    ItemFactory(category="instruction")
    ItemFactory(legal_basis=LegalBasis.TCO_REGULATION)
    client.force_login(alice)

    assert listed(client, category="instruction", legal_basis="tco_regulation") == [wanted]


def test_it_filters_threat_to_life_items_as_the_dashboard_links(client, alice):
    urgent = ItemFactory(threat_to_life=True)
    ItemFactory()
    client.force_login(alice)

    response = client.get(reverse("items:list") + "?threat_to_life=on")

    assert list(response.context["page"].rows) == [urgent]


def test_it_lists_every_item_when_the_threat_to_life_box_is_unticked(client, alice):
    ItemFactory(threat_to_life=True)
    ItemFactory()
    client.force_login(alice)

    assert len(listed(client, threat_to_life="")) == 2


def test_it_filters_items_on_hold(client, alice):
    held = HoldFactory().item
    HoldFactory(released_at=timezone.now())
    ItemFactory()
    client.force_login(alice)

    assert listed(client, on_hold="on") == [held]


def test_it_searches_items_by_url(client, alice):
    wanted = ItemFactory(url_normalised="https://pastebay.example.net/p/needle")
    ItemFactory()
    client.force_login(alice)

    assert listed(client, q="NEEDLE") == [wanted]


def test_it_sorts_items_by_url(client, alice):
    b = ItemFactory(url_normalised="https://b.example.org/")
    a = ItemFactory(url_normalised="https://a.example.org/")
    c = ItemFactory(url_normalised="https://c.example.org/")
    client.force_login(alice)

    assert listed(client, sort="url") == [a, b, c]


def test_it_sorts_items_by_platform_with_unknown_platforms_last(client, alice):
    zeta = ItemFactory(platform=PlatformFactory(name="Zeta"))
    unknown = ItemFactory(platform=None)
    alpha = ItemFactory(platform=PlatformFactory(name="Alpha"))
    client.force_login(alice)

    assert listed(client, sort="platform") == [alpha, zeta, unknown]


def test_it_pages_items_with_a_cursor_keeping_the_filters(client, alice, platform):
    items = [ItemFactory(platform=platform) for _ in range(60)]
    ItemFactory()  # another platform: filtered out
    client.force_login(alice)

    first = client.get(reverse("items:list"), {"platform": platform.pk, "sort": "oldest"})
    page = first.context["page"]
    assert list(page.rows) == items[:50]
    assert page.next_cursor and not page.previous_cursor
    assert f"platform={platform.pk}" in first.content.decode()

    second = client.get(
        reverse("items:list"),
        {"platform": platform.pk, "sort": "oldest", "after": page.next_cursor},
    )
    assert list(second.context["page"].rows) == items[50:]
    assert second.context["page"].next_cursor is None


def test_it_shows_the_first_page_for_a_bad_cursor(client, alice):
    item = ItemFactory()
    client.force_login(alice)

    assert listed(client, after="not-a-cursor!") == [item]


def test_it_refuses_an_unknown_sort_with_a_message(client, alice):
    ItemFactory()
    client.force_login(alice)

    response = client.get(reverse("items:list"), {"sort": "password"})

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def _varied_items(count: int) -> None:
    """Items that each bring their own platform, case, referrer and hold."""
    for _ in range(count):
        item = ItemFactory(case=CaseFactory(), created_by=UserFactory())
        HoldFactory(item=item)


def _queries_for_list(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("items:list"))
    assert response.status_code == 200
    return len(queries)


def test_it_lists_items_in_a_constant_number_of_queries(client, alice):
    client.force_login(alice)
    _varied_items(1)
    with_one = _queries_for_list(client)
    _varied_items(29)

    with_thirty = _queries_for_list(client)

    print(f"\nitems:list queries: {with_one} for 1 row, {with_thirty} for 30 rows")
    assert with_thirty == with_one


def test_it_lets_an_analyst_view_items(client, dave):
    item = ItemFactory()
    client.force_login(dave)

    assert client.get(reverse("items:list")).status_code == 200
    assert client.get(reverse("items:detail", args=[item.pk])).status_code == 200


# --- an item's page -----------------------------------------------------------------------------


def test_it_shows_an_item_with_its_urls_platform_case_and_assessment(client, alice, platform):
    case = CaseFactory(title="Release 14")
    item = ItemFactory(
        url_submitted="HTTPS://PasteBay.example.net/p/abc#top",
        url_normalised="https://pastebay.example.net/p/abc",
        platform=platform,
        case=case,
        assessment_note="Calls for attacks on <named> people.",
    )
    client.force_login(alice)

    html = client.get(reverse("items:detail", args=[item.pk])).content.decode()

    assert "HTTPS://PasteBay.example.net/p/abc#top" in html
    assert "https://pastebay.example.net/p/abc" in html
    assert "PasteBay" in html
    assert "Release 14" in html
    assert "Calls for attacks on &lt;named&gt; people." in html


def test_it_offers_to_create_the_platform_of_an_item_with_none(client, alice):
    item = ItemFactory(
        platform=None,
        host="files.gab.example.org",
        url_normalised="https://files.gab.example.org/1",
    )
    client.force_login(alice)

    html = client.get(reverse("items:detail", args=[item.pk])).content.decode()

    assert "Create platform for example.org?" in html
    back = reverse("items:detail", args=[item.pk])
    assert escape(f"{reverse('platforms:create')}?domain=example.org&next={back}") in html


def test_it_shows_the_requests_an_item_was_in_with_their_outcomes(client, alice, platform):
    line = RequestItemFactory(
        request=SentRequestFactory(platform=platform),
        outcome=Outcome.REFUSED_NOT_VIOLATING,
        outcome_reason="Satire.",
    )
    client.force_login(alice)

    html = client.get(reverse("items:detail", args=[line.item_id])).content.decode()

    assert line.request.reference in html
    assert "Refused: not against the terms" in html
    assert "Satire." in html


def test_it_shows_who_referred_an_item_and_its_history(client, alice, bob, platform):
    client.force_login(alice)
    client.post(
        reverse("items:intake_single"),
        {
            "url": "https://pastebay.example.net/p/1",
            "category": "propaganda",
            "legal_basis": "terms_of_service",
        },
    )
    client.force_login(bob)
    client.post(
        reverse("items:intake_single"),
        {
            "url": "https://pastebay.example.net/p/1#again",
            "category": "propaganda",
            "legal_basis": "terms_of_service",
        },
    )
    item = ItemReferralFactory._meta.model.objects.get(referred_by=bob).item

    response = client.get(reverse("items:detail", args=[item.pk]))

    referrals = response.context["detail"].referrals
    assert [r.referred_by for r in referrals] == [alice, bob]
    html = response.content.decode()
    assert "https://pastebay.example.net/p/1#again" in html
    assert "item.referred_again" in html and "item.referred" in html


def test_it_answers_404_for_an_unknown_item(client, alice):
    client.force_login(alice)

    assert client.get(reverse("items:detail", args=[999999])).status_code == 404


# --- holds --------------------------------------------------------------------------------------


def hold_form(**changes) -> dict:
    data = {
        "reason": "CTP North is watching the account.",
        "requesting_agency": "CTP North",
        "review_on": (timezone.localdate() + timedelta(days=14)).isoformat(),
    }
    data.update(changes)
    return data


def test_it_puts_an_item_on_hold(client, bob):
    item = ItemFactory(approved=True)
    client.force_login(bob)

    response = client.post(reverse("items:hold", args=[item.pk]), hold_form())

    assert response.status_code == 302
    hold = Hold.objects.get(item=item, released_at__isnull=True)
    assert (hold.reason, hold.requesting_agency, hold.placed_by) == (
        "CTP North is watching the account.",
        "CTP North",
        bob,
    )
    html = client.get(response["Location"]).content.decode()
    assert "On hold" in html and "CTP North is watching the account." in html


def test_it_shows_the_hold_form(client, bob):
    item = ItemFactory()
    client.force_login(bob)

    response = client.get(reverse("items:hold", args=[item.pk]))

    assert response.status_code == 200
    assert not Hold.objects.exists()


def test_it_refuses_holds_to_an_officer(client, alice):
    item = ItemFactory()
    client.force_login(alice)

    assert client.get(reverse("items:hold", args=[item.pk])).status_code == 403
    assert client.post(reverse("items:hold", args=[item.pk]), hold_form()).status_code == 403
    assert not Hold.objects.exists()


def test_it_shows_why_a_hold_is_refused_next_to_the_form(client, bob):
    item = ItemFactory()
    client.force_login(bob)
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()

    response = client.post(reverse("items:hold", args=[item.pk]), hold_form(review_on=yesterday))

    assert response.status_code == 400
    assert "cannot be in the past" in response.content.decode()


def test_it_refuses_a_second_hold_with_a_conflict(client, bob):
    held = HoldFactory()
    client.force_login(bob)

    response = client.post(reverse("items:hold", args=[held.item_id]), hold_form())

    assert response.status_code == 409
    assert "already on hold" in response.content.decode()


def test_it_releases_a_hold(client, bob):
    held = HoldFactory()
    client.force_login(bob)

    response = client.post(reverse("items:hold_release", args=[held.item_id]), follow=True)

    held.refresh_from_db()
    assert (held.released_by, held.released_at is not None) == (bob, True)
    assert "The hold was released" in response.content.decode()
    assert [e.action for e in audit_history(held.item)] == ["item.hold_released"]


def test_it_releases_a_hold_only_by_post(client, bob):
    held = HoldFactory()
    client.force_login(bob)

    assert client.get(reverse("items:hold_release", args=[held.item_id])).status_code == 405
    held.refresh_from_db()
    assert held.released_at is None


def test_it_says_so_when_releasing_an_item_that_is_not_held(client, bob):
    item = ItemFactory()
    client.force_login(bob)

    response = client.post(reverse("items:hold_release", args=[item.pk]), follow=True)

    assert "This item is not on hold." in response.content.decode()


def naughty_strings() -> list[str]:
    lines = BLNS.read_text(encoding="utf-8").split("\n")
    return chosen_strings([line for line in lines if line.strip() and not line.startswith("#")])


def test_it_survives_naughty_strings_in_the_hold_reason_and_agency(client, bob):
    client.force_login(bob)
    for naughty in naughty_strings():
        # An item per string: one item's page lists its whole hold history, which would
        # grow with every string and make the loop quadratic.
        item = ItemFactory()
        response = client.post(
            reverse("items:hold", args=[item.pk]),
            hold_form(reason=naughty, requesting_agency=naughty[:200]),
        )

        assert response.status_code < 500, naughty
        if response.status_code != 302:
            assert response.status_code == 400, naughty
            continue
        hold = Hold.objects.get(item=item, released_at__isnull=True)
        assert (hold.reason, hold.requesting_agency) == (naughty.strip(), naughty[:200].strip())
        html = client.get(reverse("items:detail", args=[item.pk])).content.decode()
        assert escape(hold.reason) in html, naughty
        assert escape(hold.requesting_agency) in html, naughty
        if "<" in hold.reason:
            assert hold.reason not in html, naughty
