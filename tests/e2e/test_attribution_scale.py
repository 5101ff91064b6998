"""Attribution at the size of the million-record world: wall time, and still exact.

Opt-in (it builds a big world): the planted truth of a world of BATON_ATTRIBUTION_SCALE_PEOPLE
people (60,000 makes >= 1,000,000 record versions) is written straight into the tables the
attribution models read (fct_touchpoints, fct_opportunities, int_opportunity_contact_roles), so
the figure measures attribution alone, not extraction or identity matching. The credits are
then compared with the independent Python computation like the other attribution tests.

    BATON_ATTRIBUTION_SCALE_PEOPLE=60000 WAREHOUSE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/pytest tests/e2e/test_attribution_scale.py -s

BATON_ATTRIBUTION_SCALE_WORLD=<path> reuses a world file already built with that many people.
"""

from __future__ import annotations

import hashlib
import os
import time
from datetime import datetime, timezone

import psycopg
import pytest

from baton.build.dbt import dbt
from baton_sandbox.truth.attribution import Opportunity, Touch, expected_credits
from tests.e2e.test_attribution_hand_made_paths import UPSTREAM_DDL

PEOPLE = int(os.environ.get("BATON_ATTRIBUTION_SCALE_PEOPLE", "0"))
pytestmark = pytest.mark.skipif(not PEOPLE, reason="opt-in benchmark: set BATON_ATTRIBUTION_SCALE_PEOPLE")


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def _touch_id(system: str, source_id: str) -> str:
    return hashlib.md5(f"{system}|{source_id}".encode()).hexdigest()


def test_attribution_on_the_million_record_world_is_exact_and_timed(server_url, tmp_path_factory):
    from baton_sandbox.store import WorldStore
    from baton_sandbox.truth import compute_truth
    from baton_sandbox.world import build_world
    from tests.fixtures.warehouse import _create_database, _drop_database

    figures: dict[str, float | int] = {}
    world_path = os.environ.get("BATON_ATTRIBUTION_SCALE_WORLD")
    if not world_path:
        world_path = tmp_path_factory.mktemp("scale") / f"world-{PEOPLE}-7.sqlite"
        started = time.monotonic()
        build_world(world_path, people=PEOPLE, seed=7)
        figures["world_build_s"] = time.monotonic() - started
    store = WorldStore(world_path, readonly=True)
    figures["record_versions"] = store.db.execute("select count(*) from versions").fetchone()[0]
    as_of = _instant(store.meta("world_end"))
    truth = compute_truth(store, as_of)

    touches = [Touch(_touch_id(row["source_system"], str(row["source_id"])), row["person_id"],
                     _instant(row["touched_at"]), row["touch_type"] == "form_fill") for row in truth["touchpoints"]]
    touch_rows = [(touch.touchpoint_id, touch.person_id, touch.touched_at, row["touch_type"], row["channel"],
                   row["campaign_id"], row["source_system"], str(row["source_id"]))
                  for touch, row in zip(touches, truth["touchpoints"])]
    opportunities, opportunity_rows, role_rows = [], [], []
    for row in truth["opportunities"]:
        opportunity_id = f"{row['source_system']}:{row['source_id']}"
        created = _instant(row["created_at"])
        closed = _instant(row["closed_at"]) if row["closed_at"] else None
        opportunities.append(Opportunity(opportunity_id, created, closed, bool(row["is_closed"]), bool(row["is_won"]),
                                         row["amount"], frozenset(row["person_ids"])))
        opportunity_rows.append((opportunity_id, created, closed, row["is_closed"], row["is_won"], row["amount"],
                                 row["person_ids"][0] if row["person_ids"] else None, False))
        role_rows.extend((opportunity_id, person, created) for person in row["person_ids"])
    figures.update(touchpoints=len(touch_rows), opportunities=len(opportunity_rows), contact_roles=len(role_rows))

    name, url = _create_database(server_url, "baton_attr_scale")
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(UPSTREAM_DDL)
            with conn.cursor() as cur:
                with cur.copy("copy marts.fct_touchpoints (touchpoint_id, person_id, touched_at, touch_type, channel,"
                              " campaign_id, source_system, source_id) from stdin") as copy:
                    for row in touch_rows:
                        copy.write_row(row)
                cur.executemany(
                    "insert into marts.fct_opportunities (opportunity_id, created_at, closed_at, is_closed, is_won,"
                    " amount, primary_person_id, is_deleted) values (%s, %s, %s, %s, %s, %s, %s, %s)", opportunity_rows)
                cur.executemany("insert into intermediate.int_opportunity_contact_roles"
                                " (opportunity_id, person_id, role_created_at) values (%s, %s, %s)", role_rows)
            conn.execute("analyze")
        vars = {"as_of": as_of.strftime("%Y-%m-%dT%H:%M:%SZ")}
        started = time.monotonic()
        seeded = dbt(["seed", "--select", "channel_mapping"], url, vars=vars, target_name="attribution_scale")
        assert seeded.success, seeded.failures()
        started = time.monotonic()
        built = dbt(["run", "--select", "int_attribution_touchpoints_in_window+"], url, vars=vars,
                    target_name="attribution_scale")
        figures["dbt_run_attribution_s"] = time.monotonic() - started
        assert built.success, built.failures()
        figures.update({f"model_{r['name']}_s": r["execution_time"] for r in built.results})
        started = time.monotonic()
        tested = dbt(["test", "--select", "int_attribution_touchpoints_in_window+", "--exclude", "test_type:unit"],
                     url, vars=vars, target_name="attribution_scale")
        figures["dbt_test_attribution_s"] = time.monotonic() - started
        assert tested.success, tested.failures()
        with psycopg.connect(url) as conn:
            actual = {(o, t, m): float(c) for o, t, m, c in conn.execute(
                "select opportunity_id, touchpoint_id, model, credit from marts.fct_attribution")}
    finally:
        _drop_database(server_url, name)
    figures["attribution_rows"] = len(actual)
    print("attribution scale figures:", {k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()})

    expected = expected_credits(opportunities, touches, as_of=as_of)
    assert set(actual) == set(expected)
    wrong = [key for key, credit in expected.items() if abs(actual[key] - credit) > 1e-9]
    assert not wrong, (len(wrong), wrong[:5])
