# The row-level audit trail, set-based (docs/decisions/0028-statement-level-audit.md).
#
# One AFTER ... FOR EACH STATEMENT trigger per event (PostgreSQL allows transition
# tables only on single-event triggers) writes all of a statement's core_rowchange rows
# with one INSERT ... SELECT, under the same advisory lock as before (7301400140014,
# which compose also takes, decision 0024), taken once per statement.
#
# The chain is unchanged: hash = tkd_audit_hash(prev, id, at, table, op, pk, before,
# after, actor_id, actor_label, context), so every existing chain stays valid and
# audit_verify checks old and new rows alike. The trigger computes the same value as a
# running window aggregate: sha256(prev || '|' || payload) where payload is the rest of
# tkd_audit_hash's fields (tkd_audit_payload); the tests compare the two.

from django.db import migrations

FORWARD_SQL = r"""
CREATE OR REPLACE FUNCTION tkd_audit_payload(
    row_id bigint, at timestamptz, tbl text, op text, pk text,
    before jsonb, after jsonb, actor_id bigint, actor_label text, context text
) RETURNS text LANGUAGE sql STABLE AS $$
    -- tkd_audit_hash's fields after prev, spelled exactly as it spells them. STABLE, as
    -- to_char is: so the planner inlines it into the trigger's INSERT (no call per row).
    SELECT concat_ws('|',
        row_id::text,
        to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        tbl, op, pk, coalesce(before::text, ''), coalesce(after::text, ''),
        coalesce(actor_id::text, ''), coalesce(actor_label, ''), coalesce(context, ''))
$$;

CREATE OR REPLACE FUNCTION tkd_audit_chain_step(state text, seed text, payload text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    -- One link: the previous link's hash (the seed for a statement's first row).
    SELECT encode(sha256(convert_to(coalesce(state, seed, '') || '|' || payload, 'UTF8')), 'hex')
$$;

DROP AGGREGATE IF EXISTS tkd_audit_chain(text, text);
CREATE AGGREGATE tkd_audit_chain(text, text) (SFUNC = tkd_audit_chain_step, STYPE = text);

-- work_mem: a statement's rows are sorted once by id; 64MB keeps a 100k-row
-- statement's sort in memory.
CREATE OR REPLACE FUNCTION tkd_audit_capture_statement() RETURNS trigger
LANGUAGE plpgsql SET work_mem = '64MB' AS $fn$
DECLARE
    v_at timestamptz := clock_timestamp();
    -- TG_ARGV[0] names the primary key column (Django: one column per table).
    v_pk text := coalesce(TG_ARGV[0], 'id');
    v_actor_id bigint := nullif(current_setting('tkd.actor_id', true), '')::bigint;
    v_label text := coalesce(nullif(current_setting('tkd.actor_label', true), ''),
                             'database (no actor)');
    v_context text := coalesce(current_setting('tkd.context', true), '');
    v_prev text;
    v_moved boolean;
    v_source text;
    v_count bigint;
    v_ids bigint[];
    v_seq regclass := pg_get_serial_sequence('core_rowchange', 'id')::regclass;
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT count(*) INTO v_count FROM tkd_old;
    ELSE
        SELECT count(*) INTO v_count FROM tkd_new;
    END IF;
    -- A statement that wrote no row writes no link and takes no lock.
    IF v_count = 0 THEN
        RETURN NULL;
    END IF;

    -- ord: the order the rows are chained (and numbered) in.
    IF TG_OP = 'INSERT' THEN
        v_source := 'SELECT row_number() OVER () AS ord, NULL::jsonb AS before,'
                    ' to_jsonb(n) AS after FROM tkd_new n';
    ELSIF TG_OP = 'DELETE' THEN
        v_source := 'SELECT row_number() OVER () AS ord, to_jsonb(o) AS before,'
                    ' NULL::jsonb AS after FROM tkd_old o';
    ELSE
        -- Old and new versions are paired by primary key. A statement that changed a
        -- primary key pairs them by position instead: PostgreSQL appends a row's old
        -- and new versions to the two transition tables together.
        EXECUTE format('SELECT EXISTS (SELECT FROM tkd_new n WHERE NOT EXISTS'
                       ' (SELECT FROM tkd_old o WHERE o.%1$I = n.%1$I))', v_pk)
            INTO v_moved;
        IF v_moved THEN
            v_source := 'SELECT n.ord, o.j AS before, n.j AS after'
                        ' FROM (SELECT row_number() OVER () AS ord, to_jsonb(t) AS j'
                        '       FROM tkd_new t) n'
                        ' JOIN (SELECT row_number() OVER () AS ord, to_jsonb(t) AS j'
                        '       FROM tkd_old t) o USING (ord)';
        ELSE
            v_source := format('SELECT row_number() OVER (ORDER BY n.%1$I) AS ord,'
                               ' to_jsonb(o) AS before, to_jsonb(n) AS after'
                               ' FROM tkd_new n JOIN tkd_old o ON o.%1$I = n.%1$I', v_pk);
        END IF;
    END IF;

    -- One link at a time database-wide: ids follow the chain order.
    PERFORM pg_advisory_xact_lock(7301400140014);
    SELECT hash INTO v_prev FROM core_rowchange ORDER BY id DESC LIMIT 1;
    v_prev := coalesce(v_prev, '');
    -- The statement's ids, ascending (a sequence hands them out in increasing order),
    -- taken after the lock like the row trigger's, so ids follow the chain order.
    SELECT array_agg(nextval(v_seq)) INTO v_ids
    FROM generate_series(1, v_count);

    -- source: one row per written row, ord its position (1..v_count); its id is the
    -- ord-th of v_ids. chained: each row's hash is the running chain over the
    -- statement's rows in id order, seeded with the last hash before the statement,
    -- i.e. tkd_audit_hash(prev, its fields); prev_hash is the hash of the row before
    -- it (lag), the seed for the first.
    EXECUTE format($sql$
        INSERT INTO core_rowchange
            (id, at, table_name, op, row_pk, before, after, actor_id, actor_label,
             context, prev_hash, hash)
        SELECT id, $1, $2, $3, row_pk, before, after, $4, $5, $6,
               coalesce(lag(hash) OVER w, $7), hash
        FROM (
            SELECT id, row_pk, before, after,
                   tkd_audit_chain($7, tkd_audit_payload(id, $1, $2, $3, row_pk, before,
                                                         after, $4, $5, $6))
                       OVER w AS hash
            FROM (
                SELECT ($9::bigint[])[ord] AS id,
                       coalesce(coalesce(after, before) ->> $8, '') AS row_pk,
                       tkd_audit_mask($2, before) AS before,
                       tkd_audit_mask($2, after) AS after
                FROM (%s) source
            ) numbered
            WINDOW w AS (ORDER BY id ROWS UNBOUNDED PRECEDING)
        ) chained
        WINDOW w AS (ORDER BY id)
        $sql$, v_source)
    USING v_at, TG_TABLE_NAME::text, TG_OP::text, v_actor_id, v_label, v_context, v_prev,
          v_pk, v_ids;
    RETURN NULL;
END
$fn$;

-- Swap every table's row trigger for the three statement triggers, keeping its
-- primary key argument, in this transaction: no write goes unaudited in between.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT t.tgrelid::regclass AS rel,
               substring(pg_get_triggerdef(t.oid) FROM 'tkd_audit_capture\((.*)\)$') AS args
        FROM pg_trigger t
        WHERE t.tgname = 'tkd_audit' AND NOT t.tgisinternal
    LOOP
        EXECUTE format('CREATE OR REPLACE TRIGGER tkd_audit_insert AFTER INSERT ON %s'
                       ' REFERENCING NEW TABLE AS tkd_new FOR EACH STATEMENT'
                       ' EXECUTE FUNCTION tkd_audit_capture_statement(%s)', r.rel, r.args);
        EXECUTE format('CREATE OR REPLACE TRIGGER tkd_audit_update AFTER UPDATE ON %s'
                       ' REFERENCING OLD TABLE AS tkd_old NEW TABLE AS tkd_new'
                       ' FOR EACH STATEMENT'
                       ' EXECUTE FUNCTION tkd_audit_capture_statement(%s)', r.rel, r.args);
        EXECUTE format('CREATE OR REPLACE TRIGGER tkd_audit_delete AFTER DELETE ON %s'
                       ' REFERENCING OLD TABLE AS tkd_old FOR EACH STATEMENT'
                       ' EXECUTE FUNCTION tkd_audit_capture_statement(%s)', r.rel, r.args);
        EXECUTE format('DROP TRIGGER tkd_audit ON %s', r.rel);
    END LOOP;
END
$$;
"""

REVERSE_SQL = r"""
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT t.tgrelid::regclass AS rel,
               substring(pg_get_triggerdef(t.oid)
                         FROM 'tkd_audit_capture_statement\((.*)\)$') AS args
        FROM pg_trigger t
        WHERE t.tgname = 'tkd_audit_insert' AND NOT t.tgisinternal
    LOOP
        EXECUTE format('CREATE OR REPLACE TRIGGER tkd_audit AFTER INSERT OR UPDATE OR DELETE'
                       ' ON %s FOR EACH ROW EXECUTE FUNCTION tkd_audit_capture(%s)',
                       r.rel, r.args);
    END LOOP;
END
$$;
DROP FUNCTION IF EXISTS tkd_audit_capture_statement() CASCADE;
DROP AGGREGATE IF EXISTS tkd_audit_chain(text, text);
DROP FUNCTION IF EXISTS tkd_audit_chain_step(text, text, text);
DROP FUNCTION IF EXISTS tkd_audit_payload(bigint, timestamptz, text, text, text, jsonb, jsonb, bigint, text, text);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0005_alert_email"),
    ]

    operations = [
        migrations.RunSQL(FORWARD_SQL, REVERSE_SQL),
    ]
