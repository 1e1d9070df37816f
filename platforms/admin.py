from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models

from core.admin import AuditedAdminMixin
from platforms.models import Contact, Platform, PlatformDomain, UpstreamProvider

# A web-form URL typed without a scheme is https (Django 6.0's default, chosen now).
HTTPS_URLS: dict[type[models.Field[Any, Any]], dict[str, Any]] = {
    models.URLField: {"assume_scheme": "https"}
}


class PlatformDomainInline(admin.TabularInline):
    model = PlatformDomain
    extra = 1


class ContactInline(admin.TabularInline):
    model = Contact
    formfield_overrides = HTTPS_URLS
    extra = 0
    fields = (
        "name",
        "channel",
        "email",
        "web_form_url",
        "role",
        "language",
        "is_primary",
        "is_active",
    )


class UpstreamProviderInline(admin.TabularInline):
    model = UpstreamProvider
    fk_name = "platform"
    extra = 0
    autocomplete_fields = ("provider",)


@admin.register(Platform)
class PlatformAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "kind",
        "tier",
        "architecture",
        "country",
        "status",
        "operator_can_act",
        "response_target_days",
        "preferred_language",
    )
    list_filter = ("tier", "kind", "architecture", "status", "operator_can_act", "country")
    search_fields = ("name", "domains__domain", "notes")
    inlines = (PlatformDomainInline, ContactInline, UpstreamProviderInline)
    readonly_fields = ("created_at", "updated_at")


@admin.register(PlatformDomain)
class PlatformDomainAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("domain", "platform")
    search_fields = ("domain", "platform__name")
    autocomplete_fields = ("platform",)
    list_select_related = ("platform",)


@admin.register(Contact)
class ContactAdmin(AuditedAdminMixin, admin.ModelAdmin):
    formfield_overrides = HTTPS_URLS
    list_display = ("__str__", "platform", "role", "channel", "language", "is_primary", "is_active")
    list_filter = ("role", "channel", "language", "is_primary", "is_active")
    search_fields = ("name", "email", "web_form_url", "platform__name")
    autocomplete_fields = ("platform",)
    list_select_related = ("platform",)


@admin.register(UpstreamProvider)
class UpstreamProviderAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("platform", "provider", "role")
    list_filter = ("role",)
    search_fields = ("platform__name", "provider__name")
    autocomplete_fields = ("platform", "provider")
    list_select_related = ("platform", "provider")
