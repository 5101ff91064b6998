"""Writes through the sandbox: a Salesforce Task and a HubSpot task are created on the vendors'
paths, refused with the vendors' validation errors, shown by the read APIs from the clock's
instant on, kept out of the world file, and failed on demand by the fault plan."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
import requests

from baton_sandbox.faults import FaultPlan
from baton_sandbox.testing import sf_id

UTC = timezone.utc
TASKS = "/services/data/v60.0/sobjects/Task"
HS_TASKS = "/crm/v3/objects/tasks"
HS_AUTH = {"Authorization": "Bearer pat-sandbox"}


@pytest.fixture
def tiny_server(sandbox_server_factory, tiny_world):
    return sandbox_server_factory(tiny_world, as_of=datetime(2026, 10, 20, 10, tzinfo=UTC))


def sf_headers(server) -> dict:
    issued = requests.post(server.url + "/services/oauth2/token", data={
        "grant_type": "client_credentials", "client_id": "baton", "client_secret": "s3cret"}).json()
    return {"Authorization": f"Bearer {issued['access_token']}"}


def sf_task(**changes) -> dict:
    task = {"WhoId": sf_id("Lead", 10), "OwnerId": sf_id("User", 1), "Subject": "[Baton] Call back",
            "Description": "context\nkey k-1", "ActivityDate": "2026-10-20", "Status": "Not Started",
            "Priority": "High"}
    task.update(changes)
    return {k: v for k, v in task.items() if v is not None}


def hs_task(**changes) -> dict:
    properties = {"hs_timestamp": "2026-10-20T17:00:00Z", "hs_task_subject": "[Baton] Call back",
                  "hs_task_body": "context<br>key k-1", "hs_task_status": "NOT_STARTED", "hs_task_priority": "HIGH",
                  "hubspot_owner_id": "1"}
    associations = changes.pop("associations", [{"to": {"id": "10"}, "types": [
        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}]}])
    properties.update(changes)
    return {"properties": {k: v for k, v in properties.items() if v is not None}, "associations": associations}


def soql(server, headers, text: str) -> list[dict]:
    answer = requests.get(server.url + "/services/data/v60.0/queryAll", params={"q": text}, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["records"]


def test_a_created_salesforce_task_is_a_new_record_at_the_clock_for_every_read_path(tiny_server):
    """POST sobjects/Task answers 201 with the id; query, queryAll and retrieve show the Task with
    the sent fields and every audit stamp at the clock; moving the clock back hides it again."""
    headers = sf_headers(tiny_server)
    created = requests.post(tiny_server.url + TASKS, json=sf_task(), headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["success"] is True and body["errors"] == [] and body["id"].startswith("00T")

    rows = soql(tiny_server, headers, "SELECT Id, WhoId, OwnerId, Subject, Description, Status, Priority, "
                "TaskSubtype, ActivityDate, CreatedDate, SystemModstamp FROM Task WHERE WhoId = "
                f"'{sf_id('Lead', 10)}'")
    assert [row["Id"] for row in rows] == [body["id"]]
    row = rows[0]
    assert (row["OwnerId"], row["Subject"], row["Description"], row["Status"], row["Priority"]) == \
        (sf_id("User", 1), "[Baton] Call back", "context\nkey k-1", "Not Started", "High")
    assert row["TaskSubtype"] == "Task"  # Salesforce's default for an API-created task
    assert row["CreatedDate"] == row["SystemModstamp"] == "2026-10-20T10:00:00.000+0000"
    # an incremental read of the hour that ends at the clock picks it up, as the extractor's would
    window = soql(tiny_server, headers, "SELECT Id FROM Task WHERE SystemModstamp >= 2026-10-20T09:00:00Z"
                  " AND SystemModstamp <= 2026-10-20T10:00:00Z")
    assert [r["Id"] for r in window] == [body["id"]]
    retrieved = requests.get(f"{tiny_server.url}{TASKS}/{body['id']}", headers=headers)
    assert retrieved.status_code == 200 and retrieved.json()["Description"] == "context\nkey k-1"

    tiny_server.set_clock(datetime(2026, 10, 20, 9, tzinfo=UTC))
    assert soql(tiny_server, headers, f"SELECT Id FROM Task WHERE WhoId = '{sf_id('Lead', 10)}'") == []


@pytest.mark.parametrize(("task", "code", "fields"), [
    (sf_task(Subject=None), "REQUIRED_FIELD_MISSING", ["Subject"]),
    (sf_task(OwnerId=None), "REQUIRED_FIELD_MISSING", ["OwnerId"]),
    (sf_task(WhoId=sf_id("Lead", 99999)), "INVALID_CROSS_REFERENCE_KEY", ["WhoId"]),
    (sf_task(WhoId=sf_id("Lead", 7)), "INVALID_CROSS_REFERENCE_KEY", ["WhoId"]),   # deleted on 2026-07-01
    (sf_task(OwnerId=sf_id("Lead", 3)), "INVALID_CROSS_REFERENCE_KEY", ["OwnerId"]),
    (sf_task(OwnerId=sf_id("User", 3)), "INACTIVE_OWNER_OR_USER", []),
    (sf_task(Status="Done"), "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["Status"]),
    (sf_task(Priority="Urgent"), "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["Priority"]),
    (sf_task(Subject="x" * 256), "STRING_TOO_LONG", ["Subject"]),
    (sf_task(CreatedDate="2026-10-20T10:00:00Z"), "INVALID_FIELD_FOR_INSERT_UPDATE", ["CreatedDate"]),
    (sf_task(Baton_Key__c="k-1"), "INVALID_FIELD", []),
    (sf_task(ActivityDate="20/10/2026"), "JSON_PARSER_ERROR", None),
])
def test_salesforce_refuses_a_bad_task_with_its_own_error_and_creates_nothing(tiny_server, task, code, fields):
    """Each invalid Task is a 400 with Salesforce's [{message, errorCode, fields}] naming the
    field, and no Task appears."""
    headers = sf_headers(tiny_server)
    answer = requests.post(tiny_server.url + TASKS, json=task, headers=headers)
    assert answer.status_code == 400, answer.text
    error = answer.json()[0]
    assert error["errorCode"] == code and error["message"]
    if fields is not None:
        assert error["fields"] == fields
    assert soql(tiny_server, headers, "SELECT Id FROM Task WHERE Subject LIKE '[Baton]%'") == []


def test_salesforce_refuses_filtering_on_a_long_text_area(tiny_server):
    """Task.Description is a text area: Salesforce refuses it in WHERE, so clients must match it
    themselves (the sandbox does not let a client lean on a filter the vendor lacks)."""
    answer = requests.get(tiny_server.url + "/services/data/v60.0/query", headers=sf_headers(tiny_server),
                          params={"q": "SELECT Id FROM Task WHERE Description LIKE '%k-1%'"})
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "INVALID_FIELD"


def test_a_created_hubspot_task_shows_in_lists_reads_and_associations(tiny_server):
    """POST crm/v3/objects/tasks answers 201 with the task; the list, the read with associations,
    the v4 association read from the contact and a search on hs_lastmodifieddate all show it."""
    created = requests.post(tiny_server.url + HS_TASKS, json=hs_task(), headers=HS_AUTH)
    assert created.status_code == 201, created.text
    task = created.json()
    assert task["properties"]["hs_task_body"] == "context<br>key k-1"
    assert task["properties"]["hubspot_owner_id"] == "1"
    assert task["createdAt"] == "2026-10-20T10:00:00.000Z" and task["archived"] is False

    read = requests.get(f"{tiny_server.url}{HS_TASKS}/{task['id']}", headers=HS_AUTH,
                        params={"properties": "hs_task_subject,hs_task_body", "associations": "contacts"}).json()
    assert read["properties"]["hs_task_subject"] == "[Baton] Call back"
    assert read["associations"]["contacts"]["results"] == [{"id": "10", "type": "task_to_contact"}]
    listed = requests.get(tiny_server.url + HS_TASKS, headers=HS_AUTH, params={"limit": 100}).json()
    assert task["id"] in [r["id"] for r in listed["results"]]
    linked = requests.post(tiny_server.url + "/crm/v4/associations/contacts/tasks/batch/read", headers=HS_AUTH,
                           json={"inputs": [{"id": "10"}]}).json()
    assert [t["toObjectId"] for t in linked["results"][0]["to"]] == [int(task["id"])]
    window_ms = int(datetime(2026, 10, 20, 9, tzinfo=UTC).timestamp() * 1000)
    found = requests.post(tiny_server.url + HS_TASKS + "/search", headers=HS_AUTH, json={
        "filterGroups": [{"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE",
                                       "value": str(window_ms)}]}], "limit": 10}).json()
    assert [r["id"] for r in found["results"]] == [task["id"]]


@pytest.mark.parametrize(("task", "error", "name"), [
    (hs_task(hs_timestamp=None), "REQUIRED_FIELD", "hs_timestamp"),
    (hs_task(hs_task_status="OPEN"), "INVALID_OPTION", "hs_task_status"),
    (hs_task(hs_task_priority="URGENT"), "INVALID_OPTION", "hs_task_priority"),
    (hs_task(hubspot_owner_id="5"), "INVALID_OWNER_ID", "hubspot_owner_id"),   # archived owner
    (hs_task(hubspot_owner_id="777"), "INVALID_OWNER_ID", "hubspot_owner_id"),
    (hs_task(baton_key="k-1"), "PROPERTY_DOESNT_EXIST", "baton_key"),
    (hs_task(hs_timestamp="next tuesday"), "INVALID_DATETIME", "hs_timestamp"),
])
def test_hubspot_refuses_bad_task_properties_with_a_validation_error(tiny_server, task, error, name):
    """A bad property is a 400 VALIDATION_ERROR whose message lists the property and HubSpot's
    error code; no task is created."""
    answer = requests.post(tiny_server.url + HS_TASKS, json=task, headers=HS_AUTH)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["status"] == "error" and body["category"] == "VALIDATION_ERROR" and body["correlationId"]
    assert body["message"].startswith("Property values were not valid: ")
    assert f'"error":"{error}"' in body["message"] and f'"name":"{name}"' in body["message"]
    assert tiny_server.stats()["records_created"] == 0


@pytest.mark.parametrize("associations", [
    [{"to": {"id": "99999"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}]}],
    [{"to": {"id": "250"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}]}],
    [{"to": {"id": "10"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}]}],
    [{"to": {"id": "10"}}],
])
def test_hubspot_refuses_an_association_to_no_live_contact_or_of_the_wrong_type(tiny_server, associations):
    """A task associated with a contact that does not exist (or is archived: 250), or with a type
    other than HUBSPOT_DEFINED 204, is a 400 VALIDATION_ERROR and nothing is created."""
    answer = requests.post(tiny_server.url + HS_TASKS, json=hs_task(associations=associations), headers=HS_AUTH)
    assert answer.status_code == 400, answer.text
    assert answer.json()["category"] == "VALIDATION_ERROR"
    assert tiny_server.stats()["records_created"] == 0


def test_the_write_fault_schedule_fails_a_write_before_or_after_it_is_applied(tiny_server):
    """`server_error` on the first write: 503, nothing created; `lost_response` on the second:
    503 too, but the Task exists (the vendor committed, the answer was lost)."""
    headers = sf_headers(tiny_server)
    tiny_server.faults = FaultPlan(write_schedule={1: "server_error", 2: "lost_response"})
    first = requests.post(tiny_server.url + TASKS, json=sf_task(Subject="[Baton] one"), headers=headers)
    assert first.status_code == 503 and first.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
    second = requests.post(tiny_server.url + TASKS, json=sf_task(Subject="[Baton] two"), headers=headers)
    assert second.status_code == 503
    third = requests.post(tiny_server.url + HS_TASKS, json=hs_task(), headers=HS_AUTH)
    assert third.status_code == 201
    subjects = [r["Subject"] for r in soql(tiny_server, headers, "SELECT Subject FROM Task WHERE Subject LIKE '[Baton]%'")]
    assert subjects == ["[Baton] two"]
    assert tiny_server.stats()["faults"] == {"server_error": 1, "lost_response": 1}


def test_writes_never_touch_the_world_file(sandbox_server_factory, tiny_world):
    """The world file is shared by every server and test: after writes it is byte for byte the same,
    and a new server over it shows none of the first server's tasks."""
    before = hashlib.sha256(tiny_world.read_bytes()).hexdigest()
    clock = datetime(2026, 10, 20, 10, tzinfo=UTC)
    first = sandbox_server_factory(tiny_world, as_of=clock)
    headers = sf_headers(first)
    assert requests.post(first.url + TASKS, json=sf_task(), headers=headers).status_code == 201
    assert requests.post(first.url + HS_TASKS, json=hs_task(), headers=HS_AUTH).status_code == 201
    first.stop()
    assert hashlib.sha256(tiny_world.read_bytes()).hexdigest() == before
    second = sandbox_server_factory(tiny_world, as_of=clock + timedelta(hours=1))
    assert soql(second, sf_headers(second), "SELECT Id FROM Task") == []
    assert requests.get(second.url + HS_TASKS, headers=HS_AUTH).json()["results"] == []
