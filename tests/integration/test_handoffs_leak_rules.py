"""The handoff and leak rules on hand-made raw records (a real PostgreSQL, real dbt).

One small Salesforce org (plus one Marketo lead) is written straight into the raw tables:
each lead is one case, most of them on a rule's boundary (exactly 5 business days, exactly the
SLA, exactly 5 attempts, 8 days between two reps). dbt builds the marts once with the default
thresholds (as of Wednesday 2026-07-01 00:00 UTC), then once more with other threshold vars,
and each test reads its own lead's rows.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import psycopg
import pytest

pytestmark = pytest.mark.timeout(600)

AS_OF = "2026-07-01T00:00:00Z"
OTHER_THRESHOLDS = {"sla_business_minutes": 60, "premature_give_up_attempts": 6, "duplicate_outreach_days": 10,
                    "stalled_days": 60, "black_hole_business_days": 4}


def sf_id(prefix: str, number: int) -> str:
    return f"{prefix}{number:012d}AAA"


def sf_time(text: str) -> str:
    """'2026-06-01T10:00' → Salesforce's '2026-06-01T10:00:00.000+0000'."""
    return f"{text}:00.000+0000" if len(text) == 16 else text


SDR_1, SDR_2, AE_1, INACTIVE_AE, MANAGER = (sf_id("005", n) for n in range(1, 6))
QUEUE = sf_id("00G", 1)
NAMED_ACCOUNT, CUSTOMER_ACCOUNT = sf_id("001", 1), sf_id("001", 2)


class RawOrg:
    """Raw rows by (schema, table), as the loader would have landed them."""

    def __init__(self):
        self.rows: dict[tuple[str, str], list[tuple[str, dict, bool]]] = {}
        self.leads: dict[str, str] = {}       # case name → lead id
        self._numbers: dict[str, int] = {}

    def add(self, schema: str, table: str, record_id: str, data: dict, deleted: bool = False) -> None:
        self.rows.setdefault((schema, table), []).append((record_id, data, deleted))

    def next_id(self, prefix: str) -> str:
        self._numbers[prefix] = self._numbers.get(prefix, 0) + 1
        return sf_id(prefix, self._numbers[prefix])

    def lead(self, case: str, created: str, owner: str, *, email: str | None = None, **fields) -> str:
        lead_id = self.next_id("00Q")
        self.leads[case] = lead_id
        data = {
            "Id": lead_id, "FirstName": "Case", "LastName": case.replace("_", " ").title(),
            "Email": email or f"{case}@{case.replace('_', '-')}.example", "Title": "VP Revenue",
            "Company": f"{case} Inc", "Industry": "Software", "NumberOfEmployees": 250, "Country": "Germany",
            "LeadSource": "Website", "Status": "Open - Not Contacted", "OwnerId": owner, "IsConverted": False,
            "Marketing_Touch_Count__c": 4, "Last_Marketing_Touch_At__c": sf_time("2026-04-20T10:00"),
            "Disqualified_Reason__c": None, "Recycled_Reason__c": None,
            "CreatedDate": sf_time(created), "LastModifiedDate": sf_time(created), "SystemModstamp": sf_time(created),
            "IsDeleted": False,
        }
        data.update(fields)
        self.add("raw_salesforce", "lead", lead_id, data)
        return lead_id

    def history(self, lead_id: str, at: str, field: str, old, new) -> None:
        history_id = self.next_id("017")
        self.add("raw_salesforce", "lead_history", history_id, {
            "Id": history_id, "LeadId": lead_id, "Field": field, "OldValue": old, "NewValue": new,
            "CreatedById": MANAGER, "CreatedDate": sf_time(at), "IsDeleted": False})

    def status(self, lead_id: str, at: str, old: str, new: str, *, reason_field: str | None = None,
               reason: str | None = None) -> None:
        self.history(lead_id, at, "Status", old, new)
        if reason_field:
            self.history(lead_id, at, reason_field, None, reason)

    def task(self, lead_id: str, at: str, owner: str, subtype: str = "Call") -> None:
        task_id = self.next_id("00T")
        self.add("raw_salesforce", "task", task_id, {
            "Id": task_id, "WhoId": lead_id, "WhatId": None, "OwnerId": owner, "Subject": subtype,
            "TaskSubtype": subtype, "Status": "Completed", "ActivityDate": at[:10],
            "CompletedDateTime": sf_time(at), "CreatedDate": sf_time(at), "LastModifiedDate": sf_time(at),
            "SystemModstamp": sf_time(at), "IsDeleted": False})

    def set_lead(self, lead_id: str, **fields) -> None:
        for _, data, _ in self.rows[("raw_salesforce", "lead")]:
            if data["Id"] == lead_id:
                data.update(fields)


