"""The shapes of the demo's tables: what a platform, a contact, a request's story look like.

``dataset.py`` fills these in; ``loader.py`` and ``stories.py`` play them through the
services. Times are given relative to a request's sending (``after_hours``) or as a
(week, weekday, hour) triple where week 0 is the demo's current week and -1 the week before.
"""

from __future__ import annotations

from dataclasses import dataclass

from cases.models import ItemCategory, LegalBasis, OutcomeSource, RequestType
from platforms.models import (
    OperatorCanAct,
    PlatformArchitecture,
    PlatformStatus,
    PlatformTier,
)

# (week, weekday 0=Monday, hour of day as a float: 9.5 is 09:30)
When = tuple[int, int, float]


@dataclass(frozen=True)
class PlatformSpec:
    name: str
    domains: tuple[str, ...]
    kind: str
    country: str
    tier: str = PlatformTier.NICHE
    architecture: str = PlatformArchitecture.CENTRALISED
    operator_can_act: str = OperatorCanAct.YES
    response_target_days: int = 7
    preferred_language: str = "en"
    status: str = PlatformStatus.ACTIVE
    notes: str = ""
    registered_week: int = -12
    # TCO Art. 3(2) advance notice before the first removal order, given in this week.
    tco_notice_week: int | None = None


@dataclass(frozen=True)
class ContactSpec:
    platform: str
    role: str
    name: str
    email: str = ""
    web_form_url: str = ""
    language: str = ""
    primary: bool = False


@dataclass(frozen=True)
class UpstreamSpec:
    platform: str
    provider: str
    role: str


@dataclass(frozen=True)
class ActorSpec:
    name: str
    aliases: tuple[str, ...]
    proscribed: bool
    notes: str


@dataclass(frozen=True)
class CaseSpec:
    key: str
    title: str
    description: str
    actor: str | None
    categories: tuple[str, ...]
    created_by: str
    created_week: int
    closed: bool = False


# --- the steps of a request's story, after it was sent --------------------------------------


@dataclass(frozen=True)
class Answer:
    """The operator answers the lines still open (pending, needs_info, no_response).

    ``outcomes`` go to the lines in order (the last one repeats) unless ``pick_random``,
    when each line draws one at random (repeat an outcome to weight it).
    """

    source: str
    outcomes: tuple[str, ...]
    after_hours: tuple[float, float]
    count: int | None = None
    pick_random: bool = False
    reason: str = ""


@dataclass(frozen=True)
class Clarify:
    """A removal order's operator asks a question (clock paused); the unit answers later."""

    asked_after_hours: float
    answered_after_hours: float
    question: str
    reply: str
    source: str = OutcomeSource.OPERATOR_PORTAL  # or OPERATOR_EMAIL


@dataclass(frozen=True)
class Overdue:
    """The deadline passed with lines still open: the sweeper marks the request overdue."""


@dataclass(frozen=True)
class Expire:
    """At the deadline every pending line becomes no_response."""


@dataclass(frozen=True)
class Escalate:
    """A supervisor escalates and a notice goes to the platform's upstream provider."""

    provider_role: str
    after_hours: float
    reason: str


@dataclass(frozen=True)
class Notify:
    """A notice to an upstream provider without a change of state."""

    provider_role: str
    after_hours: float
    text: str


@dataclass(frozen=True)
class Note:
    after_hours: float
    text: str


@dataclass(frozen=True)
class MarkDefunct:
    """The platform is found gone for good."""

    after_hours: float


@dataclass(frozen=True)
class Close:
    after_days: float
    reason: str = "Outcomes checked; nothing left to chase."


@dataclass(frozen=True)
class Cancel:
    """Discard a request that was never sent (only for ``stage="draft"``)."""

    after_hours: float
    reason: str


Step = Answer | Clarify | Overdue | Expire | Escalate | Notify | Note | MarkDefunct | Close | Cancel


@dataclass(frozen=True)
class Plan:
    """One removal request and the items it carries, from referral to its current state.

    A weekly plan's items are referred during the week before ``week``; the weekly job
    composes the draft at 06:00 on that Monday and a supervisor sends it mid-morning.
    An ``ad_hoc`` plan (weekday, hour) is composed by hand on the day and sent at that time.
    """

    platform: str
    week: int
    items: int
    case: str
    steps: tuple[Step, ...] = ()
    stage: str = "sent"  # "draft", "submitted" (awaiting approval) or "sent"
    request_type: str = RequestType.REFERRAL
    legal_basis: str = LegalBasis.TERMS_OF_SERVICE
    ad_hoc: tuple[int, float] | None = None
    emergency: bool = False
    threat_to_life: int = 0  # how many of the items are flagged
    category: str = ""  # default: drawn from the case's categories


@dataclass(frozen=True)
class ExtraItem:
    """An item outside any request: awaiting approval, rejected, on hold, or approved."""

    platform: str
    case: str
    referred: When
    category: str = ItemCategory.PROPAGANDA
    threat_to_life: bool = False
    reject_note: str = ""
    hold_agency: str = ""
    hold_reason: str = ""
    hold_review_in_days: int = 0
    approve: bool = False
