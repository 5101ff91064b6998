"""The server as a whole: concurrent clients, the admin clock, stats, unknown paths."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from baton_sandbox.testing import TINY


def sf_count(server, soql: str) -> int:
    bearer = requests.post(server.url + "/services/oauth2/token", data={
        "grant_type": "client_credentials", "client_id": "a", "client_secret": "b"}).json()["access_token"]
    headers = {"Authorization": f"Bearer {bearer}"}
    body = requests.get(server.url + "/services/data/v60.0/queryAll", params={"q": soql}, headers=headers).json()
    count = len(body["records"])
    while not body["done"]:
        body = requests.get(server.url + body["nextRecordsUrl"], headers=headers).json()
        count += len(body["records"])
    return count


def hs_count(server, object_type: str) -> int:
    headers = {"Authorization": "Bearer pat"}
    params, count = {"limit": 100}, 0
    while True:
        body = requests.get(f"{server.url}/crm/v3/objects/{object_type}", params=params, headers=headers).json()
        count += len(body["results"])
        after = (body.get("paging") or {}).get("next", {}).get("after")
        if not after:
            return count
        params["after"] = after


def test_concurrent_clients_each_get_their_own_complete_answers(sandbox_server_factory, tiny_world):
    server = sandbox_server_factory(tiny_world)
    jobs = [lambda: sf_count(server, "SELECT Id FROM Lead")] * 4 + [lambda: hs_count(server, "contacts")] * 4 + \
           [lambda: sf_count(server, "SELECT Id FROM Lead WHERE NumberOfEmployees > 40000")] * 2
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(lambda job: job(), jobs))
    assert results == [TINY.leads + 1] * 4 + [TINY.contacts - 1] * 4 + [TINY.leads - 4000] * 2


def test_admin_clock_moves_the_world_and_refuses_nonsense(sandbox_server_factory, tiny_world):
    server = sandbox_server_factory(tiny_world)
    assert requests.post(server.url + "/_sandbox/clock", json={"as_of": "yesterday"}).status_code == 400
    assert requests.post(server.url + "/_sandbox/clock", json={}).status_code == 400
    moved = requests.post(server.url + "/_sandbox/clock", json={"as_of": "2026-05-01T12:00:00+0000"}).json()
    assert moved["as_of"] == "2026-05-01T12:00:00.000000Z"
    assert hs_count(server, "contacts") == 720 // 7  # contact n is created at minute 7n


def test_stats_count_requests_and_records_served_per_system(sandbox_server_factory, tiny_world):
    server = sandbox_server_factory(tiny_world)
    hs_count(server, "contacts")
    stats = requests.get(server.url + "/_sandbox/stats").json()
    assert stats["requests_by_system"]["hubspot"] == 3
    assert stats["records_by_system"]["hubspot"] == TINY.contacts - 1
    assert stats["records_served"] == TINY.contacts - 1


def test_unknown_paths_answer_404(sandbox_server_factory, tiny_world):
    server = sandbox_server_factory(tiny_world)
    assert requests.get(server.url + "/nothing/here").status_code == 404
    assert requests.get(server.url + "/crm/v3/nothing", headers={"Authorization": "Bearer pat"}).status_code == 404
