"""End to end: the hourly SLA watch through one business day, checked against the planted truth.

A 300-person sandbox world lived in October 2026 (so a single day holds enough handoffs) is served
by the sandbox; its clock moves hour by hour through Tuesday 2026-10-27, and each hour ending
10:00 to 17:00 UTC (every instant of the 09:00-17:00 business day: nothing can newly breach at
09:00 itself) runs `baton watch --at <hour> --write` (the code the DAG's tasks call), the last one
the `baton_hot_leads` DAG itself in `dag.test()`. The tasks are read back through the sandbox's read
APIs (SOQL on Task, HubSpot's task list with associations) and compared with what the planted truth
(baton_sandbox.truth, computed from the generator's event log) says was overdue at each hour: an
open handoff with no sales touch whose slow_response or black_hole leak exists at that hour and
began in the watch's lookback. Along the way: the first hour's write step runs twice at once and its
third write loses its answer after the CRM applied it, a later hour's first write fails for the
whole run, the hour after is run twice in a row, and a completed call logged on a Baton-marked task
sits on a lead that breaches later.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
import requests

from baton.connections import ConnectionFields, to_uri
from baton_sandbox.faults import FaultPlan
from baton_sandbox.server import SandboxServer
from baton_sandbox.store import WorldStore
from baton_sandbox.truth import compute_truth

pytestmark = pytest.mark.timeout(900)

UTC = timezone.utc
DAY = datetime(2026, 10, 27, tzinfo=UTC)            # a Tuesday
FIRST_HOUR = 10                                     # extract and build, then two write steps at once
CLI_HOURS = range(11, 17)                           # 11:00 ... 16:00 through `baton watch`
DAG_HOUR = 17                                       # 17:00 through the DAG
VIEW_DROPPED_HOUR = 12                              # a staging view of the watch's is dropped before it
LOOKBACK = timedelta(hours=96)                      # BATON_WATCH_LOOKBACK_HOURS' default
PREFIX = "[Baton]"
KEY = re.compile(r"Baton key: (slow_response|black_hole):([0-9a-f]+)")
SF_AUTH = {"client_id": "watch-e2e-client", "client_secret": "watch-e2e-secret"}
HS_AUTH = {"Authorization": "Bearer watch-e2e-token"}


def _instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def planted_expectations(world) -> dict:
    """From the planted truth alone: for each (breach type, CRM record) the first watched hour it is
    overdue (an open handoff with no sales touch, its leak present then and begun in the lookback),
    whether a user can own a task there, and the handoffs touched before their SLA ran out."""
    store = WorldStore(world, readonly=True)
    try:
        deactivated = {f"{d['system']}:{d['id']}": _instant(at) for at, _, d in store.events(["user_deactivated"])}
        first: dict[tuple[str, str], dict] = {}
        for hour in (FIRST_HOUR, *CLI_HOURS, DAG_HOUR):
            at = DAY.replace(hour=hour)
            truth = compute_truth(store, at)
            handoffs = {row["handoff_id"]: row for row in truth["handoffs"]}
            touches = defaultdict(list)
            for touch in truth["touchpoints"]:
                touches[touch["person_id"]].append(_instant(touch["touched_at"]))
            for leak in truth["leaks"]:
                handoff = handoffs.get(leak["handoff_id"])
                if leak["leak_type"] not in ("slow_response", "black_hole") or handoff["first_sales_touch_at"] \
                        or handoff["outcome"] not in ("open", "accepted") or _instant(leak["detected_at"]) <= at - LOOKBACK:
                    continue
                key = (leak["leak_type"], handoff["crm_record_id"])
                if key in first:
                    continue
                gone = deactivated.get(f"{handoff['crm_system']}:{handoff['owner_id']}")
                first[key] = {"at": at, "system": handoff["crm_system"], "owner": handoff["owner_id"],
                              "owner_role": handoff["owner_role"], "person": handoff["person_id"],
                              "usable": handoff["owner_id"] is not None and handoff["owner_role"] != "queue"
                              and (gone is None or gone > at),
                              "last_touch": max((t for t in touches[handoff["person_id"]] if t <= at), default=None)}
        end = compute_truth(store, DAY.replace(hour=DAG_HOUR))
        emails = {row["person_id"]: row["email"] for row in end["people"]}
        from baton_sandbox.truth.core import BusinessCalendar

        calendar = BusinessCalendar()
        in_time = [row for row in end["handoffs"] if row["first_sales_touch_at"] and row["crm_record_id"]
                   and DAY.replace(hour=9) <= calendar.add_minutes(_instant(row["handed_off_at"]), 480)
                   <= DAY.replace(hour=DAG_HOUR)
                   and _instant(row["first_sales_touch_at"]) <= calendar.add_minutes(_instant(row["handed_off_at"]), 480)]
    finally:
        store.close()
    assert len({record for _, record in first}) == len({key[1] for key in first}), "a record would carry two handoffs"
    return {"first": first, "emails": emails, "touched_in_time": in_time}


def _sf_token(server) -> dict:
    answer = requests.post(server.url + "/services/oauth2/token", data={"grant_type": "client_credentials", **SF_AUTH})
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def crm_tasks(server) -> list[dict]:
    """Every Baton-marked task in both CRMs, through the sandbox's read APIs."""
    tasks = []
    answer = requests.get(server.url + "/services/data/v60.0/queryAll", headers=_sf_token(server), params={
        "q": f"SELECT Id, WhoId, OwnerId, Subject, Description, CreatedDate, TaskSubtype FROM Task"
             f" WHERE Subject LIKE '{PREFIX}%'"})
    assert answer.status_code == 200, answer.text
    for row in answer.json()["records"]:
        tasks.append({"system": "salesforce", "id": row["Id"], "record": row["WhoId"], "owner": row["OwnerId"],
                      "subject": row["Subject"], "body": row["Description"] or "",
                      "created": datetime.strptime(row["CreatedDate"], "%Y-%m-%dT%H:%M:%S.%f%z")})
    after = None
    while True:
        page = requests.get(server.url + "/crm/v3/objects/tasks", headers=HS_AUTH, params={
            "limit": 100, "associations": "contacts", **({"after": after} if after else {}),
            "properties": "hs_task_subject,hs_task_body,hubspot_owner_id,hs_createdate"}).json()
        for row in page["results"]:
            properties = row["properties"]
            if not (properties.get("hs_task_subject") or "").startswith(PREFIX):
                continue
            contacts = [link["id"] for link in row.get("associations", {}).get("contacts", {}).get("results", [])]
            tasks.append({"system": "hubspot", "id": row["id"], "record": contacts[0] if len(contacts) == 1 else contacts,
                          "owner": properties["hubspot_owner_id"], "subject": properties["hs_task_subject"],
                          "body": properties.get("hs_task_body") or "", "created": _instant(row["createdAt"])})
        after = page.get("paging", {}).get("next", {}).get("after")
        if not after:
            return tasks


