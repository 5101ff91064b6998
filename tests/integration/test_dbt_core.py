"""dbt builds the core marts from hand-made raw records: identity, accounts, owners, stages, reruns.

Every case is planted on purpose below with the answer an analyst expects; the whole project
is built once per module (a real PostgreSQL database of its own), then each test reads the marts.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from baton.build.dbt import dbt, ensure_raw_tables
from baton.warehouse import connect
from tests.fixtures.warehouse import _create_database, _drop_database


def sf_time(text: str) -> str:
    """'2026-05-02 10:00' → Salesforce's '2026-05-02T10:00:00.000+0000'."""
    return datetime.fromisoformat(text).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def iso_z(text: str) -> str:
    return datetime.fromisoformat(text).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp() * 1000)


def insert_raw(url: str, schema: str, table: str, rows: list[dict], *, id_field: str = "Id",
               deleted: set[str] | None = None, loaded_at: str | None = None, load_id: str = "test") -> None:
    """Upsert records into raw_<system>.<stream>, as the loader would (id, data, flags, load stamps)."""
    deleted = deleted or set()
    with connect(url) as conn:
        for row in rows:
            record_id = str(row[id_field])
            is_deleted = record_id in deleted or bool(row.get("IsDeleted")) or bool(row.get("archived"))
            conn.execute(
                f'insert into "{schema}"."{table}" (id, data, source_updated_at, is_deleted, _loaded_at, _load_id)'
                " values (%s, %s::jsonb, null, %s, coalesce(%s::timestamptz, clock_timestamp()), %s)"
                " on conflict (id) do update set data = excluded.data, is_deleted = excluded.is_deleted,"
                " _loaded_at = excluded._loaded_at, _load_id = excluded._load_id",
                (record_id, json.dumps(row), is_deleted, loaded_at, load_id))


def query(url: str, sql: str, params=None) -> list[tuple]:
    with connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def sf_lead(id, email, created, *, status="Open - Not Contacted", owner="005000000000SDR", converted_contact=None,
            converted_account=None, company="Acme", deleted=False, **extra) -> dict:
    return {"Id": id, "FirstName": "F", "LastName": id, "Email": email, "Title": "VP", "Company": company,
            "Industry": "Software", "NumberOfEmployees": 250, "Country": "US", "LeadSource": "Web",
            "Status": status, "OwnerId": owner, "IsConverted": converted_contact is not None,
            "ConvertedDate": created[:10] if converted_contact else None, "ConvertedContactId": converted_contact,
            "ConvertedAccountId": converted_account, "ConvertedOpportunityId": None, "MasterRecordId": None,
            "Marketing_Touch_Count__c": 3, "Last_Marketing_Touch_At__c": sf_time(created),
            "Disqualified_Reason__c": None, "Recycled_Reason__c": None, "CreatedDate": sf_time(created),
            "LastModifiedDate": sf_time(created), "SystemModstamp": sf_time(created), "IsDeleted": deleted, **extra}


def sf_contact(id, email, created, *, account=None, owner="005000000000AE1", **extra) -> dict:
    return {"Id": id, "AccountId": account, "FirstName": "F", "LastName": id, "Email": email, "Title": "VP",
            "LeadSource": "Web", "MailingCountry": "US", "OwnerId": owner, "MasterRecordId": None,
            "Marketing_Touch_Count__c": None, "Last_Marketing_Touch_At__c": None, "Disqualified_Reason__c": None,
            "Recycled_Reason__c": None, "CreatedDate": sf_time(created), "LastModifiedDate": sf_time(created),
            "SystemModstamp": sf_time(created), "IsDeleted": False, **extra}


def sf_lead_status_change(id, lead_id, at, old, new) -> dict:
    return {"Id": id, "LeadId": lead_id, "Field": "Status", "OldValue": old, "NewValue": new,
            "CreatedById": "005000000000SDR", "CreatedDate": sf_time(at), "IsDeleted": False}


