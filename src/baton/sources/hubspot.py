"""HubSpot: CRM v3 objects by search windows, archived records, owners, forms, submissions, email events.

Incremental CRM reads use the search API on the object's last-modified property, oldest
first. The search API stops at 10,000 results per query, so a window whose `total` is above
that is split in halves until every piece fits. Archived records (deleted or merged away)
never appear in search: the list API with `archived=true` brings them, flagged. Contacts
carry `propertiesWithHistory` for lifecyclestage and hs_lead_status (batch read), and every
object its associations (v4 batch read), as `{"companies": ["<id>", ...]}`.

The property list comes from the properties API, so a new property lands with no code change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import requests

from baton.load.loader import RecordShape, parse_instant
from baton.sources.api import ApiClient, ApiError, Verdict, parse_body, retry_after
from baton.sources.base import Source, Stream, Window, epoch_ms

log = logging.getLogger(__name__)

SEARCH_CEILING = 10_000
SEARCH_PAGE = 200
LIST_PAGE = 100
BATCH_READ = 100
ASSOCIATION_BATCH = 1_000
# Stage history, and the owner history that tells who owned a contact when it was handed off.
HISTORY_PROPERTIES = {"contacts": ("lifecyclestage", "hs_lead_status", "hubspot_owner_id")}
LAST_MODIFIED = {"contacts": "lastmodifieddate"}
LAST_MODIFIED_DEFAULT = "hs_lastmodifieddate"
ASSOCIATIONS = {
    "contacts": ("companies",),
    "deals": ("contacts", "companies"),
    "calls": ("contacts",),
    "emails": ("contacts",),
    "meetings": ("contacts",),
    "tasks": ("contacts",),
}
# Used when the portal does not answer the properties API: HubSpot's standard properties plus
# the contract's org-specific defaults (lead_status_reason).
DEFAULT_PROPERTIES: dict[str, tuple[str, ...]] = {
    "contacts": ("email", "firstname", "lastname", "jobtitle", "company", "industry", "numemployees", "country",
                 "lifecyclestage", "hs_lead_status", "lead_status_reason", "hubspot_owner_id",
                 "hs_analytics_source", "hs_analytics_source_data_1", "num_conversion_events",
                 "recent_conversion_date", "associatedcompanyid", "hs_merged_object_ids", "createdate",
                 "lastmodifieddate", "hs_object_id"),
    "companies": ("name", "domain", "industry", "numberofemployees", "country", "hubspot_owner_id",
                  "lifecyclestage", "createdate", "hs_lastmodifieddate", "hs_object_id"),
    "deals": ("dealname", "amount", "dealstage", "pipeline", "closedate", "hs_is_closed", "hs_is_closed_won",
              "hubspot_owner_id", "createdate", "hs_lastmodifieddate", "hs_object_id"),
    "calls": ("hs_timestamp", "hs_call_status", "hs_call_direction", "hs_call_title", "hubspot_owner_id",
              "hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
    "emails": ("hs_timestamp", "hs_email_direction", "hs_email_status", "hs_email_subject", "hubspot_owner_id",
               "hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
    "meetings": ("hs_timestamp", "hs_meeting_title", "hs_meeting_start_time", "hs_meeting_end_time",
                 "hs_meeting_outcome", "hubspot_owner_id", "hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
    "tasks": ("hs_timestamp", "hs_task_subject", "hs_task_status", "hs_task_type", "hubspot_owner_id",
              "hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
}


class HubSpotClient(ApiClient):
    vendor = "hubspot"

    def __init__(self, base_url: str, token: str, **kwargs):
        super().__init__(base_url, **kwargs)
        self._token = token
        self._properties: dict[str, list[str]] = {}
        self._batch_read_history = True

    def authenticate(self) -> None:
        # A private-app token does not expire; a 401 mid-run is retried with it (up to max_reauth).
        self._authenticated = True

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def classify(self, response: requests.Response) -> Verdict:
        status = response.status_code
        if 200 <= status < 300:
            return Verdict("ok", parse_body(response))
        text = response.text[:300]
        if status == 401:
            return Verdict("reauth", message="HTTP 401")
        if status == 429 or status >= 500:
            return Verdict("retry", wait=retry_after(response), message=f"HTTP {status}")
        return Verdict("fatal", message=f"HTTP {status}: {text}")

    def properties(self, object_type: str) -> list[str]:
        if object_type not in self._properties:
            try:
                body = self.get(f"/crm/v3/properties/{object_type}")
                names = [p["name"] for p in body.get("results") or [] if p.get("name")]
            except ApiError as error:
                if error.status not in (400, 403, 404):
                    raise
                names = []
            self._properties[object_type] = names or list(DEFAULT_PROPERTIES.get(object_type, ()))
        return self._properties[object_type]

    def search(self, object_type: str, prop: str, low_ms: int, high_ms: int, properties: list[str]) -> Iterator[dict]:
        """Records with low <= prop <= high, oldest first; windows over the ceiling are halved.

        Search pages by offset: a record changed while a window is being paged leaves it and
        shifts the rest, so one record could slip between two pages. A window that yields fewer
        records than its first page's `total` is read again (repeats are harmless: the loader
        upserts by id).
        """
        pending = [(low_ms, high_ms)]
        rereads = 0
        while pending:
            low, high = pending.pop(0)
            body = self._search_page(object_type, prop, low, high, properties, None)
            total = body.get("total", 0)
            if total > SEARCH_CEILING and high > low:
                middle = low + (high - low) // 2
                pending[:0] = [(low, middle), (middle + 1, high)]
                continue
            if total > SEARCH_CEILING:
                raise ApiError(f"hubspot: more than {SEARCH_CEILING} {object_type} share one millisecond")
            seen = 0
            while True:
                page = body.get("results") or []
                seen += len(page)
                yield from page
                after = ((body.get("paging") or {}).get("next") or {}).get("after")
                if not after:
                    break
                body = self._search_page(object_type, prop, low, high, properties, after)
            if seen < total and rereads < 3:
                rereads += 1
                log.info("hubspot: %s window changed while paging (%d of %d read); reading it again",
                         object_type, seen, total)
                pending.insert(0, (low, high))

    def _search_page(self, object_type, prop, low, high, properties, after):
        request = {
            "filterGroups": [{"filters": [
                {"propertyName": prop, "operator": "GTE", "value": str(low)},
                {"propertyName": prop, "operator": "LTE", "value": str(high)},
            ]}],
            "sorts": [{"propertyName": prop, "direction": "ASCENDING"}],
            "properties": properties,
            "limit": SEARCH_PAGE,
        }
        if after:
            request["after"] = after
        return self.post(f"/crm/v3/objects/{object_type}/search", json=request)

    def list_objects(self, object_type: str, *, archived: bool = False, properties: list[str] | None = None,
                     history: tuple[str, ...] = (), associations: tuple[str, ...] = ()) -> Iterator[dict]:
        params = {"limit": LIST_PAGE, "archived": str(archived).lower()}
        if properties:
            params["properties"] = ",".join(properties)
        if history:
            params["propertiesWithHistory"] = ",".join(history)
        if associations:
            params["associations"] = ",".join(associations)
        yield from self._paged(f"/crm/v3/objects/{object_type}", params)

    def _paged(self, path: str, params: dict, key: str = "results") -> Iterator[dict]:
        params = dict(params)
        while True:
            body = self.get(path, params=params)
            yield from body.get(key) or []
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return
            params["after"] = after

    def history(self, object_type: str, ids: list[str], properties: list[str],
                history: tuple[str, ...]) -> dict[str, dict]:
        """propertiesWithHistory of these records by id (batch read)."""
        found: dict[str, dict] = {}
        for start in range(0, len(ids), BATCH_READ):
            body = self.post(f"/crm/v3/objects/{object_type}/batch/read", json={
                "properties": properties, "propertiesWithHistory": list(history),
                "inputs": [{"id": i} for i in ids[start:start + BATCH_READ]]})
            for record in body.get("results") or []:
                found[str(record.get("id"))] = record.get("propertiesWithHistory") or {}
        return found

    def associations(self, from_type: str, to_type: str, ids: list[str]) -> dict[str, list[str]]:
        linked: dict[str, list[str]] = {}
        for start in range(0, len(ids), ASSOCIATION_BATCH):
            body = self.post(f"/crm/v4/associations/{from_type}/{to_type}/batch/read",
                             json={"inputs": [{"id": i} for i in ids[start:start + ASSOCIATION_BATCH]]})
            for result in body.get("results") or []:
                source = str((result.get("from") or {}).get("id"))
                linked[source] = [str(to.get("toObjectId")) for to in result.get("to") or []]
        return linked


def _in_window(value, window: Window) -> bool:
    try:
        instant = parse_instant(value)
    except ValueError:
        return True  # let the loader reject it with its reason
    return window.since <= instant <= window.end


def _updated_at(record: dict):
    return record.get("updatedAt")


@dataclass(frozen=True)
class CrmStream(Stream):
    object_type: str = ""
    enrich_batch: int = 500

    @property
    def shape(self) -> RecordShape:
        return RecordShape(id="id", updated_at=_updated_at, deleted=lambda record: record.get("archived") is True)

    def records(self, client: HubSpotClient, window: Window) -> Iterator[dict]:
        properties = client.properties(self.object_type)
        prop = LAST_MODIFIED.get(self.object_type, LAST_MODIFIED_DEFAULT)
        batch: list[dict] = []
        for record in client.search(self.object_type, prop, epoch_ms(window.since), epoch_ms(window.end),
                                    properties):
            batch.append(record)
            if len(batch) >= self.enrich_batch:
                yield from self._enrich(client, batch, properties)
                batch = []
        if batch:
            yield from self._enrich(client, batch, properties)
        # Archived records never appear in search: the list API brings them, flagged.
        for record in client.list_objects(self.object_type, archived=True, properties=properties):
            if not isinstance(record, dict) or _in_window(record.get("archivedAt") or record.get("updatedAt"), window):
                yield record

    def _enrich(self, client: HubSpotClient, batch: list[dict], properties: list[str]) -> list[dict]:
        batch_records = [record for record in batch if isinstance(record, dict) and record.__class__ is dict]
        ids = [str(record.get("id")) for record in batch_records if record.get("id") is not None]
        history = HISTORY_PROPERTIES.get(self.object_type)
        if history:
            found = client.history(self.object_type, ids, properties, history)
            for record in batch_records:
                record["propertiesWithHistory"] = found.get(str(record.get("id")), {})
        linked = {to_type: client.associations(self.object_type, to_type, ids)
                  for to_type in ASSOCIATIONS.get(self.object_type, ())}
        if linked:
            for record in batch_records:
                record["associations"] = {to_type: by_id.get(str(record.get("id")), [])
                                          for to_type, by_id in linked.items()}
        return batch


@dataclass(frozen=True)
class OwnerStream(Stream):
    @property
    def shape(self) -> RecordShape:
        return RecordShape(id="id", updated_at="updatedAt", deleted=lambda record: record.get("archived") is True)

    def records(self, client: HubSpotClient, window: Window) -> Iterator[dict]:
        yield from client._paged("/crm/v3/owners", {"limit": LIST_PAGE, "archived": "false"})
        yield from client._paged("/crm/v3/owners", {"limit": LIST_PAGE, "archived": "true"})


@dataclass(frozen=True)
class FormStream(Stream):
    def records(self, client: HubSpotClient, window: Window) -> Iterator[dict]:
        yield from client._paged("/marketing/v3/forms", {"limit": LIST_PAGE})


@dataclass(frozen=True)
class FormSubmissionStream(Stream):
    """Submissions of every form; the API has no time filter, so the window is applied here."""

    def records(self, client: HubSpotClient, window: Window) -> Iterator[dict]:
        for form in client._paged("/marketing/v3/forms", {"limit": LIST_PAGE}):
            form_id = form.get("id")
            for submission in client._paged(f"/form-integrations/v1/submissions/forms/{form_id}", {"limit": 50}):
                if isinstance(submission, dict):
                    submission.setdefault("formId", form_id)
                    if not _in_window(submission.get("submittedAt"), window):
                        continue
                yield submission


@dataclass(frozen=True)
class EmailEventStream(Stream):
    def records(self, client: HubSpotClient, window: Window) -> Iterator[dict]:
        params = {"startTimestamp": epoch_ms(window.since), "endTimestamp": epoch_ms(window.end), "limit": 1000}
        while True:
            body = client.get("/email/public/v1/events", params=params)
            yield from body.get("events") or []
            if not body.get("hasMore") or not body.get("offset"):
                return
            params["offset"] = body["offset"]


STREAMS: tuple[Stream, ...] = (
    CrmStream("contact", "id", "updatedAt", full_backfill=True, object_type="contacts"),
    CrmStream("company", "id", "updatedAt", full_backfill=True, object_type="companies"),
    CrmStream("deal", "id", "updatedAt", full_backfill=True, object_type="deals"),
    CrmStream("call", "id", "updatedAt", object_type="calls"),
    CrmStream("email", "id", "updatedAt", object_type="emails"),
    CrmStream("meeting", "id", "updatedAt", object_type="meetings"),
    CrmStream("task", "id", "updatedAt", object_type="tasks"),
    OwnerStream("owner", "id", "updatedAt", full_backfill=True),
    FormStream("form", "id", None, full_backfill=True),
    FormSubmissionStream("form_submission", "conversionId", "submittedAt"),
    EmailEventStream("email_event", "id", "created"),
)


def client_from_connection(conn, **kwargs) -> HubSpotClient:
    return HubSpotClient(conn.base_url or "https://api.hubapi.com", conn.password or "", **kwargs)


SOURCE = Source("hubspot", "hubspot_default", STREAMS, client_from_connection)
