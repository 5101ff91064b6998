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
to `baton_meta.rejected_records` with its reason. The counts are exact:

    extracted = loaded + rejected + duplicates + unchanged

loaded: distinct ids this load wrote (inserted or updated: the raw rows carrying its _load_id);
duplicates: records collapsed because the same id came again later in the load (the last wins);
unchanged: distinct ids not rewritten because the raw table held the same content or a newer
version (`stale` counts the latter).

A load holds a per-stream advisory lock for its whole life (two loads of one stream never
overlap) and writes a `started` row in the load log, committed on its own, before it reads a
record: a load killed mid-way leaves that row, which the next load of the stream closes as failed.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import orjson
import psycopg
from psycopg import sql

from baton import instants
from baton.forget import ERASED
from baton.forget import suppressed as _is_erased
from baton.instants import UnparsableInstant
from baton.load.schema import ensure_meta, ensure_raw_table, raw_schema

log = logging.getLogger(__name__)

CHUNK_RECORDS = 5_000
CHUNK_BYTES = 8 << 20
# A JSON \u0000 escape not itself escaped: jsonb refuses it ("unsupported Unicode escape sequence").
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


class Rejected(ValueError):
    """A record that cannot land; the message is the reason stored beside it."""


class StreamBusy(RuntimeError):
    """Another load of the same stream holds its lock."""


class Unreadable(dict):
    """A record that could not be read from its page (the client's tolerant reader): its reason and
    its raw text. An empty dict to the stream code around it, a reject to the loader."""

    __slots__ = ("reason", "text")

    def __init__(self, reason: str, text: str):
        super().__init__()
        self.reason = reason
        self.text = text


