"""Recording answers per request item. History is only ever added to; the line keeps the latest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation

from cases.models import (
    REMOVAL_OUTCOMES,
    Correspondence,
    Outcome,
    OutcomeRecord,
    OutcomeSource,
    RemovalRequest,
    RequestItem,
    RequestState,
    RequestType,
)
from cases.services.requests import (
    lock_request,
    request_pause_clock,
    request_refresh_answer_state,
)
from core.access import require_permission
from core.audit import audit_record
from core.errors import DomainError, IllegalTransition
from core.models import AuditEvent
from platforms.models import Contact

# An operator can still answer (late) while the request is open or answered; once
# closed or never sent, the record is final.
ANSWERABLE_STATES = (
    RequestState.SENT,
    RequestState.PARTLY_ANSWERED,
    RequestState.ANSWERED,
    RequestState.OVERDUE,
    RequestState.ESCALATED,
)


def _audit_label(source: OutcomeSource) -> str:
    """The audit trail is the unit's record: always in the unit's language, never the
    operator's (the portal runs in the operator's language)."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(OutcomeSource(source).label)


def _apply_to_line(
    line: RequestItem, outcome: Outcome, source: str, at: datetime, reason: str
) -> None:
    line.outcome = outcome
    line.outcome_at = at
    line.outcome_source = source
    line.outcome_reason = reason
    if outcome != Outcome.NO_RESPONSE and line.first_response_at is None:
        line.first_response_at = at
    if outcome in REMOVAL_OUTCOMES and line.first_removal_at is None:
        line.first_removal_at = at


def _record(
    *,
    request: RemovalRequest,
    line: RequestItem,
    outcome: Outcome,
    source: OutcomeSource,
    at: datetime,
    recorded_by: Any,
    contact: Contact | None,
    reason: str,
    detail: dict[str, Any],
    correspondence: Correspondence | None,
) -> OutcomeRecord:
    record = OutcomeRecord.objects.create(
        line=line,
        outcome=outcome,
        source=source,
        recorded_by=recorded_by,
        contact=contact,
        reason=reason,
        detail=detail,
        correspondence=correspondence,
        recorded_at=at,
    )
    old = line.outcome
    _apply_to_line(line, outcome, source, at, reason)
    line.save()
    audit_record(
        actor=recorded_by,
        actor_label="" if recorded_by else _audit_label(source),
        action="request_item.outcome_recorded",
        target=request,
        old={"item": line.item_id, "outcome": old},
        new={"item": line.item_id, "outcome": outcome.value, "source": source.value},
        extra={"reason": reason} if reason else None,
    )
    return record


@transaction.atomic
def request_item_record_outcome(
    *,
    line: RequestItem,
    outcome: str,
    source: str,
    recorded_by: Any = None,
    contact: Contact | None = None,
    reason: str = "",
    detail: dict[str, Any] | None = None,
    correspondence: Correspondence | None = None,
    at: datetime | None = None,
) -> OutcomeRecord:
    """Record one answer for one item of a sent request (an amendment adds a new record)."""
    if outcome not in Outcome.values:
        raise DomainError(f"Unknown outcome {outcome!r}.")
    if source not in OutcomeSource.values:
        raise DomainError(f"Unknown answer source {source!r}.")
    outcome, source = Outcome(outcome), OutcomeSource(source)
    if outcome == Outcome.PENDING:
        raise DomainError("'Pending' is not an answer.")
    if outcome == Outcome.NO_RESPONSE:
        raise DomainError("'No response' is set by the system at the deadline, never by hand.")
    if source == OutcomeSource.SYSTEM:
        raise DomainError("Answers come from the operator or an officer on their behalf.")
    if source in (OutcomeSource.OFFICER, OutcomeSource.OPERATOR_EMAIL) and recorded_by is None:
        raise DomainError("An answer relayed by an officer must name the officer.")
    if recorded_by is not None:
        require_permission(recorded_by, "cases.record_outcome", "record operators' answers")
    request = lock_request(line.request)
    if request.state not in ANSWERABLE_STATES:
        raise IllegalTransition(
            f"Request {request.reference} is {RequestState(request.state).label.lower()}; "
            "answers can no longer be recorded on it."
        )
    line = RequestItem.objects.select_for_update().get(pk=line.pk)
    record = _record(
        request=request,
        line=line,
        outcome=outcome,
        source=source,
        at=at or timezone.now(),
        recorded_by=recorded_by,
        contact=contact,
        reason=reason,
        detail=detail or {},
        correspondence=correspondence,
    )
    if outcome == Outcome.NEEDS_INFO and request.request_type == RequestType.REMOVAL_ORDER:
        # TCO Art. 3(7)-(8): the clock stops until the unit answers the question.
        request_pause_clock(
            request=request, at=record.recorded_at, actor_label=_audit_label(source)
        )
    request_refresh_answer_state(request, actor_label=_audit_label(source))
    return record


@transaction.atomic
def request_expire_open_items(*, request: RemovalRequest, at: datetime | None = None) -> int:
    """At the deadline every item still pending becomes ``no_response``. Returns how many."""
    request = lock_request(request)
    if request.state not in ANSWERABLE_STATES:
        raise IllegalTransition(f"Request {request.reference} is not open.")
    now = at or timezone.now()
    if request.deadline is None or request.deadline > now or request.clock_paused_at:
        raise DomainError(f"The deadline of {request.reference} has not passed.")
    lines = list(request.lines.select_for_update().filter(outcome=Outcome.PENDING))
    for line in lines:
        _record(
            request=request,
            line=line,
            outcome=Outcome.NO_RESPONSE,
            source=OutcomeSource.SYSTEM,
            at=now,
            recorded_by=None,
            contact=None,
            reason="",
            detail={},
            correspondence=None,
        )
    return len(lines)


