"""`baton sandbox serve` starts the APIs and says where; `baton sandbox build` writes a world."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import requests

from baton_sandbox.store import WorldStore
from baton_sandbox.testing import TINY

BATON = [sys.executable, "-m", "baton.cli"]


def test_serve_prints_where_it_listens_and_answers_there(tiny_world):
    process = subprocess.Popen([*BATON, "sandbox", "serve", "--world", str(tiny_world), "--port", "0",
                                "--require-credentials", "cli-id:cli-secret"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline().strip()
        assert first.startswith("sandbox listening on http://127.0.0.1:"), first
        url = first.rsplit(" ", 1)[1]
        refused = requests.post(url + "/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}, timeout=10)
        assert refused.status_code == 400
        issued = requests.post(url + "/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": "cli-id", "client_secret": "cli-secret"}, timeout=10).json()
        users = requests.get(url + "/services/data/v60.0/query", params={"q": "SELECT Id FROM User"},
                             headers={"Authorization": f"Bearer {issued['access_token']}"}, timeout=10).json()
        assert users["totalSize"] == TINY.users
        connections = [process.stdout.readline() for _ in range(3)]
        assert any(line.startswith("AIRFLOW_CONN_SALESFORCE_DEFAULT=") and url in line for line in connections)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    assert process.returncode == 0


def test_serve_as_of_hides_what_came_later(tiny_world):
    process = subprocess.Popen([*BATON, "sandbox", "serve", "--world", str(tiny_world), "--port", "0",
                                "--as-of", "2026-10-01T00:00:00Z"], stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip().rsplit(" ", 1)[1]
        clock = requests.get(url + "/_sandbox/clock", timeout=10).json()
        assert clock["as_of"].startswith("2026-10-01T00:00:00")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def test_build_writes_a_world_and_its_truth(tmp_path):
    out = tmp_path / "world.sqlite"
    truth = tmp_path / "truth"
    done = subprocess.run([*BATON, "sandbox", "build", "--people", "40", "--seed", "3", "--out", str(out),
                           "--truth", str(truth)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert out.exists() and Path(done.stdout.splitlines()[0]) == out
    assert any(truth.glob("*.jsonl")) or any(truth.iterdir())


def test_build_takes_the_hubspot_firmographics_option(tmp_path):
    out = tmp_path / "world.sqlite"
    done = subprocess.run([*BATON, "sandbox", "build", "--people", "40", "--seed", "3", "--out", str(out),
                           "--hubspot-firmographics", "contact_only"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    store = WorldStore(out, readonly=True)
    try:
        assert store.meta("params")["hubspot_firmographics"] == "contact_only"
    finally:
        store.close()
