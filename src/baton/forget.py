"""Erasure: `baton forget --email ADDRESS | --person-id ID` removes a person and keeps them out.

A person is known by keys: their email addresses (`email:<address>`) and their record ids in each
system (`salesforce:person:<lead or contact id>`, `marketo:lead:<id>`, `hubspot:contact:<id>`).
`person_keys` reads the keys a raw record carries, stream by stream (PERSON_FIELDS): the person's
own records and the records of what happened to them (tasks, activities, campaign memberships,
form submissions, email events). Records shared with other people (accounts, opportunities,
owners, campaigns) are not the person's and stay.

`forget` finds every key of the person (the identity map in marts, then the raw records carrying
its emails), deletes every raw record carrying one of them, every derived row of the person in the
live schemas and quality, drops the shadow schemas (the previous generation: the next build starts
clean) and the SLA watch's `_watch` schemas (its next hour rebuilds them), stores the keys' hashes
in `baton_meta.erasure_suppressions` and writes one audit row to `baton_meta.erasure_log` (who,
when, how many; never an address or an id). The loader (baton.load.loader) then sets a record
carrying a suppressed key aside as rejected with reason `erased`, storing neither its payload nor
its id.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import uuid
from collections.abc import Callable

from psycopg import sql

log = logging.getLogger("baton.forget")

ERASED = "erased"


def _email(value) -> list[str]:
    if isinstance(value, str) and "@" in value:
        return [f"email:{value.strip().lower()}"]
    return []


def _id(prefix: str, value) -> list[str]:
    if value is None or value == "" or isinstance(value, (dict, list, bool)):
        return []
    return [f"{prefix}:{value}"]


def _sf_person(record: dict) -> list[str]:
    return _id("salesforce:person", record.get("Id")) + _email(record.get("Email"))


def _hubspot_associated(record: dict) -> list[str]:
    found = (record.get("associations") or {}).get("contacts")
    items = found.get("results", []) if isinstance(found, dict) else found or []
    keys = []
    for item in items:
        value = item.get("id", item.get("toObjectId")) if isinstance(item, dict) else item
        keys += _id("hubspot:contact", value)
    return keys


def _hubspot_form(record: dict) -> list[str]:
    keys = _id("hubspot:contact", record.get("contactId"))
    for value in record.get("values") or []:
        if isinstance(value, dict) and value.get("name") == "email":
            keys += _email(value.get("value"))
    return keys


# (source, stream) → the person keys one raw record carries.
PERSON_FIELDS: dict[tuple[str, str], Callable[[dict], list[str]]] = {
    ("salesforce", "lead"): _sf_person,
    ("salesforce", "contact"): _sf_person,
    ("salesforce", "task"): lambda r: _id("salesforce:person", r.get("WhoId")),
    ("salesforce", "event"): lambda r: _id("salesforce:person", r.get("WhoId")),
    ("salesforce", "campaign_member"): lambda r: (_id("salesforce:person", r.get("LeadId"))
                                                  + _id("salesforce:person", r.get("ContactId"))),
    ("salesforce", "lead_history"): lambda r: _id("salesforce:person", r.get("LeadId")),
    ("salesforce", "opportunity_contact_role"): lambda r: _id("salesforce:person", r.get("ContactId")),
    ("marketo", "lead"): lambda r: _id("marketo:lead", r.get("id")) + _email(r.get("email")),
    ("marketo", "activity"): lambda r: _id("marketo:lead", r.get("leadId")),
    ("marketo", "deleted_lead"): lambda r: _id("marketo:lead", r.get("leadId")),
    ("hubspot", "contact"): lambda r: (_id("hubspot:contact", r.get("id"))
                                       + _email((r.get("properties") or {}).get("email"))),
    ("hubspot", "call"): _hubspot_associated,
    ("hubspot", "email"): _hubspot_associated,
    ("hubspot", "meeting"): _hubspot_associated,
    ("hubspot", "task"): _hubspot_associated,
    ("hubspot", "form_submission"): _hubspot_form,
    ("hubspot", "email_event"): lambda r: _email(r.get("recipient")),
}
# The identity map's (system, object) → the key prefix of that record's id.
IDENTITY_PREFIX = {("salesforce", "lead"): "salesforce:person", ("salesforce", "contact"): "salesforce:person",
                   ("marketo", "lead"): "marketo:lead", ("hubspot", "contact"): "hubspot:contact"}


def key_hash(key: str) -> str:
    return hashlib.sha256(f"baton-erasure:{key}".encode()).hexdigest()


def person_keys(source: str, stream: str, record) -> list[str]:
    reader = PERSON_FIELDS.get((source, stream))
    if reader is None or not isinstance(record, dict):
        return []
    try:
        return reader(record)
    except (AttributeError, TypeError):  # a malformed record: it is judged on what can be read
        return []


def suppressed(source: str, stream: str, record, hashes: frozenset[str]) -> bool:
    """Whether a record carries a key of an erased person (the loader's check)."""
    return any(key_hash(key) in hashes for key in person_keys(source, stream, record))


def load_suppressions(conn) -> frozenset[str]:
    if conn.execute("select to_regclass('baton_meta.erasure_suppressions') is null").fetchone()[0]:
        return frozenset()
    return frozenset(row[0] for row in conn.execute("select key_hash from baton_meta.erasure_suppressions"))


def _identity_keys(conn, *, email: str | None, person_id: str | None) -> tuple[set[str], set[str]]:
    """The person's keys and person ids, from the live identity map."""
    keys: set[str] = set(_email(email)) if email else set()
    person_ids: set[str] = {person_id} if person_id else set()
    if conn.execute("select to_regclass('marts.dim_people_identities') is null").fetchone()[0]:
        return keys, person_ids
    if email:
        person_ids |= {row[0] for row in conn.execute(
            "select distinct person_id from marts.dim_people_identities where lower(email) = %s and person_id is not null",
            (email.strip().lower(),))}
    for system, obj, source_id, address in conn.execute(
            "select source_system, source_object, source_id, email from marts.dim_people_identities"
            " where person_id = any(%s)", (list(person_ids),)):
        prefix = IDENTITY_PREFIX.get((system, obj))
        if prefix:
            keys.add(f"{prefix}:{source_id}")
        keys |= set(_email(address))
    return keys, person_ids


def _raw_tables(conn) -> list[tuple[str, str]]:
    return [(schema.removeprefix("raw_"), table) for schema, table in conn.execute(
        "select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname like 'raw\\_%%' and c.relkind = 'r' order by 1, 2")]


def _matching_raw(conn, keys: set[str]) -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = {}
    for source, stream in _raw_tables(conn):
        if (source, stream) not in PERSON_FIELDS:
            continue
        table = sql.Identifier(f"raw_{source}", stream)
        with conn.cursor(name=f"forget_{uuid.uuid4().hex[:8]}") as cursor:
            cursor.execute(sql.SQL("select id, data from {}").format(table))
            for record_id, data in cursor:
                if keys.intersection(person_keys(source, stream, data)):
                    found.setdefault((source, stream), []).append(record_id)
    return found


def _close_over_raw(conn, keys: set[str]) -> set[str]:
    """Keys reachable from the person's own records: a record carrying one of their emails adds its id."""
    while True:
        grown = set(keys)
        for (source, stream), ids in _matching_raw(conn, keys).items():
            if stream in ("lead", "contact"):
                table = sql.Identifier(f"raw_{source}", stream)
                for (data,) in conn.execute(sql.SQL("select data from {} where id = any(%s)").format(table), (ids,)):
                    grown |= set(person_keys(source, stream, data))
        if grown == keys:
            return keys
        keys = grown


def _derived_schemas(conn) -> list[str]:
    from baton.build.publish import DBT_SCHEMAS

    return [schema for schema in (*DBT_SCHEMAS, "quality")
            if conn.execute("select to_regnamespace(%s) is not null", (schema,)).fetchone()[0]]


def _delete_derived(conn, person_ids: set[str], emails: set[str], source_ids: set[str]) -> dict[str, int]:
    removed: dict[str, int] = {}
    for schema in _derived_schemas(conn):
        for table, columns in conn.execute(
                "select c.relname, array_agg(a.attname::text) from pg_class c"
                " join pg_namespace n on n.oid = c.relnamespace join pg_attribute a on a.attrelid = c.oid"
                " where n.nspname = %s and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped"
                " group by c.relname", (schema,)).fetchall():
            relation = sql.Identifier(schema, table)
            tests = []
            for column in columns:
                ident = sql.Identifier(column)
                if column == "person_id" or column.endswith("_person_id"):
                    tests.append(sql.SQL("{} = any(%(people)s)").format(ident))
                elif column == "email" or column.endswith("_email"):
                    tests.append(sql.SQL("lower({}) = any(%(emails)s)").format(ident))
                elif column in ("source_id", "crm_source_id", "record_id"):
                    tests.append(sql.SQL("{}::text = any(%(ids)s)").format(ident))
            if not tests:
                continue
            count = conn.execute(sql.SQL("delete from {} where {}").format(relation, sql.SQL(" or ").join(tests)),
                                 {"people": list(person_ids), "emails": list(emails), "ids": list(source_ids)}
                                 ).rowcount
            if count:
                removed[f"{schema}.{table}"] = count
    return removed


def forget(warehouse_url: str, *, email: str | None = None, person_id: str | None = None,
           by: str | None = None) -> dict:
    """Erase one person (by an email address or a dim_people.person_id); returns the audit counts."""
    from baton.build.publish import DBT_SCHEMAS, SHADOW_SUFFIX
    from baton.load.schema import ensure_meta
    from baton.warehouse import connect
    from baton.watch.models import WATCH_SUFFIX

    if not (email or person_id):
        raise ValueError("forget needs an email address or a person id")
    erasure_id = uuid.uuid4().hex[:16]
    with connect(warehouse_url) as conn:
        ensure_meta(conn)
        conn.execute("select pg_advisory_xact_lock(hashtext('baton.forget'))")
        keys, person_ids = _identity_keys(conn, email=email, person_id=person_id)
        keys = _close_over_raw(conn, keys)
        if not keys:
            raise LookupError("no such person in the warehouse: nothing erased (give an email address to"
                              " keep them from landing later)")
        raw = _matching_raw(conn, keys)
        raw_counts = {}
        for (source, stream), ids in raw.items():
            table = sql.Identifier(f"raw_{source}", stream)
            raw_counts[f"raw_{source}.{stream}"] = conn.execute(
                sql.SQL("delete from {} where id = any(%s)").format(table), (ids,)).rowcount
        emails = {key.removeprefix("email:") for key in keys if key.startswith("email:")}
        source_ids = {key.rsplit(":", 1)[1] for key in keys if not key.startswith("email:")}
        source_ids |= {record_id for ids in raw.values() for record_id in ids}
        rejected = conn.execute(
            "delete from baton_meta.rejected_records where record_id = any(%s)"
            " or exists (select 1 from unnest(%s::text[]) e where strpos(lower(payload), e) > 0)",
            (list(source_ids), list(emails))).rowcount
        derived = _delete_derived(conn, person_ids, emails, source_ids)
        if rejected:
            derived["baton_meta.rejected_records"] = rejected
        for schema in DBT_SCHEMAS:
            # The previous generation holds the person too; without it the next build starts clean.
            # So do the SLA watch's (incremental models included); its next hour rebuilds them.
            for suffix in (SHADOW_SUFFIX, WATCH_SUFFIX):
                conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema + suffix)))
        with conn.cursor() as cursor:
            cursor.executemany("insert into baton_meta.erasure_suppressions (key_hash, erasure_id) values (%s, %s)"
                               " on conflict (key_hash) do nothing", [(key_hash(key), erasure_id) for key in keys])
        requested_by = by or _os_user()
        audit = {"erasure_id": erasure_id, "keys_suppressed": len(keys), "raw_records": sum(raw_counts.values()),
                 "derived_rows": sum(derived.values())}
        conn.execute("insert into baton_meta.erasure_log (erasure_id, requested_by, keys_suppressed, raw_records,"
                     " derived_rows, detail) values (%s, %s || ' as ' || session_user, %s, %s, %s, %s)",
                     (erasure_id, requested_by, audit["keys_suppressed"], audit["raw_records"],
                      audit["derived_rows"], json.dumps({"raw": raw_counts, "derived": derived})))
    log.info("erasure %s: %d raw records, %d derived rows, %d keys suppressed", erasure_id,
             audit["raw_records"], audit["derived_rows"], audit["keys_suppressed"])
    return audit


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"

