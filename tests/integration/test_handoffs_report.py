"""`baton report` (baton.notify.report.print_report) on hand-made marts in a real PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import psycopg

from baton.notify.report import print_report
from tests.fixtures.warehouse import publish_leak_types

T0 = datetime(2026, 6, 1, 10, tzinfo=timezone.utc)


def make_marts(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("create schema marts")
        conn.execute("""create table marts.fct_handoffs (handoff_id text, handed_off_at timestamptz,
                        first_sales_touch_at timestamptz, response_business_minutes integer, is_sla_breached boolean)""")
        conn.execute("""create table marts.fct_funnel_leaks (leak_id text, leak_type text, person_id text,
                        handoff_id text, owner_id text, owner_name text, owner_team text, account_id text,
                        handed_off_at timestamptz, detected_at timestamptz, severity text, detail text)""")
        conn.execute("""create table marts.fct_opportunities (opportunity_id text, account_id text, amount numeric,
                        is_closed boolean)""")
        for number in range(4):
            touched = T0 + timedelta(hours=number) if number < 2 else None
            conn.execute("insert into marts.fct_handoffs values (%s, %s, %s, %s, %s)",
                         (f"h{number}", T0, touched, 60 * number if touched else None, number >= 1))
        leaks = [
            ("l1", "black_hole", "h2", "Sam Sdr", "SDR", "a1", T0 + timedelta(days=7), "high",
             "Lead Ada Lovelace handed to Sam Sdr on 2026-06-01 10:00 UTC: no sales touch in 7 business days."),
            ("l2", "misrouted", "h3", None, None, None, T0, "high", "Lead Alan Turing handed off with no owner."),
            ("l3", "context_stripped", "h1", "Sam Sdr", "SDR", "a1", T0 + timedelta(days=30), "low",
             "Lead Grace Hopper lacks title on its salesforce record."),
        ]
        for leak_id, leak_type, handoff, owner, team, account, detected, severity, detail in leaks:
            conn.execute("insert into marts.fct_funnel_leaks values (%s, %s, 'p', %s, 'o', %s, %s, %s, %s, %s, %s, %s)",
                         (leak_id, leak_type, handoff, owner, team, account, T0, detected, severity, detail))
        conn.execute("insert into marts.fct_opportunities values ('o1', 'a1', 12000, false), ('o2', 'a1', 5000, true)")
        publish_leak_types(conn)


def report_lines(url: str, **options) -> list[str]:
    lines: list[str] = []
    assert print_report(url, echo=lines.append, **options)
    return lines


def test_report_counts_each_leak_type_against_the_handoffs(fresh_warehouse):
    make_marts(fresh_warehouse)
    text = "\n".join(report_lines(fresh_warehouse))
    assert "Handoffs: 4" in text and "50% touched by sales" in text
    black_hole = next(line for line in text.splitlines() if line.startswith("black_hole"))
    assert black_hole.split()[1:4] == ["1", "25%", "1"]
    assert "$12,000" in black_hole, "open pipeline of the leaking account; the closed deal is not at risk"
    assert next(line for line in text.splitlines() if line.startswith("stalled")).split()[1] == "0"
    assert next(line for line in text.splitlines() if line.startswith("all leaks")).split()[2] == "3"


def test_report_lists_the_most_severe_and_latest_leaks_first_with_their_detail(fresh_warehouse):
    make_marts(fresh_warehouse)
    lines = report_lines(fresh_warehouse, top=2)
    listed = [line for line in lines if line.lstrip()[:2] in ("1.", "2.", "3.")]
    assert len(listed) == 2
    assert "black_hole" in listed[0] and "misrouted" in listed[1] and "(no owner)" in listed[1]
    assert any("no sales touch in 7 business days" in line for line in lines)


def test_report_filters_by_leak_type_and_owner(fresh_warehouse):
    make_marts(fresh_warehouse)
    lines = report_lines(fresh_warehouse, leak_type="context_stripped", owner="sam")
    listed = [line for line in lines if line.lstrip().startswith("1.")]
    assert len(listed) == 1 and "context_stripped" in listed[0]
    assert not any(line.lstrip().startswith("2.") for line in lines)


def test_report_says_so_when_there_are_no_marts_yet(fresh_warehouse):
    lines: list[str] = []
    assert print_report(fresh_warehouse, echo=lines.append) is False
    assert "no funnel marts yet" in lines[0]
