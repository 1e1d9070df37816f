"""Filter fields that refuse, with a 400, what the database would choke on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError as FieldError
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, handed to the database in UTC.

    PostgreSQL refuses UTC offsets beyond ±15:59 and Python's datetime years beyond
    9999: a fuzzer's "5855-07-19T14:00:39-19:57" was a 500 before this.
    """

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        offset = parsed.utcoffset()
        if offset is not None and abs(offset.total_seconds()) >= 16 * 3600:
            raise FieldError("The UTC offset must be within ±15:59.", code="invalid")
        try:
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError):
            raise FieldError("That date-time is out of range.", code="invalid") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class StrictBooleanField(forms.Field):
    """``true`` / ``false`` (or 1 / 0); anything else is a 400, where django-filter's
    boolean field would quietly not filter at all."""

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        lowered = str(value).strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise FieldError("Use true or false.", code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


@extend_schema_field(OpenApiTypes.INT64)
class IdFilter(django_filters.NumberFilter):
    """An id: a whole number the database can hold (a bigint), or a 400."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class OneOrdering(OrderingFilter):
    """``?ordering=`` with one of the view's ``ordering_fields`` (``-`` for descending),
    always ending in ``id`` so that cursor pages are stable; anything else is a 400
    naming the choices, never silently the default."""

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> Sequence[str] | None:
        given = request.query_params.get(self.ordering_param)
        if not given:
            return self.get_default_ordering(view)
        valid = [name for name, _ in self.get_valid_fields(queryset, view, {"request": request})]
        if given.lstrip("-") not in valid:
            choices = ", ".join(f"{name}, -{name}" for name in valid)
            raise ValidationError({self.ordering_param: [f"Use one of: {choices}."]})
        tie_breaker = "-id" if given.startswith("-") else "id"
        return [given] if given.lstrip("-") == "id" else [given, tie_breaker]


class StrictFilterSet(django_filters.FilterSet):
    """A filter given with an empty value (``?status=``) or twice is a 400: an HTML form
    sends its empty fields, a program that sends one has a bug, and quietly not filtering
    (or filtering on the last of two) would hand it other rows than it asked for."""

    def is_valid(self) -> bool:
        for name in self.filters:
            given = self.data.getlist(name) if name in self.data else []
            problem = ""
            if any(value == "" for value in given):
                problem = "Give a value, or leave the parameter out."
            elif len(given) > 1:
                problem = "Give this parameter once."
            if problem:
                self.form.is_valid()  # builds cleaned_data and errors
                self.form.add_error(name, problem)
        return super().is_valid()
