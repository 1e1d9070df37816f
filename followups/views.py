"""The follow-ups page: when the weekly compose runs, and the ladder per type and platform."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cases.models import LadderPolicy, RequestType
from cases.selectors.ladder import ladder_policies
from cases.services.ladder import ladder_policy_delete, ladder_policy_save
from core.alerts import alert_dismiss
from core.decorators import staff_view
from core.errors import DomainError, PermissionRefused
from core.models import Alert
from followups.forms import ComposeScheduleForm, LadderForm
from followups.selectors import compose_schedule_get
from followups.services import compose_schedule_update


def _ladder_form(policy: LadderPolicy, key: str) -> LadderForm:
    # Unique ids per form on one page; the field names stay the same for every form.
    return LadderForm(initial=LadderForm.initial_for(policy), auto_id=f"id_{key}_%s")


def _page(
    http_request: HttpRequest,
    *,
    schedule_form: ComposeScheduleForm | None = None,
    bound_key: str = "",
    bound_form: LadderForm | None = None,
    status: int = 200,
) -> HttpResponse:
    schedule = compose_schedule_get()
    policies = ladder_policies()
    defaults: list[tuple[LadderPolicy, str, LadderForm]] = []
    overrides: list[tuple[LadderPolicy, str, LadderForm]] = []
    for policy in policies:
        key = f"ladder-{policy.pk}"
        form = bound_form if bound_key == key and bound_form else _ladder_form(policy, key)
        (overrides if policy.platform_id else defaults).append((policy, key, form))
    new_override = (
        bound_form
        if bound_key == "new" and bound_form
        else LadderForm(initial={"request_type": RequestType.REFERRAL}, auto_id="id_new_%s")
    )
    return render(
        http_request,
        "followups/settings.html",
        {
            "schedule": schedule,
            "schedule_form": schedule_form or ComposeScheduleForm(instance=schedule),
            "defaults": defaults,
            "overrides": overrides,
            "new_override": new_override,
            "request_types": RequestType.choices,
        },
        status=status,
    )


@require_GET
@staff_view("followups.view_composeschedule", "cases.view_ladderpolicy")
def followups_settings(http_request: HttpRequest) -> HttpResponse:
    return _page(http_request)


@require_POST
@staff_view("followups.change_composeschedule")
def schedule_update(http_request: HttpRequest) -> HttpResponse:
    form = ComposeScheduleForm(http_request.POST, instance=compose_schedule_get())
    if form.is_valid():
        try:
            compose_schedule_update(
                by=http_request.user,
                weekday=form.cleaned_data["weekday"],
                time_of_day=form.cleaned_data["time_of_day"],
                enabled=form.cleaned_data["enabled"],
            )
        except DomainError as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(http_request, _("The weekly compose schedule was saved."))
            return redirect("followups:settings")
    return _page(http_request, schedule_form=form, status=400)


@require_POST
@staff_view("cases.change_ladderpolicy")
def ladder_save(http_request: HttpRequest) -> HttpResponse:
    key = http_request.POST.get("form_key", "new")
    form = LadderForm(http_request.POST, auto_id=f"id_{key}_%s")
    if form.is_valid() and key == "new" and form.cleaned_data["platform"] is None:
        # The "add for one platform" form must never change a default by omission.
        form.add_error("platform", _("Choose the platform this ladder is for."))
    if form.is_valid():
        fields: dict[str, Any] = form.durations()
        try:
            ladder_policy_save(
                by=http_request.user,
                request_type=form.cleaned_data["request_type"],
                platform=form.cleaned_data["platform"],
                **fields,
            )
        except DomainError as refused:
            if isinstance(refused, PermissionRefused):
                raise
            form.add_error(None, refused.message)
        else:
            messages.success(http_request, _("The follow-up ladder was saved."))
            return redirect("followups:settings")
    return _page(http_request, bound_key=key, bound_form=form, status=400)


@require_POST
@staff_view("cases.delete_ladderpolicy")
def ladder_delete(http_request: HttpRequest, pk: int) -> HttpResponse:
    policy = get_object_or_404(LadderPolicy, pk=pk)
    ladder_policy_delete(by=http_request.user, policy=policy)
    messages.success(http_request, _("The platform follows the default ladder again."))
    return redirect("followups:settings")


@require_POST
@staff_view()
def alert_dismiss_view(http_request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=pk, dismissed_at__isnull=True)
    alert_dismiss(alert=alert, by=http_request.user)
    return redirect("dashboard")
