"""Staff pages for removal requests: list, compose, detail with its timeline, and the actions.

Sending is not here: it crosses into email, so its view lives in ``notifications``
(which may import this module, never the other way round) and the detail
template posts to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from cases.forms.requests import (
    OFFICER_OUTCOMES,
    ComposeOneForm,
    ComposeScope,
    NoteForm,
    OptionalReasonForm,
    ReasonForm,
    RecordOutcomeForm,
    RemoveItemForm,
    RequestFilterSet,
)
from cases.models import OutcomeSource, RemovalRequest, RequestState, RequestType
from cases.selectors.requests import (
    DEFAULT_REQUEST_SORT,
    REQUEST_SORTS,
    platforms_with_ready_items,
    ready_items_of,
    request_detail,
    request_for_detail,
    request_list_queryset,
)
from cases.services.outcomes import request_item_record_outcome
from cases.services.requests import (
    TRANSITIONS,
    request_cancel,
    request_close,
    request_item_remove,
    request_note_add,
    request_resume_clock,
    request_return_to_draft,
    request_submit,
)
from cases.services.upstream import requests_compose_for_platform, requests_compose_weekly_run
from core.csv_export import Column, invalid_filters_response, queryset_csv_response
from core.decorators import staff_view
from core.errors import DomainError, PermissionRefused
from core.pagination import keyset_page
from platforms.models import Platform

# --- list -------------------------------------------------------------------------


@require_GET
@staff_view("cases.view_removalrequest")
def request_list(http_request: HttpRequest) -> HttpResponse:
    filterset = RequestFilterSet(http_request.GET, queryset=request_list_queryset())
    sort = http_request.GET.get("sort", "")
    if sort not in REQUEST_SORTS:
        sort = DEFAULT_REQUEST_SORT
    page = keyset_page(filterset.qs, ordering=REQUEST_SORTS[sort], params=http_request.GET)
    form = filterset.form
    select_filters = [
        (form[name], list(form.fields[name].choices)) for name in ("state", "request_type")
    ]
    return render(
        http_request,
        "cases/requests/list.html",
        {
            "filter": filterset,
            "select_filters": select_filters,
            "page": page,
            "sort": sort,
            "sorts": [
                ("newest", _("Newest first")),
                ("oldest", _("Oldest first")),
                ("deadline", _("Deadline, soonest first")),
                ("sent", _("Recently sent")),
                ("platform", _("Platform")),
                ("reference", _("Reference")),
            ],
        },
    )


REQUEST_EXPORT_COLUMNS = (
    Column("id", "id"),
    Column("reference", "reference"),
    Column("platform", "platform__name"),
    Column("request_type", "request_type"),
    Column("legal_basis", "legal_basis"),
    Column("state", "state"),
    Column("is_emergency", "is_emergency"),
    Column("threat_to_life", "threat_to_life"),
    Column("urls", "line_count"),
    Column("urls_open", "open_line_count"),
    Column("urls_removed", "removed_line_count"),
    Column("composed_by", "composed_by__username"),
    Column("approved_by", "approved_by__username"),
    Column("created_at", "created_at"),
    Column("sent_at", "sent_at"),
    Column("deadline", "deadline"),
    Column("closed_at", "closed_at"),
)


@require_GET
@staff_view("cases.view_removalrequest")
def request_export(http_request: HttpRequest) -> HttpResponse:
    """The request list with the same filters and sort, streamed as CSV."""
    filterset = RequestFilterSet(http_request.GET, queryset=request_list_queryset())
    if filterset.form.errors:
        return invalid_filters_response(filterset.form)
    sort = http_request.GET.get("sort", "")
    if sort not in REQUEST_SORTS:
        sort = DEFAULT_REQUEST_SORT
    return queryset_csv_response(
        stem="requests",
        queryset=filterset.qs.order_by(*REQUEST_SORTS[sort]),
        columns=REQUEST_EXPORT_COLUMNS,
    )


# --- compose ----------------------------------------------------------------------


@staff_view("cases.compose_request")
def request_compose_view(http_request: HttpRequest) -> HttpResponse:
    """GET: what is ready to go. POST: compose the weekly drafts, or one request now."""
    ready = platforms_with_ready_items()
    platforms = Platform.objects.filter(pk__in=[row.platform.pk for row in ready]).order_by("name")
    form = ComposeOneForm(
        platforms=platforms, initial={"platform": http_request.GET.get("platform")}
    )
    status, error = 200, ""
    if http_request.method == "POST":
        try:
            if http_request.POST.get("action") == "weekly":
                return _compose_weekly(http_request)
            form = ComposeOneForm(http_request.POST, platforms=platforms)
            if form.is_valid():
                return _compose_one(http_request, form)
            status = 400
        except DomainError as refused:
            status, error = _status_for(refused), refused.message
    return render(
        http_request,
        "cases/requests/compose.html",
        {"ready": ready, "form": form, "error": error},
        status=status,
    )


def _compose_weekly(http_request: HttpRequest) -> HttpResponse:
    # The same service as the scheduled weekly job: upstream notices where the operator
    # cannot act, alerts where nobody could be sent anything.
    result = requests_compose_weekly_run(composed_by=http_request.user)
    for platform in [*result.stuck_platforms, *result.platforms_without_contact]:
        messages.warning(
            http_request,
            _("Nothing drafted for %(platform)s: see the alert on the dashboard.")
            % {"platform": platform.name},
        )
    for waiting in result.skipped_awaiting_approval:
        messages.warning(
            http_request,
            _("Skipped %(platform)s: %(reference)s awaits approval.")
            % {"platform": waiting.platform.name, "reference": waiting.reference},
        )
    for extended in result.extended_drafts:
        messages.success(
            http_request,
            _("Added the new items to draft %(reference)s for %(platform)s.")
            % {"platform": extended.platform.name, "reference": extended.reference},
        )
    drafts = result.all_drafts
    if not drafts:
        if result.extended_drafts:
            return redirect(reverse("requests:list") + "?state=draft")
        if not (
            result.stuck_platforms
            or result.platforms_without_contact
            or result.skipped_awaiting_approval
        ):
            messages.info(http_request, _("Nothing to compose: no approved items are waiting."))
        return redirect("requests:compose")
    messages.success(
        http_request,
        ngettext(
            "Composed %(count)d draft request: %(references)s.",
            "Composed %(count)d draft requests: %(references)s.",
            len(drafts),
        )
        % {"count": len(drafts), "references": ", ".join(d.reference for d in drafts)},
    )
    return redirect(reverse("requests:list") + "?state=draft")


def _compose_one(http_request: HttpRequest, form: ComposeOneForm) -> HttpResponse:
    data = form.cleaned_data
    items = None
    if data["scope"] == ComposeScope.THREAT_TO_LIFE:
        items = ready_items_of(data["platform"], threat_to_life_only=True)
        if not items:
            raise DomainError(
                _("%(platform)s has no approved threat-to-life items waiting to be sent.")
                % {"platform": data["platform"].name}
            )
    # A platform whose operator cannot act gets notices to its upstream providers instead.
    drafts = requests_compose_for_platform(
        platform=data["platform"],
        composed_by=http_request.user,
        items=items,
        request_type=data["request_type"],
        legal_basis=data["legal_basis"],
        is_emergency=data["is_emergency"] and data["request_type"] == RequestType.REMOVAL_ORDER,
    )
    if len(drafts) == 1:
        messages.success(
            http_request,
            _("Draft %(reference)s composed. Submit it for approval when it is right.")
            % {"reference": drafts[0].reference},
        )
        return redirect("requests:detail", pk=drafts[0].pk)
    messages.success(
        http_request,
        _("Notices %(references)s drafted to the upstream providers.")
        % {"references": ", ".join(draft.reference for draft in drafts)},
    )
    return redirect(reverse("requests:list") + "?state=draft")


# --- detail -----------------------------------------------------------------------


def _optional_url(name: str, *args: Any) -> str:
    """A link to a page another part of the app may not have mounted (yet)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _status_for(error: DomainError) -> int:
    return 403 if isinstance(error, PermissionRefused) else 409


