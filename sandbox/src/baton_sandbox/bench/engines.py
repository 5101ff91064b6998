"""`baton bench engines --people N`: the full build of one world on PostgreSQL, DuckDB and Spark, side by side.

    baton bench engines --people 3000             # the default world
    baton bench engines --people 60000            # the million-record world (long: tens of minutes)

The world (cached under .baton/sandbox/) is extracted once, through the sandbox's APIs as of its
end, into a fresh PostgreSQL database `baton_bench_engines_<people>`; its raw records are then
landed in a DuckDB file and a Spark lake under .baton/bench-engines/ through each engine's loader
(baton.engines.copy). Each engine then builds the whole project (`dbt build --full-refresh`,
as_of = the world's end) in a child process of its own, so wall time and peak resident memory are
that engine's alone (Spark's includes starting its JVM). Engines run one after the other, in one
run, on the same machine.

The last line is one JSON object: records, and per engine land_s (raw landing; PostgreSQL's is the
extract), build_s, build_peak_rss_mb; `--engines` limits the engines measured.
"""

from __future__ import annotations

import os
import shutil
import sys
from datetime import datetime

from baton_sandbox.bench.build import _raw_records, _run_child, _Sandbox, _z


def bench_engines(people: int, *, seed: int = 7, engines=("postgres", "duckdb", "spark"),
                  warehouse_url: str | None = None, keep: bool = False) -> dict:
    from baton.load.schema import ensure_raw_tables
    from baton.paths import state_path
    from baton.warehouse import connect, with_database
    from baton.warehouse import warehouse_url as default_url
    from baton_sandbox.cli import ensure_world
    from baton_sandbox.store import WorldStore

    world = ensure_world(people, seed)
    store = WorldStore(world, readonly=True)
    try:
        world_end = datetime.fromisoformat(store.meta("world_end").replace("Z", "+00:00"))
    finally:
        store.close()
    server_url = warehouse_url or default_url()
    dbname = f"baton_bench_engines_{people}"
    with connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{dbname}" with (force)')
        conn.execute(f'create database "{dbname}"')
    postgres_url = with_database(server_url, dbname)
    ensure_raw_tables(postgres_url)
    folder = state_path("bench-engines", f"{people}", ".keep").parent
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    urls = {"postgres": postgres_url, "duckdb": f"duckdb://{folder}/warehouse.duckdb", "spark": f"spark://{folder}/lake"}
    figures: dict = {"people": people, "seed": seed, "engines": {}}
    base_env = {**os.environ, "DO_NOT_TRACK": "1"}
    print(f"bench engines: world of {people} people ({world.name}); {', '.join(engines)}", flush=True)

    with _Sandbox(world, world_end) as sandbox_url:
        extract_s, _ = _run_child([sys.executable, "-m", "baton.cli", "extract", "all", "--sandbox", sandbox_url,
                                   "--start", "2020-01-01T00:00:00Z", "--end", _z(world_end), "--no-progress"],
                                  {**base_env, "WAREHOUSE_URL": postgres_url})
    figures["records"] = _raw_records(postgres_url)
    figures["extract_s"] = extract_s
    for kind in engines:
        url = urls[kind]
        env = {**base_env, "WAREHOUSE_URL": url}
        engine_figures = {"land_s": extract_s}
        figures["engines"][kind] = engine_figures
        try:
            if kind != "postgres":
                engine_figures["land_s"], engine_figures["land_peak_rss_mb"] = _run_child(
                    [sys.executable, "-m", "baton_sandbox.bench.engines", "land", postgres_url, url], env)
            engine_figures["build_s"], engine_figures["build_peak_rss_mb"] = _run_child(
                [sys.executable, "-m", "baton_sandbox.bench.build", "dbt", _z(world_end), f"engines_{kind}",
                 "--full-refresh"], env)
        except RuntimeError as failed:  # one engine failing still leaves the others' figures
            engine_figures["error"] = str(failed)
            print(f"bench engines: {kind} failed: {failed}", flush=True)
            continue
        print(f"bench engines: {kind:<8} land {engine_figures['land_s']:>7.1f}s  full build"
              f" {engine_figures['build_s']:>7.1f}s  peak {engine_figures['build_peak_rss_mb']} MB", flush=True)
    figures["load_average"] = [round(x, 1) for x in os.getloadavg()]
    if not keep:
        with connect(server_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{dbname}" with (force)')
        shutil.rmtree(folder, ignore_errors=True)
    return figures


def _land(postgres_url: str, engine_url: str) -> int:
    """A child process: the PostgreSQL raw records landed on the engine (baton.engines.copy)."""
    from baton.engines.copy import copy_raw

    landed = copy_raw(postgres_url, engine_url)
    print(f"bench engines: landed {sum(landed.values()):,} raw rows on {engine_url.split(':')[0]}", flush=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "land":
        sys.exit(_land(sys.argv[2], sys.argv[3]))
    raise SystemExit(f"unknown stage {sys.argv[1]!r}")
