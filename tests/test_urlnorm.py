"""Tests for platforms.urlnorm: URL normalisation (the de-duplication key) and host handling.

Plain pytest, no Django: the module under test must stay importable without it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from platforms import urlnorm
from platforms.urlnorm import (
    BULLET_RE,
    DomainRefused,
    NormalisedUrl,
    UrlRefused,
    extract_urls,
    host_suffixes,
    normalise_domain,
    normalise_url,
    parse_bare,
)

MODULE_PATH = Path(urlnorm.__file__).resolve()
CORPUS_PATH = (
    Path(__file__).resolve().parents[2] / "shared" / "corpora" / "urls" / "urltestdata.json"
)


def key(raw: str, **kwargs: Any) -> str:
    return normalise_url(raw, **kwargs).normalised


# --- normalise_url: the canonical form ------------------------------------------------------


def test_it_lower_cases_scheme_and_host() -> None:
    assert key("HTTPS://WWW.Example.ORG/x") == "https://www.example.org/x"


def test_it_keeps_the_case_of_the_path() -> None:
    assert key("https://example.org/Some/CasedPath") == "https://example.org/Some/CasedPath"


def test_it_converts_an_idn_host_to_punycode() -> None:
    assert key("https://münchen.de/x") == "https://xn--mnchen-3ya.de/x"


def test_it_treats_the_unicode_and_punycode_forms_of_a_host_as_equal() -> None:
    assert key("https://MÜNCHEN.de/x") == key("https://xn--mnchen-3ya.de/x")


def test_it_drops_the_default_port() -> None:
    assert key("https://example.org:443/x") == "https://example.org/x"
    assert key("http://example.org:80/x") == "http://example.org/x"


def test_it_keeps_a_non_default_port() -> None:
    assert key("https://example.org:8443/x") == "https://example.org:8443/x"


def test_it_strips_the_trailing_dot_from_the_host() -> None:
    result = normalise_url("https://example.org./x")
    assert result.normalised == "https://example.org/x"
    assert result.host == "example.org"


def test_it_drops_the_fragment() -> None:
    assert key("https://example.org/x#comments") == "https://example.org/x"


def test_it_drops_credentials() -> None:
    assert key("https://user:secret@example.org/x") == "https://example.org/x"


def test_it_removes_tracking_parameters_and_keeps_the_rest_in_order() -> None:
    raw = "https://example.org/x?z=1&utm_source=a&b=2&fbclid=F&a=3&UTM_Campaign=c&gclid=G"
    assert key(raw) == "https://example.org/x?z=1&b=2&a=3"


@pytest.mark.parametrize(
    "name",
    [
        "utm_medium",
        "utm_whatever",
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "yclid",
        "igshid",
        "_ga",
        "_gl",
        "ref_src",
        "ref_url",
        "spm",
        "_hsenc",
        "_hsmi",
        "vero_id",
        "oly_enc_id",
        "oly_anon_id",
        "rb_clickid",
        "s_cid",
        "ocid",
    ],
)
def test_it_removes_each_generic_tracking_parameter(name: str) -> None:
    assert key(f"https://example.org/x?id=7&{name}=abc") == "https://example.org/x?id=7"


def test_it_keeps_the_original_encoding_of_the_remaining_parameters() -> None:
    raw = "https://example.org/search?q=a+b&r=c%20d&s=%26&utm_source=x"
    assert key(raw) == "https://example.org/search?q=a+b&r=c%20d&s=%26"


def test_it_drops_the_question_mark_when_no_parameters_remain() -> None:
    assert key("https://example.org/x?utm_source=a&fbclid=b") == "https://example.org/x"
    assert key("https://example.org/x?") == "https://example.org/x"


def test_it_removes_youtube_share_parameters_on_youtube_hosts() -> None:
    assert (
        key("https://www.youtube.com/watch?v=abc&si=XYZ&feature=share")
        == "https://www.youtube.com/watch?v=abc"
    )
    assert key("https://youtu.be/abc?si=XYZ") == "https://youtu.be/abc"


def test_it_keeps_si_and_feature_on_other_hosts() -> None:
    assert key("https://example.org/x?si=1&feature=2") == "https://example.org/x?si=1&feature=2"


def test_it_removes_s_and_t_on_x_and_twitter() -> None:
    assert key("https://x.com/u/status/1?s=20&t=abc") == "https://x.com/u/status/1"
    assert key("https://mobile.twitter.com/u/status/1?t=abc") == (
        "https://mobile.twitter.com/u/status/1"
    )


def test_it_keeps_s_and_t_on_other_hosts() -> None:
    assert key("https://example.org/x?s=1&t=2") == "https://example.org/x?s=1&t=2"


def test_it_gives_an_empty_path_a_slash() -> None:
    assert key("https://example.org") == "https://example.org/"


def test_it_keeps_a_trailing_slash_as_given() -> None:
    assert key("https://example.org/dir/") == "https://example.org/dir/"
    assert key("https://example.org/dir") == "https://example.org/dir"


def test_it_resolves_dot_segments() -> None:
    assert key("https://example.org/a/./b/../c") == "https://example.org/a/c"


def test_it_normalises_percent_escapes_in_the_path() -> None:
    # Unreserved characters are decoded, hex digits upper-cased, reserved ones stay escaped.
    assert (
        key("https://example.org/%7euser/%c3%a9/a%2fb") == "https://example.org/~user/%C3%A9/a%2Fb"
    )


def test_it_treats_escaped_and_literal_non_ascii_paths_as_equal() -> None:
    assert key("https://example.org/caf%c3%a9") == key("https://example.org/café")


def test_it_accepts_a_bare_host_and_path_as_https() -> None:
    result = normalise_url("www.justpaste.it/abc")
    assert result.normalised == "https://www.justpaste.it/abc"
    assert result.registrable_domain == "justpaste.it"


def test_it_accepts_a_bare_host_port_and_path() -> None:
    assert key("example.org:8080/x") == "https://example.org:8080/x"


def test_it_accepts_a_bare_idn_host() -> None:
    assert key("münchen.de/x") == "https://xn--mnchen-3ya.de/x"


@pytest.mark.parametrize("raw", ["a", "test", "foo/bar", "notes.zzz/x", "1.2/3"])
def test_it_refuses_text_that_is_not_a_url(raw: str) -> None:
    with pytest.raises(UrlRefused, match="Not a URL"):
        normalise_url(raw)


def test_it_refuses_a_bare_host_port_without_a_public_suffix() -> None:
    with pytest.raises(UrlRefused, match="'localhost' is not a host name"):
        normalise_url("localhost:8080/x")


@pytest.mark.parametrize(
    ("raw", "scheme"),
    [
        ("ftp://example.org/file", "ftp"),
        ("javascript:alert(1)", "javascript"),
        ("mailto:someone@example.org", "mailto"),
        ("data:text/html,hello", "data"),
        ("file:///etc/passwd", "file"),
        ("sc://x", "sc"),
        ("WSS://example.org/", "wss"),
    ],
)
def test_it_refuses_other_schemes_naming_the_scheme(raw: str, scheme: str) -> None:
    with pytest.raises(UrlRefused) as caught:
        normalise_url(raw)
    assert caught.value.message == (f"Only http and https URLs can be referred (got '{scheme}').")


def test_it_strips_surrounding_whitespace() -> None:
    assert key("  \thttps://example.org/x \n") == "https://example.org/x"


def test_it_keeps_the_submitted_text_verbatim() -> None:
    raw = "  https://Example.org/x#y \n"
    assert normalise_url(raw).submitted == raw


def test_it_returns_a_frozen_value() -> None:
    result = normalise_url("https://example.org/")
    with pytest.raises(AttributeError):
        result.host = "other.org"  # type: ignore[misc]


def test_it_reports_the_registrable_domain_under_the_public_suffix() -> None:
    assert normalise_url("https://a.b.example.co.uk/x").registrable_domain == "example.co.uk"


def test_it_reports_a_blog_platform_as_the_registrable_domain() -> None:
    # Private PSL entries are ignored: the operator behind someone.blogspot.com is blogspot.
    assert normalise_url("https://someone.blogspot.com/").registrable_domain == "blogspot.com"


def test_it_uses_an_ip_address_as_its_own_registrable_domain() -> None:
    result = normalise_url("http://192.0.2.1:8080/x")
    assert (result.host, result.registrable_domain) == ("192.0.2.1", "192.0.2.1")


def test_it_keeps_ipv6_literals_in_brackets() -> None:
    result = normalise_url("http://[2001:DB8::1]/x")
    assert result.normalised == "http://[2001:db8::1]/x"
    assert result.host == result.registrable_domain == "[2001:db8::1]"


def test_it_normalises_alternative_ipv4_spellings() -> None:
    assert key("http://0xC0.0.2.1/") == "http://192.0.2.1/"


def test_it_uses_the_host_as_registrable_domain_without_a_public_suffix() -> None:
    assert normalise_url("http://intranet/x").registrable_domain == "intranet"


def test_it_resolves_a_relative_reference_against_a_base() -> None:
    assert key("../c?utm_source=x", base="https://example.org/a/b/") == "https://example.org/a/c"


def test_it_resolves_an_empty_reference_to_the_base_itself() -> None:
    assert key("", base="https://example.org/a#top") == "https://example.org/a"


def test_it_refuses_when_resolution_against_the_base_fails() -> None:
    with pytest.raises(UrlRefused, match="cannot be resolved"):
        normalise_url("x", base="not a base")


@pytest.mark.parametrize("raw", ["http://", "https://user:pw@/x", "http://./", "http://../"])
def test_it_refuses_a_url_without_a_host(raw: str) -> None:
    with pytest.raises(UrlRefused, match="no host name"):
        normalise_url(raw)


def test_it_refuses_whitespace_inside_the_host() -> None:
    with pytest.raises(UrlRefused) as caught:
        normalise_url("https://exa mple.org/x")
    assert caught.value.message == "'exa mple.org' is not a valid host name."


def test_it_refuses_control_characters_inside_the_host() -> None:
    with pytest.raises(UrlRefused, match="not a valid host name"):
        normalise_url("https://exa\x00mple.org/x")


def test_it_refuses_an_invalid_port() -> None:
    with pytest.raises(UrlRefused, match="'99999' is not a valid port number"):
        normalise_url("https://example.org:99999/x")


def test_it_refuses_invalid_punycode() -> None:
    with pytest.raises(UrlRefused, match="not valid punycode"):
        normalise_url("https://xn--pokxncvks.example/")


def test_it_refuses_input_longer_than_the_limit() -> None:
    with pytest.raises(UrlRefused, match="too long"):
        normalise_url("https://example.org/" + "a" * 8192)


def test_it_accepts_input_at_the_limit() -> None:
    raw = "https://example.org/" + "a" * (8192 - len("https://example.org/"))
    assert key(raw) == raw


@pytest.mark.parametrize("raw", ["", "   ", "\n\t"])
def test_it_refuses_empty_input(raw: str) -> None:
    with pytest.raises(UrlRefused, match="empty"):
        normalise_url(raw)


@pytest.mark.parametrize("raw", [None, 42, b"https://example.org/"])
def test_it_refuses_non_text_input_with_url_refused(raw: Any) -> None:
    with pytest.raises(UrlRefused, match="expected text"):
        normalise_url(raw)


def test_it_turns_lone_surrogates_into_replacement_characters() -> None:
    assert key("https://example.org/\ud800") == "https://example.org/%EF%BF%BD"


def test_it_gives_every_refusal_a_message() -> None:
    with pytest.raises(UrlRefused) as caught:
        normalise_url("http://[::1")
    assert caught.value.message
    assert str(caught.value) == caught.value.message


@pytest.mark.parametrize(
    "variant",
    [
        "https://www.example.org/Path/page?id=1",
        "HTTPS://WWW.EXAMPLE.ORG/Path/page?id=1",
        "https://www.example.org:443/Path/page?id=1",
        "https://www.example.org./Path/page?id=1",
        "https://www.example.org/Path/./x/../page?id=1",
        "https://www.example.org/Path/page?id=1#fragment",
        "https://www.example.org/Path/page?utm_source=tw&id=1&fbclid=abc",
        "https://someone:pw@www.example.org/Path/page?id=1",
        "  https://www.example.org/Path/page?id=1&&  ",
        "www.example.org/Path/page?id=1",
        "https://www.example.org/%50ath/page?id=1",
    ],
)
def test_it_maps_variants_of_the_same_url_to_one_key(variant: str) -> None:
    assert key(variant) == "https://www.example.org/Path/page?id=1"


def test_it_does_not_merge_http_and_https() -> None:
    # Deliberately conservative: a scheme change is a different URL as far as the key goes.
    assert key("http://example.org/x") != key("https://example.org/x")


def test_it_is_a_fixed_point_on_its_own_output() -> None:
    once = key("HTTPS://user@München.DE.:443/a/%7e/../b?x=%41&utm_source=z#f")
    assert key(once) == once


# Building blocks that hit ada's and our edge cases far more often than random text does.
URL_PIECES = st.sampled_from(
    [
        *'abz09.:/?#@[]%&=+-_~ \t\n\x00\\()<>"',
        *("xn--", "http://", "https://", "é", "ß", "\ud800", "\u3002"),
        *("[.]", "hxxp", "%2e", "%41", "utm_source="),
    ]
)
URLISH_TEXT = st.lists(URL_PIECES, max_size=40).map("".join) | st.text(max_size=60)


@settings(max_examples=300, deadline=None, database=None)
@given(raw=URLISH_TEXT, base=st.none() | st.just("https://example.org/a/b") | URLISH_TEXT)
def test_it_raises_nothing_but_url_refused_and_is_stable(raw: str, base: str | None) -> None:
    try:
        result = normalise_url(raw, base=base)
    except UrlRefused as refused:
        assert refused.message
        return
    assert result.normalised.startswith(("http://", "https://"))
    assert key(result.normalised) == result.normalised


# --- normalise_url against the WHATWG URL test corpus -----------------------------------------

# Valid http(s) URLs per WHATWG that we refuse on purpose, and the reason given. A host made of
# dots is no host once the trailing dot is dropped; "foo.09.." is a domain only because of its
# trailing dots (without them it ends in a number, so would be an invalid IPv4 address).
DELIBERATELY_REFUSED = {
    "http://./": "Not a URL: no host name.",
    "http://../": "Not a URL: no host name.",
    "http://foo.09..": "'foo.09..' is not a valid host name.",
}


def _corpus() -> list[Any]:
    if not CORPUS_PATH.exists():  # pragma: no cover - the corpus lives outside the repo
        return []
    entries = json.loads(CORPUS_PATH.read_text(encoding="utf-8"))
    return [
        pytest.param(entry, id=_corpus_id(index, entry))
        for index, entry in enumerate(entries)
        if isinstance(entry, dict)  # strings are section comments
    ]


def _corpus_id(index: int, entry: dict[str, Any]) -> str:
    text = repr(entry["input"])
    if len(text) > 50:
        text = text[:49] + "…"
    outcome = "failure" if entry.get("failure") else "valid"
    return f"{index:03d}-{outcome}-{text}" + (" with base" if entry["base"] else "")


@pytest.mark.parametrize("entry", _corpus())
def test_it_handles_every_whatwg_corpus_entry(entry: dict[str, Any]) -> None:
    try:
        result = normalise_url(entry["input"], base=entry["base"])
    except UrlRefused as refused:
        assert refused.message
        if entry.get("failure"):
            return
        scheme = entry["protocol"].removesuffix(":")
        if scheme in ("http", "https"):
            assert refused.message == DELIBERATELY_REFUSED[entry["input"]]
        else:
            assert f"'{scheme}'" in refused.message
        return
    assert not entry.get("failure"), f"accepted an invalid URL as {result.normalised!r}"
    assert entry["protocol"] in ("http:", "https:")
    assert result.normalised.startswith(entry["protocol"] + "//")
    assert key(result.normalised) == result.normalised


# --- normalise_domain ----------------------------------------------------------------------


def test_it_normalises_a_domain_case_and_trailing_dot() -> None:
    assert normalise_domain("WWW.Example.org.") == "www.example.org"


def test_it_converts_an_idn_domain_to_punycode() -> None:
    assert normalise_domain("münchen.de") == "xn--mnchen-3ya.de"


def test_it_takes_the_host_of_a_pasted_url_as_the_domain() -> None:
    assert normalise_domain(" https://user@Example.org:8443/x?y#z ") == "example.org"


def test_it_takes_the_host_of_a_bare_host_and_path_as_the_domain() -> None:
    assert normalise_domain("t.me/somechannel") == "t.me"


def test_it_accepts_a_domain_with_a_multi_label_public_suffix() -> None:
    assert normalise_domain("bbc.co.uk") == "bbc.co.uk"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("co.uk", "'co.uk' is a public suffix, not a platform's domain."),
        ("foo", "'foo' is not a valid host name (it needs a dot)."),
        ("http://localhost/", "'localhost' is not a valid host name (it needs a dot)."),
        ("foo.zzz", "'foo.zzz' does not end in a recognised public suffix."),
        ("192.0.2.1", "'192.0.2.1' is an IP address, not a domain name."),
        ("[2001:db8::1]", "'[2001:db8::1]' is an IP address, not a domain name."),
        ("http://192.0.2.1/x", "'192.0.2.1' is an IP address, not a domain name."),
        ("exa mple.org", "'exa mple.org' is not a valid host name."),
        ("", "Not a domain name: the text is empty."),
    ],
)
def test_it_refuses_what_is_not_a_platform_domain(raw: str, message: str) -> None:
    with pytest.raises(DomainRefused) as caught:
        normalise_domain(raw)
    assert caught.value.message == message


def test_it_refuses_a_path_that_is_clearly_not_a_url_as_a_domain() -> None:
    with pytest.raises(DomainRefused, match="Not a URL"):
        normalise_domain("foo/bar")


def test_it_refuses_a_non_http_url_as_a_domain() -> None:
    with pytest.raises(DomainRefused, match="got 'ftp'"):
        normalise_domain("ftp://files.example.org/")


def test_it_refuses_non_text_as_a_domain_with_domain_refused() -> None:
    with pytest.raises(DomainRefused, match="expected text"):
        normalise_domain(None)  # type: ignore[arg-type]


# --- host_suffixes -------------------------------------------------------------------------


def test_it_lists_host_suffixes_longest_first() -> None:
    assert host_suffixes("a.b.example.org") == [
        "a.b.example.org",
        "b.example.org",
        "example.org",
        "org",
    ]


def test_it_lists_a_single_label_host_as_its_only_suffix() -> None:
    assert host_suffixes("localhost") == ["localhost"]


def test_it_lists_an_ip_address_as_its_only_suffix() -> None:
    assert host_suffixes("192.0.2.1") == ["192.0.2.1"]
    assert host_suffixes("[2001:db8::1]") == ["[2001:db8::1]"]


def test_it_ignores_case_and_a_trailing_dot_in_host_suffixes() -> None:
    assert host_suffixes("Example.ORG.") == ["example.org", "org"]


def test_it_lists_no_suffixes_for_an_empty_host() -> None:
    assert host_suffixes("") == []


def test_it_matches_a_normalised_url_to_a_platform_domain_by_suffix() -> None:
    platform_domains = {"blogspot.com", "example.org", "cdn.example.org"}
    host = normalise_url("https://IMG.CDN.Example.org./x").host
    matches = [suffix for suffix in host_suffixes(host) if suffix in platform_domains]
    assert matches[0] == "cdn.example.org"


# --- extract_urls --------------------------------------------------------------------------

MESSY_PASTE = """\
Hi team, please action the following:
- https://justpaste.it/abc123.
* <https://t.me/s/somechannel>
1. hxxps://evil[.]example[.]org/path?id=1, and also http://foo.com/a.
2) See (https://en.wikipedia.org/wiki/Foo_(bar)) for background!
"https://www.youtube.com/watch?v=xyz&si=abc"; 'https://x.com/u/status/1?s=20'
Mirrors: archive.org/details/thing and badsite[.]com, plus www.example.net
Also settings.py and Node.js and e.g. version 1.2 mentioned in prose.
example.co.uk
nothing useful here
[link text](https://example.org/md) https://a.example.org/x,https://b.example.org/y
"""


def test_it_extracts_every_url_from_a_messy_paste_in_order() -> None:
    assert extract_urls(MESSY_PASTE) == [
        "https://justpaste.it/abc123",
        "https://t.me/s/somechannel",
        "https://evil.example.org/path?id=1",
        "http://foo.com/a",
        "https://en.wikipedia.org/wiki/Foo_(bar)",
        "https://www.youtube.com/watch?v=xyz&si=abc",
        "https://x.com/u/status/1?s=20",
        "archive.org/details/thing",
        "badsite.com",
        "www.example.net",
        "example.co.uk",
        "https://example.org/md",
        "https://a.example.org/x",
        "https://b.example.org/y",
    ]


def test_it_extracts_only_candidates_that_normalise() -> None:
    for candidate in extract_urls(MESSY_PASTE):
        assert isinstance(normalise_url(candidate), NormalisedUrl)


def test_it_extracts_one_url_per_line() -> None:
    assert extract_urls("https://a.example.org/1\nhttps://b.example.org/2\r\n") == [
        "https://a.example.org/1",
        "https://b.example.org/2",
    ]


def test_it_extracts_several_urls_from_one_line() -> None:
    assert extract_urls("https://a.org/1 https://b.org/2\thttps://c.org/3") == [
        "https://a.org/1",
        "https://b.org/2",
        "https://c.org/3",
    ]


@pytest.mark.parametrize("bullet", ["- ", "* ", "• ", "1. ", "12) ", "  - "])
def test_it_extracts_urls_after_list_bullets(bullet: str) -> None:
    assert extract_urls(f"{bullet}https://example.org/x") == ["https://example.org/x"]


def test_it_extracts_urls_from_angle_brackets() -> None:
    assert extract_urls("Link: <https://example.org/x>.") == ["https://example.org/x"]


@pytest.mark.parametrize("quoted", ['"https://example.org/x"', "'https://example.org/x'"])
def test_it_extracts_urls_from_quotes(quoted: str) -> None:
    assert extract_urls(f"see {quoted}, thanks") == ["https://example.org/x"]


def test_it_extracts_urls_from_typographic_quotes() -> None:
    assert extract_urls("see \u201chttps://example.org/x\u201d") == ["https://example.org/x"]


@pytest.mark.parametrize("punctuation", [".", ",", ";", ":", "!", "?", "...", "!?"])
def test_it_strips_trailing_punctuation(punctuation: str) -> None:
    assert extract_urls(f"https://example.org/x{punctuation}") == ["https://example.org/x"]


def test_it_keeps_balanced_parentheses_in_a_url() -> None:
    assert extract_urls("https://en.wikipedia.org/wiki/Foo_(bar)") == [
        "https://en.wikipedia.org/wiki/Foo_(bar)"
    ]


def test_it_strips_an_unbalanced_closing_parenthesis() -> None:
    assert extract_urls("(see https://example.org/x)") == ["https://example.org/x"]


def test_it_keeps_balanced_quotes_inside_a_url() -> None:
    assert extract_urls('https://example.org/"q"') == ['https://example.org/"q"']


def test_it_takes_the_target_of_a_markdown_link() -> None:
    assert extract_urls("[here](https://example.org/x)") == ["https://example.org/x"]


def test_it_splits_urls_glued_by_commas() -> None:
    assert extract_urls("https://a.org/1,https://b.org/2;http://c.org/3") == [
        "https://a.org/1",
        "https://b.org/2",
        "http://c.org/3",
    ]


def test_it_keeps_a_url_embedded_in_a_query_parameter() -> None:
    assert extract_urls("https://a.org/r?u=https://b.org/x") == [
        "https://a.org/r?u=https://b.org/x"
    ]


def test_it_refangs_defanged_urls() -> None:
    assert extract_urls("hxxps://evil[.]example[.]org/p and hXXp[:]//bad(.)com/q") == [
        "https://evil.example.org/p",
        "http://bad.com/q",
    ]


def test_it_extracts_bare_host_and_path_forms() -> None:
    assert extract_urls("posted at t.me/channel/12 yesterday") == ["t.me/channel/12"]


def test_it_extracts_a_defanged_bare_domain_in_prose() -> None:
    assert extract_urls("the actor moved to evil[.]com last week") == ["evil.com"]


def test_it_extracts_a_bare_domain_alone_on_its_line() -> None:
    assert extract_urls("- example.org\n") == ["example.org"]


@pytest.mark.parametrize(
    "prose",
    [
        "edit settings.py and restart",
        "built with Node.js and React",
        "e.g. this, i.e. that",
        "version 1.2/3 is out",
        "mail someone@example.org please",
        "see example.org for details",
    ],
)
def test_it_does_not_take_words_in_prose_for_urls(prose: str) -> None:
    assert extract_urls(prose) == []


def test_it_extracts_other_schemes_for_normalise_url_to_refuse() -> None:
    # Returned so the officer is told *why* it cannot be referred, not silently dropped.
    assert extract_urls("ftp://files.example.org/x") == ["ftp://files.example.org/x"]


def test_it_ignores_a_scheme_with_nothing_after_it() -> None:
    assert extract_urls("type https:// then the address") == []


def test_it_returns_nothing_for_text_without_urls() -> None:
    assert extract_urls("nothing to see here\n\n- just words\n") == []


def test_it_keeps_duplicates() -> None:
    assert extract_urls("https://a.org/ https://a.org/") == ["https://a.org/", "https://a.org/"]


# --- module hygiene ------------------------------------------------------------------------


def test_it_never_touches_the_network_for_the_suffix_list(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    urlnorm._extractor.cache_clear()
    try:
        assert normalise_url("https://www.example.co.uk/").registrable_domain == "example.co.uk"
    finally:
        urlnorm._extractor.cache_clear()


def test_it_does_not_import_django() -> None:
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('urlnorm', {str(MODULE_PATH)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "sys.modules['urlnorm'] = module\n"
        "spec.loader.exec_module(module)\n"
        "module.normalise_url('https://example.org/')\n"
        "assert 'django' not in sys.modules, 'django was imported'\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd="/"
    )
    assert completed.returncode == 0, completed.stderr


# --- the helpers intake uses to read a paste line by line ---------------------------------------


@pytest.mark.parametrize(
    ("text", "host"),
    [("example.org/p/1", "example.org"), ("m.example.co.uk", "m.example.co.uk")],
)
def test_it_parses_a_bare_host_with_a_real_suffix_as_https(text, host):
    url = parse_bare(text)

    assert url is not None
    assert (url.protocol, url.hostname) == ("https:", host)


@pytest.mark.parametrize("text", ["test", "foo/bar", "notes.txt", "1.2/3"])
def test_it_does_not_take_a_word_path_file_name_or_number_for_a_bare_url(text):
    assert parse_bare(text) is None


@pytest.mark.parametrize("line", ["- x", "* x", "• x", "+ x", "1. x", "12) x", "  - x"])
def test_it_strips_a_list_marker_from_the_start_of_a_line(line):
    assert BULLET_RE.sub("", line, count=1) == "x"


def test_it_exports_the_helpers_intake_uses():
    assert {"BULLET_RE", "parse_bare"} <= set(urlnorm.__all__)
