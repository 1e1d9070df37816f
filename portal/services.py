"""Portal links and operator submissions.

A submission is stored whole and unchanged as one inbound Correspondence, then
each answered URL is recorded through the cases service (which keeps history,
moves the request's state and pauses a removal order's clock on a question).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from cases.models import (
    UNANSWERED_OUTCOMES,
    Correspondence,
    CorrespondenceChannel,
    CorrespondenceDirection,
    Outcome,
    OutcomeSource,
    RemovalRequest,
    RequestItem,
    RequestState,
)
from cases.services.outcomes import LineAnswer, request_lines_record_outcomes
from cases.services.requests import lock_request
from core.access import require_permission
from core.audit import audit_record
from core.errors import DomainError, IllegalTransition
from core.tokens import hash_token
from platforms.models import Contact
from portal.models import PortalLink

TOKEN_BYTES = 32  # 256 bits
# Longer than any token we issue; anything longer is not looked up at all.
TOKEN_MAX_LENGTH = 100

# Links of requests in these states open nothing (the answer window is over or never began).
DEAD_REQUEST_STATES = (
    RequestState.DRAFT,
    RequestState.AWAITING_APPROVAL,
    RequestState.CLOSED,
    RequestState.CANCELLED,
)


class Answer:
    """The operator's choices, shaped on the TCO annexes (Annex II done / Annex III cannot)."""

    REMOVED = "removed"
    ACCESS_DISABLED = "access_disabled"
    ALREADY_GONE = "already_gone"
    CANNOT_COMPLY = "cannot_comply"
    NOT_VIOLATING = "not_violating"
    FORWARDED = "forwarded"
    NEEDS_CLARIFICATION = "needs_clarification"

    ALL = (
        REMOVED,
        ACCESS_DISABLED,
        ALREADY_GONE,
        CANNOT_COMPLY,
        NOT_VIOLATING,
        FORWARDED,
        NEEDS_CLARIFICATION,
    )


class Ground:
    """Why the operator cannot comply (TCO Annex III, section B)."""

    FORCE_MAJEURE = "force_majeure"
    TECHNICALLY_IMPOSSIBLE = "technically_impossible"
    MANIFESTLY_WRONG = "manifestly_wrong"
    INSUFFICIENT_INFORMATION = "insufficient_information"

    ALL = (FORCE_MAJEURE, TECHNICALLY_IMPOSSIBLE, MANIFESTLY_WRONG, INSUFFICIENT_INFORMATION)


SIMPLE_OUTCOMES = {
    Answer.REMOVED: Outcome.REMOVED,
    Answer.ACCESS_DISABLED: Outcome.ACCESS_DISABLED,
    Answer.ALREADY_GONE: Outcome.ALREADY_GONE,
    Answer.NOT_VIOLATING: Outcome.REFUSED_NOT_VIOLATING,
    Answer.FORWARDED: Outcome.FORWARDED,
    Answer.NEEDS_CLARIFICATION: Outcome.NEEDS_INFO,
}

COMMENT_MAX_LENGTH = 2000
QUESTION_MAX_LENGTH = 4000
FORWARDED_TO_MAX_LENGTH = 300
GENERAL_COMMENT_MAX_LENGTH = 4000


def portal_url_for(token: str) -> str:
    return f"{settings.PORTAL_BASE_URL.rstrip('/')}/r/{token}/"


# What every stored copy of an email carries where the token goes (decision 0017):
# the worker puts a freshly issued token in its place just before the SMTP
# conversation, so only the recipient's mailbox ever holds a working link.
# Token alphabet only, so no HTML escaping or quoted-printable encoding changes it,
# and never a valid token (it is shorter than any token we issue).
WITHHELD_TOKEN = "TKD-portal-link-withheld"  # noqa: S105 - a placeholder, not a secret


def portal_url_withheld() -> str:
    """The masked link that stored emails (timeline, ledger) show instead of the real one."""
    return portal_url_for(WITHHELD_TOKEN)


