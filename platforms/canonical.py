"""Per-site canonical URLs: the same content on a big platform is one item, however it is linked.

``urlnorm.normalise_url`` knows only what is true of every URL (WHATWG parsing, tracking
parameters, escapes). Big platforms serve one piece of content under many spellings —
``youtu.be/ID``, ``m.youtube.com/watch?v=ID&t=42``, ``youtube.com/shorts/ID`` are one
video — so after the generic normalisation ``canonicalise`` applies the site's rule from
``SITE_RULES``: one table, data only, one row per site (the reasons for every choice are in
docs/decisions/0016-per-site-canonical-urls.md and each row has a test in
tests/test_canonical_urls.py).

Kept cheap on purpose (issue 11 wants 10k URLs/s for the whole intake): one dict lookup by
host, then a few precompiled ``fullmatch`` calls for the sites in the table only.

Pure Python, no Django (like urlnorm).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

from platforms.urlnorm import NormalisedUrl, normalise_url

__all__ = ["SITE_RULES", "PathRule", "SiteRule", "canonical_url", "canonicalise"]


@dataclass(frozen=True, slots=True)
class PathRule:
    """A path (plus required query parameters) that names one piece of content.

    ``template`` is formatted with the pattern's named groups and the ``params`` values;
    groups named in ``lower`` are lower-cased first (case-insensitive names). Only the
    parameters named in ``keep`` survive; every other parameter is dropped.
    """

    pattern: re.Pattern[str]
    template: str
    params: tuple[tuple[str, re.Pattern[str]], ...] = ()
    keep: tuple[str, ...] = ()
    lower: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class SiteRule:
    name: str
    hosts: frozenset[str]
    """Every host (normalised, lower-case) that serves the same content."""
    canonical_host: str
    registrable_domain: str
    paths: tuple[PathRule, ...] = ()
    drop: frozenset[str] = frozenset()
    """Parameters dropped when no path rule matched (names, lower-case)."""
    drop_prefixes: tuple[str, ...] = ()
    """Parameter-name prefixes dropped likewise (``__cft__[0]``, ``__xts__[1]`` …)."""
    lower_path: re.Pattern[str] | None = field(default=None)
    """When no path rule matched: a path matching this is lower-cased (profile names)."""


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_YT_ID = _re(r"[A-Za-z0-9_-]{11}")
_YT_ID_PATH = r"(?P<v>[A-Za-z0-9_-]{11})/?"
_YT_VIDEO = "/watch?v={v}"
_TG_RESERVED = (
    r"(?!(?:joinchat|addstickers|addemoji|addlist|addtheme|share|proxy|socks|setlanguage"
    r"|login|confirmphone|boost|iv|contact|bg|invoice)/)"
)
_TG_NAME = _TG_RESERVED + r"(?P<channel>[A-Za-z][A-Za-z0-9_]{3,31})"

SITE_RULES: tuple[SiteRule, ...] = (
    SiteRule(
        name="YouTube",
        hosts=frozenset(
            {
                "youtube.com",
                "www.youtube.com",
                "m.youtube.com",
                "music.youtube.com",
                "youtu.be",
                "www.youtu.be",
                "youtube-nocookie.com",
                "www.youtube-nocookie.com",
            }
        ),
        canonical_host="www.youtube.com",
        registrable_domain="youtube.com",
        paths=(
            # The video id is the content: t= (a timestamp), list= and index= (the playlist
            # it was opened from), si=, pp=, feature= all show the same video.
            PathRule(_re(r"/watch/?"), _YT_VIDEO, params=(("v", _YT_ID),), keep=("v",)),
            PathRule(_re("/" + _YT_ID_PATH), _YT_VIDEO),  # youtu.be/ID
            PathRule(_re(r"/(?:shorts|embed|live|v|e)/" + _YT_ID_PATH), _YT_VIDEO),
            # A playlist is its own content (its list of videos), distinct from any video.
            PathRule(_re(r"/playlist/?"), "/playlist", keep=("list",)),
        ),
        drop=frozenset({"si", "feature", "pp", "app", "ab_channel", "embeds_referring_euri"}),
    ),
    SiteRule(
        name="X (Twitter)",
        hosts=frozenset(
            {
                "x.com",
                "www.x.com",
                "mobile.x.com",
                "twitter.com",
                "www.twitter.com",
                "mobile.twitter.com",
                "m.twitter.com",
            }
        ),
        canonical_host="x.com",
        registrable_domain="x.com",
        paths=(
            # The status id alone identifies the post: the user name in the URL is
            # decoration (any name, any case, resolves) and goes stale on a rename.
            # /photo/1, /video/1, /analytics, /quotes are views of the same post.
            PathRule(
                _re(r"/(?:[A-Za-z0-9_]{1,15}|i(?:/web)?)/status(?:es)?/(?P<id>\d{1,20})(?:/.*)?"),
                "/i/status/{id}",
            ),
        ),
        drop=frozenset({"s", "t", "ref_src", "ref_url", "src", "lang", "cxt"}),
        # User names are case-insensitive: x.com/SomeUser is x.com/someuser.
        lower_path=_re(r"/[A-Za-z0-9_]{1,15}/?(?:/(?:with_replies|media|likes))?"),
    ),
    SiteRule(
        name="Telegram",
        hosts=frozenset({"t.me", "www.t.me", "telegram.me", "www.telegram.me", "telegram.dog"}),
        canonical_host="t.me",
        registrable_domain="t.me",
        paths=(
            # t.me/s/NAME/55 is the web preview of t.me/NAME/55; ?single, ?embed, ?mode are
            # display options. ?comment= and ?thread= name another message: kept.
            PathRule(
                _re(r"/(?:s/)?" + _TG_NAME + r"/(?P<post>\d{1,12})/?"),
                "/{channel}/{post}",
                keep=("comment", "thread"),
                lower=frozenset({"channel"}),
            ),
            PathRule(
                _re(r"/(?:s/)?" + _TG_NAME + r"/?"), "/{channel}", lower=frozenset({"channel"})
            ),
        ),
        drop=frozenset({"single", "embed", "mode", "utm_source"}),
    ),
    SiteRule(
        name="Facebook",
        hosts=frozenset(
            {
                "facebook.com",
                "www.facebook.com",
                "m.facebook.com",
                "web.facebook.com",
                "mbasic.facebook.com",
                "touch.facebook.com",
                "mobile.facebook.com",
                "business.facebook.com",
                "free.facebook.com",
                "0.facebook.com",
                "d.facebook.com",
            }
        ),
        canonical_host="www.facebook.com",
        registrable_domain="facebook.com",
        # Content is named by the path and by id-like parameters (story_fbid, id, fbid, v,
        # set, comment_id, multi_permalinks …), which are kept; these only say where the
        # click came from.
        drop=frozenset(
            {
                "ref",
                "refid",
                "refsrc",
                "fref",
                "hc_ref",
                "hc_location",
                "mibextid",
                "rdid",
                "share_url",
                "_rdr",
                "_rdc",
                "notif_id",
                "notif_t",
                "ref_component",
                "ref_page",
                "paipv",
                "eav",
                "sfnsn",
                "extid",
                "comment_tracking",
                "acontext",
                "app",
                "s",
                "sk_source",
                "locale",
                "wtsid",
                "dti",
                "__tn__",
            }
        ),
        drop_prefixes=("__cft__", "__xts__", "__tn__", "__eep__"),
    ),
)

_BY_HOST: dict[str, SiteRule] = {host: rule for rule in SITE_RULES for host in rule.hosts}


def _name(pair: str) -> str:
    name = pair.partition("=")[0]
    return unquote_plus(name).lower() if "%" in name or "+" in name else name.lower()


def _value(pair: str) -> str:
    return pair.partition("=")[2]


def canonicalise(url: NormalisedUrl) -> NormalisedUrl:
    """``url`` (already through ``normalise_url``) in its site's canonical form.

    URLs of sites without a rule come back unchanged (the same object).
    """
    rule = _BY_HOST.get(url.host)
    if rule is None:
        return url
    rest = url.normalised.partition("://")[2]
    authority, _, path_query = rest.partition("/")
    if authority != url.host:
        return url  # an explicit, non-default port: not the site's public service
    path, _, query = ("/" + path_query).partition("?")
    pairs = [pair for pair in query.split("&") if pair]

    for path_rule in rule.paths:
        match = path_rule.pattern.fullmatch(path)
        if match is None:
            continue
        values = dict(match.groupdict())
        first: dict[str, str] = {}
        for pair in pairs:
            first.setdefault(_name(pair), _value(pair))
        ok = True
        for param, value_pattern in path_rule.params:
            value = first.get(param, "")
            if value_pattern.fullmatch(value) is None:
                ok = False
                break
            values[param] = value
        if not ok:
            continue
        for name in path_rule.lower:
            values[name] = values[name].lower()
        new_path = path_rule.template.format(**values)
        # The template may already carry the id parameter (/watch?v=…); keep only the
        # named ones of the rest, in their original order.
        kept = [
            pair
            for pair in pairs
            if (name := _name(pair)) in path_rule.keep and f"{name}=" not in new_path
        ]
        if kept:
            new_path += ("&" if "?" in new_path else "?") + "&".join(kept)
        return _rebuilt(url, rule, new_path)

    kept = [
        pair
        for pair in pairs
        if (name := _name(pair)) not in rule.drop and not name.startswith(rule.drop_prefixes)
    ]
    if rule.lower_path is not None and rule.lower_path.fullmatch(path):
        path = path.lower()
    return _rebuilt(url, rule, path + ("?" + "&".join(kept) if kept else ""))


def _rebuilt(url: NormalisedUrl, rule: SiteRule, path_query: str) -> NormalisedUrl:
    # https: these sites serve only https, and http:// links to them redirect there.
    return NormalisedUrl(
        submitted=url.submitted,
        normalised=f"https://{rule.canonical_host}{path_query}",
        host=rule.canonical_host,
        registrable_domain=rule.registrable_domain,
    )


def canonical_url(raw: str) -> NormalisedUrl:
    """``normalise_url`` then ``canonicalise``: the de-duplication key of an item."""
    return canonicalise(normalise_url(raw))
