"""One hour of the watch, as functions of plain values: what `baton watch` and baton_hot_leads call.

    extract(source, end)            the source's watch streams up to the hour's end (None: no connection)
    build_models(url, as_of)        the watch's dbt build as of the hour's end
    write_back(url, as_of, mode)    evaluate the hour and write (or dry-run) the tasks it owes
    run_hour(url, as_of, mode)      all three, for `baton watch --at`

Runs on one warehouse take turns (a session advisory lock, `baton.watch`, held by the build and by
the write step): two hours never build the `_watch` schemas at once. The nightly is not waited for
and not disturbed: it builds other schemas and holds its own lease; the loader's per-stream locks
make an hourly extract wait for (or fail after BATON_LOAD_LOCK_WAIT next to) a nightly load of the
same stream, and the watch's extract tasks publish no Asset, so the transform never runs hourly.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime

from baton.instants import iso_z, parse_instant
from baton.watch import settings
from baton.watch.models import Breach

log = logging.getLogger("baton.watch")

WATCH_LOCK = "baton.watch"


class WatchBusy(RuntimeError):
    """Another watch hour holds this warehouse; nothing was done."""


class WriteBackIncomplete(RuntimeError):
    """Some tasks could not be written; they are recorded and retried next hour."""


def _say(out: Callable[[str], None] | None, line: str) -> None:
    (out or log.info)(line)


@contextmanager
def holding_watch(warehouse_url: str, step: str, *, wait: float | None = None):
    """The watch's session advisory lock on the warehouse for one step; waits for another hour's."""
    from baton.warehouse import connect

    wait = settings.lock_wait_seconds() if wait is None else wait
    name = f"baton watch {step} pid {os.getpid()} on {socket.gethostname()}"
    conn = connect(warehouse_url, autocommit=True, application_name=name[:63])
    try:
        deadline, announced = time.monotonic() + wait, False
        while not conn.execute("select pg_try_advisory_lock(hashtext(%s))", (WATCH_LOCK,)).fetchone()[0]:
            holder = conn.execute("""
                select a.backend_start, a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid
                where l.locktype = 'advisory' and l.granted and l.objid = hashtext(%s)::oid
                  and l.database = (select oid from pg_database where datname = current_database()) limit 1""",
                (WATCH_LOCK,)).fetchone()
            who = f"{holder[1]} since {holder[0]:%Y-%m-%d %H:%M:%S %Z}" if holder else "another watch run"
            if time.monotonic() >= deadline:
                raise WatchBusy(f"{who} holds the watch on this warehouse; waited {wait:.0f}s, {step} not run")
            if not announced:
                log.warning("%s holds the watch; waiting up to %.0fs", who, wait)
                announced = True
            time.sleep(1.0)
        yield conn
    finally:
        conn.close()


# -- extract ---------------------------------------------------------------------------------------
def extract(source: str, end, *, warehouse_url: str | None = None) -> list[dict] | None:
    """The source's watch streams from their watermarks up to `end`; None when it has no connection."""
    from baton.connections import airflow_connection
    from baton.sources.registry import get_source
    from baton.sources.runner import run_for_task
    from baton.warehouse import warehouse_url as configured
    from baton.watch.models import watch_streams

    declared = get_source(source)
    connection = airflow_connection(declared.connection_id)
    if connection is None:
        log.warning("%s: source skipped: no connection %r configured", source, declared.connection_id)
        return None
    streams = watch_streams()[source]
    if not streams:
        return []
    return run_for_task(source, list(streams), connection, warehouse_url or configured(), end)


# -- build -----------------------------------------------------------------------------------------
def build_models(warehouse_url: str, as_of) -> dict:
    from baton.watch.models import build

    with holding_watch(warehouse_url, "build"):
        return build(warehouse_url, parse_instant(as_of))


# -- write -----------------------------------------------------------------------------------------
def write_back(warehouse_url: str, as_of, *, mode: str | None = None,
               out: Callable[[str], None] | None = None) -> dict:
    """Evaluate the hour ending at `as_of` and write the tasks it owes (or say what it would write).

    Rebuilds first when the `_watch` schemas hold another hour (another run built since this one's
    build step). Returns the counts; the caller decides what a failed write means for it.
    """
    from baton.warehouse import connect
    from baton.watch.models import build, built_as_of

    instant = parse_instant(as_of)
    mode = settings.write_back_mode(mode)
    with holding_watch(warehouse_url, "write"):
        with connect(warehouse_url) as conn:
            stamped = built_as_of(conn)
        if stamped != instant:
            log.warning("the watch models hold %s, not %s: building them again", iso_z(stamped) if stamped else "nothing",
                        iso_z(instant))
            build(warehouse_url, instant)
        return _write(warehouse_url, instant, mode, out)


