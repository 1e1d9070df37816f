"""Intake in bulk: a paste box or a CSV file of up to 5,000 URLs, answered line by line.

``items_refer_bulk`` is the bulk twin of ``items.item_refer``: the same rules (one item per
normalised URL, every referral recorded, every change audited) at a fixed number of queries
however many lines arrive, so a paste of 5,000 URLs answers in seconds:

- every line is normalised in Python first; refused lines never reach the database;
- platforms for every host come from one query, existing items from one query;
- new items go in with one ``INSERT … ON CONFLICT DO NOTHING RETURNING`` (the unique key on
  ``url_normalised`` decides races with a concurrent intake: a URL somebody else inserted a
  moment earlier comes back as "already known", never as a second item);
- referrals and audit events go in the same way, one statement each.

Also here: ``case_create`` (officers open a case while logging its URLs) and
``items_match_unknown_platforms`` (items referred before their platform existed).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import pairwise
from typing import Any

from django.db import connection, models, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from cases.models import (
    Actor,
    Case,
    Item,
    ItemCategory,
    ItemReferral,
    ItemStatus,
    LegalBasis,
)
from cases.services.urgent import items_alert_threat_to_life
from core.access import require_permission
from core.audit import audit_record
from core.errors import DomainError
from core.models import AuditEvent
from platforms.canonical import canonical_url
from platforms.models import Platform
from platforms.selectors import platforms_for_hosts
from platforms.urlnorm import (
    BULLET_RE,
    NormalisedUrl,
    UrlRefused,
    extract_urls,
    normalise_url,
    parse_bare,
)

# One intake: the "paste 5,000 at once". Above that the officer splits the list.
MAX_URLS = 5_000
# Lines that are not blank, URL or not: bounds the work (and the stored summary) for a paste
# that is mostly prose.
MAX_LINES = 10_000
# Text of a line kept in the per-line result: enough to recognise it, not a whole essay.
MAX_RESULT_TEXT = 500

NO_URL_ON_LINE = "No URL found on this line."

_HOST_MAX_LENGTH = Item._meta.get_field("host").max_length or 253


class IntakeRefused(DomainError):
    """The whole intake is refused (too many URLs, an unreadable file): nothing was stored."""


class LineStatus(StrEnum):
    """What became of one URL. Whether its platform is known is a separate fact
    (``LineResult.platform_unknown``): a URL on an unknown platform is still created or known."""

    CREATED = "created"
    KNOWN = "known"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class IntakeLine:
    """One line of input. Empty attributes mean "the intake's default"."""

    number: int
    text: str
    # Paste box: find the URLs in prose. CSV cell or single-URL form: the text *is* the URL.
    extract: bool = True
    category: str = ""
    legal_basis: str = ""
    assessment_note: str | None = None
    threat_to_life: bool | None = None
    # Already refused while reading the input (a malformed CSV row): reported as is.
    refusal: str = ""


@dataclass(slots=True)
class LineResult:
    line: int
    text: str
    status: LineStatus
    item: Item | None = None
    reason: str = ""
    # The line earlier in the same intake that had the same URL (one item, one referral).
    same_as_line: int | None = None
    # Set when the item has no platform: the domain to offer "create platform for …?".
    registrable_domain: str = ""

    @property
    def first_referred_by(self) -> Any:
        """Who referred the item first (the item's creator), for "already known" lines."""
        return self.item.created_by if self.item is not None else None

    @property
    def platform_unknown(self) -> bool:
        return self.item is not None and self.item.platform_id is None


@dataclass
class IntakeResult:
    lines: list[LineResult] = field(default_factory=list)

    def count(self, status: LineStatus) -> int:
        return sum(1 for line in self.lines if line.status == status)

    @property
    def created(self) -> int:
        return self.count(LineStatus.CREATED)

    @property
    def known(self) -> int:
        return self.count(LineStatus.KNOWN)

    @property
    def refused(self) -> int:
        return self.count(LineStatus.REFUSED)

    @property
    def unknown_domains(self) -> list[str]:
        return sorted({r.registrable_domain for r in self.lines if r.platform_unknown})


# --------------------------------------------------------------------------------------------
# Reading a paste (a CSV file is read by its form: cases/forms/items.py)
# --------------------------------------------------------------------------------------------


def paste_lines(text: str) -> list[IntakeLine]:
    """The non-blank lines of a paste, numbered as the officer sees them in the box."""
    numbered = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [IntakeLine(number=n, text=line) for n, line in enumerate(numbered, 1) if line.strip()]


# --------------------------------------------------------------------------------------------
# Referring in bulk
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Url:
    """A URL found on a line and normalised, on its way to becoming a result."""

    source: IntakeLine
    text: str
    parsed: NormalisedUrl

    @property
    def key(self) -> str:
        return self.parsed.normalised


def _truncate(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_RESULT_TEXT else text[: MAX_RESULT_TEXT - 1] + "…"


def _refused(line: IntakeLine, text: str, reason: str) -> LineResult:
    return LineResult(
        line=line.number, text=_truncate(text), status=LineStatus.REFUSED, reason=reason
    )


def _line_attribute_refusal(line: IntakeLine) -> str:
    if line.category and line.category not in ItemCategory.values:
        return f"Unknown category {line.category!r}."
    if line.legal_basis and line.legal_basis not in LegalBasis.values:
        return f"Unknown legal basis {line.legal_basis!r}."
    if line.assessment_note and "\x00" in line.assessment_note:
        return "The assessment note contains a NUL character."
    return ""


_HOST_FRAGMENT_RE = re.compile(r"[a-z0-9][a-z0-9.\-]*")
_CONTINUATION_RE = re.compile(r"[./?#&=][A-Za-z0-9]")


def _no_public_suffix(text: str) -> bool:
    """A schemed URL whose host is not a real public host ("https://exa")."""
    try:
        host = normalise_url(text).host
    except UrlRefused:
        return False
    return "." not in host.strip("[]") or (parse_bare(host) is None and not host[:1].isdigit())


def space_in_url(text: str) -> str:
    """The two pieces of a URL broken by a space ("exa mple.com"), or "".

    The paste box takes several URLs per line and URLs in prose, so a space normally
    separates things; these shapes are taken as one broken URL instead (refusing the line
    beats turning one address into two wrong items): a schemed URL whose host has no public
    suffix followed by more text ("https://exa mple.com/x"); a URL followed by a piece that
    can only continue it ("https://example.org /x", "https://example .com"); and a line of
    exactly two pieces, a host fragment and the rest, that join into an address
    ("exa mple.com"). A space inside a path ("/my file.pdf") after a complete URL is not
    detectable apart from prose and is not caught.
    """
    tokens = BULLET_RE.sub("", text, count=1).split()
    for first, second in pairwise(tokens):
        if "://" in second:
            continue
        if _CONTINUATION_RE.match(second) and "://" in first:
            return f"{first} {second}"
        if "://" in first and _no_public_suffix(first):
            return f"{first} {second}"
    if (
        len(tokens) == 2
        and "://" not in tokens[1]
        and _HOST_FRAGMENT_RE.fullmatch(tokens[0])
        and parse_bare(tokens[0] + tokens[1]) is not None
    ):
        return f"{tokens[0]} {tokens[1]}"
    return ""


def _candidates(line: IntakeLine) -> list[str] | str:
    """The URL texts on a line, or the reason there are none."""
    if broken := space_in_url(line.text):
        return (
            f"This line looks like one URL with a space in it ({broken!r}); a URL cannot "
            "contain spaces. Remove the space, or put each URL on its own line."
        )
    if line.extract:
        return extract_urls(line.text) or NO_URL_ON_LINE
    text = line.text.strip()
    if not text:
        return "No URL given."
    # A cell may still wrap its URL ("<https://…>", trailing full stop): unwrap one URL, but
    # hand anything else to normalise_url unchanged so that its refusal says what is wrong.
    found = extract_urls(text)
    if len(found) > 1:
        return "Several URLs in one field; give one URL per row."
    return [found[0] if found else text]


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _normalise(text: str) -> NormalisedUrl | str:
    if "\x00" in text:
        return "Not a URL: it contains a NUL character."
    if _has_lone_surrogate(text):  # only JSON can carry one (the API): no URL holds it
        return "Not a URL: it is not valid Unicode text."
    try:
        parsed = canonical_url(text)
    except UrlRefused as exc:
        return exc.message
    if len(parsed.host) > _HOST_MAX_LENGTH:
        return f"The host name is too long (the limit is {_HOST_MAX_LENGTH} characters)."
    return parsed


def _read(lines: Sequence[IntakeLine], *, max_urls: int = MAX_URLS) -> list[LineResult | _Url]:
    """Every line's URLs, normalised, or the reason it has none; in order, in Python only."""
    found: list[LineResult | tuple[IntakeLine, str]] = []
    for line in lines:
        candidates = line.refusal or _line_attribute_refusal(line) or _candidates(line)
        if isinstance(candidates, str):
            found.append(_refused(line, line.text, candidates))
        else:
            found.extend((line, text) for text in candidates)
    url_count = sum(1 for entry in found if isinstance(entry, tuple))
    if url_count > max_urls:
        raise IntakeRefused(
            f"That is {url_count:,} URLs; the limit is {max_urls:,} at a time. "
            "Split the list and paste it in parts."
        )
    read: list[LineResult | _Url] = []
    for entry in found:
        if isinstance(entry, LineResult):
            read.append(entry)
            continue
        line, text = entry
        parsed = _normalise(text)
        if isinstance(parsed, str):
            read.append(_refused(line, text, parsed))
        else:
            read.append(_Url(source=line, text=text, parsed=parsed))
    return read


def items_refer_bulk(
    *,
    lines: Sequence[IntakeLine],
    referred_by: Any,
    case: Case | None = None,
    actor: Actor | None = None,
    category: str = "",
    legal_basis: str = "",
    assessment_note: str = "",
    threat_to_life: bool = False,
    capture_evidence: bool = False,
    max_urls: int = MAX_URLS,
) -> IntakeResult:
    """Refer every URL on ``lines``; one result per URL (or per line without one), in order.

    A URL already known (before this intake, or earlier in it) is never created twice: the
    officer's referral is added to the existing item, once per intake. Raises
    ``IntakeRefused`` (nothing stored) above ``max_urls`` URLs (a paste: MAX_URLS; the API
    takes API_BULK_MAX_URLS in one call) or ``MAX_LINES`` lines. ``capture_evidence``: the
    new items wait for an evidence capture (the intake form and the API default to it).
    """
    require_permission(referred_by, "cases.add_item", "refer items")
    if category and category not in ItemCategory.values:
        raise DomainError(f"Unknown category {category!r}.")
    if legal_basis and legal_basis not in LegalBasis.values:
        raise DomainError(f"Unknown legal basis {legal_basis!r}.")
    if "\x00" in assessment_note:
        raise DomainError("The assessment note contains a NUL character.")
    if len(lines) > MAX_LINES:
        raise IntakeRefused(
            f"That is {len(lines):,} lines; the limit is {MAX_LINES:,} at a time. "
            "Split the list and paste it in parts."
        )
    read = _read(lines, max_urls=max_urls)
    urls = [entry for entry in read if isinstance(entry, _Url)]
    if not urls:
        return IntakeResult(lines=[entry for entry in read if isinstance(entry, LineResult)])

    # Items referred before their platform existed get it now, so that "already known"
    # lines show their platform (only this intake's hosts: the rest wait for their own).
    items_match_unknown_platforms(hosts={url.parsed.host for url in urls})
    referred = iter(
        _refer_urls(
            urls,
            referred_by=referred_by,
            case=case,
            actor=actor or (case.actor if case else None),
            capture_evidence=capture_evidence,
            defaults={
                "category": category or ItemCategory.PROPAGANDA,
                "legal_basis": legal_basis or LegalBasis.TERMS_OF_SERVICE,
                "assessment_note": assessment_note,
                "threat_to_life": threat_to_life,
            },
        )
    )
    result = IntakeResult(
        lines=[next(referred) if isinstance(entry, _Url) else entry for entry in read]
    )
    # Supervisors hear of a threat to life at once, not at the weekly compose (issue 10, 13).
    items_alert_threat_to_life(
        items=[
            line.item
            for line in result.lines
            if line.status == LineStatus.CREATED and line.item is not None
        ],
        referred_by=referred_by,
    )
    return result


def _items_by_key(keys: Sequence[str]) -> dict[str, Item]:
    found = Item.objects.filter(url_normalised__in=keys).select_related("platform", "created_by")
    return {item.url_normalised: item for item in found}


def _refer_urls(
    urls: list[_Url],
    *,
    referred_by: Any,
    case: Case | None,
    actor: Actor | None,
    capture_evidence: bool,
    defaults: dict[str, Any],
) -> list[LineResult]:
    """One result per URL, in order. The first line with a URL refers it; later lines with the
    same URL point back to that line (one item, one referral per intake)."""
    first: dict[str, _Url] = {}
    for url in urls:
        first.setdefault(url.key, url)
    now = timezone.now()
    with transaction.atomic():
        items = _items_by_key(list(first))
        new = [url for key, url in first.items() if key not in items]
        created = _insert_items(
            new,
            referred_by=referred_by,
            case=case,
            actor=actor,
            capture_evidence=capture_evidence,
            defaults=defaults,
            now=now,
        )
        items.update(created)
        if len(created) < len(new):
            # A concurrent intake inserted these first: they are "already known".
            items.update(_items_by_key([url.key for url in new if url.key not in created]))
        referred = [(items[key], url) for key, url in first.items()]
        _insert_rows(
            ItemReferral,
            per_row={
                "item": [item.pk for item, _ in referred],
                "url_submitted": [url.text for _, url in referred],
            },
            same_for_all={
                "referred_by": referred_by.pk,
                "case": case.pk if case else None,
                "created_at": now,
            },
        )
        _insert_rows(
            AuditEvent,
            per_row={
                "action": [
                    "item.referred" if url.key in created else "item.referred_again"
                    for _, url in referred
                ],
                "target_id": [str(item.pk) for item, _ in referred],
                "new": [
                    {"url": url.text, "case": case.pk if case else None} for _, url in referred
                ],
            },
            same_for_all={
                "actor": referred_by.pk,
                "actor_label": "",
                "target_type": Item._meta.label_lower,
                "old": None,
                "extra": {},
                "created_at": now,
            },
        )

    results = []
    for url in urls:
        item = items[url.key]
        earlier = first[url.key]
        results.append(
            LineResult(
                line=url.source.number,
                text=_truncate(url.text),
                status=(
                    LineStatus.CREATED
                    if earlier is url and url.key in created
                    else LineStatus.KNOWN
                ),
                item=item,
                same_as_line=earlier.source.number if earlier is not url else None,
                registrable_domain=url.parsed.registrable_domain if not item.platform_id else "",
            )
        )
    return results


def _insert_rows(
    model: type[models.Model],
    *,
    per_row: dict[str, list[Any]],
    same_for_all: dict[str, Any],
    unless_conflict_on: str = "",
    returning: tuple[str, ...] = (),
) -> list[tuple[Any, ...]]:
    """``INSERT … SELECT … FROM unnest(arrays)``: thousands of rows in one statement.

    ``bulk_create`` would build a model instance and quote a parameter per value (seconds
    for a 5,000-URL paste); here each column is one array parameter. Values still go through
    their field's ``get_db_prep_save`` and are cast to the column's type. With
    ``unless_conflict_on``, rows that would break that unique column are skipped, and
    ``returning`` gives back the rows actually inserted.
    """
    quote = connection.ops.quote_name
    fields = {}
    for name in [*per_row, *same_for_all, *returning]:
        field = model._meta.get_field(name)
        assert isinstance(field, models.Field)
        fields[name] = field

    def prepared(name: str, value: Any) -> Any:
        return None if value is None else fields[name].get_db_prep_save(value, connection)

    def db_type(name: str) -> str:
        return str(fields[name].db_type(connection))

    aliases = [f"c{i}" for i in range(len(per_row))]
    # Only names from the model and placeholders go into the text; every value is a
    # parameter, cast to its column's type (an untyped NULL in a SELECT list would be text).
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608
        f"({', '.join(quote(fields[name].column) for name in [*per_row, *same_for_all])}) "
        f"SELECT {', '.join(f'u.{alias}' for alias in aliases)}"
        f"{''.join(f', %s::{db_type(name)}' for name in same_for_all)} "
        f"FROM unnest({', '.join(f'%s::{db_type(name)}[]' for name in per_row)}) "
        f"AS u({', '.join(aliases)})"
    )
    if unless_conflict_on:
        sql += f" ON CONFLICT ({quote(fields[unless_conflict_on].column)}) DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(quote(fields[name].column) for name in returning)}"
    # The SELECT list (the constants) comes before the FROM (the arrays) in the statement.
    params = [
        *(prepared(name, value) for name, value in same_for_all.items()),
        *([prepared(name, value) for value in values] for name, values in per_row.items()),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if returning else []


def _insert_items(
    urls: list[_Url],
    *,
    referred_by: Any,
    case: Case | None,
    actor: Actor | None,
    capture_evidence: bool,
    defaults: dict[str, Any],
    now: Any,
) -> dict[str, Item]:
    """Insert the new items; the ones this call inserted, by key.

    ``bulk_create(ignore_conflicts=True)`` cannot say which rows it inserted, and a URL another
    officer inserted a moment ago must be reported as known, not created: hence ``ON CONFLICT
    DO NOTHING RETURNING``. Rows go in sorted by key so that two concurrent intakes with
    overlapping URLs wait for each other instead of deadlocking.
    """
    if not urls:
        return {}
    platforms = platforms_for_hosts({url.parsed.host for url in urls})
    rows = []
    for url in sorted(urls, key=lambda url: url.key):
        line = url.source
        note, flag = line.assessment_note, line.threat_to_life
        rows.append(
            Item(
                url_submitted=url.text,
                url_normalised=url.key,
                host=url.parsed.host,
                platform=platforms.get(url.parsed.host),
                category=line.category or defaults["category"],
                legal_basis=line.legal_basis or defaults["legal_basis"],
                assessment_note=note if note is not None else defaults["assessment_note"],
                threat_to_life=flag if flag is not None else defaults["threat_to_life"],
                case=case,
                actor=actor,
                created_by=referred_by,
                created_at=now,
                status=ItemStatus.PENDING_APPROVAL,
                capture_wanted_at=now if capture_evidence else None,
                capture_requested_by=referred_by if capture_evidence else None,
            )
        )
    varying = ["url_submitted", "url_normalised", "host", "platform", "category"]
    varying += ["legal_basis", "assessment_note", "threat_to_life"]
    inserted: dict[str, int] = dict(
        _insert_rows(
            Item,
            per_row={name: [row.serializable_value(name) for row in rows] for name in varying},
            same_for_all={
                "case": case.pk if case else None,
                "actor": actor.pk if actor else None,
                "status": ItemStatus.PENDING_APPROVAL.value,
                "created_by": referred_by.pk,
                "created_at": now,
                "review_note": "",
                "reviewed_by": None,
                "reviewed_at": None,
                # Never checked yet (the raw INSERT must name every NOT NULL column).
                "verification": "",
                "verified_at": None,
                "capture_wanted_at": now if capture_evidence else None,
                "capture_requested_by": referred_by.pk if capture_evidence else None,
            },
            unless_conflict_on="url_normalised",
            returning=("url_normalised", "id"),
        )
    )
    created = {}
    for row in rows:
        if row.url_normalised in inserted:
            # Now in the database, as if read back (what Model.from_db sets up).
            row.pk = inserted[row.url_normalised]
            row._state.adding = False
            row._state.db = connection.alias
            created[row.url_normalised] = row
    return created


# --------------------------------------------------------------------------------------------
# Items whose platform was created after them
# --------------------------------------------------------------------------------------------


def items_match_unknown_platforms(*, hosts: Collection[str] | None = None) -> int:
    """Give items without a platform the platform their host now matches; how many matched.

    An officer may refer a URL before anyone registered its platform ("create platform for
    example.org?"). Cheap enough to run at the start of every intake: one query over the
    items with no platform (on ``hosts`` only, when given), one over the platform domains
    when there are any.
    """
    unmatched: dict[str, list[int]] = defaultdict(list)
    without_platform = Item.objects.filter(platform__isnull=True)
    if hosts is not None:
        without_platform = without_platform.filter(host__in=list(hosts))
    for pk, host in without_platform.values_list("pk", "host"):
        unmatched[host].append(pk)
    if not unmatched:
        return 0
    ids_by_platform: dict[Platform, list[int]] = defaultdict(list)
    for host, platform in platforms_for_hosts(set(unmatched)).items():
        if platform is not None:
            ids_by_platform[platform].extend(unmatched[host])
    if not ids_by_platform:
        return 0
    matched = 0
    with transaction.atomic():
        events: list[AuditEvent] = []
        for platform, ids in ids_by_platform.items():
            # Rows another intake is matching right now are its business: skip, don't wait.
            locked = list(
                Item.objects.select_for_update(skip_locked=True)
                .filter(pk__in=ids, platform__isnull=True)
                .values_list("pk", flat=True)
            )
            matched += Item.objects.filter(pk__in=locked).update(platform=platform)
            events.extend(
                AuditEvent(
                    actor_label="system",
                    action="item.platform_matched",
                    target_type=Item._meta.label_lower,
                    target_id=str(pk),
                    old={"platform": None},
                    new={"platform": platform.pk, "name": platform.name},
                )
                for pk in locked
            )
        AuditEvent.objects.bulk_create(events, batch_size=1000)
    return matched


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------


@transaction.atomic
def case_create(
    *,
    title: str,
    created_by: Any,
    description: str = "",
    actor: Actor | None = None,
    new_actor_name: str = "",
) -> Case:
    """Open a case. ``new_actor_name`` names an actor to file it under, created if unknown."""
    require_permission(created_by, "cases.add_case", "open cases")
    title = title.strip()
    if not title:
        raise DomainError("A case needs a title.")
    new_actor_name = new_actor_name.strip()
    if actor is not None and new_actor_name:
        raise DomainError("Choose an existing actor or name a new one, not both.")
    if new_actor_name:
        actor = (
            Actor.objects.annotate(lower_name=Lower("name"))
            .filter(lower_name=new_actor_name.lower())
            .first()
        )
        if actor is None:
            require_permission(created_by, "cases.add_actor", "add actors")
            actor = Actor.objects.create(name=new_actor_name)
            audit_record(
                actor=created_by, action="actor.created", target=actor, new={"name": actor.name}
            )
    case = Case.objects.create(
        title=title, description=description, actor=actor, created_by=created_by
    )
    audit_record(
        actor=created_by,
        action="case.created",
        target=case,
        new={"title": title, "actor": actor.pk if actor else None},
    )
    return case
