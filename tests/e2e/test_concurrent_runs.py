"""Two `baton run`s on one warehouse at once (each with its own Airflow home, as two terminals or
two machines would have): the second refuses, naming the run that holds the warehouse, and the
first lands, builds and publishes exactly what the sandbox planted."""

from __future__ import annotations

import os
import threading
from collections import Counter
from datetime import date

import psycopg
import pytest

from baton.airflow.environment import airflow_env
from baton.build.lease import WarehouseBusy
from baton.run import run_nightly
from baton_sandbox.demo import demo_environment
from baton_sandbox.store import WorldStore
from baton_sandbox.truth import compute_truth

RUN_DATE = date(2026, 11, 1)


def run_env(home, sandbox_url: str, warehouse_url: str) -> dict[str, str]:
    env = airflow_env({**os.environ, "AIRFLOW_HOME": str(home),
                       "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}"})
    env.update(demo_environment(sandbox_url))
    env.update({"WAREHOUSE_URL": warehouse_url, "BATON_START_DATE": "2024-01-01", "BATON_QUALITY_DATA_DOCS": "0"})
    env.pop("BATON_DIGEST_WEBHOOK_URL", None)
    env.pop("BATON_RUN_ID", None)
    return env


@pytest.mark.slow
def test_a_second_baton_run_on_the_same_warehouse_refuses_and_the_first_publishes(
        sandbox_server, sandbox_world, fresh_warehouse, tmp_path):
    started = threading.Event()
    progress: list[str] = []
    outcome: dict = {}

    def first_run():
        def echo(line: str) -> None:
            progress.append(line)
            if "Airflow's log:" in line:
                started.set()
        try:
            outcome["first"] = run_nightly(RUN_DATE, run_env(tmp_path / "first", sandbox_server.url, fresh_warehouse),
                                           echo=echo)
        finally:
            started.set()

    first = threading.Thread(target=first_run)
    first.start()
    assert started.wait(timeout=300)
    with pytest.raises(WarehouseBusy, match=r"another run holds the warehouse since \d{4}-\d\d-\d\d .*baton run "):
        run_nightly(RUN_DATE, run_env(tmp_path / "second", sandbox_server.url, fresh_warehouse), echo=progress.append)
    first.join(timeout=1200)

    assert outcome["first"]["ok"], "\n".join(progress)
    store = WorldStore(sandbox_world, readonly=True)
    truth = compute_truth(store, as_of="2026-11-01T00:00:00Z")
    store.close()
    with psycopg.connect(fresh_warehouse) as conn:
        handoffs = conn.execute("select count(*) from marts.fct_handoffs").fetchone()[0]
        leaks = dict(conn.execute("select leak_type, count(*) from marts.fct_funnel_leaks group by 1").fetchall())
        gates = conn.execute("select passed, published_at is not null from quality.gate_runs").fetchall()
        lease = conn.execute("select count(*) from quality.warehouse_lease").fetchone()[0]
    assert handoffs == len(truth["handoffs"])
    assert leaks == dict(Counter(row["leak_type"] for row in truth["leaks"]))
    assert gates == [(True, True)]
    assert lease == 0  # the publish gave the warehouse back
