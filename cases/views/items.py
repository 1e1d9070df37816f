"""The item list, an item's page, and de-confliction holds."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases.filters import ItemFilter
from cases.forms.items import ApprovalDecisionForm, HoldForm
from cases.models import Item
from cases.selectors.items import ITEM_SORTS, item_detail, item_detail_qs, item_list_qs
from cases.services.items import item_hold_place, item_hold_release
from core.decorators import staff_view
from core.errors import DomainError, IllegalTransition, PermissionRefused
from core.pagination import keyset_page


@staff_view("cases.view_item")
def item_list(request: HttpRequest) -> HttpResponse:
    filterset = ItemFilter(request.GET, queryset=item_list_qs(), request=request)
    page = keyset_page(filterset.qs, ordering=ITEM_SORTS[filterset.sort], params=request.GET)
    return render(
        request,
        "cases/items/list.html",
        {"filter": filterset, "page": page},
        status=400 if filterset.form.errors else 200,
    )


@staff_view("cases.view_item")
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(item_detail_qs(), pk=pk)
    user = request.user
    can_review = user.has_perm("cases.review_item") and item.created_by_id != user.pk
    return render(
        request,
        "cases/items/detail.html",
        {
            "detail": item_detail(item),
            "item": item,
            "can_review": can_review and item.status == "pending_approval",
            "decision_form": ApprovalDecisionForm(initial={"items": [item.pk]}),
        },
    )


@staff_view("cases.hold_item")
def hold(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Item, pk=pk)
    form = HoldForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            item_hold_place(
                item=item,
                placed_by=request.user,
                reason=form.cleaned_data["reason"],
                review_on=form.cleaned_data["review_on"],
                requesting_agency=form.cleaned_data["requesting_agency"],
            )
        except PermissionRefused:
            raise
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = 409 if isinstance(exc, IllegalTransition) else 400
        else:
            messages.success(request, _("The item is on hold; it will not be sent."))
            return redirect("items:detail", pk=item.pk)
    if form.errors and status == 200:
        status = 400
    return render(request, "cases/items/hold.html", {"item": item, "form": form}, status=status)


@require_POST
@staff_view("cases.hold_item")
def hold_release(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Item, pk=pk)
    try:
        item_hold_release(item=item, released_by=request.user)
    except PermissionRefused:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The hold was released; the item can be sent again."))
    return redirect("items:detail", pk=item.pk)
