"""Faults on demand: each kind answers as the vendor does, the plan is deterministic by seed,
and a client that retries and re-authenticates still gets every record."""

from __future__ import annotations

import time

import pytest
import requests

from baton_sandbox.faults import FaultPlan
from baton_sandbox.testing import TINY

HUBSPOT = {"Authorization": "Bearer pat-sandbox"}


def sf_token(server) -> str:
    return requests.post(server.url + "/services/oauth2/token", data={
        "grant_type": "client_credentials", "client_id": "a", "client_secret": "b"}).json()["access_token"]


def mk_token(server) -> str:
    return requests.get(server.url + "/identity/oauth/token", params={
        "grant_type": "client_credentials", "client_id": "a", "client_secret": "b"}).json()["access_token"]


def sf_query(server, bearer: str, soql: str = "SELECT Id FROM User") -> requests.Response:
    return requests.get(server.url + "/services/data/v60.0/queryAll", params={"q": soql},
                        headers={"Authorization": f"Bearer {bearer}"})


def every_request_fails_with(factory, world, kind: str, **options):
    return factory(world, faults=FaultPlan(rate=1.0, kinds=(kind,), **options))


def test_rate_limit_answers_each_vendors_own_rate_limit(sandbox_server_factory, tiny_world):
    server = every_request_fails_with(sandbox_server_factory, tiny_world, "rate_limit", retry_after_seconds=3)
    salesforce = sf_query(server, sf_token(server))
    assert salesforce.status_code == 403 and salesforce.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    marketo = requests.get(server.url + "/rest/v1/activities/types.json", params={"access_token": mk_token(server)})
    assert marketo.status_code == 200
    assert marketo.json()["success"] is False and marketo.json()["errors"][0]["code"] == "606"
    hubspot = requests.get(server.url + "/crm/v3/objects/contacts", headers=HUBSPOT)
    assert hubspot.status_code == 429 and hubspot.headers["Retry-After"] == "3"
    assert hubspot.json()["status"] == "error" and hubspot.json()["errorType"] == "RATE_LIMIT"
    assert server.stats()["faults"] == {"rate_limit": 3}


def test_server_error_answers_5xx(sandbox_server_factory, tiny_world):
    server = every_request_fails_with(sandbox_server_factory, tiny_world, "server_error")
    assert sf_query(server, sf_token(server)).status_code >= 500
    marketo = requests.get(server.url + "/rest/v1/activities/types.json", params={"access_token": mk_token(server)})
    assert marketo.status_code >= 500 and marketo.json()["success"] is False
    assert requests.get(server.url + "/crm/v3/owners", headers=HUBSPOT).status_code >= 500


def test_slow_answers_late_but_right(sandbox_server_factory, tiny_world):
    server = every_request_fails_with(sandbox_server_factory, tiny_world, "slow", slow_seconds=0.4)
    bearer = sf_token(server)
    started = time.monotonic()
    answer = sf_query(server, bearer)
    assert time.monotonic() - started >= 0.4
    assert answer.status_code == 200 and answer.json()["totalSize"] == TINY.users


def test_drop_connection_closes_the_socket_without_an_answer(sandbox_server_factory, tiny_world):
    server = every_request_fails_with(sandbox_server_factory, tiny_world, "drop_connection")
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/crm/v3/objects/contacts", headers=HUBSPOT)
    with pytest.raises(requests.ConnectionError):
        sf_query(server, sf_token(server))


def test_token_expiring_in_the_middle_of_paging_answers_401_then_the_cursor_resumes(sandbox_server_factory, tiny_world):
    server = sandbox_server_factory(tiny_world, faults=FaultPlan(schedule={2: "token_expiry"}))
    bearer = sf_token(server)
    first = sf_query(server, bearer, "SELECT Id FROM Lead").json()             # data request 1
    expired = requests.get(server.url + first["nextRecordsUrl"], headers={"Authorization": f"Bearer {bearer}"})
    assert expired.status_code == 401 and expired.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    again = requests.get(server.url + first["nextRecordsUrl"], headers={"Authorization": f"Bearer {bearer}"})
    assert again.status_code == 401  # the token stays expired
    fresh = sf_token(server)
    resumed = requests.get(server.url + first["nextRecordsUrl"], headers={"Authorization": f"Bearer {fresh}"})
    assert resumed.status_code == 200 and len(resumed.json()["records"]) == 2000


def test_marketo_token_expiry_fault_answers_602(sandbox_server_factory, tiny_world):
    server = sandbox_server_factory(tiny_world, faults=FaultPlan(schedule={1: "token_expiry"}))
    bearer = mk_token(server)
    body = requests.get(server.url + "/rest/v1/activities/types.json", params={"access_token": bearer}).json()
    assert body["errors"][0]["code"] == "602"
    assert requests.get(server.url + "/rest/v1/activities/types.json",
                        params={"access_token": mk_token(server)}).json()["success"] is True


def test_the_same_seed_fails_the_same_requests(sandbox_server_factory, tiny_world):
    def outcomes(seed: int) -> list[int]:
        server = sandbox_server_factory(tiny_world, faults=FaultPlan(rate=0.5, kinds=("rate_limit", "server_error"),
                                                                     seed=seed))
        return [requests.get(server.url + "/crm/v3/owners", headers=HUBSPOT).status_code for _ in range(30)]

    first, second, other = outcomes(11), outcomes(11), outcomes(12)
    assert first == second
    assert first != other
    assert {200, 429, 502} <= set(first)


def test_a_retrying_client_reads_every_lead_through_every_fault_kind(sandbox_server_factory, tiny_world):
    server = sandbox_server_factory(tiny_world, faults=FaultPlan(rate=0.4, seed=3, slow_seconds=0.05))
    bearer = sf_token(server)
    url = server.url + "/services/data/v60.0/queryAll"
    params: dict | None = {"q": "SELECT Id FROM Lead"}
    ids, attempts = [], 0
    while url:
        attempts += 1
        assert attempts < 100, "the faults never let the client through"
        try:
            answer = requests.get(url, params=params, headers={"Authorization": f"Bearer {bearer}"}, timeout=5)
        except requests.ConnectionError:
            continue
        if answer.status_code == 401:
            bearer = sf_token(server)
            continue
        if answer.status_code != 200:
            continue
        body = answer.json()
        ids.extend(r["Id"] for r in body["records"])
        url, params = (server.url + body["nextRecordsUrl"], None) if not body["done"] else (None, None)
    assert len(ids) == len(set(ids)) == TINY.leads + 1
    assert sum(server.stats()["faults"].values()) > 0


def test_fault_plan_rejects_unknown_kinds():
    with pytest.raises(ValueError):
        FaultPlan(rate=0.1, kinds=("meteor_strike",))


def test_marketo_rate_limits_can_answer_daily_quota_and_concurrency_codes(sandbox_server_factory, tiny_world):
    server = sandbox_server_factory(tiny_world, faults=FaultPlan(rate=1.0, kinds=("rate_limit",),
                                                                 marketo_limit_codes=("606", "607", "615")))
    bearer = mk_token(server)
    codes = [requests.get(server.url + "/rest/v1/activities/types.json",
                          params={"access_token": bearer}).json()["errors"][0]["code"] for _ in range(4)]
    assert codes == ["606", "607", "615", "606"]
