"""The quality gate: checks that guard correctness fail the run; checks that describe the data warn.

One run: refresh quality.lead_context_flags from the build being checked (a copy of the dbt
model int_handoff_context_checks: the rule lives there once), validate every suite in
`expectations/` whose relation exists (Great Expectations, Data Docs rebuilt under `.baton/gx/`),
re-run the marts' grain tests (dbt's own, baton.quality.grain) on the schemas being checked,
keep every result in `quality.validation_runs` and the verdict in `quality.gate_runs` (an
earlier gate run that never finished is marked failed), and raise `QualityGateFailed` naming each failed correctness check.

`schema_suffix` points the dbt layers at their shadow (marts_shadow, ...) so the gate judges a
build before `baton.build.publish` swaps it in; raw, baton_meta and quality are checked as they are.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timezone
from pathlib import Path

from baton.paths import EXPECTATIONS_DIR, state_path
from baton.quality.context_flags import refresh_lead_context_flags
from baton.quality.grain import mart_names, run_grain_checks
from baton.quality.gx_runner import CheckResult, run_suites
from baton.quality.schema import ensure_quality_schema
from baton.quality.suites import checked_schema, load_suites

log = logging.getLogger("baton.quality")

ROW_COUNT_EXPECTATION = "expect_table_row_count_to_be_between"


class QualityGateFailed(RuntimeError):
    def __init__(self, message: str, failed: list[str]):
        super().__init__(message)
        self.failed = failed


def default_gx_root() -> Path:
    return state_path("gx", ".keep").parent


def run_gate(warehouse_url: str, *, as_of: datetime | None = None, schema_suffix: str = "",
             gx_root: Path | None = None, expectations_dir: Path = EXPECTATIONS_DIR,
             build_id: str | None = None) -> dict:
    """Check the warehouse (the shadow build when `schema_suffix` is set); raise on a correctness failure."""
    from baton.warehouse import connect

    as_of = (as_of or datetime.now(timezone.utc)).astimezone(timezone.utc)
    run_id = uuid.uuid4().hex
    marts_schema = checked_schema("marts", schema_suffix)
    started = datetime.now(timezone.utc)
    with connect(warehouse_url) as conn:
        ensure_quality_schema(conn)
        # A gate that died mid-run (killed task, lost worker) left no verdict: record it as failed.
        interrupted = conn.execute(
            "update quality.gate_runs set finished_at = now(), passed = false, reason = %s"
            " where finished_at is null returning run_id",
            (f"interrupted: this gate run never finished (marked failed by gate run {run_id})",)).fetchall()
        for (stale_run,) in interrupted:
            log.warning("gate run %s never finished; marked failed", stale_run)
        conn.execute("insert into quality.gate_runs (run_id, as_of, checked_schema, build_id, started_at)"
                     " values (%s, %s, %s, %s, %s)", (run_id, as_of, marts_schema, build_id, started))
        conn.commit()
        flags = refresh_lead_context_flags(conn, intermediate_schema=checked_schema("intermediate", schema_suffix),
                                           marts_schema=marts_schema, checked_at=as_of, run_id=run_id)
        conn.commit()
        suites = [suite for suite in load_suites(expectations_dir)
                  if _exists(conn, checked_schema(suite.schema, schema_suffix), suite.table)]
        previous_counts = _previous_row_counts(conn)
        marts_built = _exists(conn, marts_schema, None)
        present_marts = {name for name in mart_names() if _exists(conn, marts_schema, name)}

    results, docs = run_suites(warehouse_url, suites, as_of=as_of, schema_suffix=schema_suffix,
                               gx_root=gx_root or default_gx_root(), previous_row_counts=previous_counts)
    # The marts' grain, as their dbt tests define it, on the very schemas about to be published.
    results += run_grain_checks(warehouse_url, as_of=as_of, schema_suffix=schema_suffix, present=present_marts)
    if schema_suffix and not marts_built:
        results.append(CheckResult(
            relation="marts", checked_relation=marts_schema, check="marts_were_built",
            expectation_type="baton_schema_exists", column=None, severity="error", success=False,
            observed={"error": f"schema {marts_schema} does not exist: the build produced nothing to publish"}))

    failed = [r for r in results if r.severity == "error" and not r.success]
    warnings = [r for r in results if r.severity == "warn" and not r.success]
    reason = ("correctness checks failed, marts not published: " + "; ".join(r.summary for r in failed)) if failed else None
    with connect(warehouse_url) as conn:
        for r in results:
            conn.execute(
                "insert into quality.validation_runs (run_id, check_name, severity, success, observed, as_of,"
                " relation, expectation_type, column_name, checked_relation)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) on conflict (run_id, check_name) do nothing",
                (run_id, f"{r.relation}: {r.check}", r.severity, r.success, json.dumps(r.observed), as_of,
                 r.relation, r.expectation_type, r.column, r.checked_relation))
        conn.execute("update quality.gate_runs set finished_at = now(), passed = %s, errors = %s, warnings = %s,"
                     " reason = %s, data_docs = %s where run_id = %s",
                     (not failed, len(failed), len(warnings), reason, docs, run_id))
    for r in warnings:
        log.warning("check warned: %s", r.summary)
    for r in failed:
        log.error("check failed: %s", r.summary)
    summary = {"run_id": run_id, "as_of": as_of.isoformat(), "checked_schema": marts_schema,
               "checks": len(results), "errors": len(failed), "warnings": len(warnings),
               "relations": len(suites), "lead_context_flags": flags, "data_docs": docs}
    log.info("quality gate %s: %s checks over %s relations, %s errors, %s warnings; Data Docs: %s",
             "failed" if failed else "passed", len(results), len(suites), len(failed), len(warnings), docs)
    if failed:
        raise QualityGateFailed(reason, [f"{r.relation}: {r.check}" for r in failed])
    return summary


def _exists(conn, schema: str, table: str | None) -> bool:
    if table is None:
        return conn.execute("select exists (select 1 from pg_tables where schemaname = %s)", (schema,)).fetchone()[0]
    return conn.execute("select exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                        " where n.nspname = %s and c.relname = %s and c.relkind in ('r', 'v', 'm', 'p'))",
                        (schema, table)).fetchone()[0]


def _previous_row_counts(conn) -> dict[str, int]:
    """Each relation's row count at the last run that passed the gate (the volume checks' baseline)."""
    rows = conn.execute("""
        select distinct on (v.relation) v.relation, v.observed ->> 'observed_value'
        from quality.validation_runs v join quality.gate_runs g on g.run_id = v.run_id
        where g.passed and v.expectation_type = %s and v.observed ? 'observed_value'
        order by v.relation, g.started_at desc""", (ROW_COUNT_EXPECTATION,)).fetchall()
    return {relation: int(value) for relation, value in rows if value is not None and str(value).isdigit()}
