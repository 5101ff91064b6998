"""Every stream of every source against the sandbox APIs and a real PostgreSQL.

The expected contents come from the world store itself (what each vendor shows at the
server's clock), never from the extractor's own output.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import psycopg

from baton.connections import ConnectionFields
from baton.sources import hubspot, marketo, salesforce
from baton.sources.api import RetryPolicy
from baton.sources.runner import run_source
from baton_sandbox.store import WorldStore

UTC = timezone.utc
WORLD_END = datetime(2026, 11, 1, tzinfo=UTC)
EARLY_START = datetime(2024, 1, 1, tzinfo=UTC)  # before anything in the world: compare whole histories
FAST = RetryPolicy(max_attempts=10, backoff_base=0.01, backoff_cap=0.2, retry_after_cap=0.05, timeout=5)
HUBSPOT_OBJECTS = {"contact": "contacts", "company": "companies", "deal": "deals", "call": "calls",
                   "email": "emails", "meeting": "meetings", "task": "tasks"}


def connection(source: str, server) -> ConnectionFields:
    return ConnectionFields(f"{source}_default", "http", server.url, "baton-test-id", "baton-test-secret-42")


def extract_all(server, url: str, end: datetime, policy: RetryPolicy = FAST) -> dict[str, list]:
    server.set_clock(end)
    return {source: run_source(source, connection(source, server), url, EARLY_START, end, policy=policy)
            for source in ("salesforce", "marketo", "hubspot")}


def raw(url: str, schema: str, table: str) -> dict[str, tuple[dict, bool]]:
    with psycopg.connect(url) as conn:
        if conn.execute("select to_regclass(%s)", (f"{schema}.{table}",)).fetchone()[0] is None:
            return {}
        return {r[0]: (r[1], r[2]) for r in conn.execute(f'select id, data, is_deleted from {schema}."{table}"')}


def snapshot(url: str) -> dict:
    """Every raw row of every stream, with the load that last wrote it."""
    tables = {}
    with psycopg.connect(url) as conn:
        names = conn.execute("select table_schema, table_name from information_schema.tables"
                             " where table_schema like 'raw\\_%' order by 1, 2").fetchall()
        for schema, table in names:
            tables[f"{schema}.{table}"] = sorted(conn.execute(
                f'select id, data::text, is_deleted, source_updated_at, _load_id from {schema}."{table}"').fetchall())
    return tables


def current(world, system: str, obj: str, clock: datetime) -> dict[str, tuple[dict, bool]]:
    store = WorldStore(world, readonly=True)
    try:
        return {v.id: (v.record(), v.deleted) for v in store.current(system, obj, clock)}
    finally:
        store.close()


def assert_salesforce_matches_world(url: str, world, clock: datetime) -> None:
    for stream in salesforce.STREAMS:
        expected = current(world, "salesforce", stream.sobject, clock)
        landed = raw(url, "raw_salesforce", stream.name)
        assert set(landed) == set(expected), stream.name
        for record_id, (record, deleted) in expected.items():
            record.pop("attributes", None)
            assert landed[record_id] == (record, deleted), (stream.name, record_id)


def assert_hubspot_matches_world(url: str, world, clock: datetime) -> None:
    for stream_name, object_type in HUBSPOT_OBJECTS.items():
        expected = current(world, "hubspot", object_type, clock)
        landed = raw(url, "raw_hubspot", stream_name)
        assert set(landed) == set(expected), stream_name
        for record_id, (record, deleted) in expected.items():
            data, is_deleted = landed[record_id]
            assert is_deleted == deleted, (stream_name, record_id)
            assert data["properties"] == record["properties"], (stream_name, record_id)
            if not deleted and object_type in hubspot.ASSOCIATIONS:
                for to_type in hubspot.ASSOCIATIONS[object_type]:
                    assert sorted(data["associations"][to_type]) == sorted(
                        map(str, record.get("associations", {}).get(to_type, []))), (stream_name, record_id, to_type)
    contacts = raw(url, "raw_hubspot", "contact")
    assert all("propertiesWithHistory" in data for data, deleted in contacts.values() if not deleted)
    assert any(len(data["propertiesWithHistory"].get("lifecyclestage", [])) > 1 for data, _ in contacts.values())
    # Owner at handoff on a reassigned HubSpot contact needs the owner's history.
    assert all("hubspot_owner_id" in data["propertiesWithHistory"] for data, deleted in contacts.values() if not deleted)
    for stream_name, object_type, key in (("owner", "owners", None), ("form", "forms", None),
                                          ("form_submission", "form_submissions", "conversionId"),
                                          ("email_event", "email_events", "id")):
        expected = current(world, "hubspot", object_type, clock)
        expected_ids = {str(rec[key]) for rec, _ in expected.values()} if key else set(expected)
        landed = raw(url, "raw_hubspot", stream_name)
        assert set(landed) == expected_ids, stream_name
        if stream_name == "owner":
            assert {i for i, (_, deleted) in landed.items() if deleted} == {
                i for i, (_, deleted) in expected.items() if deleted}


def assert_marketo_matches_world(url: str, world, clock: datetime, *, seen_leads: set[str] | None = None) -> None:
    activities = current(world, "marketo", "activity", clock)
    landed = raw(url, "raw_marketo", "activity")
    assert set(landed) == {rec["marketoGUID"] for rec, _ in activities.values()}
    deletions = {rec["marketoGUID"] for rec, _ in activities.values() if rec["activityTypeId"] == marketo.DELETE_LEAD}
    assert set(raw(url, "raw_marketo", "deleted_lead")) == deletions
    leads = current(world, "marketo", "lead", clock)
    live = {i for i, (_, deleted) in leads.items() if not deleted}
    landed_leads = raw(url, "raw_marketo", "lead")
    assert {i for i, (_, deleted) in landed_leads.items() if not deleted} == live
    for lead_id in live:
        assert landed_leads[lead_id][0] == leads[lead_id][0], lead_id
    # A lead seen before it was deleted or merged away stays, flagged, never silently missing.
    gone = {i for i, (_, deleted) in leads.items() if deleted}
    flagged = {i for i, (_, deleted) in landed_leads.items() if deleted}
    assert flagged <= gone
    if seen_leads is not None:
        assert flagged == gone & seen_leads
    programs = current(world, "marketo", "program", clock)
    assert set(raw(url, "raw_marketo", "program")) == set(programs)
    assert raw(url, "raw_marketo", "activity_type")


def test_full_backfill_lands_every_stream_exactly_as_the_sandbox_holds_it(sandbox_server, sandbox_world,
                                                                          fresh_warehouse):
    results = extract_all(sandbox_server, fresh_warehouse, WORLD_END)
    for source, loads in results.items():
        assert all(r.extracted == r.loaded + r.rejected and r.rejected == 0 for r in loads), source
    assert_salesforce_matches_world(fresh_warehouse, sandbox_world, WORLD_END)
    assert_marketo_matches_world(fresh_warehouse, sandbox_world, WORLD_END)
    assert_hubspot_matches_world(fresh_warehouse, sandbox_world, WORLD_END)
    # Deletes arrive as flags: the world deletes and merges records in every system.
    flagged = {table: sum(deleted for _, deleted in raw(fresh_warehouse, *table.split(".")).values())
               for table in ("raw_salesforce.lead", "raw_salesforce.contact", "raw_hubspot.contact")}
    assert sum(flagged.values()) > 0, flagged


def test_nightly_runs_over_several_days_end_where_a_backfill_ends_and_a_rerun_changes_nothing(
        sandbox_server, sandbox_world, fresh_warehouse):
    nights = [datetime(2026, 8, 1, 2, tzinfo=UTC) + timedelta(days=d) for d in range(3)] + [WORLD_END]
    seen_leads: set[str] = set()
    for night in nights:
        extract_all(sandbox_server, fresh_warehouse, night)
        seen_leads |= {i for i, (_, deleted) in current(sandbox_world, "marketo", "lead", night).items()
                       if not deleted}
    assert_salesforce_matches_world(fresh_warehouse, sandbox_world, WORLD_END)
    assert_marketo_matches_world(fresh_warehouse, sandbox_world, WORLD_END, seen_leads=seen_leads)
    assert_hubspot_matches_world(fresh_warehouse, sandbox_world, WORLD_END)
    with psycopg.connect(fresh_warehouse) as conn:
        watermarks = dict(conn.execute("select source || '.' || stream, watermark from baton_meta.sync_state"))
    assert watermarks["salesforce.lead"] <= WORLD_END
    before = snapshot(fresh_warehouse)
    rerun = extract_all(sandbox_server, fresh_warehouse, WORLD_END)
    assert all(r.changed == 0 for loads in rerun.values() for r in loads)
    assert snapshot(fresh_warehouse) == before


def test_a_run_reads_nothing_past_its_end(sandbox_server, sandbox_world, fresh_warehouse):
    end = datetime(2026, 7, 1, tzinfo=UTC)
    sandbox_server.set_clock(WORLD_END)  # the API shows everything; the run must still stop at its end
    run_source("salesforce", connection("salesforce", sandbox_server), fresh_warehouse, EARLY_START, end,
               policy=FAST)
    with psycopg.connect(fresh_warehouse) as conn:
        latest = conn.execute("select max(source_updated_at) from raw_salesforce.task").fetchone()[0]
        count = conn.execute("select count(*) from raw_salesforce.lead").fetchone()[0]
    assert latest <= end
    # The API shows each lead as it stands now: those whose latest change is after the end wait
    # for the next run.
    store = WorldStore(sandbox_world, readonly=True)
    try:
        unchanged_since = [v for v in store.current("salesforce", "Lead", WORLD_END)
                           if v.valid_from <= end.strftime("%Y-%m-%dT%H:%M:%S.%fZ")]
    finally:
        store.close()
    assert count == len(unchanged_since) > 0


def test_marketo_lead_deleted_after_it_landed_stays_as_the_api_returned_it_beside_its_delete(
        sandbox_server, sandbox_world, fresh_warehouse):
    """Raw keeps what the API said: the lead row is not rewritten; the delete lands in deleted_lead
    (dbt derives which leads are deleted or merged)."""
    store = WorldStore(sandbox_world, readonly=True)
    try:
        deletions = [(v.valid_from, v.id) for v in store.current("marketo", "lead", WORLD_END) if v.deleted]
    finally:
        store.close()
    assert deletions, "the world deletes or merges some Marketo leads"
    deleted_at, lead_id = min(deletions)
    before = datetime.strptime(deleted_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC) - timedelta(seconds=1)
    for clock in (before, WORLD_END):
        sandbox_server.set_clock(clock)
        run_source("marketo", connection("marketo", sandbox_server), fresh_warehouse, EARLY_START, clock, policy=FAST)
        if clock == before:
            assert raw(fresh_warehouse, "raw_marketo", "lead")[lead_id][1] is False
            landed_before = raw(fresh_warehouse, "raw_marketo", "lead")[lead_id]
    assert raw(fresh_warehouse, "raw_marketo", "lead")[lead_id] == landed_before
    with psycopg.connect(fresh_warehouse) as conn:
        deletes = conn.execute("select count(*) from raw_marketo.deleted_lead where data ->> 'leadId' = %s",
                               (lead_id,)).fetchone()[0]
        merges = conn.execute("""select count(*) from raw_marketo.activity a,
                                  jsonb_array_elements(a.data -> 'attributes') attr
                                  where a.data ->> 'activityTypeId' = '32' and attr ->> 'name' = 'Merge Ids'
                                    and attr ->> 'value' like %s""", (f"%{lead_id}%",)).fetchone()[0]
    assert deletes + merges >= 1


def test_baton_extract_runs_a_source_outside_airflow_with_a_progress_bar_per_stream(sandbox_server, fresh_warehouse):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "WAREHOUSE_URL": fresh_warehouse, "BATON_HTTP_BACKOFF_BASE": "0.01"}
    baton = str(Path(sys.executable).parent / "baton")
    run = subprocess.run([baton, "extract", "hubspot", "--sandbox", sandbox_server.url, "--end", "2026-11-01T00:00:00Z"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    streams = [stream.name for stream in hubspot.STREAMS]
    assert [line.split(":")[0] for line in run.stdout.splitlines()] == [f"hubspot.{name}" for name in streams]
    assert all(f"hubspot.{name}" in run.stderr for name in streams)  # tqdm's bars, one per stream
    assert "baton-sandbox-secret" not in run.stdout + run.stderr
    with psycopg.connect(fresh_warehouse) as conn:
        logged = conn.execute("select count(*) from baton_meta.load_log where source = 'hubspot'"
                              " and status = 'success'").fetchone()[0]
    assert logged == len(streams)
