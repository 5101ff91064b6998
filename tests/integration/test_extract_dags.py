"""The three extract DAGs run in `airflow dags test` against the sandbox and land exactly its records."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from baton.airflow.environment import airflow_env
from baton.connections import ConnectionFields, to_uri
from baton.run import ensure_airflow_db
from tests.integration.test_extract_sandbox import (
    WORLD_END,
    assert_hubspot_matches_world,
    assert_marketo_matches_world,
    assert_salesforce_matches_world,
)

SECRET = "dag-test-secret-7731"
CHECKS = {"salesforce": assert_salesforce_matches_world, "marketo": assert_marketo_matches_world,
          "hubspot": assert_hubspot_matches_world}


@pytest.fixture(scope="module")
def airflow_base_env(tmp_path_factory) -> dict[str, str]:
    """An Airflow home of this module's own: a shared SQLite metadata database breaks under
    concurrent `airflow dags test` runs (other test sessions, `make demo`)."""
    home = tmp_path_factory.mktemp("airflow-home")
    env = airflow_env({**os.environ, "AIRFLOW_HOME": str(home),
                       "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}"})
    ensure_airflow_db(env)
    return env


@pytest.mark.slow
@pytest.mark.parametrize("source", ["salesforce", "marketo", "hubspot"])
def test_extract_dag_lands_exactly_the_sandbox_records_and_logs_no_secret(source, sandbox_server, sandbox_world,
                                                                          fresh_warehouse, tmp_path,
                                                                          airflow_base_env):
    env = dict(airflow_base_env)
    env["WAREHOUSE_URL"] = fresh_warehouse
    env["BATON_START_DATE"] = "2024-01-01"  # the whole world's history, to compare with the store
    env[f"AIRFLOW_CONN_{source.upper()}_DEFAULT"] = to_uri(
        ConnectionFields(f"{source}_default", "http", sandbox_server.url, "dag-client-id", SECRET))
    env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] = str(tmp_path / "logs")
    airflow = str(Path(sys.executable).parent / "airflow")
    # A manual run for 2026-11-02 covers the last complete interval, which ends 2026-11-01 02:00,
    # after the world's end: the run must land the whole world.
    run = subprocess.run([airflow, "dags", "test", f"baton_extract_{source}", "2026-11-02"], env=env,
                         capture_output=True, text=True, timeout=600)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    assert "state=success" in output or "success" in output
    CHECKS[source](fresh_warehouse, sandbox_world, WORLD_END)
    with psycopg.connect(fresh_warehouse) as conn:
        statuses = {row[0] for row in conn.execute("select status from baton_meta.load_log")}
    assert statuses == {"success"}
    task_logs = "".join(p.read_text(errors="replace") for p in (tmp_path / "logs").rglob("*") if p.is_file())
    assert SECRET not in output and SECRET not in task_logs
