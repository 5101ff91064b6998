"""What the watch builds and reads: the two leak rules and the context a task carries, in `_watch` schemas.

The watch builds the nightly's own models (dbt selection WATCH_MODELS and everything upstream)
into `staging_watch`, `intermediate_watch` and `marts_watch`, with its own dbt target folder, so
it never touches the schemas the nightly builds (`_shadow`), publishes or analysts read, and a
new hour keeps dbt's partial parse (the instant travels as BATON_AS_OF, not --vars). The streams
it extracts are the raw tables those models read, found in the shipped dbt graph, so the two can
never disagree.

`breaches(conn, as_of)` answers "which open handoffs are overdue with no sales touch at the hour's
end": a row of int_slow_response_leaks_detected or int_black_hole_leaks_detected (the rules, as the
nightly applies them) whose handoff (fct_handoffs) has no sales touch yet and is still open or
accepted. Everything a task says comes from the marts: the leak's own sentence, its type's label
and meaning (dim_leak_types), the person, the account, the last marketing touches, the missing
context fields.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime

from baton.instants import iso_z, parse_instant, utc

log = logging.getLogger("baton.watch")

WATCH_SUFFIX = "_watch"
DBT_TARGET = "watch"
BREACH_TYPES = ("slow_response", "black_hole")
# The two rules, and what a task tells the rep (owner, person, account, campaigns, the leak type's words).
WATCH_MODELS = ("int_slow_response_leaks_detected", "int_black_hole_leaks_detected", "dim_leak_types", "dim_owners",
                "dim_accounts", "int_campaigns_unioned")
OPEN_OUTCOMES = ("open", "accepted")
LAST_TOUCHES = 3
_STAMP = "baton:watch as_of="


class WatchBuildFailed(RuntimeError):
    """The watch's dbt build failed: nothing was evaluated or written this hour."""


def schema(name: str) -> str:
    return f'"{name}{WATCH_SUFFIX}"'


def watch_streams(manifest_path=None) -> dict[str, tuple[str, ...]]:
    """Per registered source, the streams whose raw tables the watch's models read, in declared order."""
    from baton.paths import RENDER_MANIFEST
    from baton.sources.registry import sources

    graph = json.loads((manifest_path or RENDER_MANIFEST).read_text())
    nodes = {**graph["nodes"], **graph["sources"]}
    seen, pending = set(), [f"model.baton.{name}" for name in WATCH_MODELS]
    missing = [name for name in pending if name not in nodes]
    if missing:
        raise WatchBuildFailed(f"the dbt project has no {', '.join(missing)}: the watch cannot build")
    while pending:
        unique_id = pending.pop()
        if unique_id in seen:
            continue
        seen.add(unique_id)
        pending.extend(nodes.get(unique_id, {}).get("depends_on", {}).get("nodes", []))
    tables = {tuple(unique_id.split(".")[2:4]) for unique_id in seen if unique_id.startswith("source.")}
    return {name: tuple(stream for stream in source.stream_names if (name, stream) in tables)
            for name, source in sources().items()}


def build(warehouse_url: str, as_of: datetime) -> dict:
    """dbt build (seeds and models) of WATCH_MODELS and their upstream into the `_watch` schemas, as of
    `as_of`; then the schemas are stamped with it and the project's fingerprint. Raises
    WatchBuildFailed naming what failed.

    Data tests are left to the nightly's build and gate, which check these same models every night:
    here they would double the hour's build time for no decision of the watch's own. The staging
    views and the seeds depend on the project alone, not on the data or the instant: when the
    stamp shows this project built them, the hour rebuilds the tables only (half the nodes); a
    failure of that lighter build is followed by a whole one.
    """
    from baton.build.dbt import dbt, ensure_raw_tables
    from baton.warehouse import connect

    ensure_raw_tables(warehouse_url)
    fingerprint = project_fingerprint()
    with connect(warehouse_url) as conn:
        stamp = _read_stamp(conn)
    started = time.monotonic()
    selection = [f"+{name}" for name in WATCH_MODELS]
    # --quiet: dbt's progress lines go to its log file (.baton/dbt/watch/logs), not between the task lines
    args = ["build", "--quiet", "--select", *selection, "--exclude-resource-type", "test", "unit_test"]
    tables_only = ["--exclude", "config.materialized:view", "resource_type:seed"]
    light = stamp is not None and stamp.get("project") == fingerprint
    result = dbt([*args, *tables_only] if light else args, warehouse_url, vars={"as_of": iso_z(as_of, micros=True)},
                 target_name=DBT_TARGET, schema_suffix=WATCH_SUFFIX)
    if light and not result.success:
        log.warning("the watch's tables-only build failed (%s); building views and seeds too",
                    "; ".join(f["name"] for f in result.failures()[:3]) or result.exception)
        result = dbt(args, warehouse_url, vars={"as_of": iso_z(as_of, micros=True)}, target_name=DBT_TARGET,
                     schema_suffix=WATCH_SUFFIX)
    seconds = round(time.monotonic() - started, 1)
    if not result.success:
        named = "; ".join(f"{f['name']}: {(f.get('message') or f['status'])}"[:300] for f in result.failures()[:5])
        raise WatchBuildFailed(f"the watch's dbt build as of {iso_z(as_of)} failed, nothing evaluated: "
                               f"{named or result.exception or 'see the dbt log (.baton/dbt/watch/logs)'}")
    with connect(warehouse_url, autocommit=True) as conn:
        conn.execute(f"comment on schema {schema('marts')} is"
                     f" '{_STAMP}{iso_z(as_of, micros=True)} project={fingerprint}'")
    log.info("watch models built as of %s: %d nodes in %.1fs", iso_z(as_of), len(result.results), seconds)
    return {"as_of": iso_z(as_of), "nodes": len(result.results), "seconds": seconds}


