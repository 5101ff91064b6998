"""Incremental builds equal a full refresh of the same raw data, night after night, through the
shadow schemas the nightly run builds in (docs/scale.md).

Three nights on the small sandbox world, each built and published the way the nightly run does
(prepare the shadow, dbt build into it, mark it built, swap it in; dbt's tests and the quality
gate are left to the modules that own them). The shadow holds the generation before the live
one, so the third night's build is incremental from the first and catches up on two nights:

    night 1  the world up to two days before its end, and a     full build (nothing to start from)
             meeting booked for night 2's next morning
    night 2  one more day + a late-arriving call on a black      full build (the shadow was empty)
             hole, a deleted first touch, a form fill landed
             a month late
    night 3  the last day + a lead merged into another person's, incremental from night 1
             a task moved before its handoff's SLA, an email
             change that splits a person, a lead's and an
             account's new owner; the booked meeting has happened
             (nothing about it was loaded since night 1)

The raw edits are written as the loader writes (the record whole in `data`, `_loaded_at` the time
it was written). After night 3 a full refresh of the same raw data and as-of is built into the
shadow schemas, and every table dbt builds must equal the live one (EXCEPT ALL both ways), but
the change sets (models/intermediate/incremental: what one build caught up on).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from psycopg.types.json import Jsonb

from baton_sandbox.testing import extract_world

UTC = timezone.utc
NO_DBT_TESTS = ["--exclude-resource-type", "test", "unit_test"]
EDIT_LOAD = "incremental-e2e-edit"


def _sf(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _z(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Nights:
    url: str
    as_of: list[datetime]
    seconds: dict[str, float] = field(default_factory=dict)
    planted: dict[str, str] = field(default_factory=dict)


def _night(url: str, as_of: datetime, seconds: dict, label: str) -> None:
    """One nightly build without its gate: shadow prepared, built, stamped, swapped in."""
    from baton.build.dbt import dbt
    from baton.build.publish import SHADOW_SUFFIX, mark_built, prepare_shadow, publish

    started = time.monotonic()
    prepared = prepare_shadow(url)
    result = dbt(["build", *NO_DBT_TESTS], url, vars={"as_of": _z(as_of)}, schema_suffix=SHADOW_SUFFIX,
                 target_name="incremental_e2e")
    assert result.success, (label, result.exception, result.failures()[:5])
    mark_built(url, as_of=as_of)
    publish(url)
    seconds[label] = round(time.monotonic() - started, 1)
    seconds[label + "_started_from_shadow"] = not prepared["full_refresh"]


def _one(conn, sql: str, params=()) -> tuple:
    row = conn.execute(sql, params).fetchone()
    assert row is not None, f"no candidate in the sandbox world: {sql}"
    return row


def _rewrite(conn, table: str, record_id: str, changes: dict, *, deleted: bool | None = None) -> None:
    """A new version of a raw record, as the loader lands one: changed fields, stamped now."""
    count = conn.execute(
        f"update {table} set data = data || %s, is_deleted = coalesce(%s, is_deleted),"
        " _loaded_at = clock_timestamp(), _load_id = %s where id = %s",
        (Jsonb(changes), deleted, EDIT_LOAD, record_id)).rowcount
    assert count == 1, (table, record_id)


def _copy_as_new(conn, table: str, template_id: str, new_id: str, changes: dict) -> None:
    """A record the loader lands for the first time, shaped like an existing one."""
    conn.execute(
        f"insert into {table} (id, data, source_updated_at, is_deleted, _loaded_at, _load_id)"
        f" select %s, data || %s, source_updated_at, false, clock_timestamp(), %s from {table} where id = %s",
        (new_id, Jsonb({**changes, "Id": new_id} if table.startswith("raw_salesforce") else changes), EDIT_LOAD,
         template_id))


def _edit_night_1(conn, nights: Nights) -> None:
    as_of = nights.as_of[0]
    # a meeting booked tonight for the morning after night 2: a sales touch only once as-of passes it
    lead_id, owner = _one(conn, """
        select leads.id, leads.data ->> 'OwnerId' from raw_salesforce.lead as leads
        join raw_salesforce.user as users on users.id = leads.data ->> 'OwnerId'
        join raw_salesforce.user_role as roles on roles.id = users.data ->> 'UserRoleId'
        where not leads.is_deleted and leads.data ->> 'Status' = 'Working - Contacted'
          and roles.data ->> 'Name' in ('Sales Development Rep', 'Account Executive')
        order by leads.id desc limit 1""")
    template = _one(conn, "select id from raw_salesforce.event order by id limit 1")[0]
    starts = nights.as_of[1] + timedelta(hours=10)
    _copy_as_new(conn, "raw_salesforce.event", template, "00UHs9999999001MAA", {
        "WhoId": lead_id, "OwnerId": owner, "StartDateTime": _sf(starts),
        "EndDateTime": _sf(starts + timedelta(minutes=30)), "CreatedDate": _sf(as_of - timedelta(hours=3)),
        "SystemModstamp": _sf(as_of - timedelta(hours=3))})
    nights.planted.update(booked_meeting_lead=lead_id, booked_meeting_at=_z(starts))


def _edit_night_2(conn, nights: Nights) -> None:
    as_of = nights.as_of[1]
    # a completed call logged days late on a black hole: it becomes the handoff's first touch
    handoff_id, lead_id, handed_off_at, owner = _one(conn, """
        select handoff_id, crm_source_id, handed_off_at, source_owner_id_at_handoff from marts.fct_handoffs
        where is_black_hole and crm_source_object = 'Lead' and owner_role in ('sdr', 'ae')
        order by handed_off_at, handoff_id limit 1""")
    template = _one(conn, "select id from raw_salesforce.task where data ->> 'Status' = 'Completed'"
                          " and data ->> 'TaskSubtype' = 'Call' order by id limit 1")[0]
    called_at = handed_off_at + timedelta(minutes=30)
    _copy_as_new(conn, "raw_salesforce.task", template, "00THs9999999001MAA", {
        "WhoId": lead_id, "OwnerId": owner, "CompletedDateTime": _sf(called_at), "CreatedDate": _sf(called_at),
        "ActivityDate": called_at.strftime("%Y-%m-%d"), "SystemModstamp": _sf(as_of - timedelta(hours=2))})
    nights.planted.update(late_call_handoff=handoff_id, late_call_at=_z(called_at))

    # the task that was another handoff's first sales touch is deleted
    handoff_id, task_id = _one(conn, """
        select distinct on (touches.handoff_id) touches.handoff_id, touches.source_id
        from intermediate.int_sales_touches_assigned_to_handoffs as touches
        join marts.fct_handoffs as handoffs using (handoff_id)
        where touches.source_object = 'Task' and handoffs.handoff_id <> %s and handoffs.sales_touch_attempts > 1
        order by touches.handoff_id, touches.touched_at""", (nights.planted["late_call_handoff"],))
    _rewrite(conn, "raw_salesforce.task", task_id, {"IsDeleted": True}, deleted=True)
    nights.planted.update(deleted_touch_handoff=handoff_id, deleted_task=task_id)

    # a Marketo form fill that arrives a month after it happened, on a person with an opportunity
    lead_id, template = _one(conn, """
        select identities.source_id, (select id from raw_marketo.activity where (data ->> 'activityTypeId') = '2'
                                      order by id limit 1)
        from intermediate.int_opportunity_contact_roles as roles
        join marts.dim_people_identities as identities using (person_id)
        where identities.source_object = 'lead' order by roles.opportunity_id, identities.source_id limit 1""")
    filled_at = as_of - timedelta(days=30)
    conn.execute(
        "insert into raw_marketo.activity (id, data, source_updated_at, is_deleted, _loaded_at, _load_id)"
        " select '99999001', data || %s, %s, false, clock_timestamp(), %s from raw_marketo.activity where id = %s",
        (Jsonb({"id": 99999001, "marketoGUID": "incremental-e2e-1", "leadId": int(lead_id),
                "activityDate": _z(filled_at)}), filled_at, EDIT_LOAD, template))
    nights.planted.update(late_form_fill_lead=lead_id)


def _edit_night_3(conn, nights: Nights) -> None:
    as_of = nights.as_of[2]
    # two Salesforce leads of two people, each handed off: the later one is merged into the earlier
    (winner, winner_person), (loser, loser_person) = conn.execute("""
        select identities.source_id, identities.person_id
        from marts.dim_people_identities as identities
        join marts.fct_handoffs as handoffs on handoffs.crm_source_id = identities.source_id
        where identities.source_object = 'Lead' and not identities.is_deleted
          and identities.person_id not in (select person_id from marts.fct_handoffs where handoff_id in (%s, %s))
        order by identities.source_created_at, identities.source_id limit 2""",
        (nights.planted["late_call_handoff"], nights.planted["deleted_touch_handoff"])).fetchall()
    assert winner_person != loser_person
    _rewrite(conn, "raw_salesforce.lead", loser, {"IsDeleted": True, "MasterRecordId": winner,
                                                  "SystemModstamp": _sf(as_of - timedelta(hours=1))}, deleted=True)
    nights.planted.update(merge_winner=winner, merge_loser=loser, merge_loser_person=loser_person)

    # a sales touch moved to minutes after its handoff: the handoff now met its SLA
    handoff_id, task_id, handed_off_at = _one(conn, """
        select handoffs.handoff_id, touches.source_id, handoffs.handed_off_at
        from marts.fct_handoffs as handoffs
        join intermediate.int_sales_touches_assigned_to_handoffs as touches using (handoff_id)
        where handoffs.is_sla_breached and touches.source_object = 'Task'
          and handoffs.person_id not in (%s) and touches.touched_at > handoffs.first_sales_touch_at
        order by handoffs.handoff_id, touches.touched_at desc limit 1""", (loser_person,))
    moved_to = handed_off_at + timedelta(minutes=5)
    _rewrite(conn, "raw_salesforce.task", task_id, {"CompletedDateTime": _sf(moved_to),
                                                     "SystemModstamp": _sf(as_of - timedelta(hours=1))})
    nights.planted.update(moved_touch_handoff=handoff_id, moved_touch_at=_z(moved_to))
    _edit_night_3_people(conn, nights)


def _edit_night_3_people(conn, nights: Nights) -> None:
    as_of = nights.as_of[2]
    # a Marketo lead whose only link to a HubSpot contact is their email changes it: one person
    # becomes two
    marketo_lead, person_id = _one(conn, """
        select marketo.source_id, marketo.person_id
        from marts.dim_people_identities as marketo
        join marts.dim_people_identities as hubspot
          on hubspot.person_id = marketo.person_id and hubspot.source_object = 'contacts'
        where marketo.source_object = 'lead' and not marketo.is_deleted
          and (select count(*) from marts.dim_people_identities as others where others.person_id = marketo.person_id) = 2
          and marketo.person_id not in (%s)
        order by marketo.source_id limit 1""", (nights.planted["merge_loser_person"],))
    _rewrite(conn, "raw_marketo.lead", marketo_lead, {"email": f"split.{marketo_lead}@incremental-e2e.example",
                                                        "updatedAt": _z(as_of - timedelta(hours=1))})
    nights.planted.update(split_marketo_lead=marketo_lead, split_person=person_id)

    # a lead handed to another rep today, and an account given to another owner
    lead_id, = _one(conn, "select source_id from marts.dim_people_identities where source_object = 'Lead'"
                          " and not is_deleted order by source_id desc limit 1")
    new_owner, = _one(conn, "select source_owner_id from marts.dim_owners where source_system = 'salesforce'"
                            " and owner_type = 'User' and role = 'ae' order by source_owner_id limit 1")
    _rewrite(conn, "raw_salesforce.lead", lead_id, {"OwnerId": new_owner,
                                                     "SystemModstamp": _sf(as_of - timedelta(hours=1))})
    account_id, = _one(conn, "select salesforce_account_id from marts.dim_accounts where salesforce_account_id"
                             " is not null and hubspot_company_id is null and owner_id is not null"
                             " order by salesforce_account_id limit 1")
    _rewrite(conn, "raw_salesforce.account", account_id, {"OwnerId": new_owner,
                                                           "SystemModstamp": _sf(as_of - timedelta(hours=1))})
    nights.planted.update(reowned_lead=lead_id, reowned_account=account_id, new_owner=new_owner)


@pytest.fixture(scope="module")
def nights(sandbox_world, server_url):
    from baton.build.dbt import dbt, ensure_raw_tables
    from baton.build.publish import SHADOW_SUFFIX
    from baton_sandbox.store import WorldStore
    from tests.fixtures.warehouse import _create_database, _drop_database

    store = WorldStore(sandbox_world, readonly=True)
    try:
        world_end = datetime.fromisoformat(store.meta("world_end").replace("Z", "+00:00"))
    finally:
        store.close()
    name, url = _create_database(server_url, "baton_incremental_e2e")
    try:
        ensure_raw_tables(url)
        state = Nights(url, [world_end - timedelta(days=2), world_end - timedelta(days=1), world_end])
        edits = [_edit_night_1, _edit_night_2, _edit_night_3]
        for night, as_of in enumerate(state.as_of):
            extract_world(sandbox_world, url, as_of)
            with psycopg.connect(url, autocommit=True) as conn:
                edits[night](conn, state)
            _night(url, as_of, state.seconds, f"night_{night + 1}")
        started = time.monotonic()
        result = dbt(["build", "--full-refresh", *NO_DBT_TESTS], url, vars={"as_of": _z(state.as_of[-1])},
                     schema_suffix=SHADOW_SUFFIX, target_name="incremental_e2e")
        assert result.success, (result.exception, result.failures()[:5])
        state.seconds["full_refresh"] = round(time.monotonic() - started, 1)
        print(f"\nincremental e2e: {state.seconds}")
        yield state
    finally:
        _drop_database(server_url, name)


def _rows(url: str, sql: str, params=()) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def _built_tables(url: str) -> list[tuple[str, str]]:
    """(schema, table) of every table dbt built live, but the change sets (what one build caught up on)."""
    return [(schema, table) for schema, table in _rows(url, """
        select table_schema, table_name from information_schema.tables
        where table_schema in ('intermediate', 'marts') and table_type = 'BASE TABLE'
        order by 1, 2""") if not (table.startswith("int_") and table in {
            "int_incremental_state", "int_person_records_changed", "int_people_rematched", "int_people_changed",
            "int_opportunities_changed"})]


def _differing(url: str, schema: str, table: str, where: str = "true", params=()) -> int:
    live, full = f'{schema}."{table}"', f'{schema}_shadow."{table}"'
    return _rows(url, f"select count(*) from ((select * from {live} where {where} except all"
                      f" select * from {full} where {where}) union all (select * from {full} where {where}"
                      f" except all select * from {live} where {where})) as d", params * 4)[0][0]


def test_night_three_was_built_incrementally_from_night_one(nights):
    """The nightly path under test: the third build started from the generation the shadow held,
    night 1's, and caught up incrementally (else it was a full build and nothing incremental was
    tested)."""
    assert not nights.seconds["night_1_started_from_shadow"] and not nights.seconds["night_2_started_from_shadow"]
    assert nights.seconds["night_3_started_from_shadow"]
    state = _rows(nights.url, "select is_full, previous_as_of from intermediate.int_incremental_state")
    assert state == [(False, nights.as_of[0])]


def test_every_table_after_three_nights_equals_a_full_refresh(nights):
    """Every intermediate and mart table the incremental nights left equals a full refresh of the
    same raw data and as-of, row for row (the change sets aside)."""
    tables = _built_tables(nights.url)
    assert len(tables) > 40
    differing = {f"{schema}.{table}": count for schema, table in tables
                 if (count := _differing(nights.url, schema, table))}
    assert differing == {}


def test_late_arriving_call_ends_the_black_hole_it_answers(nights):
    """A completed call logged days after it happened becomes the first sales touch of the
    black-hole handoff it answers, and the black hole leak goes, as a full refresh says."""
    handoff = nights.planted["late_call_handoff"]
    first, black_hole = _rows(nights.url, "select first_sales_touch_at, is_black_hole from marts.fct_handoffs"
                                          " where handoff_id = %s", (handoff,))[0]
    assert (_z(first), black_hole) == (nights.planted["late_call_at"], False)
    assert _rows(nights.url, "select count(*) from marts.fct_funnel_leaks where handoff_id = %s"
                             " and leak_type = 'black_hole'", (handoff,)) == [(0,)]
    for table in ("fct_handoffs", "fct_funnel_leaks"):
        assert _differing(nights.url, "marts", table, "handoff_id = %s", (handoff,)) == 0, table


def test_deleted_first_touch_leaves_its_handoff(nights):
    """A sales touch deleted in the CRM is no touch any more: its handoff's first touch and
    attempts are those of the touches left, as a full refresh says."""
    task, handoff = nights.planted["deleted_task"], nights.planted["deleted_touch_handoff"]
    assert _rows(nights.url, "select count(*) from intermediate.int_sales_activities_unioned where source_id = %s",
                 (task,)) == [(0,)]
    assert _differing(nights.url, "marts", "fct_handoffs", "handoff_id = %s", (handoff,)) == 0


def test_late_form_fill_reaches_the_touchpoints_and_attribution(nights):
    """A Marketo form fill landed a month late is a touchpoint of its person, and the attribution
    of their opportunities counts it, as a full refresh does."""
    person = _rows(nights.url, "select person_id from marts.dim_people_identities where source_object = 'lead'"
                               " and source_id = %s", (nights.planted["late_form_fill_lead"],))[0][0]
    assert _rows(nights.url, "select count(*) from marts.fct_touchpoints where source_id = '99999001'"
                             " and person_id = %s", (person,)) == [(1,)]
    assert _differing(nights.url, "marts", "fct_attribution", "person_id = %s", (person,)) == 0


def test_merged_lead_joins_its_winner_and_the_old_person_is_gone(nights):
    """A Salesforce lead merged into another person's lead makes one person: its records, stage
    history and handoffs are the winner's person's, and its old person is in no table any more."""
    (winner_person,), (loser_person,) = _rows(nights.url, """
        select person_id from marts.dim_people_identities where source_object = 'Lead' and source_id in (%s, %s)
        order by source_id = %s desc""", (nights.planted["merge_winner"], nights.planted["merge_loser"],
                                          nights.planted["merge_winner"]))
    assert winner_person == loser_person
    gone = nights.planted["merge_loser_person"]
    if gone != winner_person:
        for table in ("dim_people", "fct_lifecycle_stage_history", "fct_handoffs", "fct_touchpoints",
                      "fct_funnel_leaks"):
            assert _rows(nights.url, f"select count(*) from marts.{table} where person_id = %s", (gone,)) == [(0,)]
    for table in ("dim_people", "fct_lifecycle_stage_history", "fct_handoffs"):
        assert _differing(nights.url, "marts", table, "person_id = %s", (winner_person,)) == 0, table


def test_touch_moved_before_the_sla_makes_the_handoff_answered_in_time(nights):
    """A task whose completion moved to five minutes after the handoff becomes its first sales
    touch: the SLA is met, as a full refresh says."""
    handoff = nights.planted["moved_touch_handoff"]
    first, breached = _rows(nights.url, "select first_sales_touch_at, is_sla_breached from marts.fct_handoffs"
                                        " where handoff_id = %s", (handoff,))[0]
    assert (_z(first), breached) == (nights.planted["moved_touch_at"], False)
    assert _differing(nights.url, "marts", "fct_handoffs", "handoff_id = %s", (handoff,)) == 0


def test_meeting_booked_ahead_becomes_a_touch_once_as_of_passes_it(nights):
    """A meeting booked on night 1 for the morning after night 2 is a sales touch at night 3's
    as-of, although nothing about it was loaded after night 1's build, from which night 3 was
    built: the as-of moving past it rebuilds its person."""
    touched = _rows(nights.url, "select touched_at from intermediate.int_sales_touches_assigned_to_handoffs"
                                " where source_id = '00UHs9999999001MAA'")
    assert [_z(at) for (at,) in touched] == [nights.planted["booked_meeting_at"]]
    assert _differing(nights.url, "intermediate", "int_sales_touches_assigned_to_handoffs",
                      "source_id = %s", ("00UHs9999999001MAA",)) == 0


def test_changed_email_splits_a_person_in_two(nights):
    """A Marketo lead whose only link to a HubSpot contact was their email changes it: they are two
    people now, and both people's rows equal a full refresh."""
    people = _rows(nights.url, "select distinct person_id from marts.dim_people_identities where person_id = %s"
                               " or (source_object = 'lead' and source_id = %s)",
                   (nights.planted["split_person"], nights.planted["split_marketo_lead"]))
    assert len(people) == 2
    for (person,) in people:
        for table in ("dim_people", "dim_people_identities", "fct_lifecycle_stage_history", "fct_touchpoints"):
            assert _differing(nights.url, "marts", table, "person_id = %s", (person,)) == 0, table


def test_new_lead_and_account_owners_reach_people_and_accounts(nights):
    """A lead handed to another rep and an account given to another owner show their new owner
    in dim_people and dim_accounts, as a full refresh does."""
    owner = _rows(nights.url, "select owner_id from marts.dim_owners where source_owner_id = %s",
                  (nights.planted["new_owner"],))[0][0]
    assert _rows(nights.url, "select owner_id from marts.dim_accounts where salesforce_account_id = %s",
                 (nights.planted["reowned_account"],)) == [(owner,)]
    person = _rows(nights.url, "select person_id from marts.dim_people_identities where source_object = 'Lead'"
                               " and source_id = %s", (nights.planted["reowned_lead"],))[0][0]
    assert _differing(nights.url, "marts", "dim_people", "person_id = %s", (person,)) == 0
