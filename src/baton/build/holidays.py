"""Public holidays for business time, from the `holidays` package, without editing the dbt project.

Business time (dbt_project/macros/business_time.sql, int_business_calendar) skips the dates of the
seed `business_holidays` (empty by default) and of the dbt var `holiday_dates`. Two ways to fill them:

- configuration, for any deployment (the dbt project may be read-only in site-packages): the dbt vars
  `holiday_country` (an ISO code the `holidays` package knows: US, GB, DE, ...), `holiday_subdivision`
  (optional: CA, ENG, BY, ...) and `holiday_years` ("2025-2027", 2026 or [2025, 2026]; default: the
  business calendar's range), set like any var (`baton run --vars`, the Airflow Variable
  `baton_dbt_vars`, a run's `dbt_vars` param). Before every dbt invocation baton.build.dbt turns them
  into `holiday_dates`, so the calendar model stays the one implementation;
- a file, in a checkout: `baton holidays --country US --years 2025-2027 --output
  dbt_project/seeds/business_holidays.csv` writes the seed's rows (`holiday_date,name`).
"""

from __future__ import annotations

import csv
import re
import sys
from datetime import date


def parse_years(value) -> list[int]:
    """`holiday_years` as a list of years: "2025-2027", "2025", 2025, or a list of years."""
    if isinstance(value, bool):
        raise ValueError(f"holiday_years {value!r} is not a year, a range like 2025-2027, or a list of years")
    if isinstance(value, int):
        return [value]
    if isinstance(value, (list, tuple)):
        return sorted({year for item in value for year in parse_years(item)})
    match = re.fullmatch(r"\s*(\d{4})\s*(?:-\s*(\d{4})\s*)?", str(value))
    if not match:
        raise ValueError(f"holiday_years {value!r} is not a year, a range like 2025-2027, or a list of years")
    first, last = int(match[1]), int(match[2] or match[1])
    if last < first:
        raise ValueError(f"holiday_years {value!r}: the range ends before it starts")
    return list(range(first, last + 1))


def generate(country: str, subdivision: str | None, years) -> list[tuple[date, str]]:
    """(date, name) of every public holiday of the country (and subdivision) in those years, by date."""
    import holidays

    try:
        calendar = holidays.country_holidays(str(country).upper(), subdiv=subdivision or None,
                                             years=parse_years(years))
    except NotImplementedError as unknown:
        raise ValueError(f"holidays for country {country!r}{f' subdivision {subdivision!r}' if subdivision else ''}:"
                         f" {unknown} (the `holidays` package's codes: US, GB, DE, FR, ...)") from None
    return sorted(calendar.items())


def holiday_dates(vars: dict, defaults: dict) -> list[str] | None:
    """The `holiday_dates` var: the dates given directly (checked) and those the holiday vars configure,
    as ISO dates; None when neither is set."""
    def value(name):
        return vars[name] if name in vars else defaults.get(name)

    given = value("holiday_dates") or []
    if not isinstance(given, (list, tuple)):
        raise ValueError(f"holiday_dates must be a list of ISO dates; got {given!r}")
    try:
        dates = {date.fromisoformat(str(day)).isoformat() for day in given}
    except ValueError as bad:
        raise ValueError(f"holiday_dates holds a value that is not an ISO date (YYYY-MM-DD): {bad}") from None
    country = value("holiday_country")
    if not country:
        return sorted(dates) if dates else None
    years = value("holiday_years")
    if not years:
        years = f"{str(value('business_calendar_start'))[:4]}-{str(value('business_calendar_end'))[:4]}"
    generated = {day.isoformat() for day, _ in generate(country, value("holiday_subdivision"), years)}
    return sorted(generated | dates)


def register(subcommands) -> None:
    parser = subcommands.add_parser(
        "holidays", help="write the public holidays of a country and years as business_holidays seed rows")
    parser.add_argument("--country", required=True, help="ISO country code the `holidays` package knows (US, GB, DE...)")
    parser.add_argument("--subdivision", help="state, province or region code (CA, ENG, BY...)")
    parser.add_argument("--years", required=True, help="a year or a range, e.g. 2025-2027")
    parser.add_argument("--output", help="the CSV file to write (default: standard output), e.g."
                                         " dbt_project/seeds/business_holidays.csv")
    parser.set_defaults(handler=_holidays_command)


def _holidays_command(args) -> int:
    try:
        rows = generate(args.country, args.subdivision, args.years)
    except ValueError as bad:
        print(f"baton holidays: {bad}", file=sys.stderr)
        return 2
    out = open(args.output, "w", newline="") if args.output else sys.stdout
    try:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["holiday_date", "name"])
        writer.writerows((day.isoformat(), name) for day, name in rows)
    finally:
        if args.output:
            out.close()
    if args.output:
        print(f"baton holidays: {len(rows)} holidays written to {args.output}", file=sys.stderr)
    return 0
