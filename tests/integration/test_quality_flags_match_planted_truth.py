"""On the sandbox, quality.lead_context_flags equal the planted missing fields exactly (issue 8).

The sandbox world is extracted through the vendor APIs as of its end, dbt builds the
handoffs (into the shadow schemas, as the nightly run does), and the flags are refreshed from
them; the planted truth (baton_sandbox.truth, from the world's event log alone) lists each
handoff's missing fields. Handoffs are matched by their CRM record and handed_off_at.

It runs on the default demo world (3,000 people, seed 7: the `e2e_world` fixture);
`BATON_E2E_PEOPLE=N` picks another size, `BATON_E2E_PEOPLE=0` the small session world:

    WAREHOUSE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/pytest tests/integration/test_quality_flags_match_planted_truth.py -s
"""

from __future__ import annotations

from datetime import datetime, timezone

import psycopg
import pytest

pytestmark = pytest.mark.timeout(900)

SOURCES = ("salesforce", "marketo", "hubspot")
BACKFILL_FROM = datetime(2020, 1, 1, tzinfo=timezone.utc)


def _second(instant) -> str:
    if isinstance(instant, str):
        instant = datetime.fromisoformat(instant.replace("Z", "+00:00"))
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def world(e2e_world):
    return e2e_world


@pytest.fixture(scope="module")
def flagged(world, server_url):
    from baton.build.dbt import dbt, ensure_raw_tables
    from baton.connections import ConnectionFields
    from baton.quality.context_flags import refresh_lead_context_flags
    from baton.quality.schema import ensure_quality_schema
    from baton.sources.runner import run_source
    from baton_sandbox.server import SandboxServer
    from baton_sandbox.store import WorldStore
    from baton_sandbox.truth import compute_truth
    from tests.fixtures.warehouse import _create_database, _drop_database

    store = WorldStore(world, readonly=True)
    world_end = datetime.fromisoformat(store.meta("world_end").replace("Z", "+00:00"))
    truth = compute_truth(store, world_end)
    store.close()

    name, url = _create_database(server_url, "baton_quality_e2e")
    try:
        ensure_raw_tables(url)
        with SandboxServer(world) as server:
            server.set_clock(world_end)
            for source in SOURCES:
                connection = ConnectionFields(conn_id=f"{source}_default", host=server.url,
                                              login="baton-quality-client", password="baton-quality-secret")
                run_source(source, connection, url, start=BACKFILL_FROM, end=world_end)
        # Only what the flags read (fct_handoffs and what it stands on), without tests: this test is about the flags.
        result = dbt(["build", "--select", "+fct_handoffs", "--exclude", "resource_type:test", "resource_type:unit_test"],
                     url, vars={"as_of": _second(world_end)}, schema_suffix="_shadow", target_name=f"quality-e2e-{name}")
        assert result.success, result.failures()[:3] or result.exception
        with psycopg.connect(url) as conn:
            ensure_quality_schema(conn)
            summary = refresh_lead_context_flags(conn, intermediate_schema="intermediate_shadow", marts_schema="marts_shadow",
                                                 checked_at=world_end, run_id="e2e")
            conn.commit()
            found = conn.execute("""
                select f.source_system, f.source_id, h.handed_off_at, f.field_name
                from quality.lead_context_flags f join marts_shadow.fct_handoffs h using (handoff_id)""").fetchall()
        yield truth, summary, found
    finally:
        _drop_database(server_url, name)


def test_the_flags_equal_the_planted_missing_fields_exactly(flagged):
    truth, summary, found = flagged
    handed_off_at = {row["handoff_id"]: row["handed_off_at"] for row in truth["handoffs"]}
    planted = {(row["crm_system"], row["crm_record_id"], _second(handed_off_at[row["handoff_id"]]), row["field_name"])
               for row in truth["missing_context"]}
    flags = {(system, record_id, _second(at), field) for system, record_id, at, field in found}

    assert planted, "the world plants no missing context; the comparison would prove nothing"
    assert sorted(flags - planted)[:10] == [] and sorted(planted - flags)[:10] == []
    assert summary["flags"] == len(truth["missing_context"])
    print(f"\nlead context flags: {len(flags)} found, {len(planted)} planted, on {summary['handoffs']} handoffs")
