"""The operator portal: one page per capability link, the answer form, the receipt.

Every way a link can be wrong (unknown, expired, revoked, request closed) gets
the same 404 page; GET never changes anything (mail scanners open links).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language

from cases.models import UNANSWERED_OUTCOMES, LegalBasis, Outcome, RequestType
from core.errors import DomainError
from notifications.emails import format_deadline
from portal.csrf import portal_csrf_protect
from portal.forms import ANSWER_CHOICES, GROUND_CHOICES, parse_submission
from portal.models import PortalLink
from portal.ratelimit import bad_token_count, bad_token_limit_reached
from portal.services import (
    COMMENT_MAX_LENGTH,
    FORWARDED_TO_MAX_LENGTH,
    GENERAL_COMMENT_MAX_LENGTH,
    QUESTION_MAX_LENGTH,
    OperatorRefusal,
    portal_link_for_token,
    portal_receipt,
    portal_submission_record,
    portal_submissions,
)

INVALID_TEMPLATE = "portal/invalid.html"


def _invalid(request: HttpRequest) -> HttpResponse:
    return render(request, INVALID_TEMPLATE, status=404)


def _too_many(request: HttpRequest) -> HttpResponse:
    response = render(request, "portal/too_many.html", status=429)
    response["Retry-After"] = str(settings.PORTAL_BAD_TOKEN_WINDOW_SECONDS)
    return response


def _link_or_refusal(request: HttpRequest, token: str) -> PortalLink | HttpResponse:
    # The token is checked first: a valid link is never refused because others behind
    # the same address guessed badly (issue 10, point 5). Only misses count and are
    # limited; a lookup is one indexed query on a 256-bit hash, so a guesser gains nothing.
    link = portal_link_for_token(token)
    if link is not None:
        return link
    if bad_token_limit_reached(request):
        return _too_many(request)
    bad_token_count(request)
    return _invalid(request)


def _language(request: HttpRequest, link: PortalLink) -> str:
    """The operator's own choice (the switcher's cookie), else the contact's language."""
    available = {code for code, _ in settings.LANGUAGES}
    if request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) in available:
        return str(request.COOKIES[settings.LANGUAGE_COOKIE_NAME])
    language = link.contact.effective_language
    return language if language in available else settings.LANGUAGE_CODE