def build_org() -> RawOrg:
    org = RawOrg()
    long_ago = sf_time("2025-01-06T09:00")
    roles = {"sdr": ("00E000000000001AAA", "Sales Development Rep"), "ae": ("00E000000000002AAA", "Account Executive"),
             "manager": ("00E000000000003AAA", "Sales Manager")}
    for role_id, name in roles.values():
        org.add("raw_salesforce", "user_role", role_id, {"Id": role_id, "Name": name, "ParentRoleId": None,
                                                        "LastModifiedDate": long_ago, "SystemModstamp": long_ago})
    for user_id, name, role, active in ((SDR_1, "Sam Sdr", "sdr", True), (SDR_2, "Sue Sdr", "sdr", True),
                                        (AE_1, "Ann Exec", "ae", True), (INACTIVE_AE, "Gone Exec", "ae", False),
                                        (MANAGER, "Max Manager", "manager", True)):
        first, last = name.split()
        org.add("raw_salesforce", "user", user_id, {
            "Id": user_id, "Name": name, "FirstName": first, "LastName": last,
            "Email": f"{first.lower()}@baton-test.example", "IsActive": active, "UserRoleId": roles[role][0],
            "CreatedDate": long_ago, "LastModifiedDate": long_ago, "SystemModstamp": long_ago})
    org.add("raw_salesforce", "group", QUEUE, {"Id": QUEUE, "Name": "Inbound Queue", "DeveloperName": "Inbound_Queue",
                                               "Type": "Queue", "CreatedDate": long_ago, "LastModifiedDate": long_ago,
                                               "SystemModstamp": long_ago})
    for account_id, name, domain in ((NAMED_ACCOUNT, "Named Corp", "named.example"),
                                     (CUSTOMER_ACCOUNT, "Customer Corp", "customer.example")):
        org.add("raw_salesforce", "account", account_id, {
            "Id": account_id, "Name": name, "Website": f"https://www.{domain}", "Industry": "Software",
            "NumberOfEmployees": 900, "BillingCountry": "France", "Type": "Prospect", "OwnerId": AE_1,
            "MasterRecordId": None, "CreatedDate": long_ago, "LastModifiedDate": long_ago, "SystemModstamp": long_ago,
            "IsDeleted": False})
    won = sf_id("006", 1)
    org.add("raw_salesforce", "opportunity", won, {
        "Id": won, "Name": "Customer Corp - New Business", "AccountId": CUSTOMER_ACCOUNT, "OwnerId": AE_1,
        "StageName": "Closed Won", "Amount": 50000, "CloseDate": "2026-04-01", "IsClosed": True, "IsWon": True,
        "LeadSource": None, "CampaignId": None, "Type": "New Business", "CreatedDate": sf_time("2026-02-02T10:00"),
        "LastModifiedDate": sf_time("2026-04-01T12:00"), "SystemModstamp": sf_time("2026-04-01T12:00"),
        "IsDeleted": False})
    org.add("raw_salesforce", "opportunity_field_history", sf_id("017", 900), {
        "Id": sf_id("017", 900), "OpportunityId": won, "Field": "StageName", "OldValue": "Negotiation/Review",
        "NewValue": "Closed Won", "CreatedById": AE_1, "CreatedDate": sf_time("2026-04-01T12:00"), "IsDeleted": False})

    # Black hole: handed off Tuesday 2026-06-23; as-of Wednesday 07-01 00:00 is 5 business days after 17:00.
    org.lead("five_days_exactly", "2026-06-23T17:00", SDR_1)
    org.lead("five_days_and_a_minute", "2026-06-23T16:59", SDR_1)
    # SLA: the first touch exactly 480 business minutes after the handoff, and one minute later.
    org.task(org.lead("sla_exactly", "2026-06-01T10:00", SDR_1), "2026-06-02T10:00", SDR_1)
    org.task(org.lead("sla_and_a_minute", "2026-06-01T10:00", SDR_1), "2026-06-02T10:01", SDR_1)
    # Routing.
    queued = org.lead("queued", "2026-06-01T10:00", QUEUE, OwnerId=SDR_1)
    org.history(queued, "2026-06-02T09:00", "Owner", QUEUE, SDR_1)   # reassigned later: still a queue at handoff
    org.task(queued, "2026-06-02T09:30", SDR_1)
    org.task(org.lead("inactive_owner", "2026-06-01T10:00", INACTIVE_AE), "2026-06-01T11:00", SDR_1)
    org.task(org.lead("wrong_rep", "2026-06-01T10:00", SDR_1, email="wrong.rep@named.example"),
             "2026-06-01T11:00", SDR_1)
    org.task(org.lead("account_owner", "2026-06-01T10:00", AE_1, email="right.rep@named.example"),
             "2026-06-01T11:00", AE_1)
    # Giving up: two attempts vs exactly five, then closed as "No Response".
    lead = org.lead("two_attempts", "2026-06-01T10:00", SDR_1, Status="Closed - Not Converted",
                    Disqualified_Reason__c="No Response")
    for at in ("2026-06-01T11:00", "2026-06-03T11:00"):
        org.task(lead, at, SDR_1)
    org.status(lead, "2026-06-05T10:00", "Open - Not Contacted", "Closed - Not Converted",
               reason_field="Disqualified_Reason__c", reason="No Response")
    lead = org.lead("five_attempts", "2026-06-01T10:00", SDR_1, Status="Closed - Not Converted",
                    Disqualified_Reason__c="No Response")
    for day in range(1, 6):
        org.task(lead, f"2026-06-0{day}T11:00", SDR_1, "Email" if day % 2 else "Call")
    org.status(lead, "2026-06-08T10:00", "Open - Not Contacted", "Closed - Not Converted",
               reason_field="Disqualified_Reason__c", reason="No Response")
    # Rejections: recycled without a reason, disqualified with one.
    lead = org.lead("recycled_silently", "2026-06-01T10:00", SDR_1, Status="Nurture")
    org.task(lead, "2026-06-01T11:00", SDR_1)
    org.status(lead, "2026-06-10T10:00", "Open - Not Contacted", "Nurture",
               reason_field="Recycled_Reason__c", reason=None)
    lead = org.lead("not_a_fit", "2026-06-01T10:00", SDR_1, Status="Closed - Not Converted",
                    Disqualified_Reason__c="Not a Fit")
    org.task(lead, "2026-06-01T11:00", SDR_1)
    org.status(lead, "2026-06-10T10:00", "Open - Not Contacted", "Closed - Not Converted",
               reason_field="Disqualified_Reason__c", reason="Not a Fit")
    # Context: no title and no behavioural summary on the lead.
    org.task(org.lead("stripped", "2026-06-01T10:00", SDR_1, Title=None, Marketing_Touch_Count__c=None),
             "2026-06-01T11:00", SDR_1)
    # Two reps on one buyer: 3 days apart, and 8 days apart.
    lead = org.lead("two_reps_3_days", "2026-06-01T10:00", SDR_1)
    org.task(lead, "2026-06-01T12:00", SDR_1)
    org.task(lead, "2026-06-04T12:00", SDR_2)
    lead = org.lead("two_reps_8_days", "2026-06-01T10:00", SDR_1)
    org.task(lead, "2026-06-01T12:00", SDR_1)
    org.task(lead, "2026-06-09T12:00", SDR_2)
    # An SDR prospecting a contact of a customer (won on 2026-04-01).
    org.task(org.lead("customer_contact", "2026-06-01T10:00", SDR_1, email="buyer@customer.example"),
             "2026-06-01T11:00", SDR_1)
    # Stalled in sal since May with no touch since, and one touched in June.
    for case, last_touch in (("stalled_since_may", "2026-05-12T10:00"), ("touched_in_june", "2026-06-20T10:00")):
        lead = org.lead(case, "2026-05-11T10:00", SDR_1, Status="Working - Contacted")
        org.task(lead, "2026-05-12T10:00", SDR_1)
        org.status(lead, "2026-05-12T10:05", "Open - Not Contacted", "Working - Contacted")
        if last_touch != "2026-05-12T10:00":
            org.task(lead, last_touch, SDR_1)
    # Recycled, then qualified again: two handoffs, touches belong to the latest one.
    lead = org.lead("requalified", "2026-05-04T10:00", SDR_1, Status="Open - Not Contacted",
                    Recycled_Reason__c="Bad Timing")
    org.task(lead, "2026-05-05T10:00", SDR_1)
    org.status(lead, "2026-05-08T10:00", "Open - Not Contacted", "Nurture",
               reason_field="Recycled_Reason__c", reason="Bad Timing")
    org.status(lead, "2026-06-08T10:00", "Nurture", "Open - Not Contacted")
    org.task(lead, "2026-06-08T11:00", SDR_1)
    # Marketo qualifies the person ten minutes before the CRM lead appears: one handoff, from Marketo's sign.
    lead = org.lead("marketo_first", "2026-06-15T10:00", SDR_1, email="mk.first@marketo-first.example")
    org.task(lead, "2026-06-15T11:00", SDR_1)
    org.add("raw_marketo", "lead", "7001", {
        "id": 7001, "email": "MK.First@marketo-first.example", "firstName": "Case", "lastName": "Marketo First",
        "title": "VP Revenue", "company": "marketo_first Inc", "industry": "Software", "numberOfEmployees": 250,
        "country": "Germany", "leadSource": "Website", "leadStatus": "MQL", "leadScore": 80, "sfdcLeadId": lead,
        "sfdcContactId": None, "sfdcAccountId": None, "originalSourceType": "Web form fillout",
        "originalSourceInfo": None, "acquisitionProgramId": None,
        "createdAt": "2026-05-01T10:00:00Z", "updatedAt": "2026-06-15T09:50:00Z"})
    org.add("raw_marketo", "activity", "9001", {
        "id": 9001, "marketoGUID": "9001", "leadId": 7001, "activityDate": "2026-06-15T09:50:00Z",
        "activityTypeId": 13, "campaignId": None, "primaryAttributeValueId": 67,
        "primaryAttributeValue": "Lead Status",
        "attributes": [{"name": "New Value", "value": "MQL"}, {"name": "Old Value", "value": "New"},
                       {"name": "Reason", "value": "Score threshold reached"}]})
    return org


