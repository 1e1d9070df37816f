"""Every public reply and MIME fixture through ``mail_ingest``: stored byte for byte, read, listed.

Corpora (../shared/corpora, see its README): github/email_reply_parser bodies,
mailgun/talon complete replies, CPython's email test messages.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from cases.models import Correspondence
from notifications.inbound.ingest import mail_ingest
from notifications.models import InboundAttachment, InboundMail

pytestmark = pytest.mark.django_db

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
REPLY_BODIES = sorted((CORPORA / "email-replies").glob("*.txt"))
TALON = sorted((CORPORA / "email-replies" / "talon").glob("*.eml"))
MIME = sorted((CORPORA / "mime").glob("*.txt"))
STRESS = ("email_long_quote.txt", "pathological.txt")

if not (REPLY_BODIES and TALON and MIME):  # pragma: no cover - the checkout is incomplete
    pytest.skip(f"The shared corpora are missing at {CORPORA}.", allow_module_level=True)


def wrapped(body: bytes, name: str) -> bytes:
    """A minimal RFC 5322 message around a bare reply body (the body bytes unchanged)."""
    headers = (
        "From: Operator <abuse@pastebay.example.net>\r\n"
        "To: referrals@iru.example\r\n"
        f"Subject: Re: {name}\r\n"
        f"Message-ID: <{name}@corpus.example>\r\n"
        "Date: Mon, 05 Jan 2026 09:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
    )
    return headers.encode("ascii") + body


def ingest_timed(raw: bytes, label: str) -> Correspondence:
    started = time.perf_counter()
    row = mail_ingest(raw, received_via="test")
    print(f"{label}: {len(raw):,} bytes ingested in {time.perf_counter() - started:.3f} s")
    return row


def assert_stored_unchanged(row: Correspondence, raw: bytes) -> None:
    row.refresh_from_db()
    assert bytes(row.raw) == raw
    assert row.raw_sha256 == hashlib.sha256(raw).hexdigest()


def no_quoted_lines(text: str) -> bool:
    return not any(line.lstrip().startswith(">") for line in text.splitlines())


@pytest.mark.parametrize("path", REPLY_BODIES, ids=lambda p: p.name)
def test_it_ingests_every_reply_body(path: Path):
    raw = wrapped(path.read_bytes(), path.stem)
    row = ingest_timed(raw, path.name)
    assert_stored_unchanged(row, raw)
    mail = InboundMail.objects.get(correspondence=row)
    assert row.body_text.strip()
    assert mail.reply_text.strip()
    assert no_quoted_lines(mail.reply_text)
    assert len(mail.reply_text) <= len(row.body_text)


@pytest.mark.parametrize("path", TALON, ids=lambda p: p.name)
def test_it_ingests_every_talon_reply(path: Path):
    raw = path.read_bytes()
    row = ingest_timed(raw, path.name)
    assert_stored_unchanged(row, raw)
    mail = InboundMail.objects.get(correspondence=row)
    assert mail.reply_text.strip()
    assert no_quoted_lines(mail.reply_text)


@pytest.mark.parametrize("name", ["iphone", "sparrow"])
def test_it_extracts_the_reply_talon_expects(name: str):
    raw = (CORPORA / "email-replies" / "talon" / f"{name}.eml").read_bytes()
    expected = (CORPORA / "email-replies" / "talon" / f"{name}_reply_text").read_text()
    row = mail_ingest(raw, received_via="test")
    mail = InboundMail.objects.get(correspondence=row)
    assert mail.reply_text.strip() == expected.strip()


def test_it_separates_the_signature_from_the_reply():
    raw = (CORPORA / "email-replies" / "talon" / "sparrow.eml").read_bytes()
    mail = InboundMail.objects.get(correspondence=mail_ingest(raw, received_via="test"))
    assert mail.reply_body.strip() == "Hello"
    assert mail.signature.startswith("-- \nxxx")


@pytest.mark.parametrize("path", MIME, ids=lambda p: p.name)
def test_it_ingests_every_mime_message(path: Path):
    raw = path.read_bytes()
    row = ingest_timed(raw, path.name)
    assert_stored_unchanged(row, raw)
    assert InboundMail.objects.filter(correspondence=row).exists()


# Empty bodies on purpose: msg_12 (every part empty), msg_18 (headers only).
EMPTY_BODIES = {"msg_12.txt", "msg_18.txt"}


@pytest.mark.parametrize(
    "path", [p for p in MIME if p.name not in EMPTY_BODIES], ids=lambda p: p.name
)
def test_it_extracts_text_from_every_mime_message_with_a_body(path: Path):
    row = mail_ingest(path.read_bytes(), received_via="test")
    assert row.body_text.strip()


@pytest.mark.parametrize(
    ("name", "attachments"),
    [
        ("msg_07.txt", [("dingusfish.gif", "image/gif")]),
        ("msg_26.txt", [("clock.bmp", "application/riscos")]),
        ("msg_45.txt", [("signature.asc", "application/pgp-signature")]),
        (
            "msg_16.txt",
            [("part-1.bin", "message/delivery-status"), ("part-2.eml", "message/rfc822")],
        ),
    ],
)
def test_it_lists_attachments_with_size_and_hash(name: str, attachments: list[tuple[str, str]]):
    row = mail_ingest((CORPORA / "mime" / name).read_bytes(), received_via="test")
    stored = list(InboundAttachment.objects.filter(correspondence=row).order_by("id"))
    assert [(a.filename, a.content_type) for a in stored] == attachments
    for attachment in stored:
        assert attachment.content is not None
        assert attachment.size == len(attachment.content)
        assert attachment.sha256 == hashlib.sha256(attachment.content).hexdigest()


def test_it_lists_every_message_of_a_digest():
    row = mail_ingest((CORPORA / "mime" / "msg_02.txt").read_bytes(), received_via="test")
    types = list(
        InboundAttachment.objects.filter(correspondence=row).values_list("content_type", flat=True)
    )
    assert types.count("message/rfc822") == 5


@pytest.mark.parametrize(
    "name", ["msg_15.txt", "msg_31.txt", "msg_35.txt", "msg_41.txt", "msg_47.txt"]
)
def test_it_records_parser_defects_instead_of_failing(name: str):
    row = mail_ingest((CORPORA / "mime" / name).read_bytes(), received_via="test")
    assert InboundMail.objects.get(correspondence=row).parse_defects


def test_it_flags_a_delivery_report_as_automatic():
    row = mail_ingest((CORPORA / "mime" / "msg_16.txt").read_bytes(), received_via="test")
    assert InboundMail.objects.get(correspondence=row).is_auto_reply


@pytest.mark.parametrize("name", STRESS)
def test_it_ingests_the_stress_cases(name: str):
    body = (CORPORA / "email-replies" / name).read_bytes()
    raw = wrapped(body, name)
    started = time.perf_counter()
    row = mail_ingest(raw, received_via="test")
    elapsed = time.perf_counter() - started
    print(f"stress {name}: {len(raw):,} bytes in {elapsed:.3f} s")
    assert_stored_unchanged(row, raw)
    assert InboundMail.objects.get(correspondence=row).reply_text.strip()
