"""`baton run`: the nightly pipeline, in-process through Airflow.

`baton run --date D` runs `airflow dags test baton_nightly D` (the data interval is the UTC
day before D; its end is the as-of instant) against whatever connections and warehouse the
environment names. (`baton demo`, from the sandbox package, runs the same thing against the
sandbox.) Airflow's chatter goes to a log file; the terminal shows each task as it
starts and ends, then a summary of what landed and what was built.

`--full-refresh`, `--since T` and `--vars '{...}'` become the run's params (its conf), exactly
what a manual run triggered in Airflow's UI would ask for (docs/operations.md).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from contextlib import closing, contextmanager
from datetime import date, datetime, timezone
from pathlib import Path

NIGHTLY_DAG = "baton_nightly"


def register(subcommands) -> None:
    run = subcommands.add_parser("run", help="run the nightly pipeline for one date (extract, load, dbt build, checks)")
    run.add_argument("--date", type=date.fromisoformat, default=None,
                     help="the night to run, YYYY-MM-DD: data up to 00:00 UTC of that date (default: today)")
    run.add_argument("--full-refresh", action="store_true",
                     help="extract every stream from its backfill start (watermarks ignored) and dbt build --full-refresh")
    run.add_argument("--since", metavar="INSTANT",
                     help="extract from this ISO date or instant instead of each stream's watermark")
    run.add_argument("--vars", metavar="YAML",
                     help="dbt vars for every dbt invocation of this run, as dbt's --vars takes them,"
                          " e.g. '{\"sla_business_minutes\": 240}'")
    run.set_defaults(handler=_run_command)


def run_conf(*, full_refresh: bool = False, since: str | None = None, vars: str | None = None) -> dict:
    """The options of `baton run` as baton_nightly's params (its run conf); ValueError on bad input."""
    from baton.build.dbt import parse_vars
    from baton.instants import iso_z, parse_instant

    conf: dict = {}
    if full_refresh and since:
        raise ValueError("--full-refresh reads from the start and --since from an instant: give one of them")
    if full_refresh:
        conf["full_refresh"] = True
    if since:
        try:
            conf["since"] = iso_z(parse_instant(since), micros=True)
        except ValueError:
            raise ValueError(f"--since {since!r} is not an ISO date or instant (e.g. 2026-03-01)") from None
    dbt_vars = parse_vars(vars)
    if dbt_vars:
        conf["dbt_vars"] = dbt_vars
    return conf


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
_TASK_FAILED = re.compile(r"(Task failed with exception|\[DAG TEST\] Error running task|Task failed; ti=)")
_FAILED = re.compile(r"(Task failed|Traceback|ERROR|\[error|state=failed|marked as failed)", re.IGNORECASE)
_RAISED = re.compile(r"^[\w.]+(Error|Exception|Busy|Failed|Lost|Refused): ")  # the exception a task raised
_RUN_DONE = re.compile(r"DagRun Finished: .*state=(\w+)")
_MARKS = {"success": "✓", "failed": "✗", "upstream_failed": "✗", "up_for_retry": "↻", "skipped": "–"}
# In-process runs surface a failure in seconds: one retry after 5 s (scheduled DAGs keep 3 with backoff).
IN_PROCESS_RETRIES = {"BATON_TASK_RETRIES": "1", "BATON_TASK_RETRY_DELAY_SECONDS": "5"}
STOP_GRACE_SECONDS = 15


class AirflowBusy(RuntimeError):
    """Another `baton run` is using the same Airflow metadata database."""


