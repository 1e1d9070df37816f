# The statement-level audit trigger of 0007, without the jsonb arrays for bulk INSERTs
# and DELETEs (issue 11, decision 0028 addendum).
#
# 0007 gathered every row of a statement into a jsonb array and unnested it again: for
# the weekly compose's 97k request lines, building that array alone took 0.6 s of the
# trigger's ~2 s. An INSERT's or DELETE's rows now go from the transition table straight
# into the chained INSERT ... SELECT, numbered in the order the array held them; an
# UPDATE keeps the arrays (its old and new versions are paired first). Same rows, same
# ids, same chain, same lock: nothing already written changes.

import importlib

from django.db import migrations

CAPTURE_SQL = r"""
CREATE OR REPLACE FUNCTION tkd_audit_capture_statement() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    v_at timestamptz := clock_timestamp();
    -- TG_ARGV[0] names the primary key column (Django: one column per table).
    v_pk text := coalesce(TG_ARGV[0], 'id');
    v_table text := TG_TABLE_NAME;
    v_op text := TG_OP;
    v_actor_id bigint := nullif(current_setting('tkd.actor_id', true), '')::bigint;
    v_label text := coalesce(nullif(current_setting('tkd.actor_label', true), ''),
                             'database (no actor)');
    v_context text := coalesce(current_setting('tkd.context', true), '');
    v_before jsonb[];
    v_after jsonb[];
    v_count integer;
    v_prev text;
    v_ids bigint[];
    v_seq regclass := pg_get_serial_sequence('core_rowchange', 'id')::regclass;
    v_work_mem text;
    v_id bigint;
    v_row_pk text;
BEGIN
    -- The statement's rows, in the order they are chained (and numbered) in.
    -- An INSERT's or DELETE's rows are read straight from the transition table below;
    -- only a one-row statement (most ORM saves) is gathered here, for its plain INSERT.
    IF TG_OP = 'INSERT' THEN
        SELECT count(*) INTO v_count FROM tkd_new;
        IF v_count = 1 THEN
            SELECT ARRAY[to_jsonb(n)] INTO v_after FROM tkd_new n;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT count(*) INTO v_count FROM tkd_old;
        IF v_count = 1 THEN
            SELECT ARRAY[to_jsonb(o)] INTO v_before FROM tkd_old o;
        END IF;
    ELSE
        SELECT count(*) INTO v_count FROM tkd_new;
        IF v_count = 1 THEN
            -- One row (most ORM saves): its old and new versions.
            SELECT ARRAY[to_jsonb(o)], ARRAY[to_jsonb(n)] INTO v_before, v_after
            FROM tkd_old o, tkd_new n;
        ELSIF v_count > 1 THEN
            -- Old and new versions are paired by primary key ...
            SELECT array_agg(o.j ORDER BY n.ord), array_agg(n.j ORDER BY n.ord)
            INTO v_before, v_after
            FROM (SELECT row_number() OVER () AS ord, to_jsonb(t) AS j FROM tkd_new t) n
            JOIN (SELECT to_jsonb(t) AS j FROM tkd_old t) o ON o.j ->> v_pk = n.j ->> v_pk;
        END IF;
        IF v_count > 1 AND coalesce(array_length(v_after, 1), 0) <> v_count THEN
            -- ... unless the statement changed a primary key: then by position, as
            -- PostgreSQL appends a row's old and new versions to the two transition
            -- tables together.
            SELECT array_agg(o.j ORDER BY n.ord), array_agg(n.j ORDER BY n.ord)
            INTO v_before, v_after
            FROM (SELECT row_number() OVER () AS ord, to_jsonb(t) AS j FROM tkd_new t) n
            JOIN (SELECT row_number() OVER () AS ord, to_jsonb(t) AS j FROM tkd_old t) o
                USING (ord);
        END IF;
    END IF;
    -- A statement that wrote no row writes no link and takes no lock.
    IF v_count = 0 THEN
        RETURN NULL;
    END IF;

    -- One link at a time database-wide: ids follow the chain order.
    PERFORM pg_advisory_xact_lock(7301400140014);
    SELECT hash INTO v_prev FROM core_rowchange ORDER BY id DESC LIMIT 1;
    v_prev := coalesce(v_prev, '');
    IF v_count = 1 THEN
        -- One row (most ORM writes): the link written directly, as the row trigger
        -- wrote it: same fields, same tkd_audit_hash, no window machinery.
        v_id := nextval(v_seq);
        v_row_pk := coalesce(coalesce(v_after[1], v_before[1]) ->> v_pk, '');
        INSERT INTO core_rowchange
            (id, at, table_name, op, row_pk, before, after, actor_id, actor_label,
             context, prev_hash, hash)
        SELECT v_id, v_at, v_table, v_op, v_row_pk, m.before, m.after, v_actor_id, v_label,
               v_context, v_prev,
               tkd_audit_hash(v_prev, v_id, v_at, v_table, v_op, v_row_pk, m.before,
                              m.after, v_actor_id, v_label, v_context)
        FROM (SELECT tkd_audit_mask(v_table, v_before[1]) AS before,
                     tkd_audit_mask(v_table, v_after[1]) AS after) m;
        RETURN NULL;
    END IF;
    -- The statement's ids, ascending (a sequence hands them out in increasing order),
    -- taken after the lock like the row trigger's, so ids follow the chain order.
    SELECT array_agg(nextval(v_seq)) INTO v_ids FROM generate_series(1, v_count);
    IF v_count > 10000 THEN
        -- Keep the one sort by id of a large statement in memory (this transaction
        -- only, put back below).
        v_work_mem := current_setting('work_mem');
        PERFORM set_config('work_mem', '64MB', true);
    END IF;

    -- numbered: row ord gets the ord-th id (rows in the transition table's order, as
    -- the arrays of 0007 held them). chained: each row's hash is the running chain over
    -- the statement's rows in id order, seeded with the last hash before the statement;
    -- prev_hash is the hash of the row before it (lag), the seed for the first.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO core_rowchange
            (id, at, table_name, op, row_pk, before, after, actor_id, actor_label, context,
             prev_hash, hash)
        SELECT chained.id, v_at, v_table, v_op, chained.row_pk, NULL, chained.after,
               v_actor_id, v_label, v_context,
               coalesce(lag(chained.hash) OVER w, v_prev), chained.hash
        FROM (
            SELECT numbered.*,
                   tkd_audit_chain(v_prev, tkd_audit_payload(
                       numbered.id, v_at, v_table, v_op, numbered.row_pk, NULL,
                       numbered.after, v_actor_id, v_label, v_context))
                       OVER (ORDER BY numbered.id ROWS UNBOUNDED PRECEDING) AS hash
            FROM (
                SELECT v_ids[r.ord] AS id, coalesce(r.j ->> v_pk, '') AS row_pk,
                       tkd_audit_mask(v_table, r.j) AS after
                FROM (SELECT row_number() OVER () AS ord, to_jsonb(t) AS j FROM tkd_new t) r
            ) numbered
        ) chained
        WINDOW w AS (ORDER BY chained.id);
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO core_rowchange
            (id, at, table_name, op, row_pk, before, after, actor_id, actor_label, context,
             prev_hash, hash)
        SELECT chained.id, v_at, v_table, v_op, chained.row_pk, chained.before, NULL,
               v_actor_id, v_label, v_context,
               coalesce(lag(chained.hash) OVER w, v_prev), chained.hash
        FROM (
            SELECT numbered.*,
                   tkd_audit_chain(v_prev, tkd_audit_payload(
                       numbered.id, v_at, v_table, v_op, numbered.row_pk, numbered.before,
                       NULL, v_actor_id, v_label, v_context))
                       OVER (ORDER BY numbered.id ROWS UNBOUNDED PRECEDING) AS hash
            FROM (
                SELECT v_ids[r.ord] AS id, coalesce(r.j ->> v_pk, '') AS row_pk,
                       tkd_audit_mask(v_table, r.j) AS before
                FROM (SELECT row_number() OVER () AS ord, to_jsonb(t) AS j FROM tkd_old t) r
            ) numbered
        ) chained
        WINDOW w AS (ORDER BY chained.id);
    ELSE
        -- An UPDATE: its rows' old and new versions, paired above, from the two arrays.
        INSERT INTO core_rowchange
            (id, at, table_name, op, row_pk, before, after, actor_id, actor_label, context,
             prev_hash, hash)
        SELECT chained.id, v_at, v_table, v_op, chained.row_pk, chained.before, chained.after,
               v_actor_id, v_label, v_context,
               coalesce(lag(chained.hash) OVER w, v_prev), chained.hash
        FROM (
            SELECT numbered.*,
                   tkd_audit_chain(v_prev, tkd_audit_payload(
                       numbered.id, v_at, v_table, v_op, numbered.row_pk, numbered.before,
                       numbered.after, v_actor_id, v_label, v_context))
                       OVER (ORDER BY numbered.id ROWS UNBOUNDED PRECEDING) AS hash
            FROM (
                SELECT v_ids[u.ord] AS id,
                       coalesce(coalesce(u.a, u.b) ->> v_pk, '') AS row_pk,
                       tkd_audit_mask(v_table, u.b) AS before,
                       tkd_audit_mask(v_table, u.a) AS after
                FROM unnest(v_before, v_after) WITH ORDINALITY AS u (b, a, ord)
            ) numbered
        ) chained
        WINDOW w AS (ORDER BY chained.id);
    END IF;

    IF v_work_mem IS NOT NULL THEN
        PERFORM set_config('work_mem', v_work_mem, true);
    END IF;
    RETURN NULL;
END
$fn$;
"""


def _0007_sql() -> str:
    return importlib.import_module("core.migrations.0007_statement_audit_static_sql").CAPTURE_SQL


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0007_statement_audit_static_sql"),
    ]

    operations = [
        migrations.RunSQL(CAPTURE_SQL, _0007_sql()),
    ]
