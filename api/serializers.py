"""What the API shows and takes. Reads mirror the models; writes are validated here and
then handed to the services, which decide (roles, four-eyes, states)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from django.core.validators import ProhibitNullCharactersValidator
from rest_framework import serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from cases.forms.requests import OFFICER_OUTCOMES
from cases.models import (
    Actor,
    Case,
    Correspondence,
    Hold,
    Item,
    ItemCategory,
    LegalBasis,
    OutcomeRecord,
    RemovalRequest,
    RequestItem,
    RequestType,
)
from platforms.models import Contact, Platform, PlatformDomain, UpstreamProvider
from verification.models import UrlCheck


class ReadModelSerializer(serializers.ModelSerializer[Any]):
    """A model's fields as read: a choice field that may be blank says so in the schema
    (DRF drops ``allow_blank`` from read-only fields, and the schema would then promise
    a value from the choices where the API sends "")."""

    def include_extra_kwargs(
        self, kwargs: MutableMapping[str, Any], extra_kwargs: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        blank_choice = bool(kwargs.get("allow_blank")) and "choices" in kwargs
        kept = super().include_extra_kwargs(kwargs, extra_kwargs)
        if blank_choice:
            kept["allow_blank"] = True
        return kept


class PlatformDomainSerializer(ReadModelSerializer):
    class Meta:
        model = PlatformDomain
        fields = ["id", "domain"]


class UpstreamSerializer(ReadModelSerializer):
    provider: serializers.PrimaryKeyRelatedField[Platform] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    provider_name = serializers.CharField(source="provider.name", read_only=True)

    class Meta:
        model = UpstreamProvider
        fields = ["id", "provider", "provider_name", "role"]


class PlatformSerializer(ReadModelSerializer):
    country = serializers.CharField(source="country.code", read_only=True)
    domains = PlatformDomainSerializer(many=True, read_only=True)
    upstream = UpstreamSerializer(source="upstream_links", many=True, read_only=True)

    class Meta:
        model = Platform
        fields = [
            "id", "name", "kind", "tier", "architecture", "status", "operator_can_act",
            "response_target_days", "preferred_language", "country", "domains", "upstream",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class ItemSerializer(ReadModelSerializer):
    class Meta:
        model = Item
        fields = [
            "id", "url_submitted", "url_normalised", "host", "platform", "case", "actor",
            "category", "legal_basis", "threat_to_life", "status", "created_by",
            "created_at", "reviewed_by", "reviewed_at", "verification", "verified_at",
        ]  # fmt: skip
        read_only_fields = fields


class JsonString(serializers.CharField):
    """A JSON string only (DRF's CharField also turns 5 or true into "5", "True")."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class JsonId(serializers.PrimaryKeyRelatedField):
    """An object's id as a JSON number, or null where allowed; DRF would read "" as null."""

    def run_validation(self, data: Any = serializers.empty) -> Any:
        if data == "":
            self.fail("incorrect_type", data_type="str")
        return super().run_validation(data)


class UrlText(JsonString):
    """One entry of ``urls``: any string. What is not a URL (blank, a NUL, a lone
    surrogate) is rejected on its own line by the intake, never by refusing the call."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_blank=True, trim_whitespace=False, **kwargs)
        refused_here = (ProhibitNullCharactersValidator, ProhibitSurrogateCharactersValidator)
        self.validators = [v for v in self.validators if not isinstance(v, refused_here)]


class JsonBoolean(serializers.BooleanField):
    """A JSON true or false only (DRF's BooleanField also takes 1, "yes", "on", …)."""

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)
        raise AssertionError  # fail() raises


class BulkIntakeSerializer(serializers.Serializer[dict[str, Any]]):
    urls = serializers.ListField(
        child=UrlText(),
        allow_empty=False,
        help_text="Up to API_BULK_MAX_URLS (10,000) URLs, one per entry.",
    )
    case = JsonId(queryset=Case.objects.all(), required=False, allow_null=True, default=None)
    category = serializers.ChoiceField(choices=ItemCategory.choices)
    legal_basis = serializers.ChoiceField(choices=LegalBasis.choices)
    threat_to_life = JsonBoolean(required=False, default=False)
    capture_evidence = JsonBoolean(
        required=False,
        default=True,
        help_text="Archive each new URL (WARC, hashed) in the worker; default true.",
    )
    assessment_note = JsonString(required=False, allow_blank=True, default="", max_length=10_000)

    def validate_assessment_note(self, note: str) -> str:
        if "\x00" in note:
            raise serializers.ValidationError("The note contains a NUL character.")
        return note


class BulkLineSerializer(serializers.Serializer[dict[str, Any]]):
    line = serializers.IntegerField(help_text="Position in `urls`, from 1.")
    input = serializers.CharField(help_text="The URL as sent (shortened past 500 characters).")
    status = serializers.ChoiceField(choices=["created", "duplicate", "rejected"])
    id = serializers.IntegerField(
        allow_null=True, help_text="The item: new (created) or the existing one (duplicate)."
    )
    reason = serializers.CharField(allow_blank=True, help_text="Why a line was rejected.")
    unknown_platform = serializers.BooleanField(
        help_text="No platform matched the URL's host (the item waits for one)."
    )


class BulkCountsSerializer(serializers.Serializer[dict[str, Any]]):
    created = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    rejected = serializers.IntegerField()
    unknown_platform = serializers.IntegerField()


class BulkResultSerializer(serializers.Serializer[dict[str, Any]]):
    counts = BulkCountsSerializer()
    results = BulkLineSerializer(many=True)


class ContactSerializer(ReadModelSerializer):
    # Plain strings: a web-form contact has no email and an email contact no form URL
    # (both ""), which the "email" and "uri" formats would not allow.
    email = serializers.CharField(read_only=True, help_text="Empty for a web-form contact.")
    web_form_url = serializers.CharField(read_only=True, help_text="Empty for an email contact.")

    class Meta:
        model = Contact
        fields = [
            "id", "platform", "name", "channel", "email", "web_form_url", "role", "language",
            "is_primary", "is_active", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class ActorSerializer(ReadModelSerializer):
    class Meta:
        model = Actor
        fields = ["id", "name", "proscribed", "created_at"]
        read_only_fields = fields


class CaseSerializer(ReadModelSerializer):
    class Meta:
        model = Case
        fields = ["id", "title", "description", "actor", "status", "created_by", "created_at"]
        read_only_fields = fields


class RequestLineSerializer(ReadModelSerializer):
    url = serializers.CharField(source="item.url_normalised", read_only=True)

    class Meta:
        model = RequestItem
        fields = [
            "id", "item", "url", "outcome", "outcome_at", "outcome_source", "outcome_reason",
            "first_response_at", "first_removal_at",
        ]  # fmt: skip
        read_only_fields = fields


class RemovalRequestSerializer(ReadModelSerializer):
    class Meta:
        model = RemovalRequest
        fields = [
            "id", "reference", "platform", "request_type", "legal_basis", "state", "language",
            "threat_to_life", "is_emergency", "composed_by", "submitted_by", "submitted_at",
            "approved_by", "approved_at", "sent_at", "deadline", "original_deadline",
            "followup_stage", "escalated_from", "closed_at", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class RemovalRequestDetailSerializer(RemovalRequestSerializer):
    lines = RequestLineSerializer(many=True, read_only=True)

    class Meta(RemovalRequestSerializer.Meta):
        fields = [*RemovalRequestSerializer.Meta.fields, "lines"]
        read_only_fields = fields


class OutcomeRecordSerializer(ReadModelSerializer):
    request = serializers.IntegerField(source="line.request_id", read_only=True)
    item = serializers.IntegerField(source="line.item_id", read_only=True)

    class Meta:
        model = OutcomeRecord
        fields = [
            "id", "line", "request", "item", "outcome", "source", "recorded_by", "contact",
            "reason", "correspondence", "recorded_at",
        ]  # fmt: skip
        read_only_fields = fields


class CorrespondenceSerializer(ReadModelSerializer):
    class Meta:
        model = Correspondence
        fields = [
            "id", "request", "direction", "channel", "contact", "author", "from_address",
            "to_addresses", "subject", "body_text", "raw_sha256", "message_id", "in_reply_to",
            "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class UrlCheckSerializer(ReadModelSerializer):
    class Meta:
        model = UrlCheck
        fields = [
            "id", "item", "checked_at", "classification", "reason", "http_status", "url",
            "final_url", "redirects", "content_sha256", "content_length", "error",
            "elapsed_ms", "trigger",
        ]  # fmt: skip
        read_only_fields = fields


# --- actions: what each one takes -----------------------------------------------------------


class ReviewSerializer(serializers.Serializer[dict[str, Any]]):
    note = JsonString(required=False, allow_blank=True, default="", max_length=4000)


class HoldSerializer(serializers.Serializer[dict[str, Any]]):
    reason = JsonString(max_length=4000)
    review_on = serializers.DateField(help_text="When the hold is looked at again (not past).")
    requesting_agency = JsonString(required=False, allow_blank=True, default="", max_length=200)


class HoldResultSerializer(ReadModelSerializer):
    class Meta:
        model = Hold
        fields = ["id", "item", "reason", "requesting_agency", "review_on", "placed_by",
                  "placed_at", "released_by", "released_at"]  # fmt: skip
        read_only_fields = fields


class ComposeSerializer(serializers.Serializer[dict[str, Any]]):
    platform = JsonId(
        queryset=Platform.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Compose for this platform only; without it, the weekly compose for all.",
    )
    request_type = serializers.ChoiceField(
        choices=RequestType.choices, required=False, default=RequestType.REFERRAL
    )
    legal_basis = serializers.ChoiceField(
        choices=LegalBasis.choices, required=False, allow_blank=True, default=""
    )
    is_emergency = JsonBoolean(required=False, default=False)


class ComposeResultSerializer(serializers.Serializer[dict[str, Any]]):
    drafts = RemovalRequestSerializer(many=True, help_text="The drafts created.")
    topped_up = RemovalRequestSerializer(
        many=True, help_text="Open drafts that got the new items instead of a new draft."
    )
    skipped = serializers.ListField(
        child=serializers.CharField(), help_text="Why a platform got nothing (for people)."
    )


class OutcomeSerializer(serializers.Serializer[dict[str, Any]]):
    outcome = serializers.ChoiceField(choices=OFFICER_OUTCOMES)
    reason = JsonString(required=False, allow_blank=True, default="", max_length=2000)


class MetricRowSerializer(serializers.Serializer[dict[str, Any]]):
    """One group's DESIGN §5 figures (counts, rates 0-1 or null, medians in hours or null)."""

    platform = serializers.IntegerField(required=False)
    platform_name = serializers.CharField(required=False)
    week = serializers.DateField(required=False)
    week_label = serializers.CharField(required=False)
    requested = serializers.IntegerField()
    responded = serializers.IntegerField()
    removed = serializers.IntegerField()
    verified_removed = serializers.IntegerField()
    removed_on_time = serializers.IntegerField()
    overdue_open = serializers.IntegerField()
    median_hours_to_response = serializers.FloatField(allow_null=True)
    median_hours_to_removal = serializers.FloatField(allow_null=True)
    response_rate = serializers.FloatField(allow_null=True)
    removal_rate = serializers.FloatField(allow_null=True)
    verified_removal_rate = serializers.FloatField(allow_null=True)
    on_time_rate = serializers.FloatField(allow_null=True)


class MetricsSerializer(serializers.Serializer[dict[str, Any]]):
    results = MetricRowSerializer(many=True)
