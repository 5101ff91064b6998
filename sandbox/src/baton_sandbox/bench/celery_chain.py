"""The scheduled chain on CeleryExecutor, as a deployment runs it: Airflow's own processes, the DAGs
unpaused, nothing run by hand. `tests/deploy/test_celery_chain.py` and `baton bench celery` both
use it.

    api-server, dag-processor, scheduler, N Celery workers (Redis broker; metadata database and
    Celery result backend on PostgreSQL) → unpause the four scheduled DAGs in one transaction →
    the scheduler runs the extracts of the configured sources (Salesforce and Marketo here; HubSpot
    has no connection) → baton_transform on their Assets → gate → publish → digest → report.

The warehouse is reached only through the `warehouse_default` connection, logging in as a role
that is a member of `baton_loader` and `baton_transformer` (`baton warehouse grant` made them),
as the compose stack does. Each worker reports its own hostname (`worker-1`, ...) through
Airflow's `[core] hostname_callable`, so `task_instance.hostname` names the worker that ran a task
even though every worker runs on this one machine (on separate machines the host name does that).

    baton bench celery --workers 2 [--concurrency 2] [--people 300]
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg
from psycopg import sql

DAG_IDS = ("baton_extract_salesforce", "baton_extract_marketo", "baton_extract_hubspot", "baton_transform")
UNPAUSE_PATTERN = "^baton_(extract_|transform$)"  # the README's step: the four scheduled DAGs at once
CHAIN_TIMEOUT_S = 900
REDIS = ("127.0.0.1", 6379)
WORKER_NAME_VARIABLE = "BATON_CELERY_WORKER_NAME"
SANDBOX_LOGIN, SANDBOX_SECRET = "baton-e2e-client", "baton-e2e-secret"


def worker_hostname() -> str:
    """Airflow's `hostname_callable` for a worker: its name, else the machine's (Airflow's default)."""
    return os.environ.get(WORKER_NAME_VARIABLE) or socket.getfqdn()


def redis_answers(host: str = REDIS[0], port: int = REDIS[1]) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def world_end() -> datetime:
    """The end of the data interval the scheduler runs when a nightly DAG is unpaused: today's 00:00 UTC."""
    return datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def two_source_world(end: datetime) -> dict:
    """WorldParams of a world living in Salesforce and Marketo only, its 90 days ending at `end`."""
    return {"hubspot_only_share": 0.0, "marketo_and_hubspot_share": 0.0,
            "world_start": (end - timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "world_end": end.strftime("%Y-%m-%dT%H:%M:%SZ")}


def rows(url: str, query: str, params: tuple | None = None) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


class AirflowProcesses:
    """Starts Airflow's processes in their own process groups; stop() ends exactly those."""

    def __init__(self, env: dict, logs: Path):
        self.env, self.logs, self.started = env, logs, []

    def airflow(self, *args, timeout=300) -> subprocess.CompletedProcess:
        return subprocess.run(["airflow", *args], env=self.env, capture_output=True, text=True, timeout=timeout)

    def start(self, name: str, *args, env: dict | None = None) -> None:
        log = open(self.logs / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(["airflow", *args], env={**self.env, **(env or {})}, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.started.append((name, proc, log))

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop(self, grace_s: float = 5) -> None:
        for _, proc, _ in self.started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for _, proc, log in self.started:
            try:
                proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            log.close()

    def tail(self, lines=40) -> str:
        return "\n".join(f"--- {name}\n" + "\n".join(self.log(name).splitlines()[-lines:])
                         for name, _, _ in self.started)


def provision_roles(warehouse_url: str, prefix: str) -> str:
    """`baton warehouse grant` (roles `<prefix>_loader`, `<prefix>_transformer`, ...), then a login role
    `<prefix>_airflow` in both, as the compose stack's warehouse-init does; returns its URL."""
    from baton.security import Roles, grant

    roles = Roles(prefix)
    login, password = f"{prefix}_airflow", secrets.token_urlsafe(16)
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create role {} login password {}").format(sql.Identifier(login), sql.Literal(password)))
    grant(warehouse_url, prefix=prefix)
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        conn.execute(sql.SQL("grant {}, {} to {}").format(
            sql.Identifier(roles.loader), sql.Identifier(roles.transformer), sql.Identifier(login)))
    parts = urlsplit(warehouse_url)
    netloc = f"{quote(login, safe='')}:{quote(password, safe='')}@{parts.hostname}:{parts.port or 5432}"
    return parts._replace(netloc=netloc).geturl()


def drop_roles(server_url: str, prefix: str) -> None:
    """Drop the roles provision_roles made (after their database is dropped: they own nothing else)."""
    from baton.security import Roles

    with psycopg.connect(server_url, autocommit=True) as conn:
        for role in (f"{prefix}_airflow", *Roles(prefix).all):
            conn.execute(f'drop role if exists "{role}"')


def chain_env(root: Path, *, metadata_url: str, warehouse_login_url: str, sandbox_url: str, port: int) -> dict:
    """The environment every Airflow process of the chain shares (a worker adds its name and log port)."""
    sqlalchemy_url = metadata_url.replace("postgresql://", "postgresql+psycopg://", 1)
    sandbox = {"conn_type": "http", "host": sandbox_url, "login": SANDBOX_LOGIN, "password": SANDBOX_SECRET}
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "BATON_", "WAREHOUSE_URL"))}
    env.update({
        "AIRFLOW_HOME": str(root / "airflow"), "BATON_STATE_DIR": str(root / "state"), "DO_NOT_TRACK": "1",
        "AIRFLOW__CORE__DAGS_FOLDER": _dags_folder(), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url,
        "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS[0]}:{REDIS[1]}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + sqlalchemy_url,
        # A queue of this run's own: Redis is shared, no other worker may take these tasks.
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": f"baton-e2e-{uuid.uuid4().hex[:8]}",
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
        "AIRFLOW__API__PORT": str(port), "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        # The warehouse by its connection only (no WAREHOUSE_URL), as a member of loader and transformer.
        "AIRFLOW_CONN_WAREHOUSE_DEFAULT": warehouse_login_url.replace("postgresql://", "postgres://", 1),
        "AIRFLOW_CONN_SALESFORCE_DEFAULT": json.dumps(sandbox),
        "AIRFLOW_CONN_MARKETO_DEFAULT": json.dumps(sandbox),
        "BATON_START_DATE": "2020-01-01", "BATON_DBT_TASKS": "single",
        "BATON_TASK_RETRIES": "0", "BATON_TASK_RETRY_DELAY_SECONDS": "5",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    })
    return env


def _dags_folder() -> str:
    from baton.paths import DAGS_DIR

    return str(DAGS_DIR)


def _paused(metadata_url: str) -> dict[str, bool]:
    try:
        return dict(rows(metadata_url, "select dag_id, is_paused from dag where dag_id = any(%s)", (list(DAG_IDS),)))
    except psycopg.Error:  # the dag table is there once migrated; a race with the dag-processor's first write
        return {}


def run_states(metadata_url: str, dag_id: str) -> list[str]:
    """The DAG's runs' states, newest first, read from the metadata database."""
    return [state for (state,) in rows(metadata_url, "select state from dag_run where dag_id = %s order by id desc",
                                       (dag_id,))]


def chain_figures(metadata_url: str) -> dict:
    """From task_instance: the chain's wall time (the first extract task's start to check_and_publish's end),
    its two parts (the extracts: first start to last end; the transform: its first task's start to
    check_and_publish's end) and how many tasks each worker (hostname) ran."""
    started, extracted, transforming, published = rows(metadata_url, """
        select min(start_date) filter (where dag_id = any(%s)), max(end_date) filter (where dag_id = any(%s)),
               min(start_date) filter (where dag_id = 'baton_transform'),
               max(end_date) filter (where dag_id = 'baton_transform' and task_id = 'check_and_publish')
        from task_instance""", (list(DAG_IDS[:3]), list(DAG_IDS[:3])))[0]
    per_host = dict(rows(metadata_url, "select hostname, count(*) from task_instance where state = 'success'"
                                       " group by 1 order by 1"))

    def seconds(begin, end):
        return round((end - begin).total_seconds(), 1) if begin and end else None

    return {"chain_s": seconds(started, published), "extracts_s": seconds(started, extracted),
            "transform_s": seconds(transforming, published), "tasks_per_worker": per_host}


@contextmanager
def scheduled_chain(root: Path, *, metadata_url: str, warehouse_login_url: str, sandbox_url: str, workers: int = 2,
                    concurrency: int = 2, timeout_s: float = CHAIN_TIMEOUT_S) -> Iterator[dict]:
    """Start Airflow on CeleryExecutor with `workers` workers, unpause the DAGs, wait for baton_transform
    to end; yield what happened (states, figures, the processes for their logs); stop everything after."""
    port = free_port()
    env = chain_env(root, metadata_url=metadata_url, warehouse_login_url=warehouse_login_url,
                    sandbox_url=sandbox_url, port=port)
    processes = AirflowProcesses(env, root)
    try:
        migrated = processes.airflow("db", "migrate")
        if migrated.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed: {migrated.stderr[-2000:]}")
        processes.start("api-server", "api-server", "--port", str(port))
        processes.start("dag-processor", "dag-processor")
        processes.start("scheduler", "scheduler")
        names = [f"worker-{n}" for n in range(1, workers + 1)]
        for name in names:
            processes.start(name, "celery", "worker", "--queues", env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"],
                            "--concurrency", str(concurrency), "--celery-hostname", f"{name}@%h",
                            env={WORKER_NAME_VARIABLE: name,
                                 "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.worker_hostname",
                                 # each worker serves its task logs on a port of its own
                                 "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())})
        _wait(lambda: all(f"{name}@" in processes.log(name) and " ready." in processes.log(name) for name in names),
              180, "Celery workers never ready", processes)
        _wait(lambda: set(_paused(metadata_url)) == set(DAG_IDS), 180, "DAGs never parsed", processes)
        started = time.monotonic()
        # One transaction for the four: an Asset event reaches only an unpaused DAG, so baton_transform
        # may not be paused when the first extract publishes (baton_nightly stays paused).
        unpaused = processes.airflow("dags", "unpause", "--treat-dag-id-as-regex", "-y", UNPAUSE_PATTERN)
        if unpaused.returncode != 0 or any(_paused(metadata_url).values()):
            raise RuntimeError(f"DAGs still paused: {_paused(metadata_url)}: {unpaused.stderr[-2000:]}")
        state = None
        while time.monotonic() - started < timeout_s:
            states = run_states(metadata_url, "baton_transform")
            state = states[0] if states else None
            if state in ("success", "failed"):
                break
            time.sleep(5)
        yield {"state": state, "unpause_to_end_s": round(time.monotonic() - started, 1),
               "extracts": {dag_id: run_states(metadata_url, dag_id) for dag_id in DAG_IDS[:3]},
               "workers": names, "concurrency": concurrency, "processes": processes, "logs": root,
               "api_url": f"http://127.0.0.1:{port}", "airflow_home": Path(env["AIRFLOW_HOME"]),
               **chain_figures(metadata_url)}
    finally:
        processes.stop()


def _wait(condition, seconds: float, what: str, processes: AirflowProcesses) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} within {seconds:.0f}s\n{processes.tail()}")
        time.sleep(2)


def bench_celery(workers: int, *, concurrency: int = 2, people: int = 300, seed: int = 7) -> dict:
    """The scheduled chain's wall time with `workers` Celery workers, on a fresh two-source world and fresh
    databases on the warehouse's server (WAREHOUSE_URL), all dropped afterwards."""
    import tempfile

    from baton.warehouse import warehouse_url, with_database
    from baton_sandbox.server import SandboxServer
    from baton_sandbox.world import WorldParams, build_world

    if not redis_answers():
        raise RuntimeError(f"no Redis answers on {REDIS[0]}:{REDIS[1]}")
    server_url = warehouse_url()
    end = world_end()
    suffix = uuid.uuid4().hex[:8]
    databases = {"warehouse": f"baton_bench_celery_wh_{suffix}", "metadata": f"baton_bench_celery_af_{suffix}"}
    prefix = f"bb{suffix}"
    with tempfile.TemporaryDirectory(prefix="baton-bench-celery-") as tmp:
        root = Path(tmp)
        world = root / "world.sqlite"
        build_world(world, people=people, seed=seed, params=WorldParams(**two_source_world(end))).close()
        with psycopg.connect(server_url, autocommit=True) as conn:
            for name in databases.values():
                conn.execute(f'create database "{name}"')
        server = SandboxServer(world).start()
        server.set_clock(end)
        try:
            login_url = provision_roles(with_database(server_url, databases["warehouse"]), prefix)
            with scheduled_chain(root, metadata_url=with_database(server_url, databases["metadata"]),
                                 warehouse_login_url=login_url, sandbox_url=server.url, workers=workers,
                                 concurrency=concurrency) as chain:
                return {"workers": workers, "concurrency": concurrency, "people": people, "state": chain["state"],
                        **{key: chain[key] for key in ("chain_s", "extracts_s", "transform_s", "unpause_to_end_s",
                                                        "tasks_per_worker")}}
        finally:
            server.stop()
            with psycopg.connect(server_url, autocommit=True) as conn:
                for name in databases.values():
                    conn.execute(f'drop database if exists "{name}" with (force)')
            drop_roles(server_url, prefix)
