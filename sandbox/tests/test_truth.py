"""The planted truth's rules (docs/warehouse.md), each on a hand-made event log."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from baton_sandbox.store import WorldStore
from baton_sandbox.truth import BusinessCalendar, compute_truth

UTC = timezone.utc
MONDAY = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)   # 2026-06-01 is a Monday


def at(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return MONDAY + timedelta(days=days, hours=hours, minutes=minutes)


# -- business minutes ----------------------------------------------------------------------------

def test_business_minutes_skip_the_weekend_and_the_night():
    friday_late = datetime(2026, 6, 5, 16, 30, tzinfo=UTC)
    monday_early = datetime(2026, 6, 8, 9, 30, tzinfo=UTC)
    assert BusinessCalendar().minutes_between(friday_late, monday_early) == 60


def test_business_minutes_round_partial_minutes_down():
    start = datetime(2026, 6, 2, 10, 0, 0, tzinfo=UTC)
    assert BusinessCalendar().minutes_between(start, start + timedelta(seconds=59 * 60 + 59)) == 59


def test_business_minutes_count_nothing_outside_working_hours():
    saturday = datetime(2026, 6, 6, 10, 0, tzinfo=UTC)
    calendar = BusinessCalendar()
    assert calendar.minutes_between(saturday, saturday + timedelta(days=1, hours=5)) == 0
    evening = datetime(2026, 6, 2, 17, 30, tzinfo=UTC)
    assert calendar.minutes_between(evening, evening + timedelta(hours=16)) == 30  # until Wednesday 09:30


def test_a_business_week_is_five_days_of_480_minutes():
    assert BusinessCalendar().minutes_between(MONDAY, MONDAY + timedelta(days=7)) == 2400


def test_business_minutes_skip_holidays_from_the_seed():
    calendar = BusinessCalendar(holidays=frozenset({date(2026, 6, 2)}))
    assert calendar.minutes_between(MONDAY, MONDAY + timedelta(days=2)) == 480


def test_business_minutes_are_zero_when_the_end_is_not_after_the_start():
    assert BusinessCalendar().minutes_between(at(1), at(0)) == 0


def test_adding_business_minutes_lands_where_counting_them_says():
    calendar = BusinessCalendar()
    start = datetime(2026, 6, 5, 15, 10, 30, tzinfo=UTC)   # Friday afternoon
    for minutes in (1, 110, 480, 2400, 2401):
        end = calendar.add_minutes(start, minutes)
        assert calendar.minutes_between(start, end) == minutes
        assert calendar.minutes_between(start, end - timedelta(seconds=1)) == minutes - 1


# -- a hand-made world ---------------------------------------------------------------------------

class Log:
    """Writes a tiny event log with the vocabulary the world generator uses."""

    def __init__(self, path, as_of: datetime):
        self.store = WorldStore(path)
        self.store.set_meta("world_end", as_of.strftime("%Y-%m-%dT%H:%M:%SZ"))
        for user, role in (("sdr1", "sdr"), ("sdr2", "sdr"), ("ae1", "ae"), ("ae2", "ae"), ("mgr", "manager"),
                           ("queue", "queue"), ("gone", "ae")):
            self.store.add_event(at(-400), "user_created", {"system": "salesforce", "id": user, "role": role,
                                                            "name": user, "active": True})
        self.store.add_event(at(-300), "user_deactivated", {"system": "salesforce", "id": "gone"})

    def person(self, key="P1", when=None):
        self.store.add_event(when or at(-60), "person_created", {
            "person": key, "email": f" {key}@Example.com", "first_name": "A", "last_name": "B", "company": "Ex",
            "domain": "example.com", "personal_email": False, "stack": "marketo_sf"})
        self.stage(key, "prospect", when or at(-60))

    def stage(self, person, stage, when, reason=None, system="salesforce"):
        self.store.add_event(when, "stage_change", {"person": person, "stage": stage, "system": system,
                                                    "reason": reason})

    def handoff(self, person="P1", when=None, owner="sdr1", expected=None, lead="00Q1", fields=None,
                crm_delay=timedelta(minutes=5)):
        when = when or MONDAY
        self.stage(person, "mql", when, system="marketo")
        self.store.add_event(when + crm_delay, "crm_handoff", {
            "person": person, "system": "salesforce", "object": "Lead", "id": lead, "owner": owner,
            "expected_owner": expected})
        self.context(person, when + crm_delay, lead, fields)

    def context(self, person, when, lead="00Q1", fields=None):
        full = {"email": "a@example.com", "company": "Ex", "title": "CMO", "industry": "Retail",
                "employee_count": 50, "country": "France", "lead_source": "Website", "marketing_touch_count": 3,
                "last_marketing_touch_at": "2026-05-30T10:00:00.000+0000"}
        full.update(fields or {})
        self.store.add_event(when, "crm_context", {"person": person, "system": "salesforce", "object": "Lead",
                                                   "id": lead, "fields": full, "why": "test"})

    def touch(self, when, user="sdr1", person="P1", channel="call"):
        self.store.add_event(when, "sales_touch", {"person": person, "system": "salesforce", "object": "Task",
                                                   "id": f"T{when.timestamp()}{user}", "user": user,
                                                   "role": "?", "channel": channel})

    def marketing(self, when, person="P1"):
        self.store.add_event(when, "marketing_touch", {"person": person, "system": "marketo", "object": "activity",
                                                       "source_id": f"A{when.timestamp()}", "type": "form_fill",
                                                       "channel": "website", "campaign": "1001"})

    def truth(self, as_of=None):
        self.store.finish()
        return compute_truth(self.store, as_of)


@pytest.fixture
def log(tmp_path):
    def make(as_of: datetime) -> Log:
        return Log(tmp_path / "world.sqlite", as_of)
    return make


def leaks_of(truth, kind):
    return [row for row in truth["leaks"] if row["leak_type"] == kind]


def test_black_hole_needs_more_than_five_business_days_without_a_touch(log):
    exactly_five = log(at(7))
    exactly_five.person()
    exactly_five.handoff()
    truth = exactly_five.truth()
    assert leaks_of(truth, "black_hole") == []
    assert len(leaks_of(truth, "slow_response")) == 1
    truth = compute_truth(exactly_five.store, at(7, minutes=1))
    assert [row["handoff_id"] for row in leaks_of(truth, "black_hole")] == ["P1-H1"]
    assert leaks_of(truth, "slow_response") == []


def test_black_hole_is_cleared_by_any_sales_touch(log):
    world = log(at(30))
    world.person()
    world.handoff()
    world.touch(at(20))
    truth = world.truth()
    assert leaks_of(truth, "black_hole") == []
    assert len(leaks_of(truth, "slow_response")) == 1


def test_slow_response_is_a_first_touch_after_eight_business_hours(log):
    world = log(at(3))
    world.person()
    world.handoff()
    world.touch(at(1, minutes=1))      # Tuesday 09:01: 481 business minutes
    truth = world.truth()
    assert len(leaks_of(truth, "slow_response")) == 1
    handoff = truth["handoffs"][0]
    assert handoff["response_business_minutes"] == 481
    assert handoff["response_minutes"] == 24 * 60 + 1
    assert handoff["is_sla_breached"] is True


def test_a_touch_within_eight_business_hours_is_no_slow_response(log):
    world = log(at(3))
    world.person()
    world.handoff()
    world.touch(at(0, hours=7, minutes=59))
    truth = world.truth()
    assert leaks_of(truth, "slow_response") == []
    assert truth["handoffs"][0]["is_sla_breached"] is False


def test_a_manager_call_is_no_sales_touch(log):
    world = log(at(10))
    world.person()
    world.handoff()
    world.touch(at(0, hours=1), user="mgr")
    truth = world.truth()
    assert truth["handoffs"][0]["first_sales_touch_at"] is None
    assert len(leaks_of(truth, "black_hole")) == 1


@pytest.mark.parametrize("owner, expected, why", [
    ("queue", None, "owned by a queue"),
    ("gone", None, "owned by an inactive user"),
    (None, None, "no owner at handoff"),
    ("sdr1", "ae1", "the account belongs to ae1"),
])
def test_misrouted_names_queues_inactive_users_missing_and_wrong_owners(log, owner, expected, why):
    world = log(at(2))
    world.person()
    world.handoff(owner=owner, expected=expected)
    world.touch(at(0, hours=1), user="sdr2")
    truth = world.truth()
    assert [row["detail"] for row in leaks_of(truth, "misrouted")] == [why]
    assert truth["handoffs"][0]["is_misrouted"] is True


def test_the_accounts_own_owner_is_not_misrouted(log):
    world = log(at(2))
    world.person()
    world.handoff(owner="ae1", expected="ae1")
    truth = world.truth()
    assert leaks_of(truth, "misrouted") == []
    assert truth["handoffs"][0]["expected_owner_id"] == "ae1"


def test_owner_at_handoff_ignores_later_reassignment(log):
    world = log(at(5))
    world.person()
    world.handoff(owner="queue")
    world.store.add_event(at(1), "owner_changed", {"person": "P1", "system": "salesforce", "object": "Lead",
                                                   "id": "00Q1", "old": "queue", "new": "sdr1"})
    truth = world.truth()
    assert truth["handoffs"][0]["owner_id"] == "queue"


def test_premature_give_up_is_a_no_response_close_after_fewer_than_five_attempts(log):
    world = log(at(20))
    world.person()
    world.handoff()
    world.touch(at(0, hours=1))
    world.touch(at(2, hours=1))
    world.stage("P1", "disqualified", at(3), reason="No Response")
    truth = world.truth()
    handoff = truth["handoffs"][0]
    assert (handoff["outcome"], handoff["outcome_reason"], handoff["sales_touch_attempts"]) == \
        ("no_response", "No Response", 2)
    assert len(leaks_of(truth, "premature_give_up")) == 1


def test_five_attempts_before_giving_up_is_no_premature_give_up(log):
    world = log(at(20))
    world.person()
    world.handoff()
    for day in range(5):
        world.touch(at(day, hours=1))
    world.stage("P1", "recycled", at(6), reason="Unresponsive")
    world.touch(at(7, hours=1))      # after the outcome: not an attempt
    truth = world.truth()
    assert truth["handoffs"][0]["sales_touch_attempts"] == 5
    assert truth["handoffs"][0]["outcome"] == "recycled"
    assert leaks_of(truth, "premature_give_up") == []


def test_rejected_without_reason_flags_blank_reasons_only(log):
    world = log(at(20))
    world.person("P1")
    world.person("P2")
    world.handoff("P1", lead="L1")
    world.handoff("P2", lead="L2")
    world.touch(at(0, hours=1), person="P1")
    world.touch(at(0, hours=1), person="P2")
    world.stage("P1", "disqualified", at(2), reason=None)
    world.stage("P2", "disqualified", at(2), reason="Competitor")
    truth = world.truth()
    assert [row["person_id"] for row in leaks_of(truth, "rejected_without_reason")] == ["P1"]
    outcomes = {row["person_id"]: row["outcome"] for row in truth["handoffs"]}
    assert outcomes == {"P1": "disqualified", "P2": "disqualified"}


def test_context_is_judged_on_the_record_as_it_stands_at_as_of(log):
    world = log(at(30))
    world.person()
    world.handoff(fields={"title": None, "industry": "[not provided]"})
    world.context("P1", at(10), fields={"title": "CMO", "industry": "[not provided]"})
    truth = world.truth()
    assert [row["field_name"] for row in truth["missing_context"]] == ["industry"]
    assert len(leaks_of(truth, "context_stripped")) == 1
    earlier = compute_truth(world.store, at(5))
    assert sorted(row["field_name"] for row in earlier["missing_context"]) == ["industry", "title"]
    assert earlier["handoffs"][0]["has_firmographic_context"] is False


def test_a_complete_record_has_no_context_flags(log):
    world = log(at(3))
    world.person()
    world.handoff()
    truth = world.truth()
    assert truth["missing_context"] == []
    assert truth["handoffs"][0]["has_behavioural_context"] is True


def _crm_record_handoff(world, system, obj, record_id, fields, when=MONDAY):
    """A handoff reaching `obj` (a HubSpot contact or a Salesforce contact) with these own fields."""
    world.stage("P1", "mql", when, system=system)
    world.store.add_event(when, "crm_handoff", {"person": "P1", "system": system, "object": obj, "id": record_id,
                                                "owner": "sdr1", "expected_owner": None})
    full = {"email": "a@example.com", "company": "Ex", "title": "CMO", "industry": "Retail", "employee_count": 50,
            "country": "France", "lead_source": "Website", "marketing_touch_count": 3,
            "last_marketing_touch_at": "2026-05-30T10:00:00.000Z"}
    world.store.add_event(when, "crm_context", {"person": "P1", "system": system, "object": obj, "id": record_id,
                                                "fields": dict(full, **fields), "why": "test"})


def test_a_hubspot_contact_lacking_firmographics_shows_its_associated_companys(log):
    world = log(at(30))
    world.person()
    world.store.add_version("hubspot", "companies", "5001", at(-100), {"id": "5001", "properties": {
        "name": "Ex Corp", "industry": "[not provided]", "numberofemployees": "120", "country": None}})
    world.store.add_version("hubspot", "contacts", "1001", at(-60), {"id": "1001", "properties": {
        "associatedcompanyid": "5001"}, "associations": {"companies": ["5001"]}})
    _crm_record_handoff(world, "hubspot", "contacts", "1001",
                        {"company": None, "industry": "", "employee_count": "[not provided]", "country": None,
                         "title": None})
    truth = world.truth()
    # company and employee count come from the company; industry and country are missing on both
    assert sorted(row["field_name"] for row in truth["missing_context"]) == ["country", "industry", "title"]
    assert truth["handoffs"][0]["has_firmographic_context"] is False


def test_a_hubspot_contacts_own_firmographics_win_over_its_companys(log):
    world = log(at(30))
    world.person()
    world.store.add_version("hubspot", "companies", "5001", at(-100), {"id": "5001", "properties": {
        "name": None, "industry": None, "numberofemployees": None, "country": None}})
    world.store.add_version("hubspot", "contacts", "1001", at(-60), {"id": "1001", "properties": {
        "associatedcompanyid": "5001"}, "associations": {"companies": ["5001"]}})
    _crm_record_handoff(world, "hubspot", "contacts", "1001", {})
    assert world.truth()["missing_context"] == []


def test_a_hubspot_contact_without_a_company_keeps_its_own_gaps(log):
    world = log(at(30))
    world.person()
    world.store.add_version("hubspot", "contacts", "1001", at(-60), {"id": "1001", "properties": {
        "associatedcompanyid": None}, "associations": {"companies": []}})
    _crm_record_handoff(world, "hubspot", "contacts", "1001", {"industry": None})
    assert [row["field_name"] for row in world.truth()["missing_context"]] == ["industry"]


def test_a_salesforce_contacts_company_industry_and_size_are_its_accounts(log):
    world = log(at(30))
    world.person()
    world.store.add_version("salesforce", "Account", "001A", at(-100), {
        "Id": "001A", "Name": "Ex Corp", "Industry": None, "NumberOfEmployees": 80})
    world.store.add_version("salesforce", "Contact", "003A", at(-60), {"Id": "003A", "AccountId": "001A"})
    _crm_record_handoff(world, "salesforce", "Contact", "003A",
                        {"company": None, "industry": "Retail", "employee_count": None, "country": None})
    # the account has a name and a size but no industry; country stays the contact's own
    assert sorted(row["field_name"] for row in world.truth()["missing_context"]) == ["country", "industry"]


def test_duplicate_outreach_is_a_second_rep_within_seven_days(log):
    world = log(at(40))
    world.person()
    world.handoff()
    world.touch(at(0, hours=2), user="sdr1")
    world.touch(at(6, hours=2), user="ae1")    # six days later: duplicate
    world.touch(at(20, hours=2), user="sdr1")
    world.touch(at(28, hours=2), user="ae2")   # eight days later: not
    truth = world.truth()
    rows = leaks_of(truth, "duplicate_outreach")
    assert [(row["handoff_id"], row["owner_id"]) for row in rows] == [("P1-H1", "ae1")]


def test_the_same_rep_touching_twice_is_no_duplicate_outreach(log):
    world = log(at(10))
    world.person()
    world.handoff()
    world.touch(at(0, hours=2))
    world.touch(at(1, hours=2))
    assert leaks_of(world.truth(), "duplicate_outreach") == []


def test_an_sdr_touching_a_customers_contact_is_flagged_outside_any_handoff(log):
    world = log(at(40))
    world.person()
    world.store.add_event(at(-50), "person_account", {"person": "P1", "system": "salesforce", "account": "001A"})
    world.store.add_event(at(-20), "opportunity_created", {"system": "salesforce", "id": "006A", "account": "001A",
                                                           "owner": "ae1", "amount": 1000, "persons": ["P1"]})
    world.store.add_event(at(-10), "opportunity_closed", {"system": "salesforce", "id": "006A", "account": "001A",
                                                          "won": True, "amount": 1000})
    world.touch(at(1), user="ae1")    # the account's AE: fine
    world.touch(at(2), user="sdr1")
    truth = world.truth()
    rows = leaks_of(truth, "existing_customer_prospected")
    assert [(row["person_id"], row["handoff_id"], row["owner_id"]) for row in rows] == [("P1", None, "sdr1")]


def test_an_sdr_touch_before_the_win_is_no_customer_prospecting(log):
    world = log(at(40))
    world.person()
    world.store.add_event(at(-50), "person_account", {"person": "P1", "system": "salesforce", "account": "001A"})
    world.touch(at(1), user="sdr1")
    world.store.add_event(at(5), "opportunity_created", {"system": "salesforce", "id": "006A", "account": "001A",
                                                         "owner": "ae1", "amount": 1000, "persons": ["P1"]})
    world.store.add_event(at(10), "opportunity_closed", {"system": "salesforce", "id": "006A", "account": "001A",
                                                         "won": True, "amount": 1000})
    truth = world.truth()
    assert leaks_of(truth, "existing_customer_prospected") == []
    assert truth["opportunities"][0]["is_won"] is True


def test_stalled_is_sal_or_sql_with_thirty_quiet_days(log):
    world = log(at(60))
    world.person("P1")
    world.person("P2")
    world.handoff("P1", lead="L1")
    world.handoff("P2", lead="L2")
    world.touch(at(0, hours=1), person="P1")
    world.touch(at(0, hours=1), person="P2")
    world.stage("P1", "sal", at(0, hours=2))
    world.stage("P2", "sal", at(0, hours=2))
    world.marketing(at(45), person="P2")     # P2 is still engaging
    truth = world.truth()
    assert [row["person_id"] for row in leaks_of(truth, "stalled")] == ["P1"]
    assert [row["outcome"] for row in truth["handoffs"]] == ["accepted", "accepted"]


def test_a_recycled_person_who_qualifies_again_makes_a_second_handoff(log):
    world = log(at(60))
    world.person()
    world.handoff(lead="00Q1")
    world.touch(at(0, hours=1))
    world.stage("P1", "sal", at(0, hours=2))
    world.stage("P1", "recycled", at(3), reason="Bad Timing")
    world.marketing(at(20))
    world.handoff(when=at(30), lead="00Q1", owner="sdr2")
    world.touch(at(30, hours=1), user="sdr2")
    world.stage("P1", "sql", at(31))
    truth = world.truth()
    first, second = truth["handoffs"]
    assert (first["outcome"], first["outcome_reason"], first["sales_touch_attempts"]) == ("recycled", "Bad Timing", 1)
    assert (second["handoff_id"], second["owner_id"], second["outcome"]) == ("P1-H2", "sdr2", "converted")
    assert second["marketing_touches_before_handoff"] == 1


def test_handed_off_at_is_the_earliest_sign_and_the_crm_arrival_keeps_the_handoff(log):
    world = log(at(5))
    world.person()
    world.handoff(crm_delay=timedelta(minutes=17))
    truth = world.truth()
    handoff = truth["handoffs"][0]
    assert handoff["handed_off_at"] == "2026-06-01T09:00:00Z"
    assert handoff["reached_crm_at"] == "2026-06-01T09:17:00Z"
    assert len(truth["handoffs"]) == 1


def test_events_after_as_of_are_not_seen(log):
    world = log(at(30))
    world.person()
    world.handoff()
    world.touch(at(10))
    world.store.finish()
    assert compute_truth(world.store, at(5))["handoffs"][0]["first_sales_touch_at"] is None
    assert compute_truth(world.store)["handoffs"][0]["first_sales_touch_at"] == "2026-06-11T09:00:00Z"
