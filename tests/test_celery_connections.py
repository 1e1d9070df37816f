"""A worker keeps its database connection from one task to the next, as a web process
does between requests, and still drops one that is too old (decision 0030)."""

from __future__ import annotations

import time

import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun, task_prerun
from django.db import connection

from config.celery_app import app
from notifications.tasks import deliver_outbound_email

pytestmark = pytest.mark.django_db(transaction=True)


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def run_task_lifecycle(*, eager: bool = False) -> None:
    """What a worker does around one task: Celery's fixup and the project's handlers."""
    task = deliver_outbound_email
    fixup = DjangoWorkerFixup(app)
    task.push_request(id="t1", is_eager=eager)
    try:
        task_prerun.send(sender=task, task_id="t1", task=task, args=(), kwargs={})
        fixup.on_task_prerun(task)
        task_postrun.send(sender=task, task_id="t1", task=task, args=(), kwargs={}, retval=None)
        fixup.on_task_postrun(task)
    finally:
        task.pop_request()


@pytest.fixture
def persistent_connections(settings):
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 60
    connection.settings_dict["CONN_MAX_AGE"] = 60
    connection.close()  # the next query opens a connection that knows its age
    yield
    connection.close()


def test_a_worker_reuses_its_connection_across_tasks(persistent_connections):
    assert app.conf.db_reuse_max, "without it Celery closes every connection around each task"
    first = backend_pid()

    for _ in range(3):
        run_task_lifecycle()

    assert backend_pid() == first


def test_it_closes_a_connection_past_its_age_between_tasks(persistent_connections):
    first = backend_pid()
    connection.close_at = time.monotonic() - 1  # as if CONN_MAX_AGE had run out

    run_task_lifecycle()

    assert backend_pid() != first


def test_it_closes_a_broken_connection_between_tasks(persistent_connections):
    first = backend_pid()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    connection.errors_occurred = True
    connection.connection.close()  # the server side went away mid-task

    run_task_lifecycle()

    assert backend_pid() != first


def test_it_leaves_an_eager_tasks_connection_alone(persistent_connections):
    first = backend_pid()
    connection.close_at = time.monotonic() - 1

    run_task_lifecycle(eager=True)

    # An eager task runs inside its caller: its connection (and transaction) are the caller's.
    assert connection.connection is not None
    assert backend_pid() == first
