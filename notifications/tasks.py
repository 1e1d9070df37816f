"""Celery tasks: thin, idempotent, ids in, a service call out.

Running one twice does nothing the second time (the ledger row is claimed
with a compare-and-swap), so redelivery by the broker is harmless.
"""

from __future__ import annotations

from celery import shared_task

from notifications import services


@shared_task(name="notifications.deliver_outbound_email", ignore_result=True)
def deliver_outbound_email(email_id: int) -> str | None:
    return services.outbound_email_deliver(email_id=email_id)


@shared_task(name="notifications.send_alert_email", ignore_result=True)
def send_alert_email(alert_id: int) -> int:
    from notifications.staff_alerts import alert_emails_send

    return alert_emails_send(alert_ids=[alert_id])


# The sweeper and the IMAP poller run as periodic jobs (scheduling.jobs). These two
# names stay registered so that messages already queued under them still run.
@shared_task(name="notifications.outbound_email_sweep", ignore_result=True)
def outbound_email_sweep() -> int:
    return len(services.outbound_email_sweep().enqueued)


@shared_task(name="notifications.poll_imap_mailbox", ignore_result=True)
def poll_imap_mailbox() -> int:
    from django.utils import timezone

    return services.imap_poll_job(now=timezone.now())["ingested"]