def write_raw(url: str, org: RawOrg) -> None:
    from baton.build.dbt import ensure_raw_tables

    ensure_raw_tables(url)
    loaded_at = datetime(2026, 7, 1, tzinfo=timezone.utc)
    with psycopg.connect(url) as conn:
        for (schema, table), rows in org.rows.items():
            for record_id, data, deleted in rows:
                conn.execute(f'insert into "{schema}"."{table}" (id, data, is_deleted, _loaded_at, _load_id)'
                             " values (%s, %s, %s, %s, 'hand-made')",
                             (record_id, json.dumps(data), deleted, loaded_at))


def read_marts(url: str, org: RawOrg) -> dict:
    """{'handoffs': {case: [rows by handed_off_at]}, 'leaks': {case: {leak_type: row}}} for every lead case."""
    lead_case = {lead_id: case for case, lead_id in org.leads.items()}
    with psycopg.connect(url) as conn:
        person_case = {person: lead_case[source_id] for person, source_id in conn.execute(
            "select person_id, source_id from marts.dim_people_identities"
            " where source_system = 'salesforce' and source_object = 'Lead'")}
        columns = [c.name for c in conn.execute("select * from marts.fct_handoffs limit 0").description]
        handoffs: dict[str, list[dict]] = {}
        for row in conn.execute("select * from marts.fct_handoffs order by handed_off_at"):
            record = dict(zip(columns, row))
            handoffs.setdefault(person_case[record["person_id"]], []).append(record)
        owner_names = dict(conn.execute("select owner_id, name from marts.dim_owners"))
        columns = [c.name for c in conn.execute("select * from marts.fct_funnel_leaks limit 0").description]
        leaks: dict[str, dict[str, dict]] = {}
        for row in conn.execute("select * from marts.fct_funnel_leaks"):
            record = dict(zip(columns, row))
            record["owner"] = owner_names.get(record["owner_id"])
            leaks.setdefault(person_case[record["person_id"]], {})[record["leak_type"]] = record
    for handoff_list in handoffs.values():
        for handoff in handoff_list:
            handoff["owner"] = owner_names.get(handoff["owner_id"])
            handoff["expected_owner"] = owner_names.get(handoff["expected_owner_id"])
    return {"handoffs": handoffs, "leaks": leaks}


