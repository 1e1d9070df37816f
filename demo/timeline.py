"""The demo's calendar, and putting historical times on rows the services stamp with "now".

The services take ``at=`` where the domain needs a time (sending, answers, the clock).
Everything else they stamp with the current time (``auto_now_add``, the audit trail,
review and close times). The loader notes when each of those really happened and
``Backdater`` writes the times at the end, one statement per table: an update after
every call would add a fifth to the load time, and a row back-dated early could be
overwritten again by a later ``save()`` of a stale copy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Model
from django.db.models.signals import post_save
from django.utils import timezone

from core.models import AuditEvent

# The demo is a snapshot taken at this time on the Monday of its current week: the weekly
# job has composed the drafts (06:00) and this week's requests went out mid-morning.
PRESENT_OFFSET = timedelta(hours=12)


class Timeline:
    """Week 0 is the current ISO week in the unit's time zone; -1 the week before.

    Before Monday noon the current week has not happened yet, so the demo's week 0 is the
    previous one: nothing the demo loads is ever later than now.
    """

    def __init__(self, now: datetime | None = None) -> None:
        self.tz = ZoneInfo(settings.TIME_ZONE)
        local_now = (now or timezone.now()).astimezone(self.tz)
        monday = local_now.date() - timedelta(days=local_now.weekday())
        if local_now < self._midnight(monday) + PRESENT_OFFSET:
            monday -= timedelta(weeks=1)
        self.monday = monday
        self.present = self._midnight(monday) + PRESENT_OFFSET

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=self.tz)

    def at(self, week: int, weekday: int, hour: float) -> datetime:
        """Wall-clock time in the unit's zone: (0, 0, 9.5) is this Monday 09:30."""
        day = self.monday + timedelta(weeks=week, days=weekday)
        return self._midnight(day) + timedelta(hours=hour)

    def check(self, when: datetime) -> datetime:
        if when > self.present:
            raise RuntimeError(
                f"Demo dataset error: {when:%Y-%m-%d %H:%M} is after the demo's present "
                f"({self.present:%Y-%m-%d %H:%M})."
            )
        return when


class Backdater:
    """Remembers historical times for rows and audit events; ``flush`` writes them."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self._new_events: list[int] = []
        self._event_times: dict[int, datetime] = {}
        self._fields: dict[type[Model], dict[Any, dict[str, datetime]]] = defaultdict(dict)

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Collect the ids of the audit events the services write meanwhile."""

        def collect(sender: type[Model], instance: AuditEvent, created: bool, **_: Any) -> None:
            if created:
                self._new_events.append(instance.pk)

        post_save.connect(collect, sender=AuditEvent, weak=False, dispatch_uid="demo-backdater")
        try:
            yield
        finally:
            post_save.disconnect(sender=AuditEvent, dispatch_uid="demo-backdater")

    def happened(self, when: datetime) -> datetime:
        """The audit events written since the last call happened at ``when``."""
        self.timeline.check(when)
        for pk in self._new_events:
            self._event_times[pk] = when
        self._new_events.clear()
        return when

    def set(self, row: Model, **fields: datetime) -> None:
        for when in fields.values():
            self.timeline.check(when)
        self._fields[type(row)].setdefault(row.pk, {}).update(fields)

    def flush(self) -> None:
        if self._new_events:
            raise RuntimeError("Audit events without a time: call happened() after each service.")
        events = {pk: {"created_at": when} for pk, when in self._event_times.items()}
        self.set_many(AuditEvent, events)
        for model, rows in self._fields.items():
            self.set_many(model, rows)

    @staticmethod
    def set_many(model: type[Model], rows: dict[Any, dict[str, datetime]]) -> None:
        """One UPDATE ... FROM unnest(...) per table and set of fields (bulk_update's CASE
        expressions take half a second for the audit trail alone)."""
        groups: dict[tuple[str, ...], list[tuple[Any, dict[str, datetime]]]] = defaultdict(list)
        for pk, values in rows.items():
            groups[tuple(sorted(values))].append((pk, values))
        meta = model._meta
        quote = connection.ops.quote_name
        table, pk_column = quote(meta.db_table), quote(meta.pk.column)
        columns_by_name = {field.name: quote(field.column) for field in meta.concrete_fields}
        for names, pairs in groups.items():
            columns = [columns_by_name[name] for name in names]
            sql = (
                f"UPDATE {table} SET {', '.join(f'{c} = v.{c}' for c in columns)} "  # noqa: S608 - names from model metadata
                f"FROM unnest(%s::bigint[], {', '.join('%s::timestamptz[]' for _ in columns)}) "
                f"AS v(pk, {', '.join(columns)}) WHERE {table}.{pk_column} = v.pk"
            )
            params = [[pk for pk, _ in pairs]]
            params += [[values[name] for _, values in pairs] for name in names]
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
