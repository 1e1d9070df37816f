"""Per-site canonical URLs (platforms.canonical.SITE_RULES): one row per rule, input → key.

Plain pytest for the table; two intake tests show the same content becoming one item.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases.models import Item
from platforms.canonical import SITE_RULES, canonical_url

V = "dQw4w9WgXcQ"
YT = f"https://www.youtube.com/watch?v={V}"

ROWS = [
    # YouTube: the video id is the content.
    (f"https://youtu.be/{V}", YT),
    (f"https://youtu.be/{V}?t=42&si=abc", YT),
    (f"https://m.youtube.com/watch?v={V}", YT),
    (f"https://youtube.com/watch?v={V}", YT),
    (f"http://www.youtube.com/watch?v={V}&t=1m2s", YT),
    (f"https://www.youtube.com/watch?v={V}&list=PL123&index=4", YT),
    (f"https://www.youtube.com/watch?feature=share&v={V}", YT),
    (f"https://www.youtube.com/shorts/{V}", YT),
    (f"https://www.youtube.com/embed/{V}?start=30", YT),
    (f"https://www.youtube-nocookie.com/embed/{V}", YT),
    (f"https://www.youtube.com/live/{V}?si=x", YT),
    (f"https://music.youtube.com/watch?v={V}", YT),
    (
        "https://m.youtube.com/playlist?list=PL123&si=x",
        "https://www.youtube.com/playlist?list=PL123",
    ),
    ("https://m.youtube.com/@SomeChannel?si=x", "https://www.youtube.com/@SomeChannel"),
    ("https://www.youtube.com/watch?v=short", "https://www.youtube.com/watch?v=short"),
    # X / Twitter: the status id alone names the post.
    ("https://twitter.com/SomeUser/status/1234567890", "https://x.com/i/status/1234567890"),
    ("https://x.com/someuser/status/1234567890?s=20&t=abc", "https://x.com/i/status/1234567890"),
    ("https://mobile.twitter.com/a/status/1234567890", "https://x.com/i/status/1234567890"),
    ("https://www.twitter.com/a/statuses/1234567890", "https://x.com/i/status/1234567890"),
    ("https://x.com/a/status/1234567890/photo/1", "https://x.com/i/status/1234567890"),
    ("https://x.com/i/web/status/1234567890", "https://x.com/i/status/1234567890"),
    ("https://twitter.com/SomeUser", "https://x.com/someuser"),
    ("https://x.com/search?q=Abc&s=1", "https://x.com/search?q=Abc"),
    # Telegram: one post, channel names case-insensitive, display options dropped.
    ("https://t.me/SomeChannel/55", "https://t.me/somechannel/55"),
    ("https://t.me/s/somechannel/55", "https://t.me/somechannel/55"),
    ("https://t.me/somechannel/55?single", "https://t.me/somechannel/55"),
    ("https://t.me/somechannel/55?embed=1&mode=tme", "https://t.me/somechannel/55"),
    ("https://telegram.me/somechannel/55", "https://t.me/somechannel/55"),
    ("https://www.t.me/somechannel/55", "https://t.me/somechannel/55"),
    ("https://t.me/s/SomeChannel", "https://t.me/somechannel"),
    ("https://t.me/somechannel/55?comment=7", "https://t.me/somechannel/55?comment=7"),
    ("https://t.me/joinchat/AbCdEf", "https://t.me/joinchat/AbCdEf"),
    ("https://t.me/+AbCdEf", "https://t.me/+AbCdEf"),
    # Facebook: one host, click tracking dropped, content ids kept.
    (
        "https://m.facebook.com/story.php?story_fbid=1&id=2&mibextid=Zx&ref=share",
        "https://www.facebook.com/story.php?story_fbid=1&id=2",
    ),
    (
        "https://web.facebook.com/page/posts/pfbid0a?__cft__[0]=AZ&__tn__=%2CO%2CP-R",
        "https://www.facebook.com/page/posts/pfbid0a",
    ),
    (
        "https://mbasic.facebook.com/watch/?v=99&rdid=abc&share_url=x&fbclid=1",
        "https://www.facebook.com/watch/?v=99",
    ),
    (
        "https://facebook.com/photo.php?fbid=5&set=a.1",
        "https://www.facebook.com/photo.php?fbid=5&set=a.1",
    ),
    # Other sites are untouched.
    ("https://example.org/x?s=1&t=2", "https://example.org/x?s=1&t=2"),
    ("http://x.com:8080/a/status/1", "http://x.com:8080/a/status/1"),
]


@pytest.mark.parametrize(("raw", "expected"), ROWS)
def test_it_gives_each_spelling_of_the_content_its_canonical_url(raw: str, expected: str) -> None:
    assert canonical_url(raw).normalised == expected


@pytest.mark.parametrize(("raw", "expected"), ROWS)
def test_it_keeps_a_canonical_url_a_fixed_point(raw: str, expected: str) -> None:
    assert canonical_url(expected).normalised == expected


def test_it_keeps_the_url_as_submitted() -> None:
    assert canonical_url(f"https://youtu.be/{V}?t=4").submitted == f"https://youtu.be/{V}?t=4"


def test_it_gives_the_canonical_host_for_platform_matching() -> None:
    parsed = canonical_url("https://mobile.twitter.com/a/status/1")
    assert (parsed.host, parsed.registrable_domain) == ("x.com", "x.com")


def test_it_claims_each_alias_host_for_one_rule_only() -> None:
    hosts = [host for rule in SITE_RULES for host in rule.hosts]
    assert len(hosts) == len(set(hosts))


@pytest.mark.django_db
def test_it_makes_one_item_of_a_video_pasted_in_four_spellings(client, alice, platform) -> None:
    client.force_login(alice)
    text = "\n".join(
        [
            f"https://youtu.be/{V}?t=42",
            f"https://m.youtube.com/watch?v={V}&list=PL1",
            f"https://www.youtube.com/shorts/{V}",
            f"youtube.com/watch?v={V}&si=x",
        ]
    )

    response = client.post(
        reverse("items:intake"),
        {"text": text, "category": "propaganda", "legal_basis": "terms_of_service"},
    )

    assert response.status_code == 302
    assert list(Item.objects.values_list("url_normalised", "url_submitted")) == [
        (YT, f"https://youtu.be/{V}?t=42")
    ]


@pytest.mark.django_db
def test_it_finds_a_known_tweet_under_its_other_host(client, alice, platform) -> None:
    from cases.services.items import item_refer

    first = item_refer(url="https://twitter.com/A/status/42?s=20", referred_by=alice)
    again = item_refer(url="https://x.com/a/status/42", referred_by=alice)

    assert (first.created, again.created, again.item) == (True, False, first.item)


# --- a URL with a space in it is one bad line, not two items ---------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "exa mple.com",
        "exa mple.com/path",
        "https://exa mple.com/x",
        "https://example .com/x",
        "https://example.org /x",
    ],
)
def test_it_detects_a_url_broken_by_a_space(line: str) -> None:
    from cases.services.intake import space_in_url

    assert space_in_url(line) == line


@pytest.mark.parametrize(
    "line",
    [
        "https://a.org/1 https://b.org/2",
        "See https://gab.example.org/posts/42!",
        "posted at t.me/channel/12 yesterday",
        "Nothing on this line at all",
        "* <https://a.example.net/p/2>, and also (https://a.example.net/p/3)",
        "see example.org for details",
    ],
)
def test_it_leaves_lists_and_prose_alone(line: str) -> None:
    from cases.services.intake import space_in_url

    assert space_in_url(line) == ""


@pytest.mark.django_db
def test_it_refuses_a_pasted_url_with_a_space_as_one_line(client, alice, platform) -> None:
    client.force_login(alice)

    response = client.post(
        reverse("items:intake"),
        {
            "text": "https://exa mple.com/x",
            "category": "propaganda",
            "legal_basis": "terms_of_service",
        },
    )

    page = client.get(response["Location"])
    (row,) = page.context["rows"]
    assert (str(row.status), Item.objects.count()) == ("refused", 0)
    assert "a URL cannot contain spaces" in row.reason
