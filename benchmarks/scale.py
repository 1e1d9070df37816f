"""Scale data: a unit after three years of referrals, written with COPY in minutes.

``generate_scale(items=1_000_000, platforms=2_000, requests=100_000)`` fills the database
the benchmark (``./desk manage benchmark``) measures. The shape follows what a referral
unit sees:

- platforms by a Zipf law (s = 1.1): the busiest dozen hold about half of all items, a long
  tail of niche platforms a handful each; ~2 % of items on hosts no platform claims;
- items over ~156 ISO weeks, growing towards now; every item status, verification state,
  category and legal basis; threat-to-life items; cases and actors;
- requests composed per platform from its approved items in time order (one request per
  platform per stretch of weeks, the busiest platforms several a week), every state and
  outcome: old requests closed with their answers, recent ones still open (sent, partly
  answered, overdue, escalated with upstream notices), the newest drafts and awaiting
  approval; a few cancelled; removal orders on the 1-hour clock;
- per request: its contact, outbound email (correspondence + ledger row), portal link,
  the operator's portal submission when it answered; outcome history rows; verification
  checks mirroring ``Item.verification``; holds; the compliance snapshot.

Every row satisfies the models' constraints (four-eyes on items and requests, sent requests
have a clock and an approver, deadline after sending, no_response only by the system, ...).
Foreign keys are not checked by PostgreSQL while ``session_replication_role = replica``
(they are triggers too), so the generator draws every id from rows it wrote or found;
``tests/test_benchmarks_generate.py`` checks them.

The row-level audit trigger (core.audit_triggers) is off for the generator's transaction
only (``SET LOCAL session_replication_role = replica``): a million RowChange rows would
record nothing an investigator needs. One AuditEvent ``benchmarks.scale_generated`` says
what was generated, by whom and how big.
"""

from __future__ import annotations

import hashlib
import io
import random
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from core.audit import audit_record
from core.roles import Role, ensure_role_groups

WEEKS = 156
ZIPF_S = 1.1
MAINSTREAM_PLATFORMS = 30
NO_PLATFORM_SHARE = 0.02
USERNAME_PREFIX = "scale-"
PLATFORM_PREFIX = "Scale platform "
DOMAIN_SUFFIX = ".scale.example"

KINDS = [
    "social_network",
    "video",
    "file_host",
    "paste_site",
    "messaging",
    "forum",
    "blog",
    "chat_server",
    "peer_to_peer",
]
CATEGORIES = [
    "propaganda",
    "incitement",
    "instruction",
    "recruitment",
    "glorification",
    "threat",
    "financing",
    "other",
]
CATEGORY_WEIGHTS = [40, 15, 10, 10, 12, 5, 3, 5]
COUNTRIES = ["US", "GB", "DE", "NL", "FR", "IE", "RU", "SG", "CA", "SE", ""]
LANGUAGES = [code for code, _ in settings.LANGUAGES]

# Answers on lines of requests whose operator answered (DESIGN §5 anchors: ~65 % removed).
ANSWER_OUTCOMES = [
    "removed",
    "access_disabled",
    "restricted",
    "already_gone",
    "refused_not_violating",
    "refused_no_jurisdiction",
    "unable",
    "needs_info",
    "forwarded",
]
ANSWER_WEIGHTS = [62, 5, 3, 5, 8, 3, 3, 2, 2]
REMOVAL = {"removed", "access_disabled", "already_gone"}
ANSWER_SOURCES = ["operator_portal", "operator_email", "officer"]
ANSWER_SOURCE_WEIGHTS = [80, 12, 8]


class ScaleRefused(Exception):
    """The generator will not run here (production settings, or scale data already present)."""


def generation_allowed() -> bool:
    # The same rule as load_demo --reset: scale data never lands on a production database.
    return bool(settings.DEBUG or settings.DEMO_DATA_ALLOWED)


@dataclass
class ScaleReport:
    sizes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        return [f"  {table:<34} {count:>10,}" for table, count in self.sizes.items()]


