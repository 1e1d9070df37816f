"""CSV exports: streamed row by row, with spreadsheet formula injection neutralised.

Two rules shape this module:

- **Constant memory.** A list can hold a million rows. Rows come from the database
  through ``QuerySet.iterator(chunk_size=...)`` (a server-side cursor on PostgreSQL)
  as plain tuples (``values_list``), are written through ``csv.writer`` into a
  pseudo-buffer that hands each line back, and leave as a ``StreamingHttpResponse``
  in batches. No list of rows or model instances is ever built.
- **Neutralise in the export, never in the data.** A cell that a spreadsheet would
  read as a formula (``=cmd|'/C calc'!A0``) gets a leading apostrophe, the OWASP
  advice: Excel and LibreOffice then show it as text. The stored value is evidence
  and stays exactly as it was referred (docs/decisions/0013).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any, cast

from django.db.models import QuerySet
from django.forms import BaseForm
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

# Characters that make a spreadsheet start a formula (or a DDE call) when a cell begins
# with them. ASCII per OWASP, plus the full-width and small forms that some spreadsheet
# locales (East Asian IMEs) fold into their ASCII twins on import.
FORMULA_TRIGGERS = frozenset(
    "=+-@"  # OWASP CSV injection list
    "\t\r\n"  # a leading tab/CR is dropped by some importers, exposing what follows
    "\uff1d\uff0b\uff0d\uff20"  # full-width = + - @
    "\ufe66\ufe62\ufe63\ufe6b"  # small form variants = + - @
)
# Invisible or blank characters an importer may strip before it looks at the first
# character: " =1+1" must be neutralised like "=1+1".
_IGNORABLE_PREFIX = (
    " \x0b\x0c\u00a0\u1680\u202f\u205f\u3000"  # spaces
    + "".join(chr(c) for c in range(0x2000, 0x200B))  # en quad … hair space
    + "\u200b\u200c\u200d\u2028\u2029\u2060\ufeff"  # zero-width, separators, BOM
)
NEUTRALISING_PREFIX = "'"

# Rows per chunk fetched from the server-side cursor, and CSV lines per write to the
# client: a few hundred kilobytes in memory at any time, whatever the export's size.
CHUNK_SIZE = 2000
LINES_PER_WRITE = 500


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet could take ``text`` for a formula."""
    if not text:
        return False
    first = text[0]
    if first in FORMULA_TRIGGERS:
        return True
    if first not in _IGNORABLE_PREFIX:  # the common case: one set lookup per cell
        return False
    stripped = text.lstrip(_IGNORABLE_PREFIX)
    return bool(stripped) and stripped[0] in FORMULA_TRIGGERS


def neutralise(text: str) -> str:
    """``text`` with a leading apostrophe when a spreadsheet would read it as a formula."""
    return NEUTRALISING_PREFIX + text if is_formula_like(text) else text


def export_cell(value: Any, tz: tzinfo | None = None) -> str | int | float:  # noqa: PLR0911
    """One value as it goes into a CSV cell.

    Numbers stay numbers (a negative count is not a formula and must sort as a number);
    dates and times are ISO 8601 in ``tz`` (default: the unit's time zone); every text is
    neutralised. Text is checked first: it is most of the cells of a million-row export.
    """
    kind = type(value)
    if kind is str:
        return NEUTRALISING_PREFIX + value if is_formula_like(value) else value
    if value is None:
        return ""
    if kind is bool:
        return "yes" if value else "no"
    if kind is int or kind is float:
        return value
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = value.astimezone(tz or timezone.get_current_timezone())
        return value.isoformat(timespec="seconds")
    if isinstance(value, date | Decimal):
        return str(value)  # a date's str() is ISO 8601
    return neutralise(str(value))  # str() also resolves lazy translations


class _Echo:
    """A file-like object whose ``write`` returns the line instead of storing it."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """UTF-8 CSV (with a BOM, so Excel reads the encoding right) in batches of lines."""
    writer = csv.writer(_Echo())
    tz = timezone.get_current_timezone()  # once: looking it up per cell costs a third
    batch: list[str] = ["\ufeff" + writer.writerow([export_cell(h, tz) for h in header])]
    for row in rows:
        batch.append(writer.writerow([export_cell(v, tz) for v in row]))
        if len(batch) >= LINES_PER_WRITE:
            yield "".join(batch).encode("utf-8")
            batch = []
    if batch:
        yield "".join(batch).encode("utf-8")


@dataclass(frozen=True)
class Column:
    """One exported column: its header and the ``values_list`` path it reads.

    ``convert`` turns the raw value into what the cell shows (e.g. a choice label).
    """

    header: str
    path: str
    convert: Callable[[Any], Any] | None = None


def queryset_rows(
    queryset: QuerySet[Any], columns: Sequence[Column], *, chunk_size: int = CHUNK_SIZE
) -> Iterator[tuple[Any, ...]]:
    """The queryset's rows as tuples of the columns' values, fetched ``chunk_size`` at a time.

    ``prefetch_related`` is dropped: it would hold every related row of the whole export.
    """
    values = (
        queryset.prefetch_related(None)
        .values_list(*[c.path for c in columns])
        .iterator(chunk_size=chunk_size)
    )
    converters = [c.convert for c in columns]
    if not any(converters):
        yield from values
        return
    for row in values:
        yield tuple(
            convert(value) if convert else value
            for convert, value in zip(converters, row, strict=True)
        )


def export_filename(stem: str, *, today: date | None = None) -> str:
    """``items-2026-11-22.csv``: the date in the unit's time zone."""
    day = today or timezone.localdate()
    return f"{stem}-{day.isoformat()}.csv"


def csv_response(
    *, filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> HttpResponse:
    """A streamed CSV download of ``rows`` (any iterable: a queryset iterator, a table).

    The object is a ``StreamingHttpResponse``; it is typed ``HttpResponse`` because
    ``core.decorators.staff_view`` types every view that way (Django serves either).
    """
    response = StreamingHttpResponse(
        csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Exports can hold sensitive URLs: never kept by a shared cache or the browser.
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return cast(HttpResponse, response)


def queryset_csv_response(
    *, stem: str, queryset: QuerySet[Any], columns: Sequence[Column]
) -> HttpResponse:
    """A list exported as CSV: its columns, in the queryset's order, streamed."""
    return csv_response(
        filename=export_filename(stem),
        header=[c.header for c in columns],
        rows=queryset_rows(queryset, columns),
    )


def invalid_filters_response(form: BaseForm) -> HttpResponse:
    """400 for an export whose filters do not validate: a CSV of "something else" would mislead.

    Plain text, because the messages quote what was typed.
    """
    lines = [_("The filters are not valid:")]
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        lines.append(f"- {label or name}: {' '.join(str(e) for e in errors)}")
    return HttpResponse(
        "\n".join(lines) + "\n", status=400, content_type="text/plain; charset=utf-8"
    )