def project_fingerprint() -> str:
    """A hash of the dbt project's models, macros, seeds, tests and settings: what the views and seeds are built from."""
    import hashlib

    from baton.paths import DBT_PROJECT_DIR

    digest = hashlib.sha256()
    for path in sorted(DBT_PROJECT_DIR.rglob("*")):
        relative = path.relative_to(DBT_PROJECT_DIR)
        if path.is_file() and path.suffix in (".sql", ".yml", ".yaml", ".csv") and relative.parts[0] not in (
                "target", "logs", "dbt_packages"):
            digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _read_stamp(conn) -> dict | None:
    row = conn.execute("select obj_description(to_regnamespace(%s), 'pg_namespace')",
                       (f"marts{WATCH_SUFFIX}",)).fetchone()
    text = row[0] if row else None
    if not text or not text.startswith(_STAMP):
        return None
    instant, _, rest = text.removeprefix(_STAMP).partition(" ")
    return {"as_of": parse_instant(instant), **dict(part.split("=", 1) for part in rest.split() if "=" in part)}


def built_as_of(conn) -> datetime | None:
    """The instant the `_watch` schemas were last built as of (None: never built, or dropped)."""
    stamp = _read_stamp(conn)
    return stamp["as_of"] if stamp else None


@dataclass(frozen=True)
class Touch:
    touched_at: datetime
    touch_type: str
    channel: str | None
    campaign: str | None
    source_system: str


@dataclass(frozen=True)
class Breach:
    """One open handoff overdue with no sales touch, as the watch's models see it at `as_of`."""

    breach_type: str               # the leak type: slow_response or black_hole
    handoff_id: str
    person_id: str
    detected_at: datetime          # when the limit ran out (the leak's detected_at)
    detail: str                    # the leak's sentence, from its model
    label: str                     # dim_leak_types
    meaning: str                   # dim_leak_types.description, thresholds in force
    handed_off_at: datetime
    sla_due_at: datetime | None
    crm_system: str | None         # the handoff's CRM record: where the task goes
    crm_object: str | None         # Lead, Contact, contacts
    crm_record_id: str | None
    owner_id: str | None           # owner at handoff (dim_owners key)
    owner_system: str | None
    owner_source_id: str | None    # the owner's id in the CRM: the task's owner
    owner_name: str | None
    owner_problem: str | None      # fct_handoffs.misroute_reason when no user can take a task
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    title: str | None = None
    company: str | None = None
    original_source: str | None = None
    original_channel: str | None = None
    account_name: str | None = None
    customer_since: datetime | None = None
    has_account: bool = False
    missing_context: tuple[str, ...] = ()
    touches: tuple[Touch, ...] = field(default_factory=tuple)
    record_url: str | None = None

    @property
    def key(self) -> str:
        """The idempotency key: one task per handoff and breach, ever."""
        return f"{self.breach_type}:{self.handoff_id}"

    @property
    def person(self) -> str:
        name = " ".join(part for part in (self.first_name, self.last_name) if part)
        return name or self.email or f"person {self.person_id[:8]}"


# A user can take a task; these owners at handoff cannot (fct_handoffs.misroute_reason's words).
_NO_TASK_OWNER = {"no_owner": "no owner at handoff", "queue": "a queue owns the record",
                  "inactive_owner": "the owner at handoff is inactive"}


