"""The nightly leak digest reaches a real HTTP receiver on 127.0.0.1 in Slack's incoming-webhook format,
through the Slack provider's hook on the `baton_slack` connection (the failure alerts' connection)."""

from __future__ import annotations

import csv
import logging
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from baton.notify.digest import DigestFailed, post_digest, render_digest
from baton.paths import DBT_PROJECT_DIR
from tests.fixtures.slack import WEBHOOK_PATH_SECRET, logged_lines
from tests.fixtures.warehouse import publish_leak_types

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)


@pytest.fixture
def receiver(slack_receiver, monkeypatch):
    """The local webhook, named by the `baton_slack` connection (type slackwebhook) in the environment."""
    monkeypatch.delenv("BATON_DIGEST_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_BATON_SLACK", slack_receiver.connection)
    return slack_receiver


PEOPLE = [("p1", "Ada", "Lovelace", "ada@acme.test"), ("p2", "Bob", "Stone", "bob@globex.test"),
          ("p3", "Cy", "Young", "cy@initech.test"), ("p4", "Di", "Prince", "di@umbrella.test")]
OWNERS = [("u1", "Sam SDR", "sam@seller.test"), ("u2", "Alex AE", "alex@seller.test")]


LEAK_TYPES = list(csv.DictReader((DBT_PROJECT_DIR / "seeds" / "leak_types.csv").open()))  # marts.dim_leak_types
LABEL = {t["leak_type"]: t["label"] for t in LEAK_TYPES}
RANK = {t["leak_type"]: int(t["rank"]) for t in LEAK_TYPES}


