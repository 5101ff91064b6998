"""Baton on CeleryExecutor: Airflow's own processes (api-server, scheduler, dag-processor, one Celery
worker; Redis as the broker, the metadata database and the result backend on PostgreSQL), the DAGs
unpaused, and the chain runs on its own: the extracts of the two configured sources (HubSpot has no
connection: its DAG succeeds doing nothing), baton_transform on their Assets, the gate, the publish.
The world lives in Salesforce and Marketo only; its handoffs and leaks then equal the planted truth."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from baton.paths import DAGS_DIR
from tests.e2e.test_leaks_against_planted_truth import LEAK_TYPES, _rows, _warehouse_handoffs, _warehouse_leaks

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

CHAIN_TIMEOUT_S = 900
DAG_IDS = ("baton_extract_salesforce", "baton_extract_marketo", "baton_extract_hubspot", "baton_transform")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class AirflowProcesses:
    """Starts Airflow's processes in their own process groups; stop() ends exactly those."""

    def __init__(self, env: dict, logs: Path):
        self.env, self.logs, self.started = env, logs, []

    def airflow(self, *args, timeout=300) -> subprocess.CompletedProcess:
        return subprocess.run(["airflow", *args], env=self.env, capture_output=True, text=True, timeout=timeout)

    def start(self, name: str, *args) -> None:
        log = open(self.logs / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(["airflow", *args], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.started.append((name, proc, log))

    def stop(self) -> None:
        for _, proc, _ in self.started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for _, proc, log in self.started:
            try:
                proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            log.close()

    def tail(self, lines=40) -> str:
        return "\n".join(f"--- {name}\n" + "\n".join((self.logs / f"{name}.log").read_text().splitlines()[-lines:])
                         for name, _, _ in self.started)


def _run_states(metadata_url: str, dag_id: str) -> list[str]:
    """The DAG's runs' states, newest first, read from the metadata database (the test's view, not a task's)."""
    return [state for (state,) in _rows(metadata_url, f"select state from dag_run where dag_id = '{dag_id}' order by id desc")]


def _paused(metadata_url: str) -> dict[str, bool]:
    ids = ", ".join(f"'{dag_id}'" for dag_id in DAG_IDS)
    try:
        return dict(_rows(metadata_url, f"select dag_id, is_paused from dag where dag_id in ({ids})"))
    except Exception:  # the dag table is there once migrated; a race with the dag-processor's first write
        return {}


def _world_end() -> datetime:
    """The end of the data interval the scheduler runs when a nightly DAG is unpaused: today's 00:00 UTC."""
    return datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
def chain(server_url, sandbox_world_factory, tmp_path_factory):
    from baton_sandbox.server import SandboxServer
    from baton_sandbox.store import WorldStore
    from baton_sandbox.truth import compute_truth
    from tests.fixtures.warehouse import _create_database, _drop_database

    if not _redis_answers():
        pytest.skip("no Redis answers on 127.0.0.1:6379")
    end = _world_end()
    world = sandbox_world_factory(people=300, hubspot_only_share=0.0, marketo_and_hubspot_share=0.0,
                                  world_start=(end - timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                                  world_end=end.strftime("%Y-%m-%dT%H:%M:%SZ"))
    store = WorldStore(world, readonly=True)
    truth = compute_truth(store, end)
    store.close()
    root = tmp_path_factory.mktemp("celery")
    warehouse_db, warehouse_url = _create_database(server_url, "baton_celery_wh")
    metadata_db, metadata_url = _create_database(server_url, "baton_celery_af")
    server = SandboxServer(world).start()
    server.set_clock(end)
    port = _free_port()
    sandbox = {"conn_type": "http", "host": server.url, "login": "baton-e2e-client", "password": "baton-e2e-secret"}
    wh = warehouse_url.split("://", 1)[1]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "BATON_", "WAREHOUSE_URL"))}
    env.update({
        "AIRFLOW_HOME": str(root / "airflow"), "BATON_STATE_DIR": str(root / "state"), "DO_NOT_TRACK": "1",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url.replace("postgresql://", "postgresql+psycopg://", 1),
        "AIRFLOW__CELERY__BROKER_URL": "redis://127.0.0.1:6379/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata_url.replace("postgresql://", "postgresql+psycopg://", 1),
        # A queue of this test's own: Redis is shared, no other worker may take these tasks.
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": f"baton-e2e-{uuid.uuid4().hex[:8]}",
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
        "AIRFLOW__API__PORT": str(port), "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW_CONN_WAREHOUSE_DEFAULT": f"postgres://{wh}",  # the warehouse by its connection, no WAREHOUSE_URL
        "AIRFLOW_CONN_SALESFORCE_DEFAULT": json.dumps(sandbox),
        "AIRFLOW_CONN_MARKETO_DEFAULT": json.dumps(sandbox),
        "BATON_START_DATE": "2020-01-01", "BATON_DBT_TASKS": "single",
        "BATON_TASK_RETRIES": "0", "BATON_TASK_RETRY_DELAY_SECONDS": "5",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    })
    processes = AirflowProcesses(env, root)
    try:
        migrated = processes.airflow("db", "migrate")
        assert migrated.returncode == 0, migrated.stderr[-2000:]
        processes.start("api-server", "api-server", "--port", str(port))
        processes.start("dag-processor", "dag-processor")
        processes.start("scheduler", "scheduler")
        processes.start("worker", "celery", "worker", "--queues", env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"],
                        "--concurrency", "2")
        started = time.monotonic()
        # The dag-processor stores the DAGs first; unpausing needs the stored DAG, so until each is unpaused.
        while _paused(metadata_url) != {}.fromkeys(DAG_IDS, False):
            assert time.monotonic() - started < 180, f"DAGs never parsed: {_paused(metadata_url)}\n{processes.tail()}"
            for dag_id, paused in _paused(metadata_url).items():
                if paused:
                    processes.airflow("dags", "unpause", dag_id)
            time.sleep(3)
        state = None
        while time.monotonic() - started < CHAIN_TIMEOUT_S:
            states = _run_states(metadata_url, "baton_transform")
            state = states[0] if states else None
            if state in ("success", "failed"):
                break
            time.sleep(10)
        wall_s = time.monotonic() - started
        extracts = {dag_id: _run_states(metadata_url, dag_id) for dag_id in DAG_IDS[:3]}
        assert state == "success", f"baton_transform ended {state}\n{processes.tail()}"
        print(f"\nCelery chain (one worker): unpause → baton_transform success in {wall_s:.0f}s")
        yield {"url": warehouse_url, "truth": truth, "extracts": extracts, "logs": root, "wall_s": wall_s}
    finally:
        processes.stop()
        server.stop()
        _drop_database(server_url, warehouse_db)
        _drop_database(server_url, metadata_db)