def _write(warehouse_url: str, as_of: datetime, mode: str, out) -> dict:
    from baton.warehouse import connect
    from baton.watch.ledger import Ledger
    from baton.watch.models import breaches

    since = as_of - settings.lookback()
    counts = {"as_of": iso_z(as_of), "mode": mode, "overdue": 0, "written": 0, "found": 0, "dry_run": 0,
              "skipped": 0, "failed": 0, "gave_up": 0, "resolved": 0, "already": 0, "busy": 0, "left": 0,
              "stale": False}
    if mode == "off":
        with connect(warehouse_url) as conn:
            counts["overdue"] = len(breaches(conn, as_of, since=since))
        _say(out, f"watch {iso_z(as_of)}: {counts['overdue']} overdue handoff(s); write-back is off (set the Airflow"
                  f" Variable {settings.VARIABLE} to dry-run or on), nothing written")
        return counts
    prefix = settings.subject_prefix()
    holder = f"{iso_z(as_of)} pid {os.getpid()} on {socket.gethostname()}"
    writers: dict[str, object] = {}
    try:
        with Ledger(warehouse_url, holder=holder) as ledger:
            latest = ledger.latest_written_hour()
            started = ledger.start_run(as_of, mode)
            if mode == "on" and latest is not None and latest > as_of:
                # a rerun of an older hour: the later one settled whatever was still overdue then
                counts["stale"] = True
                _say(out, f"watch {iso_z(as_of)}: a later hour ({iso_z(latest)}) already ran with write-back on;"
                          " this rerun writes nothing new")
            owed = ledger.owed_keys()
            with connect(warehouse_url) as conn:
                found = breaches(conn, as_of, since=since, keys=owed)
                due = _due_day(conn, as_of)
            counts["overdue"] = len(found)
            if mode == "on" and not counts["stale"]:
                counts["resolved"] = ledger.resolve(owed - {breach.key for breach in found}, as_of)
            links = _links()
            for breach in found:
                breach = replace(breach, record_url=links(breach))
                outcome = _one(ledger, breach, as_of, "stale" if counts["stale"] else mode, prefix, due, writers, out)
                counts[outcome] += 1
            ledger.finish_run(as_of, started, counts)
    finally:
        for writer in writers.values():
            if writer is not None:
                writer.close()
    _say(out, f"watch {iso_z(as_of)} (write-back {mode}): {counts['overdue']} overdue handoff(s);"
              f" {counts['written'] + counts['found']} task(s) written, {counts['dry_run']} would be written,"
              f" {counts['failed']} failed (retried next hour), {counts['skipped']} skipped,"
              f" {counts['already']} written before")
    return counts


def _due_day(conn, as_of):
    from baton.watch.models import due_day

    return due_day(conn, as_of)


def _one(ledger, breach: Breach, as_of: datetime, mode: str, prefix: str, due, writers: dict, out) -> str:
    """Settle one breach's task; returns the counter it adds to."""
    from baton.sources.api import redact
    from baton.watch.compose import draft

    where = (f"{breach.breach_type} of handoff {breach.handoff_id[:12]} on {breach.crm_system or '?'}"
             f" {breach.crm_object or 'record'} {breach.crm_record_id or '?'}"
             f" for {breach.owner_name or 'nobody'}{f' ({breach.record_url})' if breach.record_url else ''}")
    if not ledger.try_lock(breach.key):
        return "busy"  # another run is settling this key right now; it records the outcome
    try:
        row = ledger.get(breach.breach_type, breach.handoff_id)
        state = row["state"] if row else None
        problem = breach.owner_problem or ("the handoff reached no CRM record" if not breach.crm_record_id else None)
        writer = None if problem else _writer(writers, breach.crm_system)
        unconfigured = writer is None and problem is None  # not recorded: written once the connection exists
        if unconfigured:
            problem = f"no connection configured for {breach.crm_system}"
        if mode == "stale":
            return "already" if state in ("written", "skipped", "resolved", "gave_up") else "left"
        if mode == "dry-run":
            if state is not None:
                return "already"
            ledger.record(breach, as_of, "dry_run", error=problem)
            _say(out, f"would skip  {where}: {problem}" if problem else f"would create {where}")
            return "skipped" if problem else "dry_run"
        if state in ("written", "skipped", "resolved", "gave_up"):
            return "already"
        if problem:
            if not unconfigured:
                ledger.record(breach, as_of, "skipped", error=problem)
            _say(out, f"skipped  {where}: {problem}")
            return "skipped"
        if state == "failed" and row["attempts"] >= settings.max_attempts():
            ledger.record(breach, as_of, "gave_up", error=row["last_error"])
            _say(out, f"GAVE UP  {where} after {row['attempts']} attempts: {row['last_error']}")
            return "gave_up"
        task = draft(breach, prefix=prefix, due_date=due[0], due_at=due[1])
        # pending: a run died between claiming and recording; failed: an earlier POST may have been committed
        # after its answer was lost and the lookup made. Either way a task may exist: look before writing.
        unknown = state in ("pending", "failed")
        ledger.record(breach, as_of, "pending", attempt=True)
        try:
            found_id = writer.find(task, prefix) if unknown else None
            task_id, found = (found_id, True) if found_id else writer.write(task, prefix)
        except Exception as error:
            message = redact(f"{type(error).__name__}: {error}")
            ledger.record(breach, as_of, "failed", error=message)
            _say(out, f"FAILED   {where}: {message} (recorded; retried next hour)")
            return "failed"
        ledger.record(breach, as_of, "written", crm_task_id=task_id)
        _say(out, f"{'found   ' if found else 'created '} {breach.crm_system} task {task_id}: {where}")
        return "found" if found else "written"
    finally:
        ledger.unlock(breach.key)


