"""The rules that turn what a check saw into live / gone / unknown.

Pure functions over plain data, so the rules can be read and tested without a
network. The order matters and is documented in docs/decisions/0010:

gone     404, 410, 451 (unavailable for legal reasons: access disabled where the
         unit is); the name does not exist (NXDOMAIN); a redirect that ends on the
         site's front page; a 2xx page whose body is the body the site serves for
         a random path ("soft 404"), or that ends on the same URL a random path
         redirects to.
unknown  timeouts, resets and refused connections (after retries), TLS errors,
         401/403/407/429, other 4xx, 5xx, challenge pages (Cloudflare "Just a
         moment", captcha walls), too many redirects, an address the SSRF guard
         refuses.
live     any other 2xx.

"Unknown" is never counted as removed: when in doubt the URL is not verified.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from cases.models import VerificationStatus
from platforms.urlnorm import UrlRefused, normalise_url

LIVE = VerificationStatus.LIVE
GONE = VerificationStatus.GONE
UNKNOWN = VerificationStatus.UNKNOWN

GONE_STATUSES = {404: "404", 410: "410", 451: "451 unavailable for legal reasons"}

# Seen in the first part of a challenge/interstitial page rather than the content.
# Kept specific: a page that merely has a captcha on its comment form stays live.
CHALLENGE_MARKERS = (
    b"<title>just a moment...</title>",
    b"attention required! | cloudflare",
    b"/cdn-cgi/challenge-platform/",
    b"cf-browser-verification",
    b"cf_chl_opt",
    b"ddos-guard",
    b"checking your browser before accessing",
    b"please complete the security check",
    b'class="g-recaptcha"',
    b'class="h-captcha"',
    b"challenges.cloudflare.com/turnstile",
    b"<title>captcha</title>",
)
CHALLENGE_SCAN_BYTES = 64 * 1024


@dataclass(frozen=True)
class Seen:
    """The last response of a check, after following redirects."""

    url: str  # the URL asked for
    final_url: str
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    redirects: tuple[str, ...] = ()


@dataclass(frozen=True)
class Probe:
    """What the same site serves for a random path that cannot exist."""

    final_url: str
    status: int
    normalised_sha256: str
    redirected: bool


@dataclass(frozen=True)
class Verdict:
    classification: VerificationStatus
    reason: str


def registrable_domain(url: str) -> str:
    try:
        return normalise_url(url).registrable_domain
    except UrlRefused:
        return (urlsplit(url).hostname or "").lower()


def is_front_page(url: str) -> bool:
    return urlsplit(url).path in ("", "/")


def is_challenge(seen: Seen) -> bool:
    if seen.headers.get("cf-mitigated", "").lower() == "challenge":
        return True
    head = seen.body[:CHALLENGE_SCAN_BYTES].lower()
    return any(marker in head for marker in CHALLENGE_MARKERS)


def normalised_sha256(body: bytes, url: str) -> str:
    """SHA-256 of the body with the requested URL and path taken out.

    Soft-404 pages often echo what was asked for ("/p/123 was not found"), so the
    page for the item and the page for the probe differ only there.
    """
    parts = urlsplit(url)
    variants = {url, parts.path, unquote(parts.path)}
    if parts.query:
        variants |= {f"{parts.path}?{parts.query}", unquote(f"{parts.path}?{parts.query}")}
    text = body
    # Longest first, so the full URL goes before the path it contains.
    for variant in sorted((v for v in variants if len(v) > 1), key=len, reverse=True):
        for encoded in {variant.encode(), variant.replace("&", "&amp;").encode()}:
            text = text.replace(encoded, b"")
    return hashlib.sha256(text).hexdigest()


def redirected_to_front_page(seen: Seen) -> bool:
    """A redirect that ends on "/" of the same site, from a URL that was not "/" itself."""
    if not seen.redirects or is_front_page(seen.url) or not is_front_page(seen.final_url):
        return False
    return registrable_domain(seen.final_url) == registrable_domain(seen.url)


def soft_404_reason(seen: Seen, probe: Probe | None) -> str | None:
    """Why the 2xx page is what the site serves for any path that does not exist, if it is."""
    if probe is None or not 200 <= probe.status < 300 or is_front_page(seen.url):
        return None
    if probe.redirected and seen.redirects and probe.final_url == seen.final_url:
        return "soft 404: same redirect as probe"
    if normalised_sha256(seen.body, seen.url) == probe.normalised_sha256:
        return "soft 404: same body as probe"
    return None


def classify_response(seen: Seen, probe: Probe | None) -> Verdict:
    """The rules, in order, for a check that got an HTTP response."""
    status = seen.status
    if status in GONE_STATUSES:
        return Verdict(GONE, GONE_STATUSES[status])
    if status < 400 and redirected_to_front_page(seen):
        return Verdict(GONE, "redirect to front page")
    if 200 <= status < 300:
        return _classify_success(seen, probe)
    # 401/403/407/429, other 4xx, 5xx, a 3xx without a Location: no verdict either way.
    return Verdict(UNKNOWN, "challenge page" if is_challenge(seen) else str(status))


def _classify_success(seen: Seen, probe: Probe | None) -> Verdict:
    if is_challenge(seen):
        return Verdict(UNKNOWN, "challenge page")
    soft_404 = soft_404_reason(seen, probe)
    if soft_404:
        return Verdict(GONE, soft_404)
    return Verdict(LIVE, str(seen.status))


def needs_probe(seen: Seen) -> bool:
    """Only a 2xx that would otherwise be "live" is worth comparing with a probe."""
    return (
        200 <= seen.status < 300
        and not is_front_page(seen.url)
        and not is_challenge(seen)
        and not redirected_to_front_page(seen)
    )


_SPACE = re.compile(r"\s+")


def short_error(error: BaseException) -> str:
    """One line naming the error and its cause, for the check row."""
    text = f"{type(error).__name__}: {error}"
    cause = error.__cause__ or error.__context__
    if cause is not None and str(cause) and str(cause) not in text:
        text += f" ({type(cause).__name__}: {cause})"
    return _SPACE.sub(" ", text).strip()
