"""Intake: the paste box, one URL, a CSV file, and the per-line summary that follows.

The summary is shown after a redirect (POST → redirect → GET), so that refreshing it never
refers the URLs again. It is kept in the officer's session, compactly (a few numbers and the
line's text per line; items are re-read by id), under a random key in the summary's URL: a
summary is personal and short-lived, and the session is already server-side (database), so
it needs no new table, migration or clean-up job. Only the last few summaries are kept, so a
5,000-line paste cannot make the session grow without bound.
"""

from __future__ import annotations

import secrets
from typing import Any, NamedTuple

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases.forms.items import CsvIntakeForm, IntakeAttributesForm, PasteIntakeForm, SingleIntakeForm
from cases.selectors.items import (
    items_for_summary,
    items_now_matching_a_platform,
    unmatched_item_hosts,
)
from cases.services.intake import (
    IntakeLine,
    IntakeResult,
    LineResult,
    LineStatus,
    items_match_unknown_platforms,
    items_refer_bulk,
    paste_lines,
)
from cases.services.platform_items import platform_register_for_items
from core.decorators import staff_view
from core.errors import DomainError, PermissionRefused
from platforms.forms import PlatformForm
from platforms.urlnorm import DomainRefused, normalise_domain

SESSION_KEY = "intake_summaries"
SUMMARIES_KEPT = 3
SHOW_CHOICES = ("created", "known", "refused", "unknown_platform")
SUMMARY_PAGE_SIZE = 500


def _initial(request: HttpRequest) -> dict[str, Any]:
    """Links like "refer URLs for this case" preselect the case."""
    return {"case": request.GET["case"]} if request.GET.get("case", "").isdigit() else {}


def _refer(request: HttpRequest, form: IntakeAttributesForm, lines: list[IntakeLine]) -> Any:
    """Run the intake; the result, or None with the refusal added to the form."""
    try:
        return items_refer_bulk(lines=lines, referred_by=request.user, **form.attributes())
    except PermissionRefused:
        raise
    except DomainError as exc:
        form.add_error(None, exc.message)
        return None


def _page(request: HttpRequest, form: IntakeAttributesForm, mode: str) -> HttpResponse:
    return render(
        request,
        "cases/items/intake.html",
        {"form": form, "mode": mode},
        status=400 if form.errors else 200,
    )


@staff_view("cases.add_item")
def intake(request: HttpRequest) -> HttpResponse:
    """The paste box: many URLs, in any text."""
    if request.method != "POST":
        return _page(request, PasteIntakeForm(initial=_initial(request)), "paste")
    form = PasteIntakeForm(request.POST)
    if form.is_valid():
        lines = paste_lines(form.cleaned_data["text"])
        if not lines:
            form.add_error("text", _("Paste at least one URL."))
        elif (result := _refer(request, form, lines)) is not None:
            return redirect("items:intake_result", token=_remember(request, result))
    return _page(request, form, "paste")


@staff_view("cases.add_item")
def intake_single(request: HttpRequest) -> HttpResponse:
    """One URL: straight to its item, or the reason it was refused next to the field."""
    if request.method != "POST":
        return _page(request, SingleIntakeForm(initial=_initial(request)), "single")
    form = SingleIntakeForm(request.POST)
    if form.is_valid():
        line = IntakeLine(number=1, text=form.cleaned_data["url"], extract=False)
        result = _refer(request, form, [line])
        if result is not None:
            outcome = result.lines[0]
            if outcome.status == LineStatus.REFUSED or outcome.item is None:
                form.add_error("url", outcome.reason)
            else:
                _report_single(request, outcome)
                return redirect("items:detail", pk=outcome.item.pk)
    return _page(request, form, "single")


def _report_single(request: HttpRequest, outcome: LineResult) -> None:
    item = outcome.item
    assert item is not None
    if outcome.status == LineStatus.CREATED:
        messages.success(request, _("The URL was referred; it now awaits approval."))
        return
    first = item.created_by
    messages.info(
        request,
        _(
            "This URL was already known: first referred by %(who)s on %(when)s. "
            "Your referral was added to the same item."
        )
        % {
            "who": first.get_full_name() or first.get_username(),
            "when": item.created_at.strftime("%Y-%m-%d"),
        },
    )


@staff_view("cases.add_item")
def intake_csv(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, CsvIntakeForm(initial=_initial(request)), "csv")
    form = CsvIntakeForm(request.POST, request.FILES)
    if form.is_valid():
        result = _refer(request, form, form.cleaned_data["file"])
        if result is not None:
            return redirect("items:intake_result", token=_remember(request, result))
    return _page(request, form, "csv")


# --- the summary --------------------------------------------------------------------------------


def _remember(request: HttpRequest, result: IntakeResult) -> str:
    token = secrets.token_urlsafe(12)
    summaries = dict(request.session.get(SESSION_KEY, {}))
    summaries[token] = [
        [
            r.line,
            r.status.value,
            r.item.pk if r.item else None,
            r.text,
            r.reason,
            r.same_as_line,
            r.registrable_domain,
        ]
        for r in result.lines
    ]
    # dicts keep insertion order: the oldest summaries go first.
    for old in list(summaries)[:-SUMMARIES_KEPT]:
        del summaries[old]
    request.session[SESSION_KEY] = summaries
    return token


