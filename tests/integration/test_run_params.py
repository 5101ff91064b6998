"""A manual run's params reach the extract: `full_refresh` reads from the start and `since` from an
instant, whatever the watermarks say; bad params are refused before anything runs.

The Marketo extract DAG runs in `airflow dags test` against the sandbox's hand-made world, on a
warehouse whose Marketo watermarks were planted at the world's end: read from its watermarks, a
run would find no activity at all.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import pytest

from baton.connections import ConnectionFields, to_uri
from baton.instants import parse_instant
from baton.sources.registry import get_source
from baton_sandbox.store import WorldStore
from tests.fixtures.airflow_home import airflow_home_env

pytestmark = pytest.mark.timeout(600)

WORLD_END = datetime(2026, 11, 1, tzinfo=timezone.utc)
SINCE = "2026-05-06T00:00:00Z"  # the hand-made world's activities run from 2026-05-01 to mid-May


def plant_watermarks(url: str, at: datetime) -> None:
    from baton.load.schema import ensure_meta

    with psycopg.connect(url, autocommit=True) as conn:
        ensure_meta(conn)
        for stream in get_source("marketo").stream_names:
            conn.execute("insert into baton_meta.sync_state (source, stream, watermark, updated_at)"
                         " values ('marketo', %s, %s, now())", (stream, at))


def activity_load(url: str) -> tuple[int, set[str]]:
    """The latest activity load's extracted count, and the activity ids in the raw table."""
    with psycopg.connect(url) as conn:
        extracted = conn.execute("select extracted from baton_meta.load_log where source = 'marketo'"
                                 " and stream = 'activity' order by started_at desc limit 1").fetchone()[0]
        ids = {row[0] for row in conn.execute("select id from raw_marketo.activity")}
    return extracted, ids


def watermarks(url: str) -> set[datetime]:
    with psycopg.connect(url) as conn:
        return {row[0] for row in conn.execute(
            "select watermark from baton_meta.sync_state where source = 'marketo' and watermark is not null")}


def test_the_full_refresh_param_of_a_manual_run_reads_every_stream_from_the_start(
        sandbox_server_factory, tiny_world, fresh_warehouse, tmp_path, airflow_home_factory):
    server = sandbox_server_factory(tiny_world)
    env = airflow_home_env(airflow_home_factory(tmp_path / "airflow"))
    env.update({"WAREHOUSE_URL": fresh_warehouse, "BATON_START_DATE": "2024-01-01",
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(tmp_path / "logs"),
                "AIRFLOW_CONN_MARKETO_DEFAULT": to_uri(ConnectionFields("marketo_default", "http", server.url,
                                                                        "params-client", "params-secret"))})
    plant_watermarks(fresh_warehouse, WORLD_END)
    airflow = str(Path(sys.executable).parent / "airflow")

    run = subprocess.run([airflow, "dags", "test", "baton_extract_marketo", "2026-11-02",
                          "--conf", json.dumps({"full_refresh": True})], env=env, capture_output=True, text=True,
                         timeout=400)

    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    extracted, ids = activity_load(fresh_warehouse)
    store = WorldStore(tiny_world, readonly=True)
    in_the_world = len(list(store.current("marketo", "activity", WORLD_END)))
    store.close()
    with psycopg.connect(fresh_warehouse) as conn:
        latest = conn.execute("select max(source_updated_at) from raw_marketo.activity").fetchone()[0]
    assert latest < WORLD_END  # from its watermarks, the run would not have read a single activity
    assert extracted == len(ids) == in_the_world  # every activity, from the backfill start
    assert watermarks(fresh_warehouse) == {WORLD_END}  # reading from further back never moves a watermark back


def test_since_reads_from_that_instant_past_the_watermarks(sandbox_server_factory, tiny_world, fresh_warehouse):
    """The extract task's `since` keyword (what the param becomes, baton.airflow.tasks.extract_options)."""
    from baton.sources.api import RetryPolicy
    from baton.sources.runner import run_source

    server = sandbox_server_factory(tiny_world)
    plant_watermarks(fresh_warehouse, WORLD_END)
    connection = ConnectionFields("marketo_default", "http", server.url, "params-client", "params-secret")
    fast = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_cap=0.1, timeout=10)

    run_source("marketo", connection, fresh_warehouse, end=WORLD_END, streams=["activity_type", "activity"],
               policy=fast, since=parse_instant(SINCE))

    extracted, ids = activity_load(fresh_warehouse)
    store = WorldStore(tiny_world, readonly=True)
    since_then = {version.record()["marketoGUID"] for version in store.current("marketo", "activity", WORLD_END)
                  if parse_instant(version.record()["activityDate"]) >= parse_instant(SINCE)}
    store.close()
    assert 0 < extracted == len(ids) and ids == since_then
    assert watermarks(fresh_warehouse) == {WORLD_END}


def test_a_since_that_is_not_an_instant_is_refused_by_the_params_schema():
    from airflow.sdk.exceptions import ParamValidationError

    from baton.airflow.dags import run_params

    since = run_params()["since"]
    for good in (None, "2026-03-01", "2026-03-01T06:00:00Z", "2026-03-01T06:00:00.000000+02:00"):
        assert since.resolve(good) == good
    for bad in ("yesterday", "2026-3-1", "01/03/2026"):
        with pytest.raises(ParamValidationError):
            since.resolve(bad)
    with pytest.raises(ParamValidationError):
        run_params()["dbt_vars"].resolve(["sla_business_minutes", 60])


@pytest.mark.parametrize(("options", "says"), [
    (["--vars", "[sla_business_minutes, 60]"], "must be a mapping"),
    (["--vars", "{sla_business_minutes: 60"], "is not YAML or JSON"),
    (["--since", "last week"], "is not an ISO date or instant"),
    (["--full-refresh", "--since", "2026-03-01"], "give one of them"),
])
def test_baton_run_refuses_bad_options_before_starting_anything(options, says, capsys):
    from baton.cli import main

    assert main(["run", "--date", "2026-11-01", *options]) == 2
    assert says in capsys.readouterr().out
