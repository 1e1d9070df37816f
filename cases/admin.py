from __future__ import annotations

from django.contrib import admin

from cases.models import (
    Actor,
    Case,
    Correspondence,
    Evidence,
    Hold,
    Item,
    ItemReferral,
    LadderPolicy,
    OutcomeRecord,
    RemovalRequest,
    RequestItem,
)
from core.admin import AuditedAdminMixin, ReadOnlyAdminMixin


@admin.register(Actor)
class ActorAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "proscribed", "created_at")
    list_filter = ("proscribed",)
    search_fields = ("name", "aliases", "notes")


@admin.register(Case)
class CaseAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("title", "actor", "status", "created_by", "created_at")
    list_filter = ("status", "actor")
    search_fields = ("title", "description", "actor__name")
    autocomplete_fields = ("actor", "created_by")
    list_select_related = ("actor", "created_by")
    date_hierarchy = "created_at"


class ItemReferralInline(admin.TabularInline):
    model = ItemReferral
    extra = 0
    readonly_fields = ("referred_by", "case", "url_submitted", "created_at")
    can_delete = False


class HoldInline(admin.TabularInline):
    model = Hold
    fk_name = "item"
    extra = 0
    autocomplete_fields = ("placed_by", "released_by")


@admin.register(Item)
class ItemAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = (
        "url_normalised",
        "platform",
        "status",
        "category",
        "legal_basis",
        "threat_to_life",
        "created_by",
        "created_at",
    )
    list_filter = ("status", "category", "legal_basis", "threat_to_life", "platform__tier")
    search_fields = ("url_normalised", "url_submitted", "host", "assessment_note")
    autocomplete_fields = ("platform", "case", "actor", "created_by")
    list_select_related = ("platform", "created_by")
    # Status, review (four-eyes) and the latest verification change only through the
    # services, which check permissions and write the audit trail (issue 10, point 3).
    readonly_fields = (
        "url_normalised",
        "host",
        "created_at",
        "status",
        "reviewed_by",
        "reviewed_at",
        "review_note",
        "verification",
    )
    date_hierarchy = "created_at"
    show_full_result_count = False  # no COUNT(*) over a large table on every page
    inlines = (ItemReferralInline, HoldInline)


@admin.register(ItemReferral)
class ItemReferralAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("url_submitted", "item", "referred_by", "case", "created_at")
    search_fields = ("url_submitted", "item__url_normalised", "referred_by__username")
    autocomplete_fields = ("item", "referred_by", "case")
    list_select_related = ("item", "referred_by", "case")
    date_hierarchy = "created_at"


@admin.register(Hold)
class HoldAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("item", "requesting_agency", "review_on", "placed_by", "released_at")
    list_filter = ("review_on",)
    search_fields = ("item__url_normalised", "reason", "requesting_agency")
    autocomplete_fields = ("item", "placed_by", "released_by")
    list_select_related = ("item", "placed_by")


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("item", "kind", "sha256", "size_bytes", "captured_at", "captured_by")
    list_filter = ("kind",)
    search_fields = ("item__url_normalised", "sha256")
    autocomplete_fields = ("item", "captured_by")
    list_select_related = ("item", "captured_by")


class RequestItemInline(admin.TabularInline):
    model = RequestItem
    extra = 0
    autocomplete_fields = ("item",)
    readonly_fields = ("outcome", "outcome_at", "outcome_source", "outcome_reason")


@admin.register(RemovalRequest)
class RemovalRequestAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = (
        "reference",
        "platform",
        "request_type",
        "state",
        "sent_at",
        "deadline",
        "composed_by",
        "approved_by",
    )
    list_filter = ("state", "request_type", "legal_basis", "threat_to_life", "platform__tier")
    search_fields = ("reference", "platform__name", "notes")
    autocomplete_fields = ("platform", "contacts")
    list_select_related = ("platform", "composed_by", "approved_by")
    # State and who composed, submitted and approved it change through the services
    # (four-eyes and their audit trail), never by hand (issue 10, point 3).
    readonly_fields = (
        "reference",
        "state",
        "composed_by",
        "submitted_by",
        "submitted_at",
        "approved_by",
        "approved_at",
        "sent_at",
        "created_at",
        "updated_at",
    )
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = (RequestItemInline,)


@admin.register(RequestItem)
class RequestItemAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("request", "item", "outcome", "outcome_source", "outcome_at")
    list_filter = ("outcome", "outcome_source")
    search_fields = ("request__reference", "item__url_normalised")
    autocomplete_fields = ("request", "item")
    list_select_related = ("request", "item")
    # Outcomes are recorded through the services, each one kept in OutcomeRecord.
    readonly_fields = (
        "outcome",
        "outcome_at",
        "outcome_source",
        "outcome_reason",
        "first_response_at",
        "first_removal_at",
    )
    show_full_result_count = False


@admin.register(OutcomeRecord)
class OutcomeRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("line", "outcome", "source", "recorded_by", "recorded_at")
    list_filter = ("outcome", "source")
    search_fields = ("line__request__reference", "line__item__url_normalised", "reason")
    autocomplete_fields = ("line", "recorded_by", "contact", "correspondence")
    list_select_related = ("line__request", "line__item", "recorded_by")


@admin.register(Correspondence)
class CorrespondenceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("subject", "request", "direction", "channel", "from_address", "created_at")
    list_filter = ("direction", "channel")
    search_fields = ("subject", "body_text", "from_address", "message_id", "request__reference")
    autocomplete_fields = ("request", "contact", "author")
    list_select_related = ("request",)
    readonly_fields = ("raw_sha256", "message_id", "created_at")
    date_hierarchy = "created_at"


@admin.register(LadderPolicy)
class LadderPolicyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Supervisors edit ladders on /follow-ups/ (validated there); the admin is for repairs."""

    list_display = (
        "request_type",
        "platform",
        "first_reminder_after",
        "second_reminder_after",
        "escalate_after",
        "deadline_after",
        "updated_at",
    )
    list_filter = ("request_type",)
    list_select_related = ("platform",)
    raw_id_fields = ("platform", "updated_by")
