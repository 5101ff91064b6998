"""Salesforce REST as the sandbox serves it: OAuth client credentials, versions, describe,
query / queryAll with the SOQL subset of soql.py, and nextRecordsUrl batches of 2,000; and one
write: `POST /services/data/vNN.N/sobjects/Task` creates a Task, validated as Salesforce does
(unknown or read-only fields, restricted picklists, a WhoId that is no live Lead or Contact, an
OwnerId that is no user or an inactive one), answering 201 `{"id", "success", "errors"}` or 400
with Salesforce's error list `[{"message", "errorCode", "fields"}]`.

A query is run once: its matching versions (by seq) are kept under a query locator and each
batch is read, projected and encoded when asked for, so memory holds ids, not records.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qs

import orjson

from baton_sandbox import soql
from baton_sandbox.catalog import SALESFORCE_OBJECTS
from baton_sandbox.server import LruCache, Reply, Request, current_rows, data_by_seq, json_reply
from baton_sandbox.world_cast import salesforce_id, sf_datetime

SYSTEM = "salesforce"
BATCH_SIZE = 2000
STORED_VERSION = "v60.0"  # the API version in the stored records' attributes.url
_VERSION_PATH = re.compile(r"^/services/data/v(\d+\.\d)(/.*)?$")
_LOCATOR = re.compile(r"^/query(?:All)?/(01g[0-9A-Za-z]{15})-(\d+)/?$")
_API_VERSIONS = [f"{v}.0" for v in range(50, 63)]
_ORG_ID = "00D5g000004SANDBX"


def _error(status: int, code: str, message: str, headers: dict | None = None) -> Reply:
    return json_reply(status, [{"message": message, "errorCode": code}], headers)


def _invalid(code: str, message: str, fields: list[str] | None = None) -> Reply:
    """A refused write, as Salesforce answers it: 400 with one error naming its fields."""
    return json_reply(400, [{"message": message, "errorCode": code, "fields": fields or []}])


# What a client may not set on insert, and the Task fields the sandbox needs (it has no running user
# to default OwnerId to); the restricted picklists with their values and defaults.
_NOT_CREATEABLE = {"Id", "CreatedDate", "LastModifiedDate", "SystemModstamp", "IsDeleted", "CompletedDateTime"}
_TASK_REQUIRED = ("OwnerId", "Subject")
_TASK_PICKLISTS = {
    "Status": (("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"), "Not Started"),
    "Priority": (("High", "Normal", "Low"), "Normal"),
    "TaskSubtype": (("Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"), "Task"),
}
_TASK_LENGTHS = {"Subject": 255, "Description": 32000}
_WHO_OBJECTS = {"00Q": "Lead", "003": "Contact"}
_WHAT_OBJECTS = {"001": "Account", "006": "Opportunity", "701": "Campaign"}


@dataclass
class _Locator:
    query: soql.Query
    seqs: list[int]
    version: str
    batch_size: int = BATCH_SIZE


class SalesforceApi:
    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.locators = LruCache(200)
        self._last_batches = LruCache(50)  # a retried final batch still answers after its cursor closed

    # -- faults and auth -------------------------------------------------------------------
    def fault_reply(self, kind: str, plan) -> Reply:
        if kind == "rate_limit":
            return _error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        return _error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable. Please try again.")

    def expire_presented_token(self, request: Request) -> None:
        self.sandbox.tokens.expire(request.bearer_token())

    def _token(self, request: Request) -> Reply:
        form = {k: v[-1] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}
        form.update({k: v[-1] for k, v in request.query.items()})
        grant = form.get("grant_type")
        if grant != "client_credentials":
            return json_reply(400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"})
        if not self.sandbox.accepts(SYSTEM, form.get("client_id"), form.get("client_secret")):
            return json_reply(400, {"error": "invalid_client", "error_description": "invalid client credentials"})
        token = self.sandbox.tokens.issue(SYSTEM, self.sandbox.token_ttl_seconds, prefix=_ORG_ID + "!")
        url = request.base_url(self.sandbox.url)
        return json_reply(200, {
            "access_token": token,
            "signature": secrets.token_urlsafe(32),
            "scope": "api",
            "instance_url": url,
            "id": f"{url}/id/{_ORG_ID}/0055g00000SANDBXAAA",
            "token_type": "Bearer",
            "issued_at": str(int(time.time() * 1000)),
        })

    # -- routing ---------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        path = request.path
        if path == "/services/oauth2/token":
            if request.method != "POST":
                return json_reply(405, {"error": "invalid_request", "error_description": "must use HTTP POST"})
            return self._token(request)
        state = self.sandbox.tokens.check(SYSTEM, request.bearer_token())
        if state != "ok":
            return _error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        reply = self._route(request, path)
        # as Salesforce does: the org's API use so far on every answer
        used = self.sandbox.stats()["requests_by_system"]["salesforce"]
        reply.headers.setdefault("Sforce-Limit-Info", f"api-usage={used}/15000")
        return reply

    def _route(self, request: Request, path: str) -> Reply:
        if path.rstrip("/") == "/services/data":
            return json_reply(200, [{"label": f"API {v}", "url": f"/services/data/v{v}", "version": v}
                                    for v in _API_VERSIONS])
        match = _VERSION_PATH.match(path)
        if not match:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        version, rest = "v" + match.group(1), (match.group(2) or "").rstrip("/")
        if rest in ("/query", "/queryAll"):
            return self._query(request, version, include_deleted=rest == "/queryAll")
        locator = _LOCATOR.match(rest + "/") or _LOCATOR.match(rest)
        if locator:
            return self._more(locator.group(1), int(locator.group(2)))
        if rest == "/sobjects":
            return json_reply(200, {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": [
                {"name": name, "label": name, "queryable": True, "retrieveable": True,
                 "urls": {"describe": f"/services/data/{version}/sobjects/{name}/describe"}}
                for name in SALESFORCE_OBJECTS]})
        if request.method == "POST":
            create = re.match(r"^/sobjects/([A-Za-z_]+)$", rest)
            if create:
                return self._create(request, create.group(1), version)
            return _error(405, "METHOD_NOT_ALLOWED", "HTTP Method 'POST' not allowed. Allowed are GET,HEAD")
        describe = re.match(r"^/sobjects/([A-Za-z_]+)(/describe)?$", rest)
        if describe:
            return self._describe(describe.group(1), version)
        retrieve = re.match(r"^/sobjects/([A-Za-z_]+)/([0-9A-Za-z]{15,18})$", rest)
        if retrieve:
            return self._retrieve(retrieve.group(1), retrieve.group(2))
        if rest == "":
            return json_reply(200, {"query": f"/services/data/{version}/query",
                                    "queryAll": f"/services/data/{version}/queryAll",
                                    "sobjects": f"/services/data/{version}/sobjects"})
        return _error(404, "NOT_FOUND", "The requested resource does not exist")

    def is_write(self, request: Request) -> bool:
        return request.method == "POST" and "/sobjects/" in request.path

    # -- create ----------------------------------------------------------------------------
    def _create(self, request: Request, name: str, version: str) -> Reply:
        canonical = {n.lower(): n for n in SALESFORCE_OBJECTS}.get(name.lower())
        if canonical is None:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        if canonical != "Task":
            return _error(405, "METHOD_NOT_ALLOWED", f"the sandbox creates Task records only, not {canonical}")
        try:
            body = request.json()
        except orjson.JSONDecodeError as bad:
            return _invalid("JSON_PARSER_ERROR", f"Unexpected character in the request body: {bad}")
        if not isinstance(body, dict):
            return _invalid("JSON_PARSER_ERROR", "Cannot deserialize instance of Task from a JSON "
                            f"{type(body).__name__}")
        known = {n.lower(): n for n in SALESFORCE_OBJECTS["Task"]}
        fields = {}
        for given, value in body.items():
            if given == "attributes":
                continue
            field_name = known.get(given.lower())
            if field_name is None:
                return _invalid("INVALID_FIELD", f"No such column '{given}' on sobject of type Task")
            fields[field_name] = value
        read_only = sorted(n for n in fields if n in _NOT_CREATEABLE)
        if read_only:
            return _invalid("INVALID_FIELD_FOR_INSERT_UPDATE",
                            f"Unable to create/update fields: {', '.join(read_only)}. Please check the security"
                            " settings of this field and verify that it is read/write for your profile or"
                            " permission set.", read_only)
        missing = [n for n in _TASK_REQUIRED if fields.get(n) in (None, "")]
        if missing:
            return _invalid("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
        for field_name, (allowed, default) in _TASK_PICKLISTS.items():
            value = fields.get(field_name)
            if value in (None, ""):
                fields[field_name] = default
            elif value not in allowed:
                return _invalid("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                f"{field_name}: bad value for restricted picklist field: {value}", [field_name])
        for field_name, limit in _TASK_LENGTHS.items():
            value = fields.get(field_name)
            if value is not None and not isinstance(value, str):
                return _invalid("JSON_PARSER_ERROR", f"Cannot deserialize instance of string from {value!r}"
                                f" for {field_name}")
            if value is not None and len(value) > limit:
                return _invalid("STRING_TOO_LONG", f"{field_name}: data value too large: {value[:40]}..."
                                f" (max length={limit})", [field_name])
        if fields.get("ActivityDate") is not None:
            try:
                date.fromisoformat(str(fields["ActivityDate"]))
            except ValueError:
                return _invalid("JSON_PARSER_ERROR", f"Cannot deserialize instance of date from VALUE_STRING value"
                                f" {fields['ActivityDate']} or request may be missing a required field")
        refused = self._check_references(fields)
        if refused is not None:
            return refused
        count = self.sandbox.created_count(SYSTEM, "Task")
        record_id = salesforce_id("00T", count + 1, "Ap")
        stamp = sf_datetime(self.sandbox.clock)
        record = {"attributes": {"type": "Task", "url": f"/services/data/{STORED_VERSION}/sobjects/Task/{record_id}"}}
        record.update({n: None for n in SALESFORCE_OBJECTS["Task"]})
        record.update(fields)
        record.update({"Id": record_id, "CreatedDate": stamp, "LastModifiedDate": stamp, "SystemModstamp": stamp,
                       "IsDeleted": False, "CompletedDateTime": stamp if fields["Status"] == "Completed" else None})
        self.sandbox.create_record(SYSTEM, "Task", record_id, record)
        return json_reply(201, {"id": record_id, "success": True, "errors": []})

    def _check_references(self, fields: dict) -> Reply | None:
        """A Who, What and Owner that exist at the clock (and an owner who is an active user)."""
        def current(object_name: str, record_id) -> dict | None:
            clock = self.sandbox.clock_iso
            with self.sandbox.pool.store() as store:
                row = store.db.execute(
                    "select deleted, data from versions where system = 'salesforce' and object = ? and id = ?"
                    " and valid_from <= ? and (valid_to is null or valid_to > ?)",
                    (object_name, str(record_id), clock, clock)).fetchone()
            return None if row is None or row[0] else orjson.loads(row[1])

        for field_name, objects in (("WhoId", _WHO_OBJECTS), ("WhatId", _WHAT_OBJECTS)):
            value = fields.get(field_name)
            if value in (None, ""):
                continue
            object_name = objects.get(str(value)[:3])
            if object_name is None or current(object_name, value) is None:
                return _invalid("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {value}", [field_name])
        owner = str(fields["OwnerId"])
        user = current("User", owner) if owner.startswith("005") else None
        if user is None:
            return _invalid("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {owner}", ["OwnerId"])
        if not user.get("IsActive", True):
            return _invalid("INACTIVE_OWNER_OR_USER", f"operation performed with inactive user [{owner}] as owner"
                            " of task")
        return None

    def _retrieve(self, name: str, record_id: str) -> Reply:
        canonical = {n.lower(): n for n in SALESFORCE_OBJECTS}.get(name.lower())
        if canonical is None:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        clock = self.sandbox.clock_iso
        with self.sandbox.pool.store() as store:
            row = store.db.execute(
                "select deleted, data from versions where system = 'salesforce' and object = ? and id = ?"
                " and valid_from <= ? and (valid_to is null or valid_to > ?)", (canonical, record_id, clock, clock)).fetchone()
        if row is None:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        if row[0]:
            return _error(404, "ENTITY_IS_DELETED", "entity is deleted")
        self.sandbox.count("records")
        self.sandbox.count("records:salesforce")
        return Reply(200, row[1].encode())

    def _describe(self, name: str, version: str) -> Reply:
        canonical = {n.lower(): n for n in SALESFORCE_OBJECTS}.get(name.lower())
        if canonical is None:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        fields = []
        for field_name in SALESFORCE_OBJECTS[canonical]:
            field_type = soql.field_type(field_name)
            fields.append({
                "name": field_name, "label": _label(field_name), "type": field_type,
                "nillable": field_name not in ("Id", "IsDeleted", "CreatedDate", "SystemModstamp"),
                "custom": field_name.endswith("__c"), "filterable": field_type != "textarea",
                "sortable": field_type not in ("anyType", "textarea"),
                "createable": field_name not in _NOT_CREATEABLE,
                "length": (255 if field_type in ("string", "picklist", "email")
                           else 18 if field_type in ("id", "reference") else 32000 if field_type == "textarea" else 0),
            })
        return json_reply(200, {"name": canonical, "label": canonical, "custom": False, "queryable": True,
                                "retrieveable": True, "fields": fields,
                                "urls": {"describe": f"/services/data/{version}/sobjects/{canonical}/describe"}})

    # -- query -----------------------------------------------------------------------------
    def _query(self, request: Request, version: str, *, include_deleted: bool) -> Reply:
        text = request.param("q")
        if text is None:
            return _error(400, "MALFORMED_QUERY", "A query string must be provided.")
        try:
            query = soql.parse(text)
        except soql.SoqlError as bad:
            return _error(400, bad.code, bad.message)
        except (ValueError, re.error) as bad:
            return _error(400, "MALFORMED_QUERY", str(bad))
        batch_size = _batch_size(request.headers.get("sforce-query-options", ""))
        seqs = self._run(query, include_deleted)
        if query.count_only:
            return json_reply(200, {"totalSize": len(seqs), "done": True, "records": []})
        locator_id = "01g" + secrets.token_hex(8)[:15]
        locator = _Locator(query, seqs, version, batch_size)
        if len(seqs) > batch_size:
            self.locators.put(locator_id, locator)
        return self._batch(locator_id, locator, 0)

    def _run(self, query: soql.Query, include_deleted: bool) -> list[int]:
        """The seqs of the matching versions at the clock, in the query's order."""
        matched = self._match(query, include_deleted, trust_order=bool(query.order_by))
        if matched is None:  # the store's order is not the query's: read again and sort
            matched = self._match(query, include_deleted, trust_order=False)
        end = None if query.limit is None else query.offset + query.limit
        return matched[query.offset:end]

    def _match(self, query: soql.Query, include_deleted: bool, *, trust_order: bool) -> list[int] | None:
        """The matching seqs, sorted. With `trust_order`, the rows stay in the order the store gives
        them (version time, then id: `ORDER BY SystemModstamp, Id`, what every extract asks) as long
        as each follows the one before in the query's order, so a query of millions of records
        holds their seqs only; None as soon as one does not."""
        sandbox = self.sandbox
        after = soql_iso(query.changed_after)
        until = soql_iso(query.changed_until)
        order_fields = [key.field for key in query.order_by]
        matched: list = []
        previous: dict | None = None
        needs_record = query.where is not None or bool(order_fields)
        with sandbox.pool.store() as store:
            rows = current_rows(store, SYSTEM, query.object, sandbox.clock_iso,
                                columns="seq, deleted, data" if needs_record else "seq, deleted, null",
                                changed_after=after, changed_until=until)
            where = query.where
            # a few fields are cheaper to pick out of the stored text than to parse it whole
            wanted = query.where_fields | set(order_fields)
            read = soql.field_reader(wanted) if 0 < len(wanted) <= 4 else orjson.loads
            for seq, deleted, data in rows:
                if deleted and not include_deleted:
                    continue
                if not needs_record:
                    matched.append(seq)
                    continue
                record = read(data)
                if where is not None and not where(record):
                    continue
                if order_fields:
                    keyed = {name: record.get(name) for name in order_fields}
                    if trust_order:
                        if previous is not None and not query.follows(previous, keyed):
                            return None
                        previous = keyed
                        matched.append(seq)
                    else:
                        keyed["__seq"] = seq
                        matched.append(keyed)
                else:
                    matched.append(seq)
        if order_fields and not trust_order:
            matched = [keyed["__seq"] for keyed in query.sort(matched)]
        return matched

    def _more(self, locator_id: str, offset: int) -> Reply:
        locator = self.locators.get(locator_id)
        if locator is None:
            finished = self._last_batches.get((locator_id, offset))
            if finished is not None:
                return finished
            return _error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._batch(locator_id, locator, offset)

    def _batch(self, locator_id: str, locator: _Locator, offset: int) -> Reply:
        query, batch_size = locator.query, locator.batch_size
        chunk = locator.seqs[offset:offset + batch_size]
        with self.sandbox.pool.store() as store:
            texts = data_by_seq(store, chunk)
        object_name, version = query.object, locator.version
        url_prefix = f"/services/data/{version}/sobjects/{object_name}/"
        loads, dumps = orjson.loads, orjson.dumps
        encoded = []
        if _selects_whole_record(query, version):
            # the store holds each record as the API returns it (attributes, then every field
            # in catalog order): a query of every field is served from the stored text as is
            chunk_texts = [texts[seq].encode() for seq in chunk]
            chunk = []
            encoded = chunk_texts
        for seq in chunk:
            record = loads(texts[seq])
            projected = {"attributes": {"type": object_name, "url": url_prefix + str(record.get("Id"))}}
            for name in query.fields:
                projected[name] = record.get(name)
            encoded.append(dumps(projected))
        served = len(encoded)
        done = offset + served >= len(locator.seqs)
        head = {"totalSize": len(locator.seqs), "done": done}
        if not done:
            head["nextRecordsUrl"] = f"/services/data/{version}/query/{locator_id}-{offset + served}"
        body = dumps(head)[:-1] + b',"records":[' + b",".join(encoded) + b"]}"
        self.sandbox.count("records", served)
        self.sandbox.count("records:salesforce", served)
        reply = Reply(200, body)
        if done and offset > 0:
            # the cursor is spent: free it, but let a retried last batch still be answered
            self.locators.pop(locator_id)
            self._last_batches.put((locator_id, offset), reply)
        return reply


def _selects_whole_record(query: soql.Query, version: str) -> bool:
    return version == STORED_VERSION and query.fields == list(SALESFORCE_OBJECTS[query.object])


def soql_iso(instant) -> str | None:
    if instant is None:
        return None
    return instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _batch_size(options: str) -> int:
    match = re.search(r"batchSize\s*=\s*(\d+)", options)
    if not match:
        return BATCH_SIZE
    return max(200, min(BATCH_SIZE, int(match.group(1))))


def _label(name: str) -> str:
    name = name.removesuffix("__c").replace("_", " ")
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)
