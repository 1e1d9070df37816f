"""REST API v1 (issue 12). Views parse, call one selector or service, and answer."""

from __future__ import annotations

from typing import Any

import django_filters
from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import (
    action,
    api_view,
    authentication_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from api.errors import PayloadTooLarge
from api.idempotency import HEADER as IDEMPOTENCY_HEADER
from api.idempotency import run_once
from api.pagination import ById
from api.serializers import (
    BulkIntakeSerializer,
    BulkResultSerializer,
    ItemSerializer,
    PlatformSerializer,
)
from cases.models import Item, ItemCategory, ItemStatus
from cases.selectors.items import items_matching
from cases.services.intake import IntakeLine, LineStatus, items_refer_bulk
from platforms.models import Platform, PlatformStatus, PlatformTier
from platforms.selectors import platforms_matching


class PlatformFilter(django_filters.FilterSet):
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


class ItemFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="URL contains")
    status = django_filters.ChoiceFilter(choices=ItemStatus.choices)
    category = django_filters.ChoiceFilter(choices=ItemCategory.choices)
    platform = django_filters.NumberFilter(field_name="platform_id")
    case = django_filters.NumberFilter(field_name="case_id")
    threat_to_life = django_filters.BooleanFilter()
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Item
        fields = ["q", "status", "category", "platform", "case", "threat_to_life"]

    def search(self, queryset: QuerySet[Item], name: str, value: str) -> QuerySet[Item]:
        return items_matching(queryset, value)


class PlatformViewSet(viewsets.ReadOnlyModelViewSet[Platform]):
    """Platforms with their domains and upstream providers."""

    read_permission = "platforms.view_platform"
    lookup_value_converter = "int"
    serializer_class = PlatformSerializer
    filterset_class = PlatformFilter
    pagination_class = ById

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
    elif _has_lone_surrogate(text):
        refusal = "Not a URL: it is not valid Unicode text."
    return IntakeLine(number=number, text=text, extract=False, refusal=refusal)


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _printable(text: str) -> str:
    """The input as echoed back (and kept for a retry, in jsonb): no NUL, no lone surrogate."""
    return text.encode("utf-8", errors="replace").decode("utf-8").replace("\x00", "\ufffd")


class ItemViewSet(viewsets.ReadOnlyModelViewSet[Item]):
    """Referred URLs. ``POST items/bulk/`` refers many at once."""

    read_permission = "cases.view_item"
    lookup_value_converter = "int"
    serializer_class = ItemSerializer
    filterset_class = ItemFilter
    pagination_class = ById

    def get_queryset(self) -> QuerySet[Item]:
        return Item.objects.all()

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


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@permission_classes([AllowAny])
@authentication_classes([])
@throttle_classes([])
def not_found(request: Request, *args: Any, **kwargs: Any) -> Response:
    raise NotFound("There is no such API endpoint; see /api/docs/.")