def _actions(http_request: HttpRequest, removal_request: RemovalRequest) -> dict[str, bool]:
    user = http_request.user
    state = removal_request.state
    return {
        "submit": state == RequestState.DRAFT and user.has_perm("cases.compose_request"),
        "return_to_draft": state == RequestState.AWAITING_APPROVAL
        and user.has_perm("cases.compose_request"),
        "cancel": state in (RequestState.DRAFT, RequestState.AWAITING_APPROVAL)
        and user.has_perm("cases.compose_request"),
        "remove_item": state == RequestState.DRAFT and user.has_perm("cases.compose_request"),
        "send": state == RequestState.AWAITING_APPROVAL and user.has_perm("cases.approve_request"),
        "is_composer": removal_request.composed_by_id is not None
        and removal_request.composed_by_id == user.pk,
        "record_outcome": user.has_perm("cases.record_outcome"),
        "resume_clock": removal_request.clock_paused_at is not None
        and user.has_perm("cases.record_outcome"),
        "close": RequestState.CLOSED in TRANSITIONS[state]
        and user.has_perm("cases.change_removalrequest"),
        "note": user.has_perm("cases.add_correspondence"),
        "retry_email": user.has_perm("cases.approve_request"),
        "web_form": removal_request.sent_at is not None
        and user.has_perm("cases.add_correspondence"),
    }


