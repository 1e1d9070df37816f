"""Polling a unit mailbox over IMAP (stdlib imaplib).

Each unseen message is fetched with BODY.PEEK[] (which does not set \\Seen),
ingested, and only then flagged \\Seen (and, if asked, moved). A crash between
the two leaves the message unseen: the next poll ingests it again, and the
raw-bytes (SHA-256) dedupe in ``mail_ingest`` keeps it stored once.

A message over ``INBOUND_MESSAGE_MAX_BYTES`` (its RFC822.SIZE, asked first) is
never fetched whole: it is recorded from its From/Subject/Message-ID lines,
with its size, in the unmatched queue, and flagged \\Seen.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from django.conf import settings

from notifications.inbound.ingest import mail_ingest, mail_record_refused

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    user: str
    password: str
    mailbox: str
    ssl: bool


def imap_settings_from_url(url: str) -> ImapSettings:
    """``imaps://user:pass@host:993/INBOX`` (or ``imap://``, port 143) → settings."""
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname:
        raise ValueError("IMAP_URL must look like imaps://user:password@host:993/INBOX")
    ssl = parts.scheme == "imaps"
    return ImapSettings(
        host=parts.hostname,
        port=parts.port or (993 if ssl else 143),
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        mailbox=unquote(parts.path.lstrip("/")) or "INBOX",
        ssl=ssl,
    )


@dataclass
class PollResult:
    ingested: list[int] = field(default_factory=list)  # Correspondence ids
    failed: list[str] = field(default_factory=list)  # IMAP UIDs left unseen
    refused: list[str] = field(default_factory=list)  # IMAP UIDs over the size cap, flagged seen


def _quote(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _raw_of(fetched: list[object]) -> bytes | None:
    for item in fetched:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


def _size_of(client: imaplib.IMAP4, uid: str) -> int | None:
    """The server's RFC822.SIZE, or None when it does not say (then the message is fetched)."""
    status, fetched = client.uid("FETCH", uid, "(RFC822.SIZE)")
    if status != "OK":
        return None
    for item in fetched:
        line = item[0] if isinstance(item, tuple) else item
        if isinstance(line, bytes) and (found := _SIZE.search(line)):
            return int(found.group(1))
    return None


def _headers_of(client: imaplib.IMAP4, uid: str) -> bytes:
    status, fetched = client.uid(
        "FETCH", uid, "(BODY.PEEK[HEADER.FIELDS (FROM SUBJECT MESSAGE-ID)])"
    )
    return (_raw_of(list(fetched)) if status == "OK" else None) or b""


def imap_poll(
    *,
    host: str,
    port: int,
    user: str,
    password: str,
    mailbox: str = "INBOX",
    ssl: bool = True,
    move_to: str = "",
    timeout: float = 60,
) -> PollResult:
    """Ingest every unseen message in ``mailbox``; mark each \\Seen only once it is stored."""
    client: imaplib.IMAP4 = (
        imaplib.IMAP4_SSL(host, port, timeout=timeout)
        if ssl
        else imaplib.IMAP4(host, port, timeout=timeout)
    )
    result = PollResult()
    try:
        client.login(user, password)
        client.select(_quote(mailbox))
        status, data = client.uid("SEARCH", "UNSEEN")
        if status != "OK":
            raise imaplib.IMAP4.error(f"SEARCH failed: {data!r}")
        uids = data[0].split() if data and data[0] else []
        for uid_bytes in uids:
            uid = uid_bytes.decode("ascii")
            if not re.fullmatch(r"\d+", uid):
                continue
            size = _size_of(client, uid)
            limit = settings.INBOUND_MESSAGE_MAX_BYTES
            if size is not None and size > limit:
                # The SMTP receiver's cap, before the bytes cross the wire: a huge
                # message is put on record from a few header lines, then flagged so
                # the next poll does not fetch and refuse it again forever.
                try:
                    mail_record_refused(
                        headers=_headers_of(client, uid),
                        size=size,
                        limit=limit,
                        received_via=f"imap:{mailbox}"[:200],
                    )
                except Exception:
                    logger.exception("Oversize IMAP message %s could not be recorded.", uid)
                    result.failed.append(uid)
                    continue
                result.refused.append(uid)
                client.uid("STORE", uid, "+FLAGS", "(\\Seen)")
                if move_to:
                    _move(client, uid, move_to)
                continue
            status, fetched = client.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = _raw_of(list(fetched)) if status == "OK" else None
            if raw is None:
                result.failed.append(uid)
                continue
            try:
                row = mail_ingest(raw, received_via=f"imap:{mailbox}"[:200])
            except Exception:
                logger.exception("IMAP message %s could not be stored; left unseen.", uid)
                result.failed.append(uid)
                continue
            result.ingested.append(row.pk)
            client.uid("STORE", uid, "+FLAGS", "(\\Seen)")
            if move_to:
                _move(client, uid, move_to)
        if move_to:
            client.expunge()
    finally:
        # A connection already gone has nothing left to clean up.
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            client.logout()
    return result


def _move(client: imaplib.IMAP4, uid: str, target: str) -> None:
    status, _ = client.uid("COPY", uid, _quote(target))
    if status == "OK":
        client.uid("STORE", uid, "+FLAGS", "(\\Deleted)")
