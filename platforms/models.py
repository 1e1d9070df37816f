"""Platforms (online services that host content), their domains and their contacts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from core.choices import CachedChoiceLabels


class PlatformKind(models.TextChoices):
    SOCIAL_NETWORK = "social_network", _("Social network")
    VIDEO = "video", _("Video")
    FILE_HOST = "file_host", _("File host")
    PASTE_SITE = "paste_site", _("Paste site")
    MESSAGING = "messaging", _("Messaging")
    FORUM = "forum", _("Forum")
    BLOG = "blog", _("Blog")
    CHAT_SERVER = "chat_server", _("Chat server")
    PEER_TO_PEER = "peer_to_peer", _("Peer-to-peer site")
    INFRASTRUCTURE = "infrastructure", _("Infrastructure (host, CDN, registrar)")


class PlatformTier(models.TextChoices):
    MAINSTREAM = "mainstream", _("Mainstream")
    NICHE = "niche", _("Niche")


class PlatformArchitecture(models.TextChoices):
    CENTRALISED = "centralised", _("Centralised")
    FEDERATED = "federated", _("Federated")
    SELF_HOSTED = "self_hosted", _("Self-hosted")
    PEER_TO_PEER = "peer_to_peer", _("Peer-to-peer")


class PlatformStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    DEFUNCT = "defunct", _("Defunct")


class OperatorCanAct(models.TextChoices):
    YES = "yes", _("Yes")
    NO = "no", _("No")
    UNKNOWN = "unknown", _("Unknown")


class Platform(CachedChoiceLabels, models.Model):
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=PlatformKind.choices)
    tier = models.CharField(max_length=16, choices=PlatformTier.choices, default=PlatformTier.NICHE)
    architecture = models.CharField(
        max_length=16,
        choices=PlatformArchitecture.choices,
        default=PlatformArchitecture.CENTRALISED,
    )
    country = CountryField(blank=True, help_text=_("Country of jurisdiction."))
    status = models.CharField(
        max_length=16, choices=PlatformStatus.choices, default=PlatformStatus.ACTIVE
    )
    operator_can_act = models.CharField(
        max_length=8, choices=OperatorCanAct.choices, default=OperatorCanAct.UNKNOWN
    )
    response_target_days = models.PositiveSmallIntegerField(
        default=7, help_text=_("Days a referral gives the operator to answer.")
    )
    preferred_language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    upstream_providers: models.ManyToManyField[Platform, UpstreamProvider] = models.ManyToManyField(
        "self",
        through="UpstreamProvider",
        through_fields=("platform", "provider"),
        symmetrical=False,
        related_name="downstream_platforms",
        blank=True,
    )
    # TCO Art. 3(2): before a provider's first removal order, the unit tells it
    # about procedures and deadlines at least 12 hours ahead (unless an emergency).
    tco_advance_notice_at = models.DateTimeField(null=True, blank=True)
    # "Probably defunct": set by the verification sweep when none of the platform's URLs
    # has answered for PLATFORM_DEFUNCT_AFTER_DAYS (``defunct_suspected_reason`` says what
    # was seen); a supervisor confirms (status becomes defunct) or dismisses it. A dismissal
    # is remembered, so only failures after it can raise the question again.
    defunct_suspected_at = models.DateTimeField(null=True, blank=True)
    # db_default: raw INSERTs (the scale generator, benchmarks) need not name it.
    defunct_suspected_reason = models.TextField(blank=True, default="", db_default="")
    defunct_dismissed_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="platform_name_unique_ci"),
            models.CheckConstraint(
                condition=Q(response_target_days__gte=1) & Q(response_target_days__lte=365),
                name="platform_response_target_in_range",
            ),
        ]
        indexes = [
            # The platform list filters on these together.
            models.Index(fields=["tier", "kind", "status"], name="platform_filter_idx"),
        ]
        permissions = [
            ("record_tco_notice", "Can record the TCO advance notice given to a platform"),
            ("confirm_defunct", "Can confirm or dismiss that a platform is probably defunct"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_actionable(self) -> bool:
        """Whether a request to the operator itself can achieve anything."""
        return self.operator_can_act != OperatorCanAct.NO and self.status == PlatformStatus.ACTIVE


class PlatformDomain(models.Model):
    """A host name a platform serves; URLs are matched to platforms by longest suffix."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="domains")
    # Stored normalised: lower-case ASCII (punycode), no trailing dot.
    domain = models.CharField(max_length=253, unique=True)

    class Meta:
        ordering = ["domain"]
        constraints = [
            models.CheckConstraint(
                condition=Q(domain=Lower("domain")) & ~Q(domain__endswith=".") & ~Q(domain=""),
                name="platform_domain_normalised",
            ),
        ]

    def __str__(self) -> str:
        return self.domain


class UpstreamRole(models.TextChoices):
    HOSTING = "hosting", _("Hosting provider")
    CDN = "cdn", _("CDN")
    REGISTRAR = "registrar", _("Domain registrar")
    GATEWAY = "gateway", _("Gateway")


class UpstreamProvider(CachedChoiceLabels, models.Model):
    """A provider to escalate to when the operator cannot or will not act."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="upstream_links")
    provider = models.ForeignKey(
        Platform, on_delete=models.PROTECT, related_name="downstream_links"
    )
    role = models.CharField(max_length=16, choices=UpstreamRole.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "provider", "role"], name="upstream_provider_unique"
            ),
            models.CheckConstraint(
                condition=~Q(platform=models.F("provider")), name="upstream_provider_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform} → {self.provider} ({self.get_role_display()})"


class ContactRole(models.TextChoices):
    ABUSE = "abuse", _("Abuse")
    LEGAL = "legal", _("Legal")
    OWNER = "owner", _("Owner")
    TCO_CONTACT_POINT = "tco_contact_point", _("TCO contact point")
    OTHER = "other", _("Other")


class ContactChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    WEB_FORM = "web_form", _("Web form")


class Contact(CachedChoiceLabels, models.Model):
    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200, blank=True)
    channel = models.CharField(
        max_length=16, choices=ContactChannel.choices, default=ContactChannel.EMAIL
    )
    email = models.EmailField(blank=True)
    web_form_url = models.URLField(max_length=2000, blank=True)
    role = models.CharField(max_length=32, choices=ContactRole.choices, default=ContactRole.ABUSE)
    # Blank means "use the platform's preferred language".
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, blank=True)
    is_primary = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_primary", "name", "email"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(channel=ContactChannel.EMAIL) & ~Q(email=""))
                | (Q(channel=ContactChannel.WEB_FORM) & ~Q(web_form_url="")),
                name="contact_has_address_for_channel",
            ),
            models.UniqueConstraint(
                "platform",
                Lower("email"),
                condition=~Q(email=""),
                name="contact_email_unique_per_platform",
            ),
            # At most one primary contact among a platform's active ones.
            models.UniqueConstraint(
                fields=["platform"],
                condition=Q(is_primary=True, is_active=True),
                name="contact_one_active_primary",
            ),
        ]

    def __str__(self) -> str:
        address = self.email or self.web_form_url
        return f"{self.name} <{address}>" if self.name else address

    @property
    def effective_language(self) -> str:
        return self.language or self.platform.preferred_language
