"""End to end: the missing-context rule agrees with itself and with the planted truth (docs/warehouse.md).

Two implementations judge a handoff's CRM record: dbt's `context_stripped` leak in
marts.fct_funnel_leaks, and the quality gate's row-level flags in quality.lead_context_flags.
On each world below they must name the same handoffs, and the flags must equal the planted
truth's missing context (baton_sandbox.truth, handoff × field), which reads the record as the rep
sees it on the page: a HubSpot contact's company, industry, employee count and country are its
own when present, else its primary associated company's.

Worlds: the default demo world (`e2e_world`: 3,000 people, seed 7; `BATON_E2E_PEOPLE` picks
another size), and two 500-person worlds where HubSpot keeps firmographics only on the
associated company (`company_only`) or only on the contact (`contact_only`). Each is extracted
through the sandbox APIs as of its end, dbt builds the funnel (as_of = the world's end: the
default world once for the session, `e2e_built`; each variant into a fresh database), and the
gate's flag step refreshes quality.lead_context_flags from those marts.

    WAREHOUSE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/pytest tests/e2e/test_context_flags_match_leaks.py -s
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timezone

import psycopg
import pytest

from baton_sandbox.testing import extract_world

pytestmark = pytest.mark.timeout(1200)

VARIANT_PEOPLE = 500
Z = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'"


def _second(instant: str) -> str:
    return datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module", params=["default", "company_only", "contact_only"])
def checked(request, server_url, sandbox_world_factory):
    """(world name, truth, warehouse handoffs with context_stripped, flagged (handoff, field) rows, record keys)."""
    from baton.build.dbt import dbt, ensure_raw_tables
    from baton_sandbox.store import WorldStore
    from baton_sandbox.truth import compute_truth
    from tests.fixtures.warehouse import _create_database, _drop_database

    variant = request.param
    if variant == "default":
        # The session's default world, already built with every dbt test (tests/fixtures/e2e.py).
        built = request.getfixturevalue("e2e_built")
        yield variant, built.truth, *_flagged(built.url, built.world_end, variant)
        return
    started = time.monotonic()
    world = sandbox_world_factory(people=VARIANT_PEOPLE, hubspot_firmographics=variant)
    store = WorldStore(world, readonly=True)
    world_end_text, people = store.meta("world_end"), store.meta("people")
    world_end = datetime.fromisoformat(world_end_text.replace("Z", "+00:00"))
    truth = compute_truth(store, world_end)
    store.close()
    built_world = time.monotonic()

    name, url = _create_database(server_url, "baton_context_e2e")
    try:
        ensure_raw_tables(url)
        extract_world(world, url, world_end)
        extracted = time.monotonic()
        result = dbt(["build", "--select", "+fct_funnel_leaks", "--exclude", "resource_type:test",
                      "resource_type:unit_test"], url, vars={"as_of": world_end_text}, target_name="context_flags_e2e")
        assert result.success, (result.exception, result.failures()[:5])
        transformed = time.monotonic()
        stripped, flags, records = _flagged(url, world_end, variant)
        print(f"\ncontext e2e [{variant}, {people} people]: world+truth {built_world - started:.1f}s, "
              f"extract {extracted - built_world:.1f}s, dbt {transformed - extracted:.1f}s, "
              f"flags {time.monotonic() - transformed:.1f}s")
        yield variant, truth, stripped, flags, records
    finally:
        _drop_database(server_url, name)


def _flagged(url: str, checked_at: datetime, variant: str):
    """Refresh the context flags of the built marts; (context_stripped handoffs, flags, record keys)."""
    from baton.quality.context_flags import refresh_lead_context_flags
    from baton.quality.schema import ensure_quality_schema

    with psycopg.connect(url) as conn:
        ensure_quality_schema(conn)
        refresh_lead_context_flags(conn, intermediate_schema="intermediate", marts_schema="marts",
                                   checked_at=checked_at, run_id=f"e2e-{variant}")
        conn.commit()
        stripped = {row[0] for row in conn.execute(
            "select handoff_id from marts.fct_funnel_leaks where leak_type = 'context_stripped'")}
        flags = conn.execute("select handoff_id, field_name from quality.lead_context_flags").fetchall()
        records = {row[0]: (row[1], row[2], row[3]) for row in conn.execute(f"""
            select handoff_id, crm_source_system, crm_source_id,
                   to_char(handed_off_at at time zone 'UTC', {Z})
            from marts.fct_handoffs""")}
    return stripped, flags, records


def test_context_stripped_leaks_name_exactly_the_handoffs_with_context_flags(checked):
    variant, _, stripped, flags, records = checked
    flagged = {handoff_id for handoff_id, _ in flags}
    only_leak = sorted(records.get(h, (None, h, None)) for h in stripped - flagged)
    only_flags = sorted(records.get(h, (None, h, None)) for h in flagged - stripped)
    assert stripped or flagged, f"[{variant}] no missing context at all: the comparison proves nothing"
    assert (only_leak[:5], len(only_leak), only_flags[:5], len(only_flags)) == ([], 0, [], 0), \
        f"[{variant}] context_stripped without flags: {len(only_leak)}, flags without context_stripped: {len(only_flags)}"


def test_context_flags_equal_the_planted_missing_context(checked):
    variant, truth, _, flags, records = checked
    handed_off_at = {row["handoff_id"]: _second(row["handed_off_at"]) for row in truth["handoffs"]}
    planted = {(row["crm_system"], row["crm_record_id"], handed_off_at[row["handoff_id"]], row["field_name"])
               for row in truth["missing_context"]}
    found = {(*records[handoff_id], field) for handoff_id, field in flags}
    missed, extra = sorted(planted - found), sorted(found - planted)
    assert planted, f"[{variant}] the world plants no missing context: the comparison proves nothing"
    assert (missed[:5], extra[:5]) == ([], []), (
        f"[{variant}] {len(missed)} planted missing fields not flagged "
        f"{dict(Counter((m[0], m[3]) for m in missed))}, {len(extra)} flags not planted "
        f"{dict(Counter((e[0], e[3]) for e in extra))}")
