"""What DuckDB and Spark share: the engine lock, a psycopg-shaped connection, raw landing, blue/green publish.

Raw landing (`EngineStreamLoader`) is baton.load.loader.StreamLoader with its storage swapped:
the record rules (what is rejected and why, ids, timestamps, the window's end, the watermark) are
the loader's own `_encode`/`commit` logic, unchanged; only where rows go differs. Records are
staged as JSON lines in a file of the load (the raw records as the engine reads them), then the
engine lands the whole load at once: DuckDB in one transaction, Spark as a new table version
swapped in (baton.engines.spark). Rejects, the load log and the watermark land with the data.

Publish is blue/green: dbt builds into the colour not live (marts_blue or marts_green, the schema
suffix), the gate checks it, and `publish` points the contract's `marts.<name>` views at it
(DuckDB: one transaction; Spark: one metastore call per view). The state of each colour is a row
in baton_meta.generations (built, published, previous), as the PostgreSQL publish keeps it in
schema comments.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from baton.load.loader import StreamLoader

log = logging.getLogger("baton.engines")

DBT_SCHEMAS = ("staging", "intermediate", "marts")
COLOURS = ("_blue", "_green")
_PARAM = re.compile(r"%\((\w+)\)s|%s")


class EngineBusy(RuntimeError):
    """Another process holds the engine (a DuckDB file or a Spark lake) longer than we wait."""


def lock_wait_seconds() -> float:
    return float(os.environ.get("BATON_ENGINE_LOCK_WAIT", "600"))


class FileLock:
    """An exclusive flock on a file beside the database; waits, then EngineBusy naming the holder."""

    def __init__(self, path: Path, what: str):
        self.path = path
        self.what = what
        self._file = None
        self.depth = 0

    def acquire(self, wait: float | None = None) -> None:
        if self.depth:
            self.depth += 1
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        deadline = time.monotonic() + (lock_wait_seconds() if wait is None else wait)
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    handle.close()
                    raise EngineBusy(f"{self.what} is held by {holder}; waited {lock_wait_seconds():g}s"
                                     " (BATON_ENGINE_LOCK_WAIT)") from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S UTC}\n")
        handle.flush()
        self._file = handle
        self.depth = 1

    def release(self) -> None:
        if not self.depth:
            return
        self.depth -= 1
        if self.depth == 0 and self._file is not None:
            self._file.truncate(0)
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value, backslash: bool = False) -> str:
    """A SQL literal; `backslash`: the engine reads backslash escapes in strings (Spark), else quotes double."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return f"timestamp '{value.astimezone(timezone.utc).strftime('%Y-%m-%d %H:%M:%S.%f')}'"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(literal(item, backslash) for item in value) + ")"
    if backslash:
        return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"
    return "'" + str(value).replace("'", "''") + "'"


def inline(statement: str, params=None, backslash: bool = False) -> str:
    """psycopg's %s / %(name)s placeholders filled with literals."""
    if not params:
        return statement
    if isinstance(params, dict):
        return _PARAM.sub(lambda m: literal(params[m.group(1)], backslash), statement)
    values = iter(params)
    return _PARAM.sub(lambda m: literal(next(values), backslash), statement)


class Result:
    """A finished query's rows, with psycopg's cursor reading methods."""

    def __init__(self, rows: list[tuple], columns: list[str] | None = None):
        self.rows = rows
        self.description = [(name,) for name in (columns or [])]
        self.rowcount = len(rows)

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def fetchall(self):
        return list(self.rows)

    def __iter__(self):
        return iter(self.rows)


@dataclass(frozen=True)
class Generation:
    colour: str
    state: str  # building, built, published, previous
    build_id: str
    as_of: str


