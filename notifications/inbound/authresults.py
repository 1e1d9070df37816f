"""Did the unit's own mail server find the From domain forged? (RFC 8601 Authentication-Results)

Only the header the unit's receiving server added counts: the topmost one, or
the one whose authserv-id is ``settings.INBOUND_AUTHSERV_ID`` when that is set.
Headers further down were written by servers the sender controls.
"""

from __future__ import annotations

import re
from email.parser import BytesHeaderParser

from django.conf import settings

_RESULT = re.compile(r"\b(dmarc|spf)\s*=\s*([a-z]+)(?:[^;]*)", re.IGNORECASE)
_FROM_DOMAIN = re.compile(r"header\.from\s*=\s*([^\s;]+)", re.IGNORECASE)
_MAILFROM_DOMAIN = re.compile(r"smtp\.mailfrom\s*=\s*(?:[^@\s;]*@)?([^\s;]+)", re.IGNORECASE)


def _own_header(values: list[str]) -> str | None:
    wanted = settings.INBOUND_AUTHSERV_ID
    for value in values:
        authserv_id = value.split(";", 1)[0].strip().split()[0:1]
        if not wanted or (authserv_id and authserv_id[0].lower() == wanted.lower()):
            return value
    return None


def authentication_failure(raw: bytes, *, from_address: str) -> str | None:
    """Why the From address fails authentication, or None (passes, or no verdict at all)."""
    headers = BytesHeaderParser().parsebytes(raw)
    own = _own_header([str(value) for value in headers.get_all("Authentication-Results") or []])
    if own is None:
        return None
    from_domain = from_address.rpartition("@")[2].lower()
    for clause in own.split(";")[1:]:
        found = _RESULT.search(clause)
        if not found:
            continue
        method, result = found.group(1).lower(), found.group(2).lower()
        if method == "dmarc" and result == "fail":
            domain = _FROM_DOMAIN.search(clause)
            if domain is None or domain.group(1).lower() == from_domain:
                return f"DMARC failed for {from_domain}"
        if method == "spf" and result in ("fail", "softfail"):
            domain = _MAILFROM_DOMAIN.search(clause)
            if domain is None or domain.group(1).lower() == from_domain:
                return f"SPF {result} for {from_domain}"
    return None