WHOLE_OUTPUT: list[str] = []  # everything the runs printed or logged, for the credentials check


class _Kept(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        WHOLE_OUTPUT.append(record.getMessage())


def _watch(hour_end: datetime) -> tuple[int, str]:
    from baton.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["watch", "--at", hour_end.strftime("%Y-%m-%dT%H:%M:%SZ"), "--write"])
    WHOLE_OUTPUT.extend((out.getvalue(), err.getvalue()))
    return code, "\n".join(line for line in out.getvalue().splitlines()
                           if line.startswith(("created", "found", "FAILED", "skipped", "GAVE UP", "watch ")))


def _overlapping(url: str, hour_end: datetime) -> tuple[list[dict], str]:
    """One hour extracted and built (the first: the whole history), then its write step twice at once,
    as a manual `baton watch` beside the scheduled DAG run's write task."""
    from baton.sources.registry import source_names
    from baton.watch.hour import build_models, extract, write_back

    for source in source_names():
        extract(source, hour_end, warehouse_url=url)
    build_models(url, hour_end)
    lines: list[str] = []
    counts: list[dict] = []

    def one():
        counts.append(write_back(url, hour_end, mode="on", out=lines.append))

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts, "\n".join(lines)


def _run_dag_hour(hour_end: datetime):
    """baton_hot_leads parsed from its file and run in-process for the hour ending at `hour_end`."""
    from airflow.dag_processing.dagbag import DagBag

    from baton.airflow.environment import airflow_env
    from baton.paths import DAGS_DIR
    from baton.run import ensure_airflow_db

    ensure_airflow_db(airflow_env())
    bag = DagBag(dag_folder=str(DAGS_DIR / "baton_hot_leads.py"))
    assert bag.import_errors == {}
    dag = bag.dags["baton_hot_leads"]
    # A manual run covers the latest whole interval before its logical date: the hour ending there.
    return dag, dag.test(logical_date=hour_end)


