"""Registering platforms, their domains, upstream providers and contacts; matching hosts."""

from __future__ import annotations

import pytest

from core.audit import audit_history
from core.errors import DomainError, DuplicateError
from platforms.models import Contact, PlatformKind, UpstreamRole
from platforms.selectors import platform_for_host, platforms_for_hosts
from platforms.services import (
    contact_create,
    contact_deactivate,
    contact_update,
    platform_create,
    platform_update,
    upstream_provider_add,
)
from tests.factories import (
    ContactFactory,
    PlatformDomainFactory,
    PlatformFactory,
)

pytestmark = pytest.mark.django_db


def actions(target) -> list[str]:
    return list(audit_history(target).values_list("action", flat=True))


# --- platform_create ----------------------------------------------------------


def test_it_creates_a_platform_with_its_domains_normalised(alice):
    platform = platform_create(
        actor=alice,
        name="JustPaste",
        kind=PlatformKind.PASTE_SITE,
        domains=["JustPaste.Example.NET.", "  ", "justpaste.example.net", "jp.example.org"],
    )

    assert sorted(platform.domains.values_list("domain", flat=True)) == [
        "jp.example.org",
        "justpaste.example.net",
    ]


def test_it_records_who_created_a_platform(alice):
    platform = platform_create(
        actor=alice, name="JustPaste", kind=PlatformKind.PASTE_SITE, domains=["jp.example.net"]
    )

    event = audit_history(platform).get()
    assert (event.action, event.actor) == ("platform.created", alice)
    assert event.new == {"name": "JustPaste", "domains": ["jp.example.net"]}


def test_it_refuses_a_domain_owned_by_another_platform_and_names_the_owner(alice, platform):
    with pytest.raises(DuplicateError) as refused:
        platform_create(
            actor=alice,
            name="PasteBay mirror",
            kind=PlatformKind.PASTE_SITE,
            domains=["PASTEBAY.example.net"],
        )

    assert refused.value.message == "The domain pastebay.example.net already belongs to PasteBay."


def test_it_refuses_a_domain_that_is_not_a_host_name_with_a_message(alice):
    with pytest.raises(DomainError) as refused:
        platform_create(
            actor=alice, name="Nowhere", kind=PlatformKind.FORUM, domains=["not a domain"]
        )

    assert refused.value.message.startswith("'not a domain': ")
    assert len(refused.value.message) > len("'not a domain': ")


def test_it_refuses_a_platform_name_that_exists_in_another_case(alice, platform):
    with pytest.raises(DuplicateError, match="PASTEBAY"):
        platform_create(actor=alice, name=" PASTEBAY ", kind=PlatformKind.PASTE_SITE, domains=[])


def test_it_refuses_a_platform_without_a_name(alice):
    with pytest.raises(DomainError, match="needs a name"):
        platform_create(actor=alice, name="   ", kind=PlatformKind.PASTE_SITE, domains=[])


@pytest.mark.parametrize("days", [0, 366])
def test_it_refuses_a_response_target_out_of_range_with_a_message(alice, days):
    with pytest.raises(DomainError, match="between 1 and 365 days"):
        platform_create(
            actor=alice,
            name="JustPaste",
            kind=PlatformKind.PASTE_SITE,
            domains=[],
            response_target_days=days,
        )


def test_it_refuses_an_unknown_platform_kind_with_a_message(alice):
    with pytest.raises(DomainError, match="not a valid choice"):
        platform_create(actor=alice, name="JustPaste", kind="newspaper", domains=[])


def test_it_writes_nothing_when_a_platform_is_refused(alice, platform):
    with pytest.raises(DuplicateError):
        platform_create(
            actor=alice,
            name="Clone",
            kind=PlatformKind.PASTE_SITE,
            domains=["pastebay.example.net"],
        )

    assert not type(platform).objects.filter(name="Clone").exists()


# --- platform_update ----------------------------------------------------------


def test_it_updates_a_platforms_fields(alice, platform):
    platform_update(platform=platform, actor=alice, response_target_days=3, tier="mainstream")

    platform.refresh_from_db()
    assert (platform.response_target_days, platform.tier) == (3, "mainstream")


def test_it_replaces_a_platforms_domains(alice, platform):
    platform_update(
        platform=platform, actor=alice, domains=["pastebay.example.net", "PB.example.org"]
    )

    assert sorted(platform.domains.values_list("domain", flat=True)) == [
        "pastebay.example.net",
        "pb.example.org",
    ]


