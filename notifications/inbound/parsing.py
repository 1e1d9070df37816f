"""Reading a received message: headers, text, HTML, attachments and auto-reply flags.

``parse_message`` never raises. The stdlib parser (``policy.default``) already
records most malformations as defects instead of failing; whatever still goes
wrong (an unknown charset, a header the policy cannot fold, a broken part)
is caught where it happens and written down as a defect, so ingest always gets
a result and the raw bytes (stored before this runs) stay the record.
"""

from __future__ import annotations

import hashlib
import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from types import ModuleType

from notifications.inbound.replies import reply_split

MESSAGE_ID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class ParsedMessage:
    from_address: str = ""  # the addr-spec, lower-cased
    from_header: str = ""
    to_addresses: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)  # To, Cc, Delivered-To, X-Original-To
    subject: str = ""
    message_id: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    text: str = ""
    html: str = ""
    reply_text: str = ""
    signature: str = ""
    attachments: list[ParsedAttachment] = field(default_factory=list)
    auto_reply_reasons: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)


# --- headers ---------------------------------------------------------------------------


def _header(message: Message, name: str, parsed: ParsedMessage) -> str:
    try:
        value = message.get(name)
        return "" if value is None else str(value).strip()
    except Exception as error:  # a header the policy cannot parse: keep going
        parsed.defects.append(f"header {name}: {type(error).__name__}: {error}")
        raw = message.get_all(name, failobj=[])
        return str(raw[0]) if raw else ""


def _all_headers(message: Message, name: str, parsed: ParsedMessage) -> list[str]:
    try:
        return [str(value) for value in message.get_all(name, failobj=[])]
    except Exception as error:
        parsed.defects.append(f"header {name}: {type(error).__name__}: {error}")
        return []


def _addresses(values: list[str]) -> list[str]:
    return [address.lower() for _, address in getaddresses(values) if "@" in address]


def auto_reply_reasons(message: Message, parsed: ParsedMessage) -> list[str]:
    """Why this looks like an automatic message (RFC 3834 and common practice); [] if not."""
    reasons = []
    auto_submitted = _header(message, "Auto-Submitted", parsed).lower()
    if auto_submitted and auto_submitted != "no":
        reasons.append(f"Auto-Submitted: {auto_submitted}")
    if message.get("X-Auto-Response-Suppress") is not None:
        reasons.append("X-Auto-Response-Suppress")
    if any(value.strip() == "<>" for value in _all_headers(message, "Return-Path", parsed)):
        reasons.append("Return-Path: <>")
    if message.get("List-Id") is not None:
        reasons.append("List-Id")
    precedence = _header(message, "Precedence", parsed).lower()
    if precedence in ("bulk", "auto_reply", "junk", "list"):
        reasons.append(f"Precedence: {precedence}")
    for name in ("X-Autoreply", "X-Autorespond"):
        if message.get(name) is not None:
            reasons.append(name)
    if message.get_content_type() == "multipart/report":
        reasons.append("delivery report (multipart/report)")
    return reasons


# --- bodies ----------------------------------------------------------------------------


def _part_text(part: Message, parsed: ParsedMessage) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, bytes):
            return content.decode("utf-8", errors="replace")
        return str(content)
    except Exception as error:  # unknown charset, broken encoding
        parsed.defects.append(f"part {part.get_content_type()}: {type(error).__name__}: {error}")
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            return payload.decode("utf-8", errors="replace")
        return str(part.get_payload())


class _HTMLText(HTMLParser):
    """HTML to plain text: block elements become line breaks, blockquotes become "> " quotes
    (so the reply stripper treats them like quoted plain text), scripts and styles vanish."""

    BLOCKS = frozenset(
        ("p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol",
         "pre", "hr", "section", "article", "header", "footer")
    )  # fmt: skip
    HIDDEN = frozenset(("script", "style", "head", "title"))

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current = ""
        self.depth = 0
        self.hidden = 0

    def _break(self) -> None:
        prefix = "> " * self.depth
        self.lines.append(prefix + self.current.strip() if self.current.strip() else prefix.strip())
        self.current = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag == "blockquote":
            self._break()
            self.depth += 1
        elif tag in self.BLOCKS:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag == "blockquote":
            self._break()
            self.depth = max(0, self.depth - 1)
        elif tag in self.BLOCKS:
            self._break()

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.current += re.sub(r"\s+", " ", data)

    def text(self) -> str:
        self._break()
        lines: list[str] = []
        for line in self.lines:
            if line or (lines and lines[-1]):
                lines.append(line)
        return "\n".join(lines).strip()


def html_to_text(source: str) -> str:
    converter = _HTMLText()
    converter.feed(source)
    converter.close()
    return converter.text()


def _nh3() -> ModuleType | None:
    try:
        return importlib.import_module("nh3")
    except ImportError:
        return None


# Displayed HTML keeps structure and links; no images (remote images are trackers),
# no styles, no forms, no scripts.
_SAFE_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "li", "ol", "p", "pre", "s", "small", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}  # fmt: skip


