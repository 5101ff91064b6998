"""Salesforce through the sandbox: simple-salesforce reads every object, SOQL behaves as
Salesforce's does, batches page at 2,000, the clock hides the future, errors are Salesforce's."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceMalformedRequest

from baton_sandbox.catalog import SALESFORCE_OBJECTS
from baton_sandbox.store import WorldStore
from baton_sandbox.testing import TINY, PlainHttpSession, sf_id

UTC = timezone.utc


def token(server, client_id="baton", secret="s3cret") -> dict:
    answer = requests.post(server.url + "/services/oauth2/token",
                           data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
    answer.raise_for_status()
    return answer.json()


def client(server) -> Salesforce:
    issued = token(server)
    return Salesforce(instance_url=issued["instance_url"], session_id=issued["access_token"], version="60.0",
                      session=PlainHttpSession(server.url))


def query(server, soql: str, *, all_rows: bool = False, bearer: str | None = None) -> requests.Response:
    bearer = bearer or token(server)["access_token"]
    return requests.get(f"{server.url}/services/data/v60.0/{'queryAll' if all_rows else 'query'}",
                        params={"q": soql}, headers={"Authorization": f"Bearer {bearer}"})


def records(server, soql: str, **kwargs) -> list[dict]:
    answer = query(server, soql, **kwargs)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["done"], "test queries are expected to fit one batch"
    return body["records"]


@pytest.fixture
def tiny_server(sandbox_server_factory, tiny_world):
    return sandbox_server_factory(tiny_world)


def test_simple_salesforce_reads_every_object_the_world_holds(sandbox_server, sandbox_world):
    sf = client(sandbox_server)
    store = WorldStore(sandbox_world, readonly=True)
    try:
        for object_name, fields in SALESFORCE_OBJECTS.items():
            described = [f["name"] for f in getattr(sf, object_name).describe()["fields"]]
            assert described == list(fields)
            expected_all = {v.id for v in store.current("salesforce", object_name, sandbox_server.clock)}
            expected_live = {v.id for v in store.current("salesforce", object_name, sandbox_server.clock) if not v.deleted}
            soql = f"SELECT {', '.join(fields)} FROM {object_name}"
            got_all = list(sf.query_all_iter(soql, include_deleted=True))
            got_live = list(sf.query_all_iter(soql))
            assert len(got_all) == len(expected_all), object_name
            assert {r["Id"] for r in got_all} == expected_all, object_name
            assert {r["Id"] for r in got_live} == expected_live, object_name
            assert all(r["attributes"]["type"] == object_name for r in got_all)
    finally:
        store.close()


def test_query_all_pages_in_batches_of_two_thousand_with_next_records_url(tiny_server):
    bearer = token(tiny_server)["access_token"]
    headers = {"Authorization": f"Bearer {bearer}"}
    body = query(tiny_server, "SELECT Id FROM Lead", all_rows=True, bearer=bearer).json()
    sizes, seen = [], []
    while True:
        sizes.append(len(body["records"]))
        seen.extend(r["Id"] for r in body["records"])
        assert body["totalSize"] == TINY.leads + 1
        if body["done"]:
            assert "nextRecordsUrl" not in body
            break
        assert body["nextRecordsUrl"].startswith("/services/data/v60.0/query/01g")
        body = requests.get(tiny_server.url + body["nextRecordsUrl"], headers=headers).json()
    assert sizes == [2000, 2000, TINY.leads + 1 - 4000]
    assert len(set(seen)) == TINY.leads + 1


def test_query_hides_deleted_rows_that_query_all_flags(tiny_server):
    deleted = sf_id("Lead", TINY.deleted_lead)
    soql = f"SELECT Id, IsDeleted FROM Lead WHERE Id = '{deleted}'"
    assert records(tiny_server, soql) == []
    flagged = records(tiny_server, soql, all_rows=True)
    assert [(r["Id"], r["IsDeleted"]) for r in flagged] == [(deleted, True)]


def test_a_record_created_after_the_clock_is_invisible(sandbox_server_factory, tiny_world):
    before = sandbox_server_factory(tiny_world, as_of="2026-10-14T23:59:59Z")
    assert records(before, "SELECT Id FROM Lead WHERE FirstName = 'Late'", all_rows=True) == []
    before.set_clock(TINY.late_lead_at)
    assert len(records(before, "SELECT Id FROM Lead WHERE FirstName = 'Late'", all_rows=True)) == 1


def test_the_clock_shows_the_version_current_at_that_instant(sandbox_server_factory, tiny_world):
    server = sandbox_server_factory(tiny_world, as_of="2026-05-31T00:00:00Z")
    lead = sf_id("Lead", TINY.updated_lead)
    soql = f"SELECT Status, IsDeleted FROM Lead WHERE Id = '{lead}'"
    assert records(server, soql)[0]["Status"] != "Working - Contacted"
    requests.post(server.url + "/_sandbox/clock", json={"as_of": "2026-06-02T00:00:00Z"}).raise_for_status()
    assert records(server, soql)[0]["Status"] == "Working - Contacted"
    # before its deletion the deleted lead is a live row of `query`
    deleted = sf_id("Lead", TINY.deleted_lead)
    assert len(records(server, f"SELECT Id FROM Lead WHERE Id = '{deleted}'")) == 1


def test_where_on_system_modstamp_returns_exactly_the_window_including_equal_stamps(tiny_server):
    # leads n=2k and 2k+1 share a minute; minute 10 holds leads 20 and 21
    got = records(tiny_server, "SELECT Id, SystemModstamp FROM Lead WHERE SystemModstamp >= 2026-05-01T00:10:00Z"
                               " AND SystemModstamp < 2026-05-01T00:12:00.000+0000 ORDER BY SystemModstamp, Id")
    assert [r["Id"] for r in got] == [sf_id("Lead", n) for n in (20, 21, 22, 23)]
    after = records(tiny_server, "SELECT Id FROM Lead WHERE SystemModstamp > 2026-05-01T00:10:00Z"
                                 " AND SystemModstamp <= 2026-05-01T00:11:00Z")
    assert sorted(r["Id"] for r in after) == [sf_id("Lead", n) for n in (22, 23)]


def test_where_combines_and_or_parentheses_in_like_booleans_null_and_numbers(tiny_server):
    got = records(tiny_server, "SELECT Id, Email, NumberOfEmployees, LeadSource FROM Lead WHERE "
                               "(NumberOfEmployees <= 50 OR Email LIKE 'person100@%') AND IsConverted = false "
                               "AND LeadSource != null")
    # odd n have LeadSource 'Web': 1, 3, 5 (<= 50 employees) and none of 100 (even)
    assert sorted(r["Id"] for r in got) == sorted(sf_id("Lead", n) for n in (1, 3, 5))
    in_list = records(tiny_server, f"SELECT Id FROM Lead WHERE Id IN ('{sf_id('Lead', 2)}', '{sf_id('Lead', 9)}')")
    assert sorted(r["Id"] for r in in_list) == [sf_id("Lead", 2), sf_id("Lead", 9)]
    not_in = records(tiny_server, "SELECT Id FROM Lead WHERE Status NOT IN ('Open - Not Contacted', "
                                  "'Working - Contacted') AND NumberOfEmployees < 100")
    expected = sorted(sf_id("Lead", n) for n in range(1, 10) if n % 3 == 2 and n != TINY.updated_lead)
    assert sorted(r["Id"] for r in not_in) == expected
    # string equality ignores case, as in Salesforce
    assert len(records(tiny_server, "SELECT Id FROM Lead WHERE Email = 'PERSON42@example.COM'")) == 1


def test_order_by_desc_and_limit_return_the_top_rows(tiny_server):
    got = records(tiny_server, "SELECT Id, NumberOfEmployees FROM Lead ORDER BY NumberOfEmployees DESC NULLS LAST LIMIT 3")
    assert [r["NumberOfEmployees"] for r in got] == [TINY.leads * 10, (TINY.leads - 1) * 10, (TINY.leads - 2) * 10]


def test_count_answers_total_size_without_records(tiny_server):
    body = query(tiny_server, "SELECT COUNT() FROM Lead WHERE IsDeleted = false", all_rows=True).json()
    assert body["totalSize"] == TINY.leads and body["records"] == []


def test_history_objects_have_created_date_but_no_system_modstamp(tiny_server):
    rows = records(tiny_server, "SELECT Id, Field, NewValue, CreatedDate FROM LeadHistory")
    assert [(r["Field"], r["NewValue"]) for r in rows] == [("Status", "Working - Contacted")]
    answer = query(tiny_server, "SELECT Id FROM LeadHistory WHERE SystemModstamp > 2026-01-01T00:00:00Z")
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "INVALID_FIELD"


def test_unknown_field_object_and_malformed_query_answer_salesforce_errors(tiny_server):
    answer = query(tiny_server, "SELECT Id, Shoe_Size__c FROM Lead")
    assert answer.status_code == 400
    assert answer.json()[0]["errorCode"] == "INVALID_FIELD" and "Shoe_Size__c" in answer.json()[0]["message"]
    answer = query(tiny_server, "SELECT Id FROM Spaceship__c")
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "INVALID_TYPE"
    answer = query(tiny_server, "SELECT Id FROM Lead WHERE")
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "MALFORMED_QUERY"
    answer = query(tiny_server, "SELECT Id FROM Lead WHERE SystemModstamp > '2026-01-01'")
    assert answer.status_code == 400
    sf = client(tiny_server)
    with pytest.raises(SalesforceMalformedRequest):
        sf.query("SELECT Nope FROM Lead")


def test_a_bad_or_expired_session_answers_401_invalid_session_id(sandbox_server_factory, tiny_world):
    answer = query(sandbox_server_factory(tiny_world), "SELECT Id FROM User", bearer="not-a-token")
    assert answer.status_code == 401 and answer.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    short = sandbox_server_factory(tiny_world, token_ttl_seconds=0.2)
    sf = client(short)
    import time
    time.sleep(0.3)
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM User")


def test_required_credentials_refuse_others(sandbox_server_factory, tiny_world):
    server = sandbox_server_factory(tiny_world, credentials={"salesforce": ("right-id", "right-secret")})
    wrong = requests.post(server.url + "/services/oauth2/token",
                          data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_client"
    assert token(server, "right-id", "right-secret")["token_type"] == "Bearer"


def test_token_answer_points_instance_url_at_the_sandbox(tiny_server):
    issued = token(tiny_server)
    assert issued["instance_url"] == tiny_server.url
    versions = requests.get(tiny_server.url + "/services/data/",
                            headers={"Authorization": f"Bearer {issued['access_token']}"}).json()
    assert {"version": "60.0", "url": "/services/data/v60.0", "label": "API 60.0"} in versions


def test_datetimes_are_formatted_as_salesforce_formats_them(tiny_server):
    row = records(tiny_server, f"SELECT CreatedDate, SystemModstamp FROM Lead WHERE Id = '{sf_id('Lead', 1)}'")[0]
    parsed = datetime.strptime(row["SystemModstamp"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert parsed == datetime(2026, 5, 1, 0, 0, tzinfo=UTC)


def test_whole_records_served_from_storage_equal_field_by_field_projection(tiny_server):
    fields = ", ".join(SALESFORCE_OBJECTS["Lead"])
    bearer = token(tiny_server)["access_token"]
    soql = f"SELECT {fields} FROM Lead WHERE SystemModstamp < 2026-05-01T00:05:00Z"
    stored = requests.get(f"{tiny_server.url}/services/data/v60.0/query", params={"q": soql},
                          headers={"Authorization": f"Bearer {bearer}"}).json()["records"]
    projected = requests.get(f"{tiny_server.url}/services/data/v59.0/query", params={"q": soql},
                             headers={"Authorization": f"Bearer {bearer}"}).json()["records"]
    # leads 1..9 were created in the first five minutes; 5 changed later and 7 is deleted
    assert len(stored) == len(projected) == 7
    for whole, picked in zip(stored, projected):
        assert picked["attributes"]["url"] == whole["attributes"]["url"].replace("v60.0", "v59.0")
        assert {k: v for k, v in whole.items() if k != "attributes"} == {k: v for k, v in picked.items() if k != "attributes"}


def test_instance_url_is_the_address_the_client_used(tiny_server):
    # inside docker compose the client reaches the sandbox as http://sandbox:8765, not by its bind address
    port = tiny_server.url.rsplit(":", 1)[1]
    issued = requests.post(tiny_server.url + "/services/oauth2/token", headers={"Host": f"sandbox:{port}"},
                           data={"grant_type": "client_credentials", "client_id": "a", "client_secret": "b"}).json()
    assert issued["instance_url"] == f"http://sandbox:{port}"


def test_not_like_underscore_offset_and_two_key_order(tiny_server):
    not_nurture = records(tiny_server, "SELECT Id FROM Lead WHERE NOT (Status = 'Nurture' OR Status <> 'Nurture')"
                                       " AND NumberOfEmployees < 100")
    assert not_nurture == []
    single_char = records(tiny_server, "SELECT Email FROM Lead WHERE Email LIKE 'person_@example.com'")
    assert sorted(r["Email"] for r in single_char) == sorted(f"Person{n}@Example.com" for n in range(1, 10)
                                                             if n != TINY.deleted_lead)
    page = records(tiny_server, "SELECT Id, Status, NumberOfEmployees FROM Lead WHERE NumberOfEmployees <= 120"
                                " ORDER BY Status DESC, NumberOfEmployees ASC LIMIT 3 OFFSET 1")
    def status(n):
        return "Working - Contacted" if n == TINY.updated_lead else \
            ("Open - Not Contacted", "Working - Contacted", "Nurture")[n % 3]

    live = [n for n in range(1, 13) if n != TINY.deleted_lead]
    by_status_desc_then_size = sorted(live, key=lambda n: (status(n), -n), reverse=True)
    expected = [(status(n), n) for n in by_status_desc_then_size[1:4]]
    assert [(r["Status"], r["NumberOfEmployees"]) for r in page] == [(s, n * 10) for s, n in expected]


def test_retrieve_one_record_and_its_deleted_or_unknown_answers(tiny_server):
    headers = {"Authorization": f"Bearer {token(tiny_server)['access_token']}"}
    base = f"{tiny_server.url}/services/data/v60.0/sobjects/Lead/"
    one = requests.get(base + sf_id("Lead", 1), headers=headers)
    assert one.status_code == 200 and one.json()["Email"] == "Person1@Example.com"
    assert one.headers["Sforce-Limit-Info"].startswith("api-usage=")
    deleted = requests.get(base + sf_id("Lead", TINY.deleted_lead), headers=headers)
    assert deleted.status_code == 404 and deleted.json()[0]["errorCode"] == "ENTITY_IS_DELETED"
    assert requests.get(base + "00Q000000000000AAA", headers=headers).status_code == 404