@pytest.fixture(scope="module")
def day(sandbox_world_factory, server_url):
    from tests.fixtures.warehouse import _create_database, _drop_database

    world = sandbox_world_factory(people=300, seed=7, world_start="2026-10-01T00:00:00Z")
    planted = planted_expectations(world)
    usable = {key: want for key, want in planted["first"].items() if want["usable"]}
    first_hour = DAY.replace(hour=FIRST_HOUR)
    assert sum(want["at"] == first_hour for want in usable.values()) >= 3
    failing_hour = min(want["at"] for want in usable.values() if want["at"].hour > FIRST_HOUR)
    assert failing_hour.hour + 1 in CLI_HOURS
    # A later breach on a Salesforce lead owned by a rep: a completed call logged on a Baton-marked task
    # there in the morning must not count as its sales touch.
    decoy = next(key for key, want in sorted(usable.items(), key=lambda item: item[1]["at"])
                 if want["system"] == "salesforce" and want["at"].hour >= 11 and want["owner_role"] in ("sdr", "ae"))
    name, url = _create_database(server_url, "baton_watch_e2e")
    results = {"planted": planted, "failing_hour": failing_hour, "decoy": decoy, "url": url, "outputs": {},
               "codes": {}, "seconds": {}}
    kept = _Kept(level=logging.INFO)
    for name in ("baton", "baton_sandbox"):
        logging.getLogger(name).addHandler(kept)
    with SandboxServer(world) as server, pytest.MonkeyPatch.context() as env:
        env.setenv("WAREHOUSE_URL", url)
        env.setenv("BATON_START_DATE", "2024-01-01")
        env.setenv("BATON_HTTP_BACKOFF_BASE", "0.01")
        env.setenv("BATON_WATCH_WRITE_ATTEMPTS", "2")
        for source in ("salesforce", "marketo", "hubspot"):
            env.setenv(f"AIRFLOW_CONN_{source.upper()}_DEFAULT", to_uri(ConnectionFields(
                f"{source}_default", "http", server.url, SF_AUTH["client_id"], "watch-e2e-token"
                if source == "hubspot" else SF_AUTH["client_secret"])))
        server.set_clock(DAY.replace(hour=9))
        logged = requests.post(server.url + "/services/data/v60.0/sobjects/Task", headers=_sf_token(server), json={
            "WhoId": decoy[1], "OwnerId": usable[decoy]["owner"], "Subject": f"{PREFIX} called back",
            "TaskSubtype": "Call", "Status": "Completed"})
        assert logged.status_code == 201, logged.text
        server.set_clock(first_hour)
        server.faults = FaultPlan(write_schedule={3: "lost_response"})
        started = time.monotonic()
        results["overlap"], results["outputs"][FIRST_HOUR] = _overlapping(url, first_hour)
        results["codes"][FIRST_HOUR] = 0 if len(results["overlap"]) == 2 else 1
        results["seconds"][FIRST_HOUR] = round(time.monotonic() - started, 1)
        for hour in CLI_HOURS:
            at = DAY.replace(hour=hour)
            server.set_clock(at)
            if hour == VIEW_DROPPED_HOUR:  # a view gone behind the watch's back: the hour rebuilds it
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute("drop view staging_watch.stg_salesforce__tasks cascade")
            server.faults = FaultPlan(write_schedule={1: "server_error", 2: "server_error"} if at == failing_hour else {})
            started = time.monotonic()
            results["codes"][hour], results["outputs"][hour] = _watch(at)
            results["seconds"][hour] = round(time.monotonic() - started, 1)
            if hour == failing_hour.hour + 1:
                created = server.stats()["records_created"]
                started = time.monotonic()
                results["codes"]["rerun"], results["outputs"]["rerun"] = _watch(at)
                results["seconds"]["rerun"] = round(time.monotonic() - started, 1)
                results["rerun_created"] = server.stats()["records_created"] - created
        results["lost_responses"] = server.stats()["faults"]
        at = DAY.replace(hour=DAG_HOUR)
        server.set_clock(at)
        server.faults = None
        env.setenv("AIRFLOW_VAR_BATON_WRITE_BACK", "on")
        started = time.monotonic()
        results["dag"], results["dag_run"] = _run_dag_hour(at)
        results["seconds"]["dag"] = round(time.monotonic() - started, 1)
        results["tasks"] = crm_tasks(server)
    for name in ("baton", "baton_sandbox"):
        logging.getLogger(name).removeHandler(kept)
    with psycopg.connect(url) as conn:
        results["view_back"] = conn.execute("select to_regclass('staging_watch.stg_salesforce__tasks') is not null"
                                            ).fetchone()[0]
        results["ledger"] = conn.execute("select handoff_id, breach_type, state, crm_task_id, attempts"
                                         " from baton_meta.watch_tasks").fetchall()
        results["ledger_text"] = " ".join(str(row) for table in ("watch_tasks", "watch_runs")
                                          for row in conn.execute(f"select * from baton_meta.{table}"))
        results["runs"] = conn.execute("select as_of, mode, finished_at is not null from baton_meta.watch_runs"
                                       " order by started_at").fetchall()
        results["raw_tasks"] = {row[0] for row in conn.execute("select id from raw_salesforce.task")}
        results["touch_sources"] = {row[0] for row in conn.execute(
            "select source_id from intermediate_watch.int_sales_activities_unioned")}
    print(f"\nhot leads e2e: seconds per hour {results['seconds']}")
    yield results
    _drop_database(server_url, name)