def run_nightly(run_date: date, env: dict[str, str] | None = None, *, echo=print, conf: dict | None = None) -> dict:
    """Run baton_nightly for one date in-process; stream progress; return the run's outcome.

    `conf` is the run's params (run_conf: full_refresh, since, dbt_vars); none: the scheduled behaviour.

    Airflow runs in its own process group: SIGINT and SIGTERM are forwarded to the whole group,
    and whatever is left of it is killed when this returns (or, on Linux, when this process dies).
    Each run has its own log file; two runs sharing one Airflow metadata database would corrupt
    it, so the second refuses (AirflowBusy) while the first runs; a second run on the same
    warehouse refuses too (WarehouseBusy: each run holds a session advisory lock on it). A lease
    this run's DAG still holds on the warehouse (baton.build.lease) is given back on the way out.
    """
    from baton.airflow.environment import airflow_env
    from baton.build.lease import warehouse_held_by_run
    from baton.paths import state_path

    env = airflow_env(env)
    if not env.get("WAREHOUSE_URL"):
        from baton import warehouse

        # warehouse_default through Airflow's mechanisms, else (the demo) the embedded server.
        env["WAREHOUSE_URL"] = warehouse.warehouse_url()
    for key, value in IN_PROCESS_RETRIES.items():
        env.setdefault(key, value)
    run_id = env.setdefault("BATON_RUN_ID", uuid.uuid4().hex[:12])
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    log_file = state_path("logs", f"nightly-{run_date.isoformat()}-{stamp}-{run_id}.log")
    from contextlib import nullcontext

    from baton.engines import is_postgres

    # DuckDB and Spark: Airflow's own process takes the engine's lock for each step (baton.engines);
    # holding it here would only make the run wait for itself.
    held = warehouse_held_by_run(env["WAREHOUSE_URL"], f"baton run {run_id} pid {os.getpid()} on {socket.gethostname()}") \
        if is_postgres(env["WAREHOUSE_URL"]) else nullcontext()
    with _airflow_db_lock(env, log_file), held:
        ensure_airflow_db(env)
        asked = f"; asked for {', '.join(sorted(conf))}" if conf else ""
        echo(f"baton: nightly run for {run_date} (as of {run_date}T00:00Z{asked}); Airflow's log: {log_file}")
        try:
            outcome = _run_dag_test(run_date, env, log_file, echo, conf or {})
        finally:
            _release_warehouse(env["WAREHOUSE_URL"], run_id, echo)
    return {**outcome, "log": str(log_file), "warehouse_url": env["WAREHOUSE_URL"], "run_id": run_id}


def _run_dag_test(run_date: date, env: dict[str, str], log_file: Path, echo, conf: dict) -> dict:
    started = time.monotonic()
    task_started: dict[str, float] = {}
    task_states: dict[str, str] = {}
    failed_lines: set[str] = set()
    current: str | None = None
    state, interrupted = "unknown", []
    failures: deque[str] = deque(maxlen=40)  # the last errors, shown when the run fails
    with open(log_file, "w") as out:
        command = [_airflow(env), "dags", "test", NIGHTLY_DAG, run_date.isoformat()]
        dag_file = Path(env["AIRFLOW__CORE__DAGS_FOLDER"]) / f"{NIGHTLY_DAG}.py"
        if dag_file.is_file():  # parse this one file, not the whole folder (seconds on every run)
            command += ["--dagfile-path", str(dag_file)]
        if conf:
            command += ["--conf", json.dumps(conf, default=str)]
        proc = subprocess.Popen(command, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                                start_new_session=True, preexec_fn=_die_with_parent)
        assert proc.stdout is not None
        previous = _forward_signals(proc, interrupted)
        try:
            for line in proc.stdout:
                out.write(line)
                if match := _TASK_START.search(line):
                    current = _task_label(*match.groups())
                    task_started[current] = time.monotonic()
                    echo(f"  ▶ {current}")
                elif match := _TASK_END.search(line):
                    key = _task_label(*match.groups())
                    task_state = _task_state(env, *match.groups()) or ("failed" if key in failed_lines else "success")
                    task_states[key] = task_state
                    mark = _MARKS.get(task_state, "?")
                    note = "" if task_state == "success" else f", {task_state.replace('_', ' ')}"
                    echo(f"  {mark} {key} ({time.monotonic() - task_started.get(key, started):.1f}s{note})")
                    current = None
                elif match := _RUN_DONE.search(line):
                    state = match.group(1)
                else:
                    if current and _TASK_FAILED.search(line):
                        failed_lines.add(current)
                    if _FAILED.search(line) or _RAISED.match(line):
                        failures.append(line.rstrip())
            returncode = proc.wait()
        finally:
            _restore_signals(previous)
            _stop_group(proc)
    for key, task_state in _never_ran(env).items():
        task_states[key] = task_state
        echo(f"  ✗ {key} ({task_state.replace('_', ' ')})")
    failed_tasks = sorted(key for key, task_state in task_states.items() if task_state in ("failed", "upstream_failed"))
    elapsed = time.monotonic() - started
    ok = returncode == 0 and state == "success" and not failed_tasks and not interrupted
    if interrupted:
        echo(f"baton: interrupted by {signal.Signals(interrupted[0]).name}; Airflow and its children were stopped")
    elif not ok:
        failed_here = [key for key in failed_tasks if task_states[key] == "failed"]
        not_run = [key for key in failed_tasks if task_states[key] == "upstream_failed"]
        what = (f"failed tasks: {', '.join(failed_here)}; " if failed_here else "") + (
            f"not run (upstream failed): {', '.join(not_run)}; " if not_run else "")
        echo(f"baton: the nightly run failed ({what}DAG run state {state}, Airflow exit code {returncode});"
             f" last errors:")
        for line in list(failures)[-15:]:
            echo("    " + line[:300])
    return {"ok": ok, "state": state, "seconds": elapsed, "failed_tasks": failed_tasks,
            "interrupted": signal.Signals(interrupted[0]).name if interrupted else None}


