"""`baton bench queries`: every query the marts' readers run, timed, slowest first.

    WAREHOUSE_URL=postgresql://.../baton_bench_build_60000 baton bench queries [--explain 3]

The readers: the HTML report (baton.notify.html_report, every section), the terminal report
(baton.notify.report), every saved query of the semantic layer through MetricFlow
(baton.metrics), and an analyst's typical filters on the marts (by owner, team, week, leak type,
person). Each SQL statement they send is timed where psycopg sends it (a wrapped
Cursor.execute), so a figure is the database's answer time with the transfer, not the Python
around it. Each reader runs twice and the second run counts (the first warms the cache, as a
dashboard's second look does). `--explain N` prints EXPLAIN ANALYZE of the N slowest.

The last line is one JSON object: the slowest statement's seconds per reader, the total per
reader, and the statements counted.
"""

from __future__ import annotations

import json
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

# An analyst's everyday questions of the marts (docs/analysts.md): one owner's, one team's, one
# week's, one leak type's and one person's rows. The parameters are picked from the data first.
ANALYST_QUERIES = {
    "leaks_of_one_owner": """
        select leak_type, detected_at, severity, detail from marts.fct_funnel_leaks
        where owner_id = %(owner_id)s order by detected_at desc limit 100""",
    "leaks_of_one_team_by_week": """
        select date_trunc('week', detected_at) as week, leak_type, count(*) from marts.fct_funnel_leaks
        where owner_team = %(team)s group by 1, 2 order by 1, 2""",
    "leaks_of_one_type_last_week": """
        select person_id, owner_name, detected_at, detail from marts.fct_funnel_leaks
        where leak_type = 'black_hole' and detected_at >= %(week_start)s order by detected_at""",
    "handoffs_of_one_owner_last_week": """
        select handoff_id, handed_off_at, first_sales_touch_at, outcome from marts.fct_handoffs
        where owner_id = %(owner_id)s and handed_off_at >= %(week_start)s""",
    "handoffs_by_week": """
        select date_trunc('week', handed_off_at) as week, count(*), avg(response_business_minutes)
        from marts.fct_handoffs group by 1 order by 1""",
    "one_person_everywhere": """
        select 'handoff', handoff_id, handed_off_at from marts.fct_handoffs where person_id = %(person_id)s
        union all select 'touch', touchpoint_id, touched_at from marts.fct_touchpoints where person_id = %(person_id)s
        union all select 'stage', stage, entered_at from marts.fct_lifecycle_stage_history
                  where person_id = %(person_id)s
        union all select 'leak', leak_type, detected_at from marts.fct_funnel_leaks where person_id = %(person_id)s""",
    "one_person_by_email": """
        select person_id, lifecycle_stage, owner_id from marts.dim_people where email = %(email)s""",
    "touches_of_one_campaign": """
        select count(*), count(distinct person_id) from marts.fct_touchpoints where campaign_id = %(campaign_id)s""",
    "attribution_of_one_opportunity": """
        select model, sum(credit) from marts.fct_attribution where opportunity_id = %(opportunity_id)s
        group by model""",
    "people_of_one_owner": """
        select person_id, email, lifecycle_stage from marts.dim_people where owner_id = %(owner_id)s""",
}

PARAMETERS_SQL = """
    select
        (select owner_id from marts.fct_funnel_leaks group by owner_id order by count(*) desc, owner_id limit 1),
        (select owner_team from marts.fct_funnel_leaks where owner_team is not null
         group by owner_team order by count(*) desc, owner_team limit 1),
        (select max(detected_at) - interval '7 days' from marts.fct_funnel_leaks),
        (select person_id from marts.fct_handoffs group by person_id order by count(*) desc, person_id limit 1),
        (select email from marts.dim_people where email is not null order by person_id limit 1),
        (select campaign_id from marts.fct_touchpoints where campaign_id is not null
         group by campaign_id order by count(*) desc, campaign_id limit 1),
        (select opportunity_id from marts.fct_attribution group by opportunity_id order by count(*) desc,
         opportunity_id limit 1)
"""


