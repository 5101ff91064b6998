"""Business time (dbt_project/macros/business_time.sql) on a real PostgreSQL.

Each calendar (dbt vars, holiday rows) gets a database of its own where dbt builds
int_business_calendar and compiles the macros once; they then run on hand-made instants: weekends, holidays,
instants outside working hours, rounding down, and the
daylight-saving changes of America/New_York.
"""

from __future__ import annotations

import os
import uuid
from datetime import timezone

import psycopg
import pytest

from baton.paths import DBT_PROJECT_DIR, state_path
from baton.warehouse import dbt_env, with_database

pytestmark = pytest.mark.timeout(300)

BETWEEN = "select {{ business_minutes_between(\"%(start)s::timestamptz\", \"%(end)s::timestamptz\") }}"
ADD = "select {{ business_minutes_add(\"%(start)s::timestamptz\", \"%(minutes)s::integer\") }}"


def run_dbt(warehouse_url: str, args: list[str], vars: dict | None = None):
    """Run one dbt command in-process on this warehouse; returns dbt's result."""
    import json

    from dbt.cli.main import dbtRunner

    args = [*args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(state_path("dbt", "test_business_time", "target", ".k").parent),
            "--log-path", str(state_path("dbt", "test_business_time", "logs", ".k").parent), "--quiet"]
    if vars:
        args += ["--vars", json.dumps(vars)]
    saved = dict(os.environ)
    os.environ.update(dbt_env(warehouse_url))
    try:
        outcome = dbtRunner().invoke(args)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert outcome.success, outcome.exception or [str(r.message) for r in outcome.result.results]
    return outcome.result


class Calendar:
    """One calendar built on its own warehouse: business minutes(start, end) and add(start, minutes)."""

    def __init__(self, warehouse_url: str, vars: dict | None = None, holidays: tuple[str, ...] = ()):
        self.url = warehouse_url
        with psycopg.connect(warehouse_url, autocommit=True) as conn:
            conn.execute("create schema if not exists staging")
            conn.execute("create table staging.business_holidays (holiday_date date, name text)")
            for day in holidays:
                conn.execute("insert into staging.business_holidays values (%s, 'test holiday')", (day,))
        run_dbt(warehouse_url, ["run", "--select", "int_business_calendar"], vars)
        compiled = run_dbt(warehouse_url, ["compile", "--inline", BETWEEN + "\n-- split --\n" + ADD], vars)
        self.between_sql, self.add_sql = compiled.results[0].node.compiled_code.split("-- split --")

    def minutes(self, start: str | None, end: str | None) -> int | None:
        with psycopg.connect(self.url) as conn:
            return conn.execute(self.between_sql, {"start": start, "end": end}).fetchone()[0]

    def add(self, start: str, minutes: int) -> str:
        with psycopg.connect(self.url) as conn:
            value = conn.execute(self.add_sql, {"start": start, "minutes": minutes}).fetchone()[0]
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def own_database(server_url: str):
    """A database of the calendar's own: each calendar has its own holiday seed table."""
    name = f"baton_bt_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    yield with_database(server_url, name)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="module")
def utc_calendar(server_url):
    # Wednesday 2026-05-06 is a holiday in this calendar.
    for url in own_database(server_url):
        yield Calendar(url, holidays=("2026-05-06",))


@pytest.fixture(scope="module")
def new_york_calendar(server_url):
    for url in own_database(server_url):
        yield Calendar(url, vars={"business_timezone": "America/New_York"})


# 2026-05-04 is a Monday.
@pytest.mark.parametrize(("start", "end", "expected"), [
    ("2026-05-04T10:00:00Z", "2026-05-04T11:30:00Z", 90),     # inside one working day
    ("2026-05-04T07:00:00Z", "2026-05-04T09:45:00Z", 45),     # starts before the day opens
    ("2026-05-04T16:30:00Z", "2026-05-04T20:00:00Z", 30),     # ends after the day closes
    ("2026-05-04T09:00:00Z", "2026-05-11T09:00:00Z", 4 * 480),  # a week whose Wednesday is a holiday
])
def test_business_minutes_count_only_working_hours(utc_calendar, start, end, expected):
    assert utc_calendar.minutes(start, end) == expected


