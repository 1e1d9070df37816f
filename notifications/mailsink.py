"""A local SMTP sink for the embedded default: every message lands in a Maildir.

The demo's "mail outbox" reads that Maildir, so a newcomer can open the email an
operator would get. Never used in production (EMAIL_URL points at a real relay).
"""

from __future__ import annotations

import mailbox
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class MaildirHandler:
    def __init__(self, directory: Path) -> None:
        # Maildir(create=True) makes tmp/new/cur only when the folder itself is new;
        # the folder may already exist (empty), so make the three explicitly.
        for sub in ("tmp", "new", "cur"):
            (directory / sub).mkdir(parents=True, exist_ok=True)
        self.maildir = mailbox.Maildir(directory, create=False)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # original_content is the exact bytes received; keep them unchanged.
        raw = envelope.original_content or envelope.content
        self.maildir.add(mailbox.MaildirMessage(raw))
        return "250 Message accepted for delivery"


def start_mailsink(*, directory: Path, host: str = "127.0.0.1", port: int = 8025) -> Controller:
    controller = Controller(MaildirHandler(directory), hostname=host, port=port)
    controller.start()
    return controller
