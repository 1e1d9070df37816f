"""The transparency report for a period: printable HTML, PDF (WeasyPrint) and CSV."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from core.csv_export import csv_response, export_filename
from core.decorators import staff_view
from core.pdf import render_pdf
from metrics.forms import ReportPeriodForm
from metrics.models import MetricSnapshot
from metrics.report import (
    TransparencyReport,
    cross_border_rule,
    report_csv_rows,
    transparency_report,
)
from metrics.stored import LEAGUE_PAGE_SIZE, stored_report, stored_report_platform_page

logger = logging.getLogger(__name__)

REPORT_TEMPLATE = "metrics/report.html"


def _report(
    request: HttpRequest, *, platforms: bool = True
) -> tuple[ReportPeriodForm, TransparencyReport | None, MetricSnapshot | None]:
    """The report of the chosen period: the snapshot's when it is the period it stored.

    ``platforms=False`` leaves a stored report's per-platform table unread (the page
    reads one page of it); a live report always has the whole table.
    """
    form = ReportPeriodForm(request.GET)
    if form.is_bound and not form.is_valid():
        return form, None, None
    start, end = form.period()
    snapshot = MetricSnapshot.objects.filter(is_current=True).first()
    stored_period = (snapshot.report.get("start"), snapshot.report.get("end")) if snapshot else ()
    if snapshot is not None and stored_period == (start.isoformat(), end.isoformat()):
        return form, stored_report(snapshot, platforms=platforms), snapshot
    return form, transparency_report(start=start, end=end), None


def _context(form: ReportPeriodForm, report: TransparencyReport | None) -> dict[str, Any]:
    return {
        "form": form,
        "report": report,
        "platform_rows": report.platforms if report else [],
        "cross_border_rule": cross_border_rule(),
        "error": form.error_text() if report is None else "",
        "period_query": (
            f"start={report.start.isoformat()}&end={report.end.isoformat()}" if report else ""
        ),
    }


@require_GET
@staff_view("metrics.view_figures")
def report_page(request: HttpRequest) -> HttpResponse:
    form, report, snapshot = _report(request, platforms=False)
    context = _context(form, report)
    if report is not None:
        # The page shows the per-platform table a page at a time; the PDF and CSV hold all.
        if snapshot is not None:
            page = stored_report_platform_page(snapshot, page=request.GET.get("page"))
        else:
            page = Paginator(report.platforms, LEAGUE_PAGE_SIZE).get_page(request.GET.get("page"))
        params = request.GET.copy()
        params.pop("page", None)
        base = "?" + (params.urlencode() + "&" if params else "") + "page="
        context.update(
            platform_rows=page.object_list,
            platform_page=page,
            previous_url=f"{base}{page.number - 1}" if page.has_previous() else "",
            next_url=f"{base}{page.number + 1}" if page.has_next() else "",
            from_snapshot=snapshot is not None,
        )
    return render(request, REPORT_TEMPLATE, context, status=400 if report is None else 200)


@require_GET
@staff_view("metrics.view_figures")
def report_pdf(request: HttpRequest) -> HttpResponse:
    form, report, _snapshot = _report(request)
    if report is None:
        return render(request, REPORT_TEMPLATE, _context(form, report), status=400)
    html = render_to_string("metrics/report_document.html", _context(form, report), request)
    started = time.perf_counter()
    pdf = render_pdf(html)
    elapsed_ms = (time.perf_counter() - started) * 1000
    logger.info("Transparency report PDF rendered in %.0f ms (%d bytes)", elapsed_ms, len(pdf))
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"transparency-report-{report.start.isoformat()}-{report.last_day.isoformat()}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Server-Timing"] = f"pdf;dur={elapsed_ms:.0f}"
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@staff_view("metrics.view_figures")
def report_csv(request: HttpRequest) -> HttpResponse:
    form, report, _snapshot = _report(request)
    if report is None:
        return render(request, REPORT_TEMPLATE, _context(form, report), status=400)
    return csv_response(
        filename=export_filename(f"transparency-report-{report.start}-{report.last_day}"),
        header=["section", "figure", "value"],
        rows=report_csv_rows(report),
    )
