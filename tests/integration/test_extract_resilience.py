"""Extraction when things go wrong: faults on a fifth of requests, the watermark boundary, secrets in logs."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import psycopg

from baton.sources.api import RetryPolicy
from baton.sources.runner import run_source
from baton_sandbox.faults import FaultPlan
from baton_sandbox.store import WorldStore
from baton_sandbox.testing import WORLD_END as TINY_END
from baton_sandbox.testing import WORLD_START, sf_record
from tests.integration.test_extract_sandbox import (
    EARLY_START,
    FAST,
    WORLD_END,
    assert_hubspot_matches_world,
    assert_marketo_matches_world,
    assert_salesforce_matches_world,
    connection,
    extract_all,
)

UTC = timezone.utc
# Timeouts shorter than the sandbox's slow answers, so "slow" exercises the timeout path too.
FAULTY = RetryPolicy(max_attempts=12, backoff_base=0.01, backoff_cap=0.1, retry_after_cap=0.05, timeout=0.5)


def test_faults_on_a_fifth_of_requests_lose_and_duplicate_nothing(sandbox_server_factory, sandbox_world,
                                                                  fresh_warehouse):
    plan = FaultPlan(rate=0.2, seed=11, slow_seconds=0.8, retry_after_seconds=1)
    server = sandbox_server_factory(faults=plan)
    results = extract_all(server, fresh_warehouse, WORLD_END, policy=FAULTY)
    faults = server.stats()["faults"]
    assert set(faults) == {"rate_limit", "server_error", "slow", "drop_connection", "token_expiry"}, faults
    assert sum(faults.values()) >= 0.15 * server.stats()["requests"]
    assert_salesforce_matches_world(fresh_warehouse, sandbox_world, WORLD_END)
    assert_marketo_matches_world(fresh_warehouse, sandbox_world, WORLD_END)
    assert_hubspot_matches_world(fresh_warehouse, sandbox_world, WORLD_END)
    for loads in results.values():
        assert all(r.extracted == r.loaded + r.duplicates and r.rejected == 0 for r in loads)


def _lead(number: int, at: datetime) -> tuple[str, datetime, dict]:
    record = sf_record("Lead", number, at, LastName=f"Boundary {number}", Status="Open - Not Contacted")
    return record["Id"], at, record


def test_records_sharing_the_watermark_timestamp_are_neither_lost_nor_duplicated(sandbox_server_factory, tmp_path,
                                                                                  fresh_warehouse):
    t1 = WORLD_START + timedelta(days=1)
    t2 = t1 + timedelta(hours=1)
    t3 = t2 + timedelta(hours=1)
    path = tmp_path / "boundary.sqlite"
    store = WorldStore(path)
    for meta, value in (("world_start", WORLD_START.strftime("%Y-%m-%dT%H:%M:%SZ")),
                        ("world_end", TINY_END.strftime("%Y-%m-%dT%H:%M:%SZ"))):
        store.set_meta(meta, value)
    for number, at in ((1, t1), (2, t2), (3, t2)):
        store.add_version("salesforce", "Lead", *_lead(number, at))
    store.finish()
    server = sandbox_server_factory(world=path)
    server.set_clock(t2)
    first = run_source("salesforce", connection("salesforce", server), fresh_warehouse, EARLY_START, t2,
                       streams=["lead"], policy=FAST)[0]
    assert (first.loaded, first.watermark) == (3, t2)
    # A lead stamped with the watermark's very instant that became visible only after the first
    # run read (Salesforce stamps at transaction start, commits later), and one after it.
    store.add_version("salesforce", "Lead", *_lead(4, t2))
    store.add_version("salesforce", "Lead", *_lead(5, t3))
    store.finish()
    store.close()
    server.set_clock(t3)
    second = run_source("salesforce", connection("salesforce", server), fresh_warehouse, EARLY_START, t3,
                        streams=["lead"], policy=FAST)[0]
    # Leads 2, 3 (re-read at the watermark, not rewritten), 4 (late) and 5 (new).
    assert (second.extracted, second.changed, second.watermark) == (4, 2, t3)
    with psycopg.connect(fresh_warehouse) as conn:
        landed = conn.execute("select data ->> 'LastName', _load_id from raw_salesforce.lead order by 1").fetchall()
    assert [name for name, _ in landed] == [f"Boundary {n}" for n in range(1, 6)]
    assert [load for name, load in landed if name in ("Boundary 2", "Boundary 3")] == [first.load_id] * 2


def test_no_secret_appears_in_any_log_line_even_at_debug(sandbox_server_factory, fresh_warehouse, caplog):
    plan = FaultPlan(rate=0.2, seed=5, kinds=("token_expiry", "server_error", "drop_connection"))
    server = sandbox_server_factory(faults=plan)
    secret = "baton-test-secret-42"
    with caplog.at_level(logging.DEBUG):
        extract_all(server, fresh_warehouse, WORLD_END, policy=FAULTY)
    text = caplog.text
    assert "identity/oauth/token" in text  # urllib3's request lines were captured...
    assert secret not in text               # ...with the client secret redacted
    assert "client_secret=***" in text
    assert "Bearer " not in text or "Bearer ***" in text


def test_malformed_records_from_the_api_land_in_rejects_and_the_run_goes_on(sandbox_server_factory, tmp_path,
                                                                            fresh_warehouse):
    at = WORLD_START + timedelta(days=2)
    path = tmp_path / "malformed.sqlite"
    store = WorldStore(path)
    for meta, value in (("world_start", WORLD_START.strftime("%Y-%m-%dT%H:%M:%SZ")),
                        ("world_end", TINY_END.strftime("%Y-%m-%dT%H:%M:%SZ"))):
        store.set_meta(meta, value)
    for number in (1, 2, 3):
        store.add_version("salesforce", "Lead", *_lead(number, at))
    # (An unparsable SystemModstamp cannot come through: the sandbox, like Salesforce, filters on
    # it; the loader's own tests cover that reason.) NULs do arrive in real text fields.
    lead_id, _, nul = _lead(4, at)
    store.add_version("salesforce", "Lead", lead_id, at, dict(nul, Title="Head of\x00Sales"))
    lead_id, _, nul = _lead(5, at)
    store.add_version("salesforce", "Lead", lead_id, at, dict(nul, Company="Acme\x00"))
    store.finish()
    store.close()
    server = sandbox_server_factory(world=path)
    server.set_clock(TINY_END)
    result = run_source("salesforce", connection("salesforce", server), fresh_warehouse, EARLY_START, TINY_END,
                        streams=["lead"], policy=FAST)[0]
    assert (result.extracted, result.loaded, result.rejected) == (5, 3, 2)
    with psycopg.connect(fresh_warehouse) as conn:
        rejects = dict(conn.execute("select record_id, reason from baton_meta.rejected_records"
                                    " where stream = 'lead'").fetchall())
        landed = conn.execute("select count(*) from raw_salesforce.lead").fetchone()[0]
    assert landed == 3
    assert rejects[_lead(4, at)[0]].startswith("contains a \\u0000 character")
    assert rejects[_lead(5, at)[0]].startswith("contains a \\u0000 character")
