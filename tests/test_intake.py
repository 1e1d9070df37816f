"""Intake: the paste box, one URL, CSV upload, and the per-line summary."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from cases.models import Item, ItemCategory, ItemReferral, LegalBasis
from cases.services import intake as intake_service
from cases.services.intake import LineStatus, items_match_unknown_platforms
from core.audit import audit_history
from platforms.models import (
    OperatorCanAct,
    PlatformArchitecture,
    PlatformDomain,
    PlatformKind,
    PlatformStatus,
    PlatformTier,
)
from tests.factories import (
    ActorFactory,
    CaseFactory,
    ItemFactory,
    PlatformDomainFactory,
    PlatformFactory,
)
from tests.naughty import chosen_strings

pytestmark = pytest.mark.django_db

BLNS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "naughty-strings" / "blns.txt"


def paste(client, text: str, **fields):
    data = {"text": text, "category": "propaganda", "legal_basis": "terms_of_service"}
    data.update(fields)
    return client.post(reverse("items:intake"), data)


def summary(client, response):
    """Follow the redirect after an intake to its summary page."""
    assert response.status_code == 302, response.content.decode()[:2000]
    page = client.get(response["Location"])
    assert page.status_code == 200
    return page


def lines_of(page) -> list[tuple[int, str, str]]:
    return [(r.line, r.text, str(r.status)) for r in page.context["rows"]]


def counts(page) -> tuple[int, int, int]:
    found = page.context["counts"]
    return found["created"], found["known"], found["refused"]


MESSY = """Dear team, these came up overnight:

- https://pastebay.example.net/p/first.
* <https://PASTEBAY.example.net:443/p/second?utm_source=tg>, and also (https://pastebay.example.net/p/third)
  1. hxxps://pastebay[.]example[.]net/p/fourth
