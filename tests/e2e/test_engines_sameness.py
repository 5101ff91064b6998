"""The same raw records, the same dbt project, three engines: every mart equal row for row.

The default sandbox world is extracted once into PostgreSQL and built there (`e2e_built`,
tests/fixtures/e2e.py, shared with the planted-truth tests). Its raw rows are then landed in a
DuckDB file and in a Spark lake through each engine's own loader (baton.engines: the loader's
rules, the engine's storage), the dbt project is built on each with the same as_of and vars, and
every mart (and the identity map the planted-truth comparisons read) must equal PostgreSQL's row
for row, floating-point values to 1e-9. Since tests/e2e/test_leaks_against_planted_truth.py checks
PostgreSQL's marts against the planted truth, equal marts pass the same comparisons on each
engine; `test_planted_truth_holds_on_the_engine` reruns its handoff and leak comparisons on the
engine's marts copied into PostgreSQL to show it directly.

Cost beyond the shared PostgreSQL world (quiet 2-core machine, docs/engines.md): DuckDB about 40 s
(landing 7 s, build 29 s); Spark about 4 min (landing 72-102 s: a JVM, a Derby metastore, a Spark job
per table write; build 145-149 s). BATON_SAMENESS_ENGINES=duckdb (or spark) limits the run to one.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from datetime import datetime, timezone
from decimal import Decimal

import psycopg
import pytest

pytestmark = pytest.mark.timeout(2400)

ENGINES = tuple(os.environ.get("BATON_SAMENESS_ENGINES", "duckdb,spark").split(","))
IDENTITY_MAP = ("intermediate", "int_people_matched_across_sources")


@pytest.fixture(scope="module", params=ENGINES)
def engine_built(request, e2e_built, tmp_path_factory):
    from baton.build.dbt import dbt

    kind = request.param
    if kind == "spark" and shutil.which("java") is None:
        pytest.skip("no Java runtime (make install brings openjdk-17-jre-headless)")
    folder = tmp_path_factory.mktemp(f"sameness-{kind}")
    url = f"duckdb://{folder}/warehouse.duckdb" if kind == "duckdb" else f"spark://{folder}/lake"
    started = time.monotonic()
    from baton.engines.copy import copy_raw

    landed = copy_raw(e2e_built.url, url)
    landing = time.monotonic() - started
    started = time.monotonic()
    result = dbt(["build"], url, vars={"as_of": e2e_built.world_end_text}, target_name=f"sameness_{kind}")
    assert result.success, (result.exception, result.failures()[:5])
    print(f"\n{kind}: landed {sum(landed.values())} raw rows in {landing:.1f}s, dbt build {time.monotonic() - started:.1f}s")
    yield kind, url
    if kind == "spark":
        from baton.engines.spark import stop_session

        stop_session()


def _normal(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _rows_sorted(rows) -> list[tuple]:
    normal = [tuple(_normal(value) for value in row) for row in rows]
    return sorted(normal, key=lambda row: tuple((value is None, f"{value:.6g}" if isinstance(value, float) else str(value))
                                                for value in row))


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def _postgres_relation(url: str, schema: str, table: str) -> tuple[list[str], list[tuple]]:
    with psycopg.connect(url) as conn:
        cursor = conn.execute(f'select * from "{schema}"."{table}"')
        return [d.name for d in cursor.description], cursor.fetchall()


def _engine_relation(url: str, schema: str, table: str, columns: list[str]) -> list[tuple]:
    from baton.engines import engine_for

    engine = engine_for(url)
    with engine.connect() as conn:
        listed = ", ".join(engine.ident(column) for column in columns)
        return conn.execute(f"select {listed} from {engine.ident(schema)}.{engine.ident(table)}").fetchall()


def _relations() -> list[tuple[str, str]]:
    from baton.quality.grain import mart_names

    return [("marts", name) for name in mart_names()] + [IDENTITY_MAP]


def test_every_mart_equals_postgres_row_for_row(e2e_built, engine_built):
    kind, url = engine_built
    differing = {}
    for schema, table in _relations():
        columns, expected = _postgres_relation(e2e_built.url, schema, table)
        got = _engine_relation(url, schema, table, columns)
        expected, got = _rows_sorted(expected), _rows_sorted(got)
        if len(expected) != len(got):
            differing[table] = f"{len(got)} rows on {kind}, {len(expected)} on PostgreSQL"
            continue
        for want, have in zip(expected, got):
            bad = [(column, w, h) for column, w, h in zip(columns, want, have) if not _same(w, h)]
            if bad:
                differing[table] = f"first differing row: {bad[:3]}"
                break
        assert expected or table != "fct_funnel_leaks", f"{table} is empty: the comparison proves nothing"
    assert differing == {}, f"{kind} differs from PostgreSQL: {differing}"


def test_the_terminal_leak_report_reads_the_same_on_the_engine(e2e_built, engine_built):
    """`baton report` (what `baton demo` ends with) over the engine's marts prints what it prints over
    PostgreSQL's, line for line: its SQL runs there, and reads the same numbers."""
    from baton.notify.report import print_report

    kind, url = engine_built
    on_postgres, on_engine = [], []
    assert print_report(e2e_built.url, top=20, echo=on_postgres.append)
    assert print_report(url, top=20, echo=on_engine.append)
    assert any(line.startswith("black_hole") for line in on_postgres)
    assert on_engine == on_postgres