class Engine:
    """The interface every engine module implements; shared logic lives here."""

    kind = "engine"
    logs_started = True  # a load writes a `started` row before reading a record (as on PostgreSQL)

    def __init__(self, url: str):
        self.url = url

    # -- connections -------------------------------------------------------------------------
    def connect(self):
        raise NotImplementedError

    def schema_exists(self, conn, schema: str) -> bool:
        raise NotImplementedError

    def relations(self, conn, schema: str) -> dict[str, str]:
        """name -> 'table' or 'view' of every relation in the schema."""
        raise NotImplementedError

    def drop_schema(self, conn, schema: str) -> None:
        raise NotImplementedError

    def exists(self, conn, schema: str, table: str | None = None) -> bool:
        if not self.schema_exists(conn, schema):
            return False
        return table is None or table in self.relations(conn, schema)

    def frame(self, conn, statement: str):
        """A query's result as a pandas DataFrame (the gate's and the comparisons' reader)."""
        raise NotImplementedError

    # -- meta --------------------------------------------------------------------------------
    def ensure_meta(self, conn) -> None:
        raise NotImplementedError

    def ensure_raw_table(self, conn, source: str, stream: str) -> None:
        raise NotImplementedError

    def ensure_raw_tables(self) -> None:
        from baton.sources.registry import sources

        with self.connect() as conn:
            self.ensure_meta(conn)
            for source in sources().values():
                for stream in source.stream_names:
                    self.ensure_raw_table(conn, source.name, stream)
            conn.commit()

    def replace_rows(self, conn, table: str, where: str, rows: list[dict]) -> None:
        """Delete the rows of baton_meta.<table> matching `where` and add `rows`, in the load's unit."""
        raise NotImplementedError

    def stream_loader(self, source: str, stream: str, shape=None, **kwargs) -> StreamLoader:
        raise NotImplementedError

    # -- generations, blue/green ---------------------------------------------------------------
    def generations(self, conn) -> dict[str, Generation]:
        self.ensure_meta(conn)
        rows = conn.execute("select colour, state, build_id, as_of from baton_meta.generations").fetchall()
        return {row[0]: Generation(*row) for row in rows}

    def write_generation(self, conn, generation: Generation) -> None:
        self.replace_rows(conn, "generations", f"colour = {literal(generation.colour)}",
                          [{"colour": generation.colour, "state": generation.state, "build_id": generation.build_id,
                            "as_of": generation.as_of, "updated_at": datetime.now(timezone.utc)}])

    def live_colour(self, conn) -> str | None:
        return next((colour for colour, g in self.generations(conn).items() if g.state == "published"), None)

    def build_colour(self, conn) -> str:
        """The colour the next build writes: the one not live."""
        live = self.live_colour(conn)
        return COLOURS[1] if live == COLOURS[0] else COLOURS[0]

    def prepare_shadow(self) -> dict:
        """Before a build: the build colour is kept only if it holds the previously published generation
        (its incremental models catch up); otherwise it is dropped and the build starts clean."""
        with self.connect() as conn:
            colour = self.build_colour(conn)
            generation = self.generations(conn).get(colour)
            dropped, kept = [], []
            for schema in DBT_SCHEMAS:
                name = schema + colour
                if not self.schema_exists(conn, name):
                    continue
                if generation is None or generation.state != "previous":
                    self.drop_schema(conn, name)
                    dropped.append(name)
                else:
                    kept.append(name)
            self.write_generation(conn, Generation(colour, "building", generation.build_id if generation else "-",
                                                   generation.as_of if generation else "-"))
            conn.commit()
        if dropped:
            log.warning("%s: %s held an unpublished or unfinished build; dropped, this build starts clean",
                        self.kind, ", ".join(dropped))
        return {"dropped": dropped, "kept": kept, "full_refresh": bool(dropped) or not kept, "suffix": colour}

    def shadow_suffix(self) -> str:
        """The schema suffix of the build in progress (or built, waiting for its gate)."""
        with self.connect() as conn:
            for colour, generation in self.generations(conn).items():
                if generation.state in ("building", "built"):
                    return colour
            return self.build_colour(conn)

    def mark_built(self, *, as_of: str, build_id: str | None = None, manifest_path=None) -> str:
        build_id = build_id or uuid.uuid4().hex[:12]
        with self.connect() as conn:
            colour = self.shadow_suffix()
            if manifest_path is not None:
                self._drop_stray(conn, manifest_path, colour)
            self.write_generation(conn, Generation(colour, "built", build_id, as_of))
            conn.commit()
        return build_id

    def _drop_stray(self, conn, manifest_path, colour: str) -> None:
        from baton.build.publish import built_relations

        expected = {(schema, name) for schema, name in built_relations(manifest_path)}
        for schema in DBT_SCHEMAS:
            name = schema + colour
            if not self.schema_exists(conn, name) or not any(s == name for s, _ in expected):
                continue
            for relation, kind in self.relations(conn, name).items():
                if (name, relation) not in expected:
                    conn.execute(f"drop {kind} if exists {self.ident(name)}.{self.ident(relation)}")
                    log.warning("dropped %s.%s: the current project no longer builds it", name, relation)

    def ident(self, name: str) -> str:
        return quote(name)

    def read_published(self, conn) -> Generation | None:
        return next((g for g in self.generations(conn).values() if g.state == "published"), None)

    def publish(self) -> dict:
        """Point every contract view marts.<name> at the built colour, then stamp the colours."""
        from baton.build.publish import PublishRefused

        with self.connect() as conn:
            generations = self.generations(conn)
            built = next((g for g in generations.values() if g.state == "built"), None)
            if built is None:
                live = self.read_published(conn)
                raise PublishRefused(f"no freshly built generation on {self.kind} (live: "
                                     f"{f'build {live.build_id} as of {live.as_of}' if live else 'none'}); nothing swapped")
            source = "marts" + built.colour
            names = sorted(self.relations(conn, source)) if self.schema_exists(conn, source) else []
            if not names:
                raise PublishRefused(f"{source} holds no relation to publish; nothing swapped")
            self.swap_views(conn, source, names)
            for colour, generation in generations.items():
                if generation.state == "published" and colour != built.colour:
                    self.write_generation(conn, Generation(colour, "previous", generation.build_id, generation.as_of))
            self.write_generation(conn, Generation(built.colour, "published", built.build_id, built.as_of))
            conn.commit()
        log.info("%s: published build %s (as of %s) from %s: %d marts", self.kind, built.build_id, built.as_of,
                 source, len(names))
        log.info("%s: grants, masked views and row policies are PostgreSQL features: skipped (docs/engines.md)",
                 self.kind)
        return {"build_id": built.build_id, "as_of": built.as_of, "schemas": ["marts"], "colour": built.colour,
                "published_at": datetime.now(timezone.utc).isoformat()}

    def swap_views(self, conn, source: str, names: list[str]) -> None:
        raise NotImplementedError


