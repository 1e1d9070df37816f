"""URL normalisation and host handling for referrals.

A referral is about one piece of content, and the same content must become one item, never
two. ``normalise_url`` therefore turns whatever an officer pastes into a canonical URL that
serves as the de-duplication key. Parsing is delegated to ada (a WHATWG URL Standard
implementation, the same algorithm browsers use), so we never disagree with a browser about
what a URL means; the public suffix list comes from tldextract's bundled snapshot, used
offline so that normalising a URL can never make a network request.

This module is pure Python and must not import Django.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any
from urllib.parse import unquote_plus

import tldextract
from ada_url import (
    URL,
    HostType,
    SchemeType,
    idna_to_ascii,
    idna_to_unicode,
    normalize_url,
    parse_url,
)

__all__ = [
    "BULLET_RE",
    "DomainRefused",
    "NormalisedUrl",
    "UrlRefused",
    "extract_urls",
    "host_suffixes",
    "normalise_domain",
    "normalise_url",
    "parse_bare",
]

# Longer inputs are refused outright: no real content URL is this long, and the normalised
# form is stored (and indexed) as the de-duplication key.
MAX_URL_LENGTH = 8192

_HTTP_SCHEMES = (SchemeType.HTTP, SchemeType.HTTPS)


class UrlRefused(ValueError):
    """The input cannot be referred as a URL; ``message`` says why, for the officer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DomainRefused(ValueError):
    """The input is not usable as a platform's domain; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class NormalisedUrl:
    submitted: str
    """Exactly as given, before any stripping."""
    normalised: str
    """Canonical form; the de-duplication key."""
    host: str
    """ASCII (punycode) host, lower-case, no trailing dot; IPv6 literals keep their brackets."""
    registrable_domain: str
    """The domain under the public suffix ("justpaste.it"); the host itself for IP literals
    and for hosts without a recognised public suffix (e.g. "localhost")."""


# --------------------------------------------------------------------------------------------
# Public suffix list
# --------------------------------------------------------------------------------------------


@cache
def _extractor() -> tldextract.TLDExtract:
    # No suffix-list URLs and no cache directory: tldextract falls back to the snapshot shipped
    # inside the package and never fetches or writes anything. Built lazily, once, because
    # loading the list takes a noticeable fraction of a second.
    # Private suffixes (blogspot.com, github.io, ...) are deliberately *not* treated as public:
    # for a referral unit the platform behind "someone.blogspot.com" is blogspot.com.
    return tldextract.TLDExtract(
        suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False
    )


# An intake names a few thousand hosts at most, each many times: the suffix lookup (a
# third of the time of a URL) is done once per host (issue 11, P3). Bounded, so a stream
# of distinct hosts cannot grow it without limit.
@lru_cache(maxsize=65_536)
def _split_domain(host: str) -> tuple[str, str]:
    """(public suffix, registrable domain) of an ASCII host; empty strings when unknown."""
    parts = _extractor()(host)
    return parts.suffix, parts.top_domain_under_public_suffix


@lru_cache(maxsize=65_536)
def _domain_host_and_registrable(hostname: str) -> tuple[str, str]:
    """``_checked_domain_host`` and the registrable domain of a WHATWG domain host, once per
    host. Raises ``UrlRefused`` (not cached: a refusal is rare and its message is cheap)."""
    host = _checked_domain_host(hostname)
    return host, _split_domain(host)[1] or host


# The components normalise_url reads, fetched from ada in one call (each attribute of an
# ada URL object is a separate call into the C library, costlier than parsing once more).
_COMPONENTS = ("protocol", "port", "hostname", "pathname", "search", "host_type", "scheme_type")


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------

# What a scheme looks like at the start of the input (URL Standard, "scheme state").
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")

# Tiny pre-check for a scheme-less "host/path" or "host:port/path". It only decides whether it
# is worth *trying* "https://" + input; ada and the public suffix list do the real validation.
# Without it, "example.org:8080/x" would be read (correctly, per WHATWG) as the scheme
# "example.org:", which is never what an officer means.
_BARE_HOST_RE = re.compile(
    r"(?P<host>[^\s/\\?#@:\[\]]*\.[^\s/\\?#@:\[\]]*)(?P<port>:\d*)?(?:[/\\?#]|$)"
)

# "name:1234" optionally followed by a path: a host and port typed without a scheme.
_HOST_PORT_RE = re.compile(r"[^\s/\\?#@:]+:\d+(?:[/\\?#]|$)")

# %XX escapes, for RFC 3986 section 6.2.2 normalisation of the path and query.
_PERCENT_RE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _quote(value: str, limit: int = 80) -> str:
    """Quote user input for a message, shortened so a pasted essay doesn't fill the screen."""
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return repr(value)


