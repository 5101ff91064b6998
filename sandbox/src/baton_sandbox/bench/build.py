"""`baton bench build --people N`: one night at scale, stage by stage, as the nightly run meets it.

    baton bench build --people 60000          # the million-record world (1.2 M raw records)
    baton bench build --people 60000 --nightly --database scale_bench_60000n --keep

The world (cached under .baton/sandbox/) is served as of the day before its end and extracted
whole into a fresh database `baton_bench_build_<people>` on the warehouse's server; the project
is built with a full refresh (as_of = that day); the sandbox clock then moves to the world's
end, one more day is extracted (from the watermarks, as a nightly extract reads it) and the
project is built incrementally (as_of = the world's end). With `--verify`, a full refresh of the
same raw data follows, and every table the incremental build left must equal it row for row
(`differing_rows` names those that do not).

A world not yet cached is generated in a child process too (world_s, world_peak_rss_mb): a
child's peak memory counts the parent's as it was when the child was forked, so the parent stays
small. Each Baton stage runs in a child process of its own (the extract is `baton extract all`, a
build is `dbt build` through baton.build.dbt), so its wall time and its peak resident memory
(the child's ru_maxrss from wait4) are its own; the sandbox server runs in another process and
is not counted. dbt parses the project once before the timed builds, so neither pays it.

The last line printed is one JSON object: records (raw rows after the first extract),
full_refresh_s, incremental_s, ratio (incremental / full refresh), extract_s,
incremental_extract_s, peak_rss_mb (the largest of the Baton stages) and each stage's own, and
what the incremental build caught up on (people_rebuilt, opportunities_rebuilt; false
incremental_was_full). Each dbt stage's run_results.json is kept as run_results-<stage>.json
under .baton/dbt/bench-build/target/ (bench-build-<database> with --database).

With --nightly, both builds end a day before the world's end; the last one then becomes what a
nightly run finds in the morning (the previous generation, in the shadow schemas) and `baton run`
runs the world's last day on that warehouse (Airflow's baton_nightly: extract, incremental build
into the shadow, gate, publish, digest, report): nightly_s, nightly_records and nightly_tasks_s
(each task's duration, from Airflow's metadata database).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

UTC = timezone.utc


def _z(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _run_child(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run a Baton stage as a child process; (wall seconds, peak RSS in MB). Raises on failure."""
    started = time.monotonic()
    process = subprocess.Popen(args, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    if process.returncode != 0:
        raise RuntimeError(f"stage failed (exit {process.returncode}): {' '.join(args[:6])}")
    return round(seconds, 1), round(usage.ru_maxrss / 1024)  # ru_maxrss is in KB on Linux


class _Sandbox:
    """The sandbox APIs over the world, in a process of their own, as of one instant."""

    def __init__(self, world: Path, as_of: datetime):
        self.args = [sys.executable, "-m", "baton.cli", "sandbox", "serve", "--world", str(world), "--port", "0",
                     "--as-of", _z(as_of)]

    def __enter__(self) -> str:
        self.process = subprocess.Popen(self.args, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline().strip()
        if not line.startswith("sandbox listening on "):
            self.process.kill()
            raise RuntimeError(f"the sandbox did not start: {line!r}")
        return line.rsplit(" ", 1)[1]

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.process.stdout.close()


def _stage(name: str, figures: dict, seconds: float, peak_mb: float) -> None:
    figures[name] = seconds
    figures.setdefault("stage_peak_rss_mb", {})[name.removesuffix("_s")] = peak_mb
    print(f"{name.removesuffix('_s'):>20}: {seconds:8.1f} s   peak {peak_mb:5.0f} MB", flush=True)


def _raw_records(url: str) -> int:
    from baton.warehouse import connect

    with connect(url) as conn:
        tables = conn.execute("select quote_ident(schemaname) || '.' || quote_ident(relname) from pg_stat_user_tables"
                              " where schemaname like 'raw\\_%'").fetchall()
        return sum(conn.execute(f"select count(*) from {table}").fetchone()[0] for (table,) in tables)


def _dbt_target(env=os.environ) -> str:
    """dbt's target folder under .baton/dbt/: one per bench database, so two benches never share one."""
    return env.get("BATON_BENCH_DBT_TARGET", "bench-build")


def _built_tables(target: str) -> list[str]:
    """Every table dbt builds (incremental and table models, from the bench's manifest), schema-qualified,
    but the incremental bookkeeping (models/intermediate/incremental: what one build caught up on)."""
    from baton.paths import state_path

    manifest = json.loads(state_path("dbt", target, "target", "manifest.json").read_text())
    return sorted(f"{node['schema']}.{node.get('alias') or node['name']}" for node in manifest["nodes"].values()
                  if node["resource_type"] == "model" and node["config"].get("materialized") in ("incremental", "table")
                  # the change sets say what one build caught up on: they differ by design
                  and not node["path"].startswith("intermediate/incremental/"))


def _differences(url: str, relations: list[str]) -> dict[str, int]:
    """Rows by which each copied table differs from its full refresh (EXCEPT ALL both ways)."""
    from baton.warehouse import connect

    differing = {}
    with connect(url) as conn:
        for relation in relations:
            copy = "bench_incremental." + relation.replace(".", "__")
            count = conn.execute(f"select count(*) from ((select * from {copy} except all select * from {relation})"
                                 f" union all (select * from {relation} except all select * from {copy})) d"
                                 ).fetchone()[0]
            differing[relation] = count
    return differing


def bench_build(people: int, *, seed: int = 7, verify: bool = False, keep: bool = False,
                warehouse_url: str | None = None, database: str | None = None, nightly: bool = False) -> dict:
    from baton.load.schema import ensure_raw_tables
    from baton.warehouse import connect, with_database
    from baton.warehouse import warehouse_url as default_url
    from baton_sandbox.cli import cached_world_path
    from baton_sandbox.store import WorldStore

    figures: dict = {"people": people, "seed": seed}
    started = time.monotonic()
    world = cached_world_path(people, seed)
    if not world.exists():
        # in a child: a stage's peak memory (ru_maxrss) starts from this process's own when it forks
        _, figures["world_peak_rss_mb"] = _run_child(  # the sandbox's generator's, not a Baton stage
            [sys.executable, "-m", "baton.cli", "sandbox", "build", "--people", str(people), "--seed", str(seed)],
            dict(os.environ))
    figures["world_s"] = round(time.monotonic() - started, 1)
    store = WorldStore(world, readonly=True)
    try:
        world_end = datetime.fromisoformat(store.meta("world_end").replace("Z", "+00:00"))
    finally:
        store.close()
    # --nightly keeps the world's last day for the nightly run: the bench's two builds end a day earlier
    end = world_end - timedelta(days=1) if nightly else world_end
    day_before = end - timedelta(days=1)

    server_url = warehouse_url or default_url()
    dbname = database or f"baton_bench_build_{people}"
    with connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{dbname}" with (force)')
        conn.execute(f'create database "{dbname}"')
    url = with_database(server_url, dbname)
    env = {**os.environ, "WAREHOUSE_URL": url, "DO_NOT_TRACK": "1",
           "BATON_BENCH_DBT_TARGET": "bench-build" if database is None else f"bench-build-{dbname}"}
    ensure_raw_tables(url)
    print(f"bench build: world of {people} people ({world.name}), database {dbname}", flush=True)

    def extract(until: datetime) -> tuple[float, float]:
        with _Sandbox(world, until) as sandbox_url:
            return _run_child([sys.executable, "-m", "baton.cli", "extract", "all", "--sandbox", sandbox_url,
                               "--start", "2020-01-01T00:00:00Z", "--end", _z(until), "--no-progress"], env)

    def build(as_of: datetime, label: str, *flags: str) -> tuple[float, float]:
        return _run_child([sys.executable, "-m", "baton_sandbox.bench.build", "dbt", _z(as_of), label, *flags], env)

    _stage("extract_s", figures, *extract(day_before))
    figures["records"] = _raw_records(url)
    _stage("parse_s", figures, *build(day_before, "parse", "--parse-only"))
    _stage("full_refresh_s", figures, *build(day_before, "full_refresh", "--full-refresh"))
    _stage("incremental_extract_s", figures, *extract(end))
    figures["incremental_records"] = _raw_records(url) - figures["records"]
    _stage("incremental_s", figures, *build(end, "incremental"))
    with connect(url) as conn:  # what the incremental build caught up on (models/intermediate/incremental)
        figures["incremental_was_full"], figures["people_rebuilt"], figures["opportunities_rebuilt"] = conn.execute(
            "select (select is_full from intermediate.int_incremental_state),"
            " (select count(*) from intermediate.int_people_changed),"
            " (select count(*) from intermediate.int_opportunities_changed)").fetchone()
    if verify:
        relations = _built_tables(_dbt_target(env))
        with connect(url, autocommit=True) as conn:
            conn.execute("create schema bench_incremental")
            for relation in relations:
                conn.execute(f"create table bench_incremental.{relation.replace('.', '__')}"
                             f" as select * from {relation}")
        _stage("verify_full_refresh_s", figures, *build(end, "verify_full_refresh", "--full-refresh"))
        differing = _differences(url, relations)
        figures["verified_relations"] = len(relations)
        figures["differing_rows"] = {relation: count for relation, count in differing.items() if count}
    figures["ratio"] = round(figures["incremental_s"] / figures["full_refresh_s"], 3)
    if nightly:
        figures.update(_nightly(world, world_end, url, env, figures))
    figures["peak_rss_mb"] = max(figures["stage_peak_rss_mb"].values())
    figures["load_average"] = [round(x, 1) for x in os.getloadavg()]
    if not keep:
        with connect(server_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{dbname}" with (force)')
    return figures


def _hand_over_as_last_night(url: str, as_of: datetime) -> None:
    """Make the bench's last build what a nightly run finds the morning after a night: the
    generation before the live one, in the shadow schemas (baton.build.publish), stamped `previous`,
    so the nightly build starts from it incrementally instead of rebuilding everything."""
    from baton.build.publish import DBT_SCHEMAS, Generation, _write_generation, shadow_name
    from baton.instants import iso_z
    from baton.warehouse import connect

    with connect(url) as conn:
        for schema in DBT_SCHEMAS:
            conn.execute(f'drop schema if exists "{shadow_name(schema)}" cascade')
            conn.execute(f'alter schema "{schema}" rename to "{shadow_name(schema)}"')
            _write_generation(conn, shadow_name(schema), Generation("previous", "bench-build", iso_z(as_of)))


def _nightly_task_seconds(env: dict[str, str]) -> dict[str, float]:
    """Each task's duration in the latest baton_nightly run, from Airflow's metadata database."""
    import sqlite3
    from contextlib import closing

    db = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///")
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as conn:
        rows = conn.execute("""
            select task_id, map_index, (julianday(end_date) - julianday(start_date)) * 86400, state
            from task_instance
            where dag_id = 'baton_nightly'
              and run_id = (select run_id from dag_run where dag_id = 'baton_nightly' order by id desc limit 1)
            order by start_date""").fetchall()
    return {(task if index < 0 else f"{task}[{index}]") + ("" if state == "success" else f" ({state})"):
            round(seconds or 0.0, 1) for task, index, seconds, state in rows}


def _nightly(world: Path, world_end: datetime, url: str, env: dict[str, str], figures: dict) -> dict:
    """The nightly run of the world's last day, as `baton run` runs it (Airflow's baton_nightly):
    extract of the day's change, incremental build into the shadow, gate, publish, digest, report.
    The bench's incremental build (a day earlier) is its shadow: one day to catch up."""
    from baton.airflow.environment import airflow_env
    from baton.run import ensure_airflow_db
    from baton_sandbox.demo import demo_environment

    _hand_over_as_last_night(url, world_end - timedelta(days=1))
    with _Sandbox(world, world_end) as sandbox_url:
        nightly_env = airflow_env({**env, **demo_environment(sandbox_url)})
        ensure_airflow_db(nightly_env)  # once per Airflow version, not part of a night
        before = _raw_records(url)
        _stage("nightly_s", figures, *_run_child(
            [sys.executable, "-m", "baton.cli", "run", "--date", world_end.date().isoformat()], nightly_env))
    return {"nightly_records": _raw_records(url) - before, "nightly_tasks_s": _nightly_task_seconds(nightly_env)}


def _dbt_stage(argv: list[str]) -> int:
    """A child process: one dbt command on WAREHOUSE_URL (`dbt AS_OF LABEL [--full-refresh | --parse-only]`);
    dbt's run_results.json is kept as run_results-LABEL.json beside it (each node's time)."""
    import shutil

    from baton.build.dbt import dbt, dbt_build
    from baton.instants import parse_instant
    from baton.paths import state_path
    from baton.warehouse import warehouse_url

    as_of, label, flags = parse_instant(argv[0]), argv[1], argv[2:]
    if "--parse-only" in flags:
        return 0 if dbt(["parse"], warehouse_url(), target_name=_dbt_target()).success else 1
    result = dbt_build(warehouse_url(), as_of=as_of, full_refresh="--full-refresh" in flags, target_name=_dbt_target())
    print(f"{label}: {result['nodes']} nodes in {result['seconds']} s", file=sys.stderr, flush=True)
    results = state_path("dbt", _dbt_target(), "target", "run_results.json")
    shutil.copyfile(results, results.with_name(f"run_results-{label}.json"))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "dbt":
        sys.exit(_dbt_stage(sys.argv[2:]))
    sys.exit(f"usage: {sys.argv[0]} dbt AS_OF LABEL [--full-refresh | --parse-only] (a stage of baton bench build)")
