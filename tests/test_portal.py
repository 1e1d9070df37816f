"""The operator portal: links, the answer page, submissions and the staff side."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from cases.models import (
    Correspondence,
    CorrespondenceChannel,
    CorrespondenceDirection,
    Outcome,
    OutcomeRecord,
    OutcomeSource,
    RemovalRequest,
    RequestItem,
)
from cases.services.outcomes import request_expire_open_items
from cases.services.requests import request_compose, request_submit
from notifications.models import OutboundEmail
from notifications.portal_links import fill_portal_link
from notifications.services import request_approve_and_send
from platforms.models import Contact, Platform
from portal.models import PortalLink
from portal.services import portal_link_issue
from tests.factories import ContactFactory, ItemFactory, RequestItemFactory, SentRequestFactory

pytestmark = pytest.mark.django_db


# --- helpers (also used by test_portal_security) ------------------------------------------


def open_request(
    *, urls: int = 3, removal_order: bool = False, platform: Platform | None = None, **kw: Any
) -> tuple[RemovalRequest, Contact, list[RequestItem]]:
    platform = platform or ContactFactory().platform
    contact = platform.contacts.first() or ContactFactory(platform=platform)
    rr = SentRequestFactory(
        platform=platform, contacts=[contact], removal_order=removal_order, **kw
    )
    lines = [RequestItemFactory(request=rr) for _ in range(urls)]
    return rr, contact, lines


def issue(rr: RemovalRequest, contact: Contact) -> tuple[PortalLink, str]:
    return portal_link_issue(request=rr, contact=contact)


def page_url(token: str) -> str:
    return f"/r/{token}/"


def answer(line: RequestItem, outcome: str, **fields: str) -> dict[str, str]:
    data = {f"line-{line.pk}-outcome": outcome}
    data.update({f"line-{line.pk}-{key}": value for key, value in fields.items()})
    return data


# --- links ----------------------------------------------------------------------------


def test_it_stores_only_the_hash_of_the_token() -> None:
    rr, contact, _ = open_request()
    link, token = issue(rr, contact)
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    link.refresh_from_db()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = [str(value) for value in PortalLink.objects.values_list().get(pk=link.pk)]
    assert all(token not in value for value in stored)


def test_it_expires_links_thirty_days_after_the_deadline() -> None:
    rr, contact, _ = open_request()
    link, _ = issue(rr, contact)
    assert rr.deadline is not None
    assert (link.expires_at - rr.deadline).days == 30


# --- the page ---------------------------------------------------------------------------


def test_it_lists_every_url_on_the_page(client: Client) -> None:
    rr, contact, lines = open_request(urls=5)
    _, token = issue(rr, contact)
    response = client.get(page_url(token))
    assert response.status_code == 200
    html = response.content.decode()
    assert rr.reference in html
    for line in lines:
        assert line.item.url_normalised in html
        assert f'name="line-{line.pk}-outcome"' in html
    assert "UTC" in html


def test_it_shows_the_page_in_the_contacts_language(client: Client) -> None:
    rr, contact, _ = open_request()
    contact.language = "de"
    contact.save()
    _, token = issue(rr, contact)
    response = client.get(page_url(token))
    assert '<html lang="de"' in response.content.decode()


def test_it_lets_the_operator_choose_another_language(client: Client) -> None:
    rr, contact, _ = open_request()
    contact.language = "de"
    contact.save()
    _, token = issue(rr, contact)
    response = client.post(
        reverse("portal:set_language"), {"language": "fr", "next": page_url(token)}
    )
    assert response.status_code == 302
    assert response["Location"] == page_url(token)
    response = client.get(page_url(token))
    assert '<html lang="fr"' in response.content.decode()


# --- submissions ------------------------------------------------------------------------


def test_it_records_answers_with_the_portal_source_and_the_contact(client: Client) -> None:
    rr, contact, lines = open_request(urls=3)
    _, token = issue(rr, contact)
    data = {
        **answer(lines[0], "removed", comment="Gone at 10:00"),
        **answer(lines[1], "forwarded", forwarded_to="CloudHost Ltd"),
    }
    response = client.post(page_url(token), data)
    assert response.status_code == 302
    first, second, third = (RequestItem.objects.get(pk=line.pk) for line in lines)
    assert (first.outcome, first.outcome_source) == (Outcome.REMOVED, OutcomeSource.OPERATOR_PORTAL)
    assert first.outcome_reason == "Gone at 10:00"
    assert second.outcome == Outcome.FORWARDED
    assert third.outcome == Outcome.PENDING
    records = OutcomeRecord.objects.filter(line__request=rr)
    assert {r.contact_id for r in records} == {contact.pk}
    assert records.get(line=second).detail["forwarded_to"] == "CloudHost Ltd"
    submission = Correspondence.objects.get(request=rr, channel=CorrespondenceChannel.PORTAL)
    assert submission.direction == CorrespondenceDirection.INBOUND
    assert submission.contact == contact
    assert set(submission.payload["answers"]) == {str(lines[0].pk), str(lines[1].pk)}
    assert {r.correspondence_id for r in records} == {submission.pk}


def test_it_answers_every_url_with_all_removed(client: Client) -> None:
    rr, contact, _lines = open_request(urls=4)
    _, token = issue(rr, contact)
    response = client.post(page_url(token), {"all_removed": "1"})
    assert response.status_code == 302
    assert set(rr.lines.values_list("outcome", flat=True)) == {Outcome.REMOVED}
    rr.refresh_from_db()
    assert rr.state == "answered"


def test_it_maps_cannot_comply_grounds(client: Client) -> None:
    rr, contact, lines = open_request(urls=2)
    _, token = issue(rr, contact)
    data = {
        **answer(lines[0], "cannot_comply", ground="technically_impossible"),
        **answer(
            lines[1], "cannot_comply", ground="insufficient_information", comment="Which post?"
        ),
    }
    client.post(page_url(token), data)
    unable = OutcomeRecord.objects.get(line=lines[0])
    assert (unable.outcome, unable.detail["ground"]) == (Outcome.UNABLE, "technically_impossible")
    # Not enough information to find it is TCO Art. 3(8)'s clarification path.
    asked = OutcomeRecord.objects.get(line=lines[1])
    assert asked.outcome == Outcome.NEEDS_INFO
    assert asked.detail["question"] == "Which post?"


def test_it_refuses_an_incomplete_answer_and_keeps_what_was_typed(client: Client) -> None:
    rr, contact, lines = open_request(urls=1)
    _, token = issue(rr, contact)
    response = client.post(page_url(token), answer(lines[0], "forwarded", comment="see above"))
    assert response.status_code == 400
    assert "see above" in response.content.decode()
    assert not OutcomeRecord.objects.exists()
    assert not Correspondence.objects.filter(channel=CorrespondenceChannel.PORTAL).exists()


def test_it_keeps_amendments_and_the_latest_wins(client: Client) -> None:
    rr, contact, lines = open_request(urls=1)
    _, token = issue(rr, contact)
    client.post(page_url(token), answer(lines[0], "not_violating"))
    client.post(page_url(token), answer(lines[0], "removed", change="1"))
    submissions = Correspondence.objects.filter(request=rr, channel=CorrespondenceChannel.PORTAL)
    assert [s.payload["answers"][str(lines[0].pk)]["outcome"] for s in submissions] == [
        "not_violating",
        "removed",
    ]
    assert OutcomeRecord.objects.filter(line=lines[0]).count() == 2
    assert RequestItem.objects.get(pk=lines[0].pk).outcome == Outcome.REMOVED


def test_it_gives_a_receipt_number(client: Client) -> None:
    rr, contact, lines = open_request(urls=2)
    _, token = issue(rr, contact)
    response = client.post(page_url(token), {"all_removed": "1"}, follow=True)
    assert response.redirect_chain == [(f"/r/{token}/receipt/1/", 302)]
    html = response.content.decode()
    assert f"R-{rr.reference}-1" in html
    assert lines[0].item.url_normalised in html
    # Everything is answered now: a second submission is an explicit amendment of a line.
    second = client.post(page_url(token), answer(lines[0], "already_gone", change="1"))
    assert second["Location"] == f"/r/{token}/receipt/2/"
    # The page lists earlier submissions.
    assert f"R-{rr.reference}-2" in client.get(page_url(token)).content.decode()


def test_it_pauses_a_removal_orders_clock_on_a_question(client: Client) -> None:
    rr, contact, lines = open_request(urls=1, removal_order=True)
    _, token = issue(rr, contact)
    client.post(page_url(token), answer(lines[0], "needs_clarification", question="Which video?"))
    rr.refresh_from_db()
    assert rr.clock_paused_at is not None
    record = OutcomeRecord.objects.get(line=lines[0])
    assert (record.outcome, record.detail["question"]) == (Outcome.NEEDS_INFO, "Which video?")


def test_it_records_last_use_on_submission_only(client: Client) -> None:
    rr, contact, _ = open_request()
    link, token = issue(rr, contact)
    client.get(page_url(token))
    link.refresh_from_db()
    assert link.last_used_at is None
    client.post(page_url(token), {"all_removed": "1"})
    link.refresh_from_db()
    assert link.last_used_at is not None


# --- the email --------------------------------------------------------------------------


def test_it_sends_a_working_portal_link_in_the_request_email(
    client: Client, alice: Any, bob: Any, platform: Platform
) -> None:
    for _ in range(2):
        ItemFactory(platform=platform, host="pastebay.example.net", approved=True)
    rr = request_submit(request=request_compose(platform=platform, composed_by=alice), by=alice)
    request_approve_and_send(request=rr, approver=bob)
    email = OutboundEmail.objects.get(request=rr)
    # The stored copy withholds the token; the bytes the worker sends carry it (0017).
    raw = fill_portal_link(
        raw=bytes(email.correspondence.raw), request_id=rr.pk, contact_id=email.contact_id
    ).decode()
    match = re.search(r"http://127\.0\.0\.1:8000(/r/[A-Za-z0-9_-]{43}/)", raw)
    assert match, "the email carries the portal link"
    path = match.group(1)
    assert PortalLink.objects.filter(request=rr, contact=email.contact).count() == 1
    response = client.get(path)
    assert response.status_code == 200
    assert rr.reference in response.content.decode()
    assert client.post(path, {"all_removed": "1"}).status_code == 302
    assert set(rr.lines.values_list("outcome", flat=True)) == {Outcome.REMOVED}


# --- the staff side ---------------------------------------------------------------------


def test_it_shows_each_contacts_link_on_the_request_page(client: Client, bob: Any) -> None:
    rr, contact, _ = open_request()
    issue(rr, contact)
    client.force_login(bob)
    html = client.get(reverse("requests:detail", args=[rr.pk])).content.decode()
    assert "Operator portal" in html
    assert contact.email in html
    assert "Revoke" in html


def test_it_revokes_a_link_from_the_request_page(client: Client, bob: Any) -> None:
    rr, contact, _ = open_request()
    link, token = issue(rr, contact)
    client.force_login(bob)
    response = client.post(reverse("portal:revoke", args=[link.pk]))
    assert response.status_code == 302
    link.refresh_from_db()
    assert (link.revoked_by, link.revoked_at is not None) == (bob, True)
    assert Client().get(page_url(token)).status_code == 404


def test_it_refuses_revoking_without_the_permission(client: Client, alice: Any) -> None:
    rr, contact, _ = open_request()
    link, _ = issue(rr, contact)
    client.force_login(alice)
    assert client.post(reverse("portal:revoke", args=[link.pk])).status_code == 403
    link.refresh_from_db()
    assert link.revoked_at is None


def test_it_answers_the_question_emails_the_operator_and_resumes_the_clock(
    client: Client, bob: Any
) -> None:
    rr, contact, lines = open_request(urls=1, removal_order=True)
    _, token = issue(rr, contact)
    Client().post(page_url(token), answer(lines[0], "needs_clarification", question="Which one?"))
    client.force_login(bob)
    html = client.get(reverse("requests:detail", args=[rr.pk])).content.decode()
    assert "Which one?" in html
    assert "Answer the question" in html
    response = client.post(
        reverse("portal:answer_question", args=[rr.pk]),
        {"contact": contact.pk, "question": "Which one?", "answer": "The second video."},
    )
    assert response.status_code == 302
    rr.refresh_from_db()
    assert rr.clock_paused_at is None
    email = OutboundEmail.objects.get(request=rr, contact=contact)
    assert "The second video." in email.correspondence.body_text
    assert email.correspondence.direction == CorrespondenceDirection.OUTBOUND


def test_it_applies_all_removed_only_to_unanswered_urls(client: Client) -> None:
    rr, contact, lines = open_request(urls=3)
    _, token = issue(rr, contact)
    client.post(page_url(token), answer(lines[0], "not_violating"))
    client.post(page_url(token), {"all_removed": "1"})
    outcomes = [RequestItem.objects.get(pk=line.pk).outcome for line in lines]
    assert outcomes == [Outcome.REFUSED_NOT_VIOLATING, Outcome.REMOVED, Outcome.REMOVED]


def test_it_says_what_all_removed_answered_and_what_it_left(client: Client) -> None:
    rr, contact, lines = open_request(urls=5)
    _, token = issue(rr, contact)
    client.post(
        page_url(token),
        {**answer(lines[0], "not_violating"), **answer(lines[3], "forwarded", forwarded_to="X")},
    )
    response = client.post(page_url(token), {"all_removed": "1"}, follow=True)
    message = re.search(r'id="bulk-message">([^<]*)<', response.content.decode())
    assert message is not None
    assert message.group(1) == (
        "“All removed” was applied to 3 URLs without an answer. "
        "2 URLs already answered were left as they were."
    )


def test_it_offers_all_removed_only_for_the_urls_still_without_an_answer(client: Client) -> None:
    rr, contact, lines = open_request(urls=3)
    _, token = issue(rr, contact)
    client.post(page_url(token), answer(lines[0], "not_violating"))
    html = client.get(page_url(token)).content.decode()
    assert "All 2 URLs removed" in html
    assert f'name="line-{lines[0].pk}-change"' in html
    assert f'name="line-{lines[1].pk}-change"' not in html


def test_it_never_changes_an_answered_url_without_the_explicit_choice(client: Client) -> None:
    rr, contact, lines = open_request(urls=2)
    _, token = issue(rr, contact)
    client.post(page_url(token), answer(lines[0], "not_violating"))
    response = client.post(page_url(token), answer(lines[0], "removed", comment="gone now"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "URL 1 already has an answer" in html
    assert "gone now" in html  # what was typed is shown again, not lost
    assert RequestItem.objects.get(pk=lines[0].pk).outcome == Outcome.REFUSED_NOT_VIOLATING
    assert OutcomeRecord.objects.filter(line=lines[0]).count() == 1
    assert Correspondence.objects.filter(channel=CorrespondenceChannel.PORTAL).count() == 1


def test_it_records_a_changed_answer_as_an_amendment_keeping_the_history(client: Client) -> None:
    rr, contact, lines = open_request(urls=2)
    _, token = issue(rr, contact)
    client.post(page_url(token), answer(lines[0], "not_violating"))
    response = client.post(page_url(token), answer(lines[0], "removed", change="1"), follow=True)
    assert response.status_code == 200
    records = list(OutcomeRecord.objects.filter(line=lines[0]).order_by("id"))
    assert [r.outcome for r in records] == [Outcome.REFUSED_NOT_VIOLATING, Outcome.REMOVED]
    assert "amends" not in records[0].detail
    assert records[1].detail["amends"] == Outcome.REFUSED_NOT_VIOLATING
    html = response.content.decode()
    assert "Amended" in html
    assert "earlier answer: Refused: not against the terms" in html
    assert 'id="bulk-message"' not in html


def test_it_asks_for_the_new_answer_when_change_is_ticked_alone(client: Client) -> None:
    rr, contact, lines = open_request(urls=1)
    _, token = issue(rr, contact)
    client.post(page_url(token), answer(lines[0], "not_violating"))
    response = client.post(page_url(token), {f"line-{lines[0].pk}-change": "1"})
    assert response.status_code == 400
    assert "Choose the new answer for URL 1" in response.content.decode()
    assert OutcomeRecord.objects.filter(line=lines[0]).count() == 1


def test_it_refuses_all_removed_when_every_url_is_answered(client: Client) -> None:
    rr, contact, lines = open_request(urls=1)
    _, token = issue(rr, contact)
    client.post(page_url(token), answer(lines[0], "not_violating"))
    response = client.post(page_url(token), {"all_removed": "1"})
    assert response.status_code == 400
    assert "“All removed” changed nothing" in response.content.decode()
    assert RequestItem.objects.get(pk=lines[0].pk).outcome == Outcome.REFUSED_NOT_VIOLATING


def test_it_words_what_all_removed_did_in_the_operators_language(client: Client) -> None:
    rr, contact, lines = open_request(urls=3)
    Contact.objects.filter(pk=contact.pk).update(language="de")
    _, token = issue(rr, contact)
    client.post(page_url(token), answer(lines[0], "not_violating"))
    html = client.post(page_url(token), {"all_removed": "1"}, follow=True).content.decode()
    assert "„Alle entfernt“ wurde auf 2 URLs ohne Antwort angewendet." in html
    assert "1 bereits beantwortete URL wurde unverändert gelassen." in html


def test_it_applies_all_removed_to_urls_left_without_response_at_the_deadline(
    client: Client,
) -> None:
    # "No response by the deadline" is no answer: a late "all removed" answers it.
    rr, contact, lines = open_request(urls=2)
    _, token = issue(rr, contact)
    client.post(page_url(token), answer(lines[0], "not_violating"))
    assert rr.deadline is not None
    with time_machine.travel(rr.deadline + timedelta(hours=1), tick=False):
        assert request_expire_open_items(request=rr) == 1
        assert client.post(page_url(token), {"all_removed": "1"}).status_code == 302
    outcomes = [RequestItem.objects.get(pk=line.pk).outcome for line in lines]
    assert outcomes == [Outcome.REFUSED_NOT_VIOLATING, Outcome.REMOVED]


def test_it_words_the_explicit_change_refusal_in_the_operators_language(client: Client) -> None:
    rr, contact, lines = open_request(urls=1)
    Contact.objects.filter(pk=contact.pk).update(language="de")
    _, token = issue(rr, contact)
    client.post(page_url(token), answer(lines[0], "not_violating"))
    html = client.post(page_url(token), answer(lines[0], "removed")).content.decode()
    assert "URL 1 hat bereits eine Antwort (Abgelehnt: kein Verstoß gegen die Bedingungen)" in html
    assert "Diese Antwort ändern" in html  # the explicit choice, now offered on that URL


# --- the answer fields (built in Python for speed, issue 11 P4) ---------------------------


def test_it_shows_the_typed_values_again_escaped_ticked_and_selected(client: Client) -> None:
    rr, contact, lines = open_request(urls=2)
    _, token = issue(rr, contact)
    hostile = '"><script>alert(1)</script>'
    data = answer(lines[0], "cannot_comply", ground="force_majeure", comment=hostile)
    data.update(answer(lines[1], "forwarded", question=hostile))  # no provider: refused
    response = client.post(page_url(token), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "<script>alert(1)" not in page
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    first, second = lines[0].pk, lines[1].pk
    assert f'id="l{first}-cannot_comply" value="cannot_comply" checked>' in page
    assert f'id="l{first}-none" value="">' in page
    assert '<option value="force_majeure" selected>' in page
    assert f'id="l{second}-forwarded" value="forwarded" checked>' in page
    assert page.count(" open>") == 2  # both detail blocks hold something typed


def test_it_words_the_answer_fields_in_the_page_language(client: Client) -> None:
    rr, contact, lines = open_request(urls=1)
    contact.language = "de"
    contact.save()
    _, token = issue(rr, contact)
    page = client.get(page_url(token)).content.decode()
    with translation.override("de"):
        no_change, removed = gettext("No change"), gettext("Removed")
    assert no_change != "No change"
    assert f'for="l{lines[0].pk}-none">{no_change}</label>' in page
    assert f'for="l{lines[0].pk}-removed">{removed}</label>' in page
    # And in English for an English contact, from the same process.
    contact.language = "en"
    contact.save()
    page = client.get(page_url(token)).content.decode()
    assert f'for="l{lines[0].pk}-none">No change</label>' in page


def test_a_refused_submission_does_not_record_the_links_use(client: Client) -> None:
    rr, contact, lines = open_request(urls=1)
    link, token = issue(rr, contact)
    response = client.post(page_url(token), answer(lines[0], "forwarded"))  # no provider
    assert response.status_code == 400
    link.refresh_from_db()
    assert link.last_used_at is None
