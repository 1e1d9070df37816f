"""Case pages: list, opening a case, a case with its items and progress."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from cases.models import Actor, Case, ItemStatus, Outcome, RequestState
from core.audit import audit_history
from tests.factories import (
    ActorFactory,
    CaseFactory,
    ItemFactory,
    RemovalRequestFactory,
    RequestItemFactory,
    SentRequestFactory,
    UserFactory,
)
from tests.naughty import chosen_strings

pytestmark = pytest.mark.django_db

BLNS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "naughty-strings" / "blns.txt"


# --- opening a case -----------------------------------------------------------------------------


def test_it_opens_a_case_with_an_actor(client, alice):
    actor = ActorFactory(name="Al-Hayat Media")
    client.force_login(alice)

    response = client.post(
        reverse("cases:create"),
        {"title": "Release 14", "description": "Video and its re-uploads.", "actor": actor.pk},
    )

    case = Case.objects.get()
    assert response["Location"] == reverse("cases:detail", args=[case.pk])
    assert (case.title, case.description, case.actor, case.created_by) == (
        "Release 14",
        "Video and its re-uploads.",
        actor,
        alice,
    )
    assert [e.action for e in audit_history(case)] == ["case.created"]


def test_it_opens_a_case_without_an_actor(client, alice):
    client.force_login(alice)

    client.post(reverse("cases:create"), {"title": "Unattributed channel"})

    assert Case.objects.get().actor is None


def test_it_opens_a_case_under_a_new_actor(client, alice):
    client.force_login(alice)

    client.post(reverse("cases:create"), {"title": "Release 15", "new_actor_name": "Amaq"})

    assert Case.objects.get().actor == Actor.objects.get(name="Amaq")


def test_it_reuses_an_actor_named_again_in_another_case(client, alice):
    amaq = ActorFactory(name="Amaq")
    client.force_login(alice)

    client.post(reverse("cases:create"), {"title": "Release 16", "new_actor_name": "AMAQ"})

    assert Case.objects.get().actor == amaq
    assert Actor.objects.count() == 1


def test_it_refuses_an_existing_and_a_new_actor_together(client, alice):
    actor = ActorFactory()
    client.force_login(alice)

    response = client.post(
        reverse("cases:create"), {"title": "X", "actor": actor.pk, "new_actor_name": "Amaq"}
    )

    assert response.status_code == 400
    assert not Case.objects.exists()


def test_it_refuses_a_case_without_a_title(client, alice):
    client.force_login(alice)

    response = client.post(reverse("cases:create"), {"title": "   "})

    assert response.status_code == 400
    assert not Case.objects.exists()


def test_it_refuses_case_creation_to_an_analyst(client, dave):
    client.force_login(dave)

    assert client.get(reverse("cases:create")).status_code == 403
    assert client.post(reverse("cases:create"), {"title": "X"}).status_code == 403
    assert not Case.objects.exists()


# --- the list -----------------------------------------------------------------------------------


def test_it_lists_cases_with_their_item_counts(client, alice):
    case = CaseFactory(title="Release 14")
    ItemFactory.create_batch(2, case=case)
    ItemFactory(case=case, approved=True)
    ItemFactory(case=case, rejected=True)
    client.force_login(alice)

    row = client.get(reverse("cases:list")).context["page"].rows[0]

    assert (row.items_total, row.items_pending, row.items_approved, row.items_rejected) == (
        4,
        2,
        1,
        1,
    )


def test_it_filters_cases_by_status_actor_and_title(client, alice):
    actor = ActorFactory()
    wanted = CaseFactory(title="Release 14", actor=actor)
    CaseFactory(title="Release 14 (closed)", actor=actor, status="closed")
    CaseFactory(title="Release 15", actor=actor)
    CaseFactory(title="Release 14 again")
    client.force_login(alice)

    response = client.get(
        reverse("cases:list"), {"status": "open", "actor": actor.pk, "q": "release 14"}
    )

    assert list(response.context["page"].rows) == [wanted]


def test_it_sorts_cases_by_title(client, alice):
    b, a = CaseFactory(title="Beta"), CaseFactory(title="Alpha")
    client.force_login(alice)

    response = client.get(reverse("cases:list"), {"sort": "title"})

    assert list(response.context["page"].rows) == [a, b]


def test_it_lists_cases_in_a_constant_number_of_queries(client, alice):
    client.force_login(alice)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("cases:list")).status_code == 200
        return len(captured)

    ItemFactory(case=CaseFactory(actor=ActorFactory(), created_by=UserFactory()))
    with_one = queries()
    for _ in range(29):
        ItemFactory(case=CaseFactory(actor=ActorFactory(), created_by=UserFactory()))

    with_thirty = queries()

    print(f"\ncases:list queries: {with_one} for 1 row, {with_thirty} for 30 rows")
    assert with_thirty == with_one


def test_it_lets_an_analyst_view_cases(client, dave):
    case = CaseFactory()
    client.force_login(dave)

    assert client.get(reverse("cases:list")).status_code == 200
    assert client.get(reverse("cases:detail", args=[case.pk])).status_code == 200


# --- a case -------------------------------------------------------------------------------------


def test_it_shows_a_case_with_its_items(client, alice):
    case = CaseFactory(title="Release 14")
    mine = ItemFactory(case=case)
    ItemFactory()
    client.force_login(alice)

    response = client.get(reverse("cases:detail", args=[case.pk]))

    assert list(response.context["page"].rows) == [mine]
    assert mine.url_normalised in response.content.decode()


def test_it_counts_a_cases_items_by_status(client, alice):
    case = CaseFactory()
    ItemFactory.create_batch(2, case=case)
    ItemFactory(case=case, approved=True)
    client.force_login(alice)

    progress = client.get(reverse("cases:detail", args=[case.pk])).context["progress"]

    assert progress.total == 3
    assert {row.key: row.count for row in progress.by_status} == {
        ItemStatus.PENDING_APPROVAL: 2,
        ItemStatus.APPROVED: 1,
        ItemStatus.REJECTED: 0,
    }


def test_it_counts_a_cases_items_by_the_outcome_of_their_latest_request(client, alice, platform):
    case = CaseFactory()
    removed = RequestItemFactory(
        request=SentRequestFactory(platform=platform),
        item__case=case,
        outcome=Outcome.REMOVED,
    )
    # A newer request for the same item replaces the older answer in the count.
    again = RequestItemFactory(
        request=SentRequestFactory(platform=platform), item=removed.item, outcome=Outcome.PENDING
    )
    RequestItemFactory(
        request=SentRequestFactory(platform=platform), item__case=case, outcome=Outcome.REMOVED
    )
    cancelled = RemovalRequestFactory(platform=platform, state=RequestState.CANCELLED)
    RequestItemFactory(request=cancelled, item__case=case, outcome=Outcome.PENDING)
    ItemFactory(case=case)
    client.force_login(alice)

    progress = client.get(reverse("cases:detail", args=[case.pk])).context["progress"]

    assert again.outcome == Outcome.PENDING
    assert {row.key: row.count for row in progress.by_outcome} == {
        Outcome.PENDING: 1,
        Outcome.REMOVED: 1,
        "not_requested": 2,
    }


def test_it_links_a_case_to_intake_with_the_case_chosen(client, alice):
    case = CaseFactory()
    client.force_login(alice)

    html = client.get(reverse("cases:detail", args=[case.pk])).content.decode()

    assert f"{reverse('items:intake')}?case={case.pk}" in html


def naughty_strings() -> list[str]:
    lines = BLNS.read_text(encoding="utf-8").split("\n")
    return chosen_strings([line for line in lines if line.strip() and not line.startswith("#")])


def test_it_survives_naughty_strings_in_the_case_title_and_description(client, alice):
    client.force_login(alice)
    for naughty in naughty_strings():
        response = client.post(
            reverse("cases:create"), {"title": naughty[:300], "description": naughty}
        )

        assert response.status_code < 500, naughty
        if response.status_code != 302:
            assert response.status_code == 400, naughty
            continue
        case = Case.objects.latest("id")
        assert (case.title, case.description) == (naughty[:300].strip(), naughty.strip())
        html = client.get(response["Location"]).content.decode()
        assert escape(case.title) in html, naughty
        assert escape(case.description) in html, naughty
        if "<" in case.description:
            assert case.description not in html, naughty
