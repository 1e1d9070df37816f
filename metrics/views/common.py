"""What every compliance page does first: read the filters, or answer 400 saying what is wrong."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError
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


def trailing_weeks(
    filters: MetricFilters, weeks: int = TREND_WEEKS, *, today: date | None = None
) -> tuple[date, date]:
    """The ``weeks`` ISO weeks up to the period's end (default: up to and including this week).

    ``today`` is the day "this week" is taken from (a snapshot's day; default: today).
    """
    if filters.end is not None:
        last_monday = monday_of(filters.end - timedelta(days=1))
    else:
        last_monday = monday_of(today or timezone.localdate())
    start = last_monday - timedelta(weeks=weeks - 1)
    if filters.start is not None and filters.start > start:
        start = monday_of(filters.start)
    return start, last_monday + timedelta(days=7)


# A figure computed live (filters the snapshot does not hold) covers at most this many
# weeks, so one page never scans more than about a year of request items.
MAX_LIVE_WEEKS = 53


def live_filters(filters: MetricFilters, *, today: date) -> MetricFilters:
    """``filters`` with a bounded period, for figures computed live.

    No start: the last 12 ISO weeks (the current one included). A period of more than
    ``MAX_LIVE_WEEKS`` weeks is refused with a ``DomainError`` the page shows.
    """
    start = filters.start or monday_of(today) - timedelta(weeks=TREND_WEEKS - 1)
    end = filters.end or today + timedelta(days=1)
    if (end - start).days > MAX_LIVE_WEEKS * 7:
        raise DomainError(
            _(
                "Figures with these filters are computed live, over at most %(weeks)d weeks: "
                "choose a shorter period, or clear the filters to read the snapshot."
            )
            % {"weeks": MAX_LIVE_WEEKS}
        )
    return replace(filters, start=start)
