"""HubSpot through the sandbox: hubspot-api-client pages every CRM object, owners, searches
and association reads; forms, submissions and email events page to the end; the search
ceiling, archived records, property history and errors behave as HubSpot's do."""

from __future__ import annotations

import orjson
import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
from hubspot.crm.objects import ApiException, PublicObjectSearchRequest

from baton_sandbox.catalog import HUBSPOT_ASSOCIATIONS, HUBSPOT_PROPERTIES
from baton_sandbox.store import WorldStore
from baton_sandbox.testing import TINY

TOKEN = "pat-na1-sandbox"


def hubspot(server) -> HubSpot:
    return HubSpot(access_token=TOKEN, host=server.url)


def get(server, path: str, **params) -> requests.Response:
    return requests.get(server.url + path, params=params, headers={"Authorization": f"Bearer {TOKEN}"})


def post(server, path: str, body: dict) -> requests.Response:
    return requests.post(server.url + path, json=body, headers={"Authorization": f"Bearer {TOKEN}"})


def current(world, object_type: str, clock) -> list:
    store = WorldStore(world, readonly=True)
    try:
        return list(store.current("hubspot", object_type, clock))
    finally:
        store.close()


@pytest.fixture
def tiny_server(sandbox_server_factory, tiny_world):
    return sandbox_server_factory(tiny_world)


def test_hubspot_client_pages_every_crm_object_with_properties_and_associations(sandbox_server, sandbox_world):
    hs = hubspot(sandbox_server)
    for object_type, properties in HUBSPOT_PROPERTIES.items():
        versions = current(sandbox_world, object_type, sandbox_server.clock)
        expected = {v.id: orjson.loads(v.data) for v in versions if not v.deleted}
        associations = list(HUBSPOT_ASSOCIATIONS.get(object_type, ()))
        got, after = [], None
        while True:
            page = hs.crm.objects.basic_api.get_page(object_type, limit=100, after=after,
                                                     properties=list(properties), associations=associations)
            got.extend(page.results)
            if not page.paging or not page.paging.next:
                break
            after = page.paging.next.after
        assert sorted(r.id for r in got) == sorted(expected), object_type
        for record in got:
            assert record.properties == expected[record.id]["properties"], object_type
            for target in associations:
                linked = expected[record.id]["associations"].get(target) or []
                served = [a.id for a in (record.associations or {}).get(target, None).results] \
                    if record.associations and target in record.associations else []
                visible = {v.id for v in current(sandbox_world, target, sandbox_server.clock) if not v.deleted} \
                    if linked else set()
                assert sorted(served) == sorted(i for i in linked if i in visible)
        archived = []
        after = None
        while True:
            page = hs.crm.objects.basic_api.get_page(object_type, limit=100, after=after, archived=True)
            archived.extend(page.results)
            if not page.paging or not page.paging.next:
                break
            after = page.paging.next.after
        assert sorted(r.id for r in archived) == sorted(v.id for v in versions if v.deleted)
        assert all(r.archived for r in archived)


def test_hubspot_client_reads_owners_with_teams_and_archived_ones(sandbox_server, sandbox_world):
    hs = hubspot(sandbox_server)
    versions = current(sandbox_world, "owners", sandbox_server.clock)
    for archived in (False, True):
        got, after = [], None
        while True:
            page = hs.crm.owners.owners_api.get_page(limit=2, after=after, archived=archived)
            got.extend(page.results)
            if not page.paging or not page.paging.next:
                break
            after = page.paging.next.after
        assert sorted(o.id for o in got) == sorted(v.id for v in versions if v.deleted == archived)
        assert all(o.teams for o in got)


