"""A staff user's own account: password change and two-factor sign-in."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from core.audit import audit_record
from core.twofactor import (
    totp_device_confirmed,
    totp_device_pending,
    totp_enrolment_confirm,
    totp_enrolment_start,
    totp_qr_svg,
    totp_secret_base32,
    totp_sign_in_verify,
)


class _UsernameLengthChecked:
    """Refuse an over-long username before anyone authenticates it.

    AuthenticationForm sets the username field's max_length after the field is built, so the
    length is never validated: a 10,000-character name reached authenticate() and the sign-in
    lockout's varchar(255) row, a 500 instead of a message.
    """

    fields: dict[str, Any]
    cleaned_data: dict[str, Any]

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"]
        limit = self.fields["username"].max_length or 150
        if len(username) > limit:
            raise ValidationError(
                _("A username has at most %(limit)d characters."),
                code="max_length",
                params={"limit": limit},
            )
        return username


class SignInForm(_UsernameLengthChecked, AuthenticationForm):
    """The staff sign-in form."""


class AdminSignInForm(_UsernameLengthChecked, AdminAuthenticationForm):
    """The admin's own sign-in form, with the same check."""


class SignInView(auth_views.LoginView):
    authentication_form = SignInForm


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's view (it keeps this session and so ends every other one), plus an audit row."""

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        audit_record(actor=self.request.user, action="security.password_changed", target=form.user)
        return response


# --- two-factor sign-in (core.twofactor) -------------------------------------------------


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code from your authenticator app"),
        min_length=6,
        max_length=8,
        strip=True,
        validators=[RegexValidator(r"^\d+$", _("The code is digits only."))],
    )


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return candidate if safe else resolve_url(settings.LOGIN_REDIRECT_URL)


WRONG_CODE = _(
    "That code was not accepted. Enter the code your app shows now "
    "(after a wrong code, wait a few seconds before the next try)."
)


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if user.is_verified():
        return redirect(_next_url(request))
    if totp_device_confirmed(user=user) is None:
        return redirect(f"{reverse('two_factor_setup')}?{urlencode({'next': _next_url(request)})}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if totp_sign_in_verify(request=request, token=form.cleaned_data["token"]):
            return redirect(_next_url(request))
        form.add_error("token", WRONG_CODE)
    return render(
        request, "registration/two_factor_verify.html", {"form": form, "next": _next_url(request)}
    )


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: start (POST) makes a secret, the code (POST) confirms it."""
    user: Any = request.user
    if totp_device_confirmed(user=user) is not None:
        # Enrolled already: a new device only after an admin removed the old one.
        return redirect(f"{reverse('two_factor_verify')}?{urlencode({'next': _next_url(request)})}")
    form = TokenForm()
    if request.method == "POST" and "start" in request.POST:
        totp_enrolment_start(user=user)
    elif request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            if totp_enrolment_confirm(request=request, token=form.cleaned_data["token"]):
                messages.success(request, _("Two-factor sign-in is set up."))
                return redirect(_next_url(request))
            form.add_error("token", WRONG_CODE)
    device = totp_device_pending(user=user)
    context: dict[str, Any] = {"form": form, "next": _next_url(request), "device": device}
    if device is not None:
        context |= {"qr_svg": totp_qr_svg(device), "secret": totp_secret_base32(device)}
    return render(request, "registration/two_factor_setup.html", context)