def marketo_lead(id, email, created, *, status="New", sfdc_lead=None, sfdc_contact=None, **extra) -> dict:
    return {"id": id, "email": email, "firstName": "F", "lastName": str(id), "title": "VP", "company": "Acme",
            "industry": "Software", "numberOfEmployees": 250, "country": "US", "leadSource": "Web",
            "leadStatus": status, "leadScore": 10, "sfdcLeadId": sfdc_lead, "sfdcContactId": sfdc_contact,
            "sfdcAccountId": None, "originalSourceType": "Web form fillout", "originalSourceInfo": "pricing",
            "acquisitionProgramId": None, "createdAt": iso_z(created), "updatedAt": iso_z(created), **extra}


def marketo_activity(id, lead_id, at, type_id, *, primary=None, attributes=None, campaign=None) -> dict:
    return {"id": id, "marketoGUID": str(id), "leadId": lead_id, "activityDate": iso_z(at),
            "activityTypeId": type_id, "campaignId": campaign, "primaryAttributeValueId": None,
            "primaryAttributeValue": primary, "attributes": attributes or []}


def marketo_status_change(id, lead_id, at, old, new) -> dict:
    return marketo_activity(id, lead_id, at, 13, primary="leadStatus",
                            attributes=[{"name": "New Value", "value": new}, {"name": "Old Value", "value": old},
                                        {"name": "Reason", "value": "scoring"}])


def hubspot_contact(id, email, created, *, history=None, merged_ids=None, archived=False, owner="77",
                    companies=None) -> dict:
    history = history or {}
    properties = {"email": email, "firstname": "F", "lastname": str(id), "jobtitle": "VP", "company": "Beta",
                  "lifecyclestage": (history.get("lifecyclestage") or [[None]])[-1][0],
                  "hs_lead_status": (history.get("hs_lead_status") or [[None]])[-1][0],
                  "hubspot_owner_id": owner, "hs_merged_object_ids": merged_ids, "createdate": iso_z(created),
                  "lastmodifieddate": iso_z(created), "hs_object_id": str(id)}
    return {"id": str(id), "properties": properties, "createdAt": iso_z(created), "updatedAt": iso_z(created),
            "archived": archived,
            # newest first, as HubSpot answers
            "propertiesWithHistory": {name: [{"value": v, "timestamp": iso_z(t), "sourceType": "CRM_UI"}
                                             for v, t in reversed(entries)] for name, entries in history.items()},
            "associations": {"companies": companies or []}}


# -- the planted cases ---------------------------------------------------------------------
AS_OF = "2026-07-01T00:00:00Z"
SDR, AE, QUEUE = "005000000000SDR", "005000000000AE1", "00G000000000QUE"


