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


@shared_task(name="notifications.outbound_email_sweep", ignore_result=True)
def outbound_email_sweep() -> int:
    return len(services.outbound_email_sweep().enqueued)


@shared_task(name="notifications.poll_imap_mailbox", ignore_result=True)
def poll_imap_mailbox() -> int:
    """Ingest unseen replies from the unit mailbox in IMAP_URL; nothing when it is unset."""
    from django.conf import settings

    from notifications.inbound.imap import imap_poll, imap_settings_from_url

    if not settings.IMAP_URL:
        return 0
    imap = imap_settings_from_url(settings.IMAP_URL)
    result = imap_poll(
        host=imap.host,
        port=imap.port,
        user=imap.user,
        password=imap.password,
        mailbox=imap.mailbox,
        ssl=imap.ssl,
    )
    return len(result.ingested)