def test_it_removes_domains_left_out_of_an_update(alice, platform):
    platform_update(platform=platform, actor=alice, domains=["pb.example.org"])

    assert list(platform.domains.values_list("domain", flat=True)) == ["pb.example.org"]


def test_it_lets_a_platform_change_the_case_of_its_own_name(alice, platform):
    platform_update(platform=platform, actor=alice, name="Pastebay")

    platform.refresh_from_db()
    assert platform.name == "Pastebay"


def test_it_refuses_renaming_a_platform_to_another_platforms_name(alice, platform):
    other = PlatformFactory(name="Gab")

    with pytest.raises(DuplicateError):
        platform_update(platform=other, actor=alice, name="pastebay")


def test_it_refuses_taking_another_platforms_domain_on_update(alice, platform):
    other = PlatformFactory(name="Gab")

    with pytest.raises(DuplicateError, match="belongs to PasteBay"):
        platform_update(platform=other, actor=alice, domains=["pastebay.example.net"])


def test_it_records_the_old_and_new_values_of_an_update(alice, platform):
    platform_update(platform=platform, actor=alice, response_target_days=3)

    event = audit_history(platform).get()
    assert event.action == "platform.updated"
    assert (event.old, event.new) == ({"response_target_days": "7"}, {"response_target_days": "3"})


# --- upstream_provider_add ------------------------------------------------------


def test_it_adds_an_infrastructure_provider_upstream(alice, platform):
    host = PlatformFactory(name="Hetzner", infrastructure=True)

    link = upstream_provider_add(
        platform=platform, provider=host, role=UpstreamRole.HOSTING, actor=alice
    )

    assert list(platform.upstream_providers.all()) == [host]
    assert link.role == UpstreamRole.HOSTING


def test_it_records_an_upstream_provider_added(alice, platform):
    host = PlatformFactory(name="Hetzner", infrastructure=True)

    upstream_provider_add(platform=platform, provider=host, role=UpstreamRole.HOSTING, actor=alice)

    assert actions(platform) == ["platform.upstream_added"]


def test_it_refuses_an_upstream_provider_that_is_not_infrastructure(alice, platform):
    gab = PlatformFactory(name="Gab", kind=PlatformKind.SOCIAL_NETWORK)

    with pytest.raises(DomainError, match="Gab is not an infrastructure provider"):
        upstream_provider_add(
            platform=platform, provider=gab, role=UpstreamRole.HOSTING, actor=alice
        )


def test_it_refuses_a_platform_as_its_own_upstream_provider(alice):
    host = PlatformFactory(infrastructure=True)

    with pytest.raises(DomainError, match="its own upstream provider"):
        upstream_provider_add(platform=host, provider=host, role=UpstreamRole.CDN, actor=alice)


def test_it_adds_the_same_upstream_provider_only_once(alice, platform):
    host = PlatformFactory(infrastructure=True)

    first = upstream_provider_add(
        platform=platform, provider=host, role=UpstreamRole.HOSTING, actor=alice
    )
    again = upstream_provider_add(
        platform=platform, provider=host, role=UpstreamRole.HOSTING, actor=alice
    )

    assert again == first
    assert actions(platform) == ["platform.upstream_added"]


# --- contacts ------------------------------------------------------------------


def test_it_creates_a_contact(alice, platform):
    contact = contact_create(
        platform=platform, actor=alice, name="Legal", email=" legal@pastebay.example.net "
    )

    assert contact.email == "legal@pastebay.example.net"
    assert actions(contact) == ["contact.created"]


def test_it_demotes_the_old_primary_contact_when_a_new_one_is_created(alice, platform):
    old = platform.contacts.get(is_primary=True)

    new = contact_create(
        platform=platform, actor=alice, email="owner@pastebay.example.net", is_primary=True
    )

    old.refresh_from_db()
    assert (old.is_primary, new.is_primary) == (False, True)


def test_it_demotes_the_old_primary_contact_when_another_is_promoted(alice, platform):
    old = platform.contacts.get(is_primary=True)
    other = ContactFactory(platform=platform)

    contact_update(contact=other, actor=alice, is_primary=True)

    assert list(platform.contacts.filter(is_primary=True)) == [other]
    old.refresh_from_db()
    assert old.is_primary is False


