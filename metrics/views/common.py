"""What every compliance page does first: read the filters, or answer 400 saying what is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from metrics.figures import MetricFilters
from metrics.forms import MetricFilterForm

TREND_WEEKS = 12


class BadFilters(Exception):
    """The filters do not validate; ``response`` is the 400 page to return."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__("bad filters")
        self.response = response


@dataclass(frozen=True)
class ParsedFilters:
    form: MetricFilterForm
    filters: MetricFilters


def parse_filters(request: HttpRequest, *, template: str, context: dict[str, Any]) -> ParsedFilters:
    """The page's ``MetricFilters`` from its query string; ``BadFilters`` with a 400 page if bad.

    The 400 page is the page itself with the form and the message, so the user can fix it.
    """
    form = MetricFilterForm(request.GET or None)
    if not form.is_bound:
        return ParsedFilters(form, MetricFilters())
    if form.is_valid():
        return ParsedFilters(form, form.filters)
    response = render(
        request,
        template,
        {**context, "form": form, "error": form.error_text(), "invalid": True},
        status=400,
    )
    raise BadFilters(response)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def trailing_weeks(filters: MetricFilters, weeks: int = TREND_WEEKS) -> tuple[date, date]:
    """The ``weeks`` ISO weeks up to the period's end (default: up to and including this week)."""
    if filters.end is not None:
        last_monday = monday_of(filters.end - timedelta(days=1))
    else:
        last_monday = monday_of(timezone.localdate())
    start = last_monday - timedelta(weeks=weeks - 1)
    if filters.start is not None and filters.start > start:
        start = monday_of(filters.start)
    return start, last_monday + timedelta(days=7)
