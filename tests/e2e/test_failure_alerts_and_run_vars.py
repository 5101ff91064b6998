"""Failure alerts and a run's own dbt vars, through `baton run` as a user drives it.

The night: a small hand-made Salesforce org in the raw tables (four leads handed off on Monday
2026-06-01 10:00 UTC, each first called after a known number of business minutes), a load log
planted unbalanced (the gate's bookkeeping check, a correctness check, fails on it), the Slack
connection `baton_slack` pointing at a local receiver, and
`baton run --date 2026-07-01 --vars '{"sla_business_minutes": 960}'`. dbt builds the shadow
schemas with the var, the gate fails, nothing is published, and exactly one alert goes out.
A second night has Marketo's API at a closed port: its extract fails twice (a retry, then for
good) and alerts once. No source but that one is configured.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pytest

from tests.fixtures.slack import WEBHOOK_PATH_SECRET, logged_lines
from tests.fixtures.warehouse import unbalance_a_load

pytestmark = pytest.mark.timeout(600)

BATON = str(Path(sys.executable).with_name("baton"))
RUN_DATE = "2026-07-01"  # as of Wednesday 2026-07-01 00:00 UTC
AS_OF = "2026-07-01T00:00:00Z"
RUN_SLA = 960  # business minutes: two business days (the contract's default is 480)
DB_PASSWORD = "warehouse-pw-5521"  # trust authentication ignores it; no alert may show it
BASE_URL = "http://airflow.example:8080"
SDR, ROLE = "005000000000001AAA", "00E000000000001AAA"
HANDED_OFF = "2026-06-01T10:00"
# Each lead's first call after its handoff, and the business minutes between (09:00-17:00 UTC, Mon-Fri).
FIRST_CALLS = {"within_an_hour": ("2026-06-01T11:00", 60), "next_morning": ("2026-06-02T10:01", 481),
               "next_afternoon": ("2026-06-02T15:00", 780), "two_days_later": ("2026-06-03T10:30", 990)}


def sf_time(text: str) -> str:
    return f"{text}:00.000+0000"


def write_org(url: str) -> dict[str, str]:
    """The raw Salesforce records of the org, as the loader lands them; returns lead id by case."""
    from baton.build.dbt import ensure_raw_tables

    long_ago = sf_time("2025-01-06T09:00")
    rows = [("user_role", ROLE, {"Id": ROLE, "Name": "Sales Development Rep", "ParentRoleId": None,
                                 "LastModifiedDate": long_ago, "SystemModstamp": long_ago}),
            ("user", SDR, {"Id": SDR, "Name": "Sam Sdr", "FirstName": "Sam", "LastName": "Sdr",
                           "Email": "sam@seller.example", "IsActive": True, "UserRoleId": ROLE,
                           "CreatedDate": long_ago, "LastModifiedDate": long_ago, "SystemModstamp": long_ago})]
    leads = {}
    for n, (case, (called_at, _)) in enumerate(FIRST_CALLS.items(), start=1):
        lead_id, task_id = f"00Q{n:012d}AAA", f"00T{n:012d}AAA"
        leads[case] = lead_id
        rows.append(("lead", lead_id, {
            "Id": lead_id, "FirstName": "Case", "LastName": case, "Email": f"{case}@buyer{n}.example",
            "Title": "VP Revenue", "Company": f"Buyer {n}", "Industry": "Software", "NumberOfEmployees": 250,
            "Country": "Germany", "LeadSource": "Website", "Status": "Open - Not Contacted", "OwnerId": SDR,
            "IsConverted": False, "Marketing_Touch_Count__c": 3, "Last_Marketing_Touch_At__c": sf_time("2026-05-20T10:00"),
            "CreatedDate": sf_time(HANDED_OFF), "LastModifiedDate": sf_time(HANDED_OFF),
            "SystemModstamp": sf_time(HANDED_OFF), "IsDeleted": False}))
        rows.append(("task", task_id, {
            "Id": task_id, "WhoId": lead_id, "WhatId": None, "OwnerId": SDR, "Subject": "Call", "TaskSubtype": "Call",
            "Status": "Completed", "ActivityDate": called_at[:10], "CompletedDateTime": sf_time(called_at),
            "CreatedDate": sf_time(called_at), "LastModifiedDate": sf_time(called_at),
            "SystemModstamp": sf_time(called_at), "IsDeleted": False}))
    ensure_raw_tables(url)
    with psycopg.connect(url) as conn:
        for table, record_id, data in rows:
            conn.execute(f'insert into raw_salesforce."{table}" (id, data, is_deleted, _loaded_at, _load_id)'
                         " values (%s, %s, false, %s, 'hand-made')",
                         (record_id, json.dumps(data), datetime(2026, 6, 30, tzinfo=timezone.utc)))
    return leads


def with_password(url: str, password: str) -> str:
    parsed = urlparse(url)
    return parsed._replace(netloc=f"{parsed.username or 'postgres'}:{password}@{parsed.hostname}:{parsed.port or 5432}"
                           ).geturl()


def baton_env(state_dir: Path, warehouse_url: str, receiver) -> dict[str, str]:
    """A user's environment: no Airflow of their own, no source connection, the Slack connection, this warehouse."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("AIRFLOW", "BATON_")) and key != "WAREHOUSE_URL"}
    env.update({"BATON_STATE_DIR": str(state_dir), "WAREHOUSE_URL": with_password(warehouse_url, DB_PASSWORD),
                "BATON_QUALITY_DATA_DOCS": "0", "AIRFLOW_CONN_BATON_SLACK": receiver.connection,
                "AIRFLOW__API__BASE_URL": BASE_URL})
    return env