class StatementLog:
    """Every statement psycopg sends while it is active, with its seconds."""

    def __init__(self):
        self.reader = "setup"
        self.statements: list[dict] = []

    @contextmanager
    def recording(self):
        import psycopg

        original = psycopg.Cursor.execute
        log = self

        def timed(cursor, query, params=None, **kwargs):
            started = time.perf_counter()
            try:
                return original(cursor, query, params, **kwargs)
            finally:
                log.statements.append({"reader": log.reader, "seconds": time.perf_counter() - started,
                                       "sql": query if isinstance(query, str) else str(query),
                                       "params": params})

        psycopg.Cursor.execute = timed
        try:
            yield self
        finally:
            psycopg.Cursor.execute = original


def _readers(url: str, log: StatementLog) -> dict:
    from baton.metrics import query_metrics
    from baton.notify.html_report import write_html_report
    from baton.notify.report import print_report
    from baton.warehouse import connect

    def html_report():
        with tempfile.TemporaryDirectory() as folder:
            write_html_report(url, Path(folder) / "report.html")

    def terminal_report():
        print_report(url, echo=lambda line: None)

    def saved_queries():
        from baton.metrics import load_semantic_manifest

        for saved in load_semantic_manifest(url).saved_queries:
            query_metrics(url, [], saved_query=saved.name)

    def analyst_filters():
        with connect(url) as conn:
            reader, log.reader = log.reader, "setup"  # picking the parameters is not a reader's query
            owner_id, team, week_start, person_id, email, campaign_id, opportunity_id = conn.execute(
                PARAMETERS_SQL).fetchone()
            log.reader = reader
            parameters = {"owner_id": owner_id, "team": team, "week_start": week_start, "person_id": person_id,
                          "email": email, "campaign_id": campaign_id, "opportunity_id": opportunity_id}
            for sql in ANALYST_QUERIES.values():
                conn.execute(sql, parameters).fetchall()

    return {"html_report": html_report, "terminal_report": terminal_report, "metrics": saved_queries,
            "analyst": analyst_filters}


def _explain(url: str, statement: dict) -> str:
    from baton.warehouse import connect

    with connect(url) as conn:
        rows = conn.execute("explain (analyze, buffers) " + statement["sql"], statement["params"]).fetchall()
        conn.rollback()
    return "\n".join(row[0] for row in rows)


def bench_queries(url: str, *, explain: int = 0, show: int = 15) -> dict:
    log = StatementLog()
    readers = _readers(url, log)
    with log.recording():
        for reader, run in readers.items():
            for attempt in (1, 2):
                log.reader = reader if attempt == 2 else "warm-up"
                run()
    counted = [s for s in log.statements if s["reader"] in readers]
    counted.sort(key=lambda s: -s["seconds"])
    for statement in counted[:show]:
        text = " ".join(statement["sql"].split())
        print(f"{statement['seconds']:8.3f} s  {statement['reader']:<16} {text[:150]}")
    for statement in counted[:explain]:
        print(f"\n-- {statement['reader']}, {statement['seconds']:.3f} s\n{' '.join(statement['sql'].split())}\n"
              f"{_explain(url, statement)}")
    figures = {"statements": len(counted)}
    for reader in readers:
        mine = [s["seconds"] for s in counted if s["reader"] == reader]
        figures[f"{reader}_slowest_s"] = round(max(mine, default=0), 3)
        figures[f"{reader}_total_s"] = round(sum(mine), 3)
    figures["slowest_s"] = round(counted[0]["seconds"], 3) if counted else 0
    figures["slowest"] = f"{counted[0]['reader']}: {' '.join(counted[0]['sql'].split())[:120]}" if counted else None
    return figures


def bench_queries_command(args) -> int:
    from baton.warehouse import warehouse_url

    print(json.dumps(bench_queries(warehouse_url(), explain=args.explain, show=args.show)))
    return 0