def safe_text(value, limit: int = 1_000_000) -> str:
    """Text PostgreSQL can always store: no NUL, no lone surrogate (both written as escapes)."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[:limit]
    text = text.replace("\x00", "\\u0000")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _json_failure(error: Exception) -> str:
    message = str(error)
    if "64-bit" in message:
        return "an integer beyond 64 bits, which Baton does not round to a float"
    if "surrogates" in message:
        return "a string with a lone surrogate (not valid Unicode)"
    if "Recursion" in message:
        return "nested too deeply (over 254 levels)"
    return f"not representable as JSON: {message}"


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
    loaded: int = 0       # distinct ids this load wrote (inserted or updated)
    rejected: int = 0
    duplicates: int = 0   # records collapsed into a later record of the same id in this load
    unchanged: int = 0    # distinct ids not rewritten: same content, or an older version (stale)
    stale: int = 0        # of unchanged: older than the version the raw table holds
    beyond_end: int = 0   # records whose replication timestamp lies after the window's end (landed)
    changed: int = 0      # = loaded (kept for the callers that read it)
    watermark: datetime | None = None
    status: str = "running"
    reasons: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _copy_text(value: str) -> bytes:
    # COPY text format: backslash, tab, newline and carriage return must be escaped.
    return (value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r").encode())


def _payload_text(record) -> str:
    if isinstance(record, Unreadable):
        return safe_text(record.text)
    try:
        return safe_text(orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS).decode())
    except (TypeError, orjson.JSONEncodeError):
        try:
            return safe_text(json.dumps(record, default=repr)[:1_000_000])
        except (ValueError, RecursionError):
            return safe_text(repr(record)[:1_000_000])


def new_load_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]


def _lock_wait_default() -> float:
    return float(os.environ.get("BATON_LOAD_LOCK_WAIT", "60"))


class StreamLoader:
    """`window_end`: the end of the window the run extracted; the watermark never passes it, and
    records stamped after it are counted (beyond_end) and named in a warning. `lock_wait`: seconds
    to wait for another load of the same stream before failing with StreamBusy."""

    def __init__(self, url: str, source: str, stream: str, shape: RecordShape | None = None, *,
                 load_id: str | None = None, conn: psycopg.Connection | None = None,
                 window_end: datetime | None = None, lock_wait: float | None = None):
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
        self._latest_beyond: datetime | None = None
        self._window_end = window_end
        self._lock_wait = _lock_wait_default() if lock_wait is None else lock_wait
        self._locked = False
        self.sync_state: tuple[datetime | None, str | None] = (None, None)
        self._started_at = datetime.now(timezone.utc)
        self._open = False
        # COPY runs in a writer thread so PostgreSQL parses one chunk while Python encodes the
        # next; the queue holds at most two chunks, which bounds memory.
        self._jobs: queue.Queue = queue.Queue(maxsize=2)
        self._writer: threading.Thread | None = None
        self._writer_error: BaseException | None = None
        self._refused: list[tuple] = []
        self._erased: frozenset[str] = frozenset()  # hashes of erased people's keys (baton.forget)

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
        self._lock()
        # Loads of this stream that never finished (killed, connection lost): we hold the stream's
        # lock, so none of them is still running.
        closed = conn.execute("""
            update baton_meta.load_log set status = 'failed', finished_at = clock_timestamp(),
                error = 'interrupted: the load never finished (process killed or connection lost);'
                        || ' closed by load ' || %s
            where source = %s and stream = %s and status = 'started' and load_id <> %s
            returning load_id""", (self.result.load_id, self.source, self.stream, self.result.load_id)).fetchall()
        if closed:
            self.warn(f"closed {len(closed)} interrupted load(s) of {self.source}.{self.stream} as failed: "
                      + ", ".join(row[0] for row in closed))
        # The `started` row commits on its own: a load killed from here on still leaves its trace.
        row = conn.execute("""
            insert into baton_meta.load_log (load_id, source, stream, started_at, status, window_end)
            values (%s, %s, %s, clock_timestamp(), 'started', %s)
            on conflict (load_id, source, stream) do update set started_at = excluded.started_at,
                finished_at = null, status = 'started', error = null, window_end = excluded.window_end
            returning started_at""", (self.result.load_id, self.source, self.stream, self._window_end)).fetchone()
        self._started_at = row[0]
        from baton.forget import PERSON_FIELDS, load_suppressions

        # A record of an erased person is set aside (reason `erased`) instead of landing again.
        if (self.source, self.stream) in PERSON_FIELDS:
            self._erased = load_suppressions(conn)
        # Read under the lock: no other load moves the watermark between here and commit.
        state = conn.execute("select watermark, cursor from baton_meta.sync_state where source = %s and stream = %s",
                             (self.source, self.stream)).fetchone()
        self.sync_state = (state[0], state[1]) if state else (None, None)
        conn.commit()
        # The staging table lives and dies with this transaction: a killed run leaves nothing.
        conn.execute(sql.SQL("""
            create temporary table {} (
                seq bigint generated always as identity, id text not null, data jsonb not null,
                source_updated_at timestamptz, is_deleted boolean not null
            ) on commit drop""").format(self._staging))
        # A first load into an empty raw table COPYs straight into it (same transaction, so still all
        # or nothing); the first id seen twice switches the rest of the run to staging + upsert.
        self._direct = conn.execute(sql.SQL("select not exists (select 1 from {})").format(self._raw)).fetchone()[0]
        self._direct_suffix = b"\t%s\n" % _copy_text(self.result.load_id)
        self._writer = threading.Thread(target=self._write_loop, name=f"baton-copy-{self.stream}", daemon=True)
        self._writer.start()
        self._open = True

    def _lock(self) -> None:
        """The stream's session advisory lock: waits up to lock_wait seconds, then StreamBusy."""
        conn = self._conn
        key = f"baton load {self.source}.{self.stream}"
        deadline = time.monotonic() + self._lock_wait
        while True:
            if conn.execute("select pg_try_advisory_lock(hashtext('baton load'), hashtext(%s))", (key,)).fetchone()[0]:
                conn.commit()
                self._locked = True
                return
            conn.commit()
            if time.monotonic() >= deadline:
                break
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())) or 0.05)
        holder = conn.execute("""
            select load_id, started_at from baton_meta.load_log
            where source = %s and stream = %s and status = 'started' order by started_at desc limit 1""",
                              (self.source, self.stream)).fetchone()
        conn.commit()
        since = f"since {holder[1].isoformat()} (load {holder[0]})" if holder else "(no started load logged)"
        raise StreamBusy(f"another run holds {self.source}.{self.stream} {since}; waited {self._lock_wait:g}s")

    def _unlock(self) -> None:
        if self._locked and self._conn is not None and not self._conn.closed:
            try:
                self._conn.rollback()
                self._conn.execute("select pg_advisory_unlock(hashtext('baton load'), hashtext(%s))",
                                   (f"baton load {self.source}.{self.stream}",))
                self._conn.commit()
            except psycopg.Error:
                pass  # the lock goes with the session
        self._locked = False

    def close(self) -> None:
        if self._open and self._conn is not None and not self._conn.closed:
            self.fail("closed without commit")
        self._unlock()
        if self._owns_conn and self._conn is not None:
            self._conn.close()
            self._conn = None
        self._open = False

    def warn(self, message: str) -> None:
        self.result.warnings.append(message)
        log.warning("%s.%s: %s", self.source, self.stream, message)

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
        if record.__class__ is not dict:
            if isinstance(record, Unreadable):
                raise Rejected(record.reason)
            if not isinstance(record, dict):
                raise Rejected(f"not an object: {type(record).__name__}")
        if self._erased and _is_erased(self.source, self.stream, record, self._erased):
            raise Rejected(ERASED)
        try:
            raw_id = self._id_of(record)
        except Exception as error:  # a declaration's key function failing on a strange record
            raise Rejected(f"no id: {error}") from error
        if raw_id is None or raw_id == "" or isinstance(raw_id, (dict, list, bool)):
            raise Rejected("no id")
        if raw_id.__class__ is str:
            record_id = raw_id
        elif isinstance(raw_id, float):
            raise Rejected(f"id is a floating-point number ({raw_id!r}): not an exact key")
        else:
            record_id = str(raw_id)
        if record_id.isalnum() and record_id.isascii():
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
                # Years 1 and 9999 may leave Python's range once converted to UTC: the slow path checks.
                if (updated.tzinfo is None or "\\" in raw_updated or "\t" in raw_updated
                        or not 1 < updated.year < 9999):
                    updated = None
                else:
                    updated_text = raw_updated.encode()
            if updated is None:
                updated = parse_instant(raw_updated)
                updated_text = updated.isoformat().encode()
            end = self._window_end
            if end is not None and updated > end:
                # Landed, but it moves no watermark: a stamp in the future would freeze the stream.
                self.result.beyond_end += 1
                if self._latest_beyond is None or updated > self._latest_beyond:
                    self._latest_beyond = updated
            elif self._max_updated_at is None or updated > self._max_updated_at:
                self._max_updated_at = updated
        deleted = b"t" if self._deleted_of is not None and self._deleted_of(record) else b"f"
        data = self._clean(record) if self._clean is not None else record
        try:
            payload = orjson.dumps(data)
        except (TypeError, orjson.JSONEncodeError) as error:
            raise Rejected(_json_failure(error)) from error
        if b"\\u0000" in payload and _NUL_ESCAPE.search(payload):
            raise Rejected("contains a \\u0000 character, which PostgreSQL jsonb refuses")
        # Without its line end: direct and staged COPYs append different trailing columns.
        return b"%s\t%s\t%s\t%s" % (key_text, payload.replace(b"\\", b"\\\\"), updated_text, deleted)

    def _reject(self, record, reason: str, record_id: str | None = None) -> None:
        self.result.rejected += 1
        kind = reason.split(":")[0]
        self.result.reasons[kind] = self.result.reasons.get(kind, 0) + 1
        if reason == ERASED:  # an erased person: neither their record nor its id is kept
            record_id, payload = None, None
        else:
            if record_id is None:
                record_id = self._reject_id(record)
            payload = _payload_text(record)
        self._rejects.append((self.result.load_id, self.source, self.stream,
                              None if record_id is None else safe_text(record_id, 1_000), safe_text(reason, 10_000),
                              payload))
        if len(self._rejects) >= 1_000:
            self._flush_rejects()

    def _reject_id(self, record) -> str | None:
        """The id of a rejected record when one can be read (from its raw text if it was unreadable)."""
        try:
            if isinstance(record, Unreadable):
                if isinstance(self.shape.id, str):
                    pattern = '"' + re.escape(self.shape.id) + r'"\s*:\s*("(?:[^"\\]|\\.){0,200}"|-?[0-9]{1,40})'
                    found = re.search(pattern, record.text)
                    return found.group(1).strip('"') if found else None
                return None
            if isinstance(record, dict):
                candidate = self._id_of(record)
                return None if candidate is None else str(candidate)
        except Exception:
            return None
        return None

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
        self._refused.append((self.result.load_id, self.source, self.stream, safe_text(key.decode(errors="replace")),
                              safe_text(reason), safe_text(record)))

    def _copy_lines(self, lines: list[bytes]) -> None:
        conn = self._conn
        if self._direct:
            # _loaded_at: the real time this chunk is written (every record in it was read before).
            suffix = b"\t" + datetime.now(timezone.utc).isoformat().encode() + self._direct_suffix
            try:
                with conn.transaction():  # a savepoint: a refused chunk is undone alone
                    with conn.cursor() as cursor:
                        with cursor.copy(sql.SQL(
                                "copy {} (id, data, source_updated_at, is_deleted, _loaded_at, _load_id) from stdin"
                        ).format(self._raw)) as copy:
                            copy.write(suffix.join(lines) + suffix)
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
        statement = ("insert into baton_meta.rejected_records (load_id, source, stream, record_id, reason, payload,"
                     " rejected_at) values (%s, %s, %s, %s, %s, %s, clock_timestamp())")
        try:
            with self._conn.transaction():
                with self._conn.cursor() as cursor:
                    cursor.executemany(statement, rejects)
        except psycopg.DataError:
            # Storing a reject must never fail the load: one by one, the payload as a safe escape.
            for reject in rejects:
                try:
                    with self._conn.transaction():
                        self._conn.execute(statement, reject)
                except psycopg.DataError as refused:
                    safe = (*reject[:5], "unstorable payload (" + safe_text(refused.diag.message_primary or refused)
                            + "): " + reject[5].encode("ascii", "backslashreplace").decode("ascii")
                            .replace("\x00", "\\u0000"))
                    with self._conn.transaction():
                        self._conn.execute(statement, safe)

    # -- the one transaction ---------------------------------------------------------------
    def commit(self, *, watermark: datetime | None = None, cursor: str | None = None,
               advance_watermark: bool = True, repair_from: datetime | None = None,
               also: Callable[[psycopg.Connection, LoadResult], None] | None = None) -> LoadResult:
        """Upsert, log and move the watermark in one transaction; returns the counts.

        The new watermark is `watermark` if given, else the latest replication timestamp
        loaded up to the window's end; it never passes the window's end, and it never moves
        backwards — except to repair a stored watermark in the future: `repair_from` (where the
        run read from) then replaces it. `also(conn, result)` runs inside the same transaction
        (e.g. flagging the leads a deleted-lead stream names).
        """
        self._flush()
        self._flush_rejects()
        self._drain()
        conn = self._conn
        result = self.result
        self._upsert(conn)
        result.changed = result.loaded
        if also is not None:
            also(conn, result)
        end = self._window_end
        new_watermark = watermark if watermark is not None else self._max_updated_at
        if end is not None and new_watermark is not None and new_watermark > end:
            new_watermark = end
        if result.beyond_end:
            self.warn(f"{result.beyond_end} record(s) stamped after the window's end {end.isoformat()}"
                      f" (latest {self._latest_beyond.isoformat()}): landed; the watermark does not follow them")
        if advance_watermark and (new_watermark is not None or cursor is not None or repair_from is not None):
            row = conn.execute("""
                insert into baton_meta.sync_state as s (source, stream, watermark, cursor, updated_at)
                values (%(source)s, %(stream)s, %(watermark)s, %(cursor)s, clock_timestamp())
                on conflict (source, stream) do update set
                    watermark = greatest(coalesce(%(repair)s, s.watermark), excluded.watermark),
                    cursor = coalesce(excluded.cursor, s.cursor), updated_at = clock_timestamp()
                returning watermark""", {"source": self.source, "stream": self.stream, "watermark": new_watermark,
                                         "cursor": cursor, "repair": repair_from}).fetchone()
            result.watermark = row[0]
        result.status = "success"
        self._log(conn, "success", None)
        conn.commit()
        self._open = False
        return result

    def _upsert(self, conn) -> None:
        """Staged rows into the raw table; sets loaded, duplicates, unchanged and stale exactly."""
        result = self.result
        accepted = result.extracted - result.rejected
        staged = self._staging
        staged_rows = conn.execute(sql.SQL("select count(*) from {}").format(staged)).fetchone()[0]
        if not staged_rows:
            result.loaded = self._direct_rows
            result.duplicates = accepted - self._direct_rows
            return
        # The same id twice in one run (a record changed while paging): the last one read wins.
        # A stored version counts no later than when it was loaded: a future-dated one cannot shield
        # its record from the real versions that follow.
        counts = conn.execute(sql.SQL("""
            with src as materialized (select distinct on (id) id, data, source_updated_at, is_deleted
                                      from {staged} order by id, seq desc),
            prior as materialized (
                select s.id, r._load_id = %(load)s as same_load,
                       (r.data = s.data and r.is_deleted = s.is_deleted) as identical
                from src s join {raw} r on r.id = s.id),
            written as (
                insert into {raw} as r (id, data, source_updated_at, is_deleted, _loaded_at, _load_id)
                select id, data, source_updated_at, is_deleted, clock_timestamp(), %(load)s from src
                on conflict (id) do update set
                    data = excluded.data, source_updated_at = excluded.source_updated_at,
                    is_deleted = excluded.is_deleted, _loaded_at = excluded._loaded_at, _load_id = excluded._load_id
                where (r.data is distinct from excluded.data or r.is_deleted is distinct from excluded.is_deleted)
                  and (r.source_updated_at is null or excluded.source_updated_at is null
                       or excluded.source_updated_at >= least(r.source_updated_at, r._loaded_at))
                returning r.id)
            select (select count(*) from src),
                   (select count(*) from written),
                   (select count(*) from prior where same_load),
                   (select count(*) from written w join prior p on p.id = w.id where p.same_load),
                   (select count(*) from prior p where not p.same_load and not p.identical
                                                  and not exists (select 1 from written w where w.id = p.id))
        """).format(staged=staged, raw=self._raw), {"load": result.load_id}).fetchone()
        distinct_staged, written, same_load, written_same_load, stale = counts
        distinct_ids = self._direct_rows + distinct_staged - same_load
        result.loaded = self._direct_rows + written - written_same_load
        result.duplicates = accepted - distinct_ids
        result.unchanged = distinct_ids - result.loaded
        result.stale = stale

    def _log(self, conn, status: str, error: str | None) -> None:
        result = self.result
        conn.execute("""
            insert into baton_meta.load_log (load_id, source, stream, started_at, finished_at, extracted,
                                             loaded, rejected, changed, duplicates, unchanged, stale, beyond_end,
                                             window_end, status, error, warnings)
            values (%s, %s, %s, %s, clock_timestamp(), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            on conflict (load_id, source, stream) do update set finished_at = excluded.finished_at,
                extracted = excluded.extracted, loaded = excluded.loaded, rejected = excluded.rejected,
                changed = excluded.changed, duplicates = excluded.duplicates, unchanged = excluded.unchanged,
                stale = excluded.stale, beyond_end = excluded.beyond_end, window_end = excluded.window_end,
                status = excluded.status, error = excluded.error, warnings = excluded.warnings
        """, (result.load_id, self.source, self.stream, self._started_at, result.extracted, result.loaded,
              result.rejected, result.changed, result.duplicates, result.unchanged, result.stale, result.beyond_end,
              self._window_end, status, None if error is None else safe_text(error, 2_000),
              safe_text("\n".join(result.warnings), 10_000) if result.warnings else None))

    def fail(self, error: BaseException | str) -> None:
        """Roll the run back (raw tables and watermark untouched) and log it as failed."""
        self.result.status = "failed"
        try:
            self._drain()
        except BaseException:  # the writer's own error: the run is failing anyway
            pass
        conn = self._conn
        self._open = False
        if conn is None or conn.closed:
            return
        try:
            conn.rollback()
            # Counts of a rolled-back load: nothing was loaded.
            self.result.loaded = self.result.changed = 0
            self._log(conn, "failed", str(error))
            conn.commit()
        except psycopg.Error:
            log.warning("could not log the failed load of %s.%s", self.source, self.stream)


def stream_loader(url: str, source: str, stream: str, shape: RecordShape | None = None, **kwargs) -> StreamLoader:
    """The loader for the warehouse's engine: StreamLoader on PostgreSQL, its engine twin on DuckDB or
    Spark (baton.engines: same record rules and counts, the engine's own storage)."""
    from baton.engines import engine_for, is_postgres

    if is_postgres(url):
        return StreamLoader(url, source, stream, shape, **kwargs)
    return engine_for(url).stream_loader(source, stream, shape, **kwargs)


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
    with stream_loader(url, source, stream, shape) as loader:
        loader.write_many(records)
        return loader.commit(**commit_kwargs)
