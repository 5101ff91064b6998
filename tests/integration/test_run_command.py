"""`baton run` as a user drives it from a terminal: a failed task shows as failed and the exit code
says so, a SIGTERM stops Airflow's whole process group, and two runs never share Airflow's
metadata database. No source connection is configured here (every source is skipped); the
warehouse is a real PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import psycopg
import pytest

from baton import warehouse
from baton.build.steps import prepare

BATON = str(Path(sys.executable).with_name("baton"))
RUN_DATE = "2026-11-01"


def baton_env(state_dir: Path, warehouse_url: str) -> dict[str, str]:
    """The user's environment: no Airflow of their own, no source connections, this warehouse."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("AIRFLOW", "BATON_")) and key != "WAREHOUSE_URL"}
    env.update({"BATON_STATE_DIR": str(state_dir), "WAREHOUSE_URL": warehouse_url, "BATON_QUALITY_DATA_DOCS": "0"})
    return env


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory):
    # One Airflow home for the module: `airflow db migrate` runs once.
    return tmp_path_factory.mktemp("baton_run_state")


def test_a_failed_task_shows_a_cross_and_the_run_exits_1(state_dir, fresh_warehouse):
    # A scheduled baton_transform holds the warehouse: this run's prepare fails (no waiting here).
    held = prepare(fresh_warehouse, owner="baton_transform scheduled run")["lease"]
    env = {**baton_env(state_dir, fresh_warehouse), "BATON_LEASE_WAIT_SECONDS": "0"}

    run = subprocess.run([BATON, "run", "--date", RUN_DATE], env=env, capture_output=True, text=True, timeout=600)

    lines = run.stdout.splitlines()
    assert run.returncode == 1, run.stdout + run.stderr
    assert any(line.startswith("  ✗ prepare (") and "failed" in line for line in lines), run.stdout
    assert not any(line.startswith("  ✓ prepare") for line in lines), run.stdout
    assert any(line.startswith("  ✗ check_and_publish") and "upstream failed" in line for line in lines), run.stdout
    assert "failed tasks: prepare" in run.stdout and "another run holds the warehouse since" in run.stdout
    assert lines[-1].startswith("baton: FAILED in ")
    with psycopg.connect(fresh_warehouse) as conn:  # the other run's lease is untouched
        assert conn.execute("select token from quality.warehouse_lease").fetchone()[0] == held


def test_an_unreachable_warehouse_fails_before_starting_with_exit_1(state_dir, server_url):
    missing = warehouse.with_database(server_url, "baton_no_such_database")

    run = subprocess.run([BATON, "run", "--date", RUN_DATE], env=baton_env(state_dir, missing),
                         capture_output=True, text=True, timeout=120)

    assert run.returncode == 1
    assert "baton_no_such_database" in run.stdout and run.stdout.splitlines()[-1] == "baton: FAILED (not started)"


def test_sigterm_to_baton_run_leaves_no_airflow_process_behind(state_dir, fresh_warehouse):
    run = subprocess.Popen([BATON, "run", "--date", RUN_DATE], env=baton_env(state_dir, fresh_warehouse),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    for line in run.stdout:
        seen.append(line)
        if "▶ extract_" in line or "▶ as_of" in line:
            break
    children = psutil.Process(run.pid).children(recursive=True)
    assert children, "".join(seen)
    group = os.getpgid(children[0].pid)
    assert group != os.getpgid(run.pid)  # Airflow runs in a process group of its own

    run.send_signal(signal.SIGTERM)
    rest, _ = run.communicate(timeout=60)

    assert run.returncode == 128 + signal.SIGTERM, "".join(seen) + rest
    assert "INTERRUPTED" in rest.splitlines()[-1]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _group_members(group):
        time.sleep(0.5)
    assert _group_members(group) == [] and not any(child.is_running() and child.status() != psutil.STATUS_ZOMBIE
                                                   for child in children)


def test_sigkill_to_baton_run_takes_airflow_down_with_it(state_dir, fresh_warehouse):
    run = subprocess.Popen([BATON, "run", "--date", RUN_DATE], env=baton_env(state_dir, fresh_warehouse),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in run.stdout:
        if "▶ " in line:
            break
    group = os.getpgid(psutil.Process(run.pid).children()[0].pid)

    run.kill()  # nothing of baton run's own code runs: the kernel tells the child (PR_SET_PDEATHSIG)
    run.wait(timeout=10)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _group_members(group):
        time.sleep(0.5)
    assert _group_members(group) == []


def _group_members(pgid: int) -> list[int]:
    members = []
    for process in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(process.pid) == pgid and process.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(process.pid)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return members


def test_a_second_run_on_the_same_airflow_home_refuses_while_the_first_runs(state_dir, fresh_warehouse):
    env = baton_env(state_dir, fresh_warehouse)
    first = subprocess.Popen([BATON, "run", "--date", RUN_DATE], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    first_output = []
    for line in first.stdout:
        first_output.append(line)
        if "Airflow's log:" in line:
            break

    second = subprocess.run([BATON, "run", "--date", RUN_DATE], env=env, capture_output=True, text=True, timeout=120)
    rest, _ = first.communicate(timeout=600)

    assert second.returncode == 1
    assert "another baton run holds Airflow's metadata database" in second.stdout and f"pid {first.pid}" in second.stdout
    assert second.stdout.splitlines()[-1] == "baton: FAILED (not started)"
    assert first.returncode == 0, "".join(first_output) + rest
    logs = sorted((state_dir / "logs").glob(f"nightly-{RUN_DATE}-*.log"))
    assert len({log.name for log in logs}) == len(logs) >= 2  # every run its own log file
    with psycopg.connect(fresh_warehouse) as conn:
        assert conn.execute("select count(*) from quality.gate_runs where published_at is not null").fetchone()[0] == 1
