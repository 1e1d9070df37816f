"""Investigation data: actors, cases, items (URLs), removal requests and their outcomes."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from core.choices import CachedChoiceLabels
from platforms.models import Contact, Platform


class Actor(models.Model):
    """A group behind content: name, aliases, whether it is proscribed."""

    name = models.CharField(max_length=200)
    aliases = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    proscribed = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="actor_name_unique_ci")]

    def __str__(self) -> str:
        return self.name


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Case(CachedChoiceLabels, models.Model):
    """An investigation thread grouping content, e.g. one release and its re-uploads."""

    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    actor = models.ForeignKey(
        Actor, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    status = models.CharField(max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cases_created"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at", "id"], name="case_created_idx"),
            models.Index(fields=["status", "created_at", "id"], name="case_list_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class ItemCategory(models.TextChoices):
    PROPAGANDA = "propaganda", _("Propaganda")
    INCITEMENT = "incitement", _("Incitement to violence")
    INSTRUCTION = "instruction", _("Instructional material")
    RECRUITMENT = "recruitment", _("Recruitment")
    GLORIFICATION = "glorification", _("Glorification of attacks")
    THREAT = "threat", _("Threat")
    FINANCING = "financing", _("Terrorist financing")
    OTHER = "other", _("Other")


class LegalBasis(models.TextChoices):
    TERMS_OF_SERVICE = "terms_of_service", _("Platform terms of service (voluntary referral)")
    TCO_REGULATION = "tco_regulation", _("Regulation (EU) 2021/784 (TCO), Art. 3")
    TERRORISM_ACT_2006 = "terrorism_act_2006", _("Terrorism Act 2006, s. 3 (UK)")
    NATIONAL_LAW = "national_law", _("Other national law")


class ItemStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class VerificationStatus(models.TextChoices):
    """What the latest automatic check of an item's URL found (DESIGN §3, Verification)."""

    LIVE = "live", _("Live")
    GONE = "gone", _("Gone")
    UNKNOWN = "unknown", _("Unknown")