@pytest.fixture(scope="module")
def marts(server_url):
    from baton.build.dbt import dbt
    from baton.warehouse import with_database

    name = f"baton_leak_rules_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = with_database(server_url, name)
    try:
        org = build_org()
        write_raw(url, org)
        models = ["+fct_funnel_leaks", "+rpt_funnel_leak_summary", "+rpt_lead_quality_by_source", "dim_owners",
                  "dim_people_identities"]
        result = dbt(["build", "--select", *models, "--exclude", "test_type:data", "test_type:unit"], url,
                     vars={"as_of": AS_OF}, target_name="test_handoffs_leak_rules")
        assert result.success, (result.exception, result.failures()[:3])
        result = dbt(["test", "--select", "fct_handoffs", "fct_funnel_leaks"], url, vars={"as_of": AS_OF},
                     target_name="test_handoffs_leak_rules")
        assert result.success, (result.exception, result.failures()[:3])
        default = read_marts(url, org)
        # The rules live in the leak models (models/intermediate/leaks), one per leak type, and the
        # handoff's due times in int_handoffs_assembled.
        result = dbt(["run", "--select", "int_handoffs_assembled", "fct_handoffs", "path:models/intermediate/leaks",
                      "fct_funnel_leaks"], url,
                     vars={"as_of": AS_OF, **OTHER_THRESHOLDS}, target_name="test_handoffs_leak_rules")
        assert result.success, (result.exception, result.failures()[:3])
        yield {"default": default, "other": read_marts(url, org)}
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def only_handoff(marts, case, thresholds="default"):
    handoffs = marts[thresholds]["handoffs"][case]
    assert len(handoffs) == 1, handoffs
    return handoffs[0]


