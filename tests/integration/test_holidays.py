"""Public holidays from the `holidays` package, configured by dbt vars, honoured by business time.

The business calendar (int_business_calendar) is built on a database of its own twice: with the
project's defaults (no holiday: the seed stays empty) and with `holiday_country: US`, the var
baton.build.dbt turns into `holiday_dates` before invoking dbt. The SLA's due time is the macro
fct_handoffs computes `sla_due_at` with: `business_minutes_add(handed_off_at, 480)`.
"""

from __future__ import annotations

import csv
from datetime import datetime, timezone

import psycopg
import pytest

from baton.paths import DBT_PROJECT_DIR

pytestmark = pytest.mark.timeout(300)

HANDED_OFF = "2025-12-24T16:00:00Z"  # Wednesday 16:00 UTC; the next day is Christmas Day
DUE = "select {{ business_minutes_add(\"%(handed_off_at)s::timestamptz\", \"480\") }}"
CALENDAR = ["build", "--select", "business_holidays", "int_business_calendar", "--exclude", "test_type:unit"]


def due_at(url: str, sql: str) -> datetime:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, {"handed_off_at": HANDED_OFF}).fetchone()[0].astimezone(timezone.utc)


def test_a_configured_country_moves_an_sla_due_time_past_christmas_and_the_default_does_not(fresh_warehouse, tmp_path,
                                                                                            monkeypatch):
    from baton.build.dbt import dbt

    monkeypatch.setenv("BATON_STATE_DIR", str(tmp_path))
    assert list(csv.reader((DBT_PROJECT_DIR / "seeds" / "business_holidays.csv").open())) == [["holiday_date", "name"]]

    built = dbt(CALENDAR, fresh_warehouse, target_name="holidays")
    assert built.success, built.exception or built.failures()
    compiled = dbt(["compile", "--inline", DUE], fresh_warehouse, target_name="holidays")
    assert compiled.success, compiled.exception
    due_sql = next(iter(_compiled_code(tmp_path)))
    by_default = due_at(fresh_warehouse, due_sql)

    built = dbt(CALENDAR, fresh_warehouse, {"holiday_country": "US", "holiday_years": "2025-2026"},
                target_name="holidays")
    assert built.success, built.exception or built.failures()
    with_us_holidays = due_at(fresh_warehouse, due_sql)

    # Wednesday 16:00 + 480 business minutes: one hour on Wednesday, seven on the next working day.
    assert by_default == datetime(2025, 12, 25, 16, 0, tzinfo=timezone.utc)
    assert with_us_holidays == datetime(2025, 12, 26, 16, 0, tzinfo=timezone.utc)
    with psycopg.connect(fresh_warehouse) as conn:
        closed = {row[0].isoformat() for row in conn.execute(
            "select local_date from intermediate.int_business_calendar where window_start is null"
            " and extract(isodow from local_date) < 6 and local_date between '2025-01-01' and '2025-12-31'")}
    assert {"2025-01-01", "2025-07-04", "2025-11-27", "2025-12-25"} <= closed  # US federal holidays on weekdays


def _compiled_code(state_dir):
    """The SQL dbt compiled for the inline query (dbt writes it to the run results)."""
    import json

    results = json.loads((state_dir / "dbt" / "holidays" / "target" / "run_results.json").read_text())
    return [result["compiled_code"] for result in results["results"]]


def test_holiday_vars_that_name_no_calendar_fail_clearly():
    from baton.build.dbt import effective_vars

    with pytest.raises(ValueError, match="country 'XX'"):
        effective_vars({"holiday_country": "XX"})
    with pytest.raises(ValueError, match="subdivision 'ZZ'"):
        effective_vars({"holiday_country": "US", "holiday_subdivision": "ZZ"})
    with pytest.raises(ValueError, match="holiday_years"):
        effective_vars({"holiday_country": "US", "holiday_years": "next year"})
    with pytest.raises(ValueError, match="not an ISO date"):
        effective_vars({"holiday_dates": ["2025-12-25'; drop table x; --"]})
    assert "holiday_dates" not in effective_vars({})  # nothing configured: no var, dbt keeps its partial parse


def test_baton_holidays_writes_seed_rows_for_a_country_and_subdivision(tmp_path, capsys):
    from baton.cli import main

    out = tmp_path / "business_holidays.csv"
    assert main(["holidays", "--country", "DE", "--subdivision", "BY", "--years", "2026", "--output", str(out)]) == 0

    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["holiday_date", "name"]
    days = {row["holiday_date"]: row["name"] for row in rows}
    assert "2026-12-25" in days and "2026-01-06" in days  # Epiphany is a holiday in Bavaria, not in all of Germany
    assert main(["holidays", "--country", "DE", "--years", "2026"]) == 0
    assert "2026-01-06" not in capsys.readouterr().out
