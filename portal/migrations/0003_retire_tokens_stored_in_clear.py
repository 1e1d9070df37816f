"""Retire every portal token that an email stored before decision 0017 holds in clear.

Emails queued before tokens were withheld from stored copies (issue 10, point 1) keep the
working link in Correspondence.body_text and raw. Rewriting those bytes would break their
SHA-256 (the record of what was sent), so the bytes stay and the tokens die instead: each
link found in a stored copy gets a random hash nobody holds a token for. The operator's
next email (a reminder, a re-issue) carries a fresh link; until then they can answer by
replying to the email. The row-level audit trail records each retired hash.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from django.db import migrations

TOKEN_IN_TEXT = re.compile(r"/r/([A-Za-z0-9_\-]{20,})/")
WITHHELD = "TKD-portal-link-withheld"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def retire_tokens_stored_in_clear(apps: Any, schema_editor: Any) -> None:
    correspondence = apps.get_model("cases", "Correspondence")
    portal_link = apps.get_model("portal", "PortalLink")
    hashes: set[str] = set()
    stored = correspondence.objects.filter(body_text__contains="/r/").values_list(
        "body_text", flat=True
    )
    for text in stored.iterator(chunk_size=2000):
        hashes.update(_hash(token) for token in TOKEN_IN_TEXT.findall(text) if token != WITHHELD)
    for link in portal_link.objects.filter(token_hash__in=hashes).only("pk"):
        portal_link.objects.filter(pk=link.pk).update(token_hash=_hash(secrets.token_urlsafe(32)))


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0002_cache_table"),
        ("cases", "0008_correspondence_message_id_not_unique"),
    ]

    operations = [
        migrations.RunPython(
            retire_tokens_stored_in_clear, migrations.RunPython.noop, elidable=True
        ),
    ]
