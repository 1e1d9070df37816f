"""REST API v1 (issue 12). Views parse, call one selector or service, and answer."""

from __future__ import annotations

from typing import Any

import django_filters
from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.functional import Promise
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import (
    action,
    api_view,
    authentication_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from api.errors import PayloadTooLarge
from api.filters import IdFilter, StrictBooleanFilter, StrictFilterSet, UtcIsoDateTimeFilter
from api.idempotency import HEADER as IDEMPOTENCY_HEADER
from api.idempotency import run_once
from api.serializers import (
    ActorSerializer,
    BulkIntakeSerializer,
    BulkResultSerializer,
    CaseSerializer,
    ComposeResultSerializer,
    ComposeSerializer,
    ContactSerializer,
    CorrespondenceSerializer,
    HoldResultSerializer,
    HoldSerializer,
    ItemSerializer,
    MetricsSerializer,
    OutcomeRecordSerializer,
    OutcomeSerializer,
    PlatformSerializer,
    RemovalRequestDetailSerializer,
    RemovalRequestSerializer,
    RequestLineSerializer,
    ReviewSerializer,
    UrlCheckSerializer,
)
from cases.models import (
    Actor,
    Case,
    CaseStatus,
    Correspondence,
    Item,
    ItemCategory,
    ItemStatus,
    OutcomeRecord,
    OutcomeSource,
    RemovalRequest,
    RequestItem,
    RequestState,
    RequestType,
)
from cases.selectors.items import items_matching
from cases.services.intake import IntakeLine, LineStatus, items_refer_bulk
from cases.services.items import item_approve, item_hold_place, item_reject
from cases.services.outcomes import request_item_record_outcome
from cases.services.requests import request_submit
from cases.services.upstream import requests_compose_for_platform, requests_compose_weekly_run
from metrics.figures import MetricFilters
from metrics.selectors import compliance_figures
from notifications.services import request_approve_and_send
from platforms.models import Contact, Platform, PlatformStatus, PlatformTier
from platforms.selectors import platforms_matching
from verification.models import UrlCheck


class PlatformFilter(StrictFilterSet):
    q = django_filters.CharFilter(method="search", label="Name or domain contains")
    tier = django_filters.ChoiceFilter(choices=PlatformTier.choices)
    status = django_filters.ChoiceFilter(choices=PlatformStatus.choices)
    kind = django_filters.CharFilter()
    country = django_filters.CharFilter()

    class Meta:
        model = Platform
        fields = ["q", "tier", "status", "kind", "country"]

    def search(self, queryset: QuerySet[Platform], name: str, value: str) -> QuerySet[Platform]:
        return platforms_matching(queryset, value)


class ItemFilter(StrictFilterSet):
    q = django_filters.CharFilter(method="search", label="URL contains")
    status = django_filters.ChoiceFilter(choices=ItemStatus.choices)
    category = django_filters.ChoiceFilter(choices=ItemCategory.choices)
    platform = IdFilter(field_name="platform_id")
    case = IdFilter(field_name="case_id")
    threat_to_life = StrictBooleanFilter()
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Item
        fields = ["q", "status", "category", "platform", "case", "threat_to_life"]

    def search(self, queryset: QuerySet[Item], name: str, value: str) -> QuerySet[Item]:
        return items_matching(queryset, value)


class ReadViewSet(viewsets.ReadOnlyModelViewSet[Any]):
    """A resource's list (filtered, ordered, cursor-paged) and detail, by integer id."""

    lookup_value_converter = "int"
    ordering_fields: tuple[str, ...] = ("id", "created_at")


class PlatformViewSet(ReadViewSet):
    """Platforms with their domains and upstream providers."""

    read_permission = "platforms.view_platform"
    ordering_fields = ("id", "name", "created_at")
    serializer_class = PlatformSerializer
    filterset_class = PlatformFilter

    def get_queryset(self) -> QuerySet[Platform]:
        return Platform.objects.prefetch_related("domains", "upstream_links__provider")


# Longer than any URL a browser or crawler handles; longer text is refused on its line.
URL_MAX_LENGTH = 8192

BULK_STATUS = {
    LineStatus.CREATED: "created",
    LineStatus.KNOWN: "duplicate",
    LineStatus.REFUSED: "rejected",
}


def _intake_line(number: int, text: str) -> IntakeLine:
    refusal = ""
    if len(text) > URL_MAX_LENGTH:
        text, refusal = text[:URL_MAX_LENGTH], f"Longer than {URL_MAX_LENGTH:,} characters."
    return IntakeLine(number=number, text=text, extract=False, refusal=refusal)


def _printable(text: str) -> str:
    """The input as echoed back (and kept for a retry, in jsonb): no NUL, no lone surrogate."""
    return text.encode("utf-8", errors="replace").decode("utf-8").replace("\x00", "\ufffd")


class ItemViewSet(ReadViewSet):
    """Referred URLs. ``POST items/bulk/`` refers many at once."""

    read_permission = "cases.view_item"
    serializer_class = ItemSerializer
    filterset_class = ItemFilter
    queryset = Item.objects.all()

    @extend_schema(
        request=BulkIntakeSerializer,
        responses={200: BulkResultSerializer},
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                str,
                OpenApiParameter.HEADER,
                description="Retrying with the same key and body returns the first answer.",
            )
        ],
    )
    @action(detail=False, methods=["post"], url_path="bulk", filterset_class=None)
    def bulk(self, request: Request) -> Response:
        urls = request.data.get("urls") if isinstance(request.data, dict) else None
        if isinstance(urls, list) and len(urls) > settings.API_BULK_MAX_URLS:
            raise PayloadTooLarge(
                f"That is {len(urls):,} URLs; the limit is {settings.API_BULK_MAX_URLS:,} "
                "per call. Send them in several calls."
            )
        form = BulkIntakeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data

        def refer() -> Response:
            result = items_refer_bulk(
                lines=[_intake_line(n, url) for n, url in enumerate(data["urls"], start=1)],
                referred_by=request.user,
                case=data["case"],
                category=data["category"],
                legal_basis=data["legal_basis"],
                threat_to_life=data["threat_to_life"],
                assessment_note=data["assessment_note"],
                capture_evidence=data["capture_evidence"],
                max_urls=settings.API_BULK_MAX_URLS,
            )
            lines = [
                {
                    "line": line.line,
                    "input": _printable(line.text),
                    "status": BULK_STATUS[line.status],
                    "id": line.item.pk if line.item is not None else None,
                    "reason": line.reason,
                    "unknown_platform": line.platform_unknown,
                }
                for line in result.lines
            ]
            counts = {
                "created": result.created,
                "duplicate": result.known,
                "rejected": result.refused,
                "unknown_platform": sum(1 for line in result.lines if line.platform_unknown),
            }
            return Response({"counts": counts, "results": lines}, status=status.HTTP_200_OK)

        payload: dict[str, Any] = {
            **{name: value for name, value in data.items() if name != "case"},
            "case": data["case"].pk if data["case"] else None,
        }
        return run_once(request, endpoint="items.bulk", payload=payload, act=refer)

    @extend_schema(request=ReviewSerializer, responses={200: ItemSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    def approve(self, request: Request, pk: int) -> Response:
        """A supervisor who did not refer it approves it for the next request."""
        form = ReviewSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        item = item_approve(item=self.get_object(), reviewer=request.user,
                            note=form.validated_data["note"])  # fmt: skip
        return Response(ItemSerializer(item).data)

    @extend_schema(request=ReviewSerializer, responses={200: ItemSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    def reject(self, request: Request, pk: int) -> Response:
        """Not terrorist content; the note (required) tells the referring officer why."""
        form = ReviewSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        item = item_reject(item=self.get_object(), reviewer=request.user,
                           note=form.validated_data["note"])  # fmt: skip
        return Response(ItemSerializer(item).data)

    @extend_schema(request=HoldSerializer, responses={201: HoldResultSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    def hold(self, request: Request, pk: int) -> Response:
        """Keep the item out of every request until released (de-confliction)."""
        form = HoldSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        hold = item_hold_place(item=self.get_object(), placed_by=request.user,
                               **form.validated_data)  # fmt: skip
        return Response(HoldResultSerializer(hold).data, status=status.HTTP_201_CREATED)


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@permission_classes([AllowAny])
@authentication_classes([])
@throttle_classes([])
def not_found(request: Request, *args: Any, **kwargs: Any) -> Response:
    raise NotFound("There is no such API endpoint; see /api/docs/.")


# --- the other resources (read) ------------------------------------------------------------


class ContactFilter(StrictFilterSet):
    platform = IdFilter(field_name="platform_id")
    is_active = StrictBooleanFilter()

    class Meta:
        model = Contact
        fields = ["platform", "is_active"]


class ContactViewSet(ReadViewSet):
    """Platform operators' contacts (abuse desks, legal, web forms)."""

    read_permission = "platforms.view_contact"
    ordering_fields = ("id",)
    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    queryset = Contact.objects.all()


class ActorViewSet(ReadViewSet):
    """Groups and networks the referred content belongs to."""

    read_permission = "cases.view_actor"
    ordering_fields = ("id", "name")
    serializer_class = ActorSerializer
    queryset = Actor.objects.all()


class CaseFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=CaseStatus.choices)
    actor = IdFilter(field_name="actor_id")

    class Meta:
        model = Case
        fields = ["status", "actor"]


class CaseViewSet(ReadViewSet):
    read_permission = "cases.view_case"
    serializer_class = CaseSerializer
    filterset_class = CaseFilter
    queryset = Case.objects.all()


class RequestFilter(StrictFilterSet):
    state = django_filters.ChoiceFilter(choices=RequestState.choices)
    request_type = django_filters.ChoiceFilter(choices=RequestType.choices)
    platform = IdFilter(field_name="platform_id")
    sent_after = UtcIsoDateTimeFilter(field_name="sent_at", lookup_expr="gte")
    sent_before = UtcIsoDateTimeFilter(field_name="sent_at", lookup_expr="lt")

    class Meta:
        model = RemovalRequest
        fields = ["state", "request_type", "platform"]


class RequestViewSet(ReadViewSet):
    """Removal requests; a request's detail lists its lines (one per URL) and outcomes."""

    read_permission = "cases.view_removalrequest"
    # Not sent_at: a cursor cannot page over NULLs (drafts).
    filterset_class = RequestFilter

    def get_queryset(self) -> QuerySet[RemovalRequest]:
        if self.action == "retrieve":
            return RemovalRequest.objects.prefetch_related(
                Prefetch("lines", RequestItem.objects.select_related("item").order_by("id"))
            )
        return RemovalRequest.objects.all()

    def get_serializer_class(self) -> Any:
        if self.action == "retrieve":
            return RemovalRequestDetailSerializer
        return RemovalRequestSerializer

    # --- actions: each calls the service the staff page calls ---------------------------

    @extend_schema(request=ComposeSerializer, responses={200: ComposeResultSerializer})
    @action(detail=False, methods=["post"], filterset_class=None)
    def compose(self, request: Request) -> Response:
        """Compose drafts: the weekly compose for every platform (the scheduled job's
        service), or one platform's draft with ``platform``."""
        form = ComposeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        skipped: list[str] = []
        topped_up: list[RemovalRequest] = []
        if data["platform"] is None:
            result = requests_compose_weekly_run(composed_by=request.user)
            drafts, topped_up = result.all_drafts, result.extended_drafts
            skipped = [
                *(f"{p.name}: nobody can be sent anything (see the alert)"
                  for p in [*result.stuck_platforms, *result.platforms_without_contact]),
                *(f"{r.platform.name}: {r.reference} awaits approval"
                  for r in result.skipped_awaiting_approval),
            ]  # fmt: skip
        else:
            drafts = requests_compose_for_platform(
                platform=data["platform"],
                composed_by=request.user,
                request_type=data["request_type"],
                legal_basis=data["legal_basis"],
                is_emergency=data["is_emergency"]
                and data["request_type"] == RequestType.REMOVAL_ORDER,
            )
        return Response(
            {
                "drafts": RemovalRequestSerializer(drafts, many=True).data,
                "topped_up": RemovalRequestSerializer(topped_up, many=True).data,
                "skipped": skipped,
            }
        )

    @extend_schema(request=None, responses={200: RemovalRequestSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    def submit(self, request: Request, pk: int) -> Response:
        """Draft → awaiting approval (by whoever composed or edited it)."""
        removal_request = request_submit(request=self.get_object(), by=request.user)
        return Response(RemovalRequestSerializer(removal_request).data)

    @extend_schema(request=None, responses={200: RemovalRequestSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    def approve(self, request: Request, pk: int) -> Response:
        """A supervisor other than its submitter approves it, and that sends it: approval
        and sending are one step in the desk (the emails are queued at once)."""
        return self._approve_and_send(request)

    @extend_schema(request=None, responses={200: RemovalRequestSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    def send(self, request: Request, pk: int) -> Response:
        """The same as ``approve``: the desk never holds an approved, unsent request."""
        return self._approve_and_send(request)

    def _approve_and_send(self, request: Request) -> Response:
        result = request_approve_and_send(request=self.get_object(), approver=request.user)
        return Response(RemovalRequestSerializer(result.request).data)

    @extend_schema(request=OutcomeSerializer, responses={200: RequestLineSerializer})
    @action(
        detail=True,
        methods=["post"],
        filterset_class=None,
        url_path="items/<int:item_id>/outcome",
    )
    def outcome(self, request: Request, pk: int, item_id: int) -> Response:
        """Record the operator's answer for one URL on their behalf (e.g. told by phone)."""
        removal_request = self.get_object()
        line = get_object_or_404(RequestItem, request=removal_request, item_id=item_id)
        form = OutcomeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        request_item_record_outcome(
            line=line,
            outcome=form.validated_data["outcome"],
            source=OutcomeSource.OFFICER,
            recorded_by=request.user,
            reason=form.validated_data["reason"],
        )
        line.refresh_from_db()
        return Response(RequestLineSerializer(line).data)


class OutcomeFilter(StrictFilterSet):
    request = IdFilter(field_name="line__request_id")
    item = IdFilter(field_name="line__item_id")
    source = django_filters.ChoiceFilter(choices=OutcomeSource.choices)
    recorded_after = UtcIsoDateTimeFilter(field_name="recorded_at", lookup_expr="gte")

    class Meta:
        model = OutcomeRecord
        fields = ["request", "item", "source"]


class OutcomeViewSet(ReadViewSet):
    """Every answer recorded, amendments included (the latest per line counts)."""

    read_permission = "cases.view_outcomerecord"
    ordering_fields = ("id", "recorded_at")
    serializer_class = OutcomeRecordSerializer
    filterset_class = OutcomeFilter
    queryset = OutcomeRecord.objects.select_related("line")


class CorrespondenceFilter(StrictFilterSet):
    request = IdFilter(field_name="request_id")
    direction = django_filters.CharFilter()
    channel = django_filters.CharFilter()

    class Meta:
        model = Correspondence
        fields = ["request", "direction", "channel"]


class CorrespondenceViewSet(ReadViewSet):
    """Emails, portal answers and notes of every request (portal links withheld, 0017)."""

    read_permission = "cases.view_correspondence"
    serializer_class = CorrespondenceSerializer
    filterset_class = CorrespondenceFilter
    queryset = Correspondence.objects.defer("raw")


class CheckFilter(StrictFilterSet):
    item = IdFilter(field_name="item_id")
    classification = django_filters.CharFilter()

    class Meta:
        model = UrlCheck
        fields = ["item", "classification"]


class CheckViewSet(ReadViewSet):
    """Verification checks: did the content really go down?"""

    read_permission = "verification.view_urlcheck"
    ordering_fields = ("id", "checked_at")
    serializer_class = UrlCheckSerializer
    filterset_class = CheckFilter
    queryset = UrlCheck.objects.all()


# --- metrics ------------------------------------------------------------------------------

METRIC_PARAMETERS = [
    OpenApiParameter("start", OpenApiTypes.DATE, description="First day (unit time zone)."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Day after the last (half-open)."),
    *(
        OpenApiParameter(name, str, many=True, description="Repeat for several values.")
        for name in ("platform", "tier", "kind", "architecture", "country", "legal_basis",
                     "request_type", "actor")
    ),
]  # fmt: skip


class MetricsViewSet(viewsets.GenericViewSet[Any]):
    """DESIGN §5 compliance figures from the same selector as the metrics pages."""

    read_permission = "metrics.view_figures"
    pagination_class = None
    filter_backends: list[Any] = []
    serializer_class = MetricsSerializer

    def _figures(self, request: Request, group_by: tuple[str, ...]) -> Response:
        empty = sorted({key for key, value in request.query_params.items() if value == ""})
        if empty:
            raise ValidationError({key: ["Give a value, or leave it out."] for key in empty})
        filters = MetricFilters.from_query(request.query_params)
        rows = compliance_figures(filters=filters, group_by=group_by)
        return Response({"results": [_jsonable(row.as_dict()) for row in rows]})

    @extend_schema(parameters=METRIC_PARAMETERS, responses={200: MetricsSerializer})
    @action(detail=False, methods=["get"])
    def platforms(self, request: Request) -> Response:
        """Per platform, for the period (the league table's figures)."""
        return self._figures(request, ("platform",))

    @extend_schema(parameters=METRIC_PARAMETERS, responses={200: MetricsSerializer})
    @action(detail=False, methods=["get"])
    def weeks(self, request: Request) -> Response:
        """Per ISO week (Mondays, unit time zone), for the period."""
        return self._figures(request, ("week",))


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {key: str(value) if isinstance(value, Promise) else value for key, value in row.items()}