def run_ids(state_dir: Path) -> list[str]:
    with sqlite3.connect(state_dir / "airflow" / "airflow.db") as conn:
        return [row[0] for row in conn.execute("select run_id from dag_run where dag_id = 'baton_nightly'")]


def breached(url: str, schema: str, leads: dict[str, str]) -> dict[str, bool]:
    """is_sla_breached of each case's handoff in `schema`'s fct_handoffs."""
    case_of = {lead_id: case for case, lead_id in leads.items()}
    with psycopg.connect(url) as conn:
        rows = conn.execute(f"""
            select i.source_id, h.is_sla_breached, h.response_business_minutes
            from {schema}.fct_handoffs h join {schema}.dim_people_identities i using (person_id)
            where i.source_object = 'Lead'""").fetchall()
    assert {case_of[lead]: minutes for lead, _, minutes in rows} == {case: m for case, (_, m) in FIRST_CALLS.items()}
    return {case_of[lead]: flag for lead, flag, _ in rows}


@pytest.fixture(scope="module")
def failed_gate_night(tmp_path_factory, server_url, airflow_home_factory):
    """The night above, once for the module: its warehouse, state folder, output and the alerts received."""
    from tests.fixtures.slack import SlackReceiver
    from tests.fixtures.warehouse import _create_database, _drop_database

    name, url = _create_database(server_url, "baton_alerts")
    receiver = SlackReceiver()
    state_dir = tmp_path_factory.mktemp("alerts_state")
    airflow_home_factory(state_dir / "airflow")
    try:
        leads = write_org(url)
        unbalance_a_load(url)
        run = subprocess.run([BATON, "run", "--date", RUN_DATE, "--vars", json.dumps({"sla_business_minutes": RUN_SLA})],
                             env=baton_env(state_dir, url, receiver), capture_output=True, text=True, timeout=500)
        yield {"url": url, "leads": leads, "run": run, "alerts": list(receiver.bodies), "paths": list(receiver.paths),
               "state_dir": state_dir}
    finally:
        receiver.close()
        _drop_database(server_url, name)


def test_a_failing_gate_sends_exactly_one_alert_naming_dag_task_run_and_error(failed_gate_night):
    run = failed_gate_night["run"]
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-2000:]
    assert "failed tasks: check_and_publish" in run.stdout, run.stdout[-3000:]

    alerts = failed_gate_night["alerts"]
    assert len(alerts) == 1, alerts  # not one per task downstream, and no digest: nothing was published
    alert = json.dumps(alerts[0])
    [run_id] = run_ids(failed_gate_night["state_dir"])
    assert "baton_nightly" in alerts[0]["text"] and "check_and_publish" in alerts[0]["text"]
    assert run_id in alerts[0]["text"]
    # The error's first line names the failed correctness check.
    assert "extracted_equals_loaded_rejected_duplicates_unchanged" in alerts[0]["text"]
    assert f"{BASE_URL}/dags/baton_nightly/runs/" in alert and "/tasks/check_and_publish" in alert
    assert DB_PASSWORD not in alert and WEBHOOK_PATH_SECRET not in alert
    assert failed_gate_night["paths"] == [f"/services/T000/B000/{WEBHOOK_PATH_SECRET}"]


