"""Marketo through the sandbox: marketorestpython reads every activity, lead, deleted lead and
program; paging tokens, moreResult and errors-inside-200 behave as Marketo's do."""

from __future__ import annotations

import time

import orjson
import pytest
import requests
from marketorestpython.client import MarketoClient

from baton_sandbox.catalog import MARKETO_LEAD_FIELDS
from baton_sandbox.server_marketo import MAX_BATCH
from baton_sandbox.store import WorldStore
from baton_sandbox.testing import TINY, WORLD_START


def marketo(server) -> MarketoClient:
    client = MarketoClient("sandbox", "client-id", "client-secret", max_retry_time=30)
    client.host = server.url  # the client builds https://<munchkin>.mktorest.com; point it at the sandbox
    return client


def api(server, path: str, **params) -> dict:
    issued = requests.get(server.url + "/identity/oauth/token", params={
        "grant_type": "client_credentials", "client_id": "a", "client_secret": "b"}).json()
    answer = requests.get(server.url + path, params=params,
                          headers={"Authorization": f"Bearer {issued['access_token']}"})
    assert answer.status_code == 200
    return answer.json()


@pytest.fixture
def tiny_server(sandbox_server_factory, tiny_world):
    return sandbox_server_factory(tiny_world)


def test_marketorestpython_reads_every_activity_lead_deleted_lead_and_program(sandbox_server, sandbox_world):
    mc = marketo(sandbox_server)
    store = WorldStore(sandbox_world, readonly=True)
    try:
        clock = sandbox_server.clock
        activities = [orjson.loads(v.data) for v in store.current("marketo", "activity", clock)]
        leads = {v.id: orjson.loads(v.data) for v in store.current("marketo", "lead", clock) if not v.deleted}
        programs = {v.id for v in store.current("marketo", "program", clock) if not v.deleted}
        start = "2000-01-01T00:00:00Z"  # worlds carry records from before world_start
    finally:
        store.close()

    served_types = {t["id"] for t in mc.get_activity_types()}
    world_types = sorted({a["activityTypeId"] for a in activities})
    assert set(world_types) <= served_types
    got = []
    for first in range(0, len(world_types), 10):
        got.extend(mc.get_lead_activities([str(t) for t in world_types[first:first + 10]], sinceDatetime=start))
    assert sorted(a["id"] for a in got) == sorted(a["id"] for a in activities)
    assert got[0] == next(a for a in activities if a["id"] == got[0]["id"])  # passed through whole

    deleted = mc.get_deleted_leads(sinceDatetime=start)
    assert sorted(a["id"] for a in deleted) == sorted(a["id"] for a in activities if a["activityTypeId"] == 37)

    ids = sorted(leads, key=int)
    fields = ",".join(MARKETO_LEAD_FIELDS)
    read = []
    for first in range(0, len(ids), MAX_BATCH):
        read.extend(mc.get_multiple_leads_by_filter_type("id", ids[first:first + MAX_BATCH], fields=fields))
    assert sorted(str(lead["id"]) for lead in read) == sorted(ids)
    assert all(lead == leads[str(lead["id"])] for lead in read)

    assert {str(p["id"]) for p in mc.browse_programs(maxReturn=200)} == programs


def test_activity_pages_hold_up_to_300_with_more_result_until_the_end(tiny_server):
    start = WORLD_START.strftime("%Y-%m-%dT%H:%M:%SZ")
    token = api(tiny_server, "/rest/v1/activities/pagingtoken.json", sinceDatetime=start)["nextPageToken"]
    all_types = ",".join(str(t) for t in TINY.activity_types)
    pages = []
    while True:
        body = api(tiny_server, "/rest/v1/activities.json", nextPageToken=token, activityTypeIds=all_types)
        assert body["success"] is True
        pages.append([a["id"] for a in body.get("result", [])])
        token = body["nextPageToken"]
        if not body["moreResult"]:
            break
    assert [len(p) for p in pages] == [300, 300, TINY.activities - 600]
    assert sorted(i for p in pages for i in p) == list(range(1, TINY.activities + 1))
    # the last token is a place to resume: nothing new at the same clock
    again = api(tiny_server, "/rest/v1/activities.json", nextPageToken=token, activityTypeIds=all_types)
    assert again["moreResult"] is False and "result" not in again


def test_activity_type_filter_and_since_datetime_are_applied(tiny_server):
    since = "2026-05-02T00:00:00Z"  # hour 24: activities n with n // 3 >= 24
    token = api(tiny_server, "/rest/v1/activities/pagingtoken.json", sinceDatetime=since)["nextPageToken"]
    body = api(tiny_server, "/rest/v1/activities.json", nextPageToken=token, activityTypeIds="2")
    expected = [n for n in range(72, TINY.activities + 1) if TINY.activity_types[n % 5] == 2]
    assert [a["id"] for a in body["result"]] == expected[:300]


