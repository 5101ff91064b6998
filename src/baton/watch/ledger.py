"""baton_meta.watch_tasks: one row per handoff and breach, the watch's promise of one task at most.

A key moves through these states:

    (none) ─ dry-run ─→ dry_run                (recorded, nothing written; a later real run may claim it)
    (none) / dry_run / failed ─ claim ─→ pending ─ POST answered ─→ written (crm_task_id)
                                                 ─ POST refused or never answered ─→ failed (last_error)
    pending left by a run that died  ─ next run ─→ looked up in the CRM by its key ─→ written, or POSTed
    failed after BATON_WATCH_MAX_ATTEMPTS tries ─→ gave_up
    pending / failed whose handoff is no longer overdue ─→ resolved (touched, closed: no task owed)
    no user can own a task (no owner, a queue, an inactive owner) ─→ skipped

Writes follow the latest hour: a rerun of an hour older than the latest one that ran with write-back
on (baton_meta.watch_runs) evaluates and reports but writes and resolves nothing, since that later
hour already settled every breach still overdue then (a task for a lead touched since would be
stale news).

Only the holder of the key's session advisory lock works on a key; the lock goes with its
connection, so a run that dies frees it, and `pending` then means "the outcome of a POST is unknown",
which the next holder settles by finding the task by its key in the CRM before writing. Rows keep no
personal data: the handoff id (a hash), the CRM's task id, counts, times, errors (credentials redacted).
"""

from __future__ import annotations

import logging
from datetime import datetime

from baton.sources.api import redact

log = logging.getLogger("baton.watch")

DDL = """
create schema if not exists baton_meta;
create table if not exists baton_meta.watch_tasks (
    handoff_id   text not null,
    breach_type  text not null,
    crm_system   text,
    state        text not null check (state in ('dry_run', 'pending', 'written', 'failed', 'gave_up', 'resolved',
                                                 'skipped')),
    crm_task_id  text,
    attempts     integer not null default 0,
    last_error   text,
    detected_at  timestamptz,
    first_as_of  timestamptz not null,
    last_as_of   timestamptz not null,
    claimed_by   text,
    created_at   timestamptz not null default clock_timestamp(),
    updated_at   timestamptz not null default clock_timestamp(),
    written_at   timestamptz,
    primary key (handoff_id, breach_type)
);
create table if not exists baton_meta.watch_runs (
    as_of        timestamptz not null,
    mode         text not null,
    run_by       text not null,
    started_at   timestamptz not null default clock_timestamp(),
    finished_at  timestamptz,
    counts       jsonb,
    primary key (as_of, started_at)
);
"""
OWED = ("pending", "failed")  # a task is still owed for these, while the breach lasts


def ensure(conn) -> None:
    conn.execute("select pg_advisory_xact_lock(hashtext('baton_meta ddl'))")
    if conn.execute("select to_regclass('baton_meta.watch_runs') is null").fetchone()[0]:
        conn.execute(DDL)