def make_leak_marts(url: str, leaks: list[tuple]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema if not exists marts")
        conn.execute("create table if not exists marts.dim_people"
                     " (person_id text, first_name text, last_name text, email text)")
        conn.execute("create table if not exists marts.dim_owners (owner_id text, name text, email text)")
        conn.execute("create table if not exists marts.fct_funnel_leaks (leak_id text, leak_type text,"
                     " person_id text, handoff_id text, owner_id text, detected_at timestamptz, severity text,"
                     " detail text)")
        publish_leak_types(conn)
        if not conn.execute("select exists (select 1 from marts.dim_people)").fetchone()[0]:
            with conn.cursor() as cursor:
                cursor.executemany("insert into marts.dim_people values (%s, %s, %s, %s)", PEOPLE)
                cursor.executemany("insert into marts.dim_owners values (%s, %s, %s)", OWNERS)
        with conn.cursor() as cursor:
            cursor.executemany("insert into marts.fct_funnel_leaks values (%s, %s, %s, %s, %s, %s, %s, %s)", leaks)


def day(n: float) -> datetime:
    return AS_OF - timedelta(days=n)


TONIGHTS_LEAKS = [
    ("l-stalled", "stalled", "p4", None, "u2", day(3), "low", "no touch or stage change in 30 days"),
    ("l-misrouted", "misrouted", "p3", "h3", "u1", day(2), "medium", "the account belongs to Alex AE"),
    ("l-sla", "slow_response", "p2", "h2", "u1", day(1), "high", "first sales touch after 912 business minutes"),
    ("l-black", "black_hole", "p1", "h1", "u1", day(0.5), "high", "no sales touch in 2400 business minutes"),
    ("l-old", "black_hole", "p3", "h9", "u2", day(40), "high", "no sales touch in 9000 business minutes"),
]


def section_lines(body: dict) -> list[str]:
    return [line for block in body["blocks"] if block["type"] == "section"
            for line in block["text"]["text"].split("\n")]


def test_the_webhook_receives_new_leaks_black_holes_and_sla_breaches_first(fresh_warehouse, receiver):
    make_leak_marts(fresh_warehouse, TONIGHTS_LEAKS)

    result = post_digest(fresh_warehouse, as_of=AS_OF)

    assert result["status"] == "sent" and result["leaks"] == 4
    assert len(receiver.bodies) == 1
    body = receiver.bodies[0]
    assert "4 new funnel leaks" in body["text"]
    lines = section_lines(body)
    assert len(lines) == 4  # the 40-day-old black hole is history, not news
    # In the seed's rank: black holes and SLA breaches first.
    assert RANK["black_hole"] < RANK["slow_response"] < min(r for k, r in RANK.items() if k not in
                                                             ("black_hole", "slow_response"))
    expected = sorted(["black_hole", "slow_response", "misrouted", "stalled"], key=RANK.get)
    assert [line.split("*")[1] for line in lines] == [LABEL[kind] for kind in expected]
    # Each line names the person, the owner and what is overdue.
    line = {kind: lines[expected.index(kind)] for kind in expected}
    assert "Ada Lovelace (ada@acme.test)" in line["black_hole"] and "Sam SDR" in line["black_hole"]
    assert "no sales touch in 2400 business minutes" in line["black_hole"]
    assert "Bob Stone" in line["slow_response"] and "912 business minutes" in line["slow_response"]
    assert "Di Prince" in line["stalled"] and "Alex AE" in line["stalled"]


def test_a_second_digest_sends_only_the_leaks_not_sent_before(fresh_warehouse, receiver):
    make_leak_marts(fresh_warehouse, TONIGHTS_LEAKS)
    post_digest(fresh_warehouse, as_of=AS_OF)
    make_leak_marts(fresh_warehouse, [("l-new", "black_hole", "p2", "h7", "u2", AS_OF + timedelta(hours=20),
                                       "high", "no sales touch in 2410 business minutes")])

    result = post_digest(fresh_warehouse, as_of=AS_OF + timedelta(days=1))

    assert result["leaks"] == 1
    lines = section_lines(receiver.bodies[1])
    assert len(lines) == 1 and "Bob Stone" in lines[0] and "Alex AE" in lines[0]


def test_a_refused_digest_keeps_its_leaks_for_the_next_one(fresh_warehouse, receiver):
    make_leak_marts(fresh_warehouse, TONIGHTS_LEAKS)
    receiver.status = 400
    with pytest.raises(DigestFailed) as failure:
        post_digest(fresh_warehouse, as_of=AS_OF)
    assert WEBHOOK_PATH_SECRET not in str(failure.value)  # the webhook URL's path is the credential
    assert "HTTP 400" in str(failure.value) or "400" in str(failure.value)

    receiver.status = 200
    result = post_digest(fresh_warehouse, as_of=AS_OF)
    assert result["leaks"] == 4
    with psycopg.connect(fresh_warehouse) as conn:
        statuses = [row[0] for row in conn.execute("select status from quality.digest_log order by sent_at")]
    assert statuses == ["failed", "sent"]


def test_the_older_digest_webhook_variable_still_names_the_slack_connection(fresh_warehouse, slack_receiver,
                                                                             monkeypatch):
    """BATON_DIGEST_WEBHOOK_URL, the digest's setting before the baton_slack connection, still works."""
    make_leak_marts(fresh_warehouse, TONIGHTS_LEAKS[:1])
    monkeypatch.delenv("AIRFLOW_CONN_BATON_SLACK", raising=False)
    monkeypatch.setenv("BATON_DIGEST_WEBHOOK_URL", slack_receiver.url)
    assert post_digest(fresh_warehouse, as_of=AS_OF)["status"] == "sent"
    assert len(slack_receiver.bodies) == 1 and slack_receiver.paths[0].endswith(WEBHOOK_PATH_SECRET)


def test_without_a_slack_connection_the_digest_is_logged_and_not_sent(fresh_warehouse, monkeypatch, caplog, capfd):
    """No baton_slack connection: the digest is built and counted as not_configured, one log line says why."""
    monkeypatch.delenv("AIRFLOW_CONN_BATON_SLACK", raising=False)
    monkeypatch.delenv("BATON_DIGEST_WEBHOOK_URL", raising=False)
    make_leak_marts(fresh_warehouse, TONIGHTS_LEAKS)
    caplog.set_level(logging.INFO, logger="baton.notify.digest")

    result = post_digest(fresh_warehouse, as_of=AS_OF)

    assert result == {**result, "status": "not_configured", "leaks": 4}
    said = [line for line in logged_lines(caplog, capfd, "baton.notify.digest") if "not sent" in line]
    assert len(said) == 1 and "baton_slack" in said[0]
    with psycopg.connect(fresh_warehouse) as conn:
        assert conn.execute("select status from quality.digest_log").fetchall() == [("not_configured",)]
        assert conn.execute("select count(*) from quality.digest_sent_leaks").fetchone()[0] == 0


def test_the_digest_links_the_nights_report_when_a_base_url_is_configured(fresh_warehouse, receiver, monkeypatch):
    make_leak_marts(fresh_warehouse, TONIGHTS_LEAKS[:1])
    monkeypatch.setenv("BATON_REPORT_BASE_URL", "https://intranet.example/baton/")
    post_digest(fresh_warehouse, as_of=AS_OF, report_name="report-2026-11-01.html")
    blocks = receiver.bodies[0]["blocks"]
    assert "<https://intranet.example/baton/report-2026-11-01.html|" in str(blocks[-1])

    monkeypatch.delenv("BATON_REPORT_BASE_URL")
    make_leak_marts(fresh_warehouse, [("l-new", "stalled", "p4", None, "u2", day(1), "low", "no touch")])
    post_digest(fresh_warehouse, as_of=AS_OF, report_name="report-2026-11-01.html")
    assert "report-2026-11-01" not in str(receiver.bodies[1])


def test_a_large_digest_stays_within_slacks_block_limits():
    leaks = [{"leak_id": f"l{n}", "leak_type": "black_hole", "person_id": f"p{n}", "person_name": f"Person {n}",
              "person_email": f"p{n}@x.test", "owner_name": "Sam <SDR> & co", "detail": "no sales touch " * 5}
             for n in range(3000)]
    payload = render_digest(leaks, as_of=AS_OF)

    assert len(payload["blocks"]) <= 50
    assert all(len(block["text"]["text"]) <= 3000 for block in payload["blocks"] if block["type"] == "section")
    assert "3000 new funnel leaks" in payload["text"]
    assert payload["blocks"][-1]["elements"][0]["text"].startswith("…and ")
    assert "Sam &lt;SDR&gt; &amp; co" in payload["blocks"][2]["text"]["text"]
