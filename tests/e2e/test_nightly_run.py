"""The nightly run as `baton run` and `make demo` drive it: baton_nightly in `airflow dags test`.

One run over the session's sandbox world lands every source, builds and publishes the marts,
and what it publishes is what the sandbox planted (handoffs and leaks per type, counted at the
run's as-of, the end of its data interval).
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import date

import psycopg
import pytest

from baton.airflow.environment import airflow_env
from baton.run import run_nightly
from baton_sandbox.demo import demo_environment
from baton_sandbox.store import WorldStore
from baton_sandbox.truth import compute_truth

RUN_DATE = date(2026, 11, 1)  # the sandbox world's end: as-of 2026-11-01T00:00Z


@pytest.mark.slow
def test_nightly_dag_run_lands_every_source_and_publishes_what_the_sandbox_planted(
        sandbox_server, sandbox_world, fresh_warehouse, tmp_path):
    home = tmp_path / "airflow"
    env = airflow_env({**os.environ, "AIRFLOW_HOME": str(home),
                       "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}"})
    env.update(demo_environment(sandbox_server.url))
    env.update({"WAREHOUSE_URL": fresh_warehouse, "BATON_START_DATE": "2024-01-01",
                "BATON_QUALITY_DATA_DOCS": "0", "BATON_REPORTS_DIR": str(tmp_path / "reports")})
    env.pop("BATON_DIGEST_WEBHOOK_URL", None)
    progress: list[str] = []

    result = run_nightly(RUN_DATE, env, echo=progress.append)

    assert result["ok"], "\n".join(progress)
    for task in ("extract_salesforce", "extract_marketo", "extract_hubspot", "as_of", "prepare", "dbt_build",
                 "mark_built", "check_and_publish", "digest", "report"):
        assert f"  ▶ {task}" in progress and any(line.startswith(f"  ✓ {task} (") for line in progress), progress
    # The night's report, its stable copy and the data dictionary, each one self-contained file.
    reports = tmp_path / "reports"
    assert (reports / "report-2026-11-01.html").read_bytes() == (reports / "latest.html").read_bytes()
    assert b"<script src=\"http" not in (reports / "latest.html").read_bytes()
    assert (reports / "data-dictionary.html").stat().st_size > 100_000

    store = WorldStore(sandbox_world, readonly=True)
    truth = compute_truth(store, as_of="2026-11-01T00:00:00Z")
    store.close()
    with psycopg.connect(fresh_warehouse) as conn:
        for schema in ("raw_salesforce", "raw_marketo", "raw_hubspot"):
            tables = [row[0] for row in conn.execute(
                "select table_name from information_schema.tables where table_schema = %s", (schema,))]
            assert sum(conn.execute(f'select count(*) from {schema}."{t}"').fetchone()[0] for t in tables) > 0, schema
        statuses = Counter(row[0] for row in conn.execute("select status from baton_meta.load_log"))
        assert set(statuses) == {"success"}
        handoffs = conn.execute("select count(*) from marts.fct_handoffs").fetchone()[0]
        leaks = dict(conn.execute("select leak_type, count(*) from marts.fct_funnel_leaks group by 1").fetchall())
        people = conn.execute("select count(*) from marts.dim_people where not is_deleted").fetchone()[0]
        gate = conn.execute("select bool_and(success) from quality.validation_runs where severity = 'error'").fetchone()[0]
        shadows = conn.execute("select count(*) from information_schema.schemata"
                               " where schema_name = 'marts_shadow'").fetchone()[0]

    assert handoffs == len(truth["handoffs"])
    assert leaks == dict(Counter(row["leak_type"] for row in truth["leaks"]))
    assert people > 0
    assert gate is True
    assert shadows <= 1  # the swapped-out generation may stay as the next build's shadow; never a third copy