def _render(
    request: HttpRequest,
    link: PortalLink,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> HttpResponse:
    language = _language(request, link)
    with translation.override(language):
        response = render(
            request, template, {"link": link, "rr": link.request, **context}, status=status
        )
    response["Content-Language"] = language
    return response


def _page(
    request: HttpRequest,
    link: PortalLink,
    token: str,
    *,
    error: str = "",
    values: dict[int, dict[str, str]] | None = None,
    general_comment: str = "",
    status: int = 200,
) -> HttpResponse:
    rr = link.request
    deadline_utc, deadline_local = format_deadline(rr.deadline)
    values = values or {}
    lines = [
        {
            "line": line,
            "number": number,
            "values": values.get(line.pk, {}),
            # An answered URL shows its answer and needs an explicit "Change this answer".
            "answered": line.outcome not in UNANSWERED_OUTCOMES,
        }
        for number, line in enumerate(rr.lines.select_related("item").order_by("id"), start=1)
    ]
    unanswered = sum(1 for entry in lines if not entry["answered"])
    submissions = [
        {
            "receipt": c.payload.get("receipt", ""),
            "sequence": c.payload.get("sequence"),
            "at": c.created_at,
            "answered": len(c.payload.get("answers", {})),
        }
        for c in portal_submissions(link)
    ]
    return _render(
        request,
        link,
        "portal/page.html",
        {
            "token": token,
            "unit_name": settings.UNIT_NAME,
            "request_type": RequestType(rr.request_type).label,
            "legal_basis": LegalBasis(rr.legal_basis).label,
            "is_removal_order": rr.request_type == RequestType.REMOVAL_ORDER,
            "deadline_utc": deadline_utc,
            "deadline_local": deadline_local,
            "lines": lines,
            "unanswered": unanswered,
            "answered_count": len(lines) - unanswered,
            "answer_choices": ANSWER_CHOICES,
            "ground_choices": GROUND_CHOICES,
            "submissions": submissions,
            "error": error,
            "general_comment": general_comment,
            "limits": {
                "comment": COMMENT_MAX_LENGTH,
                "question": QUESTION_MAX_LENGTH,
                "forwarded_to": FORWARDED_TO_MAX_LENGTH,
                "general_comment": GENERAL_COMMENT_MAX_LENGTH,
            },
        },
        status=status,
    )


@portal_csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def portal_page_view(request: HttpRequest, token: str) -> HttpResponse:
    found = _link_or_refusal(request, token)
    if isinstance(found, HttpResponse):
        return found
    link = found
    if request.method != "POST":
        return _page(request, link, token)
    line_ids = list(link.request.lines.values_list("pk", flat=True))
    parsed = parse_submission(request.POST, line_ids)
    try:
        receipt = portal_submission_record(
            link=link,
            answers=parsed.answers,
            all_removed=parsed.all_removed,
            general_comment=parsed.general_comment,
        )
    except DomainError as refused:
        # Worded for the operator: in the language the page is shown in.
        with translation.override(_language(request, link)):
            if isinstance(refused, OperatorRefusal):
                message = refused.translated()
            else:
                message = refused.message
        return _page(
            request,
            link,
            token,
            error=message,
            values=parsed.values,
            general_comment=parsed.general_comment,
            status=400,
        )
    return redirect("portal:receipt", token=token, sequence=receipt.sequence)


def portal_receipt_view(request: HttpRequest, token: str, sequence: int) -> HttpResponse:
    found = _link_or_refusal(request, token)
    if isinstance(found, HttpResponse):
        return found
    link = found
    submission = portal_receipt(link, sequence)
    if submission is None:
        return _invalid(request)
    urls = dict(link.request.lines.values_list("pk", "item__url_normalised"))
    choices = dict(ANSWER_CHOICES)
    grounds = dict(GROUND_CHOICES)
    with translation.override(_language(request, link)):
        bulk_message = _bulk_message(submission.payload)
    outcome_labels = dict(Outcome.choices)
    answers = [
        {
            "url": urls.get(int(line_id), ""),
            "answer": choices.get(answer["outcome"], answer["outcome"]),
            # The answer this one amends (its label), if it changed an earlier answer.
            "amends": outcome_labels.get(answer["amends"], "") if answer.get("amends") else "",
            "ground": grounds.get(answer["ground"], "") if answer.get("ground") else "",
            **{key: answer.get(key, "") for key in ("forwarded_to", "question", "comment")},
        }
        for line_id, answer in submission.payload.get("answers", {}).items()
    ]
    return _render(
        request,
        link,
        "portal/receipt.html",
        {
            "token": token,
            "unit_name": settings.UNIT_NAME,
            "submission": submission,
            "receipt": submission.payload.get("receipt", ""),
            "answers": answers,
            "bulk_message": bulk_message,
            "general_comment": submission.payload.get("general_comment", ""),
        },
    )


def _bulk_message(payload: dict[str, Any]) -> str:
    """What "All removed" did, in the page's language (called inside its override)."""
    if not payload.get("all_removed") or "all_removed_applied" not in payload:
        return ""  # not a bulk answer, or one stored before the counts were kept
    applied = int(payload.get("all_removed_applied", 0))
    left = int(payload.get("all_removed_left", 0))
    # Two whole sentences, each with its own plural forms (Arabic has six, Polish three).
    parts = [
        ngettext(
            "“All removed” was applied to %(count)d URL without an answer.",
            "“All removed” was applied to %(count)d URLs without an answer.",
            applied,
        )
        % {"count": applied}
    ]
    if left:
        parts.append(
            ngettext(
                "%(count)d URL already answered was left as it was.",
                "%(count)d URLs already answered were left as they were.",
                left,
            )
            % {"count": left}
        )
    return " ".join(parts)


@portal_csrf_protect
@require_POST
def portal_set_language_view(request: HttpRequest) -> HttpResponse:
    """Django's set_language, on a portal path so it gets the portal's headers."""
    return set_language(request)
