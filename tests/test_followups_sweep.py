"""The follow-up sweeper: no double reminders, real SMTP, escalation to supervisors and upstream,
and the weekly compose where the operator cannot act or nobody can be written to."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from cases.models import (
    CorrespondenceDirection,
    RemovalRequest,
    RequestState,
    RequestType,
)
from cases.services.upstream import (
    request_compose_upstream,
    requests_compose_for_platform,
    requests_compose_weekly_run,
)
from core.errors import DomainError
from core.models import Alert
from followups.services import followups_sweep, weekly_compose_job
from notifications.models import OutboundEmail
from notifications.services import outbound_email_deliver, request_approve_and_send
from platforms.models import OperatorCanAct
from scheduling.jobs import job_run
from tests.factories import (
    ContactFactory,
    ItemFactory,
    PlatformFactory,
    UpstreamProviderFactory,
)
from tests.test_ladder import DAY, SENT, reminders_of, send, sweep_at
from tests.test_sending import SinkHandler, smtp  # noqa: F401  (the SMTP sink fixture)

pytestmark = pytest.mark.django_db

S = RequestState
FIRST_REMINDER = SENT + 7 * DAY
ESCALATION = SENT + 14 * DAY


def provider_of(platform: Any, *, with_contact: bool = True, name: str = "HostCo") -> Any:
    provider = PlatformFactory(name=name, infrastructure=True, preferred_language="en")
    if with_contact:
        ContactFactory(platform=provider, email=f"abuse@{name.lower()}.example", primary=True)
    UpstreamProviderFactory(platform=platform, provider=provider, role="hosting")
    return provider


def escalate(request: RemovalRequest, time_machine: Any) -> None:
    for when in (FIRST_REMINDER, SENT + 10 * DAY, ESCALATION):
        sweep_at(when, time_machine)


# --- never twice ----------------------------------------------------------------------------


def test_it_sends_a_reminder_once_when_two_sweeps_run(alice, bob, platform, time_machine):
    request = send(platform, alice, bob, time_machine)

    first = sweep_at(FIRST_REMINDER, time_machine)
    second = followups_sweep(now=FIRST_REMINDER)

    assert (first.reminders, second.reminders, len(reminders_of(request))) == (1, 0, 1)


@pytest.mark.django_db(transaction=True)
def test_it_skips_a_request_another_sweeper_holds_and_never_doubles_it(
    alice, bob, platform, time_machine
):
    request = send(platform, alice, bob, time_machine)
    time_machine.move_to(FIRST_REMINDER, tick=False)
    locked, release = threading.Event(), threading.Event()

    def other_sweeper() -> None:
        try:
            with transaction.atomic():
                RemovalRequest.objects.select_for_update().get(pk=request.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_sweeper)
    thread.start()
    assert locked.wait(10)
    try:
        while_held = followups_sweep(now=FIRST_REMINDER)
    finally:
        release.set()
        thread.join(10)
    after = followups_sweep(now=FIRST_REMINDER)
    again = followups_sweep(now=FIRST_REMINDER)

    assert (while_held.reminders, after.reminders, again.reminders) == (0, 1, 0)
    assert len(reminders_of(request)) == 1


# --- the reminder on the wire ---------------------------------------------------------------


def test_it_delivers_the_reminder_by_smtp_with_the_open_urls_and_a_portal_link(
    alice,
    bob,
    platform,
    time_machine,
    smtp: SinkHandler,  # noqa: F811
):
    request = send(platform, alice, bob, time_machine, items=1)
    url = request.lines.get().item.url_normalised
    sweep_at(FIRST_REMINDER, time_machine)
    (reminder,) = reminders_of(request)

    assert outbound_email_deliver(email_id=reminder.pk) == "sent"

    (message,) = smtp.messages()
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert message["Subject"].startswith(f"[{request.reference}] Przypomnienie:")  # PasteBay: pl
    assert message["X-TKD-Reminder"] == "1"
    assert url in body
    assert "/r/" in body  # the fresh portal link


# --- escalation -------------------------------------------------------------------------------


def test_it_emails_supervisors_with_an_address_on_escalation(alice, bob, platform, time_machine):
    bob.email = "bob@iru.example"
    bob.save()
    request = send(platform, alice, bob, time_machine)

    escalate(request, time_machine)

    (email,) = OutboundEmail.objects.filter(request=request, to_address="bob@iru.example")
    assert email.subject == f"[{request.reference}] Escalated: no answer from PasteBay"
    assert email.correspondence.direction == CorrespondenceDirection.INTERNAL


def test_it_drafts_a_notice_to_each_upstream_provider_on_escalation(
    alice, bob, platform, time_machine
):
    provider = provider_of(platform)
    request = send(platform, alice, bob, time_machine)

    escalate(request, time_machine)

    (notice,) = RemovalRequest.objects.filter(escalated_from=request)
    assert (notice.platform, notice.state, notice.request_type) == (
        provider,
        S.AWAITING_APPROVAL,
        RequestType.REFERRAL,
    )
    assert set(notice.lines.values_list("item_id", flat=True)) == set(
        request.lines.values_list("item_id", flat=True)
    )
    assert [c.email for c in notice.contacts.all()] == ["abuse@hostco.example"]


def test_it_never_drafts_a_second_notice_for_the_same_escalation(
    alice, bob, platform, time_machine
):
    provider = provider_of(platform)
    request = send(platform, alice, bob, time_machine)
    escalate(request, time_machine)
    items = [line.item for line in request.lines.all()]

    again = request_compose_upstream(provider=provider, items=items, escalated_from=request,
                                     reason="retry")  # fmt: skip

    assert RemovalRequest.objects.filter(escalated_from=request).get() == again


def test_it_lets_a_supervisor_send_the_upstream_notice(alice, bob, platform, time_machine):
    provider_of(platform)
    request = send(platform, alice, bob, time_machine)
    escalate(request, time_machine)
    notice = RemovalRequest.objects.get(escalated_from=request)

    result = request_approve_and_send(request=notice, approver=bob)

    assert (result.request.state, len(result.emails)) == (S.SENT, 1)


def test_it_alerts_instead_of_drafting_to_a_provider_without_contact(
    alice, bob, platform, time_machine
):
    provider = provider_of(platform, with_contact=False)
    request = send(platform, alice, bob, time_machine)

    escalate(request, time_machine)

    assert not RemovalRequest.objects.filter(escalated_from=request).exists()
    assert Alert.objects.filter(key=f"platform-no-contact-{provider.pk}").exists()


# --- the weekly compose -------------------------------------------------------------------------


def ready(platform: Any, count: int = 2) -> list[Any]:
    return [ItemFactory(platform=platform, approved=True) for _ in range(count)]


def test_it_sends_items_of_a_platform_whose_operator_cannot_act_to_its_providers(db):
    p2p = PlatformFactory(name="TorrentHub", operator_can_act=OperatorCanAct.NO)
    ContactFactory(platform=p2p)
    items = ready(p2p)
    host, cdn = provider_of(p2p, name="HostCo"), provider_of(p2p, name="EdgeCDN")

    result = requests_compose_weekly_run()

    assert result.drafts == []
    assert sorted(d.platform.name for d in result.upstream_drafts) == [cdn.name, host.name]
    for draft in result.upstream_drafts:
        assert set(draft.lines.values_list("item_id", flat=True)) == {i.pk for i in items}
        assert draft.state == S.AWAITING_APPROVAL


def test_it_alerts_when_an_operator_cannot_act_and_no_provider_is_known(db):
    p2p = PlatformFactory(name="TorrentHub", operator_can_act=OperatorCanAct.NO)
    ready(p2p, count=3)

    counts = weekly_compose_job(now=SENT)

    assert counts == {"drafts": 0, "upstream_drafts": 0, "stuck_platforms": 1,
                      "platforms_without_contact": 0, "drafts_extended": 0,
                      "skipped_awaiting_approval": 0}  # fmt: skip
    alert = Alert.objects.get(key=f"platform-stuck-{p2p.pk}")
    assert alert.target_id == str(p2p.pk)
    assert alert.message.startswith("3 approved item(s) cannot be sent anywhere.")


def test_it_handles_every_stuck_platform_at_once(db):
    """Stuck platforms cost no query each: their items are counted in the query that finds
    the platforms, their alerts read and written in one query each (issue 11, P5; it was 7
    queries each, then 4, with a savepoint per alert)."""

    def compose(more_stuck: int) -> tuple[int, list[str]]:
        for _ in range(more_stuck):
            stuck = PlatformFactory(operator_can_act=OperatorCanAct.NO)
            ready(stuck, count=2)
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            requests_compose_weekly_run()
            messages = list(
                Alert.objects.filter(key__startswith="platform-stuck-").values_list(
                    "message", flat=True
                )
            )
            transaction.set_rollback(True)  # no alert left: the next run raises them all
        return len(queries), messages

    few, few_alerts = compose(3)
    many, many_alerts = compose(27)

    assert many == few
    assert (len(few_alerts), len(many_alerts)) == (3, 30)
    assert set(many_alerts) == {
        "2 approved item(s) cannot be sent anywhere. Record its hosting provider, CDN or "
        "registrar on the platform page."
    }


def test_it_leaves_a_stuck_platforms_open_alert_as_it_is(db):
    stuck = PlatformFactory(operator_can_act=OperatorCanAct.NO)
    ready(stuck)

    requests_compose_weekly_run()
    requests_compose_weekly_run()

    assert Alert.objects.filter(key=f"platform-stuck-{stuck.pk}").count() == 1


def test_it_alerts_instead_of_drafting_to_a_platform_without_contact(db):
    silent = PlatformFactory(name="Silent")
    ready(silent)

    counts = weekly_compose_job(now=SENT)

    assert (counts["drafts"], counts["platforms_without_contact"]) == (0, 1)
    assert not RemovalRequest.objects.filter(platform=silent).exists()
    assert Alert.objects.filter(key=f"platform-no-contact-{silent.pk}").count() == 1


def test_it_raises_one_alert_however_often_the_platform_is_stuck(db):
    silent = PlatformFactory(name="Silent")
    ready(silent)

    weekly_compose_job(now=SENT)
    weekly_compose_job(now=SENT + 7 * DAY)

    assert Alert.objects.filter(key=f"platform-no-contact-{silent.pk}").count() == 1


# --- as a periodic job ------------------------------------------------------------------


def test_it_runs_as_the_followup_sweep_job_and_reports_counts(alice, bob, platform, time_machine):
    send(platform, alice, bob, time_machine)
    time_machine.move_to(FIRST_REMINDER + timedelta(seconds=5), tick=False)

    result = job_run(name="followup_sweep", now=FIRST_REMINDER + timedelta(seconds=5))

    assert result.status == "succeeded"
    assert result.run is not None and result.run.summary["reminders"] == 1


def test_it_composes_one_platform_to_its_providers_when_its_operator_cannot_act(db):
    p2p = PlatformFactory(name="TorrentHub", operator_can_act=OperatorCanAct.NO)
    ready(p2p)
    host = provider_of(p2p)

    drafts = requests_compose_for_platform(platform=p2p)

    assert [(d.platform, d.state) for d in drafts] == [(host, S.AWAITING_APPROVAL)]


def test_it_refuses_to_compose_for_a_stuck_platform(db):
    p2p = PlatformFactory(name="TorrentHub", operator_can_act=OperatorCanAct.NO)
    ready(p2p)

    with pytest.raises(DomainError, match="no upstream provider"):
        requests_compose_for_platform(platform=p2p)
