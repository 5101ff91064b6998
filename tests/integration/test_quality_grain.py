"""The gate re-runs every mart's grain test (dbt's own) on the shadow it is about to publish:
a duplicated grain row planted after the build stops the publish and the error names the mart.

The shadow marts are made by hand with the columns their grain tests read (taken from dbt's
manifest: the grain is defined once, in the marts' yml), so each test plants exactly one kind of
damage on a real PostgreSQL and runs the real gate (`dbt test` included).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from baton.build.dbt import dbt
from baton.build.publish import mark_built, prepare_shadow, publish, read_generation
from baton.build.steps import check_and_publish
from baton.paths import state_path
from baton.quality.gate import QualityGateFailed, run_gate
from baton.quality.grain import GATE_TARGET, grain_tests_by_mart, mart_names

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
MARTS = mart_names()


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("grain_state")


@pytest.fixture(autouse=True)
def own_state_dir(state_dir, monkeypatch):
    # One state folder for the module: the gate's dbt target keeps its partial parse between tests.
    monkeypatch.setenv("BATON_STATE_DIR", str(state_dir))
    monkeypatch.setenv("BATON_QUALITY_DATA_DOCS", "0")


@pytest.fixture(scope="module")
def grain_columns(warehouse_url, state_dir) -> dict[str, list[str]]:
    """{mart: the columns its grain tests read}, from `dbt parse` of the project."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BATON_STATE_DIR", str(state_dir))
        assert dbt(["parse"], warehouse_url, target_name=GATE_TARGET, schema_suffix="_shadow")
        manifest = json.loads(state_path("dbt", GATE_TARGET, "target", "manifest.json").read_text())
    columns = {}
    for mart, tests in grain_tests_by_mart(manifest).items():
        named = []
        for test in tests:
            kwargs = test["test_metadata"]["kwargs"]
            named += [kwargs["column_name"]] if "column_name" in kwargs else kwargs["combination_of_columns"]
        columns[mart] = list(dict.fromkeys(named))
    return columns


def make_shadow_marts(url: str, grain_columns: dict[str, list[str]], *, duplicate=(), night: int = 1) -> None:
    """Every mart in marts_shadow with two distinct rows; each mart in `duplicate` gets a copy of its first row."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema if not exists marts_shadow")
        for mart, columns in grain_columns.items():
            conn.execute(f"drop table if exists marts_shadow.{mart}")
            conn.execute(f"create table marts_shadow.{mart} ({', '.join(f'{c} text' for c in columns)})")
            for n in (1, 2):
                conn.execute(f"insert into marts_shadow.{mart} values ({', '.join(['%s'] * len(columns))})",
                             [f"{column}-{night}-{n}" for column in columns])
            if mart in duplicate:
                conn.execute(f"insert into marts_shadow.{mart} select * from marts_shadow.{mart} limit 1")


def test_every_mart_has_a_grain_test_the_gate_runs(grain_columns):
    assert {name[:4] for name in MARTS} == {"dim_", "fct_", "rpt_"}
    assert set(grain_columns) == set(MARTS), "the marts dbt knows are the marts the gate looks for"
    untested = sorted(mart for mart, columns in grain_columns.items() if not columns)
    assert untested == [], f"marts without a unique or unique_combination_of_columns test: {untested}"


@pytest.fixture(scope="module")
def gate_over_duplicates_everywhere(warehouse_url, grain_columns, state_dir):
    """One gate run over a shadow where every mart carries one duplicated grain row."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BATON_STATE_DIR", str(state_dir))
        patch.setenv("BATON_QUALITY_DATA_DOCS", "0")
        make_shadow_marts(warehouse_url, grain_columns, duplicate=set(MARTS))
        with pytest.raises(QualityGateFailed) as failure:
            run_gate(warehouse_url, as_of=AS_OF, schema_suffix="_shadow")
    with psycopg.connect(warehouse_url) as conn:
        run_id = conn.execute("select run_id from quality.gate_runs order by started_at desc limit 1").fetchone()[0]
        recorded = conn.execute("select relation, check_name, severity, success, observed, checked_relation"
                                " from quality.validation_runs where run_id = %s and expectation_type like 'dbt_test%%'",
                                (run_id,)).fetchall()
    return failure.value, recorded


@pytest.mark.parametrize("mart", MARTS)
def test_a_duplicated_grain_row_in_any_shadow_mart_fails_the_gate_naming_the_mart(gate_over_duplicates_everywhere,
                                                                                   mart):
    failure, recorded = gate_over_duplicates_everywhere
    assert any(name.startswith(f"marts.{mart}: ") for name in failure.failed), failure.failed
    assert f"marts.{mart}: " in str(failure)
    rows = [row for row in recorded if row[0] == f"marts.{mart}"]
    assert rows and all(severity == "error" for _, _, severity, _, _, _ in rows)
    assert any(not success and observed == {"unexpected_count": 1} for _, _, _, success, observed, _ in rows), rows
    assert {checked for *_, checked in rows} == {f"marts_shadow.{mart}"}


def test_the_grain_checks_pass_on_a_shadow_without_duplicates(warehouse_url, grain_columns):
    make_shadow_marts(warehouse_url, grain_columns)
    try:
        run_gate(warehouse_url, as_of=AS_OF, schema_suffix="_shadow")
        failed = []
    except QualityGateFailed as failure:
        failed = failure.failed
    assert [name for name in failed if name.split(":")[0] in {f"marts.{m}" for m in MARTS}] == []


@pytest.mark.parametrize("mart", ["dim_people", "fct_handoffs", "rpt_funnel_leak_summary"])
def test_a_duplicate_planted_after_the_build_leaves_last_nights_marts_published(fresh_warehouse, grain_columns, mart):
    prepare_shadow(fresh_warehouse)
    make_shadow_marts(fresh_warehouse, grain_columns, night=1)
    mark_built(fresh_warehouse, as_of=AS_OF - timedelta(days=1))
    publish(fresh_warehouse)

    prepare_shadow(fresh_warehouse)
    make_shadow_marts(fresh_warehouse, grain_columns, night=2)
    mark_built(fresh_warehouse, as_of=AS_OF)
    # The build passed; then a writer duplicates a grain row in the shadow before the gate.
    with psycopg.connect(fresh_warehouse, autocommit=True) as conn:
        conn.execute(f"insert into marts_shadow.{mart} select * from marts_shadow.{mart} limit 1")
    with pytest.raises(QualityGateFailed) as failure:
        check_and_publish(fresh_warehouse, as_of=AS_OF)

    assert [name.split(":")[0] for name in failure.value.failed] == [f"marts.{mart}"]
    assert f"correctness checks failed, marts not published: marts.{mart}: " in str(failure.value)
    with psycopg.connect(fresh_warehouse) as conn:
        assert read_generation(conn, "marts").as_of == "2026-10-31T00:00:00Z"
        live = conn.execute(f"select count(*), count(distinct ({grain_columns[mart][0]})) from marts.{mart}").fetchone()
        reason = conn.execute("select reason from quality.gate_runs order by started_at desc limit 1").fetchone()[0]
    assert live == (2, 2)
    assert f"marts.{mart}: " in reason
