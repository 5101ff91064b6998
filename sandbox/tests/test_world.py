"""The sandbox world: deterministic, vendor-shaped, and carrying the field's failure rates."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from baton_sandbox.catalog import HUBSPOT_PROPERTIES, MARKETO_LEAD_FIELDS, SALESFORCE_OBJECTS
from baton_sandbox.store import WorldStore, parse_iso
from baton_sandbox.truth import compute_truth, export_truth, summarize_truth
from baton_sandbox.world import WorldParams, add_business_minutes, build_world

DEMO_PEOPLE = 3000
# Handoffs this long before the world's end have had time to play out: their outcomes
# (11 weeks), or just their first touch (the latest comes 25 business days in, about 5 weeks).
SETTLED_BEFORE = "2026-08-15"
FIRST_TOUCH_SETTLED_BEFORE = "2026-09-15"


@pytest.fixture(scope="session")
def demo_world(tmp_path_factory):
    """The demo world (default size and seed), built once per session; returns its path."""
    path = tmp_path_factory.mktemp("world") / "demo.sqlite"
    build_world(path, people=DEMO_PEOPLE, seed=7).close()
    return path


@pytest.fixture(scope="session")
def demo_store(demo_world):
    return WorldStore(demo_world, readonly=True)


@pytest.fixture(scope="session")
def demo_truth(demo_store):
    return compute_truth(demo_store)


def dump(path) -> list:
    store = WorldStore(path, readonly=True)
    try:
        return [store.db.execute(f"select * from {table} order by 1").fetchall()
                for table in ("versions", "events", "meta")]
    finally:
        store.close()


# -- determinism ---------------------------------------------------------------------------------

def test_same_seed_builds_an_identical_world_and_identical_truth(tmp_path):
    first = build_world(tmp_path / "a.sqlite", people=250, seed=11)
    second = build_world(tmp_path / "b.sqlite", people=250, seed=11)
    assert compute_truth(first) == compute_truth(second)
    first.close()
    second.close()
    assert (tmp_path / "a.sqlite").read_bytes() == (tmp_path / "b.sqlite").read_bytes()
    assert dump(tmp_path / "a.sqlite") == dump(tmp_path / "b.sqlite")


def test_a_different_seed_builds_a_different_world(tmp_path):
    build_world(tmp_path / "a.sqlite", people=250, seed=11).close()
    build_world(tmp_path / "b.sqlite", people=250, seed=12).close()
    first, second = dump(tmp_path / "a.sqlite"), dump(tmp_path / "b.sqlite")
    assert first[0] != second[0] and first[1] != second[1]


def test_rebuilding_over_an_existing_file_replaces_it(tmp_path):
    build_world(tmp_path / "w.sqlite", people=120, seed=5).close()
    build_world(tmp_path / "w.sqlite", people=120, seed=5).close()
    build_world(tmp_path / "fresh.sqlite", people=120, seed=5).close()
    assert dump(tmp_path / "w.sqlite") == dump(tmp_path / "fresh.sqlite")


def test_the_world_does_not_depend_on_the_interpreters_hash_seed(tmp_path):
    script = ("import sys; from baton_sandbox.world import build_world; "
              "build_world(sys.argv[1], people=120, seed=3).close()")
    for hash_seed in ("1", "2"):
        subprocess.run([sys.executable, "-c", script, str(tmp_path / f"h{hash_seed}.sqlite")], check=True,
                       env={**os.environ, "PYTHONHASHSEED": hash_seed})
    assert dump(tmp_path / "h1.sqlite") == dump(tmp_path / "h2.sqlite")


@pytest.mark.parametrize("bad", [{"misrouted_rate": 1.5}, {"never_contacted_rate": -0.1}, {"mql_rate": 1.0},
                                 {"hubspot_only_share": 0.7, "marketo_and_hubspot_share": 0.4},
                                 {"world_end": "2026-04-01T00:00:00Z"}])
def test_impossible_rates_are_refused(bad):
    with pytest.raises(ValueError):
        WorldParams(**bad)


def test_meta_records_seed_size_span_and_rates(demo_store):
    assert demo_store.meta("seed") == 7
    assert demo_store.meta("people") == DEMO_PEOPLE
    assert demo_store.meta("world_start") == "2026-05-01T00:00:00Z"
    assert demo_store.meta("world_end") == "2026-11-01T00:00:00Z"
    assert demo_store.meta("params")["misrouted_rate"] == WorldParams().misrouted_rate


def test_params_change_the_world(tmp_path):
    calm = WorldParams(misrouted_rate=0.0, never_contacted_rate=0.0)
    store = build_world(tmp_path / "calm.sqlite", people=400, seed=7, params=calm)
    truth = compute_truth(store)
    assert store.meta("params")["misrouted_rate"] == 0.0
    assert not any(row["is_misrouted"] for row in truth["handoffs"])


def test_an_unknown_hubspot_firmographics_option_is_refused():
    with pytest.raises(ValueError, match="hubspot_firmographics"):
        WorldParams(hubspot_firmographics="nowhere")


def test_the_default_world_does_not_record_the_hubspot_firmographics_option(demo_store):
    # left out so a default world is byte-identical to one built before the option existed
    assert "hubspot_firmographics" not in demo_store.meta("params")


def _hubspot_firmographics(store) -> tuple[dict, dict]:
    """(contact id -> (its own firmographics, its associated company id), company id -> firmographics)."""
    end = parse_iso(store.meta("world_end").replace("Z", ".000000Z"))
    contacts = {}
    for version in store.current("hubspot", "contacts", end):
        props = version.record()["properties"]
        linked = version.record()["associations"].get("companies") or []
        contacts[version.id] = ({k: props[k] for k in ("company", "industry", "numemployees", "country")},
                                props["associatedcompanyid"], linked)
    companies = {v.id: {k: v.record()["properties"][k] for k in ("name", "industry", "numberofemployees", "country")}
                 for v in store.current("hubspot", "companies", end)}
    return contacts, companies


def test_company_only_keeps_hubspot_firmographics_on_the_associated_company_alone(tmp_path):
    store = build_world(tmp_path / "w.sqlite", people=300, seed=7,
                        params=WorldParams(hubspot_firmographics="company_only"))
    contacts, companies = _hubspot_firmographics(store)
    associated = {cid: c for cid, c in contacts.items() if c[1]}
    assert len(associated) > 30
    for own, primary, linked in associated.values():
        assert linked == [primary] and set(own.values()) == {None}
        assert None not in companies[primary].values()
    assert store.meta("params")["hubspot_firmographics"] == "company_only"
    store.close()


def test_contact_only_keeps_hubspot_firmographics_on_the_contact_alone(tmp_path):
    store = build_world(tmp_path / "w.sqlite", people=300, seed=7,
                        params=WorldParams(hubspot_firmographics="contact_only"))
    contacts, companies = _hubspot_firmographics(store)
    assert companies and all(set(values.values()) == {None} for values in companies.values())
    associated = [c for c in contacts.values() if c[1]]
    assert len(associated) > 30 and all(linked == [primary] for _, primary, linked in associated)
    assert sum(1 for own, _, _ in associated if None not in own.values()) > len(associated) // 2
    store.close()


def test_the_option_moves_firmographics_and_nothing_else(tmp_path):
    default = build_world(tmp_path / "a.sqlite", people=200, seed=7)
    moved = build_world(tmp_path / "b.sqlite", people=200, seed=7, params=WorldParams(hubspot_firmographics="company_only"))
    query = "select count(*), count(distinct system || object || id) from versions"
    assert default.db.execute(query).fetchone() == moved.db.execute(query).fetchone()
    assert [e[:2] for e in default.events()] == [e[:2] for e in moved.events()]
    default.close()
    moved.close()


# -- vendor shapes -------------------------------------------------------------------------------

def versions(store, system, obj):
    return store.db.execute("select id, valid_from, deleted, data from versions where system = ? and object = ?",
                            (system, obj)).fetchall()


def sf_instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.000+0000").replace(tzinfo=timezone.utc)


def test_salesforce_records_carry_every_catalog_field_and_their_modstamp_is_valid_from(demo_store):
    for obj, fields in SALESFORCE_OBJECTS.items():
        rows = versions(demo_store, "salesforce", obj)
        assert rows, obj
        for rid, valid_from, deleted, data in rows[:400]:
            record = json.loads(data)
            assert set(record) == set(fields) | {"attributes"}, obj
            assert record["attributes"] == {"type": obj, "url": f"/services/data/v60.0/sobjects/{obj}/{rid}"}
            assert len(rid) == 18 and record["Id"] == rid
            stamp = record.get("SystemModstamp") or record["CreatedDate"]
            assert sf_instant(stamp) == parse_iso(valid_from), (obj, rid)
            if "IsDeleted" in record:
                assert record["IsDeleted"] == bool(deleted)


def test_marketo_leads_carry_their_fields_and_updated_at_is_valid_from(demo_store):
    for _rid, valid_from, _deleted, data in versions(demo_store, "marketo", "lead")[:2000]:
        record = json.loads(data)
        assert set(record) == set(MARKETO_LEAD_FIELDS)
        assert record["updatedAt"] == parse_iso(valid_from).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_hubspot_objects_carry_their_properties_and_updated_at_is_valid_from(demo_store):
    for obj, properties in HUBSPOT_PROPERTIES.items():
        rows = versions(demo_store, "hubspot", obj)
        assert rows, obj
        for _rid, valid_from, deleted, data in rows[:500]:
            record = json.loads(data)
            assert set(record["properties"]) == set(properties), obj
            assert all(v is None or isinstance(v, str) for v in record["properties"].values())
            assert record["updatedAt"] == parse_iso(valid_from).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            assert record["archived"] == bool(deleted)


def test_one_record_never_has_two_versions_at_one_instant(demo_store):
    clashes = demo_store.db.execute("select count(*) from (select 1 from versions group by system, object, id,"
                                    " valid_from having count(*) > 1)").fetchone()[0]
    assert clashes == 0


def test_nothing_happens_after_the_world_ends(demo_store):
    assert demo_store.db.execute("select max(valid_from) from versions").fetchone()[0] <= "2026-11-01T00:00:00"
    assert demo_store.db.execute("select max(at) from events").fetchone()[0] <= "2026-11-01T00:00:00"


def test_marketo_merges_and_deletes_leave_their_activities(demo_store):
    activities = [json.loads(d) for _, _, _, d in versions(demo_store, "marketo", "activity")]
    deleted = {rid for rid, _, gone, _ in versions(demo_store, "marketo", "lead") if gone}
    merged_away = {a["attributes"][0]["value"] for a in activities if a["activityTypeId"] == 32}
    deletes = {str(a["leadId"]) for a in activities if a["activityTypeId"] == 37}
    assert merged_away and deletes
    assert merged_away | deletes == deleted


def test_deleted_salesforce_tasks_show_is_deleted_and_stay_no_touch(demo_store, demo_truth):
    deleted = {rid for rid, _, gone, data in versions(demo_store, "salesforce", "Task")
               if gone and json.loads(data)["IsDeleted"]}
    assert deleted
    touched = {e["id"] for _, _, e in demo_store.events(["sales_touch"])}
    assert not deleted & touched


def test_hubspot_merges_name_the_loser_on_the_winner(demo_store):
    contacts = {}
    for rid, valid_from, deleted, data in versions(demo_store, "hubspot", "contacts"):
        contacts.setdefault(rid, []).append((valid_from, deleted, json.loads(data)))
    winners = [max(v, key=lambda x: x[0])[2] for v in contacts.values()
               if max(v, key=lambda x: x[0])[2]["properties"]["hs_merged_object_ids"]]
    assert winners
    for winner in winners:
        loser = winner["properties"]["hs_merged_object_ids"]
        assert max(contacts[loser], key=lambda x: x[0])[1] == 1


def test_the_org_has_every_role_a_queue_and_an_inactive_user(demo_store):
    roles = {json.loads(d)["Name"] for _, _, _, d in versions(demo_store, "salesforce", "UserRole")}
    assert roles == {"Sales Development Rep", "Account Executive", "Sales Manager", "Marketing"}
    groups = [json.loads(d) for _, _, _, d in versions(demo_store, "salesforce", "Group")]
    assert [g["Type"] for g in groups] == ["Queue"]
    assert any(not json.loads(d)["IsActive"] for _, _, _, d in versions(demo_store, "salesforce", "User"))
    teams = {json.loads(d)["teams"][0]["name"] for _, _, _, d in versions(demo_store, "hubspot", "owners")}
    assert {"SDR Team", "Account Executives"} <= teams


def test_people_in_two_systems_share_an_email_typed_differently(demo_store):
    marketo = collections.defaultdict(set)
    for _, _, _, data in versions(demo_store, "marketo", "lead"):
        email = json.loads(data)["email"]
        marketo[email.strip().lower()].add(email)
    differing = 0
    for _, _, _, data in versions(demo_store, "hubspot", "contacts"):
        email = json.loads(data)["properties"]["email"]
        if email.strip().lower() in marketo and email not in marketo[email.strip().lower()]:
            differing += 1
    assert differing >= 20


def test_each_real_person_has_one_normalized_email(demo_truth):
    emails = [p["email"] for p in demo_truth["people"]]
    assert len(set(emails)) == len(emails) == DEMO_PEOPLE
    assert all(e == e.strip().lower() for e in emails)


def test_some_people_sign_up_with_personal_addresses(demo_truth):
    personal = [p for p in demo_truth["people"] if p["is_personal_email"]]
    assert len(personal) >= 50
    assert all(p["email"].split("@")[1] in ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com")
               for p in personal)


def test_some_accounts_are_customers_before_the_world_starts(demo_truth):
    won_before = [o for o in demo_truth["opportunities"] if o["is_won"] and o["closed_at"] < "2026-05-01"]
    assert len(won_before) >= 20


def test_business_minutes_in_the_generator_skip_nights_and_weekends():
    friday = datetime(2026, 6, 5, 16, 0, tzinfo=timezone.utc)
    assert add_business_minutes(friday, 90) == datetime(2026, 6, 8, 9, 30, tzinfo=timezone.utc)


# -- the planted figures -------------------------------------------------------------------------

def share(rows, test) -> float:
    rows = list(rows)
    assert rows, "no rows to measure"
    return sum(1 for row in rows if test(row)) / len(rows)


def settled(truth, before=SETTLED_BEFORE):
    return [h for h in truth["handoffs"] if h["handed_off_at"] < before]


def test_every_truth_table_has_rows_on_the_demo_world(demo_truth):
    for table, rows in demo_truth.items():
        assert rows, table


def test_every_leak_type_is_planted_several_times(demo_truth):
    counts = collections.Counter(row["leak_type"] for row in demo_truth["leaks"])
    for kind in ("black_hole", "slow_response", "misrouted", "premature_give_up", "rejected_without_reason",
                 "context_stripped", "duplicate_outreach", "existing_customer_prospected", "stalled"):
        assert counts[kind] >= 5, (kind, counts)


def test_about_a_quarter_of_handoffs_are_misrouted(demo_truth):
    # tolerance: +-0.05 around 0.25 (about four standard errors at ~1,100 handoffs)
    assert share(demo_truth["handoffs"], lambda h: h["is_misrouted"]) == pytest.approx(0.25, abs=0.05)


def test_about_a_quarter_of_settled_handoffs_are_never_contacted(demo_truth):
    # tolerance: +-0.07, about three standard errors at ~600 settled handoffs (later ones may
    # not have been touched yet)
    never = share(settled(demo_truth, FIRST_TOUCH_SETTLED_BEFORE), lambda h: h["first_sales_touch_at"] is None)
    assert never == pytest.approx(0.25, abs=0.07)


def test_more_than_half_of_first_responses_take_over_five_business_days(demo_truth):
    contacted = [h for h in settled(demo_truth, FIRST_TOUCH_SETTLED_BEFORE) if h["first_sales_touch_at"]]
    late = share(contacted, lambda h: h["response_business_minutes"] > 5 * 480)
    assert 0.5 < late < 0.65


def test_many_reps_stop_after_one_follow_up(demo_truth):
    # ~44% of not-sales-ready worked handoffs get at most two touches; tolerance +-0.08
    worked = [h for h in settled(demo_truth) if h["first_sales_touch_at"] and h["outcome"] != "converted"]
    assert share(worked, lambda h: h["sales_touch_attempts"] <= 2) == pytest.approx(0.44, abs=0.08)


def test_most_converted_handoffs_took_five_or_more_touches(demo_truth):
    converted = [h for h in demo_truth["handoffs"] if h["outcome"] == "converted"]
    assert share(converted, lambda h: h["sales_touch_attempts"] >= 5) > 0.6


def test_about_three_quarters_of_worked_mqls_are_not_sales_ready(demo_truth):
    worked = [h for h in settled(demo_truth) if h["first_sales_touch_at"]]
    assert share(worked, lambda h: h["outcome"] != "converted") == pytest.approx(0.75, abs=0.08)


def test_some_crm_records_miss_behavioural_or_firmographic_context(demo_truth):
    handoffs = demo_truth["handoffs"]
    assert 0.1 < share(handoffs, lambda h: not h["has_behavioural_context"]) < 0.35
    assert 0.1 < share(handoffs, lambda h: not h["has_firmographic_context"]) < 0.45


def test_some_rejections_carry_no_reason(demo_truth):
    closed = [h for h in demo_truth["handoffs"] if h["outcome"] in ("disqualified", "recycled", "no_response")]
    assert 0.05 < share(closed, lambda h: not h["outcome_reason"]) < 0.3


def test_recycled_people_qualify_again(demo_truth):
    assert any(h["handoff_number"] == 2 for h in demo_truth["handoffs"])


def test_handoffs_happen_in_both_crms(demo_truth):
    systems = collections.Counter(h["crm_system"] for h in demo_truth["handoffs"])
    assert systems["salesforce"] > systems["hubspot"] > 50


def test_some_handoffs_show_first_in_hubspot_before_marketo(demo_truth):
    first_signs = collections.Counter(s["source_system"] for s in demo_truth["stage_transitions"]
                                      if s["stage"] == "mql")
    assert first_signs["hubspot"] > 50 and first_signs["marketo"] > 300


def test_every_handoff_reaches_a_crm_with_its_record(demo_truth):
    missing = [h for h in demo_truth["handoffs"] if h["crm_record_id"] is None]
    # only handoffs in the world's last minutes may still be on their way to the CRM
    assert all(h["handed_off_at"] > "2026-10-31T23:00:00Z" for h in missing)


def test_truth_reads_no_vendor_record_but_the_company_a_crm_record_shows(tmp_path):
    store = build_world(tmp_path / "w.sqlite", people=250, seed=11)
    expected = compute_truth(store)
    store.db.execute("delete from versions where (system, object) not in (('hubspot', 'contacts'),"
                     " ('hubspot', 'companies'), ('salesforce', 'Contact'), ('salesforce', 'Account'))")
    store.db.commit()
    assert compute_truth(store) == expected
    # without those records, only HubSpot firmographics the contact lacks go missing
    store.db.execute("delete from versions")
    store.db.commit()
    alone = compute_truth(store)
    assert {k: v for k, v in alone.items() if k not in ("handoffs", "leaks", "missing_context")} == \
        {k: v for k, v in expected.items() if k not in ("handoffs", "leaks", "missing_context")}
    gained = {(r["handoff_id"], r["field_name"]) for r in alone["missing_context"]} - \
        {(r["handoff_id"], r["field_name"]) for r in expected["missing_context"]}
    crm = {h["handoff_id"]: h["crm_system"] for h in expected["handoffs"]}
    assert gained and {(crm[h], f in ("company", "industry", "employee_count", "country")) for h, f in gained} == \
        {("hubspot", True)}


def test_truth_can_be_read_as_of_an_earlier_instant(demo_store, demo_truth):
    earlier = compute_truth(demo_store, "2026-08-01T00:00:00Z")
    assert 0 < len(earlier["handoffs"]) < len(demo_truth["handoffs"])
    assert all(h["handed_off_at"] <= "2026-08-01T00:00:00Z" for h in earlier["handoffs"])


def test_export_writes_one_json_lines_file_per_table(demo_store, demo_truth, tmp_path):
    out = export_truth(demo_store, tmp_path / "truth")
    for table, rows in demo_truth.items():
        lines = (out / f"{table}.jsonl").read_text().splitlines()
        assert len(lines) == len(rows)
    assert json.loads((out / "as_of.json").read_text())["as_of"] == "2026-11-01T00:00:00Z"
    summary = json.loads((out / "summary.json").read_text())
    assert summary == summarize_truth(demo_truth)
    assert sum(summary["leaks"].values()) == len(demo_truth["leaks"])


def test_the_history_moves_day_by_day(demo_store):
    """An incremental extractor sees new, changed and deleted records on most days."""
    start = datetime(2026, 5, 1, tzinfo=timezone.utc)
    busy_days = 0
    for day in range(0, 180, 10):
        lo, hi = start + timedelta(days=day), start + timedelta(days=day + 1)
        changed = list(demo_store.current("salesforce", "Lead", hi, changed_after=lo))
        busy_days += bool(changed)
    assert busy_days >= 15


# -- the log and the records tell the same story ---------------------------------------------------

def record_at(store, system, obj, rid, instant_text):
    row = store.db.execute("select data from versions where system = ? and object = ? and id = ? and valid_from = ?",
                           (system, obj, rid, instant_text)).fetchone()
    return json.loads(row[0]) if row else None


def test_every_handoff_in_the_log_is_visible_on_its_crm_record(demo_store):
    checked = 0
    for at, _, event in demo_store.events(["crm_handoff"]):
        record = record_at(demo_store, event["system"], event["object"], event["id"], at)
        assert record is not None, event
        if event["system"] == "salesforce":
            assert (record["Status"], record["OwnerId"]) == ("Open - Not Contacted", event["owner"])
        else:
            props = record["properties"]
            assert (props["lifecyclestage"], props["hubspot_owner_id"]) == ("marketingqualifiedlead", event["owner"])
        checked += 1
    assert checked > 500


def test_every_stage_sign_in_the_log_is_visible_in_its_system(demo_store):
    ids = collections.defaultdict(dict)
    for _, _, event in demo_store.events(["identity"]):
        ids[event["person"]].setdefault((event["system"], event["object"]), event["id"])
    expected = {("marketo", "mql"): ("lead", lambda r: r["leadStatus"] == "MQL"),
                ("salesforce", "sal"): ("Lead", lambda r: r["Status"] == "Working - Contacted"),
                ("salesforce", "disqualified"): ("Lead", lambda r: r["Status"] == "Closed - Not Converted"),
                ("salesforce", "recycled"): ("Lead", lambda r: r["Status"] == "Nurture"),
                ("salesforce", "sql"): ("Lead", lambda r: r["Status"] == "Closed - Converted"),
                ("hubspot", "mql"): ("contacts", lambda r: r["properties"]["lifecyclestage"] == "marketingqualifiedlead"),
                ("hubspot", "sal"): ("contacts", lambda r: r["properties"]["hs_lead_status"] == "ATTEMPTED_TO_CONTACT")}
    seen = collections.Counter()
    for at, _, event in demo_store.events(["stage_change"]):
        key = (event["system"], event["stage"])
        if key not in expected or at < "2026-05-01":
            continue
        obj, holds = expected[key]
        record = record_at(demo_store, event["system"], obj, ids[event["person"]][(event["system"], obj)], at)
        assert record is not None and holds(record), (event, record)
        seen[key] += 1
    assert all(seen[key] > 5 for key in expected), seen


def test_every_salesforce_status_move_to_working_is_a_sal_in_the_log(demo_store):
    moves = demo_store.db.execute("select count(*) from versions where system = 'salesforce' and object = "
                                  "'LeadHistory' and data like '%\"NewValue\":\"Working - Contacted\"%'").fetchone()[0]
    sals = sum(1 for _, _, e in demo_store.events(["stage_change"])
               if e["stage"] == "sal" and e["system"] == "salesforce")
    assert moves == sals > 100


def test_every_sales_touch_in_the_log_is_a_completed_activity_by_that_rep(demo_store):
    for at, _, event in demo_store.events(["sales_touch"]):
        if event["system"] != "salesforce":
            continue
        record = demo_store.history("salesforce", event["object"], event["id"], parse_iso("2026-11-01T00:00:00.000000Z"))
        data = record[-1].record()
        assert data["OwnerId"] == event["user"]
        if event["object"] == "Task":
            assert (data["Status"], data["TaskSubtype"]) == ("Completed", event["channel"].title())
            assert data["CompletedDateTime"] == parse_iso(at).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        else:
            assert data["StartDateTime"] == parse_iso(at).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