def plant_world(url: str) -> None:
    # Ann: Marketo lead (mixed-case email) → MQL in Marketo, the CRM lead minutes later, worked,
    # converted to a contact on Acme, an opportunity she is on, won.
    insert_raw(url, "raw_marketo", "lead", [
        marketo_lead(101, "  Ann.Lee@ACME.com ", "2026-05-01 09:00", status="MQL", sfdc_lead="00Q00000000000ANN"),
        # Carl on a free-mail domain, nothing else.
        marketo_lead(102, "carl@gmail.com", "2026-05-01 10:00"),
        # Erin: two Marketo leads merged (different emails); raw keeps the loser as the API
        # returned it (no is_deleted flag): the merge and delete are derived in dbt.
        marketo_lead(201, "erin@delta.com", "2026-05-03 09:00"),
        marketo_lead(202, "erin.old@delta.com", "2026-05-04 09:00"),
        # Hal: read once, later deleted in Marketo (known from the deleted_lead stream only).
        marketo_lead(103, "hal@epsilon.com", "2026-05-01 11:00"),
        # Fay: Marketo knows her Salesforce lead by id; the emails differ.
        marketo_lead(301, "fay@gamma.com", "2026-05-05 09:00", sfdc_lead="00Q00000000000FAY"),
        # Gil: same name part as Ann, another domain: a different person.
        marketo_lead(401, "ann.lee@acme.org", "2026-05-06 09:00"),
    ], id_field="id")
    insert_raw(url, "raw_marketo", "activity", [
        marketo_status_change(9001, 101, "2026-05-02 10:00", "New", "MQL"),
        marketo_activity(9002, 201, "2026-05-10 09:00", 32, primary="202",
                         attributes=[{"name": "Merge Ids", "value": "202"}]),
        marketo_activity(9003, 101, "2026-05-01 09:30", 2, primary="Pricing form"),
        marketo_activity(9004, 101, "2026-05-01 09:40", 6, primary="Newsletter"),  # a send: not a touch
    ], id_field="id")
    insert_raw(url, "raw_marketo", "deleted_lead", [
        marketo_activity(9005, 202, "2026-05-10 09:00", 37),
        marketo_activity(9006, 103, "2026-05-12 09:00", 37)], id_field="id")
    insert_raw(url, "raw_salesforce", "lead", [
        sf_lead("00Q00000000000ANN", "ann.lee@acme.com", "2026-05-02 10:05", status="Closed - Converted",
                converted_contact="003000000000ANN", converted_account="001000000000ACM"),
        # Bo: converted; the contact carries a changed email.
        sf_lead("00Q000000000000BO", "bo@beta.io", "2026-05-02 11:00", status="Closed - Converted",
                converted_contact="003000000000000BO", company="Beta"),
        sf_lead("00Q00000000000FAY", "fay.work@gamma.com", "2026-05-06 09:00", company="Gamma"),
    ])
    insert_raw(url, "raw_salesforce", "lead_history", [
        sf_lead_status_change("0170000000000001", "00Q00000000000ANN", "2026-05-03 10:00",
                              "Open - Not Contacted", "Working - Contacted"),
        sf_lead_status_change("0170000000000002", "00Q00000000000ANN", "2026-05-04 10:00",
                              "Working - Contacted", "Closed - Converted"),
    ])
    insert_raw(url, "raw_salesforce", "contact", [
        sf_contact("003000000000ANN", "ann.lee@acme.com", "2026-05-04 10:00", account="001000000000ACM"),
        sf_contact("003000000000000BO", "bo.new@beta.io", "2026-05-04 11:00"),
    ])
    insert_raw(url, "raw_salesforce", "account", [{
        "Id": "001000000000ACM", "Name": "Acme Corp", "Website": "https://www.acme.com/", "Industry": "Software",
        "NumberOfEmployees": 250, "BillingCountry": "US", "Type": "Customer", "OwnerId": AE, "MasterRecordId": None,
        "CreatedDate": sf_time("2026-01-01 00:00"), "LastModifiedDate": sf_time("2026-01-01 00:00"),
        "SystemModstamp": sf_time("2026-01-01 00:00"), "IsDeleted": False}])
    insert_raw(url, "raw_salesforce", "opportunity", [{
        "Id": "006000000000ANN", "Name": "Acme deal", "AccountId": "001000000000ACM", "OwnerId": AE,
        "StageName": "Closed Won", "Amount": 50000, "CloseDate": "2026-05-20", "IsClosed": True, "IsWon": True,
        "LeadSource": "Web", "CampaignId": None, "Type": "New Business", "CreatedDate": sf_time("2026-05-05 10:00"),
        "LastModifiedDate": sf_time("2026-05-20 15:00"), "SystemModstamp": sf_time("2026-05-20 15:00"),
        "IsDeleted": False}])
    insert_raw(url, "raw_salesforce", "opportunity_contact_role", [{
        "Id": "00K000000000ANN", "OpportunityId": "006000000000ANN", "ContactId": "003000000000ANN",
        "Role": "Decision Maker", "IsPrimary": True, "CreatedDate": sf_time("2026-05-05 10:00"),
        "LastModifiedDate": sf_time("2026-05-05 10:00"), "SystemModstamp": sf_time("2026-05-05 10:00"),
        "IsDeleted": False}])
    insert_raw(url, "raw_salesforce", "opportunity_field_history", [{
        "Id": "0170000000000009", "OpportunityId": "006000000000ANN", "Field": "StageName",
        "OldValue": "Negotiation", "NewValue": "Closed Won", "CreatedById": AE,
        "CreatedDate": sf_time("2026-05-20 15:00"), "IsDeleted": False}])
    insert_raw(url, "raw_salesforce", "user_role", [
        {"Id": "00E000000000001", "Name": "Sales Development Rep", "ParentRoleId": None},
        {"Id": "00E000000000002", "Name": "Account Executive", "ParentRoleId": None}])
    insert_raw(url, "raw_salesforce", "user", [
        {"Id": SDR, "Name": "Sam Dev", "Email": "sam@seller.com", "IsActive": True, "UserRoleId": "00E000000000001"},
        {"Id": AE, "Name": "Alex Exec", "Email": "alex@seller.com", "IsActive": False, "UserRoleId": "00E000000000002"}])
    insert_raw(url, "raw_salesforce", "group", [
        {"Id": QUEUE, "Name": "Sales Development Queue", "DeveloperName": "SDR_Queue", "Type": "Queue"}])
    insert_raw(url, "raw_hubspot", "owner", [
        {"id": "77", "email": "hana@seller.com", "firstName": "Hana", "lastName": "Owner", "userId": 1,
         "archived": False, "teams": [{"id": "1", "name": "SDR Team East", "primary": True}]}], id_field="id")
    # Dee: two HubSpot contacts merged (hs_merged_object_ids on the winner, the loser archived).
    insert_raw(url, "raw_hubspot", "contact", [
        hubspot_contact(501, "dee@epsilon.com", "2026-05-07 09:00", merged_ids="502", companies=["901"], history={
            "lifecyclestage": [("subscriber", "2026-05-07 09:00"), ("marketingqualifiedlead", "2026-05-08 09:00")],
            "hs_lead_status": [("ATTEMPTED_TO_CONTACT", "2026-05-09 09:00")]}),
        hubspot_contact(502, "dee.personal@epsilon.com", "2026-05-07 08:00", archived=True),
    ], id_field="id")
    insert_raw(url, "raw_hubspot", "company", [
        {"id": "901", "properties": {"name": "Epsilon", "domain": "epsilon.com", "hubspot_owner_id": "77"},
         "createdAt": iso_z("2026-01-01 00:00"), "updatedAt": iso_z("2026-01-01 00:00"), "archived": False},
        {"id": "902", "properties": {"name": "Acme (HubSpot)", "domain": "acme.com"},
         "createdAt": iso_z("2026-01-02 00:00"), "updatedAt": iso_z("2026-01-02 00:00"), "archived": False},
    ], id_field="id")
    insert_raw(url, "raw_hubspot", "email_event", [
        {"id": "e1", "type": "CLICK", "created": epoch_ms("2026-05-02 08:00"), "recipient": "ANN.LEE@acme.com",
         "emailCampaignId": "55", "url": "https://acme.example/pricing"},
        {"id": "e2", "type": "OPEN", "created": epoch_ms("2026-05-02 08:00"), "recipient": "ann.lee@acme.com",
         "emailCampaignId": "55"}], id_field="id")


