"""Validators shared by the apps' forms and services."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Everything str.splitlines() splits on: any of these in a header value either
# breaks the header (Django raises BadHeaderError, a 500 at send) or, worse, starts a
# new one ("Evil\r\nBcc: …").
HEADER_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_BREAKS = re.compile(f"[{re.escape(HEADER_BREAKS)}]+")


def no_header_breaks(value: str) -> None:
    """Refuse text that reaches an email header (a subject, a display name) with a line break."""
    if _BREAKS.search(str(value)):
        raise ValidationError(
            _("Line breaks are not allowed here: this text goes into email headers."),
            code="header_break",
        )


def header_safe(value: str) -> str:
    """Last resort for text already stored: line breaks become spaces, never a 500 at send."""
    return _BREAKS.sub(" ", str(value))
