"""End to end: the default sandbox world → vendor APIs → raw → dbt → fct_handoffs and
fct_funnel_leaks, compared row by row with the planted truth (baton_sandbox.truth, computed
from the world's event log alone, sharing nothing with the dbt models).

It runs on the default demo world (3,000 people, seed 7: the `e2e_world` fixture);
`BATON_E2E_PEOPLE=N` picks another size, `BATON_E2E_PEOPLE=0` the small session world:

    WAREHOUSE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/pytest tests/e2e/test_leaks_against_planted_truth.py -s

The world is extracted through the sandbox's APIs as of its end and built with as_of = its end, once for
the session (`e2e_built`, tests/fixtures/e2e.py).

Planted people are matched to warehouse people through their source records, handoffs by
(person, handed_off_at), owners by their ids in the vendor's system.
"""

from __future__ import annotations

from collections import defaultdict

import psycopg
import pytest

pytestmark = pytest.mark.timeout(900)

LEAK_TYPES = ("black_hole", "slow_response", "misrouted", "premature_give_up", "rejected_without_reason",
              "context_stripped", "duplicate_outreach", "existing_customer_prospected", "stalled")
Z = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'"



@pytest.fixture(scope="module")
def built(e2e_built):
    """(url, truth): the default world built once for the session (tests/fixtures/e2e.py)."""
    return e2e_built.url, e2e_built.truth


def _rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture(scope="module")
def matched(built):
    """(url, truth, planted person → warehouse person, planted handoff id → (person, handed_off_at))."""
    url, truth = built
    warehouse_person = {key: person for key, person in _rows(
        url, "select record_key, person_id from intermediate.int_people_matched_across_sources")}
    person_of = {}
    for person in truth["people"]:
        found = {warehouse_person.get(f"{i['source_system']}:{i['source_object']}:{i['source_id']}")
                 for i in person["identities"]} - {None}
        assert len(found) <= 1, f"planted person {person['person_id']} split into {found}"
        if found:
            person_of[person["person_id"]] = found.pop()
    handoff_key = {h["handoff_id"]: (person_of.get(h["person_id"]), h["handed_off_at"]) for h in truth["handoffs"]}
    return url, truth, person_of, handoff_key


def _warehouse_handoffs(url: str) -> dict[tuple, dict]:
    columns = ("handoff_key_person", "handed_off_at", "owner_id", "expected_owner_id", "is_misrouted",
               "first_sales_touch_at", "first_sales_touch_owner_id", "response_minutes", "response_business_minutes",
               "is_sla_breached", "sales_touch_attempts", "outcome", "outcome_reason", "outcome_at",
               "marketing_touches_before_handoff", "has_behavioural_context", "has_firmographic_context")
    rows = _rows(url, f"""
        select h.person_id, to_char(h.handed_off_at at time zone 'UTC', {Z}), owner.source_owner_id,
               expected.source_owner_id, h.is_misrouted, to_char(h.first_sales_touch_at at time zone 'UTC', {Z}),
               toucher.source_owner_id, h.response_minutes, h.response_business_minutes, h.is_sla_breached,
               h.sales_touch_attempts, h.outcome, h.outcome_reason, to_char(h.outcome_at at time zone 'UTC', {Z}),
               h.marketing_touches_before_handoff, h.has_behavioural_context, h.has_firmographic_context
        from marts.fct_handoffs as h
        left join marts.dim_owners as owner on owner.owner_id = h.owner_id
        left join marts.dim_owners as expected on expected.owner_id = h.expected_owner_id
        left join marts.dim_owners as toucher on toucher.owner_id = h.first_sales_touch_owner_id""")
    return {(row[0], row[1]): dict(zip(columns, row)) for row in rows}


def test_every_planted_handoff_is_found_and_no_other(matched):
    url, truth, _, handoff_key = matched
    found = set(_warehouse_handoffs(url))
    planted = set(handoff_key.values())
    assert sorted(planted - found)[:5] == [] and len(planted - found) == 0, "planted handoffs missed"
    assert sorted(found - planted)[:5] == [] and len(found - planted) == 0, "handoffs found that were not planted"


