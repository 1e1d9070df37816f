"""Which naughty strings the escaping loops push through the forms.

The Big List of Naughty Strings (../shared/corpora/naughty-strings) has ~515 strings,
and a loop over all of them through a form and the page showing the result takes
minutes. The default run takes a fixed sample: every class of string that has broken
escaping somewhere (markup and script, SQL, right-to-left and zero-width characters,
control characters, the longest strings, emoji, format strings, ...) and an even
spread of the rest, chosen from the corpus itself, in corpus order, the same on every
run. CI runs the whole corpus as its own step (decision 0020):

    NAUGHTY_STRINGS=all ./desk test -m naughty

split over the machine's two cores with NAUGHTY_SHARD=1/2 and NAUGHTY_SHARD=2/2.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable, Sequence

SAMPLE_SIZE = 60


def full_corpus_wanted() -> bool:
    return os.environ.get("NAUGHTY_STRINGS", "sample").strip().lower() in {"all", "full"}


def _has(chars: str) -> Callable[[str], bool]:
    return lambda text: any(char in chars for char in text)


def _controls(text: str) -> bool:
    return any(unicodedata.category(char) == "Cc" and char != "\t" for char in text)


def _emoji(text: str) -> bool:
    return any(ord(char) >= 0x1F000 for char in text)


def _right_to_left(text: str) -> bool:
    return any(unicodedata.bidirectional(char) in {"R", "AL"} for char in text)


def _combining(text: str) -> bool:
    return sum(unicodedata.category(char) == "Mn" for char in text) >= 3


def _astral_letters(text: str) -> bool:  # mathematical bold/italic and other non-BMP letters
    return any(ord(char) > 0xFFFF and unicodedata.category(char).startswith("L") for char in text)


def _sql(text: str) -> bool:
    upper = text.upper()
    return any(word in upper for word in ("SELECT", "DROP ", " OR ", "--", "1=1", "WAITFOR"))


# Each class with how many of its strings the sample takes (evenly spread over the class).
CLASSES: dict[str, tuple[Callable[[str], bool], int]] = {
    "script and markup": (lambda text: "<" in text and ">" in text, 10),
    "javascript: and event handlers": (
        lambda text: "javascript:" in text.lower() or "onerror" in text.lower(),
        3,
    ),
    "sql": (_sql, 4),
    "right-to-left": (_right_to_left, 3),
    "bidi overrides and isolates": (
        _has("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"),
        3,
    ),
    "zero-width and byte-order marks": (_has("\u200b\u200c\u200d\u2060\ufeff\ufffe"), 3),
    "control characters": (_controls, 4),
    "emoji": (_emoji, 4),
    "combining marks": (_combining, 2),
    "non-BMP letters": (_astral_letters, 2),
    "format strings and templates": (_has("%{$`"), 3),
    "quotes and backslashes": (_has("'\"\\"), 3),
    "path traversal": (lambda text: "../" in text or "..\\" in text, 2),
    "two-byte and CJK": (lambda text: any(0x3000 <= ord(char) <= 0x9FFF for char in text), 2),
}
LONGEST = 3  # the longest strings of the corpus, whatever their class
# Named by tests that look for its escaped form on the page.
ALWAYS = ("<script>alert(0)</script>",)


def spread(indexes: Sequence[int], count: int) -> list[int]:
    """`count` of `indexes`, first and last included, evenly spaced."""
    if count >= len(indexes):
        return list(indexes)
    if count == 1:
        return [indexes[0]]
    step = (len(indexes) - 1) / (count - 1)
    return [indexes[round(n * step)] for n in range(count)]


def sample_indexes(strings: Sequence[str]) -> list[int]:
    chosen = {n for n, text in enumerate(strings) if text in ALWAYS}
    for matches, count in CLASSES.values():
        chosen.update(spread([n for n, text in enumerate(strings) if matches(text)], count))
    by_length = sorted(range(len(strings)), key=lambda n: (-len(strings[n]), n))
    chosen.update(by_length[:LONGEST])
    rest = [n for n in range(len(strings)) if n not in chosen]
    chosen.update(spread(rest, max(SAMPLE_SIZE - len(chosen), 0)))
    return sorted(chosen)


def shard() -> tuple[int, int]:
    """NAUGHTY_SHARD=i/n: this process takes every n-th string from the i-th (CI runs two)."""
    raw = os.environ.get("NAUGHTY_SHARD", "").strip()
    if not raw:
        return 1, 1
    index, _, count = raw.partition("/")
    number, total = int(index), int(count)
    if not 1 <= number <= total:
        raise ValueError(f"NAUGHTY_SHARD={raw!r}: want i/n with 1 <= i <= n")
    return number, total


def chosen_strings(strings: list[str]) -> list[str]:
    """The strings a naughty loop goes through: a fixed sample, or all with NAUGHTY_STRINGS=all.

    With NAUGHTY_SHARD=i/n, only this process's share of them: n processes with
    i = 1..n together go through each string once.
    """
    if not full_corpus_wanted():
        strings = [strings[n] for n in sample_indexes(strings)]
    number, total = shard()
    # Every share keeps the strings tests look for by name.
    return [text for n, text in enumerate(strings) if n % total == number - 1 or text in ALWAYS]
