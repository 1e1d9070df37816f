"""The statement-level audit triggers (core migration 0006, decision 0028): one
INSERT ... SELECT per written statement, still one hashed core_rowchange row per row."""

from __future__ import annotations

import io

import psycopg
import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.db.models import F, Value
from django.db.models.functions import Concat

from core.models import Alert, RowChange
from tests.factories import AlertFactory, UserFactory

pytestmark = pytest.mark.django_db

LOCK_KEY = 7301400140014


def verify() -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("audit_verify", stdout=out)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue()
    return 0, out.getvalue()


def raw(sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall() if cursor.description else []


def raw_insert_alerts(count: int, prefix: str = "bulk") -> list[int]:
    rows = raw(
        "INSERT INTO core_alert (permission, title, message, url, target_type, target_id,"
        " key, created_at) SELECT 'x', %s || '-' || g, '', '', '', '', '', now()"
        " FROM generate_series(1, %s) g RETURNING id",
        [prefix, count],
    )
    return [int(row[0]) for row in rows]


def tamper(sql: str, params: list[object]) -> None:
    raw("ALTER TABLE core_rowchange DISABLE TRIGGER tkd_append_only")
    raw(sql, params)
    raw("ALTER TABLE core_rowchange ENABLE TRIGGER tkd_append_only")


def last_id() -> int:
    return RowChange.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_every_audited_table_has_the_three_statement_triggers_and_no_row_trigger():
    triggers = raw(
        "SELECT c.relname, array_agg(t.tgname::text ORDER BY t.tgname)"
        " FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        " WHERE t.tgname LIKE 'tkd_audit%%' GROUP BY c.relname"
    )
    by_table = dict(triggers)

    assert by_table["core_alert"] == ["tkd_audit_delete", "tkd_audit_insert", "tkd_audit_update"]
    assert by_table["auth_user_groups"] == by_table["core_alert"]
    assert all(names == by_table["core_alert"] for names in by_table.values())
    assert "core_rowchange" not in by_table


def test_one_statement_of_fifty_rows_writes_fifty_consecutive_links():
    start = last_id()

    pks = raw_insert_alerts(50)

    changes = list(RowChange.objects.filter(id__gt=start).order_by("id"))
    assert [change.row_pk for change in changes] == [str(pk) for pk in pks]
    assert {change.op for change in changes} == {"INSERT"}
    assert [change.after["title"] for change in changes] == [f"bulk-{n}" for n in range(1, 51)]
    # Each row is its own link: prev_hash is the hash of the row before it.
    assert [change.prev_hash for change in changes[1:]] == [c.hash for c in changes[:-1]]
    assert len({change.at for change in changes}) == 1  # one statement, one time
    assert verify()[0] == 0


def test_it_notices_a_row_missing_from_the_middle_of_a_statement():
    start = last_id()
    raw_insert_alerts(10)
    changes = list(RowChange.objects.filter(id__gt=start).order_by("id"))
    tamper("DELETE FROM core_rowchange WHERE id = %s", [changes[4].pk])

    code, out = verify()

    assert code == 1
    assert out.startswith(f"broken at id={changes[5].pk}, table=core_alert, op=INSERT")
    assert f"is not the hash of the row before it (id={changes[3].pk})" in out


def test_it_notices_the_last_row_of_a_statement_missing_when_another_follows():
    start = last_id()
    raw_insert_alerts(3)
    following = AlertFactory()
    changes = list(RowChange.objects.filter(id__gt=start).order_by("id"))
    tamper("DELETE FROM core_rowchange WHERE id = %s", [changes[2].pk])

    code, out = verify()

    assert (code, out.split(",")[0]) == (1, f"broken at id={changes[3].pk}")
    assert changes[3].row_pk == str(following.pk)


def test_it_notices_an_altered_row_inside_a_statement():
    start = last_id()
    raw_insert_alerts(5)
    third = RowChange.objects.filter(id__gt=start).order_by("id")[2]
    tamper(
        'UPDATE core_rowchange SET after = after || \'{"title": "forged"}\' WHERE id = %s',
        [third.pk],
    )

    code, out = verify()

    assert code == 1
    assert out.startswith(f"broken at id={third.pk}, table=core_alert, op=INSERT, at=")
    assert "its hash is not the hash of its own fields" in out


def test_it_notices_two_rows_of_a_statement_swapped():
    start = last_id()
    raw_insert_alerts(4)
    first, second = RowChange.objects.filter(id__gt=start).order_by("id")[:2]
    # Swap the two rows' places (ids), every other field and hash kept.
    tamper("UPDATE core_rowchange SET id = -id WHERE id IN (%s, %s)", [first.pk, second.pk])
    tamper(
        "UPDATE core_rowchange SET id = CASE -id WHEN %s THEN %s ELSE %s END WHERE id < 0",
        [first.pk, second.pk, first.pk],
    )

    code, out = verify()

    assert code == 1
    assert out.startswith(f"broken at id={first.pk}, ")


def test_a_bulk_update_of_1000_rows_is_audited_row_by_row():
    pks = raw_insert_alerts(1000, prefix="before")
    start = last_id()

    updated = Alert.objects.filter(pk__in=pks).update(title=Concat(F("title"), Value("-after")))

    assert updated == 1000
    changes = list(RowChange.objects.filter(id__gt=start).order_by("id"))
    assert len(changes) == 1000
    assert {change.op for change in changes} == {"UPDATE"}
    assert sorted(int(change.row_pk) for change in changes) == sorted(pks)
    # Before and after belong to the same row, for every row.
    for change in changes:
        assert change.before["id"] == change.after["id"] == int(change.row_pk)
        assert change.after["title"] == change.before["title"] + "-after"
    assert len({change.before["title"] for change in changes}) == 1000
    assert verify()[0] == 0


def test_a_bulk_delete_and_bulk_create_are_audited_row_by_row():
    alerts = Alert.objects.bulk_create(
        [Alert(permission="x", title=f"made {n}", key=f"k{n}") for n in range(30)]
    )
    start = last_id()

    deleted, _ = Alert.objects.filter(pk__in=[a.pk for a in alerts[:20]]).delete()

    changes = list(RowChange.objects.filter(id__gt=start).order_by("id"))
    assert deleted == 20
    assert sorted(int(c.row_pk) for c in changes) == sorted(a.pk for a in alerts[:20])
    assert all(c.op == "DELETE" and c.after is None for c in changes)
    assert {c.before["title"] for c in changes} == {f"made {n}" for n in range(20)}
    inserts = RowChange.objects.filter(
        table_name="core_alert", op="INSERT", row_pk__in=[str(a.pk) for a in alerts]
    )
    assert inserts.count() == 30


def test_a_statement_that_writes_no_row_writes_no_link_and_takes_no_lock():
    start = last_id()

    Alert.objects.filter(pk=-1).update(title="nobody")
    Alert.objects.filter(pk=-1).delete()
    raw(
        "INSERT INTO core_alert (permission, title, message, url, target_type, target_id, key,"
        " created_at) SELECT 'x', '', '', '', '', '', '', now() WHERE false"
    )

    assert last_id() == start
    assert not _lock_held_by_another_session()
    AlertFactory()
    assert _lock_held_by_another_session()


def _lock_held_by_another_session() -> bool:
    # A second session asks for the audit lock: it is refused while this test's
    # transaction holds it.
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        autocommit=True,
    ) as other:
        (got,) = other.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY]).fetchone()
        if got:
            other.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
        return not got


