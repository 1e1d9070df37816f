"""When the weekly compose runs: its ISO-week period, DST in Europe/London, once per week."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from cases.models import RemovalRequest
from followups.models import ComposeSchedule, Weekday
from followups.schedule import weekly_compose_period
from followups.services import compose_schedule_update
from scheduling.jobs import job_run
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db

SECOND = timedelta(seconds=1)
# Winter: London is on GMT, so Monday 06:00 local is 06:00 UTC.
WINTER_MONDAY = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
WINTER_WEEK = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def schedule(weekday: int, at: time, *, enabled: bool = True) -> None:
    ComposeSchedule.objects.update_or_create(
        pk=1, defaults={"weekday": weekday, "time_of_day": at, "enabled": enabled}
    )


def test_it_is_not_due_just_before_monday_six(db):
    assert weekly_compose_period(WINTER_MONDAY - SECOND) is None


def test_it_is_due_at_monday_six_for_the_whole_week(db):
    assert weekly_compose_period(WINTER_MONDAY) == WINTER_WEEK


def test_it_stays_due_later_in_the_week_so_a_stopped_beat_catches_up(db):
    assert weekly_compose_period(WINTER_MONDAY + timedelta(days=3)) == WINTER_WEEK


def test_it_is_not_due_on_sunday_night_before_the_next_monday(db):
    sunday_night = WINTER_MONDAY + timedelta(days=6, hours=17)  # Sunday 23:00

    assert weekly_compose_period(sunday_night) == WINTER_WEEK


def test_it_follows_summer_time_monday_six_is_five_utc(db):
    summer_monday = datetime(2026, 6, 1, 5, 0, tzinfo=UTC)  # 06:00 BST

    assert weekly_compose_period(summer_monday - SECOND) is None
    assert weekly_compose_period(summer_monday) == datetime(2026, 5, 31, 23, 0, tzinfo=UTC)


def test_it_finds_the_time_on_the_sunday_the_clocks_go_forward(db):
    # 29 March 2026: clocks go forward at 01:00 UTC, so Sunday 06:00 local is 05:00 UTC,
    # while the week began on Monday 23 March at 00:00 GMT.
    schedule(Weekday.SUNDAY, time(6, 0))
    due = datetime(2026, 3, 29, 5, 0, tzinfo=UTC)

    assert weekly_compose_period(due - SECOND) is None
    assert weekly_compose_period(due) == datetime(2026, 3, 23, 0, 0, tzinfo=UTC)


def test_it_finds_the_time_on_the_sunday_the_clocks_go_back(db):
    # 25 October 2026: clocks go back at 01:00 UTC; Sunday 06:00 local is 06:00 UTC, and
    # the week began on Monday 19 October at 00:00 BST (23:00 UTC the day before).
    schedule(Weekday.SUNDAY, time(6, 0))
    due = datetime(2026, 10, 25, 6, 0, tzinfo=UTC)

    assert weekly_compose_period(due - SECOND) is None
    assert weekly_compose_period(due) == datetime(2026, 10, 18, 23, 0, tzinfo=UTC)


def test_it_is_never_due_when_disabled(db):
    schedule(Weekday.MONDAY, time(6, 0), enabled=False)

    assert weekly_compose_period(WINTER_MONDAY + timedelta(days=2)) is None


def test_it_uses_the_default_when_the_row_is_missing(db):
    ComposeSchedule.objects.all().delete()

    assert weekly_compose_period(WINTER_MONDAY) == WINTER_WEEK


# --- the job, through the scheduling spine ----------------------------------------------------


def test_it_composes_once_when_the_job_is_ticked_twice(platform, time_machine):
    ItemFactory(platform=platform, approved=True)
    time_machine.move_to(WINTER_MONDAY, tick=False)

    first = job_run(name="weekly_compose", now=WINTER_MONDAY)
    second = job_run(name="weekly_compose", now=WINTER_MONDAY + timedelta(minutes=1))

    assert (first.status, second.status) == ("succeeded", "already_claimed")
    assert first.run is not None and first.run.summary["drafts"] == 1
    assert RemovalRequest.objects.filter(platform=platform).count() == 1


def test_it_does_not_compose_again_when_the_time_moves_later_in_the_week(
    bob, platform, time_machine
):
    time_machine.move_to(WINTER_MONDAY, tick=False)
    job_run(name="weekly_compose", now=WINTER_MONDAY)
    ItemFactory(platform=platform, approved=True)
    compose_schedule_update(by=bob, weekday=Weekday.FRIDAY, time_of_day=time(9, 0),
                            enabled=True)  # fmt: skip
    friday = WINTER_MONDAY + timedelta(days=4, hours=3)
    time_machine.move_to(friday, tick=False)

    assert job_run(name="weekly_compose", now=friday).status == "already_claimed"


def test_it_composes_again_the_next_week(platform, time_machine):
    time_machine.move_to(WINTER_MONDAY, tick=False)
    job_run(name="weekly_compose", now=WINTER_MONDAY)
    ItemFactory(platform=platform, approved=True)
    next_monday = WINTER_MONDAY + timedelta(days=7)
    time_machine.move_to(next_monday, tick=False)

    result = job_run(name="weekly_compose", now=next_monday)

    assert result.status == "succeeded"
    assert RemovalRequest.objects.filter(platform=platform).count() == 1


def test_it_is_not_due_before_the_configured_time(time_machine, db):
    time_machine.move_to(WINTER_MONDAY - SECOND, tick=False)

    assert job_run(name="weekly_compose", now=WINTER_MONDAY - SECOND).status == "not_due"
