"""The SMTP receiver: the unit's mail server relays the reply domain here.

The handler answers 250 only after ``mail_ingest`` has committed the raw
bytes, so a message the desk did not store is never acknowledged (the
relay keeps it and retries). Ingest runs in a worker thread: it talks to
the database synchronously and must not block the server's event loop.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from django.conf import settings
from django.db import close_old_connections

from notifications.inbound.ingest import mail_ingest

logger = logging.getLogger(__name__)


def _ingest_in_thread(raw: bytes, recipients: list[str]) -> int:
    close_old_connections()
    try:
        return mail_ingest(raw, received_via="smtp", envelope_recipients=recipients).pk
    finally:
        close_old_connections()


class IngestHandler:
    """aiosmtpd handler: every accepted message goes through ``mail_ingest``, bytes unchanged."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # original_content: the exact bytes received (content may be decoded/altered).
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        recipients = [str(address) for address in envelope.rcpt_tos]
        try:
            pk = await asyncio.to_thread(_ingest_in_thread, raw, recipients)
        except Exception:
            logger.exception("Could not store an inbound message; asking the sender to retry.")
            return "451 4.3.0 Could not store the message, try again later"
        return f"250 2.0.0 Stored as {pk}"


# aiosmtpd refuses any DATA line over 1001 bytes ("500 Line too long"), the RFC 5321
# limit. Real senders break it: Outlook/Exchange send HTML parts with lines of many
# kilobytes, and a refused reply is lost to the desk (issue 10, point 7d). The whole
# message stays capped by INBOUND_MESSAGE_MAX_BYTES, which bounds the memory anyway.
LINE_LENGTH_LIMIT = 1024 * 1024


class _LongLinesSMTP(SMTP):
    # A class attribute: SMTP.__init__ sizes its stream reader from it.
    line_length_limit = LINE_LENGTH_LIMIT


class _LongLinesController(Controller):
    def factory(self) -> SMTP:
        return _LongLinesSMTP(self.handler, **self.SMTP_kwargs)


def receiver_controller(*, host: str, port: int) -> Controller:
    return _LongLinesController(
        IngestHandler(),
        hostname=host,
        port=port,
        data_size_limit=settings.INBOUND_MESSAGE_MAX_BYTES,
        # Keep the bytes exactly as received: no UTF-8 decoding of the DATA.
        decode_data=False,
    )