def _writer(writers: dict, system: str | None):
    from baton.connections import airflow_connection
    from baton.sources.registry import get_source
    from baton.watch.crm import writer_for

    if system not in writers:
        connection = airflow_connection(get_source(system).connection_id) if system in ("salesforce", "hubspot") else None
        writers[system] = writer_for(system, connection, attempts=settings.write_attempts()) if connection else None
    return writers[system]


def _links() -> Callable[[Breach], str | None]:
    """Where a rep opens the record: Salesforce's Lightning URL on the connection's host; HubSpot's app
    URL when the connection's extra names the portal (`portal_id`)."""
    from baton.connections import airflow_connection
    from baton.sources.registry import get_source

    hosts: dict[str, object] = {}

    def link(breach: Breach) -> str | None:
        system, record = breach.crm_system, breach.crm_record_id
        if system not in ("salesforce", "hubspot") or not record:
            return None
        if system not in hosts:
            hosts[system] = airflow_connection(get_source(system).connection_id)
        connection = hosts[system]
        if connection is None:
            return None
        if system == "salesforce":
            return f"{connection.base_url}/lightning/r/{breach.crm_object or 'Lead'}/{record}/view"
        portal = connection.extra.get("portal_id")
        return f"https://app.hubspot.com/contacts/{portal}/record/0-1/{record}" if portal else None

    return link


def new_breaches(warehouse_url: str, as_of) -> list[Breach]:
    """The hour's new breaches, each with its owner and record link: what an hourly digest posts.

    Reads the `_watch` schemas as this hour's build left them: the open handoffs overdue with no sales
    touch at `as_of`, begun within the lookback, that no earlier hour recorded in baton_meta.watch_tasks
    (with write-back off nothing is recorded, so every hour's list is the whole lookback's).
    """
    from baton.warehouse import connect
    from baton.watch.ledger import ensure
    from baton.watch.models import breaches

    instant = parse_instant(as_of)
    with connect(warehouse_url) as conn:
        ensure(conn)
        seen = {f"{breach_type}:{handoff_id}" for handoff_id, breach_type in conn.execute(
            "select handoff_id, breach_type from baton_meta.watch_tasks where first_as_of < %s", (instant,))}
        found = breaches(conn, instant, since=instant - settings.lookback())
    links = _links()
    return [replace(breach, record_url=links(breach)) for breach in found if breach.key not in seen]


# -- the whole hour ----------------------------------------------------------------------------------
def run_hour(warehouse_url: str, as_of, *, mode: str | None = None, out: Callable[[str], None] | None = None) -> dict:
    """Extract every configured source's watch streams, build, write: what `baton watch --at` runs."""
    from baton.sources.registry import source_names

    instant = parse_instant(as_of)
    mode = settings.write_back_mode(mode)  # a bad setting fails before any work
    started = time.monotonic()
    extracted = {}
    for source in source_names():
        loads = extract(source, instant, warehouse_url=warehouse_url)
        extracted[source] = None if loads is None else sum(load["loaded"] for load in loads)
    built = build_models(warehouse_url, instant)
    counts = write_back(warehouse_url, instant, mode=mode, out=out)
    counts.update(extracted=extracted, build_seconds=built["seconds"], seconds=round(time.monotonic() - started, 1))
    return counts


def task_write_back(warehouse_url: str, as_of) -> dict:
    """The DAG's write task: a failed write fails the task (Airflow retries it; the ledger keeps what
    was written), after every other breach of the hour was settled."""
    counts = write_back(warehouse_url, as_of)
    if counts["failed"]:
        raise WriteBackIncomplete(f"{counts['failed']} task(s) could not be written as of {counts['as_of']}; recorded in"
                                  " baton_meta.watch_tasks and retried by the next run")
    return counts