Nothing on this line at all
ftp://pastebay.example.net/p/file
See https://gab.example.org/posts/42!
"""


# --- the paste box ------------------------------------------------------------------------------


def test_it_extracts_urls_from_a_messy_paste(client, alice, platform):
    client.force_login(alice)

    page = summary(client, paste(client, MESSY))

    assert lines_of(page) == [
        (1, "Dear team, these came up overnight:", "refused"),
        (3, "https://pastebay.example.net/p/first", "created"),
        (4, "https://PASTEBAY.example.net:443/p/second?utm_source=tg", "created"),
        (4, "https://pastebay.example.net/p/third", "created"),
        (5, "https://pastebay.example.net/p/fourth", "created"),
        (6, "Nothing on this line at all", "refused"),
        (7, "ftp://pastebay.example.net/p/file", "refused"),
        (8, "https://gab.example.org/posts/42", "created"),
    ]
    assert set(Item.objects.values_list("url_normalised", flat=True)) == {
        "https://pastebay.example.net/p/first",
        "https://pastebay.example.net/p/second",
        "https://pastebay.example.net/p/third",
        "https://pastebay.example.net/p/fourth",
        "https://gab.example.org/posts/42",
    }


def test_it_gives_the_reason_for_each_refused_line(client, alice, platform):
    client.force_login(alice)

    page = summary(client, paste(client, MESSY))

    reasons = {r.line: r.reason for r in page.context["rows"] if r.status == "refused"}
    assert reasons[6] == "No URL found on this line."
    assert "Only http and https URLs can be referred" in reasons[7]
    html = page.content.decode()
    assert "No URL found on this line." in html
    assert escape(reasons[7]) in html


def test_it_counts_created_known_and_refused(client, alice, bob, platform):
    ItemFactory(url_normalised="https://pastebay.example.net/p/first", created_by=bob)
    client.force_login(alice)

    page = summary(client, paste(client, MESSY))

    assert counts(page) == (4, 1, 3)


def test_it_matches_urls_to_their_platform_or_flags_them_unknown(client, alice, platform):
    client.force_login(alice)

    page = summary(client, paste(client, MESSY))

    platforms = {r.text: r.item.platform for r in page.context["rows"] if r.item}
    assert platforms["https://pastebay.example.net/p/first"] == platform
    assert platforms["https://gab.example.org/posts/42"] is None
    assert page.context["unknown_domains"] == ["example.org"]


def test_it_offers_to_create_the_platform_of_an_unknown_domain(client, alice, platform):
    client.force_login(alice)
    response = paste(client, "https://gab.example.org/posts/42")

    page = summary(client, response)

    # Registered from the summary, the platform claims the summary's items at once.
    token = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    link = f"{reverse('items:intake_register_platform', args=[token])}?domain=example.org"
    html = page.content.decode()
    assert f'href="{escape(link)}"' in html
    assert "Create platform for example.org?" in html


def test_it_skips_blank_lines(client, alice, platform):
    client.force_login(alice)

    page = summary(client, paste(client, "\n\n   \nhttps://pastebay.example.net/p/1\n\n"))

    assert lines_of(page) == [(4, "https://pastebay.example.net/p/1", "created")]


def test_it_makes_one_item_of_the_same_url_in_two_forms_within_one_paste(client, alice, platform):
    client.force_login(alice)

    page = summary(
        client,
        paste(
            client,
            "https://pastebay.example.net/p/abc\nHTTPS://PASTEBAY.EXAMPLE.NET/p/abc#comments\n",
        ),
    )

    first, second = page.context["rows"]
    assert Item.objects.count() == 1
    assert (first.status, second.status) == (LineStatus.CREATED, LineStatus.KNOWN)
    assert first.item == second.item
    assert second.same_as_line == 1
    assert ItemReferral.objects.count() == 1
    assert "Same URL as line 1." in page.content.decode()


def test_it_shows_who_referred_a_known_url_first_with_a_link(client, alice, bob, platform):
    known = ItemFactory(url_normalised="https://pastebay.example.net/p/abc", created_by=bob)
    client.force_login(alice)

    page = summary(client, paste(client, "https://pastebay.example.net/p/abc?fbclid=1"))

    line = page.context["rows"][0]
    assert (line.status, line.item, line.first_referred_by) == (LineStatus.KNOWN, known, bob)
    html = page.content.decode()
    assert f'href="{reverse("items:detail", args=[known.pk])}"' in html
    assert "Already known: first referred by bob" in html


def test_it_adds_the_officers_referral_to_a_known_item(client, alice, bob, platform):
    known = ItemFactory(url_normalised="https://pastebay.example.net/p/abc", created_by=bob)
    client.force_login(alice)

    paste(client, "https://pastebay.example.net/p/abc")

    assert list(known.referrals.values_list("referred_by__username", flat=True)) == ["alice"]
    assert Item.objects.count() == 1
    assert [e.action for e in audit_history(known)] == ["item.referred_again"]


def test_it_sets_case_actor_category_legal_basis_and_threat_to_life(client, alice, platform):
    case = CaseFactory(created_by=alice)
    actor = ActorFactory(name="Al-Hayat Media")
    client.force_login(alice)

    paste(
        client,
        "https://pastebay.example.net/p/1",
        case=case.pk,
        actor=actor.pk,
        category=ItemCategory.INSTRUCTION,
        legal_basis=LegalBasis.TCO_REGULATION,
        assessment_note="Bomb-making manual.",
        threat_to_life="on",
    )

    item = Item.objects.get()
    assert (item.case, item.actor, item.category, item.legal_basis) == (
        case,
        actor,
        ItemCategory.INSTRUCTION,
        LegalBasis.TCO_REGULATION,
    )
    assert (item.assessment_note, item.threat_to_life, item.created_by) == (
        "Bomb-making manual.",
        True,
        alice,
    )
    assert [e.action for e in audit_history(item)] == ["item.referred"]


def test_it_does_not_refer_again_when_the_summary_is_refreshed(client, alice, platform):
    client.force_login(alice)
    response = paste(client, "https://pastebay.example.net/p/1\nhttps://pastebay.example.net/p/2")

    first = client.get(response["Location"])
    again = client.get(response["Location"])

    assert first.status_code == again.status_code == 200
    assert lines_of(first) == lines_of(again)
    assert ItemReferral.objects.count() == 2


def test_it_keeps_a_summary_to_its_officer(client, alice, bob, platform):
    client.force_login(alice)
    response = paste(client, "https://pastebay.example.net/p/1")
    client.force_login(bob)

    assert client.get(response["Location"]).status_code == 404


def test_it_refers_5000_urls_in_one_paste(client, alice, bob, platform):
    known = [f"https://pastebay.example.net/p/{i}" for i in range(0, 5000, 500)]
    for url in known:
        ItemFactory(url_normalised=url, created_by=bob, platform=platform)
    text = "\n".join(f"- https://pastebay.example.net/p/{i}." for i in range(5000))
    client.force_login(alice)

    started = time.perf_counter()
    response = paste(client, text)
    posted = time.perf_counter()
    page = client.get(response["Location"])
    shown = time.perf_counter()

    print(  # for the record, with -s; no assertion on timing
        f"\n5,000-URL paste: intake POST {posted - started:.2f} s, "
        f"summary page {shown - posted:.2f} s ({len(page.content) / 1e6:.1f} MB of HTML)"
    )
    assert counts(page) == (4990, 10, 0)
    assert Item.objects.count() == 5000
    assert ItemReferral.objects.filter(referred_by=alice).count() == 5000
    assert Item.objects.filter(platform=platform).count() == 5000
    # Every line is answered, 500 to a page.
    assert [r.line for r in page.context["rows"]] == list(range(1, 501))
    last = client.get(response["Location"], {"page": 10})
    assert [r.line for r in last.context["rows"]] == list(range(4501, 5001))
    assert [str(r.status) for r in last.context["rows"]][-1] == "created"


def test_it_refuses_more_than_5000_urls_with_a_message(client, alice, platform):
    client.force_login(alice)
    text = "\n".join(f"https://pastebay.example.net/p/{i}" for i in range(5001))

    response = paste(client, text)

    assert response.status_code == 400
    assert "That is 5,001 URLs; the limit is 5,000 at a time." in response.content.decode()
    assert not Item.objects.exists()


def test_it_refuses_a_paste_without_any_line(client, alice):
    client.force_login(alice)

    response = paste(client, "  \n\n ")

    assert response.status_code == 400


def test_it_reports_a_line_without_a_url_even_when_nothing_is_created(client, alice):
    client.force_login(alice)

    page = summary(client, paste(client, "hello\nworld"))

    assert lines_of(page) == [(1, "hello", "refused"), (2, "world", "refused")]
    assert not Item.objects.exists()


def test_it_reports_a_url_inserted_by_a_concurrent_intake_as_known(
    client, alice, bob, platform, monkeypatch
):
    """The lookup misses a URL another officer inserts a moment later: the unique key decides."""
    real = intake_service._items_by_key
    calls = []

    def lookup_racing_with_bob(keys):
        if not calls:
            calls.append(keys)
            ItemFactory(url_normalised="https://pastebay.example.net/p/1", created_by=bob)
            return {}
        return real(keys)

    monkeypatch.setattr(intake_service, "_items_by_key", lookup_racing_with_bob)
    client.force_login(alice)

    page = summary(client, paste(client, "https://pastebay.example.net/p/1"))

    line = page.context["rows"][0]
    assert (line.status, line.first_referred_by) == (LineStatus.KNOWN, bob)
    assert Item.objects.count() == 1


# --- platforms registered after their items -----------------------------------------------------


def test_it_matches_items_to_a_platform_created_after_them(alice, bob):
    item = ItemFactory(platform=None, host="files.gab.example.org", created_by=bob)
    gab = PlatformFactory(name="Gab")
    PlatformDomainFactory(platform=gab, domain="gab.example.org")

    matched = items_match_unknown_platforms()

    item.refresh_from_db()
    assert (matched, item.platform) == (1, gab)
    assert [e.action for e in audit_history(item)] == ["item.platform_matched"]


def test_it_matches_waiting_items_at_the_start_of_an_intake(client, alice, platform):
    client.force_login(alice)
    paste(client, "https://gab.example.org/posts/1")
    gab = PlatformFactory(name="Gab")
    PlatformDomainFactory(platform=gab, domain="gab.example.org")

    page = summary(client, paste(client, "https://gab.example.org/posts/1"))

    line = page.context["rows"][0]
    assert (line.status, line.item.platform, line.platform_unknown) == (
        LineStatus.KNOWN,
        gab,
        False,
    )


def test_an_intake_matches_only_the_waiting_items_of_its_own_hosts(client, alice, platform):
    client.force_login(alice)
    paste(client, "https://gab.example.org/posts/1\nhttps://minds.example.org/p/2")
    gab = PlatformFactory(name="Gab")
    PlatformDomainFactory(platform=gab, domain="gab.example.org")
    minds = PlatformFactory(name="Minds")
    PlatformDomainFactory(platform=minds, domain="minds.example.org")

    paste(client, "https://gab.example.org/posts/3")

    platforms = dict(Item.objects.values_list("host", "platform__name"))
    assert platforms == {"gab.example.org": "Gab", "minds.example.org": None}
    assert items_match_unknown_platforms() == 1


def test_it_matches_waiting_items_from_the_summary_once_the_platform_exists(
    client, alice, platform
):
    client.force_login(alice)
    response = paste(client, "https://gab.example.org/posts/1")
    gab = PlatformFactory(name="Gab")
    PlatformDomainFactory(platform=gab, domain="gab.example.org")
    assert client.get(response["Location"]).context["matchable"] == 1

    after = client.post(response["Location"], follow=True)

    assert Item.objects.get().platform == gab
    assert "1 item was matched to its platform." in after.content.decode()


def _platform_form(name: str, domains: str) -> dict[str, str]:
    """The platform form as an officer fills it in (the same form as on the platforms page)."""
    return {
        "name": name,
        "domains": domains,
        "kind": PlatformKind.BLOG,
        "tier": PlatformTier.NICHE,
        "architecture": PlatformArchitecture.CENTRALISED,
        "country": "",
        "status": PlatformStatus.ACTIVE,
        "operator_can_act": OperatorCanAct.YES,
        "response_target_days": "7",
        "preferred_language": "en",
        "notes": "",
    }


def _register_url(response, domain: str = "example.org") -> str:
    token = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    return f"{reverse('items:intake_register_platform', args=[token])}?domain={domain}"


def test_it_prefills_the_platform_form_from_the_summary(client, alice, platform):
    client.force_login(alice)
    url = _register_url(paste(client, "https://gab.example.org/posts/1"))

    page = client.get(url)

    assert page.status_code == 200
    assert page.context["form"].initial == {"name": "example.org", "domains": "example.org"}
    assert not Item.objects.filter(platform__isnull=False).exists()


def test_it_claims_the_waiting_items_when_the_platform_is_registered_from_the_summary(
    client, alice, platform
):
    client.force_login(alice)
    response = paste(client, "https://gab.example.org/posts/1\nhttps://example.org/p/2")

    after = client.post(
        _register_url(response), _platform_form("Example", "example.org"), follow=True
    )

    assert after.redirect_chain == [(response["Location"], 302)]
    assert set(Item.objects.values_list("platform__name", flat=True)) == {"Example"}
    assert "Registered Example and matched 2 items to it." in after.content.decode()
    assert after.context["unknown_platform_count"] == 0


def test_it_audits_each_claimed_item_with_the_officer(client, alice, platform):
    client.force_login(alice)
    response = paste(client, "https://gab.example.org/posts/1")

    client.post(_register_url(response), _platform_form("Example", "example.org"))

    events = list(audit_history(Item.objects.get()).filter(action="item.platform_matched"))
    assert [(e.actor, e.new["name"]) for e in events] == [(alice, "Example")]


def test_it_leaves_waiting_items_to_a_more_specific_platform_domain(client, alice, bob, platform):
    client.force_login(alice)
    response = paste(client, "https://example.org/p/1")
    blog_item = ItemFactory(
        platform=None, host="blog.example.org", url_normalised="https://blog.example.org/x"
    )
    blog = PlatformFactory(name="Blog")
    PlatformDomainFactory(platform=blog, domain="blog.example.org")

    client.post(_register_url(response), _platform_form("Example", "example.org"))

    blog_item.refresh_from_db()
    assert blog_item.platform is None
    assert Item.objects.get(host="example.org").platform.name == "Example"


def test_it_never_moves_an_item_that_has_a_platform(client, alice, platform):
    client.force_login(alice)
    response = paste(client, "https://gab.example.org/posts/1")
    owned = ItemFactory(platform=platform, host="old.example.org")

    client.post(_register_url(response), _platform_form("Example", "example.org"))

    owned.refresh_from_db()
    assert owned.platform == platform


def test_it_shows_a_refused_platform_in_the_form_and_claims_nothing(client, alice, platform):
    client.force_login(alice)
    response = paste(client, "https://gab.example.org/posts/1")

    page = client.post(_register_url(response), _platform_form(platform.name, "example.org"))

    assert page.status_code == 400
    assert "already exists" in page.content.decode()
    assert Item.objects.get().platform is None


def test_it_does_not_register_a_platform_on_get(client, alice, platform):
    client.force_login(alice)
    url = _register_url(paste(client, "https://gab.example.org/posts/1"))

    client.get(url + "&name=Example&domains=example.org&kind=ugc")

    assert not PlatformDomain.objects.filter(domain="example.org").exists()
    assert Item.objects.get().platform is None


def test_it_refuses_registration_from_the_summary_without_a_csrf_token(client, alice, platform):
    client.force_login(alice)
    url = _register_url(paste(client, "https://gab.example.org/posts/1"))
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies

    response = strict.post(url, _platform_form("Example", "example.org"))

    assert response.status_code == 403
    assert Item.objects.get().platform is None


def test_it_refuses_registration_from_the_summary_to_an_analyst(client, alice, dave, platform):
    client.force_login(alice)
    url = _register_url(paste(client, "https://gab.example.org/posts/1"))
    client.force_login(dave)

    assert client.get(url).status_code == 403
    assert client.post(url, _platform_form("Example", "example.org")).status_code == 403
    assert Item.objects.get().platform is None


def test_it_answers_404_for_a_summary_that_is_gone(client, alice):
    client.force_login(alice)

    response = client.post(
        reverse("items:intake_register_platform", args=["nope"]),
        _platform_form("Example", "example.org"),
    )

    assert response.status_code == 404
    assert not PlatformDomain.objects.filter(domain="example.org").exists()


# --- one URL ------------------------------------------------------------------------------------


def single(client, url: str, **fields):
    data = {"url": url, "category": "propaganda", "legal_basis": "terms_of_service"}
    data.update(fields)
    return client.post(reverse("items:intake_single"), data)


def test_it_refers_one_url_and_opens_its_item(client, alice, platform):
    client.force_login(alice)

    response = single(client, "https://pastebay.example.net/p/1")

    item = Item.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("items:detail", args=[item.pk])


def test_it_says_who_referred_a_single_known_url_first(client, alice, bob, platform):
    known = ItemFactory(url_normalised="https://pastebay.example.net/p/1", created_by=bob)
    client.force_login(alice)

    page = client.get(single(client, "<https://pastebay.example.net/p/1>")["Location"])

    assert page.context["item"] == known
    assert "already known: first referred by bob" in page.content.decode()


def test_it_shows_why_a_single_url_is_refused_next_to_the_field(client, alice):
    client.force_login(alice)

    response = single(client, "javascript:alert(1)")

    assert response.status_code == 400
    assert "Only http and https URLs can be referred" in response.content.decode()
    assert not Item.objects.exists()


# --- CSV ----------------------------------------------------------------------------------------


def upload(client, content: bytes, name: str = "urls.csv", **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {
        "file": SimpleUploadedFile(name, content, content_type="text/csv"),
        "category": "propaganda",
        "legal_basis": "terms_of_service",
    }
    data.update(fields)
    return client.post(reverse("items:intake_csv"), data)


def test_it_refers_the_rows_of_a_csv_file(client, alice, platform):
    content = (
        "\ufeffURL,Category,legal_basis,assessment_note,threat_to_life\r\n"
        'https://pastebay.example.net/p/1,incitement,tco_regulation,"Calls to attack, named",'
        "yes\r\n"
        "https://pastebay.example.net/p/2,,,,\r\n"
    ).encode()
    client.force_login(alice)

    page = summary(client, upload(client, content, assessment_note="Default note."))

    assert lines_of(page) == [
        (2, "https://pastebay.example.net/p/1", "created"),
        (3, "https://pastebay.example.net/p/2", "created"),
    ]
    first = Item.objects.get(url_normalised="https://pastebay.example.net/p/1")
    second = Item.objects.get(url_normalised="https://pastebay.example.net/p/2")
    assert (first.category, first.legal_basis, first.assessment_note, first.threat_to_life) == (
        "incitement",
        "tco_regulation",
        "Calls to attack, named",
        True,
    )
    assert (second.category, second.legal_basis, second.assessment_note) == (
        "propaganda",
        "terms_of_service",
        "Default note.",
    )


def test_it_reports_bad_csv_rows_per_line_and_refers_the_others(client, alice, platform):
    content = (
        b"url,category,threat_to_life\n"
        b"https://pastebay.example.net/p/1,memes,\n"
        b",propaganda,\n"
        b"https://pastebay.example.net/p/2,,maybe\n"
        b"https://pastebay.example.net/p/3,,,surplus\n"
        b"mailto:someone@example.org,,\n"
        b"https://pastebay.example.net/p/4,Recruitment,no\n"
    )
    client.force_login(alice)

    page = summary(client, upload(client, content))

    by_line = {r.line: (str(r.status), r.reason) for r in page.context["rows"]}
    assert by_line[2][0] == "refused" and "Unknown category 'memes'" in by_line[2][1]
    assert by_line[3] == ("refused", "No URL in this row.")
    assert by_line[4][0] == "refused" and "threat_to_life must be yes or no" in by_line[4][1]
    assert by_line[5] == ("refused", "This row has more cells than the header row has columns.")
    assert by_line[6][0] == "refused" and "Only http and https" in by_line[6][1]
    assert by_line[7] == ("created", "")
    assert Item.objects.get().category == "recruitment"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (bytes(range(256)) * 64, "not UTF-8 text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8 text"),
        (b"url\nhttps://a.example.org/\x00\n", "binary data"),
        (b"", "The submitted file is empty."),
        (
            b"link,note\nhttps://pastebay.example.net/p/1,x\n",
            "one of them “url”",
        ),
        (b"url\n\n\n", "no URLs"),
        (b'url\n"https://pastebay.example.net/p/1\n', "not valid CSV (line 2: unexpected end"),
        (b"url,url\nhttps://pastebay.example.net/p/1,x\n", "appears twice"),
    ],
    ids=["binary", "png", "nul", "empty", "no-url-column", "header-only", "open-quote", "dup"],
)
def test_it_refuses_an_unreadable_csv_file_with_a_message(client, alice, content, message):
    client.force_login(alice)

    response = upload(client, content)

    assert response.status_code == 400
    assert escape(message) in response.content.decode()
    assert not Item.objects.exists()


def test_it_refuses_a_csv_file_with_more_than_5000_rows(client, alice):
    rows = "".join(f"https://pastebay.example.net/p/{i}\n" for i in range(5001))
    client.force_login(alice)

    response = upload(client, f"url\n{rows}".encode())

    assert response.status_code == 400
    assert "more than 5,000 rows" in response.content.decode()


def test_it_refuses_a_csv_file_over_5_mb(client, alice):
    client.force_login(alice)

    response = upload(client, b"url\n" + b"x" * (5 * 1024 * 1024))

    assert response.status_code == 400
    assert "too big" in response.content.decode()


# --- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["items:intake", "items:intake_single", "items:intake_csv"])
def test_it_refuses_intake_to_an_analyst(client, dave, name):
    client.force_login(dave)

    assert client.get(reverse(name)).status_code == 403
    assert client.post(reverse(name), {"text": "https://a.example.org/x"}).status_code == 403
    assert not Item.objects.exists()


def test_it_preselects_the_case_from_the_link(client, alice):
    case = CaseFactory(created_by=alice)
    client.force_login(alice)

    response = client.get(reverse("items:intake"), {"case": case.pk})

    assert response.status_code == 200
    assert response.context["form"]["case"].value() == str(case.pk)


# --- naughty strings ----------------------------------------------------------------------------


def naughty_strings() -> list[str]:
    lines = BLNS.read_text(encoding="utf-8").split("\n")
    return chosen_strings([line for line in lines if line.strip() and not line.startswith("#")])


def test_it_survives_naughty_strings_in_the_paste_box_and_the_note(client, alice, platform):
    client.force_login(alice)
    for n, naughty in enumerate(naughty_strings()):
        url = f"https://pastebay.example.net/naughty/{n}"

        response = paste(client, f"{naughty}\n{url}", assessment_note=naughty)

        assert response.status_code < 500, naughty
        if response.status_code != 302:
            assert response.status_code == 400, naughty
            continue
        page = client.get(response["Location"])
        html = page.content.decode()
        assert page.status_code == 200, naughty
        for line in page.context["rows"]:
            assert escape(line.text) in html, naughty
            assert escape(line.reason) in html, naughty
            if "<" in line.text:
                assert line.text not in html, naughty
        item = Item.objects.get(url_normalised=url)
        assert item.assessment_note == naughty.strip()
        detail = client.get(reverse("items:detail", args=[item.pk])).content.decode()
        assert escape(item.assessment_note) in detail, naughty
