"""The outgoing-email ledger: one row per message per recipient, claimed and retried by state.

Sending a request never depends on a broker message surviving: the row is
written in the same transaction that marks the request sent, a task is only a
hint to deliver it now, and a periodic sweeper re-finds rows whose hint was lost.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cases.models import Correspondence, RemovalRequest
from core.choices import CachedChoiceLabels
from platforms.models import Contact


class OutboundEmailState(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class OutboundEmail(CachedChoiceLabels, models.Model):
    """One message to one recipient. The bytes sent are ``correspondence.raw``, never rebuilt."""

    request = models.ForeignKey(
        RemovalRequest, on_delete=models.PROTECT, related_name="outbound_emails"
    )
    # The outbound Correspondence holding the whole message (raw MIME, SHA-256, Message-ID).
    correspondence = models.ForeignKey(
        Correspondence, on_delete=models.PROTECT, related_name="outbound_emails"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_address = models.CharField(max_length=400)
    message_id = models.CharField(max_length=998)
    subject = models.CharField(max_length=1000)
    state = models.CharField(
        max_length=16, choices=OutboundEmailState.choices, default=OutboundEmailState.PENDING
    )
    # Counted when a worker claims the row, so a worker that dies mid-send still uses one up.
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # When a pending row may be (re)tried; the sweeper enqueues rows whose time has passed.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When a delivery task was last handed to the broker. The sweeper re-enqueues a
    # due row only once this is old, so an outage does not pile up duplicate tasks.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # When a worker moved the row to "sending"; a row stuck there is handed back by the sweeper.
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # One ledger row per message: a retry resends the same row, never a copy.
            models.UniqueConstraint(fields=["message_id"], name="outbound_email_message_id_unique"),
            models.CheckConstraint(
                condition=~Q(state=OutboundEmailState.SENT) | Q(sent_at__isnull=False),
                name="outbound_email_sent_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(state=OutboundEmailState.SENDING) | Q(claimed_at__isnull=False),
                name="outbound_email_sending_is_claimed",
            ),
        ]
        indexes = [
            # The sender sweep: pending rows whose next attempt is due.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state=OutboundEmailState.PENDING),
                name="outbound_email_due_idx",
            ),
            # The sender sweep: rows a dead worker left in "sending".
            models.Index(
                fields=["claimed_at"],
                condition=Q(state=OutboundEmailState.SENDING),
                name="outbound_email_stuck_idx",
            ),
            # The request page's delivery panel.
            models.Index(fields=["request", "created_at"], name="outbound_email_request_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to_address} ({self.get_state_display()})"


# --- inbound mail ---------------------------------------------------------------------
#
# A received message is stored as a ``cases.Correspondence`` (direction inbound,
# channel email) so it sits on the request's timeline with its raw bytes and
# SHA-256. What only email has (how it was matched, auto-reply and sender flags,
# parser defects, the reply text with quotes stripped) lives here, 1:1 with it:
# ``Correspondence.payload`` is documented as a portal submission kept unchanged,
# these flags must be queryable (the unmatched queue, "never counts as an
# answer"), and ``cases`` must not learn about MIME.


class MatchedBy(models.TextChoices):
    REPLY_TOKEN = "reply_token", _("Reply address")
    IN_REPLY_TO = "in_reply_to", _("In-Reply-To / References")
    SUBJECT_REFERENCE = "subject_reference", _("Reference in the subject")
    MANUAL = "manual", _("Attached by an officer")
    NONE = "none", _("Not matched")


class InboundMail(CachedChoiceLabels, models.Model):
    """What ingest learned about one received email (the bytes are in the Correspondence)."""

    correspondence = models.OneToOneField(
        Correspondence, on_delete=models.CASCADE, related_name="inbound_mail"
    )
    # "smtp", "imap:<mailbox>", "test", ...: which feed delivered it.
    received_via = models.CharField(max_length=200)
    matched_by = models.CharField(max_length=20, choices=MatchedBy.choices, default=MatchedBy.NONE)
    is_auto_reply = models.BooleanField(default=False)
    # Which headers made it an auto-reply (Auto-Submitted, List-Id, ...).
    auto_reply_reasons = models.JSONField(default=list, blank=True)
    # False when the From address is not an active contact of the request's platform.
    sender_is_contact = models.BooleanField(default=False)
    # Parser defects and anything that went wrong while reading the message, one per line.
    parse_defects = models.TextField(blank=True)
    # Why the mail waits for an officer instead of landing on a request, shown in the
    # unmatched queue: a forged sender on a subject-only match, a refused oversize
    # message. Not a parser defect: the message itself may be perfectly well formed.
    review_reason = models.CharField(max_length=1000, blank=True)
    # The unit's own server said the From domain fails DMARC/SPF ("DMARC failed for
    # example.org"). Kept when an officer attaches the mail, so its outcomes still
    # need the officer's vouching: attaching says which request, not who sent it.
    sender_auth_failure = models.CharField(max_length=300, blank=True)
    # The reply with quoted text removed (what the operator wrote, signature included),
    # and the trailing signature block found in it, shown de-emphasised.
    reply_text = models.TextField(blank=True)
    signature = models.TextField(blank=True)
    # The HTML part: sanitised with nh3 when available; otherwise the source,
    # which the page shows only as escaped text.
    html = models.TextField(blank=True)
    html_is_sanitised = models.BooleanField(default=False)
    envelope_recipients = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Inbound mail {self.correspondence_id} ({self.get_matched_by_display()})"

    @property
    def reply_body(self) -> str:
        """The reply without its trailing signature block."""
        if self.signature and self.reply_text.endswith(self.signature):
            return self.reply_text[: -len(self.signature)].rstrip()
        return self.reply_text


class InboundAttachment(models.Model):
    """One attachment of a received email: hashed, size-limited, never rendered inline."""

    correspondence = models.ForeignKey(
        Correspondence, on_delete=models.CASCADE, related_name="inbound_attachments"
    )
    filename = models.CharField(max_length=400, blank=True)
    content_type = models.CharField(max_length=200)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    # Empty when the part was larger than INBOUND_ATTACHMENT_MAX_BYTES (the raw
    # message still holds it, so nothing is lost).
    content = models.BinaryField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.filename or '(unnamed)'} ({self.content_type}, {self.size} bytes)"

    @property
    def is_stored(self) -> bool:
        return self.content is not None
