"""Who may read and write what in the warehouse: roles, masked personal data, team-scoped rows.

`baton warehouse grant` runs `grant()`: idempotent, safe after every build and publish.

    baton_loader        owns the raw schemas and baton_meta (writes them); reads nothing else
    baton_transformer   reads raw and baton_meta; owns staging, intermediate, marts (and their
                        shadows) and quality, so it builds them and runs the publish swap
    baton_reader_pii    reads marts and quality as they are
    baton_reader        reads `marts_masked` and `quality_masked`: one view per table of marts and
                        quality, same names and columns, personal data masked (MASKING)
    baton_masker        owns the masked views (no login): a view reads its table as its owner,
                        never as a table owner, so row-level security applies through it
    a scoped reader     a login role in baton_reader whose teams are in baton_security.reader_teams

Row-level security: the handoff, leak, flag and team report tables carry a policy that shows a
role the rows whose owner's team (`dim_owners.team`) is one of its teams; a role with no team sees
every row. dbt rebuilds the marts every night, so `apply_to_marts` re-creates the masked views
and the policies inside the publish's swap transaction (baton.build.publish): readers never see
a generation without them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from psycopg import sql

from baton.build.publish import DBT_SCHEMAS, SHADOW_SUFFIX

log = logging.getLogger("baton.security")

DEFAULT_PREFIX = "baton"


@dataclass(frozen=True)
class Roles:
    """Baton's role names: `<prefix>_loader` ... (prefix `baton`; tests use their own, roles being cluster-wide)."""

    prefix: str = DEFAULT_PREFIX

    @property
    def loader(self) -> str:
        return f"{self.prefix}_loader"

    @property
    def transformer(self) -> str:
        return f"{self.prefix}_transformer"

    @property
    def reader(self) -> str:
        return f"{self.prefix}_reader"

    @property
    def reader_pii(self) -> str:
        return f"{self.prefix}_reader_pii"

    @property
    def masker(self) -> str:
        return f"{self.prefix}_masker"

    @property
    def all(self) -> tuple[str, ...]:
        return (self.loader, self.transformer, self.reader, self.reader_pii, self.masker)

SECURITY_SCHEMA = "baton_security"
META_SCHEMA = "baton_meta"
QUALITY_SCHEMA = "quality"
# The live schemas readers use, and where baton_reader finds their masked views.
READ_SCHEMAS = {"marts": "marts_masked", QUALITY_SCHEMA: "quality_masked"}

# Personal columns and how baton_reader sees them. {c} is the quoted column.
_EMAIL = ("case when {c} is null then null"
          " else left(md5(lower({c})), 12) || '@' || split_part({c}, '@', 2) end")
_INITIAL = "case when {c} is null then null else left({c}, 1) || '.' end"
_INITIALS = "baton_security.initials({c})"
_REDACTED = "case when {c} is null then null else '[redacted]' end"
MASKING: dict[tuple[str, str | None], str] = {
    ("email", None): _EMAIL,                  # every email column: a stable hash at the same domain
    ("recipient_email", None): _EMAIL,
    ("first_name", None): _INITIAL,
    ("last_name", None): _INITIAL,
    ("owner_name", None): _INITIALS,
    ("name", "dim_owners"): _INITIALS,        # owners are people; accounts and campaigns keep their names
    ("detail", "digest_log"): _REDACTED,      # the digest's text names buyers and reps
}
# Free text built from people's names: the names and emails in it masked, the sentence kept.
TEXT_MASKING = {("fct_funnel_leaks", "detail")}

# Row-level security: table → how to find the owner's team of a row.
SCOPED_TABLES: dict[tuple[str, str], str] = {
    ("marts", "fct_handoffs"): "owner_id",
    ("marts", "fct_funnel_leaks"): "owner_team",
    ("marts", "rpt_funnel_leak_summary"): "owner_team",
    (QUALITY_SCHEMA, "lead_context_flags"): "owner_id",
}
_POLICY = "baton_team_scope"


