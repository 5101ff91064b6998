"""The quality gate: checks that guard correctness fail the run; checks that describe the data warn.

Every run's results are kept in `quality.validation_runs`, one row per check.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

log = logging.getLogger("baton.quality")

DDL = """
create schema if not exists quality;
create table if not exists quality.validation_runs (
    run_id      text not null,
    check_name  text not null,
    severity    text not null check (severity in ('error', 'warn')),
    success     boolean not null,
    observed    jsonb,
    as_of       timestamptz,
    checked_at  timestamptz not null default now(),
    primary key (run_id, check_name)
);
"""


@dataclass(frozen=True)
class SqlCheck:
    """A check is a query counting violations; it applies only when its relation exists."""

    name: str
    severity: str  # error: guards correctness, stops the publish; warn: describes the data
    relation: str
    violations_sql: str


CHECKS = (
    SqlCheck("load_log_counts_add_up", "error", "baton_meta.load_log",
             "select count(*) from baton_meta.load_log where status = 'success' and extracted <> loaded + rejected"),
    SqlCheck("people_person_id_unique", "error", "marts.dim_people",
             "select count(*) from (select person_id from marts.dim_people group by 1 having count(*) > 1) d"),
    SqlCheck("handoffs_have_a_person", "error", "marts.fct_handoffs",
             "select count(*) from marts.fct_handoffs h where not exists"
             " (select 1 from marts.dim_people p where p.person_id = h.person_id)"),
    SqlCheck("attribution_credits_sum_to_one", "error", "marts.fct_attribution",
             "select count(*) from (select opportunity_id, model from marts.fct_attribution"
             " group by 1, 2 having abs(sum(credit) - 1) > 1e-9) d"),
    SqlCheck("rejected_records_this_run", "warn", "baton_meta.rejected_records",
             "select count(*) from baton_meta.rejected_records where rejected_at > now() - interval '1 day'"),
)


class QualityGateFailed(RuntimeError):
    pass


def run_gate(warehouse_url: str, *, as_of: datetime | None = None, checks=CHECKS) -> dict:
    from baton.warehouse import connect

    run_id = uuid.uuid4().hex
    results = []
    with connect(warehouse_url) as conn:
        conn.execute(DDL)
        for check in checks:
            exists = conn.execute("select to_regclass(%s) is not null", (check.relation,)).fetchone()[0]
            if not exists:
                continue
            violations = conn.execute(check.violations_sql).fetchone()[0]
            success = violations == 0
            results.append({"check": check.name, "severity": check.severity, "success": success,
                            "violations": violations})
            conn.execute(
                "insert into quality.validation_runs (run_id, check_name, severity, success, observed, as_of)"
                " values (%s, %s, %s, %s, %s, %s)",
                (run_id, check.name, check.severity, success, json.dumps({"violations": violations}),
                 as_of or datetime.now(timezone.utc)))
    failed = [r for r in results if r["severity"] == "error" and not r["success"]]
    for r in results:
        if not r["success"]:
            (log.error if r["severity"] == "error" else log.warning)(
                "check %s: %s violation(s)", r["check"], r["violations"])
    if failed:
        names = ", ".join(f"{r['check']} ({r['violations']})" for r in failed)
        raise QualityGateFailed(f"correctness checks failed, marts not published: {names}")
    return {"run_id": run_id, "checks": len(results), "warnings": sum(not r["success"] for r in results)}
