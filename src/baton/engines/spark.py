"""Spark: a lake folder (WAREHOUSE_URL=spark:///abs/path/lake) read and written by a local Spark.

Layout under the lake: `warehouse/` (spark.sql.warehouse.dir: what dbt builds), `metastore_db`
(the Derby metastore), `raw/<source>/<stream>/<load_id>/` (parquet files of the raw records, one
folder per table version) and `meta/<table>/` (baton_meta). The raw tables are external parquet
tables in the metastore; a load writes the table's next version beside the current one and then
points the table at it (`alter table ... set location`: one metastore operation), so readers see
the previous load or this one, never a part. baton_meta's load_log, rejected_records and the
watermark's history (sync_state is a view of its latest row) are append-only: a load adds one file
to each, after its raw version. A crash in between leaves the watermark behind its data (the next
load reads those records again and counts them unchanged), never ahead of it.

Derby's embedded metastore admits one JVM at a time: the session is one per process, shared with
dbt (dbt-spark's session mode takes the running session), and the process holds an exclusive lock
on `<lake>/.baton-spark.lock` from the session's start to its stop, so a second process (another
load, another dbt) waits for it (BATON_ENGINE_LOCK_WAIT), then fails with EngineBusy. The session's
settings are profiles.yml's `spark` output, kept equal here.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path

from baton.engines import engine_path
from baton.engines.base import (
    DECIDE_SQL,
    Engine,
    EngineConnection,
    EngineStreamLoader,
    FileLock,
    Result,
    inline,
    literal,
    meta_tables,
)
from baton.load.schema import raw_schema

TYPES = {"text": "string", "ts": "timestamp", "bigint": "bigint", "bool": "boolean"}
RAW_SCHEMA = ("id string, data string, source_updated_at timestamp, is_deleted boolean, _loaded_at timestamp,"
              " _load_id string")
_SESSION: dict = {}
_LOCATIONS: dict[tuple, str] = {}  # (lake, schema, table) -> the version folder this process swapped in
_APPEND_ONLY = ("load_log", "rejected_records", "sync_state")
_SESSION_LOCK = threading.Lock()


def session_config(location: Path) -> dict[str, str]:
    """The session's settings: profiles.yml's spark output (server_side_parameters), the same values."""
    return {
        "spark.master": f"local[{os.environ.get('BATON_SPARK_CORES', '2')}]",
        "spark.sql.warehouse.dir": f"{location}/warehouse",
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={location}/metastore_db;create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={location}",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": os.environ.get("BATON_SPARK_SHUFFLE_PARTITIONS", "4"),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.memory": os.environ.get("BATON_SPARK_DRIVER_MEMORY", "2g"),
    }


def spark_session(location: Path):
    """This process's Spark session over the lake (started once, with the lake's lock held until stop)."""
    location = location.resolve()
    with _SESSION_LOCK:
        if _SESSION.get("location") == location and _SESSION.get("spark") is not None:
            return _SESSION["spark"]
        if _SESSION.get("spark") is not None:
            raise RuntimeError(f"this process already runs Spark over {_SESSION['location']}; one lake per process")
        location.mkdir(parents=True, exist_ok=True)
        lock = FileLock(location / ".baton-spark.lock", f"Spark lake {location} (its Derby metastore)")
        lock.acquire()
        try:
            from pyspark.sql import SparkSession

            builder = SparkSession.builder.appName("baton").enableHiveSupport()
            for key, value in session_config(location).items():
                builder = builder.config(key, value)
            spark = builder.getOrCreate()
            spark.sparkContext.setLogLevel("ERROR")
        except BaseException:
            lock.release()
            raise
        _SESSION.update(location=location, spark=spark, lock=lock)
        atexit.register(stop_session)
        return spark


def stop_session() -> None:
    """Stop this process's session and give the lake back (its JVM keeps running until exit)."""
    with _SESSION_LOCK:
        spark, lock = _SESSION.pop("spark", None), _SESSION.pop("lock", None)
        _SESSION.pop("location", None)
    if spark is not None:
        try:
            spark.stop()
        except Exception:
            pass
    if lock is not None:
        lock.release()


def _utc(value):
    # PySpark hands timestamps back naive, in the Python process's local time.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.astimezone(timezone.utc)
    return value


def _plain(value):
    # PySpark takes only datetime itself for a TIMESTAMP, not a subclass such as the pendulum DateTime
    # Airflow hands a task (a window's end).
    if isinstance(value, datetime) and type(value) is not datetime:
        offset = value.utcoffset()
        return datetime(value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond,
                        tzinfo=None if offset is None else timezone(offset))
    return value


