"""Keyset ("cursor") pagination for staff lists: no COUNT(*) and no deep OFFSET.

A page costs the same at row 10 and at row 1,000,000: the cursor holds the sort
key of the first or last row shown, and the next query starts right after it
through the list's index. Cursors are signed, so a tampered one is ignored (page
one) instead of reaching the database.

Why not django-cursor-pagination: it orders every descending key ``NULLS LAST``
(PostgreSQL then cannot read a plain index backwards: 182 ms instead of 0 ms
at 1 M rows), compares typed columns with text values (a tampered cursor was a
500), and expands every comparison into ORs. See docs/decisions/0006.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Func, Q, QuerySet, Value
from django.db.models.expressions import OrderBy
from django.http import QueryDict

DEFAULT_PAGE_SIZE = 50
_SALT = "core.pagination.keyset"


@dataclass(frozen=True)
class KeysetPage:
    rows: Sequence[Any]
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.previous_cursor)


@dataclass(frozen=True)
class _Key:
    name: str
    descending: bool
    field: models.Field[Any, Any]
    nullable: bool  # the column, or a join on the way to it, can be NULL


def keyset_page(
    queryset: QuerySet[Any],
    *,
    ordering: tuple[str, ...],
    params: QueryDict,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> KeysetPage:
    """The page named by ``?after=`` / ``?before=`` in ``params``; a bad cursor gives page one.

    ``ordering`` must end in a unique, non-null field (``id``) so the order is total.
    Nullable keys sort their NULLs last in either direction. When every key is
    non-null and they share a direction, the page query is a single row
    comparison (``(created_at, id) < (%s, %s)``) that an index answers directly.
    """
    keys = [_key(queryset, name) for name in ordering]
    after = _decode(params.get("after"), keys)
    before = _decode(params.get("before"), keys) if after is None else None

    if _splits_at_nulls(keys):
        return _split_page(queryset, keys, after=after, before=before, page_size=page_size)

    if before is not None:
        query = queryset.filter(_beyond(keys, before, backwards=True))
        rows = list(query.order_by(*_order_by(keys, backwards=True))[: page_size + 1])
        has_more = len(rows) > page_size
        rows = rows[:page_size][::-1]
        has_next, has_previous = True, has_more
    else:
        query = queryset.filter(_beyond(keys, after, backwards=False)) if after else queryset
        rows = list(query.order_by(*_order_by(keys, backwards=False))[: page_size + 1])
        has_next = len(rows) > page_size
        rows = rows[:page_size]
        has_previous = after is not None

    return _page_of(rows, keys, has_next=has_next, has_previous=has_previous)


def _page_of(
    rows: list[Any], keys: list[_Key], *, has_next: bool, has_previous: bool
) -> KeysetPage:
    return KeysetPage(
        rows=rows,
        next_cursor=_encode(rows[-1], keys) if rows and has_next else None,
        previous_cursor=_encode(rows[0], keys) if rows and has_previous else None,
    )


def _splits_at_nulls(keys: list[_Key]) -> bool:
    """A nullable leading key (``-sent_at``, ``deadline``, ``-platform``) before non-null
    keys of the same direction: paged as two index ranges, the non-null rows then the NULLs.

    The general OR expansion (``sent_at < x OR (sent_at = x AND id < y) OR sent_at IS
    NULL``) cannot start an index scan at the cursor: a deep page read every row before it.
    """
    first, rest = keys[0], keys[1:]
    return (
        first.nullable
        and bool(rest)
        and not any(key.nullable for key in rest)
        and len({key.descending for key in keys}) == 1
    )


def _split_page(
    queryset: QuerySet[Any],
    keys: list[_Key],
    *,
    after: list[Any] | None,
    before: list[Any] | None,
    page_size: int,
) -> KeysetPage:
    """One query per part the page touches (two only where the non-null rows run out):
    ``first IS NOT NULL AND (first, ...) > cursor`` and ``first IS NULL AND (rest) > cursor``,
    each a range of a plain (first, ..., id) index."""
    first, rest = keys[0], keys[1:]
    not_null = queryset.filter(**{f"{first.name}__isnull": False})
    nulls = queryset.filter(**{f"{first.name}__isnull": True})
    # Within the non-null part the leading key is not null: a plain row comparison.
    present = [replace(first, nullable=False), *rest]
    want = page_size + 1

    def fetch(part: QuerySet[Any], part_keys: list[_Key], bound: Any, *, backwards: bool) -> list:
        if bound is not None:
            part = part.filter(_beyond(part_keys, bound, backwards=backwards))
        ordered = part.order_by(*_order_by(part_keys, backwards=backwards))
        return list(ordered[:want])

    if before is not None:
        # Backwards: the NULLs come last in the forward order, so they are read first.
        if before[0] is None:
            rows = fetch(nulls, rest, before[1:], backwards=True)
            if len(rows) < want:
                rows += fetch(not_null, present, None, backwards=True)
        else:
            rows = fetch(not_null, present, before, backwards=True)
        has_more = len(rows) > page_size
        rows = rows[:page_size][::-1]
        has_next, has_previous = True, has_more
    else:
        if after is None or after[0] is not None:
            rows = fetch(not_null, present, after, backwards=False)
            if len(rows) < want:
                rows += fetch(nulls, rest, None, backwards=False)
        else:
            rows = fetch(nulls, rest, after[1:], backwards=False)
        has_next = len(rows) > page_size
        rows = rows[:page_size]
        has_previous = after is not None

    return _page_of(rows, keys, has_next=has_next, has_previous=has_previous)


def _key(queryset: QuerySet[Any], name: str) -> _Key:
    descending = name.startswith("-")
    path = name.lstrip("-")
    annotation = queryset.query.annotations.get(path)
    if annotation is not None:
        # Sort annotations must never be NULL (wrap them in Coalesce if they can be).
        return _Key(path, descending, annotation.output_field, nullable=False)
    model: Any = queryset.model
    field: Any = None
    nullable = False
    for part in path.split("__"):
        field = model._meta.get_field(part)
        nullable = nullable or bool(field.null)
        model = field.related_model
    if field.is_relation:  # "platform" means its primary key column
        field = field.target_field
    return _Key(path, descending, field, nullable)


def _order_by(keys: list[_Key], *, backwards: bool) -> list[OrderBy]:
    """NULLS LAST in the forward order; a non-null key gets a plain ASC/DESC so that
    PostgreSQL can walk its index in either direction."""
    ordering = []
    for key in keys:
        descending = key.descending != backwards
        expression = F(key.name)
        if not key.nullable:
            ordering.append(expression.desc() if descending else expression.asc())
        elif backwards:
            ordering.append(
                expression.desc(nulls_first=True)
                if descending
                else expression.asc(nulls_first=True)
            )
        else:
            ordering.append(
                expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
            )
    return ordering


def _beyond(keys: list[_Key], values: list[Any], *, backwards: bool) -> Q:
    """Rows strictly after (or, ``backwards``, before) the row whose key is ``values``."""
    same_direction = len({key.descending for key in keys}) == 1
    if same_direction and not any(key.nullable for key in keys):
        # One row comparison, e.g. (created_at, id) < (%s, %s): an index range scan.
        descending = keys[0].descending != backwards
        lookup = "lt" if descending else "gt"
        row = Func(*[F(k.name) for k in keys], function="ROW", output_field=models.Field())
        bound = Func(
            *[Value(v, output_field=k.field) for k, v in zip(keys, values, strict=True)],
            function="ROW",
            output_field=models.Field(),
        )
        comparison = models.lookups.LessThan if lookup == "lt" else models.lookups.GreaterThan
        return Q(comparison(row, bound))

    condition = Q(pk__in=[])
    equal_so_far = Q()
    for key, value in zip(keys, values, strict=True):
        condition |= equal_so_far & _strictly_beyond(key, value, backwards=backwards)
        equal_so_far &= (
            Q(**{f"{key.name}__isnull": True}) if value is None else Q(**{key.name: value})
        )
    return condition


def _strictly_beyond(key: _Key, value: Any, *, backwards: bool) -> Q:
    if value is None:
        # NULLs are last: nothing non-null comes after one; every non-null comes before.
        return Q(**{f"{key.name}__isnull": False}) if backwards else Q(pk__in=[])
    descending = key.descending != backwards
    condition = Q(**{f"{key.name}__{'lt' if descending else 'gt'}": value})
    if key.nullable and not backwards:
        condition |= Q(**{f"{key.name}__isnull": True})
    return condition


def _encode(row: Any, keys: list[_Key]) -> str:
    values = []
    for key in keys:
        value: Any = row
        for part in key.name.split("__"):
            value = getattr(value, part, None) if value is not None else None
        if isinstance(value, models.Model):
            value = value.pk
        if value is not None:
            # The value as the column holds it, not as Python wraps it: a CountryField
            # gives a Country object, a custom field anything else; _decode's
            # ``to_python`` turns the stored form back into a comparable value.
            value = key.field.get_prep_value(value)
        values.append(value)
    return signing.dumps([_jsonable(v) for v in values], salt=_SALT)


def _jsonable(value: Any) -> Any:
    # Not DjangoJSONEncoder: it cuts datetimes to milliseconds, and a cursor must
    # hold the exact key or rows sharing a millisecond would be skipped.
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    return value


def _decode(cursor: str | None, keys: list[_Key]) -> list[Any] | None:
    if not cursor:
        return None
    try:
        raw = signing.loads(cursor, salt=_SALT)
        if not isinstance(raw, list) or len(raw) != len(keys):
            return None
        return [None if v is None else k.field.to_python(v) for k, v in zip(keys, raw, strict=True)]
    except (signing.BadSignature, ValidationError, ValueError, TypeError):
        return None
