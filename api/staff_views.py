"""Account > API tokens: a staff user lists, creates and revokes their own tokens."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from api.models import ApiToken
from api.services import NAME_MAX_LENGTH, api_token_issue, api_token_revoke
from core.decorators import staff_view
from core.errors import DomainError

# The newest this many are listed (a person has a handful; a runaway script is capped).
TOKENS_SHOWN = 100


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("What will use it"),
        max_length=NAME_MAX_LENGTH,
        help_text=_("For example 'crawler' or 'weekly report script'."),
    )
    valid_days = forms.IntegerField(
        label=_("Valid for (days)"), min_value=1, max_value=3650, initial=365
    )


def _page(
    request: HttpRequest, form: TokenForm, *, secret: str = "", status: int = 200
) -> HttpResponse:
    user: Any = request.user  # signed in (staff_view)
    tokens = list(ApiToken.objects.filter(user=user)[:TOKENS_SHOWN])
    return render(
        request,
        "api/tokens.html",
        {"form": form, "tokens": tokens, "secret": secret},
        status=status,
    )


@staff_view()
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, TokenForm())
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        issued = api_token_issue(
            user=request.user,
            name=form.cleaned_data["name"],
            by=request.user,
            valid_days=form.cleaned_data["valid_days"],
        )
    except DomainError as error:
        form.add_error(None, error.message)
        return _page(request, form, status=400)
    # Shown in this answer only (no redirect: the secret would have to wait in the session).
    return _page(request, TokenForm(), secret=issued.secret)


@staff_view()
@require_POST
def api_token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    api_token_revoke(token=token, by=request.user)
    messages.success(
        request, _("The token %(prefix)s… no longer works.") % {"prefix": token.prefix}
    )
    return redirect("api_tokens")
