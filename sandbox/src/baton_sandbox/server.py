"""The sandbox's vendor APIs: one threaded HTTP server for Salesforce, Marketo and HubSpot.

Every answer shows the world as of the server's clock (default: the world's end), on the
paths, in the body shapes and with the errors of the real APIs, so an extractor written for
the vendors runs against it unchanged. The vendor surfaces live in server_salesforce.py,
server_marketo.py and server_hubspot.py; this module owns the HTTP plumbing, the clock,
tokens, faults and the admin endpoints:

    POST /_sandbox/clock {"as_of": "2026-06-01T00:00:00Z"}   move the clock
    GET  /_sandbox/clock                                     where it stands
    GET  /_sandbox/stats                                     requests, faults, records served and created

Two write paths create records, as the vendors' do: a Salesforce Task
(`POST /services/data/vNN.N/sobjects/Task`) and a HubSpot task (`POST /crm/v3/objects/tasks`),
validated with the vendors' error answers. A created record is a new record at the clock's
instant, kept beside the world file (store.WorldWrites, never written into it) for as long as
the server runs, and every read API shows it from then on. `FaultPlan.write_schedule` fails the
n-th write, before it is applied or after (`lost_response`: applied, answer lost).

For tests, `server.tamper(path_prefix, change)` rewrites the answers to matching requests: a
fixed Reply (an empty body, `[]`...) or a function of the real one, e.g.
`splice_raw_records("records", [b'{"Id": "x", "v": NaN}'])` to put crafted, malformed records
on a real page. Nothing is tampered with unless a test asks.

Usage:
    with SandboxServer("world.sqlite", faults=FaultPlan(rate=0.05)) as server:
        requests.get(server.url + "/services/data/")
"""

from __future__ import annotations

import logging
import queue
import re
import socket
import threading
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from baton_sandbox.faults import FaultPlan
from baton_sandbox.store import WorldStore, WorldWrites, iso

log = logging.getLogger(__name__)

DEFAULT_WORLD_END = "2026-11-01T00:00:00Z"


# -- requests and replies ------------------------------------------------------------------
@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]          # lower-cased names
    body: bytes = b""

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else {}

    def base_url(self, fallback: str) -> str:
        """The URL the client reached us by (the Host it sent): right from inside a container too."""
        host = self.headers.get("host")
        return f"http://{host}" if host else fallback

    def bearer_token(self) -> str | None:
        header = self.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() in ("bearer", "oauth") and token.strip():
            return token.strip()
        return None


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json;charset=UTF-8"


DROP = Reply(0, b"")  # close the socket without answering


def splice_raw_records(key: str, raw_records: list[bytes], *, at: int = 0) -> Callable[[Reply], Reply]:
    """A tamper change: the raw bytes of `raw_records` (malformed on purpose, or not) inserted as
    elements of the page's `key` array ("records", "result", "results"), before its element `at`
    (0: first; -1: last). Answers without that array pass unchanged."""
    marker = b'"' + key.encode() + b'":['

    def change(reply: Reply) -> Reply:
        start = reply.body.find(marker)
        if start < 0 or not raw_records:
            return reply
        open_at = start + len(marker)
        body = reply.body
        inserted = b",".join(raw_records)
        if body[open_at:open_at + 1] == b"]":
            new = body[:open_at] + inserted + body[open_at:]
        elif at == -1:
            close_at = _array_close(body, open_at - 1)
            new = body[:close_at] + b"," + inserted + body[close_at:]
        else:
            split = open_at
            for _ in range(at):
                split = _element_end(body, split) + 1
            new = body[:split] + inserted + b"," + body[split:]
        return Reply(reply.status, new, reply.headers, reply.content_type)

    return change


def _element_end(body: bytes, pos: int) -> int:
    """Index of the ',' or ']' ending the array element that starts at pos (well-formed JSON)."""
    depth, in_string, escaped = 0, False, False
    for index in range(pos, len(body)):
        char = body[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == 0x5C:
                escaped = True
            elif char == 0x22:
                in_string = False
        elif char == 0x22:
            in_string = True
        elif char in b"[{":
            depth += 1
        elif char in b"]}":
            if depth == 0:
                return index
            depth -= 1
        elif char == 0x2C and depth == 0:
            return index
    return len(body)


def _array_close(body: bytes, open_bracket: int) -> int:
    pos = open_bracket + 1
    while body[pos:pos + 1] != b"]":
        pos = _element_end(body, pos)
        if body[pos:pos + 1] == b",":
            pos += 1
    return pos


@dataclass
class _Tamper:
    path_prefix: str
    change: Reply | Callable[[Reply], Reply]
    times: int | None  # None: every matching request


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, orjson.dumps(payload), headers or {})