def q(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def _exists(conn, kind: str, name: str) -> bool:
    query = {"role": "select 1 from pg_roles where rolname = %s",
             "schema": "select 1 from pg_namespace where nspname = %s"}[kind]
    return conn.execute(query, (name,)).fetchone() is not None


def _relations(conn, schema: str, kinds: str = "rp") -> list[str]:
    return [row[0] for row in conn.execute(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = %s and c.relkind = any(%s) order by 1", (schema, list(kinds))).fetchall()]


def _ensure_role(conn, role: str, *, login: bool = False) -> None:
    if not _exists(conn, "role", role):
        conn.execute(sql.SQL("create role {} " + ("login" if login else "nologin")).format(q(role)))


def raw_schemas() -> list[str]:
    from baton.load.schema import raw_schema
    from baton.sources.registry import sources

    return [raw_schema(name) for name in sources()]


def _own(conn, schema: str, owner: str) -> None:
    """The schema and everything in it owned by `owner` (idempotent)."""
    conn.execute(sql.SQL("alter schema {} owner to {}").format(q(schema), q(owner)))
    for name, kind in conn.execute(
            "select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = %s and c.relkind in ('r', 'p', 'v', 'm', 'S')"
            " and pg_get_userbyid(c.relowner) <> %s", (schema, owner)).fetchall():
        what = {"v": "view", "m": "materialized view", "S": "sequence"}.get(kind, "table")
        conn.execute(sql.SQL("alter " + what + " {}.{} owner to {}").format(q(schema), q(name), q(owner)))


def _default_read(conn, schema: str, grantees: Iterable[str], creators: Iterable[str]) -> None:
    """Tables created later in `schema` (by any of `creators`) are readable by `grantees`."""
    for creator in creators:
        for grantee in grantees:
            conn.execute(sql.SQL("alter default privileges for role {} in schema {} grant select on tables to {}")
                         .format(q(creator), q(schema), q(grantee)))


def grant(warehouse_url: str, *, prefix: str = DEFAULT_PREFIX) -> dict:
    """Create or update the roles and every privilege; re-create masked views and policies."""
    from baton.load.schema import ensure_meta, ensure_raw_tables
    from baton.quality.schema import ensure_quality_schema
    from baton.warehouse import connect

    roles = Roles(prefix)
    ensure_raw_tables(warehouse_url)
    with connect(warehouse_url) as conn:
        conn.execute("select pg_advisory_xact_lock(hashtext('baton.security.grant'))")
        ensure_meta(conn)
        ensure_quality_schema(conn)
        admin = conn.execute("select current_user").fetchone()[0]
        database = conn.execute("select current_database()").fetchone()[0]
        for role in roles.all:
            _ensure_role(conn, role)
        # The transformer publishes, and the publish hands the masked views it re-creates to the masker.
        conn.execute(sql.SQL("grant {} to {}").format(q(roles.masker), q(roles.transformer)))
        for role in roles.all:
            conn.execute(sql.SQL("grant connect on database {} to {}").format(q(database), q(role)))
        conn.execute(sql.SQL("grant create on database {} to {}").format(q(database), q(roles.transformer)))
        creators = [admin, roles.loader] if admin != roles.loader else [roles.loader]
        for schema in [*raw_schemas(), META_SCHEMA]:
            _own(conn, schema, roles.loader)
            conn.execute(sql.SQL("grant usage on schema {} to {}").format(q(schema), q(roles.transformer)))
            conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(
                q(schema), q(roles.transformer)))
            _default_read(conn, schema, [roles.transformer], creators)
            if admin != roles.loader:  # the loader writes the raw tables an admin's load created
                conn.execute(sql.SQL("alter default privileges for role {} in schema {} grant select, insert,"
                                     " update, delete on tables to {}").format(q(admin), q(schema), q(roles.loader)))
        for schema in [*DBT_SCHEMAS, *(s + SHADOW_SUFFIX for s in DBT_SCHEMAS), QUALITY_SCHEMA]:
            if _exists(conn, "schema", schema):  # a shadow made here would look unfinished to prepare_shadow
                _own(conn, schema, roles.transformer)
        for schema in READ_SCHEMAS.values():  # the publish re-creates the views; they stay the masker's
            conn.execute(sql.SQL("create schema if not exists {}").format(q(schema)))
            conn.execute(sql.SQL("alter schema {} owner to {}").format(q(schema), q(roles.transformer)))
            conn.execute(sql.SQL("grant create on schema {} to {}").format(q(schema), q(roles.masker)))
        creators = [admin, roles.transformer] if admin != roles.transformer else [roles.transformer]
        for schema in ("marts", "marts" + SHADOW_SUFFIX, QUALITY_SCHEMA):
            # Both of the marts' schemas: the swap moves the names, default privileges follow the schema
            # (and a dropped shadow loses them: the publish grants Baton's readers what is new, apply_to_marts).
            if _exists(conn, "schema", schema):
                _default_read(conn, schema, [roles.reader_pii, roles.masker], creators)
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(q(QUALITY_SCHEMA), q(roles.transformer)))
        for schema in READ_SCHEMAS:
            if not _exists(conn, "schema", schema):  # before the first publish: it grants them (apply_to_marts)
                continue
            for role in (roles.reader_pii, roles.masker):
                conn.execute(sql.SQL("grant usage on schema {} to {}").format(q(schema), q(role)))
                conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(q(schema), q(role)))
        _ensure_security_schema(conn, prefix)
        applied = apply_to_marts(conn)
        conn.execute(sql.SQL("alter role {} set search_path = {}").format(
            q(roles.reader), sql.SQL(", ").join(q(s) for s in READ_SCHEMAS.values())))
        conn.execute(sql.SQL("alter role {} set search_path = marts, quality").format(q(roles.reader_pii)))
    log.info("granted %s; masked views: %d; policies: %d", ", ".join(roles.all), applied["views"],
             applied["policies"])
    return {"roles": list(roles.all), **applied}