def _frame_rows(rows: list[dict], columns) -> list[tuple]:
    return [tuple(_plain(row.get(name)) for name, _ in columns) for row in rows]


# PostgreSQL's to_regclass('schema.name') with a literal name, which Baton's readers (the reports, the
# run summary) use to ask "is it built?": Spark has no such function nor a catalog a SQL function can
# read, so the connection answers it from the catalog before Spark sees the statement (DuckDB: a macro).
_TO_REGCLASS = re.compile(r"to_regclass\(\s*'([A-Za-z0-9_.]+)'\s*\)", re.IGNORECASE)


class SparkConnection(EngineConnection):
    def __init__(self, spark):
        super().__init__(None)
        self.spark = spark

    def _regclass(self, match: re.Match) -> str:
        name = match.group(1)
        return f"'{name}'" if self.spark.catalog.tableExists(name) else "cast(null as string)"

    def execute(self, statement: str, params=None) -> Result:
        frame = self.spark.sql(_TO_REGCLASS.sub(self._regclass, inline(statement, params, backslash=True)))
        rows = [tuple(_utc(value) for value in row) for row in frame.collect()] if frame.columns else []
        return Result(rows, list(frame.columns))


class SparkEngine(Engine):
    kind = "spark"
    # Every meta write is a table version (two Spark jobs): a load writes its log row once, at its end,
    # not a `started` row first; a killed load leaves no trace in load_log (docs/engines.md).
    logs_started = False

    def __init__(self, url: str):
        super().__init__(url)
        self.location = engine_path(url)

    @property
    def spark(self):
        return spark_session(self.location)

    def start(self) -> None:
        """Start this process's session (and take the lake's lock) before another client, dbt, needs it."""
        spark_session(self.location)

    def connect(self) -> SparkConnection:
        return SparkConnection(self.spark)

    def ident(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def schema_exists(self, conn, schema: str) -> bool:
        return self.spark.catalog.databaseExists(schema)

    def relations(self, conn, schema: str) -> dict[str, str]:
        return {table.name: ("view" if table.tableType == "VIEW" else "table")
                for table in self.spark.catalog.listTables(schema) if not table.isTemporary}

    def drop_schema(self, conn, schema: str) -> None:
        self.spark.sql(f"drop database if exists {self.ident(schema)} cascade")

    def frame(self, conn, statement: str):
        rows = self.spark.sql(statement)
        import pandas

        return pandas.DataFrame([tuple(_utc(v) for v in row) for row in rows.collect()], columns=rows.columns)

    # -- tables as versioned folders ---------------------------------------------------------------
    def _version_dir(self, area: str, *parts: str) -> Path:
        return self.location.joinpath(area, *parts)

    def _ensure_table(self, schema: str, table: str, columns: str, folder: Path) -> None:
        spark = self.spark
        spark.sql(f"create database if not exists {self.ident(schema)}")
        if not spark.catalog.tableExists(f"{schema}.{table}"):
            first = folder / "v0"
            first.mkdir(parents=True, exist_ok=True)
            spark.sql(f"create table if not exists {self.ident(schema)}.{self.ident(table)} ({columns})"
                      f" using parquet location '{first}'")

    def _swap_in(self, schema: str, table: str, frame, folder: Path, version: str) -> None:
        """Write the table's next version and point the table at it (one metastore operation)."""
        name = f"{self.ident(schema)}.{self.ident(table)}"
        current = _LOCATIONS.get((self.location, schema, table)) or self._location(schema, table)
        target = folder / version
        frame.write.mode("errorifexists").parquet(str(target))
        self.spark.sql(f"alter table {name} set location '{target}'")
        _LOCATIONS[(self.location, schema, table)] = str(target)
        self.spark.catalog.refreshTable(f"{schema}.{table}")
        # Keep the version just replaced (a reader may still scan it); older ones go.
        for old in folder.iterdir() if folder.is_dir() else []:
            if old.is_dir() and old != target and str(old) != current:
                shutil.rmtree(old, ignore_errors=True)

    def _location(self, schema: str, table: str) -> str:
        rows = self.spark.sql(f"describe table extended {self.ident(schema)}.{self.ident(table)}").collect()
        found = next((row[1] for row in rows if row[0] == "Location"), "")
        return found.removeprefix("file:")

    def ensure_meta(self, conn) -> None:
        if _SESSION.get("meta_ready") == self.location:
            return
        for table, columns in meta_tables(TYPES).items():
            body = ", ".join(f"{name} {kind}" for name, kind in columns)
            stored = "sync_state_history" if table == "sync_state" else table
            self._ensure_table("baton_meta", stored, body, self._version_dir("meta", stored))
        # The watermark is the latest row of its history (appended with each load, never rewritten).
        self.spark.sql("""
            create view if not exists baton_meta.sync_state as
            select source, stream, watermark, cursor, updated_at from (
                select *, row_number() over (partition by source, stream order by updated_at desc) as newest
                from baton_meta.sync_state_history) where newest = 1""")
        _SESSION["meta_ready"] = self.location

    def ensure_raw_table(self, conn, source: str, stream: str) -> None:
        self._ensure_table(raw_schema(source), stream, RAW_SCHEMA, self._version_dir("raw", source, stream))

    def replace_rows(self, conn, table: str, where: str, rows: list[dict]) -> None:
        spark = self.spark
        columns = meta_tables(TYPES)[table]
        schema = ", ".join(f"{name} {kind}" for name, kind in columns)
        if table in _APPEND_ONLY:
            # A load's rows are new rows (one load id, one log row: no `started` row on Spark; the
            # watermark's history): one appended file, committed by Spark's file commit, one job.
            stored = "sync_state_history" if table == "sync_state" else table
            frame = spark.createDataFrame(_frame_rows(rows, columns), schema)
            frame.coalesce(1).write.insertInto(f"baton_meta.{stored}")
            spark.catalog.refreshTable(f"baton_meta.{stored}")
            return
        # Meta tables are small: read the kept rows into Python, write them back with the new ones (two jobs).
        kept = [tuple(row) for row in spark.sql(f"select * from baton_meta.{table} where not coalesce({where}, false)")
                .collect()]
        merged = spark.createDataFrame(kept + _frame_rows(rows, columns), schema)
        self._swap_in("baton_meta", table, merged.coalesce(1), self._version_dir("meta", table), _version())

    def stream_loader(self, source: str, stream: str, shape=None, **kwargs) -> EngineStreamLoader:
        return EngineStreamLoader(self, source, stream, shape, **kwargs)

    def land(self, conn, source: str, stream: str, staged: Path, load_id: str) -> tuple[int, int, int]:
        """The staged records as the raw table's next version; (distinct, written, stale)."""
        spark = self.spark
        raw = f"{self.ident(raw_schema(source))}.{self.ident(stream)}"
        view = f"baton_staged_{uuid.uuid4().hex[:8]}"
        spark.read.schema("seq bigint, id string, data string, source_updated_at string, is_deleted boolean") \
            .json(str(staged)).selectExpr("seq", "id", "data", "cast(source_updated_at as timestamp) as source_updated_at",
                                          "is_deleted").createOrReplaceTempView(view)
        decided = spark.sql(DECIDE_SQL.format(staged=view, raw=raw)).localCheckpoint()
        decided.createOrReplaceTempView(view + "_decided")
        distinct, written, stale = spark.sql(
            f"select count(*), count_if(written), count_if(had and not identical and not written)"
            f" from {view}_decided").collect()[0]
        if written:
            now = literal(datetime.now(timezone.utc))
            merged = spark.sql(f"""
                select r.* from {raw} r left anti join (select id from {view}_decided where written) w on w.id = r.id
                union all
                select id, data, source_updated_at, is_deleted, {now} as _loaded_at, {literal(load_id, True)} as _load_id
                from {view}_decided where written""")
            self._swap_in(raw_schema(source), stream, merged, self._version_dir("raw", source, stream),
                          load_id)
        spark.catalog.dropTempView(view)
        spark.catalog.dropTempView(view + "_decided")
        return int(distinct), int(written), int(stale)

    def swap_views(self, conn, source: str, names: list[str]) -> None:
        # Spark's metastore has no multi-statement transaction: each view switches atomically, one
        # after the other, once every table of the new colour is written (docs/engines.md).
        spark = self.spark
        spark.sql("create database if not exists marts")
        for name, kind in self.relations(conn, "marts").items():
            if name not in names:
                spark.sql(f"drop {kind} if exists marts.{self.ident(name)}")
            elif kind == "table":
                spark.sql(f"drop table marts.{self.ident(name)}")
        for name in names:
            spark.sql(f"create or replace view marts.{self.ident(name)} as"
                      f" select * from {self.ident(source)}.{self.ident(name)}")


def _version() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ-") + uuid.uuid4().hex[:6]
