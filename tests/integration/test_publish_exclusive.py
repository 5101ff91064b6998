"""One build → gate → publish sequence at a time per warehouse (baton.build.lease): a second
sequence waits for the first or refuses, and never drops the first's shadow in the middle of its gate.

The sequences run the real steps (prepare, mark_built, check_and_publish with the gate) on a real
PostgreSQL; the dbt build in between is replaced by hand-made shadow tables, as in test_publish_atomic.
"""

from __future__ import annotations

import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from baton.build.lease import LeaseLost, WarehouseBusy
from baton.build.publish import read_generation
from baton.build.steps import check_and_publish, mark_built, prepare
from baton.quality.gate import run_gate

NIGHT = datetime(2026, 10, 31, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def own_state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BATON_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("BATON_QUALITY_DATA_DOCS", "0")


def build_by_hand(url: str, people: list[str]) -> None:
    """What dbt leaves in the shadow after prepare: a staging table, a view, a mart."""
    with psycopg.connect(url, autocommit=True) as conn:
        for schema in ("staging_shadow", "marts_shadow"):
            conn.execute(f"create schema if not exists {schema}")
        conn.execute("drop table if exists staging_shadow.people_seed, marts_shadow.dim_people cascade")
        conn.execute("create table staging_shadow.people_seed (person_id text)")
        with conn.cursor() as cursor:
            cursor.executemany("insert into staging_shadow.people_seed values (%s)", [(p,) for p in people])
        conn.execute("create table marts_shadow.dim_people as"
                     " select person_id, 'mql' as lifecycle_stage, false as is_deleted from staging_shadow.people_seed")


def live_people(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return sorted(row[0] for row in conn.execute("select person_id from marts.dim_people"))


def test_a_second_sequence_refuses_while_the_first_holds_the_warehouse_and_leaves_its_shadow(fresh_warehouse,
                                                                                             monkeypatch):
    first = prepare(fresh_warehouse, owner="first run")
    build_by_hand(fresh_warehouse, ["p1", "p2"])
    build_id = mark_built(fresh_warehouse, as_of=NIGHT, lease=first["lease"])

    monkeypatch.setenv("BATON_LEASE_WAIT_SECONDS", "0")
    with pytest.raises(WarehouseBusy, match=r"another run holds the warehouse since \d{4}-\d\d-\d\d .*first run"):
        prepare(fresh_warehouse, owner="second run")
    with psycopg.connect(fresh_warehouse) as conn:
        shadow = read_generation(conn, "marts_shadow")
    assert (shadow.state, shadow.build_id) == ("built", build_id)  # the refused prepare dropped nothing

    published = check_and_publish(fresh_warehouse, as_of=NIGHT, lease=first["lease"])
    assert published["published"] and live_people(fresh_warehouse) == ["p1", "p2"]
    # The publish gave the warehouse back: the next sequence starts at once.
    assert prepare(fresh_warehouse, owner="second run")["lease"]


def test_two_concurrent_sequences_take_turns_and_each_publishes_its_own_build(fresh_warehouse, monkeypatch):
    monkeypatch.setenv("BATON_LEASE_WAIT_SECONDS", "120")
    spans: dict[str, tuple[float, float]] = {}
    published: dict[str, dict] = {}
    errors: list[BaseException] = []

    def sequence(name: str, people: list[str], as_of: datetime) -> None:
        try:
            prepared = prepare(fresh_warehouse, owner=name)
            started = time.monotonic()
            build_by_hand(fresh_warehouse, people)
            time.sleep(1)  # a build takes a while: the other sequence is trying to prepare now
            mark_built(fresh_warehouse, as_of=as_of, lease=prepared["lease"])
            published[name] = check_and_publish(fresh_warehouse, as_of=as_of, lease=prepared["lease"])
            assert live_people(fresh_warehouse) == people
            spans[name] = (started, time.monotonic())
        except BaseException as error:  # reported below, with the other sequence's outcome
            errors.append(error)

    runs = [threading.Thread(target=sequence, args=("a", ["a1", "a2"], NIGHT)),
            threading.Thread(target=sequence, args=("b", ["b1", "b2", "b3"], NIGHT + timedelta(days=1)))]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=300)

    assert errors == []
    assert set(published) == {"a", "b"} and all(p["published"] for p in published.values())
    (first_start, first_end), (second_start, _) = sorted(spans.values())
    assert first_end <= second_start  # one build → gate → publish after the other, never interleaved
    with psycopg.connect(fresh_warehouse) as conn:
        gates = conn.execute("select passed, published_at is not null from quality.gate_runs").fetchall()
    assert gates == [(True, True), (True, True)]


def test_a_lease_gone_stale_is_taken_over_and_its_old_holder_cannot_publish(fresh_warehouse, monkeypatch):
    stalled = prepare(fresh_warehouse, owner="stalled run")
    build_by_hand(fresh_warehouse, ["p1"])
    mark_built(fresh_warehouse, as_of=NIGHT, lease=stalled["lease"])

    monkeypatch.setenv("BATON_LEASE_STALE_SECONDS", "0")
    fresh = prepare(fresh_warehouse, owner="fresh run")
    build_by_hand(fresh_warehouse, ["p2"])
    mark_built(fresh_warehouse, as_of=NIGHT, lease=fresh["lease"])

    with pytest.raises(LeaseLost, match="no longer holds the warehouse.*fresh run"):
        check_and_publish(fresh_warehouse, as_of=NIGHT, lease=stalled["lease"])
    assert check_and_publish(fresh_warehouse, as_of=NIGHT, lease=fresh["lease"])["published"]
    assert live_people(fresh_warehouse) == ["p2"]


def test_a_gate_run_that_never_finished_is_marked_failed_by_the_next_gate(fresh_warehouse):
    build_by_hand(fresh_warehouse, ["p1"])
    run_gate(fresh_warehouse, as_of=NIGHT, schema_suffix="_shadow")
    with psycopg.connect(fresh_warehouse, autocommit=True) as conn:
        conn.execute("insert into quality.gate_runs (run_id, as_of, checked_schema, started_at)"
                     " values ('killed', %s, 'marts_shadow', now() - interval '1 hour')", (NIGHT,))

    summary = run_gate(fresh_warehouse, as_of=NIGHT, schema_suffix="_shadow")

    with psycopg.connect(fresh_warehouse) as conn:
        killed = conn.execute("select passed, finished_at is not null, reason from quality.gate_runs"
                              " where run_id = 'killed'").fetchone()
        unfinished = conn.execute("select count(*) from quality.gate_runs where finished_at is null").fetchone()[0]
    assert killed[:2] == (False, True) and summary["run_id"] in killed[2] and "never finished" in killed[2]
    assert unfinished == 0


def test_the_lease_of_a_killed_baton_run_is_taken_over_at_once(fresh_warehouse, monkeypatch):
    monkeypatch.setenv("BATON_RUN_ID", "killed-run")
    prepare(fresh_warehouse, owner="baton run killed with SIGKILL")
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid that no longer exists: the `airflow dags test` process that held the lease
    with psycopg.connect(fresh_warehouse, autocommit=True) as conn:
        conn.execute("update quality.warehouse_lease set pid = %s", (gone.pid,))

    monkeypatch.setenv("BATON_RUN_ID", "next-run")
    monkeypatch.setenv("BATON_LEASE_WAIT_SECONDS", "0")
    assert prepare(fresh_warehouse, owner="next baton run")["lease"]
    with psycopg.connect(fresh_warehouse) as conn:
        assert conn.execute("select owner from quality.warehouse_lease").fetchone()[0] == "next baton run"
