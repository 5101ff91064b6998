"""Salesforce REST: OAuth 2.0 client credentials, `describe` for the field list, SOQL over `queryAll`.

Each stream is one sObject read incrementally on SystemModstamp (CreatedDate for the history
objects, which have no SystemModstamp):

    SELECT <every field describe lists> FROM Lead
    WHERE SystemModstamp >= <watermark> AND SystemModstamp <= <run end>
    ORDER BY SystemModstamp, Id

`queryAll` returns deleted rows too (IsDeleted = true): that is how a delete or a merge
reaches the raw table as a flag rather than a missing row. Fields come from `describe`, so a
field added in the org lands with no code change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import requests

from baton.load.loader import RecordShape
from baton.sources.api import ApiClient, ApiError, Verdict, parse_body, retry_after
from baton.sources.base import Source, Stream, Window, iso_z

API_VERSION = "v60.0"
# Compound and binary fields cannot be selected beside their components in every org.
_SKIPPED_TYPES = {"address", "location", "base64"}


class SalesforceClient(ApiClient):
    vendor = "salesforce"

    def __init__(self, base_url: str, client_id: str, client_secret: str, *, api_version: str = API_VERSION, **kwargs):
        super().__init__(base_url, **kwargs)
        self._login_url = self.base_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._token: str | None = None
        self.api_version = api_version
        self._fields: dict[str, list[str]] = {}

    def authenticate(self) -> None:
        body = self.request("POST", self._login_url + "/services/oauth2/token", authenticated=False, data={
            "grant_type": "client_credentials", "client_id": self._client_id, "client_secret": self._client_secret})
        if not isinstance(body, dict) or not body.get("access_token"):
            raise ApiError("salesforce: the token answer has no access_token")
        self._token = body["access_token"]
        # The token answer names the org's API host; a proxy or the sandbox may answer its own URL.
        self.base_url = (body.get("instance_url") or self._login_url).rstrip("/")
        self._authenticated = True

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def classify(self, response: requests.Response) -> Verdict:
        status = response.status_code
        if 200 <= status < 300:
            return Verdict("ok", parse_body(response))
        text = response.text[:500]
        if status == 401 or "INVALID_SESSION_ID" in text:
            return Verdict("reauth", message=f"HTTP {status} INVALID_SESSION_ID")
        if "REQUEST_LIMIT_EXCEEDED" in text or status == 429:
            return Verdict("retry", wait=retry_after(response), message=f"HTTP {status} REQUEST_LIMIT_EXCEEDED")
        if status >= 500 or "SERVER_UNAVAILABLE" in text or "UNABLE_TO_LOCK_ROW" in text:
            return Verdict("retry", wait=retry_after(response), message=f"HTTP {status}: {text[:200]}")
        return Verdict("fatal", message=f"HTTP {status}: {text}")

    def fields(self, sobject: str) -> list[str]:
        if sobject not in self._fields:
            body = self.get(f"/services/data/{self.api_version}/sobjects/{sobject}/describe")
            self._fields[sobject] = [f["name"] for f in body.get("fields", [])
                                     if f.get("type") not in _SKIPPED_TYPES]
            if not self._fields[sobject]:
                raise ApiError(f"salesforce: describe of {sobject} lists no fields")
        return self._fields[sobject]

    def query_all(self, soql: str) -> Iterator[dict]:
        """Every record of a SOQL query including deleted ones, following nextRecordsUrl."""
        body = self.get(f"/services/data/{self.api_version}/queryAll", params={"q": soql})
        while True:
            yield from body.get("records", [])
            next_url = body.get("nextRecordsUrl")
            if body.get("done", True) or not next_url:
                return
            body = self.get(next_url)


def _without_attributes(record: dict) -> dict:
    # In place: the record was parsed for this load alone, and copying it costs a tenth of the load.
    record.pop("attributes", None)
    return record


@dataclass(frozen=True)
class SoqlStream(Stream):
    sobject: str = ""
    has_is_deleted: bool = True

    @property
    def shape(self) -> RecordShape:
        deleted = (lambda record: record.get("IsDeleted") is True) if self.has_is_deleted else None
        return RecordShape(id="Id", updated_at=self.replication_key, deleted=deleted, clean=_without_attributes)

    def soql(self, fields: list[str], window: Window) -> str:
        cursor = self.replication_key
        # SOQL datetime literals are whole seconds; flooring `since` only re-reads a few rows.
        return (f"SELECT {', '.join(fields)} FROM {self.sobject}"
                f" WHERE {cursor} >= {iso_z(window.since)} AND {cursor} <= {iso_z(window.end)}"
                f" ORDER BY {cursor}, Id")

    def records(self, client: SalesforceClient, window: Window) -> Iterator[dict]:
        yield from client.query_all(self.soql(client.fields(self.sobject), window))


def _soql(name: str, sobject: str, *, cursor: str = "SystemModstamp", has_is_deleted: bool = True,
          events: bool = False) -> SoqlStream:
    return SoqlStream(name, "Id", cursor, full_backfill=not events, sobject=sobject, has_is_deleted=has_is_deleted)


STREAMS: tuple[SoqlStream, ...] = (
    _soql("lead", "Lead"),
    _soql("contact", "Contact"),
    _soql("account", "Account"),
    _soql("opportunity", "Opportunity"),
    _soql("opportunity_contact_role", "OpportunityContactRole"),
    _soql("task", "Task", events=True),
    _soql("event", "Event", events=True),
    _soql("user", "User", has_is_deleted=False),
    _soql("user_role", "UserRole", has_is_deleted=False),
    _soql("group", "Group", has_is_deleted=False),
    _soql("campaign", "Campaign"),
    _soql("campaign_member", "CampaignMember"),
    _soql("lead_history", "LeadHistory", cursor="CreatedDate", events=True),
    _soql("opportunity_field_history", "OpportunityFieldHistory", cursor="CreatedDate", events=True),
)


def client_from_connection(conn, **kwargs) -> SalesforceClient:
    return SalesforceClient(conn.base_url, conn.login or "", conn.password or "",
                            api_version=conn.extra.get("api_version", API_VERSION), **kwargs)


SOURCE = Source("salesforce", "salesforce_default", STREAMS, client_from_connection)