def test_a_paging_token_kept_from_an_earlier_clock_finds_only_what_came_since(sandbox_server_factory, tiny_world):
    server = sandbox_server_factory(tiny_world, as_of="2026-05-02T00:00:00Z")
    token = api(server, "/rest/v1/activities/pagingtoken.json", sinceDatetime="2026-05-01T00:00:00Z")["nextPageToken"]
    first = []
    while True:
        body = api(server, "/rest/v1/activities.json", nextPageToken=token, activityTypeIds="1,2,6,10,11")
        first.extend(a["id"] for a in body.get("result", []))
        token = body["nextPageToken"]
        if not body["moreResult"]:
            break
    assert max(first) == 74  # hour 24 holds activities 72, 73, 74
    server.set_clock("2026-05-02T02:00:00Z")
    body = api(server, "/rest/v1/activities.json", nextPageToken=token, activityTypeIds="1,2,6,10,11")
    assert [a["id"] for a in body["result"]] == [75, 76, 77, 78, 79, 80]


def test_deleted_leads_are_hidden_from_leads_and_listed_as_deleted(tiny_server):
    body = api(tiny_server, "/rest/v1/leads.json", filterType="id", filterValues=f"12,{TINY.marketo_deleted_lead},14")
    assert [lead["id"] for lead in body["result"]] == [12, 14]
    token = api(tiny_server, "/rest/v1/activities/pagingtoken.json", sinceDatetime="2026-05-01")["nextPageToken"]
    deleted = api(tiny_server, "/rest/v1/activities/deletedleads.json", nextPageToken=token)
    assert [(a["leadId"], a["activityTypeId"]) for a in deleted["result"]] == [(TINY.marketo_deleted_lead, 37)]


def test_leads_answer_default_fields_or_the_fields_asked_for(tiny_server):
    default = api(tiny_server, "/rest/v1/leads.json", filterType="id", filterValues="1")["result"][0]
    assert set(default) == {"id", "updatedAt", "lastName", "email", "createdAt", "firstName"}
    chosen = api(tiny_server, "/rest/v1/leads.json", filterType="id", filterValues="1", fields="email,leadStatus")
    assert chosen["result"] == [{"id": 1, "email": "person1@example.com", "leadStatus": "New"}]


def test_bad_parameters_answer_http_200_with_marketo_error_codes(tiny_server):
    unknown_field = api(tiny_server, "/rest/v1/leads.json", filterType="id", filterValues="1", fields="shoeSize")
    assert unknown_field["success"] is False and unknown_field["errors"][0]["code"] == "1006"
    too_many = api(tiny_server, "/rest/v1/leads.json", filterType="id",
                   filterValues=",".join(str(i) for i in range(MAX_BATCH + 1)))
    assert too_many["errors"][0]["code"] == "1003"
    no_types = api(tiny_server, "/rest/v1/activities.json", nextPageToken="GIYDENRN")
    assert no_types["success"] is False and no_types["errors"][0]["code"] == "1003"
    bad_token = api(tiny_server, "/rest/v1/activities.json", nextPageToken="!!", activityTypeIds="1")
    assert bad_token["errors"][0]["code"] == "1003"
    assert api(tiny_server, "/rest/asset/v1/programs.json", maxReturn=201)["success"] is False


def test_token_errors_are_601_invalid_and_602_expired(sandbox_server_factory, tiny_world):
    server = sandbox_server_factory(tiny_world, token_ttl_seconds=0.2)
    invalid = requests.get(server.url + "/rest/v1/activities/types.json", params={"access_token": "forged"}).json()
    assert invalid["success"] is False and invalid["errors"][0]["code"] == "601"
    issued = requests.get(server.url + "/identity/oauth/token", params={
        "grant_type": "client_credentials", "client_id": "a", "client_secret": "b"}).json()
    ok = requests.get(server.url + "/rest/v1/activities/types.json", params={"access_token": issued["access_token"]})
    assert ok.json()["success"] is True
    time.sleep(0.3)
    expired = requests.get(server.url + "/rest/v1/activities/types.json",
                           headers={"Authorization": f"Bearer {issued['access_token']}"}).json()
    assert expired["errors"][0]["code"] == "602"


def test_bad_client_credentials_are_refused_when_credentials_are_required(sandbox_server_factory, tiny_world):
    server = sandbox_server_factory(tiny_world, credentials={"marketo": ("good", "secret")})
    refused = requests.get(server.url + "/identity/oauth/token", params={
        "grant_type": "client_credentials", "client_id": "good", "client_secret": "wrong"})
    assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"


def test_programs_page_by_offset_and_end_with_marketo_warning(tiny_server):
    first = api(tiny_server, "/rest/asset/v1/programs.json", offset=0, maxReturn=3)
    second = api(tiny_server, "/rest/asset/v1/programs.json", offset=3, maxReturn=3)
    past = api(tiny_server, "/rest/asset/v1/programs.json", offset=6, maxReturn=3)
    assert [p["id"] for p in first["result"] + second["result"]] == list(range(1, TINY.programs + 1))
    assert "result" not in past and past["warnings"] == ["No assets found for the given search criteria."]


def test_activities_can_be_asked_for_a_few_leads(tiny_server):
    token = api(tiny_server, "/rest/v1/activities/pagingtoken.json", sinceDatetime="2026-05-01")["nextPageToken"]
    body = api(tiny_server, "/rest/v1/activities.json", nextPageToken=token, activityTypeIds="1,2,6,10,11",
               leadIds="2,3")
    # activity n belongs to lead 1 + n % 50
    expected = [n for n in range(1, TINY.activities + 1) if 1 + n % TINY.marketo_leads in (2, 3)]
    assert [a["id"] for a in body["result"]] == expected