# -- processes, signals, locks -----------------------------------------------------------------

def _die_with_parent() -> None:
    """In the child, before exec: Linux sends it SIGTERM if `baton run` dies (even by SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass  # not Linux: the signal forwarding and the final kill still apply


def _forward_signals(proc: subprocess.Popen, interrupted: list[int]):
    """SIGINT/SIGTERM to `baton run` go to Airflow's whole process group; SIGKILL follows after a grace."""
    if threading.current_thread() is not threading.main_thread():
        return None  # only the main thread may set handlers (a run driven from a test's thread)

    def forward(signum, frame):
        interrupted.append(signum)
        _signal_group(proc.pid, signum)
        killer = threading.Timer(STOP_GRACE_SECONDS, _signal_group, (proc.pid, signal.SIGKILL))
        killer.daemon = True
        killer.start()

    return {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}


def _restore_signals(previous) -> None:
    for sig, handler in (previous or {}).items():
        signal.signal(sig, handler)


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _stop_group(proc: subprocess.Popen) -> None:
    """Nothing of Airflow outlives the run: TERM the group, then KILL what is left of it."""
    if proc.poll() is None:
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            pass
    _signal_group(proc.pid, signal.SIGKILL)  # grandchildren that outlived the leader
    if proc.poll() is None:
        proc.wait()


def _sqlite_path(env: dict[str, str]) -> Path | None:
    url = env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


@contextmanager
def _airflow_db_lock(env: dict[str, str], log_file: Path):
    """One `baton run` at a time per Airflow metadata database (two corrupt each other's runs)."""
    import fcntl

    db = _sqlite_path(env)
    lock_path = Path(str(db) + ".baton-run.lock") if db else Path(env["AIRFLOW_HOME"]) / ".baton-run.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another baton run"
            raise AirflowBusy(f"another baton run holds Airflow's metadata database {db or lock_path} ({holder});"
                              " wait for it to finish, or give this run its own AIRFLOW_HOME") from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()} since {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S UTC}, log {log_file}\n")
        lock.flush()
        try:
            yield
        finally:
            lock.truncate(0)
            fcntl.flock(lock, fcntl.LOCK_UN)


def _task_state(env: dict[str, str], task_id: str, map_index: str) -> str | None:
    """The task instance's state as Airflow recorded it (the latest run of this task in the metadata DB)."""
    rows = _query_airflow_db(env, "select state from task_instance where dag_id = ? and task_id = ? and map_index = ?"
                             " order by updated_at desc limit 1", (NIGHTLY_DAG, task_id, int(map_index)))
    return rows[0][0] if rows else None


def _never_ran(env: dict[str, str]) -> dict[str, str]:
    """Tasks of the latest run that never started because something upstream failed."""
    rows = _query_airflow_db(env, """
        select task_id, map_index, state from task_instance
        where dag_id = ? and run_id = (select run_id from dag_run where dag_id = ? order by id desc limit 1)
          and state in ('upstream_failed', 'removed')""", (NIGHTLY_DAG, NIGHTLY_DAG))
    return {_task_label(task_id, str(map_index)): state for task_id, map_index, state in rows}


def _query_airflow_db(env: dict[str, str], sql: str, params: tuple) -> list[tuple]:
    import sqlite3

    db = _sqlite_path(env)
    if db is None or not db.is_file():
        return []
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
            return conn.execute(sql, params).fetchall()
    except sqlite3.Error:
        return []  # busy or another schema: the log's own failure lines decide


def _release_warehouse(warehouse_url: str, run_id: str, echo) -> None:
    from baton.engines import is_postgres

    if not is_postgres(warehouse_url):
        return  # no lease table on DuckDB or Spark (baton.build.steps.prepare)
    try:
        from baton.build.lease import release_for_baton_run

        if release_for_baton_run(warehouse_url, run_id):
            echo("baton: released the warehouse lease this run still held")
    except Exception as error:  # the warehouse unreachable: the lease goes stale on its own
        echo(f"baton: could not release the warehouse lease ({error}); it expires on its own")


def _task_label(task_id: str, map_index: str) -> str:
    return task_id if map_index == "-1" else f"{task_id}[{map_index}]"


# -- summary -----------------------------------------------------------------------------------