def render_request_detail(
    http_request: HttpRequest,
    removal_request: RemovalRequest,
    *,
    bound: dict[str, forms.Form] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The request page; an action that failed re-shows its form with the error next to it.

    Public so that ``notifications`` (the send action) renders the same page.
    """
    detail = request_detail(removal_request, http_request.GET)
    page_forms: dict[str, forms.Form] = {
        "return_to_draft": OptionalReasonForm(prefix="return"),
        "cancel": ReasonForm(prefix="cancel"),
        "close": OptionalReasonForm(prefix="close"),
        "note": NoteForm(),
        "record_outcome": RecordOutcomeForm(request=removal_request),
    }
    page_forms.update(bound or {})
    outcome_form = page_forms["record_outcome"]
    return render(
        http_request,
        "cases/requests/detail.html",
        {
            "detail": detail,
            "lines_page": detail.lines_page,
            "rr": removal_request,
            "forms": page_forms,
            # Labels translated once, not once per line of the page.
            "outcome_choices": [(value, str(label)) for value, label in OFFICER_OUTCOMES],
            "outcome_errors": _form_error_text(outcome_form),
            "errors": errors or {},
            "actions": _actions(http_request, removal_request),
            # Pages other parts of the app provide; linked only once they are mounted.
            "link_items": bool(_optional_url("items:detail", 0)),
            "link_platform": bool(_optional_url("platforms:detail", removal_request.platform_id)),
            "removal_order_hours": settings.REMOVAL_ORDER_DEADLINE_HOURS,
        },
        status=status,
    )


def _form_error_text(form: forms.Form) -> str:
    if not form.is_bound or form.is_valid():
        return ""
    parts = []
    for name, errs in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        text = " ".join(str(e) for e in errs)
        parts.append(f"{label}: {text}" if label else text)
    return " ".join(parts)


@require_GET
@staff_view("cases.view_removalrequest")
def request_detail_view(http_request: HttpRequest, pk: int) -> HttpResponse:
    return render_request_detail(http_request, request_for_detail(pk))


# --- actions (POST only; each redirects back to the detail page) ------------------------

Perform = Callable[[RemovalRequest, dict[str, Any]], str]


def _act(
    http_request: HttpRequest,
    pk: int,
    *,
    action: str,
    perform: Perform,
    form_class: Callable[..., forms.Form] | None = None,
) -> HttpResponse:
    """Parse the action's form, call its service, redirect; or re-show the page with the error."""
    removal_request = request_for_detail(pk)
    form = form_class(http_request.POST) if form_class else None
    bound = {action: form} if form is not None else {}
    if form is not None and not form.is_valid():
        return render_request_detail(http_request, removal_request, bound=bound, status=400)
    try:
        done = perform(removal_request, form.cleaned_data if form is not None else {})
    except DomainError as refused:
        return render_request_detail(
            http_request,
            removal_request,
            bound=bound,
            errors={action: refused.message},
            status=_status_for(refused),
        )
    messages.success(http_request, done)
    return redirect("requests:detail", pk=removal_request.pk)


@require_POST
@staff_view("cases.compose_request")
def request_submit_view(http_request: HttpRequest, pk: int) -> HttpResponse:
    def perform(rr: RemovalRequest, data: dict[str, Any]) -> str:
        request_submit(request=rr, by=http_request.user)
        return _("%(reference)s is awaiting approval by another supervisor.") % {
            "reference": rr.reference
        }

    return _act(http_request, pk, action="submit", perform=perform)


@require_POST
@staff_view("cases.compose_request")
def request_return_to_draft_view(http_request: HttpRequest, pk: int) -> HttpResponse:
    def perform(rr: RemovalRequest, data: dict[str, Any]) -> str:
        request_return_to_draft(request=rr, by=http_request.user, reason=data["reason"])
        return _("%(reference)s is a draft again.") % {"reference": rr.reference}

    return _act(
        http_request,
        pk,
        action="return_to_draft",
        perform=perform,
        form_class=lambda data: OptionalReasonForm(data, prefix="return"),
    )


@require_POST
@staff_view("cases.compose_request")
def request_cancel_view(http_request: HttpRequest, pk: int) -> HttpResponse:
    def perform(rr: RemovalRequest, data: dict[str, Any]) -> str:
        request_cancel(request=rr, by=http_request.user, reason=data["reason"])
        return _("%(reference)s is cancelled; its items can be sent again.") % {
            "reference": rr.reference
        }

    return _act(
        http_request,
        pk,
        action="cancel",
        perform=perform,
        form_class=lambda data: ReasonForm(data, prefix="cancel"),
    )


@require_POST
@staff_view("cases.compose_request")
def request_item_remove_view(http_request: HttpRequest, pk: int) -> HttpResponse:
    def perform(rr: RemovalRequest, data: dict[str, Any]) -> str:
        line = data["line"]
        after = request_item_remove(request=rr, line=line, by=http_request.user)
        if after.state == RequestState.CANCELLED:
            return _(
                "%(url)s was the last URL of %(reference)s: the draft is cancelled and the "
                "URL will go in the next compose."
            ) % {"url": line.item.url_normalised, "reference": rr.reference}
        return _("%(url)s removed from %(reference)s; it will go in the next compose.") % {
            "url": line.item.url_normalised,
            "reference": rr.reference,
        }

    removal_request = request_for_detail(pk)
    return _act(
        http_request,
        pk,
        action="remove_item",
        perform=perform,
        form_class=lambda data: RemoveItemForm(data, request=removal_request),
    )


@require_POST
@staff_view("cases.record_outcome")
def request_record_outcome_view(http_request: HttpRequest, pk: int) -> HttpResponse:
    def perform(rr: RemovalRequest, data: dict[str, Any]) -> str:
        request_item_record_outcome(
            line=data["line"],
            outcome=data["outcome"],
            source=OutcomeSource.OFFICER,
            recorded_by=http_request.user,
            reason=data["reason"],
        )
        return _("Outcome recorded for %(url)s on the operator's behalf.") % {
            "url": data["line"].item.url_normalised
        }

    removal_request = request_for_detail(pk)
    return _act(
        http_request,
        pk,
        action="record_outcome",
        perform=perform,
        form_class=lambda data: RecordOutcomeForm(data, request=removal_request),
    )


@require_POST
@staff_view("cases.record_outcome")
def request_resume_clock_view(http_request: HttpRequest, pk: int) -> HttpResponse:
    def perform(rr: RemovalRequest, data: dict[str, Any]) -> str:
        resumed = request_resume_clock(request=rr, by=http_request.user)
        return _("The clock of %(reference)s runs again; the deadline moved back by the pause.") % {
            "reference": resumed.reference
        }

    return _act(http_request, pk, action="resume_clock", perform=perform)


@require_POST
@staff_view("cases.change_removalrequest")
def request_close_view(http_request: HttpRequest, pk: int) -> HttpResponse:
    def perform(rr: RemovalRequest, data: dict[str, Any]) -> str:
        request_close(request=rr, by=http_request.user, reason=data["reason"])
        return _("%(reference)s is closed.") % {"reference": rr.reference}

    return _act(
        http_request,
        pk,
        action="close",
        perform=perform,
        form_class=lambda data: OptionalReasonForm(data, prefix="close"),
    )


@require_POST
@staff_view("cases.add_correspondence")
def request_note_view(http_request: HttpRequest, pk: int) -> HttpResponse:
    def perform(rr: RemovalRequest, data: dict[str, Any]) -> str:
        request_note_add(request=rr, author=http_request.user, text=data["text"])
        return _("Note added.")

    return _act(http_request, pk, action="note", perform=perform, form_class=NoteForm)
