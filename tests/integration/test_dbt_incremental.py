"""Reruns: person ids survive new records, and an incremental build equals a full refresh.

One database for the module: day one is built, one more day of records lands, an incremental
build runs; the tests then read what changed (and the last one rebuilds from scratch).
"""

from __future__ import annotations

import pytest

from baton.transform import ensure_raw_tables
from baton.warehouse import connect
from tests.fixtures.warehouse import _create_database, _drop_database
from tests.integration.test_dbt_core import (
    build, hubspot_contact, insert_raw, marketo_activity, marketo_lead, marketo_status_change, plant_world, query,
    sf_lead, sf_lead_status_change,
)

CORE_MARTS = ("dim_people", "dim_people_identities", "dim_accounts", "dim_owners", "fct_lifecycle_stage_history",
              "fct_opportunities", "fct_touchpoints")


def plant_next_day(url: str) -> None:
    """One more day: a HubSpot contact for Ann, a new lead, new activities, a status change."""
    insert_raw(url, "raw_hubspot", "contact", [
        hubspot_contact(601, "ann.lee@acme.com", "2026-05-21 09:00", history={
            "lifecyclestage": [("customer", "2026-05-21 09:00")]})], id_field="id")
    insert_raw(url, "raw_marketo", "lead", [marketo_lead(701, "new.person@zeta.com", "2026-05-21 10:00")],
               id_field="id")
    insert_raw(url, "raw_marketo", "activity", [
        marketo_status_change(9101, 701, "2026-05-21 11:00", "New", "MQL"),
        marketo_activity(9102, 701, "2026-05-21 10:30", 11, primary="Webinar invite"),
        marketo_activity(9103, 102, "2026-05-21 12:00", 1, primary="/pricing"),
    ], id_field="id")
    insert_raw(url, "raw_salesforce", "lead", [
        sf_lead("00Q00000000000FAY", "fay.work@gamma.com", "2026-05-06 09:00", company="Gamma",
                status="Working - Contacted")])
    insert_raw(url, "raw_salesforce", "lead_history", [
        sf_lead_status_change("0170000000000077", "00Q00000000000FAY", "2026-05-21 13:00",
                              "Open - Not Contacted", "Working - Contacted")])


def people(url: str) -> dict[tuple, str]:
    return {(s, o, i): p for s, o, i, p in query(
        url, "select source_system, source_object, source_id, person_id from marts.dim_people_identities")}


@pytest.fixture(scope="module")
def two_days(server_url):
    name, url = _create_database(server_url, "baton_dbt_inc")
    ensure_raw_tables(url)
    plant_world(url)
    build(url)
    day_one = people(url)
    plant_next_day(url)
    build(url)  # incremental: the event models read only what the day's loads wrote
    yield url, day_one
    _drop_database(server_url, name)


def test_person_id_survives_a_rerun_and_a_new_record_joining(two_days):
    url, day_one = two_days
    after = people(url)
    assert {key: after[key] for key in day_one} == day_one
    assert after[("hubspot", "contacts", "601")] == day_one[("marketo", "lead", "101")]
    assert ("marketo", "lead", "701") in after


def test_incremental_build_after_a_day_equals_a_full_refresh(two_days):
    url, _ = two_days
    new_touches = query(url, "select count(*) from marts.fct_touchpoints where source_id in ('9102', '9103')")
    assert new_touches == [(2,)]  # the incremental run picked up the day's activities
    with connect(url, autocommit=True) as conn:
        conn.execute("create schema snapshot")
        for mart in CORE_MARTS:
            conn.execute(f"create table snapshot.{mart} as select * from marts.{mart}")
    build(url, "--full-refresh")
    for mart in CORE_MARTS:
        differing = query(url, f"select count(*) from ((select * from snapshot.{mart} except all select * from marts.{mart})"
                               f" union all (select * from marts.{mart} except all select * from snapshot.{mart})) d")
        assert differing == [(0,)], mart
        assert query(url, f"select count(*) from marts.{mart}")[0][0] > 0, mart