def summarize(warehouse_url: str, echo=print) -> dict:
    """What landed (per raw schema) and what was built (rows per mart)."""
    from baton.engines import is_postgres
    from baton.sources.registry import sources
    from baton.warehouse import connect

    if not is_postgres(warehouse_url):
        return _summarize_engine(warehouse_url, echo)
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
            columns = ("source", "extracted", "loaded", "rejected", "duplicates", "unchanged")
            summary["loads"] = [dict(zip(columns, row)) for row in conn.execute("""
                select source, sum(extracted), sum(loaded), sum(rejected), sum(coalesce(duplicates, 0)),
                       sum(coalesce(unchanged, 0))
                from baton_meta.load_log
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
        echo("Latest load per source (extracted = loaded + rejected + duplicates + unchanged):")
        for row in summary["loads"]:
            echo(f"  {row['source']:<16} extracted {row['extracted']:>9,}  loaded {row['loaded']:>9,}"
                 f"  rejected {row['rejected']:>6,}  duplicates {row['duplicates']:>6,}  unchanged {row['unchanged']:>7,}")
    echo("What was built:")
    for name, count in summary["marts"].items():
        echo(f"  {name:<40} {count:>10,} rows")
    from baton.paths import reports_dir

    latest = reports_dir() / "latest.html"
    if latest.is_file():
        echo(f"The night's report: {latest}; data dictionary: {latest.with_name('data-dictionary.html')}")
    return summary


def _summarize_engine(warehouse_url: str, echo=print) -> dict:
    """summarize() on DuckDB or Spark: rows per raw schema, the latest loads, rows per published mart."""
    from baton.engines import engine_for
    from baton.sources.registry import sources

    engine = engine_for(warehouse_url)
    summary: dict = {"raw": {}, "marts": {}, "loads": []}
    with engine.connect() as conn:
        for source in sources().values():
            for stream in source.stream_names:
                if engine.exists(conn, source.raw_schema, stream):
                    summary["raw"][f"{source.raw_schema}.{stream}"] = conn.execute(
                        f"select count(*) from {source.raw_schema}.{stream}").fetchone()[0]
        for name in sorted(engine.relations(conn, "marts")) if engine.schema_exists(conn, "marts") else []:
            summary["marts"][f"marts.{name}"] = conn.execute(f"select count(*) from marts.{name}").fetchone()[0]
        columns = ("source", "extracted", "loaded", "rejected", "duplicates", "unchanged")
        summary["loads"] = [dict(zip(columns, row)) for row in conn.execute("""
            select l.source, sum(l.extracted), sum(l.loaded), sum(l.rejected), sum(l.duplicates), sum(l.unchanged)
            from baton_meta.load_log l
            join (select source, max(started_at) as latest from baton_meta.load_log group by source) m
              on m.source = l.source
            where l.load_id in (select load_id from baton_meta.load_log x where x.source = l.source
                                and x.started_at = m.latest)
            group by l.source order by l.source""").fetchall()]
    echo("")
    echo(f"What landed on {engine.kind} (rows in the raw tables, extracted = loaded + rejected + duplicates + unchanged):")
    for row in summary["loads"]:
        echo(f"  {row['source']:<16} extracted {row['extracted']:>9,}  loaded {row['loaded']:>9,}"
             f"  rejected {row['rejected']:>6,}  duplicates {row['duplicates']:>6,}  unchanged {row['unchanged']:>7,}")
    echo(f"  raw rows in all: {sum(summary['raw'].values()):,}")
    echo("What was published (marts views):")
    for name, count in summary["marts"].items():
        echo(f"  {name:<40} {count:>10,} rows")
    return summary


# -- commands ----------------------------------------------------------------------------------

def _default_run_date() -> date:
    return datetime.now(timezone.utc).date()


def _run_command(args) -> int:
    import psycopg

    from baton.build.lease import WarehouseBusy

    try:
        conf = run_conf(full_refresh=args.full_refresh, since=args.since, vars=args.vars)
    except ValueError as bad:
        print(f"baton run: {bad}")
        return 2
    try:
        result = run_nightly(args.date or _default_run_date(), conf=conf)
    except (AirflowBusy, WarehouseBusy) as busy:
        print(f"baton: {busy}\nbaton: FAILED (not started)")
        return 1
    except psycopg.OperationalError as unreachable:
        print(f"baton: cannot reach the warehouse: {str(unreachable).strip()}\nbaton: FAILED (not started)")
        return 1
    if result["ok"]:
        summarize(result["warehouse_url"])
    verdict = "done" if result["ok"] else "INTERRUPTED" if result["interrupted"] else "FAILED"
    print(f"\nbaton: {verdict} in {result['seconds']:.0f}s")
    if result["interrupted"]:
        return 128 + signal.Signals[result["interrupted"]].value
    return 0 if result["ok"] else 1
