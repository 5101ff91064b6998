"""fct_attribution on hand-made opportunities and touches equals the independent Python computation.

The upstream marts (fct_touchpoints, fct_opportunities, int_opportunity_contact_roles) are
written by hand into a real warehouse with every edge case docs/attribution.md decides (ties,
window boundaries, late contacts, re-opened, lost, open and future opportunities, no amount, no
touch); dbt then builds only the attribution models (with their unit and singular tests) and
every credit is compared with sandbox/src/baton_sandbox/truth/attribution.py to 1e-9.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from baton.build.dbt import dbt
from baton_sandbox.truth.attribution import MODELS, Opportunity, Touch, expected_credits, expected_money

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
TOLERANCE = 1e-9
ATTRIBUTION_MODELS = "channel_mapping int_attribution_touchpoints_in_window+"

UPSTREAM_DDL = """
create schema if not exists marts;
create schema if not exists intermediate;
create table marts.fct_touchpoints (
    touchpoint_id text primary key, person_id text, account_id text, touched_at timestamptz,
    touch_type text, channel text, campaign_id text, source_system text, source_object text,
    source_id text, touch_detail text);
create table marts.fct_opportunities (
    opportunity_id text primary key, source_system text, source_id text, name text, account_id text,
    owner_id text, created_at timestamptz, closed_at timestamptz, close_date date, stage text,
    is_closed boolean, is_won boolean, amount numeric, primary_person_id text, lead_source text,
    campaign_id text, is_deleted boolean);
create table intermediate.int_opportunity_contact_roles (
    opportunity_id text, person_id text, source_system text, source_role_id text, role text,
    is_primary boolean, role_created_at timestamptz);
