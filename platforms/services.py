"""Writes about platforms, their domains, contacts and upstream providers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from core.access import require_permission
from core.alerts import alert_close, alert_raise
from core.audit import audit_record
from core.errors import DomainError, DuplicateError, IllegalTransition
from core.validators import no_header_breaks
from platforms.models import (
    Contact,
    ContactChannel,
    Platform,
    PlatformDomain,
    PlatformKind,
    PlatformStatus,
    UpstreamProvider,
)
from platforms.urlnorm import DomainRefused, normalise_domain

PLATFORM_FIELDS = (
    "name",
    "kind",
    "tier",
    "architecture",
    "country",
    "status",
    "operator_can_act",
    "response_target_days",
    "preferred_language",
    "notes",
)


def _clean_domains(domains: list[str]) -> list[str]:
    cleaned: list[str] = []
    for raw in domains:
        if not raw.strip():
            continue
        try:
            domain = normalise_domain(raw)
        except DomainRefused as exc:
            raise DomainError(f"{raw!r}: {exc.message}") from exc
        if domain not in cleaned:
            cleaned.append(domain)
    return cleaned


def _refuse_taken_domains(domains: list[str], *, platform: Platform | None) -> None:
    taken = PlatformDomain.objects.filter(domain__in=domains).select_related("platform")
    if platform is not None:
        taken = taken.exclude(platform=platform)
    for row in taken:
        raise DuplicateError(f"The domain {row.domain} already belongs to {row.platform.name}.")


def _refuse_header_breaks(value: str) -> None:
    # A platform's name goes into every request email's subject (issue 10, point 9).
    try:
        no_header_breaks(value)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages)) from exc


def _refuse_taken_name(name: str, *, platform: Platform | None) -> None:
    _refuse_header_breaks(name)
    clash = Platform.objects.filter(name__iexact=name.strip())
    if platform is not None:
        clash = clash.exclude(pk=platform.pk)
    if clash.exists():
        raise DuplicateError(f"A platform named {name.strip()!r} already exists.")


def _validate_platform(platform: Platform) -> None:
    """Field checks as a DomainError for the person who typed them; the name is checked apart."""
    try:
        platform.full_clean(exclude=["upstream_providers"], validate_constraints=False)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages)) from exc
    if not 1 <= platform.response_target_days <= 365:
        raise DomainError("The response target must be between 1 and 365 days.")


@transaction.atomic
def platform_create(*, actor: Any, domains: list[str], **fields: Any) -> Platform:
    """Register a platform with its domains (normalised; each domain belongs to one platform)."""
    unknown = set(fields) - set(PLATFORM_FIELDS)
    if unknown:
        raise TypeError(f"Unknown platform fields: {sorted(unknown)}")
    if not str(fields.get("name", "")).strip():
        raise DomainError("A platform needs a name.")
    fields["name"] = str(fields["name"]).strip()
    cleaned = _clean_domains(domains)
    _refuse_taken_name(fields["name"], platform=None)
    _refuse_taken_domains(cleaned, platform=None)
    platform = Platform(**fields)
    _validate_platform(platform)
    platform.save()
    PlatformDomain.objects.bulk_create(
        [PlatformDomain(platform=platform, domain=d) for d in cleaned]
    )
    audit_record(
        actor=actor,
        action="platform.created",
        target=platform,
        new={"name": platform.name, "domains": cleaned},
    )
    return platform


@transaction.atomic
def platform_update(
    *, platform: Platform, actor: Any, domains: list[str] | None = None, **fields: Any
) -> Platform:
    unknown = set(fields) - set(PLATFORM_FIELDS)
    if unknown:
        raise TypeError(f"Unknown platform fields: {sorted(unknown)}")
    old = {name: str(getattr(platform, name)) for name in fields}
    if "name" in fields:
        fields["name"] = str(fields["name"]).strip()
        if not fields["name"]:
            raise DomainError("A platform needs a name.")
        _refuse_taken_name(fields["name"], platform=platform)
    for name, value in fields.items():
        setattr(platform, name, value)
    _validate_platform(platform)
    changed = [*fields, "updated_at"]
    if fields.get("status") == PlatformStatus.DEFUNCT and platform.defunct_suspected_at:
        # Marked defunct by hand: the sweep's open question is answered with it.
        platform.defunct_suspected_at = None
        changed.append("defunct_suspected_at")
        alert_close(key=_defunct_alert_key(platform), by=actor)
    # Only what was edited: the sweep may have flagged the platform meanwhile.
    platform.save(update_fields=changed)
    new = {name: str(getattr(platform, name)) for name in fields}
    if domains is not None:
        cleaned = _clean_domains(domains)
        _refuse_taken_domains(cleaned, platform=platform)
        before = sorted(platform.domains.values_list("domain", flat=True))
        platform.domains.exclude(domain__in=cleaned).delete()
        PlatformDomain.objects.bulk_create(
            [PlatformDomain(platform=platform, domain=d) for d in cleaned if d not in before]
        )
        old["domains"], new["domains"] = before, sorted(cleaned)  # type: ignore[assignment]
    audit_record(actor=actor, action="platform.updated", target=platform, old=old, new=new)
    return platform


@transaction.atomic
def upstream_provider_add(
    *, platform: Platform, provider: Platform, role: str, actor: Any
) -> UpstreamProvider:
    """Name the host, CDN, registrar or gateway to escalate to."""
    if provider.pk == platform.pk:
        raise DomainError("A platform cannot be its own upstream provider.")
    if provider.kind != PlatformKind.INFRASTRUCTURE:
        raise DomainError(
            f"{provider.name} is not an infrastructure provider; register it with kind "
            "'Infrastructure' first."
        )
    link, created = UpstreamProvider.objects.get_or_create(
        platform=platform, provider=provider, role=role
    )
    if created:
        audit_record(
            actor=actor,
            action="platform.upstream_added",
            target=platform,
            new={"provider": provider.name, "role": role},
        )
    return link


CONTACT_FIELDS = (
    "name",
    "channel",
    "email",
    "web_form_url",
    "role",
    "language",
    "is_primary",
    "is_active",
    "notes",
)


def _check_contact_address(contact: Contact) -> None:
    if contact.channel == ContactChannel.EMAIL and not contact.email:
        raise DomainError("An email contact needs an email address.")
    if contact.channel == ContactChannel.WEB_FORM and not contact.web_form_url:
        raise DomainError("A web-form contact needs the form's URL.")


def _save_contact(contact: Contact) -> None:
    """Validate and save; a new primary contact takes over from the previous one."""
    contact.email = contact.email.strip()
    _refuse_header_breaks(contact.name)
    _check_contact_address(contact)
    try:
        # Constraints are left to the database (a clash is the IntegrityError below):
        # validating them here would refuse a new primary before the old one steps down.
        contact.full_clean(validate_constraints=False)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages)) from exc
    if contact.is_primary and contact.is_active:
        Contact.objects.filter(platform=contact.platform, is_primary=True).exclude(
            pk=contact.pk
        ).update(is_primary=False)
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError as exc:
        raise DuplicateError(
            f"{contact.email} is already a contact of {contact.platform.name}."
        ) from exc


@transaction.atomic
def contact_create(*, platform: Platform, actor: Any, **fields: Any) -> Contact:
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown contact fields: {sorted(unknown)}")
    if (
        fields.get("email")
        and Contact.objects.filter(
            platform=platform, email__iexact=str(fields["email"]).strip()
        ).exists()
    ):
        raise DuplicateError(f"{fields['email']} is already a contact of {platform.name}.")
    contact = Contact(platform=platform, **fields)
    _save_contact(contact)
    audit_record(
        actor=actor, action="contact.created", target=contact, new={"contact": str(contact)}
    )
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, actor: Any, **fields: Any) -> Contact:
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown contact fields: {sorted(unknown)}")
    old = {name: getattr(contact, name) for name in fields}
    for name, value in fields.items():
        setattr(contact, name, value)
    _save_contact(contact)
    audit_record(actor=actor, action="contact.updated", target=contact, old=old, new=fields)
    return contact


@transaction.atomic
def contact_deactivate(*, contact: Contact, actor: Any) -> Contact:
    """Contacts are never deleted: past requests went to them."""
    if not contact.is_active:
        return contact
    contact.is_active = False
    contact.is_primary = False
    contact.save(update_fields=["is_active", "is_primary", "updated_at"])
    audit_record(actor=actor, action="contact.deactivated", target=contact)
    return contact


@transaction.atomic
def platform_record_tco_notice(*, platform: Platform, actor: Any, given_at: datetime) -> Platform:
    """Record when the unit gave the platform the TCO Art. 3(2) advance notice (supervisors)."""
    require_permission(actor, "platforms.record_tco_notice", "record the TCO advance notice")
    if given_at > timezone.now():
        raise DomainError("The advance notice cannot be recorded as given in the future.")
    platform = Platform.objects.select_for_update().get(pk=platform.pk)
    old = platform.tco_advance_notice_at
    platform.tco_advance_notice_at = given_at
    platform.save(update_fields=["tco_advance_notice_at", "updated_at"])
    audit_record(
        actor=actor,
        action="platform.tco_notice_recorded",
        target=platform,
        old={"tco_advance_notice_at": old.isoformat() if old else None},
        new={"tco_advance_notice_at": given_at.isoformat()},
    )
    return platform


# --- "probably defunct" ------------------------------------------------------------------

DEFUNCT_PERMISSION = "platforms.confirm_defunct"


def _defunct_alert_key(platform: Platform) -> str:
    return f"platform-defunct-{platform.pk}"


def platform_suspect_defunct(*, platform: Platform, since: datetime, reason: str) -> bool:
    """The sweep saw none of the platform's URLs answer since ``since``: flag it and ask a
    supervisor. False when it is already flagged, defunct, or dismissed after ``since``."""
    with transaction.atomic():
        platform = Platform.objects.select_for_update().get(pk=platform.pk)
        dismissed = platform.defunct_dismissed_at
        if (
            platform.status != PlatformStatus.ACTIVE
            or platform.defunct_suspected_at is not None
            or (dismissed is not None and dismissed >= since)
        ):
            return False
        platform.defunct_suspected_at = timezone.now()
        platform.defunct_suspected_reason = reason
        platform.save(update_fields=["defunct_suspected_at", "defunct_suspected_reason"])
        audit_record(
            actor=None,
            actor_label="verification sweep",
            action="platform.defunct_suspected",
            target=platform,
            new={"since": since.isoformat(), "reason": reason},
        )
        alert_raise(
            permission=DEFUNCT_PERMISSION,
            title=f"{platform.name} is probably defunct",
            message=(
                f"{reason} Confirm it on the platform page, or say it is not. Its registrar "
                "or hosting provider can still take the domains down: escalate to its "
                "upstream providers."
            ),
            url=reverse("platforms:detail", args=[platform.pk]),
            target=platform,
            key=_defunct_alert_key(platform),
        )
    return True


def platform_clear_defunct_suspicion(*, platform: Platform) -> bool:
    """One of its URLs answered again: the question is moot (no supervisor needed)."""
    with transaction.atomic():
        cleared = Platform.objects.filter(
            pk=platform.pk, defunct_suspected_at__isnull=False
        ).update(defunct_suspected_at=None, defunct_suspected_reason="")
        if cleared:
            audit_record(
                actor=None,
                actor_label="verification sweep",
                action="platform.defunct_suspicion_cleared",
                target=platform,
            )
            alert_close(key=_defunct_alert_key(platform))
    return bool(cleared)


def platform_confirm_defunct(*, platform: Platform, by: Any) -> Platform:
    """A supervisor agrees: the platform is defunct (its status says so from now on)."""
    require_permission(by, DEFUNCT_PERMISSION, "confirm that a platform is defunct")
    with transaction.atomic():
        platform = _suspected_for_answer(platform)
        platform.status = PlatformStatus.DEFUNCT
        platform.defunct_suspected_at = None
        platform.save(update_fields=["status", "defunct_suspected_at", "updated_at"])
        audit_record(
            actor=by,
            action="platform.defunct_confirmed",
            target=platform,
            old={"status": PlatformStatus.ACTIVE.value},
            new={"status": PlatformStatus.DEFUNCT.value},
            extra={"reason": platform.defunct_suspected_reason},
        )
        alert_close(key=_defunct_alert_key(platform), by=by)
    return platform


def platform_dismiss_defunct(*, platform: Platform, by: Any) -> Platform:
    """A supervisor knows better (the site moved, an outage announced): not defunct."""
    require_permission(by, DEFUNCT_PERMISSION, "say that a platform is not defunct")
    with transaction.atomic():
        platform = _suspected_for_answer(platform)
        platform.defunct_suspected_at = None
        platform.defunct_suspected_reason = ""
        platform.defunct_dismissed_at = timezone.now()
        fields = ["defunct_suspected_at", "defunct_suspected_reason", "defunct_dismissed_at"]
        platform.save(update_fields=fields)
        audit_record(actor=by, action="platform.defunct_dismissed", target=platform)
        alert_close(key=_defunct_alert_key(platform), by=by)
    return platform


def _suspected_for_answer(platform: Platform) -> Platform:
    """The platform, locked, if the question is still open (a second click finds it closed)."""
    platform = Platform.objects.select_for_update().get(pk=platform.pk)
    if platform.defunct_suspected_at is None or platform.status != PlatformStatus.ACTIVE:
        raise IllegalTransition("Nothing suggests this platform is defunct any more.")
    return platform
