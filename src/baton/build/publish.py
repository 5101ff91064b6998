"""Atomic publish: analysts see yesterday's marts or today's, never a half-built or failed set.

Blue/green over whole schemas. dbt builds every layer it owns (staging, intermediate, marts)
into shadow schemas (`BATON_SCHEMA_SUFFIX=_shadow`: marts_shadow, ...); the quality gate
checks the shadow; `publish` then swaps each live schema with its shadow by renaming, all in
one transaction, so `marts` is replaced at once and the previous generation becomes the new
shadow (kept for `rollback` and as the next build's starting point).

Why every layer and not only marts: staging models are views, and a view binds to the
relations it reads by OID. Renaming schemas moves objects without touching their OIDs, so a
generation stays internally consistent as long as all its schemas move together. Incremental
models keep their state in the schema they were built in; the next build runs in the shadow,
which then holds the generation before the live one, and catches up from its own high-water
marks. After a failed gate the shadow holds a build nobody checked good, so `prepare_shadow`
drops it and the next build starts clean (a full refresh).

The state of each generation is written on its schemas as a comment
(`baton:<state> build=<id> as_of=<instant>`): building → built → published → previous.
Publishing only swaps a shadow in the `built` state, so a retried publish task never swaps
yesterday's marts back in. A model removed from the project would leave its old table in the
previous generation; `mark_built` drops every shadow relation the build's manifest does not name.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from baton.instants import iso_z

log = logging.getLogger("baton.build.publish")

SHADOW_SUFFIX = "_shadow"
# The schemas dbt writes (dbt_project.yml: +schema per folder, seeds into staging).
DBT_SCHEMAS = ("staging", "intermediate", "marts")
_SWAP_SUFFIX = "__baton_swap"
_COMMENT = re.compile(r"^baton:(?P<state>\w+) build=(?P<build>\S+) as_of=(?P<as_of>\S+)")


class PublishRefused(RuntimeError):
    """The shadow is not a freshly built, checked generation; nothing was swapped."""


@dataclass(frozen=True)
class Generation:
    state: str  # built, published, previous
    build_id: str
    as_of: str


def shadow_name(schema: str, suffix: str = SHADOW_SUFFIX) -> str:
    return f"{schema}{suffix}"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _schema_exists(conn, name: str) -> bool:
    return conn.execute("select exists (select 1 from pg_namespace where nspname = %s)", (name,)).fetchone()[0]


def read_generation(conn, schema: str) -> Generation | None:
    row = conn.execute("select obj_description(oid, 'pg_namespace') from pg_namespace where nspname = %s",
                       (schema,)).fetchone()
    match = _COMMENT.match(row[0] or "") if row else None
    return Generation(match["state"], match["build"], match["as_of"]) if match else None


def _write_generation(conn, schema: str, generation: Generation) -> None:
    text = f"baton:{generation.state} build={generation.build_id} as_of={generation.as_of}"
    conn.execute(f"comment on schema {_quote(schema)} is {_literal(text)}")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def prepare_shadow(warehouse_url: str, *, suffix: str = SHADOW_SUFFIX, schemas=DBT_SCHEMAS) -> dict:
    """Before a build: keep the shadow only if it is the previously published generation.

    A shadow left by a failed gate or by a build that never finished (still `building`) is
    dropped, so the build that follows starts from nothing (incremental models fully refreshed).
    The kept shadow is stamped `building` until `mark_built` says the build completed.
    """
    from baton.warehouse import connect

    dropped, kept = [], []
    with connect(warehouse_url) as conn:
        for schema in schemas:
            shadow = shadow_name(schema, suffix)
            if not _schema_exists(conn, shadow):
                continue
            generation = read_generation(conn, shadow)
            if generation is None or generation.state != "previous":
                conn.execute(f"drop schema {_quote(shadow)} cascade")
                dropped.append(shadow)
            else:
                _write_generation(conn, shadow, Generation("building", generation.build_id, generation.as_of))
                kept.append(shadow)
    if dropped:
        log.warning("shadow schemas %s held an unpublished or unfinished build; dropped, this build starts clean",
                    ", ".join(dropped))
    return {"dropped": dropped, "kept": kept, "full_refresh": bool(dropped) or not kept}


def built_relations(manifest_path) -> set[tuple[str, str]]:
    """(schema, name) of every relation a dbt manifest builds: models, seeds, snapshots."""
    import json

    manifest = json.loads(open(manifest_path).read())
    return {(node["schema"], node.get("alias") or node["name"]) for node in manifest.get("nodes", {}).values()
            if node.get("resource_type") in ("model", "seed", "snapshot")
            and (node.get("config") or {}).get("materialized") != "ephemeral"
            and (node.get("config") or {}).get("enabled", True)}


def drop_stray_relations(conn, manifest_path, *, suffix: str = SHADOW_SUFFIX, schemas=DBT_SCHEMAS) -> list[str]:
    """Drop what an older generation left in the shadow that this build no longer makes (a removed model)."""
    expected = built_relations(manifest_path)
    shadows = [shadow_name(schema, suffix) for schema in schemas]
    present = conn.execute("""
        select n.nspname, c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any(%s) and c.relkind in ('r', 'v', 'm', 'p')""", (shadows,)).fetchall()
    expected_here = {(schema, name) for schema, name in expected if schema in shadows}
    if not expected_here:
        return []  # a manifest of other schemas (built without the suffix): nothing to compare with
    dropped = []
    for schema, name, kind in present:
        if (schema, name) not in expected_here:
            what = {"v": "view", "m": "materialized view"}.get(kind, "table")
            conn.execute(f"drop {what} if exists {_quote(schema)}.{_quote(name)} cascade")
            dropped.append(f"{schema}.{name}")
    if dropped:
        log.warning("dropped relations the current project no longer builds: %s", ", ".join(sorted(dropped)))
    return dropped


def mark_built(warehouse_url: str, *, as_of: datetime, build_id: str | None = None, manifest_path=None,
               suffix: str = SHADOW_SUFFIX, schemas=DBT_SCHEMAS) -> str:
    """After a successful build: stamp the shadow schemas as one generation ready for the gate.

    With the build's manifest, relations an older generation left behind that the project no
    longer builds are dropped first, so they are never published.
    """
    from baton.warehouse import connect

    build_id = build_id or uuid.uuid4().hex[:12]
    generation = Generation("built", build_id, iso_z(as_of))
    with connect(warehouse_url) as conn:
        if manifest_path is not None:
            drop_stray_relations(conn, manifest_path, suffix=suffix, schemas=schemas)
        for schema in schemas:
            shadow = shadow_name(schema, suffix)
            if _schema_exists(conn, shadow):
                _write_generation(conn, shadow, generation)
    return build_id


def publish(warehouse_url: str, *, suffix: str = SHADOW_SUFFIX, schemas=DBT_SCHEMAS,
            lock_timeout: str = "60s", lease: str | None = None) -> dict:
    """Swap every live dbt schema with its shadow in one transaction; return what was published.

    Raises PublishRefused when the shadow is not a built, unpublished generation (for
    example on a retry after the swap already happened), leaving everything as it was. With
    `lease`, the swap happens only if that token still holds the warehouse (checked and locked
    in the swap's own transaction, baton.build.lease).
    """
    from baton.warehouse import connect

    with connect(warehouse_url) as conn:
        # Renames wait for nobody but other DDL; a stuck DDL lock should fail the task, not hang it.
        conn.execute(f"set local lock_timeout = {_literal(lock_timeout)}")
        if lease is not None:
            from baton.build.lease import verify

            verify(conn, lease, "publish")  # the lease row stays locked until the swap commits
        marts_shadow = shadow_name("marts", suffix)
        generation = read_generation(conn, marts_shadow) if _schema_exists(conn, marts_shadow) else None
        if generation is None or generation.state != "built":
            live = read_generation(conn, "marts")
            raise PublishRefused(
                f"{marts_shadow} holds no freshly built generation (state: "
                f"{generation.state if generation else 'none'}); live marts: "
                f"{f'build {live.build_id} as of {live.as_of}' if live else 'unknown'}; nothing swapped")
        swapped = []
        for schema in schemas:
            shadow = shadow_name(schema, suffix)
            if not _schema_exists(conn, shadow):
                continue
            live_existed = _schema_exists(conn, schema)
            before = {schema: _acl_snapshot(conn, schema), shadow: _acl_snapshot(conn, shadow)}
            if live_existed:
                conn.execute(f"alter schema {_quote(schema)} rename to {_quote(schema + _SWAP_SUFFIX)}")
            conn.execute(f"alter schema {_quote(shadow)} rename to {_quote(schema)}")
            if live_existed:
                conn.execute(f"alter schema {_quote(schema + _SWAP_SUFFIX)} rename to {_quote(shadow)}")
                _keep_grants(conn, live=schema, shadow=shadow, before=before)
                previous = read_generation(conn, shadow)
                if previous is not None:
                    _write_generation(conn, shadow, Generation("previous", previous.build_id, previous.as_of))
            _write_generation(conn, schema, Generation("published", generation.build_id, generation.as_of))
            swapped.append(schema)
        _secure(conn)
    log.info("published build %s (as of %s): %s", generation.build_id, generation.as_of, ", ".join(swapped))
    return {"build_id": generation.build_id, "as_of": generation.as_of, "schemas": swapped,
            "published_at": datetime.now(timezone.utc).isoformat()}


def rollback(warehouse_url: str, *, suffix: str = SHADOW_SUFFIX, schemas=DBT_SCHEMAS) -> dict:
    """Put the previous generation back (swap live and shadow again), if the shadow still holds it."""
    from baton.warehouse import connect

    with connect(warehouse_url) as conn:
        previous = read_generation(conn, shadow_name("marts", suffix))
        if previous is None or previous.state != "previous":
            raise PublishRefused("the shadow holds no previous published generation to roll back to")
        for schema in schemas:
            shadow = shadow_name(schema, suffix)
            if not (_schema_exists(conn, shadow) and _schema_exists(conn, schema)):
                continue
            current = read_generation(conn, schema)
            before = {schema: _acl_snapshot(conn, schema), shadow: _acl_snapshot(conn, shadow)}
            conn.execute(f"alter schema {_quote(schema)} rename to {_quote(schema + _SWAP_SUFFIX)}")
            conn.execute(f"alter schema {_quote(shadow)} rename to {_quote(schema)}")
            conn.execute(f"alter schema {_quote(schema + _SWAP_SUFFIX)} rename to {_quote(shadow)}")
            _keep_grants(conn, live=schema, shadow=shadow, before=before)
            _write_generation(conn, schema, Generation("published", previous.build_id, previous.as_of))
            if current is not None:
                _write_generation(conn, shadow, Generation("previous", current.build_id, current.as_of))
        _secure(conn)
    return {"build_id": previous.build_id, "as_of": previous.as_of}


def _acl_snapshot(conn, schema: str) -> dict[str | None, set[tuple[str, str, bool]]]:
    """(grantee, privilege, grantable) of every grant in `schema` but its owners': key None is the
    schema itself, else a relation's name."""
    snapshot: dict[str | None, set[tuple[str, str, bool]]] = {}
    for name, grantee, privilege, grantable in conn.execute("""
            select null::text, acl.grantee, acl.privilege_type, acl.is_grantable
            from pg_namespace n, aclexplode(n.nspacl) acl
            where n.nspname = %(schema)s and acl.grantee <> n.nspowner
            union all
            select c.relname, acl.grantee, acl.privilege_type, acl.is_grantable
            from pg_class c join pg_namespace n on n.oid = c.relnamespace, aclexplode(c.relacl) acl
            where n.nspname = %(schema)s and acl.grantee <> c.relowner and c.relkind in ('r', 'p', 'v', 'm')
            """, {"schema": schema}).fetchall():
        role = "public" if grantee == 0 else _quote(_role_name(conn, grantee))
        snapshot.setdefault(name, set()).add((role, privilege, grantable))
    return snapshot


def _role_name(conn, oid: int) -> str:
    return conn.execute("select rolname from pg_roles where oid = %s", (oid,)).fetchone()[0]


def _relation_kind(conn, schema: str, name: str) -> str | None:
    row = conn.execute("select c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                       " where n.nspname = %s and c.relname = %s", (schema, name)).fetchone()
    return row[0] if row else None


def _set_acl(conn, target: str, current: set, wanted: set) -> None:
    """Make `target`'s grants (owner's aside) exactly `wanted`: revoke the others, grant the missing."""
    for role, privilege, grantable in current - wanted:
        if grantable and (role, privilege, False) in wanted:
            conn.execute(f"revoke grant option for {privilege} on {target} from {role}")
        else:
            conn.execute(f"revoke {privilege} on {target} from {role}")
    for role, privilege, grantable in wanted - current:
        conn.execute(f"grant {privilege} on {target} to {role}{' with grant option' if grantable else ''}")


def _keep_grants(conn, *, live: str, shadow: str, before: dict[str, dict]) -> None:
    """After the renames: every grant as it was, object by object, never wider.

    `before` holds each schema's grants under its name before the swap. The live name's schema
    gets the live schema's grants back (the shadow's own go with the shadow), and every relation
    that existed in yesterday's live schema gets exactly its grants back; a relation new tonight
    keeps what it was created with (default privileges, dbt grants). Nothing is granted on a whole
    schema's tables: a role granted one table reads only that table after the publish.
    """
    for schema, previous_name in ((live, live), (shadow, shadow)):
        now = _acl_snapshot(conn, schema)
        _set_acl(conn, f"schema {_quote(schema)}", now.get(None, set()), before[previous_name].get(None, set()))
    now = _acl_snapshot(conn, live)
    for name, wanted in before[live].items():
        if name is None:
            continue
        kind = _relation_kind(conn, live, name)
        if kind is None:
            continue  # not built tonight
        _set_acl(conn, f"table {_quote(live)}.{_quote(name)}", now.get(name, set()), wanted)
    for name in set(now) - set(before[live]) - {None}:
        if _relation_kind(conn, shadow, name) is not None:
            # Existed yesterday without a grant: it stays without one (tonight's defaults do not widen it).
            _set_acl(conn, f"table {_quote(live)}.{_quote(name)}", now[name], set())


def _secure(conn) -> None:
    """The masked views and row policies on the tables just published, in the swap's transaction
    (baton.security; nothing when `baton warehouse grant` never ran here)."""
    from baton.security import apply_to_marts

    apply_to_marts(conn)