def _by_key(tasks: list[dict]) -> dict[tuple[str, str], list[dict]]:
    found = defaultdict(list)
    for task in tasks:
        match = KEY.search(task["body"])
        if match:
            found[(match.group(1), task["record"])].append(task)
    return found


def test_each_overdue_handoff_gets_one_task_for_its_owner_in_the_hour_it_breached(day):
    """Every (breach, CRM record) the truth says became overdue with a user to own it has exactly one
    task, in its own CRM, owned by the owner at handoff, created in the first watched hour the breach
    showed (the hour after for the write that failed a whole run); no other Baton task exists."""
    first = day["planted"]["first"]
    failed = {(m.group(1), m.group(3)) for m in re.finditer(
        r"FAILED\s+(slow_response|black_hole) of handoff \S+ on (\w+) \S+ (\S+)", day["outputs"][day["failing_hour"].hour])}
    assert len(failed) == 1, day["outputs"][day["failing_hour"].hour]
    by_key = _by_key(day["tasks"])
    expected = {key: want for key, want in first.items() if want["usable"]}
    assert len(expected) >= 10 and {want["system"] for want in expected.values()} == {"salesforce", "hubspot"}
    assert set(by_key) == set(expected)
    for key, want in expected.items():
        tasks = by_key[key]
        assert len(tasks) == 1, (key, tasks)
        task = tasks[0]
        assert (task["system"], task["owner"]) == (want["system"], want["owner"]), key
        assert task["created"] == want["at"] + (timedelta(hours=1) if key in failed else timedelta()), key
    unmarked = [task for task in day["tasks"] if not KEY.search(task["body"])]
    assert [task["subject"] for task in unmarked] == [f"{PREFIX} called back"]  # the decoy, logged by hand


def test_a_task_carries_the_context_the_rep_lacks(day):
    """Each task's body names the person's email, how they found the company, their last marketing
    touch (the truth's latest before the hour), the account, and the record's missing context."""
    first = day["planted"]["first"]
    for (breach, record), tasks in _by_key(day["tasks"]).items():
        want, body = first[(breach, record)], tasks[0]["body"]
        assert day["planted"]["emails"][want["person"]] in body.lower(), body
        assert "How they found us:" in body and "Account:" in body, body
        if want["last_touch"] is None:
            assert "Last marketing touches: none recorded" in body, body
        else:
            assert f"{want['last_touch']:%Y-%m-%d %H:%M} UTC" in body, body
        assert tasks[0]["subject"].startswith(f"{PREFIX} "), tasks[0]["subject"]


def test_no_task_for_a_handoff_without_a_user_to_own_it_and_it_is_recorded_as_skipped(day):
    """Breaches owned by a queue, by nobody or by an inactive user get no task; the ledger says skipped."""
    skipped = {key for key, want in day["planted"]["first"].items() if not want["usable"]}
    assert skipped, "the day has no breach without a usable owner: pick another day"
    assert not skipped & set(_by_key(day["tasks"]))
    states = [row[2] for row in day["ledger"]]
    assert states.count("skipped") == len(skipped)


