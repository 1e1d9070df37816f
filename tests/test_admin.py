"""The Django admin is usable for every model: lists, search, filters, forms."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import (
    CorrespondenceFactory,
    HoldFactory,
    ItemFactory,
    OutcomeRecordFactory,
    SentRequestFactory,
    UpstreamProviderFactory,
)

pytestmark = pytest.mark.django_db

OUR_APPS = {
    "core",
    "platforms",
    "cases",
    "notifications",
    "followups",
    "verification",
    "metrics",
}
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


# Issue 10, point 3: the admin cannot rewrite the investigation record.


def test_it_refuses_a_post_to_an_outcome_change_form(client, superuser) -> None:
    record = OutcomeRecordFactory()
    before = (record.outcome, record.reason)
    client.force_login(superuser)

    response = client.post(
        reverse("admin:cases_outcomerecord_change", args=[record.pk]),
        {"outcome": "refused", "reason": "rewritten", "source": record.source},
    )

    assert response.status_code == 403
    record.refresh_from_db()
    assert (record.outcome, record.reason) == before


def test_it_offers_no_add_change_or_delete_of_correspondence(client, superuser, platform) -> None:
    letter = CorrespondenceFactory(request=SentRequestFactory(platform=platform))
    client.force_login(superuser)

    assert client.get(reverse("admin:cases_correspondence_add")).status_code == 403
    assert (
        client.post(
            reverse("admin:cases_correspondence_change", args=[letter.pk]), {"subject": "x"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("admin:cases_correspondence_delete", args=[letter.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    letter.refresh_from_db()
    assert letter.subject != "x"


def test_it_does_not_let_the_admin_change_an_item_status(client, superuser) -> None:
    item = ItemFactory()
    before = item.status
    client.force_login(superuser)
    url = reverse("admin:cases_item_change", args=[item.pk])
    form = client.get(url).context["adminform"].form
    data = {
        name: (value.pk if hasattr(value, "pk") else value)
        for name, value in form.initial.items()
        if value is not None
    }
    data.update(
        {
            "status": "rejected" if before != "rejected" else "approved",
            "referrals-TOTAL_FORMS": "0",
            "referrals-INITIAL_FORMS": "0",
            "holds-TOTAL_FORMS": "0",
            "holds-INITIAL_FORMS": "0",
        }
    )

    response = client.post(url, data)

    assert response.status_code == 302  # the rest of the form was accepted
    item.refresh_from_db()
    assert item.status == before


def test_it_audits_an_admin_change_of_a_platform(client, superuser, platform) -> None:
    from core.models import AuditEvent

    client.force_login(superuser)
    url = reverse("admin:platforms_platform_change", args=[platform.pk])
    response = client.get(url)
    form = response.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data["name"] = "Renamed Platform"
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name, value in management.initial.items():
            data[f"{inline.formset.prefix}-{name}"] = value
        data[f"{inline.formset.prefix}-TOTAL_FORMS"] = str(management.initial["INITIAL_FORMS"])
        for sub in inline.formset.initial_forms:
            for name, field in sub.fields.items():
                value = sub.initial.get(name, field.initial)
                if value is not None:
                    data[f"{sub.prefix}-{name}"] = getattr(value, "pk", value)

    response = client.post(url, data)

    assert response.status_code == 302, (
        response.context and response.context["adminform"].form.errors
    )
    event = AuditEvent.objects.get(action="admin.change", target_type="platforms.platform")
    assert event.target_id == str(platform.pk)
    assert event.actor == superuser
    assert event.old == {"name": platform.name}
    assert event.new == {"name": "Renamed Platform"}


def test_it_audits_an_admin_delete(client, superuser, platform) -> None:
    from core.models import AuditEvent
    from tests.factories import PlatformDomainFactory

    domain = PlatformDomainFactory(platform=platform)
    client.force_login(superuser)

    response = client.post(
        reverse("admin:platforms_platformdomain_delete", args=[domain.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="admin.delete")
    assert (event.target_type, event.target_id) == ("platforms.platformdomain", str(domain.pk))
    assert event.old == {"str": str(domain)}
