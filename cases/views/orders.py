"""A removal order's Annex I document: printable HTML and PDF (the same one the email carries)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from cases.documents import removal_order_filename, removal_order_html, removal_order_pdf
from cases.models import RequestType
from cases.selectors.orders import removal_order_as_sent
from cases.selectors.requests import request_for_detail
from core.decorators import staff_view


def _not_an_order(http_request: HttpRequest) -> HttpResponse:
    message = _("A referral has no removal order document (TCO Annex I): only orders do.")
    return render(http_request, "core/refused.html", {"message": message}, status=404)


@require_GET
@staff_view("cases.view_removalrequest")
def order_document(http_request: HttpRequest, pk: int) -> HttpResponse:
    removal_request = request_for_detail(pk)
    if removal_request.request_type != RequestType.REMOVAL_ORDER:
        return _not_an_order(http_request)
    return HttpResponse(removal_order_html(removal_request, staff_page=True))


@require_GET
@staff_view("cases.view_removalrequest")
def order_document_pdf(http_request: HttpRequest, pk: int) -> HttpResponse:
    removal_request = request_for_detail(pk)
    if removal_request.request_type != RequestType.REMOVAL_ORDER:
        return _not_an_order(http_request)
    # Once sent, the document as it left (from the stored email), never rebuilt from today's
    # contacts, notes and settings; before that, a draft rendered now.
    pdf = removal_order_as_sent(removal_request) or removal_order_pdf(removal_request)
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = removal_order_filename(removal_request)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response
