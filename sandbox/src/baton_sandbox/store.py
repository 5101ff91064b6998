"""The world store: every version of every vendor record, and the generator's event log.

A world is a history. The generator appends record versions (the record as the vendor's API
would return it, from the instant it became visible) and events (what happened, in the
world's own words). The server shows the versions as of any instant; the planted truth is
computed from the events alone. SQLite on disk keeps a million-record world out of memory.

Records a client creates through the server's write APIs (a Salesforce Task, a HubSpot task)
go into `WorldWrites`, a small file of the server's own beside the world, never into the world
file (worlds are cached and shared between runs and tests). A read connection that attaches it
sees both through one `versions` view (`WorldWrites.attach`), so every read path shows the
created records like any other, from the clock instant they were created at.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

SCHEMA = """
create table if not exists meta (key text primary key, value text not null);
create table if not exists versions (
    seq        integer primary key,
    system     text not null,     -- salesforce | marketo | hubspot
    object     text not null,     -- Salesforce sObject (Lead), Marketo (lead, activity, program), HubSpot type (contacts)
    id         text not null,     -- the vendor's id for the record
    valid_from text not null,     -- ISO-8601 UTC with microseconds: when this version became visible
    valid_to   text,              -- when the next version of the same record replaced it (null: still current)
    deleted    integer not null,  -- 1: deleted / archived from valid_from on
    data       text not null      -- JSON, the record as the API returns it
);
create table if not exists events (
    seq  integer primary key,
    at   text not null,           -- ISO-8601 UTC with microseconds
    kind text not null,           -- what happened (generator's vocabulary, e.g. mql, sales_touch, stage_change)
    data text not null            -- JSON
);
"""
INDEXES = """
create index if not exists versions_by_time on versions (system, object, valid_from);
create index if not exists versions_by_id on versions (system, object, id, valid_from);
create index if not exists events_by_kind on events (kind, at);
"""

_VERSIONS_DDL = """
create table if not exists versions (
    seq integer primary key, system text not null, object text not null, id text not null,
    valid_from text not null, valid_to text, deleted integer not null, data text not null
);
create index if not exists versions_by_time on versions (system, object, valid_from);
create index if not exists versions_by_id on versions (system, object, id, valid_from);
"""


def iso(instant: datetime) -> str:
    """Stored instants sort as text: UTC, fixed width, microseconds."""
    if instant.tzinfo is None:
        raise ValueError("world instants must be timezone-aware")
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Version:
    id: str
    valid_from: str
    deleted: bool
    data: str  # JSON text, passed through to responses without re-encoding

    def record(self) -> dict:
        return json.loads(self.data)


class WorldStore:
    """`bulk=True` (a new world file, written once by the generator): the indexes are built by
    `finish()` after the last row, not row by row (a ten-million-record world writes several times
    faster, and the page cache stays small), and no journal is kept while writing (the file is a
    partial one until its builder renames it); the finished file is in WAL mode like any other."""

    def __init__(self, path: str | Path, *, readonly: bool = False, bulk: bool = False):
        self.path = Path(path)
        self.bulk = bulk and not readonly
        if readonly:
            self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, check_same_thread=False)
            self.db.executescript(SCHEMA)
            if self.bulk:
                self.db.execute("pragma journal_mode=off")
                self.db.execute("pragma cache_size=-65536")  # 64 MB: the index builds sort in it
            else:
                self.db.executescript(INDEXES)
                self.db.execute("pragma journal_mode=wal")
            self.db.execute("pragma synchronous=off")
        self._versions: list[tuple] = []
        self._events: list[tuple] = []

    # -- writing (the generator) ---------------------------------------------------------
    def add_version(self, system: str, object: str, id: str, valid_from: datetime, data: dict,
                    *, deleted: bool = False) -> None:
        self._versions.append((system, object, str(id), iso(valid_from), int(deleted),
                               json.dumps(data, separators=(",", ":"), default=str)))
        if len(self._versions) >= 20_000:
            self._flush()

    def add_event(self, at: datetime, kind: str, data: dict) -> None:
        self._events.append((iso(at), kind, json.dumps(data, separators=(",", ":"), default=str)))
        if len(self._events) >= 20_000:
            self._flush()

    def set_meta(self, key: str, value) -> None:
        self._flush()
        self.db.execute("insert or replace into meta values (?, ?)", (key, json.dumps(value, default=str)))

    def _flush(self) -> None:
        if self._versions:
            self.db.executemany(
                "insert into versions (system, object, id, valid_from, deleted, data) values (?,?,?,?,?,?)",
                self._versions)
            self._versions.clear()
        if self._events:
            self.db.executemany("insert into events (at, kind, data) values (?,?,?)", self._events)
            self._events.clear()

    def finish(self) -> None:
        """Flush, index, and chain each record's versions (valid_to = the next version's valid_from)."""
        self._flush()
        self.db.executescript(INDEXES)  # commits the rows first; a no-op when the indexes were there
        self.db.execute("""
            update versions set valid_to = nxt.next_from
            from (select seq, lead(valid_from) over (partition by system, object, id
                                                      order by valid_from, seq) as next_from
                  from versions) as nxt
            where versions.seq = nxt.seq and nxt.next_from is not null
        """)
        self.db.commit()
        if self.bulk:
            self.db.execute("pragma journal_mode=wal")

    # -- reading (the server, the truth) -------------------------------------------------
    def meta(self, key: str, default=None):
        row = self.db.execute("select value from meta where key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def objects(self, system: str) -> list[str]:
        return [r[0] for r in self.db.execute(
            "select distinct object from versions where system = ? order by 1", (system,))]

    def current(self, system: str, object: str, as_of: datetime, *, changed_after: datetime | None = None,
                changed_until: datetime | None = None) -> Iterator[Version]:
        """Each record as it stood at `as_of` (deleted ones included, flagged), optionally only
        those whose visible version changed in (changed_after, changed_until], by valid_from then id."""
        sql = ["select id, valid_from, deleted, data from versions",
               "where system = ? and object = ? and valid_from <= ? and (valid_to is null or valid_to > ?)"]
        params: list = [system, object, iso(as_of), iso(as_of)]
        if changed_after is not None:
            sql.append("and valid_from > ?")
            params.append(iso(changed_after))
        if changed_until is not None:
            sql.append("and valid_from <= ?")
            params.append(iso(changed_until))
        sql.append("order by valid_from, id")
        for row in self.db.execute(" ".join(sql), params):
            yield Version(row[0], row[1], bool(row[2]), row[3])

    def history(self, system: str, object: str, id: str, as_of: datetime) -> list[Version]:
        rows = self.db.execute(
            "select id, valid_from, deleted, data from versions where system = ? and object = ? and id = ?"
            " and valid_from <= ? order by valid_from, seq", (system, object, str(id), iso(as_of)))
        return [Version(r[0], r[1], bool(r[2]), r[3]) for r in rows]

    def events(self, kinds: Iterable[str] | None = None) -> Iterator[tuple[str, str, dict]]:
        if kinds is None:
            rows = self.db.execute("select at, kind, data from events order by at, seq")
        else:
            kinds = list(kinds)
            marks = ",".join("?" * len(kinds))
            rows = self.db.execute(f"select at, kind, data from events where kind in ({marks}) order by at, seq", kinds)
        for at, kind, data in rows:
            yield at, kind, json.loads(data)

    def close(self) -> None:
        self._flush()
        self.db.commit()
        self.db.close()


class WorldWrites:
    """The records a server's write APIs created, in a temporary SQLite file of its own.

    Seqs continue after the world's last one, so a created record sorts after every generated
    one at the same instant; each created record has one version (the sandbox updates nothing).
    """

    def __init__(self, world_path: str | Path):
        self._folder = Path(tempfile.mkdtemp(prefix="baton-sandbox-writes-"))
        self.path = self._folder / "writes.sqlite"
        self._lock = threading.Lock()
        self.db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self.db.executescript(_VERSIONS_DDL)
        world = sqlite3.connect(f"file:{Path(world_path)}?mode=ro", uri=True)
        try:
            self._next_seq = (world.execute("select max(seq) from versions").fetchone()[0] or 0) + 1
        finally:
            world.close()
        self.count = 0

    def add(self, system: str, object: str, id: str, valid_from: datetime, data: dict) -> None:
        with self._lock:
            self.db.execute("insert into versions (seq, system, object, id, valid_from, valid_to, deleted, data)"
                            " values (?, ?, ?, ?, ?, null, 0, ?)",
                            (self._next_seq, system, object, str(id), iso(valid_from),
                             json.dumps(data, separators=(",", ":"), default=str)))
            self.db.commit()
            self._next_seq += 1
            self.count += 1

    def attach(self, db: sqlite3.Connection) -> None:
        """Make `versions` on this (world) connection show the world's versions and the created ones."""
        db.execute("attach database ? as writes", (str(self.path),))
        db.execute("create temp view versions as select * from main.versions union all select * from writes.versions")

    def close(self) -> None:
        self.db.close()
        shutil.rmtree(self._folder, ignore_errors=True)