def grant_reader(warehouse_url: str, name: str, teams: Iterable[str]) -> dict:
    """A login role `name` that reads like baton_reader, scoped to `teams` (none: every row)."""
    from baton.warehouse import connect

    teams = sorted({team for team in teams if team})
    with connect(warehouse_url) as conn:
        roles = configured_roles(conn)
        if roles is None:
            raise RuntimeError("run `baton warehouse grant` first: Baton's roles do not exist in this warehouse")
        if name in roles.all:
            raise ValueError(f"{name} is one of Baton's own roles; choose another name for a scoped reader")
        _ensure_role(conn, name, login=True)
        conn.execute(sql.SQL("grant {} to {}").format(q(roles.reader), q(name)))
        conn.execute(sql.SQL("alter role {} set search_path = {}").format(
            q(name), sql.SQL(", ").join(q(s) for s in READ_SCHEMAS.values())))
        conn.execute("delete from baton_security.reader_teams where role_name = %s", (name,))
        for team in teams:
            conn.execute("insert into baton_security.reader_teams (role_name, team) values (%s, %s)", (name, team))
    return {"reader": name, "teams": teams}


_SECURITY_DDL = """
create schema if not exists baton_security;
create table if not exists baton_security.settings (
    role_prefix text not null
);
create table if not exists baton_security.reader_teams (
    role_name name not null,
    team      text not null,
    primary key (role_name, team)
);
create or replace function baton_security.team_visible(who name, owner_team text) returns boolean
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
    select not exists (select 1 from baton_security.reader_teams r where r.role_name = $1)
        or exists (select 1 from baton_security.reader_teams r where r.role_name = $1 and r.team = $2)
$$;
create or replace function baton_security.initials(full_name text) returns text
language sql immutable set search_path = pg_catalog, pg_temp as $$
    select case when full_name is null then null
                else regexp_replace(full_name, '(\\w)[\\w''-]*', '\\1.', 'g') end
$$;
create or replace function baton_security.mask_text(body text, names text[]) returns text
language plpgsql immutable set search_path = pg_catalog, pg_temp as $$
declare
    person text;
begin
    if body is null then return null; end if;
    body := regexp_replace(body, '([A-Za-z0-9._%+''-]+)@([A-Za-z0-9.-]+)',
                           '[email]@\\2', 'g');
    foreach person in array coalesce(names, array[]::text[]) loop
        if person is not null and length(person) > 1 then
            body := replace(body, person, baton_security.initials(person));
        end if;
    end loop;
    return body;
end
$$;
"""


def _ensure_security_schema(conn, prefix: str) -> None:
    conn.execute("select pg_advisory_xact_lock(hashtext('baton.security.ddl'))")
    conn.execute(_SECURITY_DDL)
    conn.execute("delete from baton_security.settings")
    conn.execute("insert into baton_security.settings (role_prefix) values (%s)", (prefix,))
    conn.execute("revoke all on all tables in schema baton_security from public")
    conn.execute(sql.SQL("grant usage on schema baton_security to public"))
    conn.execute("grant execute on all functions in schema baton_security to public")
    conn.execute("grant select on baton_security.settings to public")  # the role prefix, for the publish


