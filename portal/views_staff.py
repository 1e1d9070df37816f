"""Staff actions on the request page: revoke or re-issue a portal link, answer a question.

Mounted only in the staff URLconf (config/urls.py), never in the portal service.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases.models import Outcome, RemovalRequest
from core.decorators import staff_view
from core.errors import DomainError
from notifications.portal_links import portal_link_reissue
from notifications.services import request_clarification_answer
from platforms.models import Contact
from portal.models import PortalLink
from portal.services import portal_link_revoke


class ClarificationAnswerForm(forms.Form):
    contact = forms.IntegerField()
    question = forms.CharField(required=False, max_length=4000, strip=False)
    answer = forms.CharField(max_length=10000)


@require_POST
@staff_view("cases.approve_request")
def portal_link_revoke_view(http_request: HttpRequest, link_id: int) -> HttpResponse:
    link = get_object_or_404(PortalLink.objects.select_related("request"), pk=link_id)
    try:
        portal_link_revoke(link=link, by=http_request.user)
    except DomainError as refused:
        messages.error(http_request, refused.message)
    else:
        messages.success(
            http_request,
            _("The portal link of %(contact)s is revoked.") % {"contact": link.contact},
        )
    return redirect("requests:detail", pk=link.request_id)


@require_POST
@staff_view("cases.approve_request")
def portal_link_reissue_view(http_request: HttpRequest, link_id: int) -> HttpResponse:
    """Staff never copy a link (none is stored): they have a new one emailed to the contact."""
    link = get_object_or_404(PortalLink.objects.select_related("request", "contact"), pk=link_id)
    try:
        portal_link_reissue(link=link, by=http_request.user)
    except DomainError as refused:
        messages.error(http_request, refused.message)
    else:
        messages.success(
            http_request,
            _("A new portal link is on its way to %(contact)s; the old one no longer works.")
            % {"contact": link.contact.email},
        )
    return redirect("requests:detail", pk=link.request_id)


@require_POST
@staff_view("cases.record_outcome")
def clarification_answer_view(http_request: HttpRequest, pk: int) -> HttpResponse:
    removal_request = get_object_or_404(RemovalRequest, pk=pk)
    form = ClarificationAnswerForm(http_request.POST)
    if not form.is_valid():
        messages.error(http_request, _("Write an answer before sending it."))
        return redirect("requests:detail", pk=pk)
    contact = get_object_or_404(Contact, pk=form.cleaned_data["contact"])
    # Only a contact who asked on this request can be answered this way.
    asked = removal_request.lines.filter(
        outcome=Outcome.NEEDS_INFO, outcome_records__contact=contact
    ).exists()
    if not asked:
        messages.error(http_request, _("That contact has no open question on this request."))
        return redirect("requests:detail", pk=pk)
    try:
        request_clarification_answer(
            request=removal_request,
            contact=contact,
            by=http_request.user,
            question=form.cleaned_data["question"],
            answer=form.cleaned_data["answer"],
        )
    except DomainError as refused:
        messages.error(http_request, refused.message)
    else:
        messages.success(http_request, _("Answer sent to %(contact)s.") % {"contact": contact})
    return redirect("requests:detail", pk=pk)
