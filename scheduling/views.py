"""The system health page: periodic jobs, the queue, failures, mail and verification backlogs."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.decorators import staff_view
from scheduling.jobs import JOBS
from scheduling.selectors import system_health
from scheduling.services import job_run_request


@require_GET
@staff_view("scheduling.view_jobrun")
def health(request: HttpRequest) -> HttpResponse:
    return render(request, "scheduling/health.html", {"health": system_health()})


@require_POST
@staff_view("scheduling.run_job_now")
def run_now(request: HttpRequest, name: str) -> HttpResponse:
    job_run_request(name=name, by=request.user)
    messages.success(request, _("%(job)s will run in a moment.") % {"job": JOBS[name].label})
    return redirect("scheduling:health")
