"""How fast the sandbox serves: records per second for full reads, the server in its own process.

    baton bench sandbox --world .baton/sandbox/world-10000-7.sqlite

The client only splits pages and counts records (orjson), as a loader would before its own
work, so the figures are the server's pace, not the client's: a Salesforce Lead queryAll of
every field, every Marketo activity from the world's first instant, and the HubSpot
contact list (100 a page).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import orjson
import requests

from baton_sandbox.catalog import HUBSPOT_PROPERTIES, MARKETO_ACTIVITY_TYPES, SALESFORCE_OBJECTS


def _start_server(world: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "baton.cli", "sandbox", "serve", "--world", str(world),
                                "--port", "0"], stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline().strip()
    if not line.startswith("sandbox listening on "):
        process.kill()
        raise RuntimeError(f"the sandbox did not start: {line!r}")
    return process, line.rsplit(" ", 1)[1]


def _timed(read, server_pid: int) -> dict:
    import psutil

    server = psutil.Process(server_pid)
    cpu_before = sum(server.cpu_times()[:2])
    started = time.perf_counter()
    records, size = read()
    seconds = time.perf_counter() - started
    cpu = sum(server.cpu_times()[:2]) - cpu_before
    # wall-clock pace depends on what else the machine runs; the server's CPU per record does not
    return {"records": records, "seconds": round(seconds, 2), "records_per_second": round(records / seconds),
            "server_cpu_seconds": round(cpu, 2),
            "records_per_server_cpu_second": round(records / cpu) if cpu > 0 else None,
            "megabytes": round(size / 1e6, 1)}


def salesforce_lead_query_all(session: requests.Session, url: str) -> tuple[int, int]:
    token = session.post(url + "/services/oauth2/token", data={
        "grant_type": "client_credentials", "client_id": "bench", "client_secret": "bench"}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    soql = f"SELECT {', '.join(SALESFORCE_OBJECTS['Lead'])} FROM Lead"
    answer = session.get(url + "/services/data/v60.0/queryAll", params={"q": soql}, headers=headers)
    records = size = 0
    while True:
        answer.raise_for_status()
        size += len(answer.content)
        body = orjson.loads(answer.content)
        records += len(body["records"])
        if body["done"]:
            return records, size
        answer = session.get(url + body["nextRecordsUrl"], headers=headers)


def marketo_activities(session: requests.Session, url: str) -> tuple[int, int]:
    token = session.get(url + "/identity/oauth/token", params={
        "grant_type": "client_credentials", "client_id": "bench", "client_secret": "bench"}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    type_ids = sorted(MARKETO_ACTIVITY_TYPES)
    records = size = 0
    for first in range(0, len(type_ids), 10):
        page_token = session.get(url + "/rest/v1/activities/pagingtoken.json", headers=headers,
                                 params={"sinceDatetime": "2000-01-01T00:00:00Z"}).json()["nextPageToken"]
        while True:
            answer = session.get(url + "/rest/v1/activities.json", headers=headers, params={
                "nextPageToken": page_token, "activityTypeIds": ",".join(map(str, type_ids[first:first + 10]))})
            size += len(answer.content)
            body = orjson.loads(answer.content)
            if not body.get("success"):
                raise RuntimeError(f"marketo answered {body.get('errors')}")
            records += len(body.get("result") or [])
            page_token = body["nextPageToken"]
            if not body["moreResult"]:
                break
    return records, size


def hubspot_contacts(session: requests.Session, url: str) -> tuple[int, int]:
    headers = {"Authorization": "Bearer bench"}
    params = {"limit": 100, "properties": ",".join(HUBSPOT_PROPERTIES["contacts"])}
    records = size = 0
    while True:
        answer = session.get(url + "/crm/v3/objects/contacts", headers=headers, params=params)
        answer.raise_for_status()
        size += len(answer.content)
        body = orjson.loads(answer.content)
        records += len(body["results"])
        after = ((body.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            return records, size
        params["after"] = after


def _memory(pid: int) -> dict:
    """RSS counts the mapped world file's pages; RssAnon (Linux) only what the server holds itself."""
    import psutil

    memory = {"server_rss_mb": round(psutil.Process(pid).memory_info().rss / 1e6)}
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("RssAnon:"):
                memory["server_private_mb"] = round(int(line.split()[1]) * 1024 / 1e6)
    return memory


def run(world: Path) -> dict:
    import os

    process, url = _start_server(world)
    try:
        with requests.Session() as session:
            return {
                "world": str(world),
                "load_average": os.getloadavg()[0],
                "cpus": os.cpu_count(),
                "salesforce_lead_query_all": _timed(lambda: salesforce_lead_query_all(session, url), process.pid),
                "marketo_activities": _timed(lambda: marketo_activities(session, url), process.pid),
                "hubspot_contacts_list": _timed(lambda: hubspot_contacts(session, url), process.pid),
                **_memory(process.pid),
            }
    finally:
        process.terminate()
        process.wait(timeout=30)
