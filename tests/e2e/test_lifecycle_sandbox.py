"""End to end: a sandbox world → vendor APIs → raw → dbt core marts, against the planted truth.

The world is extracted through the sandbox's APIs up to the day before its end, built, then
extracted for one more day and built incrementally, as the nightly run would. The marts must
then equal what the generator planted (baton_sandbox.truth, computed from its event log alone):
every planted identity link found and no two people merged, every stage transition, every
marketing touch; and the incremental build must equal a full refresh of the same data.

It runs on the default demo world (3,000 people, seed 7: the `e2e_world` fixture);
`BATON_E2E_PEOPLE=N` picks another size, `BATON_E2E_PEOPLE=0` the small session world:

    WAREHOUSE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/pytest tests/e2e/test_lifecycle_sandbox.py -s
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from baton_sandbox.testing import extract_world

CORE_MARTS = ("dim_people", "dim_people_identities", "dim_accounts", "dim_owners", "fct_lifecycle_stage_history",
              "fct_opportunities", "fct_touchpoints")
CORE = ["--select", "+path:models/marts/core", "--indirect-selection", "cautious"]
WITHOUT_TESTS = ["--exclude-resource-type", "test", "unit_test"]


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def _z(instant: datetime | None) -> str | None:
    return None if instant is None else instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _world_path(request, tmp_path_factory):
    return request.getfixturevalue("e2e_world")



def _build(warehouse_url: str, as_of: datetime, *extra: str) -> float:
    from baton.build.dbt import dbt

    started = time.monotonic()
    result = dbt(["build", *CORE, *extra], warehouse_url, vars={"as_of": _z(as_of)}, target_name="lifecycle_e2e")
    assert result.success, (result.exception, result.failures()[:5])
    return time.monotonic() - started


@pytest.fixture(scope="module")
def pipeline(request, tmp_path_factory, server_url):
    from baton.build.dbt import ensure_raw_tables
    from baton_sandbox.store import WorldStore
    from baton_sandbox.truth import compute_truth
    from tests.fixtures.warehouse import _create_database, _drop_database

    world_path = _world_path(request, tmp_path_factory)
    store = WorldStore(world_path, readonly=True)
    world_end = _instant(store.meta("world_end"))
    day_before = world_end - timedelta(days=1)
    name, url = _create_database(server_url, "baton_lifecycle_e2e")
    try:
        ensure_raw_tables(url)
        timings = {}
        extract_world(world_path, url, day_before)
        # dbt's own tests run once, on the incremental build the comparisons read
        timings["dbt_build_full_s"] = _build(url, day_before, *WITHOUT_TESTS)
        extract_world(world_path, url, world_end)
        timings["dbt_build_incremental_s"] = _build(url, world_end)
        truth = compute_truth(store, world_end)
        print(f"\nlifecycle e2e on {os.path.basename(str(world_path))}: "
              + ", ".join(f"{key}={value:.1f}" for key, value in timings.items()))
        yield url, truth, timings, world_end
    finally:
        store.close()
        _drop_database(server_url, name)


def _rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def _truth_person_of_identity(truth) -> dict[tuple, str]:
    return {(i["source_system"], i["source_object"], i["source_id"]): person["person_id"]
            for person in truth["people"] for i in person["identities"]}


def _truth_person_of_warehouse_person(url, truth) -> dict[str, str]:
    planted = _truth_person_of_identity(truth)
    return {person_id: planted.get((system, obj, source_id)) for system, obj, source_id, person_id in _rows(
        url, "select source_system, source_object, source_id, person_id from marts.dim_people_identities")}


def test_person_matching_equals_the_planted_identities(pipeline):
    url, truth, _, _ = pipeline
    planted = {(i["source_system"], i["source_object"], i["source_id"]): (person["person_id"], i["is_deleted"],
                                                                           i["is_merged"])
               for person in truth["people"] for i in person["identities"]}
    found = {(s, o, i): (p, deleted, merged) for s, o, i, p, deleted, merged in _rows(
        url, "select source_system, source_object, source_id, person_id, is_deleted, is_merged"
             " from marts.dim_people_identities")}
    assert sorted(set(planted) - set(found))[:10] == [], "planted records missing from the identity map"
    assert sorted(set(found) - set(planted))[:10] == [], "identity records the world never planted"
    warehouse_people_of_planted = defaultdict(set)
    planted_people_of_warehouse = defaultdict(set)
    for key, (planted_person, _, _) in planted.items():
        warehouse_people_of_planted[planted_person].add(found[key][0])
        planted_people_of_warehouse[found[key][0]].add(planted_person)
    split = {p: ws for p, ws in warehouse_people_of_planted.items() if len(ws) > 1}
    merged = {w: ps for w, ps in planted_people_of_warehouse.items() if len(ps) > 1}
    assert split == {}, "planted links not found: one real person split into several"
    assert merged == {}, "different real people merged into one"
    flags = [(key, planted[key][1:], found[key][1:]) for key in planted if planted[key][1:] != found[key][1:]]
    assert flags == [], "deleted / merged flags differ"
    assert _rows(url, "select count(*) from marts.dim_people")[0][0] == len(truth["people"])


def test_stage_history_equals_the_planted_transitions(pipeline):
    url, truth, _, _ = pipeline
    planted = defaultdict(list)
    for row in truth["stage_transitions"]:
        planted[row["person_id"]].append((row["stage"], row["entered_at"], row["exited_at"], row["next_stage"]))
    truth_person = _truth_person_of_warehouse_person(url, truth)
    built = defaultdict(list)
    for person_id, stage, entered, exited, next_stage in _rows(
            url, "select person_id, stage, entered_at, exited_at, next_stage from marts.fct_lifecycle_stage_history"
                 " order by person_id, spell_number"):
        built[truth_person[person_id]].append((stage, _z(entered), _z(exited), next_stage))
    differing = sorted(p for p in set(planted) | set(built) if planted.get(p) != built.get(p))
    examples = {p: {"planted": planted.get(p), "built": built.get(p)} for p in differing[:3]}
    assert differing == [], examples
    assert sum(len(v) for v in built.values()) == len(truth["stage_transitions"]) > 0


def test_touchpoints_equal_the_planted_marketing_touches(pipeline):
    url, truth, _, _ = pipeline
    planted = {(r["source_system"], r["source_object"], str(r["source_id"])): (r["person_id"], r["touched_at"],
                                                                               r["touch_type"])
               for r in truth["touchpoints"]}
    truth_person = _truth_person_of_warehouse_person(url, truth)
    built = {(s, o, i): (truth_person[p], _z(at), touch_type) for s, o, i, p, at, touch_type in _rows(
        url, "select source_system, source_object, source_id, person_id, touched_at, touch_type"
             " from marts.fct_touchpoints")}
    assert sorted(set(planted) - set(built))[:5] == []
    assert sorted(set(built) - set(planted))[:5] == []
    assert [(k, planted[k], built[k]) for k in planted if planted[k] != built[k]][:5] == []


def test_incremental_build_after_one_more_day_equals_a_full_refresh(pipeline):
    url, _, timings, as_of = pipeline
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema incremental_copy")
        for mart in CORE_MARTS:
            conn.execute(f"create table incremental_copy.{mart} as select * from marts.{mart}")
    timings["dbt_build_full_refresh_s"] = _build(url, as_of, "--full-refresh", *WITHOUT_TESTS)
    print(f"\nfull refresh: {timings['dbt_build_full_refresh_s']:.1f}s")
    for mart in CORE_MARTS:
        differing = _rows(url, f"select count(*) from ((select * from incremental_copy.{mart} except all"
                               f" select * from marts.{mart}) union all (select * from marts.{mart} except all"
                               f" select * from incremental_copy.{mart})) d")
        assert differing == [(0,)], mart


def test_people_belong_to_their_planted_accounts_and_free_mail_makes_none(pipeline):
    url, truth, _, _ = pipeline
    truth_person = _truth_person_of_warehouse_person(url, truth)
    built = {truth_person[person_id]: (salesforce_account, hubspot_company, matched_by)
             for person_id, salesforce_account, hubspot_company, matched_by in _rows(
                 url, "select p.person_id, a.salesforce_account_id, a.hubspot_company_id, a.matched_by"
                      " from marts.dim_people p left join marts.dim_accounts a using (account_id)")}
    wrong = []
    for person in truth["people"]:
        salesforce_account, hubspot_company, matched_by = built[person["person_id"]]
        if person["account"] is None:
            # no CRM account: only the person's own corporate domain may make one, free-mail none
            expected_matched_by = None if person["is_personal_email"] else "email_domain"
            ok = salesforce_account is None and hubspot_company is None and matched_by == expected_matched_by
        else:
            system, account = person["account"].split(":", 1)
            ok = (salesforce_account if system == "salesforce" else hubspot_company) == account
        if not ok:
            wrong.append((person["person_id"], person["account"], built[person["person_id"]]))
    assert wrong[:5] == []


def test_opportunities_and_their_contact_roles_equal_the_planted_ones(pipeline):
    url, truth, _, _ = pipeline
    truth_person = _truth_person_of_warehouse_person(url, truth)
    role_people = defaultdict(set)
    for system, source_id, person_id in _rows(
            url, "select o.source_system, o.source_id, r.person_id from intermediate.int_opportunity_contact_roles r"
                 " join marts.fct_opportunities o using (opportunity_id)"):
        role_people[(system, source_id)].add(truth_person[person_id])
    built = {(system, source_id): (_z(created), _z(closed), closed_flag, won, None if amount is None else float(amount))
             for system, source_id, created, closed, closed_flag, won, amount in _rows(
                 url, "select source_system, source_id, created_at, closed_at, is_closed, is_won, amount"
                      " from marts.fct_opportunities")}
    planted = {(o["source_system"], o["source_id"]): (o["created_at"], o["closed_at"], o["is_closed"], o["is_won"],
                                                      None if o["amount"] is None else float(o["amount"]))
               for o in truth["opportunities"]}
    assert set(built) == set(planted)
    assert [(k, planted[k], built[k]) for k in planted if planted[k] != built[k]][:5] == []
    planted_roles = {(o["source_system"], o["source_id"]): set(o["person_ids"]) for o in truth["opportunities"]}
    assert [k for k in planted_roles if planted_roles[k] != role_people.get(k, set())][:5] == []
