"""Staff screens for platforms, their contacts and upstream providers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.postgres.aggregates import StringAgg
from django.db.models import CharField, OuterRef, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from core.csv_export import Column, invalid_filters_response, queryset_csv_response
from core.decorators import staff_view
from core.errors import DomainError, IllegalTransition
from core.pagination import keyset_page
from platforms.filters import SUGGESTION_LIMIT, PlatformFilter
from platforms.forms import ContactForm, PlatformForm, TcoNoticeForm, UpstreamProviderForm
from platforms.models import Contact, Platform, PlatformDomain
from platforms.selectors import (
    DEFAULT_PLATFORM_SORT,
    PLATFORM_SORTS,
    platform_detail,
    platform_for_detail,
    platform_list_queryset,
    platform_name_suggestions,
)
from platforms.services import (
    contact_create,
    contact_deactivate,
    contact_update,
    platform_confirm_defunct,
    platform_create,
    platform_dismiss_defunct,
    platform_record_tco_notice,
    platform_update,
    upstream_provider_add,
)
from platforms.urlnorm import DomainRefused, normalise_domain

# --- list --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SortColumn:
    key: str
    label: Any
    next: str
    direction: str  # "ascending", "descending" or "" (aria-sort)


_SORT_COLUMNS = (
    ("name", gettext_lazy("Name")),
    ("kind", gettext_lazy("Kind")),
    ("tier", gettext_lazy("Tier")),
    ("country", gettext_lazy("Country")),
    ("created", gettext_lazy("Registered")),
)


def _sort_columns(current: str) -> dict[str, SortColumn]:
    columns = {}
    for key, label in _SORT_COLUMNS:
        if current == key:
            columns[key] = SortColumn(key, label, f"-{key}", "ascending")
        elif current == f"-{key}":
            columns[key] = SortColumn(key, label, key, "descending")
        else:
            columns[key] = SortColumn(key, label, key, "")
    return columns


@staff_view("platforms.view_platform")
@vary_on_headers("HX-Request")
def platform_list(request: HttpRequest) -> HttpResponse:
    filterset = PlatformFilter(request.GET, queryset=platform_list_queryset())
    sort = request.GET.get("sort", DEFAULT_PLATFORM_SORT)
    if sort not in PLATFORM_SORTS:
        sort = DEFAULT_PLATFORM_SORT
    ordering = PLATFORM_SORTS[sort]
    page = keyset_page(filterset.qs, ordering=ordering, params=request.GET)
    context = {
        "filter": filterset,
        "page": page,
        "sort": sort,
        "columns": _sort_columns(sort),
        "filtered": any(request.GET.get(name) for name in filterset.form.fields),
    }
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request:
        return render(request, "platforms/_list_results.html", context)
    return render(request, "platforms/list.html", context)


@staff_view("platforms.view_platform")
def platform_suggest(request: HttpRequest) -> HttpResponse:
    """Up to 20 platform names for a filter's datalist (htmx, as the officer types)."""
    text = request.GET.get("q") or request.GET.get("platform") or ""
    names = platform_name_suggestions(text, limit=SUGGESTION_LIMIT)
    return render(request, "platforms/_suggestions.html", {"names": names})


def _domains_joined() -> Subquery:
    """A platform's domains as one "a.example, b.example" cell, in the export's single query."""
    return Subquery(
        PlatformDomain.objects.filter(platform=OuterRef("pk"))
        .order_by()
        .values("platform")
        .annotate(joined=StringAgg("domain", ", ", order_by="domain"))
        .values("joined")[:1],
        output_field=CharField(),
    )


PLATFORM_EXPORT_COLUMNS = (
    Column("id", "id"),
    Column("name", "name"),
    Column("domains", "domain_list"),
    Column("kind", "kind"),
    Column("tier", "tier"),
    Column("architecture", "architecture"),
    Column("country", "country"),
    Column("status", "status"),
    Column("operator_can_act", "operator_can_act"),
    Column("response_target_days", "response_target_days"),
    Column("active_contacts", "active_contact_count"),
    Column("registered_at", "created_at"),
)


