"""A logging filter that keeps portal tokens out of every log line.

Imported by the logging configuration before apps load: no models here.
"""

from __future__ import annotations

import logging
import re

# "/r/<token>" anywhere in a message (paths, full URLs, repr of a request).
# The token alphabet is URL-safe base64; the lookahead spares the portal's own
# fixed paths so that "/r/language/" stays readable. Case-insensitive: "/R/<token>"
# (a client or proxy upper-casing the path) is still a token in a log line, and so
# is a percent-encoded slash ("%2Fr%2F<token>", e.g. in a logged query string).
PORTAL_TOKEN_IN_PATH = re.compile(
    r"(?:/|%2F)r(?:/|%2F)(?!language/|-/)[A-Za-z0-9_\-%.~]+", re.IGNORECASE
)
REDACTED = "/r/[redacted]"


def redact_portal_tokens(text: str) -> str:
    return PORTAL_TOKEN_IN_PATH.sub(REDACTED, text)


class RedactPortalTokens(logging.Filter):
    """Rewrites the record's message with tokens redacted; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the formatter's problem, not ours
            return True
        redacted = redact_portal_tokens(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True