class _Stored(NamedTuple):
    """One line of a summary as kept in the session (see ``_remember``)."""

    line: int
    status: str
    item_id: int | None
    text: str
    reason: str
    same_as_line: int | None
    registrable_domain: str


@staff_view("cases.add_item")
def intake_result(request: HttpRequest, token: str) -> HttpResponse:
    stored = request.session.get(SESSION_KEY, {}).get(token)
    if stored is None:
        return render(request, "cases/items/intake_expired.html", status=404)
    if request.method == "POST":
        # Back from "create platform for …": give the waiting items their platform now.
        matched = items_match_unknown_platforms()
        messages.success(
            request,
            ngettext(
                "%(count)d item was matched to its platform.",
                "%(count)d items were matched to their platforms.",
                matched,
            )
            % {"count": matched},
        )
        return redirect("items:intake_result", token=token)

    lines = [_Stored(*row) for row in stored]
    # Which items still have no platform, as of now (one light query, no model instances).
    unmatched = unmatched_item_hosts([ln.item_id for ln in lines if ln.item_id is not None])
    show = request.GET.get("show", "")
    if show == "unknown_platform":
        shown = [ln for ln in lines if ln.item_id in unmatched]
    elif show in SHOW_CHOICES:
        shown = [ln for ln in lines if ln.status == show]
    else:
        show, shown = "", lines
    # A 5,000-line summary is paged: only the page's items are read and rendered.
    page_count = max(1, -(-len(shown) // SUMMARY_PAGE_SIZE))
    page = min(max(_int(request.GET.get("page"), 1), 1), page_count)
    on_page = shown[(page - 1) * SUMMARY_PAGE_SIZE : page * SUMMARY_PAGE_SIZE]
    items = items_for_summary([ln.item_id for ln in on_page if ln.item_id is not None])
    rows = [
        LineResult(
            line=ln.line,
            text=ln.text,
            status=LineStatus(ln.status),
            item=items.get(ln.item_id) if ln.item_id is not None else None,
            reason=ln.reason,
            same_as_line=ln.same_as_line,
            registrable_domain=ln.registrable_domain,
        )
        for ln in on_page
    ]
    return render(
        request,
        "cases/items/intake_result.html",
        {
            "counts": {
                status: sum(1 for ln in lines if ln.status == status) for status in LineStatus
            },
            "unknown_platform_count": len(unmatched),
            "unknown_domains": sorted(
                {ln.registrable_domain for ln in lines if ln.item_id in unmatched} - {""}
            ),
            "matchable": items_now_matching_a_platform(unmatched),
            "rows": rows,
            "show": show,
            "page": page,
            "page_count": page_count,
            "first_line_shown": (page - 1) * SUMMARY_PAGE_SIZE + 1,
            "last_line_shown": (page - 1) * SUMMARY_PAGE_SIZE + len(rows),
            "lines_shown": len(shown),
            "token": token,
        },
    )


@staff_view(
    "cases.add_item", "cases.change_item", "platforms.view_platform", "platforms.add_platform"
)
def intake_register_platform(request: HttpRequest, token: str) -> HttpResponse:
    """ "Create platform for example.org?" from the summary: register it and claim its items.

    The platform's own form, posted here rather than to the platforms app, so that the claim
    happens in the same POST (platforms cannot call into cases); back to the summary after.
    """
    if token not in request.session.get(SESSION_KEY, {}):
        return render(request, "cases/items/intake_expired.html", status=404)
    back_url = reverse("items:intake_result", kwargs={"token": token})
    prefill = _platform_prefill(request.GET.get("domain", ""))
    if request.method == "POST":
        form = PlatformForm(request.POST)
        if form.is_valid():
            try:
                platform, claimed = platform_register_for_items(
                    actor=request.user,
                    domains=form.cleaned_data["domains"],
                    **form.platform_fields(),
                )
            except PermissionRefused:
                raise
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    ngettext(
                        "Registered %(name)s and matched %(count)d item to it.",
                        "Registered %(name)s and matched %(count)d items to it.",
                        claimed,
                    )
                    % {"name": platform.name, "count": claimed},
                )
                return redirect(back_url)
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
            "next_url": back_url,
            "prefill_domain": prefill.get("domains", ""),
        },
        status=status,
    )


def _platform_prefill(raw: str) -> dict[str, str]:
    """The summary's unknown domain as the new platform's domain and suggested name."""
    raw = raw.strip()[:300]
    if not raw:
        return {}
    try:
        domain = normalise_domain(raw)
    except DomainRefused:
        return {"domains": raw}
    return {"name": domain, "domains": domain}


def _int(value: str | None, default: int) -> int:
    try:
        return int(value or default)
    except ValueError:
        return default