@staff_view("platforms.view_platform")
def platform_export(request: HttpRequest) -> HttpResponse:
    """The platform list with the same search, filters and sort, streamed as CSV."""
    filterset = PlatformFilter(request.GET, queryset=platform_list_queryset())
    if filterset.form.errors:
        return invalid_filters_response(filterset.form)
    sort = request.GET.get("sort", DEFAULT_PLATFORM_SORT)
    if sort not in PLATFORM_SORTS:
        sort = DEFAULT_PLATFORM_SORT
    queryset = filterset.qs.annotate(domain_list=_domains_joined()).order_by(*PLATFORM_SORTS[sort])
    return queryset_csv_response(
        stem="platforms", queryset=queryset, columns=PLATFORM_EXPORT_COLUMNS
    )


# --- detail and upstream providers ----------------------------------------------------------


def _render_detail(
    request: HttpRequest,
    platform: Platform,
    *,
    upstream_form: UpstreamProviderForm | None = None,
    tco_form: TcoNoticeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    if upstream_form is None and request.user.has_perm("platforms.add_upstreamprovider"):
        upstream_form = UpstreamProviderForm(platform=platform, auto_id="upstream_%s")
    if tco_form is None and request.user.has_perm("platforms.record_tco_notice"):
        tco_form = TcoNoticeForm(auto_id="tco_%s")
    return render(
        request,
        "platforms/detail.html",
        {
            "detail": platform_detail(platform),
            "platform": platform,
            "upstream_form": upstream_form,
            "tco_form": tco_form,
        },
        status=status,
    )


@staff_view("platforms.view_platform")
def platform_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, platform_for_detail(pk))


@staff_view("platforms.view_platform", "platforms.add_upstreamprovider")
@require_POST
def upstream_add(request: HttpRequest, pk: int) -> HttpResponse:
    platform = get_object_or_404(Platform, pk=pk)
    form = UpstreamProviderForm(request.POST, platform=platform, auto_id="upstream_%s")
    if form.is_valid():
        provider = form.cleaned_data["provider"]
        try:
            upstream_provider_add(
                platform=platform,
                provider=provider,
                role=form.cleaned_data["role"],
                actor=request.user,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("%(provider)s is now an upstream provider of %(platform)s.")
                % {"provider": provider.name, "platform": platform.name},
            )
            return redirect("platforms:detail", pk=platform.pk)
    return _render_detail(request, platform, upstream_form=form, status=400)


@staff_view("platforms.view_platform", "platforms.record_tco_notice")
@require_POST
def tco_notice_record(request: HttpRequest, pk: int) -> HttpResponse:
    """Record the TCO advance notice, so the first removal order may follow 12 hours later."""
    platform = get_object_or_404(Platform, pk=pk)
    form = TcoNoticeForm(request.POST, auto_id="tco_%s")
    if form.is_valid():
        try:
            platform_record_tco_notice(
                platform=platform, actor=request.user, given_at=form.cleaned_data["given_at"]
            )
        except DomainError as exc:
            form.add_error("given_at", exc.message)
        else:
            messages.success(
                request,
                _("TCO advance notice to %(platform)s recorded.") % {"platform": platform.name},
            )
            return redirect("platforms:detail", pk=platform.pk)
    return _render_detail(request, platform, tco_form=form, status=400)


@staff_view("platforms.view_platform", "platforms.confirm_defunct")
@require_POST
def defunct_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """A supervisor agrees the platform is defunct."""
    return _defunct_answer(request, pk, confirm=True)


@staff_view("platforms.view_platform", "platforms.confirm_defunct")
@require_POST
def defunct_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    """A supervisor says the platform is not defunct."""
    return _defunct_answer(request, pk, confirm=False)


def _defunct_answer(request: HttpRequest, pk: int, *, confirm: bool) -> HttpResponse:
    platform = get_object_or_404(Platform, pk=pk)
    try:
        if confirm:
            platform_confirm_defunct(platform=platform, by=request.user)
        else:
            platform_dismiss_defunct(platform=platform, by=request.user)
    except IllegalTransition as refused:
        messages.error(request, refused.message)
        return redirect("platforms:detail", pk=platform.pk)
    done = (
        _("%(platform)s is now marked defunct.")
        if confirm
        else _("%(platform)s stays active; only new failures will raise the question again.")
    )
    messages.success(request, done % {"platform": platform.name})
    return redirect("platforms:detail", pk=platform.pk)


# --- create and edit -----------------------------------------------------------------------