class EngineConnection:
    """psycopg's connection shape over an engine (execute with %s params, commit, context manager)."""

    def __init__(self, lock: FileLock | None):
        self._lock = lock
        self.closed = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.rollback()
        self.close()

    def execute(self, statement: str, params=None) -> Result:
        raise NotImplementedError

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        if not self.closed and self._lock is not None:
            self._lock.release()
        self.closed = True

    @contextmanager
    def transaction(self):
        yield self


# -- raw landing --------------------------------------------------------------------------------

def _copy_unescape(text: bytes) -> str:
    """A COPY text field (as StreamLoader._encode writes it) back to its value."""
    if b"\\" not in text:
        return text.decode()
    out, i = bytearray(), 0
    escapes = {ord("t"): b"\t", ord("n"): b"\n", ord("r"): b"\r", ord("\\"): b"\\"}
    while i < len(text):
        if text[i] == 0x5C and i + 1 < len(text):
            out += escapes.get(text[i + 1], bytes([text[i + 1]]))
            i += 2
        else:
            out.append(text[i])
            i += 1
    return out.decode()


def staged_line(seq: int, line: bytes) -> bytes:
    """One encoded record (id, data, source_updated_at, is_deleted) as a JSON line of the staging file."""
    import orjson

    from baton.instants import parse_instant

    key, payload, updated, deleted = line.split(b"\t")
    updated_at = None
    if updated != b"\\N":
        updated_at = parse_instant(updated.decode()).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    return orjson.dumps({"seq": seq, "id": _copy_unescape(key), "data": payload.replace(b"\\\\", b"\\").decode(),
                         "source_updated_at": updated_at, "is_deleted": deleted == b"t"}) + b"\n"


# The loader's upsert rule (baton.load.loader.StreamLoader._upsert) for engines without ON CONFLICT:
# the last record of an id in the load wins; it is written when the raw table lacks the id, or its
# content changed and it is not older than the stored version (a stored version counts no later than
# when it was loaded). {staged} and {raw} are relations of the engine; both DuckDB and Spark read it.
DECIDE_SQL = """
select s.id, s.data, s.source_updated_at, s.is_deleted,
       r.id is not null as had,
       (r.id is not null and cast(r.data as string) = cast(s.data as string) and r.is_deleted = s.is_deleted) as identical,
       (r.id is null or ((cast(r.data as string) is distinct from cast(s.data as string)
                          or r.is_deleted is distinct from s.is_deleted)
                         and (r.source_updated_at is null or s.source_updated_at is null
                              or s.source_updated_at >= least(r.source_updated_at, r._loaded_at)))) as written
from (select id, data, source_updated_at, is_deleted,
             row_number() over (partition by id order by seq desc) as newest
      from {staged}) s
left join {raw} r on r.id = s.id
where s.newest = 1
"""