def portal_link_issue(*, request: RemovalRequest, contact: Contact) -> tuple[PortalLink, str]:
    """A fresh link for ``contact`` on ``request``; the token is returned once and never stored.

    Issuing again for the same contact replaces the token (the old link stops working).
    """
    if contact.platform_id != request.platform_id:
        raise DomainError(f"{contact} is not a contact of {request.platform.name}.")
    if request.deadline is None:
        raise IllegalTransition(f"Request {request.reference} has no deadline yet; send it first.")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = timezone.now()
    expires_at = request.deadline + timedelta(days=settings.PORTAL_LINK_VALID_DAYS_AFTER_DEADLINE)
    link, _ = PortalLink.objects.update_or_create(
        request=request,
        contact=contact,
        defaults={
            "token_hash": hash_token(token),
            "created_at": now,
            "expires_at": expires_at,
            "revoked_at": None,
            "revoked_by": None,
            "last_used_at": None,
        },
    )
    audit_record(
        actor=None,
        actor_label="system",
        action="portal.link_issued",
        target=request,
        new={"contact": contact.pk, "expires_at": expires_at.isoformat()},
    )
    return link, token


@transaction.atomic
def portal_link_revoke(*, link: PortalLink, by: Any) -> PortalLink:
    require_permission(by, "cases.approve_request", "revoke portal links")
    link = PortalLink.objects.select_for_update().get(pk=link.pk)
    if link.revoked_at is not None:
        raise IllegalTransition("This portal link is already revoked.")
    link.revoked_at = timezone.now()
    link.revoked_by = by
    link.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(
        actor=by,
        action="portal.link_revoked",
        target=link.request,
        new={"contact": link.contact_id},
    )
    return link


def portal_link_token_for_delivery(*, request_id: int, contact_id: int) -> str | None:
    """A fresh token for the link of ``contact_id`` on ``request_id``, for the email being sent now.

    Called by the mail worker right before delivery; the token goes into the
    outgoing bytes only. Issuing replaces the link's previous token (the older
    email's link stops working): the newest email always carries the working link.
    A link staff revoked, or one that expired, is not brought back: the email
    goes out with the withheld placeholder (it still carries the reply address).
    """
    with transaction.atomic():
        link = (
            PortalLink.objects.select_for_update()
            .filter(request_id=request_id, contact_id=contact_id)
            .first()
        )
        if link is None or link.revoked_at is not None or link.expires_at <= timezone.now():
            return None
        token = secrets.token_urlsafe(TOKEN_BYTES)
        link.token_hash = hash_token(token)
        link.save(update_fields=["token_hash"])
        audit_record(
            actor=None,
            actor_label="system",
            action="portal.link_delivered",
            target=RemovalRequest(pk=request_id),
            new={"contact": contact_id},
        )
    return token


def portal_link_invalidate_token(*, link: PortalLink) -> None:
    """Kill the link's current token now (a random hash nobody holds a token for).

    The link itself lives on (un-revoked, expiry renewed) for the token the next
    delivery issues: this is the first half of a re-issue.
    """
    link.token_hash = hash_token(secrets.token_urlsafe(TOKEN_BYTES))
    link.revoked_at = None
    link.revoked_by = None
    if link.request.deadline is not None:
        link.expires_at = link.request.deadline + timedelta(
            days=settings.PORTAL_LINK_VALID_DAYS_AFTER_DEADLINE
        )
    link.save(update_fields=["token_hash", "revoked_at", "revoked_by", "expires_at"])