def configured_roles(conn) -> Roles | None:
    """The roles `baton warehouse grant` set up in this database, None if it never ran here."""
    if conn.execute("select to_regclass('baton_security.settings') is null").fetchone()[0]:
        return None
    row = conn.execute("select role_prefix from baton_security.settings").fetchone()
    return Roles(row[0]) if row else None


def _columns(conn, schema: str, table: str) -> list[str]:
    return [row[0] for row in conn.execute(
        "select a.attname from pg_attribute a join pg_class c on c.oid = a.attrelid"
        " join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped order by a.attnum",
        (schema, table)).fetchall()]


def masked_select(conn, schema: str, table: str) -> sql.Composed:
    """The masked view's query over `schema.table`: every column, the personal ones masked."""
    parts = []
    for column in _columns(conn, schema, table):
        template = MASKING.get((column, table)) or MASKING.get((column, None))
        ident = sql.SQL("t.") + q(column)
        if (table, column) in TEXT_MASKING:
            parts.append(sql.SQL(
                "baton_security.mask_text({c}, array(select concat_ws(' ', p.first_name, p.last_name)"
                " from marts.dim_people p where p.person_id = t.person_id"
                " union all select o.name from marts.dim_owners o where o.name is not null)) as {n}").format(
                c=ident, n=q(column)))
        elif template is not None:
            parts.append(sql.SQL(template.replace("{c}", "{col}") + " as {n}").format(col=ident, n=q(column)))
        else:
            parts.append(ident)
    return sql.SQL("select {} from {}.{} as t").format(sql.SQL(", ").join(parts), q(schema), q(table))


def apply_to_marts(conn) -> dict:
    """Masked views and row policies on the live marts and quality tables (idempotent, in the caller's transaction).

    The publish calls this after its swap, in the same transaction: the views are rebuilt on the
    new tables (a view binds to a table, not to its name), the policies put on them.
    """
    roles = configured_roles(conn)
    if roles is None:
        return {"views": 0, "policies": 0}
    views = policies = 0
    for live, masked in READ_SCHEMAS.items():
        if not _exists(conn, "schema", live):
            continue
        conn.execute(sql.SQL("create schema if not exists {}").format(q(masked)))
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(q(masked), q(roles.reader)))
        for role in (roles.masker, roles.reader_pii):  # Baton's own readers read every mart and quality table
            conn.execute(sql.SQL("grant usage on schema {} to {}").format(q(live), q(role)))
            conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(q(live), q(role)))
        tables = _relations(conn, live)
        for stale in set(_relations(conn, masked, "v")) - set(tables):
            conn.execute(sql.SQL("drop view if exists {}.{}").format(q(masked), q(stale)))
        for table in tables:
            conn.execute(sql.SQL("drop view if exists {}.{}").format(q(masked), q(table)))
            conn.execute(sql.SQL("create view {}.{} with (security_barrier) as {}").format(
                q(masked), q(table), masked_select(conn, live, table)))
            conn.execute(sql.SQL("alter view {}.{} owner to {}").format(q(masked), q(table), q(roles.masker)))
            conn.execute(sql.SQL("grant select on {}.{} to {}").format(q(masked), q(table), q(roles.reader)))
            views += 1
    for (schema, table), key in SCOPED_TABLES.items():
        columns = _columns(conn, schema, table)
        if key not in columns:
            continue
        if key != "owner_team" and "dim_owners" not in _relations(conn, "marts"):
            continue  # before the first publish: the publish puts the policy on (it calls this)
        relation = sql.SQL("{}.{}").format(q(schema), q(table))
        team = (sql.SQL("{}.{}").format(q(table), q(key)) if key == "owner_team" else
                sql.SQL("(select o.team from marts.dim_owners o where o.owner_id = {}.{})").format(q(table), q(key)))
        conn.execute(sql.SQL("alter table {} enable row level security").format(relation))
        conn.execute(sql.SQL("drop policy if exists {} on {}").format(q(_POLICY), relation))
        conn.execute(sql.SQL("create policy {} on {} for select using (baton_security.team_visible(current_user, {}))")
                     .format(q(_POLICY), relation, team))
        policies += 1
    return {"views": views, "policies": policies}
