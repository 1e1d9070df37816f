"""The system health page: periodic jobs, the queue, failures, mail and verification backlogs."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.decorators import staff_view
from scheduling.selectors import system_health


@require_GET
@staff_view("scheduling.view_jobrun")
def health(request: HttpRequest) -> HttpResponse:
    return render(request, "scheduling/health.html", {"health": system_health()})
