"""The floor every page is measured against: one indexed query of 50 rows, a trivial page.

Routed only by the benchmark's own urlconf (benchmarks/urls_bench.py), never in production.
It goes through the same middleware as a staff page (session, user, CSP, ...), so a page's
ratio to it is what the page adds on top of Django itself.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cases.models import Item

BARE_ROWS = 50


@login_required
def bare_list(request: HttpRequest) -> HttpResponse:
    items = list(
        Item.objects.only("id", "url_normalised", "created_at").order_by("-created_at", "-id")[
            :BARE_ROWS
        ]
    )
    return render(request, "benchmarks/bare.html", {"items": items})