def test_it_refuses_a_contact_email_already_at_the_platform(alice, platform):
    with pytest.raises(DuplicateError, match="already a contact of PasteBay"):
        contact_create(platform=platform, actor=alice, email="ABUSE@pastebay.example.net")


def test_it_refuses_an_email_contact_without_an_address(alice, platform):
    with pytest.raises(DomainError, match="needs an email address"):
        contact_create(platform=platform, actor=alice, name="Nobody")


def test_it_refuses_a_web_form_contact_without_the_form_url(alice, platform):
    with pytest.raises(DomainError, match="needs the form's URL"):
        contact_create(platform=platform, actor=alice, channel="web_form")


def test_it_refuses_a_contact_email_that_is_not_an_address_with_a_message(alice, platform):
    with pytest.raises(DomainError, match="valid email address"):
        contact_create(platform=platform, actor=alice, email="abuse at pastebay")


def test_it_refuses_changing_a_contact_to_an_email_already_at_the_platform(alice, platform):
    other = ContactFactory(platform=platform)

    with pytest.raises(DuplicateError, match="already a contact of PasteBay"):
        contact_update(contact=other, actor=alice, email="Abuse@PasteBay.example.net")


def test_it_updates_a_contact_and_records_the_change(alice, platform):
    contact = platform.contacts.get()

    contact_update(contact=contact, actor=alice, language="de")

    contact.refresh_from_db()
    assert contact.language == "de"
    event = audit_history(contact).get()
    assert (event.action, event.old, event.new) == (
        "contact.updated",
        {"language": ""},
        {"language": "de"},
    )


def test_it_deactivates_a_contact_and_drops_its_primary_flag(alice, platform):
    contact = platform.contacts.get()

    contact_deactivate(contact=contact, actor=alice)

    contact.refresh_from_db()
    assert (contact.is_active, contact.is_primary) == (False, False)
    assert actions(contact) == ["contact.deactivated"]


def test_it_keeps_a_deactivated_contact(alice, platform):
    contact = platform.contacts.get()

    contact_deactivate(contact=contact, actor=alice)

    assert Contact.objects.filter(pk=contact.pk).exists()


def test_it_deactivates_a_contact_only_once(alice, platform):
    contact = platform.contacts.get()

    contact_deactivate(contact=contact, actor=alice)
    contact_deactivate(contact=contact, actor=alice)

    assert actions(contact) == ["contact.deactivated"]


# --- matching hosts to platforms -------------------------------------------------


def test_it_matches_a_subdomain_to_the_platform_owning_its_parent_domain():
    facebook = PlatformDomainFactory(domain="facebook.com").platform

    assert platform_for_host("m.facebook.com") == facebook


def test_it_matches_a_host_whatever_its_case():
    facebook = PlatformDomainFactory(domain="facebook.com").platform

    assert platform_for_host("M.Facebook.COM") == facebook


def test_it_matches_a_host_to_the_platform_owning_exactly_it():
    facebook = PlatformDomainFactory(domain="facebook.com").platform

    assert platform_for_host("facebook.com") == facebook


def test_it_prefers_the_platform_owning_the_longest_matching_suffix():
    PlatformDomainFactory(domain="example.org")
    blog_host = PlatformDomainFactory(domain="sub.example.org").platform

    assert platform_for_host("news.sub.example.org") == blog_host


def test_it_matches_no_platform_for_an_unknown_host():
    PlatformDomainFactory(domain="facebook.com")

    assert platform_for_host("gab.example.net") is None


def test_it_does_not_match_a_domain_that_only_ends_with_the_same_letters():
    PlatformDomainFactory(domain="book.com")

    assert platform_for_host("facebook.com") is None


def test_it_matches_many_hosts_at_once_by_longest_suffix():
    parent = PlatformDomainFactory(domain="example.org").platform
    child = PlatformDomainFactory(domain="sub.example.org").platform

    assert platforms_for_hosts({"a.sub.example.org", "www.example.org", "gab.example.net"}) == {
        "a.sub.example.org": child,
        "www.example.org": parent,
        "gab.example.net": None,
    }


@pytest.mark.parametrize("name", ["Evil\r\nBcc: x@y.example", "Evil\u2028Bcc", "Evil\x0bx"])
def test_it_refuses_a_platform_name_with_a_line_break(alice, name):
    with pytest.raises(DomainError, match="Line breaks are not allowed"):
        platform_create(actor=alice, name=name, kind=PlatformKind.PASTE_SITE, domains=[])