def test_business_minutes_skip_the_weekend(utc_calendar):
    # Friday 16:00 → Monday 10:30: one hour on Friday, ninety minutes on Monday.
    assert utc_calendar.minutes("2026-05-08T16:00:00Z", "2026-05-11T10:30:00Z") == 150


def test_business_minutes_are_zero_between_two_instants_outside_working_hours(utc_calendar):
    assert utc_calendar.minutes("2026-05-08T18:00:00Z", "2026-05-11T08:00:00Z") == 0
    assert utc_calendar.minutes("2026-05-09T10:00:00Z", "2026-05-10T15:00:00Z") == 0


def test_business_minutes_skip_a_holiday(utc_calendar):
    # Tuesday 16:00 → Thursday 10:00 with Wednesday a holiday: 60 + 60.
    assert utc_calendar.minutes("2026-05-05T16:00:00Z", "2026-05-07T10:00:00Z") == 120


def test_business_minutes_round_down_to_whole_minutes(utc_calendar):
    assert utc_calendar.minutes("2026-05-04T10:00:00Z", "2026-05-04T10:00:59Z") == 0
    assert utc_calendar.minutes("2026-05-04T10:00:00Z", "2026-05-04T10:01:59Z") == 1


def test_business_minutes_are_zero_backwards_and_null_without_an_end(utc_calendar):
    assert utc_calendar.minutes("2026-05-04T12:00:00Z", "2026-05-04T10:00:00Z") == 0
    assert utc_calendar.minutes("2026-05-04T12:00:00Z", None) is None


def test_business_minutes_follow_the_autumn_daylight_saving_change_in_new_york(new_york_calendar):
    # Friday 2026-10-30 16:00 EDT (20:00Z) → Monday 2026-11-02 10:00 EST (15:00Z): clocks fell
    # back on Sunday, Monday opens at 09:00 EST = 14:00Z, so 60 + 60 minutes.
    assert new_york_calendar.minutes("2026-10-30T20:00:00Z", "2026-11-02T15:00:00Z") == 120


def test_business_minutes_follow_the_spring_daylight_saving_change_in_new_york(new_york_calendar):
    # Friday 2026-03-06 16:00 EST (21:00Z) → Monday 2026-03-09 09:30 EDT (13:30Z): 60 + 30.
    assert new_york_calendar.minutes("2026-03-06T21:00:00Z", "2026-03-09T13:30:00Z") == 90


def test_business_minutes_in_new_york_ignore_utc_working_hours(new_york_calendar):
    # 13:00Z on a Monday in May is 09:00 EDT: the first minute of the New York day.
    assert new_york_calendar.minutes("2026-05-04T12:00:00Z", "2026-05-04T13:00:00Z") == 0
    assert new_york_calendar.minutes("2026-05-04T12:00:00Z", "2026-05-04T14:00:00Z") == 60


def test_adding_business_minutes_jumps_weekends_and_holidays(utc_calendar):
    assert utc_calendar.add("2026-05-08T16:00:00Z", 90) == "2026-05-11T09:30:00Z"
    assert utc_calendar.add("2026-05-04T09:00:00Z", 480) == "2026-05-04T17:00:00Z"
    # Tuesday 16:00 plus two hours skips the Wednesday holiday.
    assert utc_calendar.add("2026-05-05T16:00:00Z", 120) == "2026-05-07T10:00:00Z"
    # From a Saturday, the count starts on Monday morning.
    assert utc_calendar.add("2026-05-09T12:00:00Z", 1) == "2026-05-11T09:01:00Z"


@pytest.mark.parametrize("minutes", [1, 59, 480, 481, 2400, 2401, 9600])
def test_adding_business_minutes_is_undone_by_counting_them(new_york_calendar, minutes):
    start = "2026-10-29T18:17:00Z"  # a Thursday afternoon before the autumn change
    end = new_york_calendar.add(start, minutes)
    assert new_york_calendar.minutes(start, end) == minutes
