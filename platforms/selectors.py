"""Reads about platforms."""

from __future__ import annotations

from platforms.models import Platform, PlatformDomain
from platforms.urlnorm import host_suffixes


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
