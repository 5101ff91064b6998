"""Atomic publish: analysts see last night's marts or tonight's, never a failed or half-built set.

Each test builds "generations" by hand the way dbt leaves them in the shadow schemas (a seed
table and a view in staging, a table in intermediate, marts tables), then runs the real gate
and swap (baton.build.steps.check_and_publish) on a real PostgreSQL.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from baton.build.publish import PublishRefused, mark_built, prepare_shadow, publish, read_generation, rollback
from baton.build.steps import check_and_publish
from baton.quality.gate import QualityGateFailed
from tests.fixtures.warehouse import unbalance_a_load

NIGHT_1 = datetime(2026, 10, 30, tzinfo=timezone.utc)
NIGHT_2 = NIGHT_1 + timedelta(days=1)


@pytest.fixture(autouse=True)
def own_state_dir(tmp_path, monkeypatch):
    # GX's context goes to the test's own folder; rendering Data Docs is not what these tests check.
    monkeypatch.setenv("BATON_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("BATON_QUALITY_DATA_DOCS", "0")


def build_generation(url: str, people: list[tuple[str, str]], *, as_of: datetime) -> str:
    """What a dbt build leaves in the shadow: seed → view → intermediate table → mart, then stamped built."""
    prepare_shadow(url)
    with psycopg.connect(url, autocommit=True) as conn:
        for schema in ("staging_shadow", "intermediate_shadow", "marts_shadow"):
            conn.execute(f"create schema if not exists {schema}")
        conn.execute("drop view if exists staging_shadow.stg_people")
        conn.execute("drop table if exists staging_shadow.people_seed, intermediate_shadow.int_people,"
                     " marts_shadow.dim_people")
        conn.execute("create table staging_shadow.people_seed (person_id text, lifecycle_stage text)")
        with conn.cursor() as cursor:
            cursor.executemany("insert into staging_shadow.people_seed values (%s, %s)", people)
        conn.execute("create view staging_shadow.stg_people as select * from staging_shadow.people_seed")
        conn.execute("create table intermediate_shadow.int_people as select * from staging_shadow.stg_people")
        conn.execute("create table marts_shadow.dim_people as"
                     " select person_id, lifecycle_stage, false as is_deleted from intermediate_shadow.int_people")
    return mark_built(url, as_of=as_of)


def publish_generation(url: str, people: list[tuple[str, str]], *, as_of: datetime) -> dict:
    """A night whose gate passed (the gate itself is tested where it matters)."""
    build_generation(url, people, as_of=as_of)
    return publish(url)


def rows(url: str, relation: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return sorted(conn.execute(f"select person_id, lifecycle_stage from {relation}").fetchall())


NIGHT_1_PEOPLE = [("p1", "mql"), ("p2", "sal")]
NIGHT_2_PEOPLE = [("p1", "sql"), ("p2", "sal"), ("p3", "mql")]


def test_a_failed_correctness_check_leaves_last_nights_marts_visible_and_the_run_names_it(fresh_warehouse, monkeypatch):
    publish_generation(fresh_warehouse, NIGHT_1_PEOPLE, as_of=NIGHT_1)

    build_generation(fresh_warehouse, NIGHT_2_PEOPLE, as_of=NIGHT_2)
    unbalance_a_load(fresh_warehouse)
    with pytest.raises(QualityGateFailed) as failure:
        check_and_publish(fresh_warehouse, as_of=NIGHT_2)

    assert "baton_meta.load_log: extracted_equals_loaded_rejected_duplicates_unchanged" in str(failure.value)
    assert rows(fresh_warehouse, "marts.dim_people") == NIGHT_1_PEOPLE
    with psycopg.connect(fresh_warehouse) as conn:
        verdict = conn.execute("select passed, reason, published_at from quality.gate_runs"
                               " order by started_at desc limit 1").fetchone()
        live = read_generation(conn, "marts")
    assert verdict[0] is False and verdict[2] is None
    assert "extracted_equals_loaded_rejected_duplicates_unchanged" in verdict[1]
    assert live.as_of == "2026-10-30T00:00:00Z"


def test_the_airflow_task_fails_without_retrying_and_says_which_check_stopped_it(fresh_warehouse, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    from baton.airflow import tasks
    from baton.airflow.dags import fail_without_retry

    monkeypatch.setenv("WAREHOUSE_URL", fresh_warehouse)
    build_generation(fresh_warehouse, NIGHT_1_PEOPLE, as_of=NIGHT_1)
    unbalance_a_load(fresh_warehouse)
    with pytest.raises(AirflowFailException, match=r"marts not published: baton_meta\.load_log: extracted_equals"):
        fail_without_retry(tasks.check_and_publish)(NIGHT_1.isoformat())
    with psycopg.connect(fresh_warehouse) as conn:
        assert conn.execute("select to_regclass('marts.dim_people')").fetchone()[0] is None


def test_publish_swaps_every_layer_at_once_and_views_read_their_own_generation(fresh_warehouse):
    publish_generation(fresh_warehouse, NIGHT_1_PEOPLE, as_of=NIGHT_1)
    result = publish_generation(fresh_warehouse, NIGHT_2_PEOPLE, as_of=NIGHT_2)

    assert set(result["schemas"]) == {"staging", "intermediate", "marts"}
    assert rows(fresh_warehouse, "marts.dim_people") == NIGHT_2_PEOPLE
    assert rows(fresh_warehouse, "staging.stg_people") == NIGHT_2_PEOPLE
    assert rows(fresh_warehouse, "intermediate.int_people") == NIGHT_2_PEOPLE
    # The previous generation moved to the shadow whole: its view still reads its own seed.
    assert rows(fresh_warehouse, "staging_shadow.stg_people") == NIGHT_1_PEOPLE
    with psycopg.connect(fresh_warehouse) as conn:
        view_reads = conn.execute("""
            select distinct n.nspname from pg_depend d
            join pg_rewrite w on w.oid = d.objid
            join pg_class v on v.oid = w.ev_class and v.relname = 'stg_people'
            join pg_namespace vn on vn.oid = v.relnamespace and vn.nspname = 'staging'
            join pg_class t on t.oid = d.refobjid and t.oid <> v.oid
            join pg_namespace n on n.oid = t.relnamespace""").fetchall()
    assert view_reads == [("staging",)]


def test_a_retried_publish_after_the_swap_keeps_tonights_marts(fresh_warehouse):
    publish_generation(fresh_warehouse, NIGHT_1_PEOPLE, as_of=NIGHT_1)
    publish_generation(fresh_warehouse, NIGHT_2_PEOPLE, as_of=NIGHT_2)

    retried = check_and_publish(fresh_warehouse, as_of=NIGHT_2)
    assert retried["already_published"] and not retried["published"]
    with pytest.raises(PublishRefused):
        publish(fresh_warehouse)
    assert rows(fresh_warehouse, "marts.dim_people") == NIGHT_2_PEOPLE


def test_rollback_puts_last_nights_marts_back(fresh_warehouse):
    publish_generation(fresh_warehouse, NIGHT_1_PEOPLE, as_of=NIGHT_1)
    publish_generation(fresh_warehouse, NIGHT_2_PEOPLE, as_of=NIGHT_2)

    rollback(fresh_warehouse)
    assert rows(fresh_warehouse, "marts.dim_people") == NIGHT_1_PEOPLE
    assert rows(fresh_warehouse, "staging.stg_people") == NIGHT_1_PEOPLE


def test_a_build_after_a_failed_gate_starts_from_an_empty_shadow(fresh_warehouse):
    publish_generation(fresh_warehouse, NIGHT_1_PEOPLE, as_of=NIGHT_1)
    publish_generation(fresh_warehouse, NIGHT_2_PEOPLE, as_of=NIGHT_2)
    # The published previous generation is kept as the next build's starting point (incremental state).
    assert prepare_shadow(fresh_warehouse)["full_refresh"] is False

    with psycopg.connect(fresh_warehouse, autocommit=True) as conn:
        conn.execute("insert into marts_shadow.dim_people values ('p1', 'sql', false)")
    unbalance_a_load(fresh_warehouse)
    mark_built(fresh_warehouse, as_of=NIGHT_2 + timedelta(days=1))
    with pytest.raises(QualityGateFailed):
        check_and_publish(fresh_warehouse, as_of=NIGHT_2 + timedelta(days=1))

    prepared = prepare_shadow(fresh_warehouse)
    assert prepared["full_refresh"] is True
    assert set(prepared["dropped"]) == {"staging_shadow", "intermediate_shadow", "marts_shadow"}
    assert rows(fresh_warehouse, "marts.dim_people") == NIGHT_2_PEOPLE


@pytest.fixture
def analyst_role(fresh_warehouse):
    role = f"baton_analyst_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(fresh_warehouse, autocommit=True) as conn:
        conn.execute(f"create role {role} nologin")
    yield role
    with psycopg.connect(fresh_warehouse, autocommit=True) as conn:
        conn.execute(f"drop owned by {role}")
        conn.execute(f"drop role {role}")


def test_analysts_keep_read_access_to_the_marts_after_the_swap(fresh_warehouse, analyst_role):
    publish_generation(fresh_warehouse, NIGHT_1_PEOPLE, as_of=NIGHT_1)
    with psycopg.connect(fresh_warehouse, autocommit=True) as conn:
        conn.execute(f"grant usage on schema marts to {analyst_role}")
        conn.execute(f"grant select on all tables in schema marts to {analyst_role}")
    publish_generation(fresh_warehouse, NIGHT_2_PEOPLE, as_of=NIGHT_2)

    with psycopg.connect(fresh_warehouse) as conn:
        can_use, can_read = conn.execute(
            "select has_schema_privilege(%s, 'marts', 'usage'), has_table_privilege(%s, 'marts.dim_people', 'select')",
            (analyst_role, analyst_role)).fetchone()
    assert can_use and can_read


def test_a_model_removed_from_the_project_is_not_published_from_an_older_generation(fresh_warehouse, tmp_path):
    publish_generation(fresh_warehouse, NIGHT_1_PEOPLE, as_of=NIGHT_1)
    with psycopg.connect(fresh_warehouse, autocommit=True) as conn:
        conn.execute("create table marts.fct_retired as select 1 as n")  # built by last night's project only
    publish_generation(fresh_warehouse, NIGHT_2_PEOPLE, as_of=NIGHT_2)  # now the shadow holds fct_retired

    build_generation(fresh_warehouse, NIGHT_2_PEOPLE, as_of=NIGHT_2 + timedelta(days=1))
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"nodes": {
        f"model.baton.{name}": {"resource_type": kind, "schema": schema, "name": name, "config": {"materialized": m}}
        for name, kind, schema, m in (("dim_people", "model", "marts_shadow", "table"),
                                      ("int_people", "model", "intermediate_shadow", "table"),
                                      ("stg_people", "model", "staging_shadow", "view"),
                                      ("people_seed", "seed", "staging_shadow", "seed"))}}))
    mark_built(fresh_warehouse, as_of=NIGHT_2 + timedelta(days=1), manifest_path=manifest)
    publish(fresh_warehouse)

    with psycopg.connect(fresh_warehouse) as conn:
        assert conn.execute("select to_regclass('marts.fct_retired')").fetchone()[0] is None
        assert conn.execute("select to_regclass('marts.dim_people')").fetchone()[0] is not None