def test_every_extract_dag_succeeds_and_the_one_without_a_connection_loads_nothing(chain):
    for dag_id, runs in chain["extracts"].items():
        assert runs == ["success"], dag_id
    loaded = dict(_rows(chain["url"], "select source, count(*) from baton_meta.load_log group by 1"))
    assert set(loaded) == {"salesforce", "marketo"}
    skipped = [line for path in chain["logs"].rglob("*.log") for line in path.read_text(errors="replace").splitlines()
               if "hubspot: source skipped: no connection 'hubspot_default'" in line]
    assert skipped, "the HubSpot extract did not say why it loaded nothing"


def test_the_scheduled_chains_handoffs_equal_the_planted_truth(chain):
    url, truth = chain["url"], chain["truth"]
    warehouse_person = {key: person for key, person in _rows(
        url, "select record_key, person_id from intermediate.int_people_matched_across_sources")}
    person_of = {}
    for person in truth["people"]:
        found = {warehouse_person.get(f"{i['source_system']}:{i['source_object']}:{i['source_id']}")
                 for i in person["identities"]} - {None}
        if found:
            person_of[person["person_id"]] = found.pop()
    handoff_key = {h["handoff_id"]: (person_of.get(h["person_id"]), h["handed_off_at"]) for h in truth["handoffs"]}
    assert set(_warehouse_handoffs(url)) == set(handoff_key.values())
    assert len(handoff_key) >= 10
    chain["keys"] = (person_of, handoff_key)


@pytest.mark.parametrize("leak_type", LEAK_TYPES)
def test_the_scheduled_chains_leaks_equal_the_planted_truth(chain, leak_type):
    if "keys" not in chain:
        test_the_scheduled_chains_handoffs_equal_the_planted_truth(chain)
    person_of, handoff_key = chain["keys"]
    planted = {(leak["leak_type"], person_of.get(leak["person_id"]), handoff_key.get(leak["handoff_id"]))
               for leak in chain["truth"]["leaks"] if leak["leak_type"] == leak_type}
    found = {key for key in _warehouse_leaks(chain["url"]) if key[0] == leak_type}
    assert found == planted
