"""Documents the desk sends: the removal order (TCO Annex I) as HTML and PDF.

One rendering for the staff pages and the email attachment, so what the unit sees is
what the provider received.
"""

from __future__ import annotations

from django.template.loader import render_to_string

from cases.models import RemovalRequest
from cases.selectors.orders import removal_order_document
from core.pdf import render_pdf

ORDER_TEMPLATE = "cases/requests/order_document.html"


def removal_order_html(request: RemovalRequest) -> str:
    """The document in the active language (the email renders it in the contact's)."""
    return render_to_string(ORDER_TEMPLATE, {"order": removal_order_document(request)})


def removal_order_pdf(request: RemovalRequest) -> bytes:
    return render_pdf(removal_order_html(request))


def removal_order_filename(request: RemovalRequest) -> str:
    return f"{request.reference}-removal-order.pdf"