def test_vars_given_to_baton_run_change_the_sla_outcome_of_the_same_raw_data(failed_gate_night, tmp_path, monkeypatch):
    """`baton run --vars` reaches the run's dbt build: with an SLA of 960 business minutes only the
    response after 990 minutes breaches it, where the contract's default of 480 (built here from the
    same raw records with no var) also counts the responses after 481 and 780 minutes."""
    from baton.build.dbt import dbt

    url, leads = failed_gate_night["url"], failed_gate_night["leads"]
    assert failed_gate_night["run"].returncode == 1  # the gate failed: the run's build is in the shadow schemas
    with_var = breached(url, "marts_shadow", leads)

    monkeypatch.setenv("BATON_STATE_DIR", str(tmp_path))
    default = dbt(["build", "--select", "+fct_handoffs", "+dim_people_identities", "--exclude", "test_type:data",
                   "test_type:unit"], url, vars={"as_of": AS_OF}, target_name="default_sla")
    assert default.success, default.exception
    by_default = breached(url, "marts", leads)

    assert by_default == {case: minutes > 480 for case, (_, minutes) in FIRST_CALLS.items()}
    assert with_var == {case: minutes > RUN_SLA for case, (_, minutes) in FIRST_CALLS.items()}
    assert sum(with_var.values()) < sum(by_default.values())


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_failed_extract_alerts_once_after_its_retry(fresh_warehouse, slack_receiver, tmp_path, airflow_home_factory):
    """baton run retries a failed task once: the retry sends nothing, the failure for good sends one alert."""
    airflow_home_factory(tmp_path / "airflow")
    env = baton_env(tmp_path, fresh_warehouse, slack_receiver)
    env["AIRFLOW_CONN_MARKETO_DEFAULT"] = json.dumps({"conn_type": "http", "host": f"http://127.0.0.1:{closed_port()}",
                                                      "login": "client-id", "password": "marketo-secret-3141"})
    env.update({"BATON_HTTP_BACKOFF_BASE": "0.01", "BATON_TASK_RETRIES": "1", "BATON_TASK_RETRY_DELAY_SECONDS": "1"})

    run = subprocess.run([BATON, "run", "--date", RUN_DATE], env=env, capture_output=True, text=True, timeout=300)

    assert run.returncode == 1 and "failed tasks: extract_marketo" in run.stdout, run.stdout[-3000:]
    assert "↻ extract_marketo" in run.stdout  # it was retried
    assert len(slack_receiver.bodies) == 1, slack_receiver.bodies
    alert = slack_receiver.bodies[0]
    assert "baton_nightly.extract_marketo failed" in alert["text"] and "try 2" in json.dumps(alert)
    assert "marketo" in alert["text"].split(": ", 2)[-1].lower()  # the error's first line names the source
    assert "marketo-secret-3141" not in json.dumps(alert)


def test_without_a_slack_connection_a_failure_logs_one_line_and_sends_nothing(slack_receiver, monkeypatch, caplog,
                                                                              capfd):
    from baton.notify.alerts import alert_task_failed

    monkeypatch.delenv("AIRFLOW_CONN_BATON_SLACK", raising=False)
    monkeypatch.delenv("BATON_DIGEST_WEBHOOK_URL", raising=False)
    caplog.set_level(logging.INFO, logger="baton.notify.alerts")

    assert alert_task_failed({"ti": None, "exception": RuntimeError("boom")}) == "not_configured"

    said = logged_lines(caplog, capfd, "baton.notify.alerts")
    assert len(said) == 1 and "no Slack connection 'baton_slack' configured" in said[0]
    assert slack_receiver.bodies == []


def test_an_alert_slack_refuses_is_logged_by_host_and_never_raises(slack_receiver, monkeypatch, caplog, capfd):
    """The callback runs after the task failed: a refused alert must not add an error of its own."""
    from types import SimpleNamespace

    from baton.notify.alerts import alert_task_failed

    monkeypatch.setenv("AIRFLOW_CONN_BATON_SLACK", slack_receiver.connection)
    slack_receiver.status = 404
    caplog.set_level(logging.INFO, logger="baton.notify.alerts")
    ti = SimpleNamespace(dag_id="baton_transform", task_id="dbt_build", map_index=-1, run_id="manual__1", try_number=4)
    error = RuntimeError(f"could not connect to postgresql://baton:{DB_PASSWORD}@db:5432/baton\nsecond line")

    assert alert_task_failed({"ti": ti, "exception": error}) == "failed"

    assert len(slack_receiver.bodies) == 1  # tried once: a 404 is not retried
    sent = slack_receiver.bodies[0]["text"]
    assert "baton_transform.dbt_build failed in run manual__1: RuntimeError: could not connect" in sent
    assert DB_PASSWORD not in sent and "second line" not in sent
    logged = " ".join(logged_lines(caplog, capfd, "baton.notify.alerts"))
    assert "refused" in logged and "127.0.0.1" in logged and WEBHOOK_PATH_SECRET not in logged
