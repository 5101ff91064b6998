"""HubSpot as the sandbox serves it: CRM v3 object lists (after cursors, properties,
propertiesWithHistory, associations, archived), search with its 10,000-result ceiling,
owners, v4 association batch reads, forms, form submissions and marketing email events; and
one write: `POST /crm/v3/objects/tasks` creates a task with its associations, validated as
HubSpot does (unknown properties, options, owners, a missing hs_timestamp, associations to
records that do not exist), answering 201 with the task or 400 `VALIDATION_ERROR`.

A private-app token is a bearer token: any is accepted unless the server was told which.
Lists are cut from a per-clock snapshot of (id, row) pairs; records are read by row when a
page is served, so a page costs its own records, not a scan of the object.
"""

from __future__ import annotations

import base64
import bisect
import re
import uuid
from datetime import datetime, timezone

import orjson

from baton_sandbox.catalog import (
    HUBSPOT_ASSOCIATIONS,
    HUBSPOT_LAST_MODIFIED,
    HUBSPOT_LAST_MODIFIED_DEFAULT,
    HUBSPOT_PROPERTIES,
)
from baton_sandbox.server import Reply, Request, current_rows, data_by_seq, json_reply
from baton_sandbox.store import iso
from baton_sandbox.world_cast import hs_datetime

SYSTEM = "hubspot"
LIST_LIMIT = 100
HISTORY_LIST_LIMIT = 50
SEARCH_LIMIT = 200
SEARCH_CEILING = 10_000
OWNERS_LIMIT = 500
SUBMISSIONS_LIMIT = 50
EMAIL_EVENTS_LIMIT = 1000

_SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal", "calls": "call",
             "emails": "email", "meetings": "meeting", "tasks": "task"}
# HubSpot-defined association type ids (unlabeled), by (from, to)
_ASSOCIATION_TYPE_IDS = {
    ("contacts", "companies"): 279, ("companies", "contacts"): 280,
    ("deals", "contacts"): 3, ("contacts", "deals"): 4,
    ("deals", "companies"): 341, ("companies", "deals"): 342,
    ("calls", "contacts"): 194, ("contacts", "calls"): 193,
    ("emails", "contacts"): 198, ("contacts", "emails"): 197,
    ("meetings", "contacts"): 200, ("contacts", "meetings"): 199,
    ("tasks", "contacts"): 204, ("contacts", "tasks"): 203,
}
_DEFAULT_PROPERTIES = {
    "contacts": ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    "deals": ("amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate",
              "hs_object_id", "pipeline"),
}
# What a created task's enumerations accept (HubSpot's options), and what it may not set itself.
_TASK_OPTIONS = {
    "hs_task_status": ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"),
    "hs_task_priority": ("NONE", "LOW", "MEDIUM", "HIGH"),
    "hs_task_type": ("TODO", "CALL", "EMAIL", "LINKED_IN", "MEETING", "SALES_NAVIGATOR_CONNECTION_REQUEST"),
}
_READ_ONLY_PROPERTIES = {"hs_object_id", "hs_createdate", "hs_lastmodifieddate"}
_CREATED_TASK_IDS = 900_000_001  # above every generated task id
_NUMBER_PROPERTIES = {"amount", "numemployees", "numberofemployees", "num_conversion_events", "hs_object_id",
                      "associatedcompanyid"}
_DATETIME_PROPERTY = re.compile(r"(date|timestamp|_time)$")


def _error(status: int, message: str, category: str, headers: dict | None = None, **extra) -> Reply:
    return json_reply(status, {"status": "error", "message": message, "correlationId": str(uuid.uuid4()),
                               "category": category, **extra}, headers)


def last_modified_property(object_type: str) -> str:
    return HUBSPOT_LAST_MODIFIED.get(object_type, HUBSPOT_LAST_MODIFIED_DEFAULT)


def _epoch_ms(value) -> float | None:
    """HubSpot datetimes arrive as ISO strings or epoch milliseconds."""
    if value is None or value == "":
        return None
    text = str(value)
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text)
    if len(text) == 10:
        text += "T00:00:00Z"
    instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return instant.timestamp() * 1000


def _comparable(name: str, value):
    if value is None or value == "":
        return None
    if _DATETIME_PROPERTY.search(name):
        return _epoch_ms(value)
    if name in _NUMBER_PROPERTIES:
        try:
            return float(value)
        except ValueError:
            return None
    return str(value).lower()


def _encode_cursor(*parts) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(parts))).decode().rstrip("=")


def _decode_cursor(token: str) -> list:
    return orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


