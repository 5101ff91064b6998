"""One build → gate → publish sequence at a time per warehouse: a lease in quality.warehouse_lease.

The sequence spans several Airflow tasks (often several processes), so a PostgreSQL session lock
cannot cover it. Instead `prepare` takes a lease: one row naming a random token, its owner (the
DAG run, the `baton run`, the process), when it was taken and the last heartbeat. Every later step
checks that its token still holds the lease and beats while it works; `publish` checks it inside
the swap's own transaction; the publish, a failed gate or a failed task releases it. A holder
that died (a killed worker, `kill -9`) stops beating: after `BATON_LEASE_STALE_SECONDS` (30 min)
without a heartbeat the next `prepare` takes the lease over; a `baton run` (all its steps in one
`airflow dags test` process) whose process is gone from this host is taken over at once. A second sequence waits up to
`BATON_LEASE_WAIT_SECONDS` (10 min) for the lease, then fails with "another run holds the
warehouse since ...", and nothing of the first run is touched.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from contextlib import contextmanager

from baton.build.publish import PublishRefused

log = logging.getLogger("baton.build.lease")

LEASE = "build_check_publish"
RUN_LOCK = "baton.run"  # the advisory lock a whole `baton run` holds on its warehouse
HEARTBEAT_SECONDS = 20
DDL = """
create schema if not exists quality;
create table if not exists quality.warehouse_lease (
    name          text primary key,
    token         text not null,
    owner         text not null,
    baton_run_id  text,
    acquired_at   timestamptz not null default now(),
    heartbeat_at  timestamptz not null default now(),
    step          text
);
alter table quality.warehouse_lease add column if not exists host text;
alter table quality.warehouse_lease add column if not exists pid integer;
"""


class WarehouseBusy(RuntimeError):
    """Another build → gate → publish sequence holds the warehouse; nothing was done."""


class LeaseLost(PublishRefused):
    """This sequence no longer holds the warehouse (it went stale and was taken over); nothing swapped."""


def wait_seconds() -> float:
    return float(os.environ.get("BATON_LEASE_WAIT_SECONDS", "600"))


def stale_seconds() -> float:
    return float(os.environ.get("BATON_LEASE_STALE_SECONDS", "1800"))


def default_owner() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()} ({uuid.uuid4().hex[:8]})"


def _ensure(conn) -> None:
    conn.execute("select pg_advisory_xact_lock(hashtext('baton.quality.ddl'))")
    conn.execute(DDL)


def _holder(row) -> str:
    token, owner, acquired_at, heartbeat_at, step = row[:5]
    return (f"another run holds the warehouse since {acquired_at:%Y-%m-%d %H:%M:%S %Z} ({owner}; step {step},"
            f" last heartbeat {heartbeat_at:%H:%M:%S %Z})")


def acquire(warehouse_url: str, *, owner: str | None = None, wait: float | None = None,
            stale: float | None = None, step: str = "prepare") -> str:
    """Take the lease (waiting up to `wait` seconds while someone else holds it); return its token.

    The same `owner` (a retried prepare of the same DAG run) takes its own lease back; a lease
    whose holder has not beaten for `stale` seconds is taken over.
    """
    from baton.warehouse import connect

    owner = owner or default_owner()
    wait = wait_seconds() if wait is None else wait
    stale = stale_seconds() if stale is None else stale
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait
    announced = False
    while True:
        with connect(warehouse_url) as conn:
            _ensure(conn)
            mine = (token, owner, os.environ.get("BATON_RUN_ID"), step, socket.gethostname(), os.getpid())
            taken = conn.execute(
                "insert into quality.warehouse_lease (token, owner, baton_run_id, step, host, pid, name)"
                " values (%s, %s, %s, %s, %s, %s, %s) on conflict (name) do nothing returning token",
                (*mine, LEASE)).fetchone()
            if taken:
                return token
            row = conn.execute(
                "select token, owner, acquired_at, heartbeat_at, step, now() - heartbeat_at > make_interval(secs => %s),"
                " baton_run_id, host, pid from quality.warehouse_lease where name = %s for update",
                (stale, LEASE)).fetchone()
            if row is not None and (row[1] == owner or row[5] or _died_here(row)):
                if row[1] != owner:
                    log.warning("taking over the lease of a run that is gone: %s", _holder(row))
                conn.execute("update quality.warehouse_lease set token = %s, owner = %s, baton_run_id = %s, step = %s,"
                             " host = %s, pid = %s, acquired_at = now(), heartbeat_at = now() where name = %s",
                             (*mine, LEASE))
                return token
        if row is None:
            continue  # released between the insert and the select: try again at once
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WarehouseBusy(f"{_holder(row)}; waited {wait:.0f}s, nothing done here "
                                f"(a holder that stops beating is taken over after {stale:.0f}s)")
        if not announced:
            log.warning("%s; waiting up to %.0fs", _holder(row), wait)
            announced = True
        time.sleep(min(2.0, remaining))


def _died_here(row) -> bool:
    """A `baton run`'s lease whose process (the one running all its steps) no longer exists on this host."""
    baton_run_id, host, pid = row[6:9]
    if not baton_run_id or host != socket.gethostname() or not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def verify(conn, token: str, step: str) -> None:
    """Raise LeaseLost unless `token` holds the lease; record the heartbeat and the step."""
    _ensure(conn)
    held = conn.execute("update quality.warehouse_lease set heartbeat_at = now(), step = %s, host = %s, pid = %s"
                        " where name = %s and token = %s returning 1",
                        (step, socket.gethostname(), os.getpid(), LEASE, token)).fetchone()
    if not held:
        row = conn.execute("select token, owner, acquired_at, heartbeat_at, step from quality.warehouse_lease"
                           " where name = %s", (LEASE,)).fetchone()
        raise LeaseLost(f"this run no longer holds the warehouse ({_holder(row) if row else 'nobody holds it'});"
                        f" {step} stopped, nothing published")


