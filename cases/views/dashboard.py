from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cases.selectors.dashboard import dashboard_for
from core.decorators import staff_view


@staff_view()
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "cases/dashboard.html", {"board": dashboard_for(request.user)})
