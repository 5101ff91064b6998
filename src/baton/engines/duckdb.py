"""DuckDB: the whole warehouse in one database file (WAREHOUSE_URL=duckdb:///abs/path/warehouse.duckdb).

A DuckDB file has one writer process at a time, so every use (a load, a dbt build, the gate, the
report) holds an exclusive lock on `<file>.baton.lock` while its connection is open; a second
process waits for it (BATON_ENGINE_LOCK_WAIT, 600 s), then fails with EngineBusy. A load lands
in one DuckDB transaction: the staged records, the raw rows, the rejects, the load log and the
watermark commit together or not at all. Publish repoints the `marts` views in one transaction.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from baton.engines import engine_path
from baton.engines.base import (
    DECIDE_SQL,
    Engine,
    EngineConnection,
    EngineStreamLoader,
    FileLock,
    Result,
    literal,
    meta_tables,
    quote,
)
from baton.load.schema import raw_schema

TYPES = {"text": "varchar", "ts": "timestamptz", "bigint": "bigint", "bool": "boolean"}
RAW_COLUMNS = """
    id                varchar primary key,
    data              json not null,
    source_updated_at timestamptz,
    is_deleted        boolean not null default false,
    _loaded_at        timestamptz not null,
    _load_id          varchar not null
"""
_LOCKS: dict[Path, FileLock] = {}
_TO_REGCLASS = """
    create or replace temp macro to_regclass(name) as (
        select min(schema_name || '.' || table_name) from (
            select schema_name, table_name from duckdb_tables()
            union all select schema_name, view_name from duckdb_views())
        where schema_name || '.' || table_name = replace(cast(name as varchar), '"', ''))"""
_NAMED = re.compile(r"%\((\w+)\)s")


class DuckDBConnection(EngineConnection):
    def __init__(self, path: Path, lock: FileLock):
        import duckdb

        super().__init__(lock)
        try:
            self.raw = duckdb.connect(str(path))
        except BaseException:
            lock.release()
            raise
        self.raw.execute("set TimeZone = 'UTC'")
        # PostgreSQL's to_regclass, which Baton's readers (reports, summaries) use to ask "is it built?".
        self.raw.execute(_TO_REGCLASS)
        self.raw.execute("begin transaction")

    def execute(self, statement: str, params=None) -> Result:
        if params is None:
            cursor = self.raw.execute(statement)
        elif isinstance(params, dict):
            cursor = self.raw.execute(_NAMED.sub(lambda m: "$" + m.group(1), statement), params)
        else:
            cursor = self.raw.execute(statement.replace("%s", "?"), list(params))
        try:
            rows = cursor.fetchall()
        except Exception:  # a statement without a result
            rows = []
        columns = [d[0] for d in cursor.description] if cursor.description else []
        return Result(rows, columns)

    def commit(self) -> None:
        if not self.closed:
            self.raw.execute("commit")
            self.raw.execute("begin transaction")

    def rollback(self) -> None:
        if not self.closed:
            self.raw.execute("rollback")
            self.raw.execute("begin transaction")

    def close(self) -> None:
        if not self.closed:
            try:
                self.raw.execute("rollback")
            except Exception:
                pass
            self.raw.close()
        super().close()


class DuckDBEngine(Engine):
    kind = "duckdb"

    def __init__(self, url: str):
        super().__init__(url)
        self.path = engine_path(url)

    def lock(self) -> FileLock:
        key = self.path.resolve()
        if key not in _LOCKS:
            _LOCKS[key] = FileLock(Path(str(key) + ".baton.lock"), f"DuckDB file {key}")
        return _LOCKS[key]

    def connect(self) -> DuckDBConnection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.lock()
        lock.acquire()
        return DuckDBConnection(self.path, lock)

    def schema_exists(self, conn, schema: str) -> bool:
        return bool(conn.execute("select count(*) from information_schema.schemata where schema_name = %s",
                                 (schema,)).fetchone()[0])

    def relations(self, conn, schema: str) -> dict[str, str]:
        return {name: ("view" if kind == "VIEW" else "table") for name, kind in conn.execute(
            "select table_name, table_type from information_schema.tables where table_schema = %s",
            (schema,)).fetchall()}

    def drop_schema(self, conn, schema: str) -> None:
        conn.execute(f"drop schema if exists {quote(schema)} cascade")

    def frame(self, conn, statement: str):
        return conn.raw.execute(statement).df()

    def ensure_meta(self, conn) -> None:
        conn.execute("create schema if not exists baton_meta")
        for table, columns in meta_tables(TYPES).items():
            body = ", ".join(f"{name} {kind}" for name, kind in columns)
            conn.execute(f"create table if not exists baton_meta.{table} ({body})")

    def ensure_raw_table(self, conn, source: str, stream: str) -> None:
        schema = quote(raw_schema(source))
        conn.execute(f"create schema if not exists {schema}")
        conn.execute(f"create table if not exists {schema}.{quote(stream)} ({RAW_COLUMNS})")

    def replace_rows(self, conn, table: str, where: str, rows: list[dict]) -> None:
        conn.execute(f"delete from baton_meta.{table} where {where}")
        for row in rows:
            names = ", ".join(row)
            conn.execute(f"insert into baton_meta.{table} ({names}) values ({', '.join(['%s'] * len(row))})",
                         list(row.values()))

    def stream_loader(self, source: str, stream: str, shape=None, **kwargs) -> EngineStreamLoader:
        return EngineStreamLoader(self, source, stream, shape, **kwargs)

    def land(self, conn, source: str, stream: str, staged: Path, load_id: str) -> tuple[int, int, int]:
        """The staged records into the raw table, in the connection's open transaction; (distinct, written, stale)."""
        raw = f"{quote(raw_schema(source))}.{quote(stream)}"
        conn.execute(f"""
            create or replace temp table baton_staged as
            select seq, id, data::json as data, source_updated_at::timestamptz as source_updated_at, is_deleted
            from read_json({literal(str(staged))}, format = 'newline_delimited',
                           columns = {{seq: 'bigint', id: 'varchar', data: 'varchar',
                                       source_updated_at: 'varchar', is_deleted: 'boolean'}})""")
        conn.execute("create or replace temp table baton_decided as "
                     + DECIDE_SQL.format(staged="baton_staged", raw=raw))
        distinct, written, stale = conn.execute(
            "select count(*), count(*) filter (where written),"
            " count(*) filter (where had and not identical and not written) from baton_decided").fetchone()
        now = datetime.now().astimezone()
        conn.execute(f"""
            insert into {raw} (id, data, source_updated_at, is_deleted, _loaded_at, _load_id)
            select id, data, source_updated_at, is_deleted, {literal(now)}::timestamptz, {literal(load_id)}
            from baton_decided where written
            on conflict (id) do update set data = excluded.data, source_updated_at = excluded.source_updated_at,
                is_deleted = excluded.is_deleted, _loaded_at = excluded._loaded_at, _load_id = excluded._load_id""")
        conn.execute("drop table baton_decided")
        conn.execute("drop table baton_staged")
        return int(distinct), int(written), int(stale)

    def swap_views(self, conn, source: str, names: list[str]) -> None:
        # One transaction (the connection's): readers see every view of the old colour or of the new.
        conn.execute("create schema if not exists marts")
        for name, kind in self.relations(conn, "marts").items():
            if name not in names:
                conn.execute(f"drop {kind} if exists marts.{quote(name)}")
            elif kind == "table":
                conn.execute(f"drop table marts.{quote(name)}")
        for name in names:
            conn.execute(f"create or replace view marts.{quote(name)} as select * from {quote(source)}.{quote(name)}")
