"""Sandbox fixtures: a world on disk and the vendor API server over it.

- `sandbox_world` (session): a small generated world (build_world, people=300) when the
  generator is present, else the hand-made `tiny_world`; returns the store path.
- `tiny_world` (session): a hand-made world with known contents and edge cases (more than
  one Salesforce batch, equal timestamps, a deleted and a late record, archived HubSpot
  records, property history); tests that count exact records use it. `TINY` describes it.
- `sandbox_world_factory` (session): `make(people=500, seed=7, **params)` builds a generated world
  with WorldParams(**params) (e.g. hubspot_firmographics="company_only"), once per session.
- `sandbox_server` (function): a server on `sandbox_world`, clock at the world's end.
- `sandbox_server_factory(world=None, **kwargs)`: start one with faults, a clock, credentials.
"""

from __future__ import annotations

import importlib.util
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from baton_sandbox.catalog import (
    HUBSPOT_PROPERTIES,
    MARKETO_LEAD_FIELDS,
    SALESFORCE_OBJECTS,
)
from baton_sandbox.server import SandboxServer
from baton_sandbox.store import WorldStore

UTC = timezone.utc
WORLD_START = datetime(2026, 5, 1, tzinfo=UTC)
WORLD_END = datetime(2026, 11, 1, tzinfo=UTC)


class TINY:
    """What the hand-made world holds (at its end unless said otherwise)."""
    leads = 4500                 # Lead ids 00Q...0001 to 4500, two per minute from world start
    deleted_lead = 7             # deleted on 2026-07-01
    updated_lead = 5             # Status changed on 2026-06-01
    late_lead_at = datetime(2026, 10, 15, tzinfo=UTC)   # one more Lead, created then
    users = 3
    marketo_leads = 50
    marketo_deleted_lead = 13    # deleted 2026-08-01 (a Delete Lead activity, type 37)
    activities = 700             # types cycling through ACTIVITY_TYPES, three per activityDate
    activity_types = (1, 2, 6, 10, 11)
    programs = 5
    contacts = 250               # ids 1..250; 250 is archived on 2026-09-01
    archived_contact = 250
    lifecycle_contact = 3        # lifecyclestage lead -> marketingqualifiedlead -> salesqualifiedlead
    companies = 20
    deals = 10
    calls = 30
    owners = 5                   # owner 5 archived
    forms = 2
    submissions = 60             # 30 per form
    email_events = 1500


def sf_time(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}+0000"


