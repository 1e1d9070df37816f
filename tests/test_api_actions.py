"""REST API v1: every resource and action, for every role (issue 12, point 6)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from api.services import api_token_issue
from cases.models import Hold, ItemStatus, RemovalRequest, RequestState
from tests.factories import (
    ActorFactory,
    CaseFactory,
    CorrespondenceFactory,
    ItemFactory,
    OutcomeRecordFactory,
    RequestItemFactory,
    SentRequestFactory,
    UrlCheckFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ROLES = {"officer": "alice", "supervisor": "bob", "analyst": "dave"}


def as_user(user: Any) -> APIClient:
    client = APIClient()
    secret = api_token_issue(user=user, name="tests", by=user).secret
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def code_of(response: Any) -> str:
    return response.json()["error"]["code"]


@pytest.fixture
def every_kind_of_row(platform, alice):
    """One row behind each read endpoint."""
    line = RequestItemFactory(request=SentRequestFactory(platform=platform))
    OutcomeRecordFactory(line=line)
    CorrespondenceFactory(request=line.request)
    UrlCheckFactory(item=line.item)
    CaseFactory(actor=ActorFactory())
    return line


READS = [
    ("platforms", "platforms"),
    ("contacts", "contacts"),
    ("actors", "actors"),
    ("cases", "cases"),
    ("items", "items"),
    ("requests", "requests"),
    ("outcomes", "outcomes"),
    ("correspondence", "correspondence"),
    ("checks", "checks"),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("resource", "_"), READS)
def test_every_role_reads_every_resource_list_and_detail(request, role, resource, _,
                                                         every_kind_of_row):  # fmt: skip
    client = as_user(request.getfixturevalue(ROLES[role]))
    listing = client.get(f"/api/v1/{resource}/")
    assert listing.status_code == 200, listing.content
    rows = listing.json()["results"]
    assert rows, resource
    detail = client.get(f"/api/v1/{resource}/{rows[0]['id']}/")
    assert detail.status_code == 200
    assert detail.json()["id"] == rows[0]["id"]


@pytest.mark.parametrize(
    ("resource", "_"), [*READS, ("metrics/platforms", ""), ("metrics/weeks", "")]
)
def test_no_role_no_read_and_no_token_no_answer(resource, _, every_kind_of_row, role_groups):
    nobody = UserFactory(username="nobody")
    assert as_user(nobody).get(f"/api/v1/{resource}/").status_code == 403
    assert APIClient().get(f"/api/v1/{resource}/").status_code == 401


def test_a_request_shows_its_lines_with_their_outcomes(alice, every_kind_of_row):
    line = every_kind_of_row
    body = as_user(alice).get(f"/api/v1/requests/{line.request_id}/").json()
    assert [(row["item"], row["url"]) for row in body["lines"]] == [
        (line.item_id, line.item.url_normalised)
    ]
    listed = as_user(alice).get("/api/v1/requests/").json()["results"][0]
    assert "lines" not in listed  # the list stays one query per page


def test_correspondence_never_carries_the_raw_bytes(alice, every_kind_of_row):
    body = as_user(alice).get("/api/v1/correspondence/").json()["results"][0]
    assert "raw" not in body and body["raw_sha256"] is not None


@pytest.mark.parametrize(("resource", "_"), READS)
def test_each_list_costs_the_same_queries_for_one_row_or_many(alice, resource, _, platform):
    client = as_user(alice)

    def add_rows() -> None:
        line = RequestItemFactory(request=SentRequestFactory(platform=platform))
        OutcomeRecordFactory(line=line)
        CorrespondenceFactory(request=line.request)
        UrlCheckFactory(item=line.item)
        CaseFactory(actor=ActorFactory())

    counts = []
    for rows in (1, 6):
        for _n in range(rows):
            add_rows()
        client.get(f"/api/v1/{resource}/")  # the token's once-a-minute last_used_at write
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/api/v1/{resource}/").status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1] <= 8, counts


# --- item actions ---------------------------------------------------------------------


def test_a_supervisor_approves_an_item_and_an_officer_cannot(alice, bob, platform):
    item = ItemFactory(platform=platform, created_by=alice)
    refused = as_user(alice).post(f"/api/v1/items/{item.pk}/approve/", {}, format="json")
    assert refused.status_code == 403 and code_of(refused) == "permission_denied"
    approved = as_user(bob).post(f"/api/v1/items/{item.pk}/approve/", {}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    again = as_user(bob).post(f"/api/v1/items/{item.pk}/approve/", {}, format="json")
    assert again.status_code == 409 and code_of(again) == "conflict"


def test_a_supervisor_cannot_approve_what_they_referred(bob, platform):
    item = ItemFactory(platform=platform, created_by=bob)
    response = as_user(bob).post(f"/api/v1/items/{item.pk}/approve/", {}, format="json")
    assert response.status_code == 403 and code_of(response) == "four_eyes"
    item.refresh_from_db()
    assert item.status == ItemStatus.PENDING_APPROVAL


def test_rejecting_needs_a_note(alice, bob, platform):
    item = ItemFactory(platform=platform, created_by=alice)
    assert (
        as_user(bob).post(f"/api/v1/items/{item.pk}/reject/", {}, format="json").status_code == 400
    )
    done = as_user(bob).post(f"/api/v1/items/{item.pk}/reject/", {"note": "Satire."}, format="json")
    assert done.json()["status"] == "rejected"


def test_a_supervisor_holds_an_item_with_a_reason_and_review_date(alice, bob, dave, platform):
    item = ItemFactory(platform=platform, approved=True)
    body = {
        "reason": "Live investigation",
        "review_on": str(timezone.localdate() + timedelta(days=30)),
    }
    for officer_or_analyst in (alice, dave):
        assert as_user(officer_or_analyst).post(f"/api/v1/items/{item.pk}/hold/", body,
                                                format="json").status_code == 403  # fmt: skip
    placed = as_user(bob).post(f"/api/v1/items/{item.pk}/hold/", body, format="json")
    assert placed.status_code == 201 and placed.json()["reason"] == "Live investigation"
    assert Hold.objects.filter(item=item, released_at__isnull=True).exists()
    twice = as_user(bob).post(f"/api/v1/items/{item.pk}/hold/", body, format="json")
    assert twice.status_code == 409
    past = {**body, "review_on": "2000-01-01"}
    fresh = ItemFactory(platform=platform)
    in_the_past = as_user(bob).post(f"/api/v1/items/{fresh.pk}/hold/", past, format="json")
    assert in_the_past.status_code == 400
    no_date = as_user(bob).post(f"/api/v1/items/{fresh.pk}/hold/", {"reason": "x"}, format="json")
    assert no_date.json()["error"]["fields"] == {"review_on": ["This field is required."]}


# --- the weekly cycle through the API -----------------------------------------------------


def test_compose_submit_approve_and_answer_through_the_api(alice, bob, charlie, dave, platform):
    items = [ItemFactory(platform=platform, approved=True) for _ in range(2)]

    assert as_user(dave).post("/api/v1/requests/compose/", {}, format="json").status_code == 403
    composed = as_user(alice).post("/api/v1/requests/compose/", {}, format="json")
    assert composed.status_code == 200, composed.content
    (draft,) = composed.json()["drafts"]
    assert draft["state"] == "draft" and draft["platform"] == platform.pk
    pk = draft["id"]

    assert as_user(dave).post(f"/api/v1/requests/{pk}/submit/").status_code == 403
    submitted = as_user(alice).post(f"/api/v1/requests/{pk}/submit/")
    assert submitted.json()["state"] == "awaiting_approval"

    assert as_user(alice).post(f"/api/v1/requests/{pk}/approve/").status_code == 403  # officer
    sent = as_user(bob).post(f"/api/v1/requests/{pk}/approve/")
    assert sent.status_code == 200, sent.content
    assert sent.json()["state"] == "sent" and sent.json()["deadline"]
    conflict = as_user(charlie).post(f"/api/v1/requests/{pk}/send/")
    assert conflict.status_code == 409 and code_of(conflict) == "conflict"

    line_url = f"/api/v1/requests/{pk}/items/{items[0].pk}/outcome/"
    assert as_user(dave).post(line_url, {"outcome": "removed"}, format="json").status_code == 403
    bad = as_user(alice).post(line_url, {"outcome": "no_response"}, format="json")
    assert bad.status_code == 400 and "outcome" in bad.json()["error"]["fields"]
    answered = as_user(alice).post(line_url, {"outcome": "removed", "reason": "by phone"},
                                   format="json")  # fmt: skip
    assert answered.status_code == 200 and answered.json()["outcome"] == "removed"
    assert answered.json()["outcome_source"] == "officer"
    other = ItemFactory(platform=platform, approved=True)
    not_in_it = f"/api/v1/requests/{pk}/items/{other.pk}/outcome/"
    assert as_user(alice).post(not_in_it, {"outcome": "removed"}, format="json").status_code == 404
    assert RemovalRequest.objects.get(pk=pk).state == RequestState.PARTLY_ANSWERED


def test_the_submitter_cannot_approve_their_own_request(bob, charlie, platform):
    ItemFactory(platform=platform, approved=True)
    pk = as_user(bob).post("/api/v1/requests/compose/", {}, format="json").json()["drafts"][0]["id"]
    as_user(bob).post(f"/api/v1/requests/{pk}/submit/")
    own = as_user(bob).post(f"/api/v1/requests/{pk}/approve/")
    assert own.status_code == 403 and code_of(own) == "four_eyes"
    assert as_user(charlie).post(f"/api/v1/requests/{pk}/send/").json()["state"] == "sent"


def test_compose_for_one_platform_and_nothing_to_compose(alice, platform):
    empty = as_user(alice).post("/api/v1/requests/compose/", {"platform": platform.pk},
                                format="json")  # fmt: skip
    assert empty.status_code == 400 and empty.json()["error"]["message"]
    nothing = as_user(alice).post("/api/v1/requests/compose/", {}, format="json")
    assert nothing.json() == {"drafts": [], "topped_up": [], "skipped": []}
    unknown = as_user(alice).post("/api/v1/requests/compose/", {"platform": 999999}, format="json")
    assert "platform" in unknown.json()["error"]["fields"]


# --- metrics --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_the_compliance_figures(request, role, platform):
    line = RequestItemFactory(request=SentRequestFactory(platform=platform))
    OutcomeRecordFactory(line=line)
    client = as_user(request.getfixturevalue(ROLES[role]))
    today = timezone.localdate()
    query = {"start": str(today - timedelta(days=7)), "end": str(today + timedelta(days=1))}
    by_platform = client.get("/api/v1/metrics/platforms/", query).json()["results"]
    assert [(row["platform"], row["requested"]) for row in by_platform] == [(platform.pk, 1)]
    by_week = client.get("/api/v1/metrics/weeks/", query).json()["results"]
    assert sum(row["requested"] for row in by_week) == 1


def test_bad_metric_filters_are_a_400(alice):
    response = as_user(alice).get("/api/v1/metrics/platforms/", {"start": "2026-13-45"})
    assert response.status_code == 400 and code_of(response) == "refused"
    response = as_user(alice).get(
        "/api/v1/metrics/weeks/", {"start": "2026-02-01", "end": "2026-01-01"}
    )
    assert response.status_code == 400
