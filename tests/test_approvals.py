"""The approval queue: approve or reject in bulk, four-eyes per item."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from cases.models import Item, ItemStatus
from tests.factories import CaseFactory, ItemFactory, UserFactory
from tests.naughty import chosen_strings

pytestmark = pytest.mark.django_db

BLNS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "naughty-strings" / "blns.txt"


def decide(client, items, decision: str, note: str = "", **extra):
    data = {"items": [i.pk for i in items], "decision": decision, "note": note, **extra}
    return client.post(reverse("items:approvals_decide"), data)


def status_of(item) -> str:
    item.refresh_from_db()
    return item.status


def test_it_lists_items_awaiting_approval_threat_to_life_first(client, alice, bob):
    older = ItemFactory(created_by=alice)
    urgent = ItemFactory(created_by=alice, threat_to_life=True)
    ItemFactory(created_by=alice, approved=True)
    client.force_login(bob)

    response = client.get(reverse("items:approvals"))

    assert list(response.context["page"].rows) == [urgent, older]


def test_it_shows_the_supervisors_own_items_disabled(client, alice, bob):
    own = ItemFactory(created_by=bob)
    others = ItemFactory(created_by=alice)
    client.force_login(bob)

    html = client.get(reverse("items:approvals")).content.decode()

    assert own.url_normalised in html
    assert "you referred this" in html
    assert f'name="items" value="{others.pk}"' in html
    assert f'name="items" value="{own.pk}"' not in html


def test_it_approves_items_in_bulk(client, alice, bob):
    items = ItemFactory.create_batch(3, created_by=alice)
    client.force_login(bob)

    response = decide(client, items, "approve")

    assert response.status_code == 302
    assert [status_of(i) for i in items] == [ItemStatus.APPROVED] * 3
    assert Item.objects.filter(reviewed_by=bob).count() == 3
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["3 items approved."]


def test_it_reports_per_item_which_were_refused_for_four_eyes(client, alice, bob):
    others = ItemFactory(created_by=alice)
    own = ItemFactory(created_by=bob, url_normalised="https://pastebay.example.net/p/own")
    client.force_login(bob)

    response = decide(client, [others, own], "approve")

    assert (status_of(others), status_of(own)) == (ItemStatus.APPROVED, ItemStatus.PENDING_APPROVAL)
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "1 item approved.",
        "Not done for https://pastebay.example.net/p/own: You referred this item yourself; "
        "another supervisor must review it.",
    ]


def test_it_reports_an_item_another_supervisor_reviewed_first(client, alice, bob, charlie):
    item = ItemFactory(created_by=alice)
    client.force_login(charlie)
    decide(client, [item], "approve")
    client.force_login(bob)

    response = decide(client, [item], "reject", note="Satire.")

    assert status_of(item) == ItemStatus.APPROVED
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("already approved" in m for m in messages)


def test_it_rejects_items_with_a_note(client, alice, bob):
    items = ItemFactory.create_batch(2, created_by=alice)
    client.force_login(bob)

    decide(client, items, "reject", note="Satire, not propaganda.")

    for item in items:
        item.refresh_from_db()
        assert (item.status, item.review_note) == (ItemStatus.REJECTED, "Satire, not propaganda.")


@pytest.mark.parametrize("note", ["", "   "])
def test_it_refuses_a_rejection_without_a_note(client, alice, bob, note):
    item = ItemFactory(created_by=alice)
    client.force_login(bob)

    response = decide(client, [item], "reject", note=note)

    assert response.status_code == 400
    assert "Say why the items are rejected." in response.content.decode()
    assert status_of(item) == ItemStatus.PENDING_APPROVAL


def test_it_refuses_a_decision_without_any_item(client, bob):
    client.force_login(bob)

    response = client.post(reverse("items:approvals_decide"), {"decision": "approve"})

    assert response.status_code == 400
    assert "Tick at least one item." in response.content.decode()


def test_it_refuses_a_tampered_selection(client, bob):
    client.force_login(bob)

    response = client.post(
        reverse("items:approvals_decide"), {"items": ["1; DROP TABLE"], "decision": "approve"}
    )

    assert response.status_code == 400


def test_it_reports_an_item_that_does_not_exist(client, alice, bob):
    item = ItemFactory(created_by=alice)
    client.force_login(bob)

    response = client.post(
        reverse("items:approvals_decide"), {"items": [item.pk, 999999], "decision": "approve"}
    )

    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert messages == ["1 item approved.", "Not done for #999999: This item does not exist."]


def test_it_returns_to_the_item_when_decided_from_its_page(client, alice, bob):
    item = ItemFactory(created_by=alice)
    back = reverse("items:detail", args=[item.pk])
    client.force_login(bob)

    response = decide(client, [item], "approve", next=back)

    assert response["Location"] == back


def test_it_never_returns_to_another_site(client, alice, bob):
    item = ItemFactory(created_by=alice)
    client.force_login(bob)

    response = decide(client, [item], "approve", next="https://evil.example.com/")

    assert response["Location"] == reverse("items:approvals")


@pytest.mark.parametrize("name", ["items:approvals", "items:approvals_decide"])
def test_it_refuses_the_approval_queue_to_an_officer(client, alice, bob, name):
    item = ItemFactory(created_by=bob)
    client.force_login(alice)

    assert client.get(reverse(name)).status_code in (403, 405)
    assert decide(client, [item], "approve").status_code == 403
    assert status_of(item) == ItemStatus.PENDING_APPROVAL


def test_it_refuses_the_approval_queue_to_an_analyst(client, dave):
    client.force_login(dave)

    assert client.get(reverse("items:approvals")).status_code == 403


def test_it_shows_the_queue_in_a_constant_number_of_queries(client, bob):
    client.force_login(bob)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("items:approvals")).status_code == 200
        return len(captured)

    ItemFactory(case=CaseFactory(), created_by=UserFactory())
    with_one = queries()
    for _ in range(29):
        ItemFactory(case=CaseFactory(), created_by=UserFactory())

    with_thirty = queries()

    print(f"\nitems:approvals queries: {with_one} for 1 row, {with_thirty} for 30 rows")
    assert with_thirty == with_one


def naughty_strings() -> list[str]:
    lines = BLNS.read_text(encoding="utf-8").split("\n")
    return chosen_strings([line for line in lines if line.strip() and not line.startswith("#")])


def test_it_survives_naughty_strings_in_the_reject_note(client, alice, bob, platform):
    strings = naughty_strings()
    items = Item.objects.bulk_create(
        Item(
            url_submitted=f"https://pastebay.example.net/n/{n}",
            url_normalised=f"https://pastebay.example.net/n/{n}",
            host="pastebay.example.net",
            platform=platform,
            created_by=alice,
        )
        for n in range(len(strings))
    )
    client.force_login(bob)
    for item, naughty in zip(items, strings, strict=True):
        response = decide(client, [item], "reject", note=naughty)

        assert response.status_code < 500, naughty
        if response.status_code != 302:
            assert response.status_code == 400, naughty
            continue
        item.refresh_from_db()
        assert (item.status, item.review_note) == (ItemStatus.REJECTED, naughty.strip())
        html = client.get(reverse("items:detail", args=[item.pk])).content.decode()
        assert escape(item.review_note) in html, naughty
        if "<" in item.review_note:
            assert item.review_note not in html, naughty
