"""The Django admin is usable for every model: lists, search, filters, forms."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import (
    CorrespondenceFactory,
    HoldFactory,
    OutcomeRecordFactory,
    SentRequestFactory,
    UpstreamProviderFactory,
)

pytestmark = pytest.mark.django_db

OUR_APPS = {"core", "platforms", "cases", "notifications"}
OUR_MODELS = sorted(
    (model._meta.app_label, model._meta.model_name)
    for model in admin.site._registry
    if model._meta.app_label in OUR_APPS
)


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@iru.example", "pw-for-tests")


@pytest.fixture
def some_of_everything(platform):
    UpstreamProviderFactory(platform=platform)
    HoldFactory()
    OutcomeRecordFactory()
    CorrespondenceFactory(request=SentRequestFactory(platform=platform))


def test_it_registers_every_model_of_our_apps() -> None:
    from django.apps import apps

    ours = {
        (m._meta.app_label, m._meta.model_name)
        for m in apps.get_models()
        if m._meta.app_label in OUR_APPS and m._meta.model_name != "referencecounter"
    }
    assert ours <= set(OUR_MODELS)


@pytest.mark.parametrize(("app_label", "model_name"), OUR_MODELS)
def test_it_lists_searches_and_filters_every_model(
    client, superuser, some_of_everything, app_label: str, model_name: str
) -> None:
    client.force_login(superuser)
    url = reverse(f"admin:{app_label}_{model_name}_changelist")

    assert client.get(url).status_code == 200
    assert client.get(url, {"q": "<script>alert(1)</script>"}).status_code == 200


@pytest.mark.parametrize(("app_label", "model_name"), OUR_MODELS)
def test_it_opens_the_add_form_of_every_model_that_allows_adding(
    client, superuser, app_label: str, model_name: str
) -> None:
    client.force_login(superuser)
    response = client.get(reverse(f"admin:{app_label}_{model_name}_add"))

    assert response.status_code in (200, 403)  # 403: append-only models (audit trail)


def test_it_autocompletes_platforms_for_foreign_keys(client, superuser, platform) -> None:
    client.force_login(superuser)
    response = client.get(
        reverse("admin:autocomplete"),
        {
            "term": platform.name[:4],
            "app_label": "platforms",
            "model_name": "contact",
            "field_name": "platform",
        },
    )

    assert response.status_code == 200
    assert platform.name in response.content.decode()
