"""Documents the desk sends: the removal order (TCO Annex I) as HTML and PDF.

One rendering for the staff page and the email attachment; once sent, the staff's PDF is
the attachment itself, read back from the stored message (``removal_order_as_sent``).
"""

from __future__ import annotations

from django.template.loader import render_to_string

from cases.models import RemovalRequest
from cases.selectors.orders import removal_order_document
from core.pdf import render_pdf

ORDER_TEMPLATE = "cases/requests/order_document.html"


def removal_order_html(request: RemovalRequest, *, staff_page: bool = False) -> str:
    """The document in the active language (the email renders it in the contact's);
    ``staff_page`` adds a note that the PDF is the document as sent."""
    context = {"order": removal_order_document(request), "show_as_sent_note": staff_page}
    return render_to_string(ORDER_TEMPLATE, context)


def removal_order_pdf(request: RemovalRequest) -> bytes:
    return render_pdf(removal_order_html(request))


def removal_order_filename(request: RemovalRequest) -> str:
    return f"{request.reference}-removal-order.pdf"