def test_hubspot_client_search_finds_a_window_of_last_modified(sandbox_server, sandbox_world):
    hs = hubspot(sandbox_server)
    versions = [orjson.loads(v.data) for v in current(sandbox_world, "contacts", sandbox_server.clock) if not v.deleted]
    stamps = sorted(r["properties"]["lastmodifieddate"] for r in versions)
    low, high = stamps[len(stamps) // 4], stamps[3 * len(stamps) // 4]
    expected = sorted(r["id"] for r in versions if low <= r["properties"]["lastmodifieddate"] <= high)
    request = {"filter_groups": [{"filters": [
        {"propertyName": "lastmodifieddate", "operator": "GTE", "value": low},
        {"propertyName": "lastmodifieddate", "operator": "LTE", "value": high}]}],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        "properties": ["email", "lastmodifieddate"], "limit": 7}
    got, after, total = [], None, None
    while True:
        page = hs.crm.objects.search_api.do_search("contacts", PublicObjectSearchRequest(**request, after=after))
        total = page.total
        got.extend(page.results)
        if not page.paging or not page.paging.next:
            break
        after = page.paging.next.after
    assert total == len(expected)
    assert sorted(r.id for r in got) == expected
    served_stamps = [r.properties["lastmodifieddate"] for r in got]
    assert served_stamps == sorted(served_stamps)


def test_hubspot_client_reads_v4_associations_in_both_directions(sandbox_server, sandbox_world):
    hs = hubspot(sandbox_server)
    deals = [orjson.loads(v.data) for v in current(sandbox_world, "deals", sandbox_server.clock) if not v.deleted]
    live_contacts = {v.id for v in current(sandbox_world, "contacts", sandbox_server.clock) if not v.deleted}
    forward = hs.crm.associations.v4.batch_api.get_page("deals", "contacts",
                                                        BatchInputPublicFetchAssociationsBatchRequest(
                                                            inputs=[{"id": d["id"]} for d in deals]))
    served = {r._from.id: sorted(str(t.to_object_id) for t in r.to) for r in forward.results}
    expected = {d["id"]: sorted(c for c in d["associations"].get("contacts", []) if c in live_contacts) for d in deals}
    assert served == {k: v for k, v in expected.items() if v}
    contact_ids = sorted({c for linked in expected.values() for c in linked})
    if contact_ids:
        backward = hs.crm.associations.v4.batch_api.get_page("contacts", "deals",
                                                             BatchInputPublicFetchAssociationsBatchRequest(
                                                                 inputs=[{"id": c} for c in contact_ids]))
        pairs = {(str(t.to_object_id), r._from.id) for r in backward.results for t in r.to}
        assert pairs == {(d, c) for d, linked in expected.items() for c in linked}


def test_forms_submissions_and_email_events_page_to_every_record(sandbox_server, sandbox_world):
    clock = sandbox_server.clock
    hs = hubspot(sandbox_server)
    forms, after = [], None
    while True:
        page = hs.marketing.forms.forms_api.get_page(limit=2, after=after)
        forms.extend({"id": form.id} for form in page.results)
        if not page.paging or not page.paging.next:
            break
        after = page.paging.next.after
    assert sorted(f["id"] for f in forms) == sorted(v.id for v in current(sandbox_world, "forms", clock) if not v.deleted)

    submissions = []
    for form in forms:
        after = None
        while True:
            body = get(sandbox_server, f"/form-integrations/v1/submissions/forms/{form['id']}", limit=5,
                       **({"after": after} if after else {})).json()
            submissions.extend(body["results"])
            stamps = [s["submittedAt"] for s in body["results"]]
            assert stamps == sorted(stamps, reverse=True)  # newest first, as HubSpot lists them
            after = (body.get("paging") or {}).get("next", {}).get("after")
            if not after:
                break
    expected = [orjson.loads(v.data) for v in current(sandbox_world, "form_submissions", clock) if not v.deleted]
    assert sorted(s["conversionId"] for s in submissions) == sorted(s["conversionId"] for s in expected)

    events, offset = [], None
    while True:
        body = get(sandbox_server, "/email/public/v1/events", limit=100, **({"offset": offset} if offset else {})).json()
        events.extend(body["events"])
        offset = body["offset"]
        if not body["hasMore"]:
            break
    assert sorted(e["id"] for e in events) == sorted(v.id for v in current(sandbox_world, "email_events", clock))


def test_email_events_window_by_timestamp_and_type(tiny_server):
    from baton_sandbox.testing import WORLD_START
    start_ms = int(WORLD_START.timestamp() * 1000) + 60 * 60_000            # events from minute 60 ...
    end_ms = start_ms + 60 * 60_000                                         # ... to minute 120
    events, offset = [], None
    while True:
        body = get(tiny_server, "/email/public/v1/events", startTimestamp=start_ms, endTimestamp=end_ms,
                   eventType="OPEN", limit=1, **({"offset": offset} if offset else {})).json()
        events.extend(body["events"])
        offset = body["offset"]
        if not body["hasMore"]:
            break
    # event n is at minute 30 * (n // 2) and of type n % 4 (OPEN = 2)
    expected = [f"ev-{n}" for n in range(1, TINY.email_events + 1)
                if 60 <= 30 * (n // 2) <= 120 and n % 4 == 2]
    assert [e["id"] for e in events] == expected


def test_search_refuses_to_page_past_ten_thousand_results(tiny_server):
    body = post(tiny_server, "/crm/v3/objects/contacts/search", {"limit": 200, "after": "9800"}).json()
    assert body["total"] == TINY.contacts - 1 and body["results"] == []
    ceiling = post(tiny_server, "/crm/v3/objects/contacts/search", {"limit": 100, "after": "10000"})
    assert ceiling.status_code == 400
    assert ceiling.json()["status"] == "error" and ceiling.json()["category"] == "VALIDATION_ERROR"


def test_search_pages_stop_exactly_at_the_total(tiny_server):
    ids, after = [], None
    while True:
        request = {"limit": 100, "sorts": [{"propertyName": "createdate", "direction": "DESCENDING"}]}
        if after:
            request["after"] = after
        body = post(tiny_server, "/crm/v3/objects/contacts/search", request).json()
        ids.extend(int(r["id"]) for r in body["results"])
        after = (body.get("paging") or {}).get("next", {}).get("after")
        if not after:
            break
    assert ids == list(range(TINY.contacts - 1, 0, -1))  # the archived contact is never searched


def test_search_filters_eq_in_between_and_has_property(tiny_server):
    def ids(filters):
        body = post(tiny_server, "/crm/v3/objects/contacts/search",
                    {"filterGroups": [{"filters": filters}], "limit": 200}).json()
        return sorted(int(r["id"]) for r in body["results"])

    assert ids([{"propertyName": "email", "operator": "EQ", "value": "PERSON7@example.com"}]) == [7]
    assert ids([{"propertyName": "lifecyclestage", "operator": "IN", "values": ["salesqualifiedlead"]}]) == [3]
    assert ids([{"propertyName": "hs_object_id", "operator": "BETWEEN", "value": "10", "highValue": "12"}]) == [10, 11, 12]
    assert ids([{"propertyName": "jobtitle", "operator": "HAS_PROPERTY"}]) == []


def test_properties_with_history_lists_each_change_newest_first(tiny_server):
    body = get(tiny_server, "/crm/v3/objects/contacts", limit=1, after=str(TINY.lifecycle_contact),
               propertiesWithHistory="lifecyclestage").json()
    history = body["results"][0]["propertiesWithHistory"]["lifecyclestage"]
    assert [h["value"] for h in history] == ["salesqualifiedlead", "marketingqualifiedlead", "lead"]
    assert [h["timestamp"] for h in history] == sorted((h["timestamp"] for h in history), reverse=True)


def test_the_clock_hides_later_history_and_shows_the_contact_before_archiving(sandbox_server_factory, tiny_world):
    server = sandbox_server_factory(tiny_world, as_of="2026-05-15T00:00:00Z")
    body = get(server, "/crm/v3/objects/contacts", limit=1, after=str(TINY.lifecycle_contact),
               propertiesWithHistory="lifecyclestage", properties="lifecyclestage").json()
    record = body["results"][0]
    assert record["properties"]["lifecyclestage"] == "marketingqualifiedlead"
    assert [h["value"] for h in record["propertiesWithHistory"]["lifecyclestage"]] == ["marketingqualifiedlead", "lead"]
    server.set_clock("2026-08-31T00:00:00Z")
    live = get(server, "/crm/v3/objects/contacts", limit=1, after=str(TINY.archived_contact)).json()["results"]
    assert [r["id"] for r in live] == [str(TINY.archived_contact)]
    server.set_clock("2026-09-02T00:00:00Z")
    assert get(server, "/crm/v3/objects/contacts", limit=1, after=str(TINY.archived_contact)).json()["results"] == []
    archived = get(server, "/crm/v3/objects/contacts", archived="true").json()["results"]
    assert [(r["id"], r["archived"]) for r in archived] == [(str(TINY.archived_contact), True)]


def test_list_pages_hold_at_most_one_hundred_and_follow_after(tiny_server):
    sizes, ids, after = [], [], None
    while True:
        body = get(tiny_server, "/crm/v3/objects/contacts", limit=500, **({"after": after} if after else {})).json()
        sizes.append(len(body["results"]))
        ids.extend(int(r["id"]) for r in body["results"])
        after = (body.get("paging") or {}).get("next", {}).get("after")
        if not after:
            break
    assert sizes == [100, 100, TINY.contacts - 1 - 200]
    assert ids == list(range(1, TINY.contacts))


def test_unknown_object_or_search_property_answers_hubspot_error_body(tiny_server):
    unknown = get(tiny_server, "/crm/v3/objects/spaceships")
    assert unknown.status_code == 400
    assert unknown.json()["status"] == "error" and "spaceships" in unknown.json()["message"]
    bad = post(tiny_server, "/crm/v3/objects/contacts/search",
               {"filterGroups": [{"filters": [{"propertyName": "shoe_size", "operator": "EQ", "value": "9"}]}]})
    assert bad.status_code == 400 and bad.json()["category"] == "VALIDATION_ERROR" and "shoe_size" in bad.json()["message"]
    with pytest.raises(ApiException) as raised:
        hubspot(tiny_server).crm.objects.basic_api.get_page("spaceships")
    assert raised.value.status == 400


def test_a_missing_or_wrong_token_answers_401(sandbox_server_factory, tiny_world):
    server = sandbox_server_factory(tiny_world, credentials={"hubspot": "pat-right"})
    assert requests.get(server.url + "/crm/v3/objects/contacts").status_code == 401
    wrong = get(server, "/crm/v3/objects/contacts")
    assert wrong.status_code == 401 and wrong.json()["category"] == "INVALID_AUTHENTICATION"
    right = requests.get(server.url + "/crm/v3/objects/contacts", headers={"Authorization": "Bearer pat-right"})
    assert right.status_code == 200


def test_unknown_form_answers_404(tiny_server):
    assert get(tiny_server, "/form-integrations/v1/submissions/forms/no-such-form").status_code == 404


@pytest.mark.parametrize("option", ["company_only", "contact_only"])
def test_hubspot_firmographics_option_is_served_with_the_contact_company_association(
        sandbox_server_factory, sandbox_world_factory, option):
    server = sandbox_server_factory(sandbox_world_factory(people=300, hubspot_firmographics=option))
    firmographics = "company,industry,numemployees,country"
    contacts = get(server, "/crm/v3/objects/contacts", limit=100, associations="companies",
                   properties=firmographics + ",associatedcompanyid").json()["results"]
    linked = [c for c in contacts if c["properties"]["associatedcompanyid"]]
    assert linked, "no contact is associated to a company"
    for contact in linked:
        primary = contact["properties"]["associatedcompanyid"]
        assert [a["id"] for a in contact["associations"]["companies"]["results"]] == [primary]
        company = get(server, f"/crm/v3/objects/companies/{primary}",
                      properties="name,industry,numberofemployees,country").json()["properties"]
        own = [contact["properties"][name] for name in firmographics.split(",")]
        kept = [company[name] for name in ("name", "industry", "numberofemployees", "country")]
        if option == "company_only":
            assert own == [None] * 4 and None not in kept
        else:
            assert kept == [None] * 4
