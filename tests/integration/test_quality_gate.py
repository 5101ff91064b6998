"""The quality gate over hand-made marts: correctness checks stop the run, descriptive ones warn,
and every result of every run lands in quality.validation_runs (Great Expectations on a real PostgreSQL)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from baton.load.schema import RAW_TABLE_COLUMNS
from baton.paths import EXPECTATIONS_DIR
from baton.quality.gate import QualityGateFailed, run_gate
from baton.quality.suites import load_suites
from tests.fixtures.warehouse import unbalance_a_load

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
COMPLETE_LEAD_BUT_TITLE = {
    "Email": "ana@acme.test", "Company": "Acme", "Title": None, "Industry": "Software", "NumberOfEmployees": 250,
    "Country": "Germany", "LeadSource": "Web", "Marketing_Touch_Count__c": 4,
    "Last_Marketing_Touch_At__c": "2026-10-01T10:00:00.000+0000",
}


@pytest.fixture(autouse=True)
def own_state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BATON_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("BATON_QUALITY_DATA_DOCS", "0")


def make_marts(url: str, *, people: int = 10, credits=(0.25, 0.75), orphan_handoff: bool = False,
               unbalanced_load: bool = False,
               lead_updated_at: datetime = AS_OF - timedelta(hours=3)) -> None:
    """A small, consistent set of marts in marts_shadow, plus the raw lead the handoffs reached."""
    with psycopg.connect(url, autocommit=True) as conn:
        # Only the raw tables the flags read: each raw table present adds its suite to every run.
        for schema, table in (("raw_salesforce", "lead"), ("raw_salesforce", "contact"),
                              ("raw_salesforce", "account"), ("raw_hubspot", "contact")):
            conn.execute(f"create schema if not exists {schema}")
            conn.execute(f"create table if not exists {schema}.{table} ({RAW_TABLE_COLUMNS})")
        conn.execute("drop schema if exists marts_shadow cascade")
        conn.execute("create schema marts_shadow")
        conn.execute("create table marts_shadow.dim_people (person_id text, lifecycle_stage text, is_deleted boolean)")
        conn.execute("insert into marts_shadow.dim_people select 'p' || n, 'mql', false from generate_series(1, %s) n",
                     (people,))
        conn.execute("create table marts_shadow.fct_opportunities (opportunity_id text)")
        conn.execute("insert into marts_shadow.fct_opportunities values ('o1')")
        conn.execute("create table marts_shadow.fct_attribution"
                     " (opportunity_id text, touchpoint_id text, model text, credit numeric)")
        for n, credit in enumerate(credits):
            conn.execute("insert into marts_shadow.fct_attribution values ('o1', %s, 'linear', %s)", (f"t{n}", credit))
        conn.execute("create table marts_shadow.fct_handoffs (handoff_id text, person_id text, owner_id text,"
                     " handed_off_at timestamptz, first_sales_touch_at timestamptz, outcome text,"
                     " crm_source_system text, crm_source_object text, crm_source_id text)")
        conn.execute("insert into marts_shadow.fct_handoffs values"
                     " ('h1', 'p1', 'u1', %s, null, 'open', 'salesforce', 'Lead', '00Q1')", (AS_OF - timedelta(days=3),))
        if orphan_handoff:
            conn.execute("insert into marts_shadow.fct_handoffs values"
                         " ('h2', 'nobody', 'u1', %s, null, 'open', null, null, null)", (AS_OF,))
        # The context rule's one definition is the dbt model; the gate copies its missing rows.
        conn.execute("drop schema if exists intermediate_shadow cascade")
        conn.execute("create schema intermediate_shadow")
        conn.execute("create table intermediate_shadow.int_handoff_context_checks (handoff_id text, person_id text,"
                     " owner_id text, field_name text, field_group text, severity text, field_value text,"
                     " is_missing boolean, source_system text, source_object text, source_id text)")
        conn.execute("insert into intermediate_shadow.int_handoff_context_checks values"
                     " ('h1', 'p1', 'u1', 'title', 'person', 'low', null, true, 'salesforce', 'Lead', '00Q1'),"
                     " ('h1', 'p1', 'u1', 'email', 'contact', 'high', 'ana@acme.test', false, 'salesforce', 'Lead', '00Q1')")
        conn.execute("delete from raw_salesforce.lead")
        conn.execute("insert into raw_salesforce.lead values ('00Q1', %s, %s, false, now(), 'l1')",
                     (json.dumps(COMPLETE_LEAD_BUT_TITLE), lead_updated_at))


    if unbalanced_load:
        unbalance_a_load(url)


def results(url: str, run_id: str) -> dict[str, tuple]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("select check_name, severity, success, observed from quality.validation_runs"
                            " where run_id = %s", (run_id,)).fetchall()
    return {row[0]: row[1:] for row in rows}


def last_run_id(url: str) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute("select run_id from quality.gate_runs order by started_at desc limit 1").fetchone()[0]


def test_every_expectation_of_every_present_relation_lands_in_validation_runs(fresh_warehouse):
    make_marts(fresh_warehouse)
    summary = run_gate(fresh_warehouse, as_of=AS_OF, schema_suffix="_shadow")

    recorded = results(fresh_warehouse, summary["run_id"])
    present = {"marts.dim_people", "marts.fct_opportunities", "marts.fct_attribution", "marts.fct_handoffs",
               "quality.lead_context_flags", "raw_salesforce.lead"}
    expected = {f"{suite.relation}: {e['meta']['check']}" for suite in load_suites() if suite.relation in present
                for e in suite.expectations}
    assert expected <= set(recorded)
    absent = {"marts.dim_owners", "raw_marketo.activity"}  # not built / never landed: nothing to check
    assert not {name for name in recorded if name.split(":")[0] in absent}
    # The lead's missing title is a descriptive finding: a warning and a flag, not a stop.
    assert recorded["quality.lead_context_flags: every_handoff_carries_its_context"][:2] == ("warn", False)
    with psycopg.connect(fresh_warehouse) as conn:
        assert conn.execute("select handoff_id, field_name from quality.lead_context_flags").fetchall() == [("h1", "title")]
        passed, checked = conn.execute("select passed, checked_schema from quality.gate_runs where run_id = %s",
                                       (summary["run_id"],)).fetchone()
    assert passed is True and checked == "marts_shadow"


def test_a_load_that_does_not_account_for_every_record_stops_the_gate_by_name(fresh_warehouse):
    make_marts(fresh_warehouse, unbalanced_load=True)
    with pytest.raises(QualityGateFailed) as failure:
        run_gate(fresh_warehouse, as_of=AS_OF, schema_suffix="_shadow")

    assert set(failure.value.failed) == {"baton_meta.load_log: extracted_equals_loaded_rejected_duplicates_unchanged"}
    assert "marts not published" in str(failure.value)
    recorded = results(fresh_warehouse, last_run_id(fresh_warehouse))
    assert recorded["baton_meta.load_log: extracted_equals_loaded_rejected_duplicates_unchanged"][:2] == ("error", False)


def test_no_mart_invariant_is_checked_both_by_dbt_and_by_great_expectations():
    """Model invariants (keys, accepted values, sums, orphans) are dbt tests; the suites keep to
    raw data, baton_meta and descriptive checks, so no check has two definitions."""
    for suite in load_suites(EXPECTATIONS_DIR):
        if suite.schema in ("marts", "quality"):
            assert {e.get("severity") for e in suite.expectations} <= {"warning", "info"}, suite.relation


def test_a_volume_drop_since_the_last_passing_run_and_stale_raw_data_warn_without_stopping(fresh_warehouse):
    make_marts(fresh_warehouse, people=10)
    first = run_gate(fresh_warehouse, as_of=AS_OF, schema_suffix="_shadow")
    assert results(fresh_warehouse, first["run_id"])["raw_salesforce.lead: fresh_within_48h_of_as_of"][:2] == ("warn", True)
    make_marts(fresh_warehouse, people=4, lead_updated_at=AS_OF - timedelta(days=5))

    summary = run_gate(fresh_warehouse, as_of=AS_OF, schema_suffix="_shadow")

    recorded = results(fresh_warehouse, summary["run_id"])
    assert recorded["marts.dim_people: row_count_not_down_50pct_from_last_run"][:2] == ("warn", False)
    assert recorded["marts.dim_people: row_count_not_down_50pct_from_last_run"][2]["observed_value"] == 4
    assert recorded["raw_salesforce.lead: fresh_within_48h_of_as_of"][:2] == ("warn", False)
    assert "error" not in recorded["raw_salesforce.lead: fresh_within_48h_of_as_of"][2]  # stale, not unreadable
    assert recorded["marts.fct_attribution: row_count_not_down_50pct_from_last_run"][2:] == ({"observed_value": 2},)
    assert summary["errors"] == 0 and summary["warnings"] >= 2


def test_data_docs_are_built_on_each_run(fresh_warehouse, monkeypatch, tmp_path):
    monkeypatch.setenv("BATON_QUALITY_DATA_DOCS", "1")
    make_marts(fresh_warehouse)
    summary = run_gate(fresh_warehouse, as_of=AS_OF, schema_suffix="_shadow", gx_root=tmp_path / "gx")

    index = Path(summary["data_docs"].removeprefix("file://"))
    assert index.is_file() and index.is_relative_to(tmp_path)
    with psycopg.connect(fresh_warehouse) as conn:
        assert conn.execute("select data_docs from quality.gate_runs where run_id = %s",
                            (summary["run_id"],)).fetchone()[0] == summary["data_docs"]


def test_every_suite_is_named_after_the_relation_it_guards_and_says_its_severity():
    suites = load_suites(EXPECTATIONS_DIR)
    assert suites
    for suite in suites:
        assert suite.path.name == f"{suite.relation}.json"
        for expectation in suite.expectations:
            assert expectation["severity"] in ("critical", "warning"), (suite.relation, expectation)
            assert expectation["meta"]["check"], (suite.relation, expectation)
