"""Email replies read back in: one ingest function, fed by an SMTP receiver and an IMAP poller.

- ``parsing``  — bytes → headers, text, HTML, attachments, flags; never raises.
- ``replies``  — the visible reply: quoted text and signature separated out.
- ``matching`` — reply address token, In-Reply-To/References, subject reference.
- ``ingest``   — ``mail_ingest``: store raw first, then parse, match, flag.
- ``receiver`` — the aiosmtpd handler; ``imap`` — the IMAP poller.
- ``outcomes`` — an officer turns a reply into outcomes; attaching unmatched mail.
"""