@contextmanager
def holding(warehouse_url: str, token: str, step: str):
    """Check the lease now, and keep beating while the step runs (a long dbt build)."""
    from baton.warehouse import connect

    with connect(warehouse_url, autocommit=True) as conn:
        verify(conn, token, step)
    stop = threading.Event()

    def beat():
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                with connect(warehouse_url, autocommit=True) as conn:
                    verify(conn, token, step)
            except LeaseLost as lost:
                log.error("%s", lost)
                return
            except Exception as error:  # a network blip: the next beat tries again
                log.warning("lease heartbeat failed: %s", error)

    beater = threading.Thread(target=beat, name=f"baton-lease-{step}", daemon=True)
    beater.start()
    try:
        yield token
    finally:
        stop.set()
        beater.join(timeout=5)


def release(warehouse_url: str, token: str | None) -> bool:
    """Give the lease back (if `token` still holds it)."""
    from baton.warehouse import connect

    if not token:
        return False
    with connect(warehouse_url, autocommit=True) as conn:
        _ensure(conn)
        return conn.execute("delete from quality.warehouse_lease where name = %s and token = %s returning 1",
                            (LEASE, token)).fetchone() is not None


def release_for_baton_run(warehouse_url: str, baton_run_id: str) -> bool:
    """`baton run` on its way out (finished, failed, interrupted): free a lease its Airflow run still holds."""
    from baton.warehouse import connect

    with connect(warehouse_url, autocommit=True) as conn:
        if conn.execute("select to_regclass('quality.warehouse_lease') is null").fetchone()[0]:
            return False
        return conn.execute("delete from quality.warehouse_lease where name = %s and baton_run_id = %s returning 1",
                            (LEASE, baton_run_id)).fetchone() is not None


@contextmanager
def warehouse_held_by_run(warehouse_url: str, description: str):
    """For the whole of one `baton run` (extract included): a session advisory lock on the warehouse.

    `baton run` is one process from start to end, so a session lock fits it: held on its own
    connection, gone with that connection if the process dies. A second run refuses at once,
    naming the holder; the lease above still guards each build → gate → publish sequence.
    """
    from baton.warehouse import connect

    conn = connect(warehouse_url, autocommit=True, application_name=description[:63])
    try:
        if not conn.execute("select pg_try_advisory_lock(hashtext(%s))", (RUN_LOCK,)).fetchone()[0]:
            holder = conn.execute("""
                select a.backend_start, a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid
                where l.locktype = 'advisory' and l.granted and l.database = (select oid from pg_database
                                                                              where datname = current_database())
                  and l.objid = hashtext(%s)::oid limit 1""", (RUN_LOCK,)).fetchone()
            since, name = holder if holder else (None, "another baton run")
            raise WarehouseBusy(f"another run holds the warehouse since "
                                f"{f'{since:%Y-%m-%d %H:%M:%S %Z}' if since else 'a moment ago'} ({name}); not started")
        yield conn
    finally:
        conn.close()