def leak_types(marts, case, thresholds="default"):
    return set(marts[thresholds]["leaks"].get(case, {}))


def test_black_hole_needs_more_than_five_business_days_without_a_touch(marts):
    assert only_handoff(marts, "five_days_exactly")["business_minutes_to_as_of"] == 2400
    assert "black_hole" not in leak_types(marts, "five_days_exactly")
    assert "slow_response" in leak_types(marts, "five_days_exactly")
    assert "black_hole" in leak_types(marts, "five_days_and_a_minute")
    assert "slow_response" not in leak_types(marts, "five_days_and_a_minute"), "a black hole is not also slow"
    leak = marts["default"]["leaks"]["five_days_and_a_minute"]["black_hole"]
    assert leak["detected_at"] == datetime(2026, 6, 30, 16, 59, tzinfo=timezone.utc)
    assert "Sam Sdr" in leak["detail"] and "no sales touch" in leak["detail"]


def test_fewer_black_hole_days_turn_the_five_day_wait_into_a_black_hole(marts):
    assert "black_hole" in leak_types(marts, "five_days_exactly", "other")


def test_slow_response_needs_more_than_the_sla_before_the_first_touch(marts):
    exactly = only_handoff(marts, "sla_exactly")
    assert exactly["response_business_minutes"] == 480 and not exactly["is_sla_breached"]
    assert "slow_response" not in leak_types(marts, "sla_exactly")
    late = only_handoff(marts, "sla_and_a_minute")
    assert late["response_business_minutes"] == 481 and late["is_sla_breached"]
    assert "slow_response" in leak_types(marts, "sla_and_a_minute")
    assert late["response_minutes"] == 24 * 60 + 1


def test_a_shorter_sla_var_makes_more_responses_slow(marts):
    assert "slow_response" in leak_types(marts, "sla_exactly", "other")
    slow_default = sum("slow_response" in leaks for leaks in marts["default"]["leaks"].values())
    slow_other = sum("slow_response" in leaks for leaks in marts["other"]["leaks"].values())
    assert slow_other > slow_default


def test_a_handoff_to_a_queue_is_misrouted_even_when_reassigned_later(marts):
    handoff = only_handoff(marts, "queued")
    assert handoff["owner"] == "Inbound Queue" and handoff["misroute_reason"] == "queue"
    assert "misrouted" in leak_types(marts, "queued")


def test_a_handoff_to_an_inactive_user_is_misrouted(marts):
    assert only_handoff(marts, "inactive_owner")["misroute_reason"] == "inactive_owner"
    assert "misrouted" in leak_types(marts, "inactive_owner")


def test_a_handoff_to_someone_other_than_the_account_owner_is_misrouted(marts):
    wrong = only_handoff(marts, "wrong_rep")
    assert (wrong["owner"], wrong["expected_owner"], wrong["misroute_reason"]) == ("Sam Sdr", "Ann Exec",
                                                                                 "not_account_owner")
    assert "Ann Exec" in marts["default"]["leaks"]["wrong_rep"]["misrouted"]["detail"]
    right = only_handoff(marts, "account_owner")
    assert (right["owner"], right["expected_owner"], right["is_misrouted"]) == ("Ann Exec", "Ann Exec", False)
    assert "misrouted" not in leak_types(marts, "account_owner")


