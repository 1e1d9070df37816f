"""Case pages: the list, opening a case, a case with its items and progress."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from cases.filters import CaseFilter
from cases.forms.items import CaseCreateForm
from cases.models import Case
from cases.selectors.cases import (
    CASE_SORTS,
    case_list_page_qs,
    case_list_qs,
    case_progress,
    with_item_counts,
)
from cases.selectors.items import ITEM_SORTS, item_list_qs
from cases.services.intake import case_create
from core.csv_export import Column, invalid_filters_response, queryset_csv_response
from core.decorators import staff_view
from core.errors import DomainError, PermissionRefused
from core.pagination import keyset_page


@staff_view("cases.view_case")
def case_list(request: HttpRequest) -> HttpResponse:
    filterset = CaseFilter(request.GET, queryset=case_list_page_qs(), request=request)
    page = keyset_page(filterset.qs, ordering=CASE_SORTS[filterset.sort], params=request.GET)
    with_item_counts(page.rows)
    return render(
        request,
        "cases/cases/list.html",
        {"filter": filterset, "page": page},
        status=400 if filterset.form.errors else 200,
    )


CASE_EXPORT_COLUMNS = (
    Column("id", "id"),
    Column("title", "title"),
    Column("status", "status"),
    Column("actor", "actor__name"),
    Column("items", "items_total"),
    Column("items_awaiting_approval", "items_pending"),
    Column("items_approved", "items_approved"),
    Column("items_rejected", "items_rejected"),
    Column("opened_by", "created_by__username"),
    Column("opened_at", "created_at"),
)


@staff_view("cases.view_case")
def case_export(request: HttpRequest) -> HttpResponse:
    """The case list with the same filters and sort, streamed as CSV."""
    filterset = CaseFilter(request.GET, queryset=case_list_qs(), request=request)
    if filterset.form.errors:
        return invalid_filters_response(filterset.form)
    queryset = filterset.qs.order_by(*CASE_SORTS[filterset.sort])
    return queryset_csv_response(stem="cases", queryset=queryset, columns=CASE_EXPORT_COLUMNS)


@staff_view("cases.add_case")
def create(request: HttpRequest) -> HttpResponse:
    form = CaseCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            case = case_create(created_by=request.user, **form.cleaned_data)
        except PermissionRefused:
            raise
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("cases:detail", pk=case.pk)
    return render(
        request, "cases/cases/create.html", {"form": form}, status=400 if form.errors else 200
    )


@staff_view("cases.view_case")
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_object_or_404(Case.objects.select_related("actor", "created_by"), pk=pk)
    items = keyset_page(
        item_list_qs().filter(case=case), ordering=ITEM_SORTS["newest"], params=request.GET
    )
    return render(
        request,
        "cases/cases/detail.html",
        {"case": case, "progress": case_progress(case), "page": items},
    )
