"""The visible part of a reply: what the operator wrote, without the quoted request.

No maintained reply-parsing library is installed (``talon``, ``email_reply_parser``,
``mail-parser-reply``), so this is a small line-based stripper. It runs in
linear time (no regex backtracking over long lines), keeps answers interleaved
between quoted lines, and follows talon's meaning of "reply": quotes go, the
signature stays in the text but is reported separately so the page can
de-emphasise it.

Recognised quotation markers:
- ``>`` quoted lines, and the "On <date>, <someone> wrote:" header before them,
  also when a client wrapped it over up to four lines;
- Outlook's ``-----Original Message-----`` and its ``From: … Sent: … To: …``
  header block (bold ``*From:*`` too), with an optional ``____``/``----``
  rule above it: everything below is the quoted request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ON_HEADER_MAX_LINES = 4
_SIGNATURE_WINDOW = 12

# Quote headers in a few languages operators write in; each must end the (joined) line.
_WROTE_ENDINGS = (
    "wrote:",
    "a écrit :",
    "a écrit:",
    "schrieb:",
    "escribió:",
    "napisał:",
    "yazd\u0131:",
)
_ON_STARTS = ("on ", "le ", "am ", "el ", "w dniu ", "dnia ")
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(original message|ursprüngliche nachricht)\s*-{2,}\s*$", re.I
)
_HEADER_FIELD = re.compile(
    r"^\s*\*?(from|sent|date|to|cc|subject|von|gesendet|an|betreff|de|envoyé|à|objet)\s*:", re.I
)
_RULE = re.compile(r"^\s*(_{5,}|-{5,})\s*$")
_SIGNATURE_LINE = re.compile(
    r"^(-- ?|--|_{5,}|"
    r"sent from my(\s+[\w.-]+){1,4}\s*|"
    r"sent with \w+.*|"
    r"get outlook for \w+.*|"
    r"sent from (mail|outlook) for \w+.*|"
    r"-[a-z]\w*( \w+){0,3})$",
    re.I,
)


@dataclass(frozen=True)
class Reply:
    text: str  # quoted text removed; signature still in it
    signature: str  # the trailing signature block of ``text`` ("" when none)


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _on_header_length(lines: list[str], start: int) -> int:
    """How many lines the "On … wrote:" header starting at ``start`` spans (0: none)."""
    first = lines[start].lstrip().lower()
    if not first.startswith(_ON_STARTS):
        return 0
    joined = ""
    for offset in range(_ON_HEADER_MAX_LINES):
        index = start + offset
        if index >= len(lines) or not lines[index].strip():
            return 0
        joined = f"{joined} {lines[index].strip()}".lower()
        if joined.endswith(_WROTE_ENDINGS):
            return offset + 1
    return 0


def _outlook_block_starts(lines: list[str], start: int) -> bool:
    """A ``From:`` line followed by at least two more header fields: a forwarded/quoted mail."""
    if not _HEADER_FIELD.match(lines[start]) or not lines[start].lstrip(" *").lower().startswith(
        ("from", "von", "de")
    ):
        return False
    fields = 1
    for line in lines[start + 1 : start + 6]:
        if _HEADER_FIELD.match(line):
            fields += 1
        elif line.strip():
            break
    return fields >= 3


def _cut_index(lines: list[str]) -> int:
    """Where the quoted original begins in an Outlook-style (top-posted, unmarked) reply."""
    for index, line in enumerate(lines):
        if _ORIGINAL_MESSAGE.match(line) or _outlook_block_starts(lines, index):
            # A rule just above (blank lines between allowed) belongs to the quote.
            above = index - 1
            while above >= 0 and not lines[above].strip():
                above -= 1
            if above >= 0 and _RULE.match(lines[above]):
                return above
            return index
    return len(lines)


def _strip_quotes(lines: list[str]) -> list[str]:
    kept: list[str] = []
    index = 0
    while index < len(lines):
        header = _on_header_length(lines, index)
        if header:
            # Drop the header and the quoted block under it (blank lines inside too).
            index += header
            while index < len(lines) and (_is_quoted(lines[index]) or not lines[index].strip()):
                index += 1
            continue
        if _is_quoted(lines[index]):
            index += 1
            continue
        kept.append(lines[index])
        index += 1
    return kept


def _trim(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and (not lines[end - 1].strip() or _RULE.match(lines[end - 1])):
        end -= 1
    return lines[start:end]


def _collapse_blank_runs(lines: list[str]) -> list[str]:
    """Removing quotes leaves gaps; one blank line between paragraphs is enough."""
    kept: list[str] = []
    for line in lines:
        if not line.strip() and kept and not kept[-1].strip():
            continue
        kept.append(line)
    return kept


def _signature_start(lines: list[str]) -> int | None:
    """The first signature marker among the last lines, if a blank line (or the top) precedes it."""
    for index in range(max(0, len(lines) - _SIGNATURE_WINDOW), len(lines)):
        line = lines[index].rstrip("\r")
        if index == 0:
            continue  # the whole reply is never a signature
        candidate = line if line.startswith("--") else line.strip()
        if _SIGNATURE_LINE.match(candidate) and (
            line.startswith(("--", "__")) or not lines[index - 1].strip()
        ):
            return index
    return None


def reply_split(text: str) -> Reply:
    """Split ``text`` (a plain-text body) into the operator's reply and its signature."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = lines[: _cut_index(lines)]
    lines = _collapse_blank_runs(_trim(_strip_quotes(lines)))
    reply = "\n".join(lines).strip()
    signature_at = _signature_start(lines)
    signature = "\n".join(lines[signature_at:]).strip() if signature_at is not None else ""
    return Reply(text=reply, signature=signature if reply.endswith(signature) else "")
