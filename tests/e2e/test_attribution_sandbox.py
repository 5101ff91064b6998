"""End to end: a sandbox world → vendor APIs → raw → dbt → fct_attribution, against the planted truth.

The expected credits come from the world's planted truth (baton_sandbox.truth: its touchpoints
and opportunities, computed from the generator's event log) through the independent Python
computation in baton_sandbox.truth.attribution; the warehouse's ids are used only to name the rows
(and, as the contract orders same-instant touches by touchpoint id, to break those ties).

It runs on the default demo world (3,000 people, seed 7: the `e2e_world` fixture);
`BATON_E2E_PEOPLE=N` picks another size, `BATON_E2E_PEOPLE=0` the small session world:

    WAREHOUSE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/pytest tests/e2e/test_attribution_sandbox.py -s

The world is extracted and built once for the session (`e2e_built`, tests/fixtures/e2e.py).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

import psycopg
import pytest

from baton_sandbox.truth.attribution import MODELS, Opportunity, Touch, expected_credits, expected_money

TOLERANCE = 1e-9


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


@pytest.fixture(scope="module")
def pipeline(e2e_built):
    """(url, truth, as_of): the default world extracted and built once for the session, every dbt
    test passing (tests/fixtures/e2e.py)."""
    return e2e_built.url, e2e_built.truth, e2e_built.world_end


def _warehouse_ids(url: str):
    with psycopg.connect(url) as conn:
        touches = {(system, source_id): touchpoint_id for touchpoint_id, system, source_id in conn.execute(
            "select touchpoint_id, source_system, source_id from marts.fct_touchpoints")}
        # Marketo activities have two ids: the truth names the numeric `id`, the warehouse may key
        # on `marketoGUID`; the raw record says which is which.
        for numeric_id, guid in conn.execute(
                "select data ->> 'id', data ->> 'marketoGUID' from raw_marketo.activity"):
            if ("marketo", guid) in touches:
                touches.setdefault(("marketo", numeric_id), touches[("marketo", guid)])
        opportunities = {(system, source_id): opportunity_id for opportunity_id, system, source_id in conn.execute(
            "select opportunity_id, source_system, source_id from marts.fct_opportunities")}
        credits = {(o, t, m): (float(c), float(p), float(r)) for o, t, m, c, p, r in conn.execute(
            "select opportunity_id, touchpoint_id, model, credit, pipeline_credit, revenue_credit"
            " from marts.fct_attribution")}
    return touches, opportunities, credits


def planted(truth: dict, touch_ids: dict, opportunity_ids: dict):
    """The truth's opportunities and touchpoints, named by the warehouse's ids."""
    touches, unnamed = [], []
    for row in truth["touchpoints"]:
        key = (row["source_system"], str(row["source_id"]))
        if key not in touch_ids:
            unnamed.append(key)
        # A planted touch the warehouse lost keeps a placeholder id, so an opportunity whose path
        # needs it shows up as credited differently rather than silently shorter.
        touches.append(Touch(touch_ids.get(key, f"missing:{key[0]}:{key[1]}"), row["person_id"],
                             _instant(row["touched_at"]), row["touch_type"] == "form_fill"))
    opportunities = []
    for row in truth["opportunities"]:
        key = (row["source_system"], str(row["source_id"]))
        opportunities.append(Opportunity(
            opportunity_ids.get(key, f"missing:{key}"), _instant(row["created_at"]),
            _instant(row["closed_at"]) if row["closed_at"] else None, bool(row["is_closed"]), bool(row["is_won"]),
            float(row["amount"]) if row["amount"] is not None else None, frozenset(row["person_ids"])))
    return opportunities, touches, unnamed


def test_every_planted_opportunity_reaches_the_warehouse(pipeline):
    url, truth, _ = pipeline
    _, opportunity_ids, _ = _warehouse_ids(url)
    missing = [row["source_id"] for row in truth["opportunities"]
               if (row["source_system"], str(row["source_id"])) not in opportunity_ids]
    assert not missing, f"{len(missing)} planted opportunities missing from fct_opportunities"


def test_every_opportunity_credit_equals_the_independent_computation_from_planted_truth(pipeline):
    url, truth, as_of = pipeline
    touch_ids, opportunity_ids, actual = _warehouse_ids(url)
    opportunities, touches, _ = planted(truth, touch_ids, opportunity_ids)
    expected = expected_credits(opportunities, touches, as_of=as_of)
    assert expected, "the world planted no attributable opportunity"
    assert {model for _, _, model in expected} == set(MODELS)
    by_opportunity = Counter(key[0] for key in set(expected) ^ set(actual))
    assert not by_opportunity, (f"{len(by_opportunity)} opportunities with touchpoints credited differently, e.g.",
                                sorted(set(expected) ^ set(actual))[:5])
    wrong = [(key, actual[key][0], credit) for key, credit in expected.items()
             if abs(actual[key][0] - credit) > TOLERANCE]
    assert not wrong, (f"{len(wrong)} credits off by more than {TOLERANCE}", wrong[:5])


def test_pipeline_and_revenue_credit_match_the_planted_amounts(pipeline):
    url, truth, as_of = pipeline
    touch_ids, opportunity_ids, actual = _warehouse_ids(url)
    opportunities, touches, _ = planted(truth, touch_ids, opportunity_ids)
    expected = expected_money(expected_credits(opportunities, touches, as_of=as_of), opportunities)
    wrong = [(key, actual.get(key), money) for key, money in expected.items()
             if key not in actual or abs(actual[key][1] - money[0]) > 1e-6 or abs(actual[key][2] - money[1]) > 1e-6]
    assert not wrong, (f"{len(wrong)} pipeline/revenue credits differ", wrong[:5])


def test_channel_report_credits_each_touch_month_what_the_planted_touches_earned(pipeline):
    url, truth, as_of = pipeline
    touch_ids, opportunity_ids, _ = _warehouse_ids(url)
    opportunities, touches, _ = planted(truth, touch_ids, opportunity_ids)
    money = expected_money(expected_credits(opportunities, touches, as_of=as_of), opportunities)
    month_of = {touch.touchpoint_id: touch.touched_at.strftime("%Y-%m") for touch in touches}
    expected: dict[tuple[str, str], list[float]] = {}
    for (_, touchpoint_id, model), (pipeline_credit, revenue_credit) in money.items():
        sums = expected.setdefault((month_of[touchpoint_id], model), [0.0, 0.0])
        sums[0] += pipeline_credit
        sums[1] += revenue_credit
    with psycopg.connect(url) as conn:
        actual = {(month.strftime("%Y-%m"), model): (float(pipeline_sum), float(revenue_sum))
                  for month, model, pipeline_sum, revenue_sum in conn.execute(
                      "select touch_month, model, sum(pipeline_credited), sum(revenue_credited)"
                      " from marts.rpt_attribution_by_channel group by 1, 2")}
    assert set(actual) == set(expected)
    wrong = [(key, actual[key], sums) for key, sums in expected.items()
             if abs(actual[key][0] - sums[0]) > 1e-4 or abs(actual[key][1] - sums[1]) > 1e-4]
    assert not wrong, wrong[:5]
