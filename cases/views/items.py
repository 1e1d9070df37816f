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
from core.csv_export import Column, invalid_filters_response, queryset_csv_response
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


# The item list as CSV: codes rather than translated labels, so a file reads the same
# whatever the exporting officer's language.
ITEM_EXPORT_COLUMNS = (
    Column("id", "id"),
    Column("url_normalised", "url_normalised"),
    Column("url_submitted", "url_submitted"),
    Column("host", "host"),
    Column("platform", "platform__name"),
    Column("case", "case__title"),
    Column("category", "category"),
    Column("legal_basis", "legal_basis"),
    Column("status", "status"),
    Column("threat_to_life", "threat_to_life"),
    Column("on_hold", "on_hold"),
    Column("verification", "verification"),
    Column("referred_by", "created_by__username"),
    Column("referred_at", "created_at"),
)


@staff_view("cases.view_item")
def item_export(request: HttpRequest) -> HttpResponse:
    """Every item the list shows with the same filters and sort, streamed as CSV."""
    filterset = ItemFilter(request.GET, queryset=item_list_qs(), request=request)
    if filterset.form.errors:
        return invalid_filters_response(filterset.form)
    queryset = filterset.qs.order_by(*ITEM_SORTS[filterset.sort])
    return queryset_csv_response(stem="items", queryset=queryset, columns=ITEM_EXPORT_COLUMNS)


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