class Item(CachedChoiceLabels, models.Model):
    """One URL referred for removal. The same content (normalised URL) is one item, never two."""

    url_submitted = models.TextField(help_text=_("The URL exactly as it was first referred."))
    # Unique by a Meta constraint, not ``unique=True``: the field option also builds a
    # text_pattern_ops index for LIKE 'prefix%' that no query uses (search is by trigram).
    url_normalised = models.TextField()
    # Indexed by Meta.indexes, not ``db_index=True``, for the same reason (host matching is
    # equality or LIKE '%.suffix', which a pattern_ops index cannot answer).
    host = models.CharField(max_length=253)
    # No index of its own: item_platform_status_idx (platform, status) starts with it.
    platform = models.ForeignKey(
        Platform,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="items",
        db_index=False,
    )
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )
    actor = models.ForeignKey(
        Actor, null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )
    category = models.CharField(
        max_length=32, choices=ItemCategory.choices, default=ItemCategory.PROPAGANDA
    )
    legal_basis = models.CharField(
        max_length=32, choices=LegalBasis.choices, default=LegalBasis.TERMS_OF_SERVICE
    )
    assessment_note = models.TextField(blank=True)
    threat_to_life = models.BooleanField(default=False)
    status = models.CharField(
        max_length=20, choices=ItemStatus.choices, default=ItemStatus.PENDING_APPROVAL
    )
    # No index on who referred or reviewed: no page or query looks items up by them, and
    # two more indexes to update on every row slowed bulk intake (issue 11). Deleting a
    # user (rare: they are deactivated) scans the items once for PROTECT.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="items_created",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="items_reviewed",
        db_index=False,
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)
    # The latest verification, kept in step with the newest check row (app
    # ``verification``) so that lists, the dashboard and the metrics read one column.
    # Empty until the URL is first checked.
    # A database default too: bulk paths insert items with raw SQL (intake, benchmarks).
    verification = models.CharField(
        max_length=8, choices=VerificationStatus.choices, blank=True, default="", db_default=""
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    # Evidence capture asked for and not yet tried (the evidence app's queue): set at intake
    # when the officer leaves "capture evidence" on, or by "Capture now"; cleared when the
    # capture has been tried, whatever its outcome. Who asked is recorded with the capture.
    capture_wanted_at = models.DateTimeField(null=True, blank=True)
    capture_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The same content (normalised URL) is one item; intake inserts ON CONFLICT on it.
            # Named as ``unique=True`` named it, so existing databases keep their constraint.
            models.UniqueConstraint(
                fields=["url_normalised"], name="cases_item_url_normalised_key"
            ),
            # Four-eyes: nobody approves or rejects an item they referred.
            models.CheckConstraint(
                condition=Q(reviewed_by__isnull=True) | ~Q(reviewed_by=F("created_by")),
                name="item_four_eyes",
            ),
            models.CheckConstraint(
                condition=Q(status=ItemStatus.PENDING_APPROVAL)
                | (Q(reviewed_by__isnull=False) & Q(reviewed_at__isnull=False)),
                name="item_reviewed_has_reviewer",
            ),
        ]
        permissions = [
            ("review_item", "Can approve or reject items referred by others"),
            ("hold_item", "Can put items on hold and release them"),
        ]
        indexes = [
            # Item list newest/oldest first (keyset pages walk these in either direction),
            # overall and within a status (the approval queue).
            models.Index(fields=["created_at", "id"], name="item_created_idx"),
            models.Index(fields=["status", "created_at", "id"], name="item_status_created_idx"),
            models.Index(fields=["platform", "status"], name="item_platform_status_idx"),
            # The item list sorted by platform (keyset pages in either direction).
            models.Index(fields=["platform", "id"], name="item_platform_id_idx"),
            # Equality on host (platform matching); named as ``db_index=True`` named it.
            models.Index(fields=["host"], name="cases_item_host_d64a253c"),
            # Dashboard: "operator says removed, URL still live", newest check first. Partial:
            # intake inserts unchecked items, which it never touches.
            models.Index(
                fields=["-verified_at"],
                condition=Q(verification="live"),
                name="item_live_verified_idx",
            ),
            # Dashboard: threat-to-life items still needing attention.
            models.Index(
                fields=["created_at"],
                condition=Q(threat_to_life=True),
                name="item_threat_to_life_idx",
            ),
            # The evidence capture queue, oldest first; only the items waiting are in it.
            models.Index(
                fields=["capture_wanted_at", "id"],
                condition=Q(capture_wanted_at__isnull=False),
                name="item_capture_wanted_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.url_normalised


class ItemReferral(models.Model):
    """Every time someone referred this URL: the same content referred twice stays one item."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="referrals")
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    url_submitted = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.url_submitted} referred by {self.referred_by}"


class Hold(CachedChoiceLabels, models.Model):
    """De-confliction: another agency wants the item left online. Held items are never sent."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="holds")
    reason = models.TextField()
    requesting_agency = models.CharField(max_length=200, blank=True)
    review_on = models.DateField()
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    placed_at = models.DateTimeField(auto_now_add=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-placed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["item"],
                condition=Q(released_at__isnull=True),
                name="hold_one_active_per_item",
            ),
        ]

    def __str__(self) -> str:
        return f"Hold on {self.item} until review {self.review_on}"


class Evidence(CachedChoiceLabels, models.Model):
    """What the content was when referred: a capture or an uploaded file, hashed.

    Never altered, except once by the retention purge, which deletes the file and records
    when (``purged_at``); the hash, size and times stay, so the record still says what
    was held. The file is stored under its SHA-256 (content-addressed, never overwritten:
    the evidence app's storage).
    """

    class Kind(models.TextChoices):
        WARC = "warc", _("Web archive (WARC)")
        SCREENSHOT = "screenshot", _("Screenshot")
        OTHER = "other", _("Other file")

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="evidence")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.WARC)
    file = models.FileField(upload_to="evidence/%Y/%m/", max_length=200)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveBigIntegerField()
    captured_at = models.DateTimeField()
    # Who asked for the capture, or who uploaded the file.
    captured_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The URL fetched (a capture) or the file's own name (an upload), and what it shows.
    # db_default: raw INSERTs (the scale generator) need not name them.
    source = models.TextField(blank=True, default="", db_default="")
    description = models.TextField(blank=True, default="", db_default="")
    purged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-captured_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="evidence_sha256_hex"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.item} ({self.sha256[:12]}…)"


