"""Every model of ours has a factory that builds a valid row."""

from __future__ import annotations

import inspect

import pytest
from django.apps import apps
from factory.django import DjangoModelFactory

from tests import factories

pytestmark = pytest.mark.django_db

OUR_APPS = {"core", "platforms", "cases", "notifications", "portal"}
FACTORIES = {
    f._meta.model: f
    for _, f in inspect.getmembers(factories, inspect.isclass)
    if issubclass(f, DjangoModelFactory) and f is not DjangoModelFactory and f._meta.model
}


# Rows only the database writes (the row-level audit trigger): no factory can make one.
WRITTEN_BY_THE_DATABASE = {"core.rowchange"}


def test_it_has_a_factory_for_every_model() -> None:
    ours = {
        m
        for m in apps.get_models()
        if m._meta.app_label in OUR_APPS and m._meta.label_lower not in WRITTEN_BY_THE_DATABASE
    }
    assert ours - set(FACTORIES) == set()


@pytest.mark.parametrize("model", sorted(FACTORIES, key=str), ids=lambda m: m.__name__)
def test_it_builds_a_valid_row_with_each_factory(model) -> None:
    row = FACTORIES[model]()

    assert model.objects.filter(pk=row.pk).exists()
