"""An item's check history and the officer's "Check now"."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.decorators import staff_view
from verification.selectors import item_checks, item_for_checks
from verification.services import item_check_request


@staff_view("verification.view_urlcheck")
def item_checks_view(request: HttpRequest, pk: int) -> HttpResponse:
    item = item_for_checks(pk)
    return render(request, "verification/item_checks.html", {"history": item_checks(item)})


@require_POST
@staff_view("verification.request_check")
def item_check_now_view(request: HttpRequest, pk: int) -> HttpResponse:
    item = item_for_checks(pk)
    item_check_request(item=item, by=request.user)
    messages.success(
        request,
        _("A check of this URL is queued; its result appears here when it is done."),
    )
    return redirect("verification:item_checks", pk=item.pk)
