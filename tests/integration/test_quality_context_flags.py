"""quality.lead_context_flags: one row per handoff and missing field of its CRM record (CONTRACT.md §6).

Hand-made raw CRM records and a fct_handoffs-shaped table in a fresh warehouse; the expected
flags are listed by hand from the records' contents.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import psycopg
import pytest

from baton.quality.context_flags import refresh_lead_context_flags
from baton.quality.schema import ensure_quality_schema
from baton.transform import ensure_raw_tables

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)

COMPLETE_LEAD = {
    "Email": "ana@acme.test", "Company": "Acme", "Title": "VP Sales", "Industry": "Software",
    "NumberOfEmployees": 250, "Country": "Germany", "LeadSource": "Web",
    "Marketing_Touch_Count__c": 4, "Last_Marketing_Touch_At__c": "2026-10-01T10:00:00.000+0000",
}


def land(conn, table: str, record_id: str, data: dict, *, deleted: bool = False) -> None:
    conn.execute(f"insert into {table} (id, data, source_updated_at, is_deleted, _loaded_at, _load_id)"
                 " values (%s, %s, %s, %s, now(), 'test')", (record_id, json.dumps(data), AS_OF, deleted))


@pytest.fixture
def crm(fresh_warehouse):
    ensure_raw_tables(fresh_warehouse)
    with psycopg.connect(fresh_warehouse, autocommit=True) as conn:
        ensure_quality_schema(conn)
        # Lead 1: blank title, industry "[not provided]", no marketing touch count.
        land(conn, "raw_salesforce.lead", "00Q1", {**COMPLETE_LEAD, "Title": "", "Industry": "[not provided]",
                                                   "Marketing_Touch_Count__c": None})
        # Lead 2: complete; a touch count of 0 is a value, not a gap.
        land(conn, "raw_salesforce.lead", "00Q2", {**COMPLETE_LEAD, "Marketing_Touch_Count__c": 0})
        # Contact 1: its account has no industry; the mailing country is whitespace.
        land(conn, "raw_salesforce.account", "0011", {"Name": "Globex", "Industry": None, "NumberOfEmployees": 80})
        land(conn, "raw_salesforce.contact", "0031", {
            "AccountId": "0011", "Email": "bo@globex.test", "Title": "CTO", "LeadSource": "Event",
            "MailingCountry": "  ", "Marketing_Touch_Count__c": 2,
            "Last_Marketing_Touch_At__c": "2026-09-01T10:00:00.000+0000"})
        # HubSpot contact 501: no job title, the source written as "[Not Provided]".
        land(conn, "raw_hubspot.contact", "501", {"id": "501", "properties": {
            "email": "cy@initech.test", "company": "Initech", "jobtitle": None, "industry": "Retail",
            "numemployees": "40", "country": "France", "hs_analytics_source": "[Not Provided]",
            "num_conversion_events": "3", "recent_conversion_date": "2026-10-20T08:00:00.000Z"}})
    return fresh_warehouse


def make_handoffs(url: str, rows: list[tuple], *, with_record_columns: bool = True) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema if not exists marts")
        record_columns = ", crm_source_system text, crm_source_object text, crm_source_id text" \
            if with_record_columns else ""
        conn.execute(f"create table marts.fct_handoffs (handoff_id text primary key, person_id text,"
                     f" owner_id text, handed_off_at timestamptz{record_columns})")
        placeholders = ", ".join(["%s"] * len(rows[0]))
        with conn.cursor() as cursor:
            cursor.executemany(f"insert into marts.fct_handoffs values ({placeholders})", rows)


def flags(url: str, *, marts_schema: str = "marts") -> tuple[dict | None, set[tuple[str, str]], list[tuple]]:
    with psycopg.connect(url) as conn:
        summary = refresh_lead_context_flags(conn, marts_schema=marts_schema, checked_at=AS_OF, run_id="run-1")
        conn.commit()
        rows = conn.execute("select handoff_id, person_id, owner_id, field_name, severity, checked_at"
                            " from quality.lead_context_flags order by 1, 4").fetchall()
    return summary, {(row[0], row[3]) for row in rows}, rows


def test_each_missing_field_of_each_handoffs_crm_record_is_one_flag(crm):
    t = datetime(2026, 10, 1, tzinfo=timezone.utc)
    make_handoffs(crm, [
        ("h1", "person-a", "owner-1", t, "salesforce", "Lead", "00Q1"),
        ("h1-again", "person-a", "owner-1", t, "salesforce", "Lead", "00Q1"),  # requalified: same record
        ("h2", "person-b", "owner-2", t, "salesforce", "Lead", "00Q2"),
        ("h3", "person-c", "owner-3", t, "salesforce", "Contact", "0031"),
        ("h4", "person-d", "owner-4", t, "hubspot", "contacts", "501"),
        ("h5", "person-e", None, t, None, None, None),  # never reached a CRM record: nothing to judge
    ])

    summary, found, rows = flags(crm)

    assert found == {
        ("h1", "title"), ("h1", "industry"), ("h1", "marketing_touch_count"),
        ("h1-again", "title"), ("h1-again", "industry"), ("h1-again", "marketing_touch_count"),
        ("h3", "industry"), ("h3", "country"),
        ("h4", "title"), ("h4", "lead_source"),
    }
    assert summary["flags"] == 10 and summary["handoffs"] == 6 and summary["handoffs_flagged"] == 4
    by_key = {(row[0], row[3]): row for row in rows}
    assert by_key[("h3", "country")][1:3] == ("person-c", "owner-3")
    assert by_key[("h4", "lead_source")][5] == AS_OF
    assert {row[4] for row in rows} <= {"high", "medium", "low"}


def test_a_fixed_record_loses_its_flag_on_the_next_check(crm):
    make_handoffs(crm, [("h1", "person-a", "owner-1", AS_OF, "salesforce", "Lead", "00Q1")])
    flags(crm)
    with psycopg.connect(crm, autocommit=True) as conn:
        conn.execute("""update raw_salesforce.lead
                        set data = data || '{"Title": "Head of Ops", "Industry": "Logistics"}'::jsonb
                        where id = '00Q1'""")
    _, found, _ = flags(crm)
    assert found == {("h1", "marketing_touch_count")}


def test_without_record_columns_the_persons_live_contact_is_the_record(crm):
    # fct_handoffs with only the contract's key columns: the record comes from the identity map.
    make_handoffs(crm, [("h9", "person-z", "owner-9", AS_OF)], with_record_columns=False)
    with psycopg.connect(crm, autocommit=True) as conn:
        conn.execute("create table marts.dim_people_identities (person_id text, source_system text,"
                     " source_object text, source_id text, is_deleted boolean, is_merged boolean,"
                     " source_updated_at timestamptz)")
        conn.execute("""insert into marts.dim_people_identities values
            ('person-z', 'salesforce', 'Lead', '00Q2', true, false, now()),   -- deleted: not the record
            ('person-z', 'salesforce', 'Contact', '0031', false, false, now()),
            ('person-z', 'marketo', 'lead', '77', false, false, now())""")
        conn.execute("create table marts.dim_owners (owner_id text, source_system text)")
        conn.execute("insert into marts.dim_owners values ('owner-9', 'salesforce')")

    _, found, _ = flags(crm)
    assert found == {("h9", "industry"), ("h9", "country")}


def test_no_flags_are_computed_before_handoffs_are_built(crm):
    summary, found, _ = flags(crm)
    assert summary is None and found == set()
