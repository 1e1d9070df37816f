"""Figure tables shared by the pages, their CSV exports and the report: columns, links, sorting.

No queries here: the rows come from ``metrics.selectors``; this module decides how
a row of ``Figures`` is shown, linked to the items behind it, sorted and exported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote_plus, urlencode

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from metrics.figures import REFUSAL_KEYS, Figures, MetricFilters, outcome_label


@dataclass(frozen=True)
class FigureColumn:
    key: str  # a Figures attribute, or "refused" (all refusal types)
    label: Any
    kind: str  # "count", "rate" or "hours"


# The league table's and the trend table's columns, in DESIGN §5's order.
FIGURE_COLUMNS: tuple[FigureColumn, ...] = (
    FigureColumn("requested", _("Requested"), "count"),
    FigureColumn("responded", _("Responded"), "count"),
    FigureColumn("response_rate", _("Response rate"), "rate"),
    FigureColumn("removed", _("Removed"), "count"),
    FigureColumn("removal_rate", _("Removal rate"), "rate"),
    FigureColumn("verified_removal_rate", _("Verified removal rate"), "rate"),
    FigureColumn("on_time_rate", _("On time"), "rate"),
    FigureColumn("median_hours_to_response", _("Median hours to response"), "hours"),
    FigureColumn("median_hours_to_removal", _("Median hours to removal"), "hours"),
    FigureColumn("overdue_open", _("Overdue, open"), "count"),
    FigureColumn("refused", _("Refused (all types)"), "count"),
)
SORT_KEYS = {c.key for c in FIGURE_COLUMNS} | {"name"}

# Drill-down: "refused" is not one of the selector's figures; the view lists every
# refusal-type outcome for it.
REFUSED = "refused"


def figure_value(figures: Figures, key: str) -> Any:
    return figures.refused if key == REFUSED else figures.value(key)


def drilldown_url(
    filters: MetricFilters, figure: str, group: Mapping[str, Any] | None = None
) -> str:
    """The page listing the request items behind ``figure`` of ``group`` under ``filters``."""
    return _drilldown_urls(filters, group)(figure)


def _drilldown_urls(
    filters: MetricFilters, group: Mapping[str, Any] | None
) -> Callable[[str], str]:
    """``figure -> url`` for one group: the filters' part is built once for all its cells."""
    group = dict(group or {})
    week = group.pop("week", None)
    keys = {k: v for k, v in group.items() if k in MetricFilters.QUERY_KEYS}
    pairs: list[tuple[str, str]] = filters.narrowed(keys).to_query()
    if isinstance(week, date):
        pairs.append(("week", week.isoformat()))
    tail = ("&" + urlencode(pairs)) if pairs else ""
    base = reverse("metrics:items") + "?"

    def url(figure: str) -> str:
        return base + "figure=" + quote_plus(figure) + tail

    return url


@dataclass(frozen=True)
class Cell:
    column: FigureColumn
    value: Any
    url: str


@dataclass(frozen=True)
class FigureRow:
    figures: Figures
    label: str
    cells: list[Cell]
    url: Callable[[str], str]  # figure -> the items behind it, for this row's group

    @property
    def refusals(self) -> list[Cell]:
        """One cell per refusal-type outcome (the scorecard; built only when shown)."""
        return [
            Cell(
                FigureColumn(f"refusal:{key}", outcome_label(key), "count"),
                self.figures.refusal_breakdown.get(key, 0),
                self.url(f"refusal:{key}"),
            )
            for key in REFUSAL_KEYS
        ]


def figure_row(
    figures: Figures, *, label: str, filters: MetricFilters, group: Mapping[str, Any]
) -> FigureRow:
    """A table row: every column's value and the link to the items behind it."""
    url = _drilldown_urls(filters, group)
    cells = [
        Cell(column, figure_value(figures, column.key), url(column.key))
        for column in FIGURE_COLUMNS
    ]
    return FigureRow(figures=figures, label=label, cells=cells, url=url)


def sort_figures(rows: list[Figures], *, key: str, descending: bool, label: Any) -> list[Figures]:
    """Sorted by a column (or "name", given by ``label``); empty values ("—") last, then A-Z.

    The same order as ``metrics.stored`` gives in SQL for the snapshot's rows.
    """
    if key == "name":
        return sorted(rows, key=lambda f: str(label(f)).casefold(), reverse=descending)

    def value(figures: Figures) -> Any:
        return figure_value(figures, key)

    present = [f for f in rows if value(f) is not None]
    missing = [f for f in rows if value(f) is None]
    present.sort(key=lambda f: str(label(f)).casefold())
    present.sort(key=value, reverse=descending)
    missing.sort(key=lambda f: str(label(f)).casefold())
    return present + missing


# --- CSV ----------------------------------------------------------------------------------

CSV_FIGURES: tuple[str, ...] = (
    "requested",
    "responded",
    "response_rate",
    "removed",
    "removal_rate",
    "verified_removed",
    "verified_removal_rate",
    "removed_on_time",
    "on_time_rate",
    "median_hours_to_response",
    "median_hours_to_removal",
    "overdue_open",
)


def figures_csv_header(group_headers: Sequence[str]) -> list[str]:
    return [*group_headers, *CSV_FIGURES, *REFUSAL_KEYS]


def _rounded(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


def figures_csv_rows(
    rows: Iterable[tuple[Sequence[Any], Figures]],
) -> Iterator[list[Any]]:
    """``(group cells, figures)`` → CSV rows; an empty rate is an empty cell, never 0."""
    for group_cells, figures in rows:
        yield [
            *group_cells,
            *(_rounded(figures.value(key)) for key in CSV_FIGURES),
            *(figures.refusal_breakdown.get(key, 0) for key in REFUSAL_KEYS),
        ]
