"""The dashboard: what needs a member of staff now."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import ItemStatus, Outcome, RequestState
from tests.factories import ItemFactory, RequestItemFactory, SentRequestFactory

pytestmark = pytest.mark.django_db


def test_it_counts_items_awaiting_approval_by_others(client, bob, alice) -> None:
    ItemFactory.create_batch(3, created_by=alice, status=ItemStatus.PENDING_APPROVAL)
    ItemFactory(created_by=bob, status=ItemStatus.PENDING_APPROVAL)
    client.force_login(bob)

    board = client.get(reverse("dashboard")).context["board"]

    assert board.items_awaiting_approval == 3


def test_it_lists_threat_to_life_items_not_yet_sent(client, alice) -> None:
    urgent = ItemFactory(threat_to_life=True)
    ItemFactory(threat_to_life=False)
    client.force_login(alice)

    response = client.get(reverse("dashboard"))

    assert list(response.context["board"].threat_to_life_items) == [urgent]
    assert urgent.url_normalised in response.content.decode()


def test_it_lists_open_requests_past_their_deadline(client, alice, platform) -> None:
    sent_at = timezone.now() - timedelta(days=10)
    late = SentRequestFactory(platform=platform, sent_at=sent_at)
    RequestItemFactory(request=late)
    answered = SentRequestFactory(platform=platform, sent_at=sent_at, state=RequestState.ANSWERED)
    RequestItemFactory(request=answered, outcome=Outcome.REMOVED)
    client.force_login(alice)

    board = client.get(reverse("dashboard")).context["board"]

    assert board.overdue_requests == [late]


def test_it_shows_questions_from_operators(client, alice, platform) -> None:
    request = SentRequestFactory(platform=platform, state=RequestState.PARTLY_ANSWERED)
    line = RequestItemFactory(
        request=request, outcome=Outcome.NEEDS_INFO, outcome_reason="Which post?"
    )
    client.force_login(alice)

    response = client.get(reverse("dashboard"))

    assert response.context["board"].clarification_lines == [line]
    assert "Which post?" in response.content.decode()


def test_it_renders_the_dashboard_in_a_constant_number_of_queries(
    client, alice, platform, django_assert_max_num_queries
) -> None:
    for _ in range(12):
        request = SentRequestFactory(platform=platform, sent_at=timezone.now() - timedelta(days=30))
        RequestItemFactory(request=request, outcome=Outcome.NEEDS_INFO)
        ItemFactory(threat_to_life=True)
    client.force_login(alice)

    # +1 for the open alerts panel (decision 0009).
    with django_assert_max_num_queries(17):
        assert client.get(reverse("dashboard")).status_code == 200