def test_a_handoff_touched_before_its_sla_gets_no_task(day):
    """Handoffs whose SLA ran out during the day but that were touched in time have no task."""
    in_time = day["planted"]["touched_in_time"]
    assert in_time, "no handoff was touched in time during the day"
    records = {record for _, record in _by_key(day["tasks"])}
    assert not {row["crm_record_id"] for row in in_time} & records


def test_a_lost_answer_a_failed_run_a_rerun_and_overlapping_runs_make_no_duplicate(day):
    """The applied write whose answer was lost is found by its key (no second POST); the write that failed
    a whole run is recorded, retried the next hour and written once (2 attempts); the rerun of an hour
    creates nothing; two runs of one hour at once both finish and write each task once between them;
    every other hour exits 0."""
    assert day["lost_responses"].get("lost_response") == 1
    assert "found " in day["outputs"][FIRST_HOUR]
    assert day["codes"][day["failing_hour"].hour] == 1
    assert "(recorded; retried next hour)" in day["outputs"][day["failing_hour"].hour]
    assert sorted(row[4] for row in day["ledger"] if row[4] > 1) == [2]
    assert day["rerun_created"] == 0 and "created" not in day["outputs"]["rerun"]
    assert {hour: code for hour, code in day["codes"].items() if code} == {day["failing_hour"].hour: 1}
    both = day["overlap"]
    assert len(both) == 2 and sum(run["written"] + run["found"] for run in both) == sum(
        1 for want in day["planted"]["first"].values() if want["usable"] and want["at"].hour == FIRST_HOUR)
    settled = re.findall(r"^(?:created|found)\s+\w+ task \S+: (\S+) of handoff (\S+)", day["outputs"][FIRST_HOUR], re.M)
    assert len(settled) == len(set(settled)) >= 3
    written = [row for row in day["ledger"] if row[2] == "written"]
    assert len({row[3] for row in written}) == len(written) == len(_by_key(day["tasks"]))


def test_an_hour_rebuilds_what_it_finds_missing(day):
    """Hours after the first rebuild tables only (views and seeds depend on the project alone); with a
    view dropped behind its back, the hour falls back to a whole build and succeeds."""
    logged = "\n".join(WHOLE_OUTPUT)
    assert logged.count("tables-only build failed") == 1
    assert day["codes"][VIEW_DROPPED_HOUR] == 0 and day["view_back"]


def test_baton_tasks_land_in_raw_but_are_never_a_sales_touch(day):
    """The created Salesforce tasks come back through the next hour's extract, and none (not even a
    completed call logged on one) is a sales activity; the lead with that call still got its task."""
    salesforce = {task["id"] for task in day["tasks"] if task["system"] == "salesforce"}
    assert salesforce and salesforce <= day["raw_tasks"] | {t["id"] for t in day["tasks"]
                                                         if t["created"].hour == DAG_HOUR}
    assert not salesforce & day["touch_sources"]
    assert day["decoy"] in _by_key(day["tasks"])


def test_no_credential_reaches_the_output_or_the_ledger(day):
    """The client secret and the private-app token appear in no line a run printed or logged (failed
    writes included) and in no row of baton_meta.watch_tasks or watch_runs."""
    text = "\n".join([*WHOLE_OUTPUT, *(str(v) for v in day["outputs"].values()), day["ledger_text"]])
    assert "FAILED" in text  # the failed write's error is in there
    for secret in (SF_AUTH["client_secret"], "watch-e2e-token"):
        assert secret not in text


def test_the_dag_parses_and_runs_one_hour_in_process(day):
    """baton_hot_leads: hourly data-interval timetable, extract per source → build → write, and its
    in-process run for the hour ending 17:00 succeeds with write-back on (the Airflow Variable)."""
    dag, run = day["dag"], day["dag_run"]
    assert type(dag.timetable).__name__ == "CronDataIntervalTimetable" and dag.timetable._expression == "0 * * * *"
    assert dag.get_task("build").upstream_task_ids == {"extract_salesforce", "extract_marketo", "extract_hubspot"}
    assert dag.get_task("write").upstream_task_ids == {"build"}
    assert run.state == "success", run
    assert run.data_interval_end == DAY.replace(hour=DAG_HOUR)
    assert (DAY.replace(hour=DAG_HOUR), "on", True) in day["runs"]