def parse_instant(value: str | datetime | date) -> datetime:
    """An instant from an ISO string (Z, offsets, +0000, or a bare date = midnight UTC) or a datetime."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("instants must be timezone-aware")
        return value.astimezone(timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    text = value.strip().replace("Z", "+00:00").replace(" ", "+")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


# -- tokens ----------------------------------------------------------------------------------
class TokenBook:
    """Access tokens the sandbox issued, per system, with their expiry (monotonic seconds)."""

    def __init__(self):
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def issue(self, system: str, ttl_seconds: float, prefix: str = "") -> str:
        token = f"{prefix}{uuid.uuid4()}:{system[:2]}"
        with self._lock:
            self._tokens[token] = (system, time.monotonic() + ttl_seconds)
        return token

    def check(self, system: str, token: str | None) -> str:
        """'ok', 'expired', 'invalid' or 'missing'."""
        if not token:
            return "missing"
        with self._lock:
            entry = self._tokens.get(token)
        if entry is None or entry[0] != system:
            return "invalid"
        return "ok" if entry[1] > time.monotonic() else "expired"

    def expire(self, token: str | None) -> None:
        with self._lock:
            if token in self._tokens:
                system, _ = self._tokens[token]
                self._tokens[token] = (system, 0.0)


# -- world access ------------------------------------------------------------------------------
class StorePool:
    """Read-only store connections, one per concurrent request (SQLite connections are not shared)."""

    def __init__(self, path: Path):
        self.path = path
        self._idle: queue.SimpleQueue[WorldStore] = queue.SimpleQueue()
        self.writes: WorldWrites | None = None  # set at the first write; every connection then attaches it

    @contextmanager
    def store(self) -> Iterator[WorldStore]:
        try:
            store = self._idle.get_nowait()
        except queue.Empty:
            store = WorldStore(self.path, readonly=True)
            # pages read rows scattered over the file: mapping it beats read() calls per page
            store.db.execute("pragma mmap_size=4294967296")
            store.db.execute("pragma cache_size=-65536")
        if self.writes is not None and not getattr(store, "writes_attached", False):
            self.writes.attach(store.db)
            store.writes_attached = True
        try:
            yield store
        finally:
            self._idle.put(store)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().db.close()
            except queue.Empty:
                return


def current_rows(store: WorldStore, system: str, object: str, as_of: str, *, columns: str = "seq, id, deleted",
                 changed_after: str | None = None, changed_until: str | None = None,
                 order: str = "valid_from, id") -> Iterator[tuple]:
    """Rows of the versions current at `as_of` (an iso() string), in `order`."""
    sql = [f"select {columns} from versions where system = ? and object = ? and valid_from <= ?"
           " and (valid_to is null or valid_to > ?)"]
    params: list = [system, object, as_of, as_of]
    if changed_after is not None:
        sql.append("and valid_from > ?")
        params.append(changed_after)
    if changed_until is not None:
        sql.append("and valid_from <= ?")
        params.append(changed_until)
    sql.append(f"order by {order}")
    return store.db.execute(" ".join(sql), params)


def data_by_seq(store: WorldStore, seqs: list[int]) -> dict[int, str]:
    """The stored JSON text of each version, by its seq (chunks stay under SQLite's parameter limit)."""
    found: dict[int, str] = {}
    for start in range(0, len(seqs), 5000):
        chunk = seqs[start:start + 5000]
        marks = ",".join("?" * len(chunk))
        found.update(store.db.execute(f"select seq, data from versions where seq in ({marks})", chunk))
    return found


class LruCache:
    """A small thread-safe LRU for answers that depend only on (clock, arguments)."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, key, build: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def pop(self, key) -> Any:
        with self._lock:
            return self._items.pop(key, None)

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def get(self, key) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


# -- the server ----------------------------------------------------------------------------------
_TOKEN_PATHS = ("/services/oauth2/token", "/identity/oauth/token")


def system_of(path: str) -> str | None:
    if path.startswith("/services/"):
        return "salesforce"
    if path.startswith(("/identity/", "/rest/")):
        return "marketo"
    if path.startswith(("/crm/", "/marketing/", "/form-integrations/", "/email/")):
        return "hubspot"
    return None


class SandboxServer:
    """All three vendor APIs over one world file, as of a movable clock."""

    def __init__(self, store_path: str | Path, *, host: str = "127.0.0.1", port: int = 0,
                 as_of: str | datetime | None = None, faults: FaultPlan | None = None,
                 credentials: dict | None = None, token_ttl_seconds: float = 7200.0):
        from baton_sandbox.server_hubspot import HubSpotApi
        from baton_sandbox.server_marketo import MarketoApi
        from baton_sandbox.server_salesforce import SalesforceApi

        self.store_path = Path(store_path)
        if not self.store_path.exists():
            raise FileNotFoundError(f"no sandbox world at {self.store_path}")
        self.pool = StorePool(self.store_path)
        with self.pool.store() as store:
            self.world_start = store.meta("world_start")
            self.world_end = store.meta("world_end") or DEFAULT_WORLD_END
        self._clock = parse_instant(as_of) if as_of is not None else parse_instant(self.world_end)
        self.faults = faults
        self.credentials = credentials or {}
        self.token_ttl_seconds = token_ttl_seconds
        self.tokens = TokenBook()
        self.cache = LruCache(64)
        self._stats = Counter()
        self._stats_lock = threading.Lock()
        self.apis = {
            "salesforce": SalesforceApi(self),
            "marketo": MarketoApi(self),
            "hubspot": HubSpotApi(self),
        }
        self._tampers: list[_Tamper] = []
        self._tampers_lock = threading.Lock()
        self._writes_lock = threading.Lock()
        self._host, self._port = host, port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # clock
    @property
    def clock(self) -> datetime:
        return self._clock

    @property
    def clock_iso(self) -> str:
        return iso(self._clock)

    def set_clock(self, instant: str | datetime) -> None:
        self._clock = parse_instant(instant)
        log.info("sandbox clock set to %s", self._clock.isoformat())

    # lifecycle
    def start(self) -> SandboxServer:
        self._httpd = _HttpServer((self._host, self._port), _Handler)
        self._httpd.sandbox = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="baton-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.pool.close()
        if self.pool.writes is not None:
            self.pool.writes.close()
            self.pool.writes = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the sandbox server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # crafted answers, for tests
    def tamper(self, path_prefix: str, change: Reply | Callable[[Reply], Reply], *, times: int | None = None) -> None:
        """Answer requests whose path starts with `path_prefix` with `change` (a Reply, or a function
        of the real reply) — the next `times` of them, or all while set."""
        with self._tampers_lock:
            self._tampers.append(_Tamper(path_prefix, change, times))

    def clear_tampering(self) -> None:
        with self._tampers_lock:
            self._tampers.clear()

    def _tampered(self, request: Request, reply: Reply) -> Reply:
        with self._tampers_lock:
            chosen = next((t for t in self._tampers if request.path.startswith(t.path_prefix)), None)
            if chosen is None:
                return reply
            if chosen.times is not None:
                chosen.times -= 1
                if chosen.times <= 0:
                    self._tampers.remove(chosen)
        self.count("tampered")
        return chosen.change if isinstance(chosen.change, Reply) else chosen.change(reply)

    # writes
    def create_record(self, system: str, object: str, id: str, data: dict) -> None:
        """A record a write API created: visible from the clock's instant on, to every read API."""
        with self._writes_lock:
            if self.pool.writes is None:
                self.pool.writes = WorldWrites(self.store_path)
            self.pool.writes.add(system, object, id, self._clock, data)
        self.cache.clear()  # answers cached for this clock no longer hold
        self.count("created")
        self.count(f"created:{system}")

    def created_count(self, system: str, object: str) -> int:
        """How many records of this kind the write APIs created so far (for new ids)."""
        writes = self.pool.writes
        if writes is None:
            return 0
        with self._writes_lock:
            return writes.db.execute("select count(*) from versions where system = ? and object = ?",
                                     (system, object)).fetchone()[0]

    # bookkeeping
    def count(self, key: str, amount: int = 1) -> None:
        with self._stats_lock:
            self._stats[key] += amount

    def stats(self) -> dict:
        with self._stats_lock:
            counts = dict(self._stats)
        return {
            "as_of": self._clock.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "requests": counts.get("requests", 0),
            "requests_by_system": {s: counts.get(f"requests:{s}", 0) for s in self.apis},
            "records_served": counts.get("records", 0),
            "records_by_system": {s: counts.get(f"records:{s}", 0) for s in self.apis},
            "records_created": counts.get("created", 0),
            "records_created_by_system": {s: counts.get(f"created:{s}", 0) for s in self.apis},
            "faults": {k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("fault:")},
            "tampered": counts.get("tampered", 0),
        }

    def accepts(self, system: str, client_id: str | None, client_secret: str | None) -> bool:
        """Any credentials, unless `credentials` names the ones to require for this system."""
        required = self.credentials.get(system)
        if required is None:
            return bool(client_id) and bool(client_secret) if system != "hubspot" else bool(client_secret)
        if system == "hubspot":
            return client_secret == required
        return (client_id, client_secret) == tuple(required)

    # dispatch
    def dispatch(self, request: Request) -> Reply:
        if request.path.startswith("/_sandbox/"):
            return self._admin(request)
        system = system_of(request.path)
        if system is None:
            return json_reply(404, {"message": f"no sandbox API at {request.path}"})
        api = self.apis[system]
        self.count("requests")
        self.count(f"requests:{system}")
        if self.faults is not None and api.is_write(request):
            fault = self.faults.draw_write(system)
            if fault == "lost_response":
                # applied, but the client never hears so: what a timeout after the commit looks like
                self.count("fault:lost_response")
                self._handle(api, system, request)
                return api.fault_reply("server_error", self.faults)
            if fault is not None:
                self.count(f"fault:{fault}")
                if fault == "drop_connection":
                    return DROP
                if fault == "token_expiry":
                    api.expire_presented_token(request)
                elif fault == "slow":
                    time.sleep(self.faults.slow_seconds)
                else:
                    return api.fault_reply(fault, self.faults)
        if self.faults is not None and not request.path.startswith(_TOKEN_PATHS):
            fault = self.faults.draw(system)
            if fault is not None:
                self.count(f"fault:{fault}")
                if fault == "slow":
                    time.sleep(self.faults.slow_seconds)
                elif fault == "drop_connection":
                    return DROP
                elif fault == "token_expiry":
                    api.expire_presented_token(request)
                else:
                    return api.fault_reply(fault, self.faults)
        reply = self._handle(api, system, request)
        return self._tampered(request, reply) if self._tampers else reply

    def _handle(self, api, system: str, request: Request) -> Reply:
        try:
            return api.handle(request)
        except Exception:  # a sandbox bug must answer like a vendor outage, not hang the client
            log.exception("sandbox %s failed on %s %s", system, request.method, request.path)
            return api.fault_reply("server_error", self.faults or FaultPlan())

    def _admin(self, request: Request) -> Reply:
        if request.path == "/_sandbox/clock":
            if request.method == "POST":
                try:
                    self.set_clock(request.json()["as_of"])
                except (KeyError, ValueError, TypeError, orjson.JSONDecodeError) as bad:
                    return json_reply(400, {"message": f"expected {{\"as_of\": \"<ISO instant>\"}}: {bad}"})
            return json_reply(200, {"as_of": self._clock.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                                    "world_start": self.world_start, "world_end": self.world_end})
        if request.path == "/_sandbox/stats":
            return json_reply(200, self.stats())
        return json_reply(404, {"message": f"no sandbox admin endpoint {request.path}"})


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64
    sandbox: SandboxServer


_SECRET_PARAMS = re.compile(r"(access_token|client_secret|hapikey)=[^&\s]*")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "BatonSandbox/1.0"
    server: _HttpServer

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every answer
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        headers = {name.lower(): value for name, value in self.headers.items()}
        if self.command == "POST" and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            # Marketo's clients POST form bodies with _method=GET for long filter lists
            for name, values in parse_qs(body.decode(), keep_blank_values=True).items():
                query.setdefault(name, []).extend(values)
        request = Request(self.command, parts.path, query, headers, body)
        reply = self.server.sandbox.dispatch(request)
        if reply is DROP:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args) -> None:
        # request lines can carry Marketo's access_token: never log it
        log.debug("%s %s", self.address_string(), _SECRET_PARAMS.sub(r"\1=***", format % args))