PLANTED_TRUTH_RELATIONS = [("marts", "fct_handoffs"), ("marts", "fct_funnel_leaks"), ("marts", "dim_owners"),
                           ("marts", "rpt_funnel_leak_summary"), ("marts", "rpt_lead_quality_by_source"), IDENTITY_MAP]


@pytest.fixture(scope="module")
def engine_marts_in_postgres(e2e_built, engine_built, server_url):
    """The engine's marts (what the planted-truth comparisons read) copied as they are into a PostgreSQL
    database of their own, with PostgreSQL's column types, so those comparisons run unchanged on them."""
    from tests.fixtures.warehouse import _create_database, _drop_database

    kind, url = engine_built
    name, copy_url = _create_database(server_url, f"baton_sameness_{kind}")
    try:
        with psycopg.connect(e2e_built.url) as source, psycopg.connect(copy_url) as target:
            for schema, table in PLANTED_TRUTH_RELATIONS:
                columns = source.execute(
                    "select column_name, format_type(a.atttypid, a.atttypmod) from information_schema.columns c"
                    " join pg_attribute a on a.attrelid = format('%%I.%%I', c.table_schema, c.table_name)::regclass"
                    "  and a.attname = c.column_name where c.table_schema = %s and c.table_name = %s"
                    " order by c.ordinal_position", (schema, table)).fetchall()
                target.execute(f'create schema if not exists "{schema}"')
                target.execute(f'create table "{schema}"."{table}" ('
                               + ", ".join(f'"{column}" {kind_}' for column, kind_ in columns) + ")")
                rows = _engine_relation(url, schema, table, [column for column, _ in columns])
                with target.cursor().copy(f'copy "{schema}"."{table}" from stdin') as copy:
                    for row in rows:
                        copy.write_row([_normal(value) for value in row])
        yield copy_url
    finally:
        _drop_database(server_url, name)


def test_planted_truth_holds_on_the_engine(e2e_built, engine_marts_in_postgres):
    """test_leaks_against_planted_truth's own comparisons (handoffs, speed-to-lead, every handoff column,
    every leak type, the summaries), run on the engine's marts."""
    from tests.e2e import test_leaks_against_planted_truth as planted

    built = (engine_marts_in_postgres, e2e_built.truth)
    matched = planted.matched.__wrapped__(built)
    planted.test_every_planted_handoff_is_found_and_no_other(matched)
    planted.test_speed_to_lead_in_business_minutes_equals_the_planted_value_for_every_handoff(matched)
    for column in _parameters(planted.test_handoff_column_equals_the_planted_value):
        planted.test_handoff_column_equals_the_planted_value(matched, column)
    for leak_type in planted.LEAK_TYPES:
        planted.test_leaks_found_equal_the_planted_leaks(matched, leak_type)
    planted.test_leak_summary_counts_every_leak_once(built)
    planted.test_lead_quality_by_source_accounts_for_every_handoff(built)


def _parameters(test) -> list:
    """The values a test is parametrized with (its own list, not a copy)."""
    return next(mark.args[1] for mark in test.pytestmark if mark.name == "parametrize")
