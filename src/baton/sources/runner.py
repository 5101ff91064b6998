"""Run a source's streams into the warehouse: the one function the DAGs and `baton extract` share.

    run_source("salesforce", connection_fields, warehouse_url, end=interval_end)

For each stream: read its watermark, extract [watermark (or the backfill start), end] through
the vendor client, land it with the loader (one transaction per stream: rows, load log,
watermark). A stream that fails, whatever the error, is rolled back and named with its error in
the SourceRunError raised at the end; the other streams still run and land. Credentials the
vendor refuses fail the source at once: its remaining streams are not tried (each would fail the
same way) and are named as not run.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from datetime import datetime, timezone

import psycopg

from baton.connections import ConnectionFields, airflow_connection
from baton.instants import parse_instant
from baton.load.loader import LoadResult, new_load_id, stream_loader
from baton.sources.api import CredentialError, RetryPolicy, redact
from baton.sources.base import Stream, Window, utc
from baton.sources.registry import get_source

log = logging.getLogger(__name__)

DEFAULT_START = "2026-01-01T00:00:00+00:00"
FULL_HISTORY = datetime(2000, 1, 1, tzinfo=timezone.utc)


class SourceRunError(RuntimeError):
    def __init__(self, source: str, failures: dict[str, str], results: list[LoadResult]):
        self.failures = failures
        self.results = results
        named = "; ".join(f"{source}.{stream}: {reason}" for stream, reason in failures.items())
        super().__init__(redact(f"{source}: {len(failures)} stream(s) failed: {named}"))


def start_date() -> datetime:
    """The backfill start of a first run: BATON_START_DATE (ISO date or instant), default 2026-01-01."""
    return parse_instant(os.environ.get("BATON_START_DATE") or DEFAULT_START)


def source_connection(source: str) -> ConnectionFields:
    conn_id = get_source(source).connection_id
    fields = airflow_connection(conn_id)
    if fields is None:
        raise LookupError(f"connection {conn_id!r} is not configured (AIRFLOW_CONN_{conn_id.upper()},"
                          " a secrets backend or Airflow's connection store)")
    return fields


def run_source(source: str, connection: ConnectionFields, warehouse_url: str, start: datetime | None = None,
               end: datetime | None = None, *, streams: Sequence[str] | None = None, progress: bool = False,
               policy: RetryPolicy | None = None, load_id: str | None = None, full_refresh: bool = False,
               since: datetime | None = None) -> list[LoadResult]:
    """Extract and load the source's streams (all, or those named) up to `end` (default: now).

    A run may ignore the watermarks: `full_refresh` reads every stream as on its first run (from the
    backfill start), `since` from that instant. Watermarks never move back (the loader keeps the later).
    """
    declared = {stream.name: stream for stream in get_source(source).streams}
    wanted = list(streams) if streams else list(declared)
    unknown = [name for name in wanted if name not in declared]
    if unknown:
        raise ValueError(f"{source}: unknown stream(s) {', '.join(unknown)}")
    end = utc(end) if end else datetime.now(timezone.utc)
    backfill_from = utc(start) if start else start_date()
    load_id = load_id or new_load_id()
    client = get_source(source).client_from_connection(connection, policy=policy)
    results: list[LoadResult] = []
    failures: dict[str, str] = {}
    refused: CredentialError | None = None
    try:
        for name in wanted:
            stream = declared[name]
            if refused is not None:
                failures[name] = f"not run: the credentials were refused ({refused})"
                continue
            try:
                results.append(run_stream(source, stream, client, warehouse_url, backfill_from, end,
                                          progress=progress, load_id=load_id, failed=failures,
                                          full_refresh=full_refresh, since=utc(since) if since else None))
            except CredentialError as error:
                refused = error
                failures[name] = redact(str(error))
                log.error("%s.%s failed: %s", source, name, failures[name])
            except Exception as error:  # one stream's failure, whatever it is, never stops the others
                failures[name] = redact(f"{type(error).__name__}: {error}" if not str(error) else str(error))
                log.error("%s.%s failed, rolled back: %s", source, name, failures[name])
    finally:
        client.close()
    if failures:
        raise SourceRunError(source, failures, results)
    return results


def run_stream(source: str, stream: Stream, client, warehouse_url: str, backfill_from: datetime, end: datetime,
               *, progress: bool = False, load_id: str | None = None, failed: dict[str, str] | None = None,
               full_refresh: bool = False, since: datetime | None = None) -> LoadResult:
    first_since = FULL_HISTORY if stream.full_backfill else backfill_from
    bar = _progress_bar(f"{source}.{stream.name}", progress)
    with stream_loader(warehouse_url, source, stream.name, stream.shape, load_id=load_id, window_end=end) as loader:
        watermark, _cursor = loader.sync_state
        repair_from = None
        # After the run's end and after the present: no run could have set it but a future-dated
        # record (a watermark after the end alone is a rerun of an older interval: read nothing).
        if watermark is not None and watermark > end and watermark > datetime.now(timezone.utc):
            repaired = _repaired_watermark(loader._conn, source, stream.name, end)
            repair_from = min(repaired or first_since, end)
            loader.warn(f"stored watermark {watermark.isoformat()} is in the future, after this run's end"
                        f" {end.isoformat()} (a future-dated record moved it): repaired, reading from"
                        f" {repair_from.isoformat()}")
            watermark = repair_from if repaired is not None else None
        window = Window(since=watermark or first_since, end=end, first_run=watermark is None,
                        warehouse_url=warehouse_url)
        if full_refresh:  # the run asked to ignore the watermark: read as a first run does
            window.since, window.first_run = first_since, True
        elif since is not None:
            window.since, window.first_run = since, False
        stream.before_run(source, window, failed or {})
        if window.since <= window.end:
            loader.write_many(_counted(stream.records(client, window), bar))
        bar.close()
        result = loader.commit(watermark=window.notes.get("watermark"), repair_from=repair_from,
                               also=lambda conn, res: stream.after_load(conn, res, window))
    log.info("%s.%s: extracted %d, loaded %d, rejected %d, duplicates %d, unchanged %d, watermark %s", source,
             stream.name, result.extracted, result.loaded, result.rejected, result.duplicates, result.unchanged,
             result.watermark.isoformat() if result.watermark else "-")
    return result


def _repaired_watermark(conn: psycopg.Connection, source: str, stream: str, end: datetime) -> datetime | None:
    """The latest replication timestamp landed that was neither after the run's end nor after the
    moment it was landed: where the stream really stood before a future-dated record moved it."""
    from psycopg import sql

    from baton.load.schema import raw_schema

    if not isinstance(conn, psycopg.Connection):  # DuckDB, Spark (baton.engines)
        return conn.execute(f"select max(source_updated_at) from {raw_schema(source)}.{stream}"
                            " where source_updated_at <= least(%s, _loaded_at)", (end,)).fetchone()[0]
    row = conn.execute(sql.SQL("select max(source_updated_at) from {} where source_updated_at <= least(%s, _loaded_at)")
                       .format(sql.Identifier(raw_schema(source), stream)), (end,)).fetchone()
    return row[0]


def _counted(records, bar, every: int = 500):
    """Pass records through, moving the progress bar every `every` records."""
    unreported = 0
    for record in records:
        yield record
        unreported += 1
        if unreported == every:
            bar.update(unreported)
            unreported = 0
    bar.update(unreported)


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(name: str, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(desc=name, unit=" rec", dynamic_ncols=True)


def stages_of(source: str) -> tuple[tuple[str, ...], ...]:
    """Streams in the order their DAG runs them (Marketo's lead stream reads the lead ids the
    activity stream landed)."""
    return get_source(source).stream_stages()


def summary(result: LoadResult) -> dict:
    """A load's counts as plain JSON (what a DAG task returns to XCom)."""
    return {"source": result.source, "stream": result.stream, "load_id": result.load_id,
            "extracted": result.extracted, "loaded": result.loaded, "rejected": result.rejected,
            "duplicates": result.duplicates, "unchanged": result.unchanged, "stale": result.stale,
            "beyond_end": result.beyond_end, "changed": result.changed, "status": result.status,
            "warnings": list(result.warnings),
            "watermark": result.watermark.isoformat() if result.watermark else None}


def run_for_task(source: str, streams: Sequence[str] | None, connection: ConnectionFields, warehouse_url: str,
                 end, *, full_refresh: bool = False, since: datetime | None = None) -> list[dict]:
    """A DAG task's body: these streams of the source (None: all) up to the data interval's end."""
    results = run_source(source, connection, warehouse_url, end=parse_instant(end), streams=streams,
                         full_refresh=full_refresh, since=since)
    return [summary(result) for result in results]
