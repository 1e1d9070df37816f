"""The staff platform screens: list, detail, create/edit, contacts, upstream providers."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from core.models import AuditEvent
from platforms.models import (
    Contact,
    ContactChannel,
    OperatorCanAct,
    Platform,
    PlatformArchitecture,
    PlatformDomain,
    PlatformKind,
    PlatformStatus,
    PlatformTier,
    UpstreamProvider,
)
from tests.factories import (
    ContactFactory,
    PlatformDomainFactory,
    PlatformFactory,
    RemovalRequestFactory,
    RequestItemFactory,
    SentRequestFactory,
    UpstreamProviderFactory,
)
from tests.naughty import chosen_strings

pytestmark = pytest.mark.django_db

LIST_URL = reverse("platforms:list")
CREATE_URL = reverse("platforms:create")
BLNS = Path(__file__).resolve().parents[2] / "shared/corpora/naughty-strings/blns.txt"


def naughty_strings() -> list[str]:
    lines = BLNS.read_text(encoding="utf-8").split("\n")
    return chosen_strings([line for line in lines if line.strip() and not line.startswith("#")])


def detail_url(platform: Platform) -> str:
    return reverse("platforms:detail", args=[platform.pk])


def platform_post(**overrides: str) -> dict[str, str]:
    data = {
        "name": "JustPaste",
        "domains": "justpaste.example.org",
        "kind": PlatformKind.PASTE_SITE,
        "tier": PlatformTier.NICHE,
        "architecture": PlatformArchitecture.CENTRALISED,
        "country": "PL",
        "status": PlatformStatus.ACTIVE,
        "operator_can_act": OperatorCanAct.YES,
        "response_target_days": "7",
        "preferred_language": "pl",
        "notes": "",
    }
    data.update(overrides)
    return data


def contact_post(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Owner",
        "channel": ContactChannel.EMAIL,
        "email": "owner@justpaste.example.org",
        "web_form_url": "",
        "role": "owner",
        "language": "",
        "is_active": "on",
        "notes": "",
    }
    data.update(overrides)
    return data


def names_in(response) -> list[str]:
    return [row.name for row in response.context["page"].rows]


def count_queries(client, url: str) -> int:
    client.get(url)  # warm caches that a first request fills once per process
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def assert_no_raw_markup(content: str, value: str) -> None:
    if re.search(r"<[A-Za-z/!]", value):
        assert value not in content, repr(value)


def assert_only_escaped(content: str, stored: str) -> None:
    """A stored value shows escaped; markup in it never reaches the page raw."""
    assert escape(stored) in content, repr(stored)
    assert_no_raw_markup(content, stored)


# --- access -------------------------------------------------------------------------------


def test_it_sends_anonymous_users_to_sign_in(client, platform):
    for url in (LIST_URL, CREATE_URL, detail_url(platform)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_it_lets_the_analyst_view_platforms(client, dave, platform):
    client.force_login(dave)
    assert client.get(LIST_URL).status_code == 200
    response = client.get(detail_url(platform))
    assert response.status_code == 200
    assert b"Edit platform" not in response.content
    assert b"Deactivate" not in response.content


def test_it_refuses_the_analyst_every_change(client, dave, platform):
    contact = platform.contacts.get()
    provider = PlatformFactory(infrastructure=True)
    client.force_login(dave)
    assert client.get(CREATE_URL).status_code == 403
    assert client.post(CREATE_URL, platform_post()).status_code == 403
    assert client.get(reverse("platforms:edit", args=[platform.pk])).status_code == 403
    assert (
        client.post(reverse("platforms:edit", args=[platform.pk]), platform_post()).status_code
        == 403
    )
    assert (
        client.post(
            reverse("platforms:contact_add", args=[platform.pk]), contact_post()
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("platforms:contact_edit", args=[platform.pk, contact.pk]), contact_post()
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("platforms:contact_deactivate", args=[platform.pk, contact.pk])
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("platforms:upstream_add", args=[platform.pk]),
            {"provider": provider.pk, "role": "hosting"},
        ).status_code
        == 403
    )
    assert Platform.objects.count() == 2
    contact.refresh_from_db()
    assert contact.is_active
    assert not UpstreamProvider.objects.exists()


# --- list ---------------------------------------------------------------------------------


def test_it_lists_platforms_with_domains_and_active_contact_counts(client, alice, platform):
    ContactFactory(platform=platform)
    ContactFactory(platform=platform, is_active=False)
    for n in range(4):
        PlatformDomainFactory(platform=platform, domain=f"mirror{n}.pastebay.example.net")
    client.force_login(alice)
    response = client.get(LIST_URL)
    assert response.status_code == 200
    row = response.context["page"].rows[0]
    assert (row.domain_count, row.active_contact_count) == (5, 2)
    assert b"and 2 more" in response.content
    assert b"<caption>" in response.content


def test_it_searches_by_name(client, alice, platform):
    PlatformFactory(name="Gab")
    client.force_login(alice)
    assert names_in(client.get(LIST_URL, {"q": "pasteb"})) == ["PasteBay"]


def test_it_searches_by_domain_and_by_a_pasted_url(client, alice, platform):
    PlatformFactory(name="Gab")
    client.force_login(alice)
    assert names_in(client.get(LIST_URL, {"q": "example.net"})) == ["PasteBay"]
    pasted = "https://M.PasteBay.Example.NET/p/123?utm_source=x"
    assert names_in(client.get(LIST_URL, {"q": pasted})) == ["PasteBay"]


@pytest.mark.parametrize(
    ("param", "value", "attrs"),
    [
        ("tier", PlatformTier.MAINSTREAM, {"tier": PlatformTier.MAINSTREAM}),
        ("kind", PlatformKind.VIDEO, {"kind": PlatformKind.VIDEO}),
        (
            "architecture",
            PlatformArchitecture.PEER_TO_PEER,
            {"architecture": PlatformArchitecture.PEER_TO_PEER},
        ),
        ("country", "DE", {"country": "DE"}),
        ("status", PlatformStatus.DEFUNCT, {"status": PlatformStatus.DEFUNCT}),
        ("operator_can_act", OperatorCanAct.NO, {"operator_can_act": OperatorCanAct.NO}),
    ],
)
def test_it_filters_the_list(client, alice, param, value, attrs):
    PlatformFactory(name="Wanted", **attrs)
    PlatformFactory(name="Other", country="PL")
    client.force_login(alice)
    assert names_in(client.get(LIST_URL, {param: value})) == ["Wanted"]


def test_it_ignores_a_filter_value_it_does_not_know(client, alice, platform):
    client.force_login(alice)
    response = client.get(LIST_URL, {"tier": "<script>alert(1)</script>"})
    assert response.status_code == 200
    assert names_in(response) == ["PasteBay"]
    assert b"<script>alert(1)" not in response.content


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["alpha", "Bravo", "charlie"]),
        ("-name", ["charlie", "Bravo", "alpha"]),
        ("kind", ["Bravo", "alpha", "charlie"]),
        ("-tier", ["charlie", "alpha", "Bravo"]),
        ("country", ["alpha", "charlie", "Bravo"]),
        ("-created", ["charlie", "Bravo", "alpha"]),
        ("nonsense", ["alpha", "Bravo", "charlie"]),
    ],
)
def test_it_sorts_the_list(client, alice, sort, expected):
    PlatformFactory(name="alpha", kind=PlatformKind.VIDEO, tier=PlatformTier.NICHE, country="AT")
    PlatformFactory(
        name="Bravo", kind=PlatformKind.FORUM, tier=PlatformTier.MAINSTREAM, country="ZA"
    )
    PlatformFactory(name="charlie", kind=PlatformKind.VIDEO, tier=PlatformTier.NICHE, country="FR")
    client.force_login(alice)
    assert names_in(client.get(LIST_URL, {"sort": sort})) == expected


def test_it_pages_through_the_list_with_a_cursor(client, alice):
    for n in range(120):
        PlatformFactory(name=f"Platform {n:03d}")
    client.force_login(alice)
    seen: list[str] = []
    response = client.get(LIST_URL, {"kind": PlatformKind.PASTE_SITE})
    pages = 1
    while True:
        seen += names_in(response)
        page = response.context["page"]
        if not page.next_cursor:
            break
        assert "after=" in response.content.decode()
        response = client.get(
            LIST_URL, {"kind": PlatformKind.PASTE_SITE, "after": page.next_cursor}
        )
        pages += 1
    assert pages == 3
    assert seen == [f"Platform {n:03d}" for n in range(120)]
    back = client.get(LIST_URL, {"before": response.context["page"].previous_cursor})
    assert names_in(back) == [f"Platform {n:03d}" for n in range(50, 100)]


def test_it_starts_again_from_page_one_on_a_tampered_cursor(client, alice, platform):
    client.force_login(alice)
    for raw in ("abc|not-a-number", "x|1|2|3", "\x00|1", "not base64 at all"):
        cursor = base64.b64encode(raw.encode()).decode() if "|" in raw else raw
        for sort in ("name", "-created"):
            response = client.get(LIST_URL, {"after": cursor, "sort": sort})
            assert response.status_code == 200
            assert names_in(response) == ["PasteBay"]


def test_it_answers_htmx_with_the_results_only(client, alice, platform):
    client.force_login(alice)
    response = client.get(LIST_URL, {"q": "paste"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert b"PasteBay" in response.content
    assert b"<html" not in response.content
    assert "HX-Request" in response["Vary"]


def test_it_runs_as_many_queries_for_30_platforms_as_for_one(
    client, alice, django_assert_max_num_queries
):
    client.force_login(alice)
    first = PlatformFactory()
    PlatformDomainFactory(platform=first)
    ContactFactory(platform=first)
    one = count_queries(client, LIST_URL)
    for _ in range(29):
        other = PlatformFactory()
        PlatformDomainFactory(platform=other)
        PlatformDomainFactory(platform=other)
        ContactFactory(platform=other)
    thirty = count_queries(client, LIST_URL)
    assert thirty == one
    with django_assert_max_num_queries(one):
        assert len(client.get(LIST_URL).context["page"].rows) == 30


# --- detail -------------------------------------------------------------------------------


def test_it_shows_the_platform_with_domains_contacts_providers_and_requests(
    client, alice, platform
):
    host = PlatformFactory(name="HostCo", infrastructure=True)
    UpstreamProviderFactory(platform=platform, provider=host)
    mirror = PlatformFactory(name="MirrorSite")
    UpstreamProviderFactory(platform=mirror, provider=platform, role="gateway")
    ContactFactory(platform=platform, email="gone@pastebay.example.net", is_active=False)
    sent = SentRequestFactory(platform=platform)
    RequestItemFactory(request=sent)
    client.force_login(alice)
    response = client.get(detail_url(platform))
    content = response.content.decode()
    assert response.status_code == 200
    for text in (
        "pastebay.example.net",
        "abuse@pastebay.example.net",
        "gone@pastebay.example.net",
        "HostCo",
        "MirrorSite",
        sent.reference,
        "Compliance",
        f"/requests/?platform={platform.pk}",
    ):
        assert text in content
    assert response.context["detail"].recent_requests[0].line_count == 1
    assert content.count('action="/platforms/') >= 2  # deactivate + upstream add, all POST


def test_it_shows_the_latest_20_requests_with_a_link_to_all(client, alice, platform):
    for _ in range(21):
        RemovalRequestFactory(platform=platform)
    client.force_login(alice)
    response = client.get(detail_url(platform))
    detail = response.context["detail"]
    assert len(detail.recent_requests) == 20
    assert detail.more_requests
    assert b"All requests to this platform" in response.content


def test_it_runs_as_many_queries_for_a_busy_platform_as_for_a_quiet_one(client, alice):
    client.force_login(alice)
    quiet = PlatformFactory()
    busy = PlatformFactory()
    for n in range(30):
        PlatformDomainFactory(platform=busy)
        ContactFactory(platform=busy)
        UpstreamProviderFactory(platform=busy)
        UpstreamProviderFactory(provider=busy, platform=PlatformFactory())
        if n < 25:
            RequestItemFactory(request=SentRequestFactory(platform=busy))
    assert count_queries(client, detail_url(busy)) == count_queries(client, detail_url(quiet))


def test_it_answers_404_for_an_unknown_platform(client, alice):
    client.force_login(alice)
    assert client.get(reverse("platforms:detail", args=[999999])).status_code == 404


# --- create and edit ----------------------------------------------------------------------


def test_it_creates_a_platform_and_shows_it(client, alice):
    client.force_login(alice)
    response = client.post(
        CREATE_URL, platform_post(domains="JustPaste.Example.ORG\n\nwww.jp.example.org\n")
    )
    platform = Platform.objects.get(name="JustPaste")
    assert response.status_code == 302
    assert response["Location"] == detail_url(platform)
    assert sorted(platform.domains.values_list("domain", flat=True)) == [
        "justpaste.example.org",
        "www.jp.example.org",
    ]
    assert (platform.country.code, platform.operator_can_act) == ("PL", OperatorCanAct.YES)
    assert AuditEvent.objects.filter(action="platform.created").exists()
    page = client.get(response["Location"])
    assert b"Platform JustPaste registered." in page.content


def test_it_prefills_the_create_form_from_an_unknown_domain(client, alice):
    client.force_login(alice)
    response = client.get(CREATE_URL, {"domain": "WWW.Example.ORG."})
    form = response.context["form"]
    assert response.status_code == 200
    assert form.initial == {"name": "www.example.org", "domains": "www.example.org"}
    assert b"No platform serves www.example.org yet." in response.content


def test_it_returns_to_the_intake_after_creating(client, alice):
    client.force_login(alice)
    next_url = "/items/intake/?draft=7"
    form_page = client.get(CREATE_URL, {"domain": "example.org", "next": next_url})
    assert escape(next_url) in form_page.content.decode()
    response = client.post(CREATE_URL, platform_post(next=next_url))
    assert response.status_code == 302
    assert response["Location"] == next_url


def test_it_ignores_a_next_that_leaves_the_site(client, alice):
    client.force_login(alice)
    for next_url in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        response = client.post(
            CREATE_URL, platform_post(name=f"P {next_url}", domains="", next=next_url)
        )
        assert response.status_code == 302
        assert response["Location"].startswith("/platforms/")


def test_it_shows_a_duplicate_domain_as_a_form_error(client, alice, platform):
    client.force_login(alice)
    response = client.post(
        CREATE_URL, platform_post(domains="www.pastebay.example.net\npastebay.example.net")
    )
    assert response.status_code == 400
    assert b"The domain pastebay.example.net already belongs to PasteBay." in response.content
    assert not Platform.objects.filter(name="JustPaste").exists()


def test_it_shows_a_duplicate_name_as_a_form_error(client, alice, platform):
    client.force_login(alice)
    response = client.post(CREATE_URL, platform_post(name="pastebay"))
    assert response.status_code == 400
    assert b"already exists" in response.content


def test_it_shows_a_refused_domain_next_to_the_field(client, alice):
    client.force_login(alice)
    response = client.post(CREATE_URL, platform_post(domains="co.uk\n10.0.0.1"))
    assert response.status_code == 400
    errors = response.context["form"].errors["domains"]
    assert len(errors) == 2
    assert 'aria-invalid="true"' in response.content.decode()


def test_it_refuses_a_response_target_out_of_range(client, alice):
    client.force_login(alice)
    response = client.post(CREATE_URL, platform_post(response_target_days="0"))
    assert response.status_code == 400
    assert "response_target_days" in response.context["form"].errors


def test_it_edits_a_platform_and_its_domains(client, alice, platform):
    client.force_login(alice)
    edit_url = reverse("platforms:edit", args=[platform.pk])
    form = client.get(edit_url).context["form"]
    assert form.initial["domains"] == "pastebay.example.net"
    response = client.post(
        edit_url,
        platform_post(
            name="PasteBay",
            domains="pastebay.example.org",
            status=PlatformStatus.DEFUNCT,
            operator_can_act=OperatorCanAct.NO,
        ),
    )
    assert response.status_code == 302
    platform.refresh_from_db()
    assert platform.status == PlatformStatus.DEFUNCT
    assert list(platform.domains.values_list("domain", flat=True)) == ["pastebay.example.org"]


def test_it_keeps_the_platform_unchanged_when_an_edit_is_refused(client, alice, platform):
    PlatformDomainFactory(platform=PlatformFactory(name="Gab"), domain="gab.example.com")
    client.force_login(alice)
    response = client.post(
        reverse("platforms:edit", args=[platform.pk]),
        platform_post(name="Renamed", domains="gab.example.com"),
    )
    assert response.status_code == 400
    assert b"already belongs to Gab" in response.content
    assert b"Edit PasteBay" in response.content
    platform.refresh_from_db()
    assert platform.name == "PasteBay"


def test_it_survives_every_naughty_string_in_the_platform_form(client, alice):
    client.force_login(alice)
    stored = 0
    strings = naughty_strings()
    for n, naughty in enumerate(strings):
        # Name and notes together; the domains apart, since a refused domain refuses the form.
        for data in (
            platform_post(name=naughty, notes=naughty, domains=""),
            platform_post(name=f"Domain test {n}", domains=naughty),
        ):
            response = client.post(CREATE_URL, data)
            assert response.status_code < 500, repr(naughty)
            if response.status_code == 302:
                stored += 1
                created = Platform.objects.get(pk=response["Location"].split("/")[-2])
                page = client.get(response["Location"]).content.decode()
                assert_only_escaped(page, created.name)
                assert_only_escaped(page, created.notes)
                for domain in created.domains.values_list("domain", flat=True):
                    assert_only_escaped(page, domain)
            else:
                assert response.status_code == 400, repr(naughty)
                assert_only_escaped(response.content.decode(), data["name"].strip())
    assert stored > len(strings) * 9 // 10  # most strings are stored, not refused
    assert client.get(LIST_URL, {"sort": "-created"}).status_code == 200


# --- contacts -----------------------------------------------------------------------------


def test_it_adds_a_contact(client, alice, platform):
    client.force_login(alice)
    response = client.post(
        reverse("platforms:contact_add", args=[platform.pk]),
        contact_post(is_primary="on", language="en"),
    )
    assert response.status_code == 302
    assert response["Location"] == detail_url(platform)
    new = platform.contacts.get(email="owner@justpaste.example.org")
    old = platform.contacts.get(email="abuse@pastebay.example.net")
    assert (new.is_primary, new.language, old.is_primary) == (True, "en", False)


def test_it_adds_a_web_form_contact(client, alice, platform):
    client.force_login(alice)
    response = client.post(
        reverse("platforms:contact_add", args=[platform.pk]),
        contact_post(
            channel=ContactChannel.WEB_FORM,
            email="",
            web_form_url="https://pastebay.example.net/report",
        ),
    )
    assert response.status_code == 302
    assert platform.contacts.filter(channel=ContactChannel.WEB_FORM).count() == 1


def test_it_asks_for_the_address_the_channel_needs(client, alice, platform):
    client.force_login(alice)
    response = client.post(
        reverse("platforms:contact_add", args=[platform.pk]),
        contact_post(channel=ContactChannel.WEB_FORM, email=""),
    )
    assert response.status_code == 400
    assert "web_form_url" in response.context["form"].errors


def test_it_shows_a_duplicate_contact_as_a_form_error(client, alice, platform):
    client.force_login(alice)
    response = client.post(
        reverse("platforms:contact_add", args=[platform.pk]),
        contact_post(email="ABUSE@pastebay.example.net"),
    )
    assert response.status_code == 400
    assert b"is already a contact of PasteBay" in response.content


def test_it_edits_a_contact(client, alice, platform):
    contact = platform.contacts.get()
    url = reverse("platforms:contact_edit", args=[platform.pk, contact.pk])
    client.force_login(alice)
    assert client.get(url).context["form"].initial["email"] == "abuse@pastebay.example.net"
    response = client.post(url, contact_post(email="legal@pastebay.example.net", role="legal"))
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.email, contact.role, contact.is_primary) == (
        "legal@pastebay.example.net",
        "legal",
        False,
    )


def test_it_finds_no_contact_under_another_platform(client, alice, platform):
    stranger = ContactFactory()
    client.force_login(alice)
    url = reverse("platforms:contact_edit", args=[platform.pk, stranger.pk])
    assert client.get(url).status_code == 404
    deactivate = reverse("platforms:contact_deactivate", args=[platform.pk, stranger.pk])
    assert client.post(deactivate).status_code == 404


def test_it_deactivates_a_contact_on_post_only(client, alice, platform):
    contact = platform.contacts.get()
    url = reverse("platforms:contact_deactivate", args=[platform.pk, contact.pk])
    client.force_login(alice)
    assert client.get(url).status_code == 405
    contact.refresh_from_db()
    assert contact.is_active
    response = client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == detail_url(platform)
    assert b"deactivated" in response.content
    contact.refresh_from_db()
    assert (contact.is_active, contact.is_primary) == (False, False)


def test_it_survives_every_naughty_string_in_the_contact_form(client, alice, platform):
    client.force_login(alice)
    add_url = reverse("platforms:contact_add", args=[platform.pk])
    stored = 0
    strings = naughty_strings()
    for n, naughty in enumerate(strings):
        for data in (
            contact_post(name=naughty, notes=naughty, email=f"n{n}@pastebay.example.net"),
            # Both address fields are validated whatever the channel.
            contact_post(email=naughty, web_form_url=naughty),
        ):
            response = client.post(add_url, data)
            assert response.status_code < 500, repr(naughty)
            if response.status_code == 302:
                stored += 1
            else:
                assert response.status_code == 400, repr(naughty)
    page = client.get(detail_url(platform)).content.decode()
    assert stored > len(strings) * 9 // 10  # most strings are stored, not refused
    for contact in Contact.objects.filter(platform=platform):
        assert_only_escaped(page, contact.name)
        assert_only_escaped(page, contact.email or contact.web_form_url)


# --- upstream providers -------------------------------------------------------------------


def test_it_adds_an_infrastructure_provider(client, alice, platform):
    host = PlatformFactory(name="HostCo", infrastructure=True)
    client.force_login(alice)
    form_page = client.get(detail_url(platform)).content.decode()
    assert f'<option value="{host.pk}">HostCo</option>' in form_page
    response = client.post(
        reverse("platforms:upstream_add", args=[platform.pk]),
        {"provider": host.pk, "role": "hosting"},
        follow=True,
    )
    assert response.status_code == 200
    assert b"HostCo is now an upstream provider of PasteBay." in response.content
    assert list(platform.upstream_providers.all()) == [host]


def test_it_refuses_a_provider_that_is_not_infrastructure(client, alice, platform):
    gab = PlatformFactory(name="Gab")
    client.force_login(alice)
    form_page = client.get(detail_url(platform)).content.decode()
    assert ">Gab</option>" not in form_page
    response = client.post(
        reverse("platforms:upstream_add", args=[platform.pk]),
        {"provider": gab.pk, "role": "hosting"},
    )
    assert response.status_code == 400
    assert b"Gab is not an infrastructure provider" in response.content
    assert not UpstreamProvider.objects.exists()


def test_it_refuses_an_upstream_form_with_nonsense(client, alice, platform):
    client.force_login(alice)
    response = client.post(
        reverse("platforms:upstream_add", args=[platform.pk]),
        {"provider": "<script>", "role": "owner"},
    )
    assert response.status_code == 400
    assert set(response.context["upstream_form"].errors) == {"provider", "role"}
    assert not PlatformDomain.objects.exclude(platform=platform).exists()


def test_it_survives_every_naughty_string_in_the_filters_and_links(client, alice, platform):
    client.force_login(alice)
    filters = ("q", "tier", "kind", "architecture", "country", "status", "operator_can_act")
    for naughty in naughty_strings():
        listing = client.get(LIST_URL, {**dict.fromkeys(filters, naughty), "sort": naughty})
        assert listing.status_code == 200, repr(naughty)
        assert_no_raw_markup(listing.content.decode(), naughty)
        prefilled = client.get(CREATE_URL, {"domain": naughty, "next": naughty})
        assert prefilled.status_code == 200, repr(naughty)
        assert_no_raw_markup(prefilled.content.decode(), naughty)


def test_it_refuses_a_platform_name_with_a_line_break(client, alice) -> None:
    # The name goes into every request email's subject: a CR/LF there is a 500 at send
    # (or a header injection), so the form refuses it (issue 10, point 9).
    client.force_login(alice)

    response = client.post(CREATE_URL, platform_post(name="Evil\r\nBcc: x@y.example"))

    assert response.status_code == 400
    assert "Line breaks are not allowed here" in response.content.decode()
    assert not Platform.objects.filter(name__startswith="Evil").exists()
