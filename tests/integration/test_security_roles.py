"""Roles, masking and team-scoped rows, as each real PostgreSQL role sees them, across publishes.

Each test gets its own database and its own role names (roles are cluster-wide): the prefix
`bt<hex>` stands for `baton`, so `<prefix>_reader` is what a deployment calls `baton_reader`.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from baton.build.publish import mark_built, prepare_shadow, publish
from baton.security import Roles, grant, grant_reader
from baton.warehouse import url_parts

NIGHT_1 = datetime(2026, 10, 30, tzinfo=timezone.utc)

PEOPLE = [("p1", "jane.doe@acme.com", "Jane", "Doe"), ("p2", "raj.patel@globex.io", "Raj", "Patel")]
OWNERS = [("o1", "Ann East", "ann@seller.com", "East"), ("o2", "Will West", "will@seller.com", "West")]
HANDOFFS = [("h1", "p1", "o1"), ("h2", "p2", "o2")]
LEAKS = [("l1", "p1", "h1", "o1", "Ann East", "East", "Lead Jane Doe <jane.doe@acme.com> handed to Ann East: no touch."),
         ("l2", "p2", "h2", "o2", "Will West", "West", "Lead Raj Patel <raj.patel@globex.io> handed to Will West.")]


@pytest.fixture
def roles(fresh_warehouse, server_url):
    prefix = f"bt{uuid.uuid4().hex[:8]}"
    names = Roles(prefix)
    scoped = f"{prefix}_east"
    other = f"{prefix}_analyst"
    yield names
    with psycopg.connect(fresh_warehouse, autocommit=True) as conn:
        for role in (*names.all, scoped, other):
            if conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone():
                conn.execute(f'drop owned by "{role}" cascade')
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop database "{url_parts(fresh_warehouse)["dbname"]}" with (force)')
        for role in (scoped, other, *names.all):
            conn.execute(f'drop role if exists "{role}"')


def build_night(url: str, *, as_of: datetime, extra_person: bool = False) -> None:
    """What dbt leaves in marts_shadow: the marts the roles read, then stamped built."""
    prepare_shadow(url)
    with psycopg.connect(url, autocommit=True) as conn:
        for schema in ("staging_shadow", "intermediate_shadow", "marts_shadow"):
            conn.execute(f"create schema if not exists {schema}")
        conn.execute("drop table if exists marts_shadow.dim_people, marts_shadow.dim_owners, marts_shadow.fct_handoffs,"
                     " marts_shadow.fct_funnel_leaks, marts_shadow.rpt_funnel_leak_summary")
        conn.execute("create table marts_shadow.dim_people (person_id text, email text, first_name text,"
                     " last_name text, title text)")
        conn.execute("create table marts_shadow.dim_owners (owner_id text, name text, email text, team text)")
        conn.execute("create table marts_shadow.fct_handoffs (handoff_id text, person_id text, owner_id text)")
        conn.execute("create table marts_shadow.fct_funnel_leaks (leak_id text, person_id text, handoff_id text,"
                     " owner_id text, owner_name text, owner_team text, detail text)")
        conn.execute("create table marts_shadow.rpt_funnel_leak_summary (owner_team text, leaks integer)")
        people = PEOPLE + ([("p3", "new@initech.com", "Nia", "Okafor")] if extra_person else [])
        with conn.cursor() as cursor:
            cursor.executemany("insert into marts_shadow.dim_people values (%s, %s, %s, %s, 'VP Sales')", people)
            cursor.executemany("insert into marts_shadow.dim_owners values (%s, %s, %s, %s)", OWNERS)
            cursor.executemany("insert into marts_shadow.fct_handoffs values (%s, %s, %s)", HANDOFFS)
            cursor.executemany("insert into marts_shadow.fct_funnel_leaks values (%s, %s, %s, %s, %s, %s, %s)", LEAKS)
        conn.execute("insert into marts_shadow.rpt_funnel_leak_summary values ('East', 1), ('West', 1)")
    mark_built(url, as_of=as_of)


def as_role(url: str, role: str, query: str):
    """Run `query` as `role` (SET ROLE: its own privileges, none of the session user's)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'set role "{role}"')
        search_path = conn.execute("select setting from pg_db_role_setting s join pg_roles r on r.oid = s.setrole,"
                                   " unnest(s.setconfig) setting where r.rolname = %s", (role,)).fetchone()
        if search_path:
            conn.execute("set " + search_path[0].replace("=", " = ", 1))
        cursor = conn.execute(query)
        return cursor.fetchall() if cursor.description else None


def refused(url: str, role: str, query: str) -> bool:
    try:
        as_role(url, role, query)
    except psycopg.errors.InsufficientPrivilege:
        return True
    return False


def login_url(url: str, role: str) -> str:
    from urllib.parse import urlparse

    parsed = urlparse(url)
    return parsed._replace(netloc=f"{role}@{parsed.hostname}:{parsed.port or 5432}").geturl()


@pytest.fixture
def granted(fresh_warehouse, roles):
    build_night(fresh_warehouse, as_of=NIGHT_1)
    publish(fresh_warehouse)
    grant(fresh_warehouse, prefix=roles.prefix)
    grant_reader(fresh_warehouse, f"{roles.prefix}_east", ["East"])
    return fresh_warehouse


def test_each_role_does_what_it_must_and_is_refused_the_rest(granted, roles):
    url = granted
    # The loader writes raw and baton_meta, reads nothing built.
    as_role(url, roles.loader, "insert into raw_salesforce.lead (id, data, _loaded_at, _load_id)"
                               " values ('L1', '{}', now(), 'x')")
    as_role(url, roles.loader, "select count(*) from baton_meta.load_log")
    assert refused(url, roles.loader, "insert into marts.dim_people (person_id) values ('px')")
    assert refused(url, roles.loader, "select * from marts.dim_people")
    assert refused(url, roles.loader, "select * from marts_masked.dim_people")
    # The transformer reads raw, builds in the shadow, writes no raw.
    assert as_role(url, roles.transformer, "select id from raw_salesforce.lead") == [("L1",)]
    as_role(url, roles.transformer, "create schema marts_shadow; create table marts_shadow.scratch as select 1 as n")
    as_role(url, roles.transformer, "select count(*) from baton_meta.load_log")
    assert refused(url, roles.transformer, "insert into raw_salesforce.lead (id, data, _loaded_at, _load_id)"
                                           " values ('L2', '{}', now(), 'x')")
    # Readers read marts (masked or not) and quality; never raw, meta, the shadow or a write.
    for reader in (roles.reader, roles.reader_pii, f"{roles.prefix}_east"):
        assert refused(url, reader, "select * from raw_salesforce.lead")
        assert refused(url, reader, "select * from baton_meta.load_log")
        assert refused(url, reader, "select * from marts_shadow.dim_people")
        as_role(url, reader, "select count(*) from gate_runs" if reader != roles.reader_pii
                else "select count(*) from quality.gate_runs")
    assert refused(url, roles.reader_pii, "insert into marts.dim_people (person_id) values ('px')")
    assert refused(url, roles.reader_pii, "delete from marts.fct_funnel_leaks")
    assert refused(url, roles.reader, "select * from marts.dim_people")  # only the masked views
    assert refused(url, roles.reader, "insert into marts_masked.dim_people (person_id) values ('px')")


def test_personal_columns_are_masked_for_the_reader_and_clear_for_the_pii_reader(granted, roles):
    url = granted
    masked = as_role(url, roles.reader, "select person_id, email, first_name, last_name, title from dim_people"
                                        " order by person_id")
    clear = as_role(url, roles.reader_pii, "select person_id, email, first_name, last_name, title from dim_people"
                                           " order by person_id")
    assert clear == [(*person, "VP Sales") for person in PEOPLE]
    assert [row[0] for row in masked] == ["p1", "p2"]
    assert [(row[2], row[3], row[4]) for row in masked] == [("J.", "D.", "VP Sales"), ("R.", "P.", "VP Sales")]
    assert masked[0][1].endswith("@acme.com") and "jane" not in masked[0][1]
    assert masked[1][1].endswith("@globex.io") and "raj" not in masked[1][1]
    # The hash is stable: the same address masks the same way in every table and every night.
    again = as_role(url, roles.reader, "select email from dim_people where person_id = 'p1'")
    assert again == [(masked[0][1],)]
    owners = as_role(url, roles.reader, "select name, email from dim_owners order by owner_id")
    assert owners[0][0] == "A. E." and owners[0][1].endswith("@seller.com") and "ann" not in owners[0][1]
    details = [row[0] for row in as_role(url, roles.reader_pii, "select detail from fct_funnel_leaks")]
    assert any("Jane Doe" in detail for detail in details)
    for (detail,) in as_role(url, roles.reader, "select detail from fct_funnel_leaks"):
        for secret in ("Jane", "Doe", "jane.doe", "Raj", "Patel", "Ann East", "Will West"):
            assert secret not in detail, detail
    assert as_role(url, roles.reader, "select owner_name from fct_funnel_leaks order by leak_id") == [
        ("A. E.",), ("W. W.",)]


def test_a_scoped_reader_sees_only_its_teams_rows(granted, roles):
    url, east = granted, f"{roles.prefix}_east"
    assert as_role(url, east, "select leak_id from fct_funnel_leaks") == [("l1",)]
    assert as_role(url, east, "select handoff_id from fct_handoffs") == [("h1",)]
    assert as_role(url, east, "select owner_team from rpt_funnel_leak_summary") == [("East",)]
    assert as_role(url, east, "select count(*) from fct_funnel_leaks where owner_team = 'West'") == [(0,)]
    assert as_role(url, east, "select email from dim_people where person_id = 'p1'")[0][0].endswith("@acme.com")
    assert refused(url, east, "select * from marts.fct_funnel_leaks")
    # Without a team: every row; a second grant replaces the teams.
    assert len(as_role(url, roles.reader, "select leak_id from fct_funnel_leaks")) == 2
    grant_reader(url, east, ["East", "West"])
    assert len(as_role(url, east, "select leak_id from fct_funnel_leaks")) == 2


def test_grants_and_policies_survive_two_publishes_and_a_one_table_grant_stays_one_table(granted, roles):
    url, east, analyst = granted, f"{roles.prefix}_east", f"{roles.prefix}_analyst"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'create role "{analyst}" nologin')
        conn.execute(f'grant usage on schema marts to "{analyst}"')
        conn.execute(f'grant select on marts.rpt_funnel_leak_summary to "{analyst}"')
        conn.execute(f'alter role "{roles.transformer}" login')
    transformer_url = login_url(url, roles.transformer)
    for night in (1, 2):  # tonight's build and publish run as the transformer, twice
        build_night(transformer_url, as_of=NIGHT_1 + timedelta(days=night), extra_person=True)
        publish(transformer_url)
        assert as_role(url, analyst, "select count(*) from marts.rpt_funnel_leak_summary") == [(2,)]
        for table in ("dim_people", "fct_funnel_leaks", "fct_handoffs", "dim_owners"):
            assert refused(url, analyst, f"select * from marts.{table}"), table
        assert refused(url, analyst, "select * from marts_shadow.rpt_funnel_leak_summary")
        assert as_role(url, east, "select leak_id from fct_funnel_leaks") == [("l1",)]
        people = as_role(url, roles.reader, "select first_name from dim_people order by person_id")
        assert people == [("J.",), ("R.",), ("N.",)]
        assert as_role(url, roles.reader_pii, "select first_name from marts.dim_people where person_id = 'p3'") == [
            ("Nia",)]
        for reader in (roles.reader, roles.reader_pii, east):
            assert refused(url, reader, "select * from marts_shadow.dim_people")
    with psycopg.connect(url) as conn:
        shadow_grantees = conn.execute(
            "select count(*) from pg_namespace n, aclexplode(n.nspacl) a where n.nspname = 'marts_shadow'"
            " and a.grantee <> n.nspowner").fetchone()[0]
    assert shadow_grantees == 0