def portal_link_for_token(token: str) -> PortalLink | None:
    """The live link for ``token``, or None. Callers never tell the operator which check failed."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    link = (
        PortalLink.objects.select_related("request__platform", "contact__platform")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if link is None or link.revoked_at is not None or link.expires_at <= timezone.now():
        return None
    if link.request.state in DEAD_REQUEST_STATES:
        return None
    return link


# --- submissions ---------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    number: str
    sequence: int
    correspondence: Correspondence
    answered: int
    # "All removed": how many unanswered URLs it answered, how many answered ones it left.
    bulk_applied: int = 0
    bulk_left: int = 0
    # URLs whose earlier answer this submission explicitly changed.
    amended: int = 0


class OperatorRefusal(DomainError):
    """A refusal worded for the operator, shown in the portal page's language.

    ``message`` stays English (logs, staff); ``translated()`` words it in the active
    language. The view translates only the message, so nothing the submission stores
    (audit labels and the like) is written in the operator's language.
    """

    def __init__(self, template: str, **params: object) -> None:
        self.template = template
        self.params = params
        super().__init__(template % params if params else template)

    def translated(self) -> str:
        text = gettext(self.template)
        return text % self.params if self.params else text


class OperatorLinkRefusal(OperatorRefusal, IllegalTransition):
    """The link died between opening the page and submitting it."""


# Whole sentences per field, so each language can word (and inflect) the field itself.
TOO_LONG_MESSAGES = {
    "provider name": gettext_noop("The provider name can be at most %(limit)d characters long."),
    "question": gettext_noop("The question can be at most %(limit)d characters long."),
    "comment": gettext_noop("The comment can be at most %(limit)d characters long."),
}


def _clean_text(value: Any, limit: int, label: str) -> str:
    text = str(value or "").replace("\x00", "").strip()
    if len(text) > limit:
        raise OperatorRefusal(TOO_LONG_MESSAGES[label], limit=limit)
    return text


def _clean_answer(line_id: int, raw: dict[str, Any]) -> dict[str, str]:
    answer = str(raw.get("outcome") or "")
    if answer not in Answer.ALL:
        raise OperatorRefusal(
            gettext_noop("Unknown answer %(answer)s for URL %(line)s."),
            answer=repr(answer),
            line=line_id,
        )
    ground = str(raw.get("ground") or "")
    forwarded_to = _clean_text(raw.get("forwarded_to"), FORWARDED_TO_MAX_LENGTH, "provider name")
    question = _clean_text(raw.get("question"), QUESTION_MAX_LENGTH, "question")
    comment = _clean_text(raw.get("comment"), COMMENT_MAX_LENGTH, "comment")
    if answer == Answer.CANNOT_COMPLY and ground not in Ground.ALL:
        raise OperatorRefusal(gettext_noop("Choose why you cannot comply."))
    if answer == Answer.FORWARDED and not forwarded_to:
        raise OperatorRefusal(gettext_noop("Name the provider you forwarded the request to."))
    if answer == Answer.NEEDS_CLARIFICATION and not question:
        raise OperatorRefusal(gettext_noop("Write the question you need answered."))
    return {
        "outcome": answer,
        "ground": ground if answer == Answer.CANNOT_COMPLY else "",
        "forwarded_to": forwarded_to if answer == Answer.FORWARDED else "",
        "question": question if answer == Answer.NEEDS_CLARIFICATION else "",
        "comment": comment,
    }


def outcome_for_answer(answer: dict[str, str]) -> tuple[Outcome, dict[str, str]]:
    """The request-item outcome and its structured detail for one cleaned answer."""
    kind = answer["outcome"]
    if kind == Answer.CANNOT_COMPLY:
        ground = answer["ground"]
        if ground == Ground.INSUFFICIENT_INFORMATION:
            # Not enough information to find the content is a request for
            # clarification in all but name: TCO Art. 3(8) stops the deadline until the
            # unit supplies it, and DESIGN §3 makes needs_info the clarification path.
            # Recording it as needs_info pauses a removal order's clock and puts it in
            # the unit's "answer the question" queue; "unable" would do neither.
            question = answer["comment"] or "Not enough information to find the content."
            return Outcome.NEEDS_INFO, {"ground": ground, "question": question}
        return Outcome.UNABLE, {"ground": ground}
    if kind == Answer.FORWARDED:
        return Outcome.FORWARDED, {"forwarded_to": answer["forwarded_to"]}
    if kind == Answer.NEEDS_CLARIFICATION:
        return Outcome.NEEDS_INFO, {"question": answer["question"]}
    return SIMPLE_OUTCOMES[kind], {}


def _summary(
    request: RemovalRequest,
    receipt: str,
    answers: dict[str, dict[str, str]],
    request_lines: dict[int, RequestItem],
) -> str:
    urls = {line_id: line.item.url_normalised for line_id, line in request_lines.items()}
    lines = [f"Portal submission {receipt} for {request.reference}"]
    for line_id, answer in answers.items():
        parts = [answer["outcome"]]
        for key in ("ground", "forwarded_to", "question", "comment"):
            if answer[key]:
                parts.append(f"{key}: {answer[key]}")
        if answer.get("amends"):
            parts.append(f"amends: {answer['amends']}")
        lines.append(f"- {urls.get(int(line_id), line_id)}: " + "; ".join(parts))
    return "\n".join(lines)


def _answers_for_lines(
    lines: dict[int, RequestItem], answers: dict[int, dict[str, Any]], *, reference: str
) -> dict[str, dict[str, str]]:
    """The submitted answers, cleaned; an answered line changes only on an explicit tick."""
    # The number the page shows for each URL ("URL 2"), for messages the operator reads.
    numbers = {line_id: number for number, line_id in enumerate(lines, start=1)}
    cleaned: dict[str, dict[str, str]] = {}
    for line_id, raw in answers.items():
        if line_id not in lines:
            # Only ever the link's own request: a line id of another request is refused.
            raise OperatorRefusal(
                gettext_noop("URL %(line)s is not part of %(reference)s."),
                line=line_id,
                reference=reference,
            )
        line = lines[line_id]
        answered = line.outcome not in UNANSWERED_OUTCOMES
        wants_change = str(raw.get("change") or "") == "1"
        if not raw.get("outcome"):
            if wants_change:
                raise OperatorRefusal(
                    gettext_noop(
                        "Choose the new answer for URL %(number)d, or untick “Change this answer”."
                    ),
                    number=numbers[line_id],
                )
            continue
        if answered and not wants_change:
            # Never overwrite an answer silently: the operator must say so.
            raise OperatorRefusal(
                gettext_noop(
                    "URL %(number)d already has an answer (%(current)s). To change it, "
                    "tick “Change this answer” on that URL."
                ),
                number=numbers[line_id],
                current=Outcome(line.outcome).label,
            )
        cleaned[str(line_id)] = _clean_answer(line_id, raw)
        if answered:
            cleaned[str(line_id)]["amends"] = line.outcome
    return cleaned


def _answer_unanswered_as_removed(
    lines: dict[int, RequestItem], cleaned: dict[str, dict[str, str]]
) -> tuple[int, int]:
    """ "All removed": answer every line still without an answer (and not answered in this
    submission); leave answered ones as they are. Returns (answered now, left as they were)."""
    applied = left = 0
    for line_id, line in lines.items():
        if str(line_id) in cleaned:
            continue
        if line.outcome not in UNANSWERED_OUTCOMES:
            left += 1
            continue
        applied += 1
        cleaned[str(line_id)] = {
            "outcome": Answer.REMOVED,
            "ground": "",
            "forwarded_to": "",
            "question": "",
            "comment": "",
        }
    if not cleaned:
        raise OperatorRefusal(
            gettext_noop(
                "Every URL already has an answer, so “All removed” changed nothing. "
                "To change an answer, tick “Change this answer” on that URL."
            )
        )
    return applied, left


def portal_submission_record(
    *,
    link: PortalLink,
    answers: dict[int, dict[str, Any]],
    all_removed: bool = False,
    general_comment: str = "",
) -> Receipt:
    """Store the operator's submission whole, then record every answered URL. One transaction.

    ``all_removed`` answers "removed" for every URL still without an answer (pending,
    or no response by the deadline) and not answered otherwise in the same submission;
    URLs already answered are left as they are (issue 10, point 10). Changing an
    earlier answer takes an explicit "Change this answer" (``change``) on that URL and
    is recorded as an amendment: a new outcome record naming the answer it replaces
    (history is only ever added to). Earlier submissions are never changed.
    """
    general_comment = _clean_text(general_comment, GENERAL_COMMENT_MAX_LENGTH, "comment")
    with transaction.atomic(durable=True):
        request = lock_request(link.request)
        now = timezone.now()
        # One statement locks the link, checks it is still live and records its use
        # (a refusal below rolls the use back with everything else).
        live = PortalLink.objects.filter(
            pk=link.pk, revoked_at__isnull=True, expires_at__gt=now
        ).update(last_used_at=now)
        if not live:
            raise OperatorLinkRefusal(gettext_noop("This link is no longer valid."))
        link.last_used_at = now
        # Every line, locked once: the answers below are written in one statement per table.
        lines = {
            line.pk: line
            for line in request.lines.select_related("item")
            .select_for_update(of=("self",))
            .order_by("id")
        }
        cleaned = _answers_for_lines(lines, answers, reference=request.reference)
        bulk_applied = bulk_left = 0
        if all_removed:
            bulk_applied, bulk_left = _answer_unanswered_as_removed(lines, cleaned)
        if not cleaned:
            raise OperatorRefusal(gettext_noop("Answer at least one URL, or use “All removed”."))
        cleaned = dict(sorted(cleaned.items(), key=lambda kv: int(kv[0])))
        amended = sum(1 for answer in cleaned.values() if answer.get("amends"))
        sequence = (
            Correspondence.objects.filter(
                request=request, channel=CorrespondenceChannel.PORTAL, payload__has_key="receipt"
            ).count()
            + 1
        )
        number = f"R-{request.reference}-{sequence}"
        payload = {
            "receipt": number,
            "sequence": sequence,
            "submitted_at": now.isoformat(),
            "contact": link.contact_id,
            "all_removed": all_removed,
            "all_removed_applied": bulk_applied,
            "all_removed_left": bulk_left,
            "general_comment": general_comment,
            "answers": cleaned,
        }
        try:
            # No savepoint: a clash refuses the whole submission, which rolls back anyway.
            with transaction.atomic(savepoint=False):
                correspondence = Correspondence.objects.create(
                    request=request,
                    direction=CorrespondenceDirection.INBOUND,
                    channel=CorrespondenceChannel.PORTAL,
                    contact=link.contact,
                    from_address=link.contact.email,
                    subject=f"[{request.reference}] Portal submission {number}",
                    body_text=_summary(request, number, cleaned, lines)
                    + (f"\n\n{general_comment}" if general_comment else ""),
                    payload=payload,
                )
        except IntegrityError as clash:  # pragma: no cover - the request row lock prevents it
            raise OperatorRefusal(gettext_noop("Please submit again.")) from clash
        line_answers = []
        for key, answer in cleaned.items():
            outcome, detail = outcome_for_answer(answer)
            line_answers.append(
                LineAnswer(
                    line=lines[int(key)],
                    outcome=outcome,
                    reason=answer["comment"] or general_comment,
                    detail={
                        **detail,
                        "answer": answer["outcome"],
                        "receipt": number,
                        **({"amends": answer["amends"]} if answer.get("amends") else {}),
                    },
                )
            )
        request_lines_record_outcomes(
            request=request,
            answers=line_answers,
            all_lines=list(lines.values()),
            source=OutcomeSource.OPERATOR_PORTAL,
            contact=link.contact,
            correspondence=correspondence,
            at=now,
        )
        audit_record(
            actor=None,
            actor_label=str(OutcomeSource.OPERATOR_PORTAL.label),
            action="portal.submission_received",
            target=request,
            new={
                "receipt": number,
                "contact": link.contact_id,
                "answered": len(cleaned),
                "amended": amended,
            },
        )
    return Receipt(
        number=number,
        sequence=sequence,
        correspondence=correspondence,
        answered=len(cleaned),
        bulk_applied=bulk_applied,
        bulk_left=bulk_left,
        amended=amended,
    )


def portal_submissions(link: PortalLink) -> list[Correspondence]:
    """This contact's earlier submissions on the link's request, newest first."""
    return list(
        Correspondence.objects.filter(
            request=link.request,
            contact=link.contact,
            channel=CorrespondenceChannel.PORTAL,
            direction=CorrespondenceDirection.INBOUND,
        ).order_by("-created_at", "-id")
    )


def portal_receipt(link: PortalLink, sequence: int) -> Correspondence | None:
    return (
        Correspondence.objects.filter(
            request=link.request,
            contact=link.contact,
            channel=CorrespondenceChannel.PORTAL,
            payload__sequence=sequence,
        )
        .order_by("id")
        .first()
    )