LINE_OUTCOME_FIELDS = [
    "outcome",
    "outcome_at",
    "outcome_source",
    "outcome_reason",
    "first_response_at",
    "first_removal_at",
]


def _update_lines(lines: list[RequestItem]) -> None:
    """One UPDATE ... FROM unnest(...) of the lines' outcome fields. bulk_update would do
    the same in one statement too, but builds a CASE expression per field and row in
    Python: a third of a 12-line portal answer's time."""
    columns = [[getattr(line, name) for line in lines] for name in ["pk", *LINE_OUTCOME_FIELDS]]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {RequestItem._meta.db_table} AS line
            SET outcome = v.outcome, outcome_at = v.outcome_at,
                outcome_source = v.outcome_source, outcome_reason = v.outcome_reason,
                first_response_at = v.first_response_at, first_removal_at = v.first_removal_at
            FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[], %s::text[], %s::text[],
                        %s::timestamptz[], %s::timestamptz[])
                 AS v(id, outcome, outcome_at, outcome_source, outcome_reason,
                      first_response_at, first_removal_at)
            WHERE line.id = v.id
            """,  # noqa: S608 (table name)
            columns,
        )


@dataclass(frozen=True)
class LineAnswer:
    """One line's answer within a submission that answers several at once."""

    line: RequestItem
    outcome: str
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@transaction.atomic
def request_lines_record_outcomes(
    *,
    request: RemovalRequest,
    answers: Sequence[LineAnswer],
    all_lines: Sequence[RequestItem],
    source: str,
    recorded_by: Any = None,
    contact: Contact | None = None,
    correspondence: Correspondence | None = None,
    at: datetime | None = None,
) -> list[OutcomeRecord]:
    """Record many answers on one request in a constant number of queries.

    The same records, line changes and audit events as one ``request_item_record_outcome``
    per line, written with one INSERT per table and one UPDATE of the lines. The caller
    holds the request row lock (``lock_request``) and passes ``all_lines``: every line of
    the request, read under ``select_for_update`` in the same transaction, so the
    request's new state is worked out from them without counting again.
    """
    if source not in OutcomeSource.values:
        raise DomainError(f"Unknown answer source {source!r}.")
    source = OutcomeSource(source)
    if source == OutcomeSource.SYSTEM:
        raise DomainError("Answers come from the operator or an officer on their behalf.")
    if source in (OutcomeSource.OFFICER, OutcomeSource.OPERATOR_EMAIL) and recorded_by is None:
        raise DomainError("An answer relayed by an officer must name the officer.")
    if recorded_by is not None:
        require_permission(recorded_by, "cases.record_outcome", "record operators' answers")
    if request.state not in ANSWERABLE_STATES:
        raise IllegalTransition(
            f"Request {request.reference} is {RequestState(request.state).label.lower()}; "
            "answers can no longer be recorded on it."
        )
    if not answers:
        return []
    now = at or timezone.now()
    label = _audit_label(source)
    user = recorded_by if getattr(recorded_by, "is_authenticated", False) else None
    records: list[OutcomeRecord] = []
    events: list[AuditEvent] = []
    changed: list[RequestItem] = []
    for answer in answers:
        if answer.outcome not in Outcome.values:
            raise DomainError(f"Unknown outcome {answer.outcome!r}.")
        outcome = Outcome(answer.outcome)
        if outcome == Outcome.PENDING:
            raise DomainError("'Pending' is not an answer.")
        if outcome == Outcome.NO_RESPONSE:
            raise DomainError("'No response' is set by the system at the deadline, never by hand.")
        line = answer.line
        if line.request_id != request.pk:
            raise DomainError(f"That URL is not in {request.reference}.")
        records.append(
            OutcomeRecord(
                line=line,
                outcome=outcome,
                source=source,
                recorded_by=recorded_by,
                contact=contact,
                reason=answer.reason,
                detail=answer.detail,
                correspondence=correspondence,
                recorded_at=now,
            )
        )
        old = line.outcome
        _apply_to_line(line, outcome, source, now, answer.reason)
        changed.append(line)
        events.append(
            AuditEvent(
                actor=user,
                actor_label=(user.get_username() if user else label),
                action="request_item.outcome_recorded",
                target_type=request._meta.label_lower,
                target_id=str(request.pk),
                old={"item": line.item_id, "outcome": old},
                new={"item": line.item_id, "outcome": outcome.value, "source": source.value},
                extra={"reason": answer.reason} if answer.reason else {},
            )
        )
    OutcomeRecord.objects.bulk_create(records)
    _update_lines(changed)
    AuditEvent.objects.bulk_create(events)
    asks = any(record.outcome == Outcome.NEEDS_INFO for record in records)
    if asks and request.request_type == RequestType.REMOVAL_ORDER:
        # TCO Art. 3(7)-(8): the clock stops until the unit answers the question.
        request_pause_clock(request=request, at=now, actor_label=label)
    request_refresh_answer_state(request, actor_label=label, lines=all_lines)
    return records
