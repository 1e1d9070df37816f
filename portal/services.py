"""Portal links and operator submissions.

A submission is stored whole and unchanged as one inbound Correspondence, then
each answered URL is recorded through the cases service (which keeps history,
moves the request's state and pauses a removal order's clock on a question).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from cases.models import (
    Correspondence,
    CorrespondenceChannel,
    CorrespondenceDirection,
    Outcome,
    OutcomeSource,
    RemovalRequest,
    RequestState,
)
from cases.services.outcomes import request_item_record_outcome
from cases.services.requests import lock_request
from core.access import require_permission
from core.audit import audit_record
from core.errors import DomainError, IllegalTransition
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


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", errors="surrogatepass")).hexdigest()


def portal_url_for(token: str) -> str:
    return f"{settings.PORTAL_BASE_URL.rstrip('/')}/r/{token}/"


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


def _summary(request: RemovalRequest, receipt: str, answers: dict[str, dict[str, str]]) -> str:
    urls = dict(request.lines.values_list("pk", "item__url_normalised"))
    lines = [f"Portal submission {receipt} for {request.reference}"]
    for line_id, answer in answers.items():
        parts = [answer["outcome"]]
        for key in ("ground", "forwarded_to", "question", "comment"):
            if answer[key]:
                parts.append(f"{key}: {answer[key]}")
        lines.append(f"- {urls.get(int(line_id), line_id)}: " + "; ".join(parts))
    return "\n".join(lines)


def portal_submission_record(
    *,
    link: PortalLink,
    answers: dict[int, dict[str, Any]],
    all_removed: bool = False,
    general_comment: str = "",
) -> Receipt:
    """Store the operator's submission whole, then record every answered URL. One transaction.

    ``all_removed`` answers "removed" for every URL not answered otherwise in the
    same submission. Amendments are new submissions: earlier ones are never changed.
    """
    general_comment = _clean_text(general_comment, GENERAL_COMMENT_MAX_LENGTH, "comment")
    with transaction.atomic(durable=True):
        request = lock_request(link.request)
        link = PortalLink.objects.select_for_update().get(pk=link.pk)
        if link.revoked_at is not None or link.expires_at <= timezone.now():
            raise OperatorLinkRefusal(gettext_noop("This link is no longer valid."))
        lines = {line.pk: line for line in request.lines.select_related("item")}
        cleaned: dict[str, dict[str, str]] = {}
        for line_id, raw in answers.items():
            if line_id not in lines:
                # Only ever the link's own request: a line id of another request is refused.
                raise OperatorRefusal(
                    gettext_noop("URL %(line)s is not part of %(reference)s."),
                    line=line_id,
                    reference=request.reference,
                )
            cleaned[str(line_id)] = _clean_answer(line_id, raw)
        if all_removed:
            for line_id in lines:
                cleaned.setdefault(
                    str(line_id),
                    {
                        "outcome": Answer.REMOVED,
                        "ground": "",
                        "forwarded_to": "",
                        "question": "",
                        "comment": "",
                    },
                )
        if not cleaned:
            raise OperatorRefusal(gettext_noop("Answer at least one URL, or use “All removed”."))
        cleaned = dict(sorted(cleaned.items(), key=lambda kv: int(kv[0])))
        sequence = (
            Correspondence.objects.filter(
                request=request, channel=CorrespondenceChannel.PORTAL, payload__has_key="receipt"
            ).count()
            + 1
        )
        number = f"R-{request.reference}-{sequence}"
        now = timezone.now()
        payload = {
            "receipt": number,
            "sequence": sequence,
            "submitted_at": now.isoformat(),
            "contact": link.contact_id,
            "all_removed": all_removed,
            "general_comment": general_comment,
            "answers": cleaned,
        }
        try:
            with transaction.atomic():
                correspondence = Correspondence.objects.create(
                    request=request,
                    direction=CorrespondenceDirection.INBOUND,
                    channel=CorrespondenceChannel.PORTAL,
                    contact=link.contact,
                    from_address=link.contact.email,
                    subject=f"[{request.reference}] Portal submission {number}",
                    body_text=_summary(request, number, cleaned)
                    + (f"\n\n{general_comment}" if general_comment else ""),
                    payload=payload,
                )
        except IntegrityError as clash:  # pragma: no cover - the request row lock prevents it
            raise OperatorRefusal(gettext_noop("Please submit again.")) from clash
        for key, answer in cleaned.items():
            outcome, detail = outcome_for_answer(answer)
            request_item_record_outcome(
                line=lines[int(key)],
                outcome=outcome,
                source=OutcomeSource.OPERATOR_PORTAL,
                contact=link.contact,
                reason=answer["comment"] or general_comment,
                detail={**detail, "answer": answer["outcome"], "receipt": number},
                correspondence=correspondence,
                at=now,
            )
        link.last_used_at = now
        link.save(update_fields=["last_used_at"])
        audit_record(
            actor=None,
            actor_label=str(OutcomeSource.OPERATOR_PORTAL.label),
            action="portal.submission_received",
            target=request,
            new={"receipt": number, "contact": link.contact_id, "answered": len(cleaned)},
        )
    return Receipt(
        number=number, sequence=sequence, correspondence=correspondence, answered=len(cleaned)
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