class EngineStreamLoader(StreamLoader):
    """StreamLoader landing on an engine: same record rules and counts, the engine's own storage."""

    def __init__(self, engine: Engine, source: str, stream: str, shape=None, **kwargs):
        kwargs.pop("conn", None)
        kwargs.pop("lock_wait", None)
        super().__init__(engine.url, source, stream, shape, **kwargs)
        self.engine = engine
        self._seq = 0
        self._stage_file = None
        self._stage_path: Path | None = None
        self._pending_rejects: list[tuple] = []

    def open(self) -> None:
        from baton.paths import state_path

        engine = self.engine
        self._conn = conn = engine.connect()  # holds the engine's lock: no other load runs meanwhile
        self._locked = True
        engine.ensure_meta(conn)
        engine.ensure_raw_table(conn, self.source, self.stream)
        where = f"source = {literal(self.source)} and stream = {literal(self.stream)}"
        interrupted = [row[0] for row in conn.execute(
            f"select load_id from baton_meta.load_log where {where} and status = 'started'").fetchall()] \
            if engine.logs_started else []
        if interrupted:
            self.warn(f"closed {len(interrupted)} interrupted load(s) of {self.source}.{self.stream} as failed: "
                      + ", ".join(interrupted))
            rows = [dict(zip(_LOG_COLUMNS, row)) for row in conn.execute(
                f"select {', '.join(_LOG_COLUMNS)} from baton_meta.load_log where {where} and status = 'started'"
            ).fetchall()]
            for row in rows:
                row.update(status="failed", finished_at=datetime.now(timezone.utc),
                           error=f"interrupted: the load never finished; closed by load {self.result.load_id}")
            engine.replace_rows(conn, "load_log", f"{where} and status = 'started'", rows)
        self._started_at = datetime.now(timezone.utc)
        if engine.logs_started:
            engine.replace_rows(conn, "load_log", f"{where} and load_id = {literal(self.result.load_id)}",
                                [self._log_row("started", None, finished=False)])
        conn.commit()
        state = conn.execute(f"select watermark, cursor from baton_meta.sync_state where {where}").fetchone()
        self.sync_state = (state[0], state[1]) if state else (None, None)
        stage_dir = state_path("engines", "staging", ".keep").parent
        self._stage_path = stage_dir / f"{self.source}.{self.stream}.{uuid.uuid4().hex[:12]}.jsonl"
        self._stage_file = open(self._stage_path, "wb")
        self._direct = False
        import threading

        self._writer = threading.Thread(target=self._write_loop, name=f"baton-stage-{self.stream}", daemon=True)
        self._writer.start()
        self._open = True

    def _lock(self) -> None:  # the engine's file lock, taken by connect()
        pass

    def _unlock(self) -> None:
        self._locked = False

    def _copy_lines(self, lines: list[bytes]) -> None:
        out = []
        for line in lines:
            self._seq += 1
            out.append(staged_line(self._seq, line))
        self._stage_file.write(b"".join(out))

    def _insert_rejects(self, rejects: list[tuple]) -> None:
        self._pending_rejects.extend(rejects)

    def _close_stage(self) -> None:
        if self._stage_file is not None:
            self._stage_file.close()
            self._stage_file = None

    def _discard_stage(self) -> None:
        self._close_stage()
        if self._stage_path is not None:
            self._stage_path.unlink(missing_ok=True)
            self._stage_path = None

    def _upsert(self, conn) -> None:
        self._close_stage()
        accepted = self.result.extracted - self.result.rejected
        if self._seq == 0:
            self.result.loaded = 0
            self.result.duplicates = accepted
            return
        counts = self.engine.land(conn, self.source, self.stream, self._stage_path, self.result.load_id)
        distinct, written, stale = counts
        self.result.loaded = written
        self.result.duplicates = accepted - distinct
        self.result.unchanged = distinct - written
        self.result.stale = stale

    def commit(self, *, watermark=None, cursor=None, advance_watermark=True, repair_from=None, also=None):
        self._flush()
        self._flush_rejects()
        self._drain()
        conn, result, engine = self._conn, self.result, self.engine
        try:
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
            where = f"source = {literal(self.source)} and stream = {literal(self.stream)}"
            if advance_watermark and (new_watermark is not None or cursor is not None or repair_from is not None):
                stored, stored_cursor = self.sync_state
                base = repair_from if repair_from is not None else stored
                candidates = [value for value in (base, new_watermark) if value is not None]
                result.watermark = max(candidates) if candidates else None
                engine.replace_rows(conn, "sync_state", where, [{
                    "source": self.source, "stream": self.stream, "watermark": result.watermark,
                    "cursor": cursor if cursor is not None else stored_cursor,
                    "updated_at": datetime.now(timezone.utc)}])
            if self._pending_rejects:
                engine.replace_rows(conn, "rejected_records", "false", [
                    dict(zip(("load_id", "source", "stream", "record_id", "reason", "payload"), reject),
                         rejected_at=datetime.now(timezone.utc)) for reject in self._pending_rejects])
            result.status = "success"
            engine.replace_rows(conn, "load_log", f"{where} and load_id = {literal(result.load_id)}",
                                [self._log_row("success", None)])
            conn.commit()
        finally:
            self._discard_stage()
        self._open = False
        return result

    def _log_row(self, status: str, error: str | None, *, finished: bool = True) -> dict:
        from baton.load.loader import safe_text

        r = self.result
        return {"load_id": r.load_id, "source": self.source, "stream": self.stream, "started_at": self._started_at,
                "finished_at": datetime.now(timezone.utc) if finished else None, "extracted": r.extracted,
                "loaded": r.loaded, "rejected": r.rejected, "changed": r.changed, "duplicates": r.duplicates,
                "unchanged": r.unchanged, "stale": r.stale, "beyond_end": r.beyond_end, "window_end": self._window_end,
                "status": status, "error": None if error is None else safe_text(error, 2_000),
                "warnings": safe_text("\n".join(r.warnings), 10_000) if r.warnings else None}

    def fail(self, error) -> None:
        self.result.status = "failed"
        try:
            self._drain()
        except BaseException:
            pass
        self._discard_stage()
        self._open = False
        conn = self._conn
        if conn is None or conn.closed:
            return
        try:
            conn.rollback()
            self.result.loaded = self.result.changed = 0
            where = (f"source = {literal(self.source)} and stream = {literal(self.stream)}"
                     f" and load_id = {literal(self.result.load_id)}")
            self.engine.replace_rows(conn, "load_log", where, [self._log_row("failed", str(error))])
            conn.commit()
        except Exception:
            log.warning("could not log the failed load of %s.%s", self.source, self.stream)

    def close(self) -> None:
        if self._open and self._conn is not None and not self._conn.closed:
            self.fail("closed without commit")
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._open = False