def _scheme_refusal(scheme: str) -> UrlRefused:
    return UrlRefused(f"Only http and https URLs can be referred (got {_quote(scheme)}).")


def _prepare(raw: object, what: str = "URL", *, allow_empty: bool = False) -> str:
    """Type- and length-check the input and make it safe to hand to ada."""
    if not isinstance(raw, str):
        raise UrlRefused(f"Not a {what}: expected text, got {type(raw).__name__}.")
    if len(raw) > MAX_URL_LENGTH:
        raise UrlRefused(
            f"The {what} is too long ({len(raw):,} characters; the limit is {MAX_URL_LENGTH:,})."
        )
    # Lone surrogates cannot be encoded to UTF-8 (ada would raise UnicodeEncodeError). Browsers
    # turn them into U+FFFD before parsing (USVString conversion); do the same, keeping valid
    # surrogate pairs as the character they encode.
    text = raw.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    text = text.strip()
    if not text and not allow_empty:
        raise UrlRefused(f"Not a {what}: the text is empty.")
    return text


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        return False
    return True


def _normalise_escapes(component: str) -> str:
    """RFC 3986 6.2.2: upper-case hex digits and decode escaped unreserved characters.

    "/%7euser", "/%7Euser" and "/~user" are the same resource, and ada (like browsers) leaves
    existing escapes alone, so without this they would become three items. Reserved characters
    stay escaped (their meaning differs), and WHATWG has already removed "%2e" dot segments,
    so decoding cannot create new ones.
    """

    if "%" not in component:
        return component
    return _PERCENT_RE.sub(_fix_escape, component)