def test_premature_give_up_is_a_no_response_close_after_fewer_than_five_attempts(marts):
    two = only_handoff(marts, "two_attempts")
    assert (two["outcome"], two["outcome_reason"], two["sales_touch_attempts"]) == ("no_response", "No Response", 2)
    assert "premature_give_up" in leak_types(marts, "two_attempts")
    five = only_handoff(marts, "five_attempts")
    assert (five["outcome"], five["sales_touch_attempts"]) == ("no_response", 5)
    assert "premature_give_up" not in leak_types(marts, "five_attempts")
    assert "premature_give_up" in leak_types(marts, "five_attempts", "other"), "6 attempts required by the var"


def test_rejection_without_a_reason_is_a_leak_and_with_one_is_not(marts):
    silent = only_handoff(marts, "recycled_silently")
    assert (silent["outcome"], silent["outcome_reason"]) == ("recycled", None)
    assert "rejected_without_reason" in leak_types(marts, "recycled_silently")
    fit = only_handoff(marts, "not_a_fit")
    assert (fit["outcome"], fit["outcome_reason"]) == ("disqualified", "Not a Fit")
    assert not {"rejected_without_reason", "premature_give_up"} & leak_types(marts, "not_a_fit")


def test_context_stripped_names_the_missing_fields_of_the_crm_record(marts):
    handoff = only_handoff(marts, "stripped")
    assert handoff["missing_context_fields"] == "marketing_touch_count, title"
    assert not handoff["has_behavioural_context"] and handoff["has_firmographic_context"]
    assert "context_stripped" in leak_types(marts, "stripped")
    assert "context_stripped" not in leak_types(marts, "sla_exactly")


def test_duplicate_outreach_is_a_second_rep_within_seven_days(marts):
    leak = marts["default"]["leaks"]["two_reps_3_days"]["duplicate_outreach"]
    assert leak["owner"] == "Sue Sdr", "owned by the rep who made the later touch"
    assert leak["detected_at"] == datetime(2026, 6, 4, 12, 0, tzinfo=timezone.utc)
    assert "duplicate_outreach" not in leak_types(marts, "two_reps_8_days")
    assert "duplicate_outreach" in leak_types(marts, "two_reps_8_days", "other")


def test_an_sdr_touching_a_customers_contact_is_existing_customer_prospected(marts):
    assert "existing_customer_prospected" in leak_types(marts, "customer_contact")
    assert "existing_customer_prospected" not in leak_types(marts, "wrong_rep"), "named account is no customer"


def test_stalled_is_thirty_days_in_sal_without_a_touch_or_stage_change(marts):
    assert "stalled" in leak_types(marts, "stalled_since_may")
    assert marts["default"]["leaks"]["stalled_since_may"]["stalled"]["detected_at"] == \
        datetime(2026, 6, 11, 10, 5, tzinfo=timezone.utc)
    assert "stalled" not in leak_types(marts, "touched_in_june")
    assert "stalled" not in leak_types(marts, "stalled_since_may", "other"), "60 days have not passed"


def test_requalifying_after_recycled_makes_a_new_handoff_that_owns_the_later_touches(marts):
    first, second = marts["default"]["handoffs"]["requalified"]
    assert (first["handed_off_at"], second["handed_off_at"]) == (
        datetime(2026, 5, 4, 10, tzinfo=timezone.utc), datetime(2026, 6, 8, 10, tzinfo=timezone.utc))
    assert (first["outcome"], first["outcome_reason"], first["sales_touch_attempts"]) == ("recycled", "Bad Timing", 1)
    assert (second["outcome"], second["response_business_minutes"], second["sales_touches_in_handoff"]) == \
        ("open", 60, 1)


def test_a_marketo_mql_minutes_before_the_crm_lead_is_the_same_handoff(marts):
    handoff = only_handoff(marts, "marketo_first")
    assert handoff["handed_off_at"] == datetime(2026, 6, 15, 9, 50, tzinfo=timezone.utc)
    assert handoff["crm_reached_at"] == datetime(2026, 6, 15, 10, 0, tzinfo=timezone.utc)
    assert handoff["owner"] == "Sam Sdr" and handoff["response_business_minutes"] == 70