# -- building ----------------------------------------------------------------------------


# This module guards the core layers: other areas' models (attribution, handoffs) are not built here.
CORE = ["+path:models/marts/core", "--indirect-selection", "cautious"]


def build(url: str, *extra: str) -> None:
    result = dbt(["build", "--select", *CORE, *extra], url, vars={"as_of": AS_OF}, target_name=f"test-{url.rsplit('/', 1)[1]}")
    assert result.success, result.failures() or result.exception


@pytest.fixture(scope="module")
def planted(server_url):
    name, url = _create_database(server_url, "baton_dbt")
    try:
        ensure_raw_tables(url)
        plant_world(url)
        build(url)
        yield url
    finally:
        _drop_database(server_url, name)


def person_of(url: str, system: str, object_: str, source_id: str) -> str:
    rows = query(url, "select person_id from marts.dim_people_identities"
                      " where source_system = %s and source_object = %s and source_id = %s", (system, object_, source_id))
    assert len(rows) == 1, (system, object_, source_id, rows)
    return rows[0][0]


def test_same_email_in_different_case_is_one_person(planted):
    assert person_of(planted, "marketo", "lead", "101") == person_of(planted, "salesforce", "Lead", "00Q00000000000ANN")


def test_converted_lead_and_its_contact_are_one_person_even_with_different_emails(planted):
    assert person_of(planted, "salesforce", "Lead", "00Q000000000000BO") == \
        person_of(planted, "salesforce", "Contact", "003000000000000BO")


