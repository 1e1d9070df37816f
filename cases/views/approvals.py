"""The approval queue: supervisors approve or reject items others referred (four-eyes)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from cases.forms.items import ApprovalDecisionForm
from cases.selectors.items import APPROVAL_ORDERING, items_awaiting_approval_qs
from cases.services.items import items_review_bulk
from core.decorators import staff_view
from core.pagination import keyset_page


def _queue(request: HttpRequest, form: ApprovalDecisionForm, status: int = 200) -> HttpResponse:
    page = keyset_page(items_awaiting_approval_qs(), ordering=APPROVAL_ORDERING, params=request.GET)
    return render(
        request, "cases/items/approvals.html", {"page": page, "form": form}, status=status
    )


@staff_view("cases.review_item")
def approvals(request: HttpRequest) -> HttpResponse:
    return _queue(request, ApprovalDecisionForm())


@require_POST
@staff_view("cases.review_item")
def approvals_decide(request: HttpRequest) -> HttpResponse:
    form = ApprovalDecisionForm(request.POST)
    if not form.is_valid():
        return _queue(request, form, status=400)
    approve = form.cleaned_data["decision"] == ApprovalDecisionForm.APPROVE
    reviewed, refused = items_review_bulk(
        item_ids=form.cleaned_data["items"],
        reviewer=request.user,
        approve=approve,
        note=form.cleaned_data["note"],
    )
    if reviewed:
        text = (
            ngettext("%(count)d item approved.", "%(count)d items approved.", len(reviewed))
            if approve
            else ngettext("%(count)d item rejected.", "%(count)d items rejected.", len(reviewed))
        )
        messages.success(request, text % {"count": len(reviewed)})
    for refusal in refused:
        messages.warning(
            request,
            _("Not done for %(url)s: %(reason)s")
            % {"url": refusal.url or f"#{refusal.item_id}", "reason": refusal.reason},
        )
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("items:approvals")
