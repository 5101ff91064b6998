"""Land one stream's records in its raw table: bounded memory, one transaction, nothing lost.

    with StreamLoader(url, "salesforce", "lead", shape) as loader:
        for record in records:
            loader.write(record)
        result = loader.commit()

Records are encoded as they arrive and COPYed in chunks into a temporary staging table (per
run, gone with the session, so a killed load leaves nothing behind). `commit()` then, in the
same transaction, upserts the staged rows into the raw table by id (a row whose content did
not change is not rewritten), writes the load log and moves the watermark. A record that
cannot land (not an object, no id, an unparsable timestamp, a value PostgreSQL refuses) goes
to `baton_meta.rejected_records` with its reason; extracted = loaded + rejected, always.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import orjson
import psycopg
from psycopg import sql

from baton import instants
from baton.instants import UnparsableInstant
from baton.load.schema import ensure_meta, ensure_raw_table, raw_schema

log = logging.getLogger(__name__)

CHUNK_RECORDS = 5_000
CHUNK_BYTES = 8 << 20
# A JSON \u0000 escape not itself escaped: jsonb refuses it ("unsupported Unicode escape sequence").
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


class Rejected(ValueError):
    """A record that cannot land; the message is the reason stored beside it."""


def parse_instant(value) -> datetime:
    """A vendor timestamp → aware UTC datetime (baton.instants), or Rejected with the reason."""
    try:
        return instants.parse_instant(value)
    except UnparsableInstant as error:
        raise Rejected(str(error)) from error


def _key_getter(key: str | Callable[[dict], object] | None):
    if key is None or callable(key):
        return key
    return lambda record: record.get(key)


@dataclass(frozen=True)
class RecordShape:
    """How the loader reads a stream's records: its id, its replication timestamp, its delete flag.

    `id` and `updated_at` are a top-level field name or a function of the record; `deleted`
    a function returning a bool; `clean` what to keep of the record (default: all of it).
    """

    id: str | Callable[[dict], object] = "id"
    updated_at: str | Callable[[dict], object] | None = None
    deleted: Callable[[dict], bool] | None = None
    clean: Callable[[dict], dict] | None = None


@dataclass
class LoadResult:
    load_id: str
    source: str
    stream: str
    extracted: int = 0
    loaded: int = 0
    rejected: int = 0
    changed: int = 0
    watermark: datetime | None = None
    status: str = "running"
    reasons: dict[str, int] = field(default_factory=dict)


def _copy_text(value: str) -> bytes:
    # COPY text format: backslash, tab, newline and carriage return must be escaped.
    return (value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r").encode())


def _payload_text(record) -> str:
    try:
        return orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(record, default=repr)[:1_000_000]


def new_load_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]


class StreamLoader:
    def __init__(self, url: str, source: str, stream: str, shape: RecordShape | None = None, *,
                 load_id: str | None = None, conn: psycopg.Connection | None = None):
        self.url = url
        self.source = source
        self.stream = stream
        self.shape = shape or RecordShape()
        self._id_of = _key_getter(self.shape.id)
        self._updated_at_of = _key_getter(self.shape.updated_at)
        self._deleted_of = self.shape.deleted
        self._clean = self.shape.clean
        self.result = LoadResult(load_id or new_load_id(), source, stream)
        self._conn = conn
        self._owns_conn = conn is None
        self._staging = sql.Identifier(f"baton_stage_{uuid.uuid4().hex[:12]}")
        self._raw = sql.Identifier(raw_schema(source), stream)
        self._lines: list[bytes] = []
        self._chunk_bytes = 0
        self._rejects: list[tuple] = []
        self._direct = False
        self._direct_rows = 0
        self._direct_suffix = b"\n"
        self._max_updated_at: datetime | None = None
        self._started_at = datetime.now(timezone.utc)
        self._open = False
        # COPY runs in a writer thread so PostgreSQL parses one chunk while Python encodes the
        # next; the queue holds at most two chunks, which bounds memory.
        self._jobs: queue.Queue = queue.Queue(maxsize=2)
        self._writer: threading.Thread | None = None
        self._writer_error: BaseException | None = None
        self._refused: list[tuple] = []

    # -- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> StreamLoader:
        self.open()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and self._open:
            self.fail(exc)
        self.close()

    def open(self) -> None:
        if self._conn is None:
            self._conn = psycopg.connect(self.url)
        conn = self._conn
        ensure_meta(conn)
        ensure_raw_table(conn, self.source, self.stream)
        conn.commit()
        # The staging table lives and dies with this transaction: a killed run leaves nothing.
        conn.execute(sql.SQL("""
            create temporary table {} (
                seq bigint generated always as identity, id text not null, data jsonb not null,
                source_updated_at timestamptz, is_deleted boolean not null
            ) on commit drop""").format(self._staging))
        # A first load into an empty raw table COPYs straight into it (same transaction, so still
        # all or nothing); the first id seen twice switches the rest of the run to staging + upsert.
        self._direct = conn.execute(sql.SQL("select not exists (select 1 from {})").format(self._raw)).fetchone()[0]
        loaded_at = conn.execute("select now()").fetchone()[0]
        self._direct_suffix = b"\t%s\t%s\n" % (loaded_at.isoformat().encode(), _copy_text(self.result.load_id))
        self._writer = threading.Thread(target=self._write_loop, name=f"baton-copy-{self.stream}", daemon=True)
        self._writer.start()
        self._open = True

    def close(self) -> None:
        if self._owns_conn and self._conn is not None:
            self._conn.close()
            self._conn = None
        self._open = False

    # -- records --------------------------------------------------------------------------
    def write(self, record) -> None:
        self.result.extracted += 1
        try:
            line = self._encode(record)
        except Rejected as reason:
            self._reject(record, str(reason))
            return
        self._lines.append(line)
        self._chunk_bytes += len(line)
        if len(self._lines) >= CHUNK_RECORDS or self._chunk_bytes >= CHUNK_BYTES:
            self._flush()

    def write_many(self, records: Iterable) -> None:
        """write() for each record, with the per-record work kept to locals (the hot loop of a load)."""
        encode = self._encode
        lines = self._lines
        size = self._chunk_bytes
        for record in records:
            self.result.extracted += 1
            try:
                line = encode(record)
            except Rejected as reason:
                self._reject(record, str(reason))
                continue
            lines.append(line)
            size += len(line)
            if size >= CHUNK_BYTES or len(lines) >= CHUNK_RECORDS:
                self._chunk_bytes = size
                self._flush()
                lines = self._lines
                size = 0
        self._chunk_bytes = size

    def _encode(self, record) -> bytes:
        """One record → one COPY line (without its end); raises Rejected with the reason."""
        if record.__class__ is not dict and not isinstance(record, dict):
            raise Rejected(f"not an object: {type(record).__name__}")
        try:
            raw_id = self._id_of(record)
        except Exception as error:  # a declaration's key function failing on a strange record
            raise Rejected(f"no id: {error}") from error
        if raw_id is None or raw_id == "" or isinstance(raw_id, (dict, list, bool)):
            raise Rejected("no id")
        record_id = raw_id if raw_id.__class__ is str else str(raw_id)
        if record_id.isalnum():
            key_text = record_id.encode()
        else:
            if "\x00" in record_id:
                raise Rejected("id contains a NUL character, which PostgreSQL text refuses")
            try:
                key_text = _copy_text(record_id)
            except UnicodeEncodeError as error:
                raise Rejected(f"id is not valid UTF-8: {error.reason}") from error
        updated_text = b"\\N"
        if self._updated_at_of is not None:
            raw_updated = self._updated_at_of(record)
            if raw_updated is None or raw_updated == "":
                raise Rejected("no replication timestamp")
            updated = None
            if raw_updated.__class__ is str and not raw_updated.isdigit():
                # Fast path: an ISO-8601 text with its offset goes to PostgreSQL as the vendor wrote it.
                try:
                    updated = datetime.fromisoformat(raw_updated)
                except ValueError as error:
                    raise Rejected(f"unparsable timestamp: {raw_updated!r}") from error
                if updated.tzinfo is None or "\\" in raw_updated or "\t" in raw_updated:
                    updated = None
                else:
                    updated_text = raw_updated.encode()
            if updated is None:
                updated = parse_instant(raw_updated)
                updated_text = updated.isoformat().encode()
            if self._max_updated_at is None or updated > self._max_updated_at:
                self._max_updated_at = updated
        deleted = b"t" if self._deleted_of is not None and self._deleted_of(record) else b"f"
        data = self._clean(record) if self._clean is not None else record
        try:
            payload = orjson.dumps(data)
        except (TypeError, orjson.JSONEncodeError) as error:
            raise Rejected(f"not representable as JSON: {error}") from error
        if b"\\u0000" in payload and _NUL_ESCAPE.search(payload):
            raise Rejected("contains a \\u0000 character, which PostgreSQL jsonb refuses")
        # Without its line end: direct and staged COPYs append different trailing columns.
        return b"%s\t%s\t%s\t%s" % (key_text, payload.replace(b"\\", b"\\\\"), updated_text, deleted)

    def _reject(self, record, reason: str, record_id: str | None = None) -> None:
        self.result.rejected += 1
        kind = reason.split(":")[0]
        self.result.reasons[kind] = self.result.reasons.get(kind, 0) + 1
        if record_id is None and isinstance(record, dict):
            try:
                candidate = self._id_of(record)
                record_id = None if candidate is None else str(candidate).replace("\x00", "")
            except Exception:
                record_id = None
        payload = _payload_text(record).replace("\x00", "")
        self._rejects.append((self.result.load_id, self.source, self.stream, record_id, reason, payload))
        if len(self._rejects) >= 1_000:
            self._flush_rejects()

    def _flush(self) -> None:
        if not self._lines:
            return
        self._put(("lines", self._lines))
        self._lines = []
        self._chunk_bytes = 0

    def _put(self, job) -> None:
        if self._writer_error is not None:
            raise self._writer_error
        self._jobs.put(job)

    def _write_loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if self._writer_error is not None:
                continue  # drain without work: the main thread will raise the first error
            kind, payload = job
            try:
                if kind == "lines":
                    self._copy_chunk(payload)
                else:
                    self._insert_rejects(payload)
            except BaseException as error:  # handed to the main thread at its next call
                self._writer_error = error

    def _drain(self) -> None:
        """Wait for the writer to finish every queued chunk; raise what it hit."""
        if self._writer is not None and self._writer.is_alive():
            self._jobs.put(None)
            self._writer.join()
        self._writer = None
        if self._refused:
            for reject in self._refused:
                self.result.rejected += 1
                kind = reject[4].split(":")[0]
                self.result.reasons[kind] = self.result.reasons.get(kind, 0) + 1
            self._insert_rejects(self._refused)
            self._refused = []
        if self._writer_error is not None:
            raise self._writer_error

    def _copy_chunk(self, lines: list[bytes]) -> None:
        try:
            self._copy_lines(lines)
        except psycopg.DataError:
            # The database refused something in the chunk: find it row by row, land the rest.
            for line in lines:
                try:
                    self._copy_lines([line])
                except psycopg.DataError as refused:
                    self._reject_line(line, f"refused by PostgreSQL: {refused.diag.message_primary or refused}")

    def _reject_line(self, line: bytes, reason: str) -> None:
        # Writer thread: counted into the result by _drain, on the main thread.
        key, payload = line.split(b"\t", 2)[:2]
        record = payload.replace(b"\\\\", b"\\").decode(errors="replace")
        self._refused.append((self.result.load_id, self.source, self.stream, key.decode(errors="replace"), reason,
                              record.replace("\x00", "")))

    def _copy_lines(self, lines: list[bytes]) -> None:
        conn = self._conn
        if self._direct:
            try:
                with conn.transaction():  # a savepoint: a refused chunk is undone alone
                    with conn.cursor() as cursor:
                        with cursor.copy(sql.SQL(
                                "copy {} (id, data, source_updated_at, is_deleted, _loaded_at, _load_id) from stdin"
                        ).format(self._raw)) as copy:
                            copy.write(self._direct_suffix.join(lines) + self._direct_suffix)
                        self._direct_rows += cursor.rowcount
                return
            except psycopg.errors.UniqueViolation:
                self._direct = False
        with conn.transaction():
            with conn.cursor().copy(sql.SQL("copy {} (id, data, source_updated_at, is_deleted) from stdin")
                                    .format(self._staging)) as copy:
                copy.write(b"\n".join(lines) + b"\n")

    def _flush_rejects(self) -> None:
        if not self._rejects:
            return
        self._put(("rejects", self._rejects))
        self._rejects = []

    def _insert_rejects(self, rejects: list[tuple]) -> None:
        with self._conn.cursor() as cursor:
            cursor.executemany(
                "insert into baton_meta.rejected_records (load_id, source, stream, record_id, reason, payload)"
                " values (%s, %s, %s, %s, %s, %s)", rejects)

    # -- the one transaction ---------------------------------------------------------------
    def commit(self, *, watermark: datetime | None = None, cursor: str | None = None,
               advance_watermark: bool = True,
               also: Callable[[psycopg.Connection, LoadResult], None] | None = None) -> LoadResult:
        """Upsert, log and move the watermark in one transaction; returns the counts.

        The new watermark is `watermark` if given, else the latest replication timestamp
        loaded; it never moves backwards. `also(conn, result)` runs inside the same transaction
        (e.g. flagging the leads a deleted-lead stream names).
        """
        self._flush()
        self._flush_rejects()
        self._drain()
        conn = self._conn
        result = self.result
        result.loaded = result.extracted - result.rejected
        result.changed = self._direct_rows + self._upsert(conn)
        if also is not None:
            also(conn, result)
        new_watermark = watermark if watermark is not None else self._max_updated_at
        if advance_watermark and (new_watermark is not None or cursor is not None):
            row = conn.execute("""
                insert into baton_meta.sync_state as s (source, stream, watermark, cursor, updated_at)
                values (%s, %s, %s, %s, now())
                on conflict (source, stream) do update set
                    watermark = greatest(s.watermark, excluded.watermark),
                    cursor = coalesce(excluded.cursor, s.cursor), updated_at = now()
                returning watermark""", (self.source, self.stream, new_watermark, cursor)).fetchone()
            result.watermark = row[0]
        result.status = "success"
        self._log(conn, "success", None)
        conn.commit()
        self._open = False
        return result

    def _upsert(self, conn) -> int:
        staged = self._staging
        duplicated = conn.execute(sql.SQL(
            "select exists (select 1 from {} group by id having count(*) > 1)").format(staged)).fetchone()[0]
        # The same id twice in one run (a record changed while paging): the last one read wins.
        source = (sql.SQL("(select distinct on (id) * from {} order by id, seq desc)").format(staged)
                  if duplicated else staged)
        cursor = conn.execute(sql.SQL("""
            insert into {raw} as r (id, data, source_updated_at, is_deleted, _loaded_at, _load_id)
            select id, data, source_updated_at, is_deleted, now(), %s from {source} s
            on conflict (id) do update set
                data = excluded.data, source_updated_at = excluded.source_updated_at,
                is_deleted = excluded.is_deleted, _loaded_at = excluded._loaded_at, _load_id = excluded._load_id
            where (r.data is distinct from excluded.data or r.is_deleted is distinct from excluded.is_deleted)
              and (r.source_updated_at is null or excluded.source_updated_at is null
                   or excluded.source_updated_at >= r.source_updated_at)
        """).format(raw=self._raw, source=source), (self.result.load_id,))
        return cursor.rowcount

    def _log(self, conn, status: str, error: str | None) -> None:
        result = self.result
        conn.execute("""
            insert into baton_meta.load_log (load_id, source, stream, started_at, finished_at, extracted,
                                             loaded, rejected, changed, status, error)
            values (%s, %s, %s, %s, now(), %s, %s, %s, %s, %s, %s)
            on conflict (load_id, source, stream) do update set finished_at = excluded.finished_at,
                extracted = excluded.extracted, loaded = excluded.loaded, rejected = excluded.rejected,
                changed = excluded.changed, status = excluded.status, error = excluded.error
        """, (result.load_id, self.source, self.stream, self._started_at, result.extracted, result.loaded,
              result.rejected, result.changed, status, error))

    def fail(self, error: BaseException | str) -> None:
        """Roll the run back (raw tables and watermark untouched) and log it as failed."""
        self.result.status = "failed"
        try:
            self._drain()
        except BaseException:  # the writer's own error: the run is failing anyway
            pass
        conn = self._conn
        if conn is None or conn.closed:
            return
        try:
            conn.rollback()
            self._log(conn, "failed", str(error)[:2_000])
            conn.commit()
        except psycopg.Error:
            log.warning("could not log the failed load of %s.%s", self.source, self.stream)
        self._open = False


def read_sync_state(url_or_conn, source: str, stream: str) -> tuple[datetime | None, str | None]:
    """The stream's watermark and cursor (None, None before its first load)."""
    def _read(conn):
        ensure_meta(conn)
        row = conn.execute("select watermark, cursor from baton_meta.sync_state where source = %s and stream = %s",
                           (source, stream)).fetchone()
        conn.commit()
        return (row[0], row[1]) if row else (None, None)

    if isinstance(url_or_conn, str):
        with psycopg.connect(url_or_conn) as conn:
            return _read(conn)
    return _read(url_or_conn)


def load_records(url: str, source: str, stream: str, records: Iterable, shape: RecordShape | None = None,
                 **commit_kwargs) -> LoadResult:
    """Load an iterable of records in one run (convenience over StreamLoader)."""
    with StreamLoader(url, source, stream, shape) as loader:
        loader.write_many(records)
        return loader.commit(**commit_kwargs)
