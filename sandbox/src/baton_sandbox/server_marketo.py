"""Marketo REST as the sandbox serves it: the identity token, activity types, paging tokens,
activity pages of up to 300 with `moreResult`, leads by id or email, deleted leads, programs.

Every answer is HTTP 200 with `requestId` and `success`, and `errors: [{code, message}]` when
it failed, as Marketo does. A paging token is the position (activityDate, row) after which
the next page starts, so a token kept from yesterday's run finds today's new activities.
"""

from __future__ import annotations

import base64
import itertools
import re
import secrets

import orjson

from baton_sandbox.catalog import MARKETO_ACTIVITY_TYPES, MARKETO_LEAD_FIELDS
from baton_sandbox.server import Reply, Request, json_reply, parse_instant
from baton_sandbox.store import iso

SYSTEM = "marketo"
MAX_BATCH = 300
MAX_PROGRAMS = 200
MAX_ACTIVITY_TYPE_IDS = 10
SCAN_LIMIT = 50_000            # rows looked at per activities request before answering a partial page
DEFAULT_LEAD_FIELDS = ("id", "updatedAt", "lastName", "email", "createdAt", "firstName")
_TYPE_ID = re.compile(rb'"activityTypeId":\s*(\d+)')
_LEAD_ID = re.compile(rb'"leadId":\s*(\d+)')
MAX_LEAD_IDS = 30

# primary attribute and attributes of each standard activity type, as types.json describes them
_TYPE_SHAPES = {
    1: ("Webpage ID", ["Webpage URL", "Query Parameters", "Client IP Address", "Referrer URL", "User Agent"]),
    2: ("Webform ID", ["Form Fields", "Webpage ID", "Query Parameters", "Referrer URL"]),
    6: ("Mailing ID", ["Campaign Run ID", "Step ID", "Choice Number"]),
    7: ("Mailing ID", ["Campaign Run ID", "Step ID", "Choice Number"]),
    10: ("Mailing ID", ["Device", "Platform", "User Agent", "Is Mobile Device"]),
    11: ("Mailing ID", ["Link", "Device", "Platform", "User Agent", "Is Mobile Device"]),
    12: ("Lead ID", ["Source Type", "Form Name", "Lead Source", "List Name"]),
    13: ("Attribute Name", ["New Value", "Old Value", "Reason", "Source"]),
    19: ("Lead ID", ["Assign To", "Sync Type"]),
    22: ("Attribute Name", ["Change Value", "New Value", "Old Value", "Reason"]),
    32: ("Lead ID", ["Merge Ids", "Merged In Sales", "Master Updated", "Merge Source"]),
    37: ("Lead ID", []),
    104: ("Program ID", ["Old Status", "New Status", "Reason", "Success", "Program Member ID"]),
}

_LIMIT_MESSAGES = {
    "606": "Max rate limit '100' exceeded with in '20' secs",
    "607": "Daily quota reached",
    "615": "Concurrent access limit reached",
}

_requests = itertools.count(1)


def _request_id() -> str:
    return f"{next(_requests):x}#{secrets.token_hex(5)}"


def _ok(payload: dict) -> Reply:
    return json_reply(200, {"requestId": _request_id(), "success": True, **payload})


def _fail(code: str, message: str, status: int = 200) -> Reply:
    return json_reply(status, {"requestId": _request_id(), "success": False,
                               "errors": [{"code": code, "message": message}]})


def encode_position(valid_from: str, seq: int) -> str:
    raw = f"{valid_from}|{seq}".encode()
    return base64.b32encode(raw).decode().rstrip("=")


def decode_position(token: str) -> tuple[str, int]:
    padded = token + "=" * (-len(token) % 8)
    valid_from, seq = base64.b32decode(padded.encode()).decode().split("|")
    return valid_from, int(seq)