def test_an_update_that_changes_primary_keys_pairs_old_and_new_rows_by_position():
    pks = raw_insert_alerts(3, prefix="moved")
    start = last_id()

    raw("UPDATE core_alert SET id = id + 100000 WHERE id = ANY(%s)", [pks])

    changes = list(RowChange.objects.filter(id__gt=start).order_by("id"))
    assert len(changes) == 3
    for change in changes:
        assert change.op == "UPDATE"
        assert change.after["id"] == change.before["id"] + 100000
        assert change.after["title"] == change.before["title"]
        assert change.row_pk == str(change.after["id"])
    assert verify()[0] == 0


def test_the_chain_verifies_after_mixed_statements_and_counts_every_row():
    start = last_id()
    user = UserFactory()
    group = Group.objects.create(name="Mixed")
    user.groups.add(group)
    pks = raw_insert_alerts(7, prefix="mixed")
    Alert.objects.filter(pk__in=pks[:4]).update(title="four")
    Alert.objects.bulk_create([Alert(permission="x", title=f"b{n}") for n in range(5)])
    Alert.objects.filter(pk__in=pks[4:]).delete()
    single = AlertFactory(title="single")
    single.title = "single, saved"
    single.save()
    raw(
        "INSERT INTO core_alert (permission, title, message, url, target_type, target_id, key,"
        " created_at) VALUES ('x', 'conflict', '', '', '', '', '', now())"
    )
    user.groups.clear()

    changes = RowChange.objects.filter(id__gt=start)
    ops = {(op, table): n for op, table, n in _counts(start)}
    assert ops[("INSERT", "core_alert")] == 7 + 5 + 1 + 1
    assert ops[("UPDATE", "core_alert")] == 4 + 1
    assert ops[("DELETE", "core_alert")] == 3
    assert ops[("INSERT", "auth_user_groups")] == ops[("DELETE", "auth_user_groups")] == 1
    code, out = verify()
    assert (code, out) == (0, f"ok: {RowChange.objects.count()} rows, chain intact\n")
    assert changes.exclude(actor_label="").count() == changes.count()