def _tsv(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class _Writer:
    """Rows to COPY in chunks of text: much faster than one write_row call per row."""

    def __init__(self, cursor: Any, table: str, columns: Sequence[str]) -> None:
        self.cursor = cursor
        self.sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        self.count = 0

    def write(self, rows: Iterable[Sequence[Any]]) -> int:
        with self.cursor.copy(self.sql) as copy:
            buffer = io.StringIO()
            for row in rows:
                buffer.write("\t".join(map(_tsv, row)))
                buffer.write("\n")
                self.count += 1
                if buffer.tell() > 1 << 20:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
        return self.count


def _reserve_ids(cursor: Any, table: str, count: int) -> int:
    """Take ``count`` ids from the table's sequence; return the first."""
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    (sequence,) = cursor.fetchone()
    cursor.execute("SELECT nextval(%s)", [sequence])
    (first,) = cursor.fetchone()
    if count > 1:
        cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
    return int(first)


def _copy(cursor: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    return _Writer(cursor, table, columns).write(rows)


@dataclass
class _Request:
    id: int
    platform: int
    request_type: str
    state: str
    created_at: datetime
    sent_at: datetime | None
    deadline: datetime | None
    answered: bool  # the operator answered at least some lines
    contact: int | None
    items: list[int] = field(default_factory=list)


class ScaleGenerator:
    def __init__(
        self,
        *,
        items: int,
        platforms: int,
        requests: int,
        seed: int = 11,
        now: datetime | None = None,
        log: Callable[[str], None] = lambda message: None,
    ) -> None:
        if items < 50 or platforms < 10 or requests < 10:
            raise ScaleRefused("Sizes too small: at least 50 items, 10 platforms, 10 requests.")
        self.n_items = items
        self.n_platforms = platforms
        self.n_requests = requests
        self.random = random.Random(seed)  # noqa: S311 - made-up data, not secrets
        self.now = now or timezone.now()
        self.start = self.now - timedelta(weeks=WEEKS)
        self.log = log
        self.report = ScaleReport()

    # -- entry point ------------------------------------------------------------------

    def run(self) -> ScaleReport:
        if not generation_allowed():
            raise ScaleRefused(
                "generate_scale is refused under these settings (production): it writes a "
                "million fake rows. It runs only with DEBUG or DEMO_DATA_ALLOWED=true."
            )
        started = time.monotonic()
        with transaction.atomic():
            with connection.cursor() as cursor:
                if get_user_model().objects.filter(username__startswith=USERNAME_PREFIX).exists():
                    raise ScaleRefused(
                        "Scale data is already in this database (users scale-*): generate "
                        "into a fresh database (createdb + migrate)."
                    )
                self.cursor = cursor
                cursor.execute("SET LOCAL session_replication_role = replica")
                try:
                    self._generate()
                finally:
                    # SET LOCAL ends with the transaction; inside an outer one (tests) it
                    # would outlive this block, so switch the triggers back explicitly.
                    cursor.execute("SET LOCAL session_replication_role = origin")
            self.report.seconds = time.monotonic() - started
            audit_record(
                actor=None,
                actor_label="generate_scale",
                action="benchmarks.scale_generated",
                target=self.supervisors[0],
                new=dict(self.report.sizes),
                extra={
                    "seconds": round(self.report.seconds, 1),
                    "note": "Row-level audit trigger off for this bulk load (scale data).",
                },
            )
        self._analyze()
        self.report.seconds = time.monotonic() - started
        return self.report

    def _generate(self) -> None:
        steps: list[tuple[str, Callable[[], None]]] = [
            ("users", self._users),
            ("platforms", self._platforms),
            ("contacts", self._contacts),
            ("upstream providers", self._upstream_providers),
            ("actors and cases", self._actors_and_cases),
            ("items (plan)", self._plan_items),
            ("requests", self._requests),
            ("lines and outcomes", self._lines),
            ("correspondence", self._correspondence),
            ("verification checks", self._checks),
            ("items and referrals", self._write_items),
            ("holds", self._holds),
            ("reference counters", self._reference_counters),
            ("compliance snapshot", self._snapshot),
        ]
        for label, step in steps:
            began = time.monotonic()
            step()
            self.log(f"{label}: {time.monotonic() - began:.1f} s")

    def _analyze(self) -> None:
        tables = [
            "platforms_platform",
            "platforms_platformdomain",
            "platforms_contact",
            "cases_item",
            "cases_itemreferral",
            "cases_case",
            "cases_actor",
            "cases_removalrequest",
            "cases_removalrequest_contacts",
            "cases_requestitem",
            "cases_outcomerecord",
            "cases_correspondence",
            "verification_urlcheck",
            "notifications_outboundemail",
            "portal_portallink",
            "metrics_metricsnapshotrow",
        ]
        with connection.cursor() as cursor:
            # VACUUM sets the visibility map (index-only scans), as autovacuum would in a
            # while; it cannot run inside a transaction (tests), ANALYZE can.
            verb = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
            for table in tables:
                cursor.execute(f"{verb} {table}")

    # -- helpers ----------------------------------------------------------------------

    def _count(self, table: str, count: int) -> None:
        self.report.sizes[table] = self.report.sizes.get(table, 0) + count

    def _when(self, fraction: float) -> datetime:
        """A time in the three years, ``fraction`` 0..1 from the start; growth toward now."""
        return self.start + (self.now - self.start) * (fraction**0.8)

    # -- steps ------------------------------------------------------------------------

    def _users(self) -> None:
        groups = ensure_role_groups()
        user_model = get_user_model()
        made: dict[Role, list[Any]] = {}
        for role, count in ((Role.OFFICER, 24), (Role.SUPERVISOR, 6), (Role.ANALYST, 3)):
            users = [
                user_model(username=f"{USERNAME_PREFIX}{role.value}-{n:02d}", is_staff=False)
                for n in range(1, count + 1)
            ]
            for user in users:
                user.set_unusable_password()
            user_model.objects.bulk_create(users)
            users = list(
                user_model.objects.filter(
                    username__startswith=f"{USERNAME_PREFIX}{role.value}-"
                ).order_by("id")
            )
            group: Group = groups[role]
            group.user_set.add(*users)
            made[role] = users
        self.officers = [user.pk for user in made[Role.OFFICER]]
        self.supervisors = made[Role.SUPERVISOR]
        self.supervisor_ids = [user.pk for user in made[Role.SUPERVISOR]]
        self.staff = self.officers + self.supervisor_ids
        self._count("auth_user", len(self.staff) + len(made[Role.ANALYST]))

    def _platforms(self) -> None:
        cursor, rnd, n = self.cursor, self.random, self.n_platforms
        first = _reserve_ids(cursor, "platforms_platform", n)
        self.platform_ids = list(range(first, first + n))
        # Rank k (1 = busiest) holds a share of items proportional to 1 / k^s.
        self.platform_cum = list(accumulate(1 / (k**ZIPF_S) for k in range(1, n + 1)))
        infrastructure = max(2, n // 50)
        self.infrastructure_ids = self.platform_ids[-infrastructure:]
        rows = []
        self.platform_rt: dict[int, int] = {}
        self.platform_actionable: dict[int, bool] = {}
        for rank, pid in enumerate(self.platform_ids, start=1):
            is_infra = pid in self.infrastructure_ids
            kind = "infrastructure" if is_infra else KINDS[rank % len(KINDS)]
            tier = "mainstream" if rank <= MAINSTREAM_PLATFORMS else "niche"
            status = "defunct" if rank % 41 == 0 else "active"
            can_act = ["yes", "yes", "yes", "unknown", "no"][rank % 5] if rank > 20 else "yes"
            rt = [7, 7, 3, 14, 2, 7, 30][rank % 7]
            self.platform_rt[pid] = rt
            self.platform_actionable[pid] = status == "active" and can_act != "no"
            architecture = ["centralised", "centralised", "federated", "self_hosted"][rank % 4]
            created = self.start - timedelta(days=rnd.randint(1, 400))
            tco_notice = created + timedelta(days=30) if rank % 3 == 0 else None
            rows.append(
                (
                    pid,
                    f"{PLATFORM_PREFIX}{rank:05d}",
                    kind,
                    tier,
                    architecture,
                    COUNTRIES[rank % len(COUNTRIES)],
                    status,
                    can_act,
                    rt,
                    LANGUAGES[rank % len(LANGUAGES)] if rank % 6 == 0 else "en",
                    tco_notice,
                    "",
                    created,
                    created,
                )
            )
        self._count(
            "platforms_platform",
            _copy(
                cursor,
                "platforms_platform",
                [
                    "id",
                    "name",
                    "kind",
                    "tier",
                    "architecture",
                    "country",
                    "status",
                    "operator_can_act",
                    "response_target_days",
                    "preferred_language",
                    "tco_advance_notice_at",
                    "notes",
                    "created_at",
                    "updated_at",
                ],
                rows,
            ),
        )
        # Domains: one per platform, a second for every fifth.
        self.domains: dict[int, list[str]] = {}
        domain_rows: list[tuple[int, str]] = []
        for rank, pid in enumerate(self.platform_ids, start=1):
            names = [f"p{rank:05d}{DOMAIN_SUFFIX}"]
            if rank % 5 == 0:
                names.append(f"cdn.p{rank:05d}-media{DOMAIN_SUFFIX}")
            self.domains[pid] = names
            domain_rows.extend((pid, name) for name in names)
        self._count(
            "platforms_platformdomain",
            _copy(cursor, "platforms_platformdomain", ["platform_id", "domain"], domain_rows),
        )

    def _contacts(self) -> None:
        cursor, n = self.cursor, self.n_platforms
        # Contacts: a primary abuse mailbox, a legal one for every third, a web form for
        # every seventh, an inactive old address for every eleventh, a TCO point for some.
        contact_rows = []
        self.primary_contact: dict[int, int] = {}
        contact_count = sum(
            1 + (rank % 3 == 0) + (rank % 7 == 0) + (rank % 11 == 0) + (rank % 13 == 0)
            for rank in range(1, n + 1)
        )
        next_contact = _reserve_ids(cursor, "platforms_contact", contact_count)
        for rank, pid in enumerate(self.platform_ids, start=1):
            host = self.domains[pid][0]
            created = self.start - timedelta(days=1)
            specs = [("abuse", "email", f"abuse@{host}", "", True, True)]
            if rank % 3 == 0:
                specs.append(("legal", "email", f"legal@{host}", "", False, True))
            if rank % 7 == 0:
                specs.append(("abuse", "web_form", "", f"https://{host}/report", False, True))
            if rank % 11 == 0:
                specs.append(("abuse", "email", f"old-abuse@{host}", "", True, False))
            if rank % 13 == 0:
                specs.append(("tco_contact_point", "email", f"tco@{host}", "", False, True))
            for role, channel, email, form, primary, active in specs:
                if primary and active:
                    self.primary_contact[pid] = next_contact
                contact_rows.append(
                    (
                        next_contact,
                        pid,
                        f"{role.title()} team",
                        channel,
                        email,
                        form,
                        role,
                        "",
                        primary,
                        active,
                        "",
                        created,
                        created,
                    )
                )
                next_contact += 1
        self._count(
            "platforms_contact",
            _copy(
                cursor,
                "platforms_contact",
                [
                    "id",
                    "platform_id",
                    "name",
                    "channel",
                    "email",
                    "web_form_url",
                    "role",
                    "language",
                    "is_primary",
                    "is_active",
                    "notes",
                    "created_at",
                    "updated_at",
                ],
                contact_rows,
            ),
        )

    def _upstream_providers(self) -> None:
        cursor = self.cursor
        # Upstream providers: every tenth platform names a hosting provider and a CDN.
        self.upstream: dict[int, int] = {}
        upstream_rows = []
        for rank, pid in enumerate(self.platform_ids, start=1):
            if rank % 10 or pid in self.infrastructure_ids:
                continue
            host = self.infrastructure_ids[rank % len(self.infrastructure_ids)]
            cdn = self.infrastructure_ids[(rank + 1) % len(self.infrastructure_ids)]
            self.upstream[pid] = host
            upstream_rows.append((pid, host, "hosting"))
            if cdn != host:
                upstream_rows.append((pid, cdn, "cdn"))
        self._count(
            "platforms_upstreamprovider",
            _copy(
                cursor,
                "platforms_upstreamprovider",
                ["platform_id", "provider_id", "role"],
                upstream_rows,
            ),
        )

    def _actors_and_cases(self) -> None:
        cursor, rnd = self.cursor, self.random
        n_actors = max(5, self.n_items // 5_000)
        first = _reserve_ids(cursor, "cases_actor", n_actors)
        self.actor_ids = list(range(first, first + n_actors))
        self._count(
            "cases_actor",
            _copy(
                cursor,
                "cases_actor",
                ["id", "name", "aliases", "proscribed", "notes", "created_at"],
                (
                    (aid, f"Scale actor {n:04d}", "{}", n % 3 == 0, "", self.start)
                    for n, aid in enumerate(self.actor_ids, start=1)
                ),
            ),
        )
        n_cases = max(5, self.n_items // 200)
        first = _reserve_ids(cursor, "cases_case", n_cases)
        self.case_ids = list(range(first, first + n_cases))
        rows = []
        for n, cid in enumerate(self.case_ids, start=1):
            created = self._when(n / (n_cases + 1))
            rows.append(
                (
                    cid,
                    f"Scale case {n:05d}: release and re-uploads",
                    "",
                    self.actor_ids[n % len(self.actor_ids)] if n % 4 else None,
                    "closed" if created < self.now - timedelta(weeks=26) and n % 3 else "open",
                    rnd.choice(self.officers),
                    created,
                )
            )
        self._count(
            "cases_case",
            _copy(
                cursor,
                "cases_case",
                ["id", "title", "description", "actor_id", "status", "created_by_id", "created_at"],
                rows,
            ),
        )

    def _plan_items(self) -> None:
        """Decide every item (platform, time, status, ...) in memory; written last, with
        the verification its checks found, so no million-row UPDATE follows the COPY."""
        cursor, rnd, n = self.cursor, self.random, self.n_items
        self.item_first = _reserve_ids(cursor, "cases_item", n)
        total = self.platform_cum[-1]
        self.item_platform: list[int | None] = [None] * n
        self.item_host: list[str] = [""] * n
        self.item_created: list[datetime] = [self.start] * n
        self.item_status: list[str] = [""] * n
        self.item_threat: list[bool] = [False] * n
        unknown_hosts = [f"unknown-{k}.elsewhere.example" for k in range(997)]
        recent = self.now - timedelta(days=10)
        last = len(self.platform_ids) - 1
        for index in range(n):
            created = self._when((index + rnd.random()) / n)
            if rnd.random() < NO_PLATFORM_SHARE:
                platform = None
                host = unknown_hosts[index % len(unknown_hosts)]
            else:
                rank = bisect_right(self.platform_cum, rnd.random() * total)
                platform = self.platform_ids[min(rank, last)]
                names = self.domains[platform]
                host = names[index % len(names)]
            # Old items are decided; the approval queue holds mostly the last ten days'.
            draw = rnd.random()
            if created > recent and draw < 0.5:
                status = "pending_approval"
            elif draw < 0.04:
                status = "rejected"
            elif draw < 0.05:
                status = "pending_approval"
            else:
                status = "approved"
            self.item_platform[index] = platform
            self.item_host[index] = host
            self.item_created[index] = created
            self.item_status[index] = status
            self.item_threat[index] = rnd.random() < 0.002

    def _write_items(self) -> None:
        cursor, rnd, n, first = self.cursor, self.random, self.n_items, self.item_first
        categories = list(accumulate(CATEGORY_WEIGHTS))
        officers, supervisors = self.officers, self.supervisor_ids
        checked = self.item_verification

        def url_submitted(index: int) -> str:
            host, item_id = self.item_host[index], first + index
            if index % 4:
                return f"https://{host}/post/{item_id}"
            return f"http://www.{host}/post/{item_id}?utm_source=x"

        def case_of(index: int) -> int | None:
            return self.case_ids[index % len(self.case_ids)] if index % 3 == 0 else None

        def rows() -> Iterator[tuple[Any, ...]]:
            for index in range(n):
                item_id = first + index
                host = self.item_host[index]
                created = self.item_created[index]
                status = self.item_status[index]
                reviewer = None
                reviewed_at = None
                if status != "pending_approval":
                    # Four-eyes: supervisors review, officers refer.
                    reviewer = supervisors[index % len(supervisors)]
                    reviewed_at = created + timedelta(hours=1 + index % 48)
                verification, verified_at = checked.get(item_id, ("", None))
                yield (
                    item_id,
                    url_submitted(index),
                    f"https://{host}/post/{item_id}",
                    host,
                    self.item_platform[index],
                    case_of(index),
                    self.actor_ids[index % len(self.actor_ids)] if index % 5 == 0 else None,
                    CATEGORIES[bisect_right(categories, rnd.random() * categories[-1])],
                    "tco_regulation" if index % 17 == 0 else "terms_of_service",
                    "Assessed against the unit's criteria." if index % 10 == 0 else "",
                    self.item_threat[index],
                    status,
                    officers[index % len(officers)],
                    created,
                    reviewer,
                    reviewed_at,
                    "Not terrorist content." if status == "rejected" else "",
                    verification,
                    verified_at,
                )

        self._count(
            "cases_item",
            _copy(
                cursor,
                "cases_item",
                [
                    "id",
                    "url_submitted",
                    "url_normalised",
                    "host",
                    "platform_id",
                    "case_id",
                    "actor_id",
                    "category",
                    "legal_basis",
                    "assessment_note",
                    "threat_to_life",
                    "status",
                    "created_by_id",
                    "created_at",
                    "reviewed_by_id",
                    "reviewed_at",
                    "review_note",
                    "verification",
                    "verified_at",
                ],
                rows(),
            ),
        )

        # One referral per item, a second officer's for every twentieth.
        def referrals() -> Iterator[tuple[Any, ...]]:
            for index in range(n):
                item_id = first + index
                submitted = url_submitted(index)
                created = self.item_created[index]
                yield (item_id, officers[index % len(officers)], case_of(index), submitted, created)
                if index % 20 == 0:
                    other = officers[(index + 1) % len(officers)]
                    later = created + timedelta(days=1)
                    yield (item_id, other, case_of(index), submitted, later)

        self._count(
            "cases_itemreferral",
            _copy(
                cursor,
                "cases_itemreferral",
                ["item_id", "referred_by_id", "case_id", "url_submitted", "created_at"],
                referrals(),
            ),
        )

    def _requests(self) -> None:
        """One request per platform per compose period from its approved items, as the
        weekly job drafts them: the busiest platforms get requests of hundreds of lines,
        the long tail a line or two. The period (1 week and up) is the shortest that gives
        no more than about the requests asked for."""
        cursor = self.cursor
        week = timedelta(weeks=1)
        approved = [
            index
            for index, platform in enumerate(self.item_platform)
            if platform is not None and self.item_status[index] == "approved"
        ]
        weeks = [int((self.item_created[index] - self.start) / week) for index in approved]
        groups: dict[tuple[int, int], list[int]] = {}
        for period in (1, 2, 3, 4, 6, 8, 13, 26, 52, WEEKS):
            groups = {}
            for index, item_week in zip(approved, weeks, strict=True):
                platform = self.item_platform[index]
                assert platform is not None
                groups.setdefault((platform, item_week // period), []).append(index)
            if len(groups) <= self.n_requests * 1.1:
                break
        self.compose_period_weeks = period
        plans: list[tuple[int, list[int]]] = [
            (platform, sorted(indexes, key=lambda i: self.item_created[i]))
            for (platform, _period), indexes in groups.items()
        ]
        plans.sort(key=lambda plan: self.item_created[plan[1][-1]])
        first = _reserve_ids(cursor, "cases_removalrequest", len(plans) + len(plans) // 20 + 10)
        self.requests: list[_Request] = []
        self.request_rows: list[tuple[Any, ...]] = []
        self.next_request_id = first
        self.reference_numbers: dict[int, int] = {}
        cursor.execute("SELECT year, last_number FROM cases_referencecounter")
        self.reference_numbers = {year: number for year, number in cursor.fetchall()}
        total = len(plans)
        rnd = self.random
        for position, (platform, indexes) in enumerate(plans):
            newest = self.item_created[indexes[-1]]
            composed = newest + timedelta(days=rnd.randint(0, 6), hours=6)
            if composed > self.now:
                composed = self.now - timedelta(minutes=rnd.randint(5, 600))
            removal_order = indexes[0] % 17 == 0 and self.item_threat[indexes[0]] is False
            state = self._state(position, total, composed, platform)
            self._add_request(
                platform=platform,
                items=[self.item_first + i for i in indexes],
                request_type="removal_order" if removal_order else "referral",
                state=state,
                composed=composed,
                threat=any(self.item_threat[i] for i in indexes),
            )
        # Upstream notices: a third of the escalated requests (the first one always) went to
        # the platform's hosting provider, or an infrastructure provider when none is named.
        escalated = [r for r in self.requests if r.state == "escalated" and r.sent_at]
        for number, request in enumerate(escalated):
            provider = (
                self.upstream.get(request.platform)
                or self.infrastructure_ids[request.id % len(self.infrastructure_ids)]
            )
            if number % 3 or provider == request.platform:
                continue
            self._add_request(
                platform=provider,
                items=request.items[:50],
                request_type="referral",
                state="sent" if request.id % 2 else "draft",
                composed=min(request.deadline or self.now, self.now - timedelta(days=1)),
                threat=False,
                escalated_from=request.id,
            )
        self._count(
            "cases_removalrequest",
            _copy(
                cursor,
                "cases_removalrequest",
                [
                    "id",
                    "reference",
                    "platform_id",
                    "request_type",
                    "legal_basis",
                    "state",
                    "language",
                    "threat_to_life",
                    "is_emergency",
                    "composed_by_id",
                    "approved_by_id",
                    "submitted_by_id",
                    "submitted_at",
                    "approved_at",
                    "sent_at",
                    "deadline",
                    "original_deadline",
                    "clock_paused_at",
                    "total_pause",
                    "next_followup_at",
                    "followup_stage",
                    "escalated_from_id",
                    "closed_at",
                    "notes",
                    "created_at",
                    "updated_at",
                ],
                self.request_rows,
            ),
        )
        self._count(
            "cases_removalrequest_contacts",
            _copy(
                cursor,
                "cases_removalrequest_contacts",
                ["removalrequest_id", "contact_id"],
                ((r.id, r.contact) for r in self.requests if r.contact is not None),
            ),
        )

    def _state(self, position: int, total: int, composed: datetime, platform: int) -> str:
        """Old requests are settled; the newest are still moving; every state occurs."""
        age = self.now - composed
        rnd = self.random
        left = total - position  # 1 = the newest request
        if left <= 6:
            return "draft" if left <= 3 else "awaiting_approval"
        if age < timedelta(days=7):
            return rnd.choice(["draft", "awaiting_approval", "sent", "sent", "partly_answered"])
        if age < timedelta(days=28):
            return rnd.choices(
                ["sent", "partly_answered", "answered", "overdue", "escalated", "closed"],
                [2, 2, 3, 2, 1, 4],
            )[0]
        return self._settled_state(position)

    @staticmethod
    def _settled_state(position: int) -> str:
        if position % 97 == 0:
            return "cancelled"
        if position % 53 == 0:
            return "escalated"
        return "closed" if position % 5 else "answered"

    def _add_request(
        self,
        *,
        platform: int,
        items: list[int],
        request_type: str,
        state: str,
        composed: datetime,
        threat: bool,
        escalated_from: int | None = None,
    ) -> None:
        rnd = self.random
        request_id = self.next_request_id
        self.next_request_id += 1
        year = composed.year
        number = self.reference_numbers.get(year, 0) + 1
        self.reference_numbers[year] = number
        reference = f"TKD-{year}-{number:06d}"
        weekly = request_id % 3 != 0  # the weekly job composed it: no composer
        composer = None if weekly else self.officers[request_id % len(self.officers)]
        submitter = None
        submitted_at = None
        approver = None
        approved_at = None
        sent_at = None
        deadline = None
        closed_at = None
        next_followup = None
        stage = 0
        if state != "draft":
            submitter = composer or self.officers[(request_id + 5) % len(self.officers)]
            submitted_at = composed + timedelta(hours=1)
        if state not in ("draft", "awaiting_approval", "cancelled"):
            approver = self.supervisor_ids[request_id % len(self.supervisor_ids)]
            # Never in the future: a request composed minutes ago was approved since.
            approved_at = min(
                composed + timedelta(hours=rnd.randint(2, 20)),
                composed + (self.now - composed) / 2,
            )
            sent_at = approved_at + timedelta(minutes=1)
            if request_type == "removal_order":
                deadline = sent_at + timedelta(hours=1)
            else:
                # The referral ladder's deadline: the response target plus 14 days.
                deadline = sent_at + timedelta(days=self.platform_rt[platform] + 14)
            if state in ("overdue", "escalated"):
                # Past its deadline (sent at least a week ago, so still after sending).
                deadline = min(deadline, self.now - timedelta(hours=1))
            if state == "closed":
                closed_at = min(deadline, self.now)
            if state in ("sent", "partly_answered", "overdue", "escalated"):
                stage = {"sent": 0, "partly_answered": 1, "overdue": 2, "escalated": 3}[state]
                next_followup = max(sent_at + timedelta(days=stage * 3 + 2), self.now)
        if state == "cancelled":
            closed_at = composed + timedelta(days=1)
        answered = self._operator_answered(state, request_id, deadline)
        contact = self.primary_contact.get(platform)
        request = _Request(
            id=request_id,
            platform=platform,
            request_type=request_type,
            state=state,
            created_at=composed,
            sent_at=sent_at,
            deadline=deadline,
            answered=answered,
            contact=contact,
            items=items,
        )
        self.requests.append(request)
        updated = closed_at or sent_at or submitted_at or composed
        self.request_rows.append(
            (
                request_id,
                reference,
                platform,
                request_type,
                "tco_regulation" if request_type == "removal_order" else "terms_of_service",
                state,
                "en",
                threat,
                request_type == "removal_order" and request_id % 10 == 0,
                composer,
                approver,
                submitter,
                submitted_at,
                approved_at,
                sent_at,
                deadline,
                deadline,
                None,
                "00:00:00",
                next_followup,
                stage,
                escalated_from,
                closed_at,
                "",
                composed,
                updated,
            )
        )

    def _operator_answered(self, state: str, request_id: int, deadline: datetime | None) -> bool:
        """Every answered/partly answered request, half the escalated ones, and closed ones
        except every eighth whose deadline passed in silence (its lines: no_response)."""
        if state in ("answered", "partly_answered"):
            return True
        if state == "escalated":
            return request_id % 2 == 0
        if state == "closed":
            return not (request_id % 8 == 0 and deadline is not None and deadline < self.now)
        return False

    def _lines(self) -> None:
        cursor, rnd = self.cursor, self.random
        answer_cum = list(accumulate(ANSWER_WEIGHTS))
        source_cum = list(accumulate(ANSWER_SOURCE_WEIGHTS))
        line_count = sum(len(r.items) for r in self.requests)
        first = _reserve_ids(cursor, "cases_requestitem", line_count)
        self.line_first = first
        records: list[tuple[Any, ...]] = []
        self.removed_items: list[tuple[int, datetime]] = []
        self.answered_requests: list[tuple[_Request, datetime]] = []

        def lines() -> Iterator[tuple[Any, ...]]:
            line_id = first
            for request in self.requests:
                answer_at = None
                if request.answered and request.sent_at is not None:
                    answer_at = request.sent_at + timedelta(hours=rnd.randint(1, 24 * 6))
                    if request.request_type == "removal_order":
                        answer_at = request.sent_at + timedelta(minutes=rnd.randint(5, 55))
                    answer_at = min(answer_at, self.now)
                    self.answered_requests.append((request, answer_at))
                for position, item_id in enumerate(request.items):
                    outcome = "pending"
                    at = None
                    source = ""
                    reason = ""
                    recorder = None
                    if answer_at is not None and not (
                        request.state == "partly_answered" and position % 2
                    ):
                        outcome = ANSWER_OUTCOMES[
                            bisect_right(answer_cum, rnd.random() * answer_cum[-1])
                        ]
                        source = ANSWER_SOURCES[
                            bisect_right(source_cum, rnd.random() * source_cum[-1])
                        ]
                        at = answer_at
                        if outcome.startswith("refused") or outcome == "unable":
                            reason = "Not against our terms as we read them."
                        if source != "operator_portal":
                            recorder = self.officers[line_id % len(self.officers)]
                    elif (
                        request.state in ("closed", "overdue", "escalated")
                        and request.deadline is not None
                        and request.deadline < self.now
                        and answer_at is None
                    ):
                        outcome, source, at = "no_response", "system", request.deadline
                    first_response = at if at is not None and outcome != "no_response" else None
                    first_removal = at if outcome in REMOVAL else None
                    if outcome in REMOVAL and at is not None:
                        self.removed_items.append((item_id, at))
                    if outcome != "pending" and at is not None:
                        contact = request.contact if source == "operator_portal" else None
                        records.append(
                            (line_id, outcome, source, recorder, contact, reason, "{}", None, at)
                        )
                        # An amendment now and then: the earlier answer stays in the history.
                        if outcome == "needs_info" and line_id % 4 == 0:
                            later = min(at + timedelta(days=2), self.now)
                            records.append(
                                (
                                    line_id,
                                    "removed",
                                    source,
                                    recorder,
                                    contact,
                                    "",
                                    "{}",
                                    None,
                                    later,
                                )
                            )
                            outcome, at, first_removal = "removed", later, later
                            self.removed_items.append((item_id, later))
                    yield (
                        line_id,
                        request.id,
                        item_id,
                        outcome,
                        at,
                        source,
                        reason,
                        first_response,
                        first_removal,
                    )
                    line_id += 1

        self._count(
            "cases_requestitem",
            _copy(
                cursor,
                "cases_requestitem",
                [
                    "id",
                    "request_id",
                    "item_id",
                    "outcome",
                    "outcome_at",
                    "outcome_source",
                    "outcome_reason",
                    "first_response_at",
                    "first_removal_at",
                ],
                lines(),
            ),
        )
        self._count(
            "cases_outcomerecord",
            _copy(
                cursor,
                "cases_outcomerecord",
                [
                    "line_id",
                    "outcome",
                    "source",
                    "recorded_by_id",
                    "contact_id",
                    "reason",
                    "detail",
                    "correspondence_id",
                    "recorded_at",
                ],
                records,
            ),
        )

    def _correspondence(self) -> None:
        cursor, rnd = self.cursor, self.random
        sent = [r for r in self.requests if r.sent_at is not None]
        count = len(sent) + len(self.answered_requests)
        first = _reserve_ids(cursor, "cases_correspondence", count + 1)
        outbound: list[tuple[int, _Request]] = []
        rows: list[tuple[Any, ...]] = []
        next_id = first
        domain = settings.UNIT_EMAIL.split("@")[-1] if "@" in settings.UNIT_EMAIL else "unit"
        for request in sent:
            message_id = f"<scale-{request.id}@{domain}>"
            to = self._contact_email(request)
            rows.append(
                (
                    next_id,
                    request.id,
                    "outbound",
                    "email",
                    request.contact,
                    None,
                    settings.UNIT_EMAIL,
                    "{" + to + "}" if to else "{}",
                    f"Removal request {request.id}: {len(request.items)} URLs",
                    "Please review the URLs listed in the portal link below.",
                    None,
                    "",
                    message_id,
                    "",
                    "{}",
                    request.sent_at,
                )
            )
            outbound.append((next_id, request))
            next_id += 1
        for request, answered_at in self.answered_requests:
            rows.append(
                (
                    next_id,
                    request.id,
                    "inbound",
                    "portal",
                    request.contact,
                    None,
                    "",
                    "{}",
                    "Portal submission",
                    "",
                    None,
                    "",
                    "",
                    "",
                    '{"lines": ' + str(len(request.items)) + "}",
                    answered_at,
                )
            )
            next_id += 1
        self._count(
            "cases_correspondence",
            _copy(
                cursor,
                "cases_correspondence",
                [
                    "id",
                    "request_id",
                    "direction",
                    "channel",
                    "contact_id",
                    "author_id",
                    "from_address",
                    "to_addresses",
                    "subject",
                    "body_text",
                    "raw",
                    "raw_sha256",
                    "message_id",
                    "in_reply_to",
                    "payload",
                    "created_at",
                ],
                rows,
            ),
        )

        def ledger() -> Iterator[tuple[Any, ...]]:
            for correspondence_id, request in outbound:
                to = self._contact_email(request)
                if not to:
                    continue
                yield (
                    request.id,
                    correspondence_id,
                    request.contact,
                    to,
                    f"<scale-{request.id}@{domain}>",
                    f"Removal request {request.id}",
                    "sent",
                    1,
                    "",
                    None,
                    request.sent_at,
                    request.sent_at,
                    request.sent_at,
                    request.sent_at,
                )

        self._count(
            "notifications_outboundemail",
            _copy(
                cursor,
                "notifications_outboundemail",
                [
                    "request_id",
                    "correspondence_id",
                    "contact_id",
                    "to_address",
                    "message_id",
                    "subject",
                    "state",
                    "attempts",
                    "last_error",
                    "next_attempt_at",
                    "enqueued_at",
                    "claimed_at",
                    "sent_at",
                    "created_at",
                ],
                ledger(),
            ),
        )

        def links() -> Iterator[tuple[Any, ...]]:
            for request in sent:
                if request.contact is None or request.sent_at is None:
                    continue
                token_hash = hashlib.sha256(
                    f"scale-{request.id}-{rnd.random()}".encode()
                ).hexdigest()
                expires = (request.deadline or request.sent_at) + timedelta(days=30)
                yield (
                    request.id,
                    request.contact,
                    token_hash,
                    request.sent_at,
                    expires,
                    None,
                    None,
                    None,
                )

        self._count(
            "portal_portallink",
            _copy(
                cursor,
                "portal_portallink",
                [
                    "request_id",
                    "contact_id",
                    "token_hash",
                    "created_at",
                    "expires_at",
                    "revoked_at",
                    "revoked_by_id",
                    "last_used_at",
                ],
                links(),
            ),
        )

    def _contact_email(self, request: _Request) -> str:
        if request.contact is None:
            return ""
        return f"abuse@{self.domains[request.platform][0]}"

    def _checks(self) -> None:
        """Verification: removed items mostly checked gone, a sample of others live/unknown."""
        cursor, rnd = self.cursor, self.random
        latest: dict[int, tuple[datetime, str]] = {}
        for item_id, removed_at in self.removed_items:
            if rnd.random() < 0.6:
                classification = "gone" if rnd.random() < 0.9 else "live"
                at = min(removed_at + timedelta(hours=rnd.randint(1, 72)), self.now)
                latest[item_id] = (at, classification)
        for index in range(0, self.n_items, 13):
            item_id = self.item_first + index
            if item_id not in latest and self.item_status[index] == "approved":
                classification = "live" if rnd.random() < 0.8 else "unknown"
                at = min(self.item_created[index] + timedelta(days=3), self.now)
                latest[item_id] = (at, classification)
        reasons = {"gone": "404", "live": "200 with content", "unknown": "timeout"}
        status = {"gone": 404, "live": 200, "unknown": None}
        self.item_verification = {
            item_id: (classification, at) for item_id, (at, classification) in latest.items()
        }

        def rows() -> Iterator[tuple[Any, ...]]:
            for item_id, (at, classification) in latest.items():
                index = item_id - self.item_first
                yield (
                    item_id,
                    at,
                    classification,
                    reasons[classification],
                    status[classification],
                    f"https://{self.item_host[index]}/post/{item_id}",
                    "",
                    "[]",
                    "",
                    None,
                    "timed out" if classification == "unknown" else "",
                    rnd.randint(40, 900),
                    "sweep",
                )

        self._count(
            "verification_urlcheck",
            _copy(
                cursor,
                "verification_urlcheck",
                [
                    "item_id",
                    "checked_at",
                    "classification",
                    "reason",
                    "http_status",
                    "url",
                    "final_url",
                    "redirects",
                    "content_sha256",
                    "content_length",
                    "error",
                    "elapsed_ms",
                    "trigger",
                ],
                rows(),
            ),
        )

    def _holds(self) -> None:
        rows = []
        for index in range(7, self.n_items, max(20, self.n_items // 1000)):
            if self.item_status[index] != "approved":
                continue
            placed = self.item_created[index] + timedelta(days=1)
            released = placed + timedelta(days=30) if index % 2 else None
            if released is not None and released > self.now:
                released = None
            rows.append(
                (
                    self.item_first + index,
                    "Another agency asked to keep it online for now.",
                    "Partner agency",
                    (placed + timedelta(days=60)).date(),
                    self.supervisor_ids[0],
                    placed,
                    self.supervisor_ids[1] if released else None,
                    released,
                )
            )
        self._count(
            "cases_hold",
            _copy(
                self.cursor,
                "cases_hold",
                [
                    "item_id",
                    "reason",
                    "requesting_agency",
                    "review_on",
                    "placed_by_id",
                    "placed_at",
                    "released_by_id",
                    "released_at",
                ],
                rows,
            ),
        )

    def _reference_counters(self) -> None:
        for year, number in self.reference_numbers.items():
            self.cursor.execute(
                "INSERT INTO cases_referencecounter (year, last_number) VALUES (%s, %s) "
                "ON CONFLICT (year) DO UPDATE SET last_number = GREATEST("
                "cases_referencecounter.last_number, EXCLUDED.last_number)",
                [year, number],
            )

    def _snapshot(self) -> None:
        # The compliance pages read the nightly snapshot: build it as the night would.
        from metrics.models import MetricSnapshot, MetricSnapshotRow, SnapshotTrigger
        from metrics.services import snapshot_build

        snapshot_build(now=self.now, trigger=SnapshotTrigger.COMMAND)
        self._count("metrics_metricsnapshot", MetricSnapshot.objects.count())
        self._count("metrics_metricsnapshotrow", MetricSnapshotRow.objects.count())


def foreign_key_orphans() -> dict[str, int]:
    """Rows whose foreign key points at nothing, per constraint (empty when all hold).

    PostgreSQL checks foreign keys with triggers, which ``session_replication_role =
    replica`` switches off: this is how the tests prove the generator kept them anyway.
    """
    orphans: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conname, c.conrelid::regclass::text, a.attname,
                   c.confrelid::regclass::text, af.attname
            FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = c.confkey[1]
            WHERE c.contype = 'f' AND array_length(c.conkey, 1) = 1
              AND c.connamespace = 'public'::regnamespace
            """
        )
        for name, table, column, target, target_column in cursor.fetchall():
            cursor.execute(
                # Names from the catalog, not from input.
                f'SELECT count(*) FROM {table} t WHERE t."{column}" IS NOT NULL AND NOT EXISTS '  # noqa: S608
                f'(SELECT 1 FROM {target} f WHERE f."{target_column}" = t."{column}")'
            )
            (count,) = cursor.fetchone()
            if count:
                orphans[f"{table}.{column} ({name})"] = count
    return orphans


def generate_scale(
    *,
    items: int = 1_000_000,
    platforms: int = 2_000,
    requests: int = 100_000,
    seed: int = 11,
    log: Callable[[str], None] = lambda message: None,
) -> ScaleReport:
    return ScaleGenerator(
        items=items, platforms=platforms, requests=requests, seed=seed, log=log
    ).run()
