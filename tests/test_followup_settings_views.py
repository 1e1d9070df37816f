"""The follow-ups page: who may see and change the schedule and the ladders; bad input is a 400."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest
from django.urls import reverse

from cases.models import LadderPolicy, RequestType
from core.audit import audit_history
from core.models import Alert
from followups.models import ComposeSchedule
from tests.factories import AlertFactory, LadderPolicyFactory, PlatformFactory
from tests.test_ladder import SENT, send

pytestmark = pytest.mark.django_db

PAGE = reverse("followups:settings")
SCHEDULE = reverse("followups:schedule_update")
LADDERS = reverse("followups:ladder_save")


def default_key() -> str:
    default = LadderPolicy.objects.get(request_type="referral", platform=None)
    return f"ladder-{default.pk}"


def referral_post(**fields: Any) -> dict[str, Any]:
    return {"form_key": "new", "request_type": "referral", "platform": "",
            "first_unit": "target", "second_amount": "3", "second_unit": "days",
            "escalate_amount": "7", "escalate_unit": "days",
            "deadline_amount": "14", "deadline_unit": "days"} | fields  # fmt: skip


def test_it_shows_the_schedule_and_both_default_ladders_to_a_supervisor(client, bob):
    client.force_login(bob)

    response = client.get(PAGE)

    assert response.status_code == 200
    assert [p.request_type for p, _key, _form in response.context["defaults"]] == [
        RequestType.REFERRAL,
        RequestType.REMOVAL_ORDER,
    ]
    assert b'id="schedule-form"' in response.content


def test_it_shows_an_officer_the_schedule_read_only(client, alice):
    client.force_login(alice)

    response = client.get(PAGE)

    assert response.status_code == 200
    assert b'id="schedule-summary"' in response.content
    assert b"Save ladder" not in response.content


def test_it_sends_anonymous_visitors_to_sign_in(client):
    assert client.get(PAGE).status_code == 302


@pytest.mark.parametrize("overrides", [0, 20])
def test_it_renders_the_page_in_a_constant_number_of_queries(
    client, bob, django_assert_max_num_queries, overrides
):
    for _ in range(overrides):
        LadderPolicyFactory()
    client.force_login(bob)

    with django_assert_max_num_queries(8):
        assert client.get(PAGE).status_code == 200


def test_it_lets_a_supervisor_move_the_weekly_compose(client, bob):
    client.force_login(bob)

    response = client.post(SCHEDULE, {"weekday": "4", "time_of_day": "09:30", "enabled": "on"})

    assert response.status_code == 302
    schedule = ComposeSchedule.objects.get()
    assert (schedule.weekday, schedule.time_of_day, schedule.updated_by) == (4, time(9, 30), bob)
    assert audit_history(schedule).get().action == "compose_schedule.changed"


def test_it_refuses_an_officer_changing_the_schedule(client, alice):
    client.force_login(alice)

    response = client.post(SCHEDULE, {"weekday": "4", "time_of_day": "09:30"})

    assert response.status_code == 403
    assert ComposeSchedule.objects.get().weekday == 0


@pytest.mark.parametrize(
    "fields",
    [
        {"weekday": "9", "time_of_day": "06:00"},
        {"weekday": "0", "time_of_day": "25:00"},
        {"weekday": "x", "time_of_day": ""},
    ],
)
def test_it_answers_400_to_a_bad_schedule(client, bob, fields):
    client.force_login(bob)

    response = client.post(SCHEDULE, fields)

    assert response.status_code == 400
    assert ComposeSchedule.objects.get().time_of_day == time(6, 0)


def test_it_changes_the_default_referral_ladder(client, bob):
    client.force_login(bob)
    default = LadderPolicy.objects.get(request_type="referral", platform=None)

    response = client.post(LADDERS, referral_post(form_key=f"ladder-{default.pk}",
                                                  second_amount="2"))  # fmt: skip

    assert response.status_code == 302
    default.refresh_from_db()
    assert default.second_reminder_after == timedelta(days=2)
    assert audit_history(default).get().action == "ladder_policy.changed"


def test_it_adds_a_platform_ladder(client, bob, platform):
    client.force_login(bob)

    response = client.post(LADDERS, referral_post(platform=str(platform.pk), first_unit="days",
                                                  first_amount="3"))  # fmt: skip

    assert response.status_code == 302
    policy = LadderPolicy.objects.get(platform=platform)
    assert policy.first_reminder_after == timedelta(days=3)


def test_it_answers_400_with_the_reason_to_an_escalation_before_the_second_reminder(client, bob):
    client.force_login(bob)

    response = client.post(LADDERS, referral_post(form_key=default_key(), escalate_amount="1"))

    assert response.status_code == 400
    assert b"cannot come before the second reminder" in response.content


def test_it_answers_400_to_a_missing_amount(client, bob, platform):
    client.force_login(bob)

    response = client.post(LADDERS, referral_post(platform=str(platform.pk), second_amount=""))

    assert response.status_code == 400
    assert "second_amount" in response.context["new_override"].errors


def test_it_refuses_an_officer_changing_a_ladder(client, alice):
    client.force_login(alice)

    response = client.post(
        LADDERS, referral_post(form_key=default_key(), second_amount="1", escalate_amount="1")
    )

    assert response.status_code == 403
    default = LadderPolicy.objects.get(request_type="referral", platform=None)
    assert default.second_reminder_after == timedelta(days=3)


def test_it_removes_a_platform_ladder(client, bob):
    policy = LadderPolicyFactory(platform=PlatformFactory(name="Gab"))
    client.force_login(bob)

    response = client.post(reverse("followups:ladder_delete", args=[policy.pk]))

    assert response.status_code == 302
    assert not LadderPolicy.objects.filter(pk=policy.pk).exists()


def test_it_refuses_an_officer_removing_a_platform_ladder(client, alice):
    policy = LadderPolicyFactory()
    client.force_login(alice)

    response = client.post(reverse("followups:ladder_delete", args=[policy.pk]))

    assert response.status_code == 403
    assert LadderPolicy.objects.filter(pk=policy.pk).exists()


def test_it_changes_nothing_on_get(client, bob):
    policy = LadderPolicyFactory()
    client.force_login(bob)

    assert client.get(reverse("followups:ladder_delete", args=[policy.pk])).status_code == 405


# --- alerts on the dashboard, the ladder on the request page ---------------------------------


def test_it_shows_open_alerts_to_supervisors_on_the_dashboard(client, bob):
    AlertFactory(title="TKD-2026-000001 escalated: no answer from PasteBay")
    client.force_login(bob)

    response = client.get(reverse("dashboard"))

    assert b"TKD-2026-000001 escalated: no answer from PasteBay" in response.content


def test_it_hides_supervisor_alerts_from_analysts(client, dave):
    AlertFactory(title="Only for supervisors")
    client.force_login(dave)

    assert b"Only for supervisors" not in client.get(reverse("dashboard")).content


def test_it_dismisses_an_alert(client, bob):
    alert = AlertFactory()
    client.force_login(bob)

    response = client.post(reverse("followups:alert_dismiss", args=[alert.pk]))

    assert response.status_code == 302
    alert.refresh_from_db()
    assert (alert.dismissed_by, alert.dismissed_at is not None) == (bob, True)
    assert not Alert.objects.filter(pk=alert.pk, dismissed_at__isnull=True).exists()


def test_it_shows_the_ladder_on_the_request_page(client, alice, bob, platform, time_machine):
    request = send(platform, alice, bob, time_machine)
    client.force_login(alice)

    response = client.get(reverse("requests:detail", args=[request.pk]))

    content = response.content.decode()
    assert 'id="ladder"' in content
    assert "First reminder" in content
    assert (SENT + timedelta(days=7)).strftime("%Y-%m-%d") in content


def test_it_never_changes_a_default_from_the_add_for_one_platform_form(client, bob):
    client.force_login(bob)

    response = client.post(LADDERS, referral_post(form_key="new", second_amount="1",
                                                  escalate_amount="1"))  # fmt: skip

    assert response.status_code == 400
    default = LadderPolicy.objects.get(request_type="referral", platform=None)
    assert default.second_reminder_after == timedelta(days=3)


def test_it_saves_a_removal_order_ladder_on_minutes_with_the_legal_deadline(client, bob):
    client.force_login(bob)
    order = LadderPolicy.objects.get(request_type="removal_order", platform=None)

    response = client.post(LADDERS, {
        "form_key": f"ladder-{order.pk}", "request_type": "removal_order", "platform": "",
        "first_amount": "20", "first_unit": "minutes", "second_amount": "20",
        "second_unit": "minutes", "escalate_amount": "40", "escalate_unit": "minutes",
        "deadline_unit": "legal",
    })  # fmt: skip

    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.first_reminder_after, order.deadline_after) == (timedelta(minutes=20), None)
