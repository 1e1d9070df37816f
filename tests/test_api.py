"""REST API v1 (issue 12): tokens, roles, errors, bulk intake, idempotency, pagination."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import ApiToken, IdempotentCall
from api.services import api_token_for_secret, api_token_issue, api_token_revoke
from cases.models import Item, ItemStatus
from core.errors import PermissionRefused
from core.models import AuditEvent
from tests.factories import ItemFactory, PlatformDomainFactory, PlatformFactory, UserFactory

pytestmark = pytest.mark.django_db

CORPUS_PATH = (
    Path(__file__).resolve().parents[2] / "shared" / "corpora" / "urls" / "urltestdata.json"
)
BULK = "/api/v1/items/bulk/"


def token_client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {api_token_issue(user=user, name='t', by=user).secret}"
    )
    return client


def bulk_body(urls: list[str], **fields: Any) -> dict[str, Any]:
    return {"urls": urls, "category": "propaganda", "legal_basis": "terms_of_service", **fields}


def assert_error_shape(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


# --- tokens ------------------------------------------------------------------------------


def test_a_token_is_shown_once_and_stored_only_as_a_hash(alice):
    issued = api_token_issue(user=alice, name="crawler", by=alice)

    assert issued.secret.startswith("tkd_") and len(issued.secret) > 40
    row = ApiToken.objects.get(pk=issued.token.pk)
    stored = json.dumps(
        [list(ApiToken.objects.filter(pk=row.pk).values_list()),
         list(AuditEvent.objects.values_list("old", "new", "extra"))],
        default=str,
    )  # fmt: skip
    assert issued.secret not in stored
    assert issued.secret[4:] not in stored
    assert row.prefix == issued.secret[:10]
    assert api_token_for_secret(issued.secret) == row


def test_it_refuses_revoked_expired_and_inactive_tokens_alike(alice, bob):
    revoked = api_token_issue(user=alice, name="a", by=alice)
    api_token_revoke(token=revoked.token, by=alice)
    expired = api_token_issue(user=alice, name="b", by=alice)
    ApiToken.objects.filter(pk=expired.token.pk).update(expires_at=timezone.now())
    inactive = api_token_issue(user=bob, name="c", by=bob)
    bob.is_active = False
    bob.save()
    messages = set()
    for secret in (revoked.secret, expired.secret, inactive.secret, "tkd_" + "x" * 43, "junk"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        error = assert_error_shape(client.get("/api/v1/items/"), 401, "authentication_failed")
        messages.add(error["message"])
    assert messages == {"The token is not valid."}  # nothing says which check failed


def test_it_answers_401_with_a_bearer_challenge_without_credentials():
    response = APIClient().get("/api/v1/platforms/")
    assert_error_shape(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_only_an_administrator_issues_a_token_for_someone_else(alice, bob):
    with pytest.raises(PermissionRefused):
        api_token_issue(user=alice, name="x", by=bob)
    admin = UserFactory(username="root", is_superuser=True)
    assert api_token_issue(user=alice, name="x", by=admin).token.user == alice


def test_the_command_creates_lists_and_revokes_without_printing_secrets_twice(alice):
    out, err = StringIO(), StringIO()
    call_command("api_token", "create", "alice", "--name", "crawler", stdout=out, stderr=err)
    secret = out.getvalue().strip()
    assert api_token_for_secret(secret) is not None
    listing = StringIO()
    call_command("api_token", "list", stdout=listing)
    assert "crawler" in listing.getvalue() and secret not in listing.getvalue()
    token = ApiToken.objects.get()
    call_command("api_token", "revoke", str(token.pk), stdout=StringIO())
    assert api_token_for_secret(secret) is None
    actions = AuditEvent.objects.filter(target_type="api.apitoken").order_by("id")
    assert list(actions.values_list("action", flat=True)) == [
        "api_token.issued",
        "api_token.revoked",
    ]


def test_the_staff_page_shows_a_new_token_once_and_revokes_it(client, alice):
    client.force_login(alice)
    created = client.post("/accounts/api-tokens/", {"name": "crawler", "valid_days": "30"})
    assert created.status_code == 200
    token = ApiToken.objects.get(user=alice)
    secret = created.context["secret"]
    assert api_token_for_secret(secret) == token
    assert secret in created.content.decode()
    listed = client.get("/accounts/api-tokens/")
    assert secret not in listed.content.decode() and token.prefix in listed.content.decode()
    assert created["Cache-Control"].startswith("no-store") or "no-store" in created["Cache-Control"]

    assert client.get(f"/accounts/api-tokens/{token.pk}/revoke/").status_code == 405
    client.post(f"/accounts/api-tokens/{token.pk}/revoke/")
    assert api_token_for_secret(secret) is None


def test_nobody_revokes_someone_elses_token_from_the_staff_page(client, alice, bob):
    token = api_token_issue(user=alice, name="mine", by=alice).token
    client.force_login(bob)
    assert client.post(f"/accounts/api-tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_staff_page_refuses_a_bad_form_with_a_400(client, alice):
    client.force_login(alice)
    response = client.post("/accounts/api-tokens/", {"name": "", "valid_days": "0"})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


# --- reads, by role --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/platforms/", "/api/v1/items/"])
@pytest.mark.parametrize("who", ["alice", "bob", "dave"])
def test_every_staff_role_reads_the_lists(request, path, who, platform):
    ItemFactory(platform=platform)
    response = token_client(request.getfixturevalue(who)).get(path)
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


@pytest.mark.parametrize("path", ["/api/v1/platforms/", "/api/v1/items/"])
def test_a_user_without_a_role_reads_nothing(path, role_groups):
    nobody = UserFactory(username="nobody")
    assert_error_shape(token_client(nobody).get(path), 403, "permission_denied")


def test_a_platform_shows_its_domains_and_upstream_providers(alice, platform):
    host = PlatformFactory(name="BulletHost", kind="hosting_provider")
    platform.upstream_links.create(provider=host, role="hosting")
    body = token_client(alice).get(f"/api/v1/platforms/{platform.pk}/").json()
    assert [d["domain"] for d in body["domains"]] == ["pastebay.example.net"]
    assert body["upstream"] == [
        {"id": platform.upstream_links.get().pk, "provider": host.pk,
         "provider_name": "BulletHost", "role": "hosting"}
    ]  # fmt: skip


def test_an_unknown_id_or_endpoint_is_a_404_in_the_error_shape(alice):
    client = token_client(alice)
    assert_error_shape(client.get("/api/v1/items/999999/"), 404, "not_found")
    assert_error_shape(client.get("/api/v1/nothing-here/"), 404, "not_found")


def test_the_lists_filter(alice, platform):
    other = PlatformFactory(name="Other")
    wanted = ItemFactory(platform=platform, approved=True)
    ItemFactory(platform=platform)
    ItemFactory(platform=other, approved=True)
    response = token_client(alice).get(
        "/api/v1/items/", {"platform": platform.pk, "status": "approved"}
    )
    assert [row["id"] for row in response.json()["results"]] == [wanted.pk]
    bad = token_client(alice).get("/api/v1/items/", {"status": "nonsense"})
    error = assert_error_shape(bad, 400, "invalid")
    assert "status" in error["fields"]


def test_list_pages_cost_the_same_queries_however_many_rows(alice, platform):
    client = token_client(alice)
    client.get("/api/v1/platforms/")  # the token's last_used_at write happens once a minute
    counts = []
    for rows in (1, 30):
        for n in range(rows):
            PlatformDomainFactory(platform=PlatformFactory(name=f"p{rows}-{n}"))
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/platforms/").status_code == 200
            assert client.get("/api/v1/items/").status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1] <= 12


def test_cursor_pages_neither_skip_nor_repeat_rows_while_items_are_added(alice, platform):
    ItemFactory.create_batch(7, platform=platform)
    client = token_client(alice)
    seen: list[int] = []
    url: str | None = "/api/v1/items/?page_size=3"
    while url:
        page = client.get(url).json()
        seen.extend(row["id"] for row in page["results"])
        ItemFactory(platform=platform)  # a new referral arrives between two pages
        url = page["next"]
    assert len(seen) == len(set(seen))
    before_first_page = set(Item.objects.order_by("id").values_list("id", flat=True)[:7])
    assert before_first_page <= set(seen)


def test_a_garbled_cursor_is_a_400(alice):
    response = token_client(alice).get("/api/v1/items/", {"cursor": "not-a-cursor"})
    assert "cursor" in assert_error_shape(response, 400, "invalid")["fields"]


# --- bulk intake -----------------------------------------------------------------------


def test_bulk_intake_answers_per_line(alice, platform):
    known = ItemFactory(platform=platform, url_normalised="https://pastebay.example.net/old")
    response = token_client(alice).post(
        BULK,
        bulk_body([
            "https://pastebay.example.net/new",
            "https://pastebay.example.net/old",
            "not a url at all",
            "https://nobody-knows.example.org/x",
            "https://pastebay.example.net/new",
        ]),
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.content
    body = response.json()
    statuses = [(row["line"], row["status"], row["unknown_platform"]) for row in body["results"]]
    assert statuses == [
        (1, "created", False), (2, "duplicate", False), (3, "rejected", False),
        (4, "created", True), (5, "duplicate", False),
    ]  # fmt: skip
    created = Item.objects.get(url_normalised="https://pastebay.example.net/new")
    assert body["results"][0]["id"] == created.pk == body["results"][4]["id"]
    assert body["results"][1]["id"] == known.pk
    assert body["results"][2]["reason"]
    assert body["counts"] == {"created": 2, "duplicate": 2, "rejected": 1, "unknown_platform": 1}
    assert created.created_by == alice and created.status == ItemStatus.PENDING_APPROVAL


def test_an_analyst_cannot_refer_urls(dave, platform):
    response = token_client(dave).post(BULK, bulk_body(["https://pastebay.example.net/a"]),
                                       format="json")  # fmt: skip
    assert_error_shape(response, 403, "permission_denied")
    assert not Item.objects.exists()


def test_bulk_intake_refuses_more_than_ten_thousand_urls_with_a_413(alice, settings):
    response = token_client(alice).post(
        BULK, bulk_body([f"https://a.example/{n}" for n in range(10_001)]), format="json"
    )
    error = assert_error_shape(response, 413, "too_large")
    assert "10,000" in error["message"]
    assert not Item.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"urls": [], "category": "propaganda", "legal_basis": "terms_of_service"}, "urls"),
        ({"urls": "https://a.example/", "category": "propaganda",
          "legal_basis": "terms_of_service"}, "urls"),
        (bulk_body(["https://a.example/"], category="nonsense"), "category"),
        (bulk_body(["https://a.example/"], case=987654), "case"),
        ({"category": "propaganda"}, "urls"),
    ],
)  # fmt: skip
def test_bulk_intake_names_the_field_at_fault(alice, body, field):
    error = assert_error_shape(token_client(alice).post(BULK, body, format="json"), 400, "invalid")
    assert field in error["fields"]


def test_bulk_intake_rejects_unusable_text_on_its_own_line(alice, platform):
    urls = [
        "https://pastebay.example.net/a\x00b",
        "https://pastebay.example.net/\ud800",
        "https://pastebay.example.net/" + "x" * 9000,
        "",
        "https://pastebay.example.net/ok",
    ]
    client = token_client(alice)
    response = client.post(BULK, bulk_body(urls), format="json", HTTP_IDEMPOTENCY_KEY="weird")
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert [row["status"] for row in rows] == ["rejected"] * 4 + ["created"]
    assert all(row["reason"] for row in rows[:4])
    assert "\x00" not in rows[0]["input"]
    replay = client.post(BULK, bulk_body(urls), format="json", HTTP_IDEMPOTENCY_KEY="weird")
    assert replay.json() == response.json()


def test_bulk_intake_refuses_a_body_that_is_not_json(alice):
    client = token_client(alice)
    response = client.post(BULK, "urls=x", content_type="application/x-www-form-urlencoded")
    assert_error_shape(response, 415, "unsupported_media_type")
    response = client.post(BULK, "{not json", content_type="application/json")
    assert_error_shape(response, 400, "parse_error")


def test_bulk_intake_takes_ten_thousand_urls_in_one_call(alice, platform):
    urls = [f"https://pastebay.example.net/post/{n}" for n in range(10_000)]
    response = token_client(alice).post(BULK, bulk_body(urls), format="json")
    assert response.status_code == 200
    assert response.json()["counts"]["created"] == 10_000
    assert Item.objects.count() == 10_000


def test_bulk_intake_of_the_whatwg_url_corpus_never_fails(alice):
    entries = json.loads(CORPUS_PATH.read_text(encoding="utf-8"))
    urls = [entry["input"] for entry in entries if isinstance(entry, dict)]
    response = token_client(alice).post(BULK, bulk_body(urls), format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == len(urls)
    assert [row["line"] for row in results] == list(range(1, len(urls) + 1))
    for entry, row in zip((e for e in entries if isinstance(e, dict)), results, strict=True):
        # A field may wrap its one URL in other text ("<https://…>", "https://… hello"):
        # the intake unwraps it, as for a CSV cell (cases.services.intake._candidates).
        if entry.get("failure") and not any(ch.isspace() for ch in entry["input"].strip()):
            assert row["status"] == "rejected", entry["input"]
        if row["status"] == "rejected":
            assert row["reason"] and row["id"] is None


# --- idempotency -----------------------------------------------------------------------


def test_a_retry_with_the_same_key_returns_the_first_answer_without_acting_twice(alice, platform):
    client = token_client(alice)
    body = bulk_body(["https://pastebay.example.net/once"])
    first = client.post(BULK, body, format="json", HTTP_IDEMPOTENCY_KEY="run-42")
    Item.objects.all().delete()  # had it acted again, the URL would be created again
    again = client.post(BULK, body, format="json", HTTP_IDEMPOTENCY_KEY="run-42")
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert first.json()["results"][0]["status"] == "created"
    assert not Item.objects.exists()


def test_the_same_key_with_another_body_is_a_409(alice, platform):
    client = token_client(alice)
    client.post(BULK, bulk_body(["https://pastebay.example.net/a"]), format="json",
                HTTP_IDEMPOTENCY_KEY="k")  # fmt: skip
    response = client.post(BULK, bulk_body(["https://pastebay.example.net/b"]), format="json",
                           HTTP_IDEMPOTENCY_KEY="k")  # fmt: skip
    assert_error_shape(response, 409, "conflict")
    assert not Item.objects.filter(url_normalised__endswith="/b").exists()


def test_a_refused_call_does_not_use_up_its_key(dave, platform, role_groups):
    from core.roles import Role

    client = token_client(dave)
    body = bulk_body(["https://pastebay.example.net/a"])
    refused = client.post(BULK, body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert refused.status_code == 403
    assert not IdempotentCall.objects.exists()
    dave.groups.add(role_groups[Role.OFFICER])
    assert client.post(BULK, body, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 200


def test_keys_are_per_user(alice, charlie, platform):
    body = bulk_body(["https://pastebay.example.net/a"])
    token_client(alice).post(BULK, body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    response = token_client(charlie).post(BULK, body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert "Idempotent-Replayed" not in response
    assert response.json()["results"][0]["status"] == "duplicate"


def test_an_unusable_key_is_a_400(alice):
    response = token_client(alice).post(
        BULK, bulk_body(["https://a.example/"]), format="json", HTTP_IDEMPOTENCY_KEY="x" * 201
    )
    error = assert_error_shape(response, 400, "invalid")
    assert "Idempotency-Key" in error["fields"]


# --- limits, schema --------------------------------------------------------------------


def test_a_token_is_limited_per_minute_with_a_429(alice, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    client = token_client(alice)
    assert [client.get("/api/v1/platforms/").status_code for _ in range(3)] == [200] * 3
    response = client.get("/api/v1/platforms/")
    assert_error_shape(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert token_client(alice).get("/api/v1/platforms/").status_code == 200  # another token


def test_the_schema_is_valid_and_documents_the_error_shape(alice):
    assert APIClient().get("/api/schema/").status_code == 401
    response = token_client(alice).get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )
    assert response.status_code == 200
    schema = json.loads(response.content)
    bulk = schema["paths"]["/api/v1/items/bulk/"]["post"]
    assert {"200", "400", "401", "403", "409", "413", "429"} <= set(bulk["responses"])
    assert "Error" in schema["components"]["schemas"]
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=StringIO())


def test_the_docs_page_loads_its_assets_from_our_own_origin(client, alice):
    client.force_login(alice)
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<style" not in html and "http://" not in html and "https://" not in html
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


def test_the_services_refuse_a_role_that_may_not_compose_submit_or_record(dave, platform):
    from cases.services.outcomes import request_item_record_outcome
    from cases.services.requests import request_compose, request_submit
    from cases.services.upstream import requests_compose_weekly_run
    from tests.factories import RequestItemFactory, SentRequestFactory

    line = RequestItemFactory(request=SentRequestFactory(platform=platform))
    with pytest.raises(PermissionRefused):
        request_compose(platform=platform, composed_by=dave)
    with pytest.raises(PermissionRefused):
        requests_compose_weekly_run(composed_by=dave)
    with pytest.raises(PermissionRefused):
        request_submit(request=line.request, by=dave)
    with pytest.raises(PermissionRefused):
        request_item_record_outcome(
            line=line, outcome="removed", source="officer", recorded_by=dave
        )


def test_a_key_is_forgotten_after_its_window_and_then_acts_again(alice, platform, settings):
    client = token_client(alice)
    body = bulk_body(["https://pastebay.example.net/weekly"])
    client.post(BULK, body, format="json", HTTP_IDEMPOTENCY_KEY="weekly")
    IdempotentCall.objects.update(created_at=timezone.now() - timedelta(days=8))
    Item.objects.all().delete()
    again = client.post(BULK, body, format="json", HTTP_IDEMPOTENCY_KEY="weekly")
    assert "Idempotent-Replayed" not in again
    assert again.json()["results"][0]["status"] == "created"
    assert IdempotentCall.objects.count() == 1


def test_a_body_over_the_upload_limit_is_a_413_in_the_error_shape(alice, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = token_client(alice).post(
        BULK, bulk_body([f"https://a.example/{'x' * 100}/{n}" for n in range(200)]), format="json"
    )
    assert "bytes" in assert_error_shape(response, 413, "too_large")["message"]


def test_the_browser_session_works_with_its_csrf_token_and_not_without(client, alice, platform):
    client.force_login(alice)
    assert client.get("/api/v1/platforms/").status_code == 200
    strict = APIClient(enforce_csrf_checks=True)
    strict.force_login(alice)
    refused = strict.post(BULK, bulk_body(["https://pastebay.example.net/s"]), format="json")
    assert_error_shape(refused, 403, "permission_denied")
    assert "CSRF" in refused.json()["error"]["message"]
    assert not Item.objects.exists()


def test_lists_order_by_an_allowed_field_and_refuse_others(alice, platform):
    first, second = ItemFactory(platform=platform), ItemFactory(platform=platform)
    client = token_client(alice)
    newest = client.get("/api/v1/items/").json()["results"]
    assert [row["id"] for row in newest] == [second.pk, first.pk]
    oldest = client.get("/api/v1/items/", {"ordering": "created_at"}).json()["results"]
    assert [row["id"] for row in oldest] == [first.pk, second.pk]
    error = assert_error_shape(client.get("/api/v1/items/", {"ordering": "url_normalised"}),
                               400, "invalid")  # fmt: skip
    assert "created_at" in error["fields"]["ordering"][0]


def test_cursor_pages_in_created_order_hold_every_row_once(alice, platform):
    ItemFactory.create_batch(7, platform=platform)
    client = token_client(alice)
    seen: list[int] = []
    url: str | None = "/api/v1/items/?ordering=created_at&page_size=2"
    while url:
        page = client.get(url).json()
        seen.extend(row["id"] for row in page["results"])
        url = page["next"]
    assert seen == sorted(Item.objects.values_list("id", flat=True))


@pytest.mark.parametrize(
    ("query", "field"),
    [({"page_size": "0"}, "page_size"), ({"page_size": "lots"}, "page_size"),
     ({"page_size": "501"}, "page_size"), ({"threat_to_life": "maybe"}, "threat_to_life")],
)  # fmt: skip
def test_a_bad_page_size_or_flag_is_a_400_not_quietly_ignored(alice, query, field):
    error = assert_error_shape(token_client(alice).get("/api/v1/items/", query), 400, "invalid")
    assert field in error["fields"]


@pytest.mark.parametrize(
    ("path", "query"),
    [("/api/v1/items/", {"status": ""}), ("/api/v1/correspondence/", {"request": ""}),
     ("/api/v1/metrics/platforms/", {"start": ""})],
)  # fmt: skip
def test_an_empty_filter_value_is_a_400_not_every_row(alice, path, query):
    error = assert_error_shape(token_client(alice).get(path, query), 400, "invalid")
    assert set(query) <= set(error["fields"])


def test_flags_in_a_body_are_json_booleans(alice):
    response = token_client(alice).post(
        BULK, bulk_body(["https://a.example/"], threat_to_life=1), format="json"
    )
    assert "threat_to_life" in assert_error_shape(response, 400, "invalid")["fields"]


def test_text_in_a_body_must_be_a_json_string(alice, bob, platform):
    response = token_client(alice).post(BULK, bulk_body([5]), format="json")
    assert "urls.0" in assert_error_shape(response, 400, "invalid")["fields"]
    item = ItemFactory(platform=platform, created_by=alice)
    response = token_client(bob).post(f"/api/v1/items/{item.pk}/reject/", {"note": 7},
                                      format="json")  # fmt: skip
    assert "note" in assert_error_shape(response, 400, "invalid")["fields"]


def test_an_unroutable_api_path_is_still_a_json_404(alice):
    response = token_client(alice).get("/api/v1/cases/%0A%C2%8F/")
    assert_error_shape(response, 404, "not_found")


def test_a_filter_given_twice_or_an_empty_id_in_a_body_is_a_400(alice):
    client = token_client(alice)
    twice = client.get("/api/v1/checks/?item=1&item=2")
    assert "item" in assert_error_shape(twice, 400, "invalid")["fields"]
    empty_id = client.post("/api/v1/requests/compose/", {"platform": ""}, format="json")
    assert "platform" in assert_error_shape(empty_id, 400, "invalid")["fields"]