class Ledger:
    """The watch_tasks rows of one run, on one connection that also holds the keys' locks."""

    def __init__(self, warehouse_url: str, *, holder: str):
        from baton.warehouse import connect

        self.holder = holder
        self.conn = connect(warehouse_url, autocommit=True, application_name=f"baton watch {holder}"[:63])
        with self.conn.transaction():
            ensure(self.conn)

    def close(self) -> None:
        self.conn.close()

    # -- runs ----------------------------------------------------------------------------------
    def latest_written_hour(self) -> datetime | None:
        """The latest hour a run with write-back on evaluated."""
        return self.conn.execute("select max(as_of) from baton_meta.watch_runs where mode = 'on'").fetchone()[0]

    def start_run(self, as_of: datetime, mode: str) -> datetime:
        return self.conn.execute("insert into baton_meta.watch_runs (as_of, mode, run_by) values (%s, %s, %s)"
                                 " returning started_at", (as_of, mode, self.holder)).fetchone()[0]

    def finish_run(self, as_of: datetime, started_at: datetime, counts: dict) -> None:
        import json

        self.conn.execute("update baton_meta.watch_runs set finished_at = clock_timestamp(), counts = %s"
                          " where as_of = %s and started_at = %s", (json.dumps(counts), as_of, started_at))

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- locks ---------------------------------------------------------------------------------
    def try_lock(self, key: str) -> bool:
        return self.conn.execute("select pg_try_advisory_lock(hashtextextended(%s, 0))",
                                 (f"baton.watch_task:{key}",)).fetchone()[0]

    def unlock(self, key: str) -> None:
        self.conn.execute("select pg_advisory_unlock(hashtextextended(%s, 0))", (f"baton.watch_task:{key}",))

    # -- rows ----------------------------------------------------------------------------------
    def get(self, breach_type: str, handoff_id: str) -> dict | None:
        row = self.conn.execute(
            "select state, crm_task_id, attempts, last_error from baton_meta.watch_tasks"
            " where handoff_id = %s and breach_type = %s", (handoff_id, breach_type)).fetchone()
        if row is None:
            return None
        return {"state": row[0], "crm_task_id": row[1], "attempts": row[2], "last_error": row[3]}

    def record(self, breach, as_of: datetime, state: str, *, attempt: bool = False, crm_task_id: str | None = None,
               error: str | None = None) -> None:
        """Upsert the key's row into `state` (counting an attempt when one is about to be made)."""
        self.conn.execute("""
            insert into baton_meta.watch_tasks as rows (handoff_id, breach_type, crm_system, state, crm_task_id,
                attempts, last_error, detected_at, first_as_of, last_as_of, claimed_by, written_at)
            values (%(handoff)s, %(type)s, %(system)s, %(state)s, %(task)s, %(tries)s, %(error)s, %(detected)s,
                    %(as_of)s, %(as_of)s, %(holder)s, case when %(state)s = 'written' then clock_timestamp() end)
            on conflict (handoff_id, breach_type) do update set
                crm_system = excluded.crm_system, state = excluded.state,
                crm_task_id = coalesce(excluded.crm_task_id, rows.crm_task_id),
                attempts = rows.attempts + excluded.attempts, last_error = excluded.last_error,
                last_as_of = excluded.last_as_of, claimed_by = excluded.claimed_by, updated_at = clock_timestamp(),
                written_at = coalesce(excluded.written_at, rows.written_at)
        """, {"handoff": breach.handoff_id, "type": breach.breach_type, "system": breach.crm_system, "state": state,
              "task": crm_task_id, "tries": 1 if attempt else 0, "error": _clean(error),
              "detected": breach.detected_at, "as_of": as_of, "holder": self.holder})

    def owed_keys(self) -> set[str]:
        """Keys a task is still owed for (pending or failed), whatever their age."""
        return {f"{breach_type}:{handoff_id}" for handoff_id, breach_type in self.conn.execute(
            "select handoff_id, breach_type from baton_meta.watch_tasks where state = any(%s)", (list(OWED),))}

    def resolve(self, keys: set[str], as_of: datetime) -> int:
        """Owed keys, first seen by this hour or before, whose handoff is no longer overdue at `as_of`:
        nothing is owed any more."""
        resolved = 0
        for key in sorted(keys):
            if not self.try_lock(key):
                continue  # another run is writing it right now
            try:
                breach_type, handoff_id = key.split(":", 1)
                resolved += self.conn.execute(
                    "update baton_meta.watch_tasks set state = 'resolved', last_as_of = %s, updated_at = clock_timestamp(),"
                    " last_error = coalesce(last_error || '; ', '') || %s"
                    " where handoff_id = %s and breach_type = %s and state = any(%s) and first_as_of <= %s",
                    (as_of, f"no longer overdue at {as_of:%Y-%m-%dT%H:%M}Z (touched or closed): no task owed",
                     handoff_id, breach_type, list(OWED), as_of)).rowcount
            finally:
                self.unlock(key)
        return resolved


def _clean(error: str | None) -> str | None:
    return None if error is None else redact(error)[:1000]