def _counts(start: int) -> list[tuple[str, str, int]]:
    return [
        (str(op), str(table), int(str(n)))
        for op, table, n in raw(
            "SELECT op, table_name, count(*) FROM core_rowchange WHERE id > %s GROUP BY 1, 2",
            [start],
        )
    ]


def test_the_trigger_hash_is_the_verifier_hash_for_every_row():
    user = UserFactory()
    user.first_name = "Ünïcode ✓ 'quoted' \"double\" | pipe"
    user.save()
    raw_insert_alerts(3, prefix="émoji 🙂")

    mismatched = raw(
        "SELECT id FROM core_rowchange WHERE hash <> tkd_audit_hash(prev_hash, id, at,"
        " table_name, op, row_pk, before, after, actor_id, actor_label, context)"
    )

    assert RowChange.objects.count() > 3
    assert mismatched == []


def test_a_chain_begun_by_the_row_level_trigger_continues_under_the_statement_triggers():
    # Migration 0006 keeps the chain as it was: links written by 0004's row trigger
    # and by the statement triggers check as one chain.
    raw("DROP TRIGGER tkd_audit_insert ON core_alert")
    raw(
        "CREATE TRIGGER tkd_audit AFTER INSERT OR UPDATE OR DELETE ON core_alert"
        " FOR EACH ROW EXECUTE FUNCTION tkd_audit_capture('id')"
    )
    start = last_id()
    raw_insert_alerts(3, prefix="row-level")
    raw("DROP TRIGGER tkd_audit ON core_alert")
    raw(
        "CREATE TRIGGER tkd_audit_insert AFTER INSERT ON core_alert"
        " REFERENCING NEW TABLE AS tkd_new FOR EACH STATEMENT"
        " EXECUTE FUNCTION tkd_audit_capture_statement('id')"
    )
    raw_insert_alerts(3, prefix="statement-level")

    changes = list(RowChange.objects.filter(id__gt=start).order_by("id"))
    assert len(changes) == 6
    assert len({change.at for change in changes[:3]}) == 3  # one time per row, as before
    assert len({change.at for change in changes[3:]}) == 1  # one per statement
    assert verify()[0] == 0


def test_upserts_merge_and_writable_ctes_are_audited_row_by_row():
    start = last_id()
    Group.objects.create(name="g1")

    raw(
        "INSERT INTO auth_group (name) VALUES ('g1'), ('g2')"
        " ON CONFLICT (name) DO UPDATE SET name = excluded.name || '!'"
    )
    raw(
        "WITH a AS (UPDATE auth_group SET name = name || 'a' WHERE name = 'g2' RETURNING id)"
        " UPDATE auth_group SET name = name || 'b' WHERE name = 'g1!'"
    )
    raw(
        "MERGE INTO auth_group g USING (VALUES ('g1!b'), ('new')) v(n) ON g.name = v.n"
        " WHEN MATCHED THEN UPDATE SET name = 'merged'"
        " WHEN NOT MATCHED THEN INSERT (name) VALUES (v.n)"
    )

    changes = RowChange.objects.filter(id__gt=start, table_name="auth_group").order_by("id")
    assert sorted(
        (c.op, (c.before or {}).get("name"), (c.after or {}).get("name")) for c in changes
    ) == sorted(
        [
            ("INSERT", None, "g1"),
            ("UPDATE", "g1", "g1!"),  # the upsert's update
            ("INSERT", None, "g2"),  # and its insert
            ("UPDATE", "g2", "g2a"),  # both updates of one query with two UPDATEs
            ("UPDATE", "g1!", "g1!b"),
            ("UPDATE", "g1!b", "merged"),  # MERGE's update
            ("INSERT", None, "new"),  # and its insert
        ]
    )
    assert verify()[0] == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_extend_one_chain():
    import threading

    from django.db import connections, transaction

    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for n in range(15):
                with transaction.atomic():
                    raw_insert_alerts(20, prefix=f"{name}-{n}")
                    Alert.objects.filter(title__startswith=f"{name}-{n}-").update(message=name)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert RowChange.objects.filter(table_name="core_alert").count() == 3 * 15 * 40
    assert verify() == (0, f"ok: {RowChange.objects.count()} rows, chain intact\n")
