"""Which engine holds the warehouse, from its URL: PostgreSQL (the default), DuckDB or Spark.

    WAREHOUSE_URL=postgresql://user@host:5432/db     PostgreSQL (baton.load, baton.build.publish)
    WAREHOUSE_URL=duckdb:///abs/path/warehouse.duckdb  one DuckDB database file (baton.engines.duckdb)
    WAREHOUSE_URL=spark:///abs/path/lake               a local Spark over a lake folder (baton.engines.spark)

The Airflow connection `warehouse_default` says the same: its conn type (`postgres`, `duckdb`,
`spark`) and, for the file engines, the absolute path as its host or schema (or the whole URL as
its host): see `url_from_connection`. Each engine is one small module with the same interface
(`Engine`): land raw records, read watermarks and meta, build/publish the marts, query them.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

POSTGRES, DUCKDB, SPARK = "postgres", "duckdb", "spark"
ENGINES = (POSTGRES, DUCKDB, SPARK)


class UnknownEngine(ValueError):
    pass


def engine_kind(url: str | None) -> str:
    """postgres, duckdb or spark: the scheme of the warehouse URL (anything libpq takes is PostgreSQL)."""
    scheme = (url or "").split("://", 1)[0].lower() if "://" in (url or "") else ""
    if scheme in ("duckdb",):
        return DUCKDB
    if scheme in ("spark",):
        return SPARK
    if scheme in ("", "postgresql", "postgres"):
        return POSTGRES
    raise UnknownEngine(f"warehouse URL scheme {scheme!r} is none of postgresql://, duckdb:///abs/path.duckdb,"
                        " spark:///abs/lake/dir")


def is_postgres(url: str | None) -> bool:
    return engine_kind(url) == POSTGRES


def engine_path(url: str) -> Path:
    """The absolute path a duckdb:/// or spark:/// URL names (the database file, the lake folder)."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    if parts.netloc and parts.netloc not in ("localhost",):
        raise UnknownEngine(f"{parts.scheme} URL {url!r}: give an absolute local path as {parts.scheme}:///abs/path"
                            " (three slashes; no host)")
    if not path.startswith("/") or path == "/":
        raise UnknownEngine(f"{parts.scheme} URL {url!r}: the path must be absolute ({parts.scheme}:///abs/path)")
    return Path(path)


def url_from_connection(connection) -> str:
    """`warehouse_default` as a warehouse URL: a postgres connection as libpq's URL; a duckdb or
    spark connection (conn type) from its host (a whole duckdb:///... URL, or the absolute path)
    or, failing that, its schema field."""
    kind = (connection.conn_type or "postgres").lower().replace("postgresql", "postgres")
    if kind == POSTGRES:
        return connection.libpq_url()
    if kind not in (DUCKDB, SPARK):
        raise UnknownEngine(f"connection {connection.conn_id}: conn type {connection.conn_type!r} is none of"
                            " postgres, duckdb, spark")
    where = connection.host or ""
    if where.startswith(f"{kind}://"):
        return where
    where = where if where.startswith("/") else "/" + (connection.schema or where).lstrip("/")
    url = f"{kind}://{where}"
    engine_path(url)
    return url


def engine_for(url: str):
    """The engine object of a non-PostgreSQL warehouse URL (PostgreSQL keeps its own modules)."""
    kind = engine_kind(url)
    if kind == DUCKDB:
        from baton.engines.duckdb import DuckDBEngine

        return DuckDBEngine(url)
    if kind == SPARK:
        from baton.engines.spark import SparkEngine

        return SparkEngine(url)
    raise UnknownEngine("PostgreSQL has no engine object: baton.load and baton.build.publish serve it")


@contextmanager
def holding_engine(url: str):
    """For a caller that reaches the engine through another client (dbt): DuckDB's file lock held
    meanwhile; Spark's session started first (dbt-spark's session mode then takes it, lock and all)."""
    kind = engine_kind(url)
    if kind == POSTGRES:
        yield
        return
    engine = engine_for(url)
    if kind == SPARK:
        engine.start()
        yield
        return
    lock = engine.lock()
    lock.acquire()
    try:
        yield
    finally:
        lock.release()


def dbt_env(url: str) -> dict[str, str]:
    """What profiles.yml reads to pick the engine's output: BATON_DBT_TARGET plus the engine's own vars."""
    kind = engine_kind(url)
    if kind == DUCKDB:
        return {"BATON_DBT_TARGET": "duckdb", "BATON_DUCKDB_PATH": str(engine_path(url))}
    if kind == SPARK:
        return {"BATON_DBT_TARGET": "spark", "BATON_SPARK_LOCATION": str(engine_path(url))}
    return {"BATON_DBT_TARGET": "warehouse"}