def _fix_escape(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else "%" + match.group(1).upper()


def _checked_domain_host(hostname: str) -> str:
    """Finish a WHATWG domain host: drop trailing dots, and reject what ada lets through.

    "example.org." is the fully-qualified spelling of "example.org": the same site, one item.
    """
    host = hostname.rstrip(".")
    if not host:
        raise UrlRefused("Not a URL: no host name.")
    if host != hostname and not URL.can_parse("http://" + host):
        # Only the trailing dots kept it valid: "foo.09.." is a domain, "foo.09" a bad IPv4.
        raise UrlRefused(f"{_quote(hostname)} is not a valid host name.")
    for label in host.split("."):
        # The URL Standard (UTS #46 ToASCII) refuses "xn--" labels that are not valid
        # punycode, or whose decoded form would not encode back to the same label; the ada
        # release we use accepts them, so check here. ada's ToUnicode returns a label it
        # cannot decode unchanged.
        if label.startswith("xn--"):
            decoded = idna_to_unicode(label)
            if decoded == label or idna_to_ascii(decoded) != label.encode():
                raise UrlRefused(
                    f"{_quote(host)} is not a valid host name ({_quote(label)} is not valid"
                    " punycode)."
                )
    return host


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def parse_bare(text: str) -> URL | None:
    """Parse a scheme-less "host[:port][/path]" as https, if the host is plausibly real.

    Only hosts with a dot and a recognised public suffix qualify, so words ("test"), relative
    paths ("foo/bar") and file names ("notes.txt") are not mistaken for URLs.
    """
    if _BARE_HOST_RE.match(text) is None:
        return None
    try:
        url = URL("https://" + text)
    except ValueError:
        return None
    if url.host_type != HostType.DEFAULT:
        return None  # IP literals need an explicit scheme: "1.2/3" is not an address.
    host = url.hostname.rstrip(".")
    if "." not in host:
        return None
    suffix, _ = _split_domain(host)
    return url if suffix else None


def _explain_failure(text: str) -> str:
    """Best-effort reason why ada refused ``text``: only used to word the message."""
    # The URL Standard ignores tabs and newlines anywhere in the input; so do we, here.
    text = re.sub(r"[\t\n\r]", "", text)
    match = _SCHEME_RE.match(text)
    if match is None:
        return (
            f"Not a URL: {_quote(text)} has no scheme (such as https://) and does not start"
            " with a host name that has a recognised public suffix."
        )
    scheme = match.group(1).lower()
    if scheme not in ("http", "https"):
        return _scheme_refusal(scheme).message
    authority = re.split(r"[/\\?#]", text[match.end() :].lstrip("/\\"), maxsplit=1)[0]
    host_port = authority.rpartition("@")[2]  # credentials are irrelevant to the reason
    if not host_port:
        return "Not a URL: no host name."
    if host_port.startswith("["):
        host, _, rest = host_port.partition("]")
        host += "]"
        port = rest.removeprefix(":")
    else:
        host, _, port = host_port.partition(":")
    if not host:
        return "Not a URL: no host name."
    if port and (not port.isascii() or not port.isdigit() or int(port) > 65535):
        return f"{_quote(port)} is not a valid port number."
    return f"{_quote(host)} is not a valid host name."


def _bare_components(text: str) -> dict[str, Any] | None:
    """``parse_bare`` as ada's components (see ``_COMPONENTS``)."""
    if _BARE_HOST_RE.match(text) is None:
        return None
    try:
        url = parse_url("https://" + text, attributes=_COMPONENTS)
    except ValueError:
        return None
    if url["host_type"] != HostType.DEFAULT:
        return None  # IP literals need an explicit scheme: "1.2/3" is not an address.
    host = url["hostname"].rstrip(".")
    if "." not in host:
        return None
    suffix, _ = _split_domain(host)
    return dict(url) if suffix else None


def _parse(text: str, base: str | None) -> dict[str, Any]:
    """Parse (or resolve against ``base``) and insist on an http(s) URL with a host.

    Returns ada's components (``_COMPONENTS``)."""
    url: dict[str, Any]
    if base is not None:
        base_text = _prepare(base, "base URL")
        try:
            url = dict(parse_url(URL(text, base_text).href, attributes=_COMPONENTS))
        except ValueError:
            raise UrlRefused(
                f"Not a URL: {_quote(text)} cannot be resolved against {_quote(base_text)}."
            ) from None
    else:
        bare = _bare_components(text)
        if bare is not None:
            url = bare
        else:
            try:
                url = dict(parse_url(text, attributes=_COMPONENTS))
            except ValueError:
                raise UrlRefused(_explain_failure(text)) from None
    if url["scheme_type"] not in _HTTP_SCHEMES:
        scheme = url["protocol"].removesuffix(":")
        if url["scheme_type"] == SchemeType.NOT_SPECIAL and _HOST_PORT_RE.match(text):
            # "localhost:8080/x" parses as the scheme "localhost:"; say what really went wrong.
            raise UrlRefused(
                f"Not a URL: {_quote(scheme)} is not a host name with a recognised public"
                " suffix; write the scheme (https://) if you really mean it."
            )
        raise _scheme_refusal(scheme)
    return url


# Parameters that identify the click or the campaign, never the content.
_TRACKING_PARAMS = frozenset(
    {
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
    }
)

# Short names that are share-tracking on these sites but could be meaningful elsewhere.
_SITE_TRACKING_PARAMS: dict[str, frozenset[str]] = {
    "youtube.com": frozenset({"si", "feature"}),
    "youtu.be": frozenset({"si", "feature"}),
    "x.com": frozenset({"s", "t"}),
    "twitter.com": frozenset({"s", "t"}),
}


_BLOCKED_ON = {domain: _TRACKING_PARAMS | names for domain, names in _SITE_TRACKING_PARAMS.items()}


def _strip_tracking(query: str, registrable_domain: str) -> str:
    """Drop tracking parameters, keeping the others in order and as encoded (no re-encoding,
    no sorting: either could change what the server sees)."""
    blocked = _BLOCKED_ON.get(registrable_domain, _TRACKING_PARAMS)
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue  # "a=1&&b=2" is the same request as "a=1&b=2"
        name = pair.partition("=")[0]
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        name = name.lower()
        if name.startswith("utm_") or name in blocked:
            continue
        kept.append(pair)
    return "&".join(kept)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def normalise_url(raw: str, *, base: str | None = None) -> NormalisedUrl:
    """Canonical form of an http(s) URL, for de-duplication. Raises only ``UrlRefused``.

    On top of WHATWG parsing (lower-case scheme and host, punycode, default port dropped, dot
    segments resolved, characters percent-encoded) this drops the fragment, credentials, a
    trailing dot on the host and tracking parameters, and normalises percent-escapes.
    """
    # With a base, "" is a reference to the base document itself (as in a link's href="").
    text = _prepare(raw, allow_empty=base is not None)
    url = _parse(text, base)

    if url["host_type"] == HostType.DEFAULT:
        host, registrable = _domain_host_and_registrable(url["hostname"])
    else:
        host = registrable = url["hostname"]  # IPv4 dotted quad, or IPv6 in brackets

    search = url["search"]
    query = _strip_tracking(_normalise_escapes(search[1:]), registrable) if search else ""
    port = f":{url['port']}" if url["port"] else ""
    # Rebuilt from ada's serialised components, leaving out on purpose:
    # - username and password: they are not part of the content's identity (the same page
    #   with or without "user:pw@" is one item), and credentials should not be stored;
    # - the fragment: it is never sent to the server, so it cannot change the content.
    candidate = (
        f"{url['protocol']}//{host}{port}{_normalise_escapes(url['pathname'])}"
        f"{'?' + query if query else ''}"
    )
    # Reparse so that the stored key is exactly what ada serialises (and stays a fixed point).
    try:
        normalised = normalize_url(candidate)
    except ValueError:
        raise UrlRefused(f"Not a URL: {_quote(text)} could not be normalised.") from None
    if len(normalised) > MAX_URL_LENGTH:
        raise UrlRefused(
            f"The URL is too long once normalised (the limit is {MAX_URL_LENGTH:,} characters)."
        )
    return NormalisedUrl(
        submitted=raw, normalised=normalised, host=host, registrable_domain=registrable
    )


def normalise_domain(raw: str) -> str:
    """A platform's domain in canonical form: ASCII, lower-case, no trailing dot.

    Accepts a host name ("WWW.Example.org.") or a pasted URL (its host is taken). Refuses
    anything that is not a host name with a dot and a recognised public suffix, IP addresses,
    and bare public suffixes such as "co.uk".
    """
    try:
        text = _prepare(raw, "domain name")
    except UrlRefused as exc:
        raise DomainRefused(exc.message) from None

    if _is_ip_literal(text):
        raise DomainRefused(f"{_quote(text)} is an IP address, not a domain name.")
    if any(char in text for char in "/\\?#@:"):
        # Looks like a URL (or host:port): reuse the URL rules, then judge the host below.
        try:
            host = normalise_url(text).host
        except UrlRefused as exc:
            raise DomainRefused(exc.message) from None
    else:
        try:
            url = URL("https://" + text)
        except ValueError:
            raise DomainRefused(f"{_quote(text)} is not a valid host name.") from None
        if url.host_type != HostType.DEFAULT:
            raise DomainRefused(f"{_quote(url.hostname)} is an IP address, not a domain name.")
        try:
            host = _checked_domain_host(url.hostname)
        except UrlRefused as exc:
            raise DomainRefused(exc.message) from None

    if _is_ip_literal(host):
        raise DomainRefused(f"{_quote(host)} is an IP address, not a domain name.")
    if "." not in host:
        raise DomainRefused(f"{_quote(host)} is not a valid host name (it needs a dot).")
    suffix, registrable = _split_domain(host)
    if not suffix:
        raise DomainRefused(f"{_quote(host)} does not end in a recognised public suffix.")
    if not registrable:
        raise DomainRefused(f"{_quote(host)} is a public suffix, not a platform's domain.")
    return host


def host_suffixes(host: str) -> list[str]:
    """All dot-suffixes of a (normalised) host, longest first, for longest-suffix matching.

    "a.b.example.org" -> ["a.b.example.org", "b.example.org", "example.org", "org"].
    An IP literal only matches itself.
    """
    host = host.strip().lower().rstrip(".")
    if not host:
        return []
    if _is_ip_literal(host):
        return [host]
    labels = host.split(".")
    return [".".join(labels[i:]) for i in range(len(labels)) if labels[i]]


# --- extract_urls ---------------------------------------------------------------------------

# Defanged spellings used in threat-intel style reports, and their real characters.
_DEFANGS = (
    (re.compile(r"\[(?:\.|dot)\]|\((?:\.|dot)\)|\{(?:\.|dot)\}", re.IGNORECASE), "."),
    (re.compile(r"\[://\]"), "://"),
    (re.compile(r"\[:\]"), ":"),
    (re.compile(r"\[/\]"), "/"),
    (re.compile(r"\bh(?:xx|\*\*)p(s?)(?=://)", re.IGNORECASE), r"http\1"),
)
# A scheme followed by "//" somewhere in a token: where an explicit URL starts.
_SCHEMED_RE = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://")
# Comma/semicolon/pipe-separated URLs with no space between them ("a.org/x,https://b.org").
_GLUED_RE = re.compile(r"[,;|](?=[\"'<(\[]*[A-Za-z][A-Za-z0-9+.\-]*://)")
# List markers that start a line: "- ", "* ", "• ", "1. ", "1) ".
BULLET_RE = re.compile(r"^\s*(?:[-*•+]|\d+[.)])\s+")

# Wrappers around a URL in prose: brackets, ASCII and typographic quotes (written as escapes
# because several look like ASCII ones), guillemets, Markdown code and emphasis.
_LEADING_JUNK = "<([{\"'\u201c\u2018\u00ab\u2039`*"
_TRAILING_JUNK = frozenset(".,;:!?\u201d\u2019\u00bb\u203a>`*")
_CLOSERS = {")": "(", "]": "[", "}": "{"}


def _trim(candidate: str) -> str:
    """Strip trailing punctuation, and closing brackets or quotes that are *unbalanced*.

    Balanced ones stay: "https://en.wikipedia.org/wiki/Foo_(bar)" keeps its ")".
    """
    while candidate:
        last = candidate[-1]
        if (
            last in _TRAILING_JUNK
            or (last in _CLOSERS and candidate.count(_CLOSERS[last]) < candidate.count(last))
            or (last in "\"'" and candidate.count(last) % 2 == 1)
        ):
            candidate = candidate[:-1]
        else:
            break
    return candidate


def _refang(token: str) -> str:
    for pattern, replacement in _DEFANGS:
        token = pattern.sub(replacement, token)
    return token


def _candidate(token: str, *, alone: bool) -> str | None:
    """The URL in one whitespace-free piece of text, if any."""
    refanged = _refang(token)
    schemed = _SCHEMED_RE.search(refanged)
    if schemed is not None:
        candidate = _trim(refanged[schemed.start() :])
        return candidate if not candidate.endswith("://") else None

    candidate = _trim(refanged.lstrip(_LEADING_JUNK))
    bare = _BARE_HOST_RE.match(candidate)
    if bare is None or parse_bare(candidate) is None:
        return None
    # Prose is full of "config.py" and "Node.js"-like words that happen to end in a real TLD.
    # Accept a scheme-less host only with some other sign that it is meant as an address.
    has_more = bare.end("host") < len(candidate)  # a path, query or port follows
    defanged = refanged != token
    if has_more or defanged or alone or candidate.lower().startswith("www."):
        return candidate
    return None


def extract_urls(text: str) -> list[str]:
    """Candidate URLs in pasted text, in order, not de-duplicated, as written (but re-fanged).

    Handles several URLs per line, prose around them, list bullets, <angle brackets>,
    quotes, trailing punctuation, defanged forms ("hxxps://example[.]org") and scheme-less
    "example.org/path". Candidates still need ``normalise_url``; text with no candidate is
    simply not represented in the result.
    """
    found: list[str] = []
    for line in text.splitlines():
        tokens = BULLET_RE.sub("", line, count=1).split()
        for token in tokens:
            for piece in _GLUED_RE.split(token):
                candidate = _candidate(piece, alone=len(tokens) == 1)
                if candidate:
                    found.append(candidate)
    return found