class RequestType(models.TextChoices):
    REFERRAL = "referral", _("Referral (voluntary, platform terms)")
    REMOVAL_ORDER = "removal_order", _("Removal order (binding)")


class RequestState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
    SENT = "sent", _("Sent")
    PARTLY_ANSWERED = "partly_answered", _("Partly answered")
    ANSWERED = "answered", _("Answered")
    OVERDUE = "overdue", _("Overdue")
    ESCALATED = "escalated", _("Escalated")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


# States in which the request is out with the operator and the clock runs.
OPEN_REQUEST_STATES = (
    RequestState.SENT,
    RequestState.PARTLY_ANSWERED,
    RequestState.OVERDUE,
    RequestState.ESCALATED,
)


class ReferenceCounter(models.Model):
    """The last request number used in a year, for references like TKD-2026-000123."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class RemovalRequest(CachedChoiceLabels, models.Model):
    """One notice to one platform for N items."""

    reference = models.CharField(max_length=20, unique=True)
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="requests")
    request_type = models.CharField(
        max_length=16, choices=RequestType.choices, default=RequestType.REFERRAL
    )
    legal_basis = models.CharField(max_length=32, choices=LegalBasis.choices)
    state = models.CharField(
        max_length=20, choices=RequestState.choices, default=RequestState.DRAFT
    )
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    threat_to_life = models.BooleanField(default=False)
    # TCO Art. 3(2): an emergency order may skip the 12 hours' advance notice.
    is_emergency = models.BooleanField(default=False)
    contacts = models.ManyToManyField(Contact, blank=True, related_name="requests")
    # Empty when the weekly job composed it.
    composed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="requests_composed",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="requests_approved",
    )
    # Who asked for approval: a weekly draft has no composer, so four-eyes is held
    # between the submitter and the approver (issue 10, point 4).
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="requests_submitted",
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The effective deadline; a clarification pause pushes it back when it ends.
    deadline = models.DateTimeField(null=True, blank=True)
    original_deadline = models.DateTimeField(null=True, blank=True)
    clock_paused_at = models.DateTimeField(null=True, blank=True)
    total_pause = models.DurationField(default=timedelta)
    # Follow-ups are data: the sweeper claims rows whose time has come.
    next_followup_at = models.DateTimeField(null=True, blank=True)
    followup_stage = models.PositiveSmallIntegerField(default=0)
    # A notice to an upstream provider (hosting, CDN, registrar) drafted when the
    # ladder escalated the original request (cases.services.ladder).
    escalated_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="upstream_notices",
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("composed_by")),
                name="request_four_eyes",
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("submitted_by")),
                name="request_four_eyes_submitter",
            ),
            models.CheckConstraint(
                condition=Q(reference__regex=r"^TKD-[0-9]{4}-[0-9]{6}$"),
                name="request_reference_format",
            ),
            models.CheckConstraint(
                condition=Q(
                    state__in=[
                        RequestState.DRAFT,
                        RequestState.AWAITING_APPROVAL,
                        RequestState.CANCELLED,
                    ]
                )
                | (
                    Q(sent_at__isnull=False)
                    & Q(deadline__isnull=False)
                    & Q(approved_by__isnull=False)
                ),
                name="request_sent_has_clock",
            ),
            models.CheckConstraint(
                condition=Q(deadline__isnull=True) | Q(deadline__gt=F("sent_at")),
                name="request_deadline_after_sending",
            ),
            # One live upstream notice per escalated request and provider, so a
            # sweeper that retries an escalation never drafts a second one.
            models.UniqueConstraint(
                fields=["escalated_from", "platform"],
                condition=Q(escalated_from__isnull=False) & ~Q(state=RequestState.CANCELLED),
                name="request_one_upstream_notice_per_provider",
            ),
        ]
        permissions = [
            ("compose_request", "Can compose removal requests"),
            ("approve_request", "Can approve and send removal requests composed by others"),
            ("record_outcome", "Can record an outcome on the operator's behalf"),
        ]
        indexes = [
            # The follow-up sweeper: open requests whose next step is due.
            models.Index(
                fields=["next_followup_at"],
                condition=Q(state__in=list(OPEN_REQUEST_STATES)),
                name="request_followup_due_idx",
            ),
            # The deadline sweeper and "overdue" lists.
            models.Index(
                fields=["deadline"],
                condition=Q(state__in=list(OPEN_REQUEST_STATES)),
                name="request_deadline_open_idx",
            ),
            # The weekly compose: each platform's oldest unsent request (a draft or one
            # awaiting approval). Few rows: without it the compose read every open request
            # once per platform (0.4-0.8 s for 2,000 platforms, issue 11).
            models.Index(
                fields=["platform", "created_at", "id"],
                condition=Q(state__in=[RequestState.DRAFT, RequestState.AWAITING_APPROVAL]),
                name="request_unsent_platform_idx",
            ),
            models.Index(fields=["created_at", "id"], name="request_created_idx"),
            models.Index(fields=["state", "created_at", "id"], name="request_state_created_idx"),
            # Metrics: requests sent in a period, per platform.
            models.Index(fields=["platform", "sent_at"], name="request_platform_sent_idx"),
            # The request list sorted by sent, deadline or platform (keyset pages; the sent
            # index also serves what sent_at alone did).
            models.Index(fields=["sent_at", "id"], name="request_sent_id_idx"),
            models.Index(fields=["deadline", "id"], name="request_deadline_id_idx"),
            models.Index(fields=["platform", "id"], name="request_platform_id_idx"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_REQUEST_STATES

    @property
    def clock_is_paused(self) -> bool:
        return self.clock_paused_at is not None


class Outcome(models.TextChoices):
    PENDING = "pending", _("Pending")
    REMOVED = "removed", _("Removed")
    ACCESS_DISABLED = "access_disabled", _("Access disabled in the unit's country")
    RESTRICTED = "restricted", _("Restricted (age-gated, demoted)")
    ALREADY_GONE = "already_gone", _("Already gone")
    REFUSED_NOT_VIOLATING = "refused_not_violating", _("Refused: not against the terms")
    REFUSED_NO_JURISDICTION = "refused_no_jurisdiction", _("Refused: no jurisdiction")
    UNABLE = "unable", _("Unable to act")
    NEEDS_INFO = "needs_info", _("Needs more information")
    FORWARDED = "forwarded", _("Forwarded to another provider")
    NO_RESPONSE = "no_response", _("No response by the deadline")


REMOVAL_OUTCOMES = (Outcome.REMOVED, Outcome.ACCESS_DISABLED, Outcome.ALREADY_GONE)
UNANSWERED_OUTCOMES = (Outcome.PENDING, Outcome.NO_RESPONSE)
REFUSAL_OUTCOMES = (
    Outcome.REFUSED_NOT_VIOLATING,
    Outcome.REFUSED_NO_JURISDICTION,
    Outcome.UNABLE,
    Outcome.NEEDS_INFO,
    Outcome.FORWARDED,
    Outcome.RESTRICTED,
)


class OutcomeSource(models.TextChoices):
    OPERATOR_PORTAL = "operator_portal", _("Operator, via the portal")
    OPERATOR_EMAIL = "operator_email", _("Operator, by email (recorded by an officer)")
    OFFICER = "officer", _("Officer, on the operator's behalf")
    SYSTEM = "system", _("System")


class RequestItem(CachedChoiceLabels, models.Model):
    """An item's line in a request, with its latest outcome (history in OutcomeRecord)."""

    # Indexed by request_item_request_id_idx (request, id), not the FK's own index: the
    # request page reads its lines a page at a time in id order (decision 0027).
    request = models.ForeignKey(
        RemovalRequest, on_delete=models.CASCADE, related_name="lines", db_index=False
    )
    # Indexed once, by request_item_item_idx: the FK's own index was the same index twice.
    item = models.ForeignKey(
        Item, on_delete=models.PROTECT, related_name="request_lines", db_index=False
    )
    # Latest outcome, kept in step with the newest OutcomeRecord for fast lists and metrics.
    outcome = models.CharField(max_length=32, choices=Outcome.choices, default=Outcome.PENDING)
    outcome_at = models.DateTimeField(null=True, blank=True)
    outcome_source = models.CharField(max_length=20, choices=OutcomeSource.choices, blank=True)
    outcome_reason = models.TextField(blank=True)
    # First times, for the response and removal medians (DESIGN §5).
    first_response_at = models.DateTimeField(null=True, blank=True)
    first_removal_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "item"], name="request_item_unique"),
        ]
        indexes = [
            models.Index(fields=["item"], name="request_item_item_idx"),
            models.Index(fields=["request", "outcome"], name="request_item_outcome_idx"),
            models.Index(fields=["request", "id"], name="request_item_request_id_idx"),
            # Dashboard: this week's answers and removals, and the open questions, without
            # reading every line. Partial, so composing (lines start unanswered) skips them.
            models.Index(
                fields=["first_response_at"],
                condition=Q(first_response_at__isnull=False),
                name="request_item_answered_idx",
            ),
            models.Index(
                fields=["first_removal_at"],
                condition=Q(first_removal_at__isnull=False),
                name="request_item_removed_idx",
            ),
            models.Index(
                fields=["outcome_at"],
                condition=Q(outcome="needs_info"),
                name="request_item_question_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.request.reference}: {self.item} → {self.outcome}"


class OutcomeRecord(CachedChoiceLabels, models.Model):
    """One answer for one request item. Rows are only added: amendments never overwrite."""

    line = models.ForeignKey(RequestItem, on_delete=models.CASCADE, related_name="outcome_records")
    outcome = models.CharField(max_length=32, choices=Outcome.choices)
    source = models.CharField(max_length=20, choices=OutcomeSource.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    # Structured detail from the TCO-shaped form (cannot-comply ground, forwarded-to, question).
    detail = models.JSONField(default=dict, blank=True)
    correspondence = models.ForeignKey(
        "Correspondence", null=True, blank=True, on_delete=models.SET_NULL, related_name="outcomes"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["recorded_at", "id"]
        constraints = [
            # no_response is set at the deadline by the system, never by anyone else.
            models.CheckConstraint(
                condition=~Q(outcome=Outcome.NO_RESPONSE) | Q(source=OutcomeSource.SYSTEM),
                name="outcome_no_response_by_system",
            ),
            models.CheckConstraint(
                condition=~Q(outcome=Outcome.PENDING), name="outcome_record_not_pending"
            ),
            models.CheckConstraint(
                condition=~Q(source__in=[OutcomeSource.OFFICER, OutcomeSource.OPERATOR_EMAIL])
                | Q(recorded_by__isnull=False),
                name="outcome_officer_named",
            ),
        ]

    def __str__(self) -> str:
        when = f"{self.recorded_at:%Y-%m-%d %H:%M}"
        return f"{self.get_outcome_display()} ({self.get_source_display()}, {when})"


class CorrespondenceDirection(models.TextChoices):
    OUTBOUND = "outbound", _("Sent")
    INBOUND = "inbound", _("Received")
    INTERNAL = "internal", _("Internal note")


class CorrespondenceChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    PORTAL = "portal", _("Portal submission")
    NOTE = "note", _("Staff note")
    PHONE = "phone", _("Phone call")
    WEB_FORM = "web_form", _("Web form")


class Correspondence(CachedChoiceLabels, models.Model):
    """Every message out and in, stored whole, on a request's timeline.

    ``request`` is empty for inbound mail that could not be matched yet (the
    "unmatched mail" queue).
    """

    request = models.ForeignKey(
        RemovalRequest,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="correspondence",
    )
    direction = models.CharField(max_length=16, choices=CorrespondenceDirection.choices)
    channel = models.CharField(max_length=16, choices=CorrespondenceChannel.choices)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="correspondence"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    from_address = models.CharField(max_length=400, blank=True)
    to_addresses = ArrayField(models.CharField(max_length=400), default=list, blank=True)
    subject = models.CharField(max_length=1000, blank=True)
    body_text = models.TextField(blank=True)
    # Raw MIME bytes exactly as sent or received, and their SHA-256.
    raw = models.BinaryField(null=True, blank=True, editable=False)
    raw_sha256 = models.CharField(max_length=64, blank=True)
    message_id = models.CharField(max_length=998, blank=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    # Structured content of a portal submission, kept whole and unchanged.
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "correspondence"
        constraints = [
            # A received email is the same message only if its bytes are the same: senders
            # reuse Message-IDs for different messages (decision 0019, point 7b).
            models.UniqueConstraint(
                fields=["raw_sha256"],
                condition=Q(direction="inbound", channel="email") & ~Q(raw_sha256=""),
                name="correspondence_inbound_email_raw_unique",
            ),
            # We mint outgoing Message-IDs: two sent messages sharing one is a bug.
            models.UniqueConstraint(
                fields=["message_id"],
                condition=Q(direction="outbound") & ~Q(message_id=""),
                name="correspondence_outbound_message_id_unique",
            ),
        ]
        indexes = [
            # In-Reply-To / References lookups when matching replies.
            models.Index(
                fields=["message_id"], condition=~Q(message_id=""), name="corr_message_id_idx"
            ),
            models.Index(fields=["request", "created_at"], name="corr_request_timeline_idx"),
            models.Index(
                fields=["created_at"], condition=Q(request__isnull=True), name="corr_unmatched_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.get_channel_display()}: {self.subject}"


class LadderStep(models.IntegerChoices):
    """The rungs of the follow-up ladder, in order. ``followup_stage`` is the last rung done."""

    FIRST_REMINDER = 1, _("First reminder")
    SECOND_REMINDER = 2, _("Second reminder")
    ESCALATION = 3, _("Escalation")
    DEADLINE = 4, _("Deadline")


class LadderPolicy(CachedChoiceLabels, models.Model):
    """The follow-up ladder for one request type, as a default or for one platform.

    Times are durations. The first reminder counts from sending (empty: the
    platform's response target, referrals only); the later rungs count from the
    first reminder. A removal order's deadline is the law's
    (REMOVAL_ORDER_DEADLINE_HOURS), never a setting, so ``deadline_after`` is
    empty for removal orders and required for referrals. Validated with clear
    messages in ``cases.services.ladder``; the checks below hold the invariants.
    """

    request_type = models.CharField(max_length=16, choices=RequestType.choices)
    # Empty: the default for the request type.
    platform = models.ForeignKey(
        Platform, null=True, blank=True, on_delete=models.CASCADE, related_name="ladder_policies"
    )
    first_reminder_after = models.DurationField(null=True, blank=True)
    second_reminder_after = models.DurationField()
    escalate_after = models.DurationField()
    deadline_after = models.DurationField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["request_type", "platform__name", "id"]
        verbose_name_plural = "ladder policies"
        constraints = [
            models.UniqueConstraint(
                fields=["request_type", "platform"],
                condition=Q(platform__isnull=False),
                name="ladder_policy_one_per_platform",
            ),
            models.UniqueConstraint(
                fields=["request_type"],
                condition=Q(platform__isnull=True),
                name="ladder_policy_one_default",
            ),
            models.CheckConstraint(
                condition=Q(first_reminder_after__isnull=True)
                | Q(first_reminder_after__gt=timedelta(0)),
                name="ladder_first_reminder_positive",
            ),
            models.CheckConstraint(
                condition=Q(second_reminder_after__gt=timedelta(0))
                & Q(escalate_after__gte=F("second_reminder_after")),
                name="ladder_steps_in_order",
            ),
            models.CheckConstraint(
                condition=Q(deadline_after__isnull=True)
                | Q(deadline_after__gte=F("escalate_after")),
                name="ladder_deadline_after_escalation",
            ),
            # Referrals: a deadline from the policy; removal orders: the law's, and a
            # first reminder that cannot depend on a response target in days.
            models.CheckConstraint(
                condition=(Q(request_type=RequestType.REFERRAL) & Q(deadline_after__isnull=False))
                | (
                    Q(request_type=RequestType.REMOVAL_ORDER)
                    & Q(deadline_after__isnull=True)
                    & Q(first_reminder_after__isnull=False)
                ),
                name="ladder_deadline_by_type",
            ),
        ]

    def __str__(self) -> str:
        scope = self.platform.name if self.platform is not None else "default"
        return f"{RequestType(self.request_type).label} ladder ({scope})"
