"""The row-level audit trail: database triggers into core.RowChange (issue 10 point 6)."""

from __future__ import annotations

import pytest
from celery.signals import task_postrun, task_prerun
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import ProgrammingError, connection, transaction
from django.db.models import ProtectedError
from django.urls import reverse

from cases.models import Hold
from core.audit import audit_events_rewritable, audit_record
from core.audit_context import mask_path
from core.models import Alert, AuditEvent, RowChange
from tests.factories import AlertFactory, AuditEventFactory, ItemFactory, UserFactory

pytestmark = pytest.mark.django_db

NO_ACTOR = "database (no actor)"


def changes(table: str, row_pk: object) -> list[RowChange]:
    return list(RowChange.objects.filter(table_name=table, row_pk=str(row_pk)).order_by("id"))


def raw_insert_alert(title: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_alert (permission, title, message, url, target_type, target_id,"
            " key, created_at) VALUES ('x', %s, '', '', '', '', '', now()) RETURNING id",
            [title],
        )
        return cursor.fetchone()[0]


def verify() -> tuple[int, str]:
    out = __import__("io").StringIO()
    try:
        call_command("audit_verify", stdout=out)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue()
    return 0, out.getvalue()


# --- capture ------------------------------------------------------------------------------------


def test_it_captures_an_orm_insert_with_the_new_row():
    alert = AlertFactory(title="Look here")

    (change,) = changes("core_alert", alert.pk)

    assert (change.op, change.before, change.after["title"]) == ("INSERT", None, "Look here")


def test_it_captures_an_orm_update_with_before_and_after():
    alert = AlertFactory(title="Old")
    alert.title = "New"
    alert.save()

    change = changes("core_alert", alert.pk)[-1]

    assert (change.op, change.before["title"], change.after["title"]) == ("UPDATE", "Old", "New")


def test_it_captures_an_orm_delete_with_the_old_row():
    alert = AlertFactory(title="Gone")
    pk = alert.pk
    alert.delete()

    change = changes("core_alert", pk)[-1]

    assert (change.op, change.before["title"], change.after) == ("DELETE", "Gone", None)


def test_it_captures_a_queryset_update():
    alert = AlertFactory(title="Before bulk")
    Alert.objects.filter(pk=alert.pk).update(title="After bulk")

    change = changes("core_alert", alert.pk)[-1]

    assert (change.op, change.after["title"]) == ("UPDATE", "After bulk")


def test_it_captures_raw_sql_as_database_without_actor():
    pk = raw_insert_alert("raw")

    (change,) = changes("core_alert", pk)

    assert (change.actor_id, change.actor_label) == (None, NO_ACTOR)


def test_it_captures_group_membership_through_the_m2m_table():
    user = UserFactory()
    group = Group.objects.create(name="Watchers")
    user.groups.add(group)

    change = RowChange.objects.filter(table_name="auth_user_groups").latest("id")

    assert (change.op, change.after["user_id"], change.after["group_id"]) == (
        "INSERT",
        user.pk,
        group.pk,
    )


def test_it_never_stores_a_password():
    user = UserFactory()
    user.set_password("another horse battery staple")
    user.save()

    rows = changes("auth_user", user.pk)

    assert rows
    assert all("password" not in (row.before or {}) | (row.after or {}) for row in rows)


# --- actor --------------------------------------------------------------------------------------


def test_it_names_the_staff_user_of_a_post(client, bob):
    item = ItemFactory(approved=True)
    client.force_login(bob)

    response = client.post(
        reverse("items:hold", args=[item.pk]),
        {
            "reason": "CTP North is watching.",
            "requesting_agency": "CTP North",
            "review_on": "2099-01-01",
        },
    )

    assert response.status_code == 302
    hold = Hold.objects.get(item=item)
    (change,) = changes("cases_hold", hold.pk)
    assert (change.actor_id, change.actor_label) == (bob.pk, bob.username)
    assert change.context == f"POST /items/{item.pk}/hold/"


def test_it_does_not_leak_the_actor_into_the_next_request(client, bob):
    item = ItemFactory(approved=True)
    client.force_login(bob)
    client.post(
        reverse("items:hold", args=[item.pk]),
        {"reason": "Watching.", "requesting_agency": "CTP North", "review_on": "2099-01-01"},
    )
    client.get(reverse("items:detail", args=[item.pk]))

    pk = raw_insert_alert("after the request")

    (change,) = changes("core_alert", pk)
    assert (change.actor_id, change.actor_label, change.context) == (None, NO_ACTOR, "")


class FakeTask:
    # Celery's signals need a hashable sender; only the task's name is read.
    name = "scheduling.run_job"


def test_it_labels_a_celery_task_as_system():
    task = FakeTask()
    task_prerun.send(sender=task, task_id="t-1", task=task)
    try:
        alert = AlertFactory()
    finally:
        task_postrun.send(sender=task, task_id="t-1", task=task)
    after = raw_insert_alert("after the task")

    (change,) = changes("core_alert", alert.pk)
    assert (change.actor_label, change.context) == ("system", "task scheduling.run_job")
    assert changes("core_alert", after)[0].actor_label == NO_ACTOR


def test_it_keeps_portal_tokens_out_of_the_context():
    assert mask_path("/r/abcDEF123secret/receipt/2/") == "/r/…/receipt/2/"


# --- append-only and the chain ------------------------------------------------------------------


def test_it_refuses_to_update_a_row_change():
    AlertFactory()

    with pytest.raises(ProgrammingError, match="append-only"), transaction.atomic():
        RowChange.objects.update(actor_label="someone else")


def test_it_refuses_to_delete_a_row_change():
    AlertFactory()

    with pytest.raises(ProgrammingError, match="append-only"), transaction.atomic():
        RowChange.objects.all().delete()


def test_it_refuses_to_delete_an_audit_event():
    event = AuditEventFactory()

    with pytest.raises(ProgrammingError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()


def test_it_verifies_an_intact_chain():
    for n in range(5):
        AlertFactory(title=f"alert {n}")
    count = RowChange.objects.count()

    assert verify() == (0, f"ok: {count} rows, chain intact\n")


def test_it_names_the_first_tampered_row():
    alerts = [AlertFactory(title=f"alert {n}") for n in range(5)]
    tampered = changes("core_alert", alerts[2].pk)[0]
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE core_rowchange DISABLE TRIGGER tkd_append_only")
        cursor.execute(
            'UPDATE core_rowchange SET after = after || \'{"title": "forged"}\' WHERE id = %s',
            [tampered.pk],
        )
        cursor.execute("ALTER TABLE core_rowchange ENABLE TRIGGER tkd_append_only")

    code, out = verify()

    assert code == 1
    assert out.startswith(f"broken at id={tampered.pk}, table=core_alert, op=INSERT, at=")


def test_it_names_the_row_after_a_deleted_one():
    alerts = [AlertFactory(title=f"alert {n}") for n in range(3)]
    gone, following = changes("core_alert", alerts[1].pk)[0], changes("core_alert", alerts[2].pk)[0]
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE core_rowchange DISABLE TRIGGER tkd_append_only")
        cursor.execute("DELETE FROM core_rowchange WHERE id = %s", [gone.pk])
        cursor.execute("ALTER TABLE core_rowchange ENABLE TRIGGER tkd_append_only")

    code, out = verify()

    assert (code, out.split(",")[0]) == (1, f"broken at id={following.pk}")


# --- actors kept --------------------------------------------------------------------------------


def test_it_fills_the_actor_label_with_the_username(alice):
    event = audit_record(actor=alice, action="test.happened", target=alice)

    assert event.actor_label == alice.username


def test_it_protects_a_user_who_acted(alice):
    audit_record(actor=alice, action="test.happened", target=alice)

    with pytest.raises(ProtectedError):
        alice.delete()


def test_it_shows_the_cannot_delete_page_for_a_user_who_acted(client, alice):
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    audit_record(actor=alice, action="test.happened", target=alice)
    client.force_login(admin_user)

    response = client.post(reverse("admin:auth_user_delete", args=[alice.pk]), {"post": "yes"})

    assert response.status_code == 200
    assert b"Cannot delete" in response.content or b"would require deleting" in response.content


def test_it_lets_demo_data_rewrite_audit_events_only_inside_the_block():
    event = AuditEventFactory()
    with audit_events_rewritable():
        AuditEvent.objects.filter(pk=event.pk).update(action="demo.backdated")

    with pytest.raises(ProgrammingError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="again")
    assert AuditEvent.objects.get(pk=event.pk).action == "demo.backdated"
