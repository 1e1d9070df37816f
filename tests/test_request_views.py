"""The removal-request pages: compose, detail and timeline, the actions, and the list."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases.models import (
    Correspondence,
    CorrespondenceChannel,
    Outcome,
    OutcomeRecord,
    OutcomeSource,
    RemovalRequest,
    RequestState,
    RequestType,
)
from cases.services.outcomes import request_item_record_outcome
from cases.services.requests import request_compose, request_submit
from notifications.models import OutboundEmail, OutboundEmailState
from platforms.models import Platform
from tests.factories import (
    ItemFactory,
    PlatformFactory,
    RemovalRequestFactory,
    RequestItemFactory,
    SentRequestFactory,
)
from tests.naughty import chosen_strings
from tests.test_sending import Mailer, SinkHandler, free_port

pytestmark = pytest.mark.django_db

S = RequestState
BLNS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "naughty-strings" / "blns.txt"
SCRIPT = "<script>alert(0)</script>"


@pytest.fixture
def smtp(settings: Any) -> Iterator[SinkHandler]:
    handler = SinkHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def eager_celery() -> Iterator[None]:
    from config.celery_app import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = before


@pytest.fixture
def mailer(
    smtp: SinkHandler, eager_celery: None, django_capture_on_commit_callbacks: Any
) -> Mailer:
    return Mailer(sink=smtp, capture=django_capture_on_commit_callbacks)


def ready_item(platform: Platform, **fields: Any) -> Any:
    return ItemFactory(platform=platform, host="pastebay.example.net", approved=True, **fields)


def detail_url(request: RemovalRequest, name: str = "requests:detail") -> str:
    return reverse(name, args=[request.pk])


def awaiting(platform: Platform, composer: Any, items: int = 2) -> RemovalRequest:
    for _ in range(items):
        ready_item(platform)
    return request_submit(
        request=request_compose(platform=platform, composed_by=composer), by=composer
    )


def naughty_strings() -> list[str]:
    lines = BLNS.read_text(encoding="utf-8").splitlines()
    return chosen_strings([line for line in lines if line.strip() and not line.startswith("#")])


def tag_counts(page: str) -> dict[str, int]:
    """Opening tags an injected string could smuggle in; must not grow with user input."""
    tags = ("script", "img", "iframe", "svg", "a", "object", "embed", "form", "input")
    return {tag: len(re.findall(rf"<{tag}\b", page, re.IGNORECASE)) for tag in tags}


# --- the whole path ---------------------------------------------------------------------------


def test_it_walks_a_request_from_compose_to_sent_by_another_supervisor(
    client, alice, bob, platform, mailer
):
    items = [ready_item(platform), ready_item(platform)]
    client.force_login(alice)

    response = client.post(reverse("requests:compose"), {"action": "weekly"})

    assert response.status_code == 302
    request = RemovalRequest.objects.get()
    assert (request.state, request.composed_by) == (S.DRAFT, alice)
    page = client.get(detail_url(request)).content.decode()
    for text in (
        "Referral (voluntary, platform terms)",
        "Platform terms of service (voluntary referral)",
        "abuse@pastebay.example.net",
        "Polski",
        "Starts when sent: 7 days.",
        *(item.url_normalised for item in items),
    ):
        assert text in page

    assert client.post(detail_url(request, "requests:submit")).status_code == 302
    request.refresh_from_db()
    assert request.state == S.AWAITING_APPROVAL

    client.force_login(bob)
    with mailer.capture(execute=True):
        response = client.post(detail_url(request, "notifications:request_send"))

    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.state, request.approved_by) == (S.SENT, bob)
    assert OutboundEmail.objects.get(request=request).state == OutboundEmailState.SENT
    (message,) = mailer.sink.messages()
    assert request.reference in message["Subject"]
    page = client.get(detail_url(request)).content.decode()
    assert "Delivery" in page
    assert "approved by bob" in page
    # The outbound email is on the timeline. (Its Polish subject is RFC 2047-encoded and
    # folded, so the decoded header may carry leading folding whitespace.)
    assert message["Subject"].strip() in page


def test_it_shows_the_four_eyes_refusal_next_to_the_send_button(client, bob, platform):
    request = awaiting(platform, bob)
    client.force_login(bob)

    response = client.post(detail_url(request, "notifications:request_send"))

    assert response.status_code == 409
    assert "another supervisor must approve and send it" in response.content.decode()
    request.refresh_from_db()
    assert request.state == S.AWAITING_APPROVAL
    assert not OutboundEmail.objects.exists()


def test_it_forbids_an_officer_to_send(client, alice, charlie, platform):
    request = awaiting(platform, charlie)
    client.force_login(alice)

    response = client.post(detail_url(request, "notifications:request_send"))

    assert response.status_code == 403
    request.refresh_from_db()
    assert request.state == S.AWAITING_APPROVAL


def test_it_hides_the_send_button_from_the_composer(client, bob, charlie, platform):
    request = awaiting(platform, bob)
    send_url = detail_url(request, "notifications:request_send")

    client.force_login(bob)
    assert send_url not in client.get(detail_url(request)).content.decode()
    client.force_login(charlie)
    assert send_url in client.get(detail_url(request)).content.decode()


def test_it_forbids_an_analyst_to_compose(client, dave, platform):
    ready_item(platform)
    client.force_login(dave)

    assert client.post(reverse("requests:compose"), {"action": "weekly"}).status_code == 403
    assert client.get(reverse("requests:list")).status_code == 200


def test_it_sends_nothing_on_get(client, charlie, bob, platform):
    request = awaiting(platform, bob)
    client.force_login(charlie)

    assert client.get(detail_url(request, "notifications:request_send")).status_code == 405
    assert client.get(detail_url(request, "requests:submit")).status_code == 405


def test_it_composes_a_removal_order_for_threat_to_life_items_at_once(
    client, alice, bob, platform, settings
):
    ready_item(platform)
    urgent = ready_item(platform, threat_to_life=True)
    client.force_login(alice)

    response = client.post(
        reverse("requests:compose"),
        {
            "action": "one",
            "platform": platform.pk,
            "request_type": RequestType.REMOVAL_ORDER,
            "scope": "threat_to_life",
            "is_emergency": "on",
            "legal_basis": "",
        },
    )

    assert response.status_code == 302
    request = RemovalRequest.objects.get()
    assert [line.item for line in request.lines.all()] == [urgent]
    assert (request.request_type, request.is_emergency, request.threat_to_life) == (
        RequestType.REMOVAL_ORDER,
        True,
        True,
    )
    client.post(detail_url(request, "requests:submit"))
    client.force_login(bob)
    assert client.post(detail_url(request, "notifications:request_send")).status_code == 302
    request.refresh_from_db()
    assert request.deadline - request.sent_at == timedelta(
        hours=settings.REMOVAL_ORDER_DEADLINE_HOURS
    )


def test_it_shows_the_tco_advance_notice_refusal_on_the_compose_page(client, alice, platform):
    ready_item(platform)
    client.force_login(alice)

    response = client.post(
        reverse("requests:compose"),
        {"action": "one", "platform": platform.pk, "request_type": "removal_order", "scope": "all"},
    )

    assert response.status_code == 409
    assert "advance notice" in response.content.decode()


def test_it_says_so_when_nothing_is_ready_to_compose(client, alice):
    client.force_login(alice)

    response = client.post(reverse("requests:compose"), {"action": "weekly"}, follow=True)

    assert "Nothing to compose" in response.content.decode()


def test_it_previews_the_email_before_sending(client, alice, platform):
    request = awaiting(platform, alice, items=1)
    client.force_login(alice)

    page = client.get(detail_url(request, "notifications:request_preview")).content.decode()

    # Exactly what the operator will get: in the platform's language (Polish).
    assert f"[{request.reference}] Zgłoszenie dotyczące 1 adresu URL w serwisie PasteBay" in page
    assert request.lines.get().item.url_normalised in page


# --- the other actions ---------------------------------------------------------------------


def test_it_returns_a_request_to_draft_and_cancels_it_with_a_reason(client, alice, platform):
    request = awaiting(platform, alice)
    client.force_login(alice)

    client.post(detail_url(request, "requests:return_to_draft"), {"return-reason": "typo"})
    request.refresh_from_db()
    assert request.state == S.DRAFT

    missing_reason = client.post(detail_url(request, "requests:cancel"), {"cancel-reason": ""})
    assert missing_reason.status_code == 400
    client.post(detail_url(request, "requests:cancel"), {"cancel-reason": "Wrong platform"})
    request.refresh_from_db()
    assert request.state == S.CANCELLED


def test_it_shows_an_illegal_transition_as_a_conflict(client, alice, platform):
    request = SentRequestFactory(platform=platform, composed_by=alice)
    RequestItemFactory(request=request)
    client.force_login(alice)

    response = client.post(detail_url(request, "requests:submit"))

    assert response.status_code == 409
    assert "it cannot become awaiting approval" in response.content.decode()


def test_it_resumes_the_clock_after_a_clarification(client, alice, bob, platform):
    request = SentRequestFactory(platform=platform, removal_order=True)
    line = RequestItemFactory(request=request)
    request_item_record_outcome(
        line=line, outcome=Outcome.NEEDS_INFO, source=OutcomeSource.OPERATOR_PORTAL
    )
    client.force_login(alice)
    assert "Clock paused" in client.get(detail_url(request)).content.decode()

    assert client.post(detail_url(request, "requests:resume_clock")).status_code == 302

    request.refresh_from_db()
    assert request.clock_paused_at is None


def test_it_lets_a_supervisor_close_an_answered_request(client, alice, bob, platform):
    request = SentRequestFactory(platform=platform, state=S.ANSWERED)
    client.force_login(alice)
    assert client.post(detail_url(request, "requests:close")).status_code == 403

    client.force_login(bob)
    assert (
        client.post(detail_url(request, "requests:close"), {"close-reason": ""}).status_code == 302
    )

    request.refresh_from_db()
    assert request.state == S.CLOSED


# --- outcomes and the timeline ----------------------------------------------------------------


def test_it_records_an_outcome_on_the_operators_behalf(client, alice, platform):
    request = SentRequestFactory(platform=platform)
    line = RequestItemFactory(request=request)
    client.force_login(alice)

    response = client.post(
        detail_url(request, "requests:record_outcome"),
        {"line": line.pk, "outcome": Outcome.REMOVED, "reason": "Confirmed on the phone."},
    )

    assert response.status_code == 302
    record = OutcomeRecord.objects.get()
    assert (record.source, record.recorded_by, record.outcome) == (
        OutcomeSource.OFFICER,
        alice,
        Outcome.REMOVED,
    )
    page = client.get(detail_url(request)).content.decode()
    assert "recorded by alice on the operator's behalf" in page
    assert "Confirmed on the phone." in page


def test_it_shows_every_message_and_answer_on_the_timeline(client, dave, platform):
    request = SentRequestFactory(platform=platform)
    line = RequestItemFactory(request=request)
    Correspondence.objects.create(
        request=request,
        direction="inbound",
        channel="email",
        from_address="abuse@pastebay.example.net",
        subject=f"Re: [{request.reference}]",
        body_text="We took it down.",
    )
    request_item_record_outcome(
        line=line, outcome=Outcome.REMOVED, source=OutcomeSource.OPERATOR_PORTAL
    )
    client.force_login(dave)

    page = client.get(detail_url(request)).content.decode()

    assert f"Re: [{request.reference}]" in page
    assert "We took it down." in page
    assert "answered by the operator on the portal" in page


def test_it_refuses_an_outcome_for_a_line_of_another_request(client, alice, platform):
    request = SentRequestFactory(platform=platform)
    RequestItemFactory(request=request)
    other_line = RequestItemFactory()
    client.force_login(alice)

    response = client.post(
        detail_url(request, "requests:record_outcome"),
        {"line": other_line.pk, "outcome": Outcome.REMOVED},
    )

    assert response.status_code == 400
    assert not OutcomeRecord.objects.exists()


def test_it_refuses_no_response_from_an_officer(client, alice, platform):
    request = SentRequestFactory(platform=platform)
    line = RequestItemFactory(request=request)
    client.force_login(alice)

    response = client.post(
        detail_url(request, "requests:record_outcome"),
        {"line": line.pk, "outcome": Outcome.NO_RESPONSE},
    )

    assert response.status_code == 400


def test_it_shows_an_outcome_on_a_draft_as_a_conflict(client, alice, platform):
    request = RemovalRequestFactory(platform=platform)
    line = RequestItemFactory(request=request)
    client.force_login(alice)

    response = client.post(
        detail_url(request, "requests:record_outcome"),
        {"line": line.pk, "outcome": Outcome.REMOVED},
    )

    assert response.status_code == 409
    assert "answers can no longer be recorded" in response.content.decode()


def test_it_adds_a_staff_note_to_the_timeline(client, alice, dave, platform):
    request = SentRequestFactory(platform=platform)
    client.force_login(alice)

    client.post(detail_url(request, "requests:note"), {"text": "Called their abuse desk."})

    note = Correspondence.objects.get(request=request)
    assert (note.channel, note.author) == (CorrespondenceChannel.NOTE, alice)
    client.force_login(dave)
    assert "Called their abuse desk." in client.get(detail_url(request)).content.decode()
    assert client.post(detail_url(request, "requests:note"), {"text": "x"}).status_code == 403


def test_it_survives_naughty_strings_in_notes(client, alice, platform):
    request = SentRequestFactory(platform=platform)
    client.force_login(alice)
    baseline = tag_counts(client.get(detail_url(request)).content.decode())

    statuses = set()
    for text in naughty_strings():
        statuses.add(client.post(detail_url(request, "requests:note"), {"text": text}).status_code)

    assert max(statuses) < 500
    page = client.get(detail_url(request)).content.decode()
    assert tag_counts(page) == baseline
    assert "&lt;script&gt;alert(0)&lt;/script&gt;" in page
    assert Correspondence.objects.filter(request=request).count() > len(naughty_strings()) * 3 // 4


def test_it_survives_naughty_strings_in_outcome_reasons(client, alice, platform):
    request = SentRequestFactory(platform=platform)
    line = RequestItemFactory(request=request)
    client.force_login(alice)
    baseline = tag_counts(client.get(detail_url(request)).content.decode())

    statuses = set()
    for text in naughty_strings():
        response = client.post(
            detail_url(request, "requests:record_outcome"),
            {"line": line.pk, "outcome": Outcome.REFUSED_NOT_VIOLATING, "reason": text},
        )
        statuses.add(response.status_code)
    # The timeline shows only the latest answers; the markup it must escape goes last.
    client.post(
        detail_url(request, "requests:record_outcome"),
        {"line": line.pk, "outcome": Outcome.REFUSED_NOT_VIOLATING, "reason": SCRIPT},
    )

    assert max(statuses) < 500
    page = client.get(detail_url(request)).content.decode()
    assert tag_counts(page) == baseline
    assert "&lt;script&gt;alert(0)&lt;/script&gt;" in page
    assert OutcomeRecord.objects.filter(line=line).count() > len(naughty_strings()) * 3 // 4


# --- the list -------------------------------------------------------------------------------


def references(response: Any) -> list[str]:
    return re.findall(r"TKD-\d{4}-\d{6}", response.content.decode().split("<tbody>", 1)[-1])


@pytest.fixture
def assorted(platform: Platform) -> dict[str, RemovalRequest]:
    """A draft, one awaiting approval, an overdue order, and a referral with a question."""
    other = PlatformFactory(name="ClipTube")
    long_ago = timezone.now() - timedelta(days=30)
    overdue = SentRequestFactory(platform=other, removal_order=True, sent_at=long_ago)
    RequestItemFactory(request=overdue)
    question = SentRequestFactory(platform=platform)
    RequestItemFactory(request=question, outcome=Outcome.NEEDS_INFO)
    return {
        "draft": RemovalRequestFactory(platform=platform),
        "awaiting": RemovalRequestFactory(platform=other, state=S.AWAITING_APPROVAL),
        "overdue": overdue,
        "question": question,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"state": "draft"}, ["draft"]),
        ({"request_type": "removal_order"}, ["overdue"]),
        ({"overdue": "1"}, ["overdue"]),
        ({"clarification": "1"}, ["question"]),
        ({"q": "cliptube"}, ["overdue", "awaiting"]),
        ({"state": "sent", "q": "pastebay"}, ["question"]),
    ],
)
def test_it_filters_the_request_list(client, dave, assorted, query, expected):
    client.force_login(dave)

    response = client.get(reverse("requests:list"), query)

    assert sorted(references(response)) == sorted(assorted[name].reference for name in expected)


def test_it_finds_a_request_by_part_of_its_reference(client, dave, assorted):
    client.force_login(dave)
    number = assorted["question"].reference[-6:]

    assert references(client.get(reverse("requests:list"), {"q": number})) == [
        assorted["question"].reference
    ]


def test_it_filters_by_platform(client, dave, assorted, platform):
    client.force_login(dave)

    response = client.get(reverse("requests:list"), {"platform": platform.pk})

    assert sorted(references(response)) == sorted(
        [assorted["draft"].reference, assorted["question"].reference]
    )


def test_it_sorts_by_deadline_soonest_first_and_unsent_last(client, dave, assorted):
    client.force_login(dave)

    refs = references(client.get(reverse("requests:list"), {"sort": "deadline"}))

    assert refs[:2] == [assorted["overdue"].reference, assorted["question"].reference]
    assert set(refs[2:]) == {assorted["draft"].reference, assorted["awaiting"].reference}


def test_it_ignores_an_unknown_sort(client, dave, assorted):
    client.force_login(dave)

    response = client.get(reverse("requests:list"), {"sort": "password; DROP TABLE"})

    assert response.status_code == 200
    assert len(references(response)) == 4


def test_it_pages_the_list_with_a_cursor(client, dave, platform):
    RemovalRequestFactory.create_batch(55, platform=platform)
    client.force_login(dave)

    first = client.get(reverse("requests:list"))
    after = re.search(r'href="\?after=([^"&]+)', first.content.decode())
    assert after is not None
    second = client.get(reverse("requests:list") + "?after=" + after.group(1))

    first_refs, second_refs = references(first), references(second)
    assert (len(first_refs), len(second_refs)) == (50, 5)
    assert not set(first_refs) & set(second_refs)
    assert first_refs[0] > first_refs[-1] > second_refs[0]  # newest first throughout


def list_queries(client: Any, params: dict[str, str]) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("requests:list"), params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "params",
    [{}, {"overdue": "1"}, {"clarification": "1", "sort": "deadline"}, {"q": "Platform"}],
)
def test_it_lists_requests_in_a_constant_number_of_queries(client, dave, params):
    client.force_login(dave)

    def add_requests(count: int) -> None:
        for _ in range(count):
            request = SentRequestFactory(sent_at=timezone.now() - timedelta(days=30))
            RequestItemFactory.create_batch(2, request=request)
            RequestItemFactory(request=request, outcome=Outcome.NEEDS_INFO)

    add_requests(1)
    with_one = list_queries(client, params)
    add_requests(29)
    with_thirty = list_queries(client, params)

    assert with_one == with_thirty
