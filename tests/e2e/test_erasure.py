"""Erasure end to end on the default world: forget one person, extract and build again, and find
them nowhere, every other person's marts unchanged, their records set aside as `erased`.

    WAREHOUSE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/pytest tests/e2e/test_erasure.py -s
"""

from __future__ import annotations

import re
import time
from datetime import datetime

import psycopg
import pytest

from baton_sandbox.testing import extract_world

pytestmark = pytest.mark.timeout(1200)

# Person-keyed marts and the columns compared for everyone else (attribution spreads an
# opportunity's credit over its touches, so losing a person's touches moves others' credit by design).
PERSON_MARTS = {
    "dim_people": "person_id, email, first_name, last_name, title, lifecycle_stage, owner_id, is_deleted",
    "fct_handoffs": "handoff_id, person_id, handed_off_at, owner_id, outcome, is_sla_breached, sales_touch_attempts",
    "fct_funnel_leaks": "leak_id, leak_type, person_id, owner_id, detected_at, detail",
    "fct_lifecycle_stage_history": "stage_spell_id, person_id, stage, entered_at, exited_at",
    "fct_touchpoints": "touchpoint_id, person_id, touched_at, touch_type, channel",
}


def _build(url: str, as_of: str) -> None:
    from baton.build.dbt import dbt

    result = dbt(["build", "--full-refresh", "--exclude", "resource_type:test", "resource_type:unit_test"], url,
                 vars={"as_of": as_of}, target_name="erasure_e2e")
    assert result.success, (result.exception, result.failures()[:5])


def _others(url: str, person_id: str) -> dict[str, set]:
    with psycopg.connect(url) as conn:
        return {table: set(conn.execute(f"select {columns} from marts.{table} where person_id is distinct from %s",
                                        (person_id,)).fetchall())
                for table, columns in PERSON_MARTS.items()}


def _traces(url: str, needles: list[str]) -> list[str]:
    """Every relation (raw, meta, staging, intermediate, marts, quality) whose rows mention a needle."""
    found = []
    with psycopg.connect(url) as conn:
        relations = conn.execute(
            "select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where c.relkind in ('r', 'v', 'm') and n.nspname not in ('pg_catalog', 'information_schema')"
            " and n.nspname not like 'pg\\_%%'").fetchall()
        for schema, name in relations:
            for needle in needles:  # the whole value: an id is not a match inside a longer number
                pattern = r"(^|[^0-9a-z])" + re.escape(needle.lower()) + r"([^0-9a-z]|$)"
                hit = conn.execute(f'select 1 from "{schema}"."{name}" t where lower(t::text) ~ %s limit 1',
                                   (pattern,)).fetchone()
                if hit:
                    found.append(f"{schema}.{name}: {needle}")
    return found


def test_a_forgotten_person_is_nowhere_after_the_next_extract_and_build(e2e_world, server_url):
    from baton.build.dbt import ensure_raw_tables
    from baton.forget import forget
    from baton_sandbox.store import WorldStore
    from tests.fixtures.warehouse import _create_database, _drop_database

    store = WorldStore(e2e_world, readonly=True)
    world_end_text = store.meta("world_end")
    store.close()
    world_end = datetime.fromisoformat(world_end_text.replace("Z", "+00:00"))
    name, url = _create_database(server_url, "baton_erasure_e2e")
    try:
        started = time.monotonic()
        ensure_raw_tables(url)
        extract_world(e2e_world, url, world_end)
        _build(url, world_end_text)
        with psycopg.connect(url) as conn:
            person_id, email = conn.execute("""
                select p.person_id, p.email from marts.dim_people p
                where p.email is not null and p.first_name is not null and p.source_record_count >= 2
                  and exists (select 1 from marts.fct_funnel_leaks l where l.person_id = p.person_id)
                  and exists (select 1 from marts.fct_touchpoints t where t.person_id = p.person_id)
                order by p.person_id limit 1""").fetchone()
            source_ids = [row[0] for row in conn.execute(
                "select source_id from marts.dim_people_identities where person_id = %s", (person_id,))]
        before = _others(url, person_id)
        assert _traces(url, [email]), "the chosen person must be in the warehouse before"

        audit = forget(url, email=email, by="test")
        assert audit["raw_records"] >= len(source_ids) and audit["derived_rows"] > 0
        with psycopg.connect(url) as conn:
            logged = conn.execute("select requested_by, raw_records, detail::text from baton_meta.erasure_log"
                                  ).fetchall()
        assert len(logged) == 1 and logged[0][1] == audit["raw_records"]
        assert email.lower() not in str(logged).lower()

        with psycopg.connect(url) as conn:
            # Extract everything again from the start, as a re-backfill would: the vendors still hold the person.
            conn.execute("delete from baton_meta.sync_state")
        extract_world(e2e_world, url, world_end)
        _build(url, world_end_text)

        with psycopg.connect(url) as conn:
            erased = conn.execute("select count(*), count(payload), count(record_id) from baton_meta.rejected_records"
                                  " where reason = 'erased'").fetchone()
            logged_rejects = conn.execute("select coalesce(sum(rejected), 0) from baton_meta.load_log"
                                          " where load_id in (select load_id from baton_meta.rejected_records"
                                          " where reason = 'erased')").fetchone()[0]
        assert erased[0] > 0 and erased[1] == 0 and erased[2] == 0, erased
        assert logged_rejects >= erased[0]
        assert _traces(url, [email, person_id, *source_ids]) == []
        assert _others(url, person_id) == before
        print(f"\nerasure e2e: {audit}; {erased[0]} records set aside as erased;"
              f" {time.monotonic() - started:.0f}s")
    finally:
        _drop_database(server_url, name)
