"""Two-factor sign-in for staff (TOTP, django-otp): enrolment, verification, the gate.

With STAFF_REQUIRE_2FA (always on in config.settings.production) every signed-in request
that has not passed a TOTP code in this session goes to /accounts/2fa/ — or, for a user
without a confirmed device, to /accounts/2fa/setup/. The admin is behind the same gate.
The secret is shown to its user once, while enrolling, and never logged or audited.
"""

from __future__ import annotations

from base64 import b32encode
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.audit import audit_record

DEVICE_NAME = "Authenticator app"


def totp_device_confirmed(*, user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def totp_device_pending(*, user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()


def _audit(user: Any, action: str, device: TOTPDevice) -> None:
    # The device's id only: its key is a secret and has no place in the audit trail.
    audit_record(actor=user, action=action, target=user, extra={"device": device.pk})


@transaction.atomic
def totp_enrolment_start(*, user: Any) -> TOTPDevice:
    """A new unconfirmed device with a fresh secret; any earlier unconfirmed one is dropped."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    _audit(user, "security.2fa_enrolment_started", device)
    return device


def _check(request: HttpRequest, device: TOTPDevice | None, token: str) -> TOTPDevice | None:
    if device is None:
        return None
    # django_otp.verify_token locks the device row, so its throttling holds under races.
    matched = verify_token(request.user, device.persistent_id, token.strip())
    if matched is None:
        _audit(request.user, "security.2fa_failed", device)
    return matched


def totp_enrolment_confirm(*, request: HttpRequest, token: str) -> bool:
    """Confirm the pending device with a code it shows; on success this session is verified."""
    device = _check(request, totp_device_pending(user=request.user), token)
    if device is None:
        return False
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        _audit(request.user, "security.2fa_enrolled", device)
    otp_login(request, device)
    return True


def totp_sign_in_verify(*, request: HttpRequest, token: str) -> bool:
    """Check a code against the user's confirmed device; on success this session is verified."""
    device = _check(request, totp_device_confirmed(user=request.user), token)
    if device is None:
        return False
    _audit(request.user, "security.2fa_verified", device)
    otp_login(request, device)
    return True


def totp_secret_base32(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it when typed in: base32 in groups of four."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def totp_qr_svg(device: TOTPDevice) -> SafeString:
    """The otpauth:// URL as an inline SVG QR code (no style attribute: the CSP allows none)."""
    svg = segno.make(device.config_url, error="m").svg_inline(
        scale=5, svgclass="totp-qr", title="QR code for your authenticator app"
    )
    return mark_safe(svg)  # noqa: S308 - segno's own markup; the URL is only drawn as modules


# --- the gate -------------------------------------------------------------------------------


def _exempt(path: str) -> bool:
    static = settings.STATIC_URL or "/static/"
    static = static if static.startswith("/") else f"/{static}"
    exempt_prefixes = (
        reverse("login"),
        reverse("logout"),
        reverse("two_factor_verify"),  # and setup below it
        reverse("healthz"),
        static,
        "/r/",
    )
    return path.startswith(exempt_prefixes)


class StaffTwoFactorMiddleware:
    """Send a signed-in but not OTP-verified user to verify (or enrol) before anything else.

    After django_otp's OTPMiddleware, which gives request.user is_verified().
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if getattr(settings, "STAFF_REQUIRE_2FA", False):
            user: Any = request.user
            if user.is_authenticated and not user.is_verified() and not _exempt(request.path):
                has_device = totp_device_confirmed(user=user) is not None
                target = reverse("two_factor_verify" if has_device else "two_factor_setup")
                query = urlencode({"next": request.get_full_path()})
                return HttpResponseRedirect(f"{target}?{query}")
        return self.get_response(request)