def sanitise_html(source: str) -> str | None:
    """HTML safe to show in a staff page, or None when nh3 is not installed (show it escaped)."""
    nh3 = _nh3()
    if nh3 is None:
        return None
    cleaned: str = nh3.clean(
        source,
        tags=_SAFE_TAGS,
        attributes={"a": {"href", "title"}, "td": {"colspan", "rowspan"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return cleaned


# --- attachments -----------------------------------------------------------------------


def _leaves(message: Message) -> Iterator[Message]:
    """Every leaf part; a forwarded message (message/*) is one leaf, not opened further."""
    if message.is_multipart() and message.get_content_maintype() == "multipart":
        payload = message.get_payload()
        if isinstance(payload, list):
            for part in payload:
                if isinstance(part, Message):
                    yield from _leaves(part)
        return
    yield message


def _attachment_bytes(part: Message) -> bytes:
    if part.get_content_maintype() == "message" or part.is_multipart():
        return part.as_bytes(policy=policy.default.clone(linesep="\r\n"))
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    return str(part.get_payload()).encode("utf-8", errors="replace")


_EXTENSIONS = {"text/plain": "txt", "text/html": "html", "message/rfc822": "eml"}


def _attachments(message: Message, bodies: list[Message], parsed: ParsedMessage) -> None:
    number = 0
    for part in _leaves(message):
        if any(part is body for body in bodies):
            continue
        number += 1
        content_type = part.get_content_type()
        try:
            filename = part.get_filename() or ""
        except Exception as error:
            parsed.defects.append(f"attachment filename: {type(error).__name__}: {error}")
            filename = ""
        if not filename:
            extension = _EXTENSIONS.get(content_type, "bin")
            filename = f"part-{number}.{extension}"
        try:
            content = _attachment_bytes(part)
        except Exception as error:
            parsed.defects.append(f"attachment {filename}: {type(error).__name__}: {error}")
            content = b""
        parsed.attachments.append(
            ParsedAttachment(filename=filename[:400], content_type=content_type, content=content)
        )


# --- the whole message -----------------------------------------------------------------


def _defects(message: Message) -> list[str]:
    found = []
    for part in message.walk():
        for defect in getattr(part, "defects", []):
            found.append(f"{part.get_content_type()}: {type(defect).__name__}: {defect}")
    return found


def _body_parts(
    message: EmailMessage, parsed: ParsedMessage
) -> tuple[Message | None, Message | None]:
    plain = html = None
    try:
        plain = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
    except Exception as error:
        parsed.defects.append(f"body: {type(error).__name__}: {error}")
    if plain is None and html is None:
        # No body the standard way (e.g. a bare "Content-Type: text"): the first inline text.
        for part in _leaves(message):
            if part.get_content_maintype() == "text" and not part.get_filename():
                return part, None
    return plain, html


def parse_message(raw: bytes) -> ParsedMessage:
    """Everything ingest needs from ``raw``; problems are recorded in ``defects``."""
    parsed = ParsedMessage()
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as error:  # the stdlib parser gave up entirely
        parsed.defects.append(f"message: {type(error).__name__}: {error}")
        parsed.text = raw.decode("utf-8", errors="replace")
        return parsed
    assert isinstance(message, EmailMessage)
    try:
        _read(message, parsed)
    except Exception as error:  # belt and braces: nothing a sender writes may stop ingest
        parsed.defects.append(f"message: {type(error).__name__}: {error}")
    parsed.defects = _defects(message) + parsed.defects
    return parsed


def _read(message: EmailMessage, parsed: ParsedMessage) -> None:
    parsed.from_header = _header(message, "From", parsed)
    parsed.from_address = parseaddr(parsed.from_header)[1].lower()
    parsed.to_addresses = _addresses(_all_headers(message, "To", parsed))
    parsed.recipients = _addresses(
        [
            value
            for name in ("To", "Cc", "Delivered-To", "X-Original-To")
            for value in _all_headers(message, name, parsed)
        ]
    )
    parsed.subject = _header(message, "Subject", parsed)
    parsed.message_id = _first_message_id(_header(message, "Message-ID", parsed))
    parsed.in_reply_to = _first_message_id(_header(message, "In-Reply-To", parsed))
    parsed.references = MESSAGE_ID.findall(_header(message, "References", parsed))
    parsed.auto_reply_reasons = auto_reply_reasons(message, parsed)

    plain, html = _body_parts(message, parsed)
    if html is not None:
        parsed.html = _part_text(html, parsed)
    if plain is not None and plain.get_content_subtype() != "html":
        parsed.text = _part_text(plain, parsed)
    elif parsed.html:
        parsed.text = html_to_text(parsed.html)
    elif plain is None and not message.is_multipart() and isinstance(message.get_payload(), str):
        # A multipart whose boundary is missing or wrong: its body is only text to the parser.
        parsed.text = str(message.get_payload())
        plain = message
    reply = reply_split(parsed.text)
    parsed.reply_text, parsed.signature = reply.text, reply.signature
    _attachments(message, [part for part in (plain, html) if part is not None], parsed)


def _first_message_id(value: str) -> str:
    found = MESSAGE_ID.search(value)
    return found.group(0) if found else value.strip()
