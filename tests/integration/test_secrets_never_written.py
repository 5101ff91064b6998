"""No credential, token or webhook URL in anything Baton writes or logs.

Recognisable secrets are planted in the connections, the warehouse URL and the environment;
Baton then meets APIs that answer 401 and 403 (and echo the credentials back, as some do), a
malformed connection string, a dbt build and the quality gate. Every file under the state dir,
every log record and everything printed is searched for the secrets.
"""

from __future__ import annotations

import json
import logging
import threading
import traceback
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import pytest

from baton.connections import ConnectionFields, get_connection
from baton.warehouse import url_parts

PASSWORD = "bpw-PLANTED-8c1f2e"
CLIENT_SECRET = "bcs-PLANTED-51d9aa"
TOKEN = "btk-PLANTED-0e77b3"
HOOK = "https://hooks.slack.com/services/T0PLANT/B0PLANT/bhk-PLANTED-c4a1"
DB_PASSWORD = "bdb-PLANTED-9f30d2"
SECRETS = (PASSWORD, CLIENT_SECRET, TOKEN, "bhk-PLANTED-c4a1", DB_PASSWORD)
NIGHT = datetime(2026, 10, 30, tzinfo=timezone.utc)


class _Refusing(BaseHTTPRequestHandler):
    """A vendor that refuses everything: 401 at the token endpoints, 403 elsewhere, echoing what it got."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        sent = self.rfile.read(length).decode(errors="replace") if length else ""
        echoed = {"error": "invalid_client", "error_description": f"refused {self.path} {sent}"
                  f" {self.headers.get('Authorization', '')}", "message": f"bad token {TOKEN}"}
        status = 401 if "token" in self.path or self.command == "POST" else 403
        body = json.dumps(echoed).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def refusing_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _with_password(url: str, password: str) -> str:
    parsed = urlparse(url)
    parts = url_parts(url)
    return parsed._replace(netloc=f"{parts['user']}:{password}@{parsed.hostname}:{parsed.port or 5432}").geturl()


def test_no_secret_reaches_a_log_an_error_or_a_file(fresh_warehouse, refusing_api, tmp_path, monkeypatch, caplog,
                                                    capfd):
    from baton.build.steps import build, check_and_publish
    from baton.quality.gate import QualityGateFailed
    from baton.sources.runner import run_source

    state = tmp_path / "state"
    monkeypatch.setenv("BATON_STATE_DIR", str(state))
    monkeypatch.setenv("BATON_QUALITY_DATA_DOCS", "0")
    monkeypatch.setenv("BATON_DIGEST_WEBHOOK_URL", HOOK)
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(
        {"conn_type": "http", "host": refusing_api, "password": TOKEN}))
    url = _with_password(fresh_warehouse, DB_PASSWORD)  # trust authentication ignores it; Baton must not show it
    monkeypatch.setenv("WAREHOUSE_URL", url)
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    connections = {
        "salesforce": ConnectionFields(conn_id="salesforce_default", host=refusing_api, login="client-id",
                                       password=CLIENT_SECRET),
        "marketo": ConnectionFields(conn_id="marketo_default", host=refusing_api, login="client-id",
                                    password=PASSWORD),
        "hubspot": get_connection("hubspot_default"),
    }
    for source, connection in connections.items():
        try:
            run_source(source, connection, url, start=NIGHT.replace(month=9), end=NIGHT)
        except Exception as error:  # what the Airflow task would log
            seen.append("".join(traceback.format_exception(error)))
            logging.getLogger("airflow.task").exception("extract %s failed", source)

    for malformed in (f"http://client:{PASSWORD}@api.example.com:notaport/", f"http://client:{PASSWORD}@[bad/",
                      '{"conn_type": "http", "password": "' + PASSWORD + '"'):
        monkeypatch.setenv("AIRFLOW_CONN_MARKETO_DEFAULT", malformed)
        try:
            get_connection("marketo_default")
        except Exception as error:
            seen.append("".join(traceback.format_exception(error)))
            logging.getLogger("airflow.task").exception("connection marketo_default unusable")

    try:
        build(url, as_of=NIGHT)
        check_and_publish(url, as_of=NIGHT)
    except (QualityGateFailed, RuntimeError) as error:
        seen.append("".join(traceback.format_exception(error)))

    assert "refused" in caplog.text.lower() or any("refused" in text.lower() for text in seen)
    out, err = capfd.readouterr()
    written = [path for path in state.rglob("*") if path.is_file()]
    assert written, "the run wrote nothing under the state dir: the test would prove nothing"
    leaks = []
    for path in written:
        text = path.read_bytes().decode(errors="replace")
        leaks += [f"{path.relative_to(state)}: {secret}" for secret in SECRETS if secret in text]
    for name, text in (("log records", caplog.text), ("stdout", out), ("stderr", err),
                       ("exceptions", "\n".join(seen))):
        leaks += [f"{name}: {secret}" for secret in SECRETS if secret in text]
    assert leaks == []
