"""Reads about platforms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce, Lower
from django.shortcuts import get_object_or_404

from platforms.models import Contact, Platform, PlatformDomain, PlatformKind, UpstreamProvider
from platforms.urlnorm import DomainRefused, host_suffixes, normalise_domain


def platform_for_host(host: str) -> Platform | None:
    """The platform serving ``host``, by the longest matching domain suffix.

    ``m.facebook.com`` matches a platform with ``facebook.com``; a platform that
    registered ``m.facebook.com`` itself would win over it.
    """
    suffixes = host_suffixes(host)
    if not suffixes:
        return None
    matches = {
        row.domain: row.platform
        for row in PlatformDomain.objects.filter(domain__in=suffixes).select_related("platform")
    }
    for suffix in suffixes:  # longest first
        if suffix in matches:
            return matches[suffix]
    return None


def platforms_for_hosts(hosts: set[str]) -> dict[str, Platform | None]:
    """Match many hosts at once in one query (the paste box sends thousands)."""
    suffixes_by_host = {host: host_suffixes(host) for host in hosts}
    all_suffixes = {s for suffixes in suffixes_by_host.values() for s in suffixes}
    by_domain = {
        row.domain: row.platform
        for row in PlatformDomain.objects.filter(domain__in=all_suffixes).select_related("platform")
    }
    return {
        host: next((by_domain[s] for s in suffixes if s in by_domain), None)
        for host, suffixes in suffixes_by_host.items()
    }


# --- staff screens ----------------------------------------------------------------------

# ?sort= value → keyset ordering. Every ordering ends in the primary key so it is total.
# Names sort case-insensitively on lower(name), which the unique constraint already indexes;
# the kind, tier and country sorts have no index of their own yet.
PLATFORM_SORTS: dict[str, tuple[str, ...]] = {
    "name": ("sort_name", "id"),
    "-name": ("-sort_name", "-id"),
    "kind": ("kind", "sort_name", "id"),
    "-kind": ("-kind", "-sort_name", "-id"),
    "tier": ("tier", "sort_name", "id"),
    "-tier": ("-tier", "-sort_name", "-id"),
    "country": ("country", "sort_name", "id"),
    "-country": ("-country", "-sort_name", "-id"),
    # Ids are handed out in creation order, so the primary key index serves "newest first"
    # without an index on created_at.
    "created": ("id",),
    "-created": ("-id",),
}
DEFAULT_PLATFORM_SORT = "name"
REQUEST_HISTORY_LIMIT = 20


def _count_of(queryset: QuerySet[Any]) -> Coalesce:
    """A correlated COUNT for each platform row; run only for the rows of the page shown."""
    return Coalesce(
        Subquery(
            queryset.filter(platform=OuterRef("pk"))
            .order_by()
            .values("platform")
            .annotate(n=Count("pk"))
            .values("n")[:1],
            output_field=IntegerField(),
        ),
        0,
    )


def platform_list_queryset() -> QuerySet[Platform]:
    """Platforms for the staff list, with their counts and domains, in a fixed number of queries.

    Counts are correlated subqueries rather than JOIN + GROUP BY, so a page of 50 costs
    50 small index lookups instead of aggregating the whole table first.
    """
    return Platform.objects.annotate(
        sort_name=Lower("name"),
        domain_count=_count_of(PlatformDomain.objects.all()),
        active_contact_count=_count_of(Contact.objects.filter(is_active=True)),
    ).prefetch_related(Prefetch("domains", queryset=PlatformDomain.objects.order_by("domain")))


def platforms_matching(queryset: QuerySet[Platform], text: str) -> QuerySet[Platform]:
    """Platforms whose name or one of whose domains contains ``text``.

    A pasted URL or host ("https://m.Example.org/x") also finds the platform that serves
    it by suffix, the way intake matches it.
    """
    text = text.strip()
    if not text:
        return queryset
    matches = Q(name__icontains=text) | Q(
        Exists(PlatformDomain.objects.filter(platform=OuterRef("pk"), domain__icontains=text))
    )
    try:
        host = normalise_domain(text)
    except DomainRefused:
        host = ""
    if host:
        matches |= Q(
            Exists(
                PlatformDomain.objects.filter(
                    platform=OuterRef("pk"), domain__in=host_suffixes(host)
                )
            )
        )
    return queryset.filter(matches)


@dataclass(frozen=True)
class PlatformDetail:
    platform: Platform
    domains: list[Any]  # PlatformDomain rows, or their names as ``.domain``
    contacts: list[Contact]
    upstream_links: list[UpstreamProvider]
    downstream_links: list[UpstreamProvider]
    recent_requests: list[Any]
    more_requests: bool


def platform_for_detail(pk: int) -> Platform:
    """The platform for its page, with its domain names in the same query (``domain_names``)."""
    domains = Subquery(
        PlatformDomain.objects.filter(platform=OuterRef("pk"))
        .order_by()
        .values("platform")
        .annotate(names=ArrayAgg("domain", order_by="domain"))
        .values("names")[:1]
    )
    return get_object_or_404(Platform.objects.annotate(domain_names=domains), pk=pk)


@dataclass(frozen=True)
class _Domain:
    domain: str


def platform_detail(platform: Platform) -> PlatformDetail:
    """Everything the platform page shows in four queries, however long its history:
    the platform with its domains (``platform_for_detail``), its latest requests with line
    counts, its contacts, and its upstream and downstream links together."""
    # Requests live in the cases app, a higher layer: reach them through the reverse
    # relation instead of importing it. Lines are counted for the latest requests only,
    # not for a busy platform's whole history.
    newest_first = ("-created_at", "-id")
    latest = platform.requests.order_by(*newest_first).values("pk")[: REQUEST_HISTORY_LIMIT + 1]
    # Lines counted per request by a correlated COUNT on the (request, id) index: a JOIN +
    # GROUP BY sorted the busiest platform's ~50k lines on disk first (35 ms).
    line_model: Any = platform.requests.model._meta.get_field("lines").related_model
    line_count = Subquery(
        line_model.objects.filter(request=OuterRef("pk"))
        .order_by()
        .values("request")
        .annotate(n=Count("pk"))
        .values("n")[:1],
        output_field=IntegerField(),
    )
    requests = list(
        platform.requests.filter(pk__in=latest)
        .annotate(line_count=Coalesce(line_count, 0))
        .order_by(*newest_first)
    )
    domains: list[Any]
    if hasattr(platform, "domain_names"):  # read with the platform (platform_for_detail)
        domains = [_Domain(name) for name in platform.domain_names or []]
    else:
        domains = list(platform.domains.order_by("domain"))
    links = list(
        UpstreamProvider.objects.filter(Q(platform=platform) | Q(provider=platform))
        .select_related("platform", "provider")
        .order_by("provider__name", "role", "platform__name", "id")
    )
    upstream = [link for link in links if link.platform_id == platform.pk]
    downstream = sorted(
        (link for link in links if link.provider_id == platform.pk),
        key=lambda link: (link.platform.name, link.pk),
    )
    return PlatformDetail(
        platform=platform,
        domains=domains,
        contacts=list(platform.contacts.order_by("-is_active", "-is_primary", "name", "email")),
        upstream_links=upstream,
        downstream_links=downstream,
        recent_requests=requests[:REQUEST_HISTORY_LIMIT],
        more_requests=len(requests) > REQUEST_HISTORY_LIMIT,
    )


def infrastructure_providers(*, exclude: Platform | None = None) -> QuerySet[Platform]:
    """Platforms that can be named as an upstream provider (host, CDN, registrar, gateway)."""
    providers = Platform.objects.filter(kind=PlatformKind.INFRASTRUCTURE).order_by("name")
    if exclude is not None:
        providers = providers.exclude(pk=exclude.pk)
    return providers


def platform_name_suggestions(text: str, *, limit: int) -> list[str]:
    """Names containing ``text`` for a filter's autocomplete, in name order."""
    text = text.strip()[:300]
    if not text:
        return []
    return list(
        Platform.objects.filter(name__icontains=text)
        .annotate(sort_name=Lower("name"))
        .order_by("sort_name", "id")
        .values_list("name", flat=True)[:limit]
    )