def breaches(conn, as_of: datetime, *, keys: set[str] | None = None, since: datetime | None = None) -> list[Breach]:
    """The open handoffs overdue with no sales touch at `as_of`, from the `_watch` schemas.

    `since`: only breaches detected after it; `keys`: also those keys whatever their age (a task
    still owed). Details (touches, account) are read for the returned breaches only.
    """
    s, i, m = schema("staging"), schema("intermediate"), schema("marts")
    rows = conn.execute(f"""
        with leaks as (
            select leak_type, handoff_id, person_id, owner_id, detected_at, detail
            from {i}.int_slow_response_leaks_detected
            union all
            select leak_type, handoff_id, person_id, owner_id, detected_at, detail
            from {i}.int_black_hole_leaks_detected
        )
        select leaks.leak_type, leaks.handoff_id, leaks.person_id, leaks.detected_at, leaks.detail,
               types.label, types.description, handoffs.handed_off_at, handoffs.sla_due_at,
               handoffs.crm_source_system, handoffs.crm_source_object, handoffs.crm_source_id,
               leaks.owner_id, owners.source_system, owners.source_owner_id, owners.name, handoffs.misroute_reason,
               people.first_name, people.last_name, people.email, people.title, people.company,
               people.original_source, people.original_channel, accounts.name, accounts.customer_since,
               accounts.account_id is not null, handoffs.missing_context_fields
        from leaks
        join {m}.fct_handoffs as handoffs on handoffs.handoff_id = leaks.handoff_id
        join {m}.dim_leak_types as types on types.leak_type = leaks.leak_type
        left join {m}.dim_owners as owners on owners.owner_id = leaks.owner_id
        left join {m}.dim_people as people on people.person_id = leaks.person_id
        left join {m}.dim_accounts as accounts on accounts.account_id = handoffs.account_id
        where handoffs.first_sales_touch_at is null
          and handoffs.outcome = any(%(open)s)
          and (%(since)s::timestamptz is null or leaks.detected_at > %(since)s
               or leaks.leak_type || ':' || leaks.handoff_id = any(%(keys)s))
        order by leaks.detected_at, leaks.handoff_id, leaks.leak_type
    """, {"open": list(OPEN_OUTCOMES), "since": since, "keys": sorted(keys or ())}).fetchall()
    touches = _last_touches(conn, {row[2] for row in rows}, s, i, m)
    found = []
    for row in rows:
        (leak_type, handoff_id, person_id, detected_at, detail, label, meaning, handed_off_at, sla_due_at, crm_system,
         crm_object, crm_id, owner_id, owner_system, owner_source_id, owner_name, misroute, first_name, last_name,
         email, title, company, original_source, original_channel, account_name, customer_since, has_account,
         missing) = row
        found.append(Breach(
            breach_type=leak_type, handoff_id=handoff_id, person_id=person_id, detected_at=utc(detected_at), detail=detail,
            label=label, meaning=meaning, handed_off_at=utc(handed_off_at), sla_due_at=_utc(sla_due_at),
            crm_system=crm_system,
            crm_object=crm_object, crm_record_id=crm_id, owner_id=owner_id, owner_system=owner_system,
            owner_source_id=owner_source_id, owner_name=owner_name, owner_problem=_NO_TASK_OWNER.get(misroute),
            first_name=first_name, last_name=last_name, email=email, title=title, company=company,
            original_source=original_source, original_channel=original_channel, account_name=account_name,
            customer_since=_utc(customer_since), has_account=bool(has_account),
            missing_context=tuple(part.strip() for part in (missing or "").split(",") if part.strip()),
            touches=tuple(touches.get(person_id, ()))))
    return found


def _last_touches(conn, person_ids: set[str], staging: str, intermediate: str, marts: str) -> dict[str, list[Touch]]:
    if not person_ids:
        return {}
    found: dict[str, list[Touch]] = {}
    for person_id, touched_at, touch_type, channel, campaign, source_system in conn.execute(f"""
            select ranked.person_id, ranked.touched_at, ranked.touch_type, ranked.channel, campaigns.name,
                   ranked.source_system
            from (select touches.*, row_number() over (partition by person_id
                                                       order by touched_at desc, touchpoint_id) as position
                  from {marts}.fct_touchpoints as touches where person_id = any(%s)) as ranked
            left join {intermediate}.int_campaigns_unioned as campaigns on campaigns.campaign_id = ranked.campaign_id
            where ranked.position <= %s
            order by ranked.person_id, ranked.position""", (sorted(person_ids), LAST_TOUCHES)).fetchall():
        found.setdefault(person_id, []).append(Touch(utc(touched_at), touch_type, channel, campaign, source_system))
    return found


def due_day(conn, as_of: datetime) -> tuple[date, datetime]:
    """The business day in progress at `as_of`, else the next one: its local date and the end of its
    working window (the business calendar the SLA is counted on)."""
    row = conn.execute(f"select local_date, window_end from {schema('intermediate')}.int_business_calendar"
                       " where window_end > %s order by local_date limit 1", (as_of,)).fetchone()
    if row is None:
        return as_of.date(), as_of
    return row[0], utc(row[1])


def _utc(instant: datetime | None) -> datetime | None:
    """Instants as UTC whatever the warehouse session's time zone (the tasks say "UTC")."""
    return None if instant is None else utc(instant)