def test_marketo_crm_lead_id_links_records_with_different_emails(planted):
    assert person_of(planted, "marketo", "lead", "301") == person_of(planted, "salesforce", "Lead", "00Q00000000000FAY")


def test_marketo_merge_activity_joins_the_loser_to_the_winner(planted):
    assert person_of(planted, "marketo", "lead", "201") == person_of(planted, "marketo", "lead", "202")
    rows = query(planted, "select is_deleted, is_merged from marts.dim_people_identities"
                          " where source_system = 'marketo' and source_id = '202'")
    assert rows == [(True, True)]


def test_marketo_deleted_lead_is_deleted_without_a_raw_flag(planted):
    assert query(planted, "select is_deleted from raw_marketo.lead where id in ('103', '202')") == [(False,), (False,)]
    rows = query(planted, "select is_deleted, is_merged from marts.dim_people_identities"
                          " where source_system = 'marketo' and source_id = '103'")
    assert rows == [(True, False)]


def test_hubspot_merge_joins_the_archived_contact_to_the_winner(planted):
    assert person_of(planted, "hubspot", "contacts", "501") == person_of(planted, "hubspot", "contacts", "502")


def test_similar_emails_on_another_domain_stay_different_people(planted):
    assert person_of(planted, "marketo", "lead", "401") != person_of(planted, "marketo", "lead", "101")


def test_each_planted_person_is_exactly_one_row(planted):
    # Ann, Carl, Erin, Fay, Gil, Bo, Dee, Hal
    assert query(planted, "select count(*) from marts.dim_people")[0][0] == 8
    ann = person_of(planted, "marketo", "lead", "101")
    rows = query(planted, "select source_object, source_id from marts.dim_people_identities where person_id = %s"
                          " order by 1, 2", (ann,))
    assert rows == [("Contact", "003000000000ANN"), ("Lead", "00Q00000000000ANN"), ("lead", "101")]


def test_personal_email_domain_makes_no_account(planted):
    carl = person_of(planted, "marketo", "lead", "102")
    assert query(planted, "select account_id from marts.dim_people where person_id = %s", (carl,)) == [(None,)]
    assert query(planted, "select count(*) from marts.dim_accounts where domain = 'gmail.com'") == [(0,)]


def test_crm_account_and_hubspot_company_with_one_domain_are_one_account(planted):
    rows = query(planted, "select salesforce_account_id, hubspot_company_id, name, owner_id is not null"
                          " from marts.dim_accounts where domain = 'acme.com'")
    assert rows == [("001000000000ACM", "902", "Acme Corp", True)]
    ann = person_of(planted, "marketo", "lead", "101")
    assert query(planted, "select a.domain from marts.dim_people p join marts.dim_accounts a using (account_id)"
                          " where p.person_id = %s", (ann,)) == [("acme.com",)]


def test_corporate_email_domain_without_crm_account_makes_one(planted):
    gil = person_of(planted, "marketo", "lead", "401")
    assert query(planted, "select a.domain, a.matched_by from marts.dim_people p join marts.dim_accounts a"
                          " using (account_id) where p.person_id = %s", (gil,)) == [("acme.org", "email_domain")]