class HubSpotApi:
    def __init__(self, sandbox):
        self.sandbox = sandbox

    # -- faults and auth -------------------------------------------------------------------
    def fault_reply(self, kind: str, plan) -> Reply:
        if kind == "rate_limit":
            return _error(429, "You have reached your secondly limit.", "RATE_LIMITS",
                          headers={"Retry-After": str(plan.retry_after_seconds)}, errorType="RATE_LIMIT",
                          policyName="SECONDLY", groupName="publicapi:private-app:sandbox")
        return _error(502, "Bad Gateway: the server is temporarily unable to serve this request.", "BAD_GATEWAY")

    def expire_presented_token(self, request: Request) -> None:
        """Private-app tokens do not expire; the fault passes over HubSpot."""

    def _authorized(self, request: Request) -> bool:
        token = request.bearer_token()
        return bool(token) and self.sandbox.accepts(SYSTEM, None, token)

    # -- routing ---------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        if not self._authorized(request):
            return _error(401, "Authentication credentials not found. This API supports OAuth 2.0 authentication"
                          " and you can find more details at https://developers.hubspot.com/docs/methods/auth/"
                          "oauth-overview", "INVALID_AUTHENTICATION")
        path = request.path.rstrip("/")
        parts = path.split("/")
        try:
            if path == "/crm/v3/owners":
                return self._owners(request)
            if path.startswith("/crm/v3/objects/"):
                object_type = parts[4]
                if object_type not in HUBSPOT_PROPERTIES:
                    return _error(400, f"Unable to infer object type from: {object_type}", "VALIDATION_ERROR")
                if len(parts) == 5 and request.method == "GET":
                    return self._list(request, object_type)
                if len(parts) == 5 and request.method == "POST":
                    return self._create(request, object_type)
                if len(parts) == 6 and parts[5] == "search" and request.method == "POST":
                    return self._search(request, object_type)
                if len(parts) == 7 and parts[5:] == ["batch", "read"] and request.method == "POST":
                    return self._batch_read(request, object_type)
                if len(parts) == 6 and request.method == "GET":
                    return self._read(request, object_type, parts[5])
            if path.startswith("/crm/v3/properties/") and len(parts) == 5:
                return self._properties(parts[4])
            if path.startswith("/crm/v4/associations/") and len(parts) == 8 and parts[6:] == ["batch", "read"]:
                return self._association_batch(request, parts[4], parts[5])
            if path == "/marketing/v3/forms":
                return self._forms(request)
            if path.startswith("/form-integrations/v1/submissions/forms/") and len(parts) == 6:
                return self._submissions(request, parts[5])
            if path == "/email/public/v1/events":
                return self._email_events(request)
        except _BadRequest as bad:
            return _error(400, bad.message, "VALIDATION_ERROR")
        return _error(404, f"No route for {request.method} {request.path}", "OBJECT_NOT_FOUND")

    def is_write(self, request: Request) -> bool:
        return request.method == "POST" and request.path.rstrip("/").count("/") == 4 \
            and request.path.startswith("/crm/v3/objects/")

    # -- create ----------------------------------------------------------------------------
    def _create(self, request: Request, object_type: str) -> Reply:
        if object_type != "tasks":
            return _error(405, f"the sandbox creates tasks only, not {object_type}", "VALIDATION_ERROR")
        try:
            body = request.json()
        except orjson.JSONDecodeError:
            raise _BadRequest("Invalid input JSON on line 1") from None
        if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
            raise _BadRequest("Invalid input JSON: a properties object is required")
        given = {str(k): (None if v is None else str(v)) for k, v in body["properties"].items()}
        problems = []
        for name, value in given.items():
            if name not in HUBSPOT_PROPERTIES["tasks"]:
                problems.append((name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'))
            elif name in _READ_ONLY_PROPERTIES:
                problems.append((name, "READ_ONLY_VALUE", f"{name} is a read only property; its value cannot be set."))
            elif name in _TASK_OPTIONS and value not in _TASK_OPTIONS[name] and value not in (None, ""):
                problems.append((name, "INVALID_OPTION", f"{value} was not one of the allowed options: "
                                 f"[{', '.join(_TASK_OPTIONS[name])}]"))
            elif name == "hs_timestamp" and value not in (None, ""):
                try:
                    _epoch_ms(value)
                except ValueError:
                    problems.append((name, "INVALID_DATETIME", f"{value} is not a valid datetime or epoch milliseconds"))
        if given.get("hs_timestamp") in (None, ""):
            problems.append(("hs_timestamp", "REQUIRED_FIELD", "hs_timestamp is required: the task's due date"))
        owner = given.get("hubspot_owner_id")
        if owner not in (None, "") and owner not in {str(i) for i in self._snapshot("owners", False)[0]}:
            problems.append(("hubspot_owner_id", "INVALID_OWNER_ID", f"{owner} is not a valid owner id"))
        if problems:
            details = [{"isValid": False, "message": message, "error": code, "name": name,
                        "localizedErrorMessage": message} for name, code, message in problems]
            return _error(400, "Property values were not valid: " + orjson.dumps(details).decode(),
                          "VALIDATION_ERROR")
        contacts, refused = self._task_associations(body.get("associations"))
        if refused is not None:
            return refused
        record_id = str(_CREATED_TASK_IDS + self.sandbox.created_count(SYSTEM, "tasks"))
        stamp = hs_datetime(self.sandbox.clock)
        properties = {name: None for name in HUBSPOT_PROPERTIES["tasks"]}
        properties.update(given)
        properties.update({"hs_object_id": record_id, "hs_createdate": stamp, "hs_lastmodifieddate": stamp})
        properties.setdefault("hs_task_status", "NOT_STARTED")
        record = {"id": record_id, "properties": properties, "createdAt": stamp, "updatedAt": stamp,
                  "archived": False, "associations": {"contacts": contacts}}
        self.sandbox.create_record(SYSTEM, "tasks", record_id, record)
        return json_reply(201, {key: record[key] for key in ("id", "properties", "createdAt", "updatedAt", "archived")})

    def _task_associations(self, associations) -> tuple[list[str], Reply | None]:
        """The contact ids a new task is associated with (type 204, HUBSPOT_DEFINED), or the refusal."""
        contacts: list[str] = []
        if associations in (None, []):
            return contacts, None
        if not isinstance(associations, list):
            return contacts, _error(400, "Invalid input JSON: associations must be a list", "VALIDATION_ERROR")
        visible = self._visible_ids("contacts")
        for item in associations:
            try:
                target = str(item["to"]["id"])
                types = [(t.get("associationCategory"), int(t.get("associationTypeId"))) for t in item["types"]]
            except (KeyError, TypeError, ValueError, AttributeError):
                return contacts, _error(400, "Invalid input JSON: each association needs to.id and types"
                                        " [{associationCategory, associationTypeId}]", "VALIDATION_ERROR")
            if ("HUBSPOT_DEFINED", _ASSOCIATION_TYPE_IDS[("tasks", "contacts")]) not in types:
                return contacts, _error(400, f"association types {types} are not valid from task to contact"
                                        " (HUBSPOT_DEFINED 204)", "VALIDATION_ERROR",
                                        subCategory="crm.associations.INVALID_ASSOCIATION_TYPE")
            if target not in visible:
                return contacts, _error(400, f"One or more associations are invalid: contact {target} does not exist",
                                        "VALIDATION_ERROR", subCategory="crm.associations.INVALID_OBJECT_IDS",
                                        context={"toObjectId": [target]})
            contacts.append(target)
        return contacts, None

    # -- snapshots -------------------------------------------------------------------------
    def _snapshot(self, object_type: str, archived: bool) -> tuple[list[int], list[int]]:
        """(ids ascending, seqs) of the records current at the clock, archived or not."""
        clock = self.sandbox.clock_iso

        def build():
            with self.sandbox.pool.store() as store:
                rows = [(int(id_), seq) for seq, id_, deleted in
                        current_rows(store, SYSTEM, object_type, clock) if bool(deleted) == archived]
            rows.sort()
            return [r[0] for r in rows], [r[1] for r in rows]

        return self.sandbox.cache.get_or_build(("hs-snapshot", object_type, archived, clock), build)

    def _visible_ids(self, object_type: str) -> set[str]:
        clock = self.sandbox.clock_iso
        return self.sandbox.cache.get_or_build(
            ("hs-visible", object_type, clock), lambda: {str(i) for i in self._snapshot(object_type, False)[0]})

    def _associations(self, from_type: str, to_type: str) -> dict[str, list[str]]:
        """from id -> associated to ids, at the clock, among records that are not archived."""
        clock = self.sandbox.clock_iso

        def build():
            index: dict[str, list[str]] = {}
            if to_type in HUBSPOT_ASSOCIATIONS.get(from_type, ()):
                source, target, forward = from_type, to_type, True
            elif from_type in HUBSPOT_ASSOCIATIONS.get(to_type, ()):
                source, target, forward = to_type, from_type, False
            else:
                return index
            visible_targets = self._visible_ids(target)
            with self.sandbox.pool.store() as store:
                rows = current_rows(store, SYSTEM, source, clock, columns="id, deleted, data")
                for source_id, deleted, data in rows:
                    if deleted:
                        continue
                    linked = [str(t) for t in (orjson.loads(data).get("associations") or {}).get(target) or ()]
                    for target_id in linked:
                        if target_id not in visible_targets:
                            continue
                        if forward:
                            index.setdefault(str(source_id), []).append(target_id)
                        else:
                            index.setdefault(target_id, []).append(str(source_id))
            for ids in index.values():
                ids.sort(key=int)
            return index

        return self.sandbox.cache.get_or_build(("hs-assoc", from_type, to_type, clock), build)

    # -- formatting ------------------------------------------------------------------------
    def _chosen_properties(self, object_type: str, requested: list[str]) -> list[str]:
        known = set(HUBSPOT_PROPERTIES[object_type])
        chosen = [p for p in requested if p in known] if requested else \
            list(_DEFAULT_PROPERTIES.get(object_type, ()))
        # HubSpot always answers with the id and the create / modify stamps
        created = "createdate" if "createdate" in known else "hs_createdate"
        for always in ("hs_object_id", created, last_modified_property(object_type)):
            if always in known and always not in chosen:
                chosen.append(always)
        return chosen

    def _format(self, object_type: str, record: dict, properties: list[str], history: list[str],
                associations: list[str], store=None) -> dict:
        values = record.get("properties") or {}
        out = {"id": str(record["id"]), "properties": {p: values.get(p) for p in properties},
               "createdAt": record.get("createdAt"), "updatedAt": record.get("updatedAt"),
               "archived": bool(record.get("archived"))}
        if out["archived"]:
            out["archivedAt"] = record.get("archivedAt") or record.get("updatedAt")
        if history:
            out["propertiesWithHistory"] = self._history(store, object_type, out["id"], history)
        linked = {}
        for target in associations:
            ids = self._associations(object_type, target).get(out["id"])
            if ids:
                label = f"{_SINGULAR.get(object_type, object_type)}_to_{_SINGULAR.get(target, target)}"
                linked[target] = {"results": [{"id": i, "type": label} for i in ids]}
        if linked:
            out["associations"] = linked
        return out

    def _history(self, store, object_type: str, record_id: str, names: list[str]) -> dict:
        """Each property's values, newest first, one entry per change seen in the record's versions."""
        entries: dict[str, list[dict]] = {name: [] for name in names}
        previous: dict[str, object] = {}
        for version in store.history(SYSTEM, object_type, record_id, self.sandbox.clock):
            record = orjson.loads(version.data)
            values = record.get("properties") or {}
            stamp = record.get("updatedAt") or record.get("createdAt")
            for name in names:
                value = values.get(name)
                if name not in previous and value is None:
                    previous[name] = None
                    continue
                if name in previous and previous[name] == value:
                    continue
                previous[name] = value
                entries[name].append({"value": "" if value is None else str(value), "timestamp": stamp,
                                      "sourceType": "CRM_UI", "sourceId": None})
        return {name: list(reversed(found)) for name, found in entries.items()}

    # -- objects ---------------------------------------------------------------------------
    def _list(self, request: Request, object_type: str) -> Reply:
        properties = self._chosen_properties(object_type, _csv(request, "properties"))
        history = [p for p in _csv(request, "propertiesWithHistory") if p in HUBSPOT_PROPERTIES[object_type]]
        associations = [a for a in _csv(request, "associations") if a in _SINGULAR]
        archived = (request.param("archived") or "false").lower() == "true"
        cap = HISTORY_LIST_LIMIT if history else LIST_LIMIT
        limit = max(1, min(cap, _int(request.param("limit"), 10)))
        after = request.param("after")
        ids, seqs = self._snapshot(object_type, archived)
        start = bisect.bisect_left(ids, _int(after, 0)) if after else 0
        page_seqs = seqs[start:start + limit]
        results = []
        with self.sandbox.pool.store() as store:
            texts = data_by_seq(store, page_seqs)
            for seq in page_seqs:
                results.append(self._format(object_type, orjson.loads(texts[seq]), properties, history,
                                            associations, store))
        payload: dict = {"results": results}
        if start + limit < len(ids):
            next_id = str(ids[start + limit])
            payload["paging"] = {"next": {"after": next_id,
                                          "link": f"{request.base_url(self.sandbox.url)}{request.path}?after={next_id}"}}
        self._served(len(results))
        return json_reply(200, payload)

    def _read(self, request: Request, object_type: str, record_id: str) -> Reply:
        archived = (request.param("archived") or "false").lower() == "true"
        ids, seqs = self._snapshot(object_type, archived)
        position = bisect.bisect_left(ids, _int(record_id, -1))
        if position >= len(ids) or str(ids[position]) != record_id:
            return _error(404, "Object not found.", "OBJECT_NOT_FOUND")
        properties = self._chosen_properties(object_type, _csv(request, "properties"))
        history = [p for p in _csv(request, "propertiesWithHistory") if p in HUBSPOT_PROPERTIES[object_type]]
        associations = [a for a in _csv(request, "associations") if a in _SINGULAR]
        with self.sandbox.pool.store() as store:
            text = data_by_seq(store, [seqs[position]])[seqs[position]]
            record = self._format(object_type, orjson.loads(text), properties, history, associations, store)
        self._served(1)
        return json_reply(200, record)

    def _batch_read(self, request: Request, object_type: str) -> Reply:
        try:
            body = request.json()
            inputs = [str(item["id"]) for item in body.get("inputs") or []]
        except (KeyError, TypeError, AttributeError, orjson.JSONDecodeError):
            raise _BadRequest("inputs must be a list of {\"id\": ...}") from None
        if len(inputs) > 100:
            raise _BadRequest("Batch read is limited to 100 inputs")
        archived = (request.param("archived") or "false").lower() == "true"
        properties = self._chosen_properties(object_type, [str(p) for p in body.get("properties") or []])
        history = [p for p in body.get("propertiesWithHistory") or [] if p in HUBSPOT_PROPERTIES[object_type]]
        ids, seqs = self._snapshot(object_type, archived)
        wanted = []
        for record_id in inputs:
            position = bisect.bisect_left(ids, _int(record_id, -1))
            if position < len(ids) and str(ids[position]) == record_id:
                wanted.append(seqs[position])
        with self.sandbox.pool.store() as store:
            texts = data_by_seq(store, wanted)
            results = [self._format(object_type, orjson.loads(texts[seq]), properties, history, [], store)
                       for seq in wanted]
        now = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
        self._served(len(results))
        return json_reply(200, {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now})

    def _properties(self, object_type: str) -> Reply:
        if object_type not in HUBSPOT_PROPERTIES:
            return _error(400, f"Unable to infer object type from: {object_type}", "VALIDATION_ERROR")
        results = []
        for name in HUBSPOT_PROPERTIES[object_type]:
            if _DATETIME_PROPERTY.search(name):
                kind, field_type = "datetime", "date"
            elif name in _NUMBER_PROPERTIES:
                kind, field_type = "number", "number"
            else:
                kind, field_type = "string", "text"
            results.append({"name": name, "label": name.replace("_", " ").title(), "type": kind,
                            "fieldType": field_type, "groupName": f"{_SINGULAR.get(object_type, object_type)}information",
                            "hidden": False, "calculated": False, "hasUniqueValue": name == "hs_object_id"})
        return json_reply(200, {"results": results})

    def _search(self, request: Request, object_type: str) -> Reply:
        try:
            body = request.json()
        except orjson.JSONDecodeError:
            raise _BadRequest("Invalid input JSON on line 1") from None
        known = set(HUBSPOT_PROPERTIES[object_type])
        groups = body.get("filterGroups") or []
        sorts = [s if isinstance(s, dict) else {"propertyName": str(s).lstrip("-"),
                                                "direction": "DESCENDING" if str(s).startswith("-") else "ASCENDING"}
                 for s in body.get("sorts") or []]
        for group in groups:
            for condition in group.get("filters") or []:
                if condition.get("propertyName") not in known:
                    raise _BadRequest(f"There was a problem with the request: property "
                                      f"'{condition.get('propertyName')}' does not exist on {object_type}")
        for sort in sorts:
            if sort.get("propertyName") not in known:
                raise _BadRequest(f"There was a problem with the request: property "
                                  f"'{sort.get('propertyName')}' does not exist on {object_type}")
        limit = max(1, min(SEARCH_LIMIT, _int(body.get("limit"), 10)))
        after = _int(body.get("after"), 0)
        if after >= SEARCH_CEILING:
            raise _BadRequest(f"Cannot page beyond {SEARCH_CEILING} results: after={after}")
        key = ("hs-search", object_type, self.sandbox.clock_iso,
               orjson.dumps({"g": groups, "s": sorts}, option=orjson.OPT_SORT_KEYS))
        matched = self.sandbox.cache.get_or_build(key, lambda: self._run_search(object_type, groups, sorts))
        page = matched[after:after + limit]
        properties = self._chosen_properties(object_type, [str(p) for p in body.get("properties") or []])
        with self.sandbox.pool.store() as store:
            texts = data_by_seq(store, page)
        results = [self._format(object_type, orjson.loads(texts[seq]), properties, [], []) for seq in page]
        payload: dict = {"total": len(matched), "results": results}
        if after + limit < len(matched):
            payload["paging"] = {"next": {"after": str(after + limit)}}
        self._served(len(results))
        return json_reply(200, payload)

    def _run_search(self, object_type: str, groups: list[dict], sorts: list[dict]) -> list[int]:
        tests = [[_filter_test(c) for c in group.get("filters") or []] for group in groups]
        changed_after, changed_until = _time_bounds(object_type, groups)
        rows = []
        with self.sandbox.pool.store() as store:
            for seq, id_, deleted, data in current_rows(store, SYSTEM, object_type, self.sandbox.clock_iso,
                                                        columns="seq, id, deleted, data",
                                                        changed_after=changed_after, changed_until=changed_until):
                if deleted:
                    continue
                record = orjson.loads(data)
                values = record.get("properties") or {}
                values.setdefault("hs_object_id", str(id_))
                if tests and not any(all(test(values) for test in group) for group in tests):
                    continue
                rows.append((int(id_), seq, {s["propertyName"]: values.get(s["propertyName"]) for s in sorts}))
        rows.sort(key=lambda r: r[0])  # ties in a sort fall back to id order
        for sort in reversed(sorts):
            name = sort["propertyName"]
            descending = str(sort.get("direction", "ASCENDING")).upper().startswith("DESC")

            def sort_key(row, name=name, descending=descending):
                value = _comparable(name, row[2].get(name))
                # HubSpot puts records without the property last in either direction
                return (0 if descending else 1, 0) if value is None else (1 if descending else 0, value)

            rows.sort(key=sort_key, reverse=descending)
        return [r[1] for r in rows]

    def _association_batch(self, request: Request, from_type: str, to_type: str) -> Reply:
        for object_type in (from_type, to_type):
            if object_type not in HUBSPOT_PROPERTIES:
                return _error(400, f"Unable to infer object type from: {object_type}", "VALIDATION_ERROR")
        try:
            inputs = [str(item["id"]) for item in (request.json().get("inputs") or [])]
        except (KeyError, TypeError, AttributeError, orjson.JSONDecodeError):
            raise _BadRequest("inputs must be a list of {\"id\": ...}") from None
        if len(inputs) > 1000:
            raise _BadRequest("Batch size must be at most 1000")
        index = self._associations(from_type, to_type)
        type_id = _ASSOCIATION_TYPE_IDS.get((from_type, to_type))
        now = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
        results, errors = [], []
        for from_id in inputs:
            linked = index.get(from_id)
            if linked:
                results.append({"from": {"id": from_id}, "to": [
                    {"toObjectId": int(t), "associationTypes": [
                        {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}]} for t in linked]})
            else:
                errors.append({"status": "error", "category": "OBJECT_NOT_FOUND",
                               "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                               "message": f"No {to_type} is associated with {_SINGULAR.get(from_type, from_type)} {from_id}.",
                               "context": {"fromObjectId": [from_id]}})
        payload = {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}
        if errors:
            payload.update({"numErrors": len(errors), "errors": errors})
        self._served(len(results))
        return json_reply(207 if errors else 200, payload)

    # -- owners, forms, submissions, email events -----------------------------------------
    def _owners(self, request: Request) -> Reply:
        archived = (request.param("archived") or "false").lower() == "true"
        limit = max(1, min(OWNERS_LIMIT, _int(request.param("limit"), 100)))
        email = (request.param("email") or "").lower()
        ids, seqs = self._snapshot("owners", archived)
        after = request.param("after")
        start = bisect.bisect_left(ids, _int(after, 0)) if after else 0
        with self.sandbox.pool.store() as store:
            if email:
                texts = data_by_seq(store, seqs)
                page = [texts[s].encode() for s in seqs if (orjson.loads(texts[s]).get("email") or "").lower() == email]
                start, total = 0, len(page)
            else:
                page_seqs = seqs[start:start + limit]
                texts = data_by_seq(store, page_seqs)
                page = [texts[s].encode() for s in page_seqs]
                total = len(ids)
        head: dict = {}
        if not email and start + limit < total:
            head["paging"] = {"next": {"after": str(ids[start + limit])}}
        self._served(len(page))
        return Reply(200, b'{"results":[' + b",".join(page) + b"]" +
                     (b"," + orjson.dumps(head)[1:] if head else b"}"))

    def _forms(self, request: Request) -> Reply:
        limit = max(1, min(100, _int(request.param("limit"), 20)))
        offset = _int(request.param("after"), 0)
        forms = self._forms_snapshot()
        page = forms[offset:offset + limit]
        payload: dict = {"results": [record for _, record in page]}
        if offset + limit < len(forms):
            payload["paging"] = {"next": {"after": str(offset + limit)}}
        self._served(len(page))
        return json_reply(200, payload)

    def _forms_snapshot(self) -> list[tuple[str, dict]]:
        clock = self.sandbox.clock_iso

        def build():
            with self.sandbox.pool.store() as store:
                forms = [(id_, orjson.loads(data)) for id_, deleted, data in
                         current_rows(store, SYSTEM, "forms", clock, columns="id, deleted, data") if not deleted]
            forms.sort(key=lambda f: (str(f[1].get("createdAt")), f[0]))
            for _, record in forms:
                record.setdefault("archived", False)
            return forms

        return self.sandbox.cache.get_or_build(("hs-forms", clock), build)

    def _submissions(self, request: Request, form_id: str) -> Reply:
        if form_id not in {f for f, _ in self._forms_snapshot()}:
            return _error(404, f"Form with guid {form_id} not found", "OBJECT_NOT_FOUND")
        limit = max(1, min(SUBMISSIONS_LIMIT, _int(request.param("limit"), 20)))
        clock = self.sandbox.clock_iso

        def build():
            by_form: dict[str, list[tuple]] = {}
            with self.sandbox.pool.store() as store:
                for seq, deleted, data in current_rows(store, SYSTEM, "form_submissions", clock,
                                                       columns="seq, deleted, data"):
                    if deleted:
                        continue
                    record = orjson.loads(data)
                    by_form.setdefault(str(record.get("formId")), []).append(
                        (-int(record.get("submittedAt") or 0), str(record.get("conversionId")), seq))
            for rows in by_form.values():
                rows.sort()  # newest first, as HubSpot lists submissions
            return by_form

        rows = self.sandbox.cache.get_or_build(("hs-submissions", clock), build).get(form_id, [])
        start = 0
        after = request.param("after")
        if after:
            try:
                submitted, conversion = _decode_cursor(after)
            except (ValueError, TypeError):
                raise _BadRequest(f"Invalid after: {after}") from None
            start = bisect.bisect_right(rows, (submitted, conversion, float("inf")))
        page = rows[start:start + limit]
        with self.sandbox.pool.store() as store:
            texts = data_by_seq(store, [r[2] for r in page])
        body = b'{"results":[' + b",".join(texts[r[2]].encode() for r in page) + b"]"
        if start + limit < len(rows):
            last = page[-1]
            token = _encode_cursor(last[0], last[1])
            body += b"," + orjson.dumps({"paging": {"next": {
                "after": token, "link": f"{request.base_url(self.sandbox.url)}{request.path}?after={token}"}}})[1:-1]
        self._served(len(page))
        return Reply(200, body + b"}")

    def _email_events(self, request: Request) -> Reply:
        limit = max(1, min(EMAIL_EVENTS_LIMIT, _int(request.param("limit"), EMAIL_EVENTS_LIMIT)))
        start_ms = _int(request.param("startTimestamp"), None)
        end_ms = _int(request.param("endTimestamp"), None)
        event_type = (request.param("eventType") or "").upper()
        recipient = (request.param("recipient") or "").lower()
        position = ("", 0)
        if request.param("offset"):
            try:
                valid_from, seq = _decode_cursor(request.param("offset"))
                position = (str(valid_from), int(seq))
            except (ValueError, TypeError):
                raise _BadRequest(f"Invalid offset: {request.param('offset')}") from None
        if start_ms is not None:
            # events become visible when created: skip straight to the window (a second early, to be safe)
            window_start = iso(datetime.fromtimestamp(start_ms / 1000 - 1, timezone.utc))
            if window_start > position[0]:
                position = (window_start, 0)
        clock = self.sandbox.clock_iso
        found: list[bytes] = []
        more = False
        with self.sandbox.pool.store() as store:
            while not more:
                rows = store.db.execute(
                    "select seq, valid_from, data from versions where system = 'hubspot' and object = 'email_events'"
                    " and valid_from <= ? and (valid_to is null or valid_to > ?)"
                    " and valid_from >= ? and (valid_from > ? or seq > ?) order by valid_from, seq limit 2000",
                    (clock, clock, position[0], position[0], position[1])).fetchall()
                if not rows:
                    break
                for seq, valid_from, data in rows:
                    record = orjson.loads(data)
                    created = int(record.get("created") or 0)
                    if end_ms is not None and created > end_ms and valid_from > iso(
                            datetime.fromtimestamp(end_ms / 1000 + 1, timezone.utc)):
                        rows = []
                        break
                    if len(found) >= limit:
                        more = True
                        break
                    position = (valid_from, seq)
                    if start_ms is not None and created < start_ms:
                        continue
                    if end_ms is not None and created > end_ms:
                        continue
                    if event_type and str(record.get("type")).upper() != event_type:
                        continue
                    if recipient and str(record.get("recipient")).lower() != recipient:
                        continue
                    found.append(data.encode())
                if len(rows) < 2000:
                    break
        head = {"hasMore": more, "offset": _encode_cursor(*position)}
        self._served(len(found))
        return Reply(200, orjson.dumps(head)[:-1] + b',"events":[' + b",".join(found) + b"]}")

    def _served(self, count: int) -> None:
        self.sandbox.count("records", count)
        self.sandbox.count("records:hubspot", count)


class _BadRequest(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _csv(request: Request, name: str) -> list[str]:
    values = []
    for raw in request.query.get(name, []):
        values.extend(v.strip() for v in raw.split(",") if v.strip())
    return values


def _int(value, default):
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _BadRequest(f"Invalid integer: {value}") from None


def _filter_test(condition: dict):
    name = condition.get("propertyName")
    operator = str(condition.get("operator", "EQ")).upper()
    value = _comparable(name, condition.get("value"))
    if operator == "HAS_PROPERTY":
        return lambda values: values.get(name) not in (None, "")
    if operator == "NOT_HAS_PROPERTY":
        return lambda values: values.get(name) in (None, "")
    if operator in ("IN", "NOT_IN"):
        allowed = {_comparable(name, v) for v in condition.get("values") or []}
        if operator == "IN":
            return lambda values: _comparable(name, values.get(name)) in allowed
        return lambda values: _comparable(name, values.get(name)) not in allowed
    if operator == "BETWEEN":
        high = _comparable(name, condition.get("highValue"))
        return lambda values: (lambda v: v is not None and value <= v <= high)(_comparable(name, values.get(name)))
    if operator == "CONTAINS_TOKEN":
        pattern = re.compile(re.escape(str(condition.get("value", ""))).replace(r"\*", ".*"), re.IGNORECASE)
        return lambda values: values.get(name) is not None and pattern.search(str(values.get(name))) is not None
    compare = {
        "EQ": lambda v: v == value, "NEQ": lambda v: v != value,
        "LT": lambda v: v < value, "LTE": lambda v: v <= value,
        "GT": lambda v: v > value, "GTE": lambda v: v >= value,
    }.get(operator)
    if compare is None:
        raise _BadRequest(f"Unknown filter operator: {operator}")

    def test(values):
        current = _comparable(name, values.get(name))
        if current is None:
            return operator == "NEQ"
        if value is None:
            return False
        return compare(current)

    return test


def _time_bounds(object_type: str, groups: list[dict]) -> tuple[str | None, str | None]:
    """Bounds on valid_from when every filter group limits the last-modified property (== valid_from)."""
    if not groups:
        return None, None
    name = last_modified_property(object_type)
    afters, untils = [], []
    for group in groups:
        low = high = None
        for condition in group.get("filters") or []:
            if condition.get("propertyName") != name:
                continue
            operator = str(condition.get("operator", "")).upper()
            value = _epoch_ms(condition.get("value"))
            if operator in ("GT", "GTE", "BETWEEN", "EQ") and value is not None:
                low = value if low is None else max(low, value)
            if operator in ("LT", "LTE", "EQ") and value is not None:
                high = value if high is None else min(high, value)
            if operator == "BETWEEN":
                top = _epoch_ms(condition.get("highValue"))
                if top is not None:
                    high = top if high is None else min(high, top)
        afters.append(low)
        untils.append(high)
    after = None if any(a is None for a in afters) else min(afters)
    until = None if any(u is None for u in untils) else max(untils)

    def instant(ms, shift):
        return iso(datetime.fromtimestamp(ms / 1000 + shift, timezone.utc))

    return (instant(after, -1) if after is not None else None, instant(until, 1) if until is not None else None)
