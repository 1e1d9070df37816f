"""Loads ``dataset.py`` through the services, so the demo's audit trail is a real one.

Staff, platforms, groups and cases first; then each request's story in the order the
requests were composed (so references run in time order), each preceded by the referral
and approval of its items; then the items outside any request. Actors and cases have no
services yet and are created directly.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password

from cases.models import (
    REMOVAL_OUTCOMES,
    Actor,
    Case,
    CaseStatus,
    Item,
    LegalBasis,
    Outcome,
    RequestItem,
    RequestType,
    VerificationStatus,
)
from cases.services.items import item_approve, item_hold_place, item_refer, item_reject
from cases.services.ladder import ladder_policy_save
from core.audit import audit_events_rewritable, audit_record
from core.roles import Role, ensure_role_groups
from demo import dataset as data
from demo import messages, stories
from demo.plan import ExtraItem, Plan
from demo.timeline import Backdater, Timeline
from demo.world import World
from platforms.models import Platform
from platforms.services import contact_create, platform_create, upstream_provider_add
from verification.checker import CheckResult
from verification.services import url_check_record

ALPHABETS = {
    "digits": "0123456789",
    "lower": "abcdefghijkmnopqrstuvwxyz23456789",
    "mixed": "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789",
    "b58": "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz",
    "hex": "0123456789abcdef",
    "yt": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
}
PLACEHOLDER = re.compile(r"\{(\w+)(?::(\d+))?\}")


def load_demo(*, password: str, now: datetime | None = None) -> None:
    """Load the whole demo. The caller holds the transaction and checks it is not loaded."""
    DemoLoader(password=password, now=now).load()


class DemoLoader:
    def __init__(self, *, password: str, now: datetime | None = None) -> None:
        self.password = password
        timeline = Timeline(now)
        rng = random.Random(data.SEED)  # noqa: S311 - invented data, not secrets
        self.world = World(rng=rng, timeline=timeline, dates=Backdater(timeline))
        self.cases: dict[str, Case] = {}
        self.items_by_platform: dict[str, list[Item]] = defaultdict(list)
        self.referred_at: dict[int, datetime] = {}
        self.urls_used: set[str] = set()

    def load(self) -> None:
        world = self.world
        with world.dates.recording():
            self._load_users()
            self._load_ladder()
            self._load_platforms()
            self._load_actors_and_cases()
            for plan in sorted(data.PLANS, key=lambda plan: stories.composed_at(world, plan)):
                stories.play(world, plan, self._plan_items(plan))
            for extra in data.EXTRA_ITEMS:
                self._load_extra_item(extra)
            self._refer_duplicates()
        # The services wrote the audit events as of now; the demo's stories happened
        # over twelve weeks, so their times are rewritten (demo data only).
        with audit_events_rewritable():
            world.dates.flush()
        self._load_verification()

    # --- staff, platforms, groups -----------------------------------------------------------

    def _load_users(self) -> None:
        """As ``create_staff_user`` does: one role group; staff and superuser only for admin."""
        groups = ensure_role_groups()
        user_model = get_user_model()
        # One hash for all six: each costs ~0.4 s and the password is the same anyway.
        hashed = make_password(self.password)
        joined = self.world.timeline.at(-13, 0, 9.0)
        for username, role in data.USERS:
            user = user_model.objects.filter(username=username).first() or user_model(
                username=username
            )
            validate_password(self.password, user)
            user.email = user.email or f"{username}@{messages.unit_domain()}"
            user.is_staff = role == Role.ADMIN
            user.is_superuser = role == Role.ADMIN
            user.password = hashed
            user.save()
            user.groups.set([groups[role]])
            self.world.dates.set(user, date_joined=joined)
            self.world.users[username] = user

    def _load_ladder(self) -> None:
        """The demo unit chases hard: its referral deadline is three days after the target.

        The stories (overdue, expired, escalated requests in the last weeks) are written
        for this ladder; the product's default (docs/decisions/0009) is gentler.
        """
        supervisor = self.world.users[data.SUPERVISORS[0]]
        ladder_policy_save(
            by=supervisor,
            request_type=RequestType.REFERRAL,
            first_reminder_after=None,  # the platform's response target
            second_reminder_after=timedelta(days=1),
            escalate_after=timedelta(days=2),
            deadline_after=timedelta(days=3),
        )

    def _load_verification(self) -> None:
        """What the verifier would have found: most claimed removals gone, a few not.

        The demo never fetches its URLs (they name real sites); these checks are what
        a sweep records, so the dashboard's contradictions and the verified-removal
        figures have something to show.
        """
        when = self.world.timeline.present - timedelta(hours=6)
        claimed = list(
            RequestItem.objects.filter(outcome__in=REMOVAL_OUTCOMES)
            .select_related("item")
            .order_by("id")
        )
        silent = list(
            RequestItem.objects.filter(outcome=Outcome.NO_RESPONSE)
            .select_related("item")
            .order_by("id")
        )
        for number, line in enumerate(claimed):
            # Every 13th claimed removal is still up (the contradiction staff must see),
            # every 17th could not be told (a challenge page); the rest are gone.
            if number % 13 == 5:
                verdict, status, reason = VerificationStatus.LIVE, 200, "200 OK: content served"
            elif number % 17 == 3:
                verdict, status, reason = VerificationStatus.UNKNOWN, 403, "challenge page"
            else:
                verdict, status, reason = VerificationStatus.GONE, 404, "404 Not Found"
            self._record_check(line.item, verdict, status, reason, when)
        for line in silent:
            self._record_check(
                line.item, VerificationStatus.LIVE, 200, "200 OK: content served", when
            )

    @staticmethod
    def _record_check(
        item: Item, verdict: VerificationStatus, status: int, reason: str, when: datetime
    ) -> None:
        url_check_record(
            item=item,
            result=CheckResult(
                url=item.url_normalised,
                classification=verdict,
                reason=reason,
                checked_at=when,
                http_status=status,
                final_url=item.url_normalised,
                elapsed_ms=180,
            ),
        )

    def _load_platforms(self) -> None:
        world = self.world
        registered: dict[str, datetime] = {}
        for number, spec in enumerate(data.PLATFORMS):
            # Monday morning, before any of its items is referred.
            when = world.timeline.at(spec.registered_week, 0, 8.0 + number / 30)
            officer = world.users[data.OFFICERS[number % 2]]
            platform = platform_create(
                actor=officer,
                domains=list(spec.domains),
                name=spec.name,
                kind=spec.kind,
                tier=spec.tier,
                architecture=spec.architecture,
                country=spec.country,
                status=spec.status,
                operator_can_act=spec.operator_can_act,
                response_target_days=spec.response_target_days,
                preferred_language=spec.preferred_language,
                notes=spec.notes,
            )
            world.dates.set(platform, created_at=when, updated_at=when)
            world.done(when)
            for contact in (c for c in data.CONTACTS if c.platform == spec.name):
                created = contact_create(
                    platform=platform,
                    actor=officer,
                    name=contact.name,
                    channel="web_form" if contact.web_form_url else "email",
                    email=contact.email,
                    web_form_url=contact.web_form_url,
                    role=contact.role,
                    language=contact.language,
                    is_primary=contact.primary,
                )
                world.dates.set(created, created_at=when, updated_at=when)
                world.done(when)
            if spec.tco_notice_week is not None:
                self._record_tco_notice(platform, world.timeline.at(spec.tco_notice_week, 1, 10.0))
            world.platforms[spec.name] = Platform.objects.get(pk=platform.pk)
            world.contacts[spec.name] = list(platform.contacts.all())
            registered[spec.name] = when
        for link in data.UPSTREAMS:
            upstream_provider_add(
                platform=world.platforms[link.platform],
                provider=world.platforms[link.provider],
                role=link.role,
                actor=world.users["bob"],
            )
            world.done(max(registered[link.platform], registered[link.provider]))

    def _record_tco_notice(self, platform: Platform, when: datetime) -> None:
        # No service records the advance notice yet; do what one would, audit included.
        Platform.objects.filter(pk=platform.pk).update(tco_advance_notice_at=when)
        audit_record(
            actor=self.world.users["carol"],
            action="platform.tco_advance_notice_recorded",
            target=platform,
            new={"tco_advance_notice_at": when.isoformat()},
        )
        self.world.done(when)

    def _load_actors_and_cases(self) -> None:
        world = self.world
        actors: dict[str, Actor] = {}
        for spec in data.ACTORS:
            actor = Actor.objects.create(
                name=spec.name,
                aliases=list(spec.aliases),
                proscribed=spec.proscribed,
                notes=spec.notes,
            )
            world.dates.set(actor, created_at=world.timeline.at(-12, 0, 8.5))
            actors[spec.name] = actor
        for case_spec in data.CASES:
            case = Case.objects.create(
                title=case_spec.title,
                description=case_spec.description,
                actor=actors[case_spec.actor] if case_spec.actor else None,
                status=CaseStatus.CLOSED if case_spec.closed else CaseStatus.OPEN,
                created_by=world.users[case_spec.created_by],
            )
            created = world.timeline.at(case_spec.created_week, 0, 8.75)
            world.dates.set(case, created_at=created)
            self.cases[case_spec.key] = case

    # --- items ------------------------------------------------------------------------------

    def _url(self, platform: str) -> str:
        """A fresh invented URL in one of the platform's shapes (see ``URL_PATTERNS``)."""
        rng = self.world.rng

        def fill(match: re.Match[str]) -> str:
            kind, size = match.group(1), int(match.group(2) or 11)
            if kind == "handle":
                return rng.choice(data.HANDLES[platform])
            alphabet = ALPHABETS[kind]
            first = rng.choice(alphabet.lstrip("0"))  # no leading zero in numeric ids
            return first + "".join(rng.choice(alphabet) for _ in range(size - 1))

        while True:
            url = PLACEHOLDER.sub(fill, rng.choice(data.URL_PATTERNS[platform]))
            if url not in self.urls_used:
                self.urls_used.add(url)
                return url

    def _refer(
        self,
        *,
        platform: str,
        case_key: str,
        when: datetime,
        referred_by: Any,
        category: str,
        legal_basis: str,
        threat_to_life: bool = False,
    ) -> Item:
        case = self.cases[case_key]
        actor_name = case.actor.name if case.actor else "an unidentified group"
        note = self.world.rng.choice(data.ASSESSMENT_NOTES[category]).format(actor=actor_name)
        result = item_refer(
            url=self._url(platform),
            referred_by=referred_by,
            case=case,
            category=category,
            legal_basis=legal_basis,
            assessment_note=note,
            threat_to_life=threat_to_life,
        )
        item = result.item
        if not result.created or item.platform_id != self.world.platforms[platform].pk:
            raise RuntimeError(f"Demo URL {item.url_submitted} did not become a {platform} item.")
        self.world.dates.set(item, created_at=when)
        for referral in item.referrals.all():
            self.world.dates.set(referral, created_at=when)
        self.world.done(when)
        self.referred_at[item.pk] = when
        self.items_by_platform[platform].append(item)
        return item

    def _approve(self, item: Item, *, reviewer: Any, when: datetime) -> None:
        item_approve(item=item, reviewer=reviewer)
        self.world.dates.set(item, reviewed_at=when)
        self.world.done(when)

    def _reviewer(self, week: int, referred_by: Any) -> Any:
        """The supervisor on duty that week, unless they referred the item themselves."""
        on_duty, other = self.world.supervisors(week)
        return other if referred_by == on_duty else on_duty

    def _plan_items(self, plan: Plan) -> list[Item]:
        """Referred (mostly by officers) and approved by a supervisor before composing."""
        world = self.world
        case = next(c for c in data.CASES if c.key == plan.case)
        composed_at = stories.composed_at(world, plan)
        is_order = plan.request_type == RequestType.REMOVAL_ORDER
        legal_basis = LegalBasis.TCO_REGULATION if is_order else plan.legal_basis
        if plan.ad_hoc is None:  # logged during the week before, in office hours
            times = sorted(
                world.timeline.at(plan.week - 1, world.rng.randrange(5), world.rng.uniform(9, 17.5))
                for _ in range(plan.items)
            )
        else:  # logged in the hour before the request was composed
            times = [composed_at - timedelta(minutes=50 - 6 * n) for n in range(plan.items)]
        items = []
        for number, when in enumerate(times):
            name = "carol" if world.rng.random() < 0.1 else world.rng.choice(data.OFFICERS)
            referred_by = world.users[name]
            item = self._refer(
                platform=plan.platform,
                case_key=plan.case,
                when=when,
                referred_by=referred_by,
                category=plan.category or world.rng.choice(case.categories),
                legal_basis=legal_basis,
                threat_to_life=number < plan.threat_to_life,
            )
            approved = min(when + world.hours((0.3, 5)), composed_at - timedelta(minutes=10))
            self._approve(item, reviewer=self._reviewer(plan.week, referred_by), when=approved)
            items.append(item)
        return items

    def _load_extra_item(self, extra: ExtraItem) -> None:
        """An item outside any request: awaiting approval, rejected, on hold or just approved."""
        world = self.world
        when = world.timeline.at(*extra.referred)
        referred_by = world.users[world.rng.choice(data.OFFICERS)]
        item = self._refer(
            platform=extra.platform,
            case_key=extra.case,
            when=when,
            referred_by=referred_by,
            category=extra.category,
            legal_basis=LegalBasis.TERMS_OF_SERVICE,
            threat_to_life=extra.threat_to_life,
        )
        reviewer = self._reviewer(extra.referred[0], referred_by)
        if extra.reject_note:
            item_reject(item=item, reviewer=reviewer, note=extra.reject_note)
            world.dates.set(item, reviewed_at=world.done(when + timedelta(hours=2)))
        elif extra.approve or extra.hold_reason:
            self._approve(item, reviewer=reviewer, when=when + timedelta(hours=1.5))
        if extra.hold_reason:
            hold = item_hold_place(
                item=item,
                placed_by=reviewer,
                reason=extra.hold_reason,
                review_on=world.timeline.present.date() + timedelta(days=extra.hold_review_in_days),
                requesting_agency=extra.hold_agency,
            )
            world.dates.set(hold, placed_at=world.done(when + timedelta(hours=2)))

    def _refer_duplicates(self) -> None:
        """The same content referred again, written differently: it stays one item."""
        world = self.world
        for platform, index, officer, case_key, days in data.DUPLICATE_REFERRALS:
            item = self.items_by_platform[platform][index]
            parts = urlsplit(item.url_submitted)
            variant = urlunsplit(parts._replace(netloc=parts.netloc.upper(), fragment="share"))
            result = item_refer(
                url=variant, referred_by=world.users[officer], case=self.cases[case_key]
            )
            if result.created:
                raise RuntimeError(f"{variant} should have matched the existing item {item}.")
            when = min(self.referred_at[item.pk] + timedelta(days=days), world.timeline.present)
            world.dates.set(item.referrals.get(url_submitted=variant), created_at=when)
            world.done(when)
