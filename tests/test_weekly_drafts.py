"""One open weekly draft per platform; drafts editable before submission (issue 10, 13)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest
from django.urls import reverse

from cases.models import RemovalRequest, RequestItem, RequestState
from cases.services.intake import items_refer_bulk, paste_lines
from cases.services.items import item_refer
from cases.services.requests import (
    items_ready_to_send,
    request_compose,
    request_item_remove,
    request_submit,
)
from cases.services.upstream import requests_compose_weekly_run
from core.alerts import alerts_open_for
from core.audit import audit_history
from core.errors import IllegalTransition
from platforms.models import Platform
from scheduling.jobs import job_run
from tests.factories import ItemFactory, RemovalRequestFactory

pytestmark = pytest.mark.django_db

S = RequestState
MONDAY = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def ready_item(platform: Platform, **fields: Any) -> Any:
    return ItemFactory(platform=platform, host="pastebay.example.net", approved=True, **fields)


def line_items(request: RemovalRequest) -> list[Any]:
    return [line.item for line in request.lines.select_related("item").order_by("id")]


def weekly_draft(platform: Platform) -> RemovalRequest:
    ready_item(platform)
    return requests_compose_weekly_run().drafts[0]


# --- 13a: the weekly compose tops up the open draft ------------------------------------------


def test_it_adds_new_items_to_the_platforms_open_draft(platform):
    draft = weekly_draft(platform)
    first = line_items(draft)
    new = ready_item(platform)

    result = requests_compose_weekly_run()

    assert (result.drafts, result.extended_drafts) == ([], [draft])
    assert RemovalRequest.objects.filter(platform=platform).count() == 1
    assert line_items(draft) == [*first, new]


def test_it_audits_the_items_added_to_a_draft(platform):
    draft = weekly_draft(platform)
    new = ready_item(platform)

    requests_compose_weekly_run()

    event = audit_history(draft).get(action="request.items_added")
    assert event.new == {"items": [new.pk]}


def test_it_skips_a_platform_whose_request_awaits_approval(platform, bob):
    waiting = request_submit(request=weekly_draft(platform), by=bob)
    new = ready_item(platform)

    result = requests_compose_weekly_run()

    assert (result.drafts, result.skipped_awaiting_approval) == ([], [waiting])
    assert line_items(waiting) != [new] and new not in line_items(waiting)
    assert RemovalRequest.objects.filter(platform=platform).count() == 1


def test_it_does_not_top_up_a_threat_to_life_request(platform, alice):
    ready_item(platform, threat_to_life=True)
    urgent = request_compose(platform=platform, composed_by=alice)
    ready_item(platform)

    result = requests_compose_weekly_run()

    assert len(result.drafts) == 1 and result.drafts[0] != urgent


def test_it_counts_topped_up_and_skipped_platforms_in_the_weekly_job(platform, bob, time_machine):
    time_machine.move_to(MONDAY, tick=False)
    request_submit(request=weekly_draft(platform), by=bob)
    ready_item(platform)

    run = job_run(name="weekly_compose", now=MONDAY).run

    assert run is not None
    assert (run.summary["drafts"], run.summary["skipped_awaiting_approval"]) == (0, 1)


def test_it_says_on_the_compose_page_which_platform_was_skipped(client, alice, bob, platform):
    waiting = request_submit(request=weekly_draft(platform), by=bob)
    ready_item(platform)
    client.force_login(alice)

    response = client.post(reverse("requests:compose"), {"action": "weekly"}, follow=True)

    page = response.content.decode()
    assert f"Skipped PasteBay: {waiting.reference} awaits approval." in page
    assert "Nothing to compose" not in page


# --- 13b: remove an item from a draft ---------------------------------------------------------


def remove_url(request: RemovalRequest) -> str:
    return reverse("requests:remove_item", args=[request.pk])


def first_line(request: RemovalRequest) -> RequestItem:
    return request.lines.order_by("id")[0]


def two_item_draft(platform: Platform) -> RemovalRequest:
    ready_item(platform)
    return weekly_draft(platform)


def test_it_removes_an_item_from_a_draft(platform, alice):
    draft = two_item_draft(platform)
    kept, removed = draft.lines.order_by("id")

    request_item_remove(request=draft, line=removed, by=alice)

    assert line_items(draft) == [kept.item]


def test_it_lets_the_next_compose_pick_up_a_removed_item(platform, alice):
    draft = two_item_draft(platform)
    removed = draft.lines.order_by("id").last()
    assert removed is not None
    request_item_remove(request=draft, line=removed, by=alice)

    assert list(items_ready_to_send()) == [removed.item]


def test_it_audits_the_removal(platform, alice):
    draft = two_item_draft(platform)
    removed = draft.lines.order_by("id").last()
    assert removed is not None

    request_item_remove(request=draft, line=removed, by=alice)

    event = audit_history(draft).get(action="request.item_removed")
    assert (event.actor, event.old) == (
        alice,
        {"item": removed.item_id, "url": removed.item.url_normalised},
    )


def test_it_cancels_the_draft_when_its_last_item_is_removed(platform, alice):
    draft = weekly_draft(platform)
    line = draft.lines.get()

    request_item_remove(request=draft, line=line, by=alice)

    draft.refresh_from_db()
    assert draft.state == S.CANCELLED
    assert list(items_ready_to_send()) == [line.item]
    assert audit_history(draft).filter(action="request.state_changed").exists()


def test_it_refuses_to_remove_an_item_once_submitted(platform, alice, bob):
    draft = request_submit(request=two_item_draft(platform), by=bob)

    with pytest.raises(IllegalTransition, match="only from a draft"):
        request_item_remove(request=draft, line=first_line(draft), by=alice)


def test_it_removes_an_item_from_the_request_page(client, alice, platform):
    draft = two_item_draft(platform)
    removed = draft.lines.order_by("id").last()
    assert removed is not None
    client.force_login(alice)

    response = client.post(remove_url(draft), {"line": removed.pk}, follow=True)

    assert "removed from" in response.content.decode()
    assert removed.item not in line_items(draft)


def test_it_shows_the_remove_button_on_a_draft(client, alice, platform):
    draft = two_item_draft(platform)
    client.force_login(alice)

    page = client.get(reverse("requests:detail", args=[draft.pk])).content.decode()

    assert remove_url(draft) in page


def test_it_answers_409_when_removing_from_a_submitted_request(client, alice, bob, platform):
    draft = request_submit(request=two_item_draft(platform), by=bob)
    client.force_login(alice)

    response = client.post(remove_url(draft), {"line": first_line(draft).pk})

    assert response.status_code == 409
    assert "only from a draft" in response.content.decode()
    assert draft.lines.count() == 2


def test_it_refuses_an_analyst_removing_an_item(client, dave, platform):
    draft = two_item_draft(platform)
    client.force_login(dave)

    response = client.post(remove_url(draft), {"line": first_line(draft).pk})

    assert response.status_code == 403
    assert draft.lines.count() == 2


def test_it_changes_nothing_on_get_of_the_remove_url(client, alice, platform):
    draft = two_item_draft(platform)
    client.force_login(alice)

    response = client.get(remove_url(draft), {"line": first_line(draft).pk})

    assert response.status_code == 405
    assert draft.lines.count() == 2


def test_it_answers_400_for_a_line_of_another_request(client, alice, platform):
    draft = two_item_draft(platform)
    other = cast(RemovalRequest, RemovalRequestFactory(platform=platform))
    client.force_login(alice)

    response = client.post(remove_url(other), {"line": first_line(draft).pk})

    assert response.status_code == 400
    assert draft.lines.count() == 2


# --- 13c: threat-to-life items ----------------------------------------------------------------


def test_it_leaves_threat_to_life_items_out_of_the_weekly_referral(platform):
    ready_item(platform)
    urgent = ready_item(platform, threat_to_life=True)

    draft = requests_compose_weekly_run().drafts[0]

    assert urgent not in line_items(draft)
    assert list(items_ready_to_send().filter(threat_to_life=True)) == [urgent]


def test_it_drafts_no_weekly_referral_for_only_threat_to_life_items(platform):
    ready_item(platform, threat_to_life=True)

    assert requests_compose_weekly_run().drafts == []


def test_it_alerts_supervisors_the_moment_a_threat_to_life_item_is_referred(alice, bob, platform):
    result = item_refer(
        url="https://pastebay.example.net/raw/urgent1", referred_by=alice, threat_to_life=True
    )

    alert = alerts_open_for(bob).filter(title__endswith="by alice").get()
    assert alert.target_id == str(result.item.pk)
    assert "https://pastebay.example.net/raw/urgent1" in alert.message


def test_it_does_not_alert_for_an_ordinary_referral(alice, bob, platform):
    item_refer(url="https://pastebay.example.net/raw/calm1", referred_by=alice)

    assert not alerts_open_for(bob).filter(title__endswith="by alice").exists()


def test_it_alerts_once_for_the_threat_to_life_urls_of_a_pasted_intake(alice, bob, platform):
    lines = paste_lines("https://pastebay.example.net/raw/u1\nhttps://pastebay.example.net/raw/u2")

    items_refer_bulk(lines=lines, referred_by=alice, threat_to_life=True)

    alert = alerts_open_for(bob).filter(title__endswith="by alice").get()
    assert alert.title == "Threat to life: 2 URL(s) referred by alice"
