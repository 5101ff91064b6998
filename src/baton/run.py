"""`baton run`: the nightly pipeline, in-process through Airflow.

`baton run --date D` runs `airflow dags test baton_nightly D` (the data interval is the UTC
day before D; its end is the as-of instant) against whatever connections and warehouse the
environment names. (`baton demo`, from the sandbox package, runs the same thing against the
sandbox.) Airflow's chatter goes to a log file; the terminal shows each task as it
starts and ends, then a summary of what landed and what was built.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

NIGHTLY_DAG = "baton_nightly"


def register(subcommands) -> None:
    run = subcommands.add_parser("run", help="run the nightly pipeline for one date (extract, load, dbt build, checks)")
    run.add_argument("--date", type=date.fromisoformat, default=None,
                     help="the night to run, YYYY-MM-DD: data up to 00:00 UTC of that date (default: today)")
    run.set_defaults(handler=_run_command)


# -- Airflow in a subprocess -------------------------------------------------------------------

def _airflow(env: dict[str, str]) -> str:
    return str(Path(sys.executable).with_name("airflow"))


def ensure_airflow_db(env: dict[str, str]) -> None:
    """Create or upgrade Airflow's SQLite metadata database once per Airflow version."""
    from importlib.metadata import version

    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    marker = home / f".migrated-{version('apache-airflow')}"
    if marker.exists():
        return
    log_file = home / "db-migrate.log"
    with open(log_file, "w") as out:
        result = subprocess.run([_airflow(env), "db", "migrate"], env=env, stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise SystemExit(f"airflow db migrate failed; see {log_file}")
    marker.touch()


_TASK_START = re.compile(r"\[DAG TEST\] starting task_id=(\S+) map_index=(-?\d+)")
_TASK_END = re.compile(r"\[DAG TEST\] end task task_id=(\S+) map_index=(-?\d+)")
_FAILED = re.compile(r"(Task failed|Traceback|ERROR|\[error|state=failed|marked as failed)", re.IGNORECASE)
_RUN_DONE = re.compile(r"DagRun Finished: .*state=(\w+)")


def run_nightly(run_date: date, env: dict[str, str] | None = None, *, echo=print) -> dict:
    """Run baton_nightly for one date in-process; stream progress; return the run's outcome."""
    from baton.airflow.environment import airflow_env
    from baton.paths import state_path

    env = airflow_env(env)
    if not env.get("WAREHOUSE_URL"):
        from baton import warehouse

        env["WAREHOUSE_URL"] = warehouse.warehouse_url()
    ensure_airflow_db(env)
    log_file = state_path("logs", f"nightly-{run_date.isoformat()}.log")
    echo(f"baton: nightly run for {run_date} (as of {run_date}T00:00Z); Airflow's log: {log_file}")
    started = time.monotonic()
    task_started: dict[str, float] = {}
    state, failures = "unknown", []
    with open(log_file, "w") as out:
        proc = subprocess.Popen([_airflow(env), "dags", "test", NIGHTLY_DAG, run_date.isoformat()], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            if match := _TASK_START.search(line):
                key = _task_label(*match.groups())
                task_started[key] = time.monotonic()
                echo(f"  ▶ {key}")
            elif match := _TASK_END.search(line):
                key = _task_label(*match.groups())
                echo(f"  ✓ {key} ({time.monotonic() - task_started.get(key, started):.1f}s)")
            elif match := _RUN_DONE.search(line):
                state = match.group(1)
            elif _FAILED.search(line) and len(failures) < 40:
                failures.append(line.rstrip())
        returncode = proc.wait()
    elapsed = time.monotonic() - started
    ok = returncode == 0 and state == "success"
    if not ok:
        echo(f"baton: the nightly run did not succeed (state {state}, exit {returncode}); last errors:")
        for line in failures[-15:]:
            echo("    " + line[:300])
    return {"ok": ok, "state": state, "seconds": elapsed, "log": str(log_file), "warehouse_url": env["WAREHOUSE_URL"]}


def _task_label(task_id: str, map_index: str) -> str:
    return task_id if map_index == "-1" else f"{task_id}[{map_index}]"


# -- summary -----------------------------------------------------------------------------------

def summarize(warehouse_url: str, echo=print) -> dict:
    """What landed (per raw schema) and what was built (rows per mart)."""
    from baton.sources.registry import sources
    from baton.warehouse import connect

    summary: dict = {"raw": {}, "marts": {}, "loads": []}
    with connect(warehouse_url) as conn:
        schemas = [source.raw_schema for source in sources().values()] + ["marts", "quality"]
        tables = conn.execute("""
            select table_schema, table_name from information_schema.tables
            where table_schema = any(%s) and table_type in ('BASE TABLE', 'VIEW')
            order by 1, 2""", (schemas,)).fetchall()
        for schema, table in tables:
            count = conn.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
            bucket = "raw" if schema.startswith("raw_") else "marts"
            summary[bucket][f"{schema}.{table}"] = count
        has_log = conn.execute("select to_regclass('baton_meta.load_log') is not null").fetchone()[0]
        if has_log:
            summary["loads"] = [dict(zip(("source", "extracted", "loaded", "rejected"), row)) for row in conn.execute("""
                select source, sum(extracted), sum(loaded), sum(rejected) from baton_meta.load_log
                where load_id in (select load_id from baton_meta.load_log
                                  where started_at = (select max(started_at) from baton_meta.load_log l2
                                                      where l2.source = load_log.source))
                group by source order by source""")]
    raw_by_schema: dict[str, int] = {}
    for name, count in summary["raw"].items():
        raw_by_schema[name.split(".")[0]] = raw_by_schema.get(name.split(".")[0], 0) + count
    echo("")
    echo("What landed (rows in the raw schemas):")
    for schema, count in raw_by_schema.items():
        echo(f"  {schema:<16} {count:>10,}")
    if summary["loads"]:
        echo("Latest load per source (extracted = loaded + rejected):")
        for row in summary["loads"]:
            echo(f"  {row['source']:<16} extracted {row['extracted']:>9,}  loaded {row['loaded']:>9,}"
                 f"  rejected {row['rejected']:>6,}")
    echo("What was built:")
    for name, count in summary["marts"].items():
        echo(f"  {name:<40} {count:>10,} rows")
    return summary


# -- commands ----------------------------------------------------------------------------------

def _default_run_date() -> date:
    return datetime.now(timezone.utc).date()


def _run_command(args) -> int:
    result = run_nightly(args.date or _default_run_date())
    if result["ok"]:
        summarize(result["warehouse_url"])
    print(f"\nbaton: {'done' if result['ok'] else 'FAILED'} in {result['seconds']:.0f}s")
    return 0 if result["ok"] else 1