def hs_time(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


def mk_time(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def sf_id(object_name: str, number: int) -> str:
    from baton_sandbox.catalog import SALESFORCE_ID_PREFIX
    return f"{SALESFORCE_ID_PREFIX[object_name]}5g00000{number:06d}AAA"[:18]


def sf_record(object_name: str, number: int, at: datetime, created: datetime | None = None, **values) -> dict:
    record = {"attributes": {"type": object_name,
                             "url": f"/services/data/v60.0/sobjects/{object_name}/{sf_id(object_name, number)}"}}
    for field in SALESFORCE_OBJECTS[object_name]:
        record[field] = None
    record["Id"] = sf_id(object_name, number)
    for stamp in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
        if stamp in record:
            record[stamp] = sf_time(created or at) if stamp == "CreatedDate" else sf_time(at)
    if "IsDeleted" in record:
        record["IsDeleted"] = False
    record.update(values)
    return record


def hs_record(object_type: str, number: int, at: datetime, created: datetime, archived: bool = False,
              associations: dict | None = None, **properties) -> dict:
    values = {name: None for name in HUBSPOT_PROPERTIES[object_type]}
    values["hs_object_id"] = str(number)
    created_name = "createdate" if "createdate" in values else "hs_createdate"
    modified_name = "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"
    values[created_name] = hs_time(created)
    values[modified_name] = hs_time(at)
    values.update({k: None if v is None else str(v) for k, v in properties.items()})
    return {"id": str(number), "properties": values, "createdAt": hs_time(created), "updatedAt": hs_time(at),
            "archived": archived, "associations": associations or {}}


def build_tiny_world(path: Path) -> Path:
    store = WorldStore(path)
    store.set_meta("seed", 0)
    store.set_meta("people", 0)
    store.set_meta("world_start", WORLD_START.strftime("%Y-%m-%dT%H:%M:%SZ"))
    store.set_meta("world_end", WORLD_END.strftime("%Y-%m-%dT%H:%M:%SZ"))

    # Salesforce: users, leads (two per minute, so pairs share a SystemModstamp), history
    for n in range(1, TINY.users + 1):
        store.add_version("salesforce", "User", sf_id("User", n), WORLD_START,
                          sf_record("User", n, WORLD_START, Name=f"Rep {n}", IsActive=n != 3))
    statuses = ("Open - Not Contacted", "Working - Contacted", "Nurture")
    for n in range(1, TINY.leads + 1):
        created = WORLD_START + timedelta(minutes=n // 2)
        fields = dict(FirstName=f"First{n}", LastName=f"Last{n}", Email=f"Person{n}@Example.com",
                      Company=f"Company {n % 40}", Status=statuses[n % 3], NumberOfEmployees=n * 10,
                      OwnerId=sf_id("User", 1 + n % TINY.users), IsConverted=False,
                      Marketing_Touch_Count__c=float(n % 7), LeadSource="Web" if n % 2 else None)
        store.add_version("salesforce", "Lead", sf_id("Lead", n), created, sf_record("Lead", n, created, **fields))
        if n == TINY.updated_lead:
            changed = datetime(2026, 6, 1, tzinfo=UTC)
            store.add_version("salesforce", "Lead", sf_id("Lead", n), changed,
                              sf_record("Lead", n, changed, created, **{**fields, "Status": "Working - Contacted"}))
            store.add_version("salesforce", "LeadHistory", sf_id("LeadHistory", 1), changed, sf_record(
                "LeadHistory", 1, changed, LeadId=sf_id("Lead", n), Field="Status", OldValue=fields["Status"],
                NewValue="Working - Contacted"))
        if n == TINY.deleted_lead:
            gone = datetime(2026, 7, 1, tzinfo=UTC)
            store.add_version("salesforce", "Lead", sf_id("Lead", n), gone,
                              sf_record("Lead", n, gone, created, **fields, IsDeleted=True), deleted=True)
    late = TINY.leads + 1
    store.add_version("salesforce", "Lead", sf_id("Lead", late), TINY.late_lead_at,
                      sf_record("Lead", late, TINY.late_lead_at, FirstName="Late", LastName="Comer",
                                Email="late@example.com", Status="Open - Not Contacted", IsConverted=False))

    # Marketo: leads, activities (three share each activityDate), a deleted lead, programs
    for n in range(1, TINY.marketo_leads + 1):
        created = WORLD_START + timedelta(hours=n)
        lead = {name: None for name in MARKETO_LEAD_FIELDS}
        lead.update(id=n, email=f"person{n}@example.com", firstName=f"First{n}", lastName=f"Last{n}",
                    leadStatus="New", createdAt=mk_time(created), updatedAt=mk_time(created))
        store.add_version("marketo", "lead", str(n), created, lead)
    for n in range(1, TINY.activities + 1):
        at = WORLD_START + timedelta(hours=n // 3)
        type_id = TINY.activity_types[n % len(TINY.activity_types)]
        store.add_version("marketo", "activity", str(n), at, {
            "id": n, "marketoGUID": f"guid-{n}", "leadId": 1 + n % TINY.marketo_leads, "activityDate": mk_time(at),
            "activityTypeId": type_id, "campaignId": None, "primaryAttributeValueId": n % 9,
            "primaryAttributeValue": f"asset {n % 9}", "attributes": [{"name": "Source", "value": "Web"}]})
    gone = datetime(2026, 8, 1, tzinfo=UTC)
    lead = {name: None for name in MARKETO_LEAD_FIELDS}
    lead.update(id=TINY.marketo_deleted_lead, updatedAt=mk_time(gone))
    store.add_version("marketo", "lead", str(TINY.marketo_deleted_lead), gone, lead, deleted=True)
    store.add_version("marketo", "activity", str(TINY.activities + 1), gone, {
        "id": TINY.activities + 1, "marketoGUID": "guid-delete", "leadId": TINY.marketo_deleted_lead,
        "activityDate": mk_time(gone), "activityTypeId": 37, "campaignId": None,
        "primaryAttributeValueId": TINY.marketo_deleted_lead, "primaryAttributeValue": None, "attributes": []})
    for n in range(1, TINY.programs + 1):
        store.add_version("marketo", "program", str(n), WORLD_START, {
            "id": n, "name": f"Program {n}", "type": "Webinar", "channel": "Webinar", "status": "",
            "createdAt": mk_time(WORLD_START), "updatedAt": mk_time(WORLD_START)})

    # HubSpot: owners, companies, contacts (history on one, one archived), deals, calls
    for n in range(1, TINY.owners + 1):
        store.add_version("hubspot", "owners", str(n), WORLD_START, {
            "id": str(n), "email": f"owner{n}@example.com", "firstName": f"Owner{n}", "lastName": "Rep",
            "userId": 1000 + n, "createdAt": hs_time(WORLD_START), "updatedAt": hs_time(WORLD_START),
            "archived": n == TINY.owners, "teams": [{"id": "1", "name": "SDR Team", "primary": True}]},
            deleted=n == TINY.owners)
    for n in range(1, TINY.companies + 1):
        store.add_version("hubspot", "companies", str(1000 + n), WORLD_START, hs_record(
            "companies", 1000 + n, WORLD_START, WORLD_START, name=f"Company {n}", domain=f"company{n}.com"))
    for n in range(1, TINY.contacts + 1):
        created = WORLD_START + timedelta(minutes=7 * n)
        company = str(1000 + 1 + n % TINY.companies)
        props = dict(email=f"person{n}@example.com", firstname=f"First{n}", lastname=f"Last{n}",
                     lifecyclestage="lead", hubspot_owner_id=str(1 + n % 4))
        store.add_version("hubspot", "contacts", str(n), created, hs_record(
            "contacts", n, created, created, associations={"companies": [company]}, **props))
        if n == TINY.lifecycle_contact:
            for step, stage in enumerate(("marketingqualifiedlead", "salesqualifiedlead"), start=1):
                at = created + timedelta(days=10 * step)
                props["lifecyclestage"] = stage
                store.add_version("hubspot", "contacts", str(n), at, hs_record(
                    "contacts", n, at, created, associations={"companies": [company]}, **props))
        if n == TINY.archived_contact:
            at = datetime(2026, 9, 1, tzinfo=UTC)
            store.add_version("hubspot", "contacts", str(n), at, hs_record(
                "contacts", n, at, created, archived=True, associations={"companies": [company]}, **props),
                deleted=True)
    for n in range(1, TINY.deals + 1):
        at = WORLD_START + timedelta(days=n)
        store.add_version("hubspot", "deals", str(5000 + n), at, hs_record(
            "deals", 5000 + n, at, at, associations={"contacts": [str(n), str(n + 1)], "companies": [str(1000 + n)]},
            dealname=f"Deal {n}", amount=1000 * n, dealstage="appointmentscheduled", pipeline="default"))
    for n in range(1, TINY.calls + 1):
        at = WORLD_START + timedelta(hours=5 * n)
        store.add_version("hubspot", "calls", str(9000 + n), at, hs_record(
            "calls", 9000 + n, at, at, associations={"contacts": [str(n)]}, hs_timestamp=hs_time(at),
            hs_call_status="COMPLETED", hubspot_owner_id="1"))
    forms = ("0f0e0d0c-0000-4000-8000-000000000001", "0f0e0d0c-0000-4000-8000-000000000002")
    for guid in forms:
        store.add_version("hubspot", "forms", guid, WORLD_START, {
            "id": guid, "name": f"Form {guid[-1]}", "createdAt": hs_time(WORLD_START), "updatedAt": hs_time(WORLD_START)})
    for n in range(1, TINY.submissions + 1):
        at = WORLD_START + timedelta(hours=3 * n)
        store.add_version("hubspot", "form_submissions", f"sub-{n}", at, {
            "conversionId": f"sub-{n}", "submittedAt": int(at.timestamp() * 1000), "formId": forms[n % 2],
            "contactId": str(n), "pageUrl": "https://example.com/demo",
            "values": [{"name": "email", "value": f"person{n}@example.com"}]})
    kinds = ("SENT", "DELIVERED", "OPEN", "CLICK")
    for n in range(1, TINY.email_events + 1):
        at = WORLD_START + timedelta(minutes=30 * (n // 2))
        store.add_version("hubspot", "email_events", f"ev-{n}", at, {
            "id": f"ev-{n}", "type": kinds[n % 4], "created": int(at.timestamp() * 1000),
            "recipient": f"person{n % 250}@example.com", "emailCampaignId": 77})
    store.finish()
    store.close()
    return path


def _world_builder():
    if importlib.util.find_spec("baton_sandbox.world") is None:
        return None
    from baton_sandbox import world
    return getattr(world, "build_world", None)


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory) -> Path:
    return build_tiny_world(tmp_path_factory.mktemp("sandbox") / "tiny-world.sqlite")


@pytest.fixture(scope="session")
def sandbox_world(tmp_path_factory, tiny_world) -> Path:
    build_world = _world_builder()
    if build_world is None:
        return tiny_world
    path = tmp_path_factory.mktemp("sandbox") / "world-300-7.sqlite"
    store = build_world(path, people=300, seed=7)
    store.close()
    return path


@pytest.fixture(scope="session")
def sandbox_world_factory(tmp_path_factory):
    built: dict[tuple, Path] = {}

    def make(people: int = 500, seed: int = 7, **params) -> Path:
        from baton_sandbox.world import WorldParams, build_world

        key = (people, seed, tuple(sorted(params.items())))
        if key not in built:
            name = "-".join([f"world-{people}-{seed}", *(str(value) for _, value in key[2])])
            path = tmp_path_factory.mktemp("sandbox") / f"{name}.sqlite"
            build_world(path, people=people, seed=seed, params=WorldParams(**params)).close()
            built[key] = path
        return built[key]

    return make


@pytest.fixture
def sandbox_server_factory(request):
    started: list[SandboxServer] = []

    def start(world: Path | None = None, **kwargs) -> SandboxServer:
        # the generated world is built only for tests that do not bring their own
        server = SandboxServer(world or request.getfixturevalue("sandbox_world"), **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def sandbox_server(sandbox_server_factory) -> SandboxServer:
    return sandbox_server_factory()


class PlainHttpSession(requests.Session):
    """simple-salesforce always builds https:// URLs; this session sends them to the sandbox over http."""

    def __init__(self, base_url: str):
        super().__init__()
        self._https_base = base_url.replace("http://", "https://", 1)
        self._http_base = base_url

    def request(self, method, url, *args, **kwargs):
        if isinstance(url, str) and url.startswith(self._https_base):
            url = self._http_base + url[len(self._https_base):]
        return super().request(method, url, *args, **kwargs)


# The issues' "default sandbox world": the demo's world of 3,000 people, seed 7. The comparisons with
# the planted truth run on it; BATON_E2E_PEOPLE=N picks another size, 0 the small session world.
E2E_DEFAULT_PEOPLE = 3000


@pytest.fixture(scope="session")
def e2e_world(request, tmp_path_factory) -> Path:
    people = int(os.environ.get("BATON_E2E_PEOPLE", E2E_DEFAULT_PEOPLE))
    if not people:
        return request.getfixturevalue("sandbox_world")
    from baton_sandbox.world import build_world

    path = tmp_path_factory.mktemp("e2e") / f"world-{people}-7.sqlite"
    build_world(path, people=people, seed=7).close()
    return path


def extract_world(world_path, warehouse_url: str, until: datetime) -> None:
    """Extract every source of a sandbox world into the warehouse, from its whole history up to
    `until`, through Baton's own runner against the sandbox APIs (what the e2e tests build on)."""
    from baton.connections import ConnectionFields
    from baton.sources.registry import source_names
    from baton.sources.runner import run_source

    with SandboxServer(world_path) as server:
        server.set_clock(until)
        for source in source_names():
            connection = ConnectionFields(conn_id=f"{source}_default", host=server.url,
                                          login="baton-e2e-client", password="baton-e2e-secret")
            run_source(source, connection, warehouse_url, start=datetime(2020, 1, 1, tzinfo=UTC), end=until)