_LOG_COLUMNS = ("load_id", "source", "stream", "started_at", "finished_at", "extracted", "loaded", "rejected",
                "changed", "duplicates", "unchanged", "stale", "beyond_end", "window_end", "status", "error",
                "warnings")


def meta_tables(types: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """baton_meta's tables with the PostgreSQL columns, in the engine's types (text, ts, bigint, bool)."""
    t, ts, n = types["text"], types["ts"], types["bigint"]
    return {
        "sync_state": [("source", t), ("stream", t), ("watermark", ts), ("cursor", t), ("updated_at", ts)],
        "load_log": [("load_id", t), ("source", t), ("stream", t), ("started_at", ts), ("finished_at", ts),
                     ("extracted", n), ("loaded", n), ("rejected", n), ("changed", n), ("duplicates", n),
                     ("unchanged", n), ("stale", n), ("beyond_end", n), ("window_end", ts), ("status", t),
                     ("error", t), ("warnings", t)],
        "rejected_records": [("load_id", t), ("source", t), ("stream", t), ("record_id", t), ("reason", t),
                             ("payload", t), ("rejected_at", ts)],
        "generations": [("colour", t), ("state", t), ("build_id", t), ("as_of", t), ("updated_at", ts)],
    }


def to_json(value) -> str:
    return json.dumps(value, default=str)