class MarketoApi:
    def __init__(self, sandbox):
        self.sandbox = sandbox

    # -- faults and auth -------------------------------------------------------------------
    def fault_reply(self, kind: str, plan) -> Reply:
        if kind == "rate_limit":
            code = plan.next_marketo_limit_code()
            return _fail(code, _LIMIT_MESSAGES.get(code, "Rate limit exceeded"))
        return _fail("608", "API Temporarily Unavailable", status=503)

    def expire_presented_token(self, request: Request) -> None:
        self.sandbox.tokens.expire(self._presented(request))

    @staticmethod
    def _presented(request: Request) -> str | None:
        return request.bearer_token() or request.param("access_token")

    def _token(self, request: Request) -> Reply:
        if request.param("grant_type") != "client_credentials":
            return json_reply(400, {"error": "invalid_request", "error_description": "grant_type must be client_credentials"})
        if not self.sandbox.accepts(SYSTEM, request.param("client_id"), request.param("client_secret")):
            return json_reply(401, {"error": "unauthorized", "error_description": "Bad client credentials"})
        ttl = min(self.sandbox.token_ttl_seconds, 3600)
        token = self.sandbox.tokens.issue(SYSTEM, ttl)
        return json_reply(200, {"access_token": token, "token_type": "bearer", "expires_in": int(ttl) - 1 if ttl >= 2 else ttl,
                                "scope": "sandbox-api@baton.local"})

    # -- routing ---------------------------------------------------------------------------
    def is_write(self, request: Request) -> bool:
        """Marketo's sandbox serves reads only."""
        return False

    def handle(self, request: Request) -> Reply:
        path = request.path
        if path == "/identity/oauth/token":
            return self._token(request)
        state = self.sandbox.tokens.check(SYSTEM, self._presented(request))
        if state == "missing":
            return _fail("600", "Access token not specified")
        if state == "invalid":
            return _fail("601", "Access token invalid")
        if state == "expired":
            return _fail("602", "Access token expired")
        routes = {
            "/rest/v1/activities/types.json": self._activity_types,
            "/rest/v1/activities/pagingtoken.json": self._paging_token,
            "/rest/v1/activities.json": self._activities,
            "/rest/v1/activities/deletedleads.json": self._deleted_leads,
            "/rest/v1/leads.json": self._leads,
            "/rest/v1/leads/describe.json": self._lead_describe,
            "/rest/asset/v1/programs.json": self._programs,
        }
        route = routes.get(path)
        if route is None:
            return json_reply(404, {"requestId": _request_id(), "success": False,
                                    "errors": [{"code": "404", "message": f"Path not found: {path}"}]})
        return route(request)

    # -- activities ------------------------------------------------------------------------
    def _activity_types(self, request: Request) -> Reply:
        result = []
        for type_id, name in sorted(MARKETO_ACTIVITY_TYPES.items()):
            primary, attributes = _TYPE_SHAPES.get(type_id, ("Lead ID", []))
            result.append({"id": type_id, "name": name, "description": name,
                           "primaryAttribute": {"name": primary, "dataType": "integer"},
                           "attributes": [{"name": a, "dataType": "string"} for a in attributes]})
        return _ok({"result": result})

    def _paging_token(self, request: Request) -> Reply:
        since = request.param("sinceDatetime")
        if not since:
            return _fail("701", "sinceDatetime cannot be blank")
        try:
            instant = parse_instant(since)
        except ValueError:
            return _fail("1003", f"Invalid sinceDatetime: {since}")
        return _ok({"nextPageToken": encode_position(iso(instant), 0)})

    def _activities(self, request: Request) -> Reply:
        raw_ids = request.param("activityTypeIds")
        if not raw_ids:
            return _fail("1003", "activityTypeIds is required")
        try:
            type_ids = {int(v) for v in raw_ids.split(",") if v.strip()}
        except ValueError:
            return _fail("1003", f"Invalid activityTypeIds: {raw_ids}")
        if len(type_ids) > MAX_ACTIVITY_TYPE_IDS:
            return _fail("1003", f"Too many activityTypeIds (max {MAX_ACTIVITY_TYPE_IDS})")
        raw_leads = request.param("leadIds")
        lead_ids = None
        if raw_leads:
            lead_ids = {v.strip().encode() for v in raw_leads.split(",") if v.strip()}
            if len(lead_ids) > MAX_LEAD_IDS or not all(v.isdigit() for v in lead_ids):
                return _fail("1003", f"leadIds must be at most {MAX_LEAD_IDS} integer ids")
        return self._activity_page(request, type_ids, lead_ids)

    def _deleted_leads(self, request: Request) -> Reply:
        return self._activity_page(request, {37})

    def _activity_page(self, request: Request, type_ids: set[int], lead_ids: set[bytes] | None = None) -> Reply:
        token = request.param("nextPageToken")
        if not token:
            return _fail("701", "nextPageToken cannot be blank")
        try:
            position = decode_position(token)
        except (ValueError, UnicodeDecodeError):
            return _fail("1003", "Invalid nextPageToken")
        try:
            batch_size = int(request.param("batchSize") or MAX_BATCH)
        except ValueError:
            return _fail("1003", "Invalid batchSize")
        batch_size = max(1, min(MAX_BATCH, batch_size))
        wanted = {str(t).encode() for t in type_ids}
        found: list[bytes] = []
        scanned = 0
        exhausted = False
        last = position
        clock = self.sandbox.clock_iso
        chunk = batch_size + 1  # most pages fill from the first chunk; later chunks read wider
        with self.sandbox.pool.store() as store:
            while len(found) < batch_size and scanned < SCAN_LIMIT:
                rows = store.db.execute(
                    "select seq, valid_from, data from versions where system = 'marketo' and object = 'activity'"
                    " and valid_from <= ? and (valid_to is null or valid_to > ?)"
                    " and valid_from >= ? and (valid_from > ? or seq > ?) order by valid_from, seq limit ?",
                    (clock, clock, last[0], last[0], last[1], chunk)).fetchall()
                if not rows:
                    exhausted = True
                    break
                for seq, valid_from, data in rows:
                    scanned += 1
                    last = (valid_from, seq)
                    encoded = data.encode()
                    match = _TYPE_ID.search(encoded)
                    type_id = match.group(1) if match else str(orjson.loads(data).get("activityTypeId")).encode()
                    if type_id in wanted:
                        if lead_ids is not None:
                            lead = _LEAD_ID.search(encoded)
                            if lead is None or lead.group(1) not in lead_ids:
                                continue
                        found.append(encoded)
                        if len(found) >= batch_size:
                            break
                if len(rows) < chunk and len(found) < batch_size:
                    exhausted = True
                    break
                chunk = 2000
        self.sandbox.count("records", len(found))
        self.sandbox.count("records:marketo", len(found))
        head = {"requestId": _request_id(), "success": True, "nextPageToken": encode_position(*last),
                "moreResult": not exhausted}
        if not found:
            return json_reply(200, head)
        body = orjson.dumps(head)[:-1] + b',"result":[' + b",".join(found) + b"]}"
        return Reply(200, body)

    # -- leads and programs ----------------------------------------------------------------
    def _leads(self, request: Request) -> Reply:
        filter_type = request.param("filterType")
        values = [v.strip() for v in (request.param("filterValues") or "").split(",") if v.strip()]
        if not filter_type:
            return _fail("1003", "filterType is required")
        if not values:
            return _fail("1003", "filterValues is required")
        if len(values) > MAX_BATCH:
            return _fail("1003", f"Too many filterValues (max {MAX_BATCH})")
        fields_param = request.param("fields")
        fields = [f.strip() for f in fields_param.split(",") if f.strip()] if fields_param else list(DEFAULT_LEAD_FIELDS)
        known = set(MARKETO_LEAD_FIELDS)
        for name in fields:
            if name not in known:
                return _fail("1006", f"Field '{name}' not found")
        if "id" not in fields:
            fields.insert(0, "id")
        clock = self.sandbox.clock_iso
        with self.sandbox.pool.store() as store:
            base = ("select data from versions where system = 'marketo' and object = 'lead' and deleted = 0"
                    " and valid_from <= ? and (valid_to is null or valid_to > ?)")
            if filter_type == "id":
                marks = ",".join("?" * len(values))
                rows = store.db.execute(f"{base} and id in ({marks}) order by cast(id as integer)",
                                        (clock, clock, *values)).fetchall()
                records = [orjson.loads(r[0]) for r in rows]
            elif filter_type == "email":
                wanted = {v.lower() for v in values}
                records = [r for r in (orjson.loads(row[0]) for row in store.db.execute(base, (clock, clock)))
                           if (r.get("email") or "").strip().lower() in wanted]
            else:
                return _fail("1003", f"Invalid filterType: {filter_type}")
        result = [{name: record.get(name) for name in fields} for record in records]
        self.sandbox.count("records", len(result))
        self.sandbox.count("records:marketo", len(result))
        return _ok({"result": result})

    def _lead_describe(self, request: Request) -> Reply:
        result = []
        for number, name in enumerate(MARKETO_LEAD_FIELDS, start=1):
            data_type = ("integer" if name in ("id", "numberOfEmployees", "leadScore", "acquisitionProgramId")
                         else "datetime" if name in ("createdAt", "updatedAt") else "string")
            result.append({"id": number, "displayName": name, "dataType": data_type,
                           "rest": {"name": name, "readOnly": name in ("id", "createdAt", "updatedAt")},
                           "soap": {"name": name[:1].upper() + name[1:], "readOnly": name in ("id", "createdAt", "updatedAt")}})
        return _ok({"result": result})

    def _programs(self, request: Request) -> Reply:
        try:
            offset = int(request.param("offset") or 0)
            max_return = int(request.param("maxReturn") or 20)
        except ValueError:
            return _fail("1003", "Invalid offset or maxReturn")
        if max_return < 1 or max_return > MAX_PROGRAMS:
            return _fail("1003", f"maxReturn must be between 1 and {MAX_PROGRAMS}")
        clock = self.sandbox.clock_iso
        with self.sandbox.pool.store() as store:
            rows = store.db.execute(
                "select data from versions where system = 'marketo' and object = 'program' and deleted = 0"
                " and valid_from <= ? and (valid_to is null or valid_to > ?) order by cast(id as integer)"
                " limit ? offset ?", (clock, clock, max_return, offset)).fetchall()
        if not rows:
            return _ok({"warnings": ["No assets found for the given search criteria."], "errors": []})
        self.sandbox.count("records", len(rows))
        self.sandbox.count("records:marketo", len(rows))
        head = {"requestId": _request_id(), "success": True, "errors": [], "warnings": []}
        body = orjson.dumps(head)[:-1] + b',"result":[' + b",".join(r[0].encode() for r in rows) + b"]}"
        return Reply(200, body)
