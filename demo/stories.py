"""Playing one request's story: compose, submit, send, then each step of its plan.

Every state change is a service call, so four-eyes, the state machine and the legal clock
apply exactly as in real use; the times the services cannot be told are noted on the
``Backdater`` (see ``timeline.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from cases.models import (
    Correspondence,
    Item,
    Outcome,
    OutcomeSource,
    RemovalRequest,
    RequestItem,
    RequestType,
)
from cases.services.outcomes import request_expire_open_items, request_item_record_outcome
from cases.services.requests import (
    request_cancel,
    request_close,
    request_compose,
    request_escalate,
    request_mark_overdue,
    request_mark_sent,
    request_pause_clock,
    request_resume_clock,
    request_submit,
)
from demo import dataset as data
from demo import messages
from demo.plan import (
    Answer,
    Cancel,
    Clarify,
    Close,
    Escalate,
    Expire,
    MarkDefunct,
    Note,
    Notify,
    Overdue,
    Plan,
    Step,
)
from demo.world import World
from platforms.models import OperatorCanAct, Platform, PlatformStatus
from platforms.services import platform_update

# Lines an answer can (still) be given for: never answered, a question pending, or expired.
ANSWERABLE = (Outcome.PENDING, Outcome.NEEDS_INFO, Outcome.NO_RESPONSE)
FORWARDED_TO = {data.CIRRUS: data.BOSPHORUS}


def composed_at(world: World, plan: Plan) -> datetime:
    """The weekly job runs Monday 06:00; an ad hoc request is composed 40 minutes early."""
    if plan.ad_hoc is None:
        return world.timeline.at(plan.week, 0, 6.0)
    weekday, hour = plan.ad_hoc
    return world.timeline.at(plan.week, weekday, hour) - timedelta(minutes=40)


@dataclass
class Story:
    """One request being played: who works on it and when things happened."""

    world: World
    plan: Plan
    request: RemovalRequest
    composed_at: datetime
    officer: Any
    supervisor: Any  # approves, sends, escalates and closes
    sent_at: datetime | None = None

    def __post_init__(self) -> None:
        self.last = self.composed_at

    def done(self, when: datetime) -> datetime:
        self.last = self.world.done(when)
        return when

    def dated(self, when: datetime, row: Correspondence) -> Correspondence:
        self.world.dates.set(row, created_at=when)
        return row

    def deadline(self) -> datetime:
        self.request = RemovalRequest.objects.get(pk=self.request.pk)
        assert self.request.deadline is not None
        return self.request.deadline.astimezone(self.world.timeline.tz)


def play(world: World, plan: Plan, items: list[Item]) -> RemovalRequest:
    """Compose the request for ``items`` and take it as far as the plan says."""
    at = composed_at(world, plan)
    composer, approver = world.supervisors(plan.week)
    if plan.ad_hoc is None:
        composer = None  # the weekly job; any supervisor may approve its drafts
    request = request_compose(
        platform=world.platforms[plan.platform],
        composed_by=composer,
        items=items,
        request_type=plan.request_type,
        legal_basis=plan.legal_basis if plan.request_type == RequestType.REFERRAL else "",
        is_emergency=plan.emergency,
    )
    world.done(at)
    story = Story(world, plan, request, at, world.officer(plan.week), approver)
    if plan.stage != "draft":
        request_submit(request=request, by=composer or story.officer)
        delay = timedelta(minutes=5) if plan.ad_hoc else world.hours((1.5, 2.0))
        story.done(at + delay)
    if plan.stage == "sent":
        _send(story)
    for step in plan.steps:
        _run(step, story)
    world.dates.set(request, created_at=at, updated_at=story.last)
    return request


def _send(story: Story) -> None:
    world = story.world
    ad_hoc = story.plan.ad_hoc is not None
    sent_at = story.composed_at + (timedelta(minutes=40) if ad_hoc else world.hours((2.75, 3.5)))
    request = request_mark_sent(request=story.request, approver=story.supervisor, at=sent_at)
    story.request, story.sent_at = request, story.done(sent_at)
    # One message per recipient, as notifications' sending writes them.
    for number, contact in enumerate(request.contacts.exclude(email=""), start=1):
        message = messages.email_record(
            request=request,
            inbound=False,
            contact=contact,
            author=story.supervisor,
            sender=settings.UNIT_EMAIL,
            recipients=[contact.email],
            subject=messages.request_subject(request),
            body=messages.request_body(request),
            when=sent_at,
            message_id=messages.request_message_id(request, f"request{number}"),
        )
        story.dated(sent_at, message)
    for contact in request.contacts.exclude(web_form_url=""):
        row = messages.web_form_record(request=request, contact=contact, author=story.supervisor)
        story.dated(sent_at, row)


def _run(step: Step, story: Story) -> None:
    base = story.sent_at or story.composed_at
    request = story.request
    match step:
        case Answer():
            _answer(step, story)
        case Clarify():
            _clarify(step, story)
        case Overdue():
            when = story.deadline() + timedelta(minutes=10)
            request_mark_overdue(request=request)
            story.done(when)
        case Expire():
            when = story.deadline() + timedelta(minutes=15)
            request_expire_open_items(request=request, at=when)
            story.done(when)
        case Escalate():
            when = base + timedelta(hours=step.after_hours)
            request_escalate(request=request, by=story.supervisor, reason=step.reason)
            story.done(when)
            _notify_upstream(story, step.provider_role, step.reason, when)
        case Notify():
            _notify_upstream(
                story, step.provider_role, step.text, base + timedelta(hours=step.after_hours)
            )
        case Note():
            note = messages.note_record(request=request, author=story.officer, text=step.text)
            story.dated(base + timedelta(hours=step.after_hours), note)
        case MarkDefunct():
            # A fresh copy: platform_update saves every field of the object it is given.
            platform = Platform.objects.get(pk=request.platform_id)
            platform_update(
                platform=platform,
                actor=story.officer,
                status=PlatformStatus.DEFUNCT,
                operator_can_act=OperatorCanAct.NO,
            )
            when = story.done(base + timedelta(hours=step.after_hours))
            story.world.dates.set(platform, updated_at=when)
        case Close():
            request_close(request=request, by=story.supervisor, reason=step.reason)
            when = story.done(base + timedelta(days=step.after_days))
            story.world.dates.set(request, closed_at=when)
        case Cancel():
            request_cancel(request=request, by=story.supervisor, reason=step.reason)
            when = story.done(base + timedelta(hours=step.after_hours))
            story.world.dates.set(request, closed_at=when)


# --- answers --------------------------------------------------------------------------------


def _answer(step: Answer, story: Story) -> None:
    world, platform = story.world, story.plan.platform
    assert story.sent_at is not None
    lines = list(story.request.lines.filter(outcome__in=ANSWERABLE).select_related("item"))
    lines = lines[: step.count] if step.count else lines
    if step.pick_random:
        outcomes = [world.rng.choice(step.outcomes) for _ in lines]
    else:
        outcomes = [step.outcomes[min(n, len(step.outcomes) - 1)] for n in range(len(lines))]
    reasons = [step.reason or _reason(platform, outcome) for outcome in outcomes]
    when = world.timeline.check(story.sent_at + world.hours(step.after_hours))
    message = _answer_message(
        story, step.source, list(zip(lines, outcomes, reasons, strict=True)), when
    )
    relayed = step.source != OutcomeSource.OPERATOR_PORTAL  # an officer typed it in
    # Who answered: the mailbox that replied, or the operator behind the portal link.
    contact = None
    if step.source != OutcomeSource.OFFICER:
        contact = world.primary_contact(platform, email=step.source == OutcomeSource.OPERATOR_EMAIL)
    for number, (line, outcome, reason) in enumerate(zip(lines, outcomes, reasons, strict=True)):
        at = when + timedelta(minutes=number)
        request_item_record_outcome(
            line=line,
            outcome=outcome,
            source=step.source,
            recorded_by=story.officer if relayed else None,
            contact=contact,
            reason=reason,
            detail=_detail(platform, outcome, reason),
            correspondence=message,
            at=at,
        )
        story.done(at)


def _reason(platform: str, outcome: str) -> str:
    return data.REASONS.get(platform, {}).get(outcome) or data.REASONS[""][outcome]


def _detail(platform: str, outcome: str, reason: str) -> dict[str, str]:
    """The structured part of the TCO-shaped answer form."""
    if outcome == Outcome.UNABLE:
        return {"ground": "technically_impossible"}
    if outcome == Outcome.NEEDS_INFO:
        return {"question": reason}
    if outcome == Outcome.FORWARDED:
        return {"forwarded_to": FORWARDED_TO.get(platform, "")}
    return {}


def _answer_message(
    story: Story, source: str, answers: list[tuple[RequestItem, str, str]], when: datetime
) -> Correspondence:
    """What an answer leaves on the timeline: a portal submission, an email, or a note."""
    request = story.request
    summary = "\n".join(
        f"{line.item.url_normalised}: {Outcome(outcome).label}. {reason}".strip()
        for line, outcome, reason in answers
    )
    if source == OutcomeSource.OPERATOR_PORTAL:
        payload = {
            "answers": [
                {"item": line.item_id, "outcome": outcome, "reason": reason}
                for line, outcome, reason in answers
            ]
        }
        row = messages.portal_record(request=request, payload=payload, summary=summary)
        return story.dated(when, row)
    if source == OutcomeSource.OFFICER:
        text = f"Recorded on the operator's behalf:\n{summary}"
        return story.dated(
            when, messages.note_record(request=request, author=story.officer, text=text)
        )
    # The operator answers the email it got; a request that reached it only through a
    # web form (a referral to a platform whose only mailbox is its TCO contact point) is
    # answered by a fresh email that names the reference in its subject.
    emailed = list(request.contacts.exclude(email="").order_by("pk"))
    contact = (
        emailed[0] if emailed else story.world.primary_contact(story.plan.platform, email=True)
    )
    assert contact is not None
    in_reply_to = messages.request_message_id(request, "request1") if emailed else ""
    replies = request.correspondence.filter(direction="inbound", channel="email").count()
    domain = contact.email.rpartition("@")[2]
    return story.dated(
        when,
        messages.email_record(
            request=request,
            inbound=True,
            contact=contact,
            author=None,
            sender=contact.email,
            recipients=[settings.UNIT_EMAIL],
            subject=f"Re: {messages.request_subject(request)}",
            body=f"Hello,\n\nour answer to {request.reference}:\n\n{summary}\n",
            when=when,
            message_id=f"<{request.reference.lower()}.reply{replies + 1}@{domain}>",
            in_reply_to=in_reply_to,
        ),
    )


def _clarify(step: Clarify, story: Story) -> None:
    """The operator's question pauses a removal order's clock until the unit answers."""
    assert story.sent_at is not None
    asked = story.sent_at + timedelta(hours=step.asked_after_hours)
    answered = story.sent_at + timedelta(hours=step.answered_after_hours)
    line = story.request.lines.filter(outcome=Outcome.PENDING).select_related("item").first()
    assert line is not None
    source = OutcomeSource(step.source)
    request_pause_clock(request=story.request, at=asked, actor_label=str(source.label))
    story.done(asked)
    question = _answer_message(story, source, [(line, Outcome.NEEDS_INFO, step.question)], asked)
    request_item_record_outcome(
        line=line,
        outcome=Outcome.NEEDS_INFO,
        source=source,
        recorded_by=story.officer if source != OutcomeSource.OPERATOR_PORTAL else None,
        reason=step.question,
        detail={"question": step.question},
        correspondence=question,
        at=asked,
    )
    story.done(asked)
    contact = story.world.primary_contact(story.plan.platform, email=True)
    assert contact is not None
    reply = messages.email_record(
        request=story.request,
        inbound=False,
        contact=contact,
        author=story.supervisor,
        sender=settings.UNIT_EMAIL,
        recipients=[contact.email],
        subject=f"Clarification: {messages.request_subject(story.request)}",
        body=f"{step.reply}\n\nThe deadline is extended by the time the question was open.",
        when=answered,
        message_id=messages.request_message_id(story.request, "clarification"),
    )
    story.dated(answered, reply)
    request_resume_clock(request=story.request, by=story.supervisor, at=answered)
    story.done(answered)


def _notify_upstream(story: Story, role: str, text: str, when: datetime) -> None:
    platform = story.world.platforms[story.plan.platform]
    link = platform.upstream_links.select_related("provider").get(role=role)
    contact = story.world.primary_contact(link.provider.name, email=True)
    assert contact is not None
    notice = messages.email_record(
        request=story.request,
        inbound=False,
        contact=contact,
        author=story.supervisor,
        sender=settings.UNIT_EMAIL,
        recipients=[contact.email],
        subject=f"[{story.request.reference}] Notice to the {link.get_role_display().lower()} "
        f"of {platform.name}",
        body=f"{text}\n\n{messages.request_body(story.request)}",
        when=when,
        message_id=messages.request_message_id(story.request, f"notice-{role}"),
    )
    story.dated(when, notice)