"""

TOUCH_TYPES = ("form_fill", "email_click", "web_visit", "webinar", "content_download")
CHANNELS = {"form_fill": "web", "email_click": "email", "web_visit": "web", "webinar": "webinar",
            "content_download": None}


def _touch_id(rng: random.Random) -> str:
    # Mixed case on purpose: same-instant ties must order by the id's bytes ("B" < "a").
    return "".join(rng.choice("0123456789ABCabc") for _ in range(10))


def hand_made_world(seed: int = 11):
    """Opportunities, their contact roles and touches covering every decided edge case."""
    rng = random.Random(seed)
    touches: list[Touch] = []
    touch_rows: list[tuple] = []
    opportunity_rows: list[tuple] = []
    role_rows: list[tuple] = []
    opportunities: list[Opportunity] = []

    def add_touch(person: str, at: datetime, touch_type: str | None = None) -> None:
        touch_type = touch_type or rng.choice(TOUCH_TYPES)
        touch = Touch(_touch_id(rng), person, at, touch_type == "form_fill")
        touches.append(touch)
        touch_rows.append((touch.touchpoint_id, person, None, at, touch_type, CHANNELS[touch_type],
                           f"cmp{rng.randrange(5)}", rng.choice(["marketo", "salesforce", "hubspot"])))

    for number in range(60):
        opportunity_id = f"opp{number:03d}"
        created = datetime(2026, 3, 1, tzinfo=timezone.utc) + timedelta(seconds=rng.randrange(200 * 86400))
        kind = rng.choice(["open", "won", "won", "lost", "reopened", "close_before_creation", "future",
                           "deleted", "no_amount"])
        if kind == "future":
            created = AS_OF + timedelta(days=3)
        is_closed = kind in ("won", "lost", "close_before_creation", "no_amount")
        is_won = kind in ("won", "close_before_creation", "no_amount")
        closed = None
        if is_closed or kind == "reopened":
            closed = created + timedelta(seconds=rng.randrange(1, 60 * 86400))
        if kind == "close_before_creation":
            closed = created.replace(hour=0, minute=0, second=0, microsecond=0)
        if closed is not None and closed > AS_OF and is_closed:
            closed = AS_OF - timedelta(hours=1)
        amount = None if kind == "no_amount" else float(rng.randrange(1000, 90000))
        people = [f"{opportunity_id}_p{k}" for k in range(rng.randint(1, 3))]
        primary = people[0]
        counted = set(people)
        for position, person in enumerate(people):
            # the third contact is added three weeks late: their earlier touches still count
            role_created = created + timedelta(days=20) if position == 2 else created
            role_rows.append((opportunity_id, person, role_created))
            if position == 1:
                role_rows.append((opportunity_id, person, role_created + timedelta(days=1)))  # two roles
        if rng.random() < 0.3:
            late = f"{opportunity_id}_after_as_of"
            role_rows.append((opportunity_id, late, AS_OF + timedelta(days=1)))  # not a contact yet at as-of
            add_touch(late, created - timedelta(days=2), "form_fill")
        add_touch(f"{opportunity_id}_stranger", created - timedelta(days=1), "form_fill")  # no role at all

        shape = rng.choice(["none", "one", "two", "three", "many", "many", "many", "ties", "boundaries", "after"])
        counts = {"none": 0, "one": 1, "two": 2, "three": 3}.get(shape, rng.randint(4, 14))
        for _ in range(counts):
            person = rng.choice(people)
            add_touch(person, created - timedelta(seconds=rng.randrange(0, 400 * 86400)))
        if shape == "ties":
            instant = created - timedelta(days=rng.randint(0, 30), hours=rng.randint(0, 23))
            for _ in range(rng.randint(2, 4)):
                add_touch(rng.choice(people), instant)
            add_touch(rng.choice(people), created)  # tie with the opportunity's creation itself
            add_touch(rng.choice(people), created)
        if shape == "boundaries":
            add_touch(primary, created - timedelta(days=365))
            add_touch(primary, created - timedelta(days=365, microseconds=1))
            add_touch(primary, created)
            add_touch(primary, created + timedelta(microseconds=1))
        if shape in ("after", "many", "boundaries"):
            for _ in range(rng.randint(1, 4)):
                add_touch(rng.choice(people), created + timedelta(seconds=rng.randrange(1, 90 * 86400)))
            if closed is not None:
                add_touch(rng.choice(people), closed)
        opportunity_rows.append((opportunity_id, created, closed, is_closed, is_won, amount, primary,
                                 kind == "deleted"))
        if kind != "deleted":
            opportunities.append(Opportunity(opportunity_id, created, closed, is_closed, is_won, amount,
                                             frozenset(counted)))
    return opportunities, touches, touch_rows, opportunity_rows, role_rows


def write_upstream(url: str, touch_rows, opportunity_rows, role_rows) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(UPSTREAM_DDL)
        with conn.cursor() as cur:
            cur.executemany(
                "insert into marts.fct_touchpoints (touchpoint_id, person_id, account_id, touched_at, touch_type,"
                " channel, campaign_id, source_system) values (%s, %s, %s, %s, %s, %s, %s, %s)", touch_rows)
            cur.executemany(
                "insert into marts.fct_opportunities (opportunity_id, created_at, closed_at, is_closed, is_won,"
                " amount, primary_person_id, is_deleted) values (%s, %s, %s, %s, %s, %s, %s, %s)", opportunity_rows)
            cur.executemany(
                "insert into intermediate.int_opportunity_contact_roles (opportunity_id, person_id, role_created_at)"
                " values (%s, %s, %s)", role_rows)


def read_attribution(url: str) -> dict[tuple[str, str, str], tuple[float, float, float]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select opportunity_id, touchpoint_id, model, credit::float8, pipeline_credit::float8,"
            " revenue_credit::float8 from marts.fct_attribution").fetchall()
    return {(o, t, m): (c, p, r) for o, t, m, c, p, r in rows}


@pytest.fixture(scope="module")
def built(server_url, tmp_path_factory):
    from tests.fixtures.warehouse import _create_database, _drop_database

    name, url = _create_database(server_url, "baton_attr")
    opportunities, touches, touch_rows, opportunity_rows, role_rows = hand_made_world()
    write_upstream(url, touch_rows, opportunity_rows, role_rows)
    result = dbt(["build", "--select", *ATTRIBUTION_MODELS.split()], url, vars={"as_of": AS_OF.isoformat()},
                 target_name="attribution_tests")
    yield result, url, opportunities, touches
    _drop_database(server_url, name)


def test_attribution_models_and_their_unit_and_singular_tests_build_green(built):
    result, *_ = built
    assert result.success, (result.exception, result.failures())
    names = {r["name"] for r in result.results}
    assert "assert_attribution_credits_sum_to_one" in names
    assert "weights_of_many_touches_share_rest_equally" in names


def test_every_credit_equals_the_independent_computation(built):
    result, url, opportunities, touches = built
    assert result.success, result.failures()
    expected = expected_credits(opportunities, touches, as_of=AS_OF)
    actual = read_attribution(url)
    assert set(actual) == set(expected), (sorted(set(actual) - set(expected))[:5], sorted(set(expected) - set(actual))[:5])
    wrong = [(key, actual[key][0], credit) for key, credit in expected.items() if abs(actual[key][0] - credit) > TOLERANCE]
    assert not wrong, wrong[:10]


def test_pipeline_and_revenue_credit_follow_amount_and_outcome(built):
    result, url, opportunities, touches = built
    expected = expected_money(expected_credits(opportunities, touches, as_of=AS_OF), opportunities)
    actual = read_attribution(url)
    wrong = [(key, actual[key][1:], money) for key, money in expected.items()
             if abs(actual[key][1] - money[0]) > 1e-6 or abs(actual[key][2] - money[1]) > 1e-6]
    assert not wrong, wrong[:10]


def test_the_hand_made_world_exercises_every_model_and_edge_case(built):
    # Guards the fixture itself: without these shapes the comparison above proves little.
    _, url, opportunities, touches = built
    expected = expected_credits(opportunities, touches, as_of=AS_OF)
    assert {model for _, _, model in expected} == set(MODELS)
    credited = {opportunity for opportunity, _, _ in expected}
    assert any(o.opportunity_id not in credited for o in opportunities), "an opportunity without touches"
    assert len({t.touched_at for t in touches}) < len(touches), "same-instant touches"
    assert any(o.is_won for o in opportunities) and any(o.is_closed and not o.is_won for o in opportunities)
    assert any(not o.is_closed and o.closed_at for o in opportunities), "a re-opened opportunity"


# Non-default vars: a shorter lookback, a faster decay and other u_shaped weights.
CUSTOM_VARS = {
    "attribution_lookback_days": 90,
    "attribution_time_decay_half_life_days": 3,
    "attribution_position_weights": {"u_shaped": {"first_touch": 0.5, "lead_creation": 0.3, "rest": 0.2}},
}


def test_lookback_half_life_and_position_weights_follow_their_vars(server_url):
    from tests.fixtures.warehouse import _create_database, _drop_database

    name, url = _create_database(server_url, "baton_attr_vars")
    try:
        opportunities, touches, touch_rows, opportunity_rows, role_rows = hand_made_world(seed=23)
        write_upstream(url, touch_rows, opportunity_rows, role_rows)
        result = dbt(["build", "--select", *ATTRIBUTION_MODELS.split(), "--exclude", "test_type:unit"], url,
                     vars={"as_of": AS_OF.isoformat(), **CUSTOM_VARS}, target_name="attribution_tests")
        assert result.success, (result.exception, result.failures())
        actual = read_attribution(url)
    finally:
        _drop_database(server_url, name)
    expected = expected_credits(opportunities, touches, as_of=AS_OF, lookback_days=90, half_life_days=3,
                                position_models={"u_shaped": ({"FT": 0.5, "LC": 0.3}, 0.2)})
    default = expected_credits(opportunities, touches, as_of=AS_OF)
    assert set(expected) != set(default), "the shorter lookback must leave some touches out"
    assert set(actual) == set(expected)
    wrong = [(key, actual[key][0], credit) for key, credit in expected.items() if abs(actual[key][0] - credit) > TOLERANCE]
    assert not wrong, wrong[:10]