def test_speed_to_lead_in_business_minutes_equals_the_planted_value_for_every_handoff(matched):
    url, truth, _, handoff_key = matched
    found = _warehouse_handoffs(url)
    differing = [(h["handoff_id"], h["response_business_minutes"], found[handoff_key[h["handoff_id"]]]
                  ["response_business_minutes"]) for h in truth["handoffs"]
                 if handoff_key[h["handoff_id"]] in found
                 and found[handoff_key[h["handoff_id"]]]["response_business_minutes"] != h["response_business_minutes"]]
    assert differing == []
    assert sum(h["response_business_minutes"] is not None for h in truth["handoffs"]) >= 20, "too few touched handoffs"


@pytest.mark.parametrize("column", ["owner_id", "expected_owner_id", "is_misrouted", "first_sales_touch_at",
                                    "first_sales_touch_owner_id", "response_minutes", "is_sla_breached",
                                    "sales_touch_attempts", "outcome", "outcome_reason", "outcome_at",
                                    "marketing_touches_before_handoff", "has_behavioural_context",
                                    "has_firmographic_context"])
def test_handoff_column_equals_the_planted_value(matched, column):
    url, truth, _, handoff_key = matched
    found = _warehouse_handoffs(url)
    differing = []
    for planted in truth["handoffs"]:
        row = found.get(handoff_key[planted["handoff_id"]])
        if row is not None and row[column] != planted[column]:
            differing.append((planted["handoff_id"], planted[column], row[column]))
    assert differing[:5] == [] and len(differing) == 0


def _warehouse_leaks(url: str) -> dict[tuple, dict]:
    rows = _rows(url, f"""
        select l.leak_type, l.person_id, h.person_id, to_char(h.handed_off_at at time zone 'UTC', {Z}),
               owner.source_owner_id, to_char(l.detected_at at time zone 'UTC', {Z}), l.severity, l.detail
        from marts.fct_funnel_leaks as l
        left join marts.fct_handoffs as h using (handoff_id)
        left join marts.dim_owners as owner on owner.owner_id = l.owner_id""")
    return {(r[0], r[1], (r[2], r[3]) if r[2] else None): {"owner_id": r[4], "detected_at": r[5], "severity": r[6],
                                                           "detail": r[7]} for r in rows}


@pytest.mark.parametrize("leak_type", LEAK_TYPES)
def test_leaks_found_equal_the_planted_leaks(matched, leak_type):
    url, truth, person_of, handoff_key = matched
    planted = {(leak["leak_type"], person_of.get(leak["person_id"]), handoff_key.get(leak["handoff_id"])): leak
               for leak in truth["leaks"] if leak["leak_type"] == leak_type}
    found = {key: leak for key, leak in _warehouse_leaks(url).items() if key[0] == leak_type}
    missed = sorted(set(planted) - set(found), key=str)
    extra = sorted(set(found) - set(planted), key=str)
    assert missed == [], f"{len(missed)} planted {leak_type} leaks missed, e.g. {[planted[k] for k in missed[:3]]}"
    assert extra == [], f"{len(extra)} {leak_type} leaks found that were not planted, e.g. {extra[:3]}"
    assert planted, f"the world planted no {leak_type} leak: the comparison proves nothing"
    wrong_owner = [(k, planted[k]["owner_id"], found[k]["owner_id"]) for k in planted
                   if planted[k]["owner_id"] != found[k]["owner_id"]]
    assert wrong_owner == []
    wrong_instant = [(k, planted[k]["detected_at"], found[k]["detected_at"]) for k in planted
                     if planted[k]["detected_at"] != found[k]["detected_at"]]
    assert wrong_instant == []
    assert all(leak["detail"] and leak["severity"] in ("high", "medium", "low") for leak in found.values())


def test_leak_summary_counts_every_leak_once(built):
    url, _ = built
    leaks = _rows(url, "select leak_type, count(*) from marts.fct_funnel_leaks group by 1")
    summary = _rows(url, "select leak_type, sum(leaks)::bigint from marts.rpt_funnel_leak_summary group by 1")
    assert dict(summary) == dict(leaks)
    counts = defaultdict(int)
    for leak_type, count in leaks:
        counts[leak_type] = count
    print("\nleak counts: " + ", ".join(f"{t}={counts[t]}" for t in LEAK_TYPES))


def test_lead_quality_by_source_accounts_for_every_handoff(built):
    url, _ = built
    handoffs = _rows(url, "select count(*), count(*) filter (where outcome = 'converted') from marts.fct_handoffs")[0]
    report = _rows(url, "select sum(handoffs)::bigint, sum(converted)::bigint from marts.rpt_lead_quality_by_source")[0]
    assert tuple(report) == tuple(handoffs)
