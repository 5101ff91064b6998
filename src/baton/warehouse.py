"""The warehouse: `WAREHOUSE_URL` when set, else an embedded PostgreSQL under `.baton/pgdata`.

The embedded server comes from the `pgserver` wheel (it ships the PostgreSQL binaries);
its data survives between runs, so a second `make demo` reuses it.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from baton.paths import state_path

EMBEDDED_DBNAME = "baton"


def embedded_data_dir() -> Path:
    return state_path("pgdata")


def _pgserver_bin(name: str) -> str:
    import pgserver

    return str(Path(pgserver.__file__).parent / "pginstall" / "bin" / name)


def start_embedded() -> str:
    """Start (or reuse) the embedded server and return a URL to Baton's database in it."""
    if "XDG_RUNTIME_DIR" not in os.environ:  # pgserver's platformdirs wants a private runtime dir
        runtime = state_path("run", "x").parent
        runtime.mkdir(mode=0o700, exist_ok=True)
        runtime.chmod(0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    try:
        import pgserver
    except ImportError:
        raise WarehouseNotConfigured("no warehouse: set WAREHOUSE_URL or the warehouse_default connection"
                                     " (the embedded warehouse needs the extra: pip install 'baton[embedded]')") from None

    logging.getLogger("pgserver").setLevel(logging.WARNING)
    server = pgserver.get_server(str(embedded_data_dir()), cleanup_mode=None)
    base = server.get_uri()
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (EMBEDDED_DBNAME,)).fetchone()
        if not exists:
            conn.execute(f'create database "{EMBEDDED_DBNAME}"')
    return with_database(base, EMBEDDED_DBNAME)


def stop_embedded() -> bool:
    data = embedded_data_dir()
    if not (data / "postmaster.pid").exists():
        return False
    subprocess.run([_pgserver_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **_as_postgres_user())
    return True


def _as_postgres_user() -> dict:
    # pgserver runs the server as an unprivileged user when started by root; pg_ctl must match.
    if os.geteuid() != 0:
        return {}
    import pwd

    try:
        entry = pwd.getpwnam("pgserver")
    except KeyError:
        return {}
    return {"user": entry.pw_uid, "group": entry.pw_gid}


WAREHOUSE_CONN_ID = "warehouse_default"


class WarehouseNotConfigured(RuntimeError):
    pass


def configured_warehouse_url() -> str | None:
    """WAREHOUSE_URL, else the `warehouse_default` connection through Airflow's mechanisms; None when neither is set."""
    url = os.environ.get("WAREHOUSE_URL")
    if url:
        return url
    from baton.connections import airflow_connection

    connection = airflow_connection(WAREHOUSE_CONN_ID)
    if connection is None:
        return None
    from baton.engines import url_from_connection

    return url_from_connection(connection)  # a postgres, duckdb or spark connection (baton.engines)


def warehouse_url() -> str:
    """The URL every part of Baton uses: WAREHOUSE_URL, else `warehouse_default`, else, outside Airflow
    only (the demo and the tests), the embedded server started on demand.

    Inside an Airflow task a missing warehouse is an error: an embedded server on a worker would take
    a night's data to a database nobody queries."""
    url = configured_warehouse_url()
    if url:
        return url
    from baton.connections import in_airflow_task

    if in_airflow_task():
        raise WarehouseNotConfigured(
            f"no warehouse: set the Airflow connection {WAREHOUSE_CONN_ID!r} (a postgres connection) or WAREHOUSE_URL"
            " for the workers; inside Airflow Baton never starts an embedded warehouse")
    return start_embedded()


def with_database(url: str, dbname: str) -> str:
    parsed = urlparse(url)
    return parsed._replace(path="/" + dbname).geturl()


def url_parts(url: str) -> dict[str, str]:
    """libpq URL → the fields dbt's profile reads from the environment."""
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    host = query.get("host", [parsed.hostname or "127.0.0.1"])[0]
    return {
        "host": host,
        "port": str(parsed.port or int(query.get("port", ["5432"])[0])),
        "user": unquote(parsed.username or query.get("user", ["postgres"])[0]),
        "password": unquote(parsed.password or ""),
        "dbname": (parsed.path or "/postgres").lstrip("/") or "postgres",
    }


def dbt_env(url: str) -> dict[str, str]:
    """What profiles.yml reads: the engine's output (BATON_DBT_TARGET) and its fields."""
    from baton.engines import dbt_env as engine_dbt_env
    from baton.engines import is_postgres

    if not is_postgres(url):
        return engine_dbt_env(url)
    parts = url_parts(url)
    return {**engine_dbt_env(url), **{f"BATON_WAREHOUSE_{key.upper()}": value for key, value in parts.items()}}


def connect(url: str | None = None, **kwargs):
    """A PostgreSQL connection (psycopg); on DuckDB or Spark the engine's connection of the same shape."""
    from baton.engines import engine_for, is_postgres

    url = url or warehouse_url()
    if not is_postgres(url):
        return engine_for(url).connect()
    import psycopg

    return psycopg.connect(url, **kwargs)


def psql_path() -> str:
    return shutil.which("psql") or _pgserver_bin("psql")
