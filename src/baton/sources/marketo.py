"""Marketo REST: client-credentials token, activities by paging token, leads by id, deleted leads, programs.

Marketo answers errors as HTTP 200 with `success: false` and a code: 601/602 (token invalid or
expired: authenticate again), 606/615 (rate and concurrency limits: back off), 607 (the daily
quota: stop the stream cleanly, it resumes from its watermark on the next run).

Which leads changed? Marketo's REST API has no "leads changed since" list outside the bulk
extract API, so the lead stream reads the leads its activities name: every lead change Baton
cares about leaves an activity (New Lead, Change Data Value, Change Score, Sync Lead to SFDC,
form fills, ...). The lead stream takes the lead ids of the activities landed since its own
watermark from the warehouse (so it runs as its own task after the activity stream), and it
also probes the id range above the highest lead id it has seen, so a new lead with no
activity yet still lands. A first run reads every id from 1 upward.

Deletes and merges land as the API reports them and nothing more: `activities/deletedleads.json`
(Delete Lead, type 37) in `deleted_lead`, Merge Leads (type 32, on the winner, "Merge Ids"
naming the losers) in `activity`. The raw lead rows stay as the API returned them; dbt derives
which leads are deleted or merged (int_marketo_lead_merges, stg_marketo__deleted_leads).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import requests

from baton.load.loader import RecordShape, parse_instant
from baton.sources.api import ApiClient, ApiError, Verdict, _shape_of, parse_body
from baton.sources.base import PrerequisiteFailed, Source, Stream, Window, iso_z

TYPES_PER_CALL = 10
LEADS_PER_CALL = 300
MERGE_LEADS = 32
DELETE_LEAD = 37
# Used when the instance does not answer leads/describe.json: Marketo's standard lead fields.
DEFAULT_LEAD_FIELDS = (
    "id", "email", "firstName", "lastName", "title", "company", "industry", "numberOfEmployees",
    "country", "leadSource", "leadStatus", "leadScore", "sfdcLeadId", "sfdcContactId", "sfdcAccountId",
    "originalSourceType", "originalSourceInfo", "acquisitionProgramId", "createdAt", "updatedAt",
)
_REAUTH = {"601", "602"}
_RETRY = {"604", "606", "608", "611", "613", "615", "713", "1029"}


class MarketoClient(ApiClient):
    vendor = "marketo"

    def __init__(self, base_url: str, client_id: str, client_secret: str, **kwargs):
        super().__init__(base_url, **kwargs)
        self._client_id = client_id
        self._client_secret = client_secret
        self._token: str | None = None

    def authenticate(self) -> None:
        body = self.request("GET", "/identity/oauth/token", authenticated=False, params={
            "grant_type": "client_credentials", "client_id": self._client_id, "client_secret": self._client_secret})
        if not isinstance(body, dict) or not body.get("access_token"):
            raise ApiError("marketo: the identity answer has no access_token")
        self._token = body["access_token"]
        self._authenticated = True

    def auth_headers(self) -> dict[str, str]:
        # The header, never the access_token query parameter: URLs end up in logs.
        return {"Authorization": f"Bearer {self._token}"}

    def classify(self, response: requests.Response) -> Verdict:
        status = response.status_code
        if status == 401:
            return Verdict("reauth", message="HTTP 401")
        if status == 429 or status >= 500:
            return Verdict("retry", message=f"HTTP {status}")
        if status >= 400:
            return Verdict("fatal", message=f"HTTP {status}: {response.text[:300]}")
        body = parse_body(response)
        if not isinstance(body, dict):
            return Verdict("retry", message=f"expected a JSON object, got {_shape_of(body)} (HTTP {status})")
        if "access_token" in body or body.get("success", True):
            return Verdict("ok", body)
        errors = body.get("errors") or [{}]
        code = str(errors[0].get("code", ""))
        message = f"error {code}: {errors[0].get('message', '')}"
        if code in _REAUTH:
            return Verdict("reauth", message=message)
        if code == "607":
            return Verdict("quota", message=message + " (daily quota spent; the stream resumes from its watermark)")
        if code in _RETRY:
            # Marketo's rate window is 20 s; start the backoff there for 606.
            return Verdict("retry", wait=20.0 * self.policy.backoff_base if code == "606" else None, message=message)
        return Verdict("fatal", message=message)

    def paging_token(self, since) -> str:
        return self.get("/rest/v1/activities/pagingtoken.json", params={"sinceDatetime": iso_z(since)})["nextPageToken"]

    def activity_types(self) -> list[dict]:
        return self.get("/rest/v1/activities/types.json").get("result") or []

    def activities(self, type_ids: list[int], since, end) -> Iterator[dict]:
        """Activities of these types from `since`, oldest first, stopping after `end`."""
        token = self.paging_token(since)
        while True:
            body = self.get("/rest/v1/activities.json", params={
                "nextPageToken": token, "activityTypeIds": ",".join(map(str, type_ids))})
            for activity in body.get("result") or []:
                if isinstance(activity, dict) and _after(activity.get("activityDate"), end):
                    return
                yield activity
            token = body.get("nextPageToken") or token
            if not body.get("moreResult"):
                return

    def deleted_leads(self, since, end) -> Iterator[dict]:
        token = self.paging_token(since)
        while True:
            body = self.get("/rest/v1/activities/deletedleads.json", params={"nextPageToken": token})
            for activity in body.get("result") or []:
                if isinstance(activity, dict) and _after(activity.get("activityDate"), end):
                    return
                yield activity
            token = body.get("nextPageToken") or token
            if not body.get("moreResult"):
                return

    def lead_fields(self) -> list[str]:
        try:
            body = self.get("/rest/v1/leads/describe.json")
        except ApiError:
            return list(DEFAULT_LEAD_FIELDS)
        names = [f.get("rest", {}).get("name") for f in body.get("result") or []]
        return [name for name in names if name] or list(DEFAULT_LEAD_FIELDS)

    def leads_by_id(self, ids: list[int], fields: list[str]) -> list[dict]:
        body = self.get("/rest/v1/leads.json", params={
            "filterType": "id", "filterValues": ",".join(map(str, ids)), "fields": ",".join(fields)})
        return body.get("result") or []

    def programs(self) -> Iterator[dict]:
        offset = 0
        while True:
            body = self.get("/rest/asset/v1/programs.json", params={"offset": offset, "maxReturn": 200})
            page = body.get("result") or []
            yield from page
            if len(page) < 200:
                return
            offset += len(page)


def _after(value, end) -> bool:
    try:
        return value is not None and parse_instant(value) > end
    except ValueError:
        return False  # the loader rejects it with its reason


def _marketo_time(record: dict, key: str):
    # The asset API writes "2026-05-03T14:02:11Z+0000"; the REST API "2026-05-03T14:02:11Z".
    value = record.get(key)
    if isinstance(value, str) and "Z+" in value:
        return value.replace("Z+", "+")
    return value


def _activity_id(record: dict):
    return record.get("marketoGUID") or record.get("id")


@dataclass(frozen=True)
class ActivityTypeStream(Stream):
    def records(self, client: MarketoClient, window: Window) -> Iterator[dict]:
        yield from client.activity_types()


@dataclass(frozen=True)
class ActivityStream(Stream):
    @property
    def shape(self) -> RecordShape:
        return RecordShape(id=_activity_id, updated_at="activityDate")

    def records(self, client: MarketoClient, window: Window) -> Iterator[dict]:
        type_ids = sorted(int(t["id"]) for t in client.activity_types() if t.get("id") is not None)
        for start in range(0, len(type_ids), TYPES_PER_CALL):
            yield from client.activities(type_ids[start:start + TYPES_PER_CALL], window.since, window.end)



@dataclass(frozen=True)
class DeletedLeadStream(Stream):
    @property
    def shape(self) -> RecordShape:
        return RecordShape(id=_activity_id, updated_at="activityDate", deleted=lambda record: True)

    def records(self, client: MarketoClient, window: Window) -> Iterator[dict]:
        yield from client.deleted_leads(window.since, window.end)



@dataclass(frozen=True)
class LeadStream(Stream):
    def before_run(self, source: str, window: Window, failed: dict[str, str]) -> None:
        # Without the activities' lead ids the stream would probe from id 1 and call it a success.
        if "activity" in failed:
            raise PrerequisiteFailed(f"marketo.lead not run: marketo.activity failed in this run ({failed['activity']});"
                                     " the lead stream reads the lead ids the activities landed")
        from baton.warehouse import connect

        with connect(window.warehouse_url) as conn:
            latest = conn.execute("""
                select load_id, status, started_at, error from baton_meta.load_log
                where source = 'marketo' and stream = 'activity' order by started_at desc limit 1""").fetchone()
        if latest is not None and latest[1] != "success":
            raise PrerequisiteFailed(
                f"marketo.lead not run: the latest marketo.activity load ({latest[0]}, {latest[2].isoformat()}) is"
                f" {latest[1]}{': ' + latest[3] if latest[3] else ''}; the lead stream reads the lead ids the"
                " activities landed, so it runs after a successful activity load")

    def records(self, client: MarketoClient, window: Window) -> Iterator[dict]:
        fields = client.lead_fields()
        named, highest_known = _lead_ids_to_read(window)
        batch: list[int] = []
        for lead_id in sorted(named):
            batch.append(lead_id)
            if len(batch) == LEADS_PER_CALL:
                yield from client.leads_by_id(batch, fields)
                batch = []
        if batch:
            yield from client.leads_by_id(batch, fields)
        # Leads no activity named (a new lead with no activity yet): probe id ranges, Marketo ids
        # being sequential, from the lowest named id on a first run (else above the highest id
        # landed) until a range comes back empty past every named id.
        ceiling = max(named, default=0)
        next_id = (min(named, default=1) if window.first_run else highest_known + 1)
        while True:
            ids = [i for i in range(next_id, next_id + LEADS_PER_CALL) if i not in named]
            found = client.leads_by_id(ids, fields) if ids else []
            yield from found
            next_id += LEADS_PER_CALL
            if not found and next_id > ceiling:
                return


def _lead_ids_to_read(window: Window) -> tuple[set[int], int]:
    """Lead ids the activities landed since the lead stream's watermark name, and the highest
    lead id already in the raw table (0 on a first run)."""
    from baton.engines import is_postgres

    if not is_postgres(window.warehouse_url):
        return _lead_ids_to_read_on_engine(window)
    import psycopg

    named: set[int] = set()
    highest = 0
    with psycopg.connect(window.warehouse_url) as conn:
        exists = conn.execute("select to_regclass('raw_marketo.activity'), to_regclass('raw_marketo.lead')").fetchone()
        if exists[0] is not None:
            since = None if window.first_run else window.since
            rows = conn.execute("""
                select distinct (data ->> 'leadId')::bigint from raw_marketo.activity
                where (%(since)s::timestamptz is null or source_updated_at >= %(since)s)
                  and data ->> 'leadId' ~ '^[0-9]+$'""", {"since": since})
            named = {row[0] for row in rows}
            # The lead stream has covered the activities up to the activity stream's watermark.
            state = conn.execute("select watermark from baton_meta.sync_state"
                                 " where source = 'marketo' and stream = 'activity'").fetchone()
            window.notes["watermark"] = state[0] if state else None
        if exists[1] is not None and not window.first_run:
            highest = conn.execute(
                "select coalesce(max(id::bigint), 0) from raw_marketo.lead where id ~ '^[0-9]+$'").fetchone()[0]
    return named, highest


def _lead_ids_to_read_on_engine(window: Window) -> tuple[set[int], int]:
    """_lead_ids_to_read on DuckDB or Spark: the same reads in the engine's SQL (baton.engines.dialect)."""
    from baton.engines import engine_for
    from baton.engines.dialect import digits_only, json_text

    engine = engine_for(window.warehouse_url)
    named: set[int] = set()
    highest = 0
    with engine.connect() as conn:
        lead_id = json_text(engine.kind, "data", "leadId")
        if engine.exists(conn, "raw_marketo", "activity"):
            since = "" if window.first_run else " and source_updated_at >= %s"
            rows = conn.execute(f"select distinct cast({lead_id} as bigint) from raw_marketo.activity"
                                f" where {digits_only(engine.kind, lead_id)}{since}",
                                None if window.first_run else (window.since,)).fetchall()
            named = {row[0] for row in rows}
            state = conn.execute("select watermark from baton_meta.sync_state"
                                 " where source = 'marketo' and stream = 'activity'").fetchone()
            window.notes["watermark"] = state[0] if state else None
        if engine.exists(conn, "raw_marketo", "lead") and not window.first_run:
            highest = conn.execute("select coalesce(max(cast(id as bigint)), 0) from raw_marketo.lead"
                                   f" where {digits_only(engine.kind, 'id')}").fetchone()[0]
    return named, highest


@dataclass(frozen=True)
class ProgramStream(Stream):
    @property
    def shape(self) -> RecordShape:
        return RecordShape(id="id", updated_at=lambda record: _marketo_time(record, "updatedAt"))

    def records(self, client: MarketoClient, window: Window) -> Iterator[dict]:
        yield from client.programs()


STREAMS: tuple[Stream, ...] = (
    ActivityTypeStream("activity_type", "id", None, full_backfill=True),
    ProgramStream("program", "id", "updatedAt", full_backfill=True),
    ActivityStream("activity", "marketoGUID", "activityDate"),
    LeadStream("lead", "id", "updatedAt", full_backfill=True),
    DeletedLeadStream("deleted_lead", "marketoGUID", "activityDate"),
)


def client_from_connection(conn, **kwargs) -> MarketoClient:
    return MarketoClient(conn.base_url, conn.login or "", conn.password or "", **kwargs)

# The lead stream reads the lead ids the activity stream landed: it runs after it.
STAGES = (("activity_type", "program", "activity"), ("lead", "deleted_lead"))

SOURCE = Source("marketo", "marketo_default", STREAMS, client_from_connection, stages=STAGES)
