"""`baton bench dbt --people N`: dbt build wall times on a sandbox world, full, incremental, full refresh."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone

from baton.build.dbt import dbt_build, ensure_raw_tables
from baton.warehouse import connect


def bench_dbt(people: int, *, seed: int = 7, warehouse_url: str | None = None) -> dict:
    """dbt build wall times on a sandbox world, the way the nightly run meets it: the world
    extracted through the sandbox APIs up to the day before its end and built (full, first
    build), one more day extracted and built (incremental), then a full refresh of the same data.
    Uses a fresh database `baton_bench_dbt_<people>` on the warehouse's server."""
    from datetime import timedelta

    from baton.connections import ConnectionFields
    from baton.paths import state_path
    from baton.sources.runner import run_source
    from baton.warehouse import warehouse_url as default_url
    from baton.warehouse import with_database
    from baton_sandbox.server import SandboxServer
    from baton_sandbox.world import build_world

    server_url = warehouse_url or default_url()
    dbname = f"baton_bench_dbt_{people}"
    with connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{dbname}" with (force)')
        conn.execute(f'create database "{dbname}"')
    url = with_database(server_url, dbname)
    world_path = state_path("sandbox", f"world-{people}-{seed}.sqlite")
    figures: dict = {"people": people}
    started = time.monotonic()
    if not world_path.exists():
        build_world(world_path, people=people, seed=seed)
    figures["world_s"] = round(time.monotonic() - started, 1)
    world_end = datetime(2026, 11, 1, tzinfo=timezone.utc)
    day_before = world_end - timedelta(days=1)

    def extract(until: datetime) -> float:
        began = time.monotonic()
        with SandboxServer(world_path) as server:
            server.set_clock(until)
            for source in ("salesforce", "marketo", "hubspot"):
                connection = ConnectionFields(conn_id=f"{source}_default", host=server.url, login="bench",
                                              password="bench")
                run_source(source, connection, url, start=datetime(2020, 1, 1, tzinfo=timezone.utc), end=until)
        return round(time.monotonic() - began, 1)

    ensure_raw_tables(url)
    figures["extract_load_s"] = extract(day_before)
    with connect(url) as conn:
        figures["raw_rows"] = int(conn.execute(
            "select coalesce(sum(n_live_tup), 0) from pg_stat_user_tables where schemaname like 'raw_%'").fetchone()[0])
    target = f"bench-{people}"
    figures["dbt_build_full_s"] = dbt_build(url, as_of=day_before, target_name=target)["seconds"]
    figures["extract_load_one_day_s"] = extract(world_end)
    figures["dbt_build_incremental_s"] = dbt_build(url, as_of=world_end, target_name=target)["seconds"]
    figures["dbt_build_full_refresh_s"] = dbt_build(url, as_of=world_end, full_refresh=True,
                                                    target_name=target)["seconds"]
    figures["load_average"] = [round(x, 1) for x in os.getloadavg()]
    return figures