def _safe_next(request: HttpRequest) -> str:
    """The local page to return to after creating (e.g. the intake that found a new domain)."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _prefill_from_domain(raw: str) -> dict[str, str]:
    """Initial values for "create a platform for example.org?" from the intake page."""
    raw = raw.strip()[:300]
    if not raw:
        return {}
    try:
        domain = normalise_domain(raw)
    except DomainRefused:
        return {"domains": raw}
    return {"name": domain, "domains": domain}


@staff_view("platforms.view_platform", "platforms.add_platform")
def platform_create_view(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request)
    prefill = _prefill_from_domain(request.GET.get("domain", ""))
    if request.method == "POST":
        form = PlatformForm(request.POST)
        if form.is_valid():
            try:
                platform = platform_create(
                    actor=request.user,
                    domains=form.cleaned_data["domains"],
                    **form.platform_fields(),
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Platform %(name)s registered.") % {"name": platform})
                return HttpResponseRedirect(
                    next_url or reverse("platforms:detail", args=[platform.pk])
                )
        status = 400
    else:
        form = PlatformForm(initial=prefill)
        status = 200
    return render(
        request,
        "platforms/form.html",
        {
            "form": form,
            "platform": None,
            "next_url": next_url,
            "prefill_domain": prefill.get("domains", ""),
        },
        status=status,
    )


@staff_view("platforms.view_platform", "platforms.change_platform")
def platform_edit(request: HttpRequest, pk: int) -> HttpResponse:
    platform = get_object_or_404(Platform, pk=pk)
    if request.method == "POST":
        form = PlatformForm(request.POST)
        if form.is_valid():
            try:
                platform_update(
                    platform=platform,
                    actor=request.user,
                    domains=form.cleaned_data["domains"],
                    **form.platform_fields(),
                )
            except DomainError as exc:
                # The service set the new values on the instance before refusing.
                platform.refresh_from_db()
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Platform %(name)s saved.") % {"name": platform})
                return redirect("platforms:detail", pk=platform.pk)
        status = 400
    else:
        domains = list(platform.domains.order_by("domain").values_list("domain", flat=True))
        form = PlatformForm(initial=PlatformForm.initial_for(platform, domains))
        status = 200
    return render(
        request,
        "platforms/form.html",
        {"form": form, "platform": platform, "next_url": "", "prefill_domain": ""},
        status=status,
    )


# --- contacts ------------------------------------------------------------------------------


def _get_contact(platform_pk: int, contact_pk: int) -> Contact:
    return get_object_or_404(
        Contact.objects.select_related("platform"), pk=contact_pk, platform_id=platform_pk
    )


@staff_view("platforms.view_platform", "platforms.add_contact")
def contact_add(request: HttpRequest, pk: int) -> HttpResponse:
    platform = get_object_or_404(Platform, pk=pk)
    if request.method == "POST":
        form = ContactForm(request.POST)
        if form.is_valid():
            try:
                contact = contact_create(
                    platform=platform, actor=request.user, **form.contact_fields()
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    _("Contact %(contact)s added to %(platform)s.")
                    % {"contact": contact, "platform": platform.name},
                )
                return redirect("platforms:detail", pk=platform.pk)
        status = 400
    else:
        form = ContactForm()
        status = 200
    return render(
        request,
        "platforms/contact_form.html",
        {"form": form, "platform": platform, "contact": None},
        status=status,
    )


@staff_view("platforms.view_platform", "platforms.change_contact")
def contact_edit(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    contact = _get_contact(pk, contact_pk)
    platform = contact.platform
    if request.method == "POST":
        form = ContactForm(request.POST)
        if form.is_valid():
            try:
                contact_update(contact=contact, actor=request.user, **form.contact_fields())
            except DomainError as exc:
                contact.refresh_from_db()
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Contact %(contact)s saved.") % {"contact": contact})
                return redirect("platforms:detail", pk=platform.pk)
        status = 400
    else:
        form = ContactForm(initial=ContactForm.initial_for(contact))
        status = 200
    return render(
        request,
        "platforms/contact_form.html",
        {"form": form, "platform": platform, "contact": contact},
        status=status,
    )


@staff_view("platforms.view_platform", "platforms.change_contact")
@require_POST
def contact_deactivate_view(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    contact = _get_contact(pk, contact_pk)
    contact_deactivate(contact=contact, actor=request.user)
    messages.success(
        request,
        _("Contact %(contact)s deactivated; past requests still show it.") % {"contact": contact},
    )
    return redirect("platforms:detail", pk=pk)
