"""The tables the loader writes: one raw table per stream, and the `baton_meta` bookkeeping.

Raw tables keep the record whole as jsonb beside a few typed key columns, so a new field in
a vendor's API lands with no DDL. Every statement is idempotent (`if not exists`).
"""

from __future__ import annotations

from psycopg import sql

META_SCHEMA = "baton_meta"

# Every raw table: the record whole, as the API returned it, beside its typed key columns.
RAW_TABLE_COLUMNS = """
    id                text primary key,
    data              jsonb not null,
    source_updated_at timestamptz,
    is_deleted        boolean not null default false,
    _loaded_at        timestamptz not null,
    _load_id          text not null
"""

META_DDL = """
create schema if not exists baton_meta;
create table if not exists baton_meta.sync_state (
    source      text not null,
    stream      text not null,
    watermark   timestamptz,
    cursor      text,
    updated_at  timestamptz not null default now(),
    primary key (source, stream)
);
create table if not exists baton_meta.load_log (
    load_id     text not null,
    source      text not null,
    stream      text not null,
    started_at  timestamptz not null,
    finished_at timestamptz,
    extracted   bigint not null default 0,
    loaded      bigint not null default 0,
    rejected    bigint not null default 0,
    changed     bigint not null default 0,
    status      text not null,  -- started | success | failed
    error       text,
    primary key (load_id, source, stream)
);
create table if not exists baton_meta.rejected_records (
    load_id     text not null,
    source      text not null,
    stream      text not null,
    record_id   text,
    reason      text not null,
    payload     text,
    rejected_at timestamptz not null default now()
);
create index if not exists rejected_records_by_stream on baton_meta.rejected_records (source, stream, rejected_at);
-- Erasure (baton.forget): hashes of a forgotten person's identifiers, never the identifiers.
create table if not exists baton_meta.erasure_suppressions (
    key_hash    text primary key,
    erasure_id  text not null,
    created_at  timestamptz not null default clock_timestamp()
);
create table if not exists baton_meta.erasure_log (
    erasure_id      text primary key,
    requested_by    text not null,
    requested_at    timestamptz not null default clock_timestamp(),
    keys_suppressed integer not null,
    raw_records     integer not null,
    derived_rows    integer not null,
    detail          jsonb not null
);
"""

# Columns added after the first release: existing warehouses gain them in place. Run only when
# missing: ALTER TABLE takes an exclusive lock, which would wait for every load in flight.
META_MIGRATION = """
alter table baton_meta.load_log add column if not exists duplicates bigint not null default 0;
alter table baton_meta.load_log add column if not exists unchanged  bigint not null default 0;
alter table baton_meta.load_log add column if not exists stale      bigint not null default 0;
alter table baton_meta.load_log add column if not exists beyond_end bigint not null default 0;
alter table baton_meta.load_log add column if not exists window_end timestamptz;
alter table baton_meta.load_log add column if not exists warnings   text;
alter table baton_meta.rejected_records alter column rejected_at set default clock_timestamp();
alter table baton_meta.sync_state alter column updated_at set default clock_timestamp();
"""


def raw_schema(source: str) -> str:
    return f"raw_{source}"


def ensure_meta(conn) -> None:
    # Two loaders starting at once must not race on `create ... if not exists`.
    conn.execute("select pg_advisory_xact_lock(hashtext('baton_meta ddl'))")
    # Only when something is missing: a role without CREATE on the database (baton_loader,
    # baton_transformer) may not even run `create schema if not exists` on an existing schema.
    if conn.execute("select to_regclass('baton_meta.erasure_log') is null").fetchone()[0]:
        conn.execute(META_DDL)
    current = conn.execute("select 1 from information_schema.columns where table_schema = 'baton_meta'"
                           " and table_name = 'load_log' and column_name = 'warnings'").fetchone()
    if current is None:
        conn.execute(META_MIGRATION)


def ensure_raw_table(conn, source: str, stream: str) -> None:
    conn.execute("select pg_advisory_xact_lock(hashtext('baton_meta ddl'))")
    schema, table = sql.Identifier(raw_schema(source)), sql.Identifier(stream)
    # The incremental dbt models read what a load wrote since their last build (docs/scale.md).
    loaded_at_index = sql.SQL("create index if not exists {} on {}.{} (_loaded_at)").format(
        sql.Identifier(f"{stream}__loaded_at"), schema, table)
    exists, owned, indexed = conn.execute(
        "select c.oid is not null, pg_has_role(c.relowner, 'USAGE'),"
        " exists (select 1 from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]"
        "         where i.indrelid = c.oid and a.attname = '_loaded_at')"
        " from (select to_regclass(%s) as oid) r left join pg_class c on c.oid = r.oid",
        (f'"{raw_schema(source)}"."{stream}"',)).fetchone()
    if exists:
        if owned and not indexed:
            conn.execute(loaded_at_index)  # a table created before the index was
        return  # the loader may write an existing table without the right to create one
    if conn.execute("select to_regnamespace(%s) is null", (f'"{raw_schema(source)}"',)).fetchone()[0]:
        conn.execute(sql.SQL("create schema if not exists {}").format(schema))
    conn.execute(sql.SQL("create table if not exists {}.{} (" + RAW_TABLE_COLUMNS + ")").format(schema, table))
    conn.execute(loaded_at_index)


def ensure_raw_tables(warehouse_url: str) -> None:
    """Every raw table the registered sources declare, empty where never loaded (dbt's sources must exist)."""
    from baton.engines import engine_for, is_postgres
    from baton.sources.registry import sources
    from baton.warehouse import connect

    if not is_postgres(warehouse_url):
        engine_for(warehouse_url).ensure_raw_tables()
        return
    with connect(warehouse_url) as conn:
        for source in sources().values():
            for stream in source.stream_names:
                ensure_raw_table(conn, source.name, stream)