def test_won_opportunity_makes_its_account_a_customer_from_the_close(planted):
    rows = query(planted, "select customer_since from marts.dim_accounts where domain = 'acme.com'")
    assert rows == [(datetime(2026, 5, 20, 15, tzinfo=timezone.utc),)]


def test_roles_come_from_role_names_team_names_and_queues(planted):
    rows = dict(query(planted, "select source_owner_id, role from marts.dim_owners"))
    assert rows == {SDR: "sdr", AE: "ae", QUEUE: "queue", "77": "sdr"}
    assert query(planted, "select is_active from marts.dim_owners where source_owner_id = %s", (AE,)) == [(False,)]


def stages_of(url: str, person_id: str) -> list[tuple]:
    return query(url, "select stage, entered_at, next_stage from marts.fct_lifecycle_stage_history"
                      " where person_id = %s order by entered_at", (person_id,))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def test_stage_history_merges_every_system_into_one_path(planted):
    ann = person_of(planted, "marketo", "lead", "101")
    assert stages_of(planted, ann) == [
        ("prospect", at("2026-05-01 09:00"), "mql"),          # Marketo lead created as New
        ("mql", at("2026-05-02 10:00"), "sal"),               # Marketo first; the CRM lead at 10:05 is the same entry
        ("sal", at("2026-05-03 10:00"), "sql"),
        ("sql", at("2026-05-04 10:00"), "opportunity"),
        ("opportunity", at("2026-05-05 10:00"), "customer"),  # contact role on the opportunity
        ("customer", at("2026-05-20 15:00"), None),           # the opportunity's Closed Won change
    ]
    rows = query(planted, "select lifecycle_stage, lifecycle_stage_entered_at from marts.dim_people"
                          " where person_id = %s", (ann,))
    assert rows == [("customer", at("2026-05-20 15:00"))]


def test_hubspot_property_history_gives_stages(planted):
    dee = person_of(planted, "hubspot", "contacts", "501")
    assert stages_of(planted, dee) == [
        ("prospect", at("2026-05-07 09:00"), "mql"),
        ("mql", at("2026-05-08 09:00"), "sal"),
        ("sal", at("2026-05-09 09:00"), None),
    ]


def test_touchpoints_resolve_to_people_by_record_and_by_email(planted):
    ann = person_of(planted, "marketo", "lead", "101")
    rows = query(planted, "select touch_type, source_system, touched_at from marts.fct_touchpoints"
                          " where person_id = %s order by touched_at", (ann,))
    assert rows == [("form_fill", "marketo", at("2026-05-01 09:30")),
                    ("email_click", "hubspot", at("2026-05-02 08:00"))]


def test_opportunity_carries_account_owner_and_primary_person(planted):
    rows = query(planted, "select o.amount, o.is_won, o.closed_at, a.domain, w.source_owner_id, o.primary_person_id"
                          " from marts.fct_opportunities o join marts.dim_accounts a using (account_id)"
                          " join marts.dim_owners w on w.owner_id = o.owner_id")
    ann = person_of(planted, "marketo", "lead", "101")
    assert [tuple(r) for r in rows] == [(50000, True, at("2026-05-20 15:00"), "acme.com", AE, ann)]


# -- reruns (last: they add a day to the module's warehouse) ---------------------------------
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
def next_day(planted):
    """Day one is `planted`; one more day lands and an incremental build runs (these tests come last)."""
    day_one = people(planted)
    plant_next_day(planted)
    build(planted)  # incremental: the event models read only what the day's loads wrote
    return planted, day_one


def test_person_id_survives_a_rerun_and_a_new_record_joining(next_day):
    url, day_one = next_day
    after = people(url)
    assert {key: after[key] for key in day_one} == day_one
    assert after[("hubspot", "contacts", "601")] == day_one[("marketo", "lead", "101")]
    assert ("marketo", "lead", "701") in after


def test_incremental_build_after_a_day_equals_a_full_refresh(next_day):
    url, _ = next_day
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
